#include "hebb/fit.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/batcher.h"
#include "io/checkpoint.h"
#include "io/files.h"
#include "nn/evaluate.h"
#include "io/progress.h"
#include "io/results.h"

#define MAX_TENSORS 256

hg_fit_opts hg_fit_defaults(void) {
  hg_fit_opts o = {.epochs = 1, .batch = 64, .phase = HG_PHASE_JOINT, .base_lr = 1e-3f, .seed = 1,
                   .label = "train", .log = stdout};
  hg_schedule_parse("constant", &o.schedule);
  return o;
}

#define TRAINER_FORMAT "hebbgrad-trainer-1"
#define MAX_EPOCHS 1000000 /* an epoch count beyond this in a checkpoint is damage */
#define FIT_LOSS_WARNING 1e3 /* mean cross-entropy of an epoch that is surely divergence */

/* Names and tensors of everything a checkpoint holds. */
typedef struct tensor_list {
  int n;
  char names[MAX_TENSORS][64];
  hg_tensor *tensors[MAX_TENSORS];
} tensor_list;

static hg_status collect_optim(tensor_list *l, hg_optimizer *opt, const char *prefix) {
  if (!opt) return HG_OK;
  char names[8][64];
  hg_tensor *tensors[8];
  int n = hg_optim_state(opt, names, tensors, 8);
  for (int i = 0; i < n && i < 8; i++) {
    if (l->n == MAX_TENSORS) return hg_fail(HG_ERR_ARG, "checkpoint: more than %d tensors", MAX_TENSORS);
    snprintf(l->names[l->n], 64, "%s.%.50s", prefix, names[i]);
    l->tensors[l->n++] = tensors[i];
  }
  return HG_OK;
}

/* The rules' states of the H layers (e.g. BCM's threshold), as "LAYER.rule_state". */
static hg_status collect_rule_states(tensor_list *l, hg_trainer *t) {
  for (int i = 0; i < t->net->n; i++) {
    if (!t->plasticity[i].state) continue;
    if (l->n == MAX_TENSORS) return hg_fail(HG_ERR_ARG, "checkpoint: more than %d tensors", MAX_TENSORS);
    snprintf(l->names[l->n], 64, "%.40s.rule_state", t->net->layers[i]->name);
    l->tensors[l->n++] = t->plasticity[i].state;
  }
  return HG_OK;
}

static hg_status collect(hg_trainer *t, tensor_list *l) {
  l->n = hg_net_tensors(t->net, true, l->names, l->tensors, MAX_TENSORS);
  if (l->n > MAX_TENSORS) return hg_fail(HG_ERR_ARG, "checkpoint: more than %d tensors", MAX_TENSORS);
  hg_status s = collect_optim(l, t->opt_b, "backprop");
  if (s == HG_OK) s = collect_optim(l, t->opt_h, "hebb");
  return s == HG_OK ? collect_rule_states(l, t) : s;
}

hg_status hg_trainer_save(hg_trainer *t, const char *path, int epoch, double best_val, int best_epoch) {
  tensor_list *l = malloc(sizeof *l);
  if (!l) return hg_fail(HG_ERR_NOMEM, "checkpoint: out of memory");
  hg_status s = collect(t, l);
  const char *names[MAX_TENSORS];
  for (int i = 0; i < l->n; i++) names[i] = l->names[i];
  char e[32], b[32], be[32], rs[32], ri[32];
  snprintf(e, sizeof e, "%d", epoch);
  snprintf(b, sizeof b, "%.6f", best_val);
  snprintf(be, sizeof be, "%d", best_epoch);
  snprintf(rs, sizeof rs, "%llu", (unsigned long long)t->net->rng.state);
  snprintf(ri, sizeof ri, "%llu", (unsigned long long)t->net->rng.inc);
  const char *keys[] = {"epoch", "best_val", "best_epoch", "rng_state", "rng_inc", "format"};
  const char *values[] = {e, b, be, rs, ri, TRAINER_FORMAT};
  if (s == HG_OK) s = hg_checkpoint_save(path, l->n, names, l->tensors, 6, keys, values);
  free(l);
  return s;
}

/* Metadata `key` as a number in [lo, hi]: absent, malformed or out of range is
 * an error naming the file and the key. */
