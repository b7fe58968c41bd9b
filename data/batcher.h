/* Mini-batch iteration over a data set: each epoch visits every image once,
 * in a seeded random order when shuffling. Batches are copied into a tensor
 * the caller owns, so iterating allocates nothing. */
#ifndef HG_BATCHER_H
#define HG_BATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "data/dataset.h"

typedef struct hg_batcher hg_batcher;

/* Batches of batch_size images of ds (which must outlive the batcher); with
 * shuffle, the order of each epoch is drawn from a PCG32 seeded with seed. */
hg_batcher *hg_batcher_new(const hg_dataset *ds, int batch_size, bool shuffle, uint64_t seed);
/* Copy the next batch into images [batch_size,C,H,W] and labels[batch_size]
 * (labels may be NULL); *count is its size: batch_size, fewer for the last
 * batch of an epoch (rows past *count are zeroed), 0 once the epoch is done.
 * The call after a 0 starts the next epoch. */
hg_status hg_batcher_next(hg_batcher *b, hg_tensor *images, int *labels, int *count);
/* Abandon the current epoch: the next call starts a new one. */
void hg_batcher_reset(hg_batcher *b);
/* Batches per epoch, the last partial one included. */
int hg_batcher_num_batches(const hg_batcher *b);
/* Epochs started so far (1 during the first). */
int hg_batcher_epoch(const hg_batcher *b);
/* Free the batcher (not the data set). NULL is allowed. */
void hg_batcher_free(hg_batcher *b);

#endif
