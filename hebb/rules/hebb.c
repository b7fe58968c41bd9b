/* Plain Hebb: Δw_k = η c_k Σ y_k x;  L = −Σ sg(c_k y_k) u_k (c: the aggregation). */
#include "hebb/builtins.h"
#include "hebb/surrogate.h"

static hg_tensor *hebb_loss(const hg_rule_ctx *c, const hg_tensor *y) { return hg_hebbian_loss(c, y, 0); }

const hg_rule_def hg_rule_hebb = {
    .name = "hebb",
    .doc = "plain Hebb: dw_k = sum y_k x",
    .aggregations = HG_AGG_ALL,
    .aggregation = HG_AGG_MEAN,
    .loss = hebb_loss};
