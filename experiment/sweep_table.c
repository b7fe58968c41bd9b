/* Hybrid sweeps: the table of configurations × methods (mean ± 95% CI over
 * seeds) as text, CSV and Markdown. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "experiment/sweep.h"
#include "io/files.h"
#include "io/results.h"

hg_status hg_sweep_table_build(hg_sweep_table *t, const hg_sweep_cells *cells, int nconfigs,
                               const char (*configs)[32], int nmethods, const char *const *methods,
                               int seeds, bool top5) {
  *t = (hg_sweep_table){.rows = nconfigs, .cols = nmethods};
  t->row_labels = calloc((size_t)nconfigs + 1, sizeof *t->row_labels);
  t->col_labels = calloc((size_t)nmethods + 1, sizeof *t->col_labels);
  t->stats = calloc((size_t)nconfigs * (size_t)nmethods + 1, sizeof *t->stats);
  t->shared = calloc((size_t)nconfigs + 1, sizeof *t->shared);
  double *x = calloc((size_t)seeds + 1, sizeof *x);
  if (!t->row_labels || !t->col_labels || !t->stats || !t->shared || !x) {
    free(x);
    hg_sweep_table_free(t);
    return hg_fail(HG_ERR_NOMEM, "sweep: out of memory");
  }
  for (int c = 0; c < nmethods; c++) snprintf(t->col_labels[c], sizeof t->col_labels[c], "%s", methods[c]);
  for (int r = 0; r < nconfigs; r++) {
    memcpy(t->row_labels[r], configs[r], sizeof t->row_labels[r]);
    bool shared = t->shared[r] = !hg_sweep_uses_method(configs[r]);
    for (int c = 0; c < (shared ? 1 : nmethods); c++) {
      int n = 0;
      for (int seed = 1; seed <= seeds; seed++) {
        const hg_sweep_cell *cell = hg_sweep_cells_find(cells, configs[r], shared ? "-" : methods[c], seed);
        if (cell) x[n++] = 100 * (top5 ? cell->test_top5 : cell->test_top1);
      }
      t->stats[r * nmethods + c] = hg_mean_ci95(x, n);
    }
  }
  free(x);
  return HG_OK;
}

void hg_sweep_table_free(hg_sweep_table *t) {
  free(t->row_labels);
  free(t->col_labels);
  free(t->stats);
  free(t->shared);
  *t = (hg_sweep_table){0};
}

const char *hg_sweep_format(const hg_stats *s, char *buf, size_t size) {
  if (s->n < 1) snprintf(buf, size, "%s", "");
  else if (s->n < 2) snprintf(buf, size, "%.2f (n=1)", s->mean);
  else snprintf(buf, size, "%.2f ± %.2f (n=%d)", s->mean, s->ci95, s->n);
  return buf;
}

const char *hg_sweep_cell_text(const hg_sweep_table *t, int row, int col, char *buf, size_t size) {
  if (t->shared[row] && col > 0) {
    snprintf(buf, size, "n/a");
    return buf;
  }
  return hg_sweep_format(&t->stats[row * t->cols + col], buf, size);
}

/* Display width of UTF-8 text (± counts once). */
static int width(const char *s) {
  int w = 0;
  for (; *s; s++) w += ((unsigned char)*s & 0xC0) != 0x80;
  return w;
}

void hg_sweep_table_print(const hg_sweep_table *t, FILE *f) {
  char buf[64];
  int w0 = (int)strlen("configuration");
  for (int r = 0; r < t->rows; r++)
    if ((int)strlen(t->row_labels[r]) > w0) w0 = (int)strlen(t->row_labels[r]);
  int *wc = calloc((size_t)t->cols + 1, sizeof *wc);
  if (!wc) return;
  fprintf(f, "%-*s", w0, "configuration");
  for (int c = 0; c < t->cols; c++) {
    wc[c] = (int)strlen(t->col_labels[c]);
    for (int r = 0; r < t->rows; r++) {
      int w = width(hg_sweep_cell_text(t, r, c, buf, sizeof buf));
      if (w > wc[c]) wc[c] = w;
    }
    fprintf(f, "  %*s", wc[c], t->col_labels[c]);
  }
  fputc('\n', f);
  for (int r = 0; r < t->rows; r++) {
    fprintf(f, "%-*s", w0, t->row_labels[r]);
    for (int c = 0; c < t->cols; c++) {
      const char *text = hg_sweep_cell_text(t, r, c, buf, sizeof buf);
      fprintf(f, "  %*s%s", wc[c] - width(text), "", text);
    }
    fputc('\n', f);
  }
  free(wc);
}

hg_status hg_sweep_table_write_csv(const hg_sweep_table *t, const char *path) {
  hg_atomic_file a;
  if (hg_atomic_open(&a, path, "sweep") != HG_OK) return hg_last_status();
  FILE *f = a.f;
  fputs("config", f);
  for (int c = 0; c < t->cols; c++) {
    const char *suffix[] = {"", "_ci95", "_n"};
    for (int k = 0; k < 3; k++) {
      char name[96];
      snprintf(name, sizeof name, "%s%s", t->col_labels[c], suffix[k]);
      fputc(',', f);
      hg_csv_field(f, name);
    }
  }
  fputc('\n', f);
  for (int r = 0; r < t->rows; r++) {
    hg_csv_field(f, t->row_labels[r]);
    for (int c = 0; c < t->cols; c++) {
      const hg_stats *s = &t->stats[r * t->cols + c];
      fputc(',', f);
      if (s->n > 0) fprintf(f, "%.4f", s->mean);
      fputc(',', f);
      if (s->n > 1) fprintf(f, "%.4f", s->ci95);
      fprintf(f, ",%d", s->n);
    }
    fputc('\n', f);
  }
  return hg_atomic_commit(&a, HG_OK, "sweep");
}

hg_status hg_sweep_table_write_markdown(const hg_sweep_table *t, const char *path, const char *title,
                                        const char *caption) {
  char buf[64];
  hg_atomic_file a;
  if (hg_atomic_open(&a, path, "sweep") != HG_OK) return hg_last_status();
  FILE *f = a.f;
  fprintf(f, "# %s\n\n%s\n\n| configuration |", title, caption);
  for (int c = 0; c < t->cols; c++) fprintf(f, " %s |", t->col_labels[c]);
  fputs("\n|---|", f);
  for (int c = 0; c < t->cols; c++) fputs("---:|", f);
  fputc('\n', f);
  for (int r = 0; r < t->rows; r++) {
    const hg_stats *row = &t->stats[r * t->cols];
    double best = NAN, worst = NAN;
    for (int c = 0; c < t->cols; c++)
      if (row[c].n > 0) {
        if (isnan(best) || row[c].mean > best) best = row[c].mean;
        if (isnan(worst) || row[c].mean < worst) worst = row[c].mean;
      }
    bool bold = !t->shared[r] && best > worst; /* a best among different numbers */
    fprintf(f, "| %s |", t->row_labels[r]);
    for (int c = 0; c < t->cols; c++) {
      const char *text = hg_sweep_cell_text(t, r, c, buf, sizeof buf);
      bool b = bold && row[c].n > 0 && row[c].mean == best;
      fprintf(f, " %s%s%s |", b ? "**" : "", text, b ? "**" : "");
    }
    fputc('\n', f);
  }
  return hg_atomic_commit(&a, HG_OK, "sweep");
}
