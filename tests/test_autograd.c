/* Tape behaviour: detach, no-grad mode, accumulation, shared inputs, tensors
 * freed while the tape still refers to them (and by the backward as it goes
 * down), one backward per recorded forward, work skipped for inputs that
 * need no gradient. */
#include <math.h>
#include <string.h>

#include "tests/helpers.h"

static hg_tensor *param(int ndim, const int *shape, uint64_t seed) {
  hg_tensor *t = hgt_rand(ndim, shape, -1, 1, seed);
  hg_requires_grad(t, true);
  return t;
}

/* L = Σ x ⊙ x, so dL/dx = 2x. */
static hg_tensor *sum_sq(hg_tensor *x) {
  hg_tensor *sq = hgt_ok(hg_mul(x, x));
  hg_tensor *l = hgt_ok(hg_sum(sq, 0, NULL, false));
  hg_tensor_free(sq);
  return l;
}

/* Clear the tape, then free the test's tensors. */
static void clear_and_free(hg_tensor **t, int n) {
  hg_tape_clear();
  for (int i = 0; i < n; i++) hg_tensor_free(t[i]);
}

static void test_input_used_twice(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(5), 1);
  hg_tensor *l = sum_sq(x);
  hgt_status(hg_backward(l));
  for (int i = 0; i < 5; i++) assert_float_equal(x->grad->data[i], 2 * x->data[i], 1e-6);
  hg_tensor_free(l);
  hg_tape_clear();
  hg_tensor_free(x);
}

static void test_gradients_accumulate_until_zeroed(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(3), 2);
  for (int step = 0; step < 2; step++) {
    hg_tensor *l = sum_sq(x);
    hgt_status(hg_backward(l));
    hg_tensor_free(l);
    hg_tape_clear();
  }
  for (int i = 0; i < 3; i++) assert_float_equal(x->grad->data[i], 4 * x->data[i], 1e-6);
  hg_zero_grad(x);
  for (int i = 0; i < 3; i++) assert_true(x->grad->data[i] == 0.0f);
  hg_tensor *l = sum_sq(x);
  hgt_status(hg_backward(l));
  for (int i = 0; i < 3; i++) assert_float_equal(x->grad->data[i], 2 * x->data[i], 1e-6);
  hg_tensor_free(l);
  hg_tape_clear();
  hg_tensor_free(x);
}

static void test_detach_stops_the_gradient(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(4), 3);
  hg_tensor *d = hgt_ok(hg_detach(x));
  assert_false(d->requires_grad);
  assert_ptr_equal(d->data, x->data);
  hg_tensor *y = hgt_ok(hg_mul(x, d)); /* dy/dx = d only: the detached branch is constant */
  hg_tensor *l = hgt_ok(hg_sum(y, 0, NULL, false));
  hgt_status(hg_backward(l));
  for (int i = 0; i < 4; i++) assert_float_equal(x->grad->data[i], x->data[i], 1e-6);
  assert_null(d->grad);
  hg_tensor_free(l);
  hg_tensor_free(y);
  hg_tensor_free(d);
  hg_tape_clear();
  hg_tensor_free(x);
}

static void test_no_grad_mode_records_nothing(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(4), 4);
  bool was = hg_set_grad_enabled(false);
  assert_true(was);
  hg_tensor *l = sum_sq(x);
  assert_int_equal(hg_tape_size(), 0);
  assert_false(l->requires_grad);
  assert_int_equal(hg_backward(l), HG_ERR_STATE);
  hg_set_grad_enabled(true);
  hg_tensor_free(l);
  hg_tensor_free(x);
}

