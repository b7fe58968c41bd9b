/* Matrix products: matmul with transpose flags, and the dense layer. */
#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/gemm.h"

/* ---------- matmul: C = op(A)·op(B) ---------- */

/* C [m,n] = op(A)·op(B); dC given.
 *   dA = dC·op(B)ᵀ, or (A transposed) op(B)·dCᵀ
 *   dB = op(A)ᵀ·dC, or (B transposed) dCᵀ·op(A) */
static hg_status matmul_backward(hg_node *nd) {
  hg_tensor *a = nd->in[0], *b = nd->in[1];
  bool ta = nd->args.i[0], tb = nd->args.i[1], acc;
  int m = nd->out->shape[0], n = nd->out->shape[1], k = ta ? a->shape[0] : a->shape[1];
  int lda = a->shape[1], ldb = b->shape[1];
  const float *dc = nd->out->grad->data;
  hg_status s = HG_OK;
  if (hg_needs_grad(a)) {
    hg_tensor *da = hg_grad_acquire(a, &acc);
    if (!da) return HG_ERR_NOMEM;
    s = ta ? hg_gemm(tb, true, k, m, n, 1.0f, b->data, ldb, dc, n, acc, da->data, m)
           : hg_gemm(false, !tb, m, k, n, 1.0f, dc, n, b->data, ldb, acc, da->data, k);
  }
  if (s == HG_OK && hg_needs_grad(b)) {
    hg_tensor *db = hg_grad_acquire(b, &acc);
    if (!db) return HG_ERR_NOMEM;
    s = tb ? hg_gemm(true, ta, n, k, m, 1.0f, dc, n, a->data, lda, acc, db->data, k)
           : hg_gemm(!ta, false, k, n, m, 1.0f, a->data, lda, dc, n, acc, db->data, n);
  }
  return s;
}

static bool matmul_shapes_ok(const hg_tensor *a, const hg_tensor *b, bool ta, bool tb) {
  return a->ndim == 2 && b->ndim == 2 && a->shape[ta ? 0 : 1] == b->shape[tb ? 1 : 0];
}

/* ---------- linear: y = x·Wᵀ + b ---------- */

/* db = Σ_rows dy */
static void bias_grad(const float *dy, int rows, int cols, float *db, bool acc) {
  for (int j = 0; j < cols; j++) db[j] = acc ? db[j] : 0.0f;
  for (int i = 0; i < rows; i++)
    for (int j = 0; j < cols; j++) db[j] += dy[(size_t)i * cols + j];
}

/* dx = dy·W, dW = dyᵀ·x, db = Σ_n dy */
static hg_status linear_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
  int n = x->shape[0], d = x->shape[1], k = w->shape[0];
  const float *dy = nd->out->grad->data;
  bool acc;
  hg_status s = HG_OK;
  if (hg_needs_grad(x)) {
    hg_tensor *dx = hg_grad_acquire(x, &acc);
    if (!dx) return HG_ERR_NOMEM;
    s = hg_gemm(false, false, n, d, k, 1.0f, dy, k, w->data, d, acc, dx->data, d);
  }
  if (s == HG_OK && hg_needs_grad(w)) {
    hg_tensor *dw = hg_grad_acquire(w, &acc);
    if (!dw) return HG_ERR_NOMEM;
    s = hg_gemm(true, false, k, d, n, 1.0f, dy, k, x->data, d, acc, dw->data, d);
  }
  if (s == HG_OK && hg_needs_grad(b)) {
    hg_tensor *db = hg_grad_acquire(b, &acc);
    if (!db) return HG_ERR_NOMEM;
    bias_grad(dy, n, k, db->data, acc);
  }
  return s;
}

