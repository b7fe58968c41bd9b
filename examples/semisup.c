/* semisup: one regime of the semi-supervised protocol of seed 001 (Table 1):
 * unsupervised Hebbian pre-training of every layer of the seeds' network on
 * the whole training split (or none: random initialisation), then end-to-end
 * SGD fine-tuning of layers L1..LK with a new linear classifier on top of
 * bnK, on the s% of the training images that keep their labels. Under
 * mpirun (built with -DHG_MPI=ON) both phases are data-parallel
 * (docs/scale-out.md): the processes split every batch, rank 0 alone writes
 * and reports. */
#include <stdio.h>
#include <stdlib.h>

#include "examples/semisup_options.h"

#define N_KEYS 11
static const char *const key_cols[N_KEYS] = {"data", "net",  "pretrain",    "hebb",    "train_images", "labels_pct",
                                             "upto", "seed", "hebb_epochs", "dropout", "finetune"};

typedef struct row_key {
  char data[64], net[32], hebb[300], train[32], labels[32], upto[8], seed[32], hebb_epochs[16], dropout[16],
      finetune[160];
} row_key;

static void make_key(const semisup_options *o, const hg_data *d, row_key *k) {
  hg_common_data_key(&o->c, k->data, sizeof k->data);
  char rows[32] = "";
  if (o->row_norm == 1) snprintf(rows, sizeof rows, "+unit-rows");
  else if (o->row_norm > 0) snprintf(rows, sizeof rows, "+rows=%g", o->row_norm);
  snprintf(k->hebb, sizeof k->hebb, "%s%s", o->hebb ? o->hebb : "-", rows);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->labels, sizeof k->labels, "%g", o->labels);
  snprintf(k->upto, sizeof k->upto, "%d", o->upto);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  snprintf(k->hebb_epochs, sizeof k->hebb_epochs, "%d", o->c.hebb_epochs);
  snprintf(k->dropout, sizeof k->dropout, "%g", o->c.dropout);
  snprintf(k->net, sizeof k->net, "seeds%s%s", o->c.modified_bn ? "+modified-bn" : "", o->no_bias ? "+no-bias" : "");
  hg_common_training_key(&o->c, k->finetune, sizeof k->finetune);
}

/* The key's values, in key_cols' order. */
static void key_values(const semisup_options *o, const row_key *k, const char *v[N_KEYS]) {
  const char *all[N_KEYS] = {k->data,  k->net,  o->pretrain,    k->hebb,    k->train,   k->labels,
                             k->upto,  k->seed, k->hebb_epochs, k->dropout, k->finetune};
  memcpy(v, all, sizeof all);
}

static const char *const extra_cols[1] = {"labelled"};

/* OUT/semisup.csv/.jsonl, opened before the work so that a file with other
 * columns is refused before hours of training. */
static hg_results *open_results(const semisup_options *o) {
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/semisup", o->c.out);
  return hg_experiment_results_open(prefix, N_KEYS, key_cols, 1, extra_cols);
}

static hg_status record(hg_results *res, const char *const key[N_KEYS], int labelled,
                        const hg_experiment_outcome *r) {
  char count[32];
  snprintf(count, sizeof count, "%d", labelled);
  const char *extra[1] = {count};
  return hg_experiment_results_row(res, N_KEYS, key, 1, extra, r);
}

