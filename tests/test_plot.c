/* PNG plots: each picture is read back with libpng and checked for its size,
 * its pixels (kernel grids), its colours (heat maps) and its ink (curves);
 * bad arguments and unwritable paths fail with the right status and name. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/plot.h"
#include "tests/helpers.h"

static char tmpdir[64];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/hg_plot_XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tmp_path(const char *name, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", tmpdir, name);
  return buf;
}

/* A PNG read back as 8-bit RGB. */
typedef struct image {
  int w, h;
  unsigned char *px;
} image;

static image read_png(const char *path) {
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&pi, path)) fail_msg("cannot read %s: %s", path, pi.message);
  pi.format = PNG_FORMAT_RGB;
  image im = {(int)pi.width, (int)pi.height, malloc(PNG_IMAGE_SIZE(pi))};
  assert_non_null(im.px);
  if (!png_image_finish_read(&pi, NULL, im.px, 0, NULL)) fail_msg("cannot decode %s: %s", path, pi.message);
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_not_equal(access(tmp, F_OK), 0); /* the temporary file is gone */
  return im;
}

static const unsigned char *at(const image *im, int x, int y) { return im->px + ((size_t)y * im->w + x) * 3; }

static void assert_rgb(const image *im, int x, int y, int r, int g, int b) {
  const unsigned char *p = at(im, x, y);
  if (p[0] != r || p[1] != g || p[2] != b)
    fail_msg("pixel (%d,%d) is (%d,%d,%d), expected (%d,%d,%d)", x, y, p[0], p[1], p[2], r, g, b);
}

static void assert_error_mentions(const char *text) {
  if (!strstr(hg_last_error(), text)) fail_msg("error \"%s\" does not mention \"%s\"", hg_last_error(), text);
}

/* Kernel grid size: 1 + n·(kw·scale + 1) by 1 + rows·(kh·scale + 1). */
static void test_kernel_grid_size(void **state) {
  (void)state;
  char path[128];
  struct { int K, C, kh, kw, columns, scale, w, h; } cases[] = {
      {6, 3, 5, 5, 3, 2, 1 + 3 * 11, 1 + 2 * 11},  /* the example of the brief */
      {10, 1, 3, 3, 0, 1, 1 + 4 * 4, 1 + 3 * 4},   /* about square: 4 columns, 3 rows */
      {2, 4, 2, 7, 100, 3, 1 + 2 * 22, 1 + 1 * 7}, /* more columns than kernels */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hg_tensor *w = hgt_rand(HG_SHAPE(cases[i].K, cases[i].C, cases[i].kh, cases[i].kw), -1, 1, 7 + i);
    hgt_status(hg_plot_kernels(tmp_path("k.png", path, sizeof path), w, cases[i].columns, cases[i].scale));
    image im = read_png(path);
    assert_int_equal(im.w, cases[i].w);
    assert_int_equal(im.h, cases[i].h);
    free(im.px);
    hg_tensor_free(w);
  }
}

/* Kernel 0 constant (mid grey), kernel 1 a ramp 0..255, coloured gaps; scale 2. */
static void test_kernel_grey_pixels(void **state) {
  (void)state;
  float v[2 * 12];
  for (int i = 0; i < 12; i++) v[i] = 0.25f, v[12 + i] = -3.0f + 0.5f * i;
  hg_tensor *w = hgt_ok(hg_tensor_from(HG_SHAPE(2, 1, 3, 4), v));
  char path[128];
  hgt_status(hg_plot_kernels(tmp_path("grey.png", path, sizeof path), w, 2, 2));
  image im = read_png(path);
  assert_int_equal(im.w, 1 + 2 * 9);
  assert_int_equal(im.h, 1 + 1 * 7);
  for (int i = 0; i < 12; i++)
    for (int d = 0; d < 4; d++) { /* each kernel pixel is a 2×2 block */
      int x = 2 * (i % 4) + d % 2, y = 1 + 2 * (i / 4) + d / 2;
      int g = (int)lrintf(255.0f * i / 11);
      assert_rgb(&im, 1 + x, y, 128, 128, 128);
      assert_rgb(&im, 10 + x, y, g, g, g);
    }
  const unsigned char *gap = at(&im, 0, 0); /* the gaps: one colour, not a grey */
  assert_false(gap[0] == gap[1] && gap[1] == gap[2]);
  assert_rgb(&im, 9, 3, gap[0], gap[1], gap[2]);
  assert_rgb(&im, 18, 7, gap[0], gap[1], gap[2]);
  assert_rgb(&im, 5, 0, gap[0], gap[1], gap[2]);
  free(im.px);
  hg_tensor_free(w);
}

