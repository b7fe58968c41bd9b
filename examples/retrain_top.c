/* retrain_top: replace the top two layers of a backprop-trained seeds'
 * network (the fc5 block and the classifier fc6) with new ones and retrain
 * them on the frozen lower layers, Hebbian (fc5 by a Hebbian rule, fc6 the
 * supervised Hebbian classifier) or by SGD, reporting test accuracy and the
 * epochs needed to converge (seed 002 Tables 3/6/9). */
#include <omp.h>
#include <unistd.h>

#include "examples/experiment_cli.h"

static const char usage[] =
    "usage: retrain_top --from FILE [options]\n"
    "\n"
    "Take a backprop-trained seeds' net, keep its layers L1..L4 (conv1..bn4) frozen, put\n"
    "new layers on top and train them until the validation accuracy stops improving:\n"
    "  sgd    fc5 block and fc6 re-initialised and trained by SGD   (seed notation BBBBB-G)\n"
    "  shc    fc5 block kept, fc6 re-initialised and trained as the supervised Hebbian\n"
    "         classifier (teacher neuron)                           (BBBBB-H)\n"
    "  hebb   fc5 re-initialised and trained by --hebb, fc6 re-initialised and trained as\n"
    "         the supervised Hebbian classifier, both at once       (BBBBH-H)\n"
    "Reports the test accuracy of the weights of the best validation epoch and that epoch\n"
    "(epochs to converge), as a table on stdout and in OUT/retrain_table.csv and .md. Each\n"
    "method's result is appended to OUT/retrain.csv/.jsonl and skipped when it is there\n"
    "already; a method cut off half-way resumes from its last epoch (OUT/runs/).\n"
    "\n"
    "Retraining\n"
    "  --from FILE          checkpoint of the seeds' net trained by backprop on this data set\n"
    "                       (best.safetensors of a run of `train`, or any file of\n"
    "                       hg_trainer_save); weights are read by name\n"
    "  --methods LIST       which of sgd, shc, hebb, comma-separated (default sgd,shc,hebb)\n"
    "  --hebb SPEC          rule of fc5 for the hebb method (default instar/e-soft-wta:0.02/mean;\n"
    "                       e.g. instar/5-wta/mean, instar/p-soft-wta:0.05/mean, hpca/none/relu/avg)\n"
    "  --epochs N           at most N epochs (default 20)\n"
    "  --patience N         stop after N epochs without a better validation (default 2)\n"
    "  --lr F               SGD learning rate (default 1e-3)\n"
    "  --schedule S         SGD learning-rate schedule: constant, step:S:G, seeds:HOLD:PERIOD,\n"
    "                       cosine:T (default seeds:10:2)\n"
    "  --momentum F         SGD Nesterov momentum (default 0.9)\n"
    "  --weight-decay F     SGD L2 weight decay (default 5e-2; the seeds use 1e-2 on CIFAR-100)\n"
    "  --hebb-lr F          Hebbian learning rate of fc5 and of the classifier (default 1e-3)\n"
    "  --metric M           top1 or top5 in the table (default top5 for 100 classes, else top1)\n"
    "  --label TEXT         name of the trained net in OUT/retrain.csv (default the --from path)\n"
    CLI_COMMON_USAGE;

enum { SGD, SHC, HEBB, N_METHODS };
static const char *const method_names[N_METHODS] = {"sgd", "shc", "hebb"};
/* How each layer of the whole net was trained, in the seeds' notation, and the modes here. */
static const char *const seed_modes[N_METHODS] = {"BBBBB-G", "BBBBB-H", "BBBBH-H"};
static const char *const run_modes[N_METHODS] = {"FFFFB-G", "FFFFF-H", "FFFFH-H"};
/* The first layer that is not taken from the checkpoint. */
static const char *const new_from[N_METHODS] = {"fc5", "fc6", "fc5"};

typedef struct options {
  cli_common c;
  cli_training t;
  const char *from, *hebb, *metric, *label;
  bool methods[N_METHODS];
} options;

enum { O_FROM = 1, O_METHODS, O_HEBB, O_METRIC, O_LABEL, O_HELP };

