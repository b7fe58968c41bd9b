/* Safetensors checkpoints: round trip, header layout, every load error
 * (naming file and tensor), and saves that fail without harming the file. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "tests/helpers.h"

static char tmpdir[64];

static int setup(void **state) {
  (void)state;
  return hgt_tmpdir(tmpdir, sizeof tmpdir, "hg_checkpoint");
}

static int teardown(void **state) {
  (void)state;
  return hgt_rmtree(tmpdir);
}

static const char *tmp_path(const char *name, char *buf, size_t size) { return hgt_path(tmpdir, name, buf, size); }

#define assert_error_mentions hgt_error_mentions

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* Saves w [2,3], b [4], s (scalar) to path with two metadata entries. */
static void save_three(const char *path, float offset) {
  float wv[6], bv[4], sv = 42.5f + offset;
  for (int i = 0; i < 6; i++) wv[i] = (float)i * 0.5f - 1.0f + offset;
  for (int i = 0; i < 4; i++) bv[i] = (float)(i * i) + offset;
  hg_tensor *t[3] = {hgt_ok(hg_tensor_from(HG_SHAPE(2, 3), wv)), hgt_ok(hg_tensor_from(HG_SHAPE(4), bv)),
                     hgt_ok(hg_tensor_from(0, NULL, &sv))};
  const char *names[3] = {"layer1/w", "layer1.b", "step"};
  const char *keys[2] = {"model", "epoch"};
  const char *values[2] = {"net \"quoted\" \\ slash/", "7"};
  hgt_status(hg_checkpoint_save(path, 3, names, t, 2, keys, values));
  for (int i = 0; i < 3; i++) hg_tensor_free(t[i]);
}

static void test_round_trip(void **state) {
  (void)state;
  char path[128], tmp[140];
  tmp_path("rt.safetensors", path, sizeof path);
  save_three(path, 0.0f);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_equal(access(tmp, F_OK), -1); /* the temporary file was renamed away */

  hg_tensor *w = hgt_ok(hg_tensor_zeros(HG_SHAPE(2, 3)));
  hg_tensor *b = hgt_ok(hg_tensor_zeros(HG_SHAPE(4)));
  hg_tensor *s = hgt_ok(hg_tensor_zeros(0, NULL));
  const char *names[3] = {"step", "layer1/w", "layer1.b"};
  hg_tensor *t[3] = {s, w, b};
  hgt_status(hg_checkpoint_load(path, 3, names, t));
  for (int i = 0; i < 6; i++) assert_true(w->data[i] == (float)i * 0.5f - 1.0f);
  for (int i = 0; i < 4; i++) assert_true(b->data[i] == (float)(i * i));
  assert_true(s->data[0] == 42.5f);

  char meta[64];
  hgt_status(hg_checkpoint_read_meta(path, "epoch", meta, sizeof meta));
  assert_string_equal(meta, "7");
  hgt_status(hg_checkpoint_read_meta(path, "model", meta, sizeof meta));
  assert_string_equal(meta, "net \"quoted\" \\ slash/");
  assert_int_not_equal(hg_checkpoint_read_meta(path, "nope", meta, sizeof meta), HG_OK);
  assert_error_mentions(path, "nope");
  assert_int_not_equal(hg_checkpoint_read_meta(path, "model", meta, 4), HG_OK);
  hg_tensor_free(w);
  hg_tensor_free(b);
  hg_tensor_free(s);
}

static void test_inspect_and_layout(void **state) {
  (void)state;
  char path[128];
  tmp_path("inspect.safetensors", path, sizeof path);
  save_three(path, 1.0f);
  hg_checkpoint *ck = hg_checkpoint_open(path);
  if (!ck) fail_msg("open: %s", hg_last_error());
  assert_int_equal(hg_checkpoint_count(ck), 3);
  const hg_checkpoint_entry *e = hg_checkpoint_entry_at(ck, 0);
  assert_string_equal(e->name, "layer1/w");
  assert_string_equal(e->dtype, "F32");
  assert_int_equal(e->ndim, 2);
  assert_int_equal(e->shape[0], 2);
  assert_int_equal(e->shape[1], 3);
  assert_int_equal(e->begin, 0);
  assert_int_equal(e->end, 24);
  e = hg_checkpoint_find(ck, "step");
  assert_non_null(e);
  assert_int_equal(e->ndim, 0);
  assert_int_equal(e->begin, 40);
  assert_int_equal(e->end, 44);
  assert_null(hg_checkpoint_find(ck, "missing"));
  assert_string_equal(hg_checkpoint_meta(ck, "epoch"), "7");
  assert_null(hg_checkpoint_meta(ck, "missing"));
  hg_tensor *b = hgt_ok(hg_checkpoint_tensor(ck, "layer1.b"));
  assert_int_equal(b->ndim, 1);
  assert_int_equal(b->shape[0], 4);
  assert_true(b->data[3] == 10.0f);
  hg_tensor_free(b);
  hg_checkpoint_close(ck);

  /* 8-byte little-endian length, header padded to 8, data at the end. */
  FILE *f = fopen(path, "rb");
  unsigned char len8[8];
  assert_int_equal(fread(len8, 1, 8, f), 8);
  fclose(f);
  unsigned long long hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | len8[i];
  assert_int_equal(hlen % 8, 0);
  assert_int_equal(file_size(path), (long)(8 + hlen + 44));
}

