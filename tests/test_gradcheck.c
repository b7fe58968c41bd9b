/* Finite-difference gradient check of every op in the table, and the check
 * that no op of the table lacks a case. */
#include <stdio.h>
#include <string.h>

#include "tests/gradcases.h"

typedef struct case_list {
  const hgt_gradcase *cases;
  int count;
} case_list;

static case_list families[3];

static void collect(void) {
  families[0] = (case_list){hgt_gradcases_elementwise, hgt_gradcases_elementwise_count};
  families[1] = (case_list){hgt_gradcases_conv, hgt_gradcases_conv_count};
  families[2] = (case_list){hgt_gradcases_nn, hgt_gradcases_nn_count};
}

void hgt_gradcheck(const char *label, hg_gradcheck_fn f, void *ctx, int n_in,
                   hg_tensor *const *inputs, const hg_gradcheck_opts *opts) {
  hg_gradcheck_result res;
  hg_status s = hg_gradcheck(f, ctx, n_in, inputs, opts, &res);
  if (s != HG_OK) fail_msg("%s: %s", label, hg_last_error());
  if (res.checked == 0) {
    bool any = false;
    for (int i = 0; i < n_in; i++) any |= inputs[i]->requires_grad;
    if (any) fail_msg("%s: no element was checked", label);
  }
  hg_tape_clear();
}

static void test_every_op_has_a_case(void **state) {
  (void)state;
  for (int i = 0; i < hg_op_table_size; i++) {
    const char *name = hg_op_table[i]->name;
    bool found = false;
    for (int f = 0; f < 3 && !found; f++)
      for (int c = 0; c < families[f].count && !found; c++) found = !strcmp(families[f].cases[c].op, name);
    if (!found) fail_msg("op '%s' is in the table but has no gradient-check case", name);
  }
}

static void test_every_case_names_a_registered_op(void **state) {
  (void)state;
  for (int f = 0; f < 3; f++)
    for (int c = 0; c < families[f].count; c++)
      if (!hg_op_find(families[f].cases[c].op))
        fail_msg("case '%s' names op '%s', which is not in the table", families[f].cases[c].label,
                 families[f].cases[c].op);
}

static void run_case(void **state) {
  const hgt_gradcase *c = *state;
  c->run();
  assert_int_equal(hg_tape_size(), 0);
}

/* A checker that cannot fail is worthless: a wrong backward must be caught. */
static hg_status wrong_backward(hg_node *n) {
  bool acc;
  hg_tensor *g = hg_grad_acquire(n->in[0], &acc);
  for (size_t i = 0; i < g->numel; i++) g->data[i] = 2.0f * n->out->grad->data[i]; /* should be 3 */
  return HG_OK;
}
static const hg_op wrong_op = {"triple_with_wrong_grad", wrong_backward};

static hg_tensor *triple(hg_tensor *const *in, void *ctx) {
  (void)ctx;
  hg_tensor *y = hg_tensor_empty(in[0]->ndim, in[0]->shape);
  for (size_t i = 0; i < y->numel; i++) y->data[i] = 3.0f * in[0]->data[i];
  hg_node *n;
  hg_record(&wrong_op, y, 1, in, &n);
  return y;
}

static void test_checker_catches_a_wrong_gradient(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(4), -1, 1, 3);
  hg_requires_grad(x, true);
  hg_gradcheck_result res;
  assert_int_equal(hg_gradcheck(triple, NULL, 1, &x, NULL, &res), HG_ERR_NUMERIC);
  assert_non_null(strstr(hg_last_error(), "input 0"));
  assert_int_equal(res.worst_input, 0);
  hg_tape_clear();
  hg_tensor_free(x);
}

int main(void) {
  collect();
  int total = 3;
  for (int f = 0; f < 3; f++) total += families[f].count;
  struct CMUnitTest *tests = calloc((size_t)total, sizeof *tests);
  char **names = calloc((size_t)total, sizeof *names);
  int k = 0;
  tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_every_op_has_a_case);
  tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_every_case_names_a_registered_op);
  tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_checker_catches_a_wrong_gradient);
  for (int f = 0; f < 3; f++)
    for (int c = 0; c < families[f].count; c++) {
      const hgt_gradcase *gc = &families[f].cases[c];
      size_t len = strlen(gc->op) + strlen(gc->label) + 8;
      names[k] = malloc(len);
      snprintf(names[k], len, "%s: %s", gc->op, gc->label);
      tests[k] = (struct CMUnitTest){names[k], run_case, NULL, NULL, (void *)gc};
      k++;
    }
  int failed = _cmocka_run_group_tests("gradcheck", tests, (size_t)k, NULL, NULL);
  for (int i = 0; i < k; i++) free(names[i]);
  free(names);
  free(tests);
  hg_pool_trim();
  return failed;
}
