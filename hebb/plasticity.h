/* How one Hebbian (H) layer learns: its rule (a registered hg_rule_def with
 * its option values), the competition that decides who learns, the
 * aggregation over positions, and the interventions of seed 004 (fixed
 * pruning masks, unit-norm weights). Sparse plasticity with a denser output
 * comes for free: the competition here decides who learns, while the next
 * layers of the net (e.g. a triangle activation) decide what is passed on. */
#ifndef HG_PLASTICITY_H
#define HG_PLASTICITY_H

#include "hebb/competition.h"
#include "hebb/registry.h"
#include "nn/layer.h"

enum { HG_MAX_RULES = 16 }; /* per-layer rules of one spec list */

typedef struct hg_plasticity {
  const hg_rule_def *rule;
  float opt[HG_MAX_OPTIONS]; /* the rule's option values, in the order of rule->options */
  hg_competition comp;       /* "none": y = u, or relu(u) with relu_y */
  hg_aggregation agg;
  bool cosine;               /* compete on u_k/(‖w_k‖‖x‖) instead of u_k */
  bool relu_y;               /* y = relu(y): for rules without competition, y = relu(u) (nonlinear HPCA) */
  bool unit_norm;            /* w_k ← w_k/‖w_k‖ after every step */
  float prune;               /* fraction of weights removed by a fixed random mask */
  float lr;                  /* this layer's Hebbian learning rate; 0: the trainer's */
  hg_tensor *mask;           /* that mask (1 keeps), shaped like W; NULL when prune = 0 */
  hg_tensor *state;          /* the rule's state of this layer (rule->state_new); NULL when none */
} hg_plasticity;

/* Parse "RULE[/COMPETITION][/OPTION...]": a registered rule (hebb/registry.h),
 * a registered competition (default none), then options sum, mean, avg,
 * cosine, relu, unitnorm, prune=F, lr=F (this layer's learning rate) and the
 * rule's own NAME=VALUE — e.g.
 * "instar/e-soft-wta:0.02/mean", "hpca/none/relu/avg",
 * "instar/1-wta/sum/unitnorm/prune=0.99", "krotov/p=3/k=2". Defaults: the
 * rule's aggregation and option values. Nothing is allocated. */
hg_status hg_plasticity_parse(const char *text, hg_plasticity *out);
/* Parse "SPEC[+SPEC...]", one spec per Hebbian layer from the bottom (a
 * single spec serves every layer), into out[0..max); the count, or −1 with
 * the error of the first bad spec. E.g. SoftHebb's three layers:
 * "softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01". */
int hg_plasticity_parse_list(const char *text, hg_plasticity *out, int max);
/* The spec of p as hg_plasticity_parse reads it back, in buf (returned). */
const char *hg_plasticity_name(const hg_plasticity *p, char *buf, size_t size);
/* For a layer with `weight`: draw the pruning mask (when prune > 0) and apply
 * it, make the rule's state. */
hg_status hg_plasticity_init(hg_plasticity *p, hg_tensor *weight, hg_rng *rng);
/* Free the mask and the state. */
void hg_plasticity_release(hg_plasticity *p);

/* The coefficients y for output u of layer l with input x: the rule's own,
 * or the competition's r (u when "none"), relu'd with relu_y. */
hg_tensor *hg_plasticity_coefficients(const hg_plasticity *p, const hg_layer *l, hg_tensor *u,
                                      hg_tensor *x, const int *labels);
/* The layer's surrogate loss for this batch: u = layer output, x = its input.
 * −∂L/∂W is the rule's ΔW/η (see each rule's doc); the rule may update p->state. */
hg_tensor *hg_plasticity_loss(const hg_plasticity *p, hg_layer *l, hg_tensor *u, hg_tensor *x,
                              const int *labels);
/* After an optimizer step: re-apply the pruning mask, renormalise. */
void hg_plasticity_after_step(const hg_plasticity *p, hg_layer *l);

#endif
