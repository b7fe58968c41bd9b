#include "hebb/rules.h"

#include <stdlib.h>
#include <string.h>

#include "autograd/ops.h"
#include "tensor/axis.h"
#include "tensor/gemm.h"

hg_status hg_rule_parse(const char *text, hg_rule *out) {
  static const struct { const char *name; hg_rule rule; } names[] = {
      {"hebb", HG_RULE_HEBB}, {"instar", HG_RULE_INSTAR}, {"competitive", HG_RULE_INSTAR},
      {"oja", HG_RULE_OJA},   {"hpca", HG_RULE_HPCA},     {"sanger", HG_RULE_HPCA}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(text, names[i].name)) {
      *out = names[i].rule;
      return HG_OK;
    }
  return hg_fail(HG_ERR_ARG, "rule '%s' is not one of hebb, instar, competitive, oja, hpca, sanger", text);
}

const char *hg_rule_name(hg_rule rule) {
  static const char *const names[HG_RULE_COUNT] = {"hebb", "instar", "oja", "hpca"};
  return (int)rule >= 0 && rule < HG_RULE_COUNT ? names[rule] : NULL;
}

/* Sizes of u seen as [N, K, P] around the neuron axis. */
static void nkp_of(const hg_tensor *u, int *n, int *k, int *p) {
  hg_axis a;
  hg_axis_split(&a, "hebb_loss", u, 1); /* u is 2-D or 4-D (checked) */
  *n = (int)a.outer;
  *k = (int)a.len;
  *p = (int)a.inner;
}

/* Per-kernel sums over samples and positions: Σ y_k (power 1) or Σ y_k² (power 2). */
static void kernel_sums(const hg_tensor *y, int power, double *out) {
  int n, k, p;
  nkp_of(y, &n, &k, &p);
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

/* a = y · c_k: the coefficient of u in −L, kernel k scaled by c_k. */
static hg_tensor *scaled_coefficients(const hg_tensor *y, const double *c) {
  int n, k, p;
  nkp_of(y, &n, &k, &p);
  hg_tensor *a = hg_tensor_empty(y->ndim, y->shape);
  if (!a) return NULL;
#pragma omp parallel for collapse(2) if ((size_t)n * k * p > 32768)
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++) {
      size_t at = ((size_t)i * k + j) * p;
      float cj = (float)c[j];
      for (int q = 0; q < p; q++) a->data[at + q] = y->data[at + q] * cj;
    }
  return a;
}

/* −Σ a ⊙ u, with a negated in place (it is a constant of this loss). */
static hg_tensor *hebbian_term(hg_tensor *a, hg_tensor *u) {
  float *v = a->data;
  size_t n = a->numel;
#pragma omp parallel for simd if (n > 32768)
  for (size_t i = 0; i < n; i++) v[i] = -v[i];
  return hg_dot(a, u);
}

/* Σ w ⊙ m for a constant m shaped like w: gradient m. */
static hg_tensor *decay_term(hg_tensor *w, hg_tensor *m) { return hg_dot(w, m); }

/* ½ Σ_k q_k ‖w_k‖² (instar, oja): Σ w ⊙ sg(q_k w_k) has the gradient q_k w_k;
 * a constant −½ Σ_k q_k ‖w_k‖² makes the value the formula's. */
static hg_tensor *norm_term(hg_tensor *w, const double *q) {
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
  hg_tensor *dot = decay_term(w, m);
  hg_tensor *l = dot ? hg_add(dot, shift) : NULL;
  hg_tensor_free(dot);
  hg_tensor_free(shift);
  hg_tensor_free(m);
  return l;
}

/* m_k = c_k Σ_{j≤k} C_kj w_j with C = Σ y yᵀ over samples and positions.
 * C [K,K] comes from the tensor pool: no system allocation per step. */
