/* Reductions over any set of axes (sum, mean, max) and the dot product. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/broadcast.h"
#include "autograd/op.h"
#include "autograd/ops.h"

typedef enum reduce_kind { RED_SUM, RED_MEAN, RED_MAX } reduce_kind;

/* The result shape of reducing x over `axes`; *mask gets bit d (of the 4-D
 * aligned shape) for every reduced dimension. */
static hg_status reduce_shape(const char *op, const hg_tensor *x, int naxes, const int *axes,
                              bool keepdim, int *ndim, int *shape, unsigned *mask) {
  unsigned m = 0;
  for (int i = 0; i < naxes; i++) {
    int a = axes[i] < 0 ? axes[i] + x->ndim : axes[i];
    if (a < 0 || a >= x->ndim) {
      char buf[64];
      return hg_fail(HG_ERR_ARG, "%s: axis %d out of range for %s", op, axes[i],
                     hg_shape_str(x, buf, sizeof buf));
    }
    m |= 1u << a;
  }
  if (naxes == 0) m = (1u << x->ndim) - 1;
  *ndim = 0;
  for (int d = 0; d < x->ndim; d++) {
    if (!(m & (1u << d))) shape[(*ndim)++] = x->shape[d];
    else if (keepdim) shape[(*ndim)++] = 1;
  }
  *mask = m << (4 - x->ndim);
  return HG_OK;
}

/* x's shape padded on the left to 4 dimensions. */
static void shape4_of(const hg_tensor *x, int s[4]) {
  for (int d = 0; d < 4; d++) s[d] = d < 4 - x->ndim ? 1 : x->shape[d - (4 - x->ndim)];
}

/* Element strides of the reduced result within x's 4-D index space. */
static void result_strides(const int s[4], unsigned mask, long st[4]) {
  long stride = 1;
  for (int d = 3; d >= 0; d--) {
    st[d] = (mask & (1u << d)) ? 0 : stride;
    if (!(mask & (1u << d))) stride *= s[d];
  }
}

/* Σ x over every element, in parallel. */
static float sum_all(const hg_tensor *x) {
  const float *v = x->data;
  size_t n = x->numel;
  double acc = 0;
#pragma omp parallel for simd reduction(+ : acc) if (n > 32768)
  for (size_t i = 0; i < n; i++) acc += v[i];
  return (float)acc;
}

static void reduce_kernel(reduce_kind k, const hg_tensor *x, const int s[4], const long st[4],
                           float *y, size_t ny, int *arg) {
  if (ny == 1 && k != RED_MAX) { /* every axis reduced */
    y[0] = sum_all(x) / (k == RED_MEAN ? (float)x->numel : 1.0f);
    return;
  }
  for (size_t j = 0; j < ny; j++) y[j] = k == RED_MAX ? -FLT_MAX : 0.0f;
  const float *xv = x->data;
  size_t i = 0;
  for (int a = 0; a < s[0]; a++)
    for (int b = 0; b < s[1]; b++)
      for (int c = 0; c < s[2]; c++)
        for (int d = 0; d < s[3]; d++, i++) {
          size_t o = (size_t)(a * st[0] + b * st[1] + c * st[2] + d * st[3]);
          if (k != RED_MAX) y[o] += xv[i];
          else if (xv[i] > y[o] || arg[o] < 0) {
            y[o] = xv[i];
            arg[o] = (int)i;
          }
        }
  if (k == RED_MEAN) {
    float inv = (float)ny / (float)x->numel;
    for (size_t j = 0; j < ny; j++) y[j] *= inv;
  }
}

static hg_status reduce_backward(hg_node *nd) {
  reduce_kind k = *(const reduce_kind *)nd->op->kernel;
  hg_tensor *x = nd->in[0];
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  const float *g = nd->out->grad->data;
  float *d = gx->data;
  if (k == RED_MAX) {
    const int *arg = (const int *)nd->saved[0]->data;
    if (!acc) memset(d, 0, x->numel * sizeof(float));
    for (size_t j = 0; j < nd->out->numel; j++) d[arg[j]] += g[j];
    return HG_OK;
  }
  int s[4];
  long st[4];
  float scale = k == RED_MEAN ? (float)nd->out->numel / (float)x->numel : 1.0f;
  if (nd->out->numel == 1) { /* every axis reduced: spread one value */
    float t = scale * g[0];
    size_t n = x->numel;
#pragma omp parallel for simd if (n > 32768)
    for (size_t i = 0; i < n; i++) d[i] = acc ? d[i] + t : t;
    return HG_OK;
  }
  shape4_of(x, s);
  result_strides(s, (unsigned)nd->args.i[0], st);
  size_t i = 0;
  for (int a = 0; a < s[0]; a++)
    for (int b = 0; b < s[1]; b++)
      for (int c = 0; c < s[2]; c++)
        for (int e = 0; e < s[3]; e++, i++) {
          float t = scale * g[a * st[0] + b * st[1] + c * st[2] + e * st[3]];
          d[i] = acc ? d[i] + t : t;
        }
  return HG_OK;
}

