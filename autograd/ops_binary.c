/* Binary element-wise ops with NumPy broadcasting: add, sub, mul, div. */
#include "autograd/broadcast.h"
#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/alloc.h"

#define PARALLEL_MIN 32768

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

/* STMT for every element o of the result, with av and bv the values of a and
 * b that meet there; one contiguous loop when the shapes agree. */
#define BINARY_EACH(bc, a, b, n, STMT)                                                   \
  if ((bc)->same) {                                                                      \
    _Pragma("omp parallel for simd if (n > PARALLEL_MIN)")                               \
    for (size_t o = 0; o < n; o++) {                                                     \
      float av = (a)[o], bv = (b)[o];                                                    \
      STMT;                                                                              \
    }                                                                                    \
  } else {                                                                               \
    const int *s = (bc)->shape;                                                          \
    const long *sa = (bc)->sa, *sb = (bc)->sb;                                           \
    _Pragma("omp parallel for collapse(2) if (n > PARALLEL_MIN)")                        \
    for (int i0 = 0; i0 < s[0]; i0++)                                                    \
      for (int i1 = 0; i1 < s[1]; i1++)                                                  \
        for (int i2 = 0; i2 < s[2]; i2++) {                                              \
          size_t row = (((size_t)i0 * s[1] + i1) * s[2] + i2) * s[3];                    \
          const float *ar = (a) + i0 * sa[0] + i1 * sa[1] + i2 * sa[2];                  \
          const float *br = (b) + i0 * sb[0] + i1 * sb[1] + i2 * sb[2];                  \
          for (int i3 = 0; i3 < s[3]; i3++) {                                            \
            size_t o = row + i3;                                                         \
            float av = ar[i3 * sa[3]], bv = br[i3 * sb[3]];                              \
            STMT;                                                                        \
          }                                                                              \
        }                                                                                \
  }

/* y = a ⊕ b */
static void binary_kernel(binary_kind k, const hg_bcast *bc, const float *a, const float *b,
                          float *y, size_t n) {
  BINARY_EACH(bc, a, b, n, y[o] = binary_apply(k, av, bv))
}

/* Gradient terms for input `which`, one per result element: t (+)= term. */
static void binary_terms(binary_kind k, int which, const hg_bcast *bc, const float *g,
                         const float *a, const float *b, float *t, bool acc, size_t n) {
  BINARY_EACH(bc, a, b, n, {
    float term = binary_grad(k, which, g[o], av, bv);
    t[o] = acc ? t[o] + term : term;
  })
}

/* The gradient of input `which`: its terms, summed over the dimensions along
 * which it is broadcast. */
static hg_status binary_input_grad(hg_node *nd, int which, hg_tensor *gx, bool acc) {
  binary_kind k = *(const binary_kind *)nd->op->kernel;
  hg_tensor *a = nd->in[0], *b = nd->in[1];
  const float *g = nd->out->grad->data;
  size_t n = nd->out->numel;
  hg_bcast bc;
  hg_bcast_init(&bc, nd->op->name, a, b);
  if (gx->numel == n) { /* not broadcast: its terms are its gradient */
    binary_terms(k, which, &bc, g, a->data, b->data, gx->data, acc, n);
    return HG_OK;
  }
  float *t = hg_pool_alloc(n * sizeof(float));
  if (!t) return HG_ERR_NOMEM;
  binary_terms(k, which, &bc, g, a->data, b->data, t, false, n);
  hg_bcast_reduce(t, bc.shape, gx->data, which ? bc.sb : bc.sa, gx->numel, acc);
  hg_pool_free(t, n * sizeof(float));
  return HG_OK;
}

static hg_status binary_backward(hg_node *nd) { return hg_grad_inputs(nd, binary_input_grad); }

static hg_tensor *binary(const hg_op *op, hg_tensor *a, hg_tensor *b) {
  hg_bcast bc;
  if (hg_bcast_init(&bc, op->name, a, b) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(bc.ndim, bc.shape + 4 - bc.ndim);
  if (!y) return NULL;
  binary_kernel(*(const binary_kind *)op->kernel, &bc, a->data, b->data, y->data, y->numel);
  hg_node *nd;
  hg_tensor *in[2] = {a, b};
  return hg_record_output(op, y, 2, in, &nd);
}

static hg_tensor *binary_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)args;
  return binary(op, in[0], in[1]);
}

static double reference_apply(binary_kind k, double a, double b) {
  return k == BIN_ADD ? a + b : k == BIN_SUB ? a - b : k == BIN_MUL ? a * b : a / b;
}

