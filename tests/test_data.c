/* Data sets: IDX and CIFAR readers on files written here (valid and broken),
 * the seeded split, the 3x32x32 conversion, normalisation, mini-batches, ZCA
 * whitening and its saved transform, and the real data when it is present. */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "data/batcher.h"
#include "data/dataset.h"
#include "data/normalize.h"
#include "data/zca_cache.h"
#include "tests/helpers.h"

static char tmpdir[64];

static int setup(void **state) {
  (void)state;
  return hgt_tmpdir(tmpdir, sizeof tmpdir, "hg_data");
}

static int teardown(void **state) {
  (void)state;
  return hgt_rmtree(tmpdir);
}

static const char *tmp_path(const char *name, char *buf, size_t size) { return hgt_path(tmpdir, name, buf, size); }

#define assert_error_mentions hgt_error_mentions

static void put_be32(unsigned char *p, unsigned v) {
  p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Write header words then body bytes, gzipped or plain. */
static void write_file(const char *path, bool gz, const unsigned *words, int nwords,
                       const unsigned char *body, size_t body_len) {
  unsigned char head[16];
  for (int i = 0; i < nwords; i++) put_be32(head + 4 * i, words[i]);
  if (gz) {
    gzFile f = gzopen(path, "wb");
    assert_non_null(f);
    gzwrite(f, head, (unsigned)(4 * nwords));
    if (body_len) gzwrite(f, body, (unsigned)body_len);
    gzclose(f);
  } else {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(head, 1, (size_t)(4 * nwords), f);
    fwrite(body, 1, body_len, f);
    fclose(f);
  }
}

static unsigned char pixel(int i) { return (unsigned char)((i * 37 + 11) % 256); }

/* IDX pair of n images rows x cols; pixel k is pixel(k), label i is i % 10. */
static void write_idx(const char *images, const char *labels, bool gz, int n, int rows, int cols) {
  size_t np = (size_t)n * rows * cols;
  unsigned char *px = malloc(np), lb[256];
  for (size_t k = 0; k < np; k++) px[k] = pixel((int)k);
  for (int i = 0; i < n; i++) lb[i] = (unsigned char)(i % 10);
  write_file(images, gz, (unsigned[]){2051, (unsigned)n, (unsigned)rows, (unsigned)cols}, 4, px, np);
  write_file(labels, gz, (unsigned[]){2049, (unsigned)n}, 2, lb, (size_t)n);
  free(px);
}

/* All images of ds as they read: N·C·H·W floats (the caller frees them). */
static float *read_all(const hg_dataset *ds) {
  size_t per = (size_t)ds->shape[1] * ds->shape[2] * ds->shape[3];
  float *x = malloc((size_t)ds->count * per * sizeof *x);
  int *all = malloc((size_t)ds->count * sizeof *all);
  assert_true(x && all);
  for (int i = 0; i < ds->count; i++) all[i] = i;
  hgt_status(hg_dataset_get_rows(ds, all, ds->count, x));
  free(all);
  return x;
}

static void check_idx_contents(const hg_dataset *ds, int n, int rows, int cols) {
  assert_non_null(ds);
  assert_int_equal(ds->count, n);
  assert_int_equal(ds->num_classes, 10);
  assert_non_null(ds->pixels); /* one byte a pixel, as in the file */
  assert_int_equal(ds->shape[1], 1);
  assert_int_equal(ds->shape[2], rows);
  assert_int_equal(ds->shape[3], cols);
  float *x = read_all(ds);
  for (size_t k = 0; k < (size_t)n * rows * cols; k++) assert_true(x[k] == (float)pixel((int)k) / 255.0f);
  free(x);
  for (int i = 0; i < n; i++) assert_int_equal(ds->labels[i], i % 10);
}

static void test_idx_valid(void **state) {
  (void)state;
  char im[128], lb[128];
  for (int gz = 0; gz < 2; gz++) {
    tmp_path(gz ? "v-images.gz" : "v-images", im, sizeof im);
    tmp_path(gz ? "v-labels.gz" : "v-labels", lb, sizeof lb);
    write_idx(im, lb, gz, 13, 3, 5);
    hg_dataset *ds = hg_dataset_load_idx(im, lb);
    if (!ds) fail_msg("%s", hg_last_error());
    check_idx_contents(ds, 13, 3, 5);
    hg_dataset_free(ds);
  }
  /* A big file crosses the 1 MiB read chunks. */
  tmp_path("big-images.gz", im, sizeof im);
  tmp_path("big-labels.gz", lb, sizeof lb);
  write_idx(im, lb, true, 250, 80, 60);
  hg_dataset *ds = hg_dataset_load_idx(im, lb);
  if (!ds) fail_msg("%s", hg_last_error());
  check_idx_contents(ds, 250, 80, 60);
  hg_dataset_free(ds);
}

static void expect_idx_error(const char *im, const char *lb, const char *names, const char *what) {
  hg_clear_error();
  hg_dataset *ds = hg_dataset_load_idx(im, lb);
  if (ds) fail_msg("loaded %s / %s, expected an error", im, lb);
  assert_int_equal(hg_last_status(), HG_ERR_IO);
  assert_error_mentions(names, what);
}

static void test_idx_errors(void **state) {
  (void)state;
  char im[128], lb[128], other[128];
  tmp_path("e-images.gz", im, sizeof im);
  tmp_path("e-labels.gz", lb, sizeof lb);
  unsigned char px[60] = {0}, labels[5] = {1, 2, 3, 4, 5};

  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 5);
  write_file(im, true, (unsigned[]){2051, 5, 3, 4}, 4, px, 59); /* one byte short */
  expect_idx_error(im, lb, im, "truncated");
  write_file(im, false, (unsigned[]){2051, 5}, 2, px, 0); /* header cut short */
  expect_idx_error(im, lb, im, "truncated");
  write_file(im, true, (unsigned[]){2049, 5, 3, 4}, 4, px, 60);
  expect_idx_error(im, lb, im, "magic");
  write_file(im, true, (unsigned[]){2051, 5, 0, 4}, 4, px, 60);
  expect_idx_error(im, lb, im, "dimensions");

  write_file(im, true, (unsigned[]){2051, 5, 3, 4}, 4, px, 60);
  write_file(lb, true, (unsigned[]){2051, 5}, 2, labels, 5);
  expect_idx_error(im, lb, lb, "magic");
  write_file(lb, true, (unsigned[]){2049, 4}, 2, labels, 4);
  expect_idx_error(im, lb, lb, "4 labels");
  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 3);
  expect_idx_error(im, lb, lb, "truncated");
  labels[3] = 10;
  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 5);
  expect_idx_error(im, lb, lb, "out of range");

  tmp_path("no-such-file.gz", other, sizeof other);
  expect_idx_error(other, lb, other, "cannot open");
  expect_idx_error(im, other, other, "cannot open");
  assert_null(hg_dataset_load_idx(NULL, lb));
}

