/* PCG32 (O'Neill, pcg-random.org: XSH-RR output, 64-bit LCG state).
 * The same seed gives the same numbers on every machine. */
#ifndef HG_RNG_H
#define HG_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct hg_rng {
  uint64_t state;
  uint64_t inc;
} hg_rng;

/* Seed a generator; `stream` selects one of 2^63 independent sequences. */
void hg_rng_seed(hg_rng *rng, uint64_t seed, uint64_t stream);
/* Uniform 32-bit integer. */
uint32_t hg_rng_u32(hg_rng *rng);
/* Uniform integer in [0, bound). */
uint32_t hg_rng_below(hg_rng *rng, uint32_t bound);
/* Uniform float in [0, 1) with 24 random bits. */
float hg_rng_uniform(hg_rng *rng);
/* Skip the next `delta` numbers in O(log delta) steps. */
void hg_rng_advance(hg_rng *rng, uint64_t delta);
/* out[i] = the i-th next hg_rng_uniform, for i < n: the same numbers as n
 * calls in a row, drawn in chunks on all threads (jumping ahead to each). */
void hg_rng_fill_uniform(hg_rng *rng, float *out, size_t n);
/* out[i] = value when the i-th next hg_rng_uniform is < keep, else 0, for
 * i < n (a Bernoulli(keep) mask; the same draws as hg_rng_fill_uniform). */
void hg_rng_fill_bernoulli(hg_rng *rng, float *out, size_t n, float keep, float value);
/* The same mask into out, and y[i] = x[i]·mask[i] in the same pass when x
 * and y are given; out may then be NULL (the product without the mask). */
void hg_rng_fill_bernoulli_times(hg_rng *rng, float *out, size_t n, float keep, float value, const float *x,
                                 float *y);
/* Standard normal (Box–Muller). */
float hg_rng_normal(hg_rng *rng);
/* Fisher–Yates shuffle of n ints. */
void hg_rng_shuffle(hg_rng *rng, int *values, int n);

#endif