static hg_status meta_number(hg_checkpoint *ck, const char *path, const char *key, double lo, double hi,
                             double *out) {
  const char *v = hg_checkpoint_meta(ck, key);
  char *end = NULL;
  double x = v ? strtod(v, &end) : NAN;
  if (!v || end == v || *end != '\0' || !(x >= lo && x <= hi))
    return hg_fail(HG_ERR_IO, "checkpoint %s: metadata '%s' is %s%s%s, expected a number in [%g, %g]", path, key,
                   v ? "'" : "missing", v ? v : "", v ? "'" : "", lo, hi);
  *out = x;
  return HG_OK;
}

/* Metadata `key` as an unsigned 64-bit integer written by hg_trainer_save. */
static hg_status meta_u64(hg_checkpoint *ck, const char *path, const char *key, uint64_t *out) {
  const char *v = hg_checkpoint_meta(ck, key);
  char *end = NULL;
  errno = 0;
  unsigned long long x = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
  if (!end || *end != '\0' || errno)
    return hg_fail(HG_ERR_IO, "checkpoint %s: metadata '%s' is %s, expected an unsigned integer", path, key,
                   v ? v : "missing");
  *out = x;
  return HG_OK;
}

/* The training state besides the tensors: format, epochs, best validation, RNG. */
typedef struct trainer_meta {
  double epoch, best_val, best_epoch;
  hg_rng rng;
} trainer_meta;

static hg_status read_trainer_meta(hg_checkpoint *ck, const char *path, trainer_meta *m) {
  const char *format = hg_checkpoint_meta(ck, "format");
  if (!format || strcmp(format, TRAINER_FORMAT) != 0)
    return hg_fail(HG_ERR_IO, "checkpoint %s: format '%s', expected %s (not a training checkpoint)", path,
                   format ? format : "missing", TRAINER_FORMAT);
  hg_status s = meta_number(ck, path, "epoch", 0, MAX_EPOCHS, &m->epoch);
  if (s == HG_OK && m->epoch != floor(m->epoch))
    s = hg_fail(HG_ERR_IO, "checkpoint %s: metadata 'epoch' %g is not a whole number", path, m->epoch);
  if (s == HG_OK) s = meta_number(ck, path, "best_val", 0, 1, &m->best_val);
  if (s == HG_OK) s = meta_number(ck, path, "best_epoch", 0, m->epoch, &m->best_epoch);
  if (s == HG_OK) s = meta_u64(ck, path, "rng_state", &m->rng.state);
  if (s == HG_OK) s = meta_u64(ck, path, "rng_inc", &m->rng.inc);
  if (s == HG_OK && !(m->rng.inc & 1))
    s = hg_fail(HG_ERR_IO, "checkpoint %s: metadata 'rng_inc' is even, not a generator's stream", path);
  return s;
}

hg_status hg_trainer_load(hg_trainer *t, const char *path, int *epoch, double *best_val, int *best_epoch) {
  tensor_list *l = malloc(sizeof *l);
  if (!l) return hg_fail(HG_ERR_NOMEM, "checkpoint: out of memory");
  hg_status s = collect(t, l);
  hg_checkpoint *ck = s == HG_OK ? hg_checkpoint_open(path) : NULL;
  if (s == HG_OK && !ck) s = hg_last_status();
  trainer_meta m = {0};
  if (s == HG_OK) s = read_trainer_meta(ck, path, &m); /* before any tensor changes */
  for (int i = 0; s == HG_OK && i < l->n; i++) s = hg_checkpoint_read(ck, l->names[i], l->tensors[i]);
  if (s == HG_OK) {
    t->net->rng = m.rng;
    if (epoch) *epoch = (int)m.epoch;
    if (best_val) *best_val = m.best_val;
    if (best_epoch) *best_epoch = (int)m.best_epoch;
  }
  hg_checkpoint_close(ck);
  free(l);
  return s;
}

/* Does the validation accuracy mean anything in this phase? */
static bool validates(const hg_trainer *t, hg_phase phase) {
  if (phase != HG_PHASE_HEBB) return true;
  hg_net *net = t->net;
  for (int i = net->n - 1; i >= 0; i--)
    if (net->layers[i]->weight) return net->layers[i]->mode == HG_TRAIN_H && i == t->last_hebb;
  return false;
}

