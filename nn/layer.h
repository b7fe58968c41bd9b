/* Layers that own their parameters. A layer maps one tensor to one tensor;
 * its kind is a row of hg_layer_ops defined in the layer's own file. */
#ifndef HG_LAYER_H
#define HG_LAYER_H

#include "autograd/autograd.h"

typedef struct hg_layer hg_layer;

/* What a forward needs besides the input. */
typedef struct hg_forward_ctx {
  bool training; /* batch norm batch statistics, dropout active */
  hg_rng *rng;   /* dropout masks */
} hg_forward_ctx;

typedef enum hg_layer_kind {
  HG_LAYER_LINEAR, HG_LAYER_CONV2D, HG_LAYER_MAX_POOL2D, HG_LAYER_AVG_POOL2D, HG_LAYER_BATCH_NORM,
  HG_LAYER_RELU, HG_LAYER_TRIANGLE, HG_LAYER_DROPOUT, HG_LAYER_FLATTEN, HG_LAYER_PAD_REFLECT
} hg_layer_kind;

typedef struct hg_layer_ops {
  hg_layer_kind kind;
  const char *name; /* "linear", "conv2d", ... */
  hg_tensor *(*forward)(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx);
} hg_layer_ops;

/* The settings of a layer, by kind. */
typedef struct hg_affine_cfg { int in, out, stride, pad; } hg_affine_cfg; /* linear: stride 1, pad 0 */
typedef struct hg_pool_cfg { int kernel, stride, pad; } hg_pool_cfg;
typedef struct hg_norm_cfg {
  int channels;
  bool keep_variance; /* hg_layer_batch_norm_keep_variance */
  float momentum, eps;
} hg_norm_cfg;
typedef struct hg_triangle_cfg { float threshold, power; } hg_triangle_cfg;
typedef union hg_layer_cfg {
  hg_affine_cfg affine; /* linear, conv2d */
  hg_pool_cfg pool;     /* max_pool2d, avg_pool2d */
  hg_norm_cfg norm;     /* batch_norm */
  hg_triangle_cfg triangle;
  float p;              /* dropout */
  int pad;              /* pad_reflect */
} hg_layer_cfg;

/* How a layer is trained (seed notation): B backprop, H Hebbian, F frozen
 * (e.g. loaded), R random and fixed. */
typedef enum hg_train_mode { HG_TRAIN_B = 'B', HG_TRAIN_H = 'H', HG_TRAIN_F = 'F', HG_TRAIN_R = 'R' } hg_train_mode;

struct hg_layer {
  const hg_layer_ops *ops;
  char name[32];
  hg_layer_cfg cfg;    /* the field of ops->kind */
  hg_tensor *weight;   /* NULL when the kind has no parameters (BN: γ) */
  hg_tensor *bias;     /* (BN: β) */
  hg_tensor *running_mean, *running_var; /* batch norm buffers */
  hg_train_mode mode;  /* set with hg_layer_set_mode */
  bool detach_input;   /* forward through sg(x): no gradient leaves this layer downwards */
  bool detach_output;  /* the next layer sees sg(y): no gradient from above reaches it */
};

/* y = x·Wᵀ + b; W [out,in] ~ U(±1/√in), b likewise (PyTorch's defaults). */
hg_layer *hg_layer_linear(const char *name, int in, int out, bool bias, hg_rng *rng);
/* y = W ⋆ x + b; W [out,in,k,k] ~ U(±1/√(in·k²)), b likewise. */
hg_layer *hg_layer_conv2d(const char *name, int in, int out, int kernel, int stride, int pad,
                          bool bias, hg_rng *rng);
/* Max over k×k windows. */
hg_layer *hg_layer_max_pool2d(const char *name, int kernel, int stride, int pad);
/* Mean over k×k windows (padding counted). */
hg_layer *hg_layer_avg_pool2d(const char *name, int kernel, int stride, int pad);
/* Batch norm over `channels` of [N,C] or [N,C,H,W]; affine γ = 1, β = 0. */
hg_layer *hg_layer_batch_norm(const char *name, int channels, bool affine, float momentum, float eps);
/* Seed 001's "modified" batch norm for its Hebbian nets (keep = true):
 * y_c = BN(x)_c · √((v_c + ε) / (mean_c v + ε)), v the running variances
 * (updated by this batch first in training): the channels keep their
 * relative variance. HG_ERR_ARG when l is not a batch norm. */
hg_status hg_layer_batch_norm_keep_variance(hg_layer *l, bool keep);
/* max(x, 0) */
hg_layer *hg_layer_relu(const char *name);
/* Triangle activation relu(x − mean_c(x) − θ)^power over channels (dim 1);
 * power 1 is the seeds', SoftHebb's layers use 0.7, 1.4 and 1. */
hg_layer *hg_layer_triangle(const char *name, float threshold, float power);
/* x ⊙ Bernoulli(1 − p) / (1 − p) in training, x otherwise. */
hg_layer *hg_layer_dropout(const char *name, float p);
/* [N, ...] → [N, rest] */
hg_layer *hg_layer_flatten(const char *name);
/* x padded by `pad` on each side of H and W with its reflection (PyTorch's
 * ReflectionPad2d), for a convolution with reflect padding. */
hg_layer *hg_layer_pad_reflect(const char *name, int pad);

hg_tensor *hg_layer_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx);
/* B and H layers learn; F and R layers keep their weights (no gradient).
 * H layers are cut off from their neighbours' gradients: sg(input), sg(output). */
void hg_layer_set_mode(hg_layer *l, hg_train_mode mode);
bool hg_layer_has_params(const hg_layer *l);
/* Linear or conv2d: the layers that the seed notation's modes (B, H, F, R) name. */
bool hg_layer_is_affine(const hg_layer *l);
/* b ← 0 and b stops learning (u = w·x), until the next hg_layer_set_mode. */
void hg_layer_drop_bias(hg_layer *l);
void hg_layer_free(hg_layer *l);

/* For the layer files: a layer with no parameters yet. */
hg_layer *hg_layer_alloc(const hg_layer_ops *ops, const char *name);

#endif
