/* Tensors: creation, views, reference counting, the generator, the allocator
 * and the element-wise/reduction kernels and vector maths against naive
 * references. */
#include <math.h>
#include <string.h>

#include "tests/helpers.h"

static void test_create_and_fill(void **state) {
  (void)state;
  hg_tensor *z = hgt_ok(hg_tensor_zeros(HG_SHAPE(2, 3, 4, 5)));
  assert_int_equal(z->numel, 120);
  assert_int_equal(z->ndim, 4);
  for (size_t i = 0; i < z->numel; i++) assert_true(z->data[i] == 0.0f);
  hg_tensor *f = hgt_ok(hg_tensor_full(HG_SHAPE(7), 2.5f));
  for (size_t i = 0; i < f->numel; i++) assert_true(f->data[i] == 2.5f);
  hg_tensor *s = hgt_ok(hg_tensor_ones(0, NULL));
  assert_int_equal(s->numel, 1);
  assert_true(s->data[0] == 1.0f);
  hg_tensor_free(z);
  hg_tensor_free(f);
  hg_tensor_free(s);
}

static void test_bad_shapes_are_reported(void **state) {
  (void)state;
  assert_null(hg_tensor_empty(HG_SHAPE(2, 0)));
  assert_non_null(strstr(hg_last_error(), "dimension 1"));
  assert_null(hg_tensor_empty(5, (int[]){1, 1, 1, 1, 1}));
  hg_tensor *t = hgt_ok(hg_tensor_zeros(HG_SHAPE(4, 6)));
  assert_null(hg_tensor_view(t, HG_SHAPE(5, -1)));
  assert_non_null(strstr(hg_last_error(), "[4,6]"));
  assert_null(hg_tensor_narrow0(t, 3, 2));
  hg_tensor_free(t);
}

/* PCG32 reference values for seed 42, stream 54 (pcg32-demo). */
static void test_rng_matches_reference(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 42u, 54u);
  const uint32_t expected[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330, 0x83d2f293, 0xbfa4784b, 0xcbed606e};
  for (int i = 0; i < 6; i++) assert_int_equal(hg_rng_u32(&rng), expected[i]);
}

/* Jumping ahead n numbers, and filling n uniforms on all threads, give what
 * n draws in a row give: the same stream for any thread count. */
static void test_rng_advance_and_fill(void **state) {
  (void)state;
  hg_rng a, b;
  hg_rng_seed(&a, 5, 3);
  b = a;
  for (int i = 0; i < 1000; i++) hg_rng_u32(&a);
  hg_rng_advance(&b, 1000);
  assert_true(a.state == b.state && hg_rng_u32(&a) == hg_rng_u32(&b));
  const size_t n = 200003; /* several chunks and a partial one */
  float *fill = malloc(n * sizeof *fill);
  hg_rng_seed(&a, 9, 1);
  b = a;
  hg_rng_fill_uniform(&a, fill, n);
  for (size_t i = 0; i < n; i++)
    if (fill[i] != hg_rng_uniform(&b)) fail_msg("uniform %zu differs", i);
  assert_true(a.state == b.state);
  for (size_t m = 1; m < 40; m += 3) { /* chunks shorter than the lanes, and leftovers */
    hg_rng_fill_uniform(&a, fill, m);
    for (size_t i = 0; i < m; i++) assert_true(fill[i] == hg_rng_uniform(&b));
    assert_true(a.state == b.state);
  }
  free(fill);
}

/* A Bernoulli mask keeps exactly the draws whose uniform is below keep
 * (the integer compare is the float one), for any length and keep. */
