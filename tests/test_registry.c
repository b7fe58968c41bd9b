/* The registry: the built-ins arrive through the public registering calls,
 * a user's rule and competition join them and parse in specs, bad
 * definitions and bad specs are refused with messages that name what is
 * known, every spec the project's scripts and docs use still parses, and the
 * --help text lists everything registered. */
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

static void test_builtins_come_through_the_public_calls(void **state) {
  (void)state;
  const hg_rule_def *rules[] = {&hg_rule_hebb,     &hg_rule_instar, &hg_rule_oja, &hg_rule_hpca,
                                &hg_rule_softhebb, &hg_rule_krotov, &hg_rule_bcm};
  for (int i = 0; i < 7; i++) {
    assert_ptr_equal(hg_rule_at(i), rules[i]);
    assert_int_equal(hg_rule_register(rules[i]), HG_ERR_ARG); /* refused the second time */
    hgt_error_mentions(rules[i]->name, "already registered");
  }
  assert_ptr_equal(hg_rule_find("competitive"), &hg_rule_instar);
  assert_ptr_equal(hg_rule_find("sanger"), &hg_rule_hpca);
  assert_ptr_equal(hg_competition_find("e-soft-wta"), &hg_competition_esoft);
  assert_int_equal(hg_competition_register(&hg_competition_wta), HG_ERR_ARG);
  assert_null(hg_rule_at(hg_rule_count()));
  assert_null(hg_competition_at(-1));
}

static void test_unknown_names_list_the_registered_ones(void **state) {
  (void)state;
  hg_plasticity p;
  assert_int_equal(hg_plasticity_parse("nosuch/wta", &p), HG_ERR_ARG);
  hgt_error_mentions("'nosuch'", "hebb, instar (competitive), oja, hpca (sanger), softhebb, krotov, bcm");
  assert_int_equal(hg_plasticity_parse("instar/nosuch", &p), HG_ERR_ARG);
  hgt_error_mentions("'nosuch'", "none, wta, k-wta, soft-wta, e-soft-wta, p-soft-wta, som, teacher");
}

static hg_tensor *some_loss(const hg_rule_ctx *c, const hg_tensor *y) { return hg_hebbian_loss(c, y, 0); }

static void column_copy(const float *param, const float *s, float *r, int k, int label) {
  (void)param, (void)label;
  for (int j = 0; j < k; j++) r[j] = s[j] > 0 ? 1.0f : 0.0f;
}

static void test_bad_definitions_are_refused(void **state) {
  (void)state;
  const hg_rule_def bad_rules[] = {
      {.name = "r1", .options = {{"prune", 0, 0, 1, false, "clashes with a spec option"}}, .loss = some_loss},
      {.name = "r2", .options = {{"a", 2, 0, 1, false, "default out of range"}}, .loss = some_loss},
      {.name = "r3", .options = {{"a", 0.5f, 0, 1, true, "not whole"}}, .loss = some_loss},
      {.name = "r4"}, /* no loss */
      {.name = "r/5", .loss = some_loss},
      {.name = "r6", .aggregations = HG_AGG_BIT(HG_AGG_SUM), .aggregation = HG_AGG_MEAN, .loss = some_loss},
      {.name = "r7", .aliases = {"oja"}, .loss = some_loss},
  };
  for (size_t i = 0; i < sizeof bad_rules / sizeof bad_rules[0]; i++) {
    assert_int_equal(hg_rule_register(&bad_rules[i]), HG_ERR_ARG);
    assert_null(hg_rule_find(bad_rules[i].name));
  }
  const hg_competition_def bad_comps[] = {
      {.name = "c1"}, {.name = "2c", .column = column_copy}, {.name = "relu", .column = column_copy}};
  for (int i = 0; i < 3; i++) assert_int_equal(hg_competition_register(&bad_comps[i]), HG_ERR_ARG);
}

static const hg_rule_def user_rule = {.name = "user-hebb",
                                      .doc = "a user's rule",
                                      .options = {{"gain", 1, 0, 10, false, "unused"}},
                                      .loss = some_loss};
static const hg_competition_def user_comp = {.name = "k-positive",
                                             .doc = "r = 1 where s > 0",
                                             .params = {{"k", 1, 1, 9, true, "unused"}},
                                             .column = column_copy};

