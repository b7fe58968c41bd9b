/* What the benchmarks share: the clock and the sort of their timings.
 * Define _POSIX_C_SOURCE 200809L before any include. */
#ifndef HG_BENCH_TIMING_H
#define HG_BENCH_TIMING_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC. */
static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* qsort order of doubles, ascending. */
static inline int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#endif
