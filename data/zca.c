/* ZCA whitening: covariance by chunked SSYRK (sums kept in double), the
 * eigendecomposition by LAPACK SSYEVD, W = S^T S with S = diag((lambda +
 * eps)^-1/4) U^T, applied with batched SGEMM. */
#define _POSIX_C_SOURCE 200809L
#include "data/zca.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ZCA_CHUNK 1024 /* rows per SSYRK / SGEMM call */

/* LAPACK (Fortran): eigenvalues ascending in w, eigenvectors in the columns of a. */
extern void ssyevd_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
                    float *w, float *work, const int *lwork, int *iwork, const int *liwork, int *info,
                    size_t jobz_len, size_t uplo_len);

static hg_zca *zca_new(int dim, float eps) {
  hg_zca *z = calloc(1, sizeof *z);
  if (!z) {
    hg_fail(HG_ERR_NOMEM, "zca: out of memory");
    return NULL;
  }
  z->dim = dim;
  z->eps = eps;
  z->mean = hg_tensor_empty(HG_SHAPE(dim));
  z->matrix = z->mean ? hg_tensor_empty(HG_SHAPE(dim, dim)) : NULL;
  if (!z->matrix) {
    hg_zca_free(z);
    return NULL;
  }
  return z;
}

void hg_zca_free(hg_zca *zca) {
  if (!zca) return;
  hg_tensor_free(zca->mean);
  hg_tensor_free(zca->matrix);
  free(zca);
}

/* FNV-1a over the shape and the float bits, in 4 interleaved lanes. */
void hg_zca_fingerprint(const hg_tensor *x, char *out, size_t size) {
  uint64_t h[4] = {0xcbf29ce484222325ULL, 1, 2, 3};
  for (int d = 0; d < x->ndim; d++) h[0] = (h[0] ^ (uint64_t)x->shape[d]) * 0x100000001b3ULL;
  size_t n = x->numel, i = 0;
  uint32_t w[4];
  for (; i + 4 <= n; i += 4) {
    memcpy(w, x->data + i, sizeof w);
    for (int l = 0; l < 4; l++) h[l] = (h[l] ^ w[l]) * 0x100000001b3ULL;
  }
  for (; i < n; i++) {
    memcpy(w, x->data + i, sizeof w[0]);
    h[0] = (h[0] ^ w[0]) * 0x100000001b3ULL;
  }
  uint64_t all = h[0] ^ (h[1] * 31) ^ (h[2] * 961) ^ (h[3] * 29791);
  snprintf(out, size, "%016llx", (unsigned long long)all);
}

static hg_status row_mean(const float *x, int n, int dim, float *mean) {
  double *sum = calloc((size_t)dim, sizeof *sum);
  if (!sum) return hg_fail(HG_ERR_NOMEM, "zca: out of memory");
  for (int i = 0; i < n; i++)
    for (int d = 0; d < dim; d++) sum[d] += x[(size_t)i * dim + d];
  for (int d = 0; d < dim; d++) mean[d] = (float)(sum[d] / n);
  free(sum);
  return HG_OK;
}

/* buf[r,:] = x[r,:] - mean for `rows` rows. */
static void center(const float *x, const float *mean, int rows, int dim, float *buf) {
  for (int r = 0; r < rows; r++)
    for (int d = 0; d < dim; d++) buf[(size_t)r * dim + d] = x[(size_t)r * dim + d] - mean[d];
}

/* cov = (x - mean)^T (x - mean) / n, full symmetric, float. */
static hg_status covariance(const float *x, int n, int dim, const float *mean, float *cov) {
  size_t dd = (size_t)dim * dim;
  double *acc = calloc(dd, sizeof *acc);
  float *buf = malloc((size_t)ZCA_CHUNK * dim * sizeof *buf);
  if (!acc || !buf) {
    free(acc);
    free(buf);
    return hg_fail(HG_ERR_NOMEM, "zca: out of memory for the %dx%d covariance", dim, dim);
  }
  for (int at = 0; at < n; at += ZCA_CHUNK) {
    int rows = n - at < ZCA_CHUNK ? n - at : ZCA_CHUNK;
    center(x + (size_t)at * dim, mean, rows, dim, buf);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, rows, 1.0f, buf, dim, 0.0f, cov, dim);
    for (int i = 0; i < dim; i++)
      for (int j = i; j < dim; j++) acc[(size_t)i * dim + j] += cov[(size_t)i * dim + j];
  }
  for (int i = 0; i < dim; i++)
    for (int j = i; j < dim; j++)
      cov[(size_t)i * dim + j] = cov[(size_t)j * dim + i] = (float)(acc[(size_t)i * dim + j] / n);
  free(acc);
  free(buf);
  return HG_OK;
}

/* Eigendecomposition of the symmetric a in place: on return row k of a
 * (row-major) is the k-th eigenvector, lambda[k] its eigenvalue. */