static void test_wrong_shape(void **state) {
  (void)state;
  char path[128];
  tmp_path("shape.safetensors", path, sizeof path);
  save_three(path, 0.0f);
  hg_tensor *w = hgt_ok(hg_tensor_full(HG_SHAPE(3, 2), -7.0f));
  hg_tensor *b = hgt_ok(hg_tensor_full(HG_SHAPE(4), -7.0f));
  const char *names[2] = {"layer1.b", "layer1/w"};
  hg_tensor *t[2] = {b, w};
  assert_int_equal(hg_checkpoint_load(path, 2, names, t), HG_ERR_SHAPE);
  assert_error_mentions(path, "'layer1/w'");
  assert_error_mentions("[2,3]", "[3,2]");
  /* Nothing was filled, not even the tensor whose shape matched. */
  assert_true(b->data[1] == -7.0f && w->data[0] == -7.0f);
  hg_tensor_free(w);
  hg_tensor_free(b);
}

static void test_missing_name(void **state) {
  (void)state;
  char path[128];
  tmp_path("missing.safetensors", path, sizeof path);
  save_three(path, 0.0f);
  hg_tensor *x = hgt_ok(hg_tensor_zeros(HG_SHAPE(4)));
  const char *names[1] = {"layer2.b"};
  assert_int_not_equal(hg_checkpoint_load(path, 1, names, &x), HG_OK);
  assert_error_mentions(path, "'layer2.b'");
  hg_tensor_free(x);
}

/* Write a file with a hand-made header followed by `data_bytes` zero bytes. */
static void write_raw(const char *path, const char *header, size_t header_len, size_t data_bytes) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((unsigned long long)header_len >> (8 * i));
  fwrite(len8, 1, 8, f);
  fwrite(header, 1, header_len, f);
  for (size_t i = 0; i < data_bytes; i++) fputc(0, f);
  fclose(f);
}

static void test_wrong_dtype(void **state) {
  (void)state;
  char path[128];
  tmp_path("f16.safetensors", path, sizeof path);
  const char *header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]}}";
  write_raw(path, header, strlen(header), 8);
  hg_tensor *x = hgt_ok(hg_tensor_zeros(HG_SHAPE(2, 2)));
  const char *names[1] = {"h"};
  assert_int_not_equal(hg_checkpoint_load(path, 1, names, &x), HG_OK);
  assert_error_mentions(path, "'h'");
  assert_error_mentions("F16", NULL);
  hg_tensor_free(x);

  /* An F16 entry whose byte range does not match its shape is rejected on open. */
  header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,16]}}";
  write_raw(path, header, strlen(header), 16);
  assert_null(hg_checkpoint_open(path));
  assert_error_mentions(path, "'h'");
}

static void test_truncated(void **state) {
  (void)state;
  char path[128];
  tmp_path("trunc.safetensors", path, sizeof path);
  save_three(path, 0.0f);
  assert_int_equal(truncate(path, file_size(path) - 2), 0);
  hg_tensor *s = hgt_ok(hg_tensor_zeros(0, NULL));
  const char *names[1] = {"step"};
  assert_int_not_equal(hg_checkpoint_load(path, 1, names, &s), HG_OK);
  assert_error_mentions(path, "'step'");
  assert_error_mentions("truncated", NULL);
  /* Cut inside the header: the header length no longer fits. */
  assert_int_equal(truncate(path, 20), 0);
  assert_int_not_equal(hg_checkpoint_load(path, 1, names, &s), HG_OK);
  assert_error_mentions(path, "header length");
  assert_int_equal(truncate(path, 3), 0);
  assert_null(hg_checkpoint_open(path));
  assert_error_mentions(path, NULL);
  hg_tensor_free(s);
}

static void test_garbage_header(void **state) {
  (void)state;
  char path[128];
  tmp_path("garbage.safetensors", path, sizeof path);
  const char *bad[] = {"this is not json at all!", "[1, 2, 3]              ", "{\"a\": 1}",
                       "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",
                       "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",
                       "{\"__metadata__\":{\"k\":3}}", "{\"a\":{}} trailing"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    write_raw(path, bad[i], strlen(bad[i]), 4);
    hg_clear_error();
    assert_null(hg_checkpoint_open(path));
    assert_error_mentions(path, NULL);
  }
  write_raw(path, "{}", 2, 0); /* an empty checkpoint is valid */
  hg_checkpoint *ck = hg_checkpoint_open(path);
  assert_non_null(ck);
  assert_int_equal(hg_checkpoint_count(ck), 0);
  hg_checkpoint_close(ck);
  assert_null(hg_checkpoint_open("/nonexistent/dir/x.safetensors"));
  assert_error_mentions("/nonexistent/dir/x.safetensors", NULL);
}

