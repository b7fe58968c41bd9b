/* Every registered rule — whatever registered it — with every registered
 * competition it takes (default and changed parameters), every aggregation it
 * accepts, its default and changed options, on Linear and on Conv2d with
 * stride 2 and padding 1: −∂L/∂W equals ΔW/η from the rule's formula written
 * with plain loops in tests/rule_references.c. A registered rule without a
 * reference fails the test. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"
#include "tests/rule_check.h"

enum {
  N = 3,
  C = 2,
  H = 5,
  W = 5,
  K = 6,
  KS = 3,
  STRIDE = 2,
  PAD = 1,
  D_LIN = 7,
  SPEC = 256
}; /* as rule_check.c */

/* An option's value moved inside its range: up by half (or one), else down. */
static float changed(const hg_option_def *o) {
  float up = o->integer ? o->value + 1 : o->value * 1.5f + (o->value == 0 ? 0.5f : 0);
  return up <= o->max ? up : o->integer ? o->value - 1 : (o->value + o->min) / 2;
}

static void assert_same_plasticity(const hg_plasticity *a, const hg_plasticity *b) {
  assert_ptr_equal(a->rule, b->rule);
  assert_ptr_equal(a->comp.def, b->comp.def);
  for (int i = 0; i < HG_MAX_OPTIONS; i++) {
    assert_true(a->opt[i] == b->opt[i]);
    assert_true(a->comp.param[i] == b->comp.param[i]);
  }
  assert_true(a->agg == b->agg && a->cosine == b->cosine && a->relu_y == b->relu_y);
  assert_true(a->unit_norm == b->unit_norm && a->prune == b->prune);
}

/* "NAME[:P1:P2...]" of a competition with its default (or changed) parameters. */
static void competition_text(const hg_competition_def *c, bool change, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s", c->name);
  for (int i = 0; i < HG_MAX_OPTIONS && c->params[i].name; i++)
    n += snprintf(buf + n, size - (size_t)n, ":%g", change ? changed(&c->params[i]) : c->params[i].value);
}

/* Check rule r with one coefficient source (a competition text, "" for none)
 * over its aggregations and option sets, Linear and Conv2d. */
static void check_source(const hg_rule_def *r, const char *source, hgt_rule_reference ref) {
  static const char *const agg_names[] = {"sum", "mean", "avg"};
  unsigned aggs = r->aggregations ? r->aggregations : HG_AGG_BIT(HG_AGG_SUM);
  for (int a = HG_AGG_SUM; a <= HG_AGG_AVG; a++)
    for (int change = 0; change < 2 && (aggs & HG_AGG_BIT(a)); change++) {
      char spec[SPEC], back[SPEC];
      int n = snprintf(spec, sizeof spec, "%s%s%s/%s", r->name, *source ? "/" : "", source, agg_names[a]);
      for (int i = 0; i < HG_MAX_OPTIONS && r->options[i].name; i++)
        n += snprintf(spec + n, sizeof spec - (size_t)n, "/%s=%g", r->options[i].name,
                      change ? changed(&r->options[i]) : r->options[i].value);
      hg_plasticity p, again;
      hgt_status(hg_plasticity_parse(spec, &p));
      hgt_status(hg_plasticity_parse(hg_plasticity_name(&p, back, sizeof back), &again));
      assert_same_plasticity(&p, &again); /* the name reads back as the same value */
      for (int conv = 0; conv < 2; conv++) {
        double err = hgt_rule_error(p, conv, ref);
        if (!(err < 1e-4)) fail_msg("%s, %s: relative error %.3g", spec, conv ? "conv2d" : "linear", err);
      }
    }
}

static void test_every_registered_rule(void **state) {
  (void)state;
  assert_true(hg_rule_count() >= 7);
  for (int i = 0; i < hg_rule_count(); i++) {
    const hg_rule_def *r = hg_rule_at(i);
    hgt_rule_reference ref = hgt_rule_reference_of(r->name);
    if (!ref)
      fail_msg("rule '%s' is registered but tests/rule_references.c has no reference for it", r->name);
    if (r->coefficients) {
      check_source(r, "", ref);
      continue;
    }
    check_source(r, "none/relu", ref);
    check_source(r, "wta/cosine", ref);
    for (int j = 0; j < hg_competition_count(); j++)
      for (int change = 0; change < 2; change++) {
        char text[128];
        competition_text(hg_competition_at(j), change, text, sizeof text);
        check_source(r, text, ref);
      }
  }
}

