#include "experiment/experiment.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hebb/fit.h"
#include "data/batcher.h"
#include "io/checkpoint.h"
#include "io/files.h"
#include "io/results.h"

#define MAX_TENSORS 256

/* Names and tensors of layers [0, upto). */
typedef struct net_tensors {
  int n;
  char names[MAX_TENSORS][64];
  hg_tensor *tensors[MAX_TENSORS];
  const char *ptrs[MAX_TENSORS];
} net_tensors;

static hg_status collect(hg_net *net, int upto, net_tensors *l) {
  int total = hg_net_tensors(net, true, l->names, l->tensors, MAX_TENSORS);
  if (total > MAX_TENSORS) return hg_fail(HG_ERR_ARG, "experiment: the net has more than %d tensors", MAX_TENSORS);
  if (upto < 0 || upto > net->n) upto = net->n;
  l->n = 0;
  for (int i = 0; i < total; i++) {
    bool keep = false; /* does tensor i belong to one of layers [0, upto)? */
    for (int j = 0; j < upto && !keep; j++) {
      size_t len = strlen(net->layers[j]->name);
      keep = !strncmp(l->names[i], net->layers[j]->name, len) && l->names[i][len] == '.';
    }
    if (!keep) continue;
    if (l->n != i) {
      memcpy(l->names[l->n], l->names[i], 64);
      l->tensors[l->n] = l->tensors[i];
    }
    l->ptrs[l->n] = l->names[l->n];
    l->n++;
  }
  return HG_OK;
}

hg_status hg_experiment_load_net(hg_net *net, const char *path, int upto) {
  net_tensors *l = malloc(sizeof *l);
  if (!l) return hg_fail(HG_ERR_NOMEM, "experiment: out of memory");
  hg_status s = collect(net, upto, l);
  if (s == HG_OK && access(path, R_OK) != 0) s = hg_fail(HG_ERR_IO, "cannot read checkpoint %s", path);
  if (s == HG_OK) s = hg_checkpoint_load(path, l->n, l->ptrs, l->tensors);
  free(l);
  return s;
}

hg_status hg_experiment_save_net(hg_net *net, const char *path, int n_meta, const char *const *keys,
                                 const char *const *values) {
  net_tensors *l = malloc(sizeof *l);
  if (!l) return hg_fail(HG_ERR_NOMEM, "experiment: out of memory");
  hg_status s = collect(net, -1, l);
  if (s == HG_OK) s = hg_checkpoint_save(path, l->n, l->ptrs, l->tensors, n_meta, keys, values);
  free(l);
  return s;
}

static bool is_batch_norm(const hg_layer *l) { return l->ops->kind == HG_LAYER_BATCH_NORM; }

/* modes[0..lower) = low, the other hidden layers high, then "-classifier". */
static hg_status set_modes_split(hg_net *net, int lower, char low, char high, char classifier) {
  int weighted = 0;
  for (int i = 0; i < net->n; i++) weighted += hg_layer_is_affine(net->layers[i]);
  if (weighted < 1 || weighted > 62) return hg_fail(HG_ERR_ARG, "modes: the net has %d layers with weights", weighted);
  if (lower < 0 || lower > weighted - 1)
    return hg_fail(HG_ERR_ARG, "modes: %d lower layers asked, the net has %d below its classifier", lower, weighted - 1);
  char modes[66];
  memset(modes, low, (size_t)lower);
  memset(modes + lower, high, (size_t)(weighted - 1 - lower));
  modes[weighted - 1] = '-';
  modes[weighted] = classifier;
  modes[weighted + 1] = '\0';
  return hg_net_set_modes(net, modes);
}

hg_status hg_experiment_set_modes(hg_net *net, char layers, char classifier) {
  return set_modes_split(net, 0, layers, layers, classifier);
}

/* A positive factor per channel passes these unchanged but for the factor. */
static bool keeps_channel_scale(const hg_layer *l) {
  hg_layer_kind k = l->ops->kind;
  return k == HG_LAYER_RELU || k == HG_LAYER_MAX_POOL2D || k == HG_LAYER_AVG_POOL2D || k == HG_LAYER_DROPOUT;
}

