/* 2-D convolution on the oneDNN kernels of tensor/conv.h. */
#include "autograd/ops.h"
#include "tensor/conv.h"

/* db[k] (+)= Σ_{n,i,j} dy[n,k,i,j] (bias needing a gradient when w does not) */
static void bias_grad(const hg_conv_shape *s, const float *dy, float *db, bool acc) {
  size_t plane = (size_t)s->oh * s->ow;
  for (int k = 0; k < s->k; k++) {
    double sum = 0;
    for (int n = 0; n < s->n; n++) {
      const float *p = dy + ((size_t)n * s->k + k) * plane;
      for (size_t i = 0; i < plane; i++) sum += p[i];
    }
    db[k] = (acc ? db[k] : 0.0f) + (float)sum;
  }
}

/* dw and db in one backward-weights kernel; when one of them holds a
 * gradient and the other not, the empty one is zeroed and both accumulate. */
static hg_status weights_grad(const hg_conv_shape *s, hg_tensor *x, hg_tensor *w, hg_tensor *b,
                              const float *dy) {
  bool acc_w, acc_b = false;
  hg_tensor *dw = hg_grad_acquire(w, &acc_w);
  hg_tensor *db = hg_needs_grad(b) ? hg_grad_acquire(b, &acc_b) : NULL;
  if (!dw || (hg_needs_grad(b) && !db)) return HG_ERR_NOMEM;
  if (db && acc_w != acc_b) {
    hg_tensor_fill(acc_w ? db : dw, 0.0f);
    acc_w = true;
  }
  return hg_conv2d_backward_weights(s, x->data, dy, dw->data, db ? db->data : NULL, acc_w);
}

/* dx = w ⋆ᵀ dy; dw = x ⋆ dy; db = Σ dy — each only when needed */
static hg_status conv2d_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0], *w = nd->in[1], *b = nd->in[2];
  hg_conv_shape s;
  hg_status st = hg_conv_shape_init(&s, x->shape, w->shape, nd->args.i[0], nd->args.i[1]);
  const float *dy = nd->out->grad->data;
  bool acc;
  if (st == HG_OK && hg_needs_grad(x)) {
    hg_tensor *dx = hg_grad_acquire(x, &acc);
    st = dx ? hg_conv2d_backward_data(&s, dy, w->data, dx->data, acc) : HG_ERR_NOMEM;
  }
  if (st != HG_OK) return st;
  if (hg_needs_grad(w)) return weights_grad(&s, x, w, b, dy);
  if (hg_needs_grad(b)) {
    hg_tensor *db = hg_grad_acquire(b, &acc);
    if (!db) return HG_ERR_NOMEM;
    bias_grad(&s, dy, db->data, acc);
  }
  return HG_OK;
}

const hg_op hg_op_conv2d = {"conv2d", conv2d_backward};

static hg_status conv2d_check(const hg_tensor *x, const hg_tensor *w, const hg_tensor *b,
                              int stride, int pad, hg_conv_shape *s) {
  char xs[64], ws[64], bs[64];
  hg_shape_str(x, xs, sizeof xs);
  hg_shape_str(w, ws, sizeof ws);
  if (x->ndim != 4 || w->ndim != 4)
    return hg_fail(HG_ERR_SHAPE, "conv2d: input %s and weight %s must both be 4-D", xs, ws);
  if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
    return hg_fail(HG_ERR_SHAPE, "conv2d: bias %s does not match weight %s (want [%d])",
                   hg_shape_str(b, bs, sizeof bs), ws, w->shape[0]);
  return hg_conv_shape_init(s, x->shape, w->shape, stride, pad);
}

/* y[n,k] = Σ_c w[k,c] ⋆ x[n,c] + b[k] */
hg_tensor *hg_conv2d(hg_tensor *x, hg_tensor *w, hg_tensor *b, int stride, int pad) {
  hg_conv_shape s;
  if (conv2d_check(x, w, b, stride, pad, &s) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(HG_SHAPE(s.n, s.k, s.oh, s.ow));
  if (!y) return NULL;
  hg_node *nd;
  hg_tensor *in[] = {x, w, b};
  if (hg_conv2d_forward(&s, x->data, w->data, b ? b->data : NULL, y->data) != HG_OK ||
      hg_record(&hg_op_conv2d, y, 3, in, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  if (nd) {
    nd->args.i[0] = stride;
    nd->args.i[1] = pad;
  }
  return y;
}
