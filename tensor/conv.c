#include "tensor/conv.h"

#include <stdio.h>
#include <string.h>

#include "tensor/alloc.h"
#include "tensor/kernel_cache.h"
#include "tensor/kstats.h"

enum { CONV_FORWARD = 1, CONV_BACKWARD_DATA, CONV_BACKWARD_WEIGHTS };

static const char *dims_str(const int d[4], char *buf, size_t size) {
  snprintf(buf, size, "[%d,%d,%d,%d]", d[0], d[1], d[2], d[3]);
  return buf;
}

static bool dims_positive(const int d[4]) { return d[0] > 0 && d[1] > 0 && d[2] > 0 && d[3] > 0; }

hg_status hg_conv_shape_init(hg_conv_shape *s, const int x_shape[4], const int w_shape[4],
                             int stride, int pad) {
  char xs[64], ws[64];
  dims_str(x_shape, xs, sizeof xs);
  dims_str(w_shape, ws, sizeof ws);
  if (!dims_positive(x_shape) || !dims_positive(w_shape))
    return hg_fail(HG_ERR_SHAPE, "conv2d: input %s and weight %s need positive sizes", xs, ws);
  if (x_shape[1] != w_shape[1])
    return hg_fail(HG_ERR_SHAPE, "conv2d: input %s has %d channels but weight %s expects %d", xs,
                   x_shape[1], ws, w_shape[1]);
  if (stride < 1 || pad < 0)
    return hg_fail(HG_ERR_ARG,
                   "conv2d: stride %d must be >= 1 and pad %d >= 0 (input %s, weight %s)", stride,
                   pad, xs, ws);
  if (x_shape[2] + 2 * pad < w_shape[2] || x_shape[3] + 2 * pad < w_shape[3])
    return hg_fail(HG_ERR_SHAPE,
                   "conv2d: input %s with pad %d is smaller than the kernel of weight %s", xs, pad,
                   ws);
  *s = (hg_conv_shape){.n = x_shape[0], .c = x_shape[1], .h = x_shape[2], .w = x_shape[3],
                       .k = w_shape[0], .kh = w_shape[2], .kw = w_shape[3],
                       .stride = stride, .pad = pad};
  s->oh = (s->h + 2 * pad - s->kh) / stride + 1;
  s->ow = (s->w + 2 * pad - s->kw) / stride + 1;
  return HG_OK;
}

static void conv_key(int key[HG_KERNEL_KEY_INTS], int kind, const hg_conv_shape *s, bool bias) {
  memset(key, 0, HG_KERNEL_KEY_INTS * sizeof *key);
  int v[] = {kind, 10, s->n, s->c, s->h, s->w, s->k, s->kh, s->kw, s->stride, s->pad, bias};
  memcpy(key, v, sizeof v);
}

typedef struct conv_mds {
  dnnl_memory_desc_t x, w, b, y;
  dnnl_dims_t strides, pads;
} conv_mds;

static conv_mds conv_descs(const hg_conv_shape *s) {
  conv_mds m = {.x = hg_kernel_md4(s->n, s->c, s->h, s->w, dnnl_nchw),
                .w = hg_kernel_md4(s->k, s->c, s->kh, s->kw, dnnl_oihw),
                .b = hg_kernel_md1(s->k),
                .y = hg_kernel_md4(s->n, s->k, s->oh, s->ow, dnnl_nchw),
                .strides = {s->stride, s->stride},
                .pads = {s->pad, s->pad}};
  return m;
}

/* Forward descriptor: the primitive itself, or the hint for a backward one. */
static dnnl_status_t forward_pd(dnnl_primitive_desc_t *pd, const conv_mds *m, bool bias,
                                const_dnnl_primitive_attr_t attr) {
  dnnl_convolution_desc_t d;
  dnnl_status_t st = dnnl_convolution_forward_desc_init(
      &d, dnnl_forward_training, dnnl_convolution_direct, &m->x, &m->w, bias ? &m->b : NULL,
      &m->y, m->strides, m->pads, m->pads);
  if (st != dnnl_success) return st;
  return dnnl_primitive_desc_create(pd, &d, attr, hg_kernel_engine(), NULL);
}

static dnnl_status_t backward_pd(dnnl_primitive_desc_t *pd, int kind, const conv_mds *m, bool bias,
                                 const_dnnl_primitive_attr_t attr,
                                 const_dnnl_primitive_desc_t hint) {
  dnnl_convolution_desc_t d;
  dnnl_status_t st =
      kind == CONV_BACKWARD_DATA
          ? dnnl_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &m->x, &m->w,
                                                     &m->y, m->strides, m->pads, m->pads)
          : dnnl_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &m->x,
                                                        &m->w, bias ? &m->b : NULL, &m->y,
                                                        m->strides, m->pads, m->pads);
  if (st != dnnl_success) return st;
  return dnnl_primitive_desc_create(pd, &d, attr, hg_kernel_engine(), hint);
}

