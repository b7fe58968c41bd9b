/* Element-wise ops: binary with broadcasting (add, sub, mul, div) and unary
 * (neg, scale, pow, exp, log, sqrt, abs, relu, sigmoid, tanh). */
#include <math.h>

#include "autograd/broadcast.h"
#include "autograd/ops.h"
#include "tensor/alloc.h"

#define PARALLEL_MIN 32768

/* ---------- binary ---------- */

typedef enum binary_kind { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV } binary_kind;

static inline float binary_apply(binary_kind k, float a, float b) {
  switch (k) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    default: return a / b;
  }
}

/* ∂(a ⊕ b)/∂a or ∂/∂b (which = 0 or 1), times g. */
static inline float binary_grad(binary_kind k, int which, float g, float a, float b) {
  switch (k) {
    case BIN_ADD: return g;
    case BIN_SUB: return which ? -g : g;
    case BIN_MUL: return which ? g * a : g * b;
    default: return which ? -g * a / (b * b) : g / b;
  }
}

static void binary_forward(binary_kind k, const hg_bcast *bc, const float *a, const float *b,
                           float *y, size_t n) {
  if (bc->same) {
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) y[i] = binary_apply(k, a[i], b[i]);
    return;
  }
  const int *s = bc->shape;
#pragma omp parallel for collapse(2) if (n > PARALLEL_MIN)
  for (int i0 = 0; i0 < s[0]; i0++)
    for (int i1 = 0; i1 < s[1]; i1++)
      for (int i2 = 0; i2 < s[2]; i2++) {
        size_t o = (((size_t)i0 * s[1] + i1) * s[2] + i2) * s[3];
        const float *ar = a + i0 * bc->sa[0] + i1 * bc->sa[1] + i2 * bc->sa[2];
        const float *br = b + i0 * bc->sb[0] + i1 * bc->sb[1] + i2 * bc->sb[2];
        for (int i3 = 0; i3 < s[3]; i3++)
          y[o + i3] = binary_apply(k, ar[i3 * bc->sa[3]], br[i3 * bc->sb[3]]);
      }
}

/* Gradient terms for input `which`, one per result element: t (+)= term. */
static void binary_terms(binary_kind k, int which, const hg_bcast *bc, const float *g,
                         const float *a, const float *b, float *t, bool acc) {
  const int *s = bc->shape;
  size_t n = (size_t)s[0] * s[1] * s[2] * s[3];
#pragma omp parallel for collapse(2) if (n > PARALLEL_MIN)
  for (int i0 = 0; i0 < s[0]; i0++)
    for (int i1 = 0; i1 < s[1]; i1++)
      for (int i2 = 0; i2 < s[2]; i2++) {
        size_t o = (((size_t)i0 * s[1] + i1) * s[2] + i2) * s[3];
        const float *ar = a + i0 * bc->sa[0] + i1 * bc->sa[1] + i2 * bc->sa[2];
        const float *br = b + i0 * bc->sb[0] + i1 * bc->sb[1] + i2 * bc->sb[2];
        for (int i3 = 0; i3 < s[3]; i3++) {
          float term = binary_grad(k, which, g[o + i3], ar[i3 * bc->sa[3]], br[i3 * bc->sb[3]]);
          t[o + i3] = acc ? t[o + i3] + term : term;
        }
      }
}

