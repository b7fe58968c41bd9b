/* Inverted dropout: training zeroes each element with probability p and
 * scales the others by 1/(1 − p). */
#include "autograd/op.h"
#include "autograd/ops.h"
#include "autograd/batch_sync.h"

#define PARALLEL_MIN 32768
#define GRAD HG_IN_GRAD

/* gx = g ⊙ mask (mask already holds 0 or 1/(1 − p)), or gx = g without a mask. */
static hg_status dropout_input_grad(hg_node *nd, int which, hg_tensor *gx, bool acc) {
  (void)which;
  const float *g = nd->out->grad->data, *m = nd->saved[0] ? nd->saved[0]->data : NULL;
  float *d = gx->data;
  size_t n = gx->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
  for (size_t i = 0; i < n; i++) {
    float t = m ? g[i] * m[i] : g[i];
    d[i] = acc ? d[i] + t : t;
  }
  return HG_OK;
}

static hg_status dropout_backward(hg_node *nd) { return hg_grad_inputs(nd, dropout_input_grad); }

/* y = x ⊙ m with m_i = scale when the i-th uniform draw u_i < keep, else 0,
 * in element order; m is kept (returned) only when x needs a gradient. In a
 * data-parallel step (x holds rows [lo, lo + n) of `count`) the draws of the
 * rows of x among those of the whole batch, so a job draws one process's
 * mask. False when out of memory. */
static bool dropout_apply(const hg_tensor *x, float keep, float scale, hg_rng *rng, hg_tensor *y, hg_tensor **mask) {
  hg_tensor *m = hg_needs_grad(x) ? hg_tensor_empty(x->ndim, x->shape) : NULL;
  if (hg_needs_grad(x) && !m) return false;
  int lo, n, count;
  bool share = x->ndim > 0 && hg_batch_sync_rows(&lo, &n, &count) && n == x->shape[0];
  size_t per = share && n > 0 ? x->numel / (size_t)n : 0;
  if (share) hg_rng_advance(rng, (uint64_t)lo * per);
  hg_rng_fill_bernoulli_times(rng, m ? m->data : NULL, x->numel, keep, scale, x->data, y->data);
  if (share) hg_rng_advance(rng, (uint64_t)(count - lo - n) * per);
  *mask = m;
  return true;
}

/* A case's arguments: the mask is drawn from a generator seeded with `seed`
 * at every call, so that every call of a case draws the same mask. */
typedef struct dropout_args {
  float p;
  bool training;
  uint64_t seed;
} dropout_args;

static hg_tensor *dropout_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const dropout_args *a = args;
  hg_rng rng;
  hg_rng_seed(&rng, a->seed, 0);
  return hg_dropout(in[0], a->p, a->training, &rng);
}

/* Naive: y = x / (1 − p) where the draw u < 1 − p, else 0; y = x in evaluation. */
static hg_tensor *dropout_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const dropout_args *a = args;
  hg_rng rng;
  hg_rng_seed(&rng, a->seed, 0);
  hg_tensor *y = hg_tensor_empty(in[0]->ndim, in[0]->shape);
  for (size_t i = 0; y && i < y->numel; i++) {
    double keep = 1.0 - a->p, x = in[0]->data[i];
    y->data[i] = (float)(!a->training ? x : hg_rng_uniform(&rng) < keep ? x / keep : 0.0);
  }
  return y;
}

static const hg_op_case dropout_cases[] = {
    {"p 0.4 training, one mask", 1, {HG_IN(-1, 1, GRAD, 4, 5)}, &(const dropout_args){0.4f, true, 1234}, 0},
    {"evaluation", 1, {HG_IN(-1, 1, GRAD, 4, 5)}, &(const dropout_args){0.4f, false, 1234}, 0},
    {"training, input without gradient (no mask kept)", 1, {HG_IN(-1, 1, 0, 4, 5)},
     &(const dropout_args){0.4f, true, 1234}, 0},
};
/* fc5's output. */
static const hg_op_case dropout_bench[] = {
    {"p 0.5", 1, {HG_IN(-1, 1, GRAD, 64, 4096)}, &(const dropout_args){0.5f, true, 1}, 0},
};

const hg_op hg_op_dropout = HG_OP_SPEC("dropout", dropout, NULL, dropout_cases, dropout_bench);

const hg_op *const hg_ops_dropout[] = {&hg_op_dropout, NULL};

/* Training: y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) from rng; else y = x (a copy). */
hg_tensor *hg_dropout(hg_tensor *x, float p, bool training, hg_rng *rng) {
  if (!(p >= 0.0f && p < 1.0f)) {
    hg_fail(HG_ERR_ARG, "dropout: p %g must be in [0, 1)", p);
    return NULL;
  }
  bool masked = training && p > 0.0f;
  if (masked && !rng) {
    hg_fail(HG_ERR_ARG, "dropout: training with p %g needs a generator", p);
    return NULL;
  }
  hg_tensor *y = !masked ? hg_tensor_clone(x) : hg_tensor_empty(x->ndim, x->shape), *mask = NULL;
  if (masked && y && !dropout_apply(x, 1.0f - p, 1.0f / (1.0f - p), rng, y, &mask)) {
    hg_tensor_free(y);
    y = NULL;
  }
  hg_node *nd = NULL;
  if (y && hg_record(&hg_op_dropout, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    y = NULL;
  }
  if (nd && mask) hg_node_save(nd, 0, mask);
  hg_tensor_free(mask);
  return y;
}