/* The batch norm that normalises layer i's units, or NULL. */
static hg_layer *norm_above(const hg_net *net, int i) {
  for (int j = i + 1; j < net->n; j++) {
    if (is_batch_norm(net->layers[j])) return net->layers[j];
    if (!keeps_channel_scale(net->layers[j])) return NULL;
  }
  return NULL;
}

hg_status hg_experiment_modified_bn(hg_net *net) {
  hg_status s = HG_OK;
  for (int i = 3; i <= 5 && s == HG_OK; i++) {
    char bn[8];
    snprintf(bn, sizeof bn, "bn%d", i);
    int at = hg_net_find(net, bn);
    s = at < 0 ? hg_fail(HG_ERR_ARG, "the net has no layer %s", bn)
               : hg_layer_batch_norm_keep_variance(net->layers[at], true);
  }
  return s;
}

hg_status hg_experiment_scale_rows(hg_net *net, int upto, float norm) {
  if (upto < 0 || upto > net->n) upto = net->n;
  for (int i = 0; i < upto; i++) {
    hg_layer *l = net->layers[i];
    if (!l->weight || is_batch_norm(l)) continue;
    int rows = l->weight->shape[0];
    float *a = malloc((size_t)rows * sizeof *a);
    if (!a) return hg_fail(HG_ERR_NOMEM, "scale rows of '%s': out of memory", l->name);
    hg_tensor_scale_rows(l->weight, l->bias, norm, a);
    hg_layer *bn = norm_above(net, i); /* unit k scaled by a_k: its mean by a_k, variance by a_k² */
    if (bn && bn->running_mean->numel == (size_t)rows)
      for (int k = 0; k < rows; k++) {
        bn->running_mean->data[k] *= a[k];
        bn->running_var->data[k] *= a[k] * a[k];
      }
    free(a);
  }
  return HG_OK;
}

void hg_experiment_drop_bias(hg_net *net, int upto) {
  if (upto < 0 || upto > net->n) upto = net->n;
  for (int i = 0; i < upto; i++)
    if (!is_batch_norm(net->layers[i])) hg_layer_drop_bias(net->layers[i]);
}

/* What recalibration changes in a layer, to put back afterwards. */
typedef struct bn_saved {
  hg_train_mode mode;
  float momentum;
} bn_saved;

/* Batch norms up to `last` learn their statistics as a cumulative average
 * (momentum 1/(k+1) at batch k), in training mode; no gradients. */
static hg_status average_statistics(hg_net *net, int last, const hg_dataset *ds, int batch,
                                    int limit, uint64_t seed) {
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(batch, ds->shape[1], ds->shape[2], ds->shape[3]));
  hg_batcher *b = x ? hg_batcher_new(ds, batch, true, seed) : NULL;
  hg_status s = b ? HG_OK : hg_last_status();
  for (int i = 0; i <= last; i++)
    if (is_batch_norm(net->layers[i])) net->layers[i]->mode = HG_TRAIN_B; /* mode only, no grads */
  bool grad = hg_set_grad_enabled(false);
  for (int k = 0, seen = 0; s == HG_OK && seen + batch <= limit; k++, seen += batch) {
    int count;
    s = hg_batcher_next(b, x, NULL, &count);
    if (s != HG_OK || count < batch) break;
    for (int i = 0; i <= last; i++)
      if (is_batch_norm(net->layers[i])) net->layers[i]->cfg.norm.momentum = 1.0f / (float)(k + 1);
    hg_tensor *y = hg_net_forward_range(net, x, 0, last + 1, true);
    if (!y) s = hg_last_status();
    hg_tensor_free(y);
    hg_net_clear_outputs(net);
  }
  hg_set_grad_enabled(grad);
  hg_batcher_free(b);
  hg_tensor_free(x);
  return s;
}

