/* Hybrid sweeps: statistics, the cells file, configurations, settings.
 * The tables are in experiment/sweep_table.c. */
#include "experiment/sweep.h"
#include "io/files.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- statistics ---- */

/* t_{0.975, df} for df = 1..30. */
static const double t975[30] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060,
                                2.2622,  2.2281, 2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199,
                                2.1098,  2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687, 2.0639,
                                2.0595,  2.0555, 2.0518, 2.0484, 2.0452, 2.0423};

double hg_t_quantile95(int df) {
  if (df < 1) return NAN;
  if (df <= 30) return t975[df - 1];
  /* Cornish–Fisher expansion around the normal quantile z (error < 1e-4 for df > 30) */
  const double z = 1.959963984540054, v = df;
  double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
}

hg_stats hg_mean_ci95(const double *x, int n) {
  hg_stats s = {.n = n, .mean = NAN, .ci95 = NAN};
  if (n < 1) return s;
  double sum = 0;
  for (int i = 0; i < n; i++) sum += x[i];
  s.mean = sum / n;
  if (n < 2) return s;
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (x[i] - s.mean) * (x[i] - s.mean);
  s.ci95 = hg_t_quantile95(n - 1) * sqrt(ss / (n - 1)) / sqrt((double)n);
  return s;
}

/* ---- cells ---- */

const hg_sweep_cell *hg_sweep_cells_find(const hg_sweep_cells *cells, const char *config,
                                         const char *method, int seed) {
  for (int i = 0; i < cells->n; i++) {
    const hg_sweep_cell *c = &cells->items[i];
    if (c->seed == seed && !strcmp(c->config, config) && !strcmp(c->method, method)) return c;
  }
  return NULL;
}

hg_status hg_sweep_cells_put(hg_sweep_cells *cells, const hg_sweep_cell *cell) {
  hg_sweep_cell *old = (hg_sweep_cell *)hg_sweep_cells_find(cells, cell->config, cell->method, cell->seed);
  if (old) {
    *old = *cell;
    return HG_OK;
  }
  if (cells->n == cells->capacity) {
    int cap = cells->capacity ? 2 * cells->capacity : 64;
    hg_sweep_cell *items = realloc(cells->items, (size_t)cap * sizeof *items);
    if (!items) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
    cells->items = items;
    cells->capacity = cap;
  }
  cells->items[cells->n++] = *cell;
  return HG_OK;
}

void hg_sweep_cells_free(hg_sweep_cells *cells) {
  free(cells->items);
  *cells = (hg_sweep_cells){0};
}

static double number_or_nan(json_object *obj, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v)) return NAN;
  json_type t = json_object_get_type(v);
  return t == json_type_double || t == json_type_int ? json_object_get_double(v) : NAN;
}

static bool copy_string(json_object *obj, const char *key, char *dst, size_t size) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) return false;
  const char *s = json_object_get_string(v);
  if (strlen(s) >= size || !*s) return false;
  memcpy(dst, s, strlen(s) + 1);
  return true;
}

/* The JSON value of line, parsed by tok (reused over the lines of a file:
 * a tokener per line made long files slow); NULL when it is not one. */
static json_object *parse_line(json_tokener *tok, const char *line) {
  json_tokener_reset(tok);
  json_object *obj = json_tokener_parse_ex(tok, line, -1);
  if (obj && json_tokener_get_error(tok) != json_tokener_success) {
    json_object_put(obj);
    obj = NULL;
  }
  return obj;
}

/* One line as a cell; false when it is not one. */
static bool parse_cell(json_tokener *tok, const char *line, hg_sweep_cell *c) {
  json_object *obj = parse_line(tok, line), *seed;
  bool ok = obj && json_object_is_type(obj, json_type_object) && copy_string(obj, "config", c->config, sizeof c->config) &&
            copy_string(obj, "method", c->method, sizeof c->method) &&
            json_object_object_get_ex(obj, "seed", &seed) && json_object_is_type(seed, json_type_int);
  if (ok) {
    c->seed = json_object_get_int(seed);
    c->test_top1 = number_or_nan(obj, "test_top1");
    c->test_top5 = number_or_nan(obj, "test_top5");
    c->val_top1 = number_or_nan(obj, "val_top1");
    c->seconds = number_or_nan(obj, "seconds");
    ok = !isnan(c->test_top1);
  }
  json_object_put(obj);
  return ok;
}

