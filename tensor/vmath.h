/* Elementwise exp and power on float arrays, vectorised: with GCC on x86-64
 * glibc they run on libmvec's SIMD variants of expf and powf (≤ 1 ulp off
 * the scalar functions' results), elsewhere on the scalar ones. Public: the
 * rules of hebb/rules/ and users' rules reach them through hebbgrad.h. */
#ifndef HG_VMATH_H
#define HG_VMATH_H

#include <stddef.h>

/* y[i] = exp(x[i]) for i < n; y may be x. */
void hg_vexp(const float *x, float *y, size_t n);
/* y[i] = x[i]^p where x[i] > 0, else 0 (a NaN gives 0), for i < n and p > 0; y may be x. */
void hg_vpow_pos(const float *x, float p, float *y, size_t n);

#endif