hg_status hg_experiment_recalibrate_bn(hg_net *net, const hg_dataset *ds, int upto, int batch,
                                       int max_images, uint64_t seed) {
  if (upto < 0 || upto > net->n) upto = net->n;
  int last = -1; /* the last batch-norm layer below upto */
  for (int i = 0; i < upto; i++)
    if (is_batch_norm(net->layers[i]) && net->layers[i]->running_mean) last = i;
  if (last < 0) return HG_OK;
  if (batch < 2 || batch > ds->count)
    return hg_fail(HG_ERR_ARG, "recalibrate_bn: batch %d needs 2..%d images", batch, ds->count);
  bn_saved *saved = malloc((size_t)(last + 1) * sizeof *saved);
  if (!saved) return hg_fail(HG_ERR_NOMEM, "recalibrate_bn: out of memory");
  for (int i = 0; i <= last; i++) saved[i] = (bn_saved){net->layers[i]->mode, net->layers[i]->cfg.norm.momentum};
  int limit = max_images > 0 && max_images < ds->count ? max_images : ds->count;
  hg_status s = average_statistics(net, last, ds, batch, limit, seed);
  for (int i = 0; i <= last; i++) {
    net->layers[i]->mode = saved[i].mode;
    net->layers[i]->cfg.norm.momentum = saved[i].momentum;
  }
  free(saved);
  return s;
}

hg_pretrain_opts hg_pretrain_defaults(const char *hebb) {
  return (hg_pretrain_opts){.hebb = hebb, .epochs = 1, .batch = 64, .lr = 1e-3f, .seed = 1,
                            .bn_images = 10000};
}

/* Does the cache exist with this setting? An error when it has another. */
static hg_status cache_matches(const hg_pretrain_opts *o, bool *hit) {
  *hit = false;
  if (!o->cache || access(o->cache, R_OK) != 0) return HG_OK;
  char stored[1024];
  hg_status s = hg_checkpoint_read_meta(o->cache, "setting", stored, sizeof stored);
  if (s != HG_OK) return s;
  if (o->setting && strcmp(stored, o->setting))
    return hg_fail(HG_ERR_ARG,
                   "pre-trained net %s was made with '%s', not '%s': delete it or use another output folder",
                   o->cache, stored, o->setting);
  *hit = true;
  return HG_OK;
}

/* Data-parallel: do all processes see the cache (or none)? Also a barrier:
 * each has looked before rank 0 writes it. */
static hg_status cache_agreed(const hg_pretrain_opts *o, bool hit) {
  if (!o->sync || o->sync->size < 2) return HG_OK;
  double seen = hit;
  hg_status s = o->sync->sum_double(&seen, 1, o->sync->ctx);
  if (s == HG_OK && seen != 0 && seen != o->sync->size)
    s = hg_fail(HG_ERR_IO, "pre-trained net %s: %g of the %d processes see it (is its folder on a file system "
                "they all share?)", o->cache, seen, o->sync->size);
  return s;
}

hg_status hg_experiment_pretrain(hg_net *net, const hg_dataset *train, const hg_pretrain_opts *o,
                                 bool *cached) {
  bool hit, lead = !o->sync || o->sync->rank == 0; /* writes the files */
  hg_status s = cache_matches(o, &hit);
  if (s == HG_OK) s = cache_agreed(o, hit);
  if (cached) *cached = hit;
  if (s == HG_OK) s = o->layers > 0 ? set_modes_split(net, o->layers, 'H', 'F', 'F') : hg_experiment_set_modes(net, 'H', 'F');
  if (s != HG_OK) return s;
  if (hit) return hg_experiment_load_net(net, o->cache, -1);
  hg_plasticity rules[HG_MAX_RULES];
  int n_rules = hg_plasticity_parse_list(o->hebb, rules, HG_MAX_RULES);
  s = n_rules > 0 ? HG_OK : hg_last_status();
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0, 0, 0, false), .hebb_lr = o->lr, .sync = o->sync};
  hg_trainer *t = s == HG_OK ? hg_trainer_new_rules(net, rules, n_rules, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  if (s == HG_OK && o->run_dir && lead) s = hg_make_dirs(o->run_dir);
  hg_fit_opts f = hg_fit_defaults();
  f.epochs = o->epochs;
  f.batch = o->batch;
  f.phase = HG_PHASE_HEBB;
  f.run_dir = o->run_dir;
  f.resume = o->run_dir != NULL;
  f.read_only = !lead;
  f.seed = o->seed;
  f.label = "hebbian";
  f.log = o->log;
  if (s == HG_OK && o->epochs > 0) s = hg_fit(t, train, NULL, &f, NULL);
  hg_trainer_free(t);
  if (s == HG_OK) s = hg_experiment_recalibrate_bn(net, train, -1, o->batch, o->bn_images, o->seed);
  if (s == HG_OK && o->cache && lead) {
    const char *keys[] = {"setting", "format"};
    const char *values[] = {o->setting ? o->setting : "", "hebbgrad-net-1"};
    s = hg_experiment_save_net(net, o->cache, 2, keys, values);
  }
  if (s == HG_OK && o->run_dir && lead) { /* the resume point is no longer needed */
    char last[1100];
    snprintf(last, sizeof last, "%s/last.safetensors", o->run_dir);
    unlink(last);
  }
  return s;
}