/* Flip byte `at` of path (negative: from the end). */
static void flip_byte(const char *path, long at) {
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  assert_int_equal(fseek(f, at, at < 0 ? SEEK_END : SEEK_SET), 0);
  int c = fgetc(f);
  assert_int_equal(fseek(f, -1, SEEK_CUR), 0);
  fputc(c ^ 0x5a, f);
  fclose(f);
}

/* Damage that today's reader would have let through: a header claiming more
 * than the file holds (no huge allocation first), a folder, a gzip stream
 * whose CRC is wrong, bytes after the last record. */
static void test_idx_damage(void **state) {
  (void)state;
  char im[128], lb[128];
  tmp_path("d-images", im, sizeof im);
  tmp_path("d-labels.gz", lb, sizeof lb);
  unsigned char px[60] = {0}, labels[5] = {1, 2, 3, 4, 5};
  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 5);
  write_file(im, false, (unsigned[]){2051, 1u << 27, 1, 1}, 4, px, 12); /* 28 bytes, 2^27 images */
  write_file(lb, false, (unsigned[]){2049, 1u << 27}, 2, labels, 5);
  expect_idx_error(im, lb, im, "more than the file holds");
  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 5);
  expect_idx_error(tmpdir, lb, tmpdir, "is a directory");
  write_file(im, false, (unsigned[]){2051, 5, 3, 4}, 4, px, 60);
  hg_dataset *ok = hg_dataset_load_idx(im, lb);
  if (!ok) fail_msg("%s", hg_last_error());
  hg_dataset_free(ok);
  flip_byte(lb, -6); /* inside the gzip trailer's CRC-32 */
  expect_idx_error(im, lb, lb, "corrupt");
  write_file(lb, true, (unsigned[]){2049, 5}, 2, labels, 5);
  write_file(im, false, (unsigned[]){2051, 5, 3, 4}, 4, px, 60);
  FILE *f = fopen(im, "ab");
  fputs("more", f);
  fclose(f);
  expect_idx_error(im, lb, im, "after the last record");
}

/* CIFAR records: label byte(s) then 3072 pixels, pixel k of record r = pixel(r + k). */
static void write_cifar(const char *path, int records, int label_bytes, const int *labels,
                        size_t extra_bytes) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  for (int r = 0; r < records; r++) {
    if (label_bytes == 2) fputc(labels[r] / 5, f); /* a coarse label */
    fputc(labels[r], f);
    for (int k = 0; k < 3072; k++) fputc(pixel(r + k), f);
  }
  for (size_t i = 0; i < extra_bytes; i++) fputc(0, f);
  fclose(f);
}

static void check_cifar_record(const hg_dataset *ds, int i, int r, int label) {
  assert_int_equal(ds->labels[i], label);
  float x[3072];
  hgt_status(hg_dataset_get_row(ds, i, x));
  for (int k = 0; k < 3072; k++) assert_true(x[k] == (float)pixel(r + k) / 255.0f);
}

