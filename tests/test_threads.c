/* The process-wide state is safe to share between threads: two threads
 * allocating through the tensor pool and running convolutions through the
 * kernel cache at the same time get the same results as one thread alone,
 * and the pool's counters add up; a thread's tape goes with the thread (the
 * sanitizer build finds no leak). */
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "tests/helpers.h"

enum { ROUNDS = 300, POOL_ROUNDS = 200000 };

typedef struct worker {
  int channels;     /* the two workers use different shapes: different kernels */
  float checksum;   /* of the last round's output and gradient */
  size_t requests;  /* pool requests made by the pool loop */
  hg_status status;
} worker;

/* y = conv(x, w); L = Σ y²; backward; checksum of y and dL/dw. */
static hg_status conv_round(int channels, uint64_t seed, float *checksum) {
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(2, channels, 9, 9));
  hg_tensor *w = hg_tensor_empty(HG_SHAPE(4, channels, 3, 3));
  hg_rng rng;
  hg_rng_seed(&rng, seed, 1);
  for (size_t i = 0; x && i < x->numel; i++) x->data[i] = hg_rng_normal(&rng);
  for (size_t i = 0; w && i < w->numel; i++) w->data[i] = hg_rng_normal(&rng);
  if (w) hg_requires_grad(w, true);
  hg_tensor *y = x && w ? hg_conv2d(x, w, NULL, 1, 1) : NULL;
  hg_tensor *yy = y ? hg_mul(y, y) : NULL, *loss = yy ? hg_sum(yy, 0, NULL, false) : NULL;
  hg_status s = loss ? hg_backward(loss) : hg_last_status();
  double sum = 0;
  for (size_t i = 0; s == HG_OK && i < y->numel; i++) sum += y->data[i];
  for (size_t i = 0; s == HG_OK && i < w->numel; i++) sum += w->grad->data[i];
  *checksum = (float)sum;
  hg_tensor *all[] = {loss, yy, y, w, x};
  for (int i = 0; i < 5; i++) hg_tensor_free(all[i]);
  return s;
}

/* Pool requests of many sizes, freed in a different order. */
static size_t pool_loop(void) {
  size_t requests = 0;
  for (int i = 0; i < POOL_ROUNDS; i++) {
    size_t a = 64 * (size_t)(1 + i % 7), b = 64 * (size_t)(1 + i % 5);
    void *p = hg_pool_alloc(a), *q = hg_pool_alloc(b);
    requests += 2;
    if (p) memset(p, 1, a);
    if (q) memset(q, 2, b);
    hg_pool_free(q, b);
    hg_pool_free(p, a);
  }
  return requests;
}

static void *run_convs(void *arg) {
  worker *w = arg;
  omp_set_num_threads(1); /* two threads already share two cores */
  w->status = HG_OK;
  for (int r = 0; r < ROUNDS && w->status == HG_OK; r++)
    w->status = conv_round(w->channels, 7, &w->checksum);
  return NULL;
}

static void *run_pool(void *arg) {
  ((worker *)arg)->requests = pool_loop();
  return NULL;
}

static void run_two(void *(*fn)(void *), worker workers[2]) {
  pthread_t threads[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&threads[i], NULL, fn, &workers[i]), 0);
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_join(threads[i], NULL), 0);
}

static void test_two_threads_share_the_kernel_cache(void **state) {
  (void)state;
  float alone[2];
  for (int i = 0; i < 2; i++) hgt_status(conv_round(i == 0 ? 3 : 5, 7, &alone[i]));
  worker workers[2] = {{.channels = 3}, {.channels = 5}};
  run_two(run_convs, workers);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(workers[i].status, HG_OK);
    assert_true(workers[i].checksum == alone[i]);
  }
}

/* Every request is served exactly once: a reuse or a system allocation. */
static void test_two_threads_share_the_pool(void **state) {
  (void)state;
  hg_pool_stats before = hg_pool_get_stats();
  worker workers[2] = {{.channels = 3}, {.channels = 5}};
  run_two(run_pool, workers);
  hg_pool_stats after = hg_pool_get_stats();
  size_t served = (after.system_allocs - before.system_allocs) + (after.reuses - before.reuses);
  assert_int_equal(served, workers[0].requests + workers[1].requests);
}

/* Kernel counters count this thread's launches only. */
static void *count_convs(void *arg) {
  hg_kernel_stats_reset();
  float checksum;
  *(hg_status *)arg = conv_round(3, 1, &checksum);
  return hg_kstats.conv_forward == 1 ? arg : NULL;
}

static void test_kernel_counters_are_per_thread(void **state) {
  (void)state;
  hg_kernel_stats_reset();
  hg_status s = HG_ERR_STATE;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, count_convs, &s), 0);
  void *result = NULL;
  assert_int_equal(pthread_join(t, &result), 0);
  assert_int_equal(s, HG_OK);
  assert_non_null(result);
  assert_int_equal(hg_kstats.conv_forward, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_threads_share_the_kernel_cache),
      cmocka_unit_test(test_two_threads_share_the_pool),
      cmocka_unit_test(test_kernel_counters_are_per_thread),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