static hg_tensor *hpca_decay(const hg_tensor *w, const hg_tensor *y, const double *c) {
  int n, k, p;
  nkp_of(y, &n, &k, &p);
  size_t fan = w->numel / (size_t)k;
  hg_tensor *cov_t = hg_tensor_empty(HG_SHAPE(k, k));
  hg_tensor *m = cov_t ? hg_tensor_empty(w->ndim, w->shape) : NULL;
  if (!m) {
    hg_tensor_free(cov_t);
    hg_fail(HG_ERR_NOMEM, "hpca: out of memory");
    return NULL;
  }
  float *cov = cov_t->data;
  if (p == 1) /* C = YᵀY with Y [N,K] */
    hg_gemm(true, false, k, k, n, 1.0f, y->data, k, y->data, k, 0.0f, cov, k);
  else
    for (int i = 0; i < n; i++) /* C += Y_i Y_iᵀ with Y_i the [K,P] slice of sample i */
      hg_gemm(false, true, k, k, p, 1.0f, y->data + (size_t)i * k * p, p, y->data + (size_t)i * k * p, p,
              i ? 1.0f : 0.0f, cov, k);
  for (int a = 0; a < k; a++)
    for (int b = 0; b < k; b++) cov[a * k + b] = b <= a ? (float)(cov[a * k + b] * c[a]) : 0.0f;
  /* M = tril(C) W in row blocks: block rows [r, r + rows) need columns [0, r + rows) only */
  int block = (k + 7) / 8;
  for (int r = 0; r < k; r += block) {
    int rows = r + block <= k ? block : k - r;
    hg_gemm(false, false, rows, (int)fan, r + rows, 1.0f, cov + (size_t)r * k, k, w->data, (int)fan, 0.0f,
            m->data + (size_t)r * fan, (int)fan);
  }
  hg_tensor_free(cov_t);
  return m;
}

static hg_status check_shapes(const hg_tensor *u, const hg_tensor *w, const hg_tensor *y) {
  char a[64], b[64], c[64];
  hg_shape_str(u, a, sizeof a);
  hg_shape_str(w, b, sizeof b);
  hg_shape_str(y, c, sizeof c);
  if ((u->ndim != 2 && u->ndim != 4) || !hg_same_shape(u, y) || w->shape[0] != u->shape[1])
    return hg_fail(HG_ERR_SHAPE, "hebb_loss: u %s, weights %s and coefficients %s do not match", a,
                   b, c);
  return HG_OK;
}

hg_tensor *hg_hebb_loss(hg_rule rule, hg_aggregation agg, hg_tensor *u, hg_tensor *w,
                        const hg_tensor *y) {
  if (check_shapes(u, w, y) != HG_OK) return NULL;
  int k = u->shape[1];
  double *c = malloc(2 * (size_t)k * sizeof *c), *q = c + k;
  if (!c) {
    hg_fail(HG_ERR_NOMEM, "hebb_loss: out of memory");
    return NULL;
  }
  kernel_sums(y, 1, c); /* Σ y_k, then the aggregation factor c_k */
  double count = (double)(u->numel / (size_t)k); /* N·P */
  for (int j = 0; j < k; j++) {
    q[j] = c[j];
    c[j] = agg == HG_AGG_MEAN ? 1.0 / (c[j] + HG_AGG_EPS) : agg == HG_AGG_AVG ? 1.0 / count : 1.0;
  }
  if (rule == HG_RULE_OJA) kernel_sums(y, 2, q);
  for (int j = 0; j < k; j++) q[j] *= c[j];
  hg_tensor *a = scaled_coefficients(y, c);
  hg_tensor *loss = a ? hebbian_term(a, u) : NULL;
  if (loss && rule != HG_RULE_HEBB) {
    hg_tensor *d = NULL;
    if (rule == HG_RULE_HPCA) {
      hg_tensor *m = hpca_decay(w, y, c);
      d = m ? decay_term(w, m) : NULL;
      hg_tensor_free(m);
    } else {
      d = norm_term(w, q);
    }
    hg_tensor *total = d ? hg_add(loss, d) : NULL;
    hg_tensor_free(d);
    hg_tensor_free(loss);
    loss = total;
  }
  hg_tensor_free(a);
  free(c);
  return loss;
}

hg_tensor *hg_chl_loss(hg_tensor *u_plus, const hg_tensor *y_plus, hg_tensor *u_minus,
                       const hg_tensor *y_minus) {
  if (!hg_same_shape(u_plus, y_plus) || !hg_same_shape(u_minus, y_minus)) {
    char a[64], b[64];
    hg_fail(HG_ERR_SHAPE, "chl_loss: u %s and y %s do not match", hg_shape_str(u_plus, a, sizeof a),
            hg_shape_str(y_plus, b, sizeof b));
    return NULL;
  }
  hg_tensor *yp = hg_tensor_clone(y_plus), *ym = hg_tensor_clone(y_minus);
  hg_tensor *plus = yp ? hebbian_term(yp, u_plus) : NULL;   /* −Σ y⁺u⁺ */
  hg_tensor *minus = ym ? hebbian_term(ym, u_minus) : NULL;  /* −Σ y⁻u⁻ */
  hg_tensor *loss = plus && minus ? hg_sub(plus, minus) : NULL;
  hg_tensor_free(yp);
  hg_tensor_free(ym);
  hg_tensor_free(plus);
  hg_tensor_free(minus);
  return loss;
}
