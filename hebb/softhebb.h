/* SoftHebb (Journé et al., ICLR 2023) as a surrogate loss — the worked
 * example of docs/writing-a-rule.md: a whole rule in one header, built only
 * from public ops.
 *
 *   y = softmax(u/τ) over the K neurons (per sample and position);
 *   ŷ_k = y_k for the winner, −y_k for every other neuron (anti-Hebbian);
 *   Δw_k = η Σ ŷ_k (x − u_k w_k)
 *   L    = −Σ sg(ŷ_k) u_k + ½ Σ_k sg(Σ ŷ_k u_k) ‖w_k‖²
 *
 * u is the layer's pre-activation [N,K] or [N,K,H,W] recorded from w with a
 * detached input; w is [K,D] or [K,C,kh,kw]. */
#ifndef HG_SOFTHEBB_H
#define HG_SOFTHEBB_H

#include <math.h>
#include <stdlib.h>

#include "autograd/ops.h"

/* ŷ from u: softmax over dimension 1, sign flipped for all but the winner. */
static inline hg_tensor *hg_softhebb_coefficients(const hg_tensor *u, float tau) {
  int n = u->shape[0], k = u->shape[1], p = (int)(u->numel / ((size_t)n * k));
  hg_tensor *y = hg_tensor_empty(u->ndim, u->shape);
  for (int i = 0; y && i < n * p; i++) {
    const float *col = u->data + (size_t)(i / p) * k * p + i % p; /* neuron j at col[j·p] */
    float *out = y->data + (col - u->data);
    int win = 0;
    for (int j = 1; j < k; j++) win = col[j * p] > col[win * p] ? j : win;
    double total = 0;
    for (int j = 0; j < k; j++) total += exp((col[j * p] - col[win * p]) / tau);
    for (int j = 0; j < k; j++) {
      float v = (float)(exp((col[j * p] - col[win * p]) / tau) / total);
      out[j * p] = j == win ? v : -v;
    }
  }
  return y;
}

/* The SoftHebb surrogate loss (a scalar). */
static inline hg_tensor *hg_softhebb_loss(hg_tensor *u, hg_tensor *w, float tau) {
  int k = u->shape[1], p = (int)(u->numel / ((size_t)u->shape[0] * k));
  hg_tensor *yh = hg_softhebb_coefficients(u, tau);
  int qshape[HG_MAX_DIMS] = {k, 1, 1, 1};
  hg_tensor *half_q = yh ? hg_tensor_zeros(w->ndim, qshape) : NULL; /* ½ Σ ŷ_k u_k */
  for (size_t i = 0; half_q && i < u->numel; i++)
    half_q->data[(i / (size_t)p) % (size_t)k] += 0.5f * yh->data[i] * u->data[i];
  hg_tensor *yu = half_q ? hg_mul(yh, u) : NULL, *ww = yu ? hg_mul(w, w) : NULL;
  hg_tensor *decay = ww ? hg_mul(ww, half_q) : NULL;
  hg_tensor *a = decay ? hg_sum(yu, 0, NULL, false) : NULL, *b = a ? hg_sum(decay, 0, NULL, false) : NULL;
  hg_tensor *loss = b ? hg_sub(b, a) : NULL;
  hg_tensor *temps[] = {yh, half_q, yu, ww, decay, a, b};
  for (size_t i = 0; i < sizeof temps / sizeof temps[0]; i++) hg_tensor_free(temps[i]);
  return loss;
}

#endif
