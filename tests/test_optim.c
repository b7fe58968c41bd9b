/* Optimizers and learning-rate schedules against values computed by hand. */
#include "tests/helpers.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/net.h"
#include "nn/optim.h"
#include "nn/schedule.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* One group over all of p with opts; returns the optimizer. */
static hg_optimizer *one_group(hg_optim_kind kind, float *p, float *g, size_t n,
                               hg_group_opts opts) {
  hg_optimizer *opt = kind == HG_OPTIM_SGD ? hg_sgd_new(p, g, n) : hg_adam_new(p, g, n);
  if (!opt) fail_msg("optimizer: %s", hg_last_error());
  hgt_status(hg_optim_add_group(opt, 0, n, opts));
  return opt;
}

/* lr 0.1, μ 0.9, wd 0.1, Nesterov; p = (1, −2, 0.5), g = (0.5, 0.25, −1) both steps.
 * Step 1 (b = d):
 *   p0: d = 0.5 + 0.1·1 = 0.6; b = 0.6;   d + μb = 0.6 + 0.54 = 1.14;  p = 1 − 0.114 = 0.886
 *   p1: d = 0.25 − 0.2 = 0.05; b = 0.05;  0.05 + 0.045 = 0.095;        p = −2 − 0.0095 = −2.0095
 *   p2: d = −1 + 0.05 = −0.95; b = −0.95; −0.95 − 0.855 = −1.805;      p = 0.5 + 0.1805 = 0.6805
 * Step 2 (b = μb + d):
 *   p0: d = 0.5 + 0.0886 = 0.5886;   b = 0.54 + 0.5886 = 1.1286;
 *       d + μb = 0.5886 + 1.01574 = 1.60434;         p = 0.886 − 0.160434 = 0.725566
 *   p1: d = 0.25 − 0.20095 = 0.04905; b = 0.045 + 0.04905 = 0.09405;
 *       0.04905 + 0.084645 = 0.133695;               p = −2.0095 − 0.0133695 = −2.0228695
 *   p2: d = −1 + 0.06805 = −0.93195;  b = −0.855 − 0.93195 = −1.78695;
 *       −0.93195 − 1.608255 = −2.540205;             p = 0.6805 + 0.2540205 = 0.9345205 */
static void test_sgd_nesterov_weight_decay(void **state) {
  (void)state;
  float p[3] = {1.0f, -2.0f, 0.5f}, g[3] = {0.5f, 0.25f, -1.0f};
  hg_optimizer *opt = one_group(HG_OPTIM_SGD, p, g, 3, hg_sgd_opts(0.1f, 0.9f, 0.1f, true));
  hgt_status(hg_optim_step(opt));
  const float step1[3] = {0.886f, -2.0095f, 0.6805f};
  hgt_close(p, step1, 3, 1e-6f, 1e-7f);
  assert_int_equal(hg_optim_step_count(opt, 0), 1);
  hgt_status(hg_optim_step(opt));
  const float step2[3] = {0.725566f, -2.0228695f, 0.9345205f};
  hgt_close(p, step2, 3, 1e-6f, 1e-7f);
  assert_int_equal(hg_optim_step_count(opt, 0), 2);
  hg_optim_free(opt);
}

/* lr 0.1, μ 0.9, no Nesterov; p = 1, g = 0.5:
 * step 1: b = 0.5, p = 1 − 0.05 = 0.95; step 2: b = 0.45 + 0.5 = 0.95, p = 0.95 − 0.095 = 0.855. */
static void test_sgd_momentum(void **state) {
  (void)state;
  float p[1] = {1.0f}, g[1] = {0.5f};
  hg_optimizer *opt = one_group(HG_OPTIM_SGD, p, g, 1, hg_sgd_opts(0.1f, 0.9f, 0.0f, false));
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){0.95f}, 1, 1e-6f, 0.0f);
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){0.855f}, 1, 1e-6f, 0.0f);
  char names[4][64];
  hg_tensor *t[4];
  assert_int_equal(hg_optim_state(opt, names, t, 4), 2);
  assert_string_equal(names[0], "optim.momentum");
  assert_string_equal(names[1], "optim.step");
  assert_float_equal(t[0]->data[0], 0.95f, 1e-6f);
  assert_float_equal(t[1]->data[0], 2.0f, 0.0f);
  hg_optim_free(opt);
}