hg_status hg_sweep_cells_read(const char *path, hg_sweep_cells *cells) {
  FILE *f = fopen(path, "r");
  if (!f) return errno == ENOENT ? HG_OK : hg_fail(HG_ERR_IO, "sweep: cannot read %s", path);
  char *line = NULL;
  size_t cap = 0;
  json_tokener *tok = json_tokener_new();
  hg_status s = tok ? HG_OK : hg_fail(HG_ERR_NOMEM, "sweep: out of memory reading %s", path);
  while (s == HG_OK && getline(&line, &cap, f) > 0) {
    hg_sweep_cell c = {0};
    if (parse_cell(tok, line, &c)) s = hg_sweep_cells_put(cells, &c);
  }
  if (tok) json_tokener_free(tok);
  free(line);
  fclose(f);
  return s;
}

/* Cut a last line that has no newline (written when a kill came mid-write). */
static hg_status drop_torn_line(int fd, const char *path) {
  off_t size = lseek(fd, 0, SEEK_END), end = size;
  char buf[4096];
  while (end > 0) {
    off_t from = end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0;
    ssize_t got = pread(fd, buf, (size_t)(end - from), from);
    if (got != end - from) return hg_fail(HG_ERR_IO, "sweep: cannot read %s", path);
    for (ssize_t i = got - 1; i >= 0; i--)
      if (buf[i] == '\n') {
        off_t keep = from + i + 1;
        if (keep < size && ftruncate(fd, keep) != 0) return hg_fail(HG_ERR_IO, "sweep: cannot truncate %s", path);
        return HG_OK;
      }
    end = from;
  }
  if (size > 0 && ftruncate(fd, 0) != 0) return hg_fail(HG_ERR_IO, "sweep: cannot truncate %s", path);
  return HG_OK;
}

/* A JSON number that reads back to exactly v; null for NaN. */
static json_object *exact_number(double v) {
  if (!isfinite(v)) return NULL;
  char text[40];
  snprintf(text, sizeof text, "%.17g", v);
  return json_object_new_double_s(v, text);
}

hg_status hg_sweep_cell_append(const char *path, const hg_sweep_cell *c) {
  json_object *obj = json_object_new_object();
  if (!obj) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  json_object_object_add(obj, "config", json_object_new_string(c->config));
  json_object_object_add(obj, "method", json_object_new_string(c->method));
  json_object_object_add(obj, "seed", json_object_new_int(c->seed));
  json_object_object_add(obj, "test_top1", exact_number(c->test_top1));
  json_object_object_add(obj, "test_top5", exact_number(c->test_top5));
  json_object_object_add(obj, "val_top1", exact_number(c->val_top1));
  json_object_object_add(obj, "seconds", exact_number(c->seconds));
  const char *text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
  size_t len = strlen(text);
  char *line = malloc(len + 2);
  hg_status s = line ? HG_OK : hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  if (line) {
    memcpy(line, text, len);
    line[len++] = '\n';
  }
  json_object_put(obj);
  int fd = s == HG_OK ? open(path, O_RDWR | O_CREAT, 0644) : -1;
  if (s == HG_OK && fd < 0) s = hg_fail(HG_ERR_IO, "sweep: cannot open %s: %s", path, strerror(errno));
  /* the processes of a job append to one file: one at a time (the lock goes with close) */
  if (s == HG_OK && flock(fd, LOCK_EX) != 0) s = hg_fail(HG_ERR_IO, "sweep: cannot lock %s: %s", path, strerror(errno));
  if (s == HG_OK) s = drop_torn_line(fd, path);
  for (size_t done = 0; s == HG_OK && done < len;) {
    ssize_t w = pwrite(fd, line + done, len - done, lseek(fd, 0, SEEK_END));
    if (w <= 0) s = hg_fail(HG_ERR_IO, "sweep: cannot write %s: %s", path, strerror(errno));
    else done += (size_t)w;
  }
  if (s == HG_OK && fsync(fd) != 0) s = hg_fail(HG_ERR_IO, "sweep: cannot sync %s", path);
  if (fd >= 0) close(fd);
  free(line);
  return s;
}

/* The counter of the open, locked file fd, read and incremented; −1 on failure. */
static int claim_locked(int fd, const char *path) {
  char text[32] = "";
  int next = 0;
  if (pread(fd, text, sizeof text - 1, 0) < 0) {
    hg_fail(HG_ERR_IO, "sweep: cannot read %s", path);
    return -1;
  }
  if (text[0] && (sscanf(text, "%d", &next) != 1 || next < 0)) {
    hg_fail(HG_ERR_IO, "sweep: %s does not hold a task number", path);
    return -1;
  }
  int len = snprintf(text, sizeof text, "%d\n", next + 1);
  if (pwrite(fd, text, (size_t)len, 0) != len) {
    hg_fail(HG_ERR_IO, "sweep: cannot write %s", path);
    return -1;
  }
  return next;
}

