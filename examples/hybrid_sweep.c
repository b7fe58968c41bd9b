/* hybrid_sweep: the hybrid-network protocol of seeds 002/003. Per seed, a
 * backprop baseline is trained once; every configuration then keeps the
 * baseline's layers below its lowest Hebbian (or random) layer frozen and
 * trains the layers from there up afresh — H layers with a Hebbian method,
 * B layers by SGD — and is tested. The table (configurations × methods, mean
 * ± 95% CI over seeds) goes to text, CSV, Markdown and a heat map. Every
 * finished cell is a line of OUT/cells.jsonl: a rerun skips it. */
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examples/experiment_cli.h"
#include "hebb/fit.h"
#include "experiment/sweep.h"
#include "hebbgrad.h"
#include "io/plot.h"
#include "data/prepare.h"

static const char usage[] =
    "usage: hybrid_sweep [options]\n"
    "\n"
    "The hybrid networks of seeds 002/003: for each seed a backprop baseline (all\n"
    "layers B, classifier G) is trained once and saved (OUT/baseline-seedS.safetensors,\n"
    "reused when present). Each configuration starts from it: the layers below its\n"
    "lowest H (or R) layer keep the baseline's weights, frozen; that layer and every\n"
    "layer above are re-initialised and trained — H layers with the Hebbian method\n"
    "for --hebb-epochs, then B layers by SGD for --epochs (a classifier H is the\n"
    "supervised Hebbian classifier, trained in the Hebbian phase) — then tested.\n"
    "Prints the table of test accuracy (rows: configurations, columns: methods, cells:\n"
    "mean ± 95% confidence interval over the seeds, Student's t) and writes\n"
    "OUT/table.csv, OUT/table.md and OUT/table.png (heat map of the means).\n"
    "\n"
    "Every finished cell (configuration, method, seed) is appended to OUT/cells.jsonl\n"
    "at once; run the same command again after an interruption and the finished cells\n"
    "are skipped (an unfinished cell resumes from its last epoch checkpoint). The\n"
    "settings that change results are kept in OUT/settings.json; a different setting\n"
    "with the same OUT is refused.\n"
    "\n"
    "Presets (options given explicitly override them)\n"
    "  --preset demo        a few minutes on 2 cores: Fashion-MNIST, --model small,\n"
    "                       configs B-G,H-G,R-G,B-H, methods wta,e-soft-wta, 3 seeds,\n"
    "                       1 epoch of each phase, Hebbian lr 2e-2, 20000 training and 5000\n"
    "                       validation images\n"
    "  --preset paper       seed 002's protocol on --data: --model seeds, configs seed002,\n"
    "                       methods wta,5-wta,e-soft-wta,p-soft-wta, 5 seeds, 20 epochs with\n"
    "                       schedule seeds:10:2, 20 Hebbian epochs (its section 5), --zca,\n"
    "                       weight decay 5e-2 (1e-2 for cifar100) and 5e-4 when SGD trains no\n"
    "                       convolution, top-5 accuracy for cifar100\n"
    "  Without a preset: as paper, but 1 seed, 1 Hebbian epoch and no ZCA.\n"
    "Data\n"
    "  --data NAME          mnist, fashion-mnist, cifar10 or cifar100 (default fashion-mnist)\n"
    "  --data-dir DIR       where the data sets are (default $HEBBGRAD_DATA, else ./datasets)\n"
    "  --val N              validation images split off the training set (default 10000);\n"
    "                       each phase keeps its weights of the best validation epoch\n"
    "  --limit-train N      use only N training images (default all)\n"
    "  --limit-test N       use only N validation and N test images (default all)\n"
    "  --zca, --no-zca      whole-image ZCA whitening of the input, as the seeds do for\n"
    "                       their Hebbian layers (applies to every run of the sweep, the\n"
    "                       baseline included; fitted once, cached in OUT/zca.safetensors)\n"
    "Sweep\n"
    "  --model NAME         seeds (5 layers + classifier) or small (conv1, fc2)\n"
    "  --configs LIST       comma-separated configurations in the seeds' notation: one letter\n"
    "                       per layer with weights (B backprop, H Hebbian, R random and fixed,\n"
    "                       F frozen with the baseline's weights), '-', then the classifier\n"
    "                       (G gradient descent, H supervised Hebbian), e.g. HBBBB-G,BBBBH-H;\n"
    "                       shorthands: seed002 (the 15 hybrid rows of seed 002 Tables 2/5/8),\n"
    "                       seed003 (the 8 groups of seed 003 Table 2, R rows included),\n"
    "                       single (each layer alone Hebbian, and all of them). The baseline\n"
    "                       row (all B, G) always comes first. With a classifier H there is\n"
    "                       no SGD phase (no gradient gets past a Hebbian classifier).\n"
    "  --methods LIST       comma-separated Hebbian methods, one column each: wta\n"
    "                       (instar/wta/mean), 5-wta (instar/5-wta/mean), e-soft-wta\n"
    "                       (instar/e-soft-wta:0.02/mean), p-soft-wta (instar/p-soft-wta:0.05/mean),\n"
    "                       hpca (hpca/none/relu/avg), or any rule spec RULE[/COMPETITION][/OPTION...]\n"
    "                       (see train --help). A row with no H layer below the classifier does\n"
    "                       not use the method: it is trained once per seed, its number stands\n"
    "                       in the first column and the others say n/a.\n"
    "  --seeds N            repeat over seeds 1..N (initialisation, batch order, dropout)\n"
    "  --metric M           top1 or top5 (default top5 for cifar100, else top1)\n"
    "Training\n"
    "  --epochs N           SGD epochs of the baseline and of the B layers (default 20)\n"
    "  --hebb-epochs N      Hebbian epochs (default 1)\n"
    "  --batch N            mini-batch size (default 64)\n"
    "  --lr F               SGD learning rate (default 1e-3)\n"
    "  --hebb-lr F          Hebbian learning rate (default 1e-3)\n"
    "  --schedule S         SGD schedule: constant, step:S:G, seeds:HOLD:PERIOD, cosine:T\n"
    "                       (default seeds:10:2)\n"
    "  --momentum F         Nesterov momentum of SGD (default 0.9)\n"
    "  --weight-decay F     L2 weight decay of the B layers (default 5e-2)\n"
    "  --top-weight-decay F L2 weight decay of an SGD phase that trains no convolution,\n"
    "                       only the fully connected layers on top (seed 002's code uses\n"
    "                       its probes' 5e-4 there, e.g. for BBBBH-G and HHHHH-G; default\n"
    "                       --weight-decay)\n"
    "  --patience N         stop a phase after N epochs without a better validation (default 0: never)\n"
    "  --steps N            at most N steps per epoch (default all; for quick checks)\n"
    "Run\n"
    "  --out DIR            output folder (default runs/sweep-DATA)\n"
    "  --threads N          worker threads (default 2; results are reproducible for a given N)\n"
    "  --help               this text\n";