/* No momentum, no decay: p ← p − lr·g exactly. The gradients are powers of two,
 * so lr·g is exact and one rounding of p − lr·g is the only one, fused or not. */
static void test_sgd_plain_exact(void **state) {
  (void)state;
  float p[4] = {1.0f, -2.0f, 0.3f, 3.7f}, g[4] = {0.5f, 0.25f, -2.0f, 4.0f};
  const float lr = 0.1f;
  float want[4];
  for (int i = 0; i < 4; i++) want[i] = p[i] - lr * g[i];
  hg_optimizer *opt = one_group(HG_OPTIM_SGD, p, g, 4, hg_sgd_opts(lr, 0.0f, 0.0f, false));
  hgt_status(hg_optim_step(opt));
  for (int i = 0; i < 4; i++) assert_true(p[i] == want[i]);
  char names[4][64];
  hg_tensor *t[4];
  assert_int_equal(hg_optim_state(opt, names, t, 4), 1); /* no momentum buffer */
  assert_string_equal(names[0], "optim.step");
  hg_optim_free(opt);
}

/* Adam lr 0.1, β (0.9, 0.999), ε 1e-8, p = (1, −1, 2).
 * Step 1, g = (0.5, −2, 0.1): m = 0.1g, v = 0.001g², so m̂ = g, v̂ = g², and
 *   p −= 0.1·g/(|g| + 1e-8): p = (0.900000002, −0.9, 1.90000001).
 * Step 2, g = (0.25, 1, −0.3); c1 = 1 − 0.81 = 0.19, c2 = 1 − 0.998001 = 0.001999:
 *   p0: m = 0.045 + 0.025 = 0.07, v = 0.00024975 + 0.0000625 = 0.00031225;
 *       m̂ = 0.368421053, v̂ = 0.156203102, √v̂ = 0.395225382; Δ = 0.0932180; p = 0.80678204
 *   p1: m = −0.18 + 0.1 = −0.08, v = 0.003996 + 0.001 = 0.004996;
 *       m̂ = −0.421052632, v̂ = 2.49924962, √v̂ = 1.58090153; Δ = −0.0266337; p = −0.87336630
 *   p2: m = 0.009 − 0.03 = −0.021, v = 0.00000999 + 0.00009 = 0.00009999;
 *       m̂ = −0.110526316, v̂ = 0.0500200100, √v̂ = 0.223651537; Δ = −0.0494190; p = 1.94941899 */
static void test_adam_two_steps(void **state) {
  (void)state;
  float p[3] = {1.0f, -1.0f, 2.0f}, g[3] = {0.5f, -2.0f, 0.1f};
  hg_optimizer *opt = one_group(HG_OPTIM_ADAM, p, g, 3, hg_adam_opts(0.1f, 0.0f));
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){0.900000002f, -0.9f, 1.90000001f}, 3, 1e-6f, 0.0f);
  g[0] = 0.25f, g[1] = 1.0f, g[2] = -0.3f;
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){0.80678204f, -0.87336630f, 1.94941899f}, 3, 1e-6f, 0.0f);
  char names[4][64];
  hg_tensor *t[4];
  assert_int_equal(hg_optim_state(opt, names, t, 4), 3);
  assert_string_equal(names[0], "optim.adam_m");
  assert_string_equal(names[1], "optim.adam_v");
  assert_string_equal(names[2], "optim.step");
  hgt_close(t[0]->data, (const float[]){0.07f, -0.08f, -0.021f}, 3, 1e-6f, 0.0f);
  hgt_close(t[1]->data, (const float[]){0.00031225f, 0.004996f, 0.00009999f}, 3, 1e-4f, 0.0f);
  hg_optim_free(opt);
}

/* Adam with L2 weight decay 0.5, lr 0.1, p = 2, g = 0 (only the decay pulls):
 * step 1: g' = 1, p = 2 − 0.1 = 1.9;
 * step 2: g' = 0.95, m = 0.09 + 0.095 = 0.185, v = 0.000999 + 0.0009025 = 0.0019015;
 *   m̂ = 0.973684211, v̂ = 0.951225613, √v̂ = 0.975307957; Δ = 0.0998336; p = 1.8001665. */