int hg_experiment_balanced_indices(const int *labels, int n, int classes, int total, uint64_t seed,
                                   int *out) {
  if (n < 0 || classes < 1 || total < 0) {
    hg_fail(HG_ERR_ARG, "balanced subset: n %d, classes %d, total %d", n, classes, total);
    return -1;
  }
  for (int i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= classes) {
      hg_fail(HG_ERR_ARG, "balanced subset: label %d of image %d is not in [0, %d)", labels[i], i, classes);
      return -1;
    }
  int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
  int *quota = calloc((size_t)classes, sizeof *quota);
  int *extra = malloc((size_t)classes * sizeof *extra);
  char *chosen = calloc((size_t)(n ? n : 1), 1);
  int count = -1;
  if (!order || !quota || !extra || !chosen) {
    hg_fail(HG_ERR_NOMEM, "balanced subset: out of memory");
    goto done;
  }
  hg_rng rng;
  hg_rng_seed(&rng, seed, 7);
  for (int c = 0; c < classes; c++) {
    quota[c] = total / classes;
    extra[c] = c;
  }
  hg_rng_shuffle(&rng, extra, classes); /* which classes get one more */
  for (int c = 0; c < total % classes; c++) quota[extra[c]]++;
  for (int i = 0; i < n; i++) order[i] = i;
  hg_rng_shuffle(&rng, order, n);
  for (int i = 0; i < n; i++) /* the first images of each class in the seeded order */
    if (quota[labels[order[i]]] > 0) {
      quota[labels[order[i]]]--;
      chosen[order[i]] = 1;
    }
  count = 0;
  for (int i = 0; i < n; i++)
    if (chosen[i]) out[count++] = i;
done:
  free(order);
  free(quota);
  free(extra);
  free(chosen);
  return count;
}

hg_dataset *hg_experiment_label_subset(const hg_dataset *ds, double percent, uint64_t seed) {
  if (!(percent > 0 && percent <= 100)) {
    hg_fail(HG_ERR_ARG, "label subset: %g%% is not in (0, 100]", percent);
    return NULL;
  }
  int total = (int)(ds->count * percent / 100.0 + 0.5);
  if (total < ds->num_classes) total = ds->num_classes < ds->count ? ds->num_classes : ds->count;
  int *idx = malloc((size_t)(total ? total : 1) * sizeof *idx);
  if (!idx) {
    hg_fail(HG_ERR_NOMEM, "label subset: out of memory");
    return NULL;
  }
  int n = percent >= 100 ? ds->count : hg_experiment_balanced_indices(ds->labels, ds->count, ds->num_classes, total, seed, idx);
  if (percent >= 100)
    for (int i = 0; i < n; i++) idx[i] = i;
  hg_dataset *sub = n >= 0 ? hg_dataset_subset(ds, idx, n) : NULL;
  free(idx);
  if (sub) snprintf(sub->name, sizeof sub->name, "%.40s-%g%%", ds->name, percent);
  return sub;
}