typedef struct options {
  hg_data_opts data;
  const char *preset, *model, *configs, *methods, *schedule, *out, *metric;
  int seeds, epochs, hebb_epochs, batch, patience, steps, threads;
  float lr, hebb_lr, momentum, weight_decay, top_weight_decay; /* top: < 0 until set */
  bool weight_decay_set;
} options;

static const struct option longopts[] = {
    {"preset", 1, 0, 'P'},      {"data", 1, 0, 'd'},         {"data-dir", 1, 0, 'D'},
    {"val", 1, 0, 'v'},         {"limit-train", 1, 0, 'L'},  {"limit-test", 1, 0, 'T'},
    {"zca", 0, 0, 'z'},         {"no-zca", 0, 0, 'Z'},       {"model", 1, 0, 'm'},
    {"configs", 1, 0, 'c'},     {"methods", 1, 0, 'M'},      {"seeds", 1, 0, 'n'},
    {"metric", 1, 0, 'k'},      {"epochs", 1, 0, 'e'},       {"hebb-epochs", 1, 0, 'E'},
    {"batch", 1, 0, 'b'},       {"lr", 1, 0, 'l'},           {"hebb-lr", 1, 0, 'h'},
    {"schedule", 1, 0, 's'},    {"momentum", 1, 0, 'u'},     {"weight-decay", 1, 0, 'w'},
    {"patience", 1, 0, 'p'},    {"steps", 1, 0, 'S'},        {"out", 1, 0, 'o'},
    {"threads", 1, 0, 't'},     {"help", 0, 0, 'y'},         {"top-weight-decay", 1, 0, 'W'},
    {0, 0, 0, 0}};