/* Panels side by side on white under their titles: a 16-pixel margin around
 * and between grids as wide as hg_plot_kernels draws them alone. */
static void test_kernel_panels_side_by_side(void **state) {
  (void)state;
  float flat[24], ramp[24];
  for (int i = 0; i < 24; i++) flat[i] = 0.25f, ramp[i] = (float)(i % 12);
  hg_tensor *a = hgt_ok(hg_tensor_from(HG_SHAPE(2, 1, 3, 4), flat));
  hg_tensor *b = hgt_ok(hg_tensor_from(HG_SHAPE(2, 1, 3, 4), ramp));
  const hg_tensor *panels[] = {a, b};
  const char *titles[] = {"a", "b"};
  char path[128];
  hgt_status(hg_plot_kernel_panels(tmp_path("panels.png", path, sizeof path), 2, panels, titles, 2, 8));
  image im = read_png(path);
  int grid_w = 1 + 2 * (4 * 8 + 1), grid_h = 1 + 3 * 8 + 1, y0 = im.h - 16 - grid_h;
  assert_int_equal(im.w, 16 + grid_w + 16 + grid_w + 16);
  assert_rgb(&im, 0, 0, 255, 255, 255);
  assert_rgb(&im, 16 + 1, y0 + 1, 128, 128, 128);               /* a constant kernel */
  assert_rgb(&im, 16 + grid_w + 16 + 1, y0 + 1, 0, 0, 0);       /* the ramp's minimum */
  assert_rgb(&im, 16 + grid_w + 16 + 1 + 3 * 8, y0 + 1, 70, 70, 70); /* 3/11 of the way */
  free(im.px);
  hg_tensor_free(a);
  hg_tensor_free(b);
}

/* C == 3 is RGB scaled over the whole kernel; C == 2 is the grey channel mean. */
static void test_kernel_rgb_and_mean(void **state) {
  (void)state;
  char path[128];
  float rgb[3 * 2] = {1, 0, 0, 1, 0.5f, 0}; /* pixel 0 = (1,0,0.5) red-magenta, pixel 1 = (0,1,0) green */
  hg_tensor *w = hgt_ok(hg_tensor_from(HG_SHAPE(1, 3, 1, 2), rgb));
  hgt_status(hg_plot_kernels(tmp_path("rgb.png", path, sizeof path), w, 0, 1));
  image im = read_png(path);
  assert_rgb(&im, 1, 1, 255, 0, 128);
  assert_rgb(&im, 2, 1, 0, 255, 0);
  free(im.px);
  hg_tensor_free(w);
  float two[2 * 3] = {0, 2, 4, 2, 2, 2}; /* means 1, 2, 3 */
  w = hgt_ok(hg_tensor_from(HG_SHAPE(1, 2, 1, 3), two));
  hgt_status(hg_plot_kernels(path, w, 1, 1));
  im = read_png(path);
  assert_rgb(&im, 1, 1, 0, 0, 0);
  assert_rgb(&im, 2, 1, 128, 128, 128);
  assert_rgb(&im, 3, 1, 255, 255, 255);
  free(im.px);
  hg_tensor_free(w);
}

/* A colour filling many pixels, with the centre of its pixels. */
typedef struct blob {
  unsigned key;
  long count;
  double x, y;
} blob;

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The coloured (not grey) colours covering at least min_count pixels. */
static int find_blobs(const image *im, long min_count, blob *out, int max) {
  uint64_t *keys = malloc((size_t)im->w * im->h * sizeof *keys);
  assert_non_null(keys);
  size_t n = 0;
  for (int y = 0; y < im->h; y++)
    for (int x = 0; x < im->w; x++) {
      const unsigned char *p = at(im, x, y);
      if (p[0] == p[1] && p[1] == p[2]) continue;
      uint64_t key = (uint64_t)p[0] << 16 | (uint64_t)p[1] << 8 | p[2];
      keys[n++] = key << 40 | (uint64_t)y << 20 | (uint64_t)x;
    }
  qsort(keys, n, sizeof *keys, cmp_u64);
  int found = 0;
  for (size_t i = 0, j; i < n; i = j) {
    double sx = 0, sy = 0;
    for (j = i; j < n && keys[j] >> 40 == keys[i] >> 40; j++)
      sx += (double)(keys[j] & 0xfffff), sy += (double)(keys[j] >> 20 & 0xfffff);
    if ((long)(j - i) < min_count || found == max) continue;
    out[found++] = (blob){(unsigned)(keys[i] >> 40), (long)(j - i), sx / (double)(j - i), sy / (double)(j - i)};
  }
  free(keys);
  return found;
}