/* Split one CSV line (as io/results.h writes it: a field with a comma is
 * quoted, "" inside quotes is a quote) in place; returns the field count. */
static int split_csv(char *line, char **fields, int max) {
  int n = 0;
  char *p = line;
  line[strcspn(line, "\r\n")] = '\0';
  while (n < max) {
    char *w = p;
    fields[n++] = p;
    if (*p == '"') {
      char *r = p + 1;
      for (; *r; r++) {
        if (*r == '"' && r[1] == '"') *w++ = '"', r++;
        else if (*r == '"') { r++; break; }
        else *w++ = *r;
      }
      p = r;
    } else {
      while (*p && *p != ',') *w++ = *p++;
    }
    char next = *p;
    *w = '\0';
    if (next != ',') break;
    p++;
  }
  return n;
}

enum { MAX_FIELDS = 64 };

bool hg_experiment_find_result(const char *csv_path, int nkeys, const char *const *key_cols,
                               const char *const *key_vals, const char *column, char *out,
                               size_t size) {
  FILE *f = fopen(csv_path, "r");
  if (!f) return false;
  char *line = malloc(8192), *fields[MAX_FIELDS];
  int key_at[MAX_FIELDS], col_at = -1, nf;
  bool found = false, ok = line && nkeys <= MAX_FIELDS && fgets(line, 8192, f);
  if (ok) {
    nf = split_csv(line, fields, MAX_FIELDS);
    for (int k = 0; k < nkeys; k++) {
      key_at[k] = -1;
      for (int i = 0; i < nf; i++)
        if (!strcmp(fields[i], key_cols[k])) key_at[k] = i;
      ok &= key_at[k] >= 0;
    }
    for (int i = 0; i < nf; i++)
      if (!strcmp(fields[i], column)) col_at = i;
    ok &= col_at >= 0;
  }
  while (ok && fgets(line, 8192, f)) {
    nf = split_csv(line, fields, MAX_FIELDS);
    bool match = col_at < nf;
    for (int k = 0; k < nkeys && match; k++) match = key_at[k] < nf && !strcmp(fields[key_at[k]], key_vals[k]);
    if (match && size > 0) {
      snprintf(out, size, "%s", fields[col_at]);
      found = true;
    }
  }
  free(line);
  fclose(f);
  return found;
}

hg_table *hg_table_new(int rows, int cols) {
  if (rows < 0 || cols < 1) {
    hg_fail(HG_ERR_ARG, "table: %d rows, %d columns", rows, cols);
    return NULL;
  }
  hg_table *t = calloc(1, sizeof *t);
  char **cells = t ? calloc((size_t)(rows + 1) * (size_t)cols, sizeof *cells) : NULL;
  if (!cells) {
    free(t);
    hg_fail(HG_ERR_NOMEM, "table: out of memory");
    return NULL;
  }
  t->rows = rows;
  t->cols = cols;
  t->cells = cells;
  return t;
}

void hg_table_free(hg_table *t) {
  if (!t) return;
  for (int i = 0; i < (t->rows + 1) * t->cols; i++) free(t->cells[i]);
  free(t->cells);
  free(t);
}

static const char *cell(const hg_table *t, int row, int col) {
  const char *c = t->cells[(row + 1) * t->cols + col];
  return c ? c : "";
}

hg_status hg_table_set(hg_table *t, int row, int col, const char *fmt, ...) {
  if (row < -1 || row >= t->rows || col < 0 || col >= t->cols)
    return hg_fail(HG_ERR_ARG, "table: no cell (%d, %d) in %d x %d", row, col, t->rows, t->cols);
  va_list ap;
  va_start(ap, fmt);
  int len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *text = len >= 0 ? malloc((size_t)len + 1) : NULL;
  if (!text) return hg_fail(HG_ERR_NOMEM, "table: out of memory");
  va_start(ap, fmt);
  vsnprintf(text, (size_t)len + 1, fmt, ap);
  va_end(ap);
  char **slot = &t->cells[(row + 1) * t->cols + col];
  free(*slot);
  *slot = text;
  return HG_OK;
}

