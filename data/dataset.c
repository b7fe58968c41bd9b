/* Data set container, subsets, the seeded train/validation split and the
 * grey 28x28 -> RGB 32x32 conversion. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/zca.h"

#define SPLIT_STREAM 0x73706c6974ULL /* "split": PCG32 stream used by hg_dataset_split */

const char *hg_default_data_dir(void) {
  const char *dir = getenv("HEBBGRAD_DATA");
  return dir && dir[0] ? dir : "datasets";
}

/* Where a new data set keeps its images. */
typedef enum { IN_FLOATS, IN_HALF_FILE, IN_PIXELS } storage;

/* Bytes read as b/255, rounded as the float division (the readers' scaling). */
static float *pixel_table(int c) {
  float *lut = malloc((size_t)c * 256 * sizeof *lut);
  for (int k = 0; lut && k < c; k++)
    for (int b = 0; b < 256; b++) lut[k * 256 + b] = (float)b / 255.0f;
  return lut;
}

static bool make_storage(hg_dataset *ds, storage where, const char *dir) {
  const int *s = ds->shape;
  size_t per = (size_t)s[1] * s[2] * s[3];
  if (where == IN_HALF_FILE) return (ds->half = hg_half_rows_new(dir, s[0], per)) != NULL;
  if (where == IN_FLOATS) return (ds->images = hg_tensor_empty(HG_SHAPE(s[0], s[1], s[2], s[3]))) != NULL;
  ds->pixels = calloc((size_t)s[0] * per, 1);
  ds->lut = ds->pixels ? pixel_table(s[1]) : NULL;
  if (!ds->lut) hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory for %d images of %zu bytes", ds->name, s[0], per);
  return ds->lut != NULL;
}

/* A data set of n images [c,h,w] kept where `where` says (dir: the float16 file's folder). */
static hg_dataset *dataset_new(int n, int c, int h, int w, int num_classes, const char *name, storage where,
                               const char *dir) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || num_classes <= 0 || (where == IN_PIXELS && c > HG_PIXEL_MAX_CHANNELS)) {
    hg_fail(HG_ERR_ARG, "dataset %s: bad size %d x [%d,%d,%d] with %d classes", name ? name : "",
            n, c, h, w, num_classes);
    return NULL;
  }
  hg_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory", name ? name : "");
    return NULL;
  }
  ds->count = n;
  ds->num_classes = num_classes;
  memcpy(ds->shape, (int[]){n, c, h, w}, sizeof ds->shape);
  snprintf(ds->name, sizeof ds->name, "%s", name ? name : "");
  bool stored = make_storage(ds, where, dir);
  ds->labels = stored ? calloc((size_t)n, sizeof *ds->labels) : NULL;
  if (!ds->labels) {
    if (stored) hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory for %d labels", ds->name, n);
    hg_dataset_free(ds);
    return NULL;
  }
  return ds;
}

hg_dataset *hg_dataset_new(int n, int c, int h, int w, int num_classes, const char *name) {
  return dataset_new(n, c, h, w, num_classes, name, IN_FLOATS, NULL);
}

hg_dataset *hg_dataset_new_half(int n, int c, int h, int w, int num_classes, const char *name, const char *dir) {
  return dataset_new(n, c, h, w, num_classes, name, IN_HALF_FILE, dir ? dir : "/tmp");
}

hg_dataset *hg_dataset_new_pixels(int n, int c, int h, int w, int num_classes, const char *name) {
  return dataset_new(n, c, h, w, num_classes, name, IN_PIXELS, NULL);
}

static size_t row_size(const hg_dataset *ds) { return (size_t)ds->shape[1] * ds->shape[2] * ds->shape[3]; }

hg_status hg_dataset_set_rows(hg_dataset *ds, int first, int count, const float *values) {
  if (first < 0 || count < 0 || first + count > ds->count)
    return hg_fail(HG_ERR_ARG, "dataset %s: images [%d, %d) of %d", ds->name, first, first + count, ds->count);
  if (ds->pixels)
    return hg_fail(HG_ERR_ARG, "dataset %s: its images are the bytes of its files; rows of floats cannot be written",
                   ds->name);
  if (ds->half) return hg_half_rows_write(ds->half, first, count, values);
  memcpy(ds->images->data + (size_t)first * row_size(ds), values, (size_t)count * row_size(ds) * sizeof(float));
  return HG_OK;
}

/* out ← image i of a set of pixels, through its tables (not whitened). */
static void look_up(const hg_dataset *ds, int i, float *out) {
  size_t plane = (size_t)ds->shape[2] * ds->shape[3];
  const uint8_t *b = ds->pixels + (size_t)i * row_size(ds);
  for (int c = 0; c < ds->shape[1]; c++, b += plane, out += plane) {
    const float *lut = ds->lut + c * 256;
    for (size_t k = 0; k < plane; k++) out[k] = lut[b[k]];
  }
}

