/* ZCA whitening: covariance by chunked SSYRK (sums kept in double), the
 * eigendecomposition by LAPACK SSYEVD, W = S^T S with S = diag((lambda +
 * eps)^-1/4) U^T, applied with batched SGEMM (hg_gemm, on the library's threads). */
#define _POSIX_C_SOURCE 200809L
#include "data/zca.h"

#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/gemm.h"

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

/* FNV-1a over the shape and the float bits, in 4 interleaved lanes (value i
 * in lane i mod 4, the values past the last whole 4 in lane 0), fed a run of
 * values at a time. */
typedef struct fingerprint {
  uint64_t h[4];
  size_t at, whole; /* values hashed so far; values in whole fours */
} fingerprint;

static void fp_start(fingerprint *f, int ndim, const int *shape, size_t total) {
  *f = (fingerprint){{0xcbf29ce484222325ULL, 1, 2, 3}, 0, total - total % 4};
  for (int d = 0; d < ndim; d++) f->h[0] = (f->h[0] ^ (uint64_t)shape[d]) * 0x100000001b3ULL;
}

static void fp_add(fingerprint *f, const float *x, size_t n) {
  for (size_t k = 0; k < n; k++, f->at++) {
    uint32_t w;
    memcpy(&w, x + k, sizeof w);
    int lane = f->at < f->whole ? (int)(f->at % 4) : 0;
    f->h[lane] = (f->h[lane] ^ w) * 0x100000001b3ULL;
  }
}

static void fp_end(const fingerprint *f, char *out, size_t size) {
  uint64_t all = f->h[0] ^ (f->h[1] * 31) ^ (f->h[2] * 961) ^ (f->h[3] * 29791);
  snprintf(out, size, "%016llx", (unsigned long long)all);
}

void hg_zca_fingerprint(const hg_tensor *x, char *out, size_t size) {
  fingerprint f;
  fp_start(&f, x->ndim, x->shape, x->numel);
  fp_add(&f, x->data, x->numel);
  fp_end(&f, out, size);
}

/* The data a transform is fitted on: the rows of a tensor, or the images of
 * a data set as they read (through buf, ZCA_CHUNK rows). */
typedef struct row_source {
  const hg_tensor *x;
  const hg_dataset *ds;
  int n, dim;
  float *buf;
} row_source;

/* Rows [first, first + count) (count <= ZCA_CHUNK), or NULL on failure. */
static const float *source_rows(const row_source *src, int first, int count) {
  if (src->x) return src->x->data + (size_t)first * src->dim;
  return hg_dataset_get_range(src->ds, first, count, src->buf) == HG_OK ? src->buf : NULL;
}

static int chunk_rows(const row_source *src, int at) { return src->n - at < ZCA_CHUNK ? src->n - at : ZCA_CHUNK; }

hg_status hg_zca_fingerprint_dataset(const hg_dataset *ds, char *out, size_t size) {
  row_source src = {.ds = ds, .n = ds->count, .dim = ds->shape[1] * ds->shape[2] * ds->shape[3]};
  src.buf = malloc((size_t)ZCA_CHUNK * src.dim * sizeof *src.buf);
  if (!src.buf) return hg_fail(HG_ERR_NOMEM, "zca: out of memory");
  fingerprint f;
  fp_start(&f, 4, ds->shape, (size_t)src.n * src.dim);
  hg_status st = HG_OK;
  for (int at = 0; at < src.n && st == HG_OK; at += ZCA_CHUNK) {
    const float *rows = source_rows(&src, at, chunk_rows(&src, at));
    if (rows) fp_add(&f, rows, (size_t)chunk_rows(&src, at) * src.dim);
    else st = hg_last_status();
  }
  free(src.buf);
  if (st == HG_OK) fp_end(&f, out, size);
  return st;
}

static hg_status row_mean(const row_source *src, float *mean) {
  double *sum = calloc((size_t)src->dim, sizeof *sum);
  if (!sum) return hg_fail(HG_ERR_NOMEM, "zca: out of memory");
  hg_status st = HG_OK;
  for (int at = 0; at < src->n && st == HG_OK; at += ZCA_CHUNK) {
    int rows = chunk_rows(src, at);
    const float *x = source_rows(src, at, rows);
    if (!x) st = hg_last_status();
    for (int i = 0; x && i < rows; i++)
      for (int d = 0; d < src->dim; d++) sum[d] += x[(size_t)i * src->dim + d];
  }
  for (int d = 0; d < src->dim; d++) mean[d] = (float)(sum[d] / src->n);
  free(sum);
  return st;
}

/* buf[r,:] = x[r,:] - mean for `rows` rows (buf may be x). */
static void center(const float *x, const float *mean, int rows, int dim, float *buf) {
  for (int r = 0; r < rows; r++)
    for (int d = 0; d < dim; d++) buf[(size_t)r * dim + d] = x[(size_t)r * dim + d] - mean[d];
}

/* cov = (x - mean)^T (x - mean) / n, full symmetric, float. */
static hg_status covariance(const row_source *src, const float *mean, float *cov) {
  int dim = src->dim;
  size_t dd = (size_t)dim * dim;
  double *acc = calloc(dd, sizeof *acc);
  float *buf = malloc((size_t)ZCA_CHUNK * dim * sizeof *buf);
  if (!acc || !buf) {
    free(acc);
    free(buf);
    return hg_fail(HG_ERR_NOMEM, "zca: out of memory for the %dx%d covariance", dim, dim);
  }
  hg_status st = HG_OK;
  for (int at = 0; at < src->n && st == HG_OK; at += ZCA_CHUNK) {
    int rows = chunk_rows(src, at);
    const float *x = source_rows(src, at, rows);
    if (!x) {
      st = hg_last_status();
      break;
    }
    center(x, mean, rows, dim, buf);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, dim, rows, 1.0f, buf, dim, 0.0f, cov, dim);
    for (int i = 0; i < dim; i++)
      for (int j = i; j < dim; j++) acc[(size_t)i * dim + j] += cov[(size_t)i * dim + j];
  }
  for (int i = 0; i < dim; i++)
    for (int j = i; j < dim; j++)
      cov[(size_t)i * dim + j] = cov[(size_t)j * dim + i] = (float)(acc[(size_t)i * dim + j] / src->n);
  free(acc);
  free(buf);
  return st;
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

