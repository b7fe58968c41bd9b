#include "tests/helpers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

hg_tensor *hgt_ok(hg_tensor *t) {
  if (!t) fail_msg("library error: %s", hg_last_error());
  return t;
}

void hgt_status(hg_status status) {
  if (status != HG_OK) fail_msg("status %s: %s", hg_status_name(status), hg_last_error());
}

hg_tensor *hgt_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  return hgt_ok(hg_tensor_uniform(ndim, shape, lo, hi, &rng));
}

void hgt_close(const float *a, const float *b, size_t n, float rtol, float atol) {
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (!(d <= atol + rtol * fabsf(b[i])))
      fail_msg("element %zu: got %.7g, expected %.7g (diff %.3g)", i, a[i], b[i], d);
  }
}

const char *hgt_shared_dir(void) {
  const char *s = getenv("HG_SHARED");
  return s ? s : "../shared";
}