static void test_adam_weight_decay(void **state) {
  (void)state;
  float p[1] = {2.0f}, g[1] = {0.0f};
  hg_optimizer *opt = one_group(HG_OPTIM_ADAM, p, g, 1, hg_adam_opts(0.1f, 0.5f));
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){1.9f}, 1, 1e-6f, 0.0f);
  hgt_status(hg_optim_step(opt));
  hgt_close(p, (const float[]){1.8001665f}, 1, 1e-6f, 0.0f);
  hg_optim_free(opt);
}

/* Groups [0,2) lr 0.1 and [3,5) lr 0.5; elements 2 and 5 belong to none. */
static void test_groups(void **state) {
  (void)state;
  float p[6] = {1, 1, 1, 1, 1, 1}, g[6] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
  hg_optimizer *opt = hg_sgd_new(p, g, 6);
  assert_non_null(opt);
  hgt_status(hg_optim_add_group(opt, 0, 2, hg_sgd_opts(0.1f, 0.0f, 0.0f, false)));
  hgt_status(hg_optim_add_group(opt, 3, 5, hg_sgd_opts(0.5f, 0.0f, 0.0f, false)));
  assert_int_equal(hg_optim_group_count(opt), 2);
  /* Overlapping, reversed or out-of-range groups are refused. */
  assert_int_equal(hg_optim_add_group(opt, 1, 4, hg_sgd_opts(0.1f, 0, 0, false)), HG_ERR_ARG);
  assert_non_null(strstr(hg_last_error(), "overlaps group 0"));
  assert_int_equal(hg_optim_add_group(opt, 5, 7, hg_sgd_opts(0.1f, 0, 0, false)), HG_ERR_ARG);
  assert_int_equal(hg_optim_add_group(opt, 2, 1, hg_sgd_opts(0.1f, 0, 0, false)), HG_ERR_ARG);
  assert_int_equal(hg_optim_add_group(opt, 2, 3, hg_sgd_opts(-1.0f, 0, 0, false)), HG_ERR_ARG);
  assert_int_equal(hg_optim_add_group(opt, 2, 3, hg_sgd_opts(0.1f, 0, 0, true)), HG_ERR_ARG);
  assert_int_equal(hg_optim_group_count(opt), 2);

  hgt_status(hg_optim_step(opt));
  const float want[6] = {0.95f, 0.95f, 1.0f, 0.75f, 0.75f, 1.0f};
  for (int i = 0; i < 6; i++) assert_true(p[i] == want[i]);

  /* set_lr: one group, then all. */
  hgt_status(hg_optim_set_lr(opt, 1, 0.25f));
  assert_float_equal(hg_optim_lr(opt, 0), 0.1f, 0.0f);
  assert_float_equal(hg_optim_lr(opt, 1), 0.25f, 0.0f);
  hgt_status(hg_optim_set_lr(opt, -1, 0.125f));
  assert_float_equal(hg_optim_lr(opt, 0), 0.125f, 0.0f);
  assert_float_equal(hg_optim_lr(opt, 1), 0.125f, 0.0f);
  assert_int_equal(hg_optim_set_lr(opt, 2, 0.1f), HG_ERR_ARG);
  hg_group_opts o;
  size_t b, e;
  hgt_status(hg_optim_group(opt, 1, &o, &b, &e));
  assert_int_equal(b, 3);
  assert_int_equal(e, 5);
  assert_float_equal(o.lr, 0.125f, 0.0f);
  hg_optim_free(opt);
}