typedef struct run_state {
  const hg_dataset *train;
  hg_tensor *x;
  int *labels;
  char last[1024], best[1024], results[1024];
} run_state;

/* Epoch e's batch order depends on (seed, e) alone, so a resumed run sees
 * the same batches as an uninterrupted one. */
/* The part of the parameter slab that a step can change: from the first to
 * the last layer with parameters that learns (B or H); *begin = *end when none. */
static void learning_range(const hg_net *net, size_t *begin, size_t *end) {
  int first = -1, last = -1;
  for (int i = 0; i < net->n; i++) {
    const hg_layer *l = net->layers[i];
    if (!hg_layer_has_params(l) || (l->mode != HG_TRAIN_B && l->mode != HG_TRAIN_H)) continue;
    if (first < 0) first = i;
    last = i;
  }
  *begin = *end = 0;
  if (first >= 0) hg_net_slab_range(net, first, last, begin, end);
}

/* Every parameter a step can change finite after it (one pass over that part
 * of the parameter slab); else an error naming the layer that holds the first
 * that is not. */
static hg_status check_weights(const hg_net *net) {
  size_t begin, end;
  if (!net->param_slab) return HG_OK;
  learning_range(net, &begin, &end);
  hg_tensor *part = end > begin ? hg_tensor_narrow0(net->param_slab, (int)begin, (int)(end - begin)) : NULL;
  size_t bad = part ? hg_tensor_first_nonfinite(part) : 0, n = part ? part->numel : 0;
  hg_tensor_free(part);
  if (bad == n) return HG_OK;
  const float *at = net->param_slab->data + begin + bad;
  for (int i = 0; i < net->n; i++) {
    const hg_layer *l = net->layers[i];
    const hg_tensor *p[2] = {l->weight, l->bias};
    for (int k = 0; k < 2; k++)
      if (p[k] && at >= p[k]->data && at < p[k]->data + p[k]->numel)
        return hg_fail(HG_ERR_NUMERIC, "layer '%s': its %s holds %g after the step", l->name,
                       k ? "bias" : "weight", (double)*at);
  }
  return hg_fail(HG_ERR_NUMERIC, "a parameter holds %g after the step", (double)*at);
}

/* A failure inside an epoch, placed: epoch, step and, for a divergence, what is kept. */
static hg_status at_step(hg_status s, const hg_fit_opts *o, int epoch, int step) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s", hg_last_error());
  if (s != HG_ERR_NUMERIC) return hg_fail(s, "epoch %d, step %d: %s", epoch + 1, step + 1, msg);
  return hg_fail(s, "epoch %d, step %d: training diverged: %s (learning rate too high? net->check_finite, "
                    "--check-finite, names the first layer whose output is not finite)%s%s%s",
                 epoch + 1, step + 1, msg, o->run_dir ? "; " : "", o->run_dir ? o->run_dir : "",
                 o->run_dir ? "/last.safetensors keeps the last finished epoch" : "");
}

static hg_status run_epoch(hg_trainer *t, run_state *r, const hg_fit_opts *o, int epoch,
                           double *loss_out, double *acc_out, long *images) {
  hg_batcher *batcher = hg_batcher_new(r->train, o->batch, true, o->seed * 1000003u + (uint64_t)epoch);
  if (!batcher) return hg_last_status();
  hg_status s = HG_OK;
  int batches = hg_batcher_num_batches(batcher);
  if (o->steps_per_epoch > 0 && o->steps_per_epoch < batches) batches = o->steps_per_epoch;
  char label[64];
  snprintf(label, sizeof label, "%s %d", o->label, epoch + 1);
  hg_progress bar;
  if (o->log) hg_progress_start(&bar, o->log, label, batches);
  double loss = 0;
  long correct = 0, seen = 0;
  for (int b = 0; b < batches && s == HG_OK; b++) {
    int count;
    hg_step_stats st;
    s = hg_batcher_next(batcher, r->x, r->labels, &count);
    if (s == HG_OK && count > 0) s = hg_trainer_step(t, r->x, r->labels, count, o->phase, &st);
    if (s == HG_OK && count > 0) s = check_weights(t->net);
    if (s != HG_OK) s = at_step(s, o, epoch, b);
    if (s != HG_OK || count == 0) break;
    float l = o->phase == HG_PHASE_HEBB ? st.hebb_loss : st.ce_loss;
    loss += l * count;
    correct += st.correct;
    seen += count;
    if (o->log) hg_progress_step(&bar, count, l);
  }
  hg_batcher_free(batcher);
  if (s != HG_OK) return s;
  if (o->log) hg_progress_end(&bar, NULL);
  *loss_out = seen ? loss / seen : 0;
  *acc_out = seen ? (double)correct / seen : 0;
  *images += seen;
  return HG_OK;
}