static void test_cifar10(void **state) {
  (void)state;
  char dir[128], path[224];
  tmp_path("cifar-10-batches-bin", dir, sizeof dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  int labels[4] = {3, 9, 0, 7};
  snprintf(path, sizeof path, "%s/test_batch.bin", dir);
  write_cifar(path, 4, 1, labels, 0);
  for (int b = 1; b <= 5; b++) {
    int l[2] = {b, 9 - b};
    snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, b);
    write_cifar(path, 2, 1, l, 0);
  }
  hg_dataset *test = hg_dataset_load_cifar(dir, false, false, 4);
  if (!test) fail_msg("%s", hg_last_error());
  assert_int_equal(test->count, 4);
  assert_int_equal(test->num_classes, 10);
  assert_int_equal(test->shape[1], 3);
  assert_int_equal(test->shape[2], 32);
  for (int r = 0; r < 4; r++) check_cifar_record(test, r, r, labels[r]);
  hg_dataset_free(test);
  hg_dataset *train = hg_dataset_load_cifar(dir, false, true, 2);
  if (!train) fail_msg("%s", hg_last_error());
  assert_int_equal(train->count, 10);
  for (int b = 1; b <= 5; b++) {
    check_cifar_record(train, 2 * (b - 1), 0, b);
    check_cifar_record(train, 2 * (b - 1) + 1, 1, 9 - b);
  }
  hg_dataset_free(train);
  /* hg_dataset_load finds the folder under the data directory, and wants
   * the official 10 000 records per file; so does a different count. */
  snprintf(path, sizeof path, "%s/test_batch.bin", dir);
  assert_null(hg_dataset_load("cifar10", tmpdir, false));
  assert_error_mentions(path, "4 records, the file should hold exactly 10000");
  assert_null(hg_dataset_load_cifar(dir, false, false, 5));
  assert_error_mentions(path, "exactly 5");
  test = hg_dataset_load_cifar(dir, false, false, 0); /* 0: any whole number of records */
  if (!test) fail_msg("%s", hg_last_error());
  assert_int_equal(test->count, 4);
  hg_dataset_free(test);
  char folder[160];
  snprintf(folder, sizeof folder, "%s/other", tmpdir);
  snprintf(path, sizeof path, "%s/test_batch.bin", folder);
  assert_int_equal(mkdir(folder, 0700), 0);
  assert_int_equal(mkdir(path, 0700), 0);
  assert_null(hg_dataset_load_cifar(folder, false, false, 0));
  assert_error_mentions(path, "is a directory");

  snprintf(path, sizeof path, "%s/test_batch.bin", dir);
  write_cifar(path, 4, 1, labels, 7);
  assert_null(hg_dataset_load_cifar10(dir, false));
  assert_error_mentions(path, "multiple");
  write_cifar(path, 0, 1, labels, 0);
  assert_null(hg_dataset_load_cifar10(dir, false));
  assert_error_mentions(path, "multiple");
  labels[2] = 10;
  write_cifar(path, 4, 1, labels, 0);
  assert_null(hg_dataset_load_cifar(dir, false, false, 4));
  assert_error_mentions(path, "out of range");
  snprintf(path, sizeof path, "%s/data_batch_4.bin", dir);
  remove(path);
  assert_null(hg_dataset_load_cifar(dir, false, true, 2));
  assert_error_mentions(path, "cannot open");
}

