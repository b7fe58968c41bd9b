/* Max and average pooling on the oneDNN kernels of tensor/pooling.h. */
#include "autograd/ops.h"
#include "tensor/pooling.h"

static hg_status pool_shape_of(const hg_node *nd, hg_pool_shape *s) {
  return hg_pool_shape_init(s, (hg_pool_kind)nd->args.i[0], nd->in[0]->shape, nd->args.i[1],
                            nd->args.i[2], nd->args.i[3]);
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

const hg_op hg_op_max_pool2d = {"max_pool2d", pool2d_backward};
const hg_op hg_op_avg_pool2d = {"avg_pool2d", pool2d_backward};

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

static hg_tensor *pool2d(const hg_op *op, hg_pool_kind kind, hg_tensor *x, int kernel, int stride,
                         int pad) {
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
    int args[] = {kind, kernel, stride, pad};
    for (int i = 0; i < 4; i++) nd->args.i[i] = args[i];
    if (ws) hg_node_save(nd, 0, ws);
  }
  hg_tensor_free(ws);
  return y;
}

/* y[n,c,i,j] = max over the k×k window (padding never wins) */
hg_tensor *hg_max_pool2d(hg_tensor *x, int kernel, int stride, int pad) {
  return pool2d(&hg_op_max_pool2d, HG_POOL_MAX, x, kernel, stride, pad);
}

/* y[n,c,i,j] = mean over the k×k window, padding counted as zeros */
hg_tensor *hg_avg_pool2d(hg_tensor *x, int kernel, int stride, int pad) {
  return pool2d(&hg_op_avg_pool2d, HG_POOL_AVG, x, kernel, stride, pad);
}