hg_status hg_dataset_get_rows(const hg_dataset *ds, const int *indices, int n, float *out) {
  size_t per = row_size(ds);
  for (int k = 0; k < n; k++)
    if (indices[k] < 0 || indices[k] >= ds->count)
      return hg_fail(HG_ERR_ARG, "dataset %s: image %d of %d", ds->name, indices[k], ds->count);
  if (ds->half) {
    hg_status s = hg_half_rows_read(ds->half, indices, n, out);
    if (s != HG_OK) return s;
  } else {
#pragma omp parallel for schedule(static) if ((size_t)n * per >= 65536)
    for (int k = 0; k < n; k++) {
      float *dst = out + (size_t)k * per;
      if (ds->pixels) look_up(ds, indices[k], dst);
      else memcpy(dst, ds->images->data + (size_t)indices[k] * per, per * sizeof(float));
    }
  }
  return ds->white_matrix ? hg_zca_whiten_rows(ds->white_mean, ds->white_matrix, out, n) : HG_OK;
}

hg_status hg_dataset_get_range(const hg_dataset *ds, int first, int n, float *out) {
  enum { CHUNK = 256 }; /* rows per call: a whitened set's product is made per call */
  int idx[CHUNK];
  hg_status s = HG_OK;
  for (int at = 0; at < n && s == HG_OK; at += CHUNK) {
    int count = n - at < CHUNK ? n - at : CHUNK;
    for (int k = 0; k < count; k++) idx[k] = first + at + k;
    s = hg_dataset_get_rows(ds, idx, count, out + (size_t)at * row_size(ds));
  }
  return s;
}

hg_status hg_dataset_get_row(const hg_dataset *ds, int i, float *out) { return hg_dataset_get_rows(ds, &i, 1, out); }

hg_dataset *hg_dataset_floats(const hg_dataset *ds) {
  const int *s = ds->shape;
  hg_dataset *out = hg_dataset_new(s[0], s[1], s[2], s[3], ds->num_classes, ds->name);
  if (!out) return NULL;
  memcpy(out->source, ds->source, sizeof out->source);
  memcpy(out->labels, ds->labels, (size_t)ds->count * sizeof *ds->labels);
  if (hg_dataset_get_range(ds, 0, ds->count, out->images->data) != HG_OK) {
    hg_dataset_free(out);
    return NULL;
  }
  return out;
}

hg_tensor *hg_dataset_image(const hg_dataset *ds, int i) {
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(1, ds->shape[1], ds->shape[2], ds->shape[3]));
  if (x && hg_dataset_get_row(ds, i, x->data) != HG_OK) {
    hg_tensor_free(x);
    return NULL;
  }
  return x;
}

void hg_dataset_free(hg_dataset *ds) {
  if (!ds) return;
  hg_tensor_free(ds->images);
  hg_half_rows_free(ds->half);
  free(ds->pixels);
  free(ds->lut);
  hg_tensor_free(ds->white_mean);
  hg_tensor_free(ds->white_matrix);
  free(ds->labels);
  free(ds);
}

/* out (a new set of pixels like ds) reads its bytes as ds does. */
static void share_reading(const hg_dataset *ds, hg_dataset *out) {
  memcpy(out->lut, ds->lut, (size_t)ds->shape[1] * 256 * sizeof *out->lut);
  out->white_mean = ds->white_mean ? hg_tensor_retain(ds->white_mean) : NULL;
  out->white_matrix = ds->white_matrix ? hg_tensor_retain(ds->white_matrix) : NULL;
}

hg_dataset *hg_dataset_subset(const hg_dataset *ds, const int *indices, int n) {
  if (!ds || !indices || n <= 0 || ds->half) {
    hg_fail(HG_ERR_ARG, ds && ds->half ? "dataset %s subset: not of a float16 set" : "dataset subset: empty selection",
            ds ? ds->name : "");
    return NULL;
  }
  const int *s = ds->shape;
  hg_dataset *out = ds->pixels ? hg_dataset_new_pixels(n, s[1], s[2], s[3], ds->num_classes, ds->name)
                               : hg_dataset_new(n, s[1], s[2], s[3], ds->num_classes, ds->name);
  if (!out) return NULL;
  memcpy(out->source, ds->source, sizeof out->source);
  if (ds->pixels) share_reading(ds, out);
  size_t per = row_size(ds);
  for (int i = 0; i < n; i++) {
    if (indices[i] < 0 || indices[i] >= ds->count) {
      hg_fail(HG_ERR_ARG, "dataset %s subset: index %d out of range [0,%d)", ds->name, indices[i],
              ds->count);
      hg_dataset_free(out);
      return NULL;
    }
    if (ds->pixels) memcpy(out->pixels + (size_t)i * per, ds->pixels + (size_t)indices[i] * per, per);
    else memcpy(out->images->data + (size_t)i * per, ds->images->data + (size_t)indices[i] * per, per * sizeof(float));
    out->labels[i] = ds->labels[indices[i]];
  }
  return out;
}

