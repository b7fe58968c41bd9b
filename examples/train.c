/* train: train the seeds' network (or a small one) with SGD, Hebbian rules
 * or any mix, on MNIST, Fashion-MNIST, CIFAR-10 or CIFAR-100; report
 * validation and test accuracy. Optionally end with a linear probe. */
#include <getopt.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examples/experiment_cli.h"
#include "hebb/fit.h"
#include "hebbgrad.h"
#include "data/prepare.h"

static const char usage[] =
    "usage: train [options]\n"
    "\n"
    "Train a network with backprop (B), Hebbian rules (H) or a mix, then report\n"
    "validation and test accuracy. Checkpoints, per-epoch CSV/JSON lines and the\n"
    "final result go to --run-dir.\n"
    "\n"
    "Data\n"
    "  --data NAME          mnist, fashion-mnist, cifar10 or cifar100 (default fashion-mnist)\n"
    "  --data-dir DIR       where the data sets are (default $HEBBGRAD_DATA, else ./datasets;\n"
    "                       see scripts/get_data.sh)\n"
    "  --val N              validation images split off the training set (default 10000)\n"
    "  --limit-train N      use only N training images (default all)\n"
    "  --limit-test N       use only N validation and N test images (default all)\n"
    "  --zca                whole-image ZCA whitening fitted on the training split\n"
    "  --zca-eps E          ZCA regulariser (default 0.01)\n"
    "  --zca-cache FILE     reuse the fitted transform from FILE when it was fitted on the\n"
    "                       same data (default runs/zca-DATA.safetensors)\n"
    "Network\n"
    "  --model NAME         seeds (the seeds' 6-layer net, inputs made 3x32x32) or small\n"
    "                       (default seeds)\n"
    "  --modes M            per weighted layer B/H/F/R, then '-' and the classifier G or H,\n"
    "                       e.g. BBBBB-G (default), HBBBB-G, HHHHH-G, BBBBB-H\n"
    "  --hebb SPEC          rule of the H layers: RULE[/COMPETITION][/OPTION...], e.g.\n"
    "                       instar/e-soft-wta:0.02/mean (default), hpca/none/relu/avg,\n"
    "                       instar/5-wta/sum/unitnorm/prune=0.5 (see docs/writing-a-rule.md)\n"
    "  --init FILE          load weights from a checkpoint before training (F layers keep them)\n"
    "Training\n"
    "  --epochs N           backprop epochs (default 20)\n"
    "  --hebb-epochs N      Hebbian epochs of the sequential schedule (default 1)\n"
    "  --joint              train H and B layers together instead of H first, then B\n"
    "  --batch N            mini-batch size (default 64)\n"
    "  --lr F               backprop learning rate (default 1e-3)\n"
    "  --hebb-lr F          Hebbian learning rate (default 1e-3)\n"
    "  --schedule S         constant, step:S:G, seeds:HOLD:PERIOD, cosine:T (default seeds:10:2)\n"
    "  --momentum F         SGD momentum (default 0.9)\n"
    "  --no-nesterov        plain momentum instead of Nesterov\n"
    "  --weight-decay F     L2 weight decay of B layers (default 5e-2)\n"
    "  --adam               Adam instead of SGD for B layers\n"
    "  --patience N         early stopping after N epochs without better validation (default 0: off)\n"
    "  --steps N            at most N steps per epoch (default all)\n"
    "  --probe LAYER        after training, freeze the net up to LAYER (a layer name, e.g. bn1)\n"
    "                       and train a linear classifier on its output for --probe-epochs\n"
    "  --probe-epochs N     (default 10)\n"
    "  --probe-lr F         (default 1e-3)\n"
    "  --probe-decay F      probe weight decay (default 5e-4)\n"
    "  --probe-shc          train the probe as a supervised Hebbian classifier (teacher\n"
    "                       neuron, --hebb-lr) instead of by SGD\n"
    "Run\n"
    "  --run-dir DIR        output folder (default runs/DATA-MODES); DIR/init.safetensors keeps\n"
    "                       the weights before training (plot_run draws them beside the learned ones)\n"
    "  --resume             continue from DIR/last.safetensors\n"
    "  --seed N             seed of initialisation, split and batch order (default 1)\n"
    "  --threads N          worker threads (default 2)\n"
    "  --min-test-acc F     exit with status 3 when the test accuracy is below F (for CI)\n"
    "  --help               this text\n";

typedef struct options {
  hg_data_opts data;
  const char *model, *modes, *hebb, *init, *schedule, *run_dir, *probe;
  int epochs, hebb_epochs, batch, patience, steps, probe_epochs, threads;
  float lr, hebb_lr, momentum, weight_decay, probe_lr, probe_decay, min_test_acc;
  bool joint, nesterov, adam, resume, probe_shc;
  uint64_t seed;
} options;