/* Damage that was accepted before: tensors sharing bytes, a folder given
 * as a checkpoint, weights that are NaN or infinite. */
static void test_damaged_content(void **state) {
  (void)state;
  char path[128];
  tmp_path("overlap.safetensors", path, sizeof path);
  const char *header = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}";
  write_raw(path, header, strlen(header), 16);
  assert_null(hg_checkpoint_open(path));
  assert_error_mentions(path, "overlap");
  assert_null(hg_checkpoint_open(tmpdir));
  assert_error_mentions(tmpdir, "is a directory");
  tmp_path("nan.safetensors", path, sizeof path);
  float v[3] = {1.0f, NAN, 2.0f};
  hg_tensor *t = hgt_ok(hg_tensor_from(HG_SHAPE(3), v));
  const char *names[1] = {"fc.weight"};
  hgt_status(hg_checkpoint_save(path, 1, names, &t, 0, NULL, NULL));
  hg_tensor_fill(t, 0.0f);
  assert_int_equal(hg_checkpoint_load(path, 1, names, &t), HG_ERR_NUMERIC);
  assert_error_mentions(path, "'fc.weight' holds nan at element 1");
  hg_tensor_free(t);
}

static char *slurp(const char *path, long *size) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  *size = file_size(path);
  char *buf = malloc((size_t)*size);
  assert_int_equal(fread(buf, 1, (size_t)*size, f), (size_t)*size);
  fclose(f);
  return buf;
}

static void test_failed_save_keeps_file(void **state) {
  (void)state;
  char path[128], tmp[140], missing[160];
  tmp_path("keep.safetensors", path, sizeof path);
  save_three(path, 0.0f);
  long size0;
  char *before = slurp(path, &size0);

  hg_tensor *x = hgt_ok(hg_tensor_ones(HG_SHAPE(5)));
  const char *names[1] = {"x"};
  snprintf(missing, sizeof missing, "%s/no/such/dir/x.safetensors", tmpdir);
  assert_int_equal(hg_checkpoint_save(missing, 1, names, &x, 0, NULL, NULL), HG_ERR_IO);
  assert_error_mentions(missing, NULL);

  /* path.tmp blocked by a directory: the save fails and path is untouched. */
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_equal(mkdir(tmp, 0700), 0);
  assert_int_equal(hg_checkpoint_save(path, 1, names, &x, 0, NULL, NULL), HG_ERR_IO);
  assert_error_mentions(tmp, NULL);
  long size1;
  char *after = slurp(path, &size1);
  assert_int_equal(size0, size1);
  assert_memory_equal(before, after, (size_t)size0);
  assert_int_equal(rmdir(tmp), 0);

  /* Bad arguments fail before touching anything. */
  const char *dup[2] = {"x", "x"};
  hg_tensor *two[2] = {x, x};
  assert_int_equal(hg_checkpoint_save(path, 2, dup, two, 0, NULL, NULL), HG_ERR_ARG);
  assert_error_mentions("'x'", NULL);

  /* A successful save replaces the file and leaves no temporary behind. */
  hgt_status(hg_checkpoint_save(path, 1, names, &x, 0, NULL, NULL));
  assert_int_equal(access(tmp, F_OK), -1);
  hg_tensor *y = hgt_ok(hg_tensor_zeros(HG_SHAPE(5)));
  hgt_status(hg_checkpoint_load(path, 1, names, &y));
  assert_true(y->data[4] == 1.0f);
  free(before);
  free(after);
  hg_tensor_free(x);
  hg_tensor_free(y);
}

static void test_large_tensor(void **state) {
  (void)state;
  char path[128];
  tmp_path("large.safetensors", path, sizeof path);
  hg_tensor *x = hgt_rand(HG_SHAPE(64, 3, 32, 32), -1.0f, 1.0f, 5);
  const char *names[1] = {"conv.weight"};
  hgt_status(hg_checkpoint_save(path, 1, names, &x, 0, NULL, NULL));
  hg_tensor *y = hgt_ok(hg_tensor_zeros(HG_SHAPE(64, 3, 32, 32)));
  hgt_status(hg_checkpoint_load(path, 1, names, &y));
  assert_memory_equal(x->data, y->data, x->numel * sizeof(float));
  hg_tensor_free(x);
  hg_tensor_free(y);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_inspect_and_layout),
      cmocka_unit_test(test_wrong_shape),     cmocka_unit_test(test_missing_name),
      cmocka_unit_test(test_wrong_dtype),     cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_garbage_header),
      cmocka_unit_test(test_damaged_content),  cmocka_unit_test(test_failed_save_keeps_file),
      cmocka_unit_test(test_large_tensor),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