/* Naive: y[i] = a[i] ⊕ b[i] over the 4-D index of the result, in double. */
static hg_tensor *binary_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)args;
  const hg_tensor *a = in[0], *b = in[1];
  binary_kind k = *(const binary_kind *)op->kernel;
  int ndim = a->ndim > b->ndim ? a->ndim : b->ndim, s[4], i[4] = {0};
  for (int d = 0; d < 4; d++) {
    int da = hg_op_ref_dim(a->ndim, a->shape, d), db = hg_op_ref_dim(b->ndim, b->shape, d);
    s[d] = da > db ? da : db;
  }
  hg_tensor *y = hg_tensor_empty(ndim, s + 4 - ndim);
  if (!y) return NULL;
  size_t o = 0;
  do {
    double u = a->data[hg_op_ref_offset(a->ndim, a->shape, i)];
    y->data[o++] = (float)reference_apply(k, u, b->data[hg_op_ref_offset(b->ndim, b->shape, i)]);
  } while (hg_op_ref_next(s, i));
  return y;
}

/* ---------- the specs ---------- */

#define GRAD HG_IN_GRAD

/* The bias of a conv layer's output, [C,1,1], at conv1's size; b away from 0 for div. */
static const hg_op_case bias_bench[] = {
    {"bias [C,1,1]", 2,
     {HG_IN(-1, 1, GRAD, 64, 96, 28, 28), HG_IN(0.5f, 2, GRAD, 96, 1, 1)}, NULL, 0},
};

static const hg_op_case add_cases[] = {
    {"same shape", 2, {HG_IN(-1, 1, GRAD, 2, 3), HG_IN(-1, 1, GRAD, 2, 3)}, NULL, 0},
    {"[3,1]+[1,4]", 2, {HG_IN(-1, 1, GRAD, 3, 1), HG_IN(-1, 1, GRAD, 1, 4)}, NULL, 0},
    {"[2,3,4,5]+[3,1,1]", 2, {HG_IN(-1, 1, GRAD, 2, 3, 4, 5), HG_IN(-1, 1, GRAD, 3, 1, 1)}, NULL, 0},
};
static const hg_op_case sub_cases[] = {
    {"[2,3]-[3], b needs no grad", 2, {HG_IN(-1, 1, GRAD, 2, 3), HG_IN(-1, 1, 0, 3)}, NULL, 0},
    {"[4]-[2,1,4]", 2, {HG_IN(-1, 1, GRAD, 4), HG_IN(-1, 1, GRAD, 2, 1, 4)}, NULL, 0},
};
static const hg_op_case mul_cases[] = {
    {"[2,3,4]*[2,1,4]", 2, {HG_IN(-1, 1, GRAD, 2, 3, 4), HG_IN(-1, 1, GRAD, 2, 1, 4)}, NULL, 0},
    {"[3,2]*scalar", 2, {HG_IN(-1, 1, GRAD, 3, 2), {0, {0}, -1, 1, GRAD}}, NULL, 0},
};
static const hg_op_case div_cases[] = {
    {"[2,3]/[2,1]", 2, {HG_IN(-1, 1, GRAD, 2, 3), HG_IN(0.5f, 2, GRAD, 2, 1)}, NULL, 0},
    {"a needs no grad", 2, {HG_IN(-1, 1, 0, 5), HG_IN(0.5f, 2, GRAD, 5)}, NULL, 0},
};

const hg_op hg_op_add = HG_OP_SPEC("add", binary, &(const binary_kind){BIN_ADD}, add_cases, bias_bench);
const hg_op hg_op_sub = HG_OP_SPEC("sub", binary, &(const binary_kind){BIN_SUB}, sub_cases, bias_bench);
const hg_op hg_op_mul = HG_OP_SPEC("mul", binary, &(const binary_kind){BIN_MUL}, mul_cases, bias_bench);
const hg_op hg_op_div = HG_OP_SPEC("div", binary, &(const binary_kind){BIN_DIV}, div_cases, bias_bench);

const hg_op *const hg_ops_binary[] = {&hg_op_add, &hg_op_sub, &hg_op_mul, &hg_op_div, NULL};

hg_tensor *hg_add(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_add, a, b); }
hg_tensor *hg_sub(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_sub, a, b); }
hg_tensor *hg_mul(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_mul, a, b); }
hg_tensor *hg_div(hg_tensor *a, hg_tensor *b) { return binary(&hg_op_div, a, b); }
