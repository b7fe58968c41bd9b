/* A fitted ZCA transform as a safetensors file: save, load, and the cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/checkpoint.h"
#include "data/zca_cache.h"

#define ZCA_FORMAT "hebbgrad-zca/1"

hg_status hg_zca_save(const hg_zca *zca, const char *path) {
  if (!zca || !path) return hg_fail(HG_ERR_ARG, "zca save: NULL argument");
  char eps[32], count[32];
  snprintf(eps, sizeof eps, "%.9g", (double)zca->eps);
  snprintf(count, sizeof count, "%d", zca->count);
  const char *names[] = {"zca.mean", "zca.matrix"};
  hg_tensor *tensors[] = {zca->mean, zca->matrix};
  const char *keys[] = {"format", "eps", "count", "fingerprint"};
  const char *values[] = {ZCA_FORMAT, eps, count, zca->fingerprint};
  return hg_checkpoint_save(path, 2, names, tensors, 4, keys, values);
}

static hg_status read_meta(hg_checkpoint *ck, const char *path, hg_zca *z) {
  const char *format = hg_checkpoint_meta(ck, "format");
  const char *eps = hg_checkpoint_meta(ck, "eps");
  const char *count = hg_checkpoint_meta(ck, "count");
  const char *fp = hg_checkpoint_meta(ck, "fingerprint");
  if (!format || strcmp(format, ZCA_FORMAT) != 0 || !eps)
    return hg_fail(HG_ERR_IO, "zca %s: not a ZCA transform (metadata format '%s', eps %s)", path,
                   format ? format : "", eps ? eps : "missing");
  z->eps = strtof(eps, NULL);
  z->count = count ? atoi(count) : 0;
  snprintf(z->fingerprint, sizeof z->fingerprint, "%s", fp ? fp : "");
  return HG_OK;
}

hg_zca *hg_zca_load(const char *path) {
  hg_checkpoint *ck = hg_checkpoint_open(path);
  if (!ck) return NULL;
  hg_zca *z = calloc(1, sizeof *z);
  hg_status st = z ? read_meta(ck, path, z) : hg_fail(HG_ERR_NOMEM, "zca: out of memory");
  if (st == HG_OK) z->mean = hg_checkpoint_tensor(ck, "zca.mean");
  if (st == HG_OK && z->mean) z->matrix = hg_checkpoint_tensor(ck, "zca.matrix");
  if (st == HG_OK && z->matrix) {
    z->dim = z->mean->ndim == 1 ? z->mean->shape[0] : -1;
    if (z->dim < 0 || z->matrix->ndim != 2 || z->matrix->shape[0] != z->dim || z->matrix->shape[1] != z->dim) {
      char m[64], w[64];
      st = hg_fail(HG_ERR_SHAPE, "zca %s: zca.mean %s and zca.matrix %s do not match", path,
                   hg_shape_str(z->mean, m, sizeof m), hg_shape_str(z->matrix, w, sizeof w));
    }
  }
  hg_checkpoint_close(ck);
  if (st != HG_OK || !z->matrix) {
    hg_zca_free(z);
    return NULL;
  }
  return z;
}

hg_zca *hg_zca_load_or_fit(const char *path, const hg_dataset *ds, float eps) {
  if (!path || !ds) {
    hg_fail(HG_ERR_ARG, "zca load_or_fit: NULL argument");
    return NULL;
  }
  if (access(path, F_OK) == 0) {
    hg_zca *z = hg_zca_load(path);
    if (!z) { /* not ours, or damaged: never overwritten */
      char why[512];
      snprintf(why, sizeof why, "%s", hg_last_error());
      hg_fail(hg_last_status(), "%s; the ZCA cache is left as it is (remove it or give another file)", why);
      return NULL;
    }
    char fp[sizeof z->fingerprint];
    if (hg_zca_fingerprint_dataset(ds, fp, sizeof fp) != HG_OK) {
      hg_zca_free(z);
      return NULL;
    }
    if (z->eps == eps && z->count == ds->count && strcmp(z->fingerprint, fp) == 0) return z;
    hg_zca_free(z);
  }
  hg_zca *z = hg_zca_fit(ds, eps);
  if (z && hg_zca_save(z, path) != HG_OK) {
    hg_zca_free(z);
    return NULL;
  }
  return z;
}
