/* hybrid_sweep: the hybrid-network protocol of seeds 002/003. Per seed, a
 * backprop baseline is trained once; every configuration then keeps the
 * baseline's layers below its lowest Hebbian (or random) layer frozen and
 * trains the layers from there up afresh — H layers with a Hebbian method,
 * B layers by SGD — and is tested. The table (configurations × methods, mean
 * ± 95% CI over seeds) goes to text, CSV, Markdown and a heat map. Every
 * finished cell is a line of OUT/cells.jsonl: a rerun skips it. Under mpirun
 * (built with -DHG_MPI=ON) the processes share out the unfinished cells,
 * each appending its own to the cells file, and rank 0 writes the tables
 * (docs/scale-out.md). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/hybrid_sweep_options.h"

/* ---- the sweep ---- */

#define MAX_CONFIGS 64

/* One piece of work: a seed's baseline (config −1) or one cell. */
typedef struct task {
  int seed, config, method;
} task;

typedef struct sweep {
  hybrid_sweep_options *o;
  hg_data d;
  int layers; /* with weights, the classifier included */
  char configs[MAX_CONFIGS][32];
  int nconfigs;
  char *method_text;
  const char *methods[HYBRID_MAX_METHODS];
  int nmethods;
  char baseline[32];
  hg_sweep_cells cells;
  char cells_path[600];
  task *tasks; /* the unfinished work, in the order it is dealt out */
  int ntasks;
  char next_path[600]; /* a job of several processes: the number of the next task to take */
  int done, total;     /* cells, for the progress lines */
  char who[32];    /* "[rank R] " before this process's lines in a job of several, else "" */
} sweep;


static hg_net *build_net(const sweep *w, uint64_t seed) { return hg_common_net(&w->o->c, w->d.train, seed); }

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
  const hybrid_sweep_options *o = w->o;
  hg_plasticity p;
  if (hg_plasticity_parse(hg_sweep_method_spec(strcmp(method, "-") ? method : "wta"), &p) != HG_OK) return NULL;
  float decay = sgd_trains_conv(net) ? o->c.weight_decay : o->top_weight_decay;
  hg_trainer_opts to = {.backprop = hg_sgd_opts(o->c.lr, o->c.momentum, decay, o->c.momentum > 0),
                        .hebb_lr = o->c.hebb_lr};
  return hg_trainer_new(net, &p, &to);
}

static hg_status fit_phase(const sweep *w, hg_trainer *t, hg_phase phase, const char *dir, uint64_t seed) {
  const hg_common_opts *c = &w->o->c;
  hg_fit_opts f;
  bool hebb = phase == HG_PHASE_HEBB;
  FILE *log = hg_parallel_rank() == 0 ? stdout : NULL; /* one progress bar at a time */
  hg_status s = hg_common_fit_opts(c, phase, dir, hebb ? "hebbian" : "backprop", log, &f);
  f.epochs = hebb ? c->hebb_epochs : c->epochs;
  f.seed = seed; /* the cell's */
  hg_fit_result res;
  /* the frozen layers below (baseline weights) run once, not every epoch */
  return s == HG_OK ? hg_fit_skip_fixed(t, w->d.train, w->d.val, &f, &res) : s;
}

/* OUT/cells/CONFIG_METHOD_seedS (the method with / and : made _). */
static void cell_dir(const sweep *w, const char *config, const char *method, int seed, char *out, size_t size) {
  char m[64];
  snprintf(m, sizeof m, "%s", method);
  for (char *p = m; *p; p++)
    if (*p == '/' || *p == ':' || *p == '=') *p = '_';
  snprintf(out, size, "%s/cells/%s_%s_seed%d", w->o->c.out, config, strcmp(method, "-") ? m : "all", seed);
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
  snprintf(out, size, "%s/baseline-seed%d.safetensors", w->o->c.out, seed);
}