/* The defaults of a preset (NULL: none). */
static int apply_preset(const char *preset, options *o) {
  *o = (options){.data = hg_data_defaults("fashion-mnist"), .model = "seeds", .configs = "seed002",
                 .methods = "wta,5-wta,e-soft-wta,p-soft-wta", .schedule = "seeds:10:2", .seeds = 1,
                 .epochs = 20, .hebb_epochs = 1, .batch = 64, .lr = 1e-3f, .hebb_lr = 1e-3f,
                 .momentum = 0.9f, .weight_decay = 5e-2f, .top_weight_decay = -1,
                 .threads = 2, .preset = preset};
  if (!preset) return 1;
  if (!strcmp(preset, "paper")) {
    o->seeds = 5;
    o->hebb_epochs = 20;
    o->top_weight_decay = 5e-4f;
    o->data.zca = true;
    return 1;
  }
  if (!strcmp(preset, "demo")) {
    o->model = "small";
    o->configs = "B-G,H-G,R-G,B-H";
    o->methods = "wta,e-soft-wta";
    o->seeds = 3;
    o->hebb_lr = 2e-2f; /* measured: 1e-3 leaves the kernels near their random start */
    o->epochs = 1;
    o->data.limit_train = 20000;
    o->data.n_val = 5000;
    return 1;
  }
  fprintf(stderr, "hybrid_sweep: --preset %s: expected demo or paper\n", preset);
  return 0;
}

/* 1 ok, 0 bad arguments, −1 --help. */
static int parse_args(int argc, char **argv, options *o) {
  const char *preset = NULL;
  for (int i = 1; i < argc; i++) { /* the preset first: explicit options override it */
    if (!strcmp(argv[i], "--preset") && i + 1 < argc) preset = argv[i + 1];
    else if (!strncmp(argv[i], "--preset=", 9)) preset = argv[i] + 9;
  }
  if (!apply_preset(preset, o)) return 0;
  int c, ok = 1;
  while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'P': break;
      case 'd': o->data.name = optarg; break;
      case 'D': o->data.dir = optarg; break;
      case 'v': ok = cli_int("hybrid_sweep", "val", optarg, 0, 1000000000, &o->data.n_val); break;
      case 'L': ok = cli_int("hybrid_sweep", "limit-train", optarg, 1, 1000000000, &o->data.limit_train); break;
      case 'T': ok = cli_int("hybrid_sweep", "limit-test", optarg, 1, 1000000000, &o->data.limit_test); break;
      case 'z': o->data.zca = true; break;
      case 'Z': o->data.zca = false; break;
      case 'm': o->model = optarg; break;
      case 'c': o->configs = optarg; break;
      case 'M': o->methods = optarg; break;
      case 'n': ok = cli_int("hybrid_sweep", "seeds", optarg, 1, 1000000000, &o->seeds); break;
      case 'k': o->metric = optarg; break;
      case 'e': ok = cli_int("hybrid_sweep", "epochs", optarg, 0, 1000000000, &o->epochs); break;
      case 'E': ok = cli_int("hybrid_sweep", "hebb-epochs", optarg, 0, 1000000000, &o->hebb_epochs); break;
      case 'b': ok = cli_int("hybrid_sweep", "batch", optarg, 1, 1000000000, &o->batch); break;
      case 'l': ok = cli_float("hybrid_sweep", "lr", optarg, &o->lr); break;
      case 'h': ok = cli_float("hybrid_sweep", "hebb-lr", optarg, &o->hebb_lr); break;
      case 's': o->schedule = optarg; break;
      case 'u': ok = cli_float("hybrid_sweep", "momentum", optarg, &o->momentum); break;
      case 'w': ok = cli_float("hybrid_sweep", "weight-decay", optarg, &o->weight_decay), o->weight_decay_set = true; break;
      case 'W': ok = cli_float("hybrid_sweep", "top-weight-decay", optarg, &o->top_weight_decay); break;
      case 'p': ok = cli_int("hybrid_sweep", "patience", optarg, 0, 1000000000, &o->patience); break;
      case 'S': ok = cli_int("hybrid_sweep", "steps", optarg, 1, 1000000000, &o->steps); break;
      case 'o': o->out = optarg; break;
      case 't': ok = cli_int("hybrid_sweep", "threads", optarg, 1, 1000000000, &o->threads); break;
      case 'y': fputs(usage, stdout); return -1;
      default: fputs("hybrid_sweep: see --help for the options\n", stderr); return 0;
    }
  }
  if (ok && optind < argc) {
    fprintf(stderr, "hybrid_sweep: unexpected argument '%s' (see --help)\n", argv[optind]);
    ok = 0;
  }
  bool cifar100 = !strcmp(o->data.name, "cifar100");
  if (preset && !strcmp(preset, "paper") && cifar100 && !o->weight_decay_set) o->weight_decay = 1e-2f;
  if (o->top_weight_decay < 0) o->top_weight_decay = o->weight_decay;
  if (!o->metric) o->metric = cifar100 ? "top5" : "top1";
  if (ok && strcmp(o->metric, "top1") && strcmp(o->metric, "top5")) {
    fprintf(stderr, "hybrid_sweep: --metric %s: expected top1 or top5\n", o->metric);
    ok = 0;
  }
  return ok;
}

