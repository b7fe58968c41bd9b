/* Gradient-check cases for softmax, log-softmax, batch norm, dropout and the
 * losses. */
#include "tests/gradcases.h"

static hg_tensor *grad_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed) {
  hg_tensor *t = hgt_rand(ndim, shape, lo, hi, seed);
  hg_requires_grad(t, true);
  return t;
}

static void free_all(int n, hg_tensor *const *t) {
  for (int i = 0; i < n; i++) hg_tensor_free(t[i]);
}

/* ---------- softmax family ---------- */

typedef struct axis_ctx {
  hg_tensor *(*f)(hg_tensor *, int);
  int axis;
} axis_ctx;

static hg_tensor *call_axis(hg_tensor *const *in, void *ctx) {
  const axis_ctx *c = ctx;
  return c->f(in[0], c->axis);
}

static void check_axis(const char *label, hg_tensor *(*f)(hg_tensor *, int), int axis, hg_tensor *x) {
  axis_ctx c = {f, axis};
  hgt_gradcheck(label, call_axis, &c, 1, &x, NULL);
  hg_tensor_free(x);
}

static void softmax_cases(void) {
  check_axis("softmax [2,3,4] axis 1", hg_softmax, 1, grad_rand(HG_SHAPE(2, 3, 4), -2, 2, 101));
  check_axis("softmax [3,5] axis -1", hg_softmax, -1, grad_rand(HG_SHAPE(3, 5), -2, 2, 102));
  check_axis("softmax [2,3,2,2] axis 0", hg_softmax, 0, grad_rand(HG_SHAPE(2, 3, 2, 2), -2, 2, 103));
}

static void log_softmax_cases(void) {
  check_axis("log_softmax [2,4,2,2] axis 1", hg_log_softmax, 1, grad_rand(HG_SHAPE(2, 4, 2, 2), -2, 2, 111));
  check_axis("log_softmax [3,5] axis -1", hg_log_softmax, -1, grad_rand(HG_SHAPE(3, 5), -2, 2, 112));
}

/* ---------- batch norm ---------- */

typedef struct bn_ctx {
  hg_tensor *running_mean, *running_var; /* NULL in training: no state changes between evaluations */
  bool training;
} bn_ctx;

static hg_tensor *call_batch_norm(hg_tensor *const *in, void *ctx) {
  const bn_ctx *c = ctx;
  return hg_batch_norm(in[0], in[1], in[2], c->running_mean, c->running_var, c->training, 0.1f, 1e-5f);
}

/* x, gamma and beta all need gradients (gamma, beta NULL when !affine). */
static void check_bn_training(const char *label, int ndim, const int *shape, bool affine, uint64_t seed) {
  int c = shape[1];
  hg_tensor *x = grad_rand(ndim, shape, -2, 2, seed);
  hg_tensor *gamma = affine ? grad_rand(HG_SHAPE(c), 0.5f, 1.5f, seed + 1) : NULL;
  hg_tensor *beta = affine ? grad_rand(HG_SHAPE(c), -1, 1, seed + 2) : NULL;
  hg_tensor *in[3] = {x, gamma, beta};
  bn_ctx ctx = {NULL, NULL, true};
  /* The defaults (eps 1e-2) pass with tolerances four times tighter. */
  hgt_gradcheck(label, call_batch_norm, &ctx, affine ? 3 : 1, in, NULL);
  free_all(3, in);
}

static void bn_eval_case(void) {
  hg_tensor *x = grad_rand(HG_SHAPE(2, 3, 2, 2), -2, 2, 131);
  hg_tensor *gamma = hgt_rand(HG_SHAPE(3), 0.5f, 1.5f, 132); /* needs no gradient */
  hg_tensor *beta = grad_rand(HG_SHAPE(3), -1, 1, 133);
  hg_tensor *rm = hgt_rand(HG_SHAPE(3), -0.5f, 0.5f, 134);
  hg_tensor *rv = hgt_rand(HG_SHAPE(3), 0.5f, 2.0f, 135);
  hg_tensor *in[3] = {x, gamma, beta};
  bn_ctx ctx = {rm, rv, false};
  hgt_gradcheck("batch_norm eval, gamma without grad", call_batch_norm, &ctx, 3, in, NULL);
  hg_tensor *const all[] = {x, gamma, beta, rm, rv};
  free_all(5, all);
}

static void batch_norm_cases(void) {
  check_bn_training("batch_norm training [6,3] affine", HG_SHAPE(6, 3), true, 121);
  check_bn_training("batch_norm training [3,2,2,3] affine", HG_SHAPE(3, 2, 2, 3), true, 124);
  check_bn_training("batch_norm training [4,3,2,2] no affine", HG_SHAPE(4, 3, 2, 2), false, 127);
  bn_eval_case();
}

/* ---------- dropout ---------- */

typedef struct dropout_ctx {
  float p;
  bool training;
} dropout_ctx;

/* Reseeds so that every evaluation draws the same mask. */
static hg_tensor *call_dropout(hg_tensor *const *in, void *ctx) {
  const dropout_ctx *c = ctx;
  hg_rng rng;
  hg_rng_seed(&rng, 1234, 0);
  return hg_dropout(in[0], c->p, c->training, &rng);
}

static void dropout_cases(void) {
  dropout_ctx train = {0.4f, true}, eval = {0.4f, false};
  hg_tensor *x = grad_rand(HG_SHAPE(4, 5), -1, 1, 141);
  hgt_gradcheck("dropout p 0.4 training", call_dropout, &train, 1, &x, NULL);
  hgt_gradcheck("dropout evaluation", call_dropout, &eval, 1, &x, NULL);
  hg_tensor_free(x);
}

/* ---------- losses ---------- */

static hg_tensor *call_cross_entropy(hg_tensor *const *in, void *ctx) {
  return hg_cross_entropy(in[0], ctx);
}

static void cross_entropy_cases(void) {
  int labels[4] = {2, 0, 4, 2};
  hg_tensor *x = grad_rand(HG_SHAPE(4, 5), -2, 2, 151);
  hgt_gradcheck("cross_entropy [4,5]", call_cross_entropy, labels, 1, &x, NULL);
  hg_tensor_free(x);
}

static hg_tensor *call_mse(hg_tensor *const *in, void *ctx) {
  (void)ctx;
  return hg_mse(in[0], in[1]);
}

static void mse_cases(void) {
  hg_tensor *in[2] = {grad_rand(HG_SHAPE(2, 3, 2), -1, 1, 161), hgt_rand(HG_SHAPE(2, 3, 2), -1, 1, 162)};
  hgt_gradcheck("mse, b without grad", call_mse, NULL, 2, in, NULL);
  hg_requires_grad(in[1], true);
  hgt_gradcheck("mse, both with grad", call_mse, NULL, 2, in, NULL);
  free_all(2, in);
}

const hgt_gradcase hgt_gradcases_nn[] = {
    {"softmax", "axes 1, -1, 0", softmax_cases},
    {"log_softmax", "axes 1, -1", log_softmax_cases},
    {"batch_norm", "training 2-D/4-D, affine or not; eval with gamma detached", batch_norm_cases},
    {"dropout", "fixed-seed mask; evaluation", dropout_cases},
    {"cross_entropy", "", cross_entropy_cases},
    {"mse", "one or both inputs with grad", mse_cases},
};
const int hgt_gradcases_nn_count = (int)(sizeof hgt_gradcases_nn / sizeof hgt_gradcases_nn[0]);