hg_status hg_table_write_csv(const hg_table *t, FILE *f) {
  for (int r = -1; r < t->rows; r++)
    for (int c = 0; c < t->cols; c++) {
      if (c) fputc(',', f);
      hg_csv_field(f, cell(t, r, c));
      if (c == t->cols - 1) fputc('\n', f);
    }
  return ferror(f) ? hg_fail(HG_ERR_IO, "table: write failed") : HG_OK;
}

/* Width on screen: UTF-8 code points, '|' counted twice (escaped). */
static int text_width(const char *s) {
  int w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80 ? 1 + (*s == '|') : 0;
  return w;
}

static void md_cell(FILE *f, const char *v, int width) {
  fputs("| ", f);
  for (const char *p = v; *p; p++) {
    if (*p == '|') fputc('\\', f);
    fputc(*p == '\n' ? ' ' : *p, f);
  }
  for (int k = text_width(v); k < width; k++) fputc(' ', f);
  fputc(' ', f);
}

hg_status hg_table_write_markdown(const hg_table *t, FILE *f) {
  int *width = calloc((size_t)t->cols, sizeof *width);
  if (!width) return hg_fail(HG_ERR_NOMEM, "table: out of memory");
  for (int c = 0; c < t->cols; c++) {
    width[c] = 3;
    for (int r = -1; r < t->rows; r++) {
      int w = text_width(cell(t, r, c));
      if (w > width[c]) width[c] = w;
    }
  }
  for (int r = -1; r < t->rows; r++) {
    for (int c = 0; c < t->cols; c++) md_cell(f, cell(t, r, c), width[c]);
    fputs("|\n", f);
    if (r == -1) {
      for (int c = 0; c < t->cols; c++) {
        fputs("|", f);
        for (int k = 0; k < width[c] + 2; k++) fputc('-', f);
      }
      fputs("|\n", f);
    }
  }
  free(width);
  return ferror(f) ? hg_fail(HG_ERR_IO, "table: write failed") : HG_OK;
}

hg_status hg_table_save(const hg_table *t, const char *prefix, const char *title) {
  static const char *const ext[2] = {"csv", "md"};
  hg_status s = HG_OK;
  for (int k = 0; k < 2 && s == HG_OK; k++) {
    char path[1100];
    snprintf(path, sizeof path, "%s.%s", prefix, ext[k]);
    FILE *f = fopen(path, "w");
    if (!f) return hg_fail(HG_ERR_IO, "table: cannot write %s: %s", path, strerror(errno));
    if (k == 1 && title) fprintf(f, "%s\n\n", title);
    s = k == 0 ? hg_table_write_csv(t, f) : hg_table_write_markdown(t, f);
    if (fclose(f) != 0 && s == HG_OK) s = hg_fail(HG_ERR_IO, "table: cannot write %s", path);
  }
  return s;
}

hg_status hg_experiment_fit_evaluate(hg_trainer *t, const hg_data *d, const hg_fit_opts *o,
                                     hg_experiment_outcome *out) {
  hg_experiment_outcome r = {0};
  bool writes = o->run_dir && !o->read_only;
  hg_status s = writes ? hg_make_dirs(o->run_dir) : HG_OK;
  if (s == HG_OK) s = hg_fit_skip_fixed(t, d->train, d->val, o, &r.fit);
  if (s == HG_OK && d->val) s = hg_evaluate(t->net, d->val, o->batch, &r.val);
  if (s == HG_OK) s = hg_evaluate(t->net, d->test, o->batch, &r.test);
  if (s == HG_OK) s = hg_batch_sync_barrier(t->sync); /* every process has loaded best.safetensors */
  if (s == HG_OK && writes) {
    static const char *const files[2] = {"last.safetensors", "best.safetensors"};
    for (int k = 0; k < 2; k++) {
      char path[1100];
      snprintf(path, sizeof path, "%s/%s", o->run_dir, files[k]);
      unlink(path);
    }
  }
  if (out) *out = r;
  return s;
}
