/* Layers without weights: pooling, ReLU, dropout, flatten, padding, batch norm. */
#include <math.h>

#include "autograd/ops.h"
#include "nn/layer.h"

static hg_tensor *max_pool_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_max_pool2d(x, l->cfg.pool.kernel, l->cfg.pool.stride, l->cfg.pool.pad);
}

static hg_tensor *avg_pool_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_avg_pool2d(x, l->cfg.pool.kernel, l->cfg.pool.stride, l->cfg.pool.pad);
}

static hg_tensor *relu_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)l;
  (void)ctx;
  return hg_relu(x);
}

static hg_tensor *triangle_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_triangle(x, l->cfg.triangle.threshold, l->cfg.triangle.power);
}

static hg_tensor *dropout_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  return hg_dropout(x, l->cfg.p, ctx->training, ctx->rng);
}

static hg_tensor *flatten_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)l;
  (void)ctx;
  return hg_flatten(x);
}

static hg_tensor *pad_reflect_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_pad_reflect(x, l->cfg.pad);
}

/* s_c = √((v_c + ε) / (mean_c v + ε)) over the running variances v, shaped to
 * broadcast over y's channels (dim 1); a constant, no gradient. */
static hg_tensor *relative_std(const hg_layer *l, const hg_tensor *y) {
  int c = l->cfg.norm.channels, shape[4] = {1, c, 1, 1};
  hg_tensor *s = hg_tensor_empty(y->ndim, shape);
  if (!s) return NULL;
  const float *v = l->running_var->data, eps = l->cfg.norm.eps;
  double mean = 0;
  for (int i = 0; i < c; i++) mean += v[i];
  mean /= c;
  for (int i = 0; i < c; i++) s->data[i] = (float)sqrt((v[i] + eps) / (mean + eps));
  return s;
}

static hg_tensor *batch_norm_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  hg_tensor *y = hg_batch_norm(x, l->weight, l->bias, l->running_mean, l->running_var, ctx->training,
                               l->cfg.norm.momentum, l->cfg.norm.eps);
  if (!y || !l->cfg.norm.keep_variance) return y;
  hg_tensor *s = relative_std(l, y); /* after the running variances took this batch */
  hg_tensor *z = s ? hg_mul(y, s) : NULL;
  hg_tensor_free(s);
  hg_tensor_free(y);
  return z;
}

static const hg_layer_ops max_pool_ops = {HG_LAYER_MAX_POOL2D, "max_pool2d", max_pool_forward};
static const hg_layer_ops avg_pool_ops = {HG_LAYER_AVG_POOL2D, "avg_pool2d", avg_pool_forward};
static const hg_layer_ops relu_ops = {HG_LAYER_RELU, "relu", relu_forward};
static const hg_layer_ops triangle_ops = {HG_LAYER_TRIANGLE, "triangle", triangle_forward};
static const hg_layer_ops dropout_ops = {HG_LAYER_DROPOUT, "dropout", dropout_forward};
static const hg_layer_ops flatten_ops = {HG_LAYER_FLATTEN, "flatten", flatten_forward};
static const hg_layer_ops pad_reflect_ops = {HG_LAYER_PAD_REFLECT, "pad_reflect", pad_reflect_forward};
static const hg_layer_ops batch_norm_ops = {HG_LAYER_BATCH_NORM, "batch_norm", batch_norm_forward};

static hg_layer *pool(const hg_layer_ops *ops, const char *name, int kernel, int stride, int pad) {
  if (kernel <= 0 || stride <= 0 || pad < 0 || pad > kernel / 2) {
    hg_fail(HG_ERR_ARG, "%s '%s': kernel %d, stride %d, pad %d are not valid", ops->name, name,
            kernel, stride, pad);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(ops, name);
  if (l) l->cfg.pool = (hg_pool_cfg){.kernel = kernel, .stride = stride, .pad = pad};
  return l;
}

hg_layer *hg_layer_max_pool2d(const char *name, int kernel, int stride, int pad) {
  return pool(&max_pool_ops, name, kernel, stride, pad);
}

hg_layer *hg_layer_avg_pool2d(const char *name, int kernel, int stride, int pad) {
  return pool(&avg_pool_ops, name, kernel, stride, pad);
}

hg_layer *hg_layer_relu(const char *name) { return hg_layer_alloc(&relu_ops, name); }
hg_layer *hg_layer_triangle(const char *name, float threshold, float power) {
  if (!(power > 0)) {
    hg_fail(HG_ERR_ARG, "triangle '%s': power %g must be positive", name, power);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&triangle_ops, name);
  if (l) l->cfg.triangle = (hg_triangle_cfg){.threshold = threshold, .power = power};
  return l;
}

hg_layer *hg_layer_flatten(const char *name) { return hg_layer_alloc(&flatten_ops, name); }

hg_layer *hg_layer_pad_reflect(const char *name, int pad) {
  if (pad < 1) {
    hg_fail(HG_ERR_ARG, "pad_reflect '%s': pad %d must be at least 1", name, pad);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&pad_reflect_ops, name);
  if (l) l->cfg.pad = pad;
  return l;
}

hg_layer *hg_layer_dropout(const char *name, float p) {
  if (!(p >= 0.0f && p < 1.0f)) {
    hg_fail(HG_ERR_ARG, "dropout '%s': p = %g is not in [0, 1)", name, p);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&dropout_ops, name);
  if (l) l->cfg.p = p;
  return l;
}

hg_layer *hg_layer_batch_norm(const char *name, int channels, bool affine, float momentum, float eps) {
  if (channels <= 0 || !(momentum >= 0.0f && momentum <= 1.0f) || !(eps > 0.0f)) {
    hg_fail(HG_ERR_ARG, "batch_norm '%s': channels %d, momentum %g, eps %g are not valid", name,
            channels, momentum, eps);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&batch_norm_ops, name);
  if (!l) return NULL;
  l->cfg.norm = (hg_norm_cfg){.channels = channels, .momentum = momentum, .eps = eps};
  l->running_mean = hg_tensor_zeros(HG_SHAPE(channels));
  l->running_var = hg_tensor_ones(HG_SHAPE(channels));
  if (affine) {
    l->weight = hg_tensor_ones(HG_SHAPE(channels));
    l->bias = hg_tensor_zeros(HG_SHAPE(channels));
  }
  if (!l->running_mean || !l->running_var || (affine && (!l->weight || !l->bias))) {
    hg_layer_free(l);
    return NULL;
  }
  hg_layer_set_mode(l, HG_TRAIN_B);
  return l;
}

hg_status hg_layer_batch_norm_keep_variance(hg_layer *l, bool keep) {
  if (l->ops->kind != HG_LAYER_BATCH_NORM)
    return hg_fail(HG_ERR_ARG, "layer '%s' is a %s, not a batch_norm", l->name, l->ops->name);
  l->cfg.norm.keep_variance = keep;
  return HG_OK;
}
