/* 2-D convolution kernels on oneDNN, NCHW activations, OIHW weights.
 * Forward, backward-data and backward-weights are separate kernels; each
 * caches its oneDNN primitive by shape, so a training loop builds each
 * primitive once. */
#ifndef HG_CONV_H
#define HG_CONV_H

#include <stdbool.h>

#include "tensor/error.h"

typedef struct hg_conv_shape {
  int n, c, h, w;    /* input */
  int k, kh, kw;     /* output channels, kernel size */
  int stride, pad;   /* square stride, symmetric zero padding */
  int oh, ow;        /* output size, floor((h + 2·pad − kh)/stride) + 1 */
  bool relu;         /* forward only: y = max(w ⋆ x + b, 0) in the same pass (false by default) */
} hg_conv_shape;

/* Validate x [N,C,H,W] against w [K,C,kh,kw] and fill s. Errors name "conv2d". */
hg_status hg_conv_shape_init(hg_conv_shape *s, const int x_shape[4], const int w_shape[4],
                             int stride, int pad);
/* y = w ⋆ x + b (b may be NULL), then max(·, 0) when s->relu */
hg_status hg_conv2d_forward(const hg_conv_shape *s, const float *x, const float *w,
                            const float *b, float *y);
/* dx (+)= ∂/∂x of Σ dy ⊙ (w ⋆ x) */
hg_status hg_conv2d_backward_data(const hg_conv_shape *s, const float *dy, const float *w,
                                  float *dx, bool accumulate);
/* dw (+)= ∂/∂w, db (+)= Σ_{n,i,j} dy (db may be NULL) */
hg_status hg_conv2d_backward_weights(const hg_conv_shape *s, const float *x, const float *dy,
                                     float *dw, float *db, bool accumulate);

#endif