static void test_rng_bernoulli_is_uniform_below_keep(void **state) {
  (void)state;
  const size_t n = 140001;
  float *mask = malloc(n * sizeof *mask);
  const float keeps[] = {0.5f, 0.3f, 0.9999999f, 1.0f, 0.0f, 0x1.0p-24f, 0.7f + 0x1.0p-25f};
  for (size_t k = 0; k < sizeof keeps / sizeof keeps[0]; k++) {
    hg_rng a, b;
    hg_rng_seed(&a, 11, k);
    b = a;
    size_t len = k % 2 ? n : 1 + 7 * k;
    hg_rng_fill_bernoulli(&a, mask, len, keeps[k], 2.5f);
    size_t kept = 0;
    for (size_t i = 0; i < len; i++) {
      float want = hg_rng_uniform(&b) < keeps[k] ? 2.5f : 0.0f;
      if (mask[i] != want) fail_msg("keep %g: element %zu is %g, expected %g", (double)keeps[k], i, (double)mask[i], (double)want);
      kept += mask[i] != 0;
    }
    assert_true(a.state == b.state);
    if (len == n) assert_true(fabs((double)kept / n - keeps[k]) < 0.01);
  }
  free(mask);
}

/* The mask with its product: the same draws as hg_rng_fill_bernoulli, and
 * y = x ⊙ mask, also in the leftover draws past the lanes' blocks. */
static void test_rng_bernoulli_times(void **state) {
  (void)state;
  const size_t n = 140003;
  float *mask = malloc(n * sizeof *mask), *want = malloc(n * sizeof *want), *x = malloc(n * sizeof *x),
        *y = malloc(n * sizeof *y);
  hg_rng a, b;
  hg_rng_seed(&a, 5, 1);
  hg_rng_fill_uniform(&a, x, n);
  b = a;
  hg_rng_fill_bernoulli(&b, want, n, 0.4f, 2.5f);
  hg_rng c = a;
  hg_rng_fill_bernoulli_times(&a, mask, n, 0.4f, 2.5f, x, y);
  assert_true(a.state == b.state);
  for (size_t i = 0; i < n; i++) assert_true(mask[i] == want[i] && y[i] == x[i] * want[i]);
  hg_rng_fill_bernoulli_times(&c, NULL, n, 0.4f, 2.5f, x, mask); /* the product alone */
  assert_true(c.state == b.state);
  for (size_t i = 0; i < n; i++) assert_true(mask[i] == y[i]);
  free(mask), free(want), free(x), free(y);
}

static void test_rng_distributions(void **state) {
  (void)state;
  hg_rng rng;
  hg_rng_seed(&rng, 7, 0);
  double sum = 0, sq = 0;
  const int n = 200000;
  for (int i = 0; i < n; i++) {
    float z = hg_rng_normal(&rng);
    sum += z;
    sq += (double)z * z;
  }
  assert_true(fabs(sum / n) < 0.01);
  assert_true(fabs(sq / n - 1.0) < 0.02);
  hg_tensor *u = hgt_rand(HG_SHAPE(10000), -2, 3, 9);
  for (size_t i = 0; i < u->numel; i++) assert_true(u->data[i] >= -2.0f && u->data[i] < 3.0f);
  hg_tensor *v = hgt_rand(HG_SHAPE(10000), -2, 3, 9);
  assert_memory_equal(u->data, v->data, u->numel * sizeof(float));
  hg_tensor_free(u);
  hg_tensor_free(v);
}

static void test_views_share_storage(void **state) {
  (void)state;
  hg_tensor *t = hgt_rand(HG_SHAPE(4, 6), 0, 1, 1);
  hg_tensor *v = hgt_ok(hg_tensor_view(t, HG_SHAPE(2, -1, 3)));
  assert_int_equal(v->shape[1], 4);
  v->data[5] = 42.0f;
  assert_true(t->data[5] == 42.0f);
  hg_tensor *rows = hgt_ok(hg_tensor_narrow0(t, 1, 2));
  assert_ptr_equal(rows->data, t->data + 6);
  hg_tensor_free(t); /* the views keep the storage alive */
  assert_true(v->data[5] == 42.0f);
  assert_true(rows->data[0] == v->data[6]);
  hg_tensor_free(v);
  hg_tensor_free(rows);
}

/* Large buffers freed side by side merge: two freed 1 MiB neighbours serve
 * a 2 MiB request in their place, and freeing everything lets a 4 MiB one
 * reuse the same memory (nothing more is held). */