int hg_sweep_claim(const char *path) {
  int fd = open(path, O_RDWR | O_CREAT, 0644), next = -1;
  if (fd < 0) hg_fail(HG_ERR_IO, "sweep: cannot open %s: %s", path, strerror(errno));
  else if (flock(fd, LOCK_EX) != 0) hg_fail(HG_ERR_IO, "sweep: cannot lock %s: %s", path, strerror(errno));
  else next = claim_locked(fd, path);
  if (fd >= 0) close(fd); /* the lock goes with it */
  return next;
}

/* ---- configurations and methods ---- */

static const char *const seed002_rows[] = {
    "BBBBB-G", "HBBBB-G", "BHBBB-G", "BBHBB-G", "BBBHB-G", "BBBBH-G", "HHBBB-G", "BHHBB-G",
    "BBHHB-G", "BBBHH-G", "HHHBB-G", "BHHHB-G", "BBHHH-G", "HHHHB-G", "BHHHH-G", "HHHHH-G"};

static const char *const seed003_rows[] = {
    "BBBBB-G", "HHHHH-H",                                  /* 1: full SGD, full Hebbian */
    "HBBBB-G", "HHBBB-G", "HHHBB-G", "HHHHB-G", "HHHHH-G", /* 2: 1..5 bottom layers Hebbian */
    "RBBBB-G", "RRBBB-G", "RRRBB-G", "RRRRB-G", "RRRRR-G", /* 3: 1..5 bottom layers random */
    "BBBBB-H", "BBBBH-H", "BBBHH-H", "BBHHH-H", "BHHHH-H", /* 4: 1..5 top layers Hebbian */
    "BHBBB-G", "BBHBB-G", "BBBHB-G", "BBBBH-G",            /* 5: one inner layer Hebbian */
    "BHHBB-G", "BBHHB-G", "BBBHH-G",                       /* 6: two */
    "BHHHB-G", "BBHHH-G",                                  /* 7: three */
    "BHHHH-G"};                                            /* 8: four */

#define COUNT(a) ((int)(sizeof(a) / sizeof(a)[0]))

void hg_sweep_baseline(int layers, char *out, size_t size) {
  int body = layers - 1;
  if (body < 0 || (size_t)body + 3 > size) {
    if (size) out[0] = '\0';
    return;
  }
  memset(out, 'B', (size_t)body);
  memcpy(out + body, "-G", 3);
}

/* Normalise one configuration into out[32]. */
static hg_status normalise(const char *text, size_t len, int layers, char *out) {
  while (len && isspace((unsigned char)*text)) text++, len--;
  while (len && isspace((unsigned char)text[len - 1])) len--;
  const char *dash = memchr(text, '-', len);
  int body = dash ? (int)(dash - text) : -1;
  if (!dash || body != layers - 1 || len != (size_t)body + 2)
    return hg_fail(HG_ERR_ARG,
                   "configuration '%.*s': expected %d letters for the layers (B H R F), '-' and the "
                   "classifier's letter (G or H)",
                   (int)len, text, layers - 1);
  for (int i = 0; i < body; i++) {
    char c = (char)toupper((unsigned char)text[i]);
    if (c == 'G') c = 'B';
    if (!strchr("BHRF", c))
      return hg_fail(HG_ERR_ARG, "configuration '%.*s': layer letter '%c' is not B, H, R or F", (int)len, text, text[i]);
    out[i] = c;
  }
  char c = (char)toupper((unsigned char)text[len - 1]);
  if (c == 'B') c = 'G';
  if (!strchr("GHRF", c))
    return hg_fail(HG_ERR_ARG, "configuration '%.*s': classifier letter '%c' is not G or H", (int)len, text, text[len - 1]);
  out[body] = '-';
  out[body + 1] = c;
  out[body + 2] = '\0';
  return HG_OK;
}

static hg_status add_config(const char *text, size_t len, int layers, char (*out)[32], int max, int *n) {
  char c[32];
  hg_status s = normalise(text, len, layers, c);
  if (s != HG_OK) return s;
  for (int i = 0; i < *n; i++)
    if (!strcmp(out[i], c)) return HG_OK;
  if (*n == max) return hg_fail(HG_ERR_ARG, "configurations: more than %d", max);
  memcpy(out[(*n)++], c, sizeof c);
  return HG_OK;
}

