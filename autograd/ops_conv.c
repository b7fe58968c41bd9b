/* 2-D convolution on the oneDNN kernels of tensor/conv.h. */
#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/alloc.h"
#include "tensor/conv.h"

/* db[k] (+)= Σ_{n,i,j} dy[n,k,i,j] (bias needing a gradient when w does not) */
static void bias_grad(const hg_conv_shape *s, const float *dy, float *db, bool acc) {
  size_t plane = (size_t)s->oh * s->ow;
  for (int k = 0; k < s->k; k++) {
    double sum = 0;
    for (int n = 0; n < s->n; n++) {
      const float *p = dy + ((size_t)n * s->k + k) * plane;
      for (size_t i = 0; i < plane; i++) sum += p[i];
    }
    db[k] = (acc ? db[k] : 0.0f) + (float)sum;
  }
}

/* dw and db in one backward-weights kernel; when one of them holds a
 * gradient and the other not, the empty one is zeroed and both accumulate. */
static hg_status weights_grad(const hg_conv_shape *s, hg_tensor *x, hg_tensor *w, hg_tensor *b,
                              const float *dy) {
  bool acc_w, acc_b = false;
  hg_tensor *dw = hg_grad_acquire(w, &acc_w);
  hg_tensor *db = hg_needs_grad(b) ? hg_grad_acquire(b, &acc_b) : NULL;
  if (!dw || (hg_needs_grad(b) && !db)) return HG_ERR_NOMEM;
  if (db && acc_w != acc_b) {
    hg_tensor_fill(acc_w ? db : dw, 0.0f);
    acc_w = true;
  }
  return hg_conv2d_backward_weights(s, x->data, dy, dw->data, db ? db->data : NULL, acc_w);
}

/* dx = w ⋆ᵀ dy; dw = x ⋆ dy; db = Σ dy — each only when needed */
static hg_status backward_from(hg_node *nd, const float *dy) {
  hg_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
  hg_conv_shape s;
  hg_status st = hg_conv_shape_init(&s, x->shape, w->shape, nd->args.i[0], nd->args.i[1]);
  bool acc;
  if (st == HG_OK && hg_needs_grad(x)) {
    hg_tensor *dx = hg_grad_acquire(x, &acc);
    st = dx ? hg_conv2d_backward_data(&s, dy, w->data, dx->data, acc) : HG_ERR_NOMEM;
  }
  if (st != HG_OK) return st;
  if (hg_needs_grad(w)) return weights_grad(&s, x, w, b, dy);
  if (hg_needs_grad(b)) {
    hg_tensor *db = hg_grad_acquire(b, &acc);
    if (!db) return HG_ERR_NOMEM;
    bias_grad(&s, dy, db->data, acc);
  }
  return HG_OK;
}

static hg_status conv2d_backward(hg_node *nd) { return backward_from(nd, nd->out->grad->data); }

/* du = dy ⊙ [y > 0], in dy's buffer when nothing else reads it, then as conv2d */
static hg_status conv2d_relu_backward(hg_node *nd) {
  const hg_tensor *y = nd->out, *dy = y->grad;
  bool in_place = hg_out_grad_disposable(nd);
  float *du = in_place ? dy->data : hg_pool_alloc(dy->numel * sizeof(float));
  if (!du) return HG_ERR_NOMEM;
  const float *g = dy->data, *yv = y->data;
  size_t n = dy->numel;
#pragma omp parallel for simd if (n > 32768)
  for (size_t i = 0; i < n; i++) du[i] = yv[i] > 0.0f ? g[i] : 0.0f;
  hg_status st = backward_from(nd, du);
  if (!in_place) hg_pool_free(du, n * sizeof(float));
  return st;
}

