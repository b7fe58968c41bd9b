/* Float16 rows in a temporary file, and data sets kept that way. */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "data/half_rows.h"
#include "tests/helpers.h"

/* Bit patterns worked out by hand from IEEE 754 binary16. */
static void test_conversion_by_hand(void **state) {
  (void)state;
  const struct {
    float f;
    uint16_t h;
    bool exact; /* f is a half: it comes back unchanged */
  } cases[] = {
      {0.0f, 0x0000, true},         {-0.0f, 0x8000, true},       {1.0f, 0x3c00, true},
      {-2.0f, 0xc000, true},        {0.5f, 0x3800, true},        {65504.0f, 0x7bff, true},
      {65520.0f, 0x7c00, false},    {1e6f, 0x7c00, false},       {0x1p-14f, 0x0400, true},
      {0x1p-24f, 0x0001, true},     {0x1p-25f, 0x0000, false},   {0x1.8p-25f, 0x0001, false},
      {1.0f + 0x1p-11f, 0x3c00, false},   /* a tie rounds to the even 1.0 */
      {1.0f + 0x1.8p-11f, 0x3c01, false}, /* above the tie: up */
      {1.0f + 0x3p-11f, 0x3c02, false},   /* a tie rounds up to the even 0x3c02 */
      {INFINITY, 0x7c00, true},     {-INFINITY, 0xfc00, true}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (hg_float_to_half(cases[i].f) != cases[i].h)
      fail_msg("%a: 0x%04x, expected 0x%04x", (double)cases[i].f, hg_float_to_half(cases[i].f), cases[i].h);
    if (cases[i].exact) assert_true(hg_half_to_float(cases[i].h) == cases[i].f);
  }
  assert_true(isnan(hg_half_to_float(hg_float_to_half(NAN))));
}

/* Every one of the 63 488 finite halves converts to float and back unchanged. */
static void test_every_half_round_trips(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00) continue;
    float f = hg_half_to_float((uint16_t)h);
    if (hg_float_to_half(f) != h) fail_msg("0x%04x -> %a -> 0x%04x", h, (double)f, hg_float_to_half(f));
  }
}

/* A data set in a file gives back its rows to float16 precision; bad rows are refused. */
static void test_half_dataset(void **state) {
  (void)state;
  char dir[64];
  assert_int_equal(hgt_tmpdir(dir, sizeof dir, "hg_half"), 0);
  hg_dataset *ds = hg_dataset_new_half(5, 2, 3, 4, 10, "half", dir);
  assert_non_null(ds);
  assert_null(ds->images);
  hg_tensor *x = hgt_rand(HG_SHAPE(5, 2, 3, 4), -3, 3, 7);
  hgt_status(hg_dataset_set_rows(ds, 0, 2, x->data));
  hgt_status(hg_dataset_set_rows(ds, 2, 3, x->data + 2 * 24));
  float row[24];
  for (int i = 0; i < 5; i++) {
    hgt_status(hg_dataset_get_row(ds, i, row));
    for (int j = 0; j < 24; j++) /* the vector path (F16C) rounds as the scalar one */
      assert_true(row[j] == hg_half_to_float(hg_float_to_half(x->data[i * 24 + j])));
    hgt_close(row, x->data + i * 24, 24, 1e-3f, 1e-4f);
  }
  assert_int_equal(hg_dataset_get_row(ds, 5, row), HG_ERR_ARG);
  assert_int_equal(hg_dataset_set_rows(ds, 4, 2, x->data), HG_ERR_ARG);
  /* the batcher reads it like an in-memory set */
  hg_batcher *b = hg_batcher_new(ds, 5, false, 0);
  hg_tensor *batch = hgt_ok(hg_tensor_empty(HG_SHAPE(5, 2, 3, 4)));
  int count;
  hgt_status(hg_batcher_next(b, batch, NULL, &count));
  assert_int_equal(count, 5);
  hgt_close(batch->data, x->data, x->numel, 1e-3f, 1e-4f);
  hg_batcher_free(b);
  hg_tensor_free(batch);
  hg_tensor_free(x);
  hg_dataset_free(ds);
  assert_null(hg_dataset_new_half(5, 2, 3, 4, 10, "half", "/nonexistent/folder"));
  hgt_error_mentions("/nonexistent/folder", NULL);
  assert_int_equal(hgt_rmtree(dir), 0);
}

/* A batch of rows out of order, on all threads (the rows together past the
 * threshold), each widened in place from its upper half: rows of an odd and
 * an even width, so that the vector loop's remainder is in place too. */
static void test_half_rows_batch(void **state) {
  (void)state;
  char dir[64];
  assert_int_equal(hgt_tmpdir(dir, sizeof dir, "hg_half"), 0);
  for (int width = 4999; width <= 5000; width++) {
    enum { N = 40 };
    hg_dataset *ds = hg_dataset_new_half(N, 1, 1, width, 10, "half", dir);
    assert_non_null(ds);
    hg_tensor *x = hgt_rand(HG_SHAPE(N, 1, 1, width), -3, 3, (uint64_t)width);
    hgt_status(hg_dataset_set_rows(ds, 0, N, x->data));
    int rows[N];
    for (int k = 0; k < N; k++) rows[k] = (k * 7 + 3) % N;
    float *out = malloc((size_t)N * width * sizeof *out);
    hgt_status(hg_dataset_get_rows(ds, rows, N, out));
    for (int k = 0; k < N; k++)
      for (int j = 0; j < width; j++)
        assert_true(out[(size_t)k * width + j] == hg_half_to_float(hg_float_to_half(x->data[(size_t)rows[k] * width + j])));
    rows[N - 1] = N; /* one bad row: refused before any is read */
    assert_int_equal(hg_dataset_get_rows(ds, rows, N, out), HG_ERR_ARG);
    free(out);
    hg_tensor_free(x);
    hg_dataset_free(ds);
  }
  assert_int_equal(hgt_rmtree(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conversion_by_hand),
      cmocka_unit_test(test_every_half_round_trips),
      cmocka_unit_test(test_half_dataset),
      cmocka_unit_test(test_half_rows_batch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
