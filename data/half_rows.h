/* Rows of floats kept as IEEE half precision (float16) in a temporary file
 * that is unlinked at once: a data set too large for memory as float32 (e.g.
 * 50 000 × 24 576 features of a frozen net) costs 2 bytes a value on disk
 * and nothing of the process's memory; the operating system's page cache
 * keeps what fits. Values beyond ±65504 become ±inf, as PyTorch's .half(). */
#ifndef HG_HALF_ROWS_H
#define HG_HALF_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/error.h"

typedef struct hg_half_rows hg_half_rows;

/* n rows of `width` values in a new unlinked file in folder dir. */
hg_half_rows *hg_half_rows_new(const char *dir, int n, size_t width);
/* Rows [first, first + count) ← values (count·width floats, rounded to nearest even). */
hg_status hg_half_rows_write(hg_half_rows *r, int first, int count, const float *values);
/* out[k·width, (k + 1)·width) ← row rows[k], for k < count (on all threads;
 * callers may read from several threads at once). */
hg_status hg_half_rows_read(const hg_half_rows *r, const int *rows, int count, float *out);
/* Close the file (its space is freed). NULL is allowed. */
void hg_half_rows_free(hg_half_rows *r);

/* float ↔ float16 bits, round to nearest even (tested against each other and by hand). */
uint16_t hg_float_to_half(float f);
float hg_half_to_float(uint16_t h);

#endif