/* The check can fail: hebb's reference against a loss that is instar's. */
static hg_tensor *wrong_loss(const hg_rule_ctx *c, const hg_tensor *y) { return hg_hebbian_loss(c, y, 1); }

static void test_a_wrong_rule_is_caught(void **state) {
  (void)state;
  hg_rule_def wrong = hg_rule_hebb;
  wrong.loss = wrong_loss;
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("hebb/wta/sum", &p));
  p.rule = &wrong;
  assert_true(hgt_rule_error(p, true, hgt_rule_reference_of("hebb")) > 1e-2);
  assert_null(hgt_rule_reference_of("no-such-rule"));
}

/* The weighted average divides by Σ y_k with an ε that does not show: a
 * kernel with Σ y_k ≈ 1e-5 still gets Σ y x / Σ y to 1e-4. */
static void test_mean_of_tiny_coefficients(void **state) {
  (void)state;
  hg_layer *l = hg_layer_linear("fc", D_LIN, K, false, &(hg_rng){0});
  assert_non_null(l);
  hg_tensor *x = hgt_rand(HG_SHAPE(N, D_LIN), 0, 1, 5), *w = hgt_rand(HG_SHAPE(K, D_LIN), 0, 1e-6f, 6);
  hgt_status(hg_tensor_copy(l->weight, w));
  hg_layer_set_mode(l, HG_TRAIN_H);
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("hebb/none/mean", &p));
  hg_tensor *xd = hgt_ok(hg_detach(x)), *u = hgt_ok(hg_linear(xd, l->weight, NULL));
  hg_tensor *loss = hgt_ok(hg_plasticity_loss(&p, l, u, x, NULL));
  hgt_status(hg_backward(loss));
  for (int k = 0; k < K; k++) {
    double ysum = 0;
    for (int n = 0; n < N; n++) ysum += u->data[n * K + k];
    assert_true(ysum > 1e-6 && ysum < 1e-4);
    for (int d = 0; d < D_LIN; d++) {
      double ref = 0;
      for (int n = 0; n < N; n++) ref += (double)u->data[n * K + k] * x->data[n * D_LIN + d] / ysum;
      double got = -hg_grad(l->weight)->data[k * D_LIN + d];
      if (!(fabs(got - ref) <= 1e-4 * fabs(ref))) fail_msg("kernel %d: %.9g, expected %.9g", k, got, ref);
    }
  }
  hg_tensor *temps[] = {loss, u, xd, w, x};
  for (int i = 0; i < 5; i++) hg_tensor_free(temps[i]);
  hg_tape_clear();
  hg_layer_free(l);
}

