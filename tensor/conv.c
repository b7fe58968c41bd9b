#include "tensor/conv.h"

#include <stdio.h>
#include <string.h>

#include "tensor/alloc.h"
#include "tensor/kernel_cache.h"
#include "tensor/kstats.h"
#include "tensor/winograd.h"

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
  bool relu = kind == CONV_FORWARD && s->relu;
  int v[] = {kind, 10, s->n, s->c, s->h, s->w, s->k, s->kh, s->kw, s->stride, s->pad, bias, relu};
  memcpy(key, v, sizeof v);
}

typedef struct conv_mds {
  dnnl_memory_desc_t x, w, b, y;
  dnnl_dims_t strides, pads;
} conv_mds;

/* The descriptors in the plain layouts (nchw, oihw), or with `any` layout
 * so that oneDNN picks its preferred (blocked) ones. */
static conv_mds conv_descs(const hg_conv_shape *s, bool any) {
  conv_mds m = {.x = hg_kernel_md4(s->n, s->c, s->h, s->w, any ? dnnl_format_tag_any : dnnl_nchw),
                .w = hg_kernel_md4(s->k, s->c, s->kh, s->kw, any ? dnnl_format_tag_any : dnnl_oihw),
                .b = hg_kernel_md1(s->k),
                .y = hg_kernel_md4(s->n, s->k, s->oh, s->ow, any ? dnnl_format_tag_any : dnnl_nchw),
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

/* A convolution in oneDNN's preferred layouts, with the reorders between
 * them and the plain ones of the caller's first three arguments (the two
 * inputs, then the output) where they differ. */
typedef struct conv_plan {
  hg_kernel *conv;
  hg_kernel *reorder[3]; /* argument i: plain → preferred (inputs) or back (output); NULL: same layout */
  size_t bytes[3];       /* argument i in the preferred layout */
} conv_plan;

static const char *const labels[] = {"", "conv2d forward", "conv2d backward_data", "conv2d backward_weights"};

/* The plain descriptor of argument i (in conv_arg_ids order) of a convolution of this kind. */
static const dnnl_memory_desc_t *plain_md(const conv_mds *m, int kind, int i) {
  const dnnl_memory_desc_t *fwd[] = {&m->x, &m->w, &m->y}, *data[] = {&m->y, &m->w, &m->x},
                           *weights[] = {&m->x, &m->y, &m->w};
  return kind == CONV_FORWARD ? fwd[i] : kind == CONV_BACKWARD_DATA ? data[i] : weights[i];
}

/* The reorder of argument i between its plain layout and `preferred`, cached under the conv's key. */
static hg_kernel *reorder_kernel(const int *conv_key_ints, int i, const dnnl_memory_desc_t *plain,
                                 const dnnl_memory_desc_t *preferred, bool to_plain) {
  int key[HG_KERNEL_KEY_INTS];
  memcpy(key, conv_key_ints, sizeof key);
  key[0] += 100 * (i + 1);
  hg_kernel *k = hg_kernel_find(key);
  if (k) return k;
  dnnl_primitive_attr_t attr = hg_kernel_attr();
  dnnl_primitive_desc_t pd = NULL;
  const dnnl_memory_desc_t *from = to_plain ? preferred : plain, *to = to_plain ? plain : preferred;
  dnnl_status_t st = attr ? dnnl_reorder_primitive_desc_create(&pd, from, hg_kernel_engine(), to, hg_kernel_engine(),
                                                               attr)
                          : dnnl_out_of_memory;
  static const int ids[] = {DNNL_ARG_FROM, DNNL_ARG_TO};
  if (st == dnnl_success) k = hg_kernel_build(key, pd, 2, ids, "conv2d reorder");
  else hg_kernel_fail(st, "conv2d", "reorder descriptor creation");
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return k;
}

/* The reorders that the preferred layouts of pd need. */
static hg_status plan_reorders(conv_plan *p, const int *key, int kind, const hg_conv_shape *s,
                               const_dnnl_primitive_desc_t pd) {
  conv_mds plain = conv_descs(s, false);
  int ids[HG_KERNEL_MAX_ARGS];
  conv_arg_ids(kind, false, ids);
  for (int i = 0; i < 3; i++) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, ids[i]);
    if (!md) return hg_kernel_fail(dnnl_invalid_arguments, "conv2d", "layout query");
    p->bytes[i] = dnnl_memory_desc_get_size(md);
    if (dnnl_memory_desc_equal(md, plain_md(&plain, kind, i))) continue;
    p->reorder[i] = reorder_kernel(key, i, plain_md(&plain, kind, i), md, i == 2);
    if (!p->reorder[i]) return hg_last_status();
  }
  return HG_OK;
}

