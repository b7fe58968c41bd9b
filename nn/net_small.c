/* A small convolutional network for quick runs and CI. */
#include "nn/net.h"

hg_net *hg_net_small(int in_channels, int size, int classes, uint64_t seed) {
  hg_net *net = hg_net_new(seed);
  if (!net) return NULL;
  int side = (size - 4) / 2;
  hg_status s = hg_net_add(net, hg_layer_conv2d("conv1", in_channels, 32, 5, 1, 0, true, &net->rng));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_relu("relu1"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_max_pool2d("pool1", 2, 2, 0));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_batch_norm("bn1", 32, true, 0.1f, 1e-5f));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_flatten("flatten"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_linear("fc2", 32 * side * side, classes, true, &net->rng));
  if (s == HG_OK) s = hg_net_finalize(net);
  if (s != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}
