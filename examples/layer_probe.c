/* layer_probe: linear classifiers on the features of each layer of a trained
 * seeds' network (seed 002 Tables 1/4/7, seed 003 Table 1): an SGD
 * classifier and, with --shc, the supervised Hebbian classifier, on top of
 * L1..L5 (the blocks ending at bn1..bn5), everything below frozen. Under
 * mpirun (built with -DHG_MPI=ON) the layers are dealt over the processes
 * (docs/scale-out.md); rank 0 makes the trained net first and writes the
 * table last, from OUT/cells.csv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/layer_probe_options.h"

static const char *const methods[2] = {"sgd", "shc"};
#define SOURCE_MAX 700 /* the path of the checkpoint the probes start from */

/* What identifies a cell in OUT/cells.csv. */
typedef struct cell_key {
  char source[600], data[64], train[32], seed[32], layer[8], method[320], training[200];
} cell_key;

#define N_KEYS 7
static const char *const key_cols[N_KEYS] = {"source", "data", "train_images", "seed", "layer", "method", "training"};

static void make_key(const layer_probe_options *o, const hg_data *d, int layer, int method, cell_key *k) {
  const char *mbn = o->c.modified_bn ? "+modified-bn" : "";
  if (o->c.label) snprintf(k->source, sizeof k->source, "%s%s", o->c.label, mbn);
  else if (o->c.from)
    snprintf(k->source, sizeof k->source, "%s%s%s", o->c.from, o->recalibrate ? " (recalibrated)" : "", mbn);
  else snprintf(k->source, sizeof k->source, "hebb:%s:%d%s", o->train_hebb, o->c.hebb_epochs, mbn);
  hg_common_data_key(&o->c, k->data, sizeof k->data);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  snprintf(k->layer, sizeof k->layer, "L%d", layer);
  bool plain = !strcmp(o->shc_rule, "instar") && !o->shc_lr_given; /* the default SHC keeps its old key */
  if (method == 0 && o->c.dropout > 0) snprintf(k->method, sizeof k->method, "sgd:dropout=%g", o->c.dropout);
  else if (method == 0 || plain) snprintf(k->method, sizeof k->method, "%s", methods[method]);
  else snprintf(k->method, sizeof k->method, "shc:%s:%g", o->shc_rule, o->shc_lr);
  hg_common_training_key(&o->c, k->training, sizeof k->training);
}

/* The key's values, in key_cols' order. */
static void key_values(const cell_key *k, const char *v[N_KEYS]) {
  const char *all[N_KEYS] = {k->source, k->data, k->train, k->seed, k->layer, k->method, k->training};
  memcpy(v, all, sizeof all);
}

/* The finished cell's value of `column`, if there is one. */
static bool cell_done(const layer_probe_options *o, const cell_key *k, const char *column, double *value) {
  char path[600], text[64];
  snprintf(path, sizeof path, "%s/cells.csv", o->c.out);
  const char *vals[N_KEYS];
  key_values(k, vals);
  if (!hg_experiment_find_result(path, N_KEYS, key_cols, vals, column, text, sizeof text)) return false;
  *value = atof(text);
  return true;
}

static hg_status record_cell(const layer_probe_options *o, const cell_key *k, const hg_experiment_outcome *r) {
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/cells", o->c.out);
  const char *key[N_KEYS];
  key_values(k, key);
  return hg_experiment_record(prefix, N_KEYS, key_cols, key, 0, NULL, NULL, r);
}

