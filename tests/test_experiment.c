/* The experiment building blocks: class-balanced label subsets (right counts,
 * deterministic), result lookup in a results CSV, the table writers, loading
 * a trained net layer by layer, modes, batch-norm re-estimation, probes
 * trained on features computed once, pre-training the lower layers only. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "experiment/experiment.h"
#include "tests/helpers.h"

static char tmpdir[64];

static int setup(void **state) {
  (void)state;
  return hgt_tmpdir(tmpdir, sizeof tmpdir, "hg_experiment");
}

static int teardown(void **state) {
  (void)state;
  return hgt_rmtree(tmpdir);
}

/* n labels: image i has class (i * 7) % classes, with class 0 made rare when `rare`. */
static int *make_labels(int n, int classes, bool rare) {
  int *labels = malloc((size_t)n * sizeof *labels);
  for (int i = 0; i < n; i++) labels[i] = (i * 7) % classes;
  if (rare)
    for (int i = 0, zeros = 0; i < n; i++)
      if (labels[i] == 0 && ++zeros > 3) labels[i] = 1;
  return labels;
}

static void count_classes(const int *labels, const int *idx, int n, int classes, int *counts) {
  memset(counts, 0, (size_t)classes * sizeof *counts);
  for (int i = 0; i < n; i++) counts[labels[idx[i]]]++;
}

static void test_balanced_subset_has_equal_classes(void **state) {
  (void)state;
  int *labels = make_labels(1000, 10, false), idx[100], counts[10];
  int n = hg_experiment_balanced_indices(labels, 1000, 10, 50, 3, idx);
  assert_int_equal(n, 50);
  count_classes(labels, idx, n, 10, counts);
  for (int c = 0; c < 10; c++) assert_int_equal(counts[c], 5);
  for (int i = 1; i < n; i++) assert_true(idx[i] > idx[i - 1]); /* ascending, no repeats */
  /* 53 = 10 × 5 + 3: three classes, drawn by the seed, get one more */
  n = hg_experiment_balanced_indices(labels, 1000, 10, 53, 3, idx);
  assert_int_equal(n, 53);
  count_classes(labels, idx, n, 10, counts);
  int sixes = 0;
  for (int c = 0; c < 10; c++) {
    assert_true(counts[c] == 5 || counts[c] == 6);
    sixes += counts[c] == 6;
  }
  assert_int_equal(sixes, 3);
  free(labels);
}

static void test_balanced_subset_is_deterministic(void **state) {
  (void)state;
  int *labels = make_labels(500, 5, false), a[40], b[40], c[40];
  assert_int_equal(hg_experiment_balanced_indices(labels, 500, 5, 40, 11, a), 40);
  assert_int_equal(hg_experiment_balanced_indices(labels, 500, 5, 40, 11, b), 40);
  assert_int_equal(hg_experiment_balanced_indices(labels, 500, 5, 40, 12, c), 40);
  assert_memory_equal(a, b, sizeof a);
  assert_memory_not_equal(a, c, sizeof a);
  free(labels);
}

static void test_balanced_subset_short_class_and_bad_label(void **state) {
  (void)state;
  int *labels = make_labels(200, 4, true), idx[40], counts[4];
  int n = hg_experiment_balanced_indices(labels, 200, 4, 40, 1, idx);
  assert_int_equal(n, 33); /* class 0 has only 3 images */
  count_classes(labels, idx, n, 4, counts);
  assert_int_equal(counts[0], 3);
  for (int c = 1; c < 4; c++) assert_int_equal(counts[c], 10);
  labels[5] = 9;
  assert_int_equal(hg_experiment_balanced_indices(labels, 200, 4, 40, 1, idx), -1);
  hgt_error_mentions("label 9", NULL);
  free(labels);
}

static void test_label_subset_of_a_dataset(void **state) {
  (void)state;
  hg_dataset *ds = hg_dataset_new(300, 1, 2, 2, 3, "toy");
  assert_non_null(ds);
  for (int i = 0; i < 300; i++) {
    ds->labels[i] = i % 3;
    for (int k = 0; k < 4; k++) ds->images->data[i * 4 + k] = (float)i;
  }
  hg_dataset *sub = hg_experiment_label_subset(ds, 5, 2);
  assert_non_null(sub);
  assert_int_equal(sub->count, 15);
  int counts[3] = {0};
  for (int i = 0; i < sub->count; i++) {
    counts[sub->labels[i]]++;
    int original = (int)sub->images->data[i * 4]; /* images travel with their labels */
    assert_int_equal(original % 3, sub->labels[i]);
  }
  for (int c = 0; c < 3; c++) assert_int_equal(counts[c], 5);
  hg_dataset *all = hg_experiment_label_subset(ds, 100, 2);
  assert_int_equal(all->count, 300);
  assert_null(hg_experiment_label_subset(ds, 0, 2));
  hg_dataset_free(sub);
  hg_dataset_free(all);
  hg_dataset_free(ds);
}

