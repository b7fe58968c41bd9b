/* Hebb with weight decay as a surrogate loss, written with hebbgrad's public
 * API only:  Δw_k = η (Σ y_k x − λ w_k),  L = −Σ sg(y_k) u_k + ½ λ Σ_k ‖w_k‖²,
 * so −∂L/∂w_k = Δw_k / η. y comes from the spec's competition (none: y = u). */
#include <stdlib.h>

#include "decay_hebb.h"

static hg_tensor *decay_hebb_loss(const hg_rule_ctx *c, const hg_tensor *y) {
  int k = y->shape[1];
  double *ones = malloc(2 * (size_t)k * sizeof *ones), *lambda = ones + k;
  if (!ones) {
    hg_fail(HG_ERR_NOMEM, "decay-hebb: out of memory");
    return NULL;
  }
  for (int j = 0; j < k; j++) ones[j] = 1, lambda[j] = c->opt[0];
  hg_tensor *hebb = hg_hebbian_term(y, ones, c->u);            /* gradient −Σ y_k x */
  hg_tensor *decay = hebb ? hg_norm_term(c->w, lambda) : NULL; /* gradient λ w_k */
  hg_tensor *loss = decay ? hg_add(hebb, decay) : NULL;
  hg_tensor_free(hebb);
  hg_tensor_free(decay);
  free(ones);
  return loss;
}

const hg_rule_def decay_hebb_rule = {
    .name = "decay-hebb",
    .doc = "Hebb with weight decay: dw_k = sum y_k x - lambda w_k",
    .options = {{"lambda", 0.1f, 0, 100, false, "weight decay"}},
    .loss = decay_hebb_loss,
};