static int parse_args(int argc, char **argv, options *o) {
  static const struct option longopts[] = {
      {"data", 1, 0, 'd'},        {"data-dir", 1, 0, 'D'},     {"val", 1, 0, 'v'},
      {"limit-train", 1, 0, 'L'}, {"limit-test", 1, 0, 'T'},   {"zca", 0, 0, 'z'},
      {"zca-eps", 1, 0, 'Z'},     {"model", 1, 0, 'm'},        {"modes", 1, 0, 'M'},
      {"hebb", 1, 0, 'H'},        {"init", 1, 0, 'I'},         {"epochs", 1, 0, 'e'},
      {"hebb-epochs", 1, 0, 'E'}, {"joint", 0, 0, 'j'},        {"batch", 1, 0, 'b'},
      {"lr", 1, 0, 'l'},          {"hebb-lr", 1, 0, 'h'},      {"schedule", 1, 0, 's'},
      {"momentum", 1, 0, 'u'},    {"no-nesterov", 0, 0, 'N'},  {"weight-decay", 1, 0, 'w'},
      {"adam", 0, 0, 'a'},        {"patience", 1, 0, 'p'},     {"steps", 1, 0, 'S'},
      {"probe", 1, 0, 'P'},       {"probe-epochs", 1, 0, 'Q'}, {"probe-lr", 1, 0, 'R'},
      {"probe-decay", 1, 0, 'W'}, {"run-dir", 1, 0, 'o'},      {"resume", 0, 0, 'r'},
      {"seed", 1, 0, 'x'},        {"threads", 1, 0, 't'},      {"min-test-acc", 1, 0, 'A'},
      {"probe-shc", 0, 0, 'K'},   {"zca-cache", 1, 0, 'C'},
      {"help", 0, 0, 'y'},        {0, 0, 0, 0}};
  int c, seed = 1, ok = 1;
  while (ok && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 'd': o->data.name = optarg; break;
      case 'D': o->data.dir = optarg; break;
      case 'v': ok = cli_int("train", "val", optarg, 0, 1000000000, &o->data.n_val); break;
      case 'L': ok = cli_int("train", "limit-train", optarg, 1, 1000000000, &o->data.limit_train); break;
      case 'T': ok = cli_int("train", "limit-test", optarg, 1, 1000000000, &o->data.limit_test); break;
      case 'z': o->data.zca = true; break;
      case 'Z': ok = cli_float("train", "zca-eps", optarg, &o->data.zca_eps); break;
      case 'm': o->model = optarg; break;
      case 'M': o->modes = optarg; break;
      case 'H': o->hebb = optarg; break;
      case 'I': o->init = optarg; break;
      case 'e': ok = cli_int("train", "epochs", optarg, 0, 1000000000, &o->epochs); break;
      case 'E': ok = cli_int("train", "hebb-epochs", optarg, 0, 1000000000, &o->hebb_epochs); break;
      case 'j': o->joint = true; break;
      case 'b': ok = cli_int("train", "batch", optarg, 1, 1000000000, &o->batch); break;
      case 'l': ok = cli_float("train", "lr", optarg, &o->lr); break;
      case 'h': ok = cli_float("train", "hebb-lr", optarg, &o->hebb_lr); break;
      case 's': o->schedule = optarg; break;
      case 'u': ok = cli_float("train", "momentum", optarg, &o->momentum); break;
      case 'N': o->nesterov = false; break;
      case 'w': ok = cli_float("train", "weight-decay", optarg, &o->weight_decay); break;
      case 'a': o->adam = true; break;
      case 'p': ok = cli_int("train", "patience", optarg, 0, 1000000000, &o->patience); break;
      case 'S': ok = cli_int("train", "steps", optarg, 1, 1000000000, &o->steps); break;
      case 'P': o->probe = optarg; break;
      case 'Q': ok = cli_int("train", "probe-epochs", optarg, 1, 1000000000, &o->probe_epochs); break;
      case 'R': ok = cli_float("train", "probe-lr", optarg, &o->probe_lr); break;
      case 'W': ok = cli_float("train", "probe-decay", optarg, &o->probe_decay); break;
      case 'o': o->run_dir = optarg; break;
      case 'r': o->resume = true; break;
      case 'x': ok = cli_int("train", "seed", optarg, 0, 1000000000, &seed); break;
      case 't': ok = cli_int("train", "threads", optarg, 1, 1000000000, &o->threads); break;
      case 'A': ok = cli_float("train", "min-test-acc", optarg, &o->min_test_acc); break;
      case 'K': o->probe_shc = true; break;
      case 'C': o->data.zca_cache = optarg; break;
      case 'y': fputs(usage, stdout); return -1;
      default: fputs("train: see --help for the options\n", stderr); return 0;
    }
  }
  if (ok && optind < argc) {
    fprintf(stderr, "train: unexpected argument '%s' (see --help)\n", argv[optind]);
    ok = 0;
  }
  o->seed = (uint64_t)seed;
  o->data.seed = o->seed;
  return ok;
}