static hg_status eigen(float *a, int dim, float *lambda) {
  int lwork = -1, liwork = -1, info = 0, iwork_query = 0;
  float work_query = 0;
  ssyevd_("V", "U", &dim, a, &dim, lambda, &work_query, &lwork, &iwork_query, &liwork, &info, 1, 1);
  if (info != 0) return hg_fail(HG_ERR_BACKEND, "zca: ssyevd workspace query failed (info %d)", info);
  lwork = (int)work_query + 1;
  liwork = iwork_query;
  float *work = malloc((size_t)lwork * sizeof *work);
  int *iwork = malloc((size_t)liwork * sizeof *iwork);
  if (work && iwork)
    ssyevd_("V", "U", &dim, a, &dim, lambda, work, &lwork, iwork, &liwork, &info, 1, 1);
  free(work);
  free(iwork);
  if (!work || !iwork) return hg_fail(HG_ERR_NOMEM, "zca: out of memory for ssyevd");
  if (info != 0) return hg_fail(HG_ERR_BACKEND, "zca: ssyevd failed (info %d)", info);
  return HG_OK;
}

/* w = U diag((lambda + eps)^-1/2) U^T from the eigenvector rows in a (destroyed). */
static void whitening(float *a, const float *lambda, int dim, float eps, float *w) {
  for (int k = 0; k < dim; k++) {
    float s = powf((lambda[k] > 0 ? lambda[k] : 0) + eps, -0.25f);
    cblas_sscal(dim, s, a + (size_t)k * dim, 1);
  }
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, dim, 1.0f, a, dim, 0.0f, w, dim);
  for (int i = 0; i < dim; i++)
    for (int j = 0; j < i; j++) w[(size_t)i * dim + j] = w[(size_t)j * dim + i];
}

hg_zca *hg_zca_fit_tensor(const hg_tensor *x, float eps) {
  if (!x || x->ndim < 2 || x->shape[0] < 2 || !(eps > 0)) {
    hg_fail(HG_ERR_ARG, "zca fit: need [N>=2, ...] data and eps > 0 (eps %g)", (double)eps);
    return NULL;
  }
  int n = x->shape[0];
  int dim = (int)(x->numel / (size_t)n);
  hg_zca *z = zca_new(dim, eps);
  float *lambda = z ? malloc((size_t)dim * sizeof *lambda) : NULL;
  hg_tensor *a = lambda ? hg_tensor_empty(HG_SHAPE(dim, dim)) : NULL;
  hg_status st = a ? HG_OK : hg_fail(HG_ERR_NOMEM, "zca fit: out of memory (D = %d)", dim);
  if (st == HG_OK) st = row_mean(x->data, n, dim, z->mean->data);
  if (st == HG_OK) st = covariance(x->data, n, dim, z->mean->data, a->data);
  if (st == HG_OK) st = eigen(a->data, dim, lambda);
  if (st == HG_OK) {
    whitening(a->data, lambda, dim, eps, z->matrix->data);
    z->count = n;
    hg_zca_fingerprint(x, z->fingerprint, sizeof z->fingerprint);
  }
  hg_tensor_free(a);
  free(lambda);
  if (st != HG_OK) {
    hg_zca_free(z);
    return NULL;
  }
  return z;
}

hg_zca *hg_zca_fit(const hg_dataset *ds, float eps) {
  if (!ds) {
    hg_fail(HG_ERR_ARG, "zca fit: NULL data set");
    return NULL;
  }
  return hg_zca_fit_tensor(ds->images, eps);
}

hg_status hg_zca_apply_tensor(const hg_zca *zca, hg_tensor *x) {
  if (!zca || !x || x->ndim < 1 || x->numel != (size_t)x->shape[0] * (size_t)zca->dim) {
    char buf[64] = "NULL";
    if (x) hg_shape_str(x, buf, sizeof buf);
    return hg_fail(HG_ERR_SHAPE, "zca apply: data %s, expected rows of %d features", buf,
                   zca ? zca->dim : 0);
  }
  int n = x->shape[0], dim = zca->dim;
  float *buf = malloc((size_t)ZCA_CHUNK * dim * sizeof *buf);
  if (!buf) return hg_fail(HG_ERR_NOMEM, "zca apply: out of memory");
  for (int at = 0; at < n; at += ZCA_CHUNK) {
    int rows = n - at < ZCA_CHUNK ? n - at : ZCA_CHUNK;
    float *rows_x = x->data + (size_t)at * dim;
    center(rows_x, zca->mean->data, rows, dim, buf);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, dim, dim, 1.0f, buf, dim,
                zca->matrix->data, dim, 0.0f, rows_x, dim);
  }
  free(buf);
  return HG_OK;
}

hg_status hg_zca_apply(const hg_zca *zca, hg_dataset *ds) {
  if (!ds) return hg_fail(HG_ERR_ARG, "zca apply: NULL data set");
  return hg_zca_apply_tensor(zca, ds->images);
}
