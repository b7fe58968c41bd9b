/* plot_run: pictures of a training run made by `train`: the first
 * convolution's kernels (kernels.png) and the accuracy curves (curves.png). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "examples/plot_run_options.h"
#include "io/plot.h"

static const char *const phases[] = {"", "backprop", "hebb", "joint"};
#define N_PHASES 4

typedef struct options {
  char *run_dir, *out_dir; /* copies of the arguments, trailing slashes dropped */
  const char *layer;
  int columns, scale;
} options;

static void phase_path(char *buf, size_t size, const char *run_dir, int phase, const char *file) {
  if (phases[phase][0]) snprintf(buf, size, "%s/%s/%s", run_dir, phases[phase], file);
  else snprintf(buf, size, "%s/%s", run_dir, file);
}

/* Name of the tensor to draw in ck: the first 4-D *.weight, or the --layer one. */
static const char *pick_tensor(const hg_checkpoint *ck, const char *layer, char *buf, size_t size) {
  if (layer) {
    snprintf(buf, size, "%s.weight", layer);
    if (hg_checkpoint_find(ck, buf)) return buf;
    return hg_checkpoint_find(ck, layer) ? layer : NULL;
  }
  for (int i = 0; i < hg_checkpoint_count(ck); i++) {
    const hg_checkpoint_entry *e = hg_checkpoint_entry_at(ck, i);
    size_t n = strlen(e->name);
    if (e->ndim == 4 && n > 7 && !strcmp(e->name + n - 7, ".weight")) return e->name;
  }
  return NULL;
}

/* --scale, else about 48 screen pixels per kernel side (1..16). */
static int kernel_scale(const options *o, const hg_tensor *w) {
  if (o->scale > 0) return o->scale;
  int k = w->shape[2] > w->shape[3] ? w->shape[2] : w->shape[3], s = 48 / (k > 0 ? k : 1);
  return s < 1 ? 1 : s > 16 ? 16 : s;
}

/* Create the output folder if needed; 0 on success. */
static int make_out_dir(const options *o) {
  if (hg_make_dirs(o->out_dir) == HG_OK) return 0;
  fprintf(stderr, "plot_run: %s\n", hg_last_error());
  return 1;
}

/* Tensor `name` of RUN_DIR/init.safetensors when it has t's shape, else NULL. */
static hg_tensor *initial_kernels(const options *o, const char *name, const hg_tensor *t) {
  char file[1024];
  snprintf(file, sizeof file, "%s/init.safetensors", o->run_dir);
  if (access(file, F_OK) != 0) return NULL;
  hg_checkpoint *ck = hg_checkpoint_open(file);
  hg_tensor *init = ck ? hg_checkpoint_tensor(ck, name) : NULL;
  hg_checkpoint_close(ck);
  if (init && init->numel == t->numel && init->ndim == 4) return init;
  fprintf(stderr, "plot_run: %s has no %s of the learned shape; drawing the learned kernels alone\n", file, name);
  hg_tensor_free(init);
  return NULL;
}

/* Draw t (from file, called name) into out, beside its initial weights when
 * the run kept them; 0 on success. */
static int draw_kernels(const options *o, hg_tensor *t, const char *file, const char *name, const char *out) {
  char shape[64], after[300];
  if (t->ndim != 4) {
    fprintf(stderr, "plot_run: %s in %s is %s, not a 4-D convolution weight\n", name, file,
            hg_shape_str(t, shape, sizeof shape));
    return 1;
  }
  if (make_out_dir(o)) return 1;
  hg_tensor *init = initial_kernels(o, name, t);
  snprintf(after, sizeof after, "after training: %s", name);
  const hg_tensor *panels[] = {init, t};
  const char *titles[] = {"before: initial weights", after};
  hg_status s = init ? hg_plot_kernel_panels(out, 2, panels, titles, o->columns, kernel_scale(o, t))
                     : hg_plot_kernels(out, t, o->columns, kernel_scale(o, t));
  bool beside = init != NULL;
  hg_tensor_free(init);
  if (s != HG_OK) {
    fprintf(stderr, "plot_run: %s\n", hg_last_error());
    return 1;
  }
  printf("wrote %s: %s %s from %s%s\n", out, name, hg_shape_str(t, shape, sizeof shape), file,
         beside ? ", beside its initial weights" : "");
  return 0;
}

