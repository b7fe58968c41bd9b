/* Gradient-check cases, one array per op family (tests/gradcases_*.c).
 * tests/test_gradcheck.c runs them all and fails when an op of the table
 * has no case. */
#ifndef HG_GRADCASES_H
#define HG_GRADCASES_H

#include "tests/helpers.h"

typedef struct hgt_gradcase {
  const char *op;    /* name in hg_op_table that this case covers */
  const char *label; /* what is special: "broadcast [3,1]x[1,4]", "stride 2 pad 1, detached x" */
  void (*run)(void); /* builds inputs, calls hg_gradcheck, asserts HG_OK with cmocka */
} hgt_gradcase;

/* Runs hg_gradcheck and fails the test with its message when it fails. */
void hgt_gradcheck(const char *label, hg_gradcheck_fn f, void *ctx, int n_in,
                   hg_tensor *const *inputs, const hg_gradcheck_opts *opts);

extern const hgt_gradcase hgt_gradcases_elementwise[];
extern const int hgt_gradcases_elementwise_count;
extern const hgt_gradcase hgt_gradcases_conv[];
extern const int hgt_gradcases_conv_count;
extern const hgt_gradcase hgt_gradcases_nn[];
extern const int hgt_gradcases_nn_count;

#endif