static hg_status add_shorthand(const char *name, int layers, char (*out)[32], int max, int *n) {
  const char *const *rows = NULL;
  int count = 0;
  if (!strcmp(name, "seed002")) rows = seed002_rows, count = COUNT(seed002_rows);
  if (!strcmp(name, "seed003")) rows = seed003_rows, count = COUNT(seed003_rows);
  if (rows && layers != 6)
    return hg_fail(HG_ERR_ARG, "configurations '%s' are for the seeds' network (6 layers with weights), "
                   "this net has %d", name, layers);
  hg_status s = HG_OK;
  for (int i = 0; i < count && s == HG_OK; i++) s = add_config(rows[i], strlen(rows[i]), layers, out, max, n);
  if (rows) return s;
  /* single: the baseline, each hidden layer alone Hebbian, all of them Hebbian */
  char c[32];
  hg_sweep_baseline(layers, c, sizeof c);
  s = add_config(c, strlen(c), layers, out, max, n);
  for (int i = 0; i < layers - 1 && s == HG_OK; i++) {
    hg_sweep_baseline(layers, c, sizeof c);
    c[i] = 'H';
    s = add_config(c, strlen(c), layers, out, max, n);
  }
  memset(c, 'H', (size_t)layers - 1);
  return s == HG_OK ? add_config(c, strlen(c), layers, out, max, n) : s;
}

int hg_sweep_configs(const char *list, int layers, char (*out)[32], int max) {
  if (layers < 1 || layers > 30) return hg_fail(HG_ERR_ARG, "configurations: %d layers with weights", layers), -1;
  int n = 0;
  hg_status s = HG_OK;
  for (const char *p = list; s == HG_OK && *p;) {
    size_t len = strcspn(p, ",");
    char word[32] = "";
    if (len < sizeof word) memcpy(word, p, len), word[len] = '\0';
    if (!strcmp(word, "seed002") || !strcmp(word, "seed003") || !strcmp(word, "single"))
      s = add_shorthand(word, layers, out, max, &n);
    else if (len > 0)
      s = add_config(p, len, layers, out, max, &n);
    p += len + (p[len] == ',');
  }
  if (s == HG_OK && n == 0) s = hg_fail(HG_ERR_ARG, "configurations: none in '%s'", list);
  return s == HG_OK ? n : -1;
}

hg_status hg_sweep_hybrid_modes(const char *config, char *modes, size_t size) {
  size_t len = strlen(config);
  const char *dash = strchr(config, '-');
  if (!dash || len + 1 > size) return hg_fail(HG_ERR_ARG, "configuration '%s': no '-' before the classifier", config);
  memcpy(modes, config, len + 1);
  size_t split = strcspn(config, "HR");
  if (split == len) return HG_OK; /* no H, no R: as written */
  for (size_t i = 0; i < split && config + i < dash; i++)
    if (modes[i] == 'B') modes[i] = 'F';
  return HG_OK;
}

bool hg_sweep_uses_method(const char *config) {
  size_t layers = strcspn(config, "-"); /* the classifier's H is the teacher rule, whatever the method */
  return memchr(config, 'H', layers) != NULL;
}

const char *hg_sweep_method_spec(const char *name) {
  static const char *const map[][2] = {{"wta", "instar/wta/mean"},
                                       {"5-wta", "instar/5-wta/mean"},
                                       {"e-soft-wta", "instar/e-soft-wta:0.02/mean"},
                                       {"p-soft-wta", "instar/p-soft-wta:0.05/mean"},
                                       {"hpca", "hpca/none/relu/avg"}};
  for (int i = 0; i < COUNT(map); i++)
    if (!strcmp(name, map[i][0])) return map[i][1];
  return name;
}

/* ---- settings ---- */

hg_status hg_sweep_settings_check(const char *path, int n, const char *const *keys,
                                  const char *const *values) {
  if (access(path, F_OK) != 0) {
    json_object *obj = json_object_new_object();
    if (!obj) return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
    for (int i = 0; i < n; i++) json_object_object_add(obj, keys[i], json_object_new_string(values[i]));
    hg_atomic_file a;
    hg_status s = hg_atomic_open(&a, path, "sweep");
    if (s == HG_OK) {
      bool ok = fprintf(a.f, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY)) > 0;
      s = hg_atomic_commit(&a, ok ? HG_OK : hg_fail(HG_ERR_IO, "sweep: cannot write %s", path), "sweep");
    }
    json_object_put(obj);
    return s;
  }
  json_object *obj = json_object_from_file(path);
  if (!obj) return hg_fail(HG_ERR_IO, "sweep: %s is not a JSON object", path);
  hg_status s = HG_OK;
  for (int i = 0; i < n && s == HG_OK; i++) {
    json_object *v;
    const char *old = json_object_object_get_ex(obj, keys[i], &v) ? json_object_get_string(v) : "(none)";
    if (strcmp(old, values[i]) != 0)
      s = hg_fail(HG_ERR_ARG, "%s: this folder holds a run made with %s = %s, not %s (use another output folder)",
                  path, keys[i], old, values[i]);
  }
  json_object_put(obj);
  return s;
}
