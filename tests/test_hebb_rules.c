/* Every Hebbian rule × coefficient source × {Linear, Conv2d stride 2 pad 1} ×
 * {sum, weighted average, plain average}: −∂L/∂W equals ΔW/η computed here from the rule's
 * formula with explicit loops over samples, positions and neurons. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hebb/competition.h"
#include "hebb/rules.h"
#include "nn/optim.h"
#include "tests/helpers.h"

enum { N = 3, C = 2, H = 5, W = 5, K = 6, KS = 3, STRIDE = 2, PAD = 1, D_LIN = 7 };

/* A layer's input as patches: x[(n·P + p)·D + d], with P positions of D values. */
typedef struct patches {
  int n, p, d;
  double *x;
} patches;

static patches conv_patches(const hg_tensor *x, int oh, int ow) {
  patches pt = {N, oh * ow, C * KS * KS, NULL};
  pt.x = test_calloc((size_t)pt.n * pt.p * pt.d, sizeof(double));
  for (int n = 0; n < N; n++)
    for (int i = 0; i < oh; i++)
      for (int j = 0; j < ow; j++)
        for (int c = 0; c < C; c++)
          for (int a = 0; a < KS; a++)
            for (int b = 0; b < KS; b++) {
              int r = i * STRIDE - PAD + a, s = j * STRIDE - PAD + b;
              double v = r >= 0 && r < H && s >= 0 && s < W ? x->data[((n * C + c) * H + r) * W + s] : 0.0;
              pt.x[((size_t)n * pt.p + i * ow + j) * pt.d + (c * KS + a) * KS + b] = v;
            }
  return pt;
}

static patches linear_patches(const hg_tensor *x) {
  patches pt = {N, 1, D_LIN, test_calloc((size_t)N * D_LIN, sizeof(double))};
  for (int i = 0; i < N * D_LIN; i++) pt.x[i] = x->data[i];
  return pt;
}

static const char *const agg_names[3] = {"sum", "mean", "avg"};

/* ΔW/η from the formula; y[(n·K + k)·P + p]. */
static void reference_delta(hg_rule rule, hg_aggregation agg, const patches *pt, const float *w,
                            const float *y, double *delta) {
  int P = pt->p, D = pt->d;
  memset(delta, 0, (size_t)K * D * sizeof *delta);
  for (int k = 0; k < K; k++) {
    double ysum = 0;
    for (int n = 0; n < pt->n; n++)
      for (int p = 0; p < P; p++) ysum += y[(n * K + k) * P + p];
    double scale = agg == HG_AGG_MEAN ? 1.0 / (ysum + HG_AGG_EPS) : agg == HG_AGG_AVG ? 1.0 / (pt->n * P) : 1.0;
    for (int n = 0; n < pt->n; n++)
      for (int p = 0; p < P; p++) {
        double yk = y[(n * K + k) * P + p];
        const double *x = pt->x + ((size_t)n * P + p) * D;
        for (int d = 0; d < D; d++) {
          double term = x[d];
          if (rule == HG_RULE_INSTAR) term -= w[k * D + d];
          if (rule == HG_RULE_OJA) term -= yk * w[k * D + d];
          if (rule == HG_RULE_HPCA)
            for (int j = 0; j <= k; j++) term -= y[(n * K + j) * P + p] * w[j * D + d];
          delta[k * D + d] += scale * yk * term;
        }
      }
  }
}

static const char *const sources[] = {"identity", "relu", "wta", "3-wta", "soft-wta", "e-soft-wta:0.5",
                                      "p-soft-wta:0.5", "som:3:1", "teacher", "teacher:2:2", "cosine-wta"};
#define N_SOURCES (int)(sizeof sources / sizeof sources[0])

