/* How one Hebbian (H) layer learns: its rule, the competition that decides
 * who learns, the aggregation over positions, and the interventions of seed
 * 004 (fixed pruning masks, unit-norm weights). Sparse plasticity with a
 * denser output comes for free: the competition here decides who learns,
 * while the next layers of the net (e.g. a triangle activation) decide what
 * is passed on. */
#ifndef HG_PLASTICITY_H
#define HG_PLASTICITY_H

#include "hebb/competition.h"
#include "hebb/rules.h"
#include "nn/layer.h"

typedef struct hg_plasticity {
  hg_rule rule;
  hg_competition comp; /* HG_COMP_NONE: y = u, or relu(u) with relu_y */
  hg_aggregation agg;
  bool cosine;         /* compete on u_k/(‖w_k‖‖x‖) instead of u_k */
  bool relu_y;         /* y = relu(u) for the rules without competition (nonlinear HPCA) */
  bool unit_norm;      /* w_k ← w_k/‖w_k‖ after every step */
  float prune;         /* fraction of weights removed by a fixed random mask */
  hg_tensor *mask;     /* that mask (1 keeps), shaped like W; NULL when prune = 0 */
} hg_plasticity;

/* Parse "RULE[/COMPETITION][/OPTION...]" with options sum, mean, avg, cosine, relu,
 * unitnorm, prune=F — e.g. "instar/e-soft-wta:0.02/mean", "hpca/none/relu/avg",
 * "instar/1-wta/sum/unitnorm/prune=0.99". Defaults: mean aggregation. */
hg_status hg_plasticity_parse(const char *text, hg_plasticity *out);
/* Draw the pruning mask for `weight` (when prune > 0) and apply it. */
hg_status hg_plasticity_init(hg_plasticity *p, hg_tensor *weight, hg_rng *rng);
void hg_plasticity_release(hg_plasticity *p);

/* The coefficients y (or r) for output u of a layer with weights w and input x. */
hg_tensor *hg_plasticity_coefficients(const hg_plasticity *p, const hg_layer *l, hg_tensor *u,
                                      const hg_tensor *x, const int *labels);
/* The layer's surrogate loss for this batch: u = layer output, x = its input. */
hg_tensor *hg_plasticity_loss(const hg_plasticity *p, hg_layer *l, hg_tensor *u, const hg_tensor *x,
                              const int *labels);
/* After an optimizer step: re-apply the pruning mask, renormalise. */
void hg_plasticity_after_step(const hg_plasticity *p, hg_layer *l);

#endif
