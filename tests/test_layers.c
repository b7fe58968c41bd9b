/* Layers and nets: values of a Linear layer by hand, PyTorch's initialisation
 * bounds, the seeds' network's shapes and parameter count, named access,
 * replacing and freezing; the interventions of seed 004 (pruning, unit norm);
 * seed 001's batch norm that keeps the channels' relative variance. */
#include <math.h>
#include <string.h>

#include "hebb/train.h"
#include "tests/helpers.h"

static void test_linear_layer_by_hand(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 1, 0);
  hg_layer *l = hg_layer_linear("fc", 2, 2, true, &rng);
  assert_non_null(l);
  const float w[4] = {1, 2, 3, 4}, b[2] = {0.5f, -1};
  memcpy(l->weight->data, w, sizeof w);
  memcpy(l->bias->data, b, sizeof b);
  hg_tensor *x = hgt_ok(hg_tensor_from(HG_SHAPE(1, 2), (const float[]){1, -1}));
  hg_forward_ctx ctx = {.training = true, .rng = &rng};
  hg_tensor *y = hgt_ok(hg_layer_forward(l, x, &ctx));
  assert_float_equal(y->data[0], 1 - 2 + 0.5f, 1e-6); /* [1,2]·[1,−1] + 0.5 */
  assert_float_equal(y->data[1], 3 - 4 - 1.0f, 1e-6);
  hg_tensor_free(y);
  hg_tensor_free(x);
  hg_tape_clear();
  hg_layer_free(l);
}

static void test_init_bounds(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 2, 0);
  hg_layer *c = hg_layer_conv2d("c", 3, 8, 5, 1, 0, true, &rng);
  float bound = 1.0f / sqrtf(75.0f), lo = 0, hi = 0;
  for (size_t i = 0; i < c->weight->numel; i++) {
    lo = fminf(lo, c->weight->data[i]);
    hi = fmaxf(hi, c->weight->data[i]);
  }
  assert_true(lo >= -bound && hi <= bound && hi - lo > 1.8f * bound);
  hg_layer_free(c);
  assert_null(hg_layer_conv2d("bad", 3, 8, 0, 1, 0, true, &rng));
  assert_non_null(strstr(hg_last_error(), "conv2d 'bad'"));
  assert_null(hg_layer_dropout("d", 1.5f));
}

