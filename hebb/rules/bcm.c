/* BCM (Bienenstock, Cooper, Munro 1982) with a sliding threshold, as used
 * with lateral inhibition by Nimmo & Mondragón (Neural Networks 2025): y are
 * the layer's coefficients (the spec's competition, e.g. wta, or u / relu(u)),
 * θ_k a running average of y_k² kept as the layer's state:
 *
 *   θ_k ← (1 − ρ) θ_k + ρ · mean_{n,p} y_k²   (θ starts at 0; updated first);
 *   ΔW_k/η = c_k Σ y_k (y_k − θ_k) x, c the aggregation's factors of y;
 *   L = −Σ sg(c_k y_k (y_k − θ_k)) u_k, so −∂L/∂W = ΔW/η. */
#include <stdlib.h>

#include "hebb/builtins.h"
#include "hebb/surrogate.h"

enum { RATE };

static hg_tensor *bcm_state(const hg_tensor *w, const float *opt) {
  (void)opt;
  return hg_tensor_zeros(HG_SHAPE(w->shape[0]));
}

/* θ ← (1 − ρ)θ + ρ·mean y², then φ = y ⊙ (y − θ). */
static hg_tensor *modification(const hg_rule_ctx *c, const hg_tensor *y, double *sq) {
  int n, k, p;
  hg_rule_dims(y, &n, &k, &p);
  hg_kernel_sums(y, 2, sq);
  float *theta = c->state->data;
  for (int j = 0; j < k; j++)
    theta[j] = (float)((1.0 - c->opt[RATE]) * theta[j] + c->opt[RATE] * sq[j] / ((double)n * p));
  hg_tensor *phi = hg_tensor_empty(y->ndim, y->shape);
  for (size_t i = 0; phi && i < y->numel; i++)
    phi->data[i] = y->data[i] * (y->data[i] - theta[(i / (size_t)p) % (size_t)k]);
  return phi;
}

static hg_tensor *bcm_loss(const hg_rule_ctx *c, const hg_tensor *y) {
  double *f = malloc((size_t)y->shape[1] * sizeof *f);
  hg_tensor *phi = f ? modification(c, y, f) : NULL, *loss = NULL;
  if (phi && hg_aggregation_factors(c->agg, y, f) == HG_OK) {
    loss = hg_hebbian_term(phi, f, c->u);
  } else if (!f) {
    hg_fail(HG_ERR_NOMEM, "bcm: out of memory");
  }
  hg_tensor_free(phi);
  free(f);
  return loss;
}

const hg_rule_def hg_rule_bcm = {
    .name = "bcm",
    .doc = "BCM: dw_k = sum y_k (y_k - theta_k) x, theta_k a running mean of y_k^2",
    .options = {{"rate", 0.1f, 0, 1, false, "rate of theta's running average"}},
    .aggregations = HG_AGG_ALL,
    .aggregation = HG_AGG_AVG,
    .loss = bcm_loss,
    .state_new = bcm_state};