static void set_lr(hg_trainer *t, const hg_fit_opts *o, int epoch) {
  if (t->opt_b) hg_optim_set_lr(t->opt_b, -1, hg_schedule_lr(&o->schedule, epoch, o->base_lr));
}

/* What an epoch measured; NAN where it measured nothing (a Hebbian phase has
 * no training accuracy and validates only under a Hebbian classifier). */
typedef struct epoch_log {
  double loss, train, val, lr, images_per_s, moved;
} epoch_log;

static void format_value(char *out, size_t size, const char *fmt, double v) {
  if (isnan(v)) out[0] = '\0';
  else snprintf(out, size, fmt, v);
}

static void print_epoch(FILE *log, const hg_fit_opts *o, int epoch, const epoch_log *e) {
  if (o->phase == HG_PHASE_HEBB)
    fprintf(log, "epoch %d: hebbian loss %.4f  %.0f img/s  weights moved %.3g%%", epoch + 1, e->loss,
            e->images_per_s, 100 * e->moved);
  else
    fprintf(log, "epoch %d: loss %.4f  train %.2f%%  lr %.3g", epoch + 1, e->loss, 100 * e->train, e->lr);
  if (!isnan(e->val)) fprintf(log, "  val %.2f%%", 100 * e->val);
  fputc('\n', log);
}

static hg_status log_epoch(const run_state *r, const hg_fit_opts *o, int epoch, const epoch_log *e) {
  if (o->log) print_epoch(o->log, o, epoch, e);
  if (!o->run_dir || o->read_only) return HG_OK;
  const char *cols[] = {"epoch", "loss", "train_top1", "val_top1", "lr"};
  hg_results *res = hg_results_open(r->results, 5, cols);
  if (!res) return hg_last_status();
  char v[5][32];
  snprintf(v[0], 32, "%d", epoch + 1);
  snprintf(v[1], 32, "%.6f", e->loss);
  format_value(v[2], 32, "%.6f", e->train);
  format_value(v[3], 32, "%.6f", e->val);
  format_value(v[4], 32, "%.6g", e->lr);
  const char *values[] = {v[0], v[1], v[2], v[3], v[4]};
  hg_status s = hg_results_row(res, values);
  hg_results_close(res);
  return s;
}

/* Copies of the Hebbian layers' weights (NULL elsewhere), to measure how far
 * an epoch moves them; NULL when out of memory. */
static hg_tensor **hebb_weights(const hg_net *net) {
  hg_tensor **w = calloc((size_t)net->n, sizeof *w);
  for (int i = 0; w && i < net->n; i++) {
    const hg_layer *l = net->layers[i];
    if (l->mode != HG_TRAIN_H || !l->weight || l->weight->ndim < 2) continue;
    if (!(w[i] = hg_tensor_clone(l->weight))) {
      for (int j = 0; j < i; j++) hg_tensor_free(w[j]);
      free(w);
      return NULL;
    }
  }
  return w;
}

/* Mean over the Hebbian layers of ||W - W_before|| / ||W_before||; frees before. */
static double weights_moved(const hg_net *net, hg_tensor **before) {
  double sum = 0;
  int n = 0;
  for (int i = 0; before && i < net->n; i++) {
    if (!before[i]) continue;
    const float *a = net->layers[i]->weight->data, *b = before[i]->data;
    double d2 = 0, b2 = 0;
    for (size_t k = 0; k < before[i]->numel; k++) {
      d2 += ((double)a[k] - b[k]) * ((double)a[k] - b[k]);
      b2 += (double)b[k] * b[k];
    }
    sum += b2 > 0 ? sqrt(d2 / b2) : 0;
    n++;
    hg_tensor_free(before[i]);
  }
  free(before);
  return n ? sum / n : NAN;
}

