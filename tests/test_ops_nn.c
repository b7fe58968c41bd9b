/* Softmax family, batch norm, dropout, losses and competition masks: what
 * the op sweep (test_ops.c) does not check — other axes, large inputs,
 * running statistics, backward formulas, errors — against naive references
 * (the softmax one is its spec's). */
#include <math.h>
#include <string.h>

#include "tests/helpers.h"

/* ---------- helpers ---------- */

static void expect_error(hg_tensor *t, const char *a, const char *b, const char *c) {
  assert_null(t);
  const char *msg = hg_last_error();
  const char *parts[3] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (parts[i] && !strstr(msg, parts[i])) fail_msg("message \"%s\" lacks \"%s\"", msg, parts[i]);
}

/* out = 1 everywhere, shaped like t (an upstream gradient of ones). */
static hg_tensor *ones_like(const hg_tensor *t) { return hgt_ok(hg_tensor_ones(t->ndim, t->shape)); }

static void split_axis(const hg_tensor *x, int axis, size_t *outer, size_t *len, size_t *inner) {
  int a = axis < 0 ? axis + x->ndim : axis;
  *outer = *inner = 1;
  for (int d = 0; d < a; d++) *outer *= (size_t)x->shape[d];
  for (int d = a + 1; d < x->ndim; d++) *inner *= (size_t)x->shape[d];
  *len = (size_t)x->shape[a];
}

/* The naive softmax / log-softmax of the op's spec (autograd/ops_softmax.c). */
static hg_tensor *ref_softmax(hg_tensor *x, int axis, bool log_out) {
  const hg_op *op = hg_op_find(log_out ? "log_softmax" : "softmax");
  return hgt_ok(op->reference(op, &x, &axis));
}

/* ---------- softmax ---------- */

static void check_softmax_axis(hg_tensor *x, int axis) {
  for (int log_out = 0; log_out < 2; log_out++) {
    hg_tensor *y = hgt_ok(log_out ? hg_log_softmax(x, axis) : hg_softmax(x, axis));
    hg_tensor *ref = ref_softmax(x, axis, log_out);
    assert_true(hg_same_shape(x, y));
    hgt_close(y->data, ref->data, x->numel, 1e-5f, 1e-6f);
    hg_tensor_free(y);
    hg_tensor_free(ref);
  }
}

static void test_softmax_axes(void **state) {
  (void)state;
  hg_tensor *x3 = hgt_rand(HG_SHAPE(2, 3, 4), -3.0f, 3.0f, 11);
  hg_tensor *x4 = hgt_rand(HG_SHAPE(2, 3, 2, 5), -3.0f, 3.0f, 12);
  int axes[] = {0, 1, 2, -1, -2};
  for (int i = 0; i < 5; i++) check_softmax_axis(x3, axes[i]);
  for (int i = 0; i < 5; i++) check_softmax_axis(x4, axes[i]);
  check_softmax_axis(x4, 3);
  /* More adjacent lines than one block of the implementation. */
  hg_tensor *wide = hgt_rand(HG_SHAPE(2, 3, 10, 9), -3.0f, 3.0f, 13);
  check_softmax_axis(wide, 1);
  check_softmax_axis(wide, 0);
  hg_tensor_free(wide);
  hg_tensor_free(x3);
  hg_tensor_free(x4);
}

static void test_softmax_large_inputs(void **state) {
  (void)state;
  hg_tensor *x = hgt_ok(hg_tensor_from(HG_SHAPE(2, 3), (float[]){1000, 1001, 1002, -1000, -1001, -1002}));
  hg_tensor *y = hgt_ok(hg_softmax(x, 1));
  hg_tensor *ly = hgt_ok(hg_log_softmax(x, -1));
  double z = 1.0 + exp(-1.0) + exp(-2.0);
  float want[6] = {(float)(exp(-2.0) / z), (float)(exp(-1.0) / z), (float)(1.0 / z),
                   (float)(1.0 / z), (float)(exp(-1.0) / z), (float)(exp(-2.0) / z)};
  float want_log[6];
  for (int i = 0; i < 6; i++) want_log[i] = logf(want[i]);
  assert_true(hg_tensor_first_nonfinite(y) == y->numel && hg_tensor_first_nonfinite(ly) == ly->numel);
  hgt_close(y->data, want, 6, 1e-5f, 1e-7f);
  hgt_close(ly->data, want_log, 6, 1e-5f, 1e-6f);
  hg_tensor_free(x);
  hg_tensor_free(y);
  hg_tensor_free(ly);
}

