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

#define PCG_MULT 6364136223846793005ULL

uint32_t hg_rng_u32(hg_rng *rng) {
  uint64_t old = rng->state;
  rng->state = old * PCG_MULT + rng->inc;
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
  uint64_t mult = PCG_MULT, plus = rng->inc, acc_mult = 1, acc_plus = 0;
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
#define LANES 8           /* generators of consecutive draws, stepped as vectors of four */
#define LANE_BLOCK 256    /* steps of the lanes between two calls of the consumer */

/* What becomes of draws: out[i + k] for the draws r[0..count) at positions i + k. */
typedef struct fill_sink {
  void (*emit)(const struct fill_sink *s, size_t i, const uint32_t *r, size_t count);
  float *out;
  uint32_t below; /* bernoulli: value when (r >> 8) < below */
  float value;
  const float *times; /* bernoulli: product[i] = times[i]·out[i] when given */
  float *product;
} fill_sink;

/* Four generators' states and draws as vectors (GCC's vector extension: one
 * SIMD step for four lanes where the machine has it); LANES / 4 of them step together. */
typedef uint64_t quad64 __attribute__((vector_size(4 * sizeof(uint64_t))));
typedef uint32_t quad32 __attribute__((vector_size(4 * sizeof(uint32_t))));

/* *out = hg_rng_u32's output function of *old, lane by lane (pointers, not
 * values: a vector argument's ABI differs between instruction sets). */
static inline void pcg_output(const quad64 *old, quad32 *out) {
  quad32 x = __builtin_convertvector(((*old >> 18u) ^ *old) >> 27u, quad32);
  quad32 rot = __builtin_convertvector(*old >> 59u, quad32);
  *out = (x >> rot) | (x << ((-rot) & 31u));
}

/* Draws [first, first + len) of the stream at r (r at draw `first`): lane j
 * draws the positions j, j + LANES, j + 2·LANES, … with the generator's
 * LANES-step jump (state ← A·state + C), so each step of all lanes yields
 * LANES consecutive draws; the leftover is drawn one by one. */
static void fill_chunk(hg_rng r, size_t first, size_t len, const fill_sink *s) {
  hg_rng jump = {.state = 0, .inc = r.inc}, at = r;
  hg_rng_advance(&jump, LANES); /* from state 0: C; A from the difference at state 1 */
  uint64_t c = jump.state;
  jump.state = 1;
  hg_rng_advance(&jump, LANES);
  uint64_t a = jump.state - c;
  quad64 st[LANES / 4]; /* lanes 4q … 4q + 3 */
  for (int j = 0; j < LANES; j++) {
    st[j / 4][j % 4] = at.state;
    hg_rng_u32(&at);
  }
  size_t steps = len / LANES;
  quad32 buf[LANE_BLOCK * LANES / 4];
  for (size_t t = 0; t < steps; t += LANE_BLOCK) {
    size_t b = steps - t < LANE_BLOCK ? steps - t : LANE_BLOCK;
    for (size_t k = 0; k < b; k++)
      for (int q = 0; q < LANES / 4; q++) {
        pcg_output(&st[q], &buf[k * (LANES / 4) + q]);
        st[q] = st[q] * a + c;
      }
    s->emit(s, first + t * LANES, (const uint32_t *)buf, b * LANES);
  }
  hg_rng last = {.state = st[0][0], .inc = r.inc};
  for (size_t i = steps * LANES; i < len; i++) {
    uint32_t one = hg_rng_u32(&last);
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
static inline float bernoulli_value(uint32_t bits, uint32_t r, uint32_t below) {
  uint32_t o = bits & (0u - (uint32_t)((r >> 8) < below));
  float v;
  memcpy(&v, &o, sizeof v);
  return v;
}

static void emit_bernoulli(const fill_sink *s, size_t i, const uint32_t *r, size_t count) {
  uint32_t bits;
  memcpy(&bits, &s->value, sizeof bits);
  if (s->out)
    for (size_t k = 0; k < count; k++) s->out[i + k] = bernoulli_value(bits, r[k], s->below);
  if (!s->product) return;
  const float *times = s->times + i;
  float *product = s->product + i;
  for (size_t k = 0; k < count; k++) product[k] = times[k] * bernoulli_value(bits, r[k], s->below);
}

void hg_rng_fill_uniform(hg_rng *rng, float *out, size_t n) {
  fill(rng, n, &(fill_sink){.emit = emit_uniform, .out = out});
}

void hg_rng_fill_bernoulli(hg_rng *rng, float *out, size_t n, float keep, float value) {
  hg_rng_fill_bernoulli_times(rng, out, n, keep, value, NULL, NULL);
}

void hg_rng_fill_bernoulli_times(hg_rng *rng, float *out, size_t n, float keep, float value, const float *x,
                                 float *y) {
  /* u = (r >> 8)·2⁻²⁴ < keep  ⟺  the integer r >> 8 < ⌈keep·2²⁴⌉ (both sides exact) */
  double bound = ceil((double)keep * 16777216.0);
  uint32_t below = bound <= 0 ? 0 : bound >= 16777216.0 ? 16777216u : (uint32_t)bound;
  fill(rng, n,
       &(fill_sink){.emit = emit_bernoulli, .out = out, .below = below, .value = value, .times = x, .product = y});
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