static void test_a_users_rule_and_competition_join(void **state) {
  (void)state;
  hgt_status(hg_rule_register(&user_rule));
  hgt_status(hg_competition_register(&user_comp));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("user-hebb/3-positive/sum/gain=2.5", &p));
  assert_ptr_equal(p.rule, &user_rule);
  assert_ptr_equal(p.comp.def, &user_comp);
  assert_true(p.comp.param[0] == 3 && p.opt[0] == 2.5f && p.agg == HG_AGG_SUM);
  char help[8192];
  int need = hg_plasticity_help(help, sizeof help);
  assert_int_equal(need, (int)strlen(help));
  for (int i = 0; i < hg_rule_count(); i++) assert_non_null(strstr(help, hg_rule_at(i)->doc));
  for (int i = 0; i < hg_competition_count(); i++) assert_non_null(strstr(help, hg_competition_at(i)->doc));
  assert_non_null(strstr(help, "gain=1: unused"));
  char small[16];
  assert_int_equal(hg_plasticity_help(small, sizeof small), need); /* snprintf's contract */
  assert_int_equal(strlen(small), sizeof small - 1);
}

/* The specs used in scripts/, docs/, tests/ and README.md. */
static void test_the_projects_specs_still_parse(void **state) {
  (void)state;
  const char *specs[] = {
      "instar/e-soft-wta:0.02/mean", "hpca/none/relu/avg", "instar/wta/mean/cosine", "instar/p-soft-wta:0.05/mean",
      "instar/5-wta/mean", "oja/none", "instar/wta/mean", "instar/none/unitnorm", "instar/e-soft-wta:0.5/mean",
      "instar/e-soft-wta:0.02/mean/cosine", "instar/5-wta/sum/unitnorm/prune=0.5",
      "instar/1-wta/sum/unitnorm/prune=0.99", "instar/1-wta/sum/unitnorm/prune=0.5", "instar",
      "softhebb", "krotov", "bcm"};
  for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
    hg_plasticity p, back;
    char name[256];
    hgt_status(hg_plasticity_parse(specs[i], &p));
    hgt_status(hg_plasticity_parse(hg_plasticity_name(&p, name, sizeof name), &back));
    assert_ptr_equal(p.rule, back.rule);
    assert_ptr_equal(p.comp.def, back.comp.def);
  }
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("instar/5-wta/sum/unitnorm/prune=0.5", &p));
  assert_true(p.comp.def == &hg_competition_kwta && p.comp.param[0] == 5 && p.agg == HG_AGG_SUM);
  assert_true(p.unit_norm && p.prune == 0.5f && !p.cosine && !p.relu_y);
  hgt_status(hg_plasticity_parse("hpca/none/relu/avg", &p));
  assert_true(p.relu_y && p.agg == HG_AGG_AVG && p.comp.def == &hg_competition_none);
  hgt_status(hg_plasticity_parse("krotov/p=3/k=3/delta=0.2", &p));
  assert_true(p.opt[0] == 3 && p.opt[1] == 3 && p.opt[2] == 0.2f && p.agg == HG_AGG_SUM);
}

static void test_bad_specs_say_why(void **state) {
  (void)state;
  const struct {
    const char *spec, *a, *b;
  } bad[] = {{"instar/t=1", "'t=1'", "prune=F"},
             {"instar/0-wta", "'0-wta'", "[1,"},
             {"instar/e-soft-wta:0", "e-soft-wta", "T = '0'"},
             {"instar/som:2:1:3", "som", "2 parameters"},
             {"oja/mean/cosine/sum/x", "'x'", "unitnorm"},
             {"softhebb/wta", "softhebb", "no competition"},
             {"softhebb/mean", "softhebb", "mean"},
             {"krotov/k=1", "k = '1'", "[2,"},
             {"krotov/k=2.5", "k = '2.5'", "whole"},
             {"bcm/relu/rate=2", "rate = '2'", "[0, 1]"},
             {"instar////", "empty part", NULL},
             {"/instar", "empty part", NULL},
             {"", "empty", NULL}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hg_plasticity p;
    if (hg_plasticity_parse(bad[i].spec, &p) != HG_ERR_ARG) fail_msg("'%s' was accepted", bad[i].spec);
    hgt_error_mentions(bad[i].a, bad[i].b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builtins_come_through_the_public_calls),
      cmocka_unit_test(test_unknown_names_list_the_registered_ones),
      cmocka_unit_test(test_bad_definitions_are_refused),
      cmocka_unit_test(test_a_users_rule_and_competition_join),
      cmocka_unit_test(test_the_projects_specs_still_parse),
      cmocka_unit_test(test_bad_specs_say_why),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
