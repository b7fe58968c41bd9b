#include "nn/layer.h"

#include <stdio.h>
#include <stdlib.h>

hg_layer *hg_layer_alloc(const hg_layer_ops *ops, const char *name) {
  hg_layer *l = calloc(1, sizeof *l);
  if (!l) {
    hg_fail(HG_ERR_NOMEM, "%s: out of memory creating layer '%s'", ops->name, name);
    return NULL;
  }
  l->ops = ops;
  l->mode = HG_TRAIN_B;
  snprintf(l->name, sizeof l->name, "%s", name);
  return l;
}

hg_tensor *hg_layer_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  if (!l->detach_input) return l->ops->forward(l, x, ctx);
  hg_tensor *d = hg_detach(x);
  if (!d) return NULL;
  hg_tensor *y = l->ops->forward(l, d, ctx);
  hg_tensor_free(d);
  return y;
}

void hg_layer_set_mode(hg_layer *l, hg_train_mode mode) {
  l->mode = mode;
  l->detach_input = l->detach_output = mode == HG_TRAIN_H;
  bool learns = mode == HG_TRAIN_B || mode == HG_TRAIN_H;
  if (l->weight) hg_requires_grad(l->weight, learns);
  if (l->bias) hg_requires_grad(l->bias, learns);
}

bool hg_layer_has_params(const hg_layer *l) { return l->weight || l->bias; }

bool hg_layer_is_affine(const hg_layer *l) {
  return l->ops->kind == HG_LAYER_LINEAR || l->ops->kind == HG_LAYER_CONV2D;
}

void hg_layer_drop_bias(hg_layer *l) {
  if (!l->bias) return;
  hg_tensor_fill(l->bias, 0.0f);
  hg_requires_grad(l->bias, false);
}

void hg_layer_free(hg_layer *l) {
  if (!l) return;
  hg_tensor_free(l->weight);
  hg_tensor_free(l->bias);
  hg_tensor_free(l->running_mean);
  hg_tensor_free(l->running_var);
  free(l);
}