static void test_seeds_network(void **state) {
  (void)state;
  hg_net *net = hg_net_seeds(3, 10, 1);
  assert_non_null(net);
  /* PyTorch's count for the same layers: conv 7296+110720+221376+442624,
   * fc 9441280+40970, batch norm 2·(96+128+192+256+4096). */
  assert_int_equal(net->param_slab->numel, 10273802);
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 32, 32), -1, 1, 3);
  hg_tensor *y = hgt_ok(hg_net_forward(net, x, false));
  assert_int_equal(y->ndim, 2);
  assert_int_equal(y->shape[1], 10);
  int bn1 = hg_net_find(net, "bn1"), flat = hg_net_find(net, "flatten");
  assert_int_equal(net->outputs[bn1]->shape[1], 96);
  assert_int_equal(net->outputs[bn1]->shape[2], 14);
  assert_int_equal(net->outputs[flat]->shape[1], 2304);
  assert_ptr_equal(net->layers[0]->weight->data, net->param_slab->data); /* slab views */
  hg_tensor_free(y);
  hgt_status(hg_net_replace(net, hg_net_find(net, "fc6"), hg_layer_linear("fc6", 4096, 5, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  y = hgt_ok(hg_net_forward(net, x, false));
  assert_int_equal(y->shape[1], 5);
  assert_int_equal(hg_net_add(net, hg_layer_relu("bn1")), HG_ERR_ARG); /* names are unique */
  hg_tensor_free(y);
  hg_tensor_free(x);
  hg_net_free(net);
}

static void test_pruning_and_unit_norm_hold_after_steps(void **state) {
  (void)state;
  hg_net *net = hg_net_new(4);
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv1", 2, 6, 3, 2, 1, true, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_triangle("tri1", 0.0f, 1.0f)));
  hgt_status(hg_net_finalize(net));
  hgt_status(hg_net_set_modes(net, "H"));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("instar/1-wta/sum/unitnorm/prune=0.5", &p));
  hg_trainer_opts o = {.hebb_lr = 0.1f};
  hg_trainer *t = hg_trainer_new(net, &p, &o);
  assert_non_null(t);
  const hg_tensor *mask = t->plasticity[0].mask;
  assert_non_null(mask);
  size_t kept = 0;
  for (size_t i = 0; i < mask->numel; i++) kept += mask->data[i] != 0;
  assert_true(kept > mask->numel / 4 && kept < 3 * mask->numel / 4);
  hg_tensor *x = hgt_rand(HG_SHAPE(4, 2, 6, 6), -1, 1, 5);
  int labels[4] = {0};
  for (int step = 0; step < 3; step++) hgt_status(hg_trainer_step(t, x, labels, 4, HG_PHASE_HEBB, NULL));
  const hg_tensor *w = net->layers[0]->weight;
  for (int k = 0; k < 6; k++) {
    double norm = 0;
    for (int d = 0; d < 18; d++) {
      float v = w->data[k * 18 + d];
      if (mask->data[k * 18 + d] == 0) assert_true(v == 0.0f);
      norm += (double)v * v;
    }
    assert_true(fabs(norm - 1) < 1e-4);
  }
  hg_tensor_free(x);
  hg_trainer_free(t);
  hg_net_free(net);
}

/* Seed 001's modified batch norm: BN(x) scaled by √((v_c + ε)/(mean v + ε))
 * with the running variances after this batch; gradients by finite
 * differences (momentum 0 keeps v fixed across the checker's forwards). */
static hg_layer *bn_with_variances(float momentum, bool keep) {
  hg_layer *l = hg_layer_batch_norm("bn", 3, true, momentum, 1e-5f);
  assert_non_null(l);
  const float v[3] = {0.5f, 2.0f, 4.5f}, g[3] = {1.5f, -0.5f, 1.0f}, b[3] = {0.1f, 0.2f, -0.3f};
  memcpy(l->running_var->data, v, sizeof v);
  memcpy(l->weight->data, g, sizeof g);
  memcpy(l->bias->data, b, sizeof b);
  hgt_status(hg_layer_batch_norm_keep_variance(l, keep));
  return l;
}

static hg_tensor *call_bn_layer(hg_tensor *const *in, void *ctx) {
  hg_rng rng;
  hg_rng_seed(&rng, 1, 0);
  hg_forward_ctx fc = {.training = true, .rng = &rng};
  return hg_layer_forward(ctx, in[0], &fc); /* in[1], in[2] are the layer's γ, β */
}

static void test_batch_norm_keeping_variance(void **state) {
  (void)state;
  hg_layer *plain = bn_with_variances(0.1f, false), *kept = bn_with_variances(0.1f, true);
  hg_tensor *x = hgt_rand(HG_SHAPE(4, 3, 2, 2), -2, 2, 11);
  hg_tensor *y = hgt_ok(call_bn_layer(&x, plain)), *z = hgt_ok(call_bn_layer(&x, kept));
  const float *v = kept->running_var->data;
  assert_true(fabsf(v[0] - 0.5f) > 1e-3f); /* this batch moved the running variances */
  double mean = (v[0] + v[1] + v[2]) / 3.0;
  float want[48];
  for (int i = 0; i < 48; i++) {
    int c = (i / 4) % 3;
    want[i] = y->data[i] * (float)sqrt((v[c] + 1e-5) / (mean + 1e-5));
  }
  hgt_close(z->data, want, 48, 1e-5f, 1e-6f);
  hg_tensor_free(y);
  hg_tensor_free(z);
  hg_tape_clear();
  hg_layer *fixed = bn_with_variances(0.0f, true);
  hg_requires_grad(x, true);
  hg_tensor *in[3] = {x, fixed->weight, fixed->bias};
  hgt_status(hg_gradcheck(call_bn_layer, fixed, 3, in, NULL, NULL));
  hg_layer *relu = hg_layer_relu("r");
  assert_int_equal(hg_layer_batch_norm_keep_variance(relu, true), HG_ERR_ARG);
  hgt_error_mentions("'r'", "batch_norm");
  hg_tensor_free(x);
  hg_layer_free(relu);
  hg_layer_free(fixed);
  hg_layer_free(kept);
  hg_layer_free(plain);
}

/* Each constructor sets its kind and its named settings; only linear and
 * conv2d take a mode letter. */
static void test_kinds_and_settings(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 1, 1);
  hg_layer *conv = hg_layer_conv2d("c", 3, 8, 5, 2, 1, true, &rng);
  assert_non_null(conv);
  assert_int_equal(conv->ops->kind, HG_LAYER_CONV2D);
  assert_int_equal(conv->cfg.affine.stride, 2);
  assert_int_equal(conv->cfg.affine.pad, 1);
  hg_layer *fc = hg_layer_linear("f", 4, 2, false, &rng);
  assert_non_null(fc);
  assert_int_equal(fc->cfg.affine.in, 4);
  assert_int_equal(fc->cfg.affine.stride, 1);
  hg_layer *pool = hg_layer_avg_pool2d("p", 3, 2, 1);
  assert_non_null(pool);
  assert_int_equal(pool->ops->kind, HG_LAYER_AVG_POOL2D);
  assert_int_equal(pool->cfg.pool.kernel, 3);
  hg_layer *bn = hg_layer_batch_norm("b", 8, false, 0.2f, 1e-3f);
  assert_non_null(bn);
  assert_true(bn->cfg.norm.momentum == 0.2f && bn->cfg.norm.eps == 1e-3f);
  hgt_status(hg_layer_batch_norm_keep_variance(bn, true));
  assert_true(bn->cfg.norm.keep_variance);
  assert_int_equal(hg_layer_batch_norm_keep_variance(pool, true), HG_ERR_ARG);
  hgt_error_mentions("avg_pool2d", "not a batch_norm");
  hg_layer *drop = hg_layer_dropout("d", 0.25f);
  assert_non_null(drop);
  assert_true(drop->cfg.p == 0.25f);
  assert_true(hg_layer_is_affine(conv) && hg_layer_is_affine(fc));
  assert_false(hg_layer_is_affine(bn) || hg_layer_is_affine(pool) || hg_layer_is_affine(drop));
  hg_layer *all[] = {conv, fc, pool, bn, drop};
  for (int i = 0; i < 5; i++) hg_layer_free(all[i]);
}