static void test_softmax_backward(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 4), -2.0f, 2.0f, 5);
  hg_tensor *g = hgt_rand(HG_SHAPE(2, 3, 4), -1.0f, 1.0f, 6);
  hg_requires_grad(x, true);
  float want[24];
  for (int log_out = 0; log_out < 2; log_out++) {
    hg_tensor *y = hgt_ok(log_out ? hg_log_softmax(x, 1) : hg_softmax(x, 1));
    hgt_status(hg_backward_from(y, g));
    hg_tensor *ref = ref_softmax(x, 1, false);
    const float *p = ref->data;
    for (int o = 0; o < 2; o++)
      for (int i = 0; i < 4; i++) {
        double s = 0.0;
        for (int j = 0; j < 3; j++) {
          int k = (o * 3 + j) * 4 + i;
          s += log_out ? g->data[k] : g->data[k] * p[k];
        }
        for (int j = 0; j < 3; j++) {
          int k = (o * 3 + j) * 4 + i;
          want[k] = (float)(log_out ? g->data[k] - p[k] * s : p[k] * (g->data[k] - s));
        }
      }
    hgt_close(x->grad->data, want, 24, 1e-4f, 1e-6f);
    hg_tensor_free(ref);
    hg_tensor_free(y);
    hg_tape_clear();
    hg_zero_grad(x);
  }
  hg_tensor_free(x);
  hg_tensor_free(g);
}

static void test_softmax_bad_axis(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3), 0.0f, 1.0f, 1);
  expect_error(hg_softmax(x, 2), "softmax", "axis 2", "[2,3]");
  expect_error(hg_log_softmax(x, -3), "log_softmax", "axis -3", "[2,3]");
  hg_tensor_free(x);
}

/* ---------- batch norm ---------- */

/* Channel 0 = [1,2,3,4]: mean 2.5, biased var 1.25, unbiased 5/3.
 * Channel 1 = [2,4,6,8]: mean 5, biased var 5, unbiased 20/3. */
static hg_tensor *bn_hand_input(void) {
  return hgt_ok(hg_tensor_from(HG_SHAPE(4, 2), (float[]){1, 2, 2, 4, 3, 6, 4, 8}));
}

static void test_batch_norm_training_by_hand(void **state) {
  (void)state;
  hg_tensor *x = bn_hand_input();
  hg_tensor *gamma = hgt_ok(hg_tensor_from(HG_SHAPE(2), (float[]){2.0f, 0.5f}));
  hg_tensor *beta = hgt_ok(hg_tensor_from(HG_SHAPE(2), (float[]){1.0f, -1.0f}));
  hg_tensor *rm = hgt_ok(hg_tensor_zeros(HG_SHAPE(2)));
  hg_tensor *rv = hgt_ok(hg_tensor_ones(HG_SHAPE(2)));
  float eps = 1e-5f;
  hg_tensor *y = hgt_ok(hg_batch_norm(x, gamma, beta, rm, rv, true, 0.1f, eps));
  float want[8];
  double mean[2] = {2.5, 5.0}, var[2] = {1.25, 5.0};
  for (int i = 0; i < 8; i++) {
    int c = i % 2;
    want[i] = (float)(gamma->data[c] * (x->data[i] - mean[c]) / sqrt(var[c] + eps) + beta->data[c]);
  }
  hgt_close(y->data, want, 8, 1e-5f, 1e-5f);
  /* running = 0.9·running + 0.1·batch, with the unbiased variance. */
  hgt_close(rm->data, (float[]){0.25f, 0.5f}, 2, 1e-6f, 1e-6f);
  hgt_close(rv->data, (float[]){0.9f + 0.1f * 5.0f / 3.0f, 0.9f + 0.1f * 20.0f / 3.0f}, 2, 1e-6f, 1e-6f);
  hg_tensor *const all[] = {x, gamma, beta, rm, rv, y};
  for (int i = 0; i < 6; i++) hg_tensor_free(all[i]);
}