/* A NaN or infinite gradient anywhere: HG_ERR_NUMERIC, nothing moves. */
static void test_nonfinite_gradient(void **state) {
  (void)state;
  enum { N = 70000 }; /* the second group is long enough to be checked in parallel */
  float *p = malloc(N * sizeof *p), *g = malloc(N * sizeof *g);
  assert_non_null(p);
  assert_non_null(g);
  for (int i = 0; i < N; i++) p[i] = 0.001f * (float)i, g[i] = 0.5f;
  hg_optimizer *opt = hg_sgd_new(p, g, N);
  assert_non_null(opt);
  hgt_status(hg_optim_add_group(opt, 0, 10, hg_sgd_opts(0.1f, 0.9f, 0.1f, true)));
  hgt_status(hg_optim_add_group(opt, 10, N, hg_sgd_opts(0.1f, 0.9f, 0.0f, false)));
  hgt_status(hg_optim_step(opt)); /* one good step first: buffers hold values */
  float *p0 = malloc(N * sizeof *p0), *b0 = malloc(N * sizeof *b0);
  assert_non_null(p0);
  assert_non_null(b0);
  char names[4][64];
  hg_tensor *t[4];
  assert_int_equal(hg_optim_state(opt, names, t, 4), 2);
  memcpy(p0, p, N * sizeof *p);
  memcpy(b0, t[0]->data, N * sizeof *b0);

  const float bad[2] = {NAN, INFINITY};
  for (int k = 0; k < 2; k++) {
    g[50004] = bad[k];
    hg_clear_error();
    assert_int_equal(hg_optim_step(opt), HG_ERR_NUMERIC);
    assert_non_null(strstr(hg_last_error(), "group 1"));
    assert_non_null(strstr(hg_last_error(), "index 50004"));
    assert_memory_equal(p, p0, N * sizeof *p);
    assert_memory_equal(t[0]->data, b0, N * sizeof *b0);
    assert_int_equal(hg_optim_step_count(opt, 0), 1);
    assert_int_equal(hg_optim_step_count(opt, 1), 1);
  }
  g[50004] = 0.5f;
  g[3] = -INFINITY;
  assert_int_equal(hg_optim_step(opt), HG_ERR_NUMERIC);
  assert_non_null(strstr(hg_last_error(), "group 0"));
  assert_non_null(strstr(hg_last_error(), "index 3"));
  assert_memory_equal(p, p0, N * sizeof *p);
  g[3] = 0.5f;
  hgt_status(hg_optim_step(opt));
  assert_true(p[3] != p0[3] && p[50004] != p0[50004]);
  hg_optim_free(opt);
  free(p), free(g), free(p0), free(b0);
}

/* Gradients of step s (a fixed, varied pattern). */
static void fill_grads(float *g, size_t n, int s) {
  for (size_t i = 0; i < n; i++) g[i] = sinf(0.7f * (float)i + 1.3f * (float)s);
}

/* Copy the state of a stepped optimizer into a fresh one: the next steps agree bit for bit. */
static void state_round_trip(hg_optim_kind kind, hg_group_opts o1, hg_group_opts o2) {
  enum { N = 12 };
  float pa[N], pb[N], g[N];
  for (int i = 0; i < N; i++) pa[i] = 0.1f * (float)(i - 5);
  hg_optimizer *a = kind == HG_OPTIM_SGD ? hg_sgd_new(pa, g, N) : hg_adam_new(pa, g, N);
  assert_non_null(a);
  hgt_status(hg_optim_add_group(a, 0, 5, o1));
  hgt_status(hg_optim_add_group(a, 5, N, o2));
  for (int s = 0; s < 3; s++) {
    fill_grads(g, N, s);
    hgt_status(hg_optim_step(a));
  }
  assert_int_equal(hg_optim_step_count(a, 0), 3);

  /* Save: names and copies of the state tensors, and the parameters. */
  char names_a[4][64], names_b[4][64];
  hg_tensor *ta[4], *tb[4], *saved[4];
  int n = hg_optim_state(a, names_a, ta, 4);
  assert_int_equal(n, kind == HG_OPTIM_SGD ? 2 : 3);
  for (int i = 0; i < n; i++) saved[i] = hgt_ok(hg_tensor_clone(ta[i]));
  memcpy(pb, pa, sizeof pa);

  /* Restore into a new optimizer with the same groups. */
  hg_optimizer *b = kind == HG_OPTIM_SGD ? hg_sgd_new(pb, g, N) : hg_adam_new(pb, g, N);
  assert_non_null(b);
  hgt_status(hg_optim_add_group(b, 0, 5, o1));
  hgt_status(hg_optim_add_group(b, 5, N, o2));
  assert_int_equal(hg_optim_state(b, names_b, tb, 4), n);
  for (int i = 0; i < n; i++) {
    assert_string_equal(names_a[i], names_b[i]);
    hgt_status(hg_tensor_copy(tb[i], saved[i]));
  }
  assert_int_equal(hg_optim_step_count(b, 0), 3);
  assert_int_equal(hg_optim_step_count(b, 1), 3);

  for (int s = 3; s < 5; s++) {
    fill_grads(g, N, s);
    hgt_status(hg_optim_step(a));
    hgt_status(hg_optim_step(b));
    assert_memory_equal(pa, pb, sizeof pa);
  }

  /* Without the state the same step differs (the test above is not vacuous). */
  hg_optimizer *c = kind == HG_OPTIM_SGD ? hg_sgd_new(pb, g, N) : hg_adam_new(pb, g, N);
  assert_non_null(c);
  hgt_status(hg_optim_add_group(c, 0, 5, o1));
  hgt_status(hg_optim_add_group(c, 5, N, o2));
  fill_grads(g, N, 5);
  hgt_status(hg_optim_step(a));
  hgt_status(hg_optim_step(c));
  assert_true(memcmp(pa, pb, sizeof pa) != 0);

  /* The step count alone can also be restored through the accessor. */
  hgt_status(hg_optim_set_step_count(c, -1, 7));
  assert_int_equal(hg_optim_step_count(c, 1), 7);
  assert_int_equal(hg_optim_set_step_count(c, 0, -1), HG_ERR_ARG);
  assert_int_equal(hg_optim_set_step_count(c, 2, 1), HG_ERR_ARG);
  /* A corrupt step count loaded into the state tensor is refused, nothing moves. */
  hg_tensor *tc[4];
  assert_int_equal(hg_optim_state(c, names_b, tc, 4), n);
  tc[n - 1]->data[1] = -1.0f;
  memcpy(pa, pb, sizeof pa);
  assert_int_equal(hg_optim_step(c), HG_ERR_STATE);
  assert_memory_equal(pa, pb, sizeof pa);

  for (int i = 0; i < n; i++) hg_tensor_free(saved[i]);
  hg_optim_free(a);
  hg_optim_free(b);
  hg_optim_free(c);
}

