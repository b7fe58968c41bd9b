/* semisup: one regime of the semi-supervised protocol of seed 001 (Table 1):
 * unsupervised Hebbian pre-training of every layer of the seeds' network on
 * the whole training split (or none: random initialisation), then end-to-end
 * SGD fine-tuning of layers L1..LK with a new linear classifier on top of
 * bnK, on the s% of the training images that keep their labels. */
#include <omp.h>
#include <unistd.h>

#include "examples/experiment_cli.h"

static const char usage[] =
    "usage: semisup --pretrain hpca|soft-wta|none [options]\n"
    "\n"
    "One regime of the semi-supervised protocol of seed 001: pre-train every layer of the\n"
    "seeds' net with a Hebbian rule on the whole training split without labels (or keep\n"
    "the random initialisation), keep L1..LK (K = --upto; L1..L5 end at bn1..bn5) and a new\n"
    "linear classifier on bnK, and fine-tune all of them end to end by SGD on --labels\n"
    "percent of the training images (a seeded class-balanced subset). Prints the test\n"
    "accuracy of the best validation epoch and appends a row to OUT/semisup.csv/.jsonl; a\n"
    "regime already there (same data, net, pre-training, labels, depth, seed and fine-tuning\n"
    "settings) is not run again. The pre-trained net is kept in\n"
    "OUT/pretrain-DATA-PRETRAIN-seedN.safetensors and reused by every regime with the same\n"
    "data, pre-training and seed. The validation split (--val) keeps its labels: it picks\n"
    "the best epoch, as in the seeds. scripts/semisup_table.sh runs the 40 regimes of a table.\n"
    "\n"
    "Regime\n"
    "  --pretrain P         hpca (rule hpca/none/relu/avg), soft-wta (instar/e-soft-wta:0.02/mean:\n"
    "                       seed 001's soft-WTA is the softmax variant, its eq. 3) or none\n"
    "  --hebb SPEC          another Hebbian rule for the pre-training (named P in the outputs)\n"
    "  --hebb-epochs N      Hebbian pre-training epochs (default 1)\n"
    "  --hebb-layers K      pre-train only L1..LK, 1..5 (default 5: all); the others keep their\n"
    "                       initialisation. Each layer learns on its own input, so L1..LK end as\n"
    "                       they would with all five: the same results for --upto <= K, faster\n"
    "                       (fc5's 4096 units dominate HPCA). The cache is then\n"
    "                       OUT/pretrain-DATA-PRETRAIN-LK-seedN.safetensors\n"
    "  --hebb-lr F          Hebbian learning rate (default 1e-3)\n"
    "  --labels PCT         percentage of training images with labels, (0, 100] (default 100)\n"
    "  --upto K             fine-tune layers L1..LK, 1..5 (default 5)\n"
    "  --unit-rows          scale every unit's weights (and bias) of the pre-trained L1..LK to\n"
    "                       norm 1 before fine-tuning: the same function (batch norm follows),\n"
    "                       but SGD's step relative to the weights becomes that of a fresh layer\n"
    "                       (instar rows grow to the norm of their input, ~10x a fresh one's);\n"
    "                       seed 001's code reads its WTA layers out as x·w/‖w‖. Kept in the hebb\n"
    "                       column (\"SPEC+unit-rows\"); no effect with --pretrain none\n"
    "  --row-norm F         the same, to norm F > 0 (\"SPEC+rows=F\"): 0.58 is a fresh 3x3x96\n"
    "                       layer's, whose rows turn (1/0.58)^2 = 3x faster per step than unit rows\n"
    "  --no-bias            the pre-trained L1..LK keep no bias while fine-tuning (u = w·x, as\n"
    "                       seed 001's Hebbian layers; ours start at 0 after pre-training and\n"
    "                       learn otherwise); net column \"seeds+no-bias\"; no effect with none\n"
    "  --modified-bn        seed 001's batch norm for its Hebbian nets at bn3..bn5: each channel\n"
    "                       scaled by sqrt(running var / mean running var), keeping the channels'\n"
    "                       relative variance (net column \"seeds+modified-bn\"); pre-training\n"
    "                       and fine-tuning\n"
    "Fine-tuning (SGD with Nesterov momentum, the seeds' protocol)\n"
    "  --epochs N           epochs (default 20); the weights of the best validation epoch are kept\n"
    "  --dropout P          dropout on the classifier's input, in [0, 1) (default\n"
    "                       0.5, as seed 001's classifier: dropout then linear)\n"
    "  --patience N         stop after N epochs without a better validation (default 0: off)\n"
    "  --lr F               learning rate (default 1e-3)\n"
    "  --schedule S         constant, step:S:G, seeds:HOLD:PERIOD, cosine:T (default seeds:10:2)\n"
    "  --momentum F         (default 0.9)\n"
    "  --weight-decay F     L2 weight decay (default 5e-2; the seeds use 1e-2 on CIFAR-100)\n"
    CLI_COMMON_USAGE;

