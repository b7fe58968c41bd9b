/* Reverse-mode autodiff on an eager tape.
 *
 * Every op checks shapes, computes its output at once and, when grad mode is
 * on and some input requires a gradient, appends a node to the thread's tape.
 * hg_backward() walks the tape in reverse and runs a node's backward only when
 * its output received a gradient; inside, an op computes the gradient of an
 * input only when that input requires one (a detached input costs nothing).
 *
 * Memory: the tape holds references to every tensor a node uses, so freeing a
 * tensor the tape still refers to is safe (and frees it as early as possible).
 * A node lets go of its tensors and its output's gradient as soon as its
 * backward has run, so the backward frees the activations above it as it
 * goes down: the ops a backward ran are not run again (a gradient that
 * reaches them is an HG_ERR_STATE), while ops it did not reach, and a new
 * forward recorded on the same tape, can be run by a later backward.
 * hg_tape_clear() drops the rest; leaf gradients accumulate until zeroed. */
#ifndef HG_AUTOGRAD_H
#define HG_AUTOGRAD_H

#include "tensor/tensor.h"

#define HG_NODE_MAX_IN 3
#define HG_NODE_MAX_SAVED 3

typedef struct hg_node hg_node;

/* An op's spec (autograd/op.h): its name, forward, backward and test cases. */
typedef struct hg_op hg_op;

/* Scalar arguments an op keeps for its backward. */
typedef struct hg_op_args {
  int i[8];
  float f[4];
} hg_op_args;

struct hg_node {
  const hg_op *op;
  int n_in;
  hg_tensor *in[HG_NODE_MAX_IN];       /* NULL entries are allowed (optional bias) */
  hg_tensor *out;
  hg_tensor *saved[HG_NODE_MAX_SAVED]; /* extra tensors kept for backward */
  hg_op_args args;
};

/* Grad mode (on by default): off means ops record nothing. Returns the previous mode. */
bool hg_set_grad_enabled(bool enabled);
bool hg_grad_enabled(void);

/* Mark a leaf as needing a gradient (parameters). */
void hg_requires_grad(hg_tensor *t, bool requires);
/* Stop-gradient: a view of t's data that no gradient flows through. */
hg_tensor *hg_detach(hg_tensor *t);

/* Append a node for `op` when grad mode is on and some input requires a
 * gradient; marks `out` as requiring one. *node is NULL when nothing was
 * recorded (the op then needs to save nothing). */
hg_status hg_record(const hg_op *op, hg_tensor *out, int n_in, hg_tensor *const *in,
                    hg_node **node);
/* hg_record for an op's new output: returns out, or frees it and returns
 * NULL when recording fails. */
hg_tensor *hg_record_output(const hg_op *op, hg_tensor *out, int n_in, hg_tensor *const *in,
                            hg_node **node);
/* Keep `t` (a new reference is taken) in node->saved[slot]. */
void hg_node_save(hg_node *node, int slot, hg_tensor *t);
/* True when the input needs a gradient from this node. */
static inline bool hg_needs_grad(const hg_tensor *t) { return t && t->requires_grad; }

/* The gradient buffer of t for a backward to write into. *accumulate is false
 * when the buffer holds nothing yet (write with =), true otherwise (+=). */
hg_tensor *hg_grad_acquire(hg_tensor *t, bool *accumulate);
/* Same for an input of an element-wise node whose output has x's shape: when
 * x has no gradient yet, the output's gradient buffer (dropped after this
 * node anyway) becomes x's, so the backward writes in place and no buffer is
 * allocated; read each element of node->out->grad before writing it. */
hg_tensor *hg_grad_acquire_in_place(hg_node *node, hg_tensor *x, bool *accumulate);
/* True when node->out->grad is dropped after this node's backward and
 * nothing else holds it: the backward may overwrite it. */
bool hg_out_grad_disposable(const hg_node *node);

/* One input's share of a backward: grad is the buffer of node->in[i] from
 * hg_grad_acquire, to be written (=) or, when accumulate, added to (+=). */
typedef hg_status (*hg_input_grad_fn)(hg_node *node, int i, hg_tensor *grad, bool accumulate);
/* A backward in the usual form: f for every input that needs a gradient, in
 * order; stops at the first status that is not HG_OK. */
hg_status hg_grad_inputs(hg_node *node, hg_input_grad_fn f);

/* d(loss)/d(leaf) for every leaf that requires a gradient; loss has 1 element.
 * Backward through ops an earlier backward ran is an HG_ERR_STATE. */
hg_status hg_backward(hg_tensor *loss);
/* Same, seeding the output's gradient with `grad_out` (same shape as out). */
hg_status hg_backward_from(hg_tensor *out, const hg_tensor *grad_out);
/* Drop every node of this thread's tape and the intermediate gradients. */
void hg_tape_clear(void);
/* Number of nodes on this thread's tape. */
int hg_tape_size(void);
/* The gradient a leaf (a parameter) has accumulated since it was last zeroed; NULL before any. */
const hg_tensor *hg_grad(const hg_tensor *param);
/* Set a leaf's gradient to zero (keeps the buffer). */
void hg_zero_grad(hg_tensor *t);

#endif
