#include "tensor/pooling.h"

#include <stdio.h>
#include <string.h>

#include "tensor/alloc.h"
#include "tensor/kernel_cache.h"
#include "tensor/kstats.h"

/* Key kinds, after the convolution's (1..3) in the shared table. */
enum { POOL_FORWARD_TRAINING = 11, POOL_FORWARD_INFERENCE, POOL_BACKWARD };

static const char *pool_name(hg_pool_kind kind) { return kind == HG_POOL_MAX ? "max_pool2d" : "avg_pool2d"; }

hg_status hg_pool_shape_init(hg_pool_shape *s, hg_pool_kind kind, const int x_shape[4],
                             int kernel, int stride, int pad) {
  const char *op = pool_name(kind);
  char xs[64];
  snprintf(xs, sizeof xs, "[%d,%d,%d,%d]", x_shape[0], x_shape[1], x_shape[2], x_shape[3]);
  if (x_shape[0] <= 0 || x_shape[1] <= 0 || x_shape[2] <= 0 || x_shape[3] <= 0)
    return hg_fail(HG_ERR_SHAPE, "%s: input %s needs positive sizes", op, xs);
  if (kernel < 1 || stride < 1 || pad < 0 || pad > kernel / 2)
    return hg_fail(HG_ERR_ARG, "%s: kernel %d, stride %d, pad %d invalid for input %s "
                   "(need kernel, stride >= 1 and 0 <= pad <= kernel/2)", op, kernel, stride, pad, xs);
  if (x_shape[2] + 2 * pad < kernel || x_shape[3] + 2 * pad < kernel)
    return hg_fail(HG_ERR_SHAPE, "%s: input %s with pad %d is smaller than the %dx%d window", op,
                   xs, pad, kernel, kernel);
  *s = (hg_pool_shape){.kind = kind, .n = x_shape[0], .c = x_shape[1], .h = x_shape[2],
                       .w = x_shape[3], .kernel = kernel, .stride = stride, .pad = pad};
  s->oh = (s->h + 2 * pad - kernel) / stride + 1;
  s->ow = (s->w + 2 * pad - kernel) / stride + 1;
  return HG_OK;
}

static void pool_key(int key[HG_KERNEL_KEY_INTS], int which, const hg_pool_shape *s) {
  memset(key, 0, HG_KERNEL_KEY_INTS * sizeof *key);
  int v[] = {which, (int)s->kind, s->n, s->c, s->h, s->w, s->kernel, s->stride, s->pad};
  memcpy(key, v, sizeof v);
}

static dnnl_status_t pool_pd(dnnl_primitive_desc_t *pd, int which, const hg_pool_shape *s,
                             const_dnnl_primitive_attr_t attr, const_dnnl_primitive_desc_t hint) {
  dnnl_memory_desc_t x = hg_kernel_md4(s->n, s->c, s->h, s->w, dnnl_nchw);
  dnnl_memory_desc_t y = hg_kernel_md4(s->n, s->c, s->oh, s->ow, dnnl_nchw);
  dnnl_dims_t strides = {s->stride, s->stride}, kernel = {s->kernel, s->kernel};
  dnnl_dims_t dilation = {0, 0}, pads = {s->pad, s->pad};
  dnnl_alg_kind_t alg = s->kind == HG_POOL_MAX ? dnnl_pooling_max : dnnl_pooling_avg_include_padding;
  dnnl_pooling_v2_desc_t d;
  dnnl_status_t st =
      which == POOL_BACKWARD
          ? dnnl_pooling_v2_backward_desc_init(&d, alg, &x, &y, strides, kernel, dilation, pads, pads)
          : dnnl_pooling_v2_forward_desc_init(
                &d, which == POOL_FORWARD_TRAINING ? dnnl_forward_training : dnnl_forward_inference,
                alg, &x, &y, strides, kernel, dilation, pads, pads);
  if (st != dnnl_success) return st;
  return dnnl_primitive_desc_create(pd, &d, attr, hg_kernel_engine(), hint);
}

static int pool_arg_ids(int which, const hg_pool_shape *s, int ids[HG_KERNEL_MAX_ARGS]) {
  bool ws = s->kind == HG_POOL_MAX && which != POOL_FORWARD_INFERENCE;
  ids[0] = which == POOL_BACKWARD ? DNNL_ARG_DIFF_DST : DNNL_ARG_SRC;
  ids[1] = which == POOL_BACKWARD ? DNNL_ARG_DIFF_SRC : DNNL_ARG_DST;
  ids[2] = DNNL_ARG_WORKSPACE;
  return ws ? 3 : 2;
}

static hg_kernel *pool_build(const int *key, int which, const hg_pool_shape *s) {
  dnnl_primitive_attr_t attr = hg_kernel_attr();
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  hg_kernel *k = NULL;
  dnnl_status_t st = attr ? dnnl_success : dnnl_out_of_memory;
  if (st == dnnl_success && which == POOL_BACKWARD)
    st = pool_pd(&hint, POOL_FORWARD_TRAINING, s, attr, NULL);
  if (st == dnnl_success) st = pool_pd(&pd, which, s, attr, hint);
  if (st == dnnl_success) {
    int ids[HG_KERNEL_MAX_ARGS];
    k = hg_kernel_build(key, pd, pool_arg_ids(which, s, ids), ids, pool_name(s->kind));
  } else {
    hg_kernel_fail(st, pool_name(s->kind), "primitive descriptor creation");
  }
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return k;
}

static hg_kernel *pool_kernel(int which, const hg_pool_shape *s) {
  int key[HG_KERNEL_KEY_INTS];
  pool_key(key, which, s);
  hg_kernel *k = hg_kernel_find(key);
  if (k) return k;
  if (!hg_kernel_engine()) return NULL;
  return pool_build(key, which, s);
}

size_t hg_pool2d_workspace_bytes(const hg_pool_shape *s) {
  if (s->kind != HG_POOL_MAX) return 0;
  hg_kernel *k = pool_kernel(POOL_FORWARD_TRAINING, s);
  return k ? k->workspace_bytes : 0;
}

hg_status hg_pool2d_forward(const hg_pool_shape *s, const float *x, float *y, void *workspace) {
  bool training = workspace && s->kind == HG_POOL_MAX;
  hg_kernel *k = pool_kernel(training ? POOL_FORWARD_TRAINING : POOL_FORWARD_INFERENCE, s);
  if (!k) return hg_last_status();
  hg_kstats.pool_forward++;
  void *data[] = {(void *)x, y, workspace};
  return hg_kernel_run(k, data, pool_name(s->kind));
}

hg_status hg_pool2d_backward(const hg_pool_shape *s, const float *dy, const void *workspace,
                             float *dx, bool accumulate) {
  if (s->kind == HG_POOL_MAX && !workspace)
    return hg_fail(HG_ERR_ARG, "max_pool2d: backward needs the workspace of a training forward");
  hg_kernel *k = pool_kernel(POOL_BACKWARD, s);
  if (!k) return hg_last_status();
  size_t n = (size_t)s->n * s->c * s->h * s->w;
  float *out = accumulate ? hg_pool_alloc(n * sizeof(float)) : dx;
  if (!out) return HG_ERR_NOMEM;
  hg_kstats.pool_backward++;
  void *data[] = {(void *)dy, out, (void *)workspace};
  hg_status st = hg_kernel_run(k, data, pool_name(s->kind));
  if (st == HG_OK && out != dx) hg_kernel_add(dx, out, n);
  if (out != dx) hg_pool_free(out, n * sizeof(float));
  return st;
}