static void test_allocator_merges_large_free_blocks(void **state) {
  (void)state;
#ifdef HG_NO_POOL
  skip(); /* sanitizer builds bypass the pool */
#endif
  hg_pool_trim(); /* no large buffer is live here: the next ones are carved side by side */
  enum { MIB = 1 << 20 };
  char *a[4];
  for (int i = 0; i < 4; i++) a[i] = hg_pool_alloc(MIB);
  for (int i = 1; i < 4; i++) assert_ptr_equal(a[i], a[i - 1] + MIB);
  hg_pool_free(a[1], MIB);
  hg_pool_free(a[2], MIB);
  char *two = hg_pool_alloc(2 * MIB);
  assert_ptr_equal(two, a[1]);
  hg_pool_free(two, 2 * MIB);
  hg_pool_free(a[0], MIB);
  hg_pool_free(a[3], MIB);
  hg_pool_stats before = hg_pool_get_stats();
  char *four = hg_pool_alloc(4 * MIB);
  hg_pool_stats after = hg_pool_get_stats();
  assert_ptr_equal(four, a[0]);
  assert_int_equal(after.held_bytes, before.held_bytes);
  assert_int_equal(after.system_allocs, before.system_allocs);
  hg_pool_free(four, 4 * MIB);
  hg_pool_trim();
}

/* Random large requests and frees: no two live buffers overlap (each keeps
 * the pattern written into it until freed), and the counters add up: what
 * is held but not handed out is what the pool reports as cached. */
static void test_allocator_large_buffers_never_overlap(void **state) {
  (void)state;
#ifdef HG_NO_POOL
  skip(); /* sanitizer builds bypass the pool */
#endif
  enum { SLOTS = 24, ROUNDS = 3000, UNIT = 64 << 10 };
  hg_pool_trim();
  hg_pool_stats start = hg_pool_get_stats();
  unsigned char *buf[SLOTS] = {0};
  size_t size[SLOTS] = {0}, live = 0;
  hg_rng rng;
  hg_rng_seed(&rng, 21, 0);
  for (int round = 0; round < ROUNDS; round++) {
    int k = (int)hg_rng_below(&rng, SLOTS);
    if (buf[k]) {
      for (size_t i = 0; i < size[k]; i += 4093)
        if (buf[k][i] != (unsigned char)k) fail_msg("round %d: buffer %d was overwritten at %zu", round, k, i);
      hg_pool_free(buf[k], size[k]);
      live -= size[k];
      buf[k] = NULL;
    } else {
      size[k] = (size_t)UNIT * (4 + hg_rng_below(&rng, 60)) + 64 * hg_rng_below(&rng, 16);
      buf[k] = hg_pool_alloc(size[k]);
      assert_non_null(buf[k]);
      memset(buf[k], k, size[k]);
      live += (size[k] + 63) / 64 * 64;
    }
    hg_pool_stats now = hg_pool_get_stats();
    assert_int_equal(now.held_bytes - now.cached_bytes, start.held_bytes - start.cached_bytes + live);
  }
  for (int k = 0; k < SLOTS; k++) hg_pool_free(buf[k], size[k]);
  hg_pool_trim();
  hg_pool_stats end = hg_pool_get_stats();
  assert_int_equal(end.held_bytes, start.held_bytes); /* every region given back */
}

static void test_allocator_reuses_buffers(void **state) {
  (void)state;
  hg_tensor *warm = hgt_ok(hg_tensor_empty(HG_SHAPE(333, 77)));
  hg_tensor_free(warm);
  hg_pool_stats before = hg_pool_get_stats();
  for (int i = 0; i < 10; i++) hg_tensor_free(hgt_ok(hg_tensor_empty(HG_SHAPE(333, 77))));
  hg_pool_stats after = hg_pool_get_stats();
#ifndef HG_NO_POOL
  assert_int_equal(after.system_allocs, before.system_allocs);
#else
  (void)before;
  (void)after;
#endif
}