/* The coefficients y from u: y = u, y = relu(u), or a competition's r. */
static hg_tensor *coefficients(const char *source, hg_tensor *u, const hg_tensor *w, const hg_tensor *x,
                               const int *labels) {
  if (!strcmp(source, "identity")) return hgt_ok(hg_tensor_clone(u));
  hg_tensor *y = hgt_ok(hg_tensor_clone(u));
  if (!strcmp(source, "relu")) {
    for (size_t i = 0; i < y->numel; i++) y->data[i] = y->data[i] > 0 ? y->data[i] : 0;
    return y;
  }
  hg_competition comp;
  hg_tensor *s = y;
  if (!strcmp(source, "cosine-wta")) {
    hgt_status(hg_competition_parse("wta", &comp));
    s = hgt_ok(hg_cosine_similarity(u, w, x, STRIDE, PAD));
    hg_tensor_free(y);
  } else {
    hgt_status(hg_competition_parse(source, &comp));
  }
  hg_tensor *r = hgt_ok(hg_compete(&comp, s, labels));
  hg_tensor_free(s);
  return r;
}

static double relative_error(const float *got, const double *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

static void check_one(hg_rule rule, hg_aggregation agg, const char *source, bool conv) {
  int labels[N] = {1, 0, 2};
  hg_tensor *x = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 11) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, 11);
  hg_tensor *w = conv ? hgt_rand(HG_SHAPE(K, C, KS, KS), -0.5f, 0.5f, 12) : hgt_rand(HG_SHAPE(K, D_LIN), -0.5f, 0.5f, 12);
  hg_requires_grad(w, true);
  hg_tensor *xd = hgt_ok(hg_detach(x));
  hg_tensor *u = conv ? hgt_ok(hg_conv2d(xd, w, NULL, STRIDE, PAD)) : hgt_ok(hg_linear(xd, w, NULL));
  hg_tensor *y = coefficients(source, u, w, x, labels);
  hg_tensor *loss = hgt_ok(hg_hebb_loss(rule, agg, u, w, y));
  hgt_status(hg_backward(loss));
  patches pt = conv ? conv_patches(x, u->shape[2], u->shape[3]) : linear_patches(x);
  double *delta = test_malloc(w->numel * sizeof *delta);
  reference_delta(rule, agg, &pt, w->data, y->data, delta);
  for (size_t i = 0; i < w->numel; i++) w->grad->data[i] = -w->grad->data[i]; /* −∂L/∂W */
  double err = relative_error(w->grad->data, delta, w->numel);
  if (!(err < 1e-4))
    fail_msg("%s, %s, %s, %s: relative error %.3g", hg_rule_name(rule), agg_names[agg],
             source, conv ? "conv2d" : "linear", err);
  test_free(delta);
  test_free(pt.x);
  hg_tensor_free(loss);
  hg_tensor_free(y);
  hg_tensor_free(u);
  hg_tensor_free(xd);
  hg_tape_clear();
  hg_tensor_free(w);
  hg_tensor_free(x);
}

static void test_gradient_equals_delta(void **state) {
  (void)state;
  for (int rule = 0; rule < HG_RULE_COUNT; rule++) { /* every rule there is, a new one too */
    hg_rule back;
    assert_non_null(hg_rule_name((hg_rule)rule));
    hgt_status(hg_rule_parse(hg_rule_name((hg_rule)rule), &back));
    assert_int_equal(back, rule);
    for (int agg = HG_AGG_SUM; agg <= HG_AGG_AVG; agg++)
      for (int s = 0; s < N_SOURCES; s++)
        for (int conv = 0; conv < 2; conv++) check_one((hg_rule)rule, agg, sources[s], conv);
  }
  assert_null(hg_rule_name(HG_RULE_COUNT));
}

