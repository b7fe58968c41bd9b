/* The one training loop: hybrid networks keep the cross-entropy out of
 * Hebbian layers, frozen layers do not move, Hebbian layers cost no
 * backward-data work, a resumed run takes exactly the same steps, and
 * training above a frozen prefix computed once equals training through it,
 * and a short last batch's padding rows take no part in a step. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hebb/fit.h"
#include "tests/helpers.h"

enum { BATCH = 8, CLASSES = 3 };

/* conv1 relu1 bn1 conv2 relu2 flatten fc3: three layers with weights. */
static hg_net *tiny_net(uint64_t seed) {
  hg_net *net = hg_net_new(seed);
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv1", 3, 4, 3, 1, 0, false, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu1")));
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn1", 4, true, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv2", 4, 5, 3, 2, 1, true, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu2")));
  hgt_status(hg_net_add(net, hg_layer_flatten("flatten")));
  hgt_status(hg_net_add(net, hg_layer_linear("fc3", 5 * 3 * 3, CLASSES, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  return net;
}

static hg_trainer *trainer(hg_net *net, const char *modes) {
  hgt_status(hg_net_set_modes(net, modes));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("instar/e-soft-wta:0.5/mean", &p));
  hg_trainer_opts o = {.backprop = hg_sgd_opts(0.05f, 0.9f, 5e-2f, true), .hebb_lr = 0.05f};
  hg_trainer *t = hg_trainer_new(net, &p, &o);
  if (!t) fail_msg("trainer: %s", hg_last_error());
  return t;
}

static const int labels[BATCH] = {0, 1, 2, 0, 1, 2, 0, 1};

static hg_tensor *batch(uint64_t seed) { return hgt_rand(HG_SHAPE(BATCH, 3, 7, 7), -1, 1, seed); }

static void test_cross_entropy_never_reaches_hebbian_layers(void **state) {
  (void)state;
  hg_net *joint = tiny_net(5), *hebb_only = tiny_net(5);
  hg_tensor *w0 = hgt_ok(hg_tensor_clone(joint->layers[3]->weight));
  hg_trainer *a = trainer(joint, "HB-G"), *b = trainer(hebb_only, "HB-G");
  hg_tensor *x = batch(1);
  hg_step_stats st;
  for (int step = 0; step < 3; step++) {
    hgt_status(hg_trainer_step(a, x, labels, BATCH, HG_PHASE_JOINT, &st));
    assert_true(st.ce_loss > 0);
    hgt_status(hg_trainer_step(b, x, labels, BATCH, HG_PHASE_HEBB, NULL));
  }
  /* conv1 learned only from its own rule: the same with or without cross-entropy */
  assert_memory_equal(joint->layers[0]->weight->data, hebb_only->layers[0]->weight->data,
                      joint->layers[0]->weight->numel * sizeof(float));
  /* while conv2, a B layer, did learn from the cross-entropy */
  assert_memory_not_equal(joint->layers[3]->weight->data, w0->data, w0->numel * sizeof(float));
  assert_memory_equal(hebb_only->layers[3]->weight->data, w0->data, w0->numel * sizeof(float));
  hg_tensor_free(w0);
  hg_tensor_free(x);
  hg_trainer_free(a);
  hg_trainer_free(b);
  hg_net_free(joint);
  hg_net_free(hebb_only);
}

static void test_frozen_layers_do_not_move(void **state) {
  (void)state;
  hg_net *net = tiny_net(6);
  hg_trainer *t = trainer(net, "FB-G");
  hg_tensor *w = hgt_ok(hg_tensor_clone(net->layers[0]->weight));
  hg_tensor *mean = hgt_ok(hg_tensor_clone(net->layers[2]->running_mean));
  hg_tensor *gamma = hgt_ok(hg_tensor_clone(net->layers[2]->weight));
  hg_tensor *x = batch(2);
  for (int step = 0; step < 3; step++) hgt_status(hg_trainer_step(t, x, labels, BATCH, HG_PHASE_JOINT, NULL));
  assert_memory_equal(net->layers[0]->weight->data, w->data, w->numel * sizeof(float));
  assert_memory_equal(net->layers[2]->running_mean->data, mean->data, mean->numel * sizeof(float));
  assert_memory_equal(net->layers[2]->weight->data, gamma->data, gamma->numel * sizeof(float));
  hg_tensor_free(w);
  hg_tensor_free(mean);
  hg_tensor_free(gamma);
  hg_tensor_free(x);
  hg_trainer_free(t);
  hg_net_free(net);
}

static void kernel_counts(const char *modes, long *data, long *weights) {
  hg_net *net = tiny_net(7);
  hg_trainer *t = trainer(net, modes);
  hg_tensor *x = batch(3);
  hg_kernel_stats_reset();
  hgt_status(hg_trainer_step(t, x, labels, BATCH, HG_PHASE_JOINT, NULL));
  *data = hg_kstats.conv_backward_data;
  *weights = hg_kstats.conv_backward_weights;
  hg_tensor_free(x);
  hg_trainer_free(t);
  hg_net_free(net);
}

static void test_hebbian_layers_run_no_backward_data(void **state) {
  (void)state;
  long data, weights;
  kernel_counts("HH-G", &data, &weights);
  assert_int_equal(data, 0); /* both convolutions Hebbian: no backward-data at all */
  assert_int_equal(weights, 2);
  kernel_counts("BB-G", &data, &weights);
  assert_int_equal(data, 1); /* conv2 passes the gradient down to conv1; the input needs none */
  assert_int_equal(weights, 2);
}

static hg_dataset *synthetic(int n) {
  hg_dataset *ds = hg_dataset_new(n, 3, 7, 7, CLASSES, "synthetic");
  hg_rng rng;
  hg_rng_seed(&rng, 9, 0);
  for (int i = 0; i < n; i++) {
    ds->labels[i] = i % CLASSES;
    for (int j = 0; j < 3 * 49; j++)
      ds->images->data[(size_t)i * 147 + j] = hg_rng_uniform(&rng) + (j % CLASSES == ds->labels[i]);
  }
  return ds;
}

/* A quiet fit of `epochs` on the synthetic data in batches of BATCH. */
static hg_fit_opts quiet_fit(int epochs) {
  hg_fit_opts o = hg_fit_defaults();
  o.epochs = epochs;
  o.batch = BATCH;
  o.log = NULL;
  hgt_status(hg_schedule_parse("seeds:1:1", &o.schedule));
  return o;
}

/* A copy of the net's parameters; frees the run. */
static hg_tensor *copy_and_free(hg_net *net, hg_trainer *t, hg_dataset *train, hg_dataset *val) {
  hg_tensor *copy = hgt_ok(hg_tensor_clone(net->param_slab));
  hg_dataset_free(train);
  hg_dataset_free(val);
  hg_trainer_free(t);
  hg_net_free(net);
  return copy;
}

static hg_tensor *fit_and_copy(const char *dir, int epochs, bool resume) {
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "BB-G");
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_fit_opts o = quiet_fit(epochs);
  o.run_dir = dir;
  o.resume = resume;
  hg_fit_result res;
  hgt_status(hg_fit(t, train, val, &o, &res));
  assert_int_equal(res.epochs_run, epochs);
  char path[256];
  snprintf(path, sizeof path, "%s/last.safetensors", dir);
  hgt_status(hg_trainer_load(t, path, NULL, NULL, NULL)); /* the last, not the best, weights */
  return copy_and_free(net, t, train, val);
}

