/* An op's spec: everything about one differentiable op, written side by side
 * in its family's file (e.g. autograd/ops_unary.c): its name, its forward
 * (which checks the shapes, computes the output and records the node), its
 * backward, the cases the op sweep (tests/test_ops.c) checks against a naive
 * reference and by finite differences, and the shapes bench_ops times. The
 * table (autograd/op_table.h) lists every spec; the sweep and the benchmark
 * walk it, so an op added to its family's list is tested and timed. */
#ifndef HG_OP_H
#define HG_OP_H

#include <stdint.h>

#include "autograd/autograd.h"

#define HG_OP_MAX_IN 5 /* batch norm: x, gamma, beta, running mean, running var */

/* How a case fills one input (flags may be combined). */
enum {
  HG_IN_GRAD = 1 << 0,     /* requires a gradient */
  HG_IN_SIGNED = 1 << 1,   /* every third value negated: |x| in [lo, hi), away from 0 */
  HG_IN_DISTINCT = 1 << 2, /* 0.1·(a shuffled 0..n−1) − 0.05·n: no two within 0.1, so no
                            * finite-difference step changes which element is the maximum */
  HG_IN_INTEGER = 1 << 3,  /* whole numbers in [lo, hi) (class labels) */
  HG_IN_DETACH = 1 << 4,   /* the op sees hg_detach(x) */
};

/* One input of a case: values uniform in [lo, hi) unless the flags say otherwise. */
typedef struct hg_op_input {
  int ndim;
  int shape[HG_MAX_DIMS];
  float lo, hi;
  unsigned flags;
} hg_op_input;

/* A case input of shape (dims…), values in [lo, hi): HG_IN(-1, 1, HG_IN_GRAD, 3, 4).
 * A scalar (no dims) is written out: {0, {0}, lo, hi, flags}. */
#define HG_IN(lo, hi, flags, ...) \
  {(int)(sizeof((int[]){__VA_ARGS__}) / sizeof(int)), {__VA_ARGS__}, (lo), (hi), (flags)}

/* Case flags. */
enum {
  HG_CASE_SQUARED = 1 << 0, /* gradient checked through y ⊙ y: a view, then a non-linear op */
};

/* One call of an op: its inputs and its scalar arguments. */
typedef struct hg_op_case {
  const char *label;              /* what is special: "broadcast [3,1]+[1,4]", "detached x" */
  int n_in;                       /* inputs past n_in are NULL (no bias, no affine) */
  hg_op_input in[HG_OP_MAX_IN];
  const void *args;               /* the family's argument struct, NULL when it takes none */
  unsigned flags;
} hg_op_case;

/* f(op, inputs, args): a forward, or the naive reference of its output. */
typedef hg_tensor *(*hg_op_fn)(const hg_op *op, hg_tensor *const *in, const void *args);

struct hg_op {
  const char *name;
  /* Checks the shapes (an error names the op and the shapes), returns the
   * output and records the node: the op itself, called with a case's
   * inputs and arguments. Ops of one family share it and differ by kernel. */
  hg_op_fn forward;
  /* The gradient of each input that needs one, from node->out->grad. */
  hg_status (*backward)(hg_node *node);
  /* The expected output, in plain loops (double where it sums), using no
   * kernel of the library: what the sweep compares the forward against. */
  hg_op_fn reference;
  const void *kernel;                   /* what this op's family needs of it (its loops, its kind) */
  const hg_op_case *cases;              /* checked by value and by finite differences */
  int n_cases;
  const hg_op_case *bench;              /* timed by bench_ops, forward and forward + backward */
  int n_bench;
};

/* The spec of op `op_name` whose forward, backward and reference are
 * PREFIX_forward, PREFIX_backward and PREFIX_reference (the prefix of its
 * family when ops share them, told apart by `kern`), with the static case
 * arrays `cases` and `bench`. */
#define HG_OP_SPEC(op_name, prefix, kern, cases_, bench_)                                     \
  {.name = (op_name), .forward = prefix##_forward, .backward = prefix##_backward,            \
   .reference = prefix##_reference, .kernel = (kern), .cases = (cases_),                     \
   .n_cases = (int)(sizeof(cases_) / sizeof((cases_)[0])), .bench = (bench_),                \
   .n_bench = (int)(sizeof(bench_) / sizeof((bench_)[0]))}

/* The inputs of case c, drawn from `seed`; in[i] is NULL for i ≥ c->n_in. */
hg_status hg_op_case_inputs(const hg_op_case *c, uint64_t seed, hg_tensor *in[HG_OP_MAX_IN]);
/* op->forward on the case's inputs, detaching those flagged HG_IN_DETACH. */
hg_tensor *hg_op_case_run(const hg_op *op, const hg_op_case *c, hg_tensor *const *in);
/* Frees the inputs of a case and sets them to NULL. */
void hg_op_case_free(hg_tensor *in[HG_OP_MAX_IN]);

/* For references: a scalar (0-dimensional) tensor holding v, or NULL. */
hg_tensor *hg_op_ref_scalar(double v);
/* For references: steps the 4-D index i through the 4-D shape s, the last
 * dimension fastest; false after the last index. */
bool hg_op_ref_next(const int s[4], int i[4]);
/* For references: size of dimension d (0..3) of a shape aligned to 4
 * dimensions from the right (1 where it has fewer dimensions). */
int hg_op_ref_dim(int ndim, const int *shape, int d);
/* For references: the offset of the 4-D index i in a tensor of this shape,
 * where a dimension of size 1 stays at 0 (broadcast or reduced). */
size_t hg_op_ref_offset(int ndim, const int *shape, const int i[4]);

#endif