static hg_status binary_backward(hg_node *nd) {
  binary_kind k = (binary_kind)nd->args.i[0];
  hg_tensor *a = nd->in[0], *b = nd->in[1];
  const float *g = nd->out->grad->data;
  size_t n = nd->out->numel;
  hg_bcast bc;
  hg_bcast_init(&bc, nd->op->name, a, b);
  for (int which = 0; which < 2; which++) {
    hg_tensor *x = nd->in[which];
    if (!hg_needs_grad(x)) continue;
    bool acc;
    hg_tensor *gx = hg_grad_acquire(x, &acc);
    if (!gx) return HG_ERR_NOMEM;
    if (bc.same) {
      float *d = gx->data;
      const float *av = a->data, *bv = b->data;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
      for (size_t i = 0; i < n; i++) {
        float t = binary_grad(k, which, g[i], av[i], bv[i]);
        d[i] = acc ? d[i] + t : t;
      }
      continue;
    }
    if (x->numel == n) { /* only the other input is broadcast */
      binary_terms(k, which, &bc, g, a->data, b->data, gx->data, acc);
      continue;
    }
    float *t = hg_pool_alloc(n * sizeof(float));
    if (!t) return HG_ERR_NOMEM;
    binary_terms(k, which, &bc, g, a->data, b->data, t, false);
    hg_bcast_reduce(t, bc.shape, gx->data, which ? bc.sb : bc.sa, x->numel, acc);
    hg_pool_free(t, n * sizeof(float));
  }
  return HG_OK;
}

static hg_tensor *binary(const hg_op *op, binary_kind k, hg_tensor *a, hg_tensor *b) {
  hg_bcast bc;
  if (hg_bcast_init(&bc, op->name, a, b) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(bc.ndim, bc.shape + 4 - bc.ndim);
  if (!y) return NULL;
  binary_forward(k, &bc, a->data, b->data, y->data, y->numel);
  hg_node *nd;
  hg_tensor *in[2] = {a, b};
  if (hg_record(op, y, 2, in, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  if (nd) nd->args.i[0] = k;
  return y;
}

const hg_op hg_op_add = {"add", binary_backward};
const hg_op hg_op_sub = {"sub", binary_backward};
const hg_op hg_op_mul = {"mul", binary_backward};
const hg_op hg_op_div = {"div", binary_backward};

hg_tensor *hg_add(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_add, BIN_ADD, a, b); }
hg_tensor *hg_sub(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_sub, BIN_SUB, a, b); }
hg_tensor *hg_mul(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_mul, BIN_MUL, a, b); }
hg_tensor *hg_div(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_div, BIN_DIV, a, b); }

/* ---------- unary ---------- */

typedef enum unary_kind {
  UN_NEG, UN_SCALE, UN_POW, UN_EXP, UN_LOG, UN_SQRT, UN_ABS, UN_RELU, UN_SIGMOID, UN_TANH
} unary_kind;

/* One vectorisable loop per kind: the switch stays outside the loops. */
#define UNARY_LOOP(expr)                                              \
  _Pragma("omp parallel for simd if (n > PARALLEL_MIN)")               \
  for (size_t i = 0; i < n; i++) {                                     \
    float x = xv[i];                                                   \
    yv[i] = (expr);                                                    \
  }

/* y = f(x) */
static void unary_forward(unary_kind k, const float *xv, float *yv, size_t n, float p) {
  switch (k) {
    case UN_NEG: UNARY_LOOP(-x) break;
    case UN_SCALE: UNARY_LOOP(p * x) break;
    case UN_POW: UNARY_LOOP(powf(x, p)) break;
    case UN_EXP: UNARY_LOOP(expf(x)) break;
    case UN_LOG: UNARY_LOOP(logf(x)) break;
    case UN_SQRT: UNARY_LOOP(sqrtf(x)) break;
    case UN_ABS: UNARY_LOOP(fabsf(x)) break;
    case UN_RELU: UNARY_LOOP(x > 0.0f ? x : 0.0f) break;
    case UN_SIGMOID: UNARY_LOOP(1.0f / (1.0f + expf(-x))) break;
    case UN_TANH: UNARY_LOOP(tanhf(x)) break;
  }
}

/* d (+)= g · dy/dx, from the input x and the output y. */
#define GRAD_LOOP(expr)                                               \
  _Pragma("omp parallel for simd if (n > PARALLEL_MIN)")               \
  for (size_t i = 0; i < n; i++) {                                     \
    float g = gv[i], x = xv[i], y = yv[i];                             \
    float t = (expr);                                                  \
    (void)x, (void)y;                                                  \
    d[i] = acc ? d[i] + t : t;                                         \
  }