static int conv_arg_ids(int kind, bool bias, int ids[HG_KERNEL_MAX_ARGS]) {
  static const int fwd[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
  static const int bwd_data[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
  static const int bwd_weights[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                                    DNNL_ARG_DIFF_BIAS};
  const int *src = kind == CONV_FORWARD ? fwd : kind == CONV_BACKWARD_DATA ? bwd_data : bwd_weights;
  int n = 3 + (kind != CONV_BACKWARD_DATA && bias);
  memcpy(ids, src, (size_t)n * sizeof *ids);
  return n;
}

/* Build the primitive for (kind, s, bias) from its descriptors. */
static hg_kernel *conv_build(const int *key, int kind, const hg_conv_shape *s, bool bias) {
  conv_mds m = conv_descs(s);
  dnnl_primitive_attr_t attr = hg_kernel_attr();
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  hg_kernel *k = NULL;
  dnnl_status_t st = attr ? dnnl_success : dnnl_out_of_memory;
  if (st == dnnl_success) st = forward_pd(kind == CONV_FORWARD ? &pd : &hint, &m, bias, attr);
  if (st == dnnl_success && kind != CONV_FORWARD) st = backward_pd(&pd, kind, &m, bias, attr, hint);
  if (st == dnnl_success) {
    int ids[HG_KERNEL_MAX_ARGS];
    int n = conv_arg_ids(kind, bias, ids);
    static const char *const labels[] = {"", "conv2d forward", "conv2d backward_data",
                                         "conv2d backward_weights"};
    k = hg_kernel_build(key, pd, n, ids, labels[kind]);
  } else {
    hg_kernel_fail(st, "conv2d", "primitive descriptor creation");
  }
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return k;
}

static hg_kernel *conv_kernel(int kind, const hg_conv_shape *s, bool bias) {
  int key[HG_KERNEL_KEY_INTS];
  conv_key(key, kind, s, bias);
  hg_kernel *k = hg_kernel_find(key);
  if (k) return k;
  if (!hg_kernel_engine()) return NULL;
  return conv_build(key, kind, s, bias);
}

static hg_status forward(const hg_conv_shape *s, const float *x, const float *w, const float *b,
                         float *y) {
  hg_kernel *k = conv_kernel(CONV_FORWARD, s, b != NULL);
  if (!k) return hg_last_status();
  hg_kstats.conv_forward++;
  void *data[] = {(void *)x, (void *)w, y, (void *)b};
  return hg_kernel_run(k, data, "conv2d");
}

/* A buffer of n floats for a result to be added (accumulate) or the
 * destination itself (overwrite). */
static float *result_buffer(float *dst, size_t n, bool accumulate) {
  return accumulate && dst ? hg_pool_alloc(n * sizeof(float)) : dst;
}

static void result_finish(float *dst, float *tmp, size_t n) {
  if (tmp == dst) return;
  hg_kernel_add(dst, tmp, n);
  hg_pool_free(tmp, n * sizeof(float));
}

static hg_status backward_data(const hg_conv_shape *s, const float *dy, const float *w, float *dx,
                               bool accumulate) {
  hg_kernel *k = conv_kernel(CONV_BACKWARD_DATA, s, false);
  if (!k) return hg_last_status();
  size_t n = (size_t)s->n * s->c * s->h * s->w;
  float *out = result_buffer(dx, n, accumulate);
  if (!out) return HG_ERR_NOMEM;
  hg_kstats.conv_backward_data++;
  void *data[] = {(void *)dy, (void *)w, out};
  hg_status st = hg_kernel_run(k, data, "conv2d");
  if (st == HG_OK) result_finish(dx, out, n);
  else if (out != dx) hg_pool_free(out, n * sizeof(float));
  return st;
}

static hg_status backward_weights(const hg_conv_shape *s, const float *x, const float *dy, float *dw,
                                  float *db, bool accumulate) {
  hg_kernel *k = conv_kernel(CONV_BACKWARD_WEIGHTS, s, db != NULL);
  if (!k) return hg_last_status();
  size_t nw = (size_t)s->k * s->c * s->kh * s->kw, nb = (size_t)s->k;
  float *ow = result_buffer(dw, nw, accumulate);
  float *ob = ow ? result_buffer(db, nb, accumulate) : NULL;
  hg_status st = ow && (ob || !db) ? HG_OK : HG_ERR_NOMEM;
  if (st == HG_OK) {
    hg_kstats.conv_backward_weights++;
    void *data[] = {(void *)x, (void *)dy, ow, ob};
    st = hg_kernel_run(k, data, "conv2d");
  }
  if (st == HG_OK) {
    result_finish(dw, ow, nw);
    if (db) result_finish(db, ob, nb);
  } else {
    if (ow && ow != dw) hg_pool_free(ow, nw * sizeof(float));
    if (ob && ob != db) hg_pool_free(ob, nb * sizeof(float));
  }
  return st;
}

/* The public calls hold the kernel cache for the whole call. */
hg_status hg_conv2d_forward(const hg_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y) {
  hg_kernel_lock();
  hg_status st = forward(s, x, w, b, y);
  hg_kernel_unlock();
  return st;
}

hg_status hg_conv2d_backward_data(const hg_conv_shape *s, const float *dy, const float *w,
                                  float *dx, bool accumulate) {
  hg_kernel_lock();
  hg_status st = backward_data(s, dy, w, dx, accumulate);
  hg_kernel_unlock();
  return st;
}

hg_status hg_conv2d_backward_weights(const hg_conv_shape *s, const float *x, const float *dy,
                                     float *dw, float *db, bool accumulate) {
  hg_kernel_lock();
  hg_status st = backward_weights(s, x, dy, dw, db, accumulate);
  hg_kernel_unlock();
  return st;
}
