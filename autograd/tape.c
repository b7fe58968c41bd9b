#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/op.h"
#include "tensor/alloc.h"

typedef struct tape {
  hg_node **nodes;
  int size, capacity;
} tape;

static _Thread_local tape the_tape;
static _Thread_local bool grad_disabled;

bool hg_set_grad_enabled(bool enabled) {
  bool previous = !grad_disabled;
  grad_disabled = !enabled;
  return previous;
}

bool hg_grad_enabled(void) { return !grad_disabled; }

void hg_requires_grad(hg_tensor *t, bool requires) { t->requires_grad = requires; }

hg_tensor *hg_detach(hg_tensor *t) {
  hg_tensor *d = hg_tensor_view(t, t->ndim, t->shape);
  if (d) d->requires_grad = false;
  return d;
}

/* A thread's tape is released when the thread ends (the key's destructor). */
static pthread_key_t tape_key;
static pthread_once_t tape_key_once = PTHREAD_ONCE_INIT;

static void tape_release(void *unused) {
  (void)unused;
  hg_tape_clear();
  free(the_tape.nodes);
  the_tape = (tape){0};
}

static void tape_key_create(void) { (void)pthread_key_create(&tape_key, tape_release); }

static hg_status tape_grow(void) {
  if (!the_tape.nodes) {
    pthread_once(&tape_key_once, tape_key_create);
    (void)pthread_setspecific(tape_key, &the_tape);
  }
  int capacity = the_tape.capacity ? 2 * the_tape.capacity : 256;
  hg_node **nodes = realloc(the_tape.nodes, (size_t)capacity * sizeof *nodes);
  if (!nodes) return hg_fail(HG_ERR_NOMEM, "tape: out of memory growing to %d nodes", capacity);
  the_tape.nodes = nodes;
  the_tape.capacity = capacity;
  return HG_OK;
}

hg_status hg_record(const hg_op *op, hg_tensor *out, int n_in, hg_tensor *const *in,
                    hg_node **node) {
  *node = NULL;
  bool needed = false;
  for (int i = 0; i < n_in; i++) needed |= hg_needs_grad(in[i]);
  if (!needed || grad_disabled) return HG_OK;
  if (the_tape.size == the_tape.capacity && tape_grow() != HG_OK) return HG_ERR_NOMEM;
  hg_node *n = hg_pool_alloc(sizeof *n);
  if (!n) return HG_ERR_NOMEM;
  memset(n, 0, sizeof *n);
  n->op = op;
  n->n_in = n_in;
  for (int i = 0; i < n_in; i++) n->in[i] = hg_tensor_retain(in[i]);
  n->out = hg_tensor_retain(out);
  out->requires_grad = true;
  out->is_leaf = false;
  the_tape.nodes[the_tape.size++] = n;
  *node = n;
  return HG_OK;
}

hg_tensor *hg_record_output(const hg_op *op, hg_tensor *out, int n_in, hg_tensor *const *in,
                            hg_node **node) {
  if (hg_record(op, out, n_in, in, node) == HG_OK) return out;
  hg_tensor_free(out);
  return NULL;
}

void hg_node_save(hg_node *node, int slot, hg_tensor *t) {
  HG_ASSERT(slot >= 0 && slot < HG_NODE_MAX_SAVED && !node->saved[slot]);
  node->saved[slot] = hg_tensor_retain(t);
}

hg_tensor *hg_grad_acquire(hg_tensor *t, bool *accumulate) {
  if (!t->grad) {
    t->grad = hg_tensor_empty(t->ndim, t->shape);
    if (!t->grad) return NULL;
    *accumulate = false;
  } else {
    *accumulate = !t->grad_is_zero;
  }
  t->grad_is_zero = false;
  return t->grad;
}

bool hg_out_grad_disposable(const hg_node *node) {
  const hg_tensor *g = node->out->grad;
  return g && !node->out->is_leaf && g->refs == 1 && g->storage->refs == 1;
}

hg_tensor *hg_grad_acquire_in_place(hg_node *node, hg_tensor *x, bool *accumulate) {
  hg_tensor *g = node->out->grad;
  if (x->grad || !hg_out_grad_disposable(node) || !hg_same_shape(g, x))
    return hg_grad_acquire(x, accumulate);
  node->out->grad = NULL;
  x->grad = g;
  x->grad_is_zero = false;
  *accumulate = false;
  return g;
}

