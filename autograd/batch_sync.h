/* Data-parallel training: several processes share each mini-batch, each
 * holding some of its rows. What depends on the whole batch — batch norm's
 * statistics and their gradient, the Hebbian rules' aggregation factors —
 * sums its per-batch sums over the processes through the batch sync of the
 * current step (set per thread, for the duration of one training step, by
 * hg_trainer_step). Without one, everything is computed on this process's
 * rows alone, as always. */
#ifndef HG_BATCH_SYNC_H
#define HG_BATCH_SYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor/error.h"

typedef struct hg_batch_sync {
  int rank, size; /* this process, and how many share each batch */
  /* data[0..n) := its sum over the processes, in place (every process calls it) */
  hg_status (*sum_double)(double *data, size_t n, void *ctx);
  hg_status (*sum_float)(float *data, size_t n, void *ctx);
  void *ctx;
} hg_batch_sync;

/* Make s this thread's batch sync (NULL: none); returns the previous one. */
const hg_batch_sync *hg_batch_sync_use(const hg_batch_sync *s);
/* In this thread's step, this process holds rows [lo, lo + n) of a batch of
 * `count` rows: what draws random numbers row by row (dropout's masks) draws
 * those of the whole batch and keeps its rows' share, so the processes
 * together use the numbers of one process. */
void hg_batch_sync_set_rows(int lo, int n, int count);
/* Those rows; false (nothing set) without a batch sync. */
bool hg_batch_sync_rows(int *lo, int *n, int *count);
/* This thread's batch sync, NULL when the batch is this process's alone. */
const hg_batch_sync *hg_batch_sync_current(void);
/* Return once every process of s has called it (a sum is a barrier); HG_OK at once without s. */
hg_status hg_batch_sync_barrier(const hg_batch_sync *s);
/* data[0..n) := Σ over the processes of this thread's batch sync (unchanged without one). */
hg_status hg_batch_sum(double *data, size_t n);

#endif
