/* Max and average pooling on the oneDNN kernels of tensor/pooling.h. */
#include <math.h>

#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/pooling.h"

static hg_status pool_shape_of(const hg_node *nd, hg_pool_shape *s) {
  return hg_pool_shape_init(s, *(const hg_pool_kind *)nd->op->kernel, nd->in[0]->shape,
                            nd->args.i[0], nd->args.i[1], nd->args.i[2]);
}

/* dx (+)= pool'(x)ᵀ dy; max routes through the saved workspace */
static hg_status pool2d_backward(hg_node *nd) {
  hg_pool_shape s;
  hg_status st = pool_shape_of(nd, &s);
  if (st != HG_OK) return st;
  bool acc;
  hg_tensor *dx = hg_grad_acquire(nd->in[0], &acc);
  if (!dx) return HG_ERR_NOMEM;
  const void *ws = nd->saved[0] ? nd->saved[0]->data : NULL;
  return hg_pool2d_backward(&s, nd->out->grad->data, ws, dx->data, acc);
}

/* Workspace tensor of ⌈bytes/4⌉ floats for the max-pool backward, or NULL
 * for average pooling. *failed is set when it could not be made. */
static hg_tensor *pool_workspace(const hg_pool_shape *s, bool *failed) {
  *failed = false;
  if (s->kind != HG_POOL_MAX) return NULL;
  size_t bytes = hg_pool2d_workspace_bytes(s);
  hg_tensor *ws = bytes ? hg_tensor_empty(HG_SHAPE((int)((bytes + 3) / 4))) : NULL;
  *failed = !ws;
  return ws;
}

static hg_tensor *pool2d(const hg_op *op, hg_tensor *x, int kernel, int stride, int pad) {
  hg_pool_kind kind = *(const hg_pool_kind *)op->kernel;
  hg_pool_shape s;
  if (x->ndim != 4) {
    char xs[64];
    hg_fail(HG_ERR_SHAPE, "%s: input %s must be 4-D [N,C,H,W]", op->name,
            hg_shape_str(x, xs, sizeof xs));
    return NULL;
  }
  if (hg_pool_shape_init(&s, kind, x->shape, kernel, stride, pad) != HG_OK) return NULL;
  bool record = hg_grad_enabled() && hg_needs_grad(x), failed = false;
  hg_tensor *ws = record ? pool_workspace(&s, &failed) : NULL;
  hg_tensor *y = failed ? NULL : hg_tensor_empty(HG_SHAPE(s.n, s.c, s.oh, s.ow));
  hg_node *nd = NULL;
  if (!y || hg_pool2d_forward(&s, x->data, y->data, ws ? ws->data : NULL) != HG_OK ||
      hg_record(op, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    hg_tensor_free(ws);
    return NULL;
  }
  if (nd) {
    int args[] = {kernel, stride, pad};
    for (int i = 0; i < 3; i++) nd->args.i[i] = args[i];
    if (ws) hg_node_save(nd, 0, ws);
  }
  hg_tensor_free(ws);
  return y;
}

/* ---------- the specs ---------- */

/* A case's arguments: a square window, its stride, symmetric padding. */
typedef struct pool_args {
  int kernel, stride, pad;
} pool_args;

static hg_tensor *pool2d_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  const pool_args *a = args;
  return pool2d(op, in[0], a->kernel, a->stride, a->pad);
}

/* The max, or the sum / k², of the window of output (i, j) in the plane p (H×W). */
static double window(const float *p, int h, int w, const pool_args *a, bool max, int i, int j) {
  double best = -HUGE_VAL, sum = 0.0;
  for (int r = i * a->stride - a->pad; r < i * a->stride - a->pad + a->kernel; r++)
    for (int t = j * a->stride - a->pad; t < j * a->stride - a->pad + a->kernel; t++)
      if (r >= 0 && r < h && t >= 0 && t < w) {
        best = fmax(best, p[r * w + t]);
        sum += p[r * w + t];
      }
  return max ? best : sum / (a->kernel * a->kernel);
}

/* Naive: every window of every plane on its own, in double. */
static hg_tensor *pool2d_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  const pool_args *a = args;
  const hg_tensor *x = in[0];
  int h = x->shape[2], w = x->shape[3];
  int oh = (h + 2 * a->pad - a->kernel) / a->stride + 1, ow = (w + 2 * a->pad - a->kernel) / a->stride + 1;
  bool max = *(const hg_pool_kind *)op->kernel == HG_POOL_MAX;
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(x->shape[0], x->shape[1], oh, ow));
  size_t o = 0;
  for (int p = 0; y && p < x->shape[0] * x->shape[1]; p++)
    for (int i = 0; i < oh; i++)
      for (int j = 0; j < ow; j++)
        y->data[o++] = (float)window(x->data + (size_t)p * h * w, h, w, a, max, i, j);
  return y;
}

#define GRAD HG_IN_GRAD
#define DISTINCT (HG_IN_GRAD | HG_IN_DISTINCT)

static const hg_op_case max_pool2d_cases[] = {
    {"kernel 2 stride 2", 1, {HG_IN(0, 1, DISTINCT, 2, 3, 6, 6)}, &(const pool_args){2, 2, 0}, 0},
    {"kernel 3 stride 2 pad 1", 1, {HG_IN(0, 1, DISTINCT, 2, 2, 7, 5)}, &(const pool_args){3, 2, 1}, 0},
};
static const hg_op_case avg_pool2d_cases[] = {
    {"kernel 3 stride 2 pad 1", 1, {HG_IN(-1, 1, GRAD, 2, 3, 7, 6)}, &(const pool_args){3, 2, 1}, 0},
    {"kernel 2 stride 1", 1, {HG_IN(-1, 1, GRAD, 1, 2, 5, 4)}, &(const pool_args){2, 1, 0}, 0},
};
/* pool1 of the seeds' net. */
static const hg_op_case pool_bench[] = {
    {"pool1 k2 s2", 1, {HG_IN(-1, 1, GRAD, 64, 96, 28, 28)}, &(const pool_args){2, 2, 0}, 0},
    {"softhebb pool1 k4 s2 p1", 1, {HG_IN(-1, 1, GRAD, 64, 96, 32, 32)}, &(const pool_args){4, 2, 1}, 0},
    {"softhebb pool2 k4 s2 p1", 1, {HG_IN(-1, 1, GRAD, 64, 384, 16, 16)}, &(const pool_args){4, 2, 1}, 0},
};

const hg_op hg_op_max_pool2d =
    HG_OP_SPEC("max_pool2d", pool2d, &(const hg_pool_kind){HG_POOL_MAX}, max_pool2d_cases, pool_bench);
const hg_op hg_op_avg_pool2d =
    HG_OP_SPEC("avg_pool2d", pool2d, &(const hg_pool_kind){HG_POOL_AVG}, avg_pool2d_cases, pool_bench);

const hg_op *const hg_ops_pool[] = {&hg_op_max_pool2d, &hg_op_avg_pool2d, NULL};

/* y[n,c,i,j] = max over the k×k window (padding never wins) */
hg_tensor *hg_max_pool2d(hg_tensor *x, int kernel, int stride, int pad) {
  return pool2d(&hg_op_max_pool2d, x, kernel, stride, pad);
}

/* y[n,c,i,j] = mean over the k×k window, padding counted as zeros */
hg_tensor *hg_avg_pool2d(hg_tensor *x, int kernel, int stride, int pad) {
  return pool2d(&hg_op_avg_pool2d, x, kernel, stride, pad);
}