static void test_results_append_and_find_the_last_row(void **state) {
  (void)state;
  char prefix[128], csv[160], out[32];
  hgt_path(tmpdir, "cells", prefix, sizeof prefix);
  snprintf(csv, sizeof csv, "%s.csv", prefix);
  const char *cols[] = {"source", "layer", "method", "test_top1"};
  hg_results *r = hg_results_open(prefix, 4, cols);
  assert_non_null(r);
  const char *rows[][4] = {{"a,b", "1", "sgd", "0.5"}, {"a,b", "1", "shc", "0.25"}, {"a,b", "1", "sgd", "0.75"},
                           {"c", "2", "sgd", "0.125"}, {"say \"hi\", then", "3", "sgd", "0.0625"}};
  for (int i = 0; i < 5; i++) hgt_status(hg_results_row(r, rows[i]));
  hg_results_close(r);
  const char *keys[] = {"source", "layer", "method"};
  const char *want[] = {"a,b", "1", "sgd"};
  assert_true(hg_experiment_find_result(csv, 3, keys, want, "test_top1", out, sizeof out));
  assert_string_equal(out, "0.75");
  const char *want2[] = {"c", "2", "sgd"};
  assert_true(hg_experiment_find_result(csv, 3, keys, want2, "test_top1", out, sizeof out));
  assert_string_equal(out, "0.125");
  const char *quoted[] = {"say \"hi\", then", "3", "sgd"}; /* quotes and commas survive the round trip */
  assert_true(hg_experiment_find_result(csv, 3, keys, quoted, "test_top1", out, sizeof out));
  assert_string_equal(out, "0.0625");
  const char *missing[] = {"c", "3", "sgd"};
  assert_false(hg_experiment_find_result(csv, 3, keys, missing, "test_top1", out, sizeof out));
  assert_false(hg_experiment_find_result(csv, 3, keys, want, "no_such_column", out, sizeof out));
  assert_false(hg_experiment_find_result("/nonexistent/cells.csv", 3, keys, want, "test_top1", out, sizeof out));
  r = hg_results_open(prefix, 4, cols); /* the same columns append */
  assert_non_null(r);
  hg_results_close(r);
  const char *other[] = {"source", "layer", "method", "epochs", "test_top1"};
  assert_null(hg_results_open(prefix, 5, other)); /* another header: refused, file unchanged */
  hgt_error_mentions("cells.csv", "source,layer,method,epochs,test_top1");
  assert_true(hg_experiment_find_result(csv, 3, keys, want, "test_top1", out, sizeof out));
  assert_string_equal(out, "0.75");
}

/* Processes that append to one results file at once (an MPI job's ranks):
 * the header once, every row whole, none lost. */
static void test_results_appended_by_several_processes(void **state) {
  (void)state;
  enum { PROCS = 8, ROWS = 25 };
  char prefix[128], csv[160], line[256];
  hgt_path(tmpdir, "shared", prefix, sizeof prefix);
  snprintf(csv, sizeof csv, "%s.csv", prefix);
  const char *cols[] = {"proc", "row", "text", "test_top1"};
  for (int p = 0; p < PROCS; p++)
    if (fork() == 0) { /* each row through its own open, as hg_experiment_record */
      int bad = 0;
      for (int r = 0; r < ROWS; r++) {
        char pv[16], rv[16];
        snprintf(pv, sizeof pv, "%d", p);
        snprintf(rv, sizeof rv, "%d", r);
        const char *values[] = {pv, rv, "a, \"quoted\" text", "0.5"};
        hg_results *res = hg_results_open(prefix, 4, cols);
        bad |= !res || hg_results_row(res, values) != HG_OK;
        hg_results_close(res);
      }
      _exit(bad);
    }
  for (int p = 0; p < PROCS; p++) {
    int status;
    assert_true(wait(&status) > 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  FILE *f = fopen(csv, "r");
  assert_non_null(f);
  int headers = 0, rows = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strcmp(line, "proc,row,text,test_top1\n")) headers++;
    else rows += strstr(line, ",\"a, \"\"quoted\"\" text\",0.5\n") != NULL;
  }
  fclose(f);
  assert_int_equal(headers, 1);
  assert_int_equal(rows, PROCS * ROWS);
  for (int p = 0; p < PROCS; p++)
    for (int r = 0; r < ROWS; r += ROWS - 1) { /* the first and last row of each process */
      char pv[16], rv[16], out[16];
      snprintf(pv, sizeof pv, "%d", p);
      snprintf(rv, sizeof rv, "%d", r);
      const char *keys[] = {"proc", "row"}, *want[] = {pv, rv};
      assert_true(hg_experiment_find_result(csv, 2, keys, want, "test_top1", out, sizeof out));
    }
}