static void test_state_round_trip(void **state) {
  (void)state;
  state_round_trip(HG_OPTIM_SGD, hg_sgd_opts(0.05f, 0.9f, 0.01f, true),
                   hg_sgd_opts(0.1f, 0.5f, 0.0f, false));
  state_round_trip(HG_OPTIM_ADAM, hg_adam_opts(0.01f, 0.0f), hg_adam_opts(0.003f, 0.1f));
}

static void test_bad_construction(void **state) {
  (void)state;
  float p[1], g[1];
  assert_null(hg_sgd_new(NULL, g, 1));
  assert_int_equal(hg_last_status(), HG_ERR_ARG);
  assert_null(hg_adam_new(p, g, 0));
  hg_optimizer *opt = hg_adam_new(p, g, 1);
  assert_non_null(opt);
  hg_group_opts o = hg_adam_opts(0.1f, 0.0f);
  o.beta2 = 1.0f;
  assert_int_equal(hg_optim_add_group(opt, 0, 1, o), HG_ERR_ARG);
  /* SGD's settings given to Adam: eps 0 would divide a zero gradient by zero */
  assert_int_equal(hg_optim_add_group(opt, 0, 1, hg_sgd_opts(0.1f, 0.9f, 0.0f, true)), HG_ERR_ARG);
  hgt_error_mentions("eps 0", NULL);
  assert_int_equal(hg_optim_kind_of(opt), HG_OPTIM_ADAM);
  hg_optim_free(opt);
  hg_optim_free(NULL);
}

/* A real net: groups from hg_net_slab_range; one step moves the layer's
 * weight (a view into the slab) by exactly −lr·grad (lr a power of two). */