static void test_inputs_without_grad_get_none(void **state) {
  (void)state;
  hg_tensor *a = param(HG_SHAPE(2, 3), 5);
  hg_tensor *b = hgt_rand(HG_SHAPE(2, 3), -1, 1, 6);
  hg_tensor *y = hgt_ok(hg_mul(a, b));
  hg_tensor *l = hgt_ok(hg_sum(y, 0, NULL, false));
  hgt_status(hg_backward(l));
  assert_non_null(a->grad);
  assert_null(b->grad);
  hg_tensor_free(l);
  hg_tensor_free(y);
  hg_tape_clear();
  hg_tensor_free(a);
  hg_tensor_free(b);
}

static void test_free_while_tape_refers(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(6), 7);
  hg_tensor *e = hgt_ok(hg_exp(x));
  hg_tensor *l = hgt_ok(hg_sum(e, 0, NULL, false));
  float expected[6];
  for (int i = 0; i < 6; i++) expected[i] = e->data[i];
  hg_tensor_free(e); /* the tape still holds e for the backward of exp */
  hgt_status(hg_backward(l));
  hgt_close(x->grad->data, expected, 6, 1e-6f, 0);
  hg_tensor_free(l);
  hg_tensor_free(x); /* the leaf too: the tape keeps it until cleared */
  hg_tape_clear();
}

static void test_tape_clear_releases_intermediates(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(128), 8);
  hg_tensor *l = sum_sq(x);
  hgt_status(hg_backward(l));
  hg_tensor_free(l);
  hg_tape_clear();
  assert_int_equal(hg_tape_size(), 0);
  /* Steady state: a second identical step needs no new buffers. */
  hg_pool_stats before = hg_pool_get_stats();
  l = sum_sq(x);
  hgt_status(hg_backward(l));
  hg_tensor_free(l);
  hg_tape_clear();
#ifndef HG_NO_POOL
  assert_int_equal(hg_pool_get_stats().system_allocs, before.system_allocs);
#else
  (void)before;
#endif
  hg_tensor_free(x);
}

static void test_backward_rejects_non_scalar(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(3), 9);
  hg_tensor *y = hgt_ok(hg_exp(x));
  assert_int_equal(hg_backward(y), HG_ERR_SHAPE);
  assert_non_null(strstr(hg_last_error(), "not a scalar"));
  hg_tensor *g = hgt_ok(hg_tensor_ones(HG_SHAPE(3)));
  hgt_status(hg_backward_from(y, g));
  hgt_close(x->grad->data, y->data, 3, 1e-6f, 0);
  hg_tensor_free(g);
  hg_tensor_free(y);
  hg_tape_clear();
  hg_tensor_free(x);
}

static void test_branch_not_reaching_loss_is_skipped(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(3), 10);
  hg_tensor *unused = hgt_ok(hg_log(x)); /* recorded, but the loss does not use it */
  hg_tensor *l = sum_sq(x);
  hgt_status(hg_backward(l));
  for (int i = 0; i < 3; i++) assert_float_equal(x->grad->data[i], 2 * x->data[i], 1e-6);
  hg_tensor_free(unused);
  hg_tensor_free(l);
  hg_tape_clear();
  hg_tensor_free(x);
}

/* The backward lets go of what it has run: intermediates the caller freed
 * go back to the pool before hg_tape_clear. */
static void test_backward_frees_intermediates_as_it_goes(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(512, 512), 11); /* 1 MiB buffers */
  hg_tensor *e = hgt_ok(hg_exp(x));
  hg_tensor *s = hgt_ok(hg_scale(e, 2.0f));
  hg_tensor *l = hgt_ok(hg_sum(s, 0, NULL, false));
  float want = 2.0f * e->data[7];
  hg_tensor_free(e);
  hg_tensor_free(s);
  size_t cached = hg_pool_get_stats().cached_bytes;
  hgt_status(hg_backward(l));
  assert_float_equal(x->grad->data[7], want, 1e-5);
#ifndef HG_NO_POOL
  assert_true(hg_pool_get_stats().cached_bytes >= cached + 2 * x->numel * sizeof(float));
#else
  (void)cached;