static options defaults(void) {
  options o = {.data = hg_data_defaults("fashion-mnist"), .model = "seeds", .modes = NULL,
               .hebb = "instar/e-soft-wta:0.02/mean", .schedule = "seeds:10:2", .epochs = 20,
               .hebb_epochs = 1, .batch = 64, .lr = 1e-3f, .hebb_lr = 1e-3f, .momentum = 0.9f,
               .weight_decay = 5e-2f, .nesterov = true, .probe_epochs = 10, .probe_lr = 1e-3f,
               .probe_decay = 5e-4f, .threads = 2, .seed = 1};
  return o;
}

static hg_net *build_net(const options *o, const hg_dataset *train) {
  const hg_tensor *im = train->images;
  if (!strcmp(o->model, "seeds")) return hg_net_seeds(im->shape[1], train->num_classes, o->seed);
  if (!strcmp(o->model, "small")) return hg_net_small(im->shape[1], im->shape[2], train->num_classes, o->seed);
  hg_fail(HG_ERR_ARG, "--model '%s' is not seeds or small", o->model);
  return NULL;
}

static hg_status fit_phase(hg_trainer *t, const hg_data *d, const options *o, hg_phase phase, int epochs,
                           const char *label, const char *run_dir, hg_fit_result *res) {
  hg_fit_opts f = hg_fit_defaults();
  f.epochs = epochs;
  f.batch = o->batch;
  f.phase = phase;
  f.base_lr = o->lr;
  f.patience = o->patience;
  f.steps_per_epoch = o->steps;
  f.run_dir = run_dir;
  f.resume = o->resume;
  f.seed = o->seed;
  f.label = label;
  hg_status s = hg_schedule_parse(phase == HG_PHASE_HEBB ? "constant" : o->schedule, &f.schedule);
  return s == HG_OK ? hg_fit(t, d->train, d->val, &f, res) : s;
}

static hg_status report(hg_net *net, const hg_data *d, const options *o, const char *run_dir,
                        const char *what, const hg_fit_result *res, double *test_top1) {
  hg_eval val = {0}, test;
  hg_status s = d->val ? hg_evaluate(net, d->val, o->batch, &val) : HG_OK;
  if (s == HG_OK) s = hg_evaluate(net, d->test, o->batch, &test);
  if (s != HG_OK) return s;
  printf("%s: validation %.2f%%, test %.2f%% (top-5 %.2f%%), %d epochs, %.0f s, %.0f img/s\n", what,
         100 * val.top1, 100 * test.top1, 100 * test.top5, res->epochs_run, res->seconds, res->images_per_s);
  *test_top1 = test.top1;
  char prefix[1024];
  snprintf(prefix, sizeof prefix, "%s/result", run_dir);
  const char *cols[] = {"what", "data", "model", "modes", "hebb", "epochs", "val_top1", "test_top1",
                        "test_top5", "seconds"};
  hg_results *r = hg_results_open(prefix, 10, cols);
  if (!r) return hg_last_status();
  char v[5][32];
  snprintf(v[0], 32, "%d", res->epochs_run);
  snprintf(v[1], 32, "%.6f", val.top1);
  snprintf(v[2], 32, "%.6f", test.top1);
  snprintf(v[3], 32, "%.6f", test.top5);
  snprintf(v[4], 32, "%.1f", res->seconds);
  const char *values[] = {what, o->data.name, o->model, o->modes, o->hebb, v[0], v[1], v[2], v[3], v[4]};
  s = hg_results_row(r, values);
  hg_results_close(r);
  return s;
}

static hg_status run_probe(hg_net *net, const hg_data *d, const options *o, const char *run_dir,
                           double *test_top1) {
  int layer = hg_net_find(net, o->probe);
  if (layer < 0) return hg_fail(HG_ERR_ARG, "--probe: the net has no layer named '%s'", o->probe);
  hg_status s = hg_net_attach_probe(net, layer, d->train->images, d->train->num_classes, 0);
  if (s == HG_OK && o->probe_shc) hg_layer_set_mode(net->layers[net->n - 1], HG_TRAIN_H);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->probe_lr, o->momentum, o->probe_decay, o->nesterov),
                        .adam = o->adam, .hebb_lr = o->hebb_lr};
  hg_plasticity none;
  hg_plasticity_parse("instar", &none);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &none, &to) : NULL;
  if (!t) return hg_last_status();
  char dir[1024], label[64];
  snprintf(dir, sizeof dir, "%s/probe-%s", run_dir, o->probe);
  snprintf(label, sizeof label, "probe %s", o->probe);
  options po = *o;
  po.lr = o->probe_lr;
  po.resume = false;
  hg_fit_result res;
  s = fit_phase(t, d, &po, o->probe_shc ? HG_PHASE_HEBB : HG_PHASE_BACKPROP, o->probe_epochs, label, dir, &res);
  if (s == HG_OK) s = report(net, d, o, run_dir, label, &res, test_top1);
  hg_trainer_free(t);
  return s;
}

