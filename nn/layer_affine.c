/* Layers with weights: Linear and Conv2d, PyTorch's default initialisation. */
#include <math.h>

#include "autograd/ops.h"
#include "nn/layer.h"

static hg_tensor *linear_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_linear(x, l->weight, l->bias);
}

static hg_tensor *conv2d_forward(hg_layer *l, hg_tensor *x, const hg_forward_ctx *ctx) {
  (void)ctx;
  return hg_conv2d(x, l->weight, l->bias, l->cfg.affine.stride, l->cfg.affine.pad);
}

static const hg_layer_ops linear_ops = {HG_LAYER_LINEAR, "linear", linear_forward};
static const hg_layer_ops conv2d_ops = {HG_LAYER_CONV2D, "conv2d", conv2d_forward};

/* Weight [w_shape] and bias [out] ~ U(±1/√fan_in): kaiming-uniform with a = √5. */
static hg_layer *with_params(hg_layer *l, int ndim, const int *w_shape, int fan_in, bool bias,
                             hg_rng *rng) {
  if (!l) return NULL;
  float bound = 1.0f / sqrtf((float)fan_in);
  l->weight = hg_tensor_uniform(ndim, w_shape, -bound, bound, rng);
  if (bias) l->bias = hg_tensor_uniform(HG_SHAPE(w_shape[0]), -bound, bound, rng);
  if (!l->weight || (bias && !l->bias)) {
    hg_layer_free(l);
    return NULL;
  }
  hg_layer_set_mode(l, HG_TRAIN_B);
  return l;
}

hg_layer *hg_layer_linear(const char *name, int in, int out, bool bias, hg_rng *rng) {
  if (in <= 0 || out <= 0) {
    hg_fail(HG_ERR_ARG, "linear '%s': features in %d, out %d must be positive", name, in, out);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&linear_ops, name);
  if (l) l->cfg.affine = (hg_affine_cfg){.in = in, .out = out, .stride = 1, .pad = 0};
  return with_params(l, HG_SHAPE(out, in), in, bias, rng);
}

hg_layer *hg_layer_conv2d(const char *name, int in, int out, int kernel, int stride, int pad,
                          bool bias, hg_rng *rng) {
  if (in <= 0 || out <= 0 || kernel <= 0 || stride <= 0 || pad < 0) {
    hg_fail(HG_ERR_ARG, "conv2d '%s': channels %d→%d, kernel %d, stride %d, pad %d are not valid",
            name, in, out, kernel, stride, pad);
    return NULL;
  }
  hg_layer *l = hg_layer_alloc(&conv2d_ops, name);
  if (l) l->cfg.affine = (hg_affine_cfg){.in = in, .out = out, .stride = stride, .pad = pad};
  return with_params(l, HG_SHAPE(out, in, kernel, kernel), in * kernel * kernel, bias, rng);
}