static int redness(unsigned key) { return (int)(key >> 16) - (int)(key & 0xff); }

static int by_position(const void *a, const void *b) {
  const blob *p = a, *q = b;
  if (fabs(p->y - q->y) > 5) return p->y < q->y ? -1 : 1;
  return p->x < q->x ? -1 : p->x > q->x;
}

/* 2×2 values 10, 20 / 30, 40: four cell colours, redder with the value. */
static void test_heatmap_colours(void **state) {
  (void)state;
  char path[128];
  const float v[4] = {10, 20, 30, 40};
  const char *rows[2] = {"row a", "row b"}, *cols[2] = {"col a", "col b"};
  hgt_status(hg_plot_heatmap(tmp_path("heat.png", path, sizeof path), "heat", 2, 2, rows, cols, v));
  image im = read_png(path);
  assert_true(im.w > 100 && im.h > 60);
  assert_rgb(&im, 0, 0, 255, 255, 255);
  blob b[8];
  int n = find_blobs(&im, 200, b, 8);
  assert_int_equal(n, 4);
  qsort(b, 4, sizeof *b, by_position); /* top-left, top-right, bottom-left, bottom-right */
  for (int i = 0; i < 3; i++)
    if (redness(b[i].key) >= redness(b[i + 1].key)) fail_msg("cell %d is not redder than cell %d", i + 1, i);
  assert_true(redness(b[3].key) > 100);  /* the highest cell is red */
  assert_true(redness(b[0].key) < -100); /* the lowest blue */
  free(im.px);
}

/* A NaN cell is grey, and labels are optional. */
static void test_heatmap_nan_grey(void **state) {
  (void)state;
  char path[128];
  const float v[2] = {NAN, 1};
  hgt_status(hg_plot_heatmap(tmp_path("nan.png", path, sizeof path), NULL, 1, 2, NULL, NULL, v));
  image im = read_png(path);
  long grey = 0;
  for (int y = 0; y < im.h; y++)
    for (int x = 0; x < im.w; x++) {
      const unsigned char *p = at(&im, x, y);
      grey += p[0] == p[1] && p[1] == p[2] && p[0] > 100 && p[0] < 230;
    }
  assert_true(grey > 200);
  free(im.px);
}

/* Two ramps: coloured line pixels in the middle of the picture, white corners. */
static void test_curves_drawn(void **state) {
  (void)state;
  char path[128];
  float a[10], b[10];
  for (int i = 0; i < 10; i++) a[i] = 0.1f * i, b[i] = 0.9f - 0.05f * i;
  b[4] = NAN;
  hg_series s[2] = {{"rising", a, 10}, {"falling", b, 10}};
  hgt_status(hg_plot_curves(tmp_path("curves.png", path, sizeof path), "curves", "value", 2, s));
  image im = read_png(path);
  assert_true(im.w >= 400 && im.h >= 300);
  assert_rgb(&im, 0, 0, 255, 255, 255);
  assert_rgb(&im, im.w - 1, im.h - 1, 255, 255, 255);
  long ink = 0; /* coloured pixels in the middle band, left of the legend */
  for (int y = im.h / 8; y < im.h * 7 / 8; y++)
    for (int x = im.w / 4; x < im.w / 2; x++) {
      const unsigned char *p = at(&im, x, y);
      ink += p[0] != p[1] || p[1] != p[2];
    }
  assert_true(ink > 100);
  free(im.px);
  hg_series one = {NULL, a, 1}; /* a single point, no name, no title */
  hgt_status(hg_plot_curves(path, NULL, NULL, 1, &one));
  im = read_png(path);
  free(im.px);
}

static void expect_arg_error(hg_status s, const char *function) {
  assert_int_equal(s, HG_ERR_ARG);
  assert_error_mentions(function);
}

