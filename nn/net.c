#include "nn/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

hg_net *hg_net_new(uint64_t seed) {
  hg_net *net = calloc(1, sizeof *net);
  if (!net) {
    hg_fail(HG_ERR_NOMEM, "net: out of memory");
    return NULL;
  }
  hg_rng_seed(&net->rng, seed, 1);
  return net;
}

void hg_net_free(hg_net *net) {
  if (!net) return;
  hg_net_clear_outputs(net);
  for (int i = 0; i < net->n; i++) hg_layer_free(net->layers[i]);
  free(net->layers);
  free(net->outputs);
  hg_tensor_free(net->param_slab);
  hg_tensor_free(net->grad_slab);
  free(net);
}

hg_status hg_net_add(hg_net *net, hg_layer *layer) {
  if (!layer) return hg_last_status() != HG_OK ? hg_last_status() : HG_ERR_ARG;
  if (hg_net_find(net, layer->name) >= 0) {
    hg_fail(HG_ERR_ARG, "net: a layer named '%s' exists already", layer->name);
    hg_layer_free(layer);
    return HG_ERR_ARG;
  }
  if (net->n == net->capacity) {
    int cap = net->capacity ? 2 * net->capacity : 16;
    hg_layer **layers = realloc(net->layers, (size_t)cap * sizeof *layers);
    if (layers) net->layers = layers;
    hg_tensor **outputs = layers ? realloc(net->outputs, (size_t)cap * sizeof *outputs) : NULL;
    if (!outputs) {
      hg_layer_free(layer);
      return hg_fail(HG_ERR_NOMEM, "net: out of memory adding layer");
    }
    net->outputs = outputs;
    net->capacity = cap;
  }
  net->outputs[net->n] = NULL;
  net->layers[net->n++] = layer;
  return HG_OK;
}

hg_status hg_net_replace(hg_net *net, int index, hg_layer *layer) {
  if (!layer) return hg_last_status();
  if (index < 0 || index >= net->n) {
    hg_layer_free(layer);
    return hg_fail(HG_ERR_ARG, "net: no layer %d to replace (the net has %d)", index, net->n);
  }
  hg_layer_free(net->layers[index]);
  net->layers[index] = layer;
  return HG_OK;
}

void hg_net_truncate(hg_net *net, int n) {
  hg_net_clear_outputs(net);
  while (net->n > n && net->n > 0) hg_layer_free(net->layers[--net->n]);
}

int hg_net_find(const hg_net *net, const char *name) {
  for (int i = 0; i < net->n; i++)
    if (strcmp(net->layers[i]->name, name) == 0) return i;
  return -1;
}

void hg_net_clear_outputs(hg_net *net) {
  for (int i = 0; i < net->n; i++) {
    hg_tensor_free(net->outputs[i]);
    net->outputs[i] = NULL;
  }
}

hg_tensor *hg_net_forward_range(hg_net *net, hg_tensor *x, int from, int to, bool training) {
  if (from < 0 || to > net->n || from > to) {
    hg_fail(HG_ERR_ARG, "net: layer range [%d, %d) outside [0, %d)", from, to, net->n);
    return NULL;
  }
  hg_forward_ctx ctx = {.rng = &net->rng};
  hg_tensor *h = hg_tensor_retain(x);
  for (int i = from; i < to && h; i++) {
    hg_train_mode mode = net->layers[i]->mode;
    ctx.training = training && mode != HG_TRAIN_F && mode != HG_TRAIN_R; /* frozen: running statistics */
    hg_tensor *y = hg_layer_forward(net->layers[i], h, &ctx);
    hg_tensor_free(h);
    if (!y) {
      char msg[512];
      snprintf(msg, sizeof msg, "%s", hg_last_error());
      hg_fail(hg_last_status(), "layer %d '%s': %s", i, net->layers[i]->name, msg);
      return NULL;
    }
    size_t bad = net->check_finite ? hg_tensor_first_nonfinite(y) : y->numel;
    if (bad < y->numel) {
      hg_fail(HG_ERR_NUMERIC, "layer %d '%s': its output holds %g at element %zu", i, net->layers[i]->name,
              (double)y->data[bad], bad);
      hg_tensor_free(y);
      return NULL;
    }
    hg_tensor_free(net->outputs[i]);
    net->outputs[i] = y;
    h = net->layers[i]->detach_output ? hg_detach(y) : hg_tensor_retain(y);
  }
  return h;
}

