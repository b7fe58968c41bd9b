/* MNIST-format IDX reader (yann.lecun.com/exdb/mnist): big-endian headers,
 * unsigned byte pixels and labels. zlib reads gzipped and plain files alike. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data/dataset.h"

#define IDX_IMAGES_MAGIC 2051u
#define IDX_LABELS_MAGIC 2049u
#define IDX_CLASSES 10
#define IDX_MAX_SIDE 4096u
#define IDX_CHUNK (1u << 20)
#define GZIP_MAX_RATIO 1032u /* deflate expands at most ~1032:1 */

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Read up to `bytes` bytes; the count read, or -1 with an error set. */
static long long read_upto(gzFile f, const char *path, void *buf, size_t bytes, const char *what) {
  size_t got = 0;
  while (got < bytes) {
    size_t want = bytes - got < IDX_CHUNK ? bytes - got : IDX_CHUNK;
    int r = gzread(f, (unsigned char *)buf + got, (unsigned)want);
    if (r < 0) {
      int code;
      const char *msg = gzerror(f, &code);
      hg_fail(HG_ERR_IO, "idx %s: truncated or corrupt while reading %s (%s)", path, what, msg);
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  return (long long)got;
}

/* Read exactly `bytes` bytes; `what` names the part for the error message. */
static hg_status read_exact(gzFile f, const char *path, void *buf, size_t bytes, const char *what) {
  long long got = read_upto(f, path, buf, bytes, what);
  if (got < 0) return HG_ERR_IO;
  if ((size_t)got < bytes)
    return hg_fail(HG_ERR_IO, "idx %s: truncated: %s take %zu bytes, only %lld present", path, what,
                   bytes, got);
  return HG_OK;
}

static unsigned be32(const unsigned char *p) {
  return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | (unsigned)p[3];
}

/* The most bytes path can hold once uncompressed, or 0 with an error set
 * (missing, a directory). */
static unsigned long long capacity(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    hg_fail(HG_ERR_IO, "idx: cannot open %s: %s", path, strerror(errno));
    return 0;
  }
  if (S_ISDIR(st.st_mode)) {
    hg_fail(HG_ERR_IO, "idx: %s is a directory, not an IDX file", path);
    return 0;
  }
  unsigned char magic[2] = {0, 0};
  FILE *f = fopen(path, "rb");
  size_t got = f ? fread(magic, 1, 2, f) : 0;
  if (f) fclose(f);
  bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  return (unsigned long long)st.st_size * (gzip ? GZIP_MAX_RATIO : 1u) + 1;
}

/* After the expected data: the end of the file, and for gzip its CRC. */
static hg_status expect_end(gzFile f, const char *path) {
  unsigned char extra;
  int r = gzread(f, &extra, 1);
  if (r > 0) return hg_fail(HG_ERR_IO, "idx %s: data after the last record (a larger or damaged file)", path);
  if (r < 0) {
    int code;
    return hg_fail(HG_ERR_IO, "idx %s: corrupt at its end (%s)", path, gzerror(f, &code));
  }
  return HG_OK;
}

/* Open path and read its header of `words` big-endian 32-bit words. */
static gzFile open_header(const char *path, unsigned *header, int words, unsigned long long *cap) {
  *cap = capacity(path);
  if (*cap == 0) return NULL;
  gzFile f = gzopen(path, "rb");
  if (!f) {
    hg_fail(HG_ERR_IO, "idx: cannot open %s: %s", path, errno ? strerror(errno) : "out of memory");
    return NULL;
  }
  unsigned char raw[16];
  if (read_exact(f, path, raw, (size_t)words * 4, "the header") != HG_OK) {
    gzclose(f);
    return NULL;
  }
  for (int i = 0; i < words; i++) header[i] = be32(raw + 4 * i);
  return f;
}

static hg_status check_headers(const char *ipath, const unsigned *ih, unsigned long long icap,
                               const char *lpath, const unsigned *lh, unsigned long long lcap) {
  if (ih[0] != IDX_IMAGES_MAGIC)
    return hg_fail(HG_ERR_IO, "idx %s: magic %u, expected %u for an image file", ipath, ih[0],
                   IDX_IMAGES_MAGIC);
  if (lh[0] != IDX_LABELS_MAGIC)
    return hg_fail(HG_ERR_IO, "idx %s: magic %u, expected %u for a label file", lpath, lh[0],
                   IDX_LABELS_MAGIC);
  if (ih[1] == 0 || ih[1] > (1u << 30) || ih[2] == 0 || ih[3] == 0 || ih[2] > IDX_MAX_SIDE ||
      ih[3] > IDX_MAX_SIDE)
    return hg_fail(HG_ERR_IO, "idx %s: bad dimensions %u images of %ux%u", ipath, ih[1], ih[2], ih[3]);
  if (ih[1] != lh[1])
    return hg_fail(HG_ERR_IO, "idx: %s holds %u images but %s holds %u labels", ipath, ih[1], lpath,
                   lh[1]);
  unsigned long long pixels = (unsigned long long)ih[1] * ih[2] * ih[3];
  if (16 + pixels > icap)
    return hg_fail(HG_ERR_IO, "idx %s: the header claims %u images of %ux%u (%llu bytes), more than the file holds",
                   ipath, ih[1], ih[2], ih[3], pixels);
  if (8ull + lh[1] > lcap)
    return hg_fail(HG_ERR_IO, "idx %s: the header claims %u labels, more than the file holds", lpath, lh[1]);
  return HG_OK;
}

static hg_status read_labels(gzFile f, const char *path, int *labels, int n) {
  unsigned char *buf = malloc((size_t)n);
  if (!buf) return hg_fail(HG_ERR_NOMEM, "idx %s: out of memory", path);
  hg_status st = read_exact(f, path, buf, (size_t)n, "the labels");
  for (int i = 0; st == HG_OK && i < n; i++) {
    if (buf[i] >= IDX_CLASSES)
      st = hg_fail(HG_ERR_IO, "idx %s: label %u of image %d is out of range [0,%d)", path, buf[i], i,
                   IDX_CLASSES);
    labels[i] = buf[i];
  }
  free(buf);
  return st;
}

static hg_dataset *read_data(gzFile fi, const char *ipath, const unsigned *ih, gzFile fl,
                             const char *lpath) {
  hg_dataset *ds = hg_dataset_new_pixels((int)ih[1], 1, (int)ih[2], (int)ih[3], IDX_CLASSES, base_name(ipath));
  if (!ds) return NULL;
  if (read_exact(fi, ipath, ds->pixels, (size_t)ih[1] * ih[2] * ih[3], "the pixels") != HG_OK || expect_end(fi, ipath) != HG_OK ||
      read_labels(fl, lpath, ds->labels, ds->count) != HG_OK || expect_end(fl, lpath) != HG_OK) {
    hg_dataset_free(ds);
    return NULL;
  }
  return ds;
}

hg_dataset *hg_dataset_load_idx(const char *images_path, const char *labels_path) {
  if (!images_path || !labels_path) {
    hg_fail(HG_ERR_ARG, "idx: NULL path");
    return NULL;
  }
  unsigned ih[4], lh[2];
  unsigned long long icap = 0, lcap = 0;
  errno = 0;
  gzFile fi = open_header(images_path, ih, 4, &icap);
  errno = 0;
  gzFile fl = fi ? open_header(labels_path, lh, 2, &lcap) : NULL;
  hg_dataset *ds = NULL;
  if (fl && check_headers(images_path, ih, icap, labels_path, lh, lcap) == HG_OK)
    ds = read_data(fi, images_path, ih, fl, labels_path);
  if (fi) gzclose(fi);
  if (fl) gzclose(fl);
  return ds;
}
