/* Finite-difference gradient checking, for the ops of the table and for
 * users' own ops and losses (e.g. a new plasticity rule).
 *
 * f maps the inputs to an output tensor. The checker forms the scalar
 * L = Σ R ⊙ f(inputs) with a fixed random R, computes ∂L/∂x by hg_backward
 * and by central differences (L(x + ε) − L(x − ε)) / 2ε for every checked
 * element of every input that requires a gradient, and compares them. Inputs
 * that require no gradient must receive none. */
#ifndef HG_GRADCHECK_H
#define HG_GRADCHECK_H

#include <stdint.h>

#include "autograd/autograd.h"

typedef hg_tensor *(*hg_gradcheck_fn)(hg_tensor *const *inputs, void *ctx);

typedef struct hg_gradcheck_opts {
  float eps;        /* finite-difference step (default 1e-2; use x away from kinks) */
  float rtol, atol; /* pass when |analytic − numeric| ≤ atol + rtol·max(|a|, |n|) */
  int max_checks;   /* elements checked per input, sampled at random (default all) */
  uint64_t seed;    /* for R and the sampled elements */
} hg_gradcheck_opts;

typedef struct hg_gradcheck_result {
  int checked;          /* elements compared */
  int worst_input;      /* where the largest violation was (-1 if none) */
  long worst_index;
  double analytic, numeric; /* the two values there */
  double max_abs_err;
} hg_gradcheck_result;

/* Defaults: eps 1e-2, rtol 2e-2, atol 2e-3, all elements, seed 1. */
hg_gradcheck_opts hg_gradcheck_defaults(void);
/* HG_OK when every checked element agrees; HG_ERR_NUMERIC with a message
 * naming the input, the element and both values when one does not; other
 * statuses when f fails. opts may be NULL; result may be NULL. */
hg_status hg_gradcheck(hg_gradcheck_fn f, void *ctx, int n_in, hg_tensor *const *inputs,
                       const hg_gradcheck_opts *opts, hg_gradcheck_result *result);

#endif