hg_tensor *hg_net_forward(hg_net *net, hg_tensor *x, bool training) {
  return hg_net_forward_range(net, x, net->first, net->n, training);
}

/* Each parameter in layer order: weight, then bias. */
static hg_tensor **param_slot(hg_layer *l, int k) { return k == 0 ? &l->weight : &l->bias; }

static hg_status move_to_slab(hg_tensor **p, hg_net *net, size_t offset) {
  hg_tensor *old = *p;
  hg_tensor *v = hg_tensor_view_at(net->param_slab, offset, old->ndim, old->shape);
  hg_tensor *g = v ? hg_tensor_view_at(net->grad_slab, offset, old->ndim, old->shape) : NULL;
  if (!g) {
    hg_tensor_free(v);
    return hg_last_status();
  }
  hg_tensor_copy(v, old);
  v->requires_grad = old->requires_grad;
  v->grad = g;
  v->grad_is_zero = true;
  hg_tensor_free(old);
  *p = v;
  return HG_OK;
}

hg_status hg_net_finalize(hg_net *net) {
  size_t total = 0;
  for (int i = 0; i < net->n; i++)
    for (int k = 0; k < 2; k++)
      if (*param_slot(net->layers[i], k)) total += (*param_slot(net->layers[i], k))->numel;
  hg_tensor *ps = hg_tensor_empty(HG_SHAPE((int)(total ? total : 1)));
  hg_tensor *gs = ps ? hg_tensor_zeros(HG_SHAPE((int)(total ? total : 1))) : NULL;
  if (!gs) {
    hg_tensor_free(ps);
    return hg_last_status();
  }
  hg_tensor_free(net->param_slab); /* old views keep their storage until moved */
  hg_tensor_free(net->grad_slab);
  net->param_slab = ps;
  net->grad_slab = gs;
  size_t offset = 0;
  for (int i = 0; i < net->n; i++)
    for (int k = 0; k < 2; k++) {
      hg_tensor **p = param_slot(net->layers[i], k);
      if (!*p) continue;
      size_t numel = (*p)->numel;
      hg_status s = move_to_slab(p, net, offset);
      if (s != HG_OK) return s;
      offset += numel;
    }
  return HG_OK;
}

void hg_net_slab_range(const hg_net *net, int first, int last, size_t *begin, size_t *end) {
  size_t offset = 0;
  *begin = *end = 0;
  for (int i = 0; i < net->n && i <= last; i++) {
    if (i == first) *begin = offset;
    for (int k = 0; k < 2; k++) {
      hg_tensor *p = *param_slot(net->layers[i], k);
      if (p) offset += p->numel;
    }
  }
  *end = offset;
}

void hg_net_zero_grad(hg_net *net) {
  for (int i = 0; i < net->n; i++)
    for (int k = 0; k < 2; k++) {
      hg_tensor *p = *param_slot(net->layers[i], k);
      if (!p || !p->grad || p->grad_is_zero) continue;
      hg_tensor_fill(p->grad, 0.0f);
      p->grad_is_zero = true;
    }
}

void hg_net_grads_written(hg_net *net) {
  for (int i = 0; i < net->n; i++)
    for (int k = 0; k < 2; k++) {
      hg_tensor *p = *param_slot(net->layers[i], k);
      if (p && p->grad) p->grad_is_zero = false;
    }
}

int hg_net_tensors(hg_net *net, bool buffers, char (*names)[64], hg_tensor **tensors, int max) {
  int count = 0;
  for (int i = 0; i < net->n; i++) {
    hg_layer *l = net->layers[i];
    hg_tensor *list[4] = {l->weight, l->bias, buffers ? l->running_mean : NULL,
                          buffers ? l->running_var : NULL};
    static const char *const suffix[4] = {"weight", "bias", "running_mean", "running_var"};
    for (int k = 0; k < 4; k++) {
      if (!list[k]) continue;
      if (count < max) {
        snprintf(names[count], 64, "%s.%s", l->name, suffix[k]);
        tensors[count] = list[k];
      }
      count++;
    }
  }
  return count;
}