static hg_status setup(run_state *r, const hg_dataset *train, const hg_fit_opts *o) {
  const int *im = train->shape;
  r->train = train;
  r->x = hg_tensor_empty(HG_SHAPE(o->batch, im[1], im[2], im[3]));
  r->labels = r->x ? calloc((size_t)o->batch, sizeof(int)) : NULL;
  if (!r->labels) return hg_last_status() ? hg_last_status() : hg_fail(HG_ERR_NOMEM, "fit: out of memory");
  if (!o->run_dir) return HG_OK;
  if (!o->read_only && hg_make_dirs(o->run_dir) != HG_OK) return hg_last_status();
  snprintf(r->last, sizeof r->last, "%s/last.safetensors", o->run_dir);
  snprintf(r->best, sizeof r->best, "%s/best.safetensors", o->run_dir);
  snprintf(r->results, sizeof r->results, "%s/epochs", o->run_dir);
  return HG_OK;
}

static void teardown(run_state *r) {
  hg_tensor_free(r->x);
  free(r->labels);
}

hg_status hg_fit(hg_trainer *t, const hg_dataset *train, const hg_dataset *val, const hg_fit_opts *o,
                 hg_fit_result *result) {
  run_state r = {0};
  hg_fit_result res = {0};
  int start = 0;
  hg_clear_error(); /* no earlier failure is taken for one of this run */
  hg_status s = setup(&r, train, o);
  if (s == HG_OK && o->run_dir && o->resume && access(r.last, R_OK) == 0) {
    s = hg_trainer_load(t, r.last, &start, &res.best_val, &res.best_epoch);
    if (s == HG_OK && start > o->epochs)
      s = hg_fail(HG_ERR_ARG, "fit: %s is after epoch %d, more than the %d epochs asked", r.last, start, o->epochs);
    res.epochs_run = start;
    if (s == HG_OK && o->log) fprintf(o->log, "resumed %s after epoch %d\n", r.last, start);
  }
  bool check = val && validates(t, o->phase);
  double t0 = hg_now();
  long images = 0;
  for (int epoch = start; s == HG_OK && epoch < o->epochs; epoch++) {
    double loss = 0, acc = 0, e0 = hg_now();
    long before_images = images;
    hg_eval ev = {0};
    set_lr(t, o, epoch);
    hg_tensor **before = o->phase == HG_PHASE_HEBB ? hebb_weights(t->net) : NULL;
    if (o->phase == HG_PHASE_HEBB && !before) s = hg_fail(HG_ERR_NOMEM, "fit: out of memory");
    if (s == HG_OK) s = run_epoch(t, &r, o, epoch, &loss, &acc, &images);
    double secs = hg_now() - e0, moved = weights_moved(t->net, before);
    if (s == HG_OK && check) s = hg_evaluate(t->net, val, o->batch, &ev);
    if (s != HG_OK) break;
    res.epochs_run = epoch + 1;
    bool better = check && ev.top1 > res.best_val;
    if (better) {
      res.best_val = ev.top1;
      res.best_epoch = epoch + 1;
    }
    bool hebb = o->phase == HG_PHASE_HEBB;
    epoch_log e = {.loss = loss, .train = hebb ? NAN : acc, .val = check ? ev.top1 : NAN,
                   .lr = hebb || !t->opt_b ? NAN : hg_optim_lr(t->opt_b, 0),
                   .images_per_s = secs > 0 ? (images - before_images) / secs : 0, .moved = moved};
    s = log_epoch(&r, o, epoch, &e);
    if (o->log && !hebb && loss > FIT_LOSS_WARNING) /* a chance-level net's cross-entropy is ln(classes) */
      fprintf(o->log, "warning: epoch %d: cross-entropy %g, far above chance level: is the learning rate too high?\n",
              epoch + 1, loss);
    bool writes = o->run_dir && !o->read_only;
    if (s == HG_OK && writes && better) s = hg_trainer_save(t, r.best, epoch + 1, res.best_val, res.best_epoch);
    if (s == HG_OK && writes) s = hg_trainer_save(t, r.last, epoch + 1, res.best_val, res.best_epoch);
    if (check && o->patience > 0 && epoch + 1 - res.best_epoch >= o->patience) {
      if (o->log) fprintf(o->log, "early stop: no better validation for %d epochs\n", o->patience);
      break;
    }
  }
  res.seconds = hg_now() - t0;
  res.images_per_s = res.seconds > 0 ? images / res.seconds : 0;
  if (s == HG_OK) s = hg_batch_sync_barrier(t->sync); /* the best weights are written before any process reads them */
  if (s == HG_OK && o->run_dir && res.best_epoch > 0 && access(r.best, R_OK) == 0)
    s = hg_trainer_load(t, r.best, NULL, NULL, NULL);
  teardown(&r);
  if (result) *result = res;
  if (s == HG_OK) hg_clear_error(); /* a run that succeeded leaves no message behind */
  return s;
}

