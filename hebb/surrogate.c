#include "hebb/surrogate.h"

#include <stdlib.h>

#include "autograd/batch_sync.h"
#include "autograd/ops.h"
#include "tensor/conv.h"
#include "tensor/gemm.h"

void hg_rule_dims(const hg_tensor *y, int *n, int *k, int *p) {
  *n = y->shape[0];
  *k = y->shape[1];
  *p = (int)(y->numel / ((size_t)*n * *k));
}

void hg_kernel_sums(const hg_tensor *y, int power, double *out) {
  int n, k, p;
  hg_rule_dims(y, &n, &k, &p);
#pragma omp parallel for if ((size_t)n * k * p > 32768)
  for (int j = 0; j < k; j++) {
    double acc = 0;
    for (int i = 0; i < n; i++) {
      const float *v = y->data + ((size_t)i * k + j) * p;
      for (int q = 0; q < p; q++) acc += power == 1 ? v[q] : (double)v[q] * v[q];
    }
    out[j] = acc;
  }
}

hg_status hg_aggregation_factors(hg_aggregation agg, const hg_tensor *y, double *out) {
  int n, k, p;
  hg_rule_dims(y, &n, &k, &p);
  double count = (double)n * p;
  hg_status s = HG_OK;
  if (agg == HG_AGG_MEAN) hg_kernel_sums(y, 1, out);
  /* data-parallel: the sums and the count of the whole batch, every process's rows */
  if (agg == HG_AGG_MEAN) s = hg_batch_sum(out, (size_t)k);
  if (agg == HG_AGG_AVG) s = hg_batch_sum(&count, 1);
  for (int j = 0; j < k; j++)
    out[j] = agg == HG_AGG_MEAN  ? 1.0 / (out[j] + HG_AGG_EPS)
             : agg == HG_AGG_AVG ? 1.0 / count
                                 : 1.0;
  return s;
}

hg_tensor *hg_hebbian_term(const hg_tensor *y, const double *c, hg_tensor *u) {
  int n, k, p;
  hg_rule_dims(y, &n, &k, &p);
  hg_tensor *a = hg_tensor_empty(y->ndim, y->shape); /* −c_k y_k: a constant of this loss */
  if (!a) return NULL;
#pragma omp parallel for collapse(2) if ((size_t)n * k * p > 32768)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      size_t at = ((size_t)i * k + j) * p;
      float cj = (float)c[j];
      for (int q = 0; q < p; q++) a->data[at + q] = -(y->data[at + q] * cj);
    }
  hg_tensor *l = hg_dot(a, u);
  hg_tensor_free(a);
  return l;
}

hg_tensor *hg_weight_term(hg_tensor *w, hg_tensor *m) { return hg_dot(w, m); }

/* Σ w ⊙ sg(q_k w_k) has the gradient q_k w_k; a constant −½ Σ_k q_k ‖w_k‖²
 * makes the value the formula's. */
hg_tensor *hg_norm_term(hg_tensor *w, const double *q) {
  hg_tensor *m = hg_tensor_empty(w->ndim, w->shape);
  hg_tensor *shift = m ? hg_tensor_empty(0, NULL) : NULL;
  if (!shift) {
    hg_tensor_free(m);
    return NULL;
  }
  size_t fan = w->numel / (size_t)w->shape[0];
  double half = 0;
#pragma omp parallel for reduction(+ : half) if (w->numel > 32768)
  for (int k = 0; k < w->shape[0]; k++) {
    const float *wk = w->data + (size_t)k * fan;
    float *mk = m->data + (size_t)k * fan, qk = (float)q[k];
    double sq = 0;
    for (size_t d = 0; d < fan; d++) {
      mk[d] = qk * wk[d];
      sq += (double)wk[d] * wk[d];
    }
    half += 0.5 * q[k] * sq;
  }
  shift->data[0] = (float)-half;
  hg_tensor *dot = hg_weight_term(w, m);
  hg_tensor *l = dot ? hg_add(dot, shift) : NULL;
  hg_tensor_free(dot);
  hg_tensor_free(shift);
  hg_tensor_free(m);
  return l;
}