static hg_status conv2d_check(const hg_tensor *x, const hg_tensor *w, const hg_tensor *b,
                              int stride, int pad, hg_conv_shape *s) {
  char xs[64], ws[64], bs[64];
  hg_shape_str(x, xs, sizeof xs);
  hg_shape_str(w, ws, sizeof ws);
  if (x->ndim != 4 || w->ndim != 4)
    return hg_fail(HG_ERR_SHAPE, "conv2d: input %s and weight %s must both be 4-D", xs, ws);
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
    return hg_fail(HG_ERR_SHAPE, "conv2d: bias %s does not match weight %s (want [%d])",
                   hg_shape_str(b, bs, sizeof bs), ws, w->shape[0]);
  return hg_conv_shape_init(s, x->shape, w->shape, stride, pad);
}

/* ---------- the spec ---------- */

/* A case's arguments: square stride, symmetric zero padding. */
typedef struct conv_args {
  int stride, pad;
} conv_args;

static hg_tensor *conv2d_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const conv_args *a = args;
  return hg_conv2d(in[0], in[1], in[2], a->stride, a->pad);
}

static hg_tensor *conv2d_relu_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const conv_args *a = args;
  return hg_conv2d_relu(in[0], in[1], in[2], a->stride, a->pad);
}

/* Σ_{c,p,q} x[n, c, i·s − pad + p, j·s − pad + q]·w[k, c, p, q] over the taps inside x. */
static double conv_at(const hg_tensor *x, const hg_tensor *w, const conv_args *a, int n, int k, int i, int j) {
  const int *xs = x->shape, *ws = w->shape;
  double sum = 0.0;
  for (int c = 0; c < xs[1]; c++)
    for (int p = 0; p < ws[2]; p++)
      for (int q = 0; q < ws[3]; q++) {
        int r = i * a->stride - a->pad + p, t = j * a->stride - a->pad + q;
        if (r >= 0 && r < xs[2] && t >= 0 && t < xs[3])
          sum += (double)x->data[(((size_t)n * xs[1] + c) * xs[2] + r) * xs[3] + t] *
                 w->data[(((size_t)k * ws[1] + c) * ws[2] + p) * ws[3] + q];
      }
  return sum;
}

/* Naive: every output element by its own sum, in double. */
static hg_tensor *conv2d_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const conv_args *a = args;
  const hg_tensor *x = in[0], *w = in[1], *b = in[2];
  int oh = (x->shape[2] + 2 * a->pad - w->shape[2]) / a->stride + 1;
  int ow = (x->shape[3] + 2 * a->pad - w->shape[3]) / a->stride + 1;
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(x->shape[0], w->shape[0], oh, ow));
  size_t o = 0;
  for (int n = 0; y && n < x->shape[0]; n++)
    for (int k = 0; k < w->shape[0]; k++)
      for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++)
          y->data[o++] = (float)((b ? b->data[k] : 0.0) + conv_at(x, w, a, n, k, i, j));
  return y;
}

/* Naive: max(conv2d's reference, 0). */
static hg_tensor *conv2d_relu_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  hg_tensor *y = conv2d_reference(op, in, args);
  for (size_t i = 0; y && i < y->numel; i++) y->data[i] = y->data[i] > 0.0f ? y->data[i] : 0.0f;
  return y;
}

#define GRAD HG_IN_GRAD

static const hg_op_case conv2d_cases[] = {
    {"stride 1 pad 0, bias", 3,
     {HG_IN(-1, 1, GRAD, 2, 3, 6, 5), HG_IN(-1, 1, GRAD, 4, 3, 3, 3), HG_IN(-1, 1, GRAD, 4)},
     &(const conv_args){1, 0}, 0},
    {"stride 2 pad 1, no bias", 2, {HG_IN(-1, 1, GRAD, 2, 2, 7, 6), HG_IN(-1, 1, GRAD, 3, 2, 3, 3)},
     &(const conv_args){2, 1}, 0},
    {"stride 2 pad 1, bias, 2x3 kernel", 3,
     {HG_IN(-1, 1, GRAD, 1, 3, 5, 7), HG_IN(-1, 1, GRAD, 2, 3, 2, 3), HG_IN(-1, 1, GRAD, 2)},
     &(const conv_args){2, 1}, 0},
    {"stride 1 pad 1, detached x", 3,
     {HG_IN(-1, 1, HG_IN_DETACH, 2, 2, 5, 5), HG_IN(-1, 1, GRAD, 3, 2, 3, 3), HG_IN(-1, 1, GRAD, 3)},
     &(const conv_args){1, 1}, 0},
    {"only the bias needs a gradient", 3,
     {HG_IN(-1, 1, 0, 2, 2, 4, 4), HG_IN(-1, 1, 0, 3, 2, 3, 3), HG_IN(-1, 1, GRAD, 3)},
     &(const conv_args){1, 0}, 0},
};
/* conv2 of the seeds' net. */
static const hg_op_case conv2d_bench[] = {
    {"conv2", 3,
     {HG_IN(-1, 1, GRAD, 64, 96, 14, 14), HG_IN(-0.1f, 0.1f, GRAD, 128, 96, 3, 3), HG_IN(-1, 1, GRAD, 128)},
     &(const conv_args){1, 0}, 0},
};

