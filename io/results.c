#include "io/results.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

struct hg_results {
  FILE *csv, *jsonl;
  char csv_path[1040], jsonl_path[1040];
  int ncols;
  char **columns;
};

/* prefix.ext, its name kept in path[1040]. */
static FILE *open_append(const char *prefix, const char *ext, char *path) {
  snprintf(path, 1040, "%s.%s", prefix, ext);
  FILE *f = fopen(path, "a");
  if (!f) hg_fail(HG_ERR_IO, "results: cannot open %s for appending", path);
  return f;
}

/* put(f, arg) at the end of f, under f's exclusive lock, then written out:
 * the processes of a job append to the same files one at a time (flock, as
 * the cells.jsonl of sweeps). */
static hg_status append_locked(FILE *f, const char *path, void (*put)(FILE *f, const void *arg), const void *arg) {
  if (flock(fileno(f), LOCK_EX) != 0) return hg_fail(HG_ERR_IO, "results: cannot lock %s: %s", path, strerror(errno));
  hg_status s = fseek(f, 0, SEEK_END) == 0 ? HG_OK : hg_fail(HG_ERR_IO, "results: cannot seek %s", path);
  if (s == HG_OK) put(f, arg);
  if (fflush(f) != 0 && s == HG_OK) s = hg_fail(HG_ERR_IO, "results: cannot write %s: %s", path, strerror(errno));
  flock(fileno(f), LOCK_UN); /* close would release it anyway */
  return s;
}

/* The header line (r's columns), unless another process or an earlier run wrote it. */
static void put_header(FILE *csv, const void *arg) {
  const hg_results *r = arg;
  if (ftell(csv) != 0) return;
  for (int i = 0; i < r->ncols; i++) fprintf(csv, "%s%s", i ? "," : "", r->columns[i]);
  fputc('\n', csv);
}

void hg_results_close(hg_results *r) {
  if (!r) return;
  if (r->csv) fclose(r->csv);
  if (r->jsonl) fclose(r->jsonl);
  for (int i = 0; i < r->ncols && r->columns; i++) free(r->columns[i]);
  free(r->columns);
  free(r);
}

/* The header line of these columns, in buf; false when it does not fit. */
static bool header_text(int ncols, const char *const *columns, char *buf, size_t size) {
  size_t at = 0;
  for (int i = 0; i < ncols; i++) {
    int n = snprintf(buf + at, size - at, "%s%s", i ? "," : "", columns[i]);
    if (n < 0 || (size_t)n >= size - at) return false;
    at += (size_t)n;
  }
  return true;
}

/* HG_OK when prefix.csv does not exist yet or starts with this header. */
static hg_status check_header(const char *prefix, int ncols, const char *const *columns) {
  char path[1024], want[4096], have[4096] = "";
  snprintf(path, sizeof path, "%s.csv", prefix);
  if (!header_text(ncols, columns, want, sizeof want)) return hg_fail(HG_ERR_ARG, "results: too many columns");
  FILE *f = fopen(path, "r");
  if (!f) return HG_OK;
  bool read = fgets(have, sizeof have, f) != NULL;
  fclose(f);
  have[strcspn(have, "\r\n")] = '\0';
  if (!read || !strcmp(have, want)) return HG_OK; /* empty: the header is written below */
  return hg_fail(HG_ERR_ARG, "results: %s has the columns %s, but this program writes %s (an older version's "
                 "file?): give another output folder", path, have, want);
}

hg_results *hg_results_open(const char *prefix, int ncols, const char *const *columns) {
  if (check_header(prefix, ncols, columns) != HG_OK) return NULL;
  hg_results *r = calloc(1, sizeof *r);
  char **cols = r ? calloc((size_t)ncols, sizeof *cols) : NULL;
  if (!cols) {
    free(r);
    hg_fail(HG_ERR_NOMEM, "results: out of memory");
    return NULL;
  }
  r->columns = cols;
  r->ncols = ncols;
  for (int i = 0; i < ncols; i++)
    if (!(cols[i] = strdup(columns[i]))) goto fail;
  r->csv = open_append(prefix, "csv", r->csv_path);
  r->jsonl = r->csv ? open_append(prefix, "jsonl", r->jsonl_path) : NULL;
  if (!r->jsonl || append_locked(r->csv, r->csv_path, put_header, r) != HG_OK) goto fail;
  return r;
fail:
  hg_results_close(r);
  return NULL;
}

/* A JSON number when the whole text parses as one, else a string. */
static json_object *json_value(const char *text) {
  char *end;
  double v = strtod(text, &end);
  if (*text && *end == '\0') return json_object_new_double(v);
  return json_object_new_string(text);
}

void hg_csv_field(FILE *f, const char *value) {
  if (!strpbrk(value, ",\"\n")) {
    fputs(value, f);
    return;
  }
  fputc('"', f);
  for (const char *p = value; *p; p++) {
    if (*p == '"') fputc('"', f);
    fputc(*p, f);
  }
  fputc('"', f);
}

/* What put_row writes: values[0..r->ncols). */
typedef struct row {
  const hg_results *r;
  const char *const *values;
} row;

/* One CSV line of a row's values. */
static void put_row(FILE *csv, const void *arg) {
  const row *w = arg;
  for (int i = 0; i < w->r->ncols; i++) {
    if (i) fputc(',', csv);
    hg_csv_field(csv, w->values[i]);
  }
  fputc('\n', csv);
}

/* A JSON object on one line. */
static void put_json(FILE *jsonl, const void *obj) {
  fprintf(jsonl, "%s\n", json_object_to_json_string_ext((json_object *)obj, JSON_C_TO_STRING_PLAIN));
}

hg_status hg_results_row(hg_results *r, const char *const *values) {
  json_object *obj = json_object_new_object();
  if (!obj) return hg_fail(HG_ERR_NOMEM, "results: out of memory");
  for (int i = 0; i < r->ncols; i++) json_object_object_add(obj, r->columns[i], json_value(values[i]));
  hg_status s = append_locked(r->csv, r->csv_path, put_row, &(row){r, values});
  if (s == HG_OK) s = append_locked(r->jsonl, r->jsonl_path, put_json, obj);
  json_object_put(obj);
  return s;
}
