/* Unary element-wise ops (y = f(x), same shape). Each is one kernel line
 * (its value, its gradient, its reference), its cases, its spec and its
 * function, and an entry in the family's list at the end. */
#include <math.h>

#include "autograd/op.h"
#include "autograd/ops.h"

#define PARALLEL_MIN 32768

/* The loops of one op: y = f(x); d (+)= g·f'(x), from x and y = f(x); and
 * f(x) in double for the sweep. p is the op's scalar (the s of scale). */
typedef struct unary_kernel {
  void (*forward)(const float *xv, float *yv, size_t n, float p);
  void (*grad)(const float *gv, const float *xv, const float *yv, float *d, size_t n, float p,
               bool acc);
  double (*reference)(double x, double p);
} unary_kernel;

/* NAME_kernel from three expressions: the value (of x, p), the gradient (of
 * g, x, y, p) and the reference (of x, p, in double). */
#define UNARY_KERNEL(name, value, gradient, ref)                                            \
  static void name##_forward(const float *xv, float *yv, size_t n, float p) {               \
    (void)p;                                                                                \
    _Pragma("omp parallel for simd if (n > PARALLEL_MIN)")                                  \
    for (size_t i = 0; i < n; i++) {                                                        \
      float x = xv[i];                                                                      \
      yv[i] = (value);                                                                      \
    }                                                                                       \
  }                                                                                         \
  static void name##_grad(const float *gv, const float *xv, const float *yv, float *d,      \
                          size_t n, float p, bool acc) {                                    \
    (void)p;                                                                                \
    _Pragma("omp parallel for simd if (n > PARALLEL_MIN)")                                  \
    for (size_t i = 0; i < n; i++) {                                                        \
      float g = gv[i], x = xv[i], y = yv[i];                                                \
      float t = (gradient);                                                                 \
      (void)x, (void)y;                                                                     \
      d[i] = acc ? d[i] + t : t;                                                            \
    }                                                                                       \
  }                                                                                         \
  static double name##_reference(double x, double p) {                                      \
    (void)p;                                                                                \
    return (ref);                                                                           \
  }                                                                                         \
  static const unary_kernel name##_kernel = {name##_forward, name##_grad, name##_reference};

static hg_status unary_backward(hg_node *nd) {
  const unary_kernel *k = nd->op->kernel;
  hg_tensor *x = nd->in[0];
  const float *g = nd->out->grad->data;
  bool acc;
  hg_tensor *gx = hg_grad_acquire_in_place(nd, x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  k->grad(g, x->data, nd->out->data, gx->data, x->numel, nd->args.f[0], acc);
  return HG_OK;
}

static hg_tensor *unary(const hg_op *op, hg_tensor *x, float p) {
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  if (!y) return NULL;
  ((const unary_kernel *)op->kernel)->forward(x->data, y->data, x->numel, p);
  hg_node *nd;
  y = hg_record_output(op, y, 1, &x, &nd);
  if (nd) nd->args.f[0] = p;
  return y;
}

/* A case's args: the float p, or NULL for ops without one. */
static float unary_p(const void *args) { return args ? *(const float *)args : 0.0f; }

static hg_tensor *unary_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  return unary(op, in[0], unary_p(args));
}

static hg_tensor *unary_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  const unary_kernel *k = op->kernel;
  hg_tensor *y = hg_tensor_empty(in[0]->ndim, in[0]->shape);
  for (size_t i = 0; y && i < y->numel; i++) y->data[i] = (float)k->reference(in[0]->data[i], unary_p(args));
  return y;
}

/* ---------- the ops ---------- */

#define GRAD HG_IN_GRAD
#define SIGNED (HG_IN_GRAD | HG_IN_SIGNED)

/* Benchmarks at conv1's output size: values of either sign, or positive (log, sqrt, pow). */
static const hg_op_case signed_bench[] = {
    {"either sign", 1, {HG_IN(0.1f, 2, SIGNED, 64, 96, 28, 28)}, NULL, 0}};
static const hg_op_case positive_bench[] = {{"positive", 1, {HG_IN(0.5f, 2, GRAD, 64, 96, 28, 28)}, NULL, 0}};

/* Each op: its kernel (name, y = f(x), g·f'(x), f(x) in double), its cases,
 * its spec and its function. */

UNARY_KERNEL(neg, -x, -g, -x)
static const hg_op_case neg_cases[] = {{"[3,4], either sign", 1, {HG_IN(0.1f, 1, SIGNED, 3, 4)}, NULL, 0}};
const hg_op hg_op_neg = HG_OP_SPEC("neg", unary, &neg_kernel, neg_cases, signed_bench);
hg_tensor *hg_neg(hg_tensor *x) { return unary(&hg_op_neg, x, 0.0f); }

UNARY_KERNEL(scale, p * x, p * g, p * x)
static const hg_op_case scale_cases[] = {
    {"[3,4], s = -2.5", 1, {HG_IN(0.1f, 1, SIGNED, 3, 4)}, &(const float){-2.5f}, 0}};
const hg_op hg_op_scale = HG_OP_SPEC("scale", unary, &scale_kernel, scale_cases, signed_bench);
hg_tensor *hg_scale(hg_tensor *x, float s) { return unary(&hg_op_scale, x, s); }