/* Naive references for broadcasting binary ops and reductions. */
static void test_broadcast_against_naive(void **state) {
  (void)state;
  hg_tensor *a = hgt_rand(HG_SHAPE(2, 3, 1, 5), -1, 1, 2);
  hg_tensor *b = hgt_rand(HG_SHAPE(3, 4, 1), 0.5f, 2, 3);
  hg_tensor *ops[4] = {hg_add(a, b), hg_sub(a, b), hg_mul(a, b), hg_div(a, b)};
  for (int k = 0; k < 4; k++) {
    hg_tensor *y = hgt_ok(ops[k]);
    assert_int_equal(y->ndim, 4);
    assert_int_equal(y->shape[2], 4);
    for (int n = 0; n < 2; n++)
      for (int c = 0; c < 3; c++)
        for (int h = 0; h < 4; h++)
          for (int w = 0; w < 5; w++) {
            float av = a->data[(n * 3 + c) * 5 + w], bv = b->data[c * 4 + h];
            float ref = k == 0 ? av + bv : k == 1 ? av - bv : k == 2 ? av * bv : av / bv;
            float got = y->data[((n * 3 + c) * 4 + h) * 5 + w];
            assert_true(fabsf(got - ref) <= 1e-6f * (1 + fabsf(ref)));
          }
    hg_tensor_free(y);
  }
  hg_tensor *bad = hgt_rand(HG_SHAPE(4, 5), 0, 1, 4);
  hg_tensor *c = hgt_rand(HG_SHAPE(3, 5), 0, 1, 5);
  assert_null(hg_mul(bad, c));
  assert_non_null(strstr(hg_last_error(), "mul"));
  assert_non_null(strstr(hg_last_error(), "[4,5]"));
  assert_non_null(strstr(hg_last_error(), "[3,5]"));
  hg_tensor_free(bad);
  hg_tensor_free(c);
  hg_tensor_free(a);
  hg_tensor_free(b);
}

static void test_reductions_against_naive(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 4, 5), -1, 1, 6);
  hg_tensor *s = hgt_ok(hg_sum(x, 2, (int[]){0, 2}, false));
  hg_tensor *m = hgt_ok(hg_mean(x, 2, (int[]){0, 2}, true));
  hg_tensor *mx = hgt_ok(hg_max(x, 2, (int[]){0, 2}, false));
  assert_int_equal(s->ndim, 2);
  assert_int_equal(m->ndim, 4);
  for (int c = 0; c < 3; c++)
    for (int w = 0; w < 5; w++) {
      double ref = 0, best = -1e30;
      for (int n = 0; n < 2; n++)
        for (int h = 0; h < 4; h++) {
          float v = x->data[((n * 3 + c) * 4 + h) * 5 + w];
          ref += v;
          best = v > best ? v : best;
        }
      assert_true(fabs(s->data[c * 5 + w] - ref) < 1e-5);
      assert_true(fabs(m->data[c * 5 + w] - ref / 8) < 1e-6);
      assert_true(mx->data[c * 5 + w] == (float)best);
    }
  hg_tensor *y = hgt_rand(HG_SHAPE(2, 3, 4, 5), -1, 1, 7);
  hg_tensor *dot = hgt_ok(hg_dot(x, y));
  double ref_dot = 0;
  for (size_t i = 0; i < x->numel; i++) ref_dot += (double)x->data[i] * y->data[i];
  assert_true(fabs(dot->data[0] - ref_dot) < 1e-4);
  hg_tensor_free(dot);
  hg_tensor_free(y);
  hg_tensor *all = hgt_ok(hg_sum(x, 0, NULL, false));
  double total = 0;
  for (size_t i = 0; i < x->numel; i++) total += x->data[i];
  assert_int_equal(all->ndim, 0);
  assert_true(fabs(all->data[0] - total) < 1e-4);
  assert_null(hg_sum(x, 1, (int[]){4}, false));
  assert_non_null(strstr(hg_last_error(), "sum: axis 4"));
  hg_tensor_free(all);
  hg_tensor_free(s);
  hg_tensor_free(m);
  hg_tensor_free(mx);
  hg_tensor_free(x);
}

