/* Command-line pieces shared by the example programs: number parsing with
 * clear messages, and the data, run and training options that layer_probe,
 * retrain_top and semisup all take, spelled as in examples/train.c. */
#ifndef HG_EXAMPLES_EXPERIMENT_CLI_H
#define HG_EXAMPLES_EXPERIMENT_CLI_H

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "experiment/experiment.h"
#include "hebbgrad.h"
#include "data/prepare.h"

/* Options every experiment program has. */
typedef struct cli_common {
  const char *prog;
  hg_data_opts data;
  const char *out;
  int batch, threads;
  int seed;
} cli_common;

#define CLI_COMMON_USAGE                                                                          \
  "Data\n"                                                                                        \
  "  --data NAME          mnist, fashion-mnist, cifar10 or cifar100 (default fashion-mnist);\n" \
  "                       28x28 images are made 3x32x32 for the seeds' net\n"                    \
  "  --data-dir DIR       where the data sets are (default $HEBBGRAD_DATA, else ./datasets;\n"       \
  "                       see scripts/get_data.sh)\n"                                            \
  "  --val N              validation images split off the training set (default 10000)\n"       \
  "  --limit-train N      use only N training images (default all)\n"                            \
  "  --limit-test N       use only N validation and N test images (default all)\n"              \
  "  --zca                whole-image ZCA whitening fitted on the training split (use it\n"      \
  "                       when the trained net was trained on whitened images)\n"               \
  "  --zca-eps E          ZCA regulariser (default 0.01)\n"                                      \
  "  --zca-cache FILE     reuse the fitted transform from FILE when it was fitted on the\n"      \
  "                       same data (default OUT/zca-DATA.safetensors)\n"                        \
  "Run\n"                                                                                         \
  "  --out DIR            output folder: results, tables, checkpoints of unfinished runs\n" \
  "                       (default runs/PROGRAM, e.g. runs/layer_probe)\n"    \
  "  --seed N             seed of the initialisation of new layers, the validation split\n"     \
  "                       and the batch order (default 1; give the --seed of the run that\n"   \
  "                       trained a loaded net, so that its validation split is the same)\n"  \
  "  --batch N            mini-batch size (default 64)\n"                                        \
  "  --threads N          worker threads (default 2)\n"                                          \
  "  --help               this text\n"

enum {
  CLI_DATA = 1000, CLI_DATA_DIR, CLI_VAL, CLI_LIMIT_TRAIN, CLI_LIMIT_TEST, CLI_ZCA, CLI_ZCA_EPS,
  CLI_ZCA_CACHE, CLI_OUT, CLI_SEED, CLI_BATCH, CLI_THREADS
};

#define CLI_COMMON_LONGOPTS                                                                \
  {"data", 1, 0, CLI_DATA}, {"data-dir", 1, 0, CLI_DATA_DIR}, {"val", 1, 0, CLI_VAL},      \
      {"limit-train", 1, 0, CLI_LIMIT_TRAIN}, {"limit-test", 1, 0, CLI_LIMIT_TEST},        \
      {"zca", 0, 0, CLI_ZCA}, {"zca-eps", 1, 0, CLI_ZCA_EPS},                              \
      {"zca-cache", 1, 0, CLI_ZCA_CACHE}, {"out", 1, 0, CLI_OUT}, {"seed", 1, 0, CLI_SEED}, \
      {"batch", 1, 0, CLI_BATCH}, {"threads", 1, 0, CLI_THREADS}

static inline cli_common cli_defaults(const char *prog, const char *out) {
  cli_common c = {.prog = prog, .data = hg_data_defaults("fashion-mnist"), .out = out, .batch = 64,
                  .threads = 2, .seed = 1};
  c.data.rgb32 = true; /* the seeds' net takes 3x32x32 */
  return c;
}

static inline int cli_int(const char *prog, const char *name, const char *v, int lo, int hi, int *out) {
  char *end;
  long x = strtol(v, &end, 10);
  if (*v == '\0' || *end != '\0' || x < lo || x > hi) {
    fprintf(stderr, "%s: --%s %s: expected an integer from %d to %d\n", prog, name, v, lo, hi);
    return 0;
  }
  *out = (int)x;
  return 1;
}

static inline int cli_float(const char *prog, const char *name, const char *v, float *out) {
  char *end;
  float x = strtof(v, &end);
  if (*v == '\0' || *end != '\0' || !(x >= 0) || x > 1e9f) {
    fprintf(stderr, "%s: --%s %s: expected a number >= 0\n", prog, name, v);
    return 0;
  }
  *out = x;
  return 1;
}