hg_status hg_grad_inputs(hg_node *node, hg_input_grad_fn f) {
  for (int i = 0; i < node->n_in; i++) {
    if (!hg_needs_grad(node->in[i])) continue;
    bool acc;
    hg_tensor *g = hg_grad_acquire(node->in[i], &acc);
    hg_status s = g ? f(node, i, g, acc) : HG_ERR_NOMEM;
    if (s != HG_OK) return s;
  }
  return HG_OK;
}

const hg_tensor *hg_grad(const hg_tensor *param) { return param->grad; }

void hg_zero_grad(hg_tensor *t) {
  if (!t->grad) return;
  hg_tensor_fill(t->grad, 0.0f);
  t->grad_is_zero = true;
}

/* Intermediate gradients are dropped once their node has run. */
static void drop_intermediate_grad(hg_tensor *t) {
  if (t->is_leaf) return;
  hg_tensor_free(t->grad);
  t->grad = NULL;
}

/* A node lets go of its output, inputs and saved tensors (each freed when
 * nothing else holds it). */
static void node_release(hg_node *n) {
  if (n->out) drop_intermediate_grad(n->out);
  hg_tensor_free(n->out);
  n->out = NULL;
  for (int i = 0; i < n->n_in; i++) {
    hg_tensor_free(n->in[i]);
    n->in[i] = NULL;
  }
  for (int i = 0; i < HG_NODE_MAX_SAVED; i++) {
    hg_tensor_free(n->saved[i]);
    n->saved[i] = NULL;
  }
}

/* A gradient into a tensor whose node let go of its inputs would stop
 * there, unnoticed: an error instead. */
static hg_status check_not_spent(const hg_tensor *t) {
  if (!t->grad_spent) return HG_OK;
  char a[64];
  return hg_fail(HG_ERR_STATE,
                 "backward: a gradient reached a tensor %s whose ops were already run backward "
                 "(a recorded forward is run backward once: record it again)",
                 hg_shape_str(t, a, sizeof a));
}

static hg_status node_backward(hg_node *n) {
  for (int i = 0; i < n->n_in; i++)
    if (hg_needs_grad(n->in[i]) && check_not_spent(n->in[i]) != HG_OK) return HG_ERR_STATE;
  return n->op->backward(n);
}

hg_status hg_backward_from(hg_tensor *out, const hg_tensor *grad_out) {
  if (!hg_same_shape(out, grad_out)) {
    char a[64], b[64];
    return hg_fail(HG_ERR_SHAPE, "backward: output %s and its gradient %s differ",
                   hg_shape_str(out, a, sizeof a), hg_shape_str(grad_out, b, sizeof b));
  }
  if (!out->requires_grad)
    return hg_fail(HG_ERR_STATE, "backward: the output does not depend on any tensor that requires a gradient");
  if (check_not_spent(out) != HG_OK) return HG_ERR_STATE;
  bool accumulate;
  hg_tensor *g = hg_grad_acquire(out, &accumulate);
  if (!g) return HG_ERR_NOMEM;
  for (size_t i = 0; i < g->numel; i++) g->data[i] = (accumulate ? g->data[i] : 0.0f) + grad_out->data[i];
  for (int k = the_tape.size - 1; k >= 0; k--) {
    hg_node *n = the_tape.nodes[k];
    /* Released by an earlier backward, or not needed by this one (kept for a later one). */
    if (!n->out || !n->out->grad) continue;
    hg_status s = node_backward(n);
    if (s != HG_OK) return s;
    n->out->grad_spent = true;
    node_release(n); /* as the backward goes down, the tensors above are freed */
  }
  return HG_OK;
}

hg_status hg_backward(hg_tensor *loss) {
  if (loss->numel != 1) {
    char a[64];
    return hg_fail(HG_ERR_SHAPE, "backward: loss %s is not a scalar; use hg_backward_from",
                   hg_shape_str(loss, a, sizeof a));
  }
  hg_tensor one = *loss; /* a 1-element seed sharing nothing */
  float value = 1.0f;
  one.data = &value;
  return hg_backward_from(loss, &one);
}

void hg_tape_clear(void) {
  for (int k = 0; k < the_tape.size; k++) {
    node_release(the_tape.nodes[k]);
    hg_pool_free(the_tape.nodes[k], sizeof *the_tape.nodes[k]);
  }
  the_tape.size = 0;
}

int hg_tape_size(void) { return the_tape.size; }