typedef struct options {
  cli_common c;
  cli_training t;
  const char *pretrain, *hebb;
  double labels;
  float dropout;
  int upto, hebb_epochs, hebb_layers;
  float row_norm; /* 0: pre-trained rows as they are */
  bool modified_bn, no_bias;
} options;

enum {
  O_PRETRAIN = 1, O_HEBB, O_HEBB_EPOCHS, O_HEBB_LAYERS, O_LABELS, O_UPTO,
  O_UNIT_ROWS, O_ROW_NORM, O_MODIFIED_BN, O_NO_BIAS, O_DROPOUT, O_HELP
};

/* 1: run, 0: bad arguments, -1: --help. */
static int parse_args(int argc, char **argv, options *o) {
  static const struct option longopts[] = {
      {"pretrain", 1, 0, O_PRETRAIN}, {"hebb", 1, 0, O_HEBB},  {"hebb-epochs", 1, 0, O_HEBB_EPOCHS},
      {"labels", 1, 0, O_LABELS},     {"upto", 1, 0, O_UPTO},  {"unit-rows", 0, 0, O_UNIT_ROWS},
      {"row-norm", 1, 0, O_ROW_NORM},
      {"hebb-layers", 1, 0, O_HEBB_LAYERS}, {"dropout", 1, 0, O_DROPOUT}, {"modified-bn", 0, 0, O_MODIFIED_BN},
      {"no-bias", 0, 0, O_NO_BIAS},   {"help", 0, 0, O_HELP},
      CLI_COMMON_LONGOPTS,            CLI_TRAINING_LONGOPTS,   {0, 0, 0, 0}};
  const char *p = o->c.prog;
  int c, ok = 1;
  float pct = 100;
  while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case O_PRETRAIN: o->pretrain = optarg; break;
      case O_HEBB: o->hebb = optarg; break;
      case O_HEBB_EPOCHS: ok = cli_int(p, "hebb-epochs", optarg, 0, 1000, &o->hebb_epochs); break;
      case O_HEBB_LAYERS: ok = cli_int(p, "hebb-layers", optarg, 1, 5, &o->hebb_layers); break;
      case O_LABELS:
        ok = cli_float(p, "labels", optarg, &pct);
        if (ok && !(pct > 0 && pct <= 100)) ok = 0, fprintf(stderr, "%s: --labels %s: expected a percentage in (0, 100]\n", p, optarg);
        break;
      case O_UPTO: ok = cli_int(p, "upto", optarg, 1, 5, &o->upto); break;
      case O_UNIT_ROWS: o->row_norm = 1; break;
      case O_ROW_NORM:
        ok = cli_float(p, "row-norm", optarg, &o->row_norm);
        if (ok && !(o->row_norm > 0)) ok = 0, fprintf(stderr, "%s: --row-norm %s: expected a norm > 0\n", p, optarg);
        break;
      case O_MODIFIED_BN: o->modified_bn = true; break;
      case O_NO_BIAS: o->no_bias = true; break;
      case O_DROPOUT: ok = cli_rate(p, "dropout", optarg, &o->dropout); break;
      case O_HELP: fputs(usage, stdout); return -1;
      case '?': ok = 0; break;
      default: ok = cli_shared_option(&o->c, &o->t, c, optarg);
    }
  }
  o->labels = pct;
  if (!cli_parsed(p, ok, argc, argv)) return 0;
  if (!o->pretrain) return fprintf(stderr, "%s: --pretrain hpca|soft-wta|none is required (see --help)\n", p), 0;
  if (!o->hebb) {
    if (!strcmp(o->pretrain, "hpca")) o->hebb = "hpca/none/relu/avg";
    else if (!strcmp(o->pretrain, "soft-wta")) o->hebb = "instar/e-soft-wta:0.02/mean";
    else if (strcmp(o->pretrain, "none"))
      return fprintf(stderr, "%s: --pretrain %s: expected hpca, soft-wta or none (or give --hebb SPEC)\n", p, o->pretrain), 0;
  } else if (!strcmp(o->pretrain, "none")) {
    return fprintf(stderr, "%s: --hebb makes no sense with --pretrain none\n", p), 0;
  }
  if (!o->hebb) o->row_norm = 0, o->no_bias = false, o->hebb_epochs = 0; /* nothing pre-trained with none */
  if (o->hebb && o->upto > o->hebb_layers)
    return fprintf(stderr, "%s: --upto %d: only L1..L%d are pre-trained (--hebb-layers)\n", p, o->upto, o->hebb_layers), 0;
  if (strchr(o->pretrain, '/') || strchr(o->pretrain, ','))
    return fprintf(stderr, "%s: --pretrain %s: a name without '/' or ','\n", p, o->pretrain), 0;
  hg_plasticity rule;
  if (o->hebb && hg_plasticity_parse(o->hebb, &rule) != HG_OK) return fprintf(stderr, "%s: --hebb: %s\n", p, hg_last_error()), 0;
  return 1;
}

