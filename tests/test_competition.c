/* The outputs of every competition on one small similarity, worked out by
 * hand from the formulas in hebb/competition.h: per sample ([N,K]) and per
 * position ([N,K,H,W]), ties to the lower index, and the bad settings. */
#include <math.h>

#include "tests/helpers.h"

enum { N = 2, K = 4 };
/* Row 0 has its winner at 1; row 1 at 3, with a tie (0.5) at 0 and 2. */
static const float S[N * K] = {1, 3, 2, -1, 0.5f, -2, 0.5f, 4};
static const int LABELS[N] = {2, 0};

static hg_tensor *similarity(void) {
  hg_tensor *s = hgt_ok(hg_tensor_empty(HG_SHAPE(N, K)));
  for (int i = 0; i < N * K; i++) s->data[i] = S[i];
  return s;
}

static void expect(const char *spec, const float want[N * K]) {
  hg_competition c;
  hgt_status(hg_competition_parse(spec, &c));
  hg_tensor *s = similarity();
  hg_tensor *r = hgt_ok(hg_compete(&c, s, LABELS));
  assert_false(r->requires_grad);
  print_message("%s\n", spec);
  hgt_close(r->data, want, N * K, 1e-6f, 1e-7f);
  hg_tensor_free(r);
  hg_tensor_free(s);
}

static void test_hard_competitions(void **state) {
  (void)state;
  expect("none", S);
  expect("wta", (const float[]){0, 1, 0, 0, 0, 0, 0, 1});
  expect("2-wta", (const float[]){0, 1, 1, 0, 1, 0, 0, 1}); /* the tie goes to neuron 0 */
  expect("4-wta", (const float[]){1, 1, 1, 1, 1, 1, 1, 1});
  expect("teacher", (const float[]){0, 0, 1, 0, 1, 0, 0, 0});
  expect("teacher:1:1", (const float[]){0, 0, 1, 1, 1, 0, 0, 1}); /* neuron 3 always on */
}

static void test_soft_competitions(void **state) {
  (void)state;
  expect("soft-wta", (const float[]){1 / 6.0f, 3 / 6.0f, 2 / 6.0f, 0, 0.1f, 0, 0.1f, 0.8f});
  /* p-soft-wta:k uses p = 1/k = 2 */
  expect("p-soft-wta:0.5", (const float[]){1 / 14.0f, 9 / 14.0f, 4 / 14.0f, 0, 0.25f / 16.5f, 0,
                                           0.25f / 16.5f, 16 / 16.5f});
  float e[N * K];
  for (int n = 0; n < N; n++) { /* softmax(s / 0.5) */
    double z = 0;
    for (int k = 0; k < K; k++) z += exp(S[n * K + k] / 0.5);
    for (int k = 0; k < K; k++) e[n * K + k] = (float)(exp(S[n * K + k] / 0.5) / z);
  }
  expect("e-soft-wta:0.5", e);
  /* 2x2 map, neuron k at (k mod 2, k div 2), σ = 1: exp(−d²/2) from the winner */
  float h = expf(-0.5f), o = expf(-1.0f);
  expect("som:2:1", (const float[]){h, 1, o, h, o, h, h, 1});
}

/* [1,K,1,2]: the two rows of S as two positions of one sample. */
static void test_competition_per_position(void **state) {
  (void)state;
  hg_tensor *s = hgt_ok(hg_tensor_empty(HG_SHAPE(1, K, 1, 2)));
  for (int k = 0; k < K; k++)
    for (int p = 0; p < 2; p++) s->data[k * 2 + p] = S[p * K + k];
  hg_competition c;
  hgt_status(hg_competition_parse("wta", &c));
  hg_tensor *r = hgt_ok(hg_compete(&c, s, (const int[]){0}));
  const float want[K * 2] = {0, 0, 1, 0, 0, 0, 0, 1}; /* [k][p] */
  hgt_close(r->data, want, K * 2, 0, 0);
  hg_tensor_free(r);
  hg_tensor_free(s);
}

static void expect_refused(const char *spec, const int *labels, const char *mention) {
  hg_competition c;
  hgt_status(hg_competition_parse(spec, &c));
  hg_tensor *s = similarity();
  assert_null(hg_compete(&c, s, labels));
  hgt_error_mentions("compete", mention);
  hg_tensor_free(s);
}

static void test_bad_settings(void **state) {
  (void)state;
  expect_refused("5-wta", LABELS, "k = 5");
  expect_refused("som:3:1", LABELS, "width 3");
  expect_refused("teacher", NULL, "labels");
  expect_refused("teacher:1:5", LABELS, "5 common");
  hg_competition c;
  assert_int_equal(hg_competition_parse("e-soft-wta:-1", &c), HG_ERR_ARG);
  hgt_error_mentions("e-soft-wta:-1", NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hard_competitions),
      cmocka_unit_test(test_soft_competitions),
      cmocka_unit_test(test_competition_per_position),
      cmocka_unit_test(test_bad_settings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
