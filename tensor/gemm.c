#include "tensor/gemm.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include "tensor/kstats.h"

static hg_gemm_backend backend = HG_GEMM_ONEDNN;

void hg_gemm_set_backend(hg_gemm_backend b) { backend = b; }
hg_gemm_backend hg_gemm_get_backend(void) { return backend; }

/* Leading dimensions must cover the stored rows: A is m×k (k×m transposed). */
static hg_status gemm_check(bool trans_a, bool trans_b, int m, int n, int k, int lda, int ldb,
                            int ldc) {
  int min_a = trans_a ? m : k, min_b = trans_b ? k : n;
  if (m < 0 || n < 0 || k < 0 || lda < (min_a > 1 ? min_a : 1) ||
      ldb < (min_b > 1 ? min_b : 1) || ldc < (n > 1 ? n : 1))
    return hg_fail(HG_ERR_ARG, "gemm: bad sizes m=%d n=%d k=%d with lda=%d ldb=%d ldc=%d", m, n, k,
                   lda, ldb, ldc);
  return HG_OK;
}

/* C = α·op(A)·op(B) + β·C, row-major */
hg_status hg_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc) {
  hg_status s = gemm_check(trans_a, trans_b, m, n, k, lda, ldb, ldc);
  if (s != HG_OK) return s;
  if (m == 0 || n == 0) return HG_OK;
  hg_kstats.gemm++;
  if (backend == HG_GEMM_OPENBLAS) {
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return HG_OK;
  }
  dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda,
                                b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    return hg_fail(HG_ERR_BACKEND, "gemm: dnnl_sgemm failed (status %d) for m=%d n=%d k=%d",
                   (int)st, m, n, k);
  return HG_OK;
}