/* ---- the sweep ---- */

#define MAX_CONFIGS 64
#define MAX_METHODS 16

typedef struct sweep {
  const options *o;
  hg_data d;
  int layers; /* with weights, the classifier included */
  char configs[MAX_CONFIGS][32];
  int nconfigs;
  char *method_text;
  const char *methods[MAX_METHODS];
  int nmethods;
  char baseline[32];
  hg_sweep_cells cells;
  char cells_path[600];
  int done, total; /* cells, for the progress lines */
} sweep;

static hg_net *build_net(const sweep *w, uint64_t seed) {
  const hg_tensor *im = w->d.train->images;
  int classes = w->d.train->num_classes;
  if (!strcmp(w->o->model, "seeds")) return hg_net_seeds(im->shape[1], classes, seed);
  if (!strcmp(w->o->model, "small")) return hg_net_small(im->shape[1], im->shape[2], classes, seed);
  hg_fail(HG_ERR_ARG, "--model '%s' is not seeds or small", w->o->model);
  return NULL;
}

/* Fill the layers of the frozen (F) blocks of net from the baseline file. */
static hg_status load_frozen(hg_net *net, const char *path) {
  enum { MAX = 256 };
  char(*names)[64] = malloc(MAX * sizeof *names);
  hg_tensor **tensors = malloc(MAX * sizeof *tensors);
  hg_checkpoint *ck = names && tensors ? hg_checkpoint_open(path) : NULL;
  hg_status s = ck ? HG_OK : names && tensors ? hg_last_status() : hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  int n = s == HG_OK ? hg_net_tensors(net, true, names, tensors, MAX) : 0;
  hg_train_mode block = HG_TRAIN_B;
  for (int i = 0; s == HG_OK && i < net->n; i++) {
    const hg_layer *l = net->layers[i];
    if (hg_layer_is_affine(l)) block = l->mode;
    if (block != HG_TRAIN_F) continue;
    size_t len = strlen(l->name);
    for (int j = 0; j < n && j < MAX && s == HG_OK; j++)
      if (!strncmp(names[j], l->name, len) && names[j][len] == '.') s = hg_checkpoint_read(ck, names[j], tensors[j]);
  }
  hg_checkpoint_close(ck);
  free(names);
  free(tensors);
  return s;
}

/* Does the SGD phase train a convolution (else only fully connected layers on top)? */
static bool sgd_trains_conv(const hg_net *net) {
  for (int i = 0; i < net->n; i++)
    if (net->layers[i]->mode == HG_TRAIN_B && net->layers[i]->ops->kind == HG_LAYER_CONV2D) return true;
  return false;
}

static hg_trainer *new_trainer(const sweep *w, hg_net *net, const char *method) {
  const options *o = w->o;
  hg_plasticity p;
  if (hg_plasticity_parse(hg_sweep_method_spec(strcmp(method, "-") ? method : "wta"), &p) != HG_OK) return NULL;
  float decay = sgd_trains_conv(net) ? o->weight_decay : o->top_weight_decay;
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->lr, o->momentum, decay, o->momentum > 0),
                        .hebb_lr = o->hebb_lr};
  return hg_trainer_new(net, &p, &to);
}