/* Naive per-channel batch norm of [N,C,S] in double (no affine). */
static void ref_batch_norm(const hg_tensor *x, double eps, float *y, double *mean, double *var) {
  int n_ = x->shape[0], c_ = x->shape[1];
  size_t s_ = x->numel / ((size_t)n_ * c_);
  for (int c = 0; c < c_; c++) {
    double sum = 0.0, sq = 0.0, m;
    for (int n = 0; n < n_; n++)
      for (size_t i = 0; i < s_; i++) sum += x->data[((size_t)n * c_ + c) * s_ + i];
    m = sum / ((double)n_ * s_);
    for (int n = 0; n < n_; n++)
      for (size_t i = 0; i < s_; i++) {
        double d = x->data[((size_t)n * c_ + c) * s_ + i] - m;
        sq += d * d;
      }
    mean[c] = m;
    var[c] = sq / ((double)n_ * s_);
    for (int n = 0; n < n_; n++)
      for (size_t i = 0; i < s_; i++) {
        size_t k = ((size_t)n * c_ + c) * s_ + i;
        y[k] = (float)((x->data[k] - m) / sqrt(var[c] + eps));
      }
  }
}

static void check_batch_norm_4d(int n, int c, int h, int w, uint64_t seed) {
  hg_tensor *x = hgt_rand(HG_SHAPE(n, c, h, w), -2.0f, 5.0f, seed);
  hg_tensor *rm = hgt_ok(hg_tensor_full(HG_SHAPE(c), 0.5f));
  hg_tensor *rv = hgt_ok(hg_tensor_full(HG_SHAPE(c), 2.0f));
  hg_tensor *y = hgt_ok(hg_batch_norm(x, NULL, NULL, rm, rv, true, 0.3f, 1e-3f));
  float *want = test_malloc(x->numel * sizeof(float));
  float want_rm[8], want_rv[8];
  double mean[8], var[8], count = (double)n * h * w;
  ref_batch_norm(x, 1e-3, want, mean, var);
  for (int k = 0; k < c; k++) {
    want_rm[k] = (float)(0.7 * 0.5 + 0.3 * mean[k]);
    want_rv[k] = (float)(0.7 * 2.0 + 0.3 * var[k] * count / (count - 1.0));
  }
  hgt_close(y->data, want, x->numel, 1e-5f, 2e-5f);
  hgt_close(rm->data, want_rm, (size_t)c, 1e-5f, 1e-6f);
  hgt_close(rv->data, want_rv, (size_t)c, 1e-5f, 1e-6f);
  test_free(want);
  hg_tensor *const all[] = {x, rm, rv, y};
  for (int i = 0; i < 4; i++) hg_tensor_free(all[i]);
}

static void test_batch_norm_training_4d(void **state) {
  (void)state;
  check_batch_norm_4d(3, 4, 2, 3, 21);
  check_batch_norm_4d(5, 8, 17, 19, 22);
}

static void test_batch_norm_eval_uses_running(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 2, 2), -1.0f, 1.0f, 31);
  hg_tensor *gamma = hgt_ok(hg_tensor_from(HG_SHAPE(3), (float[]){1.5f, -1.0f, 0.5f}));
  hg_tensor *beta = hgt_ok(hg_tensor_from(HG_SHAPE(3), (float[]){0.1f, 0.2f, 0.3f}));
  hg_tensor *rm = hgt_ok(hg_tensor_from(HG_SHAPE(3), (float[]){0.2f, -0.3f, 1.0f}));
  hg_tensor *rv = hgt_ok(hg_tensor_from(HG_SHAPE(3), (float[]){0.5f, 2.0f, 4.0f}));
  hg_requires_grad(x, true);
  hg_tensor *y = hgt_ok(hg_batch_norm(x, gamma, beta, rm, rv, false, 0.1f, 1e-5f));
  float want[24], want_g[24];
  for (int i = 0; i < 24; i++) {
    int c = (i / 4) % 3;
    double k = gamma->data[c] / sqrt((double)rv->data[c] + 1e-5);
    want[i] = (float)((x->data[i] - rm->data[c]) * k + beta->data[c]);
    want_g[i] = (float)k;
  }
  hgt_close(y->data, want, 24, 1e-5f, 1e-6f);
  hgt_close(rm->data, (float[]){0.2f, -0.3f, 1.0f}, 3, 0.0f, 0.0f);
  hgt_close(rv->data, (float[]){0.5f, 2.0f, 4.0f}, 3, 0.0f, 0.0f);
  hg_tensor *g = ones_like(y);
  hgt_status(hg_backward_from(y, g));
  hgt_close(x->grad->data, want_g, 24, 1e-5f, 1e-6f);
  hg_tape_clear();
  hg_tensor *const all[] = {x, gamma, beta, rm, rv, y, g};
  for (int i = 0; i < 7; i++) hg_tensor_free(all[i]);
}