static void unary_grad(unary_kind k, const float *gv, const float *xv, const float *yv, float *d,
                       size_t n, float p, bool acc) {
  switch (k) {
    case UN_NEG: GRAD_LOOP(-g) break;
    case UN_SCALE: GRAD_LOOP(p * g) break;
    case UN_POW: GRAD_LOOP(g * p * powf(x, p - 1.0f)) break;
    case UN_EXP: GRAD_LOOP(g * y) break;
    case UN_LOG: GRAD_LOOP(g / x) break;
    case UN_SQRT: GRAD_LOOP(g * 0.5f / y) break;
    case UN_ABS: GRAD_LOOP(x > 0.0f ? g : (x < 0.0f ? -g : 0.0f)) break;
    case UN_RELU: GRAD_LOOP(x > 0.0f ? g : 0.0f) break;
    case UN_SIGMOID: GRAD_LOOP(g * y * (1.0f - y)) break;
    case UN_TANH: GRAD_LOOP(g * (1.0f - y * y)) break;
  }
}

static hg_status unary_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0];
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  unary_grad((unary_kind)nd->args.i[0], nd->out->grad->data, x->data, nd->out->data, gx->data,
             x->numel, nd->args.f[0], acc);
  return HG_OK;
}

static hg_tensor *unary(const hg_op *op, unary_kind k, hg_tensor *x, float p) {
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  if (!y) return NULL;
  unary_forward(k, x->data, y->data, x->numel, p);
  hg_node *nd;
  if (hg_record(op, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  if (nd) {
    nd->args.i[0] = k;
    nd->args.f[0] = p;
  }
  return y;
}

const hg_op hg_op_neg = {"neg", unary_backward};
const hg_op hg_op_scale = {"scale", unary_backward};
const hg_op hg_op_pow = {"pow", unary_backward};
const hg_op hg_op_exp = {"exp", unary_backward};
const hg_op hg_op_log = {"log", unary_backward};
const hg_op hg_op_sqrt = {"sqrt", unary_backward};
const hg_op hg_op_abs = {"abs", unary_backward};
const hg_op hg_op_relu = {"relu", unary_backward};
const hg_op hg_op_sigmoid = {"sigmoid", unary_backward};
const hg_op hg_op_tanh = {"tanh", unary_backward};

hg_tensor *hg_neg(hg_tensor *x) { return unary(&hg_op_neg, UN_NEG, x, 0.0f); }
hg_tensor *hg_scale(hg_tensor *x, float s) { return unary(&hg_op_scale, UN_SCALE, x, s); }
hg_tensor *hg_pow(hg_tensor *x, float p) { return unary(&hg_op_pow, UN_POW, x, p); }
hg_tensor *hg_exp(hg_tensor *x) { return unary(&hg_op_exp, UN_EXP, x, 0.0f); }
hg_tensor *hg_log(hg_tensor *x) { return unary(&hg_op_log, UN_LOG, x, 0.0f); }
hg_tensor *hg_sqrt(hg_tensor *x) { return unary(&hg_op_sqrt, UN_SQRT, x, 0.0f); }
hg_tensor *hg_abs(hg_tensor *x) { return unary(&hg_op_abs, UN_ABS, x, 0.0f); }
hg_tensor *hg_relu(hg_tensor *x) { return unary(&hg_op_relu, UN_RELU, x, 0.0f); }
hg_tensor *hg_sigmoid(hg_tensor *x) { return unary(&hg_op_sigmoid, UN_SIGMOID, x, 0.0f); }
hg_tensor *hg_tanh(hg_tensor *x) { return unary(&hg_op_tanh, UN_TANH, x, 0.0f); }