/* y ← max(y, 0) as the forward's post-op. */
static dnnl_status_t attr_add_relu(dnnl_primitive_attr_t attr) {
  dnnl_post_ops_t ops;
  dnnl_status_t st = dnnl_post_ops_create(&ops);
  if (st != dnnl_success) return st;
  st = dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
  if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, ops);
  dnnl_post_ops_destroy(ops);
  return st;
}

/* Build the primitive for (kind, s, bias) from its descriptors, in the preferred layouts. */
static hg_kernel *conv_build(const int *key, int kind, const hg_conv_shape *s, bool bias) {
  conv_mds m = conv_descs(s, true);
  dnnl_primitive_attr_t attr = hg_kernel_attr();
  dnnl_primitive_desc_t hint = NULL, pd = NULL;
  hg_kernel *k = NULL;
  dnnl_status_t st = attr ? dnnl_success : dnnl_out_of_memory;
  if (st == dnnl_success && kind == CONV_FORWARD && s->relu) st = attr_add_relu(attr);
  if (st == dnnl_success) st = forward_pd(kind == CONV_FORWARD ? &pd : &hint, &m, bias, attr);
  if (st == dnnl_success && kind != CONV_FORWARD) st = backward_pd(&pd, kind, &m, bias, attr, hint);
  if (st == dnnl_success) {
    int ids[HG_KERNEL_MAX_ARGS];
    int n = conv_arg_ids(kind, bias, ids);
    k = hg_kernel_build(key, pd, n, ids, labels[kind]);
  } else {
    hg_kernel_fail(st, "conv2d", "primitive descriptor creation");
  }
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (hint) dnnl_primitive_desc_destroy(hint);
  if (attr) dnnl_primitive_attr_destroy(attr);
  return k;
}

/* The cached convolution of (kind, s, bias) and its reorders, built when missing. */
static hg_status conv_plan_for(conv_plan *p, int kind, const hg_conv_shape *s, bool bias) {
  int key[HG_KERNEL_KEY_INTS];
  conv_key(key, kind, s, bias);
  *p = (conv_plan){.conv = hg_kernel_find(key)};
  if (!p->conv && !hg_kernel_engine()) return hg_last_status();
  if (!p->conv) p->conv = conv_build(key, kind, s, bias);
  if (!p->conv) return hg_last_status();
  const_dnnl_primitive_desc_t pd;
  dnnl_status_t st = dnnl_primitive_get_primitive_desc(p->conv->primitive, &pd);
  if (st != dnnl_success) return hg_kernel_fail(st, "conv2d", "descriptor query");
  hg_status status = plan_reorders(p, key, kind, s, pd);
  p->conv = hg_kernel_find(key); /* building a reorder may have evicted it */
  if (status == HG_OK && !p->conv) status = hg_fail(HG_ERR_BACKEND, "conv2d: the kernel cache is too small");
  return status;
}

/* Run p on the caller's plain arguments data[0..n): inputs reordered into
 * the kernels' workspace, the convolution, the output reordered back. */