/* Training backward of x [N,C,S...] against the textbook formula. */
static void check_batch_norm_backward(int ndim, const int *shape, uint64_t seed) {
  hg_tensor *x = hgt_rand(ndim, shape, -2.0f, 2.0f, seed);
  int n_ = shape[0], c_ = shape[1];
  size_t s_ = x->numel / ((size_t)n_ * c_);
  hg_tensor *gamma = hgt_rand(HG_SHAPE(c_), -1.5f, 1.5f, seed + 1);
  hg_tensor *beta = hgt_rand(HG_SHAPE(c_), -1.0f, 1.0f, seed + 2);
  hg_tensor *g = hgt_rand(ndim, shape, -1.0f, 1.0f, seed + 3);
  hg_requires_grad(x, true);
  hg_requires_grad(gamma, true);
  hg_requires_grad(beta, true);
  hg_tensor *y = hgt_ok(hg_batch_norm(x, gamma, beta, NULL, NULL, true, 0.1f, 1e-5f));
  hgt_status(hg_backward_from(y, g));
  float *xhat = test_malloc(x->numel * sizeof(float)), *want_x = test_malloc(x->numel * sizeof(float));
  float want_gamma[8], want_beta[8];
  double mean[8], var[8], count = (double)n_ * s_;
  ref_batch_norm(x, 1e-5, xhat, mean, var);
  for (int c = 0; c < c_; c++) {
    double sg = 0.0, sgx = 0.0, inv = 1.0 / sqrt(var[c] + 1e-5);
    for (int n = 0; n < n_; n++)
      for (size_t i = 0; i < s_; i++) {
        size_t k = ((size_t)n * c_ + c) * s_ + i;
        sg += g->data[k];
        sgx += g->data[k] * xhat[k];
      }
    for (int n = 0; n < n_; n++)
      for (size_t i = 0; i < s_; i++) {
        size_t k = ((size_t)n * c_ + c) * s_ + i;
        want_x[k] = (float)(gamma->data[c] * inv * (g->data[k] - sg / count - xhat[k] * sgx / count));
      }
    want_gamma[c] = (float)sgx;
    want_beta[c] = (float)sg;
  }
  hgt_close(x->grad->data, want_x, x->numel, 1e-3f, 1e-5f);
  hgt_close(gamma->grad->data, want_gamma, (size_t)c_, 1e-4f, 1e-4f);
  hgt_close(beta->grad->data, want_beta, (size_t)c_, 1e-4f, 1e-4f);
  hg_tape_clear();
  test_free(xhat);
  test_free(want_x);
  hg_tensor *const all[] = {x, gamma, beta, g, y};
  for (int i = 0; i < 5; i++) hg_tensor_free(all[i]);
}

static void test_batch_norm_training_backward(void **state) {
  (void)state;
  check_batch_norm_backward(HG_SHAPE(5, 2), 41);
  check_batch_norm_backward(HG_SHAPE(4, 3, 9, 11), 45);
}

