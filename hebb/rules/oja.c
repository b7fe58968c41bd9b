/* Oja: Δw_k = η c_k Σ y_k (x − y_k w_k);  L = −Σ sg(c_k y_k) u_k + ½ Σ_k sg(c_k Σ y_k²) ‖w_k‖². */
#include "hebb/builtins.h"
#include "hebb/surrogate.h"

static hg_tensor *oja_loss(const hg_rule_ctx *c, const hg_tensor *y) { return hg_hebbian_loss(c, y, 2); }

const hg_rule_def hg_rule_oja = {
    .name = "oja",
    .doc = "Oja: dw_k = sum y_k (x - y_k w_k)",
    .aggregations = HG_AGG_ALL,
    .aggregation = HG_AGG_MEAN,
    .loss = oja_loss};