static void test_cifar100(void **state) {
  (void)state;
  char dir[128], path[192];
  tmp_path("cifar-100-binary", dir, sizeof dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  int labels[3] = {99, 0, 42};
  snprintf(path, sizeof path, "%s/train.bin", dir);
  write_cifar(path, 3, 2, labels, 0);
  hg_dataset *ds = hg_dataset_load_cifar(dir, true, true, 3);
  if (!ds) fail_msg("%s", hg_last_error());
  assert_int_equal(ds->count, 3);
  assert_int_equal(ds->num_classes, 100);
  for (int r = 0; r < 3; r++) check_cifar_record(ds, r, r, labels[r]);
  hg_dataset_free(ds);
  write_cifar(path, 3, 1, labels, 0); /* CIFAR-10 records: wrong size for CIFAR-100 */
  assert_null(hg_dataset_load_cifar100(dir, true));
  assert_error_mentions(path, "3074");
  labels[1] = 100;
  write_cifar(path, 3, 2, labels, 0);
  assert_null(hg_dataset_load_cifar(dir, true, true, 3));
  assert_error_mentions(path, "out of range");
  snprintf(path, sizeof path, "%s/test.bin", dir);
  assert_null(hg_dataset_load_cifar100(dir, false));
  assert_error_mentions(path, NULL);
}

/* Training and test files of different image sizes are refused when the
 * data are prepared, naming both folders (not later, inside a layer). */
/* root/mnist/ (root under the test folder, named `name`) with n_train
 * training images of side x side and n_test test images of test_side. */
static void write_mnist_folder(const char *name, char *root, size_t size, char *dir, size_t dir_size, int n_train,
                               int side, int n_test, int test_side) {
  char im[256], lb[256];
  tmp_path(name, root, size);
  snprintf(dir, dir_size, "%s/mnist", root);
  assert_int_equal(mkdir(root, 0700), 0);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(im, sizeof im, "%s/train-images-idx3-ubyte", dir);
  snprintf(lb, sizeof lb, "%s/train-labels-idx1-ubyte", dir);
  write_idx(im, lb, false, n_train, side, side);
  snprintf(im, sizeof im, "%s/t10k-images-idx3-ubyte", dir);
  snprintf(lb, sizeof lb, "%s/t10k-labels-idx1-ubyte", dir);
  write_idx(im, lb, false, n_test, test_side, test_side);
}

static void test_prepare_refuses_mismatched_files(void **state) {
  (void)state;
  char root[128], dir[160];
  write_mnist_folder("mixed", root, sizeof root, dir, sizeof dir, 20, 8, 6, 6);
  hg_data_opts o = hg_data_defaults("mnist");
  o.dir = root;
  o.n_val = 5;
  hg_data d = {0};
  assert_int_equal(hg_data_prepare(&o, &d), HG_ERR_SHAPE);
  hgt_error_mentions("[20,1,8,8]", "[6,1,6,6]");
  hgt_error_mentions(dir, NULL);
  assert_null(d.train);
}

static void test_load_by_name(void **state) {
  (void)state;
  char dir[128], im[192], lb[192];
  tmp_path("mnist", dir, sizeof dir);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(im, sizeof im, "%s/t10k-images-idx3-ubyte.gz", dir);
  snprintf(lb, sizeof lb, "%s/t10k-labels-idx1-ubyte", dir); /* an uncompressed copy works too */
  write_idx(im, lb, false, 7, 28, 28);
  hg_dataset *ds = hg_dataset_load("mnist", tmpdir, false);
  if (!ds) fail_msg("%s", hg_last_error());
  check_idx_contents(ds, 7, 28, 28);
  assert_string_equal(ds->name, "mnist-test");
  assert_string_equal(ds->source, dir);
  hg_dataset_free(ds);
  assert_null(hg_dataset_load("mnist", tmpdir, true));
  assert_error_mentions("train-images-idx3-ubyte", "get_data.sh");
  assert_null(hg_dataset_load("imagenet", tmpdir, true));
  assert_error_mentions("imagenet", "cifar10");

  setenv("HEBBGRAD_DATA", tmpdir, 1);
  assert_string_equal(hg_default_data_dir(), tmpdir);
  ds = hg_dataset_load("mnist", NULL, false);
  assert_non_null(ds);
  hg_dataset_free(ds);
  unsetenv("HEBBGRAD_DATA");
  assert_string_equal(hg_default_data_dir(), "datasets");
  /* A folder given is never substituted: no Fashion-MNIST there is an error
   * naming the files, even with the Debian package installed. */
  assert_null(hg_dataset_load("fashion-mnist", tmpdir, false));
  assert_error_mentions("fashion-mnist/t10k-images-idx3-ubyte", "cannot find");
}

/* n images [c,h,w]; every value of image i is i, label i % classes. */
static hg_dataset *indexed_dataset(int n, int c, int h, int w, int classes) {
  hg_dataset *ds = hg_dataset_new(n, c, h, w, classes, "indexed");
  if (!ds) fail_msg("%s", hg_last_error());
  size_t per = (size_t)c * h * w;
  for (int i = 0; i < n; i++) {
    for (size_t k = 0; k < per; k++) ds->images->data[(size_t)i * per + k] = (float)i;
    ds->labels[i] = i % classes;
  }
  return ds;
}

static void test_split(void **state) {
  (void)state;
  hg_dataset *ds = indexed_dataset(100, 2, 2, 2, 10);
  hg_dataset *tr, *va, *tr2, *va2, *tr3, *va3;
  hgt_status(hg_dataset_split(ds, 30, 7, &tr, &va));
  hgt_status(hg_dataset_split(ds, 30, 7, &tr2, &va2));
  hgt_status(hg_dataset_split(ds, 30, 8, &tr3, &va3));
  assert_int_equal(tr->count, 70);
  assert_int_equal(va->count, 30);
  assert_string_equal(va->name, "indexed-val");
  assert_memory_equal(va->images->data, va2->images->data, va->images->numel * sizeof(float));
  assert_memory_equal(tr->labels, tr2->labels, 70 * sizeof(int));
  assert_memory_not_equal(va->images->data, va3->images->data, va->images->numel * sizeof(float));
  int seen[100] = {0};
  const hg_dataset *parts[2] = {tr, va};
  for (int p = 0; p < 2; p++)
    for (int i = 0; i < parts[p]->count; i++) {
      int idx = (int)parts[p]->images->data[(size_t)i * 8];
      seen[idx]++;
      assert_int_equal(parts[p]->labels[i], idx % 10);
      assert_true(parts[p]->images->data[(size_t)i * 8 + 7] == (float)idx);
      if (i > 0) assert_true(parts[p]->images->data[(size_t)(i - 1) * 8] < (float)idx); /* order kept */
    }
  for (int i = 0; i < 100; i++) assert_int_equal(seen[i], 1);
  hg_dataset *all[] = {tr, va, tr2, va2, tr3, va3};
  for (int i = 0; i < 6; i++) hg_dataset_free(all[i]);
  assert_int_equal(hg_dataset_split(ds, 100, 7, &tr, &va), HG_ERR_ARG);
  assert_int_equal(hg_dataset_split(ds, 0, 7, &tr, &va), HG_ERR_ARG);
  hg_dataset_free(ds);
}

static void test_to_rgb32(void **state) {
  (void)state;
  hg_dataset *ds = hg_dataset_new(3, 1, 28, 28, 10, "grey");
  assert_non_null(ds);
  for (size_t k = 0; k < ds->images->numel; k++) ds->images->data[k] = (float)(k % 997) + 1.0f;
  for (int i = 0; i < 3; i++) ds->labels[i] = 2 * i + 1;
  hg_dataset *rgb = hg_dataset_to_rgb32(ds);
  if (!rgb) fail_msg("%s", hg_last_error());
  assert_int_equal(rgb->images->shape[1], 3);
  assert_int_equal(rgb->images->shape[2], 32);
  assert_int_equal(rgb->images->shape[3], 32);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(rgb->labels[i], 2 * i + 1);
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) {
          float got = rgb->images->data[(((size_t)i * 3 + c) * 32 + y) * 32 + x];
          bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
          float want = inside ? ds->images->data[((size_t)i * 28 + y - 2) * 28 + x - 2] : 0.0f;
          assert_true(got == want);
        }
  }
  hg_dataset *again = hg_dataset_to_rgb32(rgb); /* already 3x32x32: a copy */
  assert_non_null(again);
  assert_memory_equal(again->images->data, rgb->images->data, rgb->images->numel * sizeof(float));
  hg_dataset *bad = hg_dataset_new(2, 2, 28, 28, 10, "two-channel");
  assert_null(hg_dataset_to_rgb32(bad));
  assert_error_mentions("two-channel", "[2,2,28,28]");
  hg_dataset_free(bad);
  hg_dataset_free(again);
  hg_dataset_free(rgb);
  hg_dataset_free(ds);
}

