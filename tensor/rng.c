#include "tensor/rng.h"

#include <math.h>

void hg_rng_seed(hg_rng *rng, uint64_t seed, uint64_t stream) {
  rng->state = 0;
  rng->inc = (stream << 1u) | 1u;
  hg_rng_u32(rng);
  rng->state += seed;
  hg_rng_u32(rng);
}

uint32_t hg_rng_u32(hg_rng *rng) {
  uint64_t old = rng->state;
  rng->state = old * 6364136223846793005ULL + rng->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint32_t hg_rng_below(hg_rng *rng, uint32_t bound) {
  uint32_t threshold = -bound % bound; /* reject the biased low range */
  for (;;) {
    uint32_t r = hg_rng_u32(rng);
    if (r >= threshold) return r % bound;
  }
}

float hg_rng_uniform(hg_rng *rng) { return (float)(hg_rng_u32(rng) >> 8) * 0x1.0p-24f; }

void hg_rng_advance(hg_rng *rng, uint64_t delta) { /* the LCG's k-th power by squaring (Brown 1994) */
  uint64_t mult = 6364136223846793005ULL, plus = rng->inc, acc_mult = 1, acc_plus = 0;
  for (; delta; delta >>= 1) {
    if (delta & 1) {
      acc_mult *= mult;
      acc_plus = acc_plus * mult + plus;
    }
    plus = (mult + 1) * plus;
    mult *= mult;
  }
  rng->state = acc_mult * rng->state + acc_plus;
}

#define FILL_CHUNK 65536

void hg_rng_fill_uniform(hg_rng *rng, float *out, size_t n) {
  size_t chunks = (n + FILL_CHUNK - 1) / FILL_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (size_t c = 0; c < chunks; c++) {
    hg_rng r = *rng;
    hg_rng_advance(&r, c * FILL_CHUNK);
    size_t end = (c + 1) * FILL_CHUNK < n ? (c + 1) * FILL_CHUNK : n;
    for (size_t i = c * FILL_CHUNK; i < end; i++) out[i] = hg_rng_uniform(&r);
  }
  hg_rng_advance(rng, n);
}

float hg_rng_normal(hg_rng *rng) {
  float u1 = 1.0f - hg_rng_uniform(rng); /* (0, 1] so log is finite */
  float u2 = hg_rng_uniform(rng);
  return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

void hg_rng_shuffle(hg_rng *rng, int *values, int n) {
  for (int i = n - 1; i > 0; i--) {
    int j = (int)hg_rng_below(rng, (uint32_t)i + 1);
    int tmp = values[i];
    values[i] = values[j];
    values[j] = tmp;
  }
}