static hg_status fit_phase(const sweep *w, hg_trainer *t, hg_phase phase, int epochs, const char *dir,
                           uint64_t seed) {
  const options *o = w->o;
  hg_fit_opts f = hg_fit_defaults();
  f.epochs = epochs;
  f.batch = o->batch;
  f.phase = phase;
  f.base_lr = o->lr;
  f.patience = o->patience;
  f.steps_per_epoch = o->steps;
  f.run_dir = dir;
  f.resume = true; /* an interrupted cell goes on from its last epoch */
  f.seed = seed;
  f.label = phase == HG_PHASE_HEBB ? "hebbian" : "backprop";
  hg_status s = hg_schedule_parse(phase == HG_PHASE_HEBB ? "constant" : o->schedule, &f.schedule);
  hg_fit_result res;
  /* the frozen layers below (baseline weights) run once, not every epoch */
  return s == HG_OK ? hg_fit_skip_fixed(t, w->d.train, w->d.val, &f, &res) : s;
}

/* mkdir -p */
static void make_dirs(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  mkdir(buf, 0755);
}

/* OUT/cells/CONFIG_METHOD_seedS (the method with / and : made _). */
static void cell_dir(const sweep *w, const char *config, const char *method, int seed, char *out, size_t size) {
  char m[64];
  snprintf(m, sizeof m, "%s", method);
  for (char *p = m; *p; p++)
    if (*p == '/' || *p == ':' || *p == '=') *p = '_';
  snprintf(out, size, "%s/cells/%s_%s_seed%d", w->o->out, config, strcmp(method, "-") ? m : "all", seed);
}

/* Drop the epoch checkpoints of a finished cell (the epoch logs stay). */
static void remove_checkpoints(const char *dir) {
  const char *sub[] = {"hebb", "backprop"}, *file[] = {"last", "best"};
  char path[1024];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) {
      snprintf(path, sizeof path, "%s/%s/%s.safetensors", dir, sub[i], file[j]);
      unlink(path);
    }
}

static void baseline_path(const sweep *w, int seed, char *out, size_t size) {
  snprintf(out, size, "%s/baseline-seed%d.safetensors", w->o->out, seed);
}

/* Test (and validation) accuracy of net into cell, which is then appended. */
static hg_status finish_cell(sweep *w, hg_net *net, hg_sweep_cell *cell, double t0) {
  hg_eval test, val = {.top1 = NAN};
  hg_status s = w->d.val ? hg_evaluate(net, w->d.val, w->o->batch, &val) : HG_OK;
  if (s == HG_OK) s = hg_evaluate(net, w->d.test, w->o->batch, &test);
  if (s != HG_OK) return s;
  cell->test_top1 = test.top1;
  cell->test_top5 = test.top5;
  cell->val_top1 = val.top1;
  cell->seconds = hg_now() - t0;
  s = hg_sweep_cell_append(w->cells_path, cell);
  if (s == HG_OK) s = hg_sweep_cells_put(&w->cells, cell);
  if (s == HG_OK)
    printf("cell %d/%d %s %s seed %d: test %.2f%% (top-5 %.2f%%), validation %.2f%%, %.0f s\n", ++w->done,
           w->total, cell->config, cell->method, cell->seed, 100 * test.top1, 100 * test.top5, 100 * val.top1,
           cell->seconds);
  fflush(stdout);
  return s;
}

static void announce_skip(sweep *w, const hg_sweep_cell *c) {
  printf("cell %d/%d %s %s seed %d: skipped (done: test %.2f%%)\n", ++w->done, w->total, c->config, c->method,
         c->seed, 100 * c->test_top1);
}