/* One plain SGD step (no momentum, no decay) moves W by exactly η ΔW. */
static void test_sgd_step_applies_delta(void **state) {
  (void)state;
  const float lr = 0.05f;
  hg_rng rng;
  hg_rng_seed(&rng, 21, 0);
  hg_layer *l = hg_layer_conv2d("conv", C, K, KS, STRIDE, PAD, false, &rng);
  assert_non_null(l);
  hg_layer_set_mode(l, HG_TRAIN_H);
  hg_tensor *x = hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 22);
  hg_tensor *g = hgt_ok(hg_tensor_zeros(l->weight->ndim, l->weight->shape));
  l->weight->grad = g;
  hg_tensor *before = hgt_ok(hg_tensor_clone(l->weight));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("instar/e-soft-wta:0.5/mean", &p));
  hg_tensor *xd = hgt_ok(hg_detach(x)),
            *u = hgt_ok(hg_layer_forward(l, xd, &(hg_forward_ctx){.training = true}));
  hg_tensor *y = hgt_ok(hg_plasticity_coefficients(&p, l, u, x, NULL));
  hg_tensor *loss = hgt_ok(hg_plasticity_loss(&p, l, u, x, NULL));
  hgt_status(hg_backward(loss));
  hgt_patches pt = hgt_patches_of(x, u->shape[2], u->shape[3]);
  double *delta = test_malloc(l->weight->numel * sizeof *delta);
  hgt_rule_reference_of("instar")(&(hgt_rule_in){&pt, K, before->data, y->data, p.opt, p.agg, NULL}, delta);
  hg_optimizer *opt = hg_sgd_new(l->weight->data, g->data, l->weight->numel);
  assert_non_null(opt);
  hgt_status(hg_optim_add_group(opt, 0, l->weight->numel, hg_sgd_opts(lr, 0, 0, false)));
  hgt_status(hg_optim_step(opt));
  for (size_t i = 0; i < l->weight->numel; i++) {
    double moved = (double)l->weight->data[i] - before->data[i];
    assert_true(fabs(moved - lr * delta[i]) <= 1e-6 + 1e-4 * fabs(lr * delta[i]));
  }
  hg_optim_free(opt);
  test_free(delta);
  test_free(pt.x);
  hg_tensor *temps[] = {loss, y, u, xd, before, x};
  for (int i = 0; i < 6; i++) hg_tensor_free(temps[i]);
  hg_tape_clear();
  hg_layer_free(l);
}

/* CHL: Δw = Σ (y⁺x⁺ − y⁻x⁻) over samples and positions, Linear and Conv2d. */
static void check_chl(bool conv) {
  hg_tensor *xp = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 31) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, 31);
  hg_tensor *xm = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, 32) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, 32);
  hg_tensor *w = conv ? hgt_rand(HG_SHAPE(K, C, KS, KS), -0.5f, 0.5f, 33)
                      : hgt_rand(HG_SHAPE(K, D_LIN), -0.5f, 0.5f, 33);
  hg_requires_grad(w, true);
  hg_tensor *up = conv ? hgt_ok(hg_conv2d(xp, w, NULL, STRIDE, PAD)) : hgt_ok(hg_linear(xp, w, NULL));
  hg_tensor *um = conv ? hgt_ok(hg_conv2d(xm, w, NULL, STRIDE, PAD)) : hgt_ok(hg_linear(xm, w, NULL));
  hg_tensor *yp = hgt_ok(hg_sigmoid(up)), *ym = hgt_ok(hg_sigmoid(um));
  hg_tensor *loss = hgt_ok(hg_chl_loss(up, yp, um, ym));
  hgt_status(hg_backward(loss));
  hgt_patches pp = hgt_patches_of(xp, conv ? up->shape[2] : 1, conv ? up->shape[3] : 1);
  hgt_patches pm = hgt_patches_of(xm, conv ? um->shape[2] : 1, conv ? um->shape[3] : 1);
  double *delta = test_calloc(w->numel, sizeof *delta);
  for (int k = 0; k < K; k++)
    for (int n = 0; n < N; n++)
      for (int p = 0; p < pp.p; p++)
        for (int d = 0; d < pp.d; d++)
          delta[k * pp.d + d] += yp->data[(n * K + k) * pp.p + p] * pp.x[((size_t)n * pp.p + p) * pp.d + d] -
                                 ym->data[(n * K + k) * pm.p + p] * pm.x[((size_t)n * pm.p + p) * pm.d + d];
  hg_tensor *g = hgt_ok(hg_tensor_clone(hg_grad(w)));
  for (size_t i = 0; i < g->numel; i++) g->data[i] = -g->data[i];
  assert_true(hgt_relative_error(g->data, delta, w->numel) < 1e-4);
  test_free(delta);
  test_free(pp.x);
  test_free(pm.x);
  hg_tensor *temps[] = {g, loss, yp, ym, up, um};
  for (int i = 0; i < 6; i++) hg_tensor_free(temps[i]);
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
      cmocka_unit_test(test_every_registered_rule),     cmocka_unit_test(test_a_wrong_rule_is_caught),
      cmocka_unit_test(test_mean_of_tiny_coefficients), cmocka_unit_test(test_sgd_step_applies_delta),
      cmocka_unit_test(test_chl_gradient_equals_delta),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