/* kernels.png from the first checkpoint holding the layer; 0 on success. */
static int plot_kernels(const options *o) {
  char file[1024], out[1024], name_buf[256], looked[2048] = "";
  snprintf(out, sizeof out, "%s/kernels.png", o->out_dir);
  for (int p = 0; p < N_PHASES; p++)
    for (int b = 0; b < 2; b++) {
      phase_path(file, sizeof file, o->run_dir, p, b == 0 ? "best.safetensors" : "last.safetensors");
      if (access(file, F_OK) != 0) continue;
      size_t used = strlen(looked);
      snprintf(looked + used, sizeof looked - used, "%s%s", used ? ", " : "", file);
      hg_checkpoint *ck = hg_checkpoint_open(file);
      if (!ck) {
        fprintf(stderr, "plot_run: %s\n", hg_last_error());
        return 1;
      }
      const char *name = pick_tensor(ck, o->layer, name_buf, sizeof name_buf);
      hg_tensor *t = name ? hg_checkpoint_tensor(ck, name) : NULL;
      int rc = t ? draw_kernels(o, t, file, name, out) : 1;
      if (name && !t) fprintf(stderr, "plot_run: %s\n", hg_last_error());
      hg_tensor_free(t);
      hg_checkpoint_close(ck);
      if (name) return rc;
    }
  if (looked[0] && o->layer)
    fprintf(stderr, "plot_run: no tensor %s.weight or %s in %s\n", o->layer, o->layer, looked);
  else if (looked[0])
    fprintf(stderr, "plot_run: no 4-D *.weight tensor (convolution) in %s\n", looked);
  else
    fprintf(stderr, "plot_run: no best.safetensors or last.safetensors in %s or its backprop/, hebb/, joint/\n",
            o->run_dir);
  return 1;
}

/* The per-epoch values of two columns of an epochs.csv, indexed by epoch - 1. */
typedef struct curve_file {
  float *train, *val;
  int n;
} curve_file;

/* Index of column `name` in the comma-separated header line, or -1. */
static int column(const char *header, const char *name) {
  size_t len = strlen(name);
  const char *p = header;
  for (int i = 0; p; i++) {
    if (!strncmp(p, name, len) && strchr(",\r\n", p[len])) return i; /* also matches p[len] == '\0' */
    p = strchr(p, ',');
    if (p) p++;
  }
  return -1;
}

/* Field i of a CSV line as a number (NAN when missing or not a number). */
static float field(const char *line, int i) {
  const char *p = line;
  for (; i > 0 && p; i--) {
    p = strchr(p, ',');
    if (p) p++;
  }
  char *end;
  float v = p ? strtof(p, &end) : NAN;
  return p && end != p ? v : NAN;
}

/* Store value for epoch e (1-based), growing the arrays; NaN fills gaps. 0 on success. */
static int put(curve_file *c, int e, float train, float val) {
  if (e > c->n) {
    float *t = realloc(c->train, (size_t)e * sizeof *t), *v = t ? realloc(c->val, (size_t)e * sizeof *v) : NULL;
    if (t) c->train = t;
    if (!v) return 1;
    c->val = v;
    for (int i = c->n; i < e; i++) c->train[i] = c->val[i] = NAN;
    c->n = e;
  }
  c->train[e - 1] = 100 * train; /* a resumed run may repeat an epoch: the last row wins */
  c->val[e - 1] = 100 * val;
  return 0;
}

/* Read path into c; 0 on success, 1 with a message on failure. */
static int read_curves(const char *path, curve_file *c) {
  FILE *f = fopen(path, "r");
  char line[1024];
  if (!f || !fgets(line, sizeof line, f)) {
    fprintf(stderr, "plot_run: cannot read %s: %s\n", path, f ? "empty file" : strerror(errno));
    if (f) fclose(f);
    return 1;
  }
  int ce = column(line, "epoch"), ct = column(line, "train_top1"), cv = column(line, "val_top1"), rc = 0;
  if (ce < 0 || ct < 0 || cv < 0) {
    fprintf(stderr, "plot_run: %s has no epoch, train_top1 and val_top1 columns\n", path);
    rc = 1;
  }
  while (!rc && fgets(line, sizeof line, f)) {
    if (!strchr(line, '\n') && !feof(f)) { /* an overlong line: skip it whole */
      int ch;
      while ((ch = fgetc(f)) != EOF && ch != '\n') continue;
      continue;
    }
    float e = field(line, ce); /* rows whose epoch is not in 1..10^6 are skipped */
    if (e >= 1 && e <= 1e6f && put(c, (int)e, field(line, ct), field(line, cv)) != 0) {
      fprintf(stderr, "plot_run: out of memory reading %s\n", path);
      rc = 1;
    }
  }
  fclose(f);
  return rc;
}

