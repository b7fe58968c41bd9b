/* layer_probe: linear classifiers on the features of each layer of a trained
 * seeds' network (seed 002 Tables 1/4/7, seed 003 Table 1): an SGD
 * classifier and, with --shc, the supervised Hebbian classifier, on top of
 * L1..L5 (the blocks ending at bn1..bn5), everything below frozen. */
#include <omp.h>
#include <unistd.h>

#include "examples/experiment_cli.h"

static const char usage[] =
    "usage: layer_probe (--from FILE | --train-hebb SPEC) [options]\n"
    "\n"
    "Train a linear classifier on top of each layer L1..L5 of a trained seeds' network\n"
    "(L1..L5 end at bn1..bn5; everything below the classifier is frozen) and report\n"
    "its test accuracy as a table, layer x {SGD, SHC}, on stdout and in OUT/probe_table.csv\n"
    "and .md. Each cell (layer, classifier) is appended to OUT/cells.csv/.jsonl when done\n"
    "and skipped when it is there already, so an interrupted run continues; a cell cut\n"
    "off half-way resumes from its last epoch (OUT/cells/). The frozen layers run once over\n"
    "the images; the probe trains on their outputs, kept in memory (CIFAR-10, L1: 60000\n"
    "images x 18816 values, 4.5 GB).\n"
    "\n"
    "The trained net\n"
    "  --from FILE          a checkpoint of the seeds' net for this data set: the\n"
    "                       best.safetensors or last.safetensors of a run of `train`\n"
    "                       (any --modes) or any file of hg_trainer_save; weights are read\n"
    "                       by name, the optimizer state in the file is ignored\n"
    "  --train-hebb SPEC    instead, first train every layer of a new seeds' net with this\n"
    "                       Hebbian rule (no labels), e.g. instar/e-soft-wta:0.02/mean,\n"
    "                       hpca/none/relu/avg; kept in OUT/hebb-net-seedN.safetensors and\n"
    "                       reused by later runs with the same setting\n"
    "  --hebb-epochs N      epochs of that training (default 1)\n"
    "  --recalibrate        re-estimate the batch-norm statistics of the --from net on the\n"
    "                       training images before probing (always done after --train-hebb,\n"
    "                       whose Hebbian phase never runs bn5)\n"
    "  --modified-bn        the seeds' code's batch norm for Hebbian nets at bn3..bn5: each\n"
    "                       channel keeps its relative variance (in the --train-hebb training\n"
    "                       too); \"+modified-bn\" is added to the net's name in OUT/cells.csv\n"
    "  --label TEXT         name of the trained net in OUT/cells.csv (default the --from path,\n"
    "                       or hebb:SPEC:EPOCHS)\n"
    "Probes\n"
    "  --layers LIST        layers to probe, e.g. 1,3,5 (default 1,2,3,4,5)\n"
    "  --shc                also train the supervised Hebbian classifier (teacher neuron,\n"
    "                       instar rule, --hebb-lr) on each layer\n"
    "  --shc-rule SPEC      plasticity of that classifier (default instar; the teacher signal\n"
    "                       always decides who learns), e.g. instar/none/unitnorm: weight\n"
    "                       vectors kept at unit length, read out by projection (seed 003)\n"
    "  --shc-lr F           its learning rate (default --hebb-lr; seed 003 uses 0.1)\n"
    "  --dropout P          dropout on the SGD probe's input, [0, 1) (default 0; seed 001's\n"
    "                       classifier uses 0.5); kept in the method column (\"sgd:dropout=P\")\n"
    "  --epochs N           epochs per probe (default 10); the weights of the epoch with the\n"
    "                       best validation accuracy are kept (early stopping as the seeds)\n"
    "  --patience N         also stop after N epochs without a better validation (default 0: off)\n"
    "  --lr F               SGD learning rate (default 1e-3)\n"
    "  --schedule S         SGD learning-rate schedule: constant, step:S:G, seeds:HOLD:PERIOD,\n"
    "                       cosine:T (default seeds:10:2, i.e. constant for 10 epochs)\n"
    "  --momentum F         SGD Nesterov momentum (default 0.9)\n"
    "  --weight-decay F     SGD L2 weight decay (default 5e-4, the seeds' probes)\n"
    "  --hebb-lr F          learning rate of the Hebbian training and of the SHC (default 1e-3)\n"
    "  --metric M           top1 or top5 in the table (default top5 for 100 classes, else top1)\n"
    CLI_COMMON_USAGE;

typedef struct options {
  cli_common c;
  cli_training t;
  const char *from, *train_hebb, *label, *metric, *shc_rule;
  int layers[5], n_layers, hebb_epochs;
  float shc_lr; /* < 0: --hebb-lr */
  float dropout; /* of the SGD probe */
  bool shc, recalibrate, modified_bn;
} options;