/* Size of the file at path (−1 when missing). */
static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* A row waits while another process holds the file's lock (flock). */
static void test_results_row_waits_for_the_lock(void **state) {
  (void)state;
  char prefix[128], csv[160];
  hgt_path(tmpdir, "locked", prefix, sizeof prefix);
  snprintf(csv, sizeof csv, "%s.csv", prefix);
  const char *cols[] = {"key", "test_top1"}, *values[] = {"k", "0.25"};
  hg_results *res = hg_results_open(prefix, 2, cols); /* the header */
  assert_non_null(res);
  hg_results_close(res);
  long before = file_size(csv);
  int fd = open(csv, O_RDONLY);
  assert_true(fd >= 0 && flock(fd, LOCK_EX) == 0);
  pid_t child = fork();
  if (child == 0) {
    hg_results *r = hg_results_open(prefix, 2, cols);
    _exit(!r || hg_results_row(r, values) != HG_OK);
  }
  usleep(300000); /* the child has had time to write, were it not waiting */
  assert_int_equal(file_size(csv), before);
  flock(fd, LOCK_UN);
  close(fd);
  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_true(file_size(csv) > before);
}

static char *write_to_string(hg_status (*writer)(const hg_table *, FILE *), const hg_table *t) {
  static char buf[1024];
  memset(buf, 0, sizeof buf);
  FILE *f = fmemopen(buf, sizeof buf - 1, "w");
  hgt_status(writer(t, f));
  fclose(f);
  return buf;
}

static hg_table *sample_table(void) {
  hg_table *t = hg_table_new(2, 3);
  assert_non_null(t);
  hgt_status(hg_table_set(t, -1, 0, "Layer"));
  hgt_status(hg_table_set(t, -1, 1, "SGD"));
  hgt_status(hg_table_set(t, -1, 2, "SHC"));
  hgt_status(hg_table_set(t, 0, 0, "L%d", 1));
  hgt_status(hg_table_set(t, 0, 1, "%.2f", 61.594));
  hgt_status(hg_table_set(t, 0, 2, "a|b"));
  hgt_status(hg_table_set(t, 1, 0, "L%d", 2));
  hgt_status(hg_table_set(t, 1, 1, "1,5 \"x\""));
  hgt_status(hg_table_set(t, 1, 2, "±1"));
  return t;
}

static void test_table_writers(void **state) {
  (void)state;
  hg_table *t = sample_table();
  assert_string_equal(write_to_string(hg_table_write_csv, t),
                      "Layer,SGD,SHC\n"
                      "L1,61.59,a|b\n"
                      "L2,\"1,5 \"\"x\"\"\",±1\n");
  assert_string_equal(write_to_string(hg_table_write_markdown, t),
                      "| Layer | SGD     | SHC  |\n"
                      "|-------|---------|------|\n"
                      "| L1    | 61.59   | a\\|b |\n"
                      "| L2    | 1,5 \"x\" | ±1   |\n");
  assert_int_equal(hg_table_set(t, 2, 0, "x"), HG_ERR_ARG);
  char prefix[128], path[160], line[64];
  hgt_path(tmpdir, "table", prefix, sizeof prefix);
  hgt_status(hg_table_save(t, prefix, "Title"));
  snprintf(path, sizeof path, "%s.md", prefix);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "Title\n");
  fclose(f);
  snprintf(path, sizeof path, "%s.csv", prefix);
  f = fopen(path, "r");
  assert_non_null(fgets(line, sizeof line, f));
  assert_string_equal(line, "Layer,SGD,SHC\n");
  fclose(f);
  hg_table_free(t);
}

