/* Krotov & Hopfield, "Unsupervised learning by competing hidden units"
 * (PNAS 2019), as their notebook does it (github.com/DimaKrotov/
 * Biological_Learning, Unsupervised_learning_algorithm_MNIST.ipynb):
 *
 *   h_k = ⟨w_k, x⟩_p = Σ_d sign(w_kd) |w_kd|^(p−1) x_d (h = u for p = 2);
 *   g_k = 1 for the largest h, −Δ for the k-th largest, 0 otherwise,
 *         per sample and position (ties: the lower index ranks first);
 *   D_k = Σ g_k x − (Σ g_k h_k) w_k;
 *   ΔW/η = D / max(max_{j,d} |D_jd|, 1e-30).
 *
 * The normalisation is computed from the current values, a constant of the
 * step: L = Σ W ⊙ sg(−ΔW/η), and −∂L/∂W = ΔW/η exactly. Written with the
 * public API only. */
#include <math.h>

#include "autograd/ops.h"
#include "hebb/builtins.h"
#include "hebb/surrogate.h"

enum { P, RANK, DELTA };

/* h = ⟨w, x⟩_p: u itself for p = 2, else the layer's map with sign(w)|w|^(p−1). */
static hg_tensor *overlap(const hg_rule_ctx *c) {
  if (c->opt[P] == 2) return hg_tensor_retain(c->u);
  hg_tensor *wp = hg_tensor_empty(c->w->ndim, c->w->shape);
  if (!wp) return NULL;
  for (size_t i = 0; i < wp->numel; i++)
    wp->data[i] = copysignf(powf(fabsf(c->w->data[i]), c->opt[P] - 1), c->w->data[i]);
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *h = c->u->ndim == 2 ? hg_linear(c->x, wp, NULL) : hg_conv2d(c->x, wp, NULL, c->stride, c->pad);
  hg_set_grad_enabled(grad);
  hg_tensor_free(wp);
  return h;
}

/* Does neuron a rank before neuron b (larger h, ties by index)? */
static bool before(const float *col, int p, int a, int b) {
  return col[a * p] > col[b * p] || (col[a * p] == col[b * p] && a < b);
}

/* The neuron of rank `rank` (0: the largest) of one column, stride p apart. */
static int ranked(const float *col, int k, int p, int rank) {
  int prev = -1, best = -1;
  for (int r = 0; r <= rank; r++, prev = best) {
    best = -1;
    for (int j = 0; j < k; j++)
      if ((prev < 0 || before(col, p, prev, j)) && (best < 0 || before(col, p, j, best))) best = j;
  }
  return best;
}

static hg_tensor *krotov_coefficients(const hg_rule_ctx *c) {
  int n, k, p, rank = (int)c->opt[RANK];
  hg_rule_dims(c->u, &n, &k, &p);
  if (rank > k) {
    hg_fail(HG_ERR_ARG, "krotov: rank k = %d for %d neurons", rank, k);
    return NULL;
  }
  hg_tensor *h = overlap(c), *g = h ? hg_tensor_zeros(h->ndim, h->shape) : NULL;
  for (int i = 0; g && i < n * p; i++) {
    size_t at = (size_t)(i / p) * k * p + i % p; /* neuron j at at + j·p */
    g->data[at + (size_t)ranked(h->data + at, k, p, rank - 1) * p] = -c->opt[DELTA];
    g->data[at + (size_t)ranked(h->data + at, k, p, 0) * p] = 1;
  }
  hg_tensor_free(h);
  return g;
}

static hg_tensor *krotov_loss(const hg_rule_ctx *c, const hg_tensor *g) {
  hg_tensor *h = overlap(c), *delta = h ? hg_hebbian_delta(c, g, h) : NULL; /* D */
  float top = 0;
  for (size_t i = 0; delta && i < delta->numel; i++) top = fmaxf(top, fabsf(delta->data[i]));
  for (size_t i = 0; delta && i < delta->numel; i++) delta->data[i] /= -fmaxf(top, 1e-30f);
  hg_tensor *loss = delta ? hg_weight_term(c->w, delta) : NULL; /* Σ W ⊙ sg(−ΔW/η) */
  hg_tensor_free(h);
  hg_tensor_free(delta);
  return loss;
}

const hg_rule_def hg_rule_krotov = {
    .name = "krotov",
    .doc = "Krotov-Hopfield: g = 1 at the top h = <w,x>_p, -delta at the k-th; "
           "dw = (sum g x - sum g h w) / max|dw|",
    .options = {{"p", 2, 1, 10, false, "Lebesgue norm of the weights"},
                {"k", 2, 2, 1e6f, true, "rank of the anti-Hebbian neuron"},
                {"delta", 0.4f, 0, 100, false, "strength of the anti-Hebbian learning"}},
    .coefficients = krotov_coefficients,
    .loss = krotov_loss};