const hg_op hg_op_conv2d = HG_OP_SPEC("conv2d", conv2d, NULL, conv2d_cases, conv2d_bench);
/* u = w ⋆ x + b kept ≥ 1 away from the kink: x > 0, a third of w negative
 * (u ≈ 5 before the bias), b ≈ ±10 (the second channel negative). */
#define RELU_X(...) HG_IN(0.5f, 1, GRAD, __VA_ARGS__)
#define RELU_W(...) HG_IN(0.5f, 1, GRAD | HG_IN_SIGNED, __VA_ARGS__)
#define RELU_B(k) HG_IN(8, 12, GRAD | HG_IN_SIGNED, k)
static const hg_op_case conv2d_relu_cases[] = {
    {"stride 1 pad 0, both signs", 3, {RELU_X(2, 3, 6, 5), RELU_W(4, 3, 3, 3), RELU_B(4)},
     &(const conv_args){1, 0}, 0},
    {"stride 2 pad 1, 2x3 kernel", 3, {RELU_X(1, 3, 5, 7), RELU_W(3, 3, 2, 3), RELU_B(3)},
     &(const conv_args){2, 1}, 0},
    {"stride 1 pad 1, detached x, through y ⊙ y", 3,
     {HG_IN(0.5f, 1, HG_IN_DETACH, 2, 2, 5, 5), RELU_W(3, 2, 3, 3), RELU_B(3)},
     &(const conv_args){1, 1}, HG_CASE_SQUARED},
};
const hg_op hg_op_conv2d_relu =
    HG_OP_SPEC("conv2d_relu", conv2d_relu, NULL, conv2d_relu_cases, conv2d_bench);

const hg_op *const hg_ops_conv[] = {&hg_op_conv2d, &hg_op_conv2d_relu, NULL};

/* The output of conv2d (relu or not) on checked shapes, recorded as `op`. */
static hg_tensor *conv(const hg_op *op, hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride,
                       int pad) {
  hg_conv_shape s;
  if (conv2d_check(x, w, b, stride, pad, &s) != HG_OK) return NULL;
  s.relu = op == &hg_op_conv2d_relu;
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(s.n, s.k, s.oh, s.ow));
  if (!y) return NULL;
  hg_node *nd = NULL;
  hg_tensor *in[] = {x, w, b};
  if (hg_conv2d_forward(&s, x->data, w->data, b ? b->data : NULL, y->data) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  y = hg_record_output(op, y, 3, in, &nd);
  if (nd) {
    nd->args.i[0] = stride;
    nd->args.i[1] = pad;
  }
  return y;
}

/* y[n,k] = Σ_c w[k,c] ⋆ x[n,c] + b[k] */
hg_tensor *hg_conv2d(hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride, int pad) {
  return conv(&hg_op_conv2d, x, w, b, stride, pad);
}

/* y = max(conv2d(x, w, b), 0) */
hg_tensor *hg_conv2d_relu(hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride, int pad) {
  return conv(&hg_op_conv2d_relu, x, w, b, stride, pad);
}
