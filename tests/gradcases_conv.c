/* Gradient-check cases for matmul, linear, conv2d and the pooling ops. */
#include <stdlib.h>

#include "tests/gradcases.h"

static hg_tensor *input(int ndim, const int *shape, uint64_t seed, bool grad) {
  hg_tensor *t = hgt_rand(ndim, shape, -1, 1, seed);
  hg_requires_grad(t, grad);
  return t;
}

/* A shuffled 0..n-1 scaled by 0.1: neighbours differ by ≥ 0.1, so a step of
 * eps = 1e-2 never changes which element of a window is the maximum. */
static hg_tensor *distinct_input(int ndim, const int *shape, uint64_t seed) {
  hg_tensor *t = hgt_ok(hg_tensor_empty(ndim, shape));
  int *perm = malloc(t->numel * sizeof *perm);
  assert_non_null(perm);
  for (size_t i = 0; i < t->numel; i++) perm[i] = (int)i;
  hg_rng rng;
  hg_rng_seed(&rng, seed, 3);
  hg_rng_shuffle(&rng, perm, (int)t->numel);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = 0.1f * (float)perm[i] - 0.05f * (float)t->numel;
  free(perm);
  hg_requires_grad(t, true);
  return t;
}

static void check_and_free(const char *label, hg_gradcheck_fn f, void *ctx, int n_in, hg_tensor **in) {
  hgt_gradcheck(label, f, ctx, n_in, in, NULL);
  for (int i = 0; i < n_in; i++) hg_tensor_free(in[i]);
}

/* ---------- matmul ---------- */

typedef struct matmul_ctx {
  bool ta, tb;
} matmul_ctx;

static hg_tensor *call_matmul(hg_tensor *const *in, void *ctx) {
  matmul_ctx *c = ctx;
  return hg_matmul(in[0], in[1], c->ta, c->tb);
}

static void matmul_cases(void) {
  static const char *labels[] = {"[3,4]x[4,5]", "[4,3]^T x [4,5]", "[3,4] x [5,4]^T", "[4,3]^T x [5,4]^T"};
  for (int t = 0; t < 4; t++) {
    matmul_ctx c = {t & 1, t & 2};
    hg_tensor *in[] = {c.ta ? input(HG_SHAPE(4, 3), 1, true) : input(HG_SHAPE(3, 4), 1, true),
                       c.tb ? input(HG_SHAPE(5, 4), 2, true) : input(HG_SHAPE(4, 5), 2, true)};
    check_and_free(labels[t], call_matmul, &c, 2, in);
  }
  matmul_ctx c = {false, true};
  hg_tensor *in[] = {input(HG_SHAPE(2, 6), 3, false), input(HG_SHAPE(3, 6), 4, true)};
  check_and_free("[2,6] x [3,6]^T, a needs no grad", call_matmul, &c, 2, in);
  matmul_ctx c2 = {true, false};
  hg_tensor *in2[] = {input(HG_SHAPE(6, 2), 5, true), input(HG_SHAPE(6, 3), 6, false)};
  check_and_free("[6,2]^T x [6,3], b needs no grad", call_matmul, &c2, 2, in2);
}

/* ---------- linear ---------- */

static hg_tensor *call_linear(hg_tensor *const *in, void *ctx) {
  return hg_linear(in[0], in[1], *(int *)ctx == 3 ? in[2] : NULL);
}

static void linear_cases(void) {
  int three = 3, two = 2;
  hg_tensor *a[] = {input(HG_SHAPE(4, 5), 11, true), input(HG_SHAPE(3, 5), 12, true), input(HG_SHAPE(3), 13, true)};
  check_and_free("x [4,5], W [3,5], b [3]", call_linear, &three, 3, a);
  hg_tensor *b[] = {input(HG_SHAPE(2, 7), 14, true), input(HG_SHAPE(4, 7), 15, true)};
  check_and_free("no bias", call_linear, &two, 2, b);
  hg_tensor *c[] = {input(HG_SHAPE(3, 4), 16, false), input(HG_SHAPE(2, 4), 17, true), input(HG_SHAPE(2), 18, true)};
  check_and_free("x needs no grad", call_linear, &three, 3, c);
  hg_tensor *d[] = {input(HG_SHAPE(3, 4), 19, true), input(HG_SHAPE(2, 4), 20, false), input(HG_SHAPE(2), 21, true)};
  check_and_free("W needs no grad", call_linear, &three, 3, d);
}