static void channel_stats(const hg_tensor *x, int c, double *mean, double *std) {
  int n = x->shape[0], channels = x->shape[1];
  size_t plane = (size_t)x->shape[2] * x->shape[3];
  double s = 0, q = 0;
  for (int i = 0; i < n; i++)
    for (size_t k = 0; k < plane; k++) {
      double v = x->data[((size_t)i * channels + c) * plane + k];
      s += v;
      q += v * v;
    }
  double cnt = (double)n * plane;
  *mean = s / cnt;
  *std = sqrt(q / cnt - *mean * *mean);
}

static void test_normalizer(void **state) {
  (void)state;
  hg_dataset *ds = hg_dataset_new(200, 3, 8, 8, 10, "colour");
  hg_rng rng;
  hg_rng_seed(&rng, 3, 0);
  const float means[3] = {0.2f, 0.5f, -4.0f}, stds[3] = {0.1f, 2.0f, 0.01f};
  for (int i = 0; i < 200; i++)
    for (int c = 0; c < 3; c++)
      for (int k = 0; k < 64; k++)
        ds->images->data[((size_t)i * 3 + c) * 64 + k] = means[c] + stds[c] * hg_rng_normal(&rng);
  hg_normalizer norm;
  hgt_status(hg_normalizer_fit(&norm, ds));
  assert_int_equal(norm.channels, 3);
  for (int c = 0; c < 3; c++) {
    assert_true(fabsf(norm.mean[c] - means[c]) < 0.05f * stds[c] + 1e-4f);
    assert_true(fabsf(norm.std[c] / stds[c] - 1.0f) < 0.05f);
  }
  hgt_status(hg_normalizer_apply(&norm, ds));
  for (int c = 0; c < 3; c++) {
    double m, s;
    channel_stats(ds->images, c, &m, &s);
    assert_true(fabs(m) < 1e-3);
    assert_true(fabs(s - 1.0) < 1e-3);
  }
  hg_dataset *grey = hg_dataset_new(2, 1, 8, 8, 10, "grey");
  assert_int_equal(hg_normalizer_apply(&norm, grey), HG_ERR_SHAPE);
  hg_dataset_free(grey);
  hg_dataset_free(ds);
}

/* One epoch: every index seen once; returns the visiting order in order[]. */
static void run_epoch(hg_batcher *b, hg_tensor *x, int *labels, int n, int bs, int *order) {
  int seen[64] = {0}, at = 0, count;
  for (;;) {
    hgt_status(hg_batcher_next(b, x, labels, &count));
    if (count == 0) break;
    assert_true(count == bs || (count == n % bs && at + count == n));
    for (int i = 0; i < count; i++) {
      int idx = (int)x->data[(size_t)i * 4];
      seen[idx]++;
      assert_int_equal(labels[i], idx % 3);
      order[at++] = idx;
    }
    for (int i = count; i < bs; i++) assert_true(x->data[(size_t)i * 4 + 3] == 0.0f);
  }
  assert_int_equal(at, n);
  for (int i = 0; i < n; i++) assert_int_equal(seen[i], 1);
}

static void test_batcher(void **state) {
  (void)state;
  hg_dataset *ds = indexed_dataset(23, 1, 2, 2, 3);
  hg_tensor *x = hgt_ok(hg_tensor_zeros(HG_SHAPE(5, 1, 2, 2)));
  int labels[5], o1[23], o2[23], o3[23], count;
  hg_batcher *b = hg_batcher_new(ds, 5, true, 11);
  assert_non_null(b);
  assert_int_equal(hg_batcher_num_batches(b), 5);
  run_epoch(b, x, labels, 23, 5, o1);
  assert_int_equal(hg_batcher_epoch(b), 1);
  run_epoch(b, x, labels, 23, 5, o2);
  assert_int_equal(hg_batcher_epoch(b), 2);
  assert_memory_not_equal(o1, o2, sizeof o1);
  hg_batcher *same = hg_batcher_new(ds, 5, true, 11);
  run_epoch(same, x, labels, 23, 5, o3);
  assert_memory_equal(o1, o3, sizeof o1); /* same seed, same order */
  hgt_status(hg_batcher_next(same, x, labels, &count));
  hg_batcher_reset(same); /* abandon epoch 2 mid-way */
  run_epoch(same, x, labels, 23, 5, o3);
  assert_int_equal(hg_batcher_epoch(same), 3);

  hg_batcher *plain = hg_batcher_new(ds, 5, false, 0);
  run_epoch(plain, x, labels, 23, 5, o3);
  for (int i = 0; i < 23; i++) assert_int_equal(o3[i], i);
  hg_tensor *wrong = hgt_ok(hg_tensor_zeros(HG_SHAPE(4, 1, 2, 2)));
  assert_int_equal(hg_batcher_next(plain, wrong, labels, &count), HG_ERR_SHAPE);
  assert_error_mentions("[4,1,2,2]", "5 images");
  hgt_status(hg_batcher_next(plain, x, NULL, &count)); /* labels are optional */
  assert_int_equal(count, 5);
  assert_null(hg_batcher_new(ds, 0, false, 0));
  hg_tensor_free(wrong);
  hg_batcher_free(plain);
  hg_batcher_free(same);
  hg_batcher_free(b);
  hg_tensor_free(x);
  hg_dataset_free(ds);
}