/* The transform of the rows of src, with the fingerprint `fp` of them. */
static hg_zca *fit_source(const row_source *src, float eps, const char *fp) {
  hg_zca *z = zca_new(src->dim, eps);
  float *lambda = z ? malloc((size_t)src->dim * sizeof *lambda) : NULL;
  hg_tensor *a = lambda ? hg_tensor_empty(HG_SHAPE(src->dim, src->dim)) : NULL;
  hg_status st = a ? HG_OK : hg_fail(HG_ERR_NOMEM, "zca fit: out of memory (D = %d)", src->dim);
  if (st == HG_OK) st = row_mean(src, z->mean->data);
  if (st == HG_OK) st = covariance(src, z->mean->data, a->data);
  if (st == HG_OK) st = eigen(a->data, src->dim, lambda);
  if (st == HG_OK) {
    whitening(a->data, lambda, src->dim, eps, z->matrix->data);
    z->count = src->n;
    snprintf(z->fingerprint, sizeof z->fingerprint, "%s", fp);
  }
  hg_tensor_free(a);
  free(lambda);
  if (st != HG_OK) {
    hg_zca_free(z);
    return NULL;
  }
  return z;
}

hg_zca *hg_zca_fit_tensor(const hg_tensor *x, float eps) {
  if (!x || x->ndim < 2 || x->shape[0] < 2 || !(eps > 0)) {
    hg_fail(HG_ERR_ARG, "zca fit: need [N>=2, ...] data and eps > 0 (eps %g)", (double)eps);
    return NULL;
  }
  row_source src = {.x = x, .n = x->shape[0], .dim = (int)(x->numel / (size_t)x->shape[0])};
  char fp[20];
  hg_zca_fingerprint(x, fp, sizeof fp);
  return fit_source(&src, eps, fp);
}

hg_zca *hg_zca_fit(const hg_dataset *ds, float eps) {
  if (!ds || ds->count < 2 || !(eps > 0) || ds->white_matrix) {
    hg_fail(HG_ERR_ARG, "zca fit: need a data set of >= 2 images not yet whitened and eps > 0 (eps %g%s)",
            (double)eps, ds && ds->white_matrix ? ", the set is whitened" : "");
    return NULL;
  }
  if (ds->images) return hg_zca_fit_tensor(ds->images, eps);
  char fp[20];
  if (hg_zca_fingerprint_dataset(ds, fp, sizeof fp) != HG_OK) return NULL;
  row_source src = {.ds = ds, .n = ds->count, .dim = ds->shape[1] * ds->shape[2] * ds->shape[3]};
  src.buf = malloc((size_t)ZCA_CHUNK * src.dim * sizeof *src.buf);
  if (!src.buf) {
    hg_fail(HG_ERR_NOMEM, "zca fit: out of memory");
    return NULL;
  }
  hg_zca *z = fit_source(&src, eps, fp);
  free(src.buf);
  return z;
}

hg_status hg_zca_whiten_rows(const hg_tensor *mean, const hg_tensor *matrix, float *rows, int n) {
  int dim = (int)mean->numel;
  hg_tensor *buf = hg_tensor_empty(HG_SHAPE((n < ZCA_CHUNK ? n : ZCA_CHUNK) * dim));
  if (!buf) return hg_last_status();
  hg_status st = HG_OK;
  for (int at = 0; at < n && st == HG_OK; at += ZCA_CHUNK) {
    int count = n - at < ZCA_CHUNK ? n - at : ZCA_CHUNK;
    float *x = rows + (size_t)at * dim;
    center(x, mean->data, count, dim, buf->data);
    st = hg_gemm(false, false, count, dim, dim, 1.0f, buf->data, dim, matrix->data, dim, 0.0f, x, dim);
  }
  hg_tensor_free(buf);
  return st;
}

hg_status hg_zca_apply_tensor(const hg_zca *zca, hg_tensor *x) {
  if (!zca || !x || x->ndim < 1 || x->numel != (size_t)x->shape[0] * (size_t)zca->dim) {
    char buf[64] = "NULL";
    if (x) hg_shape_str(x, buf, sizeof buf);
    return hg_fail(HG_ERR_SHAPE, "zca apply: data %s, expected rows of %d features", buf,
                   zca ? zca->dim : 0);
  }
  return hg_zca_whiten_rows(zca->mean, zca->matrix, x->data, x->shape[0]);
}

hg_status hg_zca_apply(const hg_zca *zca, hg_dataset *ds) {
  if (!ds || !zca) return hg_fail(HG_ERR_ARG, "zca apply: NULL argument");
  if (ds->images) return hg_zca_apply_tensor(zca, ds->images);
  int dim = ds->shape[1] * ds->shape[2] * ds->shape[3];
  if (!ds->pixels || ds->white_matrix || dim != zca->dim)
    return hg_fail(HG_ERR_ARG, "zca apply: data set %s %s", ds->name,
                   !ds->pixels ? "is in a float16 file" : ds->white_matrix ? "is already whitened" : "has rows of another size");
  ds->white_mean = hg_tensor_retain(zca->mean);
  ds->white_matrix = hg_tensor_retain(zca->matrix);
  return HG_OK;
}