/* A failure before a run is not reported after it: a successful hg_fit
 * leaves hg_last_status() HG_OK and hg_last_error() empty. */
static void test_success_clears_a_stale_error(void **state) {
  (void)state;
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "BB-G");
  hg_dataset *train = synthetic(16), *val = synthetic(8);
  hg_fit_opts o = quiet_fit(1);
  hg_fail(HG_ERR_IO, "an earlier failure");
  hgt_status(hg_fit(t, train, val, &o, NULL));
  assert_int_equal(hg_last_status(), HG_OK);
  assert_string_equal(hg_last_error(), "");
  hg_tensor_free(copy_and_free(net, t, train, val));
}

/* The first line of log that starts with "epoch ", into line. */
static void epoch_line(FILE *log, char *line, int size) {
  rewind(log);
  while (fgets(line, size, log))
    if (!strncmp(line, "epoch ", 6)) return;
  fail_msg("no epoch line in the log");
}

/* A Hebbian epoch's line says what it measured (loss, throughput, how far
 * the weights moved: ||W - W0|| / ||W0||) and no accuracy, since nothing was
 * validated under an SGD classifier; its epochs.csv row leaves them empty. An
 * SGD epoch prints its training and validation accuracy and learning rate. */
static void test_epoch_lines_print_only_what_was_measured(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_epoch_log_XXXXXX", path[96], line[512];
  assert_non_null(mkdtemp(dir));
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "HB-G");
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_tensor *w0 = hgt_ok(hg_tensor_clone(net->layers[0]->weight));
  FILE *log = tmpfile();
  assert_non_null(log);
  hg_fit_opts o = quiet_fit(1);
  o.log = log;
  o.phase = HG_PHASE_HEBB;
  o.run_dir = dir;
  hgt_status(hg_fit(t, train, val, &o, NULL));
  double d2 = 0, b2 = 0;
  for (size_t i = 0; i < w0->numel; i++) {
    double d = net->layers[0]->weight->data[i] - w0->data[i];
    d2 += d * d;
    b2 += (double)w0->data[i] * w0->data[i];
  }
  epoch_line(log, line, sizeof line);
  double loss, rate, moved;
  assert_int_equal(sscanf(line, "epoch 1: hebbian loss %lf %lf img/s weights moved %lf%%", &loss, &rate, &moved), 3);
  assert_true(moved > 0 && fabs(moved - 100 * sqrt(d2 / b2)) <= 1e-3 * moved + 1e-9);
  assert_null(strstr(line, "train"));
  assert_null(strstr(line, "val"));
  snprintf(path, sizeof path, "%s/epochs.csv", dir);
  char *csv = hgt_read_all(path);
  assert_non_null(strstr(csv, "\n1,"));
  assert_non_null(strstr(csv, ",,,\n")); /* train_top1, val_top1, lr: not measured */
  free(csv);
  fclose(log);
  log = tmpfile();
  assert_non_null(log);
  o.log = log;
  o.phase = HG_PHASE_BACKPROP;
  o.run_dir = NULL;
  hgt_status(hg_fit(t, train, val, &o, NULL));
  epoch_line(log, line, sizeof line);
  double train_acc, lr, val_acc;
  assert_int_equal(sscanf(line, "epoch 1: loss %lf train %lf%% lr %lf val %lf%%", &loss, &train_acc, &lr, &val_acc), 4);
  fclose(log);
  hg_tensor_free(w0);
  hg_tensor_free(copy_and_free(net, t, train, val));
  assert_int_equal(hgt_rmtree(dir), 0);
}