static hg_status plan_run(const conv_plan *p, void *const *data, int n) {
  void *args[HG_KERNEL_MAX_ARGS];
  memcpy(args, data, (size_t)n * sizeof *args);
  size_t offset[3], total = 0;
  for (int i = 0; i < 3; i++) {
    offset[i] = total;
    if (p->reorder[i]) total += (p->bytes[i] + 63) / 64 * 64;
  }
  char *ws = total ? hg_kernel_workspace(total) : NULL;
  if (total && !ws) return HG_ERR_NOMEM;
  hg_status st = HG_OK;
  for (int i = 0; i < 3 && st == HG_OK; i++) {
    if (!p->reorder[i]) continue;
    args[i] = ws + offset[i];
    if (i < 2) st = hg_kernel_run(p->reorder[i], (void *[]){data[i], args[i]}, "conv2d");
  }
  if (st == HG_OK) st = hg_kernel_run(p->conv, args, "conv2d");
  if (st == HG_OK && p->reorder[2]) st = hg_kernel_run(p->reorder[2], (void *[]){args[2], data[2]}, "conv2d");
  return st;
}

static hg_conv_algorithm algorithm = HG_CONV_AUTO;

void hg_conv_set_algorithm(hg_conv_algorithm a) { algorithm = a; }
hg_conv_algorithm hg_conv_get_algorithm(void) { return algorithm; }

/* Whether s runs on the Winograd kernels (counted) rather than oneDNN's direct ones. */
static bool winograd(const hg_conv_shape *s, bool backward_data) {
  bool use = algorithm == HG_CONV_WINOGRAD
                 ? hg_winograd_fits(s)
                 : algorithm == HG_CONV_AUTO && hg_winograd_pays(s, backward_data);
  hg_kstats.conv_winograd += use;
  return use;
}

static hg_status forward(const hg_conv_shape *s, const float *x, const float *w, const float *b,
                         float *y) {
  if (winograd(s, false)) {
    hg_kstats.conv_forward++;
    return hg_winograd_forward(s, x, w, b, y);
  }
  conv_plan p;
  hg_status st = conv_plan_for(&p, CONV_FORWARD, s, b != NULL);
  if (st != HG_OK) return st;
  hg_kstats.conv_forward++;
  void *data[] = {(void *)x, (void *)w, y, (void *)b};
  return plan_run(&p, data, b ? 4 : 3);
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
  if (winograd(s, true)) {
    hg_kstats.conv_backward_data++;
    return hg_winograd_backward_data(s, dy, w, dx, accumulate);
  }
  conv_plan p;
  hg_status st = conv_plan_for(&p, CONV_BACKWARD_DATA, s, false);
  if (st != HG_OK) return st;
  size_t n = (size_t)s->n * s->c * s->h * s->w;
  float *out = result_buffer(dx, n, accumulate);
  if (!out) return HG_ERR_NOMEM;
  hg_kstats.conv_backward_data++;
  void *data[] = {(void *)dy, (void *)w, out};
  st = plan_run(&p, data, 3);
  if (st == HG_OK) result_finish(dx, out, n);
  else if (out != dx) hg_pool_free(out, n * sizeof(float));
  return st;
}

static hg_status backward_weights(const hg_conv_shape *s, const float *x, const float *dy, float *dw,
                                  float *db, bool accumulate) {
  if (winograd(s, false)) {
    hg_kstats.conv_backward_weights++;
    return hg_winograd_backward_weights(s, x, dy, dw, db, accumulate);
  }
  conv_plan p;
  hg_status st = conv_plan_for(&p, CONV_BACKWARD_WEIGHTS, s, db != NULL);
  if (st != HG_OK) return st;
  size_t nw = (size_t)s->k * s->c * s->kh * s->kw, nb = (size_t)s->k;
  float *ow = result_buffer(dw, nw, accumulate);
  float *ob = ow ? result_buffer(db, nb, accumulate) : NULL;
  st = ow && (ob || !db) ? HG_OK : HG_ERR_NOMEM;
  if (st == HG_OK) {
    hg_kstats.conv_backward_weights++;
    void *data[] = {(void *)x, (void *)dy, ow, ob};
    st = plan_run(&p, data, db ? 4 : 3);
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