int hg_fit_fixed_prefix(const hg_net *net) {
  int n = 0;
  while (n < net->n && (net->layers[n]->mode == HG_TRAIN_F || net->layers[n]->mode == HG_TRAIN_R)) n++;
  return n;
}

/* Values per image of layers [0, upto)'s output when it keeps the [N,C,H,W]
 * layout that a data set stores, else 0 (a flattened [N,F] output would reach
 * the next layer as [N,F,1,1]). Checked on one image of ds. */
static size_t feature_size(hg_net *net, int upto, const hg_dataset *ds) {
  float *row = malloc((size_t)ds->shape[1] * ds->shape[2] * ds->shape[3] * sizeof *row);
  hg_tensor *one = row && hg_dataset_get_row(ds, 0, row) == HG_OK
                       ? hg_tensor_from(HG_SHAPE(1, ds->shape[1], ds->shape[2], ds->shape[3]), row)
                       : NULL;
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *y = one ? hg_net_forward_range(net, one, 0, upto, false) : NULL;
  hg_set_grad_enabled(grad);
  size_t size = y && y->ndim == 4 ? y->numel : 0;
  hg_tensor_free(y);
  hg_tensor_free(one);
  free(row);
  hg_net_clear_outputs(net);
  return size;
}

/* The features of ds: in memory, or as float16 in a file when they would take more than HG_FEATURE_MEMORY. */
static hg_dataset *features(hg_net *net, int prefix, const hg_dataset *ds, size_t per_image, const hg_fit_opts *o) {
  bool large = (double)per_image * ds->count * sizeof(float) > HG_FEATURE_MEMORY;
  const char *dir = !large ? NULL : o->run_dir ? o->run_dir : "/tmp";
  if (dir && hg_make_dirs(dir) != HG_OK) return NULL;
  return hg_net_features_to(net, prefix, ds, o->batch, dir, o->log);
}

hg_status hg_fit_skip_fixed(hg_trainer *t, const hg_dataset *train, const hg_dataset *val, const hg_fit_opts *o,
                            hg_fit_result *result) {
  hg_net *net = t->net;
  int prefix = net->first == 0 ? hg_fit_fixed_prefix(net) : 0;
  if (prefix == net->n) prefix = 0; /* nothing would learn */
  size_t per_image = 0;
  while (prefix > 0 && !(per_image = feature_size(net, prefix, train))) prefix--;
  if (prefix == 0) return hg_fit(t, train, val, o, result);
  double t0 = hg_now();
  hg_dataset *ftrain = features(net, prefix, train, per_image, o);
  hg_dataset *fval = ftrain && val ? features(net, prefix, val, per_image, o) : NULL;
  hg_status s = HG_OK;
  if (!ftrain || (val && !fval)) {
    s = hg_last_status();
    hg_dataset_free(ftrain);
    hg_dataset_free(fval);
    return s == HG_ERR_NOMEM ? hg_fit(t, train, val, o, result) : s; /* too large: as hg_fit */
  }
  double feature_seconds = hg_now() - t0;
  net->first = prefix;
  s = hg_fit(t, ftrain, fval, o, result);
  net->first = 0;
  if (result) result->feature_seconds = feature_seconds;
  hg_dataset_free(ftrain);
  hg_dataset_free(fval);
  return s;
}