static hg_status linear_check(const hg_tensor *x, const hg_tensor *w, const hg_tensor *b) {
  char xs[64], ws[64], bs[64];
  hg_shape_str(x, xs, sizeof xs);
  hg_shape_str(w, ws, sizeof ws);
  if (x->ndim != 2 || w->ndim != 2)
    return hg_fail(HG_ERR_SHAPE, "linear: input %s and weight %s must both be 2-D", xs, ws);
  if (x->shape[1] != w->shape[1])
    return hg_fail(HG_ERR_SHAPE, "linear: input %s has %d features but weight %s expects %d", xs,
                   x->shape[1], ws, w->shape[1]);
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
    return hg_fail(HG_ERR_SHAPE, "linear: bias %s does not match weight %s (want [%d])",
                   hg_shape_str(b, bs, sizeof bs), ws, w->shape[0]);
  return HG_OK;
}

/* ---------- the specs ---------- */

/* A case's arguments for matmul: the transpose flags. */
typedef struct matmul_args {
  bool ta, tb;
} matmul_args;

static hg_tensor *matmul_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const matmul_args *a = args;
  return hg_matmul(in[0], in[1], a->ta, a->tb);
}

/* Element (r, c) of op(t), t [rows, cols] row-major. */
static double at(const hg_tensor *t, bool trans, int r, int c) {
  return trans ? t->data[(size_t)c * t->shape[1] + r] : t->data[(size_t)r * t->shape[1] + c];
}

/* Naive: C[i,j] = Σ_l op(A)[i,l]·op(B)[l,j], in double. */
static hg_tensor *matmul_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const matmul_args *f = args;
  const hg_tensor *a = in[0], *b = in[1];
  int m = a->shape[f->ta ? 1 : 0], k = a->shape[f->ta ? 0 : 1], n = b->shape[f->tb ? 0 : 1];
  hg_tensor *c = hg_tensor_empty(HG_SHAPE(m, n));
  for (int i = 0; c && i < m; i++)
    for (int j = 0; j < n; j++) {
      double s = 0.0;
      for (int l = 0; l < k; l++) s += at(a, f->ta, i, l) * at(b, f->tb, l, j);
      c->data[(size_t)i * n + j] = (float)s;
    }
  return c;
}

static hg_tensor *linear_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  return hg_linear(in[0], in[1], in[2]);
}

/* Naive: y[i,j] = b[j] + Σ_l x[i,l]·W[j,l], in double. */
static hg_tensor *linear_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  const hg_tensor *x = in[0], *w = in[1], *b = in[2];
  int n = x->shape[0], d = x->shape[1], k = w->shape[0];
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(n, k));
  for (int i = 0; y && i < n; i++)
    for (int j = 0; j < k; j++) {
      double s = b ? b->data[j] : 0.0;
      for (int l = 0; l < d; l++) s += (double)x->data[(size_t)i * d + l] * w->data[(size_t)j * d + l];
      y->data[(size_t)i * k + j] = (float)s;
    }
  return y;
}

#define GRAD HG_IN_GRAD

static const matmul_args nn = {false, false}, tn = {true, false}, nt = {false, true}, tt = {true, true};
static const hg_op_case matmul_cases[] = {
    {"[3,4]x[4,5]", 2, {HG_IN(-1, 1, GRAD, 3, 4), HG_IN(-1, 1, GRAD, 4, 5)}, &nn, 0},
    {"[4,3]^T x [4,5]", 2, {HG_IN(-1, 1, GRAD, 4, 3), HG_IN(-1, 1, GRAD, 4, 5)}, &tn, 0},
    {"[3,4] x [5,4]^T", 2, {HG_IN(-1, 1, GRAD, 3, 4), HG_IN(-1, 1, GRAD, 5, 4)}, &nt, 0},
    {"[4,3]^T x [5,4]^T", 2, {HG_IN(-1, 1, GRAD, 4, 3), HG_IN(-1, 1, GRAD, 5, 4)}, &tt, 0},
    {"[2,6] x [3,6]^T, a needs no grad", 2, {HG_IN(-1, 1, 0, 2, 6), HG_IN(-1, 1, GRAD, 3, 6)}, &nt, 0},
    {"[6,2]^T x [6,3], b needs no grad", 2, {HG_IN(-1, 1, GRAD, 6, 2), HG_IN(-1, 1, 0, 6, 3)}, &tn, 0},
};
/* fc5 of the seeds' net: x·Wᵀ, x [64,2304], W [4096,2304]. */
static const hg_op_case matmul_bench[] = {
    {"fc5 x.W^T", 2, {HG_IN(-1, 1, GRAD, 64, 2304), HG_IN(-1, 1, GRAD, 4096, 2304)}, &nt, 0},
};

