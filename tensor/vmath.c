#include "tensor/vmath.h"

#include <math.h>

/* GCC calls libmvec's _ZGV…_expf / _ZGV…_powf for these in a simd loop;
 * glibc declares them so only under -ffast-math, which the library avoids
 * (it would drop the NaN checks of training). */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
__attribute__((simd("notinbranch"))) float expf(float);
__attribute__((simd("notinbranch"))) float powf(float, float);
#endif

void hg_vexp(const float *x, float *y, size_t n) {
#pragma omp simd
  for (size_t i = 0; i < n; i++) y[i] = expf(x[i]);
}

/* In chunks: the vector powf takes a slow scalar path for a whole vector
 * when one lane holds 0 (half of a triangle's outputs), so non-positive
 * inputs are raised as 1 and their results replaced by 0 afterwards. */
void hg_vpow_pos(const float *x, float p, float *y, size_t n) {
  enum { CHUNK = 256 };
  float t[CHUNK];
  for (size_t c = 0; c < n; c += CHUNK) {
    size_t m = n - c < CHUNK ? n - c : CHUNK;
    const float *xc = x + c;
    float *yc = y + c;
    for (size_t i = 0; i < m; i++) t[i] = xc[i] > 0 ? xc[i] : 1.0f;
    if (p != 1.0f) {
#pragma omp simd
      for (size_t i = 0; i < m; i++) t[i] = powf(t[i], p);
    }
    for (size_t i = 0; i < m; i++) yc[i] = xc[i] > 0 ? t[i] : 0.0f;
  }
}