/* Max |cov(x) - I| over the D x D covariance of the rows of x [N, D...]. */
static double identity_error(const hg_tensor *x) {
  int n = x->shape[0], d = (int)(x->numel / (size_t)n);
  double *mean = calloc((size_t)d, sizeof *mean), worst = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++) mean[j] += x->data[(size_t)i * d + j] / n;
  for (int a = 0; a < d; a++)
    for (int b = 0; b < d; b++) {
      double s = 0;
      for (int i = 0; i < n; i++)
        s += (x->data[(size_t)i * d + a] - mean[a]) * (x->data[(size_t)i * d + b] - mean[b]);
      double e = fabs(s / n - (a == b));
      if (e > worst) worst = e;
    }
  free(mean);
  return worst;
}

/* A float copy of the images of a set of pixels, with its labels. */
static hg_dataset *float_copy(const hg_dataset *px) {
  const int *s = px->shape;
  hg_dataset *f = hg_dataset_new(s[0], s[1], s[2], s[3], px->num_classes, px->name);
  float *x = read_all(px);
  memcpy(f->images->data, x, f->images->numel * sizeof(float));
  memcpy(f->labels, px->labels, (size_t)s[0] * sizeof(int));
  free(x);
  return f;
}

static void assert_same_images(const hg_dataset *a, const hg_dataset *b, float tol) {
  assert_int_equal(a->count, b->count);
  float *x = read_all(a), *y = read_all(b);
  size_t n = (size_t)a->count * a->shape[1] * a->shape[2] * a->shape[3];
  for (size_t k = 0; k < n; k++)
    if (!(fabsf(x[k] - y[k]) <= tol)) fail_msg("value %zu: %g against %g", k, (double)x[k], (double)y[k]);
  for (int i = 0; i < a->count; i++) assert_int_equal(a->labels[i], b->labels[i]);
  free(x);
  free(y);
}

/* A set of pixels (bytes and what they read as) and a float32 copy of it go
 * through the preparation alike: the same split, normalisation (exactly:
 * the tables round as the floats do), ZCA fingerprint and transform
 * (exactly), whitened rows (to float rounding: one batch against chunks),
 * and MNIST's 3x32x32 conversion; a set of pixels refuses rows of floats
 * and normalising after whitening. */
static void test_pixel_sets_read_as_floats(void **state) {
  (void)state;
  hg_dataset *grey = hg_dataset_new_pixels(300, 1, 4, 4, 10, "grey");
  hg_rng rng;
  hg_rng_seed(&rng, 3, 0);
  for (int i = 0; i < 300; i++) {
    grey->labels[i] = i % 10;
    for (int k = 0; k < 16; k++) grey->pixels[i * 16 + k] = (uint8_t)(hg_rng_u32(&rng) % (40 + 13 * k));
  }
  hg_dataset *rgb = hg_dataset_to_rgb32(grey), *rgb_f = NULL, *grey_f = float_copy(grey);
  assert_non_null(rgb);
  assert_non_null(rgb->pixels);
  assert_same_images(rgb, rgb_f = hg_dataset_to_rgb32(grey_f), 0.0f);
  hg_dataset_free(rgb_f);
  hg_dataset_free(grey_f);
  float row[3072];
  assert_int_equal(hg_dataset_set_rows(rgb, 0, 1, row), HG_ERR_ARG);

  hg_dataset *px = grey, *fl = float_copy(grey);
  hg_dataset *px_tr, *px_va, *fl_tr, *fl_va;
  hgt_status(hg_dataset_split(px, 50, 7, &px_tr, &px_va));
  hgt_status(hg_dataset_split(fl, 50, 7, &fl_tr, &fl_va));
  assert_non_null(px_tr->pixels);
  assert_same_images(px_tr, fl_tr, 0.0f);
  hg_normalizer n_px, n_fl;
  hgt_status(hg_normalizer_fit(&n_px, px_tr));
  hgt_status(hg_normalizer_fit(&n_fl, fl_tr));
  assert_true(fabsf(n_px.mean[0] - n_fl.mean[0]) <= 1e-6f * fabsf(n_fl.mean[0]));
  assert_true(fabsf(n_px.std[0] - n_fl.std[0]) <= 1e-6f * n_fl.std[0]);
  hgt_status(hg_normalizer_apply(&n_fl, px_tr));
  hgt_status(hg_normalizer_apply(&n_fl, px_va));
  hgt_status(hg_normalizer_apply(&n_fl, fl_tr));
  hgt_status(hg_normalizer_apply(&n_fl, fl_va));
  assert_same_images(px_tr, fl_tr, 0.0f);
  hg_zca *z_px = hg_zca_fit(px_tr, 1e-2f), *z_fl = hg_zca_fit(fl_tr, 1e-2f);
  assert_true(z_px && z_fl);
  assert_string_equal(z_px->fingerprint, z_fl->fingerprint);
  assert_memory_equal(z_px->matrix->data, z_fl->matrix->data, 256 * sizeof(float));
  hgt_status(hg_zca_apply(z_px, px_va));
  hgt_status(hg_zca_apply(z_fl, fl_va));
  assert_same_images(px_va, fl_va, 1e-5f);
  assert_int_equal(hg_normalizer_apply(&n_fl, px_va), HG_ERR_ARG);
  hgt_error_mentions("whitened", NULL);
  assert_null(hg_zca_fit(px_va, 1e-2f));
  hg_dataset *sub = hg_dataset_subset(px_va, (int[]){4, 0}, 2); /* keeps the whitening */
  float a[16], b[16];
  hgt_status(hg_dataset_get_row(sub, 0, a));
  hgt_status(hg_dataset_get_row(fl_va, 4, b));
  for (int k = 0; k < 16; k++) assert_true(fabsf(a[k] - b[k]) <= 1e-5f);
  hg_zca_free(z_px);
  hg_zca_free(z_fl);
  hg_dataset *all[] = {sub, rgb, px, fl, px_tr, px_va, fl_tr, fl_va};
  for (int i = 0; i < 8; i++) hg_dataset_free(all[i]);
}

