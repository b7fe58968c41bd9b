/* retrain_top: replace the top two layers of a backprop-trained seeds'
 * network (the fc5 block and the classifier fc6) with new ones and retrain
 * them on the frozen lower layers, Hebbian (fc5 by a Hebbian rule, fc6 the
 * supervised Hebbian classifier) or by SGD, reporting test accuracy and the
 * epochs needed to converge (seed 002 Tables 3/6/9). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/retrain_top_options.h"

enum { SGD, SHC, HEBB, N_METHODS };
static const char *const method_names[N_METHODS] = {"sgd", "shc", "hebb"};
/* How each layer of the whole net was trained, in the seeds' notation, and the modes here. */
static const char *const seed_modes[N_METHODS] = {"BBBBB-G", "BBBBB-H", "BBBBH-H"};
static const char *const run_modes[N_METHODS] = {"FFFFB-G", "FFFFF-H", "FFFFH-H"};
/* The first layer that is not taken from the checkpoint. */
static const char *const new_from[N_METHODS] = {"fc5", "fc6", "fc5"};

typedef struct row_key {
  char source[600], data[64], train[32], seed[32], method[300], training[200];
} row_key;

#define N_KEYS 6
static const char *const key_cols[N_KEYS] = {"source", "data", "train_images", "seed", "method", "training"};

static void make_key(const retrain_top_options *o, const hg_data *d, int m, row_key *k) {
  snprintf(k->source, sizeof k->source, "%s", o->c.label ? o->c.label : o->c.from);
  hg_common_data_key(&o->c, k->data, sizeof k->data);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  if (m == HEBB) snprintf(k->method, sizeof k->method, "hebb:%s", o->c.hebb);
  else snprintf(k->method, sizeof k->method, "%s", method_names[m]);
  hg_common_training_key(&o->c, k->training, sizeof k->training);
}

/* The key's values, in key_cols' order. */
static void key_values(const row_key *k, const char *v[N_KEYS]) {
  const char *all[N_KEYS] = {k->source, k->data, k->train, k->seed, k->method, k->training};
  memcpy(v, all, sizeof all);
}

typedef struct row {
  double acc;
  int best_epoch;
} row;

static bool row_done(const retrain_top_options *o, const row_key *k, const char *column, row *r) {
  char path[600], acc[64], epoch[64];
  snprintf(path, sizeof path, "%s/retrain.csv", o->c.out);
  const char *vals[N_KEYS];
  key_values(k, vals);
  if (!hg_experiment_find_result(path, N_KEYS, key_cols, vals, column, acc, sizeof acc) ||
      !hg_experiment_find_result(path, N_KEYS, key_cols, vals, "best_epoch", epoch, sizeof epoch))
    return false;
  r->acc = atof(acc);
  r->best_epoch = atoi(epoch);
  return true;
}

static hg_status record_row(const retrain_top_options *o, const row_key *k, int m, const hg_experiment_outcome *r) {
  static const char *const extra_cols[1] = {"modes"};
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/retrain", o->c.out);
  const char *key[N_KEYS], *extra[1] = {seed_modes[m]};
  key_values(k, key);
  return hg_experiment_record(prefix, N_KEYS, key_cols, key, 1, extra_cols, extra, r);
}

/* The net of method m: the checkpoint's layers below new_from[m], new ones above. */
static hg_net *method_net(const retrain_top_options *o, const hg_data *d, int m) {
  hg_net *net = hg_common_net(&o->c, d->train, (uint64_t)o->c.seed);
  hg_status s = net ? hg_experiment_load_net(net, o->c.from, hg_net_find(net, new_from[m])) : hg_last_status();
  if (s == HG_OK) s = hg_net_set_modes(net, run_modes[m]);
  int drop = s == HG_OK ? hg_net_find(net, "drop5") : -1; /* the seeds' Hebbian training uses no dropout */
  if (m == HEBB && drop >= 0) hg_layer_set_mode(net->layers[drop], HG_TRAIN_F);
  if (s == HG_OK) return net;
  hg_net_free(net);
  return NULL;
}

