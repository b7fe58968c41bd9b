/* Gradient-check cases for element-wise ops, reductions and reshape. */
#include "tests/gradcases.h"

typedef hg_tensor *(*binary_fn)(hg_tensor *, hg_tensor *);
typedef hg_tensor *(*unary_fn)(hg_tensor *);

static hg_tensor *call_binary(hg_tensor *const *in, void *ctx) {
  return (*(binary_fn *)ctx)(in[0], in[1]);
}
static hg_tensor *call_unary(hg_tensor *const *in, void *ctx) { return (*(unary_fn *)ctx)(in[0]); }

/* Values in ±[lo, hi]: away from the kinks of relu and abs at 0. */
static hg_tensor *signed_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed) {
  hg_tensor *t = hgt_rand(ndim, shape, lo, hi, seed);
  for (size_t i = 0; i < t->numel; i++)
    if (i % 3 == 1) t->data[i] = -t->data[i];
  return t;
}

static void check_binary(const char *label, binary_fn f, hg_tensor *a, hg_tensor *b) {
  hg_tensor *in[2] = {a, b};
  hgt_gradcheck(label, call_binary, &f, 2, in, NULL);
  hg_tensor_free(a);
  hg_tensor_free(b);
}

static hg_tensor *grad_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed) {
  hg_tensor *t = hgt_rand(ndim, shape, lo, hi, seed);
  hg_requires_grad(t, true);
  return t;
}

static void add_cases(void) {
  check_binary("add same shape", hg_add, grad_rand(HG_SHAPE(2, 3), -1, 1, 1), grad_rand(HG_SHAPE(2, 3), -1, 1, 2));
  check_binary("add [3,1]+[1,4]", hg_add, grad_rand(HG_SHAPE(3, 1), -1, 1, 3), grad_rand(HG_SHAPE(1, 4), -1, 1, 4));
  check_binary("add [2,3,4,5]+[3,1,1]", hg_add, grad_rand(HG_SHAPE(2, 3, 4, 5), -1, 1, 5),
               grad_rand(HG_SHAPE(3, 1, 1), -1, 1, 6));
}

static void sub_cases(void) {
  check_binary("sub [2,3]-[3], b needs no grad", hg_sub, grad_rand(HG_SHAPE(2, 3), -1, 1, 7),
               hgt_rand(HG_SHAPE(3), -1, 1, 8));
  check_binary("sub [4]-[2,1,4]", hg_sub, grad_rand(HG_SHAPE(4), -1, 1, 9), grad_rand(HG_SHAPE(2, 1, 4), -1, 1, 10));
}

static void mul_cases(void) {
  check_binary("mul [2,3,4]*[2,1,4]", hg_mul, grad_rand(HG_SHAPE(2, 3, 4), -1, 1, 11),
               grad_rand(HG_SHAPE(2, 1, 4), -1, 1, 12));
  check_binary("mul scalar", hg_mul, grad_rand(HG_SHAPE(3, 2), -1, 1, 13), grad_rand(0, NULL, -1, 1, 14));
}

static void div_cases(void) {
  check_binary("div [2,3]/[2,1]", hg_div, grad_rand(HG_SHAPE(2, 3), -1, 1, 15), grad_rand(HG_SHAPE(2, 1), 0.5f, 2, 16));
  check_binary("div a needs no grad", hg_div, hgt_rand(HG_SHAPE(5), -1, 1, 17), grad_rand(HG_SHAPE(5), 0.5f, 2, 18));
}

static void check_unary(const char *label, unary_fn f, hg_tensor *x) {
  hg_requires_grad(x, true);
  hgt_gradcheck(label, call_unary, &f, 1, &x, NULL);
  hg_tensor_free(x);
}

static hg_tensor *scale_by(hg_tensor *x) { return hg_scale(x, -2.5f); }
static hg_tensor *pow_25(hg_tensor *x) { return hg_pow(x, 2.5f); }
static hg_tensor *pow_m1(hg_tensor *x) { return hg_pow(x, -1.0f); }

static void neg_cases(void) { check_unary("neg", hg_neg, signed_rand(HG_SHAPE(3, 4), 0.1f, 1, 20)); }
static void scale_cases(void) { check_unary("scale -2.5", scale_by, signed_rand(HG_SHAPE(3, 4), 0.1f, 1, 21)); }
static void pow_cases(void) {
  check_unary("pow 2.5", pow_25, hgt_rand(HG_SHAPE(2, 5), 0.5f, 2, 22));
  check_unary("pow -1", pow_m1, hgt_rand(HG_SHAPE(2, 5), 0.5f, 2, 23));
}
static void exp_cases(void) { check_unary("exp", hg_exp, signed_rand(HG_SHAPE(2, 2, 3), 0.1f, 1, 24)); }
static void log_cases(void) { check_unary("log", hg_log, hgt_rand(HG_SHAPE(7), 0.5f, 2, 25)); }
static void sqrt_cases(void) { check_unary("sqrt", hg_sqrt, hgt_rand(HG_SHAPE(7), 0.5f, 2, 26)); }
static void abs_cases(void) { check_unary("abs", hg_abs, signed_rand(HG_SHAPE(2, 6), 0.1f, 1, 27)); }
static void relu_cases(void) { check_unary("relu", hg_relu, signed_rand(HG_SHAPE(2, 3, 2, 2), 0.1f, 1, 28)); }
static void sigmoid_cases(void) { check_unary("sigmoid", hg_sigmoid, signed_rand(HG_SHAPE(9), 0.1f, 2, 29)); }
static void tanh_cases(void) { check_unary("tanh", hg_tanh, signed_rand(HG_SHAPE(9), 0.1f, 2, 30)); }

