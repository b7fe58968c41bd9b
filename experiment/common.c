#include "experiment/common.h"

#include <omp.h>
#include <string.h>
#include <unistd.h>

#include "data/zca.h"
#include "experiment/parallel.h"
#include "io/files.h"
#include "nn/net.h"
#include "tensor/kstats.h"

hg_status hg_common_prepare(hg_common_opts *c, hg_data *d) {
  hg_status s = HG_OK;
  c->data.seed = (uint64_t)c->seed;
  c->data.rgb32 = !c->model || !strcmp(c->model, "seeds"); /* the seeds' net takes 3x32x32 */
  if (c->data.zca_floats && !c->data.zca) return hg_fail(HG_ERR_ARG, "--zca-floats: only with --zca");
  if (c->data.zca && !c->data.zca_cache) {
    snprintf(c->zca_default, sizeof c->zca_default, "%s/zca-%s.safetensors", c->out, c->data.name);
    c->data.zca_cache = c->zca_default;
    s = hg_make_dirs(c->out);
  }
  return s == HG_OK ? hg_data_prepare(&c->data, d) : s;
}

int hg_common_start(const hg_cli *cli, int argc, char **argv, void *opts) {
  hg_cli_args a;
  int rc = hg_cli_start(cli, argc, argv, opts, &a, stdout, stderr);
  if (rc >= 0) return rc;
  int threads = ((hg_common_opts *)opts)->threads;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int local = hg_parallel_local_size(); /* processes of an MPI job on this machine share its cores */
  if (local > 1 && cpus > 0 && !hg_cli_given(&a, "threads")) threads = cpus / local > 1 ? (int)(cpus / local) : 1;
  ((hg_common_opts *)opts)->threads = threads;
  if (cpus > 0 && threads > cpus) /* OpenMP's waiting threads then take the CPUs from the working ones */
    fprintf(stderr, "%s: warning: --threads %d is more than the %ld CPUs here: slower, not faster\n", cli->name,
            threads, cpus);
  omp_set_num_threads(threads);
  const char *conv = ((hg_common_opts *)opts)->conv;
  hg_conv_set_algorithm(!conv || !strcmp(conv, "auto") ? HG_CONV_AUTO
                        : !strcmp(conv, "direct")      ? HG_CONV_DIRECT
                                                       : HG_CONV_WINOGRAD);
  return rc;
}

hg_status hg_common_prepare_all(hg_common_opts *c, hg_data *d) {
  bool lead = hg_parallel_rank() == 0;
  hg_status s = lead ? hg_common_prepare(c, d) : HG_OK;
  if (!hg_parallel_all(s == HG_OK)) return s != HG_OK ? s : hg_fail(HG_ERR_IO, "rank 0 could not prepare the data");
  return lead ? HG_OK : hg_common_prepare(c, d);
}

int hg_common_main(const hg_cli *cli, int argc, char **argv, void *opts,
                   hg_status (*work)(void *opts, const hg_data *d)) {
  hg_status s = hg_parallel_start(&argc, &argv);
  int rc = s == HG_OK ? hg_common_start(cli, argc, argv, opts) : hg_cli_status(cli, s, stderr);
  if (rc >= 0) return hg_parallel_end(rc);
  hg_data d = {0};
  s = hg_make_dirs(((hg_common_opts *)opts)->out);
  if (s == HG_OK) s = hg_common_prepare_all(opts, &d);
  if (s == HG_OK) s = work(opts, &d);
  hg_data_release(&d);
  return hg_parallel_end(hg_cli_status(cli, s, stderr));
}

/* SoftHebb's net with --triangle-powers, for square images whose side is a multiple of 8. */
static hg_net *softhebb_net(const hg_common_opts *c, const hg_dataset *train, uint64_t seed) {
  const int *shape = train->shape;
  if (shape[2] != shape[3] || shape[2] % 8) {
    hg_fail(HG_ERR_SHAPE, "--model softhebb: images of %dx%d, expected square ones of a side divisible by 8 "
            "(cifar10, cifar100, or MNIST made 32x32)", shape[2], shape[3]);
    return NULL;
  }
  float power[3];
  if (hg_parse_floats(c->triangle_powers, power, 3) != HG_OK) return NULL;
  return hg_net_softhebb(shape[1], shape[2], train->num_classes, power, seed);
}

