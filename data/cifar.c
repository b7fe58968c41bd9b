/* CIFAR-10 / CIFAR-100 binary readers (www.cs.toronto.edu/~kriz/cifar.html).
 * A record is the label byte(s) then 1024 red, 1024 green, 1024 blue bytes:
 * already the [3,32,32] layout of a tensor row. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "data/dataset.h"

#define CIFAR_PIXELS 3072
#define CIFAR_CHUNK 1024 /* records read at a time */
#define CIFAR10_RECORDS 10000 /* in each batch file */
#define CIFAR100_TRAIN_RECORDS 50000
#define CIFAR100_TEST_RECORDS 10000

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

/* Number of records in path, checking the size is a non-zero multiple of
 * the record and, when expected > 0, that there are exactly that many. */
static hg_status count_records(const char *path, size_t record, int expected, int *count) {
  struct stat st;
  if (stat(path, &st) != 0) return hg_fail(HG_ERR_IO, "cifar: cannot open %s: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return hg_fail(HG_ERR_IO, "cifar: %s is a directory, not a batch file", path);
  off_t size = st.st_size;
  if (size <= 0 || (size_t)size % record != 0 || (size_t)size / record > (1u << 28))
    return hg_fail(HG_ERR_IO, "cifar %s: size %lld bytes is not a positive multiple of the %zu-byte record",
                   path, (long long)size, record);
  *count = (int)((size_t)size / record);
  if (expected > 0 && *count != expected)
    return hg_fail(HG_ERR_IO, "cifar %s: %d records, the file should hold exactly %d (damaged or another data set?)",
                   path, *count, expected);
  return HG_OK;
}

static hg_status decode(const cifar_format *fmt, const char *path, const unsigned char *rec, int n,
                        int first, uint8_t *pixels, int *labels) {
  const int skip = fmt->label_bytes;
  size_t record = (size_t)skip + CIFAR_PIXELS;
  for (int r = 0; r < n; r++, rec += record) {
    int label = rec[fmt->label_index];
    if (label >= fmt->classes)
      return hg_fail(HG_ERR_IO, "cifar %s: label %d of record %d is out of range [0,%d)", path, label,
                     first + r, fmt->classes);
    labels[r] = label;
    memcpy(pixels + (size_t)r * CIFAR_PIXELS, rec + skip, CIFAR_PIXELS);
  }
  return HG_OK;
}

/* Read the `count` records of path into pixels/labels. */
static hg_status read_file(const cifar_format *fmt, const char *path, int count, uint8_t *pixels,
                           int *labels) {
  size_t record = (size_t)fmt->label_bytes + CIFAR_PIXELS;
  unsigned char *buf = malloc(record * (size_t)(count < CIFAR_CHUNK ? count : CIFAR_CHUNK));
  FILE *f = buf ? fopen(path, "rb") : NULL;
  hg_status st = !buf ? hg_fail(HG_ERR_NOMEM, "cifar %s: out of memory", path)
                 : !f ? hg_fail(HG_ERR_IO, "cifar: cannot open %s: %s", path, strerror(errno))
                      : HG_OK;
  for (int done = 0; st == HG_OK && done < count;) {
    int n = count - done < CIFAR_CHUNK ? count - done : CIFAR_CHUNK;
    if (fread(buf, record, (size_t)n, f) != (size_t)n)
      st = hg_fail(HG_ERR_IO, "cifar %s: short read at record %d (file changed?)", path, done);
    else
      st = decode(fmt, path, buf, n, done, pixels + (size_t)done * CIFAR_PIXELS, labels + done);
    done += n;
  }
  if (f) fclose(f);
  free(buf);
  return st;
}

static hg_dataset *load_files(const cifar_format *fmt, const char *dir, const char *const *files,
                              int nfiles, int records, const char *name) {
  char path[4096];
  int counts[8], total = 0;
  size_t record = (size_t)fmt->label_bytes + CIFAR_PIXELS;
  for (int i = 0; i < nfiles; i++) {
    if (join(path, sizeof path, dir, files[i]) != HG_OK || count_records(path, record, records, &counts[i]) != HG_OK)
      return NULL;
    total += counts[i];
  }
  hg_dataset *ds = hg_dataset_new_pixels(total, 3, 32, 32, fmt->classes, name);
  if (!ds) return NULL;
  for (int i = 0, at = 0; i < nfiles; at += counts[i], i++) {
    join(path, sizeof path, dir, files[i]);
    if (read_file(fmt, path, counts[i], ds->pixels + (size_t)at * CIFAR_PIXELS,
                  ds->labels + at) != HG_OK) {
      hg_dataset_free(ds);
      return NULL;
    }
  }
  return ds;
}

hg_dataset *hg_dataset_load_cifar(const char *dir, bool hundred, bool train, int records) {
  static const char *const train10[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                        "data_batch_4.bin", "data_batch_5.bin"};
  static const char *const test10[] = {"test_batch.bin"}, *const train100[] = {"train.bin"},
                           *const test100[] = {"test.bin"};
  if (!dir) {
    hg_fail(HG_ERR_ARG, "cifar: NULL folder");
    return NULL;
  }
  if (hundred)
    return load_files(&cifar100, dir, train ? train100 : test100, 1, records,
                      train ? "cifar100-train" : "cifar100-test");
  return load_files(&cifar10, dir, train ? train10 : test10, train ? 5 : 1, records,
                    train ? "cifar10-train" : "cifar10-test");
}

hg_dataset *hg_dataset_load_cifar10(const char *dir, bool train) {
  return hg_dataset_load_cifar(dir, false, train, CIFAR10_RECORDS);
}

hg_dataset *hg_dataset_load_cifar100(const char *dir, bool train) {
  return hg_dataset_load_cifar(dir, true, train, train ? CIFAR100_TRAIN_RECORDS : CIFAR100_TEST_RECORDS);
}
