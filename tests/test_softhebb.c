/* SoftHebb's network and protocol: the net as the reference builds it,
 * per-layer rules and learning rates, freezing the Hebbian blocks, and a
 * CI-sized run on a slice of CIFAR-10 (Hebbian epoch, cached features,
 * classifier). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hebb/train.h"
#include "tests/helpers.h"

#define SOFTHEBB_RULES "softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01"

static const char *const layer_names[] = {
    "bn1", "pad1", "conv1", "triangle1", "pool1", "bn2", "pad2", "conv2", "triangle2", "pool2",
    "bn3", "pad3", "conv3", "triangle3", "pool3", "flatten", "dropout", "classifier"};

static double std_of(const hg_tensor *t) {
  double sum = 0, sq = 0;
  for (size_t i = 0; i < t->numel; i++) {
    sum += t->data[i];
    sq += (double)t->data[i] * t->data[i];
  }
  double mean = sum / (double)t->numel;
  return sqrt(sq / (double)t->numel - mean * mean);
}

/* The layers, their settings and the reference's initialisation. */
static void test_net_as_the_reference(void **state) {
  (void)state;
  hg_net *net = hg_net_softhebb(3, 32, 10, (const float[]){0.5f, 1.5f, 2.0f}, 3);
  assert_non_null(net);
  assert_int_equal(net->n, 18);
  for (int i = 0; i < net->n; i++) assert_string_equal(net->layers[i]->name, layer_names[i]);
  const int channels[3][3] = {{3, 96, 5}, {96, 384, 3}, {384, 1536, 3}};
  for (int b = 0; b < 3; b++) {
    const hg_layer *bn = net->layers[5 * b], *pad = net->layers[5 * b + 1], *conv = net->layers[5 * b + 2];
    assert_null(bn->weight); /* no scale or shift */
    assert_int_equal(pad->cfg.pad, channels[b][2] / 2);
    assert_int_equal(conv->weight->shape[0], channels[b][1]);
    assert_int_equal(conv->weight->shape[1], channels[b][0]);
    assert_int_equal(conv->weight->shape[2], channels[b][2]);
    assert_null(conv->bias);
    double want = 25.0 / sqrt(channels[b][0] * channels[b][2] * channels[b][2]);
    assert_true(fabs(std_of(conv->weight) / want - 1) < 0.05);
  }
  assert_true(net->layers[3]->cfg.triangle.power == 0.5f && net->layers[13]->cfg.triangle.power == 2.0f);
  assert_int_equal(net->layers[4]->ops->kind, HG_LAYER_MAX_POOL2D);
  assert_int_equal(net->layers[14]->ops->kind, HG_LAYER_AVG_POOL2D);
  const hg_tensor *w = net->layers[17]->weight;
  assert_int_equal(w->shape[1], 24576);
  float lo = 1, hi = 0;
  for (size_t i = 0; i < w->numel; i++) {
    lo = fminf(lo, w->data[i]);
    hi = fmaxf(hi, w->data[i]);
  }
  assert_true(lo >= 0 && lo < 0.001f && hi < 0.1105f && hi > 0.109f);
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 32, 32), 0, 1, 5);
  hg_tensor *y = hgt_ok(hg_net_forward(net, x, false));
  assert_int_equal(y->shape[0], 2);
  assert_int_equal(y->shape[1], 10);
  hg_tensor_free(y);
  hg_tensor_free(x);
  hg_net_free(net);
  assert_null(hg_layer_pad_reflect("pad", 0));
  hgt_error_mentions("pad_reflect 'pad'", "pad 0");
}