static void test_net_step(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 7, 0);
  hg_net *net = hg_net_new(1);
  assert_non_null(net);
  hgt_status(hg_net_add(net, hg_layer_linear("fc1", 4, 3, true, &rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu1")));
  hgt_status(hg_net_add(net, hg_layer_linear("fc2", 3, 2, true, &rng)));
  hgt_status(hg_net_finalize(net));
  size_t b0, e0, b2, e2;
  hg_net_slab_range(net, 0, 0, &b0, &e0);
  hg_net_slab_range(net, 2, 2, &b2, &e2);
  assert_int_equal(b0, 0);
  assert_int_equal(e0, 4 * 3 + 3);
  assert_int_equal(b2, e0);
  assert_int_equal(e2, e0 + 3 * 2 + 2);
  hg_layer *fc1 = net->layers[0], *fc2 = net->layers[2];
  assert_ptr_equal(fc1->weight->data, net->param_slab->data + b0);

  hg_tensor *x = hgt_rand(HG_SHAPE(5, 4), -1.0f, 1.0f, 11);
  hg_tensor *target = hgt_rand(HG_SHAPE(5, 2), -1.0f, 1.0f, 12);
  hg_net_zero_grad(net);
  hg_tensor *y = hgt_ok(hg_net_forward(net, x, true));
  hg_tensor *loss = hgt_ok(hg_mse(y, target));
  hgt_status(hg_backward(loss));

  float w0[12], bias0[3], w2[6], bias2[2];
  memcpy(w0, fc1->weight->data, sizeof w0);
  memcpy(bias0, fc1->bias->data, sizeof bias0);
  memcpy(w2, fc2->weight->data, sizeof w2);
  memcpy(bias2, fc2->bias->data, sizeof bias2);
  float gsum = 0.0f;
  for (int i = 0; i < 12; i++) gsum += fabsf(fc1->weight->grad->data[i]);
  assert_true(gsum > 0.0f);

  hg_optimizer *opt =
      hg_sgd_new(net->param_slab->data, net->grad_slab->data, net->param_slab->numel);
  assert_non_null(opt);
  const float lr = 0.25f;
  hgt_status(hg_optim_add_group(opt, b0, e0, hg_sgd_opts(lr, 0.0f, 0.0f, false)));
  hgt_status(hg_optim_step(opt));
  for (int i = 0; i < 12; i++)
    assert_true(fc1->weight->data[i] == w0[i] - lr * fc1->weight->grad->data[i]);
  for (int i = 0; i < 3; i++)
    assert_true(fc1->bias->data[i] == bias0[i] - lr * fc1->bias->grad->data[i]);
  /* fc2 is in no group: unchanged although its gradient is not zero. */
  assert_memory_equal(fc2->weight->data, w2, sizeof w2);
  assert_memory_equal(fc2->bias->data, bias2, sizeof bias2);

  hg_optim_free(opt);
  hg_tensor_free(loss);
  hg_tensor_free(y);
  hg_tensor_free(x);
  hg_tensor_free(target);
  hg_tape_clear();
  /* Zeroing clears what backward wrote; after the slab is written directly
   * (as a sum over processes does), hg_net_grads_written makes it clear all. */
  hg_net_zero_grad(net);
  for (size_t i = 0; i < net->grad_slab->numel; i++) assert_true(net->grad_slab->data[i] == 0.0f);
  hg_tensor_fill(net->grad_slab, 3.0f);
  hg_net_grads_written(net);
  hg_net_zero_grad(net);
  for (size_t i = 0; i < net->grad_slab->numel; i++) assert_true(net->grad_slab->data[i] == 0.0f);
  hg_net_free(net);
}

/* --- schedules --- */

static hg_schedule parsed(const char *text) {
  hg_schedule s;
  hgt_status(hg_schedule_parse(text, &s));
  return s;
}

static void test_schedule_seeds(void **state) {
  (void)state;
  const float base = 1e-3f;
  hg_schedule s = parsed("seeds:10:2");
  for (int e = 0; e < 10; e++) assert_true(hg_schedule_lr(&s, e, base) == base);
  assert_true(hg_schedule_lr(&s, 10, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 11, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 12, base) == base / 4);
  assert_true(hg_schedule_lr(&s, 13, base) == base / 4);
  assert_true(hg_schedule_lr(&s, 14, base) == base / 8);
  s = parsed("seeds:10:1");
  assert_true(hg_schedule_lr(&s, 9, base) == base);
  assert_true(hg_schedule_lr(&s, 10, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 11, base) == base / 4);
  assert_true(hg_schedule_lr(&s, 19, base) == base / 1024);
}

static void test_schedule_kinds(void **state) {
  (void)state;
  const float base = 0.1f;
  hg_schedule s = parsed("constant");
  assert_true(hg_schedule_lr(&s, 0, base) == base);
  assert_true(hg_schedule_lr(&s, 1000, base) == base);

  s = parsed("step:10:0.5");
  assert_true(hg_schedule_lr(&s, 0, base) == base);
  assert_true(hg_schedule_lr(&s, 9, base) == base);
  assert_true(hg_schedule_lr(&s, 10, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 19, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 20, base) == base / 4);
  s = parsed("step:3:0.1");
  assert_float_equal(hg_schedule_lr(&s, 6, base), 0.001f, 1e-9f);

  /* cosine:20: base·(1 + cos(πe/20))/2: e = 0 → base, 10 → base/2, 20 and on → 0. */
  s = parsed("cosine:20");
  assert_float_equal(hg_schedule_lr(&s, 0, base), base, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 5, base), base * 0.85355339f, 1e-7f); /* (1+√½)/2 */
  assert_float_equal(hg_schedule_lr(&s, 10, base), base / 2, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 20, base), 0.0f, 0.0f);
  assert_float_equal(hg_schedule_lr(&s, 25, base), 0.0f, 0.0f);
  /* cosine:12:0.01:2: warm-up base/2, base; then 0.01 + 0.09·(1 + cos(π(e−2)/10))/2. */
  s = parsed("cosine:12:0.01:2");
  assert_float_equal(hg_schedule_lr(&s, 0, base), base / 2, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 1, base), base, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 2, base), base, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 7, base), 0.055f, 1e-7f);
  assert_float_equal(hg_schedule_lr(&s, 12, base), 0.01f, 0.0f);

  /* halve:10,17: base until epoch 9, base/2 for 10..16, base/4 from 17 (SoftHebb's classifier). */
  s = parsed("halve:10,17");
  assert_true(hg_schedule_lr(&s, 9, base) == base);
  assert_true(hg_schedule_lr(&s, 10, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 16, base) == base / 2);
  assert_true(hg_schedule_lr(&s, 17, base) == base / 4);
  assert_true(hg_schedule_lr(&s, 49, base) == base / 4);

  char buf[64];
  const char *texts[] = {"constant", "step:10:0.5", "seeds:10:2", "cosine:12:0.01:2", "halve:10,17,25,30,35,40,45"};
  for (size_t i = 0; i < N_OF(texts); i++) {
    s = parsed(texts[i]);
    hg_schedule back = parsed(hg_schedule_str(&s, buf, sizeof buf));
    for (int e = 0; e < 30; e++)
      assert_true(hg_schedule_lr(&s, e, base) == hg_schedule_lr(&back, e, base));
  }
  s = parsed("halve:10,17,25,30,35,40,45");
  assert_string_equal(hg_schedule_str(&s, buf, sizeof buf), "halve:10,17,25,30,35,40,45");
  assert_string_equal(hg_schedule_str(&(hg_schedule){.kind = HG_SCHEDULE_SEEDS, .hold = 10,
                                                     .period = 1},
                                      buf, sizeof buf),
                      "seeds:10:1");
}