/* mkdir -p */
static void make_dirs(const char *path) {
  char buf[600];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0755);
      *p = '/';
    }
  mkdir(buf, 0755);
}

static bool has_letter(const char *modes, char c) { return modes && strchr(modes, c); }

static hg_status train(options *o) {
  hg_data d = {0};
  o->data.rgb32 = !strcmp(o->model, "seeds");
  char zca_cache[600];
  if (o->data.zca && !o->data.zca_cache) {
    make_dirs("runs");
    snprintf(zca_cache, sizeof zca_cache, "runs/zca-%s.safetensors", o->data.name);
    o->data.zca_cache = zca_cache;
  }
  hg_status s = hg_data_prepare(&o->data, &d);
  hg_net *net = s == HG_OK ? build_net(o, d.train) : NULL;
  if (!net) {
    hg_data_release(&d);
    return hg_last_status();
  }
  char run_dir[512], default_modes[64];
  if (!o->modes) {
    int weighted = 0;
    for (int i = 0; i < net->n; i++) weighted += hg_layer_is_affine(net->layers[i]);
    memset(default_modes, 'B', (size_t)weighted - 1);
    snprintf(default_modes + weighted - 1, 3, "-G");
    o->modes = default_modes;
  }
  snprintf(run_dir, sizeof run_dir, "%s", o->run_dir ? o->run_dir : "runs");
  if (!o->run_dir) snprintf(run_dir, sizeof run_dir, "runs/%s-%s", o->data.name, o->modes);
  make_dirs(run_dir);
  hg_plasticity hebb;
  s = hg_net_set_modes(net, o->modes);
  if (s == HG_OK) s = hg_plasticity_parse(o->hebb, &hebb);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->lr, o->momentum, o->weight_decay, o->nesterov && o->momentum > 0),
                        .adam = o->adam, .hebb_lr = o->hebb_lr};
  if (o->adam) to.backprop = hg_adam_opts(o->lr, o->weight_decay);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &hebb, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  if (s == HG_OK && o->init) s = hg_trainer_load(t, o->init, NULL, NULL, NULL);
  char init_path[600];
  snprintf(init_path, sizeof init_path, "%s/init.safetensors", run_dir);
  if (s == HG_OK && access(init_path, F_OK) != 0) { /* the weights before training, for plot_run */
    const char *keys[] = {"setting"}, *values[] = {"initial weights, before training"};
    s = hg_experiment_save_net(net, init_path, 1, keys, values);
  }
  hg_fit_result res = {0};
  bool hebbian = has_letter(o->modes, 'H'), backprop = t && t->any_backprop;
  char dir[600];
  if (s == HG_OK && hebbian && !o->joint) {
    snprintf(dir, sizeof dir, "%s/hebb", run_dir);
    s = fit_phase(t, &d, o, HG_PHASE_HEBB, o->hebb_epochs, "hebbian", dir, &res);
  }
  if (s == HG_OK && (backprop || o->joint)) {
    snprintf(dir, sizeof dir, "%s/%s", run_dir, o->joint ? "joint" : "backprop");
    s = fit_phase(t, &d, o, o->joint ? HG_PHASE_JOINT : HG_PHASE_BACKPROP, o->epochs, o->joint ? "joint" : "backprop", dir, &res);
  }
  double top1 = 0;
  if (s == HG_OK) s = report(net, &d, o, run_dir, o->modes, &res, &top1);
  hg_trainer_free(t);
  if (s == HG_OK && o->probe) s = run_probe(net, &d, o, run_dir, &top1);
  if (s == HG_OK && top1 < o->min_test_acc)
    s = hg_fail(HG_ERR_NUMERIC, "test accuracy %.2f%% is below --min-test-acc %.2f%%", 100 * top1,
                100 * o->min_test_acc);
  hg_net_free(net);
  hg_data_release(&d);
  return s;
}

int main(int argc, char **argv) {
  options o = defaults();
  int parsed = parse_args(argc, argv, &o);
  if (parsed <= 0) return parsed < 0 ? 0 : 2;
  omp_set_num_threads(o.threads);
  hg_status s = train(&o);
  if (s != HG_OK) {
    fprintf(stderr, "train: %s\n", hg_last_error());
    return s == HG_ERR_NUMERIC && strstr(hg_last_error(), "min-test-acc") ? 3 : 1;
  }
  return 0;
}