#define N_KEYS 11
static const char *const key_cols[N_KEYS] = {"data", "net",  "pretrain",    "hebb",    "train_images", "labels_pct",
                                             "upto", "seed", "hebb_epochs", "dropout", "finetune"};

typedef struct row_key {
  char data[64], net[32], hebb[300], train[32], labels[32], upto[8], seed[32], hebb_epochs[16], dropout[16],
      finetune[160];
} row_key;

static void make_key(const options *o, const hg_data *d, row_key *k) {
  cli_data_key(&o->c, k->data, sizeof k->data);
  char rows[32] = "";
  if (o->row_norm == 1) snprintf(rows, sizeof rows, "+unit-rows");
  else if (o->row_norm > 0) snprintf(rows, sizeof rows, "+rows=%g", o->row_norm);
  snprintf(k->hebb, sizeof k->hebb, "%s%s", o->hebb ? o->hebb : "-", rows);
  snprintf(k->train, sizeof k->train, "%d", d->train->count);
  snprintf(k->labels, sizeof k->labels, "%g", o->labels);
  snprintf(k->upto, sizeof k->upto, "%d", o->upto);
  snprintf(k->seed, sizeof k->seed, "%d", o->c.seed);
  snprintf(k->hebb_epochs, sizeof k->hebb_epochs, "%d", o->hebb_epochs);
  snprintf(k->dropout, sizeof k->dropout, "%g", o->dropout);
  snprintf(k->net, sizeof k->net, "seeds%s%s", o->modified_bn ? "+modified-bn" : "", o->no_bias ? "+no-bias" : "");
  cli_training_key(&o->c, &o->t, k->finetune, sizeof k->finetune);
}

/* The key's values, in key_cols' order. */
static void key_values(const options *o, const row_key *k, const char *v[N_KEYS]) {
  const char *all[N_KEYS] = {k->data,  k->net,  o->pretrain,    k->hebb,    k->train,   k->labels,
                             k->upto,  k->seed, k->hebb_epochs, k->dropout, k->finetune};
  memcpy(v, all, sizeof all);
}

static const char *const extra_cols[1] = {"labelled"};

/* OUT/semisup.csv/.jsonl, opened before the work so that a file with other
 * columns is refused before hours of training. */
static hg_results *open_results(const options *o) {
  char prefix[600];
  snprintf(prefix, sizeof prefix, "%s/semisup", o->c.out);
  return cli_results_open(prefix, N_KEYS, key_cols, 1, extra_cols);
}

static hg_status record(hg_results *res, const char *const key[N_KEYS], int labelled,
                        const hg_experiment_outcome *r) {
  char count[32];
  snprintf(count, sizeof count, "%d", labelled);
  const char *extra[1] = {count};
  return cli_results_row(res, N_KEYS, key, 1, extra, r);
}

