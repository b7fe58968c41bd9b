/* The ceiling of a network's step: the convolutions and GEMMs alone, each
 * pass of each layer timed on its own at the net's batch.
 *   convolution  oneDNN's best primitive: created with format_tag any for
 *                src, weights and dst (oneDNN picks its blocked layouts),
 *                every argument reordered into the chosen layout once,
 *                before the timing (no reorder in the timed loop);
 *   linear       cblas_sgemm (OpenBLAS) on row-major buffers.
 * Pooling, batch norm, activations, losses, the bias of a linear layer and
 * the optimizer are not counted. Threads: omp_get_max_threads(), for oneDNN
 * (OpenMP) and OpenBLAS alike. */
#ifndef HG_BENCH_CEILING_H
#define HG_BENCH_CEILING_H

#include <stdbool.h>

#include "hebbgrad.h"

typedef enum ceiling_pass {
  CEILING_INFER,        /* forward, inference */
  CEILING_TRAIN,        /* forward, training */
  CEILING_BWD_DATA,     /* gradient of the input */
  CEILING_BWD_WEIGHTS,  /* gradient of the weights (and bias, for a convolution) */
  CEILING_PASSES
} ceiling_pass;

#define CEILING_BIT(pass) (1u << (pass))

/* One layer: a convolution (stride 1) on [N,c,h,w] or a linear layer c → k. */
typedef struct ceiling_layer {
  const char *name;
  bool conv;            /* else linear: c inputs, k outputs, h = w = 1 */
  int c, h, w;          /* input channels and size */
  int k, kh, kw, pad;   /* outputs; kernel and zero padding of a convolution */
  bool bias;
} ceiling_layer;

/* What one layer measured: median seconds of each pass (0: not timed) and,
 * for a convolution, oneDNN's implementation of each (e.g. "jit:avx512_core"). */
typedef struct ceiling_times {
  double seconds[CEILING_PASSES];
  char impl[CEILING_PASSES][32];
} ceiling_times;

/* Time the passes of l in `passes` (CEILING_BIT mask) at batch n: `warmup`
 * runs, then the median of `reps`. An error (hg_last_error) names the layer,
 * the pass and the oneDNN call that failed. */
hg_status ceiling_time_layer(const ceiling_layer *l, int n, unsigned passes, int warmup, int reps,
                             ceiling_times *out);
/* FLOP of one pass of l for one image (every pass costs the forward's). */
double ceiling_flops(const ceiling_layer *l);
/* Name of a pass as the tables print it. */
const char *ceiling_pass_name(ceiling_pass p);
/* Free the oneDNN engine and stream of the ceiling. */
void ceiling_release(void);

#endif
