/* Mini-batch iterator: an index permutation per epoch, rows copied out. */
#include "data/batcher.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHER_STREAM 0x6261746368ULL /* "batch": PCG32 stream of the epoch orders */

struct hg_batcher {
  const hg_dataset *ds;
  int batch_size;
  bool shuffle;
  hg_rng rng;
  int *order; /* this epoch's visiting order */
  int pos;    /* next position in order; -1 before an epoch starts */
  int epoch;
};

hg_batcher *hg_batcher_new(const hg_dataset *ds, int batch_size, bool shuffle, uint64_t seed) {
  if (!ds || batch_size <= 0) {
    hg_fail(HG_ERR_ARG, "batcher: batch size %d", batch_size);
    return NULL;
  }
  hg_batcher *b = calloc(1, sizeof *b);
  if (b) b->order = malloc((size_t)ds->count * sizeof *b->order);
  if (!b || !b->order) {
    free(b);
    hg_fail(HG_ERR_NOMEM, "batcher %s: out of memory", ds->name);
    return NULL;
  }
  b->ds = ds;
  b->batch_size = batch_size;
  b->shuffle = shuffle;
  hg_rng_seed(&b->rng, seed, BATCHER_STREAM);
  b->pos = -1;
  return b;
}

static void start_epoch(hg_batcher *b) {
  for (int i = 0; i < b->ds->count; i++) b->order[i] = i;
  if (b->shuffle) hg_rng_shuffle(&b->rng, b->order, b->ds->count);
  b->pos = 0;
  b->epoch++;
}

static hg_status check_batch(const hg_batcher *b, const hg_tensor *images) {
  const int *x = b->ds->shape;
  bool ok = images && images->ndim == 4 && images->shape[0] == b->batch_size;
  for (int d = 1; ok && d < 4; d++) ok = images->shape[d] == x[d];
  if (ok) return HG_OK;
  char have[64] = "NULL", want[64];
  if (images) hg_shape_str(images, have, sizeof have);
  snprintf(want, sizeof want, "[%d,%d,%d]", x[1], x[2], x[3]);
  return hg_fail(HG_ERR_SHAPE, "batcher %s: batch tensor %s, expected %d images of %s", b->ds->name,
                 have, b->batch_size, want);
}

hg_status hg_batcher_next(hg_batcher *b, hg_tensor *images, int *labels, int *count) {
  if (!b || !count) return hg_fail(HG_ERR_ARG, "batcher next: NULL argument");
  *count = 0;
  hg_status st = check_batch(b, images);
  if (st != HG_OK) return st;
  if (b->pos < 0) start_epoch(b);
  if (b->pos >= b->ds->count) {
    b->pos = -1;
    return HG_OK;
  }
  int n = b->ds->count - b->pos < b->batch_size ? b->ds->count - b->pos : b->batch_size;
  size_t per = images->numel / (size_t)b->batch_size;
  const int *rows = b->order + b->pos;
  st = hg_dataset_get_rows(b->ds, rows, n, images->data); /* a whitened set: one product for the batch */
  if (st != HG_OK) return st;
  for (int i = 0; labels && i < n; i++) labels[i] = b->ds->labels[rows[i]];
  if (n < b->batch_size) {
    memset(images->data + (size_t)n * per, 0, (size_t)(b->batch_size - n) * per * sizeof(float));
    if (labels) memset(labels + n, 0, (size_t)(b->batch_size - n) * sizeof *labels);
  }
  b->pos += n;
  *count = n;
  return HG_OK;
}

void hg_batcher_reset(hg_batcher *b) { b->pos = -1; }

int hg_batcher_num_batches(const hg_batcher *b) {
  return (b->ds->count + b->batch_size - 1) / b->batch_size;
}

int hg_batcher_epoch(const hg_batcher *b) { return b->epoch; }

void hg_batcher_free(hg_batcher *b) {
  if (!b) return;
  free(b->order);
  free(b);
}