/* Test (and validation) accuracy of net into cell, which is then appended. */
static hg_status finish_cell(sweep *w, hg_net *net, hg_sweep_cell *cell, double t0) {
  hg_eval test, val = {.top1 = NAN};
  hg_status s = w->d.val ? hg_evaluate(net, w->d.val, w->o->c.batch, &val) : HG_OK;
  if (s == HG_OK) s = hg_evaluate(net, w->d.test, w->o->c.batch, &test);
  if (s != HG_OK) return s;
  cell->test_top1 = test.top1;
  cell->test_top5 = test.top5;
  cell->val_top1 = val.top1;
  cell->seconds = hg_now() - t0;
  s = hg_sweep_cell_append(w->cells_path, cell);
  if (s == HG_OK) s = hg_sweep_cells_put(&w->cells, cell);
  if (s == HG_OK)
    printf("%scell %d/%d %s %s seed %d: test %.2f%% (top-5 %.2f%%), validation %.2f%%, %.0f s\n", w->who,
           ++w->done, w->total, cell->config, cell->method, cell->seed, 100 * test.top1, 100 * test.top5,
           100 * val.top1, cell->seconds);
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
    printf("%sbaseline %s seed %d\n", w->who, w->baseline, seed);
    char phase_dir[720];
    snprintf(phase_dir, sizeof phase_dir, "%s/backprop", dir);
    s = hg_make_dirs(dir);
    if (s == HG_OK) s = fit_phase(w, t, HG_PHASE_BACKPROP, phase_dir, (uint64_t)seed);
    if (s == HG_OK) s = hg_trainer_save(t, path, w->o->c.epochs, 0, 0);
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
    printf("%s%s (modes %s) %s seed %d\n", w->who, config, modes, method, seed);
    s = hg_make_dirs(dir);
  }
  if (s == HG_OK && t->last_hebb >= 0) {
    snprintf(phase_dir, sizeof phase_dir, "%s/hebb", dir);
    s = fit_phase(w, t, HG_PHASE_HEBB, phase_dir, (uint64_t)seed);
  }
  /* Under a Hebbian classifier no cross-entropy reaches any layer (H layers
   * pass sg(output) on): no SGD phase then, even for the batch norms of H blocks. */
  bool hebbian_classifier = config[strlen(config) - 1] == 'H';
  if (s == HG_OK && t->any_backprop && !hebbian_classifier) {
    snprintf(phase_dir, sizeof phase_dir, "%s/backprop", dir);
    s = fit_phase(w, t, HG_PHASE_BACKPROP, phase_dir, (uint64_t)seed);
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

/* The method of column m of row r: "-" when the row does not use one. */
static const char *method_of(const sweep *w, int r, int m) {
  return hg_sweep_uses_method(w->configs[r]) ? w->methods[m] : "-";
}

/* Does the cell start from its seed's baseline weights (frozen layers)? */
static bool needs_baseline(const sweep *w, int r) {
  char modes[32];
  return hg_sweep_hybrid_modes(w->configs[r], modes, sizeof modes) == HG_OK && strchr(modes, 'F');
}

/* Does an unfinished cell of the seed need its baseline's weights? */
static bool baseline_needed(const sweep *w, int seed) {
  for (int r = 0; r < w->nconfigs; r++)
    for (int m = 0; m < (hg_sweep_uses_method(w->configs[r]) ? w->nmethods : 1); m++)
      if (needs_baseline(w, r) && !hg_sweep_cells_find(&w->cells, w->configs[r], method_of(w, r, m), seed))
        return true;
  return false;
}

/* Cells with a Hebbian layer take longest: dealt out early, so that the
 * short ones even out the processes' loads at the end. */
static bool takes_long(const sweep *w, int r) { return strchr(w->configs[r], 'H') != NULL; }

/* In which pass of list_tasks the cells of configuration r are dealt out. */
static int pass_of(const sweep *w, int r) { return needs_baseline(w, r) ? 2 : takes_long(w, r) ? 0 : 1; }

/* The unfinished work in the order it is dealt out: the baselines, then the
 * cells that do not need one (long ones first), then those that do (by then
 * most baselines exist). Returns the count; the finished cells are announced
 * as skipped. */
static int list_tasks(sweep *w, task *out) {
  int n = 0;
  for (int seed = 1; seed <= w->o->seeds; seed++) {
    char path[700];
    baseline_path(w, seed, path, sizeof path);
    const hg_sweep_cell *done = hg_sweep_cells_find(&w->cells, w->baseline, "-", seed);
    if (done && hg_parallel_rank() == 0) announce_skip(w, done);
    if (!done || (baseline_needed(w, seed) && access(path, R_OK) != 0)) out[n++] = (task){seed, -1, 0};
  }
  for (int pass = 0; pass < 3; pass++)
    for (int seed = 1; seed <= w->o->seeds; seed++)
      for (int r = 0; r < w->nconfigs; r++)
        for (int m = 0; m < (hg_sweep_uses_method(w->configs[r]) ? w->nmethods : 1); m++) {
          if (!strcmp(w->configs[r], w->baseline) || pass_of(w, r) != pass) continue;
          const hg_sweep_cell *done = hg_sweep_cells_find(&w->cells, w->configs[r], method_of(w, r, m), seed);
          if (done && hg_parallel_rank() == 0) announce_skip(w, done);
          if (!done) out[n++] = (task){seed, r, m};
        }
  return n;
}

/* Wait until another process has written the seed's baseline weights. */
static void wait_for_baseline(const sweep *w, int seed) {
  char path[700];
  baseline_path(w, seed, path, sizeof path);
  for (int waited = 0; access(path, R_OK) != 0; waited++) {
    if (waited % 60 == 0) printf("%swaiting for %s\n", w->who, path);
    fflush(stdout);
    sleep(1);
  }
}

/* The number of the next task this process takes: the next in turn when
 * alone, else the next nobody has taken (a free process takes the next
 * task, so the loads even out); −1 on failure. */
static int next_task(const sweep *w, int last) {
  return hg_parallel_size() == 1 ? last + 1 : hg_sweep_claim(w->next_path);
}

/* This process's share of the unfinished work. */
static hg_status run_tasks(sweep *w) {
  hg_status s = HG_OK;
  for (int i = next_task(w, -1); i < w->ntasks && s == HG_OK; i = next_task(w, i)) {
    if (i < 0) return hg_last_status();
    const task *k = &w->tasks[i];
    if (k->config < 0) {
      s = baseline(w, k->seed, baseline_needed(w, k->seed));
      continue;
    }
    if (needs_baseline(w, k->config)) wait_for_baseline(w, k->seed);
    s = run_cell(w, w->configs[k->config], method_of(w, k->config, k->method), k->seed);
  }
  return s;
}

static hg_status write_tables(sweep *w) {
  const hybrid_sweep_options *h = w->o;
  const hg_common_opts *o = &h->c;
  bool top5 = !strcmp(hg_common_metric(o, w->d.train), "top5");
  hg_sweep_cells cells = {0};
  hg_sweep_table t;
  /* from the file, so that a resumed sweep and an uninterrupted one read the same numbers */
  hg_status s = hg_sweep_cells_read(w->cells_path, &cells);
  if (s == HG_OK) s = hg_sweep_table_build(&t, &cells, w->nconfigs, (const char(*)[32])w->configs, w->nmethods,
                                           w->methods, h->seeds, top5);
  hg_sweep_cells_free(&cells);
  if (s != HG_OK) return s;
  char title[256], caption[1024], path[700], top[64] = "";
  snprintf(title, sizeof title, "Hybrid networks on %s: test %s accuracy (%%)", o->data.name, top5 ? "top-5" : "top-1");
  if (h->top_weight_decay != o->weight_decay)
    snprintf(top, sizeof top, " (%g without a trained convolution)", (double)h->top_weight_decay);
  snprintf(caption, sizeof caption,
           "Mean ± 95%% confidence interval (Student's t) over %d seed%s. Model %s; a configuration gives "
           "each layer with weights (B backprop, H Hebbian, R random, F frozen), then the classifier (G "
           "gradient descent, H supervised Hebbian); the layers below the lowest H or R layer keep the "
           "baseline's weights (frozen), the others are trained afresh: %d Hebbian epoch%s (lr %g), then "
           "%d SGD epoch%s (lr %g, schedule %s, weight decay %g%s, batch %d)%s. n/a: the row has no "
           "Hebbian layer below the classifier, so the method does not apply (its number is in the "
           "first column).",
           h->seeds, h->seeds > 1 ? "s" : "", o->model, o->hebb_epochs, o->hebb_epochs == 1 ? "" : "s",
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
  const hybrid_sweep_options *h = w->o;
  const hg_common_opts *o = &h->c;
  char v[14][48];
  snprintf(v[0], 48, "%s", o->data.name);
  snprintf(v[1], 48, "%s", o->model);
  snprintf(v[2], 48, "%d", o->data.n_val);
  snprintf(v[3], 48, "%d", o->data.limit_train);
  snprintf(v[4], 48, "%d", o->data.limit_test);
  snprintf(v[5], 48, "%s", o->data.zca ? "on" : "off");
  if (o->data.zca && o->data.zca_eps != HG_ZCA_DEFAULT_EPS) /* sweeps at the default keep their value */
    snprintf(v[5], 48, "on eps %g", (double)o->data.zca_eps);
  snprintf(v[6], 48, "%d", o->epochs);
  snprintf(v[7], 48, "%d", o->hebb_epochs);
  snprintf(v[8], 48, "%d", o->batch);
  snprintf(v[9], 48, "%g %g", (double)o->lr, (double)o->hebb_lr);
  snprintf(v[10], 48, "%s", o->schedule);
  snprintf(v[11], 48, "%g %g", (double)o->momentum, (double)o->weight_decay);
  if (h->top_weight_decay != o->weight_decay) /* folders of sweeps without it keep their value */
    snprintf(v[11], 48, "%g %g top %g", (double)o->momentum, (double)o->weight_decay, (double)h->top_weight_decay);
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

/* The methods of --methods (checked when parsed), one column each. */
static hg_status split_methods(sweep *w) {
  char *save = NULL;
  w->method_text = strdup(w->o->methods);
  if (!w->method_text) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  for (char *m = strtok_r(w->method_text, ",", &save); m; m = strtok_r(NULL, ",", &save))
    w->methods[w->nmethods++] = m;
  return HG_OK;
}

/* The output folder and its settings; rank 0 of a job of several starts
 * the task counter afresh. */
static hg_status setup_folder(sweep *w) {
  hg_status s = split_methods(w);
  if (s == HG_OK) s = hg_make_dirs(w->o->c.out);
  if (s == HG_OK) s = check_settings(w);
  snprintf(w->next_path, sizeof w->next_path, "%s/tasks.next", w->o->c.out);
  bool lead = hg_parallel_rank() == 0 && hg_parallel_size() > 1;
  if (s == HG_OK && lead && unlink(w->next_path) != 0 && errno != ENOENT)
    s = hg_fail(HG_ERR_IO, "sweep: cannot remove %s: %s", w->next_path, strerror(errno));
  return s;
}

/* The data, the configurations, the finished cells and the unfinished work. */
static hg_status setup_work(sweep *w) {
  hybrid_sweep_options *h = w->o;
  hg_common_opts *o = &h->c;
  hg_status s = hg_common_prepare(o, &w->d);
  if (s != HG_OK) return s;
  hg_net *net = build_net(w, 1);
  if (!net) return hg_last_status();
  for (int i = 0; i < net->n; i++) w->layers += hg_layer_is_affine(net->layers[i]);
  hg_net_free(net);
  hg_sweep_baseline(w->layers, w->baseline, sizeof w->baseline);
  char list[4096];
  snprintf(list, sizeof list, "%s,%s", w->baseline, h->configs); /* the baseline row first */
  w->nconfigs = hg_sweep_configs(list, w->layers, w->configs, MAX_CONFIGS);
  if (w->nconfigs < 0) return hg_last_status();
  snprintf(w->cells_path, sizeof w->cells_path, "%s/cells.jsonl", o->out);
  if ((s = hg_sweep_cells_read(w->cells_path, &w->cells)) != HG_OK) return s;
  for (int r = 0; r < w->nconfigs; r++)
    w->total += h->seeds * (hg_sweep_uses_method(w->configs[r]) ? w->nmethods : 1);
  if (hg_parallel_rank() == 0)
    printf("sweep: %s, model %s, %d configurations x %d methods, %d seed%s: %d cells (%d done) -> %s%s\n",
           o->data.name, o->model, w->nconfigs, w->nmethods, h->seeds, h->seeds > 1 ? "s" : "", w->total,
           w->cells.n, o->out, hg_parallel_size() > 1 ? ", shared by the processes of the job" : "");
  w->tasks = malloc((size_t)h->seeds * (1 + (size_t)w->nconfigs * HYBRID_MAX_METHODS) * sizeof *w->tasks);
  if (!w->tasks) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  w->ntasks = list_tasks(w, w->tasks);
  return HG_OK;
}

/* Both setups in every process: rank 0 makes the folder and its settings
 * (and, with --zca, the transform's cache) before the others look at them;
 * the data are loaded by all at once otherwise. Every process has listed
 * the unfinished work before any starts on it. */
static hg_status setup_all(sweep *w) {
  int rank = hg_parallel_rank();
  bool zca_first = w->o->c.data.zca; /* rank 0 writes the cache the others read */
  if (hg_parallel_size() > 1) snprintf(w->who, sizeof w->who, "[rank %d] ", rank);
  hg_status s = rank == 0 ? setup_folder(w) : HG_OK;
  if (s == HG_OK && rank == 0 && zca_first) s = setup_work(w);
  if (!hg_parallel_all(s == HG_OK)) return s != HG_OK ? s : hg_fail(HG_ERR_IO, "rank 0 could not set the sweep up");
  if (rank != 0) s = setup_folder(w);
  if (s == HG_OK && (rank != 0 || !zca_first)) s = setup_work(w);
  if (!hg_parallel_all(s == HG_OK) && s == HG_OK) s = hg_fail(HG_ERR_IO, "another process could not set the sweep up");
  return s;
}

int main(int argc, char **argv) {
  hybrid_sweep_options o = {0};
  hg_status s = hg_parallel_start(&argc, &argv);
  const hg_cli *cli = &hybrid_sweep_cli;
  int rc = s == HG_OK ? hg_common_start(cli, argc, argv, &o) : hg_cli_status(cli, s, stderr);
  if (rc >= 0) return hg_parallel_end(rc);
  sweep w = {.o = &o};
  s = setup_all(&w);
  if (s == HG_OK) s = run_tasks(&w);
  /* every cell is in the file once all processes are here (a failed one ends the job instead) */
  if (s == HG_OK && !hg_parallel_all(true)) s = hg_fail(HG_ERR_IO, "another process failed");
  if (s == HG_OK && hg_parallel_rank() == 0 && hg_parallel_size() > 1) unlink(w.next_path); /* all taken */
  if (s == HG_OK && hg_parallel_rank() == 0) s = write_tables(&w);
  free(w.tasks);
  hg_sweep_cells_free(&w.cells);
  hg_data_release(&w.d);
  free(w.method_text);
  return hg_parallel_end(hg_cli_status(cli, s, stderr));
}