/* "A+B+C" gives each Hebbian layer its rule and learning rate; counts must match. */
static void test_rules_per_layer(void **state) {
  (void)state;
  hg_plasticity rules[HG_MAX_RULES];
  assert_int_equal(hg_plasticity_parse_list(SOFTHEBB_RULES, rules, HG_MAX_RULES), 3);
  assert_true(rules[1].lr == 0.005f && rules[2].opt[0] == 0.25f);
  char name[256];
  assert_non_null(strstr(hg_plasticity_name(&rules[0], name, sizeof name), "/lr=0.08"));
  const char *bad[] = {"softhebb+", "+softhebb", "softhebb/lr=0", "softhebb/lr=-1", "softhebb+nope"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (hg_plasticity_parse_list(bad[i], rules, HG_MAX_RULES) != -1) fail_msg("'%s' was accepted", bad[i]);
  hgt_error_mentions("nope", NULL);

  hg_net *net = hg_net_softhebb(3, 32, 10, NULL, 1);
  hgt_status(hg_net_set_modes(net, "HHH-G"));
  hg_trainer_opts to = {.backprop = hg_adam_opts(1e-3f, 0), .adam = true, .hebb_lr = 0.5f};
  assert_int_equal(hg_plasticity_parse_list("softhebb+softhebb", rules, HG_MAX_RULES), 2);
  assert_null(hg_trainer_new_rules(net, rules, 2, &to));
  hgt_error_mentions("conv3", "2 rules");
  assert_int_equal(hg_plasticity_parse_list(SOFTHEBB_RULES, rules, HG_MAX_RULES), 3);
  hg_trainer *t = hg_trainer_new_rules(net, rules, 3, &to);
  assert_non_null(t);
  assert_true(hg_optim_lr(t->opt_h, 0) == 0.08f && hg_optim_lr(t->opt_h, 1) == 0.005f &&
              hg_optim_lr(t->opt_h, 2) == 0.01f);
  assert_true(t->plasticity[12].opt[0] == 0.25f);
  hg_trainer_free(t);
  assert_int_equal(hg_plasticity_parse_list("softhebb/t=2", rules, HG_MAX_RULES), 1);
  t = hg_trainer_new_rules(net, rules, 1, &to); /* one rule serves all, at --hebb-lr */
  assert_non_null(t);
  for (int g = 0; g < 3; g++) assert_true(hg_optim_lr(t->opt_h, g) == 0.5f);
  assert_true(t->plasticity[2].opt[0] == 2.0f && t->plasticity[12].opt[0] == 2.0f);
  hg_trainer_free(t);
  hg_net_free(net);
}

/* Freezing ends at the last Hebbian block: the classifier's dropout keeps
 * working, and a batch norm belongs to the block whose input it normalises. */
static void test_freeze_hebbian(void **state) {
  (void)state;
  hg_net *net = hg_net_softhebb(3, 32, 10, NULL, 1);
  hgt_status(hg_net_set_modes(net, "HHH-G"));
  hg_plasticity rule;
  hgt_status(hg_plasticity_parse("softhebb", &rule));
  hg_trainer_opts to = {.backprop = hg_adam_opts(1e-3f, 0), .adam = true, .hebb_lr = 0.01f};
  hg_trainer *t = hg_trainer_new(net, &rule, &to);
  assert_int_equal(hg_trainer_freeze_hebbian(t), 15); /* bn1 .. pool3 */
  for (int i = 0; i < 15; i++) assert_int_equal(net->layers[i]->mode, HG_TRAIN_F);
  assert_int_equal(net->layers[17]->mode, HG_TRAIN_B);
  assert_int_equal(hg_fit_fixed_prefix(net), 15);
  hg_trainer_free(t);
  /* greedy: conv1's block ends at pool1; bn2 normalises conv2's input and learns its statistics with it */
  hgt_status(hg_net_set_modes(net, "HHH-G"));
  t = hg_trainer_new(net, &rule, &to);
  assert_int_equal(hg_trainer_freeze_upto(t, 2), 5);
  assert_int_equal(net->layers[4]->mode, HG_TRAIN_F);
  assert_int_equal(net->layers[5]->mode, HG_TRAIN_B);
  assert_int_equal(net->layers[7]->mode, HG_TRAIN_H);
  hg_trainer_free(t);
  hgt_status(hg_net_set_modes(net, "BHH-G"));
  t = hg_trainer_new(net, &rule, &to);
  assert_int_equal(hg_trainer_freeze_hebbian(t), -1);
  hgt_error_mentions("conv1", "backprop");
  hg_trainer_free(t);
  hg_net_free(net);
}

static hg_dataset *cifar_slice(bool train, int n) {
  char dir[512];
  snprintf(dir, sizeof dir, "%s/data", hgt_shared_dir());
  hg_dataset *all = hg_dataset_load("cifar10", dir, train);
  if (!all) return NULL;
  int *idx = malloc((size_t)n * sizeof *idx);
  for (int i = 0; i < n; i++) idx[i] = i;
  hg_dataset *part = hg_dataset_subset(all, idx, n);
  free(idx);
  hg_dataset_free(all);
  return part;
}

/* Relative change ‖W − W0‖ / ‖W0‖. */
static double moved(const hg_tensor *w, const hg_tensor *w0) {
  double d = 0, n = 0;
  for (size_t i = 0; i < w->numel; i++) {
    d += ((double)w->data[i] - w0->data[i]) * ((double)w->data[i] - w0->data[i]);
    n += (double)w0->data[i] * w0->data[i];
  }
  return sqrt(d / n);
}

/* The protocol on 1000 training images: the Hebbian layers move, no
 * gradient reaches them in the classifier phase, and the classifier on the
 * cached features beats chance (10 %) clearly. */
static void test_softhebb_protocol_small(void **state) {
  (void)state;
  char probe[600];
  snprintf(probe, sizeof probe, "%s/data/cifar-10-batches-bin/test_batch.bin", hgt_shared_dir());
  if (access(probe, R_OK) != 0) {
    print_message("skipped: %s not found\n", probe);
    skip();
  }
  hg_dataset *train = cifar_slice(true, 1000), *test = cifar_slice(false, 500);
  assert_true(train && test);
  hg_net *net = hg_net_softhebb(3, 32, 10, NULL, 1);
  hgt_status(hg_net_set_modes(net, "HHH-G"));
  hg_plasticity rules[HG_MAX_RULES];
  assert_int_equal(hg_plasticity_parse_list(SOFTHEBB_RULES, rules, HG_MAX_RULES), 3);
  hg_trainer_opts to = {.backprop = hg_adam_opts(1e-3f, 0), .adam = true, .hebb_lr = 1};
  hg_trainer *t = hg_trainer_new_rules(net, rules, 3, &to);
  assert_non_null(t);
  const int convs[3] = {2, 7, 12};
  hg_tensor *before[3];
  for (int k = 0; k < 3; k++) before[k] = hgt_ok(hg_tensor_clone(net->layers[convs[k]]->weight));
  hg_fit_opts f = hg_fit_defaults();
  f.phase = HG_PHASE_HEBB;
  f.batch = 10;
  f.log = NULL;
  hgt_status(hg_fit(t, train, NULL, &f, NULL));
  for (int k = 0; k < 3; k++) {
    double m = moved(net->layers[convs[k]]->weight, before[k]);
    print_message("conv%d moved %.1f%%\n", k + 1, 100 * m);
    assert_true(m > 0.01);
    hg_tensor_free(before[k]);
    before[k] = hgt_ok(hg_tensor_clone(net->layers[convs[k]]->weight));
  }
  assert_int_equal(hg_trainer_freeze_hebbian(t), 15);
  f.phase = HG_PHASE_BACKPROP;
  f.batch = 64;
  f.epochs = 10;
  hgt_status(hg_fit_skip_fixed(t, train, NULL, &f, NULL));
  for (int k = 0; k < 3; k++) { /* no gradient reached a conv layer */
    assert_memory_equal(net->layers[convs[k]]->weight->data, before[k]->data, before[k]->numel * sizeof(float));
    hg_tensor_free(before[k]);
  }
  hg_eval ev;
  hgt_status(hg_evaluate(net, test, 100, &ev));
  print_message("test accuracy %.1f%% on 500 images\n", 100 * ev.top1);
  assert_true(ev.top1 > 0.25);
  hg_trainer_free(t);
  hg_net_free(net);
  hg_dataset_free(train);
  hg_dataset_free(test);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_net_as_the_reference),
      cmocka_unit_test(test_rules_per_layer),
      cmocka_unit_test(test_freeze_hebbian),
      cmocka_unit_test(test_softhebb_protocol_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