/* The seeds' net, Hebbian pre-trained on every training image (cached) or not. */
static hg_net *initial_net(const options *o, const hg_data *d) {
  hg_net *net = hg_net_seeds(d->train->images->shape[1], d->train->num_classes, (uint64_t)o->c.seed);
  if (net && o->modified_bn && hg_experiment_modified_bn(net) != HG_OK) hg_net_free(net), net = NULL;
  if (!net || !o->hebb) return net;
  char name[500], cache[700], run_dir[700], layers[16] = "";
  int all = o->hebb_layers >= 5;
  if (!all) snprintf(layers, sizeof layers, "-L%d", o->hebb_layers);
  /* bn3's scaling first reaches conv4's input: L1..L3 learn the same without it */
  const char *mbn = o->modified_bn && o->hebb_layers >= 4 ? "-modified-bn" : "";
  snprintf(name, sizeof name, "%s/pretrain-%s-%s%s%s-seed%d", o->c.out, o->c.data.name, o->pretrain, layers, mbn,
           o->c.seed);
  snprintf(cache, sizeof cache, "%s.safetensors", name);
  snprintf(run_dir, sizeof run_dir, "%s", name);
  bool cached;
  if (cli_pretrain(&o->c, &o->t, net, d->train, o->hebb, o->hebb_epochs, all ? 0 : o->hebb_layers, cache, run_dir,
                   &cached) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  fprintf(stderr, "%s the pre-trained net %s\n", cached ? "reusing" : "saved", cache);
  return net;
}

/* Fine-tune L1..LK with a new classifier; resumable from OUT/runs/, one
 * folder per regime (named by its key's hash). */
static hg_status fine_tune(const options *o, const hg_data *d, hg_net *net, const hg_dataset *labelled,
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
  if (s == HG_OK) s = hg_net_attach_probe(net, after, labelled->images, labelled->num_classes, o->dropout);
  if (s == HG_OK) s = hg_experiment_set_modes(net, 'B', 'G');
  if (s == HG_OK && o->no_bias) hg_experiment_drop_bias(net, after);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->t.lr, o->t.momentum, o->t.weight_decay, o->t.momentum > 0)};
  hg_plasticity unused;
  if (s == HG_OK) s = hg_plasticity_parse("instar", &unused);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &unused, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  hg_fit_opts f = {0};
  if (s == HG_OK) s = cli_fit_opts(&o->c, &o->t, HG_PHASE_BACKPROP, NULL, run_dir, label, &f);
  hg_data sub = {.train = (hg_dataset *)labelled, .val = d->val, .test = d->test};
  if (s == HG_OK) s = hg_experiment_fit_evaluate(t, &sub, &f, r);
  hg_trainer_free(t);
  return s;
}

static hg_status run(options *o) {
  hg_data d = {0};
  char zca[600];
  hg_status s = cli_prepare(&o->c, &d, zca, sizeof zca);
  if (s != HG_OK) return s;
  row_key k;
  make_key(o, &d, &k);
  const char *key[N_KEYS];
  key_values(o, &k, key);
  char path[700], text[64];
  snprintf(path, sizeof path, "%s/semisup.csv", o->c.out);
  if (hg_experiment_find_result(path, N_KEYS, key_cols, key, "test_top1", text, sizeof text)) {
    printf("%s, pretrain %s, %s%% labels, L%d, seed %d: test %.2f%%, from %s\n", k.data, o->pretrain, k.labels,
           o->upto, o->c.seed, 100 * atof(text), path);
    hg_data_release(&d);
    return HG_OK;
  }
  hg_results *res = open_results(o);
  hg_dataset *labelled = res ? hg_experiment_label_subset(d.train, o->labels, (uint64_t)o->c.seed) : NULL;
  hg_net *net = labelled ? initial_net(o, &d) : NULL;
  hg_experiment_outcome r;
  s = net ? fine_tune(o, &d, net, labelled, cli_key_hash(N_KEYS, key), &r) : hg_last_status();
  if (s == HG_OK) s = record(res, key, labelled->count, &r);
  if (s == HG_OK)
    printf("%s, pretrain %s, %s%% labels (%d images), L%d, seed %d: test %.2f%% (top-5 %.2f%%), validation "
           "%.2f%%, best epoch %d of %d, %.0f s\n",
           k.data, o->pretrain, k.labels, labelled->count, o->upto, o->c.seed, 100 * r.test.top1,
           100 * r.test.top5, 100 * r.val.top1, r.fit.best_epoch, r.fit.epochs_run, r.fit.seconds);
  hg_net_free(net);
  hg_dataset_free(labelled);
  hg_results_close(res);
  hg_data_release(&d);
  return s;
}

int main(int argc, char **argv) {
  options o = {.c = cli_defaults("semisup", "runs/semisup"),
               .t = {.epochs = 20, .lr = 1e-3f, .momentum = 0.9f, .weight_decay = 5e-2f, .hebb_lr = 1e-3f,
                     .schedule = "seeds:10:2"},
               .labels = 100, .upto = 5, .hebb_epochs = 1, .hebb_layers = 5, .dropout = 0.5f};
  int parsed = parse_args(argc, argv, &o);
  if (parsed <= 0) return parsed < 0 ? 0 : 2;
  omp_set_num_threads(o.c.threads);
  return cli_exit("semisup", run(&o));
}