static void test_resume_gives_the_same_steps(void **state) {
  (void)state;
  char a[] = "/tmp/hg_resume_a_XXXXXX", b[] = "/tmp/hg_resume_b_XXXXXX";
  assert_non_null(mkdtemp(a));
  assert_non_null(mkdtemp(b));
  hg_tensor *straight = fit_and_copy(a, 3, false);
  hg_tensor_free(fit_and_copy(b, 1, false)); /* interrupted after one epoch */
  hg_tensor *resumed = fit_and_copy(b, 3, true);
  assert_memory_equal(straight->data, resumed->data, straight->numel * sizeof(float));
  hg_tensor_free(straight);
  hg_tensor_free(resumed);
  assert_int_equal(hgt_rmtree(a), 0);
  assert_int_equal(hgt_rmtree(b), 0);
}

/* Copy checkpoint src to dst with metadata `key` set to value (NULL: left out). */
static void rewrite_meta(const char *src, const char *dst, const char *key, const char *value) {
  hg_checkpoint *ck = hg_checkpoint_open(src);
  assert_non_null(ck);
  int n = hg_checkpoint_count(ck);
  const char *names[64], *keys[8], *values[8];
  hg_tensor *tensors[64];
  assert_true(n <= 64);
  for (int i = 0; i < n; i++) {
    names[i] = hg_checkpoint_entry_at(ck, i)->name;
    tensors[i] = hgt_ok(hg_checkpoint_tensor(ck, names[i]));
  }
  const char *all[] = {"epoch", "best_val", "best_epoch", "rng_state", "rng_inc", "format"};
  int m = 0;
  for (int i = 0; i < 6; i++) {
    const char *v = strcmp(all[i], key) ? hg_checkpoint_meta(ck, all[i]) : value;
    if (v) keys[m] = all[i], values[m++] = v;
  }
  hgt_status(hg_checkpoint_save(dst, n, names, tensors, m, keys, values));
  for (int i = 0; i < n; i++) hg_tensor_free(tensors[i]);
  hg_checkpoint_close(ck);
}

