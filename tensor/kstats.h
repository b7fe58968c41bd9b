/* The public face of the raw kernels: counters of kernel launches, so tests
 * can check that work nothing needs is not done (e.g. no backward-data pass
 * into a detached input), and the release of their cached oneDNN state. */
#ifndef HG_KSTATS_H
#define HG_KSTATS_H

typedef struct hg_kernel_stats {
  long conv_forward, conv_backward_data, conv_backward_weights;
  long pool_forward, pool_backward;
  long gemm;
} hg_kernel_stats;

/* The live counters of this thread (incremented by the kernels it launched). */
extern _Thread_local hg_kernel_stats hg_kstats;
void hg_kernel_stats_reset(void);

/* Free every cached primitive, the engine, the stream and the scratchpad
 * (e.g. before exit, so leak checkers stay quiet). Kernels rebuild on demand. */
void hg_kernels_release(void);
/* Number of primitives built so far (a repeated shape must not add one). */
long hg_kernel_cache_builds(void);

#endif