static void test_batch_norm_errors(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(4, 3, 2, 2), -1.0f, 1.0f, 1);
  hg_tensor *bad = hgt_ok(hg_tensor_ones(HG_SHAPE(4)));
  hg_tensor *ok = hgt_ok(hg_tensor_ones(HG_SHAPE(3)));
  hg_tensor *x3 = hgt_rand(HG_SHAPE(2, 3, 4), -1.0f, 1.0f, 2);
  hg_tensor *one = hgt_rand(HG_SHAPE(1, 3), -1.0f, 1.0f, 3);
  expect_error(hg_batch_norm(x, bad, NULL, NULL, NULL, true, 0.1f, 1e-5f), "batch_norm", "[4]", "[4,3,2,2]");
  expect_error(hg_batch_norm(x, ok, bad, NULL, NULL, true, 0.1f, 1e-5f), "batch_norm", "beta", "[4]");
  expect_error(hg_batch_norm(x, NULL, NULL, bad, ok, true, 0.1f, 1e-5f), "batch_norm", "running_mean", "[4]");
  expect_error(hg_batch_norm(x, NULL, NULL, ok, bad, false, 0.1f, 1e-5f), "batch_norm", "running_var", "[4]");
  expect_error(hg_batch_norm(x, NULL, NULL, NULL, NULL, true, 0.1f, 0.0f), "batch_norm", "eps", NULL);
  expect_error(hg_batch_norm(x, NULL, NULL, NULL, NULL, true, 1.5f, 1e-5f), "batch_norm", "momentum", NULL);
  expect_error(hg_batch_norm(x, NULL, NULL, NULL, NULL, false, 0.1f, 1e-5f), "batch_norm", "running", NULL);
  expect_error(hg_batch_norm(x3, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f), "batch_norm", "[2,3,4]", NULL);
  expect_error(hg_batch_norm(one, NULL, NULL, NULL, NULL, true, 0.1f, 1e-5f), "batch_norm", "[1,3]", NULL);
  hg_tensor *const all[] = {x, bad, ok, x3, one};
  for (int i = 0; i < 5; i++) hg_tensor_free(all[i]);
}

/* ---------- dropout ---------- */

static void test_dropout_training(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(100, 100), 1.0f, 2.0f, 51);
  hg_requires_grad(x, true);
  hg_rng rng;
  hg_rng_seed(&rng, 7, 0);
  hg_tensor *y = hgt_ok(hg_dropout(x, 0.3f, true, &rng));
  hg_rng_seed(&rng, 7, 0);
  hg_tensor *y2 = hgt_ok(hg_dropout(x, 0.3f, true, &rng));
  size_t kept = 0;
  for (size_t i = 0; i < x->numel; i++) {
    if (y->data[i] != 0.0f) {
      kept++;
      assert_float_equal(y->data[i], x->data[i] / 0.7f, 1e-5f);
    }
    assert_true(y->data[i] == y2->data[i]);
  }
  assert_in_range(kept, 6800, 7200);
  hg_tensor *g = ones_like(y);
  hgt_status(hg_backward_from(y, g));
  for (size_t i = 0; i < x->numel; i++)
    assert_float_equal(x->grad->data[i], y->data[i] != 0.0f ? 1.0f / 0.7f : 0.0f, 1e-5f);
  hg_tape_clear();
  hg_tensor *const all[] = {x, y, y2, g};
  for (int i = 0; i < 4; i++) hg_tensor_free(all[i]);
}

static void test_dropout_identity(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(3, 4), -1.0f, 1.0f, 52);
  hg_requires_grad(x, true);
  hg_rng rng;
  hg_rng_seed(&rng, 1, 0);
  hg_tensor *y_eval = hgt_ok(hg_dropout(x, 0.5f, false, &rng));
  hg_tensor *y_p0 = hgt_ok(hg_dropout(x, 0.0f, true, NULL));
  hgt_close(y_eval->data, x->data, 12, 0.0f, 0.0f);
  hgt_close(y_p0->data, x->data, 12, 0.0f, 0.0f);
  assert_true(y_eval->requires_grad && y_p0->requires_grad);
  hg_tensor *g = hgt_rand(HG_SHAPE(3, 4), -1.0f, 1.0f, 53);
  hgt_status(hg_backward_from(y_eval, g));
  hgt_close(x->grad->data, g->data, 12, 0.0f, 0.0f);
  hg_tape_clear();
  expect_error(hg_dropout(x, 1.0f, true, &rng), "dropout", "p", NULL);
  expect_error(hg_dropout(x, -0.1f, true, &rng), "dropout", "p", NULL);
  hg_tensor *const all[] = {x, y_eval, y_p0, g};
  for (int i = 0; i < 4; i++) hg_tensor_free(all[i]);
}

/* ---------- losses ---------- */