static void test_bad_arguments(void **state) {
  (void)state;
  char path[128];
  tmp_path("bad.png", path, sizeof path);
  hg_tensor *w4 = hgt_rand(HG_SHAPE(2, 1, 3, 3), -1, 1, 1), *w2 = hgt_rand(HG_SHAPE(4, 9), -1, 1, 2);
  expect_arg_error(hg_plot_kernels(NULL, w4, 0, 1), "hg_plot_kernels");
  expect_arg_error(hg_plot_kernels(path, NULL, 0, 1), "hg_plot_kernels");
  expect_arg_error(hg_plot_kernels(path, w2, 0, 1), "hg_plot_kernels");
  assert_error_mentions("[4,9]");
  expect_arg_error(hg_plot_kernels(path, w4, 0, 0), "hg_plot_kernels");
  const hg_tensor *panels[] = {w4, w2};
  expect_arg_error(hg_plot_kernel_panels(path, 0, panels, NULL, 0, 1), "hg_plot_kernel_panels");
  expect_arg_error(hg_plot_kernel_panels(path, 2, panels, NULL, 0, 1), "hg_plot_kernel_panels");
  float y[3] = {1, 2, 3};
  hg_series ok = {"ok", y, 3}, empty = {"empty", y, 0}, null_y = {"null", NULL, 3};
  expect_arg_error(hg_plot_curves(NULL, "t", "y", 1, &ok), "hg_plot_curves");
  expect_arg_error(hg_plot_curves(path, "t", "y", 1, NULL), "hg_plot_curves");
  expect_arg_error(hg_plot_curves(path, "t", "y", 0, &ok), "hg_plot_curves");
  expect_arg_error(hg_plot_curves(path, "t", "y", 1, &empty), "hg_plot_curves");
  expect_arg_error(hg_plot_curves(path, "t", "y", 1, &null_y), "hg_plot_curves");
  expect_arg_error(hg_plot_heatmap(NULL, "t", 1, 3, NULL, NULL, y), "hg_plot_heatmap");
  expect_arg_error(hg_plot_heatmap(path, "t", 1, 3, NULL, NULL, NULL), "hg_plot_heatmap");
  expect_arg_error(hg_plot_heatmap(path, "t", 0, 3, NULL, NULL, y), "hg_plot_heatmap");
  expect_arg_error(hg_plot_heatmap(path, "t", 1, -1, NULL, NULL, y), "hg_plot_heatmap");
  assert_int_not_equal(access(path, F_OK), 0);
  hg_tensor_free(w4);
  hg_tensor_free(w2);
}

/* Unwritable paths: HG_ERR_IO naming the path, no .tmp left, old file intact. */
static void test_io_errors(void **state) {
  (void)state;
  char missing[128], tmp[160], dir[128];
  tmp_path("missing/k.png", missing, sizeof missing);
  snprintf(tmp, sizeof tmp, "%s.tmp", missing);
  hg_tensor *w = hgt_rand(HG_SHAPE(2, 1, 3, 3), -1, 1, 1);
  float y[2] = {1, 2};
  hg_series s = {"s", y, 2};
  assert_int_equal(hg_plot_kernels(missing, w, 0, 1), HG_ERR_IO);
  assert_error_mentions(missing);
  assert_int_equal(hg_plot_curves(missing, "t", "y", 1, &s), HG_ERR_IO);
  assert_error_mentions(missing);
  assert_int_equal(hg_plot_heatmap(missing, "t", 1, 2, NULL, NULL, y), HG_ERR_IO);
  assert_error_mentions(missing);
  assert_int_not_equal(access(tmp, F_OK), 0);
  /* A directory in the way: the .tmp file is written, the rename fails, the .tmp goes. */
  tmp_path("a_dir", dir, sizeof dir);
  assert_int_equal(mkdir(dir, 0755), 0);
  assert_int_equal(hg_plot_kernels(dir, w, 0, 1), HG_ERR_IO);
  assert_error_mentions(dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", dir);
  assert_int_not_equal(access(tmp, F_OK), 0);
  hg_tensor_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_kernel_grid_size, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kernel_grey_pixels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kernel_panels_side_by_side, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kernel_rgb_and_mean, setup, teardown),
      cmocka_unit_test_setup_teardown(test_heatmap_colours, setup, teardown),
      cmocka_unit_test_setup_teardown(test_heatmap_nan_grey, setup, teardown),
      cmocka_unit_test_setup_teardown(test_curves_drawn, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_errors, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
