/* Layout ops: the views reshape and narrow share the input's data (their
 * backward copies the gradient into place); reflect padding copies. */
#include <stdlib.h>
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

/* ---------- pad_reflect: p rows and columns mirrored around each border ---------- */

/* The source index of padded index i (in [−p, len + p)): reflected at 0 and len − 1. */
static int reflect(int i, int len) { return i < 0 ? -i : i >= len ? 2 * (len - 1) - i : i; }

/* y or gx (scatter = true: gx[src] += g[dst]) over [N·C] planes of x's size padded by p. */
static void pad_planes(const float *from, float *to, int planes, int h, int w, int p, bool scatter) {
  int oh = h + 2 * p, ow = w + 2 * p;
#pragma omp parallel for if ((size_t)planes * oh * ow > 65536)
  for (int c = 0; c < planes; c++)
    for (int i = 0; i < oh; i++)
      for (int j = 0; j < ow; j++) {
        size_t dst = ((size_t)c * oh + i) * ow + j, src = ((size_t)c * h + reflect(i - p, h)) * w + reflect(j - p, w);
        if (scatter) to[src] += from[dst];
        else to[dst] = from[src];
      }
}

static hg_status pad_reflect_backward(hg_node *nd) {
  bool acc;
  hg_tensor *x = nd->in[0], *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  if (!acc) memset(gx->data, 0, gx->numel * sizeof(float));
  int planes = x->shape[0] * x->shape[1]; /* planes in parallel: each scatters into its own plane */
  pad_planes(nd->out->grad->data, gx->data, planes, x->shape[2], x->shape[3], nd->args.i[0], true);
  return HG_OK;
}

/* A case's argument: the padding p. */
typedef struct pad_args {
  int pad;
} pad_args;

static hg_tensor *pad_reflect_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  return hg_pad_reflect(in[0], ((const pad_args *)args)->pad);
}

/* Naive: y[n,c,i,j] = x[n,c,m(i−p, H),m(j−p, W)], m(k, L) = L−1 − |L−1 − |k||. */
static hg_tensor *pad_reflect_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const hg_tensor *x = in[0];
  int p = ((const pad_args *)args)->pad, h = x->shape[2], w = x->shape[3];
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(x->shape[0], x->shape[1], h + 2 * p, w + 2 * p));
  int idx[4] = {0, 0, 0, 0};
  if (y)
    do {
      int si = h - 1 - abs(h - 1 - abs(idx[2] - p)), sj = w - 1 - abs(w - 1 - abs(idx[3] - p));
      int src[4] = {idx[0], idx[1], si, sj};
      y->data[hg_op_ref_offset(4, y->shape, idx)] = x->data[hg_op_ref_offset(4, x->shape, src)];
    } while (hg_op_ref_next(y->shape, idx));
  return y;
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
static const hg_op_case pad_reflect_cases[] = {
    {"[2,2,4,5] pad 1", 1, {HG_IN(-1, 1, GRAD, 2, 2, 4, 5)}, &(const pad_args){1}, 0},
    {"[1,3,3,3] pad 2 (the largest for H = 3)", 1, {HG_IN(-1, 1, GRAD, 1, 3, 3, 3)},
     &(const pad_args){2}, 0},
};
static const hg_op_case pad_reflect_bench[] = {
    {"[64,96,32,32] pad 2", 1, {HG_IN(-1, 1, GRAD, 64, 96, 32, 32)}, &(const pad_args){2}, 0},
};

const hg_op hg_op_narrow = HG_OP_SPEC("narrow", narrow, NULL, narrow_cases, narrow_bench);
const hg_op hg_op_pad_reflect = HG_OP_SPEC("pad_reflect", pad_reflect, NULL, pad_reflect_cases, pad_reflect_bench);

const hg_op *const hg_ops_view[] = {&hg_op_reshape, &hg_op_narrow, &hg_op_pad_reflect, NULL};

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

hg_tensor *hg_pad_reflect(hg_tensor *x, int pad) {
  char buf[64];
  if (x->ndim != 4 || pad < 0 || pad >= x->shape[2] || pad >= x->shape[3]) {
    hg_fail(HG_ERR_SHAPE, "pad_reflect: pad %d of %s needs [N,C,H,W] with H, W > pad", pad,
            hg_shape_str(x, buf, sizeof buf));
    return NULL;
  }
  int h = x->shape[2], w = x->shape[3];
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(x->shape[0], x->shape[1], h + 2 * pad, w + 2 * pad));
  if (!y) return NULL;
  pad_planes(x->data, y->data, x->shape[0] * x->shape[1], h, w, pad, false);
  hg_node *nd = NULL;
  y = hg_record_output(&hg_op_pad_reflect, y, 1, &x, &nd);
  if (nd) nd->args.i[0] = pad;
  return y;
}
