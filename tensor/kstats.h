/* The public face of the raw kernels: counters of kernel launches, so tests
 * can check that work nothing needs is not done (e.g. no backward-data pass
 * into a detached input), the choice of convolution algorithm, and the
 * release of their cached oneDNN state. */
#ifndef HG_KSTATS_H
#define HG_KSTATS_H

typedef struct hg_kernel_stats {
  long conv_forward, conv_backward_data, conv_backward_weights;
  long conv_winograd; /* of those, the ones run by the Winograd kernels */
  long pool_forward, pool_backward;
  long gemm;
} hg_kernel_stats;

/* The live counters of this thread (incremented by the kernels it launched). */
extern _Thread_local hg_kernel_stats hg_kstats;
void hg_kernel_stats_reset(void);

/* The algorithm of the 2-D convolutions (process-wide; set it before starting threads). */
typedef enum hg_conv_algorithm {
  HG_CONV_AUTO,     /* Winograd F(4×4, 3×3) where it pays (3×3 stride 1, ≥ 64 channels in and out,
                       at most half the direct products), oneDNN's direct kernels elsewhere */
  HG_CONV_DIRECT,   /* oneDNN's direct kernels everywhere (exact products in the order oneDNN sums) */
  HG_CONV_WINOGRAD, /* Winograd wherever it computes the shape (3×3, stride 1, pad ≤ 2) */
} hg_conv_algorithm;
void hg_conv_set_algorithm(hg_conv_algorithm algorithm);
hg_conv_algorithm hg_conv_get_algorithm(void);

/* Free every cached primitive, the engine, the stream and the scratchpad
 * (e.g. before exit, so leak checkers stay quiet). Kernels rebuild on demand. */
void hg_kernels_release(void);
/* Number of primitives built so far (a repeated shape must not add one). */
long hg_kernel_cache_builds(void);

#endif