static void test_unary_against_naive(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(64), 0.1f, 2, 8);
  hg_tensor *r[6] = {hg_exp(x), hg_log(x), hg_sqrt(x), hg_sigmoid(x), hg_tanh(x), hg_pow(x, 1.5f)};
  for (size_t i = 0; i < x->numel; i++) {
    double v = x->data[i];
    double ref[6] = {exp(v), log(v), sqrt(v), 1 / (1 + exp(-v)), tanh(v), pow(v, 1.5)};
    for (int k = 0; k < 6; k++) assert_true(fabs(r[k]->data[i] - ref[k]) <= 1e-5 * (1 + fabs(ref[k])));
  }
  for (int k = 0; k < 6; k++) hg_tensor_free(r[k]);
  hg_tensor_free(x);
}

/* hg_vexp and hg_vpow_pos against double exp and pow, element by element,
 * over lengths that leave remainders of the vector loops, in place too;
 * pow's non-positive and NaN inputs give 0, exp underflows to 0. */
static void test_vector_maths_against_naive(void **state) {
  (void)state;
  enum { N = 1037 };
  static float x[N], y[N], z[N];
  hg_rng rng;
  hg_rng_seed(&rng, 17, 0);
  for (int i = 0; i < N; i++) x[i] = 60 * hg_rng_uniform(&rng) - 40; /* [-40, 20): exp's range, pow's signs */
  x[0] = 0, x[1] = -0.0f, x[2] = NAN, x[3] = 1e-30f, x[4] = -120, x[5] = 1;
  hg_vexp(x + 3, y, N - 3);
  for (int i = 3; i < N; i++) {
    double want = exp((double)x[i]);
    assert_true(fabs(y[i - 3] - want) <= 2e-7 * want + 1e-37); /* 1e-37: underflow to 0 */
  }
  const float powers[] = {0.7f, 1.4f, 1.0f, 2.5f};
  for (int k = 0; k < 4; k++) {
    hg_vpow_pos(x, powers[k], y, N);
    memcpy(z, x, sizeof z);
    hg_vpow_pos(z, powers[k], z, N); /* in place */
    for (int i = 0; i < N; i++) {
      double want = x[i] > 0 ? pow((double)x[i], powers[k]) : 0;
      assert_true(fabs(y[i] - want) <= 2e-7 * want + 1e-37);
      assert_true(y[i] == z[i]);
    }
  }
}

/* The first NaN or infinity of an array, short (one thread) and long (all of
 * them), wherever it is; n when there is none. */
static void test_first_nonfinite(void **state) {
  (void)state;
  enum { N = 200003 };
  float *x = calloc(N, sizeof *x);
  assert_non_null(x);
  assert_true(hg_first_nonfinite(x, N) == N && hg_first_nonfinite(x, 10) == 10);
  const size_t at[] = {0, 7, 65537, N - 1};
  for (int k = 0; k < 4; k++) {
    x[at[k]] = k % 2 ? INFINITY : NAN;
    assert_true(hg_first_nonfinite(x, N) == at[k]);
    if (at[k] < 10) assert_true(hg_first_nonfinite(x, 10) == at[k]);
    x[N - 1] = -INFINITY; /* a later one does not count */
    assert_true(hg_first_nonfinite(x, N) == at[k]);
    x[at[k]] = 0, x[N - 1] = 0;
  }
  free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_and_fill),          cmocka_unit_test(test_bad_shapes_are_reported),
      cmocka_unit_test(test_rng_matches_reference),    cmocka_unit_test(test_rng_advance_and_fill),
      cmocka_unit_test(test_rng_bernoulli_is_uniform_below_keep), cmocka_unit_test(test_rng_bernoulli_times),
      cmocka_unit_test(test_rng_distributions),
      cmocka_unit_test(test_views_share_storage),      cmocka_unit_test(test_allocator_reuses_buffers),
      cmocka_unit_test(test_allocator_merges_large_free_blocks),
      cmocka_unit_test(test_allocator_large_buffers_never_overlap),
      cmocka_unit_test(test_broadcast_against_naive),  cmocka_unit_test(test_reductions_against_naive),
      cmocka_unit_test(test_unary_against_naive),      cmocka_unit_test(test_vector_maths_against_naive),
      cmocka_unit_test(test_first_nonfinite),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
