/* The seeds' network (../shared/HEBBIAN.md, seeds 002/003). */
#include <stdio.h>

#include "nn/net.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f

static hg_status conv_block(hg_net *net, int i, int in, int out, int kernel, bool pool) {
  char name[4][16];
  snprintf(name[0], 16, "conv%d", i);
  snprintf(name[1], 16, "relu%d", i);
  snprintf(name[2], 16, "pool%d", i);
  snprintf(name[3], 16, "bn%d", i);
  hg_status s = hg_net_add(net, hg_layer_conv2d(name[0], in, out, kernel, 1, 0, true, &net->rng));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_relu(name[1]));
  if (s == HG_OK && pool) s = hg_net_add(net, hg_layer_max_pool2d(name[2], 2, 2, 0));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_batch_norm(name[3], out, true, BN_MOMENTUM, BN_EPS));
  return s;
}

hg_net *hg_net_seeds(int in_channels, int classes, uint64_t seed) {
  hg_net *net = hg_net_new(seed);
  if (!net) return NULL;
  hg_status s = conv_block(net, 1, in_channels, 96, 5, true);
  if (s == HG_OK) s = conv_block(net, 2, 96, 128, 3, false);
  if (s == HG_OK) s = conv_block(net, 3, 128, 192, 3, true);
  if (s == HG_OK) s = conv_block(net, 4, 192, 256, 3, false);
  if (s == HG_OK) s = hg_net_add(net, hg_layer_flatten("flatten"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_linear("fc5", 256 * 3 * 3, 4096, true, &net->rng));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_relu("relu5"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_batch_norm("bn5", 4096, true, BN_MOMENTUM, BN_EPS));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_dropout("drop5", 0.5f));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_linear("fc6", 4096, classes, true, &net->rng));
  if (s == HG_OK) s = hg_net_finalize(net);
  if (s != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}
