/* A user's rule, the example of docs/writing-a-rule.md (the document shows
 * the parts between the snippet markers, checked by tests/check_doc_snippets.sh):
 * defined in one file with the public API (examples/user_rule/decay_hebb.c,
 * the out-of-tree example's rule), registered, checked against its formula
 * on Linear and Conv2d, and trained with hg_fit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "examples/user_rule/decay_hebb.h"
#include "tests/helpers.h"
#include "tests/rule_check.h"


/* Its formula with plain loops: Σ y_k x − λ w_k. */
static void decay_hebb_reference(const hgt_rule_in *in, double *delta) {
  int D = in->pt->d, P = in->pt->p;
  for (int k = 0; k < in->k; k++)
    for (int d = 0; d < D; d++) {
      double sum = 0;
      for (int n = 0; n < in->pt->n; n++)
        for (int p = 0; p < P; p++)
          sum += in->y[(n * in->k + k) * P + p] * in->pt->x[((size_t)n * P + p) * D + d];
      delta[k * D + d] = sum - in->opt[0] * in->w[k * D + d];
    }
}

/* snippet register */
static int register_rules(void **state) {
  (void)state;
  if (hg_rule_register(&decay_hebb_rule) == HG_OK) return 0; /* before any thread parses a spec */
  fprintf(stderr, "%s\n", hg_last_error());
  return -1;
}
/* end snippet register */

static void test_a_users_rule_equals_its_formula(void **state) {
  (void)state;
  hg_plasticity rule;
  hgt_status(hg_plasticity_parse("decay-hebb/wta/lambda=0.5", &rule));
  for (int conv = 0; conv < 2; conv++) assert_true(hgt_rule_error(rule, conv, decay_hebb_reference) < 1e-4);
}

/* Three classes of 12x12 images, each brighter in its own third of the columns. */
static hg_dataset *stripes(int n, uint64_t seed) {
  hg_dataset *ds = hg_dataset_new(n, 1, 12, 12, 3, "stripes");
  assert_non_null(ds);
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  for (int i = 0; i < n; i++) {
    ds->labels[i] = i % 3;
    for (int j = 0; j < 144; j++)
      ds->images->data[(size_t)i * 144 + j] = hg_rng_uniform(&rng) + (j % 12 / 4 == i % 3);
  }
  return ds;
}

static void test_a_users_rule_trains(void **state) {
  (void)state;
  hg_dataset *train = stripes(96, 1), *val = stripes(48, 2);
  hg_net *net = hg_net_small(1, 12, 3, 7);
  assert_non_null(net);
  hg_tensor *w0 = hgt_ok(hg_tensor_clone(net->layers[0]->weight));
  hg_fit_result res;
  /* snippet train */
  hg_plasticity rule;
  hg_status s = hg_plasticity_parse("decay-hebb/e-soft-wta:0.1/lambda=0.5", &rule);
  if (s == HG_OK) s = hg_net_set_modes(net, "H-G"); /* conv1 Hebbian, fc2 by SGD */
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.05f, 0.9f, 0, true), .hebb_lr = 1e-3f};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &rule, &to) : NULL;
  hg_fit_opts fo = hg_fit_defaults();
  fo.batch = 16;
  fo.log = NULL;
  fo.phase = HG_PHASE_HEBB; /* first conv1 by its rule, */
  if (t) s = hg_fit(t, train, NULL, &fo, NULL);
  fo.phase = HG_PHASE_BACKPROP; /* then fc2 by SGD on its output */
  fo.epochs = 3;
  if (t && s == HG_OK) s = hg_fit(t, train, val, &fo, &res);
  if (!t || s != HG_OK) fail_msg("%s", hg_last_error());
  /* end snippet train */
  double moved = 0;
  for (size_t i = 0; i < w0->numel; i++) moved += fabs(net->layers[0]->weight->data[i] - w0->data[i]);
  assert_true(moved > 0);
  assert_true(res.best_val > 0.6); /* three classes */
  hg_trainer_free(t);
  hg_net_free(net);
  hg_tensor_free(w0);
  hg_dataset_free(train);
  hg_dataset_free(val);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_a_users_rule_equals_its_formula),
      cmocka_unit_test(test_a_users_rule_trains),
  };
  int failed = cmocka_run_group_tests(tests, register_rules, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
