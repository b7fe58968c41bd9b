/* SoftHebb's network (Journé et al., ICLR 2023; the reference code's
 * demo.py): three blocks of batch norm without scale and shift, reflect
 * padding, convolution, triangle activation and pooling, then dropout and a
 * linear classifier on the 1536·4·4 features. */
#include <math.h>
#include <stdio.h>

#include "nn/net.h"

#define BN_MOMENTUM 0.1f
#define BN_EPS 1e-5f
#define WEIGHT_SCALE 25.0f          /* conv weights ~ N(0, (25/√fan_in)²) */
#define CLASSIFIER_RANGE 0.11048543f /* classifier weights ~ U[0, 0.1105) */

typedef struct block {
  int in, out, kernel;
  bool max_pool; /* max 4/2/1, else average 2/2/0 */
} block;

static const block blocks[3] = {{3, 96, 5, true}, {96, 384, 3, true}, {384, 1536, 3, false}};

static hg_layer *named(hg_layer *(*make)(const char *, int), const char *what, int i, int arg) {
  char name[16];
  snprintf(name, sizeof name, "%s%d", what, i);
  return make(name, arg);
}

static hg_layer *batch_norm(const char *name, int channels) {
  return hg_layer_batch_norm(name, channels, false, BN_MOMENTUM, BN_EPS);
}

/* conv weights redrawn ~ N(0, (25/√fan_in)²), as the reference initialises them */
static hg_layer *conv(int i, const block *b, hg_rng *rng) {
  char name[16];
  snprintf(name, sizeof name, "conv%d", i);
  hg_layer *l = hg_layer_conv2d(name, b->in, b->out, b->kernel, 1, 0, false, rng);
  if (!l) return NULL;
  float std = WEIGHT_SCALE / sqrtf((float)(b->in * b->kernel * b->kernel));
  hg_tensor *w = hg_tensor_normal(l->weight->ndim, l->weight->shape, 0, std, rng);
  if (!w || hg_tensor_copy(l->weight, w) != HG_OK) {
    hg_tensor_free(w);
    hg_layer_free(l);
    return NULL;
  }
  hg_tensor_free(w);
  return l;
}

static hg_status add_block(hg_net *net, int i, const block *b, float power) {
  char name[2][16];
  snprintf(name[0], 16, "triangle%d", i);
  snprintf(name[1], 16, "pool%d", i);
  hg_status s = hg_net_add(net, named(batch_norm, "bn", i, b->in));
  if (s == HG_OK) s = hg_net_add(net, named(hg_layer_pad_reflect, "pad", i, b->kernel / 2));
  if (s == HG_OK) s = hg_net_add(net, conv(i, b, &net->rng));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_triangle(name[0], 0, power));
  if (s == HG_OK)
    s = hg_net_add(net, b->max_pool ? hg_layer_max_pool2d(name[1], 4, 2, 1) : hg_layer_avg_pool2d(name[1], 2, 2, 0));
  return s;
}

/* classifier weights ~ U[0, 0.1105), bias as PyTorch's default */
static hg_status add_classifier(hg_net *net, int features, int classes) {
  hg_status s = hg_net_add(net, hg_layer_flatten("flatten"));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_dropout("dropout", 0.5f));
  hg_layer *fc = s == HG_OK ? hg_layer_linear("classifier", features, classes, true, &net->rng) : NULL;
  if (s == HG_OK) s = hg_net_add(net, fc);
  hg_tensor *w = s == HG_OK ? hg_tensor_uniform(HG_SHAPE(classes, features), 0, CLASSIFIER_RANGE, &net->rng) : NULL;
  if (s == HG_OK) s = w ? hg_tensor_copy(fc->weight, w) : hg_last_status();
  hg_tensor_free(w);
  return s;
}

hg_net *hg_net_softhebb(int in_channels, int size, int classes, const float power[3], uint64_t seed) {
  static const float reference[3] = {0.7f, 1.4f, 1.0f};
  if (!power) power = reference;
  hg_net *net = hg_net_new(seed);
  if (!net) return NULL;
  block b[3] = {blocks[0], blocks[1], blocks[2]};
  b[0].in = in_channels;
  hg_status s = HG_OK;
  for (int i = 0; i < 3 && s == HG_OK; i++) s = add_block(net, i + 1, &b[i], power[i]);
  int side = size / 8; /* two max pools of stride 2 and an average pool 2/2 */
  if (s == HG_OK) s = add_classifier(net, 1536 * side * side, classes);
  if (s == HG_OK) s = hg_net_finalize(net);
  if (s != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}
