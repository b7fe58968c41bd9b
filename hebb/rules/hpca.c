/* Sanger's rule / HPCA (Lagani: y = f(u), e.g. relu):
 * Δw_k = η c_k Σ y_k (x − Σ_{j≤k} y_j w_j);
 * L = −Σ sg(c_k y_k) u_k + Σ_k w_k · sg(c_k Σ_{j≤k} C_kj w_j), C = Σ y yᵀ. */
#include <stdlib.h>

#include "autograd/ops.h"
#include "hebb/builtins.h"
#include "hebb/surrogate.h"
#include "tensor/gemm.h"

/* m_k = c_k Σ_{j≤k} C_kj w_j with C = Σ y yᵀ over samples and positions.
 * C [K,K] comes from the tensor pool: no system allocation per step. */
static hg_tensor *hpca_decay(const hg_tensor *w, const hg_tensor *y, const double *c) {
  int n, k, p;
  hg_rule_dims(y, &n, &k, &p);
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

static hg_tensor *hpca_loss(const hg_rule_ctx *c, const hg_tensor *y) {
  double *f = malloc((size_t)y->shape[1] * sizeof *f);
  if (!f) {
    hg_fail(HG_ERR_NOMEM, "hpca: out of memory");
    return NULL;
  }
  hg_tensor *hebbian = hg_aggregation_factors(c->agg, y, f) == HG_OK ? hg_hebbian_term(y, f, c->u) : NULL;
  hg_tensor *m = hebbian ? hpca_decay(c->w, y, f) : NULL;
  hg_tensor *decay = m ? hg_weight_term(c->w, m) : NULL;
  hg_tensor *loss = decay ? hg_add(hebbian, decay) : NULL;
  hg_tensor *temps[] = {hebbian, m, decay};
  for (int i = 0; i < 3; i++) hg_tensor_free(temps[i]);
  free(f);
  return loss;
}

const hg_rule_def hg_rule_hpca = {
    .name = "hpca",
    .aliases = {"sanger"},
    .doc = "Sanger, HPCA (Lagani with relu): dw_k = sum y_k (x - sum_{j<=k} y_j w_j)",
    .aggregations = HG_AGG_ALL,
    .aggregation = HG_AGG_MEAN,
    .loss = hpca_loss};