static const hg_op_case linear_cases[] = {
    {"x [4,5], W [3,5], b [3]", 3, {HG_IN(-1, 1, GRAD, 4, 5), HG_IN(-1, 1, GRAD, 3, 5), HG_IN(-1, 1, GRAD, 3)},
     NULL, 0},
    {"no bias", 2, {HG_IN(-1, 1, GRAD, 2, 7), HG_IN(-1, 1, GRAD, 4, 7)}, NULL, 0},
    {"x needs no grad", 3, {HG_IN(-1, 1, 0, 3, 4), HG_IN(-1, 1, GRAD, 2, 4), HG_IN(-1, 1, GRAD, 2)}, NULL, 0},
    {"W needs no grad", 3, {HG_IN(-1, 1, GRAD, 3, 4), HG_IN(-1, 1, 0, 2, 4), HG_IN(-1, 1, GRAD, 2)}, NULL, 0},
};
static const hg_op_case linear_bench[] = {
    {"fc5", 3, {HG_IN(-1, 1, GRAD, 64, 2304), HG_IN(-1, 1, GRAD, 4096, 2304), HG_IN(-1, 1, GRAD, 4096)},
     NULL, 0},
};

const hg_op hg_op_matmul = HG_OP_SPEC("matmul", matmul, NULL, matmul_cases, matmul_bench);
const hg_op hg_op_linear = HG_OP_SPEC("linear", linear, NULL, linear_cases, linear_bench);

const hg_op *const hg_ops_linear[] = {&hg_op_matmul, &hg_op_linear, NULL};

/* op(a)·op(b) for 2-D a, b */
hg_tensor *hg_matmul(hg_tensor *a, hg_tensor *b, bool trans_a, bool trans_b) {
  if (!matmul_shapes_ok(a, b, trans_a, trans_b)) {
    char as[64], bs[64];
    hg_fail(HG_ERR_SHAPE, "matmul: cannot multiply %s%s by %s%s", hg_shape_str(a, as, sizeof as),
            trans_a ? "^T" : "", hg_shape_str(b, bs, sizeof bs), trans_b ? "^T" : "");
    return NULL;
  }
  int m = a->shape[trans_a ? 1 : 0], k = a->shape[trans_a ? 0 : 1], n = b->shape[trans_b ? 0 : 1];
  hg_tensor *c = hg_tensor_empty(HG_SHAPE(m, n));
  if (!c) return NULL;
  hg_node *nd = NULL;
  hg_tensor *in[] = {a, b};
  if (hg_gemm(trans_a, trans_b, m, n, k, 1.0f, a->data, a->shape[1], b->data, b->shape[1], 0.0f,
              c->data, n) != HG_OK) {
    hg_tensor_free(c);
    return NULL;
  }
  c = hg_record_output(&hg_op_matmul, c, 2, in, &nd);
  if (nd) {
    nd->args.i[0] = trans_a;
    nd->args.i[1] = trans_b;
  }
  return c;
}

/* y = x·Wᵀ + b; x [N,D], W [K,D], b [K] or NULL */
hg_tensor *hg_linear(hg_tensor *x, hg_tensor *w, hg_tensor *b) {
  if (linear_check(x, w, b) != HG_OK) return NULL;
  int n = x->shape[0], d = x->shape[1], k = w->shape[0];
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(n, k));
  if (!y) return NULL;
  for (int i = 0; b && i < n; i++)
    for (int j = 0; j < k; j++) y->data[(size_t)i * k + j] = b->data[j];
  hg_node *nd;
  hg_tensor *in[] = {x, w, b};
  float beta = b ? 1.0f : 0.0f;
  if (hg_gemm(false, true, n, k, d, 1.0f, x->data, d, w->data, d, beta, y->data, k) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  return hg_record_output(&hg_op_linear, y, 3, in, &nd);
}