/* The baseline of a seed: its cell, and its weights file when `needed`. */
static hg_status baseline(sweep *w, int seed, bool needed) {
  char path[700], dir[700];
  baseline_path(w, seed, path, sizeof path);
  const hg_sweep_cell *done = hg_sweep_cells_find(&w->cells, w->baseline, "-", seed);
  bool have = access(path, R_OK) == 0;
  if (done) announce_skip(w, done);
  if (done && (have || !needed)) return HG_OK;
  double t0 = hg_now();
  hg_net *net = build_net(w, (uint64_t)seed);
  hg_status s = net ? hg_net_set_modes(net, w->baseline) : hg_last_status();
  hg_trainer *t = s == HG_OK ? new_trainer(w, net, "-") : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  cell_dir(w, w->baseline, "-", seed, dir, sizeof dir);
  if (s == HG_OK && have) {
    s = hg_trainer_load(t, path, NULL, NULL, NULL);
  } else if (s == HG_OK) {
    printf("baseline %s seed %d\n", w->baseline, seed);
    make_dirs(dir);
    char phase_dir[720];
    snprintf(phase_dir, sizeof phase_dir, "%s/backprop", dir);
    s = fit_phase(w, t, HG_PHASE_BACKPROP, w->o->epochs, phase_dir, (uint64_t)seed);
    if (s == HG_OK) s = hg_trainer_save(t, path, w->o->epochs, 0, 0);
  }
  hg_sweep_cell cell = {.seed = seed};
  snprintf(cell.config, sizeof cell.config, "%s", w->baseline);
  snprintf(cell.method, sizeof cell.method, "-");
  if (s == HG_OK && !done) s = finish_cell(w, net, &cell, t0);
  if (s == HG_OK) remove_checkpoints(dir);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

/* One configuration with one method (or "-") and one seed, from the baseline. */
static hg_status run_cell(sweep *w, const char *config, const char *method, int seed) {
  char modes[32], path[700], dir[700], phase_dir[720];
  double t0 = hg_now();
  hg_status s = hg_sweep_hybrid_modes(config, modes, sizeof modes);
  hg_net *net = s == HG_OK ? build_net(w, (uint64_t)seed) : NULL;
  if (s == HG_OK && !net) s = hg_last_status();
  if (s == HG_OK) s = hg_net_set_modes(net, modes);
  baseline_path(w, seed, path, sizeof path);
  if (s == HG_OK && strchr(modes, 'F')) s = load_frozen(net, path);
  hg_trainer *t = s == HG_OK ? new_trainer(w, net, method) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  cell_dir(w, config, method, seed, dir, sizeof dir);
  if (s == HG_OK) {
    printf("%s (modes %s) %s seed %d\n", config, modes, method, seed);
    make_dirs(dir);
  }
  if (s == HG_OK && t->last_hebb >= 0) {
    snprintf(phase_dir, sizeof phase_dir, "%s/hebb", dir);
    s = fit_phase(w, t, HG_PHASE_HEBB, w->o->hebb_epochs, phase_dir, (uint64_t)seed);
  }
  /* Under a Hebbian classifier no cross-entropy reaches any layer (H layers
   * pass sg(output) on): no SGD phase then, even for the batch norms of H blocks. */
  bool hebbian_classifier = config[strlen(config) - 1] == 'H';
  if (s == HG_OK && t->any_backprop && !hebbian_classifier) {
    snprintf(phase_dir, sizeof phase_dir, "%s/backprop", dir);
    s = fit_phase(w, t, HG_PHASE_BACKPROP, w->o->epochs, phase_dir, (uint64_t)seed);
  }
  hg_sweep_cell cell = {.seed = seed};
  snprintf(cell.config, sizeof cell.config, "%s", config);
  snprintf(cell.method, sizeof cell.method, "%s", method);
  if (s == HG_OK) s = finish_cell(w, net, &cell, t0);
  if (s == HG_OK) remove_checkpoints(dir);
  hg_trainer_free(t);
  hg_net_free(net);
  return s;
}

/* Every cell of one seed, in table order. */
static hg_status run_seed(sweep *w, int seed) {
  bool needed = false; /* does any unfinished cell need the baseline's weights? */
  for (int r = 0; r < w->nconfigs; r++)
    for (int m = 0; m < (hg_sweep_uses_method(w->configs[r]) ? w->nmethods : 1); m++)
      needed |= strcmp(w->configs[r], w->baseline) &&
                !hg_sweep_cells_find(&w->cells, w->configs[r], hg_sweep_uses_method(w->configs[r]) ? w->methods[m] : "-", seed);
  hg_status s = baseline(w, seed, needed);
  for (int r = 0; r < w->nconfigs && s == HG_OK; r++) {
    if (!strcmp(w->configs[r], w->baseline)) continue;
    bool uses = hg_sweep_uses_method(w->configs[r]);
    for (int m = 0; m < (uses ? w->nmethods : 1) && s == HG_OK; m++) {
      const char *method = uses ? w->methods[m] : "-";
      const hg_sweep_cell *done = hg_sweep_cells_find(&w->cells, w->configs[r], method, seed);
      if (done) announce_skip(w, done);
      else s = run_cell(w, w->configs[r], method, seed);
    }
  }
  return s;
}

static hg_status write_tables(sweep *w) {
  const options *o = w->o;
  bool top5 = !strcmp(o->metric, "top5");
  hg_sweep_cells cells = {0};
  hg_sweep_table t;
  /* from the file, so that a resumed sweep and an uninterrupted one read the same numbers */
  hg_status s = hg_sweep_cells_read(w->cells_path, &cells);
  if (s == HG_OK) s = hg_sweep_table_build(&t, &cells, w->nconfigs, (const char(*)[32])w->configs, w->nmethods,
                                           w->methods, o->seeds, top5);
  hg_sweep_cells_free(&cells);
  if (s != HG_OK) return s;
  char title[256], caption[1024], path[700], top[64] = "";
  snprintf(title, sizeof title, "Hybrid networks on %s: test %s accuracy (%%)", o->data.name, top5 ? "top-5" : "top-1");
  if (o->top_weight_decay != o->weight_decay)
    snprintf(top, sizeof top, " (%g without a trained convolution)", (double)o->top_weight_decay);
  snprintf(caption, sizeof caption,
           "Mean ± 95%% confidence interval (Student's t) over %d seed%s. Model %s; a configuration gives "
           "each layer with weights (B backprop, H Hebbian, R random, F frozen), then the classifier (G "
           "gradient descent, H supervised Hebbian); the layers below the lowest H or R layer keep the "
           "baseline's weights (frozen), the others are trained afresh: %d Hebbian epoch%s (lr %g), then "
           "%d SGD epoch%s (lr %g, schedule %s, weight decay %g%s, batch %d)%s. n/a: the row has no "
           "Hebbian layer below the classifier, so the method does not apply (its number is in the "
           "first column).",
           o->seeds, o->seeds > 1 ? "s" : "", o->model, o->hebb_epochs, o->hebb_epochs == 1 ? "" : "s",
           (double)o->hebb_lr, o->epochs, o->epochs == 1 ? "" : "s", (double)o->lr, o->schedule,
           (double)o->weight_decay, top, o->batch, o->data.zca ? ", ZCA-whitened input" : "");
  printf("\n%s\n", title);
  hg_sweep_table_print(&t, stdout);
  printf("(mean ± 95%% CI over n seeds; n/a: no Hebbian layer below the classifier, the method does not apply)\n");
  snprintf(path, sizeof path, "%s/table.csv", o->out);
  s = hg_sweep_table_write_csv(&t, path);
  snprintf(path, sizeof path, "%s/table.md", o->out);
  if (s == HG_OK) s = hg_sweep_table_write_markdown(&t, path, title, caption);
  float *values = malloc((size_t)t.rows * (size_t)t.cols * sizeof *values + 1);
  const char **rows = malloc((size_t)t.rows * sizeof *rows + 1), **cols = malloc((size_t)t.cols * sizeof *cols + 1);
  if (s == HG_OK && (!values || !rows || !cols)) s = hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  if (s == HG_OK) {
    for (int i = 0; i < t.rows * t.cols; i++) values[i] = t.stats[i].n ? (float)t.stats[i].mean : NAN;
    for (int i = 0; i < t.rows; i++) rows[i] = t.row_labels[i];
    for (int i = 0; i < t.cols; i++) cols[i] = t.col_labels[i];
    snprintf(path, sizeof path, "%s/table.png", o->out);
    s = hg_plot_heatmap(path, title, t.rows, t.cols, rows, cols, values);
  }
  if (s == HG_OK) printf("wrote %s/table.csv, table.md, table.png\n", o->out);
  free(values);
  free(rows);
  free(cols);
  hg_sweep_table_free(&t);
  return s;
}

/* The settings that change the numbers of a cell. */
static hg_status check_settings(const sweep *w) {
  const options *o = w->o;
  char v[14][48];
  snprintf(v[0], 48, "%s", o->data.name);
  snprintf(v[1], 48, "%s", o->model);
  snprintf(v[2], 48, "%d", o->data.n_val);
  snprintf(v[3], 48, "%d", o->data.limit_train);
  snprintf(v[4], 48, "%d", o->data.limit_test);
  snprintf(v[5], 48, "%s", o->data.zca ? "on" : "off");
  snprintf(v[6], 48, "%d", o->epochs);
  snprintf(v[7], 48, "%d", o->hebb_epochs);
  snprintf(v[8], 48, "%d", o->batch);
  snprintf(v[9], 48, "%g %g", (double)o->lr, (double)o->hebb_lr);
  snprintf(v[10], 48, "%s", o->schedule);
  snprintf(v[11], 48, "%g %g", (double)o->momentum, (double)o->weight_decay);
  if (o->top_weight_decay != o->weight_decay) /* folders of sweeps without it keep their value */
    snprintf(v[11], 48, "%g %g top %g", (double)o->momentum, (double)o->weight_decay, (double)o->top_weight_decay);
  snprintf(v[12], 48, "%d", o->patience);
  snprintf(v[13], 48, "%d", o->steps);
  const char *keys[] = {"data", "model", "val", "limit-train", "limit-test", "zca", "epochs", "hebb-epochs",
                        "batch", "lr hebb-lr", "schedule", "momentum weight-decay", "patience", "steps"};
  const char *values[14];
  for (int i = 0; i < 14; i++) values[i] = v[i];
  char path[700];
  snprintf(path, sizeof path, "%s/settings.json", o->out);
  return hg_sweep_settings_check(path, 14, keys, values);
}

static hg_status setup(sweep *w) {
  const options *o = w->o;
  char *save = NULL;
  w->method_text = strdup(o->methods);
  if (!w->method_text) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  for (char *m = strtok_r(w->method_text, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
    if (w->nmethods == MAX_METHODS) return hg_fail(HG_ERR_ARG, "--methods: more than %d", MAX_METHODS);
    hg_plasticity p;
    hg_status s = hg_plasticity_parse(hg_sweep_method_spec(m), &p);
    if (s != HG_OK) {
      char why[256];
      snprintf(why, sizeof why, "%s", hg_last_error());
      return hg_fail(s, "--methods %s: %s", m, why);
    }
    w->methods[w->nmethods++] = m;
  }
  if (!w->nmethods) return hg_fail(HG_ERR_ARG, "--methods: none given");
  hg_schedule sched;
  hg_status s = hg_schedule_parse(o->schedule, &sched);
  if (s != HG_OK) return s;
  make_dirs(o->out);
  if ((s = check_settings(w)) != HG_OK) return s;
  hg_data_opts data = o->data;
  char zca[700];
  snprintf(zca, sizeof zca, "%s/zca.safetensors", o->out);
  data.zca_cache = zca;
  data.rgb32 = !strcmp(o->model, "seeds");
  if ((s = hg_data_prepare(&data, &w->d)) != HG_OK) return s;
  hg_net *net = build_net(w, 1);
  if (!net) return hg_last_status();
  for (int i = 0; i < net->n; i++) w->layers += hg_layer_is_affine(net->layers[i]);
  hg_net_free(net);
  hg_sweep_baseline(w->layers, w->baseline, sizeof w->baseline);
  char list[4096];
  snprintf(list, sizeof list, "%s,%s", w->baseline, o->configs); /* the baseline row first */
  w->nconfigs = hg_sweep_configs(list, w->layers, w->configs, MAX_CONFIGS);
  if (w->nconfigs < 0) return hg_last_status();
  snprintf(w->cells_path, sizeof w->cells_path, "%s/cells.jsonl", o->out);
  if ((s = hg_sweep_cells_read(w->cells_path, &w->cells)) != HG_OK) return s;
  for (int r = 0; r < w->nconfigs; r++)
    w->total += o->seeds * (hg_sweep_uses_method(w->configs[r]) ? w->nmethods : 1);
  printf("sweep: %s, model %s, %d configurations x %d methods, %d seed%s: %d cells (%d done) -> %s\n",
         o->data.name, o->model, w->nconfigs, w->nmethods, o->seeds, o->seeds > 1 ? "s" : "", w->total,
         w->cells.n, o->out);
  return HG_OK;
}

int main(int argc, char **argv) {
  options o;
  int parsed = parse_args(argc, argv, &o);
  if (parsed <= 0) return parsed < 0 ? 0 : 2;
  char out[512];
  if (!o.out) {
    snprintf(out, sizeof out, "runs/sweep-%s", o.data.name);
    o.out = out;
  }
  if (strlen(o.out) > 300) {
    fprintf(stderr, "hybrid_sweep: --out: at most 300 characters\n");
    return 2;
  }
  omp_set_num_threads(o.threads);
  sweep w = {.o = &o};
  hg_status s = setup(&w);
  for (int seed = 1; seed <= o.seeds && s == HG_OK; seed++) s = run_seed(&w, seed);
  if (s == HG_OK) s = write_tables(&w);
  hg_sweep_cells_free(&w.cells);
  hg_data_release(&w.d);
  free(w.method_text);
  if (s != HG_OK) {
    fprintf(stderr, "hybrid_sweep: %s\n", hg_last_error());
    return 1;
  }
  return 0;
}
