/* Counters of kernel launches, so tests can check that work nothing needs
 * is not done (e.g. no backward-data pass into a detached input). */
#ifndef HG_KSTATS_H
#define HG_KSTATS_H

typedef struct hg_kernel_stats {
  long conv_forward, conv_backward_data, conv_backward_weights;
  long pool_forward, pool_backward;
  long gemm;
} hg_kernel_stats;

/* The live counters (incremented by the kernels). */
extern hg_kernel_stats hg_kstats;
void hg_kernel_stats_reset(void);

#endif
