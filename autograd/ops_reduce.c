/* Reductions over any set of axes (sum, mean, max) and reshapes. */
#include <float.h>
#include <string.h>

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

static void reduce_forward(reduce_kind k, const hg_tensor *x, const int s[4], const long st[4],
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
  reduce_kind k = (reduce_kind)nd->args.i[0];
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
  result_strides(s, (unsigned)nd->args.i[1], st);
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

static hg_tensor *reduce(const hg_op *op, reduce_kind k, hg_tensor *x, int naxes, const int *axes,
                         bool keepdim) {
  int ndim, shape[HG_MAX_DIMS], s[4];
  unsigned mask;
  long st[4];
  if (reduce_shape(op->name, x, naxes, axes, keepdim, &ndim, shape, &mask) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(ndim, shape);
  hg_tensor *arg = k == RED_MAX ? hg_tensor_empty(ndim, shape) : NULL;
  if (!y || (k == RED_MAX && !arg)) goto fail;
  if (arg) memset(arg->data, 0xff, arg->numel * sizeof(int)); /* every index -1 */
  shape4_of(x, s);
  result_strides(s, mask, st);
  reduce_forward(k, x, s, st, y->data, y->numel, arg ? (int *)arg->data : NULL);
  hg_node *nd;
  if (hg_record(op, y, 1, &x, &nd) != HG_OK) goto fail;
  if (nd) {
    nd->args.i[0] = k;
    nd->args.i[1] = (int)mask;
    if (arg) hg_node_save(nd, 0, arg);
  }
  hg_tensor_free(arg);
  return y;
fail:
  hg_tensor_free(y);
  hg_tensor_free(arg);
  return NULL;
}

const hg_op hg_op_sum = {"sum", reduce_backward};
const hg_op hg_op_mean = {"mean", reduce_backward};
const hg_op hg_op_max = {"max", reduce_backward};

hg_tensor *hg_sum(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_sum, RED_SUM, x, naxes, axes, keepdim);
}
hg_tensor *hg_mean(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_mean, RED_MEAN, x, naxes, axes, keepdim);
}
hg_tensor *hg_max(hg_tensor *x, int naxes, const int *axes, bool keepdim) {
  return reduce(&hg_op_max, RED_MAX, x, naxes, axes, keepdim);
}

/* ---------- dot: Σ a ⊙ b over all elements, one pass ---------- */

static hg_status dot_backward(hg_node *nd) {
  float g = nd->out->grad->data[0];
  for (int which = 0; which < 2; which++) {
    hg_tensor *x = nd->in[which];
    if (!hg_needs_grad(x)) continue;
    bool acc;
    hg_tensor *gx = hg_grad_acquire(x, &acc);
    if (!gx) return HG_ERR_NOMEM;
    const float *other = nd->in[1 - which]->data;
    float *d = gx->data;
    size_t n = x->numel;
#pragma omp parallel for simd if (n > 32768)
    for (size_t i = 0; i < n; i++) d[i] = acc ? d[i] + g * other[i] : g * other[i];
  }
  return HG_OK;
}

const hg_op hg_op_dot = {"dot", dot_backward};

hg_tensor *hg_dot(hg_tensor *a, hg_tensor *b) {
  if (!hg_same_shape(a, b)) {
    char x[64], y[64];
    hg_fail(HG_ERR_SHAPE, "dot: shapes %s and %s differ", hg_shape_str(a, x, sizeof x),
            hg_shape_str(b, y, sizeof y));
    return NULL;
  }
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
  if (hg_record(&hg_op_dot, y, 2, in, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  return y;
}

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

const hg_op hg_op_reshape = {"reshape", reshape_backward};

hg_tensor *hg_reshape(hg_tensor *x, int ndim, const int *shape) {
  hg_tensor *y = hg_tensor_view(x, ndim, shape);
  if (!y) return NULL;
  hg_node *nd;
  if (hg_record(&hg_op_reshape, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  return y;
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

const hg_op hg_op_narrow = {"narrow", narrow_backward};

hg_tensor *hg_narrow(hg_tensor *x, int start, int count) {
  hg_tensor *y = hg_tensor_narrow0(x, start, count);
  if (!y) return NULL;
  hg_node *nd;
  if (hg_record(&hg_op_narrow, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
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