static void test_cross_entropy(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(4, 5), -3.0f, 3.0f, 61);
  int labels[4] = {0, 4, 2, 2};
  hg_requires_grad(x, true);
  hg_tensor *loss = hgt_ok(hg_cross_entropy(x, labels));
  assert_int_equal(loss->numel, 1); /* its value: the op sweep, against the spec's reference */
  int original[4];
  memcpy(original, labels, sizeof labels);
  for (int i = 0; i < 4; i++) labels[i] = 1; /* the caller reuses its buffer */
  hgt_status(hg_backward(loss));
  float want[20];
  hg_tensor *p = ref_softmax(x, 1, false);
  for (int i = 0; i < 20; i++) want[i] = (p->data[i] - (i % 5 == original[i / 5] ? 1.0f : 0.0f)) / 4.0f;
  hgt_close(x->grad->data, want, 20, 1e-4f, 1e-6f);
  hg_tensor_free(p);
  hg_tape_clear();
  hg_tensor_free(loss);
  hg_tensor_free(x);
}

static void test_cross_entropy_large_and_errors(void **state) {
  (void)state;
  hg_tensor *x = hgt_ok(hg_tensor_from(HG_SHAPE(2, 3), (float[]){1000, 1001, 1002, -1000, 0, 1000}));
  hg_tensor *loss = hgt_ok(hg_cross_entropy(x, (int[]){2, 0}));
  double z = 1.0 + exp(-1.0) + exp(-2.0);
  assert_float_equal(loss->data[0], (log(z) + 2000.0 + log1p(exp(-1000.0))) / 2.0, 1e-3);
  hg_tensor_free(loss);
  expect_error(hg_cross_entropy(x, (int[]){1, 3}), "cross_entropy", "label 3", "index 1");
  expect_error(hg_cross_entropy(x, (int[]){-1, 0}), "cross_entropy", "label -1", "index 0");
  hg_tensor *x1 = hgt_rand(HG_SHAPE(6), 0.0f, 1.0f, 1);
  expect_error(hg_cross_entropy(x1, (int[]){0, 0, 0, 0, 0, 0}), "cross_entropy", "[6]", NULL);
  hg_tensor_free(x1);
  hg_tensor_free(x);
}

static void test_mse(void **state) {
  (void)state;
  hg_tensor *a = hgt_rand(HG_SHAPE(2, 3), -1.0f, 1.0f, 71);
  hg_tensor *b = hgt_rand(HG_SHAPE(2, 3), -1.0f, 1.0f, 72);
  hg_requires_grad(a, true);
  hg_requires_grad(b, true);
  hg_tensor *loss = hgt_ok(hg_mse(a, b));
  double sum = 0.0;
  for (int i = 0; i < 6; i++) sum += ((double)a->data[i] - b->data[i]) * (a->data[i] - b->data[i]);
  assert_float_equal(loss->data[0], sum / 6.0, 1e-6);
  hgt_status(hg_backward(loss));
  for (int i = 0; i < 6; i++) {
    assert_float_equal(a->grad->data[i], (a->data[i] - b->data[i]) / 3.0f, 1e-6f);
    assert_float_equal(b->grad->data[i], -(a->data[i] - b->data[i]) / 3.0f, 1e-6f);
  }
  hg_tape_clear();
  hg_tensor *c = hgt_rand(HG_SHAPE(3, 2), -1.0f, 1.0f, 73);
  expect_error(hg_mse(a, c), "mse", "[2,3]", "[3,2]");
  hg_tensor *const all[] = {a, b, c, loss};
  for (int i = 0; i < 4; i++) hg_tensor_free(all[i]);
}

/* ---------- masks ---------- */

static void test_argmax_mask(void **state) {
  (void)state;
  hg_tensor *x = hgt_ok(hg_tensor_from(HG_SHAPE(3, 4), (float[]){1, 5, 5, 2,    /* tie: index 1 */
                                                                 7, 7, 7, 7,    /* all equal */
                                                                 -3, -1, -2, -1}));
  hg_tensor *m = hgt_ok(hg_argmax_mask(x, 1));
  hgt_close(m->data, (float[]){0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0}, 12, 0.0f, 0.0f);
  assert_false(m->requires_grad);
  hg_tensor *m0 = hgt_ok(hg_argmax_mask(x, -2));
  hgt_close(m0->data, (float[]){0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}, 12, 0.0f, 0.0f);
  expect_error(hg_argmax_mask(x, 2), "argmax_mask", "axis 2", "[3,4]");
  hg_tensor_free(m);
  hg_tensor_free(m0);
  hg_tensor_free(x);
}

