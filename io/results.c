#include "io/results.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hg_results {
  FILE *csv, *jsonl;
  int ncols;
  char **columns;
};

static FILE *open_append(const char *prefix, const char *ext, long *size) {
  char path[1024];
  snprintf(path, sizeof path, "%s.%s", prefix, ext);
  FILE *f = fopen(path, "a");
  if (!f) {
    hg_fail(HG_ERR_IO, "results: cannot open %s for appending", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  *size = ftell(f);
  return f;
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
  long csv_size, json_size;
  r->csv = open_append(prefix, "csv", &csv_size);
  r->jsonl = r->csv ? open_append(prefix, "jsonl", &json_size) : NULL;
  if (!r->jsonl) goto fail;
  if (csv_size == 0) {
    for (int i = 0; i < ncols; i++) fprintf(r->csv, "%s%s", i ? "," : "", columns[i]);
    fputc('\n', r->csv);
    fflush(r->csv);
  }
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

hg_status hg_results_row(hg_results *r, const char *const *values) {
  json_object *obj = json_object_new_object();
  if (!obj) return hg_fail(HG_ERR_NOMEM, "results: out of memory");
  for (int i = 0; i < r->ncols; i++) {
    if (i) fputc(',', r->csv);
    hg_csv_field(r->csv, values[i]);
    json_object_object_add(obj, r->columns[i], json_value(values[i]));
  }
  fputc('\n', r->csv);
  fprintf(r->jsonl, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
  json_object_put(obj);
  if (fflush(r->csv) != 0 || fflush(r->jsonl) != 0)
    return hg_fail(HG_ERR_IO, "results: write failed");
  return HG_OK;
}