enum { O_FROM = 1, O_TRAIN_HEBB, O_HEBB_EPOCHS, O_RECALIBRATE, O_LABEL, O_LAYERS, O_SHC, O_SHC_RULE, O_SHC_LR, O_METRIC,
       O_DROPOUT, O_MODIFIED_BN, O_HELP };

/* 1: run, 0: bad arguments, -1: --help. */
static int parse_args(int argc, char **argv, options *o) {
  static const struct option longopts[] = {
      {"from", 1, 0, O_FROM},     {"train-hebb", 1, 0, O_TRAIN_HEBB}, {"hebb-epochs", 1, 0, O_HEBB_EPOCHS},
      {"recalibrate", 0, 0, O_RECALIBRATE}, {"label", 1, 0, O_LABEL}, {"layers", 1, 0, O_LAYERS},
      {"shc", 0, 0, O_SHC},       {"shc-rule", 1, 0, O_SHC_RULE},     {"shc-lr", 1, 0, O_SHC_LR}, {"dropout", 1, 0, O_DROPOUT},
      {"metric", 1, 0, O_METRIC}, {"modified-bn", 0, 0, O_MODIFIED_BN}, {"help", 0, 0, O_HELP},
      CLI_COMMON_LONGOPTS,        CLI_TRAINING_LONGOPTS,              {0, 0, 0, 0}};
  const char *p = o->c.prog;
  int c, ok = 1;
  while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case O_FROM: o->from = optarg; break;
      case O_TRAIN_HEBB: o->train_hebb = optarg; break;
      case O_HEBB_EPOCHS: ok = cli_int(p, "hebb-epochs", optarg, 0, 1000, &o->hebb_epochs); break;
      case O_RECALIBRATE: o->recalibrate = true; break;
      case O_MODIFIED_BN: o->modified_bn = true; break;
      case O_LABEL: o->label = optarg; break;
      case O_LAYERS: ok = (o->n_layers = cli_int_list(p, "layers", optarg, 1, 5, o->layers, 5)) > 0; break;
      case O_SHC: o->shc = true; break;
      case O_SHC_RULE: o->shc_rule = optarg; break;
      case O_SHC_LR: ok = cli_float(p, "shc-lr", optarg, &o->shc_lr); break;
      case O_DROPOUT: ok = cli_rate(p, "dropout", optarg, &o->dropout); break;
      case O_METRIC: o->metric = optarg; break;
      case O_HELP: fputs(usage, stdout); return -1;
      case '?': ok = 0; break;
      default: ok = cli_shared_option(&o->c, &o->t, c, optarg);
    }
  }
  if (!cli_parsed(p, ok, argc, argv)) return 0;
  if (!o->from == !o->train_hebb) return fprintf(stderr, "%s: give exactly one of --from FILE and --train-hebb SPEC\n", p), 0;
  if (o->from && access(o->from, R_OK) != 0) return fprintf(stderr, "%s: --from %s: cannot read the file\n", p, o->from), 0;
  if (!cli_metric_ok(p, o->metric)) return 0;
  hg_plasticity rule;
  if (o->train_hebb && hg_plasticity_parse(o->train_hebb, &rule) != HG_OK)
    return fprintf(stderr, "%s: --train-hebb: %s\n", p, hg_last_error()), 0;
  if (hg_plasticity_parse(o->shc_rule, &rule) != HG_OK)
    return fprintf(stderr, "%s: --shc-rule: %s\n", p, hg_last_error()), 0;
  return 1;
}

static const char *const methods[2] = {"sgd", "shc"};

/* What identifies a cell in OUT/cells.csv. */
typedef struct cell_key {
  char source[600], data[64], train[32], seed[32], layer[8], method[320], training[200];
} cell_key;

#define N_KEYS 7
static const char *const key_cols[N_KEYS] = {"source", "data", "train_images", "seed", "layer", "method", "training"};

static void make_key(const options *o, const hg_data *d, int layer, int method, cell_key *k) {
  const char *mbn = o->modified_bn ? "+modified-bn" : "";
  if (o->label) snprintf(k->source, sizeof k->source, "%s%s", o->label, mbn);
  else if (o->from) snprintf(k->source, sizeof k->source, "%s%s%s", o->from, o->recalibrate ? " (recalibrated)" : "", mbn);
  else snprintf(k->source, sizeof k->source, "hebb:%s:%d%s", o->train_hebb, o->hebb_epochs, mbn);
  cli_data_key(&o->c, k->data, sizeof k->data);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  snprintf(k->layer, sizeof k->layer, "L%d", layer);
  bool plain = !strcmp(o->shc_rule, "instar") && o->shc_lr < 0; /* the default SHC keeps its old key */
  if (method == 0 && o->dropout > 0) snprintf(k->method, sizeof k->method, "sgd:dropout=%g", o->dropout);
  else if (method == 0 || plain) snprintf(k->method, sizeof k->method, "%s", methods[method]);
  else snprintf(k->method, sizeof k->method, "shc:%s:%g", o->shc_rule, o->shc_lr < 0 ? o->t.hebb_lr : o->shc_lr);
  cli_training_key(&o->c, &o->t, k->training, sizeof k->training);
}

