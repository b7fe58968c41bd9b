/* 2-D max and average pooling kernels, NCHW, as plain OpenMP loops (with a
 * vectorised 2×2 stride-2 path). oneDNN 2.6 offers only its reference
 * implementation (simple_nchw) for plain NCHW pooling: measured here at batch
 * 64 on 96×28×28, 29–78 ms forward and 12–19 ms backward against 1.2 ms and
 * 2.0 ms for these loops, so the library does not route pooling through it.
 * The max-pool workspace holds each output's winning window offset (2 bytes). */
#ifndef HG_POOLING_H
#define HG_POOLING_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor/error.h"

typedef enum hg_pool_kind { HG_POOL_MAX, HG_POOL_AVG } hg_pool_kind;

typedef struct hg_pool_shape {
  hg_pool_kind kind;
  int n, c, h, w;
  int kernel, stride, pad;
  int oh, ow; /* floor((h + 2·pad − kernel)/stride) + 1 */
} hg_pool_shape;

/* Validate and fill s; pad must be at most kernel/2 (as PyTorch). */
hg_status hg_pool_shape_init(hg_pool_shape *s, hg_pool_kind kind, const int x_shape[4],
                             int kernel, int stride, int pad);
/* Bytes of workspace a max-pool forward leaves for its backward (0 for avg). */
size_t hg_pool2d_workspace_bytes(const hg_pool_shape *s);
/* y = pool(x); workspace (max only) may be NULL when no backward will follow. */
hg_status hg_pool2d_forward(const hg_pool_shape *s, const float *x, float *y, void *workspace);
/* dx (+)= ∂/∂x of Σ dy ⊙ pool(x) */
hg_status hg_pool2d_backward(const hg_pool_shape *s, const float *dy, const void *workspace,
                             float *dx, bool accumulate);

#endif