UNARY_KERNEL(pow, powf(x, p), g * p * powf(x, p - 1.0f), pow(x, p))
static const hg_op_case pow_cases[] = {
    {"[2,5], p = 2.5", 1, {HG_IN(0.5f, 2, GRAD, 2, 5)}, &(const float){2.5f}, 0},
    {"[2,5], p = -1", 1, {HG_IN(0.5f, 2, GRAD, 2, 5)}, &(const float){-1.0f}, 0},
};
const hg_op hg_op_pow = HG_OP_SPEC("pow", unary, &pow_kernel, pow_cases, positive_bench);
hg_tensor *hg_pow(hg_tensor *x, float p) { return unary(&hg_op_pow, x, p); }

UNARY_KERNEL(exp, expf(x), g * y, exp(x))
static const hg_op_case exp_cases[] = {{"[2,2,3], either sign", 1, {HG_IN(0.1f, 1, SIGNED, 2, 2, 3)}, NULL, 0}};
const hg_op hg_op_exp = HG_OP_SPEC("exp", unary, &exp_kernel, exp_cases, signed_bench);
hg_tensor *hg_exp(hg_tensor *x) { return unary(&hg_op_exp, x, 0.0f); }

UNARY_KERNEL(log, logf(x), g / x, log(x))
static const hg_op_case log_cases[] = {{"[7], positive", 1, {HG_IN(0.5f, 2, GRAD, 7)}, NULL, 0}};
const hg_op hg_op_log = HG_OP_SPEC("log", unary, &log_kernel, log_cases, positive_bench);
hg_tensor *hg_log(hg_tensor *x) { return unary(&hg_op_log, x, 0.0f); }

UNARY_KERNEL(sqrt, sqrtf(x), g * 0.5f / y, sqrt(x))
static const hg_op_case sqrt_cases[] = {{"[7], positive", 1, {HG_IN(0.5f, 2, GRAD, 7)}, NULL, 0}};
const hg_op hg_op_sqrt = HG_OP_SPEC("sqrt", unary, &sqrt_kernel, sqrt_cases, positive_bench);
hg_tensor *hg_sqrt(hg_tensor *x) { return unary(&hg_op_sqrt, x, 0.0f); }

UNARY_KERNEL(abs, fabsf(x), x > 0.0f ? g : (x < 0.0f ? -g : 0.0f), fabs(x))
static const hg_op_case abs_cases[] = {
    {"[2,6], either sign, away from 0", 1, {HG_IN(0.1f, 1, SIGNED, 2, 6)}, NULL, 0}};
const hg_op hg_op_abs = HG_OP_SPEC("abs", unary, &abs_kernel, abs_cases, signed_bench);
hg_tensor *hg_abs(hg_tensor *x) { return unary(&hg_op_abs, x, 0.0f); }

UNARY_KERNEL(relu, x > 0.0f ? x : 0.0f, x > 0.0f ? g : 0.0f, x > 0.0 ? x : 0.0)
static const hg_op_case relu_cases[] = {
    {"[2,3,2,2], either sign, away from 0", 1, {HG_IN(0.1f, 1, SIGNED, 2, 3, 2, 2)}, NULL, 0}};
const hg_op hg_op_relu = HG_OP_SPEC("relu", unary, &relu_kernel, relu_cases, signed_bench);
hg_tensor *hg_relu(hg_tensor *x) { return unary(&hg_op_relu, x, 0.0f); }

UNARY_KERNEL(sigmoid, 1.0f / (1.0f + expf(-x)), g * y * (1.0f - y), 1.0 / (1.0 + exp(-x)))
static const hg_op_case sigmoid_cases[] = {{"[9], either sign", 1, {HG_IN(0.1f, 2, SIGNED, 9)}, NULL, 0}};
const hg_op hg_op_sigmoid = HG_OP_SPEC("sigmoid", unary, &sigmoid_kernel, sigmoid_cases, signed_bench);
hg_tensor *hg_sigmoid(hg_tensor *x) { return unary(&hg_op_sigmoid, x, 0.0f); }

UNARY_KERNEL(tanh, tanhf(x), g * (1.0f - y * y), tanh(x))
static const hg_op_case tanh_cases[] = {{"[9], either sign", 1, {HG_IN(0.1f, 2, SIGNED, 9)}, NULL, 0}};
const hg_op hg_op_tanh = HG_OP_SPEC("tanh", unary, &tanh_kernel, tanh_cases, signed_bench);
hg_tensor *hg_tanh(hg_tensor *x) { return unary(&hg_op_tanh, x, 0.0f); }

UNARY_KERNEL(square, x * x, 2.0f * g * x, x * x)
static const hg_op_case square_cases[] = {
    {"[2,3,4], either sign", 1, {HG_IN(0.1f, 2, SIGNED, 2, 3, 4)}, NULL, 0}};
const hg_op hg_op_square = HG_OP_SPEC("square", unary, &square_kernel, square_cases, signed_bench);
hg_tensor *hg_square(hg_tensor *x) { return unary(&hg_op_square, x, 0.0f); }

/* The family's list, walked by the op table. */
const hg_op *const hg_ops_unary[] = {
    &hg_op_neg, &hg_op_scale, &hg_op_pow,     &hg_op_exp,  &hg_op_log,
    &hg_op_sqrt, &hg_op_abs,  &hg_op_relu, &hg_op_sigmoid, &hg_op_tanh, &hg_op_square, NULL,
};
