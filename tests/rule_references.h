/* The update of every built-in rule, ΔW/η, written from its formula with
 * plain loops in doubles — independently of the library's loss code — and
 * found by the rule's name. tests/test_hebb_rules.c checks each registered
 * rule against its reference and fails for a rule that has none. */
#ifndef HG_TEST_RULE_REFERENCES_H
#define HG_TEST_RULE_REFERENCES_H

#include "hebbgrad.h"

/* A layer's input as patches: x[(n·P + p)·D + d], N samples of P positions of D values. */
typedef struct hgt_patches {
  int n, p, d;
  double *x;
} hgt_patches;

typedef struct hgt_rule_in {
  const hgt_patches *pt;
  int k;              /* neurons */
  const float *w;     /* [K, D] */
  const float *y;     /* the spec's coefficients (competition r, u or relu(u)): y[(n·K + k)·P + p] */
  const float *opt;   /* the rule's option values */
  hg_aggregation agg;
  float *state;       /* the layer state before the step; left as expected after it (NULL: none) */
} hgt_rule_in;

/* delta[k·D + d] = ΔW/η. */
typedef void (*hgt_rule_reference)(const hgt_rule_in *in, double *delta);

/* The reference of the rule named `name`, or NULL. */
hgt_rule_reference hgt_rule_reference_of(const char *name);
/* The aggregation's factor of a kernel with coefficient sum ysum over `count`
 * (N·P) terms: 1, 1/(ysum + HG_AGG_EPS) or 1/count. */
double hgt_agg_factor(hg_aggregation agg, double ysum, int count);

#endif