static int compare_int(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

static void rename_part(hg_dataset *ds, const char *base, const char *suffix) {
  char name[sizeof ds->name];
  snprintf(name, sizeof name, "%.40s-%s", base, suffix);
  memcpy(ds->name, name, sizeof name);
}

hg_status hg_dataset_split(const hg_dataset *ds, int n_val, uint64_t seed, hg_dataset **train,
                           hg_dataset **val) {
  if (!ds || !train || !val || n_val <= 0 || n_val >= ds->count)
    return hg_fail(HG_ERR_ARG, "dataset split: %d validation images out of %d", n_val,
                   ds ? ds->count : 0);
  int *perm = malloc((size_t)ds->count * sizeof *perm);
  if (!perm) return hg_fail(HG_ERR_NOMEM, "dataset %s split: out of memory", ds->name);
  for (int i = 0; i < ds->count; i++) perm[i] = i;
  hg_rng rng;
  hg_rng_seed(&rng, seed, SPLIT_STREAM);
  hg_rng_shuffle(&rng, perm, ds->count);
  qsort(perm, (size_t)n_val, sizeof *perm, compare_int);
  qsort(perm + n_val, (size_t)(ds->count - n_val), sizeof *perm, compare_int);
  *val = hg_dataset_subset(ds, perm, n_val);
  *train = *val ? hg_dataset_subset(ds, perm + n_val, ds->count - n_val) : NULL;
  free(perm);
  if (!*train) {
    hg_dataset_free(*val);
    *val = NULL;
    return hg_last_status();
  }
  rename_part(*train, ds->name, "train");
  rename_part(*val, ds->name, "val");
  return HG_OK;
}

/* dst [3,32,32] = the grey h x w image centred on zeros, in all 3 channels
 * (for floats or bytes: `size` bytes per value). */
static void pad_grey(const void *src, int h, int w, void *dst, size_t size) {
  int top = (32 - h) / 2, left = (32 - w) / 2;
  unsigned char *out = dst;
  const unsigned char *in = src;
  memset(out, 0, 1024 * size);
  for (int y = 0; y < h; y++) memcpy(out + ((size_t)(top + y) * 32 + left) * size, in + (size_t)y * w * size, (size_t)w * size);
  memcpy(out + 1024 * size, out, 1024 * size);
  memcpy(out + 2048 * size, out, 1024 * size);
}

hg_dataset *hg_dataset_to_rgb32(const hg_dataset *ds) {
  const int *s = ds->shape;
  bool rgb32 = s[1] == 3 && s[2] == 32 && s[3] == 32;
  if ((!rgb32 && (s[1] != 1 || s[2] > 32 || s[3] > 32)) || ds->half || ds->white_matrix) {
    hg_fail(HG_ERR_SHAPE, "dataset %s: to_rgb32 needs [N,1,H,W] with H,W <= 32 in memory and not whitened, got [%d,%d,%d,%d]%s",
            ds->name, s[0], s[1], s[2], s[3], ds->half ? " in a float16 file" : ds->white_matrix ? " whitened" : "");
    return NULL;
  }
  if (rgb32) {
    int *all = malloc((size_t)ds->count * sizeof *all);
    for (int i = 0; all && i < ds->count; i++) all[i] = i;
    hg_dataset *out = all ? hg_dataset_subset(ds, all, ds->count) : NULL;
    if (!all) hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory", ds->name);
    free(all);
    return out;
  }
  hg_dataset *out = ds->pixels ? hg_dataset_new_pixels(ds->count, 3, 32, 32, ds->num_classes, ds->name)
                               : hg_dataset_new(ds->count, 3, 32, 32, ds->num_classes, ds->name);
  if (!out) return NULL;
  memcpy(out->source, ds->source, sizeof out->source);
  memcpy(out->labels, ds->labels, (size_t)ds->count * sizeof *ds->labels);
  size_t per = (size_t)s[2] * (size_t)s[3];
  for (int c = 0; ds->pixels && c < 3; c++) memcpy(out->lut + c * 256, ds->lut, 256 * sizeof *out->lut);
  for (int i = 0; i < ds->count; i++) {
    if (ds->pixels) pad_grey(ds->pixels + (size_t)i * per, s[2], s[3], out->pixels + (size_t)i * 3072, 1);
    else pad_grey(ds->images->data + (size_t)i * per, s[2], s[3], out->images->data + (size_t)i * 3072, sizeof(float));
  }
  return out;
}
