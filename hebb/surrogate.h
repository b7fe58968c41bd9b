/* Building blocks of surrogate losses: scalar terms whose gradient with
 * respect to the weights is one part of a rule's update, −∂L/∂W = ΔW/η.
 *
 * A rule's coefficients (y, a competition's r, a sum like Σ y u) are computed
 * from the current values and enter a term as constants; u = W·x (recorded
 * from W with a detached x) is the only path from W to L, so
 * −∂(Σ a ⊙ u)/∂W = Σ a x for any stride and padding; a term quadratic in W
 * gives the decay parts (−q_k w_k). Sums run over samples n and positions p;
 * y and u are [N,K] (linear) or [N,K,OH,OW] (convolution), w is [K,D] or
 * [K,C,kh,kw]. Per-kernel arrays (c, q) hold K doubles. */
#ifndef HG_SURROGATE_H
#define HG_SURROGATE_H

#include "hebb/registry.h"

/* Sizes of y seen as [N, K, P] around the neuron axis (dimension 1 of a 2-D or 4-D y). */
void hg_rule_dims(const hg_tensor *y, int *n, int *k, int *p);
/* out[k] = Σ_{n,p} y_k^power, power 1 or 2. */
void hg_kernel_sums(const hg_tensor *y, int power, double *out);
/* out[k] = 1 (sum), 1/(Σ y_k + HG_AGG_EPS) (mean) or 1/(N·P) (avg); under a
 * batch sync (autograd/batch_sync.h) Σ and N run over every process's rows. */
hg_status hg_aggregation_factors(hg_aggregation agg, const hg_tensor *y, double *out);

/* −Σ sg(c_k y_k) u_k; gradient −Σ c_k y_k x. */
hg_tensor *hg_hebbian_term(const hg_tensor *y, const double *c, hg_tensor *u);
/* ½ Σ_k sg(q_k) ‖w_k‖²; gradient q_k w_k. */
hg_tensor *hg_norm_term(hg_tensor *w, const double *q);
/* Σ w ⊙ sg(m), m shaped like w; gradient m. */
hg_tensor *hg_weight_term(hg_tensor *w, hg_tensor *m);
/* −Σ sg(c_k y_k) u_k + ½ Σ_k sg(c_k Σ y_k^power) ‖w_k‖², c the factors of the
 * context's aggregation: −∂L/∂w_k = c_k Σ y_k (x − y_k^(power−1) w_k); power 1
 * (instar), 2 (Oja), or 0 for no second term (plain Hebb). */
hg_tensor *hg_hebbian_loss(const hg_rule_ctx *c, const hg_tensor *y, int power);
/* Σ_{n,p} a_k x: the Hebbian product of coefficients a (shaped like u) with
 * the layer's input (patches of the convolution), shaped like w. No gradient. */
hg_tensor *hg_hebbian_product(const hg_rule_ctx *c, const hg_tensor *a);
/* Σ_{n,p} g_k x − (Σ_{n,p} g_k h_k) w_k, shaped like w: an Oja-like update
 * (SoftHebb with h = u, Krotov–Hopfield with h = ⟨w, x⟩_p); g, h shaped like u. */
hg_tensor *hg_hebbian_delta(const hg_rule_ctx *c, const hg_tensor *g, const hg_tensor *h);

/* Contrastive Hebbian learning (seed 000): Δw = η Σ (y⁺x⁺ − y⁻x⁻);
 * L = −Σ y⁺ u⁺ + Σ y⁻ u⁻, with u± recorded from the same W. Not a registered
 * rule: it needs two phases (free and clamped) of the same layer. */
hg_tensor *hg_chl_loss(hg_tensor *u_plus, const hg_tensor *y_plus, hg_tensor *u_minus,
                       const hg_tensor *y_minus);

#endif