/* One plain SGD step (no momentum, no decay) moves W by exactly η ΔW. */
static void test_sgd_step_applies_delta(void **state) {
  (void)state;
  const float lr = 0.05f;
  hg_tensor *x = hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 21);
  hg_tensor *w = hgt_rand(HG_SHAPE(K, C, KS, KS), -0.5f, 0.5f, 22);
  hg_tensor *g = hgt_ok(hg_tensor_zeros(w->ndim, w->shape));
  w->grad = g;
  hg_requires_grad(w, true);
  hg_tensor *before = hgt_ok(hg_tensor_clone(w));
  hg_tensor *xd = hgt_ok(hg_detach(x));
  hg_tensor *u = hgt_ok(hg_conv2d(xd, w, NULL, STRIDE, PAD));
  hg_tensor *y = coefficients("e-soft-wta:0.5", u, w, x, NULL);
  hg_tensor *loss = hgt_ok(hg_hebb_loss(HG_RULE_INSTAR, HG_AGG_MEAN, u, w, y));
  hgt_status(hg_backward(loss));
  patches pt = conv_patches(x, u->shape[2], u->shape[3]);
  double *delta = test_malloc(w->numel * sizeof *delta);
  reference_delta(HG_RULE_INSTAR, HG_AGG_MEAN, &pt, before->data, y->data, delta);
  hg_optimizer *opt = hg_sgd_new(w->data, g->data, w->numel);
  assert_non_null(opt);
  hgt_status(hg_optim_add_group(opt, 0, w->numel, hg_sgd_opts(lr, 0, 0, false)));
  hgt_status(hg_optim_step(opt));
  for (size_t i = 0; i < w->numel; i++) {
    double moved = (double)w->data[i] - before->data[i];
    assert_true(fabs(moved - lr * delta[i]) <= 1e-6 + 1e-4 * fabs(lr * delta[i]));
  }
  hg_optim_free(opt);
  test_free(delta);
  test_free(pt.x);
  hg_tensor_free(loss);
  hg_tensor_free(y);
  hg_tensor_free(u);
  hg_tensor_free(xd);
  hg_tape_clear();
  hg_tensor_free(before);
  hg_tensor_free(w);
  hg_tensor_free(x);
}

/* CHL: Δw = Σ (y⁺x⁺ − y⁻x⁻) over samples and positions, Linear and Conv2d. */
static void check_chl(bool conv) {
  hg_tensor *xp = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 31) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, 31);
  hg_tensor *xm = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 32) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, 32);
  hg_tensor *w = conv ? hgt_rand(HG_SHAPE(K, C, KS, KS), -0.5f, 0.5f, 33) : hgt_rand(HG_SHAPE(K, D_LIN), -0.5f, 0.5f, 33);
  hg_requires_grad(w, true);
  hg_tensor *up = conv ? hgt_ok(hg_conv2d(xp, w, NULL, STRIDE, PAD)) : hgt_ok(hg_linear(xp, w, NULL));
  hg_tensor *um = conv ? hgt_ok(hg_conv2d(xm, w, NULL, STRIDE, PAD)) : hgt_ok(hg_linear(xm, w, NULL));
  hg_tensor *yp = hgt_ok(hg_sigmoid(up)), *ym = hgt_ok(hg_sigmoid(um));
  hg_tensor *loss = hgt_ok(hg_chl_loss(up, yp, um, ym));
  hgt_status(hg_backward(loss));
  patches pp = conv ? conv_patches(xp, up->shape[2], up->shape[3]) : linear_patches(xp);
  patches pm = conv ? conv_patches(xm, um->shape[2], um->shape[3]) : linear_patches(xm);
  double *delta = test_calloc(w->numel, sizeof *delta);
  for (int k = 0; k < K; k++)
    for (int n = 0; n < N; n++)
      for (int p = 0; p < pp.p; p++)
        for (int d = 0; d < pp.d; d++)
          delta[k * pp.d + d] += yp->data[(n * K + k) * pp.p + p] * pp.x[((size_t)n * pp.p + p) * pp.d + d] -
                                 ym->data[(n * K + k) * pm.p + p] * pm.x[((size_t)n * pm.p + p) * pm.d + d];
  for (size_t i = 0; i < w->numel; i++) w->grad->data[i] = -w->grad->data[i];
  assert_true(relative_error(w->grad->data, delta, w->numel) < 1e-4);
  test_free(delta);
  test_free(pp.x);
  test_free(pm.x);
  hg_tensor *temps[] = {loss, yp, ym, up, um};
  for (int i = 0; i < 5; i++) hg_tensor_free(temps[i]);
  hg_tape_clear();
  hg_tensor_free(w);
  hg_tensor_free(xp);
  hg_tensor_free(xm);
}

static void test_chl_gradient_equals_delta(void **state) {
  (void)state;
  check_chl(false);
  check_chl(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gradient_equals_delta),
      cmocka_unit_test(test_sgd_step_applies_delta),
      cmocka_unit_test(test_chl_gradient_equals_delta),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
