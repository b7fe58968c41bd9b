/* Single-precision GEMM on oneDNN (dnnl_sgemm) or OpenBLAS (cblas_sgemm).
 * oneDNN is the default: it measures faster here (bench/bench_ops gemm). */
#ifndef HG_GEMM_H
#define HG_GEMM_H

#include <stdbool.h>

#include "tensor/error.h"

typedef enum hg_gemm_backend { HG_GEMM_ONEDNN, HG_GEMM_OPENBLAS } hg_gemm_backend;

void hg_gemm_set_backend(hg_gemm_backend backend);
hg_gemm_backend hg_gemm_get_backend(void);

/* C = α·op(A)·op(B) + β·C, row-major; op(A) is m×k, op(B) k×n, C m×n. */
hg_status hg_gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a,
                  int lda, const float *b, int ldb, float beta, float *c, int ldc);

#endif