/* ---------- conv2d ---------- */

typedef struct conv_ctx {
  int stride, pad;
  bool bias, detach;
} conv_ctx;

static hg_tensor *call_conv(hg_tensor *const *in, void *ctx) {
  conv_ctx *c = ctx;
  hg_tensor *x = c->detach ? hg_detach(in[0]) : hg_tensor_retain(in[0]);
  if (!x) return NULL;
  hg_tensor *y = hg_conv2d(x, in[1], c->bias ? in[2] : NULL, c->stride, c->pad);
  hg_tensor_free(x);
  return y;
}

static void conv_case(const char *label, conv_ctx c, const int x_shape[4], const int w_shape[4],
                      bool x_grad, bool w_grad) {
  hg_tensor *in[] = {input(4, x_shape, 31, x_grad), input(4, w_shape, 32, w_grad),
                     input(HG_SHAPE(w_shape[0]), 33, true)};
  check_and_free(label, call_conv, &c, c.bias ? 3 : 2, in);
  if (!c.bias) hg_tensor_free(in[2]);
}

static void conv2d_cases(void) {
  conv_case("stride 1 pad 0, bias", (conv_ctx){1, 0, true, false}, (int[]){2, 3, 6, 5},
            (int[]){4, 3, 3, 3}, true, true);
  conv_case("stride 2 pad 1, no bias", (conv_ctx){2, 1, false, false}, (int[]){2, 2, 7, 6},
            (int[]){3, 2, 3, 3}, true, true);
  conv_case("stride 2 pad 1, bias, 2x3 kernel", (conv_ctx){2, 1, true, false}, (int[]){1, 3, 5, 7},
            (int[]){2, 3, 2, 3}, true, true);
  conv_case("stride 1 pad 1, detached x", (conv_ctx){1, 1, true, true}, (int[]){2, 2, 5, 5},
            (int[]){3, 2, 3, 3}, false, true);
  conv_case("only the bias needs a gradient", (conv_ctx){1, 0, true, false}, (int[]){2, 2, 4, 4},
            (int[]){3, 2, 3, 3}, false, false);
}

/* ---------- pooling ---------- */

typedef struct pool_ctx {
  hg_tensor *(*fn)(hg_tensor *, int, int, int);
  int kernel, stride, pad;
} pool_ctx;

static hg_tensor *call_pool(hg_tensor *const *in, void *ctx) {
  pool_ctx *c = ctx;
  return c->fn(in[0], c->kernel, c->stride, c->pad);
}

static void pool_case(const char *label, pool_ctx c, const int x_shape[4], bool distinct) {
  hg_tensor *x = distinct ? distinct_input(4, x_shape, 41) : input(4, x_shape, 42, true);
  check_and_free(label, call_pool, &c, 1, &x);
}

static void max_pool2d_cases(void) {
  pool_case("kernel 2 stride 2", (pool_ctx){hg_max_pool2d, 2, 2, 0}, (int[]){2, 3, 6, 6}, true);
  pool_case("kernel 3 stride 2 pad 1", (pool_ctx){hg_max_pool2d, 3, 2, 1}, (int[]){2, 2, 7, 5}, true);
}

static void avg_pool2d_cases(void) {
  pool_case("kernel 3 stride 2 pad 1", (pool_ctx){hg_avg_pool2d, 3, 2, 1}, (int[]){2, 3, 7, 6}, false);
  pool_case("kernel 2 stride 1", (pool_ctx){hg_avg_pool2d, 2, 1, 0}, (int[]){1, 2, 5, 4}, false);
}

const hgt_gradcase hgt_gradcases_conv[] = {
    {"matmul", "all transpose flags; a or b needing no grad", matmul_cases},
    {"linear", "with and without bias; x or W needing no grad", linear_cases},
    {"conv2d", "stride 1/2, pad 0/1, bias or not, detached x, bias only", conv2d_cases},
    {"max_pool2d", "kernel 2 stride 2; kernel 3 stride 2 pad 1", max_pool2d_cases},
    {"avg_pool2d", "kernel 3 stride 2 pad 1; kernel 2 stride 1", avg_pool2d_cases},
};
const int hgt_gradcases_conv_count = (int)(sizeof hgt_gradcases_conv / sizeof hgt_gradcases_conv[0]);