static int parse_methods(const char *prog, const char *text, bool *methods) {
  char buf[128];
  snprintf(buf, sizeof buf, "%s", text);
  memset(methods, 0, N_METHODS * sizeof *methods);
  int n = 0;
  for (char *save, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int m = 0;
    while (m < N_METHODS && strcmp(tok, method_names[m])) m++;
    if (m == N_METHODS) {
      fprintf(stderr, "%s: --methods: '%s' is not one of sgd, shc, hebb\n", prog, tok);
      return 0;
    }
    methods[m] = true;
    n++;
  }
  if (!n) fprintf(stderr, "%s: --methods: empty list\n", prog);
  return n > 0;
}

/* 1: run, 0: bad arguments, -1: --help. */
static int parse_args(int argc, char **argv, options *o) {
  static const struct option longopts[] = {
      {"from", 1, 0, O_FROM},     {"methods", 1, 0, O_METHODS}, {"hebb", 1, 0, O_HEBB},
      {"metric", 1, 0, O_METRIC}, {"label", 1, 0, O_LABEL},     {"help", 0, 0, O_HELP},
      CLI_COMMON_LONGOPTS,        CLI_TRAINING_LONGOPTS,        {0, 0, 0, 0}};
  const char *p = o->c.prog;
  int c, ok = 1;
  while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case O_FROM: o->from = optarg; break;
      case O_METHODS: ok = parse_methods(p, optarg, o->methods); break;
      case O_HEBB: o->hebb = optarg; break;
      case O_METRIC: o->metric = optarg; break;
      case O_LABEL: o->label = optarg; break;
      case O_HELP: fputs(usage, stdout); return -1;
      case '?': ok = 0; break;
      default: ok = cli_shared_option(&o->c, &o->t, c, optarg);
    }
  }
  if (!cli_parsed(p, ok, argc, argv)) return 0;
  if (!o->from) return fprintf(stderr, "%s: --from FILE is required (see --help)\n", p), 0;
  if (access(o->from, R_OK) != 0) return fprintf(stderr, "%s: --from %s: cannot read the file\n", p, o->from), 0;
  if (!cli_metric_ok(p, o->metric)) return 0;
  hg_plasticity rule;
  if (hg_plasticity_parse(o->hebb, &rule) != HG_OK) return fprintf(stderr, "%s: --hebb: %s\n", p, hg_last_error()), 0;
  return 1;
}

typedef struct row_key {
  char source[600], data[64], train[32], seed[32], method[300], training[200];
} row_key;

#define N_KEYS 6
static const char *const key_cols[N_KEYS] = {"source", "data", "train_images", "seed", "method", "training"};

static void make_key(const options *o, const hg_data *d, int m, row_key *k) {
  snprintf(k->source, sizeof k->source, "%s", o->label ? o->label : o->from);
  cli_data_key(&o->c, k->data, sizeof k->data);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  if (m == HEBB) snprintf(k->method, sizeof k->method, "hebb:%s", o->hebb);
  else snprintf(k->method, sizeof k->method, "%s", method_names[m]);
  cli_training_key(&o->c, &o->t, k->training, sizeof k->training);
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

static bool row_done(const options *o, const row_key *k, const char *column, row *r) {
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

static hg_status record_row(const options *o, const row_key *k, int m, const hg_experiment_outcome *r) {
  static const char *const extra_cols[1] = {"modes"};
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/retrain", o->c.out);
  const char *key[N_KEYS], *extra[1] = {seed_modes[m]};
  key_values(k, key);
  return cli_record(prefix, N_KEYS, key_cols, key, 1, extra_cols, extra, r);
}

static hg_status retrain(const options *o, const hg_data *d, const row_key *k, int m, hg_experiment_outcome *r) {
  hg_net *net = hg_net_seeds(d->train->images->shape[1], d->train->num_classes, (uint64_t)o->c.seed);
  if (!net) return hg_last_status();
  char run_dir[600], label[32];
  const char *key[N_KEYS];
  key_values(k, key);
  snprintf(run_dir, sizeof run_dir, "%s/runs/%s-seed%d-%08x", o->c.out, method_names[m], o->c.seed,
           cli_key_hash(N_KEYS, key));
  snprintf(label, sizeof label, "retrain %s", method_names[m]);
  /* the layers below new_from[m] come from the checkpoint, the rest stay new */
  hg_status s = hg_experiment_load_net(net, o->from, hg_net_find(net, new_from[m]));
  if (s == HG_OK) s = hg_net_set_modes(net, run_modes[m]);
  int drop = hg_net_find(net, "drop5"); /* the seeds' Hebbian training uses no dropout */
  if (s == HG_OK && m == HEBB && drop >= 0) hg_layer_set_mode(net->layers[drop], HG_TRAIN_F);
  hg_plasticity rule;
  if (s == HG_OK) s = hg_plasticity_parse(o->hebb, &rule);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->t.lr, o->t.momentum, o->t.weight_decay, o->t.momentum > 0),
                        .hebb_lr = o->t.hebb_lr};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &rule, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  hg_fit_opts f = {0};
  if (s == HG_OK)
    s = cli_fit_opts(&o->c, &o->t, m == SGD ? HG_PHASE_BACKPROP : HG_PHASE_HEBB, m == SGD ? NULL : "constant",
                     run_dir, label, &f);
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, d, &f, r);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