/* The seeds' net, Hebbian pre-trained on every training image (cached) or not. */
static hg_net *initial_net(const semisup_options *o, const hg_data *d) {
  hg_net *net = hg_common_net(&o->c, d->train, (uint64_t)o->c.seed);
  if (!net || !o->hebb) return net;
  char name[500], cache[700], run_dir[700], layers[16] = "";
  int all = o->hebb_layers >= 5;
  if (!all) snprintf(layers, sizeof layers, "-L%d", o->hebb_layers);
  /* bn3's scaling first reaches conv4's input: L1..L3 learn the same without it */
  const char *mbn = o->c.modified_bn && o->hebb_layers >= 4 ? "-modified-bn" : "";
  snprintf(name, sizeof name, "%s/pretrain-%s-%s%s%s-seed%d", o->c.out, o->c.data.name, o->pretrain, layers, mbn,
           o->c.seed);
  snprintf(cache, sizeof cache, "%s.safetensors", name);
  snprintf(run_dir, sizeof run_dir, "%s", name);
  bool cached;
  if (hg_common_pretrain(&o->c, net, d->train, o->hebb, all ? 0 : o->hebb_layers, cache, run_dir,
                         hg_parallel_sync(), &cached) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  if (hg_parallel_rank() == 0) fprintf(stderr, "%s the pre-trained net %s\n", cached ? "reusing" : "saved", cache);
  return net;
}

/* Fine-tune L1..LK with a new classifier; resumable from OUT/runs/, one
 * folder per regime (named by its key's hash). */
static hg_status fine_tune(const semisup_options *o, const hg_data *d, hg_net *net, const hg_dataset *labelled,
                           unsigned key_hash, hg_experiment_outcome *r) {
  char bn[8], run_dir[700], label[32];
  snprintf(bn, sizeof bn, "bn%d", o->upto);
  snprintf(run_dir, sizeof run_dir, "%s/runs/%s-%s-s%g-L%d-seed%d-%08x", o->c.out, o->c.data.name, o->pretrain,
           o->labels, o->upto, o->c.seed, key_hash);
  snprintf(label, sizeof label, "s%g%% L%d", o->labels, o->upto);
  int after = hg_net_find(net, bn);
  hg_status s = after < 0 ? hg_fail(HG_ERR_ARG, "the net has no layer %s", bn) : HG_OK;
  if (s == HG_OK && o->row_norm > 0) s = hg_experiment_scale_rows(net, after, o->row_norm);
  /* cut after bnK with a new classifier, then let every layer learn */
  hg_tensor *sample = s == HG_OK ? hg_dataset_image(labelled, 0) : NULL;
  if (s == HG_OK) s = sample ? hg_net_attach_probe(net, after, sample, labelled->num_classes, o->c.dropout) : hg_last_status();
  hg_tensor_free(sample);
  if (s == HG_OK) s = hg_experiment_set_modes(net, 'B', 'G');
  if (s == HG_OK && o->no_bias) hg_experiment_drop_bias(net, after);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->c.lr, o->c.momentum, o->c.weight_decay, o->c.momentum > 0),
                        .sync = hg_parallel_sync()};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, NULL, &to) : NULL; /* SGD alone: no rule */
  bool lead = hg_parallel_rank() == 0;
  hg_fit_opts f;
  if (s == HG_OK)
    s = t ? hg_common_fit_opts(&o->c, HG_PHASE_BACKPROP, run_dir, label, lead ? stderr : NULL, &f) : hg_last_status();
  f.read_only = !lead; /* rank 0 writes the checkpoints, the others read them */
  hg_data sub = {.train = (hg_dataset *)labelled, .val = d->val, .test = d->test};
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, &sub, &f, r);
  hg_trainer_free(t);
  return s;
}

/* The regime's line on stdout. */
static void announce(const semisup_options *o, const row_key *k, int labelled, const hg_experiment_outcome *r) {
  printf("%s, pretrain %s, %s%% labels (%d images), L%d, seed %d: test %.2f%% (top-5 %.2f%%), validation "
         "%.2f%%, best epoch %d of %d, %.0f s\n",
         k->data, o->pretrain, k->labels, labelled, o->upto, o->c.seed, 100 * r->test.top1, 100 * r->test.top5,
         100 * r->val.top1, r->fit.best_epoch, r->fit.epochs_run, r->fit.seconds);
}

/* Has OUT/semisup.csv the regime (*done)? Said on stdout when it has. Every
 * process has looked before any goes on (rank 0 may then append to it), and
 * all must agree: one alone would wait for the others' sums for ever. */
static hg_status regime_done(const semisup_options *o, const row_key *k, const char *const key[N_KEYS], bool *done) {
  char path[700], text[64];
  snprintf(path, sizeof path, "%s/semisup.csv", o->c.out);
  *done = hg_experiment_find_result(path, N_KEYS, key_cols, key, "test_top1", text, sizeof text);
  if (hg_parallel_all(*done) != *done) /* ends the job: this process returns an error */
    return hg_fail(HG_ERR_IO, "%s has the regime for some processes only (is it on a file system they all share?)",
                   path);
  if (*done && hg_parallel_rank() == 0)
    printf("%s, pretrain %s, %s%% labels, L%d, seed %d: test %.2f%%, from %s\n", k->data, o->pretrain, k->labels,
           o->upto, o->c.seed, 100 * atof(text), path);
  return HG_OK;
}

/* The regime from the data on, unless OUT/semisup.csv has it; data-parallel
 * under mpirun, where rank 0 alone writes the row. */
static hg_status run_regime(void *opts, const hg_data *d) {
  const semisup_options *o = opts;
  row_key k;
  make_key(o, d, &k);
  const char *key[N_KEYS];
  key_values(o, &k, key);
  bool done;
  hg_status s = regime_done(o, &k, key, &done);
  if (s != HG_OK || done) return s;
  bool lead = hg_parallel_rank() == 0;
  hg_results *res = lead ? open_results(o) : NULL;
  hg_dataset *labelled = res || !lead ? hg_experiment_label_subset(d->train, o->labels, (uint64_t)o->c.seed) : NULL;
  hg_net *net = labelled ? initial_net(o, d) : NULL;
  hg_experiment_outcome r;
  s = net ? fine_tune(o, d, net, labelled, hg_experiment_key_hash(N_KEYS, key), &r) : hg_last_status();
  if (s == HG_OK && lead) s = record(res, key, labelled->count, &r);
  if (s == HG_OK && lead) announce(o, &k, labelled->count, &r);
  hg_net_free(net);
  hg_dataset_free(labelled);
  hg_results_close(res);
  return s;
}

int main(int argc, char **argv) {
  semisup_options o = {0};
  return hg_common_main(&semisup_cli, argc, argv, &o, run_regime);
}
