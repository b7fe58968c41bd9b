/* Losses: cross entropy over class logits and mean squared error. Both give
 * a scalar (0-dimensional) tensor. */
#include <math.h>
#include <stdlib.h>

#include "autograd/broadcast.h"
#include "autograd/op.h"
#include "autograd/ops.h"

#define PARALLEL_MIN 32768

/* ---------- cross entropy ---------- */

/* gx[n,c] = ḡ · (softmax[n,c] − [c = label_n]) / N, softmax = e^{x − lse}. */
static hg_status cross_entropy_input_grad(hg_node *nd, int which, hg_tensor *gx, bool acc) {
  (void)which;
  hg_tensor *x = nd->in[0];
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

static hg_status cross_entropy_backward(hg_node *nd) { return hg_grad_inputs(nd, cross_entropy_input_grad); }

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

/* A case's inputs: the logits and their labels as whole floats. */
static hg_tensor *cross_entropy_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  int *labels = malloc(in[1]->numel * sizeof *labels);
  if (!labels) {
    hg_fail(HG_ERR_NOMEM, "cross_entropy: out of memory for %zu labels", in[1]->numel);
    return NULL;
  }
  for (size_t n = 0; n < in[1]->numel; n++) labels[n] = (int)in[1]->data[n];
  hg_tensor *y = hg_cross_entropy(in[0], labels);
  free(labels);
  return y;
}

/* Naive, in double: (1/N) Σ_n ln Σ_c e^{x[n,c]} − x[n, label_n]. */
static hg_tensor *cross_entropy_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  const hg_tensor *x = in[0];
  int rows = x->shape[0], cls = x->shape[1];
  double total = 0.0;
  for (int n = 0; n < rows; n++) {
    double s = 0.0;
    for (int c = 0; c < cls; c++) s += exp((double)x->data[n * cls + c]);
    total += log(s) - x->data[n * cls + (int)in[1]->data[n]];
  }
  return hg_op_ref_scalar(total / rows);
}

static const hg_op_case cross_entropy_cases[] = {
    {"[4,5]", 2, {HG_IN(-2, 2, HG_IN_GRAD, 4, 5), HG_IN(0, 5, HG_IN_INTEGER, 4)}, NULL, 0},
};
/* The classifier of the seeds' net. */
static const hg_op_case cross_entropy_bench[] = {
    {"10 classes", 2, {HG_IN(-2, 2, HG_IN_GRAD, 64, 10), HG_IN(0, 10, HG_IN_INTEGER, 64)}, NULL, 0},
};

const hg_op hg_op_cross_entropy =
    HG_OP_SPEC("cross_entropy", cross_entropy, NULL, cross_entropy_cases, cross_entropy_bench);

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
static hg_status mse_input_grad(hg_node *nd, int which, hg_tensor *gx, bool acc) {
  const float *av = nd->in[0]->data, *bv = nd->in[1]->data;
  float s = (which ? -2.0f : 2.0f) * nd->out->grad->data[0] / (float)gx->numel;
  float *d = gx->data;
  size_t n = gx->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
  for (size_t i = 0; i < n; i++) {
    float v = s * (av[i] - bv[i]);
    d[i] = acc ? d[i] + v : v;
  }
  return HG_OK;
}

static hg_status mse_backward(hg_node *nd) { return hg_grad_inputs(nd, mse_input_grad); }

static hg_tensor *mse_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  return hg_mse(in[0], in[1]);
}

/* Naive, in double: Σ (a − b)² / numel. */
static hg_tensor *mse_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op, (void)args;
  double sum = 0.0;
  for (size_t i = 0; i < in[0]->numel; i++) sum += pow((double)in[0]->data[i] - in[1]->data[i], 2);
  return hg_op_ref_scalar(sum / (double)in[0]->numel);
}

static const hg_op_case mse_cases[] = {
    {"b without grad", 2, {HG_IN(-1, 1, HG_IN_GRAD, 2, 3, 2), HG_IN(-1, 1, 0, 2, 3, 2)}, NULL, 0},
    {"both with grad", 2, {HG_IN(-1, 1, HG_IN_GRAD, 2, 3, 2), HG_IN(-1, 1, HG_IN_GRAD, 2, 3, 2)}, NULL, 0},
};
/* fc5's output against a target. */
static const hg_op_case mse_bench[] = {
    {"fc5 output", 2, {HG_IN(-1, 1, HG_IN_GRAD, 64, 4096), HG_IN(-1, 1, 0, 64, 4096)}, NULL, 0},
};

const hg_op hg_op_mse = HG_OP_SPEC("mse", mse, NULL, mse_cases, mse_bench);

const hg_op *const hg_ops_loss[] = {&hg_op_cross_entropy, &hg_op_mse, NULL};

/* (1/numel) Σ (a − b)² */
hg_tensor *hg_mse(hg_tensor *a, hg_tensor *b) {
  if (hg_check_same_shape("mse", a, b) != HG_OK) return NULL;
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
  return hg_record_output(&hg_op_mse, y, 2, in, &nd);
}