/* The whole preparation with ZCA, a batch at a time from the bytes or once
 * into floats (zca_floats): the same images, to float rounding. */
static void test_prepare_zca_bytes_or_floats(void **state) {
  (void)state;
  char root[128], dir[160];
  write_mnist_folder("zca-prep", root, sizeof root, dir, sizeof dir, 60, 4, 10, 4);
  hg_data_opts o = hg_data_defaults("mnist");
  o.dir = root;
  o.n_val = 20;
  o.zca = true;
  hg_data bytes = {0}, floats = {0};
  hgt_status(hg_data_prepare(&o, &bytes));
  o.zca_floats = true;
  hgt_status(hg_data_prepare(&o, &floats));
  hg_dataset *b[3] = {bytes.train, bytes.val, bytes.test}, *f[3] = {floats.train, floats.val, floats.test};
  for (int i = 0; i < 3; i++) {
    assert_true(b[i]->pixels && b[i]->white_matrix && !b[i]->images);
    assert_true(f[i]->images && !f[i]->pixels);
    assert_same_images(b[i], f[i], 1e-4f);
  }
  hg_data_release(&bytes);
  hg_data_release(&floats);
}

/* n samples [3,2,2] (D = 12) of strongly correlated Gaussians with offsets. */
static hg_dataset *correlated_dataset(int n, uint64_t seed) {
  hg_dataset *ds = hg_dataset_new(n, 3, 2, 2, 10, "correlated");
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  float mix[12][12];
  for (int a = 0; a < 12; a++)
    for (int b = 0; b < 12; b++) mix[a][b] = (a == b ? 2.0f : 0.0f) + hg_rng_normal(&rng) * (b < 3 ? 3.0f : 0.3f);
  for (int i = 0; i < n; i++) {
    float g[12];
    for (int b = 0; b < 12; b++) g[b] = hg_rng_normal(&rng);
    for (int a = 0; a < 12; a++) {
      float v = 5.0f + (float)a;
      for (int b = 0; b < 12; b++) v += mix[a][b] * g[b];
      ds->images->data[(size_t)i * 12 + a] = v;
    }
    ds->labels[i] = i % 10;
  }
  return ds;
}

