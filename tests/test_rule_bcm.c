/* BCM's threshold is layer state: it lives in the trainer's checkpoints, so
 * a resumed run takes exactly the steps of an uninterrupted one. */
#include <stdio.h>
#include <string.h>

#include "tests/helpers.h"

/* Two classes of 8x8 images, each brighter in its own half. */
static hg_dataset *halves(int n) {
  hg_dataset *ds = hg_dataset_new(n, 1, 8, 8, 2, "halves");
  assert_non_null(ds);
  hg_rng rng;
  hg_rng_seed(&rng, 4, 0);
  for (int i = 0; i < n; i++) {
    ds->labels[i] = i % 2;
    for (int j = 0; j < 64; j++)
      ds->images->data[(size_t)i * 64 + j] = hg_rng_uniform(&rng) + (j / 32 == i % 2);
  }
  return ds;
}

/* The weights and θ after `epochs` Hebbian epochs of bcm/wta in dir (resumed or not). */
static hg_tensor *run(const char *dir, int epochs, bool resume, hg_tensor **theta) {
  hg_net *net = hg_net_small(1, 8, 2, 3);
  assert_non_null(net);
  hgt_status(hg_net_set_modes(net, "H-G"));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("bcm/wta/sum/rate=0.5", &p));
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.01f, 0, 0, false), .hebb_lr = 0.01f};
  hg_trainer *t = hg_trainer_new(net, &p, &to);
  assert_non_null(t);
  hg_dataset *train = halves(32);
  hg_fit_opts o = hg_fit_defaults();
  o.epochs = epochs;
  o.batch = 8;
  o.phase = HG_PHASE_HEBB;
  o.run_dir = dir;
  o.resume = resume;
  o.log = NULL;
  hgt_status(hg_fit(t, train, NULL, &o, NULL));
  hg_tensor *w = hgt_ok(hg_tensor_clone(net->layers[0]->weight));
  *theta = hgt_ok(hg_tensor_clone(t->plasticity[0].state));
  hg_trainer_free(t);
  hg_net_free(net);
  hg_dataset_free(train);
  return w;
}

static void test_threshold_is_checkpointed(void **state) {
  (void)state;
  char a[64], b[64], path[128];
  assert_int_equal(hgt_tmpdir(a, sizeof a, "hg_bcm_a"), 0);
  assert_int_equal(hgt_tmpdir(b, sizeof b, "hg_bcm_b"), 0);
  hg_tensor *theta_a, *theta_b, *theta_1;
  hg_tensor *straight = run(a, 3, false, &theta_a);
  hg_tensor_free(run(b, 1, false, &theta_1)); /* interrupted after one epoch */
  hg_checkpoint *ck = hg_checkpoint_open(hgt_path(b, "last.safetensors", path, sizeof path));
  assert_non_null(ck);
  hg_tensor *saved = hgt_ok(hg_tensor_zeros(theta_1->ndim, theta_1->shape));
  hgt_status(hg_checkpoint_read(ck, "conv1.rule_state", saved));
  assert_memory_equal(saved->data, theta_1->data, saved->numel * sizeof(float));
  hg_checkpoint_close(ck);
  hg_tensor *resumed = run(b, 3, true, &theta_b);
  assert_memory_equal(straight->data, resumed->data, straight->numel * sizeof(float));
  assert_memory_equal(theta_a->data, theta_b->data, theta_a->numel * sizeof(float));
  bool moved = false;
  for (size_t i = 0; i < theta_a->numel; i++) moved |= theta_a->data[i] != 0;
  assert_true(moved);
  hg_tensor *temps[] = {straight, resumed, theta_a, theta_b, theta_1, saved};
  for (int i = 0; i < 6; i++) hg_tensor_free(temps[i]);
  assert_int_equal(hgt_rmtree(a), 0);
  assert_int_equal(hgt_rmtree(b), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_threshold_is_checkpointed)};
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