static hg_status retrain(const retrain_top_options *o, const hg_data *d, const row_key *k, int m,
                         hg_experiment_outcome *r) {
  char run_dir[600], label[32];
  const char *key[N_KEYS];
  key_values(k, key);
  snprintf(run_dir, sizeof run_dir, "%s/runs/%s-seed%d-%08x", o->c.out, method_names[m], o->c.seed,
           hg_experiment_key_hash(N_KEYS, key));
  snprintf(label, sizeof label, "retrain %s", method_names[m]);
  hg_net *net = method_net(o, d, m);
  hg_plasticity rule; /* fc5's rule (hebb), the base of the classifier's teacher rule (shc, hebb) */
  hg_status s = net ? hg_plasticity_parse(o->c.hebb, &rule) : hg_last_status();
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->c.lr, o->c.momentum, o->c.weight_decay, o->c.momentum > 0),
                        .hebb_lr = o->c.hebb_lr};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, m == SGD ? NULL : &rule, &to) : NULL;
  hg_fit_opts f;
  if (s == HG_OK)
    s = t ? hg_common_fit_opts(&o->c, m == SGD ? HG_PHASE_BACKPROP : HG_PHASE_HEBB, run_dir, label, stderr, &f)
          : hg_last_status();
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, d, &f, r);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

/* Method m's row of the results: from OUT/retrain.csv, or retrained now. */
static hg_status method_row(const retrain_top_options *o, const hg_data *d, int m, const char *metric, row *r) {
  row_key k;
  char column[16];
  snprintf(column, sizeof column, "test_%s", metric);
  make_key(o, d, m, &k);
  if (row_done(o, &k, column, r)) {
    printf("%s (%s): test %.2f%% (%s), best epoch %d, from %s/retrain.csv\n", k.method, seed_modes[m],
           100 * r->acc, metric, r->best_epoch, o->c.out);
    return HG_OK;
  }
  hg_experiment_outcome out;
  hg_status s = retrain(o, d, &k, m, &out);
  if (s == HG_OK) s = record_row(o, &k, m, &out);
  if (s != HG_OK) return s;
  r->acc = !strcmp(metric, "top5") ? out.test.top5 : out.test.top1;
  r->best_epoch = out.fit.best_epoch;
  printf("%s (%s): test %.2f%% (%s), validation %.2f%%, best epoch %d of %d, %.0f s\n", k.method, seed_modes[m],
         100 * r->acc, metric, 100 * out.val.top1, out.fit.best_epoch, out.fit.epochs_run, out.fit.seconds);
  return HG_OK;
}

static hg_status retrain_all(void *opts, const hg_data *d) {
  const retrain_top_options *o = opts;
  if (hg_parallel_size() > 1) /* each process would retrain every method into the same files */
    return hg_fail(HG_ERR_ARG, "retrain_top does not spread over processes: run it without mpirun");
  const char *metric = hg_common_metric(&o->c, d->train);
  int rows = 0;
  for (int m = 0; m < N_METHODS; m++) rows += (o->methods >> m) & 1;
  hg_table *table = hg_table_new(rows, 5);
  hg_status s = table ? HG_OK : hg_last_status();
  for (int m = 0, i = 0; m < N_METHODS && s == HG_OK; m++) {
    row r;
    if (!((o->methods >> m) & 1)) continue;
    s = method_row(o, d, m, metric, &r);
    fflush(stdout);
    if (s != HG_OK) break;
    hg_table_set(table, i, 0, "%s", seed_modes[m]);
    hg_table_set(table, i, 1, "%s", m == SGD ? "BP" : m == SHC ? "SHC" : o->c.hebb);
    hg_table_set(table, i, 2, "%s", m == SHC ? "fc6" : "fc5, fc6");
    hg_table_set(table, i, 3, "%.2f", 100 * r.acc);
    hg_table_set(table, i, 4, "%d", r.best_epoch);
    i++;
  }
  if (s != HG_OK) {
    hg_table_free(table);
    return s;
  }
  const char *head[5] = {"L1-L6", "Method", "Retrained", "Acc (%)", "Epochs"};
  for (int c = 0; c < 5; c++) hg_table_set(table, -1, c, "%s", head[c]);
  hg_table_set(table, -1, 3, "Acc (%s %%)", metric);
  row_key k;
  make_key(o, d, SGD, &k);
  char title[1024];
  snprintf(title, sizeof title,
           "Retraining the top layers of %s on %s (%s images for training, seed %s): test accuracy of "
           "the best validation epoch and that epoch.",
           k.source, k.data, k.train, k.seed);
  return hg_experiment_finish_table(table, o->c.out, "retrain_table", title, stdout);
}

int main(int argc, char **argv) {
  retrain_top_options o = {0};
  return hg_common_main(&retrain_top_cli, argc, argv, &o, retrain_all);
}
