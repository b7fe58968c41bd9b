/* Linear probes: a trained net cut after one layer, frozen, with a new
 * linear classifier on that layer's (flattened) output. */
#include "nn/net.h"

hg_status hg_net_attach_probe(hg_net *net, int after, const hg_tensor *sample, int classes) {
  if (after < 0 || after >= net->n)
    return hg_fail(HG_ERR_ARG, "probe: no layer %d (the net has %d)", after, net->n);
  hg_net_truncate(net, after + 1);
  for (int i = 0; i < net->n; i++) hg_layer_set_mode(net->layers[i], HG_TRAIN_F);
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *one = hg_tensor_narrow0((hg_tensor *)sample, 0, 1);
  hg_tensor *y = one ? hg_net_forward(net, one, false) : NULL;
  hg_set_grad_enabled(grad);
  hg_tensor_free(one);
  if (!y) return hg_last_status();
  int features = (int)y->numel;
  bool flat = y->ndim == 2;
  hg_tensor_free(y);
  hg_net_clear_outputs(net);
  hg_status s = flat ? HG_OK : hg_net_add(net, hg_layer_flatten("probe_flatten"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_linear("probe", features, classes, true, &net->rng));
  return s == HG_OK ? hg_net_finalize(net) : s;
}