/* Damaged metadata is refused by name, before any weight changes; a run
 * resumed from further than it was asked to go is refused too. */
static void test_resume_checks_the_checkpoint(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_resume_bad_XXXXXX", good[128], bad[128];
  assert_non_null(mkdtemp(dir));
  hg_tensor_free(fit_and_copy(dir, 2, false));
  snprintf(good, sizeof good, "%s/last.safetensors", dir);
  snprintf(bad, sizeof bad, "%s/bad.safetensors", dir);
  const struct { const char *key, *value; } cases[] = {
      {"epoch", "-5"},         {"epoch", "abc"},         {"epoch", "1e30"},      {"epoch", NULL},
      {"epoch", "1.5"},        {"best_val", "nan"},      {"best_epoch", "3"},    {"rng_state", "x1"},
      {"rng_inc", "4"},        {"format", "other-2"},    {"format", NULL},
  };
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "BB-G");
  hg_tensor *w0 = hgt_ok(hg_tensor_clone(net->param_slab));
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    rewrite_meta(good, bad, cases[i].key, cases[i].value);
    int epoch = -1;
    assert_int_not_equal(hg_trainer_load(t, bad, &epoch, NULL, NULL), HG_OK);
    hgt_error_mentions(bad, cases[i].key);
    assert_int_equal(epoch, -1);
    assert_memory_equal(w0->data, net->param_slab->data, w0->numel * sizeof(float));
  }
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_fit_opts o = quiet_fit(1);
  o.run_dir = dir;
  o.resume = true;
  assert_int_equal(hg_fit(t, train, val, &o, NULL), HG_ERR_ARG);
  hgt_error_mentions("after epoch 2", "1 epochs");
  hg_tensor_free(w0);
  hg_tensor_free(copy_and_free(net, t, train, val));
  assert_int_equal(hgt_rmtree(dir), 0);
}

/* A learning rate that blows the weights up stops the run at the step it
 * happens, naming epoch, step and layer; the last finished epoch's checkpoint
 * stays loadable. With check_finite a layer's non-finite output is named. */
