/* The op sweep: every op of the table (autograd/op_table.h), every case of
 * its spec, checked against the spec's naive reference and by finite
 * differences. It fails when an op of the table lacks a case, a reference or
 * a benchmark shape, when a forward disagrees with its reference, and when a
 * backward disagrees with the finite differences. The convolutions' cases
 * run twice: with the default algorithm and with the Winograd kernels forced
 * wherever they fit (tensor/winograd.c; the default picks them only for
 * many channels). */
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

/* One case of one op, the state of its two tests. */
typedef struct sweep_case {
  const hg_op *op;
  const hg_op_case *c;
  uint64_t seed;
} sweep_case;

/* The case's label after the op's name, e.g. "add: [3,1]+[1,4]". */
static const char *case_name(const sweep_case *s, const char *check, char *buf, size_t size) {
  snprintf(buf, size, "%s %s: %s", check, s->op->name, s->c->label);
  return buf;
}

static void test_every_op_has_a_complete_spec(void **state) {
  (void)state;
  assert_true(hg_op_count() > 0);
  for (int i = 0; i < hg_op_count(); i++) {
    const hg_op *op = hg_op_at(i);
    if (!op->forward || !op->backward || !op->reference)
      fail_msg("op '%s': its spec lacks a forward, a backward or a reference", op->name);
    if (op->n_cases < 1) fail_msg("op '%s' is in the table but its spec has no case", op->name);
    if (op->n_bench < 1) fail_msg("op '%s' is in the table but its spec has no benchmark shape", op->name);
    if (hg_op_find(op->name) != op) fail_msg("two ops of the table are named '%s'", op->name);
  }
}

/* The forward, without recording, against the reference: same shape, values
 * within 1e-4 relative (the reference sums in double). */
static void check_value(void **state) {
  const sweep_case *s = *state;
  if (!s->op->reference) fail_msg("the spec has no reference");
  hg_tensor *in[HG_OP_MAX_IN];
  hgt_status(hg_op_case_inputs(s->c, s->seed, in));
  bool mode = hg_set_grad_enabled(false);
  hg_tensor *y = hgt_ok(hg_op_case_run(s->op, s->c, in));
  hg_set_grad_enabled(mode);
  hg_tensor *want = hgt_ok(s->op->reference(s->op, in, s->c->args));
  char a[64], b[64];
  if (!hg_same_shape(y, want))
    fail_msg("output %s, reference %s", hg_shape_str(y, a, sizeof a), hg_shape_str(want, b, sizeof b));
  hgt_close(y->data, want->data, y->numel, 1e-4f, 1e-5f);
  hg_tensor_free(y);
  hg_tensor_free(want);
  hg_op_case_free(in);
}

/* The case's output, or y ⊙ y for a case flagged HG_CASE_SQUARED. */
static hg_tensor *run_case(hg_tensor *const *in, void *ctx) {
  const sweep_case *s = ctx;
  hg_tensor *y = hg_op_case_run(s->op, s->c, in);
  if (!y || !(s->c->flags & HG_CASE_SQUARED)) return y;
  hg_tensor *sq = hg_mul(y, y);
  hg_tensor_free(y);
  return sq;
}

/* The backward against central differences (hg_gradcheck, default tolerances). */
static void check_grad(void **state) {
  const sweep_case *s = *state;
  hg_tensor *in[HG_OP_MAX_IN];
  hgt_status(hg_op_case_inputs(s->c, s->seed, in));
  hg_gradcheck_result res;
  if (hg_gradcheck(run_case, (void *)s, s->c->n_in, in, NULL, &res) != HG_OK) fail_msg("%s", hg_last_error());
  bool any = false;
  for (int i = 0; i < s->c->n_in; i++) any |= in[i]->requires_grad;
  if (any && res.checked == 0) fail_msg("no element was checked");
  assert_int_equal(hg_tape_size(), 0);
  hg_op_case_free(in);
}

/* A checker that cannot fail is worthless: a wrong backward must be caught. */
static hg_status wrong_backward(hg_node *n) {
  bool acc;
  hg_tensor *g = hg_grad_acquire(n->in[0], &acc);
  for (size_t i = 0; i < g->numel; i++) g->data[i] = 2.0f * n->out->grad->data[i]; /* should be 3 */
  return HG_OK;
}
static const hg_op wrong_op = {.name = "triple_with_wrong_grad", .backward = wrong_backward};

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

static int winograd_on(void **state) {
  (void)state;
  hg_conv_set_algorithm(HG_CONV_WINOGRAD);
  return 0;
}

static int winograd_off(void **state) {
  (void)state;
  hg_conv_set_algorithm(HG_CONV_AUTO);
  return 0;
}

static bool is_conv(const hg_op *op) { return strncmp(op->name, "conv2d", 6) == 0; }

/* A seed per case: the op's name hashed (FNV-1a), plus the case's index. */
static uint64_t case_seed(const char *name, int index) {
  uint64_t h = 1469598103934665603u;
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211u;
  return h + (uint64_t)index;
}

int main(void) {
  int n_cases = 0, n_conv = 0;
  for (int i = 0; i < hg_op_count(); i++) {
    n_cases += hg_op_at(i)->n_cases;
    n_conv += is_conv(hg_op_at(i)) ? hg_op_at(i)->n_cases : 0;
  }
  int total = 2 + 2 * (n_cases + n_conv), k = 0;
  struct CMUnitTest *tests = calloc((size_t)total, sizeof *tests);
  sweep_case *cases = calloc((size_t)n_cases, sizeof *cases);
  char **names = calloc((size_t)total, sizeof *names);
  if (!tests || !cases || !names) return 1;
  tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_every_op_has_a_complete_spec);
  tests[k++] = (struct CMUnitTest)cmocka_unit_test(test_checker_catches_a_wrong_gradient);
  for (int i = 0, j = 0; i < hg_op_count(); i++)
    for (int c = 0; c < hg_op_at(i)->n_cases; c++, j++) {
      cases[j] = (sweep_case){hg_op_at(i), &hg_op_at(i)->cases[c], case_seed(hg_op_at(i)->name, c)};
      for (int check = 0; check < (is_conv(cases[j].op) ? 4 : 2); check++) {
        static const char *const label[] = {"value", "grad", "value winograd", "grad winograd"};
        names[k] = malloc(160);
        if (!names[k]) return 1;
        case_name(&cases[j], label[check], names[k], 160);
        bool wino = check >= 2;
        tests[k] = (struct CMUnitTest){names[k], check % 2 ? check_grad : check_value,
                                       wino ? winograd_on : NULL, wino ? winograd_off : NULL, &cases[j]};
        k++;
      }
    }
  printf("op sweep: %d ops, %d cases, each checked by value and by gradient\n", hg_op_count(), n_cases);
  int failed = _cmocka_run_group_tests("ops", tests, (size_t)k, NULL, NULL);
  for (int i = 0; i < k; i++) free(names[i]);
  free(names);
  free(cases);
  free(tests);
  hg_pool_trim();
  return failed;
}
