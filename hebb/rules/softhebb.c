/* SoftHebb (Journé, Garcia Rodriguez, Guo, Moraitis, ICLR 2023) as its
 * reference code does it (github.com/NeuromorphicComputing/SoftHebb,
 * hebbconv.py: HebbSoftKrotovConv2d, mode 0; update_lr with power_lr):
 *
 *   y = softmax(t·u) over the K neurons, per sample and position;
 *   ŷ_k = y_k for the winner (the largest u), −y_k for every other neuron;
 *   Δ_k = Σ ŷ_k x − (Σ ŷ_k u_k) w_k;
 *   ΔW_k/η = (|‖w_k‖ − 1| + 1e-10)^power · Δ_k / (max_{j,d} |Δ_jd| + 1e-30).
 *
 * The normalisation by max|Δ| and the norm-dependent rate are computed from
 * the current values, so they are constants of the step: the loss is
 * L = Σ W ⊙ sg(−ΔW/η), and −∂L/∂W = ΔW/η exactly. Written with the public
 * API only. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "hebb/builtins.h"
#include "hebb/surrogate.h"
#include "tensor/vmath.h"

enum { T, POWER };

/* ŷ of one sample: u and y are [k][p] (neuron j's values at row j), the
 * positions side by side so that every loop runs along them; top, total
 * and win hold p values each. */
static void soft_winners(const float *u, float *y, int k, int p, float t, float *top, float *total, int *win) {
  for (int q = 0; q < p; q++) {
    top[q] = u[q];
    win[q] = 0;
    total[q] = 0;
  }
  for (int j = 1; j < k; j++)
#pragma omp simd
    for (int q = 0; q < p; q++) {
      bool above = u[(size_t)j * p + q] > top[q];
      top[q] = above ? u[(size_t)j * p + q] : top[q];
      win[q] = above ? j : win[q];
    }
  for (int j = 0; j < k; j++) {
    float *yj = y + (size_t)j * p;
    const float *uj = u + (size_t)j * p;
#pragma omp simd
    for (int q = 0; q < p; q++) yj[q] = (uj[q] - top[q]) * t;
    hg_vexp(yj, yj, (size_t)p);
#pragma omp simd
    for (int q = 0; q < p; q++) total[q] += yj[q];
  }
  for (int q = 0; q < p; q++) total[q] = 1 / total[q];
  for (int j = 0; j < k; j++)
#pragma omp simd
    for (int q = 0; q < p; q++) y[(size_t)j * p + q] *= j == win[q] ? total[q] : -total[q];
}

/* ŷ from u: softmax(t·u) over dimension 1, sign flipped for all but the winner. */
static hg_tensor *softhebb_coefficients(const hg_rule_ctx *c) {
  int n, k, p;
  hg_rule_dims(c->u, &n, &k, &p);
  hg_tensor *y = hg_tensor_empty(c->u->ndim, c->u->shape);
  bool failed = !y;
#pragma omp parallel if ((size_t)n * k * p > 32768)
  {
    float *scratch = y ? malloc((size_t)p * (2 * sizeof(float) + sizeof(int))) : NULL;
    if (!scratch) {
#pragma omp atomic write
      failed = true;
    }
#pragma omp for
    for (int i = 0; i < n; i++)
      if (scratch)
        soft_winners(c->u->data + (size_t)i * k * p, y->data + (size_t)i * k * p, k, p, c->opt[T], scratch,
                     scratch + p, (int *)(scratch + 2 * (size_t)p));
    free(scratch);
  }
  if (failed) {
    hg_tensor_free(y);
    hg_fail(HG_ERR_NOMEM, "softhebb: out of memory");
    return NULL;
  }
  return y;
}

/* snippet loss */
/* −ΔW/η from Δ (in place): each row times its rate, all over max|Δ|. */
static void scale_delta(hg_tensor *delta, const hg_tensor *w, float power) {
  size_t fan = w->numel / (size_t)w->shape[0];
  float top = 0;
#pragma omp parallel for reduction(max : top) if (delta->numel > 32768)
  for (size_t i = 0; i < delta->numel; i++) top = fabsf(delta->data[i]) > top ? fabsf(delta->data[i]) : top;
#pragma omp parallel for if (delta->numel > 32768)
  for (int k = 0; k < w->shape[0]; k++) {
    double norm = 0;
    for (size_t d = 0; d < fan; d++) norm += (double)w->data[k * fan + d] * w->data[k * fan + d];
    float rate = (float)pow(fabs(sqrt(norm) - 1.0) + 1e-10, power);
    for (size_t d = 0; d < fan; d++) delta->data[k * fan + d] *= -rate / (top + 1e-30f);
  }
}

static hg_tensor *softhebb_loss(const hg_rule_ctx *c, const hg_tensor *y) {
  hg_tensor *delta = hg_hebbian_delta(c, y, c->u); /* Δ = Σ ŷ x − (Σ ŷ u) w */
  if (!delta) return NULL;
  scale_delta(delta, c->w, c->opt[POWER]);
  hg_tensor *loss = hg_weight_term(c->w, delta); /* Σ W ⊙ sg(−ΔW/η) */
  hg_tensor_free(delta);
  return loss;
}
/* end snippet loss */

const hg_rule_def hg_rule_softhebb = {
    .name = "softhebb",
    .doc = "SoftHebb (Journe 2023): y = +-softmax(t u), dw = rate (sum y x - sum y u w) / max|dw|",
    .options = {{"t", 1, 1e-6f, 1e6f, false, "inverse temperature of the softmax"},
                {"power", 0.5f, 0, 10, false, "neuron k's rate is |(|w_k| - 1)|^power"}},
    .coefficients = softhebb_coefficients,
    .loss = softhebb_loss};