static int all_zero(const float *y, int n) {
  for (int i = 0; i < n; i++)
    if (isfinite(y[i]) && y[i] != 0) return 0;
  return 1;
}

/* Add the train and val series of phase p (those not zero throughout). */
static int add_series(const curve_file *c, int p, hg_series *series, char names[][32], int k) {
  const float *ys[2] = {c->train, c->val};
  for (int j = 0; j < 2 && c->n > 0; j++) {
    if (all_zero(ys[j], c->n)) continue;
    snprintf(names[k], 32, "%s%s%s", phases[p], phases[p][0] ? " " : "", j ? "val" : "train");
    series[k] = (hg_series){names[k], ys[j], c->n};
    k++;
  }
  return k;
}

static const char *base_name(const char *path, char *buf, size_t size) {
  snprintf(buf, size, "%s", path);
  size_t n = strlen(buf);
  while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
  char *slash = strrchr(buf, '/');
  return slash && slash[1] ? slash + 1 : buf;
}

/* curves.png from every epochs.csv; 0 on success. */
static int plot_curves(const options *o) {
  curve_file files[N_PHASES] = {{0}};
  hg_series series[2 * N_PHASES];
  char names[2 * N_PHASES][32], path[1024], title[300], base[256];
  int k = 0, found = 0, rc = 0;
  for (int p = 0; p < N_PHASES && !rc; p++) {
    phase_path(path, sizeof path, o->run_dir, p, "epochs.csv");
    if (access(path, F_OK) != 0) continue;
    found++;
    rc = read_curves(path, &files[p]);
    k = rc ? k : add_series(&files[p], p, series, names, k);
  }
  if (!rc && k == 0) {
    fprintf(stderr, "plot_run: %s in %s or its backprop/, hebb/, joint/\n",
            found ? "no epoch with a nonzero accuracy in the epochs.csv files" : "no epochs.csv", o->run_dir);
    rc = 1;
  }
  snprintf(path, sizeof path, "%s/curves.png", o->out_dir);
  snprintf(title, sizeof title, "Top-1 accuracy: %s", base_name(o->run_dir, base, sizeof base));
  if (!rc) rc = make_out_dir(o);
  if (!rc && hg_plot_curves(path, title, "top-1 accuracy (%)", k, series) != HG_OK) {
    fprintf(stderr, "plot_run: %s\n", hg_last_error());
    rc = 1;
  }
  if (!rc) printf("wrote %s: %d curves from %d epochs.csv\n", path, k, found);
  for (int p = 0; p < N_PHASES; p++) free(files[p].train), free(files[p].val);
  return rc;
}

/* Drop trailing slashes in place ("runs/x/" -> "runs/x"; "/" stays). */
static char *trim_slashes(char *path) {
  size_t n = strlen(path);
  while (n > 1 && path[n - 1] == '/') path[--n] = '\0';
  return path;
}

/* Both pictures; the exit status. */
static int plot(options *o) {
  struct stat st;
  trim_slashes(o->run_dir);
  trim_slashes(o->out_dir);
  if (stat(o->run_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "plot_run: %s is not a directory\n", o->run_dir);
    return 1;
  }
  int failed = plot_kernels(o);
  failed |= plot_curves(o);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  plot_run_options p = {0};
  hg_cli_args a; /* plot_run's operand, RUN_DIR, is in a */
  int rc = hg_cli_start(&plot_run_cli, argc, argv, &p, &a, stdout, stderr);
  if (rc >= 0) return rc;
  options o = {.run_dir = strdup(a.operand), .out_dir = strdup(p.c.out ? p.c.out : a.operand), .layer = p.layer,
               .columns = p.columns, .scale = p.scale};
  rc = o.run_dir && o.out_dir ? plot(&o) : (fprintf(stderr, "plot_run: out of memory\n"), 1);
  free(o.run_dir);
  free(o.out_dir);
  return rc;
}
