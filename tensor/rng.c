#include "tensor/rng.h"

#include <math.h>
#include <string.h>

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

#define FILL_CHUNK 65536 /* draws per thread's task */
#define LANES 8           /* generators stepped side by side: their multiplies overlap */
#define LANE_BLOCK 256    /* draws per lane between two calls of the consumer */

/* What becomes of draws: out[i + k] for the draws r[0..count) at positions i + k. */
typedef struct fill_sink {
  void (*emit)(const struct fill_sink *s, size_t i, const uint32_t *r, size_t count);
  float *out;
  uint32_t below; /* bernoulli: value when (r >> 8) < below */
  float value;
} fill_sink;

/* Draws [first, first + len) of the stream at r (r at draw `first`): the
 * chunk is cut in LANES runs, one generator jumped to the start of each, all
 * stepped in one loop; the last run's generator draws the leftover. */
static void fill_chunk(hg_rng r, size_t first, size_t len, const fill_sink *s) {
  size_t run = len / LANES;
  hg_rng lane[LANES];
  for (int j = 0; j < LANES; j++) {
    lane[j] = r;
    hg_rng_advance(&lane[j], (uint64_t)j * run);
  }
  uint32_t buf[LANES][LANE_BLOCK];
  for (size_t t = 0; t < run; t += LANE_BLOCK) {
    size_t b = run - t < LANE_BLOCK ? run - t : LANE_BLOCK;
    for (size_t k = 0; k < b; k++)
      for (int j = 0; j < LANES; j++) buf[j][k] = hg_rng_u32(&lane[j]);
    for (int j = 0; j < LANES; j++) s->emit(s, first + (size_t)j * run + t, buf[j], b);
  }
  for (size_t i = LANES * run; i < len; i++) {
    uint32_t one = hg_rng_u32(&lane[LANES - 1]);
    s->emit(s, first + i, &one, 1);
  }
}

/* The next n draws of rng into s, in chunks on all threads; rng ends past them. */
static void fill(hg_rng *rng, size_t n, const fill_sink *s) {
  size_t chunks = (n + FILL_CHUNK - 1) / FILL_CHUNK;
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (size_t c = 0; c < chunks; c++) {
    hg_rng r = *rng;
    hg_rng_advance(&r, c * FILL_CHUNK);
    size_t end = (c + 1) * FILL_CHUNK < n ? (c + 1) * FILL_CHUNK : n;
    fill_chunk(r, c * FILL_CHUNK, end - c * FILL_CHUNK, s);
  }
  hg_rng_advance(rng, n);
}

static void emit_uniform(const fill_sink *s, size_t i, const uint32_t *r, size_t count) {
  for (size_t k = 0; k < count; k++) s->out[i + k] = (float)(r[k] >> 8) * 0x1.0p-24f;
}

/* Branch-free (a kept draw is a coin flip a branch would mispredict): the
 * value's bits ANDed with all ones or all zeros. */
static void emit_bernoulli(const fill_sink *s, size_t i, const uint32_t *r, size_t count) {
  uint32_t bits;
  memcpy(&bits, &s->value, sizeof bits);
  float *out = s->out + i;
  for (size_t k = 0; k < count; k++) {
    uint32_t o = bits & (0u - (uint32_t)((r[k] >> 8) < s->below));
    memcpy(&out[k], &o, sizeof o);
  }
}

void hg_rng_fill_uniform(hg_rng *rng, float *out, size_t n) {
  fill(rng, n, &(fill_sink){.emit = emit_uniform, .out = out});
}

void hg_rng_fill_bernoulli(hg_rng *rng, float *out, size_t n, float keep, float value) {
  /* u = (r >> 8)·2⁻²⁴ < keep  ⟺  the integer r >> 8 < ⌈keep·2²⁴⌉ (both sides exact) */
  double bound = ceil((double)keep * 16777216.0);
  uint32_t below = bound <= 0 ? 0 : bound >= 16777216.0 ? 16777216u : (uint32_t)bound;
  fill(rng, n, &(fill_sink){.emit = emit_bernoulli, .out = out, .below = below, .value = value});
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