static void test_schedule_parse_errors(void **state) {
  (void)state;
  const char *bad[] = {"",           "linear",        "constant:1",      "step:0:0.5",
                       "step:10",    "step:10:x",     "step:10:0.5:1",   "step:-1:0.5",
                       "seeds:10",   "seeds:10:0",    "seeds:a:2",       "seeds:10:2x",
                       "cosine",     "cosine:0",      "cosine:20:-1",    "cosine:20:0:20",
                       "cosine:20:0:1:2", "Seeds:10:2", "halve",      "halve:",
                       "halve:10,10", "halve:17,10", "halve:0",  "halve:10,",  "halve:1:2"};
  for (size_t i = 0; i < N_OF(bad); i++) {
    hg_schedule s = {.kind = HG_SCHEDULE_STEP, .period = 99};
    hg_clear_error();
    assert_int_equal(hg_schedule_parse(bad[i], &s), HG_ERR_ARG);
    char quoted[80];
    snprintf(quoted, sizeof quoted, "'%s'", bad[i]);
    if (!strstr(hg_last_error(), quoted)) fail_msg("'%s': message '%s'", bad[i], hg_last_error());
    assert_int_equal(s.period, 99); /* *out untouched */
  }
  assert_int_equal(hg_schedule_parse(NULL, &(hg_schedule){0}), HG_ERR_ARG);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sgd_nesterov_weight_decay),
      cmocka_unit_test(test_sgd_momentum),
      cmocka_unit_test(test_sgd_plain_exact),
      cmocka_unit_test(test_adam_two_steps),
      cmocka_unit_test(test_adam_weight_decay),
      cmocka_unit_test(test_groups),
      cmocka_unit_test(test_nonfinite_gradient),
      cmocka_unit_test(test_state_round_trip),
      cmocka_unit_test(test_bad_construction),
      cmocka_unit_test(test_net_step),
      cmocka_unit_test(test_schedule_seeds),
      cmocka_unit_test(test_schedule_kinds),
      cmocka_unit_test(test_schedule_parse_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