/* A rate in [0, 1) (dropout): 1 when v is one, else 0 with a message. */
static inline int cli_rate(const char *prog, const char *name, const char *v, float *out) {
  float x;
  if (!cli_float(prog, name, v, &x)) return 0;
  if (x >= 1) return fprintf(stderr, "%s: --%s %s: expected a value in [0, 1)\n", prog, name, v), 0;
  *out = x;
  return 1;
}

/* Whitening with a ZCA ε other than the default: then part of results' keys
 * and caches' settings (the default keeps the keys of older runs). */
static inline bool cli_custom_zca_eps(const cli_common *c) {
  return c->data.zca && c->data.zca_eps != HG_ZCA_DEFAULT_EPS;
}

/* The training options of the experiment programs (their defaults differ). */
typedef struct cli_training {
  int epochs, patience;
  float lr, momentum, weight_decay, hebb_lr;
  const char *schedule;
} cli_training;

enum { CLI_EPOCHS = 1100, CLI_PATIENCE, CLI_LR, CLI_SCHEDULE, CLI_MOMENTUM, CLI_DECAY, CLI_HEBB_LR };

#define CLI_TRAINING_LONGOPTS                                                                        \
  {"epochs", 1, 0, CLI_EPOCHS}, {"patience", 1, 0, CLI_PATIENCE}, {"lr", 1, 0, CLI_LR},              \
      {"schedule", 1, 0, CLI_SCHEDULE}, {"momentum", 1, 0, CLI_MOMENTUM},                            \
      {"weight-decay", 1, 0, CLI_DECAY}, {"hebb-lr", 1, 0, CLI_HEBB_LR}

/* 1: handled, 0: bad value (message printed), -1: not a training option. */
static inline int cli_training_option(const char *prog, cli_training *t, int code, const char *arg) {
  switch (code) {
    case CLI_EPOCHS: return cli_int(prog, "epochs", arg, 1, 10000, &t->epochs);
    case CLI_PATIENCE: return cli_int(prog, "patience", arg, 0, 10000, &t->patience);
    case CLI_LR: return cli_float(prog, "lr", arg, &t->lr);
    case CLI_SCHEDULE: {
      hg_schedule sch;
      if (hg_schedule_parse(arg, &sch) == HG_OK) return t->schedule = arg, 1;
      fprintf(stderr, "%s: --schedule: %s\n", prog, hg_last_error());
      return 0;
    }
    case CLI_MOMENTUM: return cli_float(prog, "momentum", arg, &t->momentum);
    case CLI_DECAY: return cli_float(prog, "weight-decay", arg, &t->weight_decay);
    case CLI_HEBB_LR: return cli_float(prog, "hebb-lr", arg, &t->hebb_lr);
    default: return -1;
  }
}

/* Parse "1,3,5" into values (each in [lo, hi], no repeats); returns the count, 0 on error. */
static inline int cli_int_list(const char *prog, const char *name, const char *v, int lo, int hi,
                               int *values, int max) {
  int n = 0;
  const char *p = v;
  while (*p) {
    char *end;
    long x = strtol(p, &end, 10);
    bool repeat = false;
    for (int i = 0; i < n; i++) repeat |= values[i] == x;
    if (end == p || (*end != ',' && *end != '\0') || x < lo || x > hi || repeat || n == max) {
      fprintf(stderr, "%s: --%s %s: expected distinct integers from %d to %d, separated by commas\n",
              prog, name, v, lo, hi);
      return 0;
    }
    values[n++] = (int)x;
    p = *end ? end + 1 : end;
  }
  if (!n) fprintf(stderr, "%s: --%s: empty list\n", prog, name);
  return n;
}

/* 1: handled, 0: bad value (message printed), -1: not a common option. */
static inline int cli_common_option(cli_common *c, int code, const char *arg) {
  switch (code) {
    case CLI_DATA: c->data.name = arg; return 1;
    case CLI_DATA_DIR: c->data.dir = arg; return 1;
    case CLI_VAL: return cli_int(c->prog, "val", arg, 0, 1000000, &c->data.n_val);
    case CLI_LIMIT_TRAIN: return cli_int(c->prog, "limit-train", arg, 1, 100000000, &c->data.limit_train);
    case CLI_LIMIT_TEST: return cli_int(c->prog, "limit-test", arg, 1, 100000000, &c->data.limit_test);
    case CLI_ZCA: c->data.zca = true; return 1;
    case CLI_ZCA_EPS: return cli_float(c->prog, "zca-eps", arg, &c->data.zca_eps);
    case CLI_ZCA_CACHE: c->data.zca_cache = arg; return 1;
    case CLI_OUT: c->out = arg; return 1;
    case CLI_SEED: return cli_int(c->prog, "seed", arg, 0, 2000000000, &c->seed);
    case CLI_BATCH: return cli_int(c->prog, "batch", arg, 2, 100000, &c->batch);
    case CLI_THREADS: return cli_int(c->prog, "threads", arg, 1, 1024, &c->threads);
    default: return -1;
  }
}