hg_net *hg_common_net(const hg_common_opts *c, const hg_dataset *train, uint64_t seed) {
  const int *shape = train->shape;
  const char *model = c->model ? c->model : "seeds";
  hg_net *net = NULL;
  if (!strcmp(model, "seeds")) net = hg_net_seeds(shape[1], train->num_classes, seed);
  else if (!strcmp(model, "small")) net = hg_net_small(shape[1], shape[2], train->num_classes, seed);
  else if (!strcmp(model, "softhebb")) net = softhebb_net(c, train, seed);
  else hg_fail(HG_ERR_ARG, "--model '%s' is not seeds, small or softhebb", model);
  if (net) net->check_finite = c->check_finite;
  if (net && c->modified_bn && hg_experiment_modified_bn(net) != HG_OK) {
    hg_net_free(net);
    return NULL;
  }
  return net;
}

hg_status hg_common_fit_opts(const hg_common_opts *c, hg_phase phase, const char *run_dir, const char *label,
                             FILE *log, hg_fit_opts *f) {
  *f = hg_fit_defaults();
  f->epochs = c->epochs;
  f->batch = c->batch;
  f->phase = phase;
  f->base_lr = c->lr;
  f->patience = c->patience;
  f->steps_per_epoch = c->steps;
  f->run_dir = run_dir;
  f->resume = true;
  f->seed = (uint64_t)c->seed;
  f->label = label;
  f->log = log;
  return hg_schedule_parse(phase == HG_PHASE_HEBB ? "constant" : c->schedule, &f->schedule);
}

/* Whitening with a ZCA ε other than the default: then part of results' keys
 * and caches' settings (the default keeps the keys of older runs). */
static bool custom_zca_eps(const hg_common_opts *c) { return c->data.zca && c->data.zca_eps != HG_ZCA_DEFAULT_EPS; }

hg_status hg_common_pretrain(const hg_common_opts *c, hg_net *net, const hg_dataset *train, const char *hebb,
                             int layers, const char *cache, const char *run_dir, const hg_batch_sync *sync,
                             bool *cached) {
  char setting[700], upto[32] = "", eps[32] = "";
  if (layers > 0) snprintf(upto, sizeof upto, " layers=%d", layers);
  if (custom_zca_eps(c)) snprintf(eps, sizeof eps, " zca_eps=%g", c->data.zca_eps);
  snprintf(setting, sizeof setting, "data=%s zca=%d%s train=%d hebb=%s epochs=%d%s lr=%g batch=%d seed=%d",
           c->data.name, c->data.zca, eps, train->count, hebb, c->hebb_epochs, upto, c->hebb_lr, c->batch, c->seed);
  hg_pretrain_opts p = hg_pretrain_defaults(hebb);
  p.epochs = c->hebb_epochs;
  p.layers = layers;
  p.batch = c->batch;
  p.lr = c->hebb_lr;
  p.seed = (uint64_t)c->seed;
  p.cache = cache;
  p.setting = setting;
  p.run_dir = run_dir;
  p.log = !sync || sync->rank == 0 ? stderr : NULL;
  p.sync = sync;
  return hg_experiment_pretrain(net, train, &p, cached);
}

void hg_common_data_key(const hg_common_opts *c, char *buf, size_t size) {
  if (custom_zca_eps(c)) snprintf(buf, size, "%s+zca:%g", c->data.name, (double)c->data.zca_eps);
  else snprintf(buf, size, "%s%s", c->data.name, c->data.zca ? "+zca" : "");
}