/* The powered triangle, relu(x − mean_c x − θ)^p: its values against loops and
 * its gradient by finite differences (p = 1.4, values kept away from the kink). */
static hg_tensor *triangle_of(hg_tensor *const *in, void *ctx) {
  hg_forward_ctx fc = {.training = false};
  return hg_layer_forward(ctx, in[0], &fc);
}

static void test_powered_triangle(void **state) {
  (void)state;
  hg_layer *tri = hg_layer_triangle("tri", 0.1f, 1.4f);
  assert_non_null(tri);
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 2, 2), -1, 1, 11);
  for (size_t i = 0; i < x->numel; i++) x->data[i] *= i % 2 ? 1.0f : 3.0f; /* spread, few near the kink */
  hg_tensor *y = hgt_ok(triangle_of(&x, tri));
  for (int n = 0; n < 2; n++)
    for (int p = 0; p < 4; p++) {
      double mean = 0;
      for (int c = 0; c < 3; c++) mean += x->data[(n * 3 + c) * 4 + p] / 3.0;
      for (int c = 0; c < 3; c++) {
        double z = x->data[(n * 3 + c) * 4 + p] - mean - 0.1, want = z > 0 ? pow(z, 1.4) : 0;
        assert_true(fabs(y->data[(n * 3 + c) * 4 + p] - want) < 1e-5);
      }
    }
  hg_requires_grad(x, true);
  hgt_status(hg_gradcheck(triangle_of, tri, 1, &x, NULL, NULL));
  assert_null(hg_layer_triangle("bad", 0.0f, 0.0f));
  hgt_error_mentions("triangle 'bad'", "power 0");
  hg_tensor_free(y);
  hg_tensor_free(x);
  hg_layer_free(tri);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_linear_layer_by_hand),
      cmocka_unit_test(test_kinds_and_settings),
      cmocka_unit_test(test_powered_triangle),
      cmocka_unit_test(test_init_bounds),
      cmocka_unit_test(test_seeds_network),
      cmocka_unit_test(test_pruning_and_unit_norm_hold_after_steps),
      cmocka_unit_test(test_batch_norm_keeping_variance),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