/* Naive top-k: element j of a line is chosen when fewer than k elements
 * precede it in the order (value desc, index asc). */
static void ref_topk(const hg_tensor *x, int axis, int k, float *m) {
  size_t outer, len, inner;
  split_axis(x, axis, &outer, &len, &inner);
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++)
      for (size_t j = 0; j < len; j++) {
        float v = x->data[(o * len + j) * inner + i];
        int ahead = 0;
        for (size_t l = 0; l < len; l++) {
          float u = x->data[(o * len + l) * inner + i];
          ahead += u > v || (u == v && l < j);
        }
        m[(o * len + j) * inner + i] = ahead < k ? 1.0f : 0.0f;
      }
}

static void test_topk_mask_4d(void **state) {
  (void)state;
  /* Values from a small set so that ties are frequent. */
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 7, 3, 5), 0.0f, 1.0f, 81);
  for (size_t i = 0; i < x->numel; i++) x->data[i] = floorf(x->data[i] * 4.0f);
  float want[210];
  for (int axis = 0; axis < 4; axis++)
    for (int k = 1; k <= x->shape[axis]; k++) {
      hg_tensor *m = hgt_ok(hg_topk_mask(x, axis, k));
      ref_topk(x, axis, k, want);
      hgt_close(m->data, want, x->numel, 0.0f, 0.0f);
      hg_tensor_free(m);
    }
  hg_tensor *am = hgt_ok(hg_argmax_mask(x, 1));
  ref_topk(x, 1, 1, want);
  hgt_close(am->data, want, x->numel, 0.0f, 0.0f);
  hg_tensor_free(am);
  hg_tensor_free(x);
}

static void test_topk_mask_wide_and_errors(void **state) {
  (void)state;
  /* More lines than one block (inner 300 > 256). */
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 5, 300), 0.0f, 1.0f, 82);
  for (size_t i = 0; i < x->numel; i++) x->data[i] = floorf(x->data[i] * 3.0f);
  float *want = test_malloc(x->numel * sizeof(float));
  for (int k = 1; k <= 5; k++) {
    hg_tensor *m = hgt_ok(hg_topk_mask(x, 1, k));
    ref_topk(x, 1, k, want);
    hgt_close(m->data, want, x->numel, 0.0f, 0.0f);
    hg_tensor_free(m);
  }
  test_free(want);
  hg_tensor *s = hgt_ok(hg_tensor_from(HG_SHAPE(4), (float[]){3, 1, 3, 2}));
  hg_tensor *m = hgt_ok(hg_topk_mask(s, 0, 2));
  hgt_close(m->data, (float[]){1, 0, 1, 0}, 4, 0.0f, 0.0f);
  hg_tensor_free(m);
  m = hgt_ok(hg_topk_mask(s, -1, 3));
  hgt_close(m->data, (float[]){1, 0, 1, 1}, 4, 0.0f, 0.0f);
  hg_tensor_free(m);
  expect_error(hg_topk_mask(x, 1, 0), "topk_mask", "k 0", "[2,5,300]");
  expect_error(hg_topk_mask(x, 1, 6), "topk_mask", "k 6", "[2,5,300]");
  expect_error(hg_topk_mask(x, -4, 1), "topk_mask", "axis -4", "[2,5,300]");
  hg_tensor_free(s);
  hg_tensor_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_softmax_axes),
      cmocka_unit_test(test_softmax_large_inputs),
      cmocka_unit_test(test_softmax_backward),
      cmocka_unit_test(test_softmax_bad_axis),
      cmocka_unit_test(test_batch_norm_training_by_hand),
      cmocka_unit_test(test_batch_norm_training_4d),
      cmocka_unit_test(test_batch_norm_eval_uses_running),
      cmocka_unit_test(test_batch_norm_training_backward),
      cmocka_unit_test(test_batch_norm_errors),
      cmocka_unit_test(test_dropout_training),
      cmocka_unit_test(test_dropout_identity),
      cmocka_unit_test(test_cross_entropy),
      cmocka_unit_test(test_cross_entropy_large_and_errors),
      cmocka_unit_test(test_mse),
      cmocka_unit_test(test_argmax_mask),
      cmocka_unit_test(test_topk_mask_4d),
      cmocka_unit_test(test_topk_mask_wide_and_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