static hg_status retrain_all(options *o) {
  hg_data d = {0};
  char zca[600];
  hg_status s = cli_prepare(&o->c, &d, zca, sizeof zca);
  if (s != HG_OK) return s;
  const char *metric = cli_metric(o->metric, d.train);
  char column[16];
  snprintf(column, sizeof column, "test_%s", metric);
  int rows = 0;
  for (int m = 0; m < N_METHODS; m++) rows += o->methods[m];
  hg_table *table = hg_table_new(rows, 5);
  if (!table) s = hg_last_status();
  for (int m = 0, i = 0; m < N_METHODS && s == HG_OK; m++) {
    if (!o->methods[m]) continue;
    row_key k;
    row r;
    make_key(o, &d, m, &k);
    if (!row_done(o, &k, column, &r)) {
      hg_experiment_outcome out;
      s = retrain(o, &d, &k, m, &out);
      if (s == HG_OK) s = record_row(o, &k, m, &out);
      if (s != HG_OK) break;
      r.acc = !strcmp(metric, "top5") ? out.test.top5 : out.test.top1;
      r.best_epoch = out.fit.best_epoch;
      printf("%s (%s): test %.2f%% (%s), validation %.2f%%, best epoch %d of %d, %.0f s\n", k.method,
             seed_modes[m], 100 * r.acc, metric, 100 * out.val.top1, out.fit.best_epoch, out.fit.epochs_run,
             out.fit.seconds);
    } else {
      printf("%s (%s): test %.2f%% (%s), best epoch %d, from %s/retrain.csv\n", k.method, seed_modes[m],
             100 * r.acc, metric, r.best_epoch, o->c.out);
    }
    fflush(stdout);
    hg_table_set(table, i, 0, "%s", seed_modes[m]);
    hg_table_set(table, i, 1, "%s", m == SGD ? "BP" : m == SHC ? "SHC" : o->hebb);
    hg_table_set(table, i, 2, "%s", m == SHC ? "fc6" : "fc5, fc6");
    hg_table_set(table, i, 3, "%.2f", 100 * r.acc);
    hg_table_set(table, i, 4, "%d", r.best_epoch);
    i++;
  }
  if (s == HG_OK) {
    const char *head[5] = {"L1-L6", "Method", "Retrained", "Acc (%)", "Epochs"};
    for (int c = 0; c < 5; c++) hg_table_set(table, -1, c, "%s", head[c]);
    hg_table_set(table, -1, 3, "Acc (%s %%)", metric);
    row_key k;
    make_key(o, &d, SGD, &k);
    char prefix[600], title[1024];
    snprintf(prefix, sizeof prefix, "%s/retrain_table", o->c.out);
    snprintf(title, sizeof title,
             "Retraining the top layers of %s on %s (%s images for training, seed %s): test accuracy of "
             "the best validation epoch and that epoch.",
             k.source, k.data, k.train, k.seed);
    s = cli_show_table(table, prefix, title);
  }
  hg_table_free(table);
  hg_data_release(&d);
  return s;
}

int main(int argc, char **argv) {
  options o = {.c = cli_defaults("retrain_top", "runs/retrain_top"), .hebb = "instar/e-soft-wta:0.02/mean",
               .t = {.epochs = 20, .patience = 2, .lr = 1e-3f, .momentum = 0.9f, .weight_decay = 5e-2f,
                     .hebb_lr = 1e-3f, .schedule = "seeds:10:2"},
               .methods = {true, true, true}};
  int parsed = parse_args(argc, argv, &o);
  if (parsed <= 0) return parsed < 0 ? 0 : 2;
  omp_set_num_threads(o.c.threads);
  return cli_exit("retrain_top", retrain_all(&o));
}