/* A training or common option: 1 when handled, 0 when bad (message printed)
 * or unknown. */
static inline int cli_shared_option(cli_common *c, cli_training *t, int code, const char *arg) {
  int r = cli_training_option(c->prog, t, code, arg);
  return r >= 0 ? r : cli_common_option(c, code, arg) == 1;
}

/* After getopt: 1 when the options parsed and no argument is left over,
 * else 0 with a message. */
static inline int cli_parsed(const char *prog, int ok, int argc, char **argv) {
  if (!ok) return fprintf(stderr, "%s: see --help for the options\n", prog), 0;
  if (optind < argc) return fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", prog, argv[optind]), 0;
  return 1;
}

/* NULL (the default), "top1" or "top5"; 0 with a message otherwise. */
static inline int cli_metric_ok(const char *prog, const char *metric) {
  if (!metric || !strcmp(metric, "top1") || !strcmp(metric, "top5")) return 1;
  return fprintf(stderr, "%s: --metric %s: expected top1 or top5\n", prog, metric), 0;
}

/* Hebbian training of the lowest `layers` layers of net below the classifier
 * (0: all) with rule `hebb` for `epochs` on train (hg_experiment_pretrain),
 * cached in `cache` under a setting made of the data and training options;
 * resumable from run_dir. */
static inline hg_status cli_pretrain(const cli_common *c, const cli_training *t, hg_net *net,
                                     const hg_dataset *train, const char *hebb, int epochs, int layers,
                                     const char *cache, const char *run_dir, bool *cached) {
  char setting[700], upto[32] = "", eps[32] = "";
  if (layers > 0) snprintf(upto, sizeof upto, " layers=%d", layers);
  if (cli_custom_zca_eps(c)) snprintf(eps, sizeof eps, " zca_eps=%g", c->data.zca_eps);
  snprintf(setting, sizeof setting, "data=%s zca=%d%s train=%d hebb=%s epochs=%d%s lr=%g batch=%d seed=%d",
           c->data.name, c->data.zca, eps, train->count, hebb, epochs, upto, t->hebb_lr, c->batch, c->seed);
  hg_pretrain_opts p = hg_pretrain_defaults(hebb);
  p.epochs = epochs;
  p.layers = layers;
  p.batch = c->batch;
  p.lr = t->hebb_lr;
  p.seed = (uint64_t)c->seed;
  p.cache = cache;
  p.setting = setting;
  p.run_dir = run_dir;
  p.log = stderr;
  return hg_experiment_pretrain(net, train, &p, cached);
}

/* hg_fit options from the run and training options: resumable from run_dir,
 * progress on stderr, lr schedule `schedule` (t->schedule when NULL). */
static inline hg_status cli_fit_opts(const cli_common *c, const cli_training *t, hg_phase phase,
                                     const char *schedule, const char *run_dir, const char *label,
                                     hg_fit_opts *f) {
  *f = hg_fit_defaults();
  f->epochs = t->epochs;
  f->batch = c->batch;
  f->phase = phase;
  f->base_lr = t->lr;
  f->patience = t->patience;
  f->run_dir = run_dir;
  f->resume = true;
  f->seed = (uint64_t)c->seed;
  f->label = label;
  f->log = stderr;
  return hg_schedule_parse(schedule ? schedule : t->schedule, &f->schedule);
}

/* The columns that follow a result's key (and extra) columns. */
#define CLI_OUTCOME_COLS 6
static const char *const cli_outcome_cols[CLI_OUTCOME_COLS] = {"epochs_run", "best_epoch", "val_top1",
                                                               "test_top1",  "test_top5",  "seconds"};
#define CLI_MAX_COLS 32

/* prefix.csv/.jsonl for rows of the key columns, the extra columns, then the
 * outcome columns; NULL when the file has other columns (hg_results_open). */
static inline hg_results *cli_results_open(const char *prefix, int nkeys, const char *const *key_cols, int nextra,
                                           const char *const *extra_cols) {
  const char *cols[CLI_MAX_COLS];
  if (nkeys + nextra + CLI_OUTCOME_COLS > CLI_MAX_COLS) {
    hg_fail(HG_ERR_ARG, "results: more than %d columns", CLI_MAX_COLS);
    return NULL;
  }
  memcpy(cols, key_cols, (size_t)nkeys * sizeof *cols);
  memcpy(cols + nkeys, extra_cols, (size_t)nextra * sizeof *cols);
  memcpy(cols + nkeys + nextra, cli_outcome_cols, sizeof cli_outcome_cols);
  return hg_results_open(prefix, nkeys + nextra + CLI_OUTCOME_COLS, cols);
}