/* A fresh seeds' net holding the trained weights. */
static hg_net *load_trained(const layer_probe_options *o, const hg_data *d, const char *path) {
  hg_net *net = hg_common_net(&o->c, d->train, (uint64_t)o->c.seed);
  if (net && hg_experiment_load_net(net, path, -1) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}

/* The path of the checkpoint the probes start from: the --from file, that
 * file with re-estimated batch norms, or the Hebbian-trained net. */
static void source_path(const layer_probe_options *o, char *path, size_t size) {
  const char *mbn = o->c.modified_bn ? "-modified-bn" : "";
  if (o->c.from && !o->recalibrate) snprintf(path, size, "%s", o->c.from);
  else if (o->c.from) snprintf(path, size, "%s/recalibrated%s-seed%d.safetensors", o->c.out, mbn, o->c.seed);
  else snprintf(path, size, "%s/hebb-net%s-seed%d.safetensors", o->c.out, mbn, o->c.seed);
}

/* Make that checkpoint (nothing to do for a --from file used as it is). */
static hg_status make_source(const layer_probe_options *o, const hg_data *d, const char *path) {
  const char *from = o->c.from;
  if (from && !o->recalibrate) return HG_OK;
  hg_net *net = from ? load_trained(o, d, from) : hg_common_net(&o->c, d->train, (uint64_t)o->c.seed);
  if (!net) return hg_last_status();
  hg_status s;
  if (from) {
    fprintf(stderr, "re-estimating the batch-norm statistics of %s\n", from);
    s = hg_experiment_recalibrate_bn(net, d->train, -1, o->c.batch, 10000, (uint64_t)o->c.seed);
    const char *keys[] = {"setting"}, *values[] = {from};
    if (s == HG_OK) s = hg_experiment_save_net(net, path, 1, keys, values);
  } else {
    char run_dir[600];
    snprintf(run_dir, sizeof run_dir, "%.*s", (int)(strlen(path) - strlen(".safetensors")), path);
    bool cached;
    s = hg_common_pretrain(&o->c, net, d->train, o->train_hebb, 0, path, run_dir, NULL, &cached);
    if (s == HG_OK) fprintf(stderr, "%s the Hebbian-trained net %s\n", cached ? "reusing" : "trained", path);
  }
  hg_net_free(net);
  return s;
}

/* The checkpoint's path in path[SOURCE_MAX]; when `needed`, made by rank 0
 * (alone) before any process goes on. */
static hg_status shared_source(const layer_probe_options *o, const hg_data *d, bool needed, char *path) {
  source_path(o, path, SOURCE_MAX);
  hg_status s = needed && hg_parallel_rank() == 0 ? make_source(o, d, path) : HG_OK;
  if (!hg_parallel_all(s == HG_OK) && s == HG_OK) s = hg_fail(HG_ERR_IO, "rank 0 could not make %s", path);
  return s;
}

/* The frozen layers [0, upto) run once over train, val and test. */
static hg_status frozen_features(hg_net *net, int upto, const hg_data *d, int batch, hg_data *out) {
  const hg_dataset *in[3] = {d->train, d->val, d->test};
  hg_dataset **to[3] = {&out->train, &out->val, &out->test};
  for (int k = 0; k < 3; k++)
    if (in[k] && !(*to[k] = hg_net_features(net, upto, in[k], batch))) return hg_last_status();
  return HG_OK;
}

/* One probe; `features` holds the frozen layers' outputs, computed here when
 * still empty and kept for the layer's other probe. */
static hg_status run_cell(const layer_probe_options *o, const hg_data *d, const char *source, const cell_key *k,
                          int layer, int method, hg_data *features, hg_experiment_outcome *r) {
  char bn[8], run_dir[600], label[32];
  bool shc = method == 1;
  const char *key[N_KEYS];
  key_values(k, key);
  snprintf(bn, sizeof bn, "bn%d", layer);
  snprintf(run_dir, sizeof run_dir, "%s/cells/L%d-%s-seed%d-%08x", o->c.out, layer, methods[method], o->c.seed,
           hg_experiment_key_hash(N_KEYS, key));
  snprintf(label, sizeof label, "L%d %s", layer, methods[method]);
  hg_net *net = load_trained(o, d, source);
  if (!net) return hg_last_status();
  int after = hg_net_find(net, bn);
  float dropout = shc ? 0 : o->c.dropout;
  hg_tensor *sample = hg_dataset_image(d->train, 0);
  hg_status s = after < 0 ? hg_fail(HG_ERR_ARG, "the net has no layer %s", bn)
                : !sample ? hg_last_status()
                          : hg_net_attach_probe(net, after, sample, d->train->num_classes, dropout);
  hg_tensor_free(sample);
  if (s == HG_OK && shc) hg_layer_set_mode(net->layers[net->n - 1], HG_TRAIN_H);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->c.lr, o->c.momentum, o->c.weight_decay, o->c.momentum > 0),
                        .hebb_lr = o->shc_lr};
  hg_plasticity teacher; /* the classifier of an H probe always learns from the teacher signal */
  if (s == HG_OK) s = hg_plasticity_parse(o->shc_rule, &teacher);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &teacher, &to) : NULL;
  hg_fit_opts f;
  if (s == HG_OK)
    s = t ? hg_common_fit_opts(&o->c, shc ? HG_PHASE_HEBB : HG_PHASE_BACKPROP, run_dir, label,
                               hg_parallel_rank() == 0 ? stderr : NULL, &f) /* one progress bar at a time */
          : hg_last_status();
  if (s == HG_OK && !features->train) s = frozen_features(net, after + 1, d, o->c.batch, features);
  net->first = after + 1;
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, features, &f, r);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

/* "[rank N] " in a job of several processes, else "". */
static const char *who(void) {
  static char text[32];
  if (hg_parallel_size() > 1) snprintf(text, sizeof text, "[rank %d] ", hg_parallel_rank());
  return text;
}

/* Train the cell (layer, m) from the source checkpoint and append it to OUT/cells.csv. */
static hg_status train_cell(const layer_probe_options *o, const hg_data *d, int layer, int m, const char *metric,
                            const char *source, hg_data *features) {
  cell_key k;
  make_key(o, d, layer, m, &k);
  hg_experiment_outcome r;
  hg_status s = run_cell(o, d, source, &k, layer, m, features, &r);
  if (s == HG_OK) s = record_cell(o, &k, &r);
  if (s != HG_OK) return s;
  double value = !strcmp(metric, "top5") ? r.test.top5 : r.test.top1;
  printf("%sL%d %s: test %.2f%% (%s), validation %.2f%%, best epoch %d of %d, %.0f s\n", who(), layer,
         m ? "SHC" : "SGD", 100 * value, metric, 100 * r.val.top1, r.fit.best_epoch, r.fit.epochs_run, r.fit.seconds);
  fflush(stdout);
  return HG_OK;
}