static hg_tensor *reduce(const hg_op *op, hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  reduce_kind k = *(const reduce_kind *)op->kernel;
  int ndim = 0, shape[HG_MAX_DIMS], s[4];
  unsigned mask = 0;
  long st[4];
  if (reduce_shape(op->name, x, naxes, axes, keepdim, &ndim, shape, &mask) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(ndim, shape);
  hg_tensor *arg = k == RED_MAX ? hg_tensor_empty(ndim, shape) : NULL;
  if (!y || (k == RED_MAX && !arg)) goto fail;
  if (arg) memset(arg->data, 0xff, arg->numel * sizeof(int)); /* every index -1 */
  shape4_of(x, s);
  result_strides(s, mask, st);
  reduce_kernel(k, x, s, st, y->data, y->numel, arg ? (int *)arg->data : NULL);
  hg_node *nd;
  if (hg_record(op, y, 1, &x, &nd) != HG_OK) goto fail;
  if (nd) {
    nd->args.i[0] = (int)mask;
    if (arg) hg_node_save(nd, 0, arg);
  }
  hg_tensor_free(arg);
  return y;
fail:
  hg_tensor_free(y);
  hg_tensor_free(arg);
  return NULL;
}

/* A case's arguments: the axes (naxes 0: all) and keepdim. */
typedef struct reduce_args {
  int naxes, axes[4];
  bool keepdim;
} reduce_args;

static hg_tensor *reduce_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  const reduce_args *a = args;
  return reduce(op, in[0], a->naxes, a->axes, a->keepdim);
}

/* The result's shape: reduced dimensions kept as 1 in keep[], dropped in shape[]. */
static int reference_shape(const hg_tensor *x, const reduce_args *a, int keep[4], int shape[4]) {
  int ndim = 0;
  for (int d = 0; d < x->ndim; d++) {
    bool reduced = a->naxes == 0;
    for (int j = 0; j < a->naxes; j++) reduced |= (a->axes[j] + x->ndim) % x->ndim == d;
    keep[d] = reduced ? 1 : x->shape[d];
    if (!reduced || a->keepdim) shape[ndim++] = keep[d];
  }
  return ndim;
}

/* Naive: every element of x adds to (or competes for) its result, in double. */
static hg_tensor *reduce_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  const hg_tensor *x = in[0];
  reduce_kind k = *(const reduce_kind *)op->kernel;
  int keep[4], shape[4], s[4], i[4] = {0};
  hg_tensor *y = hg_tensor_empty(reference_shape(x, args, keep, shape), shape);
  double *acc = y ? calloc(y->numel, sizeof *acc) : NULL;
  if (!acc) {
    hg_tensor_free(y);
    return NULL;
  }
  for (size_t o = 0; o < y->numel; o++) acc[o] = k == RED_MAX ? -HUGE_VAL : 0.0;
  for (int d = 0; d < 4; d++) s[d] = hg_op_ref_dim(x->ndim, x->shape, d);
  size_t j = 0;
  do {
    double v = x->data[j++], *r = &acc[hg_op_ref_offset(x->ndim, keep, i)];
    *r = k == RED_MAX ? fmax(*r, v) : *r + v;
  } while (hg_op_ref_next(s, i));
  for (size_t o = 0; o < y->numel; o++)
    y->data[o] = (float)(k == RED_MEAN ? acc[o] * (double)y->numel / (double)x->numel : acc[o]);
  free(acc);
  return y;
}

/* ---------- dot: Σ a ⊙ b over all elements, one pass ---------- */

/* ∂/∂a = ḡ·b, ∂/∂b = ḡ·a */
static hg_status dot_input_grad(hg_node *nd, int which, hg_tensor *gx, bool acc) {
  float g = nd->out->grad->data[0];
  const float *other = nd->in[1 - which]->data;
  float *d = gx->data;
  size_t n = gx->numel;
#pragma omp parallel for simd if (n > 32768)
  for (size_t i = 0; i < n; i++) d[i] = acc ? d[i] + g * other[i] : g * other[i];
  return HG_OK;
}