/* One row of a file from cli_results_open: key values, extra values, r. */
static inline hg_status cli_results_row(hg_results *res, int nkeys, const char *const *key, int nextra,
                                        const char *const *extra, const hg_experiment_outcome *r) {
  char v[CLI_OUTCOME_COLS][32];
  snprintf(v[0], 32, "%d", r->fit.epochs_run);
  snprintf(v[1], 32, "%d", r->fit.best_epoch);
  snprintf(v[2], 32, "%.6f", r->val.top1);
  snprintf(v[3], 32, "%.6f", r->test.top1);
  snprintf(v[4], 32, "%.6f", r->test.top5);
  snprintf(v[5], 32, "%.1f", r->fit.seconds);
  const char *values[CLI_MAX_COLS];
  memcpy(values, key, (size_t)nkeys * sizeof *values);
  memcpy(values + nkeys, extra, (size_t)nextra * sizeof *values);
  for (int i = 0; i < CLI_OUTCOME_COLS; i++) values[nkeys + nextra + i] = v[i];
  return hg_results_row(res, values);
}

/* Open, append one row, close. */
static inline hg_status cli_record(const char *prefix, int nkeys, const char *const *key_cols,
                                   const char *const *key, int nextra, const char *const *extra_cols,
                                   const char *const *extra, const hg_experiment_outcome *r) {
  hg_results *res = cli_results_open(prefix, nkeys, key_cols, nextra, extra_cols);
  if (!res) return hg_last_status();
  hg_status s = cli_results_row(res, nkeys, key, nextra, extra, r);
  hg_results_close(res);
  return s;
}

/* Print table under its title and save it as prefix.csv and prefix.md. */
static inline hg_status cli_show_table(const hg_table *table, const char *prefix, const char *title) {
  printf("\n%s\n\n", title);
  hg_status s = hg_table_write_markdown(table, stdout);
  if (s == HG_OK) s = hg_table_save(table, prefix, title);
  if (s == HG_OK) printf("\nwritten: %s.csv, %s.md\n", prefix, prefix);
  return s;
}

/* The exit status of a program whose work ended with s (the error printed). */
static inline int cli_exit(const char *prog, hg_status s) {
  if (s == HG_OK) return 0;
  fprintf(stderr, "%s: %s\n", prog, hg_last_error());
  return 1;
}

/* The data part of a result's key: "NAME", "NAME+zca", or "NAME+zca:EPS"
 * when ZCA's ε is not the default. */
static inline void cli_data_key(const cli_common *c, char *buf, size_t size) {
  if (cli_custom_zca_eps(c)) snprintf(buf, size, "%s+zca:%g", c->data.name, (double)c->data.zca_eps);
  else snprintf(buf, size, "%s%s", c->data.name, c->data.zca ? "+zca" : "");
}

/* The training part of a result's key: every setting of t and c that can
 * change the result. */
static inline void cli_training_key(const cli_common *c, const cli_training *t, char *buf, size_t size) {
  snprintf(buf, size, "epochs=%d schedule=%s lr=%g momentum=%g wd=%g hebb_lr=%g batch=%d patience=%d", t->epochs,
           t->schedule, t->lr, t->momentum, t->weight_decay, t->hebb_lr, c->batch, t->patience);
}

/* FNV-1a over a key's n values: names a cell's run folder, so that a rerun
 * with other settings never resumes another cell's checkpoint. */
static inline unsigned cli_key_hash(int n, const char *const *v) {
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) {
    for (const char *c = v[i]; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    h = (h ^ '|') * 16777619u; /* "ab","c" differs from "a","bc" */
  }
  return h;
}

/* Make OUT, load and prepare the data (the ZCA cache defaults to OUT/zca-DATA). */
static inline hg_status cli_prepare(cli_common *c, hg_data *d, char *zca_cache, size_t size) {
  hg_status s = hg_make_dirs(c->out);
  c->data.seed = (uint64_t)c->seed;
  if (c->data.zca && !c->data.zca_cache) {
    snprintf(zca_cache, size, "%s/zca-%s.safetensors", c->out, c->data.name);
    c->data.zca_cache = zca_cache;
  }
  return s == HG_OK ? hg_data_prepare(&c->data, d) : s;
}

/* "top1" unless the data set has 100 classes or more ("top5", as the seeds
 * report CIFAR-100); an explicit choice wins. */
static inline const char *cli_metric(const char *chosen, const hg_dataset *train) {
  if (chosen) return chosen;
  return train->num_classes >= 100 ? "top5" : "top1";
}

#endif
