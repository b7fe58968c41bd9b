/* What the data-parallel tests share, whatever carries the sums (MPI in
 * mpi_data_parallel.c, threads in test_data_parallel.c): learnable data, the
 * small net trained for DP_STEPS steps, and how far two nets are apart. */
#ifndef HG_TEST_DATA_PARALLEL_CHECK_H
#define HG_TEST_DATA_PARALLEL_CHECK_H

#include "hebbgrad.h"

#define DP_STEPS 50
#define DP_TOLERANCE 1e-4

/* 1x28x28 images of 10 classes, each its class's random pattern plus
 * noise, the same in every process. (On random labels the training is
 * chaotic and float rounding grows past any tolerance.) */
hg_dataset *dp_data(void);
/* The small net (with its batch norm; with dropout > 0 its classifier is
 * a new one after dropout of that rate) trained in `modes` (H layers:
 * e-soft-wta, mean aggregation) for DP_STEPS steps of `batch` rows, jointly;
 * sync NULL: alone. NULL on failure, with the message on stderr. */
hg_net *dp_train(const hg_dataset *ds, const char *modes, int batch, float dropout, const hg_batch_sync *sync);
/* max over the tensors (parameters and batch-norm statistics) of
 * max |a − b| / max |a|. */
double dp_difference(hg_net *a, hg_net *b);
/* Σ of every tensor of net: the same in every process when their nets are. */
double dp_checksum(hg_net *net);

#endif
