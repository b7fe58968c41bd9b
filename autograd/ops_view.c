/* Views: reshape and narrow share the input's data; their backward copies
 * the gradient into place. */
#include <string.h>

#include "autograd/op.h"
#include "autograd/ops.h"

/* ---------- reshape: a view forward, a copy of the gradient backward ---------- */

static hg_status reshape_backward(hg_node *nd) {
  bool acc;
  hg_tensor *gx = hg_grad_acquire(nd->in[0], &acc);
  if (!gx) return HG_ERR_NOMEM;
  const float *g = nd->out->grad->data;
  float *d = gx->data;
  size_t n = gx->numel;
#pragma omp parallel for simd if (n > 32768)
  for (size_t i = 0; i < n; i++) d[i] = acc ? d[i] + g[i] : g[i];
  return HG_OK;
}

/* A case's arguments: the new shape (one -1 inferred). */
typedef struct reshape_args {
  int ndim, shape[4];
} reshape_args;

static hg_tensor *reshape_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const reshape_args *a = args;
  return hg_reshape(in[0], a->ndim, a->shape);
}

/* Naive: a copy of the data under the new shape, -1 = numel / the other sizes. */
static hg_tensor *reshape_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const reshape_args *a = args;
  int shape[4];
  size_t known = 1;
  for (int d = 0; d < a->ndim; d++) known *= a->shape[d] < 0 ? 1 : (size_t)a->shape[d];
  for (int d = 0; d < a->ndim; d++) shape[d] = a->shape[d] < 0 ? (int)(in[0]->numel / known) : a->shape[d];
  return hg_tensor_from(a->ndim, shape, in[0]->data);
}

/* ---------- narrow: rows [start, start+count) as a view ---------- */

static hg_status narrow_backward(hg_node *nd) {
  bool acc;
  hg_tensor *x = nd->in[0];
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  size_t row = x->numel / (size_t)x->shape[0], begin = (size_t)nd->args.i[0] * row;
  size_t end = begin + nd->out->numel;
  const float *g = nd->out->grad->data;
  for (size_t i = 0; i < x->numel; i++) {
    float t = i >= begin && i < end ? g[i - begin] : 0.0f;
    gx->data[i] = acc ? gx->data[i] + t : t;
  }
  return HG_OK;
}

/* A case's arguments: rows [start, start + count). */
typedef struct narrow_args {
  int start, count;
} narrow_args;

static hg_tensor *narrow_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const narrow_args *a = args;
  return hg_narrow(in[0], a->start, a->count);
}

/* Naive: x[start + r, …] for r < count, copied. */
static hg_tensor *narrow_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const narrow_args *a = args;
  const hg_tensor *x = in[0];
  int shape[4];
  memcpy(shape, x->shape, sizeof shape);
  shape[0] = a->count;
  size_t row = x->numel / (size_t)x->shape[0];
  return hg_tensor_from(x->ndim, shape, x->data + (size_t)a->start * row);
}

/* ---------- the specs ---------- */

#define GRAD HG_IN_GRAD

static const hg_op_case reshape_cases[] = {
    {"[2,3,2] -> [4,-1], followed by mul", 1, {HG_IN(-1, 1, GRAD, 2, 3, 2)},
     &(const reshape_args){2, {4, -1}}, HG_CASE_SQUARED},
};
static const hg_op_case reshape_bench[] = {
    {"[N,C,H,W] -> [N,-1]", 1, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, &(const reshape_args){2, {64, -1}}, 0},
};
static const hg_op_case narrow_cases[] = {
    {"rows 1..2 of [4,3], followed by mul", 1, {HG_IN(-1, 1, GRAD, 4, 3)}, &(const narrow_args){1, 2},
     HG_CASE_SQUARED},
};
static const hg_op_case narrow_bench[] = {
    {"rows 16..47", 1, {HG_IN(-1, 1, GRAD, 64, 4096)}, &(const narrow_args){16, 32}, 0},
};

const hg_op hg_op_reshape = HG_OP_SPEC("reshape", reshape, NULL, reshape_cases, reshape_bench);
const hg_op hg_op_narrow = HG_OP_SPEC("narrow", narrow, NULL, narrow_cases, narrow_bench);

const hg_op *const hg_ops_view[] = {&hg_op_reshape, &hg_op_narrow, NULL};

hg_tensor *hg_reshape(hg_tensor *x, int ndim, const int *shape) {
  hg_tensor *y = hg_tensor_view(x, ndim, shape);
  hg_node *nd;
  return y ? hg_record_output(&hg_op_reshape, y, 1, &x, &nd) : NULL;
}

hg_tensor *hg_narrow(hg_tensor *x, int start, int count) {
  hg_tensor *y = hg_tensor_narrow0(x, start, count);
  hg_node *nd = NULL;
  if (y) y = hg_record_output(&hg_op_narrow, y, 1, &x, &nd);
  if (nd) nd->args.i[0] = start;
  return y;
}

hg_tensor *hg_flatten(hg_tensor *x) {
  if (x->ndim < 1) {
    hg_fail(HG_ERR_SHAPE, "flatten: a scalar has no batch dimension");
    return NULL;
  }
  return hg_reshape(x, HG_SHAPE(x->shape[0], -1));
}
