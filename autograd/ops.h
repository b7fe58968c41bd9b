/* Differentiable ops. Each returns a new tensor (NULL on error, with a
 * message naming the op and the shapes) and records itself on the tape when
 * an input requires a gradient. Inputs are borrowed, never consumed.
 * Binary element-wise ops broadcast as NumPy does (dimensions aligned from
 * the right; a dimension of 1 stretches). */
#ifndef HG_OPS_H
#define HG_OPS_H

#include "autograd/autograd.h"

/* --- element-wise (ops_binary.c, ops_unary.c) --- */
hg_tensor *hg_add(hg_tensor *a, hg_tensor *b);  /* a + b */
hg_tensor *hg_sub(hg_tensor *a, hg_tensor *b);  /* a − b */
hg_tensor *hg_mul(hg_tensor *a, hg_tensor *b);  /* a ⊙ b */
hg_tensor *hg_div(hg_tensor *a, hg_tensor *b);  /* a / b */
hg_tensor *hg_neg(hg_tensor *x);                /* −x */
hg_tensor *hg_scale(hg_tensor *x, float s);     /* s·x */
hg_tensor *hg_pow(hg_tensor *x, float p);       /* x^p */
hg_tensor *hg_exp(hg_tensor *x);                /* eˣ */
hg_tensor *hg_log(hg_tensor *x);                /* ln x */
hg_tensor *hg_sqrt(hg_tensor *x);               /* √x */
hg_tensor *hg_abs(hg_tensor *x);                /* |x| */
hg_tensor *hg_relu(hg_tensor *x);               /* max(x, 0) */
hg_tensor *hg_sigmoid(hg_tensor *x);            /* 1 / (1 + e⁻ˣ) */
hg_tensor *hg_tanh(hg_tensor *x);               /* tanh x */
hg_tensor *hg_square(hg_tensor *x);             /* x² */

/* --- reductions (ops_reduce.c) and views (ops_view.c) --- */
/* Σ over the listed axes (negative counts from the end); naxes 0 means all. */
hg_tensor *hg_sum(hg_tensor *x, int naxes, const int *axes, bool keepdim);
/* Σ / count over the listed axes; naxes 0 means all. */
hg_tensor *hg_mean(hg_tensor *x, int naxes, const int *axes, bool keepdim);
/* max over the listed axes; the gradient goes to the first maximum. */
hg_tensor *hg_max(hg_tensor *x, int naxes, const int *axes, bool keepdim);
/* Σ a ⊙ b over every element (same shapes): a scalar, in one pass. */
hg_tensor *hg_dot(hg_tensor *a, hg_tensor *b);
/* Same data, new shape (one -1 inferred). */
hg_tensor *hg_reshape(hg_tensor *x, int ndim, const int *shape);
/* x[start : start+count] along dimension 0 (a view) */
hg_tensor *hg_narrow(hg_tensor *x, int start, int count);
/* y[n,c,i,j] = x[n,c,r(i−p),r(j−p)], r reflecting at the borders (PyTorch's ReflectionPad2d); p < H, W */
hg_tensor *hg_pad_reflect(hg_tensor *x, int pad);
/* [N, ...] → [N, rest] */
hg_tensor *hg_flatten(hg_tensor *x);

/* --- softmax family (ops_softmax.c) --- */
/* softmax(x)_i = e^{x_i − max} / Σ_j e^{x_j − max} along axis */
hg_tensor *hg_softmax(hg_tensor *x, int axis);
/* log_softmax(x)_i = x_i − max − ln Σ_j e^{x_j − max} along axis */
hg_tensor *hg_log_softmax(hg_tensor *x, int axis);

/* --- linear algebra (ops_linear.c) --- */
/* op(a)·op(b) for 2-D a, b; op transposes when the flag is set. */
hg_tensor *hg_matmul(hg_tensor *a, hg_tensor *b, bool trans_a, bool trans_b);
/* y = x·Wᵀ + b; x [N,D], W [K,D], b [K] or NULL. */
hg_tensor *hg_linear(hg_tensor *x, hg_tensor *w, hg_tensor *b);

/* --- convolution and pooling (ops_conv.c, ops_pool.c) --- */
/* y[n,k] = Σ_c w[k,c] ⋆ x[n,c] + b[k]; x [N,C,H,W], w [K,C,kh,kw], b [K] or NULL;
 * square stride, symmetric zero padding. */
hg_tensor *hg_conv2d(hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride, int pad);
/* y = max(conv2d(x, w, b, stride, pad), 0) in one pass, keeping no pre-activation */
hg_tensor *hg_conv2d_relu(hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride, int pad);
/* y[n,c,i,j] = max over the k×k window (padding never wins) */
hg_tensor *hg_max_pool2d(hg_tensor *x, int kernel, int stride, int pad);
/* y[n,c,i,j] = mean over the k×k window, padding counted as zeros */
hg_tensor *hg_avg_pool2d(hg_tensor *x, int kernel, int stride, int pad);

/* --- normalisation and regularisation (ops_norm.c, ops_dropout.c) --- */
/* y = γ (x − μ)/√(σ² + ε) + β per channel (dim 1) of [N,C] or [N,C,H,W].
 * Training: μ, σ² from the batch; running_mean/var ← (1−m)·running + m·batch
 * (unbiased variance, as PyTorch). Evaluation: μ, σ² = running statistics.
 * gamma/beta may be NULL (no affine); running_* may be NULL in training. */
hg_tensor *hg_batch_norm(hg_tensor *x, hg_tensor *gamma, hg_tensor *beta,
                         hg_tensor *running_mean, hg_tensor *running_var, bool training,
                         float momentum, float eps);
/* Triangle activation over channels (dim 1) of [N,C] or [N,C,H,W]:
 * y = relu(x − mean_c x − θ)^power (SoftHebb's, with θ = 0). */
hg_tensor *hg_triangle(hg_tensor *x, float threshold, float power);
/* Training: y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) from rng; else y = x. */
hg_tensor *hg_dropout(hg_tensor *x, float p, bool training, hg_rng *rng);

/* --- losses (ops_loss.c) --- */
/* −(1/N) Σ_n log_softmax(logits)[n, label_n]; logits [N,C], labels in [0,C). */
hg_tensor *hg_cross_entropy(hg_tensor *logits, const int *labels);
/* (1/numel) Σ (a − b)² */
hg_tensor *hg_mse(hg_tensor *a, hg_tensor *b);

/* --- non-differentiable helpers for competition (ops_mask.c) --- */
/* 1 at the first maximum along axis, 0 elsewhere. */
hg_tensor *hg_argmax_mask(const hg_tensor *x, int axis);
/* 1 at the k largest along axis (ties: lower index first), 0 elsewhere. */
hg_tensor *hg_topk_mask(const hg_tensor *x, int axis, int k);

#endif