static void test_zca(void **state) {
  (void)state;
  hg_dataset *ds = correlated_dataset(2000, 21);
  assert_true(identity_error(ds->images) > 1.0);
  hg_tensor *orig = hgt_ok(hg_tensor_clone(ds->images));
  hg_zca *zca = hg_zca_fit(ds, 1e-5f);
  if (!zca) fail_msg("%s", hg_last_error());
  assert_int_equal(zca->dim, 12);
  assert_int_equal(zca->count, 2000);
  for (int a = 0; a < 12; a++)
    for (int b = 0; b < 12; b++) /* W is symmetric */
      assert_true(zca->matrix->data[a * 12 + b] == zca->matrix->data[b * 12 + a]);
  hgt_status(hg_zca_apply(zca, ds));
  double err = identity_error(ds->images);
  if (!(err < 0.05)) fail_msg("whitened covariance differs from I by %g", err);

  char path[128];
  tmp_path("zca.safetensors", path, sizeof path);
  hgt_status(hg_zca_save(zca, path));
  hg_zca *back = hg_zca_load(path);
  if (!back) fail_msg("%s", hg_last_error());
  assert_int_equal(back->dim, 12);
  assert_true(back->eps == 1e-5f);
  assert_string_equal(back->fingerprint, zca->fingerprint);
  hg_tensor *again = hgt_ok(hg_tensor_clone(orig));
  hgt_status(hg_zca_apply_tensor(back, again));
  assert_memory_equal(again->data, ds->images->data, again->numel * sizeof(float));

  /* load_or_fit reuses the file for the same data, refits for other data. */
  hg_dataset *same = correlated_dataset(2000, 21);
  hg_zca *cached = hg_zca_load_or_fit(path, same, 1e-5f);
  assert_non_null(cached);
  assert_memory_equal(cached->matrix->data, zca->matrix->data, 144 * sizeof(float));
  hg_dataset *other = correlated_dataset(500, 99);
  hg_zca *refit = hg_zca_load_or_fit(path, other, 1e-5f);
  assert_non_null(refit);
  assert_int_equal(refit->count, 500);
  hg_zca *reloaded = hg_zca_load(path);
  assert_int_equal(reloaded->count, 500);
  /* A file that is not a ZCA transform (here a checkpoint) is refused, untouched. */
  char other_file[128];
  tmp_path("not-zca.safetensors", other_file, sizeof other_file);
  const char *names[1] = {"fc.weight"};
  hgt_status(hg_checkpoint_save(other_file, 1, names, &orig, 0, NULL, NULL));
  char *before = hgt_read_all(other_file);
  assert_null(hg_zca_load_or_fit(other_file, other, 1e-5f));
  hgt_error_mentions(other_file, "left as it is");
  char *after = hgt_read_all(other_file);
  struct stat st;
  assert_int_equal(stat(other_file, &st), 0);
  assert_memory_equal(before, after, (size_t)st.st_size);
  free(before);
  free(after);

  hg_tensor *wrong = hgt_ok(hg_tensor_zeros(HG_SHAPE(4, 11)));
  assert_int_equal(hg_zca_apply_tensor(zca, wrong), HG_ERR_SHAPE);
  assert_null(hg_zca_fit(ds, 0.0f));
  hg_zca *zs[] = {zca, back, cached, refit, reloaded};
  for (int i = 0; i < 5; i++) hg_zca_free(zs[i]);
  hg_tensor *ts[] = {orig, again, wrong};
  for (int i = 0; i < 3; i++) hg_tensor_free(ts[i]);
  hg_dataset_free(ds);
  hg_dataset_free(same);
  hg_dataset_free(other);
}

static bool shared_file(const char *rel, char *dir, size_t size) {
  char path[512];
  snprintf(dir, size, "%s/data", hgt_shared_dir());
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (access(path, R_OK) == 0) return true;
  print_message("skipped: %s not found\n", path);
  return false;
}

static void test_real_mnist(void **state) {
  (void)state;
  char dir[256];
  if (!shared_file("mnist/t10k-images-idx3-ubyte.gz", dir, sizeof dir)) skip(); /* reported as skipped */
  hg_dataset *ds = hg_dataset_load("mnist", dir, false);
  if (!ds) fail_msg("%s", hg_last_error());
  assert_int_equal(ds->count, 10000);
  assert_int_equal(ds->labels[0], 7);
  assert_int_equal(ds->shape[2], 28);
  float lo = 1, hi = 0, *x = read_all(ds);
  for (size_t k = 0; k < (size_t)ds->count * 28 * 28; k++) {
    lo = fminf(lo, x[k]);
    hi = fmaxf(hi, x[k]);
  }
  free(x);
  assert_true(lo == 0.0f && hi == 1.0f);
  hg_dataset_free(ds);
}

static void test_real_cifar10(void **state) {
  (void)state;
  char dir[256];
  if (!shared_file("cifar-10-batches-bin/test_batch.bin", dir, sizeof dir)) skip();
  hg_dataset *ds = hg_dataset_load("cifar10", dir, false);
  if (!ds) fail_msg("%s", hg_last_error());
  assert_int_equal(ds->count, 10000);
  int per_class[10] = {0};
  for (int i = 0; i < ds->count; i++) per_class[ds->labels[i]]++;
  for (int c = 0; c < 10; c++) assert_int_equal(per_class[c], 1000);
  hg_dataset_free(ds);
}

static void test_real_fashion(void **state) {
  (void)state;
  if (access("/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz", R_OK) != 0) {
    print_message("skipped: /usr/share/datasets/fashion-mnist not installed\n");
    skip();
  }
  /* No folder chosen and none in ./datasets: the Debian package's copy, named in ds->source. */
  char cwd[4096];
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(chdir(tmpdir), 0);
  unsetenv("HEBBGRAD_DATA");
  hg_dataset *ds = hg_dataset_load("fashion-mnist", NULL, false);
  assert_int_equal(chdir(cwd), 0);
  if (!ds) fail_msg("%s", hg_last_error());
  assert_int_equal(ds->count, 10000);
  assert_int_equal(ds->labels[0], 9); /* ankle boot */
  assert_string_equal(ds->source, "/usr/share/datasets/fashion-mnist");
  hg_dataset_free(ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_valid),    cmocka_unit_test(test_idx_errors),
      cmocka_unit_test(test_idx_damage),
      cmocka_unit_test(test_prepare_refuses_mismatched_files),
      cmocka_unit_test(test_cifar10),      cmocka_unit_test(test_cifar100),
      cmocka_unit_test(test_load_by_name), cmocka_unit_test(test_split),
      cmocka_unit_test(test_to_rgb32),     cmocka_unit_test(test_normalizer),
      cmocka_unit_test(test_batcher),      cmocka_unit_test(test_zca),
      cmocka_unit_test(test_pixel_sets_read_as_floats),
      cmocka_unit_test(test_prepare_zca_bytes_or_floats),
      cmocka_unit_test(test_real_mnist),   cmocka_unit_test(test_real_cifar10),
      cmocka_unit_test(test_real_fashion),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
