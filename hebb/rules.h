/* Hebbian rules as surrogate losses: −∂L/∂W = ΔW/η exactly (up to rounding).
 *
 * u is the pre-activation W·x of a Linear ([N,K]) or Conv2d ([N,K,OH,OW])
 * layer, recorded on the tape from W with a detached x, so the gradient of L
 * reaches W alone. y holds the per-neuron coefficients under stop-gradient:
 * y = f(u) for the plain rules, r from hebb/competition.h for competitive
 * and supervised ones. Sums run over samples n and positions p:
 *
 *   hebb     Δw_k = η Σ y_k x                  L = −Σ y_k u_k
 *   instar   Δw_k = η Σ y_k (x − w_k)          L = −Σ y_k u_k + ½ Σ_k (Σ y_k) ‖w_k‖²
 *   oja      Δw_k = η Σ y_k (x − y_k w_k)      L = −Σ y_k u_k + ½ Σ_k (Σ y_k²) ‖w_k‖²
 *   hpca     Δw_k = η Σ y_k (x − Σ_{j≤k} y_j w_j)
 *                                              L = −Σ y_k u_k + Σ_k w_k · (Σ_{j≤k} C_kj w_j), C = Σ y yᵀ
 *
 * Competitive learning and the teacher neuron are instar with y = r.
 * Aggregation over samples and positions: HG_AGG_SUM as written,
 * HG_AGG_MEAN, the weighted average of seeds 002/003 (kernel k's terms times
 * 1/(Σ y_k + ε)), or HG_AGG_AVG, the plain average (times 1/(N·P), N samples
 * of P positions) that seed 001's HPCA uses. */
#ifndef HG_RULES_H
#define HG_RULES_H

#include "autograd/autograd.h"

typedef enum hg_rule { HG_RULE_HEBB, HG_RULE_INSTAR, HG_RULE_OJA, HG_RULE_HPCA, HG_RULE_COUNT } hg_rule;
typedef enum hg_aggregation { HG_AGG_SUM, HG_AGG_MEAN, HG_AGG_AVG } hg_aggregation;

#define HG_AGG_EPS 1e-8f

/* Parse "hebb", "instar" (or "competitive"), "oja", "hpca" (or "sanger"). */
hg_status hg_rule_parse(const char *text, hg_rule *out);
/* The rule's name ("hebb", …); NULL for a value outside [0, HG_RULE_COUNT). */
const char *hg_rule_name(hg_rule rule);

/* The rule's surrogate loss (a scalar) for weights w [K,D] or [K,C,kh,kw]. */
hg_tensor *hg_hebb_loss(hg_rule rule, hg_aggregation agg, hg_tensor *u, hg_tensor *w,
                        const hg_tensor *y);

/* Contrastive Hebbian learning (seed 000): Δw = η Σ (y⁺x⁺ − y⁻x⁻);
 * L = −Σ y⁺ u⁺ + Σ y⁻ u⁻, with u± recorded from the same W. */
hg_tensor *hg_chl_loss(hg_tensor *u_plus, const hg_tensor *y_plus, hg_tensor *u_minus,
                       const hg_tensor *y_minus);

#endif
