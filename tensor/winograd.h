/* Winograd F(4×4, 3×3) convolution kernels for 3×3 stride-1 kernels (Lavin &
 * Gray, CVPR 2016): each 4×4 output tile is Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A of its
 * 6×6 input tile d, so a convolution becomes 36 GEMMs over channels and
 * costs 36 multiplies per tile and channel pair instead of 144. Same
 * arguments and results as the direct kernels of conv.h (rounded
 * differently: ≈ 1e-5 of the largest output); conv.c chooses. The GEMMs
 * are oneDNN's sgemm whatever hg_gemm_set_backend says, one per thread. */
#ifndef HG_WINOGRAD_H
#define HG_WINOGRAD_H

#include <stdbool.h>

#include "tensor/conv.h"

/* Whether these kernels compute s at all: 3×3, stride 1, pad ≤ 2. */
bool hg_winograd_fits(const hg_conv_shape *s);
/* Whether they are expected to be faster than the direct ones (bench_ops
 * conv2d): ≥ 64 channels in and out, for efficient GEMMs, and at most half
 * the direct products, so little of the 4×4 tiles lies outside the output
 * (that of the backward-data pass is the input). */
bool hg_winograd_pays(const hg_conv_shape *s, bool backward_data);

/* y = w ⋆ x + b (b may be NULL), then max(·, 0) when s->relu */
hg_status hg_winograd_forward(const hg_conv_shape *s, const float *x, const float *w,
                              const float *b, float *y);
/* dx (+)= ∂/∂x of Σ dy ⊙ (w ⋆ x): the forward of dy, padded by 2 − pad, with w rotated */
hg_status hg_winograd_backward_data(const hg_conv_shape *s, const float *dy, const float *w,
                                    float *dx, bool accumulate);
/* dw (+)= Gᵀ[Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ x B)]G, db (+)= Σ_{n,i,j} dy (db may be NULL) */
hg_status hg_winograd_backward_weights(const hg_conv_shape *s, const float *x, const float *dy,
                                       float *dw, float *db, bool accumulate);

#endif