/* loss += term, consuming both; NULL when either is NULL or the sum fails. */
static hg_tensor *add_consume(hg_tensor *loss, hg_tensor *term) {
  hg_tensor *total = loss && term ? hg_add(loss, term) : NULL;
  hg_tensor_free(loss);
  hg_tensor_free(term);
  return total;
}

hg_tensor *hg_hebbian_loss(const hg_rule_ctx *c, const hg_tensor *y, int power) {
  int k = y->shape[1];
  double *f = malloc(2 * (size_t)k * sizeof *f), *q = f + k;
  if (!f) {
    hg_fail(HG_ERR_NOMEM, "hebbian_loss: out of memory");
    return NULL;
  }
  hg_tensor *loss = hg_aggregation_factors(c->agg, y, f) == HG_OK ? hg_hebbian_term(y, f, c->u) : NULL;
  if (loss && power > 0) {
    hg_kernel_sums(y, power, q);
    for (int j = 0; j < k; j++) q[j] *= f[j];
    loss = add_consume(loss, hg_norm_term(c->w, q));
  }
  free(f);
  return loss;
}

hg_tensor *hg_hebbian_product(const hg_rule_ctx *c, const hg_tensor *a) {
  hg_tensor *out = hg_tensor_empty(c->w->ndim, c->w->shape);
  if (!out) return NULL;
  hg_status s;
  if (a->ndim == 2) { /* aᵀ x: [K,N]·[N,D] */
    int n = a->shape[0], k = a->shape[1], d = c->x->shape[1];
    s = hg_gemm(true, false, k, d, n, 1.0f, a->data, k, c->x->data, d, 0.0f, out->data, d);
  } else {
    hg_conv_shape cs;
    s = hg_conv_shape_init(&cs, c->x->shape, c->w->shape, c->stride, c->pad);
    if (s == HG_OK) s = hg_conv2d_backward_weights(&cs, c->x->data, a->data, out->data, NULL, false);
  }
  if (s != HG_OK) {
    hg_tensor_free(out);
    return NULL;
  }
  return out;
}

hg_tensor *hg_hebbian_delta(const hg_rule_ctx *c, const hg_tensor *g, const hg_tensor *h) {
  int n, k, p;
  hg_rule_dims(g, &n, &k, &p);
  hg_tensor *delta = hg_hebbian_product(c, g);
  if (!delta) return NULL;
  size_t fan = delta->numel / (size_t)k;
#pragma omp parallel for if (delta->numel > 32768)
  for (int j = 0; j < k; j++) {
    double gh = 0;
    for (int i = 0; i < n; i++) {
      const float *gj = g->data + ((size_t)i * k + j) * p, *hj = h->data + ((size_t)i * k + j) * p;
      for (int q = 0; q < p; q++) gh += (double)gj[q] * hj[q];
    }
    for (size_t d = 0; d < fan; d++) delta->data[j * fan + d] -= (float)gh * c->w->data[j * fan + d];
  }
  return delta;
}

/* −Σ y ⊙ u with y copied and negated (a constant of the loss). */
static hg_tensor *negated_dot(const hg_tensor *y, hg_tensor *u) {
  hg_tensor *a = hg_tensor_clone(y);
  if (!a) return NULL;
  for (size_t i = 0; i < a->numel; i++) a->data[i] = -a->data[i];
  hg_tensor *l = hg_dot(a, u);
  hg_tensor_free(a);
  return l;
}

hg_tensor *hg_chl_loss(hg_tensor *u_plus, const hg_tensor *y_plus, hg_tensor *u_minus,
                       const hg_tensor *y_minus) {
  if (!hg_same_shape(u_plus, y_plus) || !hg_same_shape(u_minus, y_minus)) {
    char a[64], b[64];
    hg_fail(HG_ERR_SHAPE, "chl_loss: u %s and y %s do not match", hg_shape_str(u_plus, a, sizeof a),
            hg_shape_str(y_plus, b, sizeof b));
    return NULL;
  }
  hg_tensor *plus = negated_dot(y_plus, u_plus);   /* −Σ y⁺u⁺ */
  hg_tensor *minus = negated_dot(y_minus, u_minus); /* −Σ y⁻u⁻ */
  hg_tensor *loss = plus && minus ? hg_sub(plus, minus) : NULL;
  hg_tensor_free(plus);
  hg_tensor_free(minus);
  return loss;
}