/* conv1 relu1 bn1 flatten fc2 fc3: three layers with weights. */
static hg_net *tiny_net(uint64_t seed) {
  hg_net *net = hg_net_new(seed);
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv1", 1, 2, 3, 1, 0, true, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu1")));
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn1", 2, true, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_flatten("flatten")));
  hgt_status(hg_net_add(net, hg_layer_linear("fc2", 2 * 2 * 2, 4, true, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_linear("fc3", 4, 3, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  return net;
}

static void test_load_net_by_layer(void **state) {
  (void)state;
  char path[128];
  hgt_path(tmpdir, "net.safetensors", path, sizeof path);
  hg_net *a = tiny_net(1), *b = tiny_net(2);
  hg_tensor_fill(a->layers[2]->running_mean, 0.5f);
  const char *keys[] = {"setting"}, *values[] = {"toy"};
  hgt_status(hg_experiment_save_net(a, path, 1, keys, values));
  char meta[16];
  hgt_status(hg_checkpoint_read_meta(path, "setting", meta, sizeof meta));
  assert_string_equal(meta, "toy");
  /* layers [0, 4): conv1 and bn1 come from the file, fc2 and fc3 stay */
  hgt_status(hg_experiment_load_net(b, path, 4));
  assert_memory_equal(a->layers[0]->weight->data, b->layers[0]->weight->data, 2 * 9 * sizeof(float));
  assert_true(b->layers[2]->running_mean->data[1] == 0.5f);
  assert_memory_not_equal(a->layers[4]->weight->data, b->layers[4]->weight->data, 32 * sizeof(float));
  hgt_status(hg_experiment_load_net(b, path, -1));
  assert_memory_equal(a->param_slab->data, b->param_slab->data, a->param_slab->numel * sizeof(float));
  /* a net with other shapes: an error naming the tensor, nothing changed */
  hg_net *c = hg_net_new(3);
  hgt_status(hg_net_add(c, hg_layer_conv2d("conv1", 1, 3, 3, 1, 0, true, &c->rng)));
  hgt_status(hg_net_finalize(c));
  hg_tensor *before = hg_tensor_clone(c->layers[0]->weight);
  assert_int_not_equal(hg_experiment_load_net(c, path, -1), HG_OK);
  hgt_error_mentions("conv1.weight", NULL);
  assert_memory_equal(before->data, c->layers[0]->weight->data, before->numel * sizeof(float));
  assert_int_equal(hg_experiment_load_net(c, "/nonexistent.safetensors", -1), HG_ERR_IO);
  hg_tensor_free(before);
  hg_net_free(a);
  hg_net_free(b);
  hg_net_free(c);
}

static void test_set_modes(void **state) {
  (void)state;
  hg_net *net = tiny_net(4);
  hgt_status(hg_experiment_set_modes(net, 'H', 'F'));
  assert_int_equal(net->layers[0]->mode, HG_TRAIN_H);
  assert_int_equal(net->layers[2]->mode, HG_TRAIN_B); /* batch norm follows its block */
  assert_int_equal(net->layers[4]->mode, HG_TRAIN_H);
  assert_int_equal(net->layers[5]->mode, HG_TRAIN_F);
  hgt_status(hg_experiment_set_modes(net, 'B', 'G'));
  assert_int_equal(net->layers[0]->mode, HG_TRAIN_B);
  assert_int_equal(net->layers[5]->mode, HG_TRAIN_B);
  hg_net_free(net);
}

/* After re-estimation, a batch norm's running mean is the mean of its input
 * over the images used (full batches of equal size), whatever its mode. */
static void test_recalibrate_bn(void **state) {
  (void)state;
  enum { N = 40, BATCH = 8 };
  hg_net *net = tiny_net(5);
  hgt_status(hg_experiment_set_modes(net, 'F', 'F'));
  hg_dataset *ds = hg_dataset_new(N, 1, 4, 4, 3, "toy");
  hg_rng rng;
  hg_rng_seed(&rng, 9, 1);
  for (size_t i = 0; i < ds->images->numel; i++) ds->images->data[i] = hg_rng_normal(&rng) + 1.0f;
  hg_tensor *w0 = hg_tensor_clone(net->layers[0]->weight);
  hgt_status(hg_experiment_recalibrate_bn(net, ds, -1, BATCH, 0, 1));
  /* the reference: relu(conv1(x)) over every image, averaged per channel */
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *y = hg_net_forward_range(net, ds->images, 0, 2, false);
  hg_set_grad_enabled(grad);
  assert_non_null(y);
  for (int c = 0; c < 2; c++) {
    double sum = 0;
    int per = y->shape[2] * y->shape[3];
    for (int n = 0; n < N; n++)
      for (int k = 0; k < per; k++) sum += y->data[(n * 2 + c) * per + k];
    float mean = (float)(sum / (N * per));
    hgt_close(&net->layers[2]->running_mean->data[c], &mean, 1, 1e-4f, 1e-5f);
  }
  assert_true(net->layers[2]->running_var->data[0] != 1.0f);
  assert_int_equal(net->layers[2]->mode, HG_TRAIN_F);            /* modes restored */
  assert_true(net->layers[2]->cfg.norm.momentum == 0.1f);                  /* and the momentum */
  assert_memory_equal(w0->data, net->layers[0]->weight->data, w0->numel * sizeof(float));
  assert_int_equal(hg_experiment_recalibrate_bn(net, ds, -1, N + 1, 0, 1), HG_ERR_ARG);
  hg_tensor_free(y);
  hg_tensor_free(w0);
  hg_net_clear_outputs(net);
  hg_net_free(net);
  hg_dataset_free(ds);
}

/* Linked with -Wl,--wrap=hg_batcher_new (CMakeLists.txt): fails on request,
 * as an allocation inside the batcher would. */
hg_batcher *__real_hg_batcher_new(const hg_dataset *ds, int batch_size, bool shuffle, uint64_t seed);
hg_batcher *__wrap_hg_batcher_new(const hg_dataset *ds, int batch_size, bool shuffle, uint64_t seed);
static bool batcher_fails;
hg_batcher *__wrap_hg_batcher_new(const hg_dataset *ds, int batch_size, bool shuffle, uint64_t seed) {
  if (!batcher_fails) return __real_hg_batcher_new(ds, batch_size, shuffle, seed);
  hg_fail(HG_ERR_NOMEM, "batcher: out of memory (injected)");
  return NULL;
}

/* An allocation failing part-way leaves every layer's mode, momentum and
 * statistics as they were, and reports the failure. */
static void test_recalibrate_bn_allocation_failure(void **state) {
  (void)state;
  hg_net *net = tiny_net(5);
  hgt_status(hg_experiment_set_modes(net, 'F', 'F'));
  hg_dataset *ds = hg_dataset_new(16, 1, 4, 4, 3, "toy");
  hg_tensor_fill(ds->images, 1.0f);
  hg_layer *bn = net->layers[2];
  hg_tensor *mean0 = hg_tensor_clone(bn->running_mean);
  hg_train_mode modes[8];
  for (int i = 0; i < net->n; i++) modes[i] = net->layers[i]->mode;
  batcher_fails = true;
  assert_int_equal(hg_experiment_recalibrate_bn(net, ds, -1, 8, 0, 1), HG_ERR_NOMEM);
  batcher_fails = false;
  hgt_error_mentions("out of memory", NULL);
  for (int i = 0; i < net->n; i++) assert_int_equal(net->layers[i]->mode, modes[i]);
  assert_true(bn->cfg.norm.momentum == 0.1f);
  assert_memory_equal(mean0->data, bn->running_mean->data, mean0->numel * sizeof(float));
  hg_tensor_free(mean0);
  hg_net_free(net);
  hg_dataset_free(ds);
}

/* A probe run on features computed once (net->first) gives the logits of
 * the whole net run on the images, for a 4-D (bn1) and a 2-D (fc2) layer. */
static void test_probe_on_features(void **state) {
  (void)state;
  enum { N = 21, BATCH = 8 }; /* a partial last batch */
  hg_dataset *ds = hg_dataset_new(N, 1, 4, 4, 3, "toy");
  hg_rng rng;
  hg_rng_seed(&rng, 4, 1);
  for (size_t i = 0; i < ds->images->numel; i++) ds->images->data[i] = hg_rng_normal(&rng);
  for (int i = 0; i < N; i++) ds->labels[i] = i % 3;
  static const char *const layers[2] = {"bn1", "fc2"};
  for (int k = 0; k < 2; k++) {
    hg_net *net = tiny_net(6);
    int after = hg_net_find(net, layers[k]);
    hgt_status(hg_net_attach_probe(net, after, ds->images, 3, 0));
    hg_dataset *f = hg_net_features(net, after + 1, ds, BATCH);
    assert_non_null(f);
    assert_int_equal(f->count, N);
    assert_int_equal(f->images->ndim, 4);
    assert_memory_equal(f->labels, ds->labels, N * sizeof(int));
    bool grad = hg_set_grad_enabled(false);
    hg_tensor *whole = hg_net_forward(net, ds->images, false);
    net->first = after + 1;
    hg_tensor *probe = hg_net_forward(net, f->images, false);
    hg_set_grad_enabled(grad);
    assert_non_null(whole);
    assert_non_null(probe);
    hgt_close(probe->data, whole->data, whole->numel, 1e-5f, 1e-6f);
    hg_tensor_free(whole);
    hg_tensor_free(probe);
    hg_dataset_free(f);
    assert_null(hg_net_features(net, net->n + 1, ds, BATCH));
    hg_net_clear_outputs(net);
    hg_net_free(net);
  }
  hg_dataset_free(ds);
}

/* Mean and unbiased variance per channel of x [N,C,…] over its first `rows` rows, in double. */
static void channel_stats(const hg_tensor *x, int rows, int c, double *mean, double *var) {
  size_t plane = x->numel / ((size_t)x->shape[0] * c);
  for (int j = 0; j < c; j++) {
    double s = 0, q = 0, n = (double)rows * plane;
    for (int i = 0; i < rows; i++)
      for (size_t k = 0; k < plane; k++) s += x->data[((size_t)i * c + j) * plane + k];
    mean[j] = s / n;
    for (int i = 0; i < rows; i++)
      for (size_t k = 0; k < plane; k++) {
        double d = x->data[((size_t)i * c + j) * plane + k] - mean[j];
        q += d * d;
      }
    var[j] = q / (n - 1);
  }
}

/* Recounted batch norms hold the mean and unbiased variance of their input
 * over the first `count` images, each computed with the norms below it
 * already recounted (bottom up): a 1-channel norm on the images, a 4-D one
 * after a convolution and a 2-D one after flatten; a partial last batch. */
static void test_recount_norms(void **state) {
  (void)state;
  enum { N = 21, COUNT = 19, BATCH = 8 };
  hg_dataset *ds = hg_dataset_new(N, 1, 4, 4, 3, "toy");
  hg_rng rng;
  hg_rng_seed(&rng, 9, 1);
  for (size_t i = 0; i < ds->images->numel; i++) ds->images->data[i] = 3 + 2 * hg_rng_normal(&rng);
  hg_net *net = hg_net_new(3);
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn0", 1, false, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv1", 1, 2, 3, 1, 0, true, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu1")));
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn1", 2, false, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_flatten("flatten")));
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn2", 8, false, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_linear("fc", 8, 3, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  hgt_status(hg_net_recount_norms(net, net->n, ds, COUNT, BATCH));
  hg_tensor *first = hg_tensor_narrow0(ds->images, 0, COUNT);
  bool grad = hg_set_grad_enabled(false);
  static const int at[3] = {0, 3, 5};
  for (int k = 0; k < 3; k++) {
    hg_layer *bn = net->layers[at[k]];
    hg_tensor *in = at[k] ? hg_net_forward_range(net, first, 0, at[k], false) : hg_tensor_retain(first);
    assert_non_null(in);
    int c = bn->cfg.norm.channels;
    double mean[8], var[8];
    channel_stats(in, COUNT, c, mean, var);
    for (int j = 0; j < c; j++) {
      assert_float_equal(bn->running_mean->data[j], mean[j], 1e-5 * (1 + fabs(mean[j])));
      assert_float_equal(bn->running_var->data[j], var[j], 1e-5 * (1 + var[j]));
    }
    hg_tensor_free(in);
    hg_net_clear_outputs(net);
  }
  hg_set_grad_enabled(grad);
  assert_int_equal(hg_net_recount_norms(net, net->n, ds, 1, BATCH), HG_ERR_ARG);
  assert_int_equal(hg_net_recount_norms(net, net->n + 1, ds, COUNT, BATCH), HG_ERR_ARG);
  hg_tensor_free(first);
  hg_net_free(net);
  hg_dataset_free(ds);
}

/* A probe with dropout: flatten, dropout, linear; evaluation ignores the
 * dropout (same logits as without); a rate outside [0, 1) is refused. */
static void test_probe_with_dropout(void **state) {
  (void)state;
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(3, 1, 4, 4));
  hg_rng rng;
  hg_rng_seed(&rng, 2, 1);
  for (size_t i = 0; i < x->numel; i++) x->data[i] = hg_rng_normal(&rng);
  hg_net *plain = tiny_net(7), *drop = tiny_net(7), *bad = tiny_net(7);
  int after = hg_net_find(plain, "bn1");
  hgt_status(hg_net_attach_probe(plain, after, x, 3, 0));
  hgt_status(hg_net_attach_probe(drop, after, x, 3, 0.5f));
  assert_int_equal(hg_net_find(drop, "probe_dropout"), after + 2);
  assert_int_equal(hg_net_find(plain, "probe_dropout"), -1);
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *a = hg_net_forward(plain, x, false), *b = hg_net_forward(drop, x, false);
  hg_set_grad_enabled(grad);
  assert_memory_equal(a->data, b->data, a->numel * sizeof(float));
  assert_int_equal(hg_net_attach_probe(bad, after, x, 3, 1.0f), HG_ERR_ARG);
  hgt_error_mentions("dropout", NULL);
  hg_tensor_free(a);
  hg_tensor_free(b);
  hg_tensor_free(x);
  hg_net_clear_outputs(plain);
  hg_net_clear_outputs(drop);
  hg_net_free(plain);
  hg_net_free(drop);
  hg_net_free(bad);
}

/* Dropped biases stay 0 through SGD steps with weight decay and momentum
 * while the layers above (and the weights) learn. */
static void test_dropped_bias_stays_zero(void **state) {
  (void)state;
  hg_net *net = tiny_net(4);
  hgt_status(hg_experiment_set_modes(net, 'B', 'G'));
  hg_experiment_drop_bias(net, hg_net_find(net, "bn1"));
  hg_tensor *w0 = hg_tensor_clone(net->layers[0]->weight), *b4 = hg_tensor_clone(net->layers[4]->bias);
  hg_plasticity unused;
  hgt_status(hg_plasticity_parse("instar", &unused));
  hg_trainer_opts o = {.backprop = hg_sgd_opts(0.1f, 0.9f, 0.05f, true)};
  hg_trainer *t = hg_trainer_new(net, &unused, &o);
  assert_non_null(t);
  hg_tensor *x = hgt_rand(HG_SHAPE(6, 1, 4, 4), -1, 1, 9);
  int labels[6] = {0, 1, 2, 0, 1, 2};
  for (int step = 0; step < 3; step++) hgt_status(hg_trainer_step(t, x, labels, 6, HG_PHASE_BACKPROP, NULL));
  const hg_layer *conv = net->layers[0];
  for (int k = 0; k < 2; k++) assert_true(conv->bias->data[k] == 0.0f);
  assert_memory_not_equal(w0->data, conv->weight->data, w0->numel * sizeof(float));
  assert_memory_not_equal(b4->data, net->layers[4]->bias->data, b4->numel * sizeof(float));
  hg_tensor_free(x);
  hg_tensor_free(b4);
  hg_tensor_free(w0);
  hg_trainer_free(t);
  hg_net_free(net);
}

/* bn3..bn5 of the seeds' net switch to keeping relative variance, nothing
 * else; a net without them is refused, naming the layer. */
static void test_modified_bn_on_the_seeds_net(void **state) {
  (void)state;
  hg_net *net = hg_net_seeds(3, 10, 1);
  assert_non_null(net);
  hgt_status(hg_experiment_modified_bn(net));
  for (int i = 0; i < net->n; i++) {
    const hg_layer *l = net->layers[i];
    if (l->ops->kind != HG_LAYER_BATCH_NORM) continue;
    bool upper = !strcmp(l->name, "bn3") || !strcmp(l->name, "bn4") || !strcmp(l->name, "bn5");
    assert_int_equal(l->cfg.norm.keep_variance, upper);
  }
  hg_net_free(net);
  net = tiny_net(3);
  assert_int_equal(hg_experiment_modified_bn(net), HG_ERR_ARG);
  hgt_error_mentions("bn3", "no layer");
  hg_net_free(net);
}

/* Rows scaled below a batch norm: rows of the norm asked, the same outputs in training
 * (batch statistics) and in evaluation (running statistics scaled with the
 * units), the layers above untouched. */
static void test_scaled_rows_keep_the_function(void **state) {
  (void)state;
  hg_net *net = tiny_net(3);
  hg_tensor *w = net->layers[0]->weight;
  for (size_t i = 0; i < w->numel; i++) w->data[i] *= 7; /* an instar row grown large */
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(5, 1, 4, 4));
  hg_rng rng;
  hg_rng_seed(&rng, 5, 1);
  for (size_t i = 0; i < x->numel; i++) x->data[i] = hg_rng_normal(&rng);
  float fc2[32];
  memcpy(fc2, net->layers[4]->weight->data, sizeof fc2);
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *before = hg_net_forward(net, x, true); /* also moves the running statistics */
  hg_tensor *before_eval = hg_net_forward(net, x, false);
  hgt_status(hg_experiment_scale_rows(net, hg_net_find(net, "bn1"), 0.5f));
  hg_tensor *after_eval = hg_net_forward(net, x, false);
  hg_tensor *after = hg_net_forward(net, x, true);
  hg_set_grad_enabled(grad);
  hgt_close(after_eval->data, before_eval->data, before_eval->numel, 1e-3f, 1e-4f);
  hg_tensor_free(before_eval);
  hg_tensor_free(after_eval);
  for (int k = 0; k < 2; k++) {
    double sq = 0;
    for (int d = 0; d < 9; d++) sq += (double)w->data[k * 9 + d] * w->data[k * 9 + d];
    assert_true(fabs(sqrt(sq) - 0.5) < 1e-6);
  }
  assert_memory_equal(fc2, net->layers[4]->weight->data, sizeof fc2);
  hgt_close(after->data, before->data, before->numel, 1e-4f, 1e-5f);
  hg_tensor_free(before);
  hg_tensor_free(after);
  hg_tensor_free(x);
  hg_net_clear_outputs(net);
  hg_net_free(net);
}

/* Pre-training only the lowest layer leaves it exactly as pre-training all
 * of them does (each layer learns on its own input), and the layer above
 * keeps its initialisation. */
static void test_pretrain_lower_layers_only(void **state) {
  (void)state;
  enum { N = 40 };
  hg_dataset *ds = hg_dataset_new(N, 1, 4, 4, 3, "toy");
  hg_rng rng;
  hg_rng_seed(&rng, 6, 1);
  for (size_t i = 0; i < ds->images->numel; i++) ds->images->data[i] = hg_rng_normal(&rng);
  for (int i = 0; i < N; i++) ds->labels[i] = i % 3;
  hg_net *all = tiny_net(8), *low = tiny_net(8);
  hg_tensor *fc2 = hg_tensor_clone(low->layers[4]->weight);
  hg_pretrain_opts o = hg_pretrain_defaults("hpca/none/relu/avg");
  o.epochs = 2;
  o.batch = 8;
  o.lr = 0.05f;
  o.bn_images = 0;
  hgt_status(hg_experiment_pretrain(all, ds, &o, NULL));
  o.layers = 1;
  hgt_status(hg_experiment_pretrain(low, ds, &o, NULL));
  assert_int_equal(low->layers[0]->mode, HG_TRAIN_H);
  assert_int_equal(low->layers[4]->mode, HG_TRAIN_F);
  assert_memory_equal(all->layers[0]->weight->data, low->layers[0]->weight->data, 18 * sizeof(float));
  assert_memory_equal(all->layers[2]->running_var->data, low->layers[2]->running_var->data, 2 * sizeof(float));
  assert_memory_equal(fc2->data, low->layers[4]->weight->data, fc2->numel * sizeof(float));
  assert_memory_not_equal(fc2->data, all->layers[4]->weight->data, fc2->numel * sizeof(float));
  o.layers = 3; /* the classifier is not among them */
  assert_int_equal(hg_experiment_pretrain(low, ds, &o, NULL), HG_ERR_ARG);
  hg_tensor_free(fc2);
  hg_net_free(all);
  hg_net_free(low);
  hg_dataset_free(ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_balanced_subset_has_equal_classes),
      cmocka_unit_test(test_balanced_subset_is_deterministic),
      cmocka_unit_test(test_balanced_subset_short_class_and_bad_label),
      cmocka_unit_test(test_label_subset_of_a_dataset),
      cmocka_unit_test(test_results_append_and_find_the_last_row),
      cmocka_unit_test(test_results_appended_by_several_processes),
      cmocka_unit_test(test_results_row_waits_for_the_lock),
      cmocka_unit_test(test_table_writers),
      cmocka_unit_test(test_load_net_by_layer),
      cmocka_unit_test(test_set_modes),
      cmocka_unit_test(test_recalibrate_bn),
      cmocka_unit_test(test_recalibrate_bn_allocation_failure),
      cmocka_unit_test(test_probe_on_features),
      cmocka_unit_test(test_recount_norms),
      cmocka_unit_test(test_probe_with_dropout),
      cmocka_unit_test(test_scaled_rows_keep_the_function),
      cmocka_unit_test(test_modified_bn_on_the_seeds_net),
      cmocka_unit_test(test_dropped_bias_stays_zero),
      cmocka_unit_test(test_pretrain_lower_layers_only),
  };
  int failed = cmocka_run_group_tests(tests, setup, teardown);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
