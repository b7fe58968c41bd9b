/* Results of runs as CSV and JSON lines, appended row by row: the CSV gets
 * its header when it is created; every JSON line is a self-contained object.
 * Several processes may append to the same files at once: the header and
 * each line are written under the file's lock (flock). */
#ifndef HG_RESULTS_H
#define HG_RESULTS_H

#include <stdio.h>

#include "tensor/error.h"

typedef struct hg_results hg_results;

/* Open (append) prefix.csv and prefix.jsonl for rows with these columns.
 * NULL (HG_ERR_ARG, naming the file) when prefix.csv exists with another
 * header: rows are never appended under the wrong columns. */
hg_results *hg_results_open(const char *prefix, int ncols, const char *const *columns);
/* One row; values[i] is written as a JSON number when it parses as one. */
hg_status hg_results_row(hg_results *r, const char *const *values);
void hg_results_close(hg_results *r);
/* One CSV field (RFC 4180): quoted when it holds a comma, quote or newline,
 * with each quote doubled. */
void hg_csv_field(FILE *f, const char *value);

#endif