typedef struct reduce_ctx {
  hg_tensor *(*f)(hg_tensor *, int, const int *, bool);
  int naxes;
  int axes[4];
  bool keepdim;
} reduce_ctx;

static hg_tensor *call_reduce(hg_tensor *const *in, void *ctx) {
  reduce_ctx *c = ctx;
  return c->f(in[0], c->naxes, c->axes, c->keepdim);
}

static void check_reduce(const char *label, reduce_ctx c, hg_tensor *x) {
  hg_requires_grad(x, true);
  hgt_gradcheck(label, call_reduce, &c, 1, &x, NULL);
  hg_tensor_free(x);
}

/* A permutation of 0..n−1 scaled by 0.1: distinct values, so no max flips. */
static hg_tensor *distinct(int ndim, const int *shape, uint64_t seed) {
  hg_tensor *t = hgt_ok(hg_tensor_empty(ndim, shape));
  int *perm = test_malloc(t->numel * sizeof(int));
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  for (size_t i = 0; i < t->numel; i++) perm[i] = (int)i;
  hg_rng_shuffle(&rng, perm, (int)t->numel);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = 0.1f * (float)perm[i];
  test_free(perm);
  return t;
}

static void sum_cases(void) {
  check_reduce("sum all", (reduce_ctx){hg_sum, 0, {0}, false}, hgt_rand(HG_SHAPE(2, 3, 4), -1, 1, 31));
  check_reduce("sum axes 1,3 keepdim", (reduce_ctx){hg_sum, 2, {1, 3}, true},
               hgt_rand(HG_SHAPE(2, 3, 2, 4), -1, 1, 32));
  check_reduce("sum axis -1", (reduce_ctx){hg_sum, 1, {-1}, false}, hgt_rand(HG_SHAPE(3, 5), -1, 1, 33));
}

static void mean_cases(void) {
  check_reduce("mean axes 0,2,3", (reduce_ctx){hg_mean, 3, {0, 2, 3}, false},
               hgt_rand(HG_SHAPE(2, 3, 2, 2), -1, 1, 34));
  check_reduce("mean all", (reduce_ctx){hg_mean, 0, {0}, true}, hgt_rand(HG_SHAPE(4, 3), -1, 1, 35));
}

static void max_cases(void) {
  check_reduce("max axis 1", (reduce_ctx){hg_max, 1, {1}, false}, distinct(HG_SHAPE(3, 4, 2), 36));
  check_reduce("max all", (reduce_ctx){hg_max, 0, {0}, false}, distinct(HG_SHAPE(2, 5), 37));
}

static hg_tensor *reshape_then_scale(hg_tensor *const *in, void *ctx) {
  (void)ctx;
  hg_tensor *r = hg_reshape(in[0], HG_SHAPE(4, -1));
  hg_tensor *y = hg_mul(r, r); /* something non-linear after the view */
  hg_tensor_free(r);
  return y;
}

static void reshape_cases(void) {
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 2), -1, 1, 38);
  hg_requires_grad(x, true);
  hgt_gradcheck("reshape [2,3,2] -> [4,3]", reshape_then_scale, NULL, 1, &x, NULL);
  hg_tensor_free(x);
}

static hg_tensor *narrow_then_square(hg_tensor *const *in, void *ctx) {
  (void)ctx;
  hg_tensor *r = hg_narrow(in[0], 1, 2);
  hg_tensor *y = hg_mul(r, r);
  hg_tensor_free(r);
  return y;
}

static void narrow_cases(void) {
  hg_tensor *x = hgt_rand(HG_SHAPE(4, 3), -1, 1, 39);
  hg_requires_grad(x, true);
  hgt_gradcheck("narrow rows 1..2 of [4,3]", narrow_then_square, NULL, 1, &x, NULL);
  hg_tensor_free(x);
}

static void dot_cases(void) {
  check_binary("dot [2,3,2] both with grad", hg_dot, grad_rand(HG_SHAPE(2, 3, 2), -1, 1, 40),
               grad_rand(HG_SHAPE(2, 3, 2), -1, 1, 41));
  check_binary("dot, b needs no grad", hg_dot, grad_rand(HG_SHAPE(7), -1, 1, 42), hgt_rand(HG_SHAPE(7), -1, 1, 43));
}

const hgt_gradcase hgt_gradcases_elementwise[] = {
    {"add", "same shape and broadcasts", add_cases},
    {"sub", "broadcast, one input without grad", sub_cases},
    {"mul", "broadcast and scalar", mul_cases},
    {"div", "broadcast, one input without grad", div_cases},
    {"neg", "", neg_cases},
    {"scale", "", scale_cases},
    {"pow", "p = 2.5 and -1", pow_cases},
    {"exp", "", exp_cases},
    {"log", "", log_cases},
    {"sqrt", "", sqrt_cases},
    {"abs", "away from 0", abs_cases},
    {"relu", "away from 0", relu_cases},
    {"sigmoid", "", sigmoid_cases},
    {"tanh", "", tanh_cases},
    {"sum", "all, axes with keepdim, negative axis", sum_cases},
    {"mean", "axes and all", mean_cases},
    {"max", "distinct values", max_cases},
    {"reshape", "followed by mul", reshape_cases},
    {"narrow", "rows of a matrix, followed by mul", narrow_cases},
    {"dot", "same shapes, one input without grad", dot_cases},
};
const int hgt_gradcases_elementwise_count =
    (int)(sizeof hgt_gradcases_elementwise / sizeof hgt_gradcases_elementwise[0]);