static void test_divergence_is_placed(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_diverge_XXXXXX", last[128];
  assert_non_null(mkdtemp(dir));
  hg_tensor_free(fit_and_copy(dir, 1, false));
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "BB-G");
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_fit_opts o = quiet_fit(2);
  o.run_dir = dir;
  o.resume = true;
  o.base_lr = 1e38f;
  assert_int_equal(hg_fit(t, train, val, &o, NULL), HG_ERR_NUMERIC);
  hgt_error_mentions("epoch 2, step ", "training diverged");
  hgt_error_mentions("last.safetensors keeps", NULL);
  assert_null(strstr(strstr(hg_last_error(), "training diverged") + 1, "training diverged"));
  snprintf(last, sizeof last, "%s/last.safetensors", dir);
  int epoch = 0;
  hgt_status(hg_trainer_load(t, last, &epoch, NULL, NULL));
  assert_int_equal(epoch, 1);
  net->check_finite = true;
  hg_tensor *x = batch(3);
  x->data[5] = NAN;
  assert_null(hg_net_forward(net, x, false));
  hgt_error_mentions("layer 0 'conv1'", "output holds nan");
  hg_tensor_free(x);
  hg_tensor_free(copy_and_free(net, t, train, val));
  assert_int_equal(hgt_rmtree(dir), 0);
}

/* A loss far above chance but finite (Adam at lr 1e6) is trained through,
 * with a warning in the log. */
static void test_a_huge_loss_is_warned_about(void **state) {
  (void)state;
  hg_net *net = tiny_net(8);
  hgt_status(hg_net_set_modes(net, "BB-G"));
  hg_trainer_opts to = {.backprop = hg_adam_opts(1e6f, 0), .adam = true};
  hg_trainer *t = hg_trainer_new(net, NULL, &to);
  assert_non_null(t);
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_fit_opts o = quiet_fit(1);
  o.base_lr = 1e6f;
  char *text = NULL;
  size_t size = 0;
  o.log = open_memstream(&text, &size);
  hg_status s = hg_fit(t, train, val, &o, NULL);
  fclose(o.log);
  hgt_status(s);
  assert_non_null(strstr(text, "far above chance level"));
  free(text);
  hg_tensor_free(copy_and_free(net, t, train, val));
}

/* A non-finite parameter after a step is named by its layer, even one the
 * step did not compute (here fc3 during the Hebbian phase). */
static void test_nonfinite_weights_are_named(void **state) {
  (void)state;
  hg_net *net = tiny_net(8);
  hg_trainer *t = trainer(net, "HB-G");
  net->layers[6]->weight->data[3] = INFINITY;
  hg_dataset *train = synthetic(40);
  hg_fit_opts o = quiet_fit(1);
  o.phase = HG_PHASE_HEBB;
  assert_int_equal(hg_fit(t, train, NULL, &o, NULL), HG_ERR_NUMERIC);
  hgt_error_mentions("epoch 1, step 1", "layer 'fc3': its weight holds inf");
  hg_tensor_free(copy_and_free(net, t, train, NULL));
}

/* The weights hg_fit (or hg_fit_skip_fixed) leaves after 3 epochs, the
 * convolution forwards it ran and the net's fixed prefix. */
static hg_tensor *fit_weights(const char *modes, bool skip, long *conv_forwards, int *prefix) {
  hg_net *net = tiny_net(10);
  hg_trainer *t = trainer(net, modes);
  *prefix = hg_fit_fixed_prefix(net);
  hg_dataset *train = synthetic(40), *val = synthetic(12);
  hg_fit_opts o = quiet_fit(3);
  hg_fit_result res;
  hg_kernel_stats_reset();
  hgt_status(skip ? hg_fit_skip_fixed(t, train, val, &o, &res) : hg_fit(t, train, val, &o, &res));
  *conv_forwards = hg_kstats.conv_forward;
  assert_int_equal(net->first, 0);
  return copy_and_free(net, t, train, val);
}

/* Skipping the frozen prefix: the same weights as running it every epoch,
 * with fewer convolutions; a prefix ending in flatten stops before it. */
