/* Losses: cross entropy over class logits and mean squared error. Both give
 * a scalar (0-dimensional) tensor. */
#include <math.h>

#include "autograd/ops.h"

#define PARALLEL_MIN 32768

/* ---------- cross entropy ---------- */

/* gx[n,c] = ḡ · (softmax[n,c] − [c = label_n]) / N, softmax = e^{x − lse}. */
static hg_status cross_entropy_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0];
  if (!hg_needs_grad(x)) return HG_OK;
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  int n_rows = x->shape[0], n_cls = x->shape[1];
  const float *labels = nd->saved[0]->data, *lse = nd->saved[1]->data;
  float k = nd->out->grad->data[0] / (float)n_rows;
#pragma omp parallel for if (x->numel > PARALLEL_MIN)
  for (int n = 0; n < n_rows; n++) {
    const float *xr = x->data + (size_t)n * n_cls;
    float *gr = gx->data + (size_t)n * n_cls;
    int label = (int)labels[n];
    for (int c = 0; c < n_cls; c++) {
      float t = k * (expf(xr[c] - lse[n]) - (c == label ? 1.0f : 0.0f));
      gr[c] = acc ? gr[c] + t : t;
    }
  }
  return HG_OK;
}

const hg_op hg_op_cross_entropy = {"cross_entropy", cross_entropy_backward};

static hg_status ce_check(const hg_tensor *x, const int *labels) {
  char s[64];
  if (x->ndim != 2)
    return hg_fail(HG_ERR_SHAPE, "cross_entropy: logits %s must be [N,C]", hg_shape_str(x, s, sizeof s));
  if (!labels) return hg_fail(HG_ERR_ARG, "cross_entropy: labels is NULL");
  for (int n = 0; n < x->shape[0]; n++)
    if (labels[n] < 0 || labels[n] >= x->shape[1])
      return hg_fail(HG_ERR_ARG, "cross_entropy: label %d at index %d out of range [0, %d) for logits %s",
                     labels[n], n, x->shape[1], hg_shape_str(x, s, sizeof s));
  return HG_OK;
}

/* lse[n] = ln Σ_c e^{x[n,c]} (stable); returns Σ_n lse[n] − x[n, label_n]. */
static double ce_rows(const hg_tensor *x, const int *labels, float *lse) {
  int n_rows = x->shape[0], n_cls = x->shape[1];
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) if (x->numel > PARALLEL_MIN)
  for (int n = 0; n < n_rows; n++) {
    const float *xr = x->data + (size_t)n * n_cls;
    float m = xr[0];
    for (int c = 1; c < n_cls; c++) m = fmaxf(m, xr[c]);
    double s = 0.0;
    for (int c = 0; c < n_cls; c++) s += expf(xr[c] - m);
    lse[n] = m + (float)log(s);
    total += (double)m + log(s) - xr[labels[n]];
  }
  return total;
}

/* Saves the labels (as floats) and lse for the backward. */
static hg_tensor *ce_finish(hg_tensor *y, hg_tensor *x, const int *labels, hg_tensor *lse) {
  hg_node *nd;
  if (hg_record(&hg_op_cross_entropy, y, 1, &x, &nd) != HG_OK) goto fail;
  if (nd) {
    hg_tensor *lab = hg_tensor_empty(HG_SHAPE(x->shape[0]));
    if (!lab) goto fail;
    for (int n = 0; n < x->shape[0]; n++) lab->data[n] = (float)labels[n];
    hg_node_save(nd, 0, lab);
    hg_node_save(nd, 1, lse);
    hg_tensor_free(lab);
  }
  hg_tensor_free(lse);
  return y;
fail:
  hg_tensor_free(lse);
  hg_tensor_free(y);
  return NULL;
}

/* −(1/N) Σ_n log_softmax(logits)[n, label_n]; logits [N,C], labels in [0,C). */
hg_tensor *hg_cross_entropy(hg_tensor *logits, const int *labels) {
  if (ce_check(logits, labels) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(0, NULL);
  hg_tensor *lse = hg_tensor_empty(HG_SHAPE(logits->shape[0]));
  if (!y || !lse) {
    hg_tensor_free(y);
    hg_tensor_free(lse);
    return NULL;
  }
  y->data[0] = (float)(ce_rows(logits, labels, lse->data) / logits->shape[0]);
  return ce_finish(y, logits, labels, lse);
}

/* ---------- mean squared error ---------- */

/* ga = ḡ · 2(a − b)/numel, gb = −ga. */
static hg_status mse_backward(hg_node *nd) {
  hg_tensor *a = nd->in[0], *b = nd->in[1];
  float k = 2.0f * nd->out->grad->data[0] / (float)a->numel;
  for (int which = 0; which < 2; which++) {
    hg_tensor *t = nd->in[which];
    if (!hg_needs_grad(t)) continue;
    bool acc;
    hg_tensor *g = hg_grad_acquire(t, &acc);
    if (!g) return HG_ERR_NOMEM;
    float s = which ? -k : k;
    const float *av = a->data, *bv = b->data;
    float *d = g->data;
    size_t n = a->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
      float v = s * (av[i] - bv[i]);
      d[i] = acc ? d[i] + v : v;
    }
  }
  return HG_OK;
}

const hg_op hg_op_mse = {"mse", mse_backward};

/* (1/numel) Σ (a − b)² */
hg_tensor *hg_mse(hg_tensor *a, hg_tensor *b) {
  if (!hg_same_shape(a, b)) {
    char sa[64], sb[64];
    hg_fail(HG_ERR_SHAPE, "mse: shapes %s and %s differ", hg_shape_str(a, sa, sizeof sa),
            hg_shape_str(b, sb, sizeof sb));
    return NULL;
  }
  hg_tensor *y = hg_tensor_empty(0, NULL);
  if (!y) return NULL;
  double sum = 0.0;
  size_t n = a->numel;
  const float *av = a->data, *bv = b->data;
#pragma omp parallel for reduction(+ : sum) if (n > PARALLEL_MIN)
  for (size_t i = 0; i < n; i++) sum += ((double)av[i] - bv[i]) * ((double)av[i] - bv[i]);
  y->data[0] = (float)(sum / (double)n);
  hg_node *nd;
  hg_tensor *in[2] = {a, b};
  if (hg_record(&hg_op_mse, y, 2, in, &nd) != HG_OK) {
    hg_tensor_free(y);
    return NULL;
  }
  return y;
}