/* The key's values, in key_cols' order. */
static void key_values(const cell_key *k, const char *v[N_KEYS]) {
  const char *all[N_KEYS] = {k->source, k->data, k->train, k->seed, k->layer, k->method, k->training};
  memcpy(v, all, sizeof all);
}

/* The finished cell's value of `column`, if there is one. */
static bool cell_done(const options *o, const cell_key *k, const char *column, double *value) {
  char path[600], text[64];
  snprintf(path, sizeof path, "%s/cells.csv", o->c.out);
  const char *vals[N_KEYS];
  key_values(k, vals);
  if (!hg_experiment_find_result(path, N_KEYS, key_cols, vals, column, text, sizeof text)) return false;
  *value = atof(text);
  return true;
}

static hg_status record_cell(const options *o, const cell_key *k, const hg_experiment_outcome *r) {
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/cells", o->c.out);
  const char *key[N_KEYS];
  key_values(k, key);
  return cli_record(prefix, N_KEYS, key_cols, key, 0, NULL, NULL, r);
}

/* A fresh seeds' net, with the modified batch norms if asked. */
static hg_net *fresh_net(const options *o, const hg_data *d) {
  hg_net *net = hg_net_seeds(d->train->images->shape[1], d->train->num_classes, (uint64_t)o->c.seed);
  if (net && o->modified_bn && hg_experiment_modified_bn(net) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}

/* A fresh seeds' net holding the trained weights. */
static hg_net *load_trained(const options *o, const hg_data *d, const char *path) {
  hg_net *net = fresh_net(o, d);
  if (net && hg_experiment_load_net(net, path, -1) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}

/* The checkpoint the probes start from, made on first use: the --from file,
 * that file with re-estimated batch norms, or the Hebbian-trained net. */
static hg_status source_checkpoint(const options *o, const hg_data *d, char *path, size_t size) {
  if (o->from && !o->recalibrate) {
    snprintf(path, size, "%s", o->from);
    return HG_OK;
  }
  hg_net *net = o->from ? load_trained(o, d, o->from) : fresh_net(o, d);
  if (!net) return hg_last_status();
  const char *mbn = o->modified_bn ? "-modified-bn" : "";
  hg_status s;
  if (o->from) {
    snprintf(path, size, "%s/recalibrated%s-seed%d.safetensors", o->c.out, mbn, o->c.seed);
    fprintf(stderr, "re-estimating the batch-norm statistics of %s\n", o->from);
    s = hg_experiment_recalibrate_bn(net, d->train, -1, o->c.batch, 10000, (uint64_t)o->c.seed);
    const char *keys[] = {"setting"}, *values[] = {o->from};
    if (s == HG_OK) s = hg_experiment_save_net(net, path, 1, keys, values);
  } else {
    char run_dir[600];
    snprintf(path, size, "%s/hebb-net%s-seed%d.safetensors", o->c.out, mbn, o->c.seed);
    snprintf(run_dir, sizeof run_dir, "%s/hebb-net%s-seed%d", o->c.out, mbn, o->c.seed);
    bool cached;
    s = cli_pretrain(&o->c, &o->t, net, d->train, o->train_hebb, o->hebb_epochs, 0, path, run_dir, &cached);
    if (s == HG_OK) fprintf(stderr, "%s the Hebbian-trained net %s\n", cached ? "reusing" : "trained", path);
  }
  hg_net_free(net);
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
static hg_status run_cell(const options *o, const hg_data *d, const char *source, const cell_key *k, int layer,
                          int method, hg_data *features, hg_experiment_outcome *r) {
  char bn[8], run_dir[600], label[32];
  bool shc = method == 1;
  const char *key[N_KEYS];
  key_values(k, key);
  snprintf(bn, sizeof bn, "bn%d", layer);
  snprintf(run_dir, sizeof run_dir, "%s/cells/L%d-%s-seed%d-%08x", o->c.out, layer, methods[method], o->c.seed,
           cli_key_hash(N_KEYS, key));
  snprintf(label, sizeof label, "L%d %s", layer, methods[method]);
  hg_net *net = load_trained(o, d, source);
  if (!net) return hg_last_status();
  int after = hg_net_find(net, bn);
  hg_status s = after < 0 ? hg_fail(HG_ERR_ARG, "the net has no layer %s", bn)
                          : hg_net_attach_probe(net, after, d->train->images, d->train->num_classes, shc ? 0 : o->dropout);
  if (s == HG_OK && shc) hg_layer_set_mode(net->layers[net->n - 1], HG_TRAIN_H);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->t.lr, o->t.momentum, o->t.weight_decay, o->t.momentum > 0),
                        .hebb_lr = o->shc_lr < 0 ? o->t.hebb_lr : o->shc_lr};
  hg_plasticity teacher; /* the classifier of an H probe always learns from the teacher signal */
  if (s == HG_OK) s = hg_plasticity_parse(o->shc_rule, &teacher);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &teacher, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  hg_fit_opts f = {0};
  if (s == HG_OK)
    s = cli_fit_opts(&o->c, &o->t, shc ? HG_PHASE_HEBB : HG_PHASE_BACKPROP, shc ? "constant" : NULL,
                     run_dir, label, &f);
  if (s == HG_OK && !features->train) s = frozen_features(net, after + 1, d, o->c.batch, features);
  net->first = after + 1;
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, features, &f, r);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

static hg_status probe_all(options *o) {
  hg_data d = {0};
  char zca[600], source[700] = "";
  hg_status s = cli_prepare(&o->c, &d, zca, sizeof zca);
  if (s != HG_OK) return s;
  const char *metric = cli_metric(o->metric, d.train);
  char column[16];
  snprintf(column, sizeof column, "test_%s", metric);
  int n_methods = o->shc ? 2 : 1;
  hg_table *table = hg_table_new(o->n_layers, 1 + n_methods);
  if (!table) s = hg_last_status();
  for (int i = 0; i < o->n_layers && s == HG_OK; i++) {
    hg_data features = {0}; /* the frozen layers' outputs, shared by the layer's probes */
    for (int m = 0; m < n_methods && s == HG_OK; m++) {
      cell_key k;
      double value;
      make_key(o, &d, o->layers[i], m, &k);
      if (!cell_done(o, &k, column, &value)) {
        hg_experiment_outcome r;
        if (!source[0]) s = source_checkpoint(o, &d, source, sizeof source);
        if (s == HG_OK) s = run_cell(o, &d, source, &k, o->layers[i], m, &features, &r);
        if (s == HG_OK) s = record_cell(o, &k, &r);
        if (s != HG_OK) break;
        value = !strcmp(metric, "top5") ? r.test.top5 : r.test.top1;
        printf("L%d %s: test %.2f%% (%s), validation %.2f%%, best epoch %d of %d, %.0f s\n", o->layers[i],
               m ? "SHC" : "SGD", 100 * value, metric, 100 * r.val.top1, r.fit.best_epoch, r.fit.epochs_run,
               r.fit.seconds);
      } else {
        printf("L%d %s: test %.2f%% (%s), from %s/cells.csv\n", o->layers[i], m ? "SHC" : "SGD", 100 * value,
               metric, o->c.out);
      }
      fflush(stdout);
      hg_table_set(table, i, 0, "L%d", o->layers[i]);
      hg_table_set(table, i, 1 + m, "%.2f", 100 * value);
    }
    hg_data_release(&features);
  }
  if (s == HG_OK) {
    hg_table_set(table, -1, 0, "Layer");
    hg_table_set(table, -1, 1, "SGD (%s %%)", metric);
    if (o->shc) hg_table_set(table, -1, 2, "SHC (%s %%)", metric);
    cell_key k;
    make_key(o, &d, 0, 0, &k);
    char prefix[600], title[1024];
    snprintf(prefix, sizeof prefix, "%s/probe_table", o->c.out);
    snprintf(title, sizeof title, "Linear classifiers on each layer of %s, %s (%s images for training, seed %s).",
             k.source, k.data, k.train, k.seed);
    s = cli_show_table(table, prefix, title);
  }
  hg_table_free(table);
  hg_data_release(&d);
  return s;
}

int main(int argc, char **argv) {
  options o = {.c = cli_defaults("layer_probe", "runs/layer_probe"), .layers = {1, 2, 3, 4, 5}, .n_layers = 5,
               .t = {.epochs = 10, .lr = 1e-3f, .momentum = 0.9f, .weight_decay = 5e-4f, .hebb_lr = 1e-3f,
                     .schedule = "seeds:10:2"},
               .hebb_epochs = 1, .shc_rule = "instar", .shc_lr = -1};
  int parsed = parse_args(argc, argv, &o);
  if (parsed <= 0) return parsed < 0 ? 0 : 2;
  omp_set_num_threads(o.c.threads);
  return cli_exit("layer_probe", probe_all(&o));
}