static hg_status dot_backward(hg_node *nd) { return hg_grad_inputs(nd, dot_input_grad); }

static hg_tensor *dot_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  return hg_dot(in[0], in[1]);
}

static hg_tensor *dot_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  double sum = 0.0;
  for (size_t i = 0; i < in[0]->numel; i++) sum += (double)in[0]->data[i] * in[1]->data[i];
  return hg_op_ref_scalar(sum);
}

/* ---------- the specs ---------- */

#define GRAD HG_IN_GRAD
#define DISTINCT (HG_IN_GRAD | HG_IN_DISTINCT)

static const hg_op_case sum_cases[] = {
    {"all", 1, {HG_IN(-1, 1, GRAD, 2, 3, 4)}, &(const reduce_args){0, {0}, false}, 0},
    {"axes 1,3 keepdim", 1, {HG_IN(-1, 1, GRAD, 2, 3, 2, 4)}, &(const reduce_args){2, {1, 3}, true}, 0},
    {"axis -1", 1, {HG_IN(-1, 1, GRAD, 3, 5)}, &(const reduce_args){1, {-1}, false}, 0},
};
static const hg_op_case mean_cases[] = {
    {"axes 0,2,3", 1, {HG_IN(-1, 1, GRAD, 2, 3, 2, 2)}, &(const reduce_args){3, {0, 2, 3}, false}, 0},
    {"all keepdim", 1, {HG_IN(-1, 1, GRAD, 4, 3)}, &(const reduce_args){0, {0}, true}, 0},
};
static const hg_op_case max_cases[] = {
    {"axis 1, distinct values", 1, {HG_IN(0, 1, DISTINCT, 3, 4, 2)}, &(const reduce_args){1, {1}, false}, 0},
    {"all, distinct values", 1, {HG_IN(0, 1, DISTINCT, 2, 5)}, &(const reduce_args){0, {0}, false}, 0},
};
/* At conv1's output size: all (a loss), the batch-norm statistics, a channel competition. */
static const hg_op_case sum_bench[] = {
    {"all", 1, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, &(const reduce_args){0, {0}, false}, 0}};
static const hg_op_case mean_bench[] = {
    {"axes 0,2,3", 1, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, &(const reduce_args){3, {0, 2, 3}, false}, 0}};
static const hg_op_case max_bench[] = {
    {"axis 1", 1, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, &(const reduce_args){1, {1}, false}, 0}};

const hg_op hg_op_sum = HG_OP_SPEC("sum", reduce, &(const reduce_kind){RED_SUM}, sum_cases, sum_bench);
const hg_op hg_op_mean = HG_OP_SPEC("mean", reduce, &(const reduce_kind){RED_MEAN}, mean_cases, mean_bench);
const hg_op hg_op_max = HG_OP_SPEC("max", reduce, &(const reduce_kind){RED_MAX}, max_cases, max_bench);

static const hg_op_case dot_cases[] = {
    {"both with grad", 2, {HG_IN(-1, 1, GRAD, 2, 3, 2), HG_IN(-1, 1, GRAD, 2, 3, 2)}, NULL, 0},
    {"b needs no grad", 2, {HG_IN(-1, 1, GRAD, 7), HG_IN(-1, 1, 0, 7)}, NULL, 0},
};
static const hg_op_case dot_bench[] = {
    {"conv1 output", 2, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28), HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, NULL, 0}};

const hg_op hg_op_dot = HG_OP_SPEC("dot", dot, NULL, dot_cases, dot_bench);

const hg_op *const hg_ops_reduce[] = {&hg_op_sum, &hg_op_mean, &hg_op_max, &hg_op_dot, NULL};

hg_tensor *hg_sum(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_sum, x, naxes, axes, keepdim);
}
hg_tensor *hg_mean(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_mean, x, naxes, axes, keepdim);
}
hg_tensor *hg_max(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_max, x, naxes, axes, keepdim);
}

hg_tensor *hg_dot(hg_tensor *a, hg_tensor *b) {
  if (hg_check_same_shape("dot", a, b) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(0, NULL);
  if (!y) return NULL;
  const float *av = a->data, *bv = b->data;
  size_t n = a->numel;
  double acc = 0;
#pragma omp parallel for simd reduction(+ : acc) if (n > 32768)
  for (size_t i = 0; i < n; i++) acc += (double)av[i] * bv[i];
  y->data[0] = (float)acc;
  hg_node *nd;
  hg_tensor *in[2] = {a, b};
  return hg_record_output(&hg_op_dot, y, 2, in, &nd);
}
