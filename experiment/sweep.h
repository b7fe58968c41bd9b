/* Hybrid-network sweeps (seeds 002/003): which layers are Hebbian, which
 * rule, which seed — one test accuracy per cell (configuration, method,
 * seed), kept as JSON lines so an interrupted sweep resumes where it
 * stopped, and summarised as mean ± 95% confidence interval over seeds
 * (Student's t) in CSV, Markdown and plain-text tables.
 *
 * Configurations use the seeds' notation (nn/net.h, hg_net_set_modes): one
 * letter per layer with weights — B backprop, H Hebbian, R random and
 * fixed, F frozen with the baseline's weights — then '-' and the classifier
 * (G gradient descent, H supervised Hebbian). Seed 003's 'G' for a hidden
 * layer is read as B. */
#ifndef HG_SWEEP_H
#define HG_SWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "tensor/error.h"

/* ---- statistics ---- */

/* t such that P(−t < T < t) = 0.95 for Student's T with df degrees of
 * freedom (df ≥ 1): a table for df ≤ 30 (e.g. df 1 → 12.706, df 4 → 2.776),
 * the Cornish–Fisher expansion above; NaN for df < 1. */
double hg_t_quantile95(int df);

typedef struct hg_stats {
  int n;       /* number of values (0: empty cell) */
  double mean; /* NaN when n = 0 */
  double ci95; /* half-width t·s/√n with the sample s.d. s; NaN when n < 2 */
} hg_stats;

/* Mean and 95% confidence half-width of x[0..n). */
hg_stats hg_mean_ci95(const double *x, int n);

/* ---- cells ---- */

typedef struct hg_sweep_cell {
  char config[32];  /* e.g. "HBBBB-G" */
  char method[64];  /* column name, e.g. "e-soft-wta"; "-" when the row has no H layer */
  int seed;
  double test_top1, test_top5, val_top1; /* fractions in [0, 1] (val: NaN without a validation set) */
  double seconds;   /* training time of the cell */
} hg_sweep_cell;

typedef struct hg_sweep_cells {
  hg_sweep_cell *items;
  int n, capacity;
} hg_sweep_cells;

/* Append the cells of the JSON-lines file path to *cells (a missing file
 * adds none). Lines that do not parse as a cell — a line cut short by a
 * kill — are skipped; a later line for the same (config, method, seed)
 * replaces an earlier one. */
hg_status hg_sweep_cells_read(const char *path, hg_sweep_cells *cells);
/* The cell (config, method, seed), or NULL. */
const hg_sweep_cell *hg_sweep_cells_find(const hg_sweep_cells *cells, const char *config,
                                         const char *method, int seed);
/* Add (or replace) a cell in memory. */
hg_status hg_sweep_cells_put(hg_sweep_cells *cells, const hg_sweep_cell *cell);
void hg_sweep_cells_free(hg_sweep_cells *cells);
/* Append cell to path as one JSON line and fsync it, holding an exclusive
 * lock (flock) on it, so several processes may append to one file. A
 * cut-off last line left by an earlier kill is removed first, so every line
 * stays whole. */
hg_status hg_sweep_cell_append(const char *path, const hg_sweep_cell *cell);
/* Work dealt out on demand to the processes of a job that share a folder:
 * each call returns the next number 0, 1, 2, … of the counter file path,
 * counted over every process's calls (an exclusive flock around the read
 * and the write); a missing or empty file counts from 0. −1 with an error
 * set on failure. */
int hg_sweep_claim(const char *path);

/* ---- configurations and methods ---- */

/* Expand a comma-separated list of configurations and shorthands for a net
 * with `layers` layers with weights (the classifier included) into
 * out[max][32], upper-cased, seed 003's hidden 'G' read as B, duplicates
 * dropped; returns the count, or −1 with an error set. Shorthands:
 *   seed002  the baseline and the 15 hybrid rows of seed 002 Tables 2/5/8
 *   seed003  the 27 rows of seed 003 Table 2 (groups 1–8, in order)
 *   single   the baseline, each single hidden layer H, all hidden layers H
 * (seed002 and seed003 need layers = 6, the seeds' network). */
int hg_sweep_configs(const char *list, int layers, char (*out)[32], int max);
/* The baseline configuration for `layers` layers with weights: "BBBBB-G". */
void hg_sweep_baseline(int layers, char *out, size_t size);
/* Modes that train `config` on top of the baseline: the B layers below the
 * lowest H or R layer become F (frozen, they keep the baseline's weights);
 * from that layer up every layer starts afresh. A configuration without H
 * and R keeps its letters (all B: the baseline itself). */
hg_status hg_sweep_hybrid_modes(const char *config, char *modes, size_t size);
/* Does the configuration have a Hebbian layer below the classifier (does the
 * method matter)? A Hebbian classifier (…-H) learns by the teacher rule alone. */
bool hg_sweep_uses_method(const char *config);
/* The plasticity spec of a method name: wta → instar/wta/mean,
 * 5-wta → instar/5-wta/mean, e-soft-wta → instar/e-soft-wta:0.02/mean,
 * p-soft-wta → instar/p-soft-wta:0.05/mean, hpca → hpca/none/relu/avg;
 * anything else is returned as it is (a spec for hg_plasticity_parse). */
const char *hg_sweep_method_spec(const char *name);

/* ---- settings ---- */

/* The settings a run or sweep folder was made with: when path does not exist,
 * write the n key/value pairs there as a JSON object; when it does, fail
 * with HG_ERR_ARG naming the first key whose value differs. */
hg_status hg_sweep_settings_check(const char *path, int n, const char *const *keys,
                                  const char *const *values);

/* ---- tables ---- */

typedef struct hg_sweep_table {
  int rows, cols;
  char (*row_labels)[32];  /* configurations */
  char (*col_labels)[64];  /* methods */
  hg_stats *stats;         /* rows × cols, row-major, in percent */
  bool *shared;            /* per row: the method does not apply, one number in column 0 */
} hg_sweep_table;

/* The table of configs × methods over seeds 1..seeds: a row that does not
 * use the method (hg_sweep_uses_method) takes its cells from method "-" and
 * holds them in its first column only (the others have n = 0 and `shared`);
 * top5 picks test top-5 instead of top-1. Free with hg_sweep_table_free. */
hg_status hg_sweep_table_build(hg_sweep_table *t, const hg_sweep_cells *cells, int nconfigs,
                               const char (*configs)[32], int nmethods, const char *const *methods,
                               int seeds, bool top5);
void hg_sweep_table_free(hg_sweep_table *t);
/* "99.48 ± 0.03 (n=3)"; "99.48 (n=1)" for one seed; "" for an empty cell. */
const char *hg_sweep_format(const hg_stats *s, char *buf, size_t size);
/* The cell's text: hg_sweep_format, or "n/a" in the other columns of a shared row. */
const char *hg_sweep_cell_text(const hg_sweep_table *t, int row, int col, char *buf, size_t size);
/* The table as aligned text. */
void hg_sweep_table_print(const hg_sweep_table *t, FILE *f);
/* CSV: config, then per method M the columns M, M_ci95, M_n (empty when
 * unknown or not applicable, n = 0); numbers with 4 decimals. Written atomically (path.tmp, rename). */
hg_status hg_sweep_table_write_csv(const hg_sweep_table *t, const char *path);
/* Markdown: `title` as a heading, `caption` below it, then the table with
 * the best mean of each row in bold. Written atomically. */
hg_status hg_sweep_table_write_markdown(const hg_sweep_table *t, const char *path, const char *title,
                                        const char *caption);

#endif