static void test_skipping_the_fixed_prefix(void **state) {
  (void)state;
  const char *modes[2] = {"FB-G", "FF-G"};
  const int want_prefix[2] = {3, 6};
  for (int m = 0; m < 2; m++) {
    long plain_convs, skip_convs;
    int prefix;
    hg_tensor *plain = fit_weights(modes[m], false, &plain_convs, &prefix);
    assert_int_equal(prefix, want_prefix[m]);
    hg_tensor *skip = fit_weights(modes[m], true, &skip_convs, &prefix);
    hgt_close(skip->data, plain->data, plain->numel, 1e-4f, 1e-6f);
    assert_true(skip_convs < plain_convs);
    hg_tensor_free(plain);
    hg_tensor_free(skip);
  }
}

/* A short last batch arrives padded to the batch size; the step must learn
 * as from its `count` images alone: padding rows reach neither batch norm's
 * statistics nor a Hebbian sum nor the cross-entropy. */
static void test_padding_rows_do_not_train(void **state) {
  (void)state;
  enum { COUNT = 5 };
  hg_net *padded = tiny_net(10), *exact = tiny_net(10);
  hg_trainer *a = trainer(padded, "HB-G"), *b = trainer(exact, "HB-G");
  hg_tensor *x = batch(7);
  size_t per = x->numel / BATCH;
  for (size_t i = COUNT * per; i < x->numel; i++) x->data[i] = 100.0f; /* padding */
  hg_tensor *x5 = hgt_ok(hg_tensor_empty(HG_SHAPE(COUNT, 3, 7, 7)));
  memcpy(x5->data, x->data, COUNT * per * sizeof(float));
  hg_step_stats sa, sb;
  for (int step = 0; step < 2; step++) {
    hgt_status(hg_trainer_step(a, x, labels, COUNT, HG_PHASE_JOINT, &sa));
    hgt_status(hg_trainer_step(b, x5, labels, COUNT, HG_PHASE_JOINT, &sb));
    assert_float_equal(sa.ce_loss, sb.ce_loss, 0);
    assert_float_equal(sa.hebb_loss, sb.hebb_loss, 0);
  }
  for (int i = 0; i < padded->n; i++) {
    hg_layer *p = padded->layers[i], *e = exact->layers[i];
    if (p->weight) hgt_close(p->weight->data, e->weight->data, p->weight->numel, 1e-6f, 1e-7f);
    if (p->running_var) hgt_close(p->running_var->data, e->running_var->data, p->running_var->numel, 1e-6f, 1e-7f);
    if (p->running_mean)
      hgt_close(p->running_mean->data, e->running_mean->data, p->running_mean->numel, 1e-6f, 1e-7f);
  }
  hg_tensor_free(x);
  hg_tensor_free(x5);
  hg_trainer_free(a);
  hg_trainer_free(b);
  hg_net_free(padded);
  hg_net_free(exact);
}

static void test_bad_modes_are_reported(void **state) {
  (void)state;
  hg_net *net = tiny_net(9);
  assert_int_equal(hg_net_set_modes(net, "HBB-G"), HG_ERR_ARG);
  assert_non_null(strstr(hg_last_error(), "3 layers with weights"));
  assert_int_equal(hg_net_set_modes(net, "HX-G"), HG_ERR_ARG);
  assert_non_null(strstr(hg_last_error(), "'X'"));
  hg_net_free(net);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cross_entropy_never_reaches_hebbian_layers),
      cmocka_unit_test(test_frozen_layers_do_not_move),
      cmocka_unit_test(test_hebbian_layers_run_no_backward_data),
      cmocka_unit_test(test_success_clears_a_stale_error),
      cmocka_unit_test(test_epoch_lines_print_only_what_was_measured),
      cmocka_unit_test(test_resume_gives_the_same_steps),
      cmocka_unit_test(test_resume_checks_the_checkpoint),
      cmocka_unit_test(test_divergence_is_placed),
      cmocka_unit_test(test_nonfinite_weights_are_named),
      cmocka_unit_test(test_a_huge_loss_is_warned_about),
      cmocka_unit_test(test_skipping_the_fixed_prefix),
      cmocka_unit_test(test_padding_rows_do_not_train),
      cmocka_unit_test(test_bad_modes_are_reported),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