void hg_common_training_key(const hg_common_opts *c, char *buf, size_t size) {
  snprintf(buf, size, "epochs=%d schedule=%s lr=%g momentum=%g wd=%g hebb_lr=%g batch=%d patience=%d", c->epochs,
           c->schedule, c->lr, c->momentum, c->weight_decay, c->hebb_lr, c->batch, c->patience);
}

const char *hg_common_metric(const hg_common_opts *c, const hg_dataset *train) {
  if (c->metric) return c->metric;
  return train->num_classes >= 100 ? "top5" : "top1";
}

unsigned hg_experiment_key_hash(int n, const char *const *v) {
  unsigned h = 2166136261u;
  for (int i = 0; i < n; i++) {
    for (const char *c = v[i]; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
    h = (h ^ '|') * 16777619u; /* "ab","c" differs from "a","bc" */
  }
  return h;
}

/* ---- results files ---- */

#define OUTCOME_COLS 6
#define MAX_COLS 32
static const char *const outcome_cols[OUTCOME_COLS] = {"epochs_run", "best_epoch", "val_top1",
                                                       "test_top1",  "test_top5",  "seconds"};

hg_results *hg_experiment_results_open(const char *prefix, int nkeys, const char *const *key_cols, int nextra,
                                       const char *const *extra_cols) {
  const char *cols[MAX_COLS];
  if (nkeys + nextra + OUTCOME_COLS > MAX_COLS) {
    hg_fail(HG_ERR_ARG, "results: more than %d columns", MAX_COLS);
    return NULL;
  }
  memcpy(cols, key_cols, (size_t)nkeys * sizeof *cols);
  if (nextra) memcpy(cols + nkeys, extra_cols, (size_t)nextra * sizeof *cols);
  memcpy(cols + nkeys + nextra, outcome_cols, sizeof outcome_cols);
  return hg_results_open(prefix, nkeys + nextra + OUTCOME_COLS, cols);
}

hg_status hg_experiment_results_row(hg_results *res, int nkeys, const char *const *key, int nextra,
                                    const char *const *extra, const hg_experiment_outcome *r) {
  char v[OUTCOME_COLS][32];
  snprintf(v[0], 32, "%d", r->fit.epochs_run);
  snprintf(v[1], 32, "%d", r->fit.best_epoch);
  snprintf(v[2], 32, "%.6f", r->val.top1);
  snprintf(v[3], 32, "%.6f", r->test.top1);
  snprintf(v[4], 32, "%.6f", r->test.top5);
  snprintf(v[5], 32, "%.1f", r->fit.seconds);
  const char *values[MAX_COLS];
  if (nkeys + nextra + OUTCOME_COLS > MAX_COLS) return hg_fail(HG_ERR_ARG, "results: more than %d columns", MAX_COLS);
  memcpy(values, key, (size_t)nkeys * sizeof *values);
  if (nextra) memcpy(values + nkeys, extra, (size_t)nextra * sizeof *values);
  for (int i = 0; i < OUTCOME_COLS; i++) values[nkeys + nextra + i] = v[i];
  return hg_results_row(res, values);
}

hg_status hg_experiment_record(const char *prefix, int nkeys, const char *const *key_cols, const char *const *key,
                               int nextra, const char *const *extra_cols, const char *const *extra,
                               const hg_experiment_outcome *r) {
  hg_results *res = hg_experiment_results_open(prefix, nkeys, key_cols, nextra, extra_cols);
  if (!res) return hg_last_status();
  hg_status s = hg_experiment_results_row(res, nkeys, key, nextra, extra, r);
  hg_results_close(res);
  return s;
}

hg_status hg_experiment_finish_table(hg_table *table, const char *out, const char *name, const char *title,
                                     FILE *f) {
  char prefix[1100];
  snprintf(prefix, sizeof prefix, "%s/%s", out, name);
  fprintf(f, "\n%s\n\n", title);
  hg_status s = hg_table_write_markdown(table, f);
  if (s == HG_OK) s = hg_table_save(table, prefix, title);
  if (s == HG_OK) fprintf(f, "\nwritten: %s.csv, %s.md\n", prefix, prefix);
  hg_table_free(table);
  return s;
}
