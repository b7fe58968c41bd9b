/* The gradient-equals-delta check of a rule, shared by the rule tests: a
 * Linear layer or a Conv2d with stride 2 and padding 1, a random input, one
 * surrogate loss and backward through hg_plasticity_loss, and −∂L/∂W
 * compared with a reference written with plain loops. */
#ifndef HG_TEST_RULE_CHECK_H
#define HG_TEST_RULE_CHECK_H

#include "tests/rule_references.h"

/* The relative error of −∂L/∂W against ref for plasticity p (parsed; its
 * state, when the rule has one, is set to a threshold under way), or that of
 * the layer state after the step when larger. */
double hgt_rule_error(hg_plasticity p, bool conv, hgt_rule_reference ref);
/* The input of layer-sized x as patches (test_free(pt.x)): a linear layer's
 * x [N,D], or the Conv2d's (stride 2, padding 1, 3x3 kernels) x [N,C,H,W]. */
hgt_patches hgt_patches_of(const hg_tensor *x, int oh, int ow);
/* Relative L2 error of got against ref. */
double hgt_relative_error(const float *got, const double *ref, size_t n);

#endif
