/* Data set container, subsets, the seeded train/validation split and the
 * grey 28x28 -> RGB 32x32 conversion. */
#include "data/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPLIT_STREAM 0x73706c6974ULL /* "split": PCG32 stream used by hg_dataset_split */

const char *hg_default_data_dir(void) {
  const char *dir = getenv("HEBBGRAD_DATA");
  return dir && dir[0] ? dir : "datasets";
}

/* A data set of n images [c,h,w], its images in memory or (dir given) as float16 in a file. */
static hg_dataset *dataset_new(int n, int c, int h, int w, int num_classes, const char *name, const char *dir) {
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0 || num_classes <= 0) {
    hg_fail(HG_ERR_ARG, "dataset %s: bad size %d x [%d,%d,%d] with %d classes", name ? name : "",
            n, c, h, w, num_classes);
    return NULL;
  }
  hg_dataset *ds = calloc(1, sizeof *ds);
  if (!ds) {
    hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory", name ? name : "");
    return NULL;
  }
  if (dir) ds->half = hg_half_rows_new(dir, n, (size_t)c * h * w);
  else ds->images = hg_tensor_empty(HG_SHAPE(n, c, h, w));
  ds->labels = ds->images || ds->half ? calloc((size_t)n, sizeof *ds->labels) : NULL;
  if (!ds->labels) {
    if (ds->images || ds->half) hg_fail(HG_ERR_NOMEM, "dataset %s: out of memory for %d labels", name ? name : "", n);
    hg_dataset_free(ds);
    return NULL;
  }
  ds->count = n;
  ds->num_classes = num_classes;
  memcpy(ds->shape, (int[]){n, c, h, w}, sizeof ds->shape);
  snprintf(ds->name, sizeof ds->name, "%s", name ? name : "");
  return ds;
}

hg_dataset *hg_dataset_new(int n, int c, int h, int w, int num_classes, const char *name) {
  return dataset_new(n, c, h, w, num_classes, name, NULL);
}

hg_dataset *hg_dataset_new_half(int n, int c, int h, int w, int num_classes, const char *name, const char *dir) {
  return dataset_new(n, c, h, w, num_classes, name, dir ? dir : "/tmp");
}

static size_t row_size(const hg_dataset *ds) { return (size_t)ds->shape[1] * ds->shape[2] * ds->shape[3]; }

hg_status hg_dataset_set_rows(hg_dataset *ds, int first, int count, const float *values) {
  if (first < 0 || count < 0 || first + count > ds->count)
    return hg_fail(HG_ERR_ARG, "dataset %s: images [%d, %d) of %d", ds->name, first, first + count, ds->count);
  if (ds->half) return hg_half_rows_write(ds->half, first, count, values);
  memcpy(ds->images->data + (size_t)first * row_size(ds), values, (size_t)count * row_size(ds) * sizeof(float));
  return HG_OK;
}

hg_status hg_dataset_get_row(const hg_dataset *ds, int i, float *out) {
  if (i < 0 || i >= ds->count) return hg_fail(HG_ERR_ARG, "dataset %s: image %d of %d", ds->name, i, ds->count);
  if (ds->half) return hg_half_rows_read(ds->half, i, out);
  memcpy(out, ds->images->data + (size_t)i * row_size(ds), row_size(ds) * sizeof(float));
  return HG_OK;
}

void hg_dataset_free(hg_dataset *ds) {
  if (!ds) return;
  hg_tensor_free(ds->images);
  hg_half_rows_free(ds->half);
  free(ds->labels);
  free(ds);
}

hg_dataset *hg_dataset_subset(const hg_dataset *ds, const int *indices, int n) {
  if (!ds || !indices || n <= 0) {
    hg_fail(HG_ERR_ARG, "dataset subset: empty selection");
    return NULL;
  }
  const int *s = ds->images->shape;
  hg_dataset *out = hg_dataset_new(n, s[1], s[2], s[3], ds->num_classes, ds->name);
  if (!out) return NULL;
  memcpy(out->source, ds->source, sizeof out->source);
  size_t per = ds->images->numel / (size_t)ds->count;
  for (int i = 0; i < n; i++) {
    if (indices[i] < 0 || indices[i] >= ds->count) {
      hg_fail(HG_ERR_ARG, "dataset %s subset: index %d out of range [0,%d)", ds->name, indices[i],
              ds->count);
      hg_dataset_free(out);
      return NULL;
    }
    memcpy(out->images->data + (size_t)i * per, ds->images->data + (size_t)indices[i] * per,
           per * sizeof(float));
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

/* dst [3,32,32] = the grey h x w image centred on zeros, in all 3 channels. */
static void pad_grey(const float *src, int h, int w, float *dst) {
  int top = (32 - h) / 2, left = (32 - w) / 2;
  for (int y = 0; y < 32; y++) {
    float *row = dst + y * 32;
    if (y < top || y >= top + h) {
      memset(row, 0, 32 * sizeof(float));
      continue;
    }
    memset(row, 0, (size_t)left * sizeof(float));
    memcpy(row + left, src + (y - top) * w, (size_t)w * sizeof(float));
    memset(row + left + w, 0, (size_t)(32 - left - w) * sizeof(float));
  }
  memcpy(dst + 1024, dst, 1024 * sizeof(float));
  memcpy(dst + 2048, dst, 1024 * sizeof(float));
}

hg_dataset *hg_dataset_to_rgb32(const hg_dataset *ds) {
  const int *s = ds->images->shape;
  bool rgb32 = s[1] == 3 && s[2] == 32 && s[3] == 32;
  if (!rgb32 && (s[1] != 1 || s[2] > 32 || s[3] > 32)) {
    char buf[64];
    hg_fail(HG_ERR_SHAPE, "dataset %s: to_rgb32 needs [N,1,H,W] with H,W <= 32, got %s", ds->name,
            hg_shape_str(ds->images, buf, sizeof buf));
    return NULL;
  }
  hg_dataset *out = hg_dataset_new(ds->count, 3, 32, 32, ds->num_classes, ds->name);
  if (!out) return NULL;
  memcpy(out->source, ds->source, sizeof out->source);
  memcpy(out->labels, ds->labels, (size_t)ds->count * sizeof *ds->labels);
  if (rgb32) {
    memcpy(out->images->data, ds->images->data, ds->images->numel * sizeof(float));
    return out;
  }
  size_t per = (size_t)s[2] * (size_t)s[3];
  for (int i = 0; i < ds->count; i++)
    pad_grey(ds->images->data + (size_t)i * per, s[2], s[3], out->images->data + (size_t)i * 3072);
  return out;
}