#endif
  hg_tensor_free(l);
  hg_tape_clear();
  hg_tensor_free(x);
}

/* A recorded forward is run backward once; a new one on the same tape can be. */
static void test_second_backward_through_the_same_ops_fails(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(4), 12);
  hg_tensor *e = hgt_ok(hg_exp(x));
  hg_tensor *l = hgt_ok(hg_sum(e, 0, NULL, false));
  hgt_status(hg_backward(l));
  hg_tensor *l2 = sum_sq(x);
  hg_zero_grad(x);
  hgt_status(hg_backward(l2));
  for (int i = 0; i < 4; i++) assert_float_equal(x->grad->data[i], 2 * x->data[i], 1e-6);
  assert_int_equal(hg_backward(l), HG_ERR_STATE);
  hg_tensor *l3 = hgt_ok(hg_sum(e, 0, NULL, false));
  assert_int_equal(hg_backward(l3), HG_ERR_STATE);
  assert_non_null(strstr(hg_last_error(), "run backward once"));
  clear_and_free((hg_tensor *[]){l3, l2, l, e, x}, 5);
}

/* Losses of separate recorded forwards on one tape, run backward in turn
 * (a local loss per layer, PyTorch style): the first backward leaves the
 * ops it does not reach for the second. */
static void test_separate_losses_backward_in_turn(void **state) {
  (void)state;
  hg_tensor *a = param(HG_SHAPE(4), 14), *b = param(HG_SHAPE(4), 15);
  hg_tensor *la = sum_sq(a);
  hg_tensor *e = hgt_ok(hg_exp(b));
  hg_tensor *lb = hgt_ok(hg_sum(e, 0, NULL, false));
  hgt_status(hg_backward(la));
  assert_null(b->grad);
  hgt_status(hg_backward(lb));
  for (int i = 0; i < 4; i++) {
    assert_float_equal(a->grad->data[i], 2 * a->data[i], 1e-6);
    assert_float_equal(b->grad->data[i], expf(b->data[i]), 1e-5);
  }
  clear_and_free((hg_tensor *[]){lb, e, la, b, a}, 5);
}

/* An element-wise backward that takes over its output's gradient buffer as
 * x's, then another gradient added into it: dL/dx = eˣ + 2x. */
static void test_gradient_taken_over_then_accumulated(void **state) {
  (void)state;
  hg_tensor *x = param(HG_SHAPE(6), 13);
  hg_tensor *sq = sum_sq(x);       /* recorded first: its backward runs last */
  hg_tensor *e = hgt_ok(hg_exp(x)); /* its backward runs first, x has no gradient yet */
  hg_tensor *se = hgt_ok(hg_sum(e, 0, NULL, false));
  hg_tensor *l = hgt_ok(hg_add(sq, se));
  hgt_status(hg_backward(l));
  for (int i = 0; i < 6; i++)
    assert_float_equal(x->grad->data[i], expf(x->data[i]) + 2 * x->data[i], 1e-5);
  clear_and_free((hg_tensor *[]){l, se, e, sq, x}, 5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_input_used_twice),
      cmocka_unit_test(test_gradients_accumulate_until_zeroed),
      cmocka_unit_test(test_detach_stops_the_gradient),
      cmocka_unit_test(test_no_grad_mode_records_nothing),
      cmocka_unit_test(test_inputs_without_grad_get_none),
      cmocka_unit_test(test_free_while_tape_refers),
      cmocka_unit_test(test_tape_clear_releases_intermediates),
      cmocka_unit_test(test_backward_rejects_non_scalar),
      cmocka_unit_test(test_branch_not_reaching_loss_is_skipped),
      cmocka_unit_test(test_backward_frees_intermediates_as_it_goes),
      cmocka_unit_test(test_second_backward_through_the_same_ops_fails),
      cmocka_unit_test(test_separate_losses_backward_in_turn),
      cmocka_unit_test(test_gradient_taken_over_then_accumulated),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
