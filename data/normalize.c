/* Per-channel mean/std normalisation of NCHW images. */
#include "data/normalize.h"

#include <math.h>
#include <string.h>

static hg_status check_nchw(const hg_tensor *x, int channels, const char *what) {
  char buf[64];
  if (x->ndim != 4 || x->shape[1] < 1 || x->shape[1] > HG_NORM_MAX_CHANNELS ||
      (channels > 0 && x->shape[1] != channels))
    return hg_fail(HG_ERR_SHAPE, "normalizer %s: images %s, expected [N,%d,H,W]", what,
                   hg_shape_str(x, buf, sizeof buf), channels > 0 ? channels : HG_NORM_MAX_CHANNELS);
  return HG_OK;
}

hg_status hg_normalizer_fit(hg_normalizer *norm, const hg_dataset *ds) {
  if (!norm || !ds) return hg_fail(HG_ERR_ARG, "normalizer fit: NULL argument");
  const hg_tensor *x = ds->images;
  hg_status st = check_nchw(x, 0, "fit");
  if (st != HG_OK) return st;
  int n = x->shape[0], c = x->shape[1];
  size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
  double sum[HG_NORM_MAX_CHANNELS] = {0}, sq[HG_NORM_MAX_CHANNELS] = {0};
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++) {
      const float *p = x->data + ((size_t)i * c + ch) * plane;
      double s = 0, q = 0;
      for (size_t k = 0; k < plane; k++) {
        s += p[k];
        q += (double)p[k] * p[k];
      }
      sum[ch] += s;
      sq[ch] += q;
    }
  memset(norm, 0, sizeof *norm);
  norm->channels = c;
  double count = (double)n * (double)plane;
  for (int ch = 0; ch < c; ch++) {
    double mean = sum[ch] / count, var = sq[ch] / count - mean * mean;
    norm->mean[ch] = (float)mean;
    norm->std[ch] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
  }
  return HG_OK;
}

hg_status hg_normalizer_apply_tensor(const hg_normalizer *norm, hg_tensor *x) {
  if (!norm || !x) return hg_fail(HG_ERR_ARG, "normalizer apply: NULL argument");
  hg_status st = check_nchw(x, norm->channels, "apply");
  if (st != HG_OK) return st;
  int n = x->shape[0], c = x->shape[1];
  size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++) {
      float *p = x->data + ((size_t)i * c + ch) * plane;
      float mean = norm->mean[ch], inv = 1.0f / norm->std[ch];
      for (size_t k = 0; k < plane; k++) p[k] = (p[k] - mean) * inv;
    }
  return HG_OK;
}

hg_status hg_normalizer_apply(const hg_normalizer *norm, hg_dataset *ds) {
  if (!ds) return hg_fail(HG_ERR_ARG, "normalizer apply: NULL data set");
  return hg_normalizer_apply_tensor(norm, ds->images);
}
