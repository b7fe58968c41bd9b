/* Grossberg's instar (competitive learning, the teacher neuron with r):
 * Δw_k = η c_k Σ y_k (x − w_k);  L = −Σ sg(c_k y_k) u_k + ½ Σ_k sg(c_k Σ y_k) ‖w_k‖². */
#include "hebb/builtins.h"
#include "hebb/surrogate.h"

static hg_tensor *instar_loss(const hg_rule_ctx *c, const hg_tensor *y) { return hg_hebbian_loss(c, y, 1); }

const hg_rule_def hg_rule_instar = {
    .name = "instar",
    .aliases = {"competitive"},
    .doc = "Grossberg instar, competitive learning: dw_k = sum y_k (x - w_k)",
    .aggregations = HG_AGG_ALL,
    .aggregation = HG_AGG_MEAN,
    .loss = instar_loss};
