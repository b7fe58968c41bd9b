/* Every registered competition, with its default and with changed
 * parameters, on [N,K] and [N,K,H,W] similarities: hg_compete equals the
 * competition's formula written here per column in doubles. A registered
 * competition without a reference fails the test. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

enum { N = 4, K = 6, H = 2, W = 3 };

typedef void (*column_ref)(const float *param, const double *s, double *r, int label);

static int first_max(const double *s) {
  int best = 0;
  for (int k = 1; k < K; k++) best = s[k] > s[best] ? k : best;
  return best;
}

static void ref_none(const float *param, const double *s, double *r, int label) {
  (void)param, (void)label;
  for (int k = 0; k < K; k++) r[k] = s[k];
}

/* 1 for the `count` largest, ties broken by the lower index */
static void top(int count, const double *s, double *r) {
  for (int k = 0; k < K; k++) {
    int rank = 0;
    for (int j = 0; j < K; j++) rank += s[j] > s[k] || (s[j] == s[k] && j < k);
    r[k] = rank < count;
  }
}

static void ref_wta(const float *param, const double *s, double *r, int label) {
  (void)param, (void)label;
  top(1, s, r);
}

static void ref_kwta(const float *param, const double *s, double *r, int label) {
  (void)label;
  top((int)param[0], s, r);
}

/* s_k^p / Σ s_j^p over the positive s */
static void powers(double p, const double *s, double *r) {
  double total = 0;
  for (int k = 0; k < K; k++) total += s[k] > 0 ? pow(s[k], p) : 0;
  for (int k = 0; k < K; k++) r[k] = s[k] > 0 && total > 0 ? pow(s[k], p) / total : 0;
}

static void ref_soft(const float *param, const double *s, double *r, int label) {
  (void)param, (void)label;
  powers(1, s, r);
}

static void ref_psoft(const float *param, const double *s, double *r, int label) {
  (void)label;
  powers(1.0 / param[0], s, r);
}

static void ref_esoft(const float *param, const double *s, double *r, int label) {
  (void)label;
  double e[K], total = 0;
  for (int k = 0; k < K; k++) total += e[k] = exp(s[k] / param[0]);
  for (int k = 0; k < K; k++) r[k] = e[k] / total;
}

static void ref_som(const float *param, const double *s, double *r, int label) {
  (void)label;
  int w = (int)param[0], win = first_max(s);
  for (int k = 0; k < K; k++) {
    double dx = k % w - win % w, dy = k / w - win / w;
    r[k] = exp(-(dx * dx + dy * dy) / (2 * param[1] * param[1]));
  }
}

static void ref_teacher(const float *param, const double *s, double *r, int label) {
  (void)s;
  int per = (int)param[0], common = (int)param[1];
  for (int k = 0; k < K; k++) r[k] = per ? k / per == label || k >= K - common : k == label;
}

static column_ref reference_of(const char *name) {
  static const struct {
    const char *name;
    column_ref ref;
  } refs[] = {{"none", ref_none},     {"wta", ref_wta},          {"k-wta", ref_kwta},
              {"soft-wta", ref_soft}, {"p-soft-wta", ref_psoft}, {"e-soft-wta", ref_esoft},
              {"som", ref_som},       {"teacher", ref_teacher}};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (!strcmp(name, refs[i].name)) return refs[i].ref;
  return NULL;
}

/* Compare hg_compete with ref on s of ndim 2 or 4, column by column. */
static void check(const hg_competition *c, column_ref ref, int ndim) {
  const int labels[N] = {2, 0, 1, 2};
  hg_tensor *s =
      ndim == 2 ? hgt_rand(HG_SHAPE(N, K), -0.5f, 1, 41) : hgt_rand(HG_SHAPE(N, K, H, W), -0.5f, 1, 41);
  hg_tensor *r = hgt_ok(hg_compete(c, s, labels));
  int p = ndim == 2 ? 1 : H * W;
  for (int n = 0; n < N; n++)
    for (int q = 0; q < p; q++) {
      double col[K], want[K];
      for (int k = 0; k < K; k++) col[k] = s->data[(n * K + k) * p + q];
      ref(c->param, col, want, labels[n]);
      for (int k = 0; k < K; k++)
        if (!(fabs(r->data[(n * K + k) * p + q] - want[k]) <= 1e-5 + 1e-5 * fabs(want[k])))
          fail_msg("%s, sample %d position %d neuron %d: %g, expected %g", c->def->name, n, q, k,
                   r->data[(n * K + k) * p + q], want[k]);
    }
  hg_tensor_free(r);
  hg_tensor_free(s);
}

static void test_every_registered_competition(void **state) {
  (void)state;
  assert_true(hg_competition_count() >= 8);
  for (int i = 0; i < hg_competition_count(); i++) {
    const hg_competition_def *def = hg_competition_at(i);
    column_ref ref = reference_of(def->name);
    if (!ref) fail_msg("competition '%s' is registered but has no reference here", def->name);
    hg_competition c;
    hgt_status(hg_competition_parse(def->name, &c));
    for (int change = 0; change < 2; change++) {
      for (int j = 0; change && j < HG_MAX_OPTIONS && def->params[j].name;
           j++) /* within range, fitting K = 6 */
        c.param[j] = def->params[j].integer ? def->params[j].value + 1 : def->params[j].value * 2 + 0.25f;
      check(&c, ref, 2);
      check(&c, ref, 4);
    }
  }
}

/* Parameters are checked against K and the labels when the competition runs. */
static void test_parameters_that_do_not_fit(void **state) {
  (void)state;
  hg_tensor *s = hgt_rand(HG_SHAPE(N, K), -1, 1, 3);
  const char *bad[] = {"7-wta", "som:4:1", "teacher"}; /* 7 > K, 4 does not divide 6, no labels */
  for (int i = 0; i < 3; i++) {
    hg_competition c;
    hgt_status(hg_competition_parse(bad[i], &c));
    assert_null(hg_compete(&c, s, NULL));
    hgt_error_mentions(c.def->name, NULL);
  }
  hg_tensor_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_registered_competition),
      cmocka_unit_test(test_parameters_that_do_not_fit),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
