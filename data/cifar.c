/* CIFAR-10 / CIFAR-100 binary readers (www.cs.toronto.edu/~kriz/cifar.html).
 * A record is the label byte(s) then 1024 red, 1024 green, 1024 blue bytes:
 * already the [3,32,32] layout of a tensor row. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "data/dataset.h"

#define CIFAR_PIXELS 3072
#define CIFAR_CHUNK 1024 /* records read at a time */

typedef struct cifar_format {
  const char *name;  /* "cifar10" or "cifar100" */
  int label_bytes;   /* 1, or 2 for CIFAR-100 (coarse, fine) */
  int label_index;   /* which label byte to use */
  int classes;
} cifar_format;

static const cifar_format cifar10 = {"cifar10", 1, 0, 10};
static const cifar_format cifar100 = {"cifar100", 2, 1, 100};

static hg_status join(char *out, size_t size, const char *dir, const char *file) {
  if ((size_t)snprintf(out, size, "%s/%s", dir, file) >= size)
    return hg_fail(HG_ERR_ARG, "cifar: path too long: %s/%s", dir, file);
  return HG_OK;
}

/* Number of records in path, checking the size is a non-zero multiple. */
static hg_status count_records(const char *path, size_t record, int *count) {
  FILE *f = fopen(path, "rb");
  if (!f) return hg_fail(HG_ERR_IO, "cifar: cannot open %s: %s", path, strerror(errno));
  off_t size = fseeko(f, 0, SEEK_END) == 0 ? ftello(f) : -1;
  fclose(f);
  if (size <= 0 || (size_t)size % record != 0 || (size_t)size / record > (1u << 28))
    return hg_fail(HG_ERR_IO, "cifar %s: size %lld bytes is not a positive multiple of the %zu-byte record",
                   path, (long long)size, record);
  *count = (int)((size_t)size / record);
  return HG_OK;
}

static hg_status decode(const cifar_format *fmt, const char *path, const unsigned char *rec, int n,
                        int first, float *images, int *labels) {
  float scale[256]; /* byte -> byte / 255, exactly as the division rounds */
  for (int v = 0; v < 256; v++) scale[v] = (float)v / 255.0f;
  const int skip = fmt->label_bytes;
  size_t record = (size_t)skip + CIFAR_PIXELS;
  for (int r = 0; r < n; r++, rec += record) {
    int label = rec[fmt->label_index];
    if (label >= fmt->classes)
      return hg_fail(HG_ERR_IO, "cifar %s: label %d of record %d is out of range [0,%d)", path, label,
                     first + r, fmt->classes);
    labels[r] = label;
    float *dst = images + (size_t)r * CIFAR_PIXELS;
    for (int i = 0; i < CIFAR_PIXELS; i++) dst[i] = scale[rec[skip + i]];
  }
  return HG_OK;
}

/* Read the `count` records of path into images/labels. */
static hg_status read_file(const cifar_format *fmt, const char *path, int count, float *images,
                           int *labels) {
  size_t record = (size_t)fmt->label_bytes + CIFAR_PIXELS;
  unsigned char *buf = malloc(record * CIFAR_CHUNK);
  FILE *f = buf ? fopen(path, "rb") : NULL;
  hg_status st = !buf ? hg_fail(HG_ERR_NOMEM, "cifar %s: out of memory", path)
                 : !f ? hg_fail(HG_ERR_IO, "cifar: cannot open %s: %s", path, strerror(errno))
                      : HG_OK;
  for (int done = 0; st == HG_OK && done < count;) {
    int n = count - done < CIFAR_CHUNK ? count - done : CIFAR_CHUNK;
    if (fread(buf, record, (size_t)n, f) != (size_t)n)
      st = hg_fail(HG_ERR_IO, "cifar %s: short read at record %d (file changed?)", path, done);
    else
      st = decode(fmt, path, buf, n, done, images + (size_t)done * CIFAR_PIXELS, labels + done);
    done += n;
  }
  if (f) fclose(f);
  free(buf);
  return st;
}

static hg_dataset *load_files(const cifar_format *fmt, const char *dir, const char *const *files,
                              int nfiles, const char *name) {
  char path[4096];
  int counts[8], total = 0;
  size_t record = (size_t)fmt->label_bytes + CIFAR_PIXELS;
  for (int i = 0; i < nfiles; i++) {
    if (join(path, sizeof path, dir, files[i]) != HG_OK || count_records(path, record, &counts[i]) != HG_OK)
      return NULL;
    total += counts[i];
  }
  hg_dataset *ds = hg_dataset_new(total, 3, 32, 32, fmt->classes, name);
  if (!ds) return NULL;
  for (int i = 0, at = 0; i < nfiles; at += counts[i], i++) {
    join(path, sizeof path, dir, files[i]);
    if (read_file(fmt, path, counts[i], ds->images->data + (size_t)at * CIFAR_PIXELS,
                  ds->labels + at) != HG_OK) {
      hg_dataset_free(ds);
      return NULL;
    }
  }
  return ds;
}

hg_dataset *hg_dataset_load_cifar10(const char *dir, bool train) {
  static const char *const train_files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                            "data_batch_4.bin", "data_batch_5.bin"};
  static const char *const test_files[] = {"test_batch.bin"};
  if (!dir) {
    hg_fail(HG_ERR_ARG, "cifar10: NULL folder");
    return NULL;
  }
  return train ? load_files(&cifar10, dir, train_files, 5, "cifar10-train")
               : load_files(&cifar10, dir, test_files, 1, "cifar10-test");
}

hg_dataset *hg_dataset_load_cifar100(const char *dir, bool train) {
  static const char *const train_files[] = {"train.bin"};
  static const char *const test_files[] = {"test.bin"};
  if (!dir) {
    hg_fail(HG_ERR_ARG, "cifar100: NULL folder");
    return NULL;
  }
  return train ? load_files(&cifar100, dir, train_files, 1, "cifar100-train")
               : load_files(&cifar100, dir, test_files, 1, "cifar100-test");
}