/* Which cells OUT/cells.csv lacks: todo[i * 2 + m] for layer i of --layers and
 * method m (rank 0 says which it has); returns the number of layers with one. */
static int list_todo(const layer_probe_options *o, const hg_data *d, const char *metric, bool *todo) {
  int n_methods = o->shc ? 2 : 1, layers = 0;
  char column[16];
  snprintf(column, sizeof column, "test_%s", metric);
  for (int i = 0; i < o->layers.n; i++) {
    bool any = false;
    for (int m = 0; m < n_methods; m++) {
      cell_key k;
      double value = 0;
      make_key(o, d, o->layers.v[i], m, &k);
      todo[i * 2 + m] = !cell_done(o, &k, column, &value);
      any |= todo[i * 2 + m];
      if (!todo[i * 2 + m] && hg_parallel_rank() == 0)
        printf("L%d %s: test %.2f%% (%s), from %s/cells.csv\n", o->layers.v[i], m ? "SHC" : "SGD", 100 * value,
               metric, o->c.out);
    }
    layers += any;
  }
  fflush(stdout);
  return layers;
}

/* This process's share of the cells to train: the j-th layer with one goes to
 * rank j mod N, which computes its frozen features once for its probes. */
static hg_status train_share(const layer_probe_options *o, const hg_data *d, const char *metric, const bool *todo,
                             const char *source) {
  int n_methods = o->shc ? 2 : 1, rank = hg_parallel_rank(), size = hg_parallel_size();
  hg_status s = HG_OK;
  for (int i = 0, j = 0; i < o->layers.n && s == HG_OK; i++) {
    if (!todo[i * 2] && !todo[i * 2 + 1]) continue;
    if (j++ % size != rank) continue;
    hg_data features = {0}; /* the frozen layers' outputs, shared by the layer's probes */
    for (int m = 0; m < n_methods && s == HG_OK; m++)
      if (todo[i * 2 + m]) s = train_cell(o, d, o->layers.v[i], m, metric, source, &features);
    hg_data_release(&features);
  }
  return s;
}

/* The table, every cell read back from OUT/cells.csv (as a resumed run does),
 * on stdout and in OUT/probe_table.csv and .md. */
static hg_status write_table(const layer_probe_options *o, const hg_data *d, const char *metric) {
  int n_methods = o->shc ? 2 : 1;
  char column[16];
  snprintf(column, sizeof column, "test_%s", metric);
  hg_table *table = hg_table_new(o->layers.n, 1 + n_methods);
  hg_status s = table ? HG_OK : hg_last_status();
  for (int i = 0; i < o->layers.n && s == HG_OK; i++)
    for (int m = 0; m < n_methods && s == HG_OK; m++) {
      cell_key k;
      double value = 0;
      make_key(o, d, o->layers.v[i], m, &k);
      if (!cell_done(o, &k, column, &value))
        s = hg_fail(HG_ERR_IO, "cell L%d %s is missing from %s/cells.csv", o->layers.v[i], methods[m], o->c.out);
      if (s == HG_OK) s = hg_table_set(table, i, 0, "L%d", o->layers.v[i]);
      if (s == HG_OK) s = hg_table_set(table, i, 1 + m, "%.2f", 100 * value);
    }
  if (s != HG_OK) {
    hg_table_free(table);
    return s;
  }
  hg_table_set(table, -1, 0, "Layer");
  hg_table_set(table, -1, 1, "SGD (%s %%)", metric);
  if (o->shc) hg_table_set(table, -1, 2, "SHC (%s %%)", metric);
  cell_key k;
  make_key(o, d, 0, 0, &k);
  char title[1024];
  snprintf(title, sizeof title, "Linear classifiers on each layer of %s, %s (%s images for training, seed %s).",
           k.source, k.data, k.train, k.seed);
  return hg_experiment_finish_table(table, o->c.out, "probe_table", title, stdout);
}

/* The cells OUT/cells.csv lacks, dealt over the processes, then the table by rank 0. */
static hg_status probe_all(void *opts, const hg_data *d) {
  const layer_probe_options *o = opts;
  const char *metric = hg_common_metric(&o->c, d->train);
  bool todo[2 * HG_INT_LIST_MAX] = {0};
  char source[SOURCE_MAX];
  int layers = list_todo(o, d, metric, todo); /* every process reads cells.csv before any appends to it */
  hg_status s = shared_source(o, d, layers > 0, source);
  if (s == HG_OK) s = train_share(o, d, metric, todo, source);
  /* every cell is in the file once all processes are here (a failed one ends the job instead) */
  if (s == HG_OK && !hg_parallel_all(true)) s = hg_fail(HG_ERR_IO, "another process failed");
  return s == HG_OK && hg_parallel_rank() == 0 ? write_table(o, d, metric) : s;
}

int main(int argc, char **argv) {
  layer_probe_options o = {0};
  return hg_common_main(&layer_probe_cli, argc, argv, &o, probe_all);
}
