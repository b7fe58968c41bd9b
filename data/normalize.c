/* Per-channel mean/std normalisation of NCHW images. */
#include "data/normalize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static hg_status check_nchw(const hg_tensor *x, int channels, const char *what) {
  char buf[64];
  if (x->ndim != 4 || x->shape[1] < 1 || x->shape[1] > HG_NORM_MAX_CHANNELS ||
      (channels > 0 && x->shape[1] != channels))
    return hg_fail(HG_ERR_SHAPE, "normalizer %s: images %s, expected [N,%d,H,W]", what,
                   hg_shape_str(x, buf, sizeof buf), channels > 0 ? channels : HG_NORM_MAX_CHANNELS);
  return HG_OK;
}

/* sum[c], sq[c] += the values of channel c of the float images [N,C,H,W]. */
static void float_sums(const hg_tensor *x, double *sum, double *sq) {
  int n = x->shape[0], c = x->shape[1];
  size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
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
}

/* The same for a set of pixels: a histogram of each channel's bytes, then
 * each byte's value (its table entry) times its count. */
static hg_status pixel_sums(const hg_dataset *ds, double *sum, double *sq) {
  int c = ds->shape[1];
  size_t plane = (size_t)ds->shape[2] * ds->shape[3];
  uint64_t (*hist)[256] = calloc((size_t)c, sizeof *hist);
  if (!hist) return hg_fail(HG_ERR_NOMEM, "normalizer fit %s: out of memory", ds->name);
  const uint8_t *b = ds->pixels;
  for (int i = 0; i < ds->count; i++)
    for (int ch = 0; ch < c; ch++, b += plane)
      for (size_t k = 0; k < plane; k++) hist[ch][b[k]]++;
  for (int ch = 0; ch < c; ch++)
    for (int v = 0; v < 256; v++) {
      double x = ds->lut[ch * 256 + v];
      sum[ch] += x * (double)hist[ch][v];
      sq[ch] += x * x * (double)hist[ch][v];
    }
  free(hist);
  return HG_OK;
}

static hg_status check_set(const hg_dataset *ds, int channels, const char *what) {
  if (ds->images) return check_nchw(ds->images, channels, what);
  if (!ds->pixels || ds->white_matrix || (channels > 0 && ds->shape[1] != channels))
    return hg_fail(HG_ERR_ARG, "normalizer %s: data set %s %s", what, ds->name,
                   !ds->pixels ? "is in a float16 file" : ds->white_matrix ? "is whitened (normalise before whitening)"
                                                                        : "has another number of channels");
  return HG_OK;
}

hg_status hg_normalizer_fit(hg_normalizer *norm, const hg_dataset *ds) {
  if (!norm || !ds) return hg_fail(HG_ERR_ARG, "normalizer fit: NULL argument");
  hg_status st = check_set(ds, 0, "fit");
  if (st != HG_OK) return st;
  int c = ds->shape[1];
  double sum[HG_NORM_MAX_CHANNELS] = {0}, sq[HG_NORM_MAX_CHANNELS] = {0};
  if (ds->images) float_sums(ds->images, sum, sq);
  else if ((st = pixel_sums(ds, sum, sq)) != HG_OK) return st;
  memset(norm, 0, sizeof *norm);
  norm->channels = c;
  double count = (double)ds->count * ds->shape[2] * ds->shape[3];
  for (int ch = 0; ch < c; ch++) {
    double mean = sum[ch] / count, var = sq[ch] / count - mean * mean;
    norm->mean[ch] = (float)mean;
    norm->std[ch] = var > 1e-12 ? (float)sqrt(var) : 1.0f;
  }
  return HG_OK;
}

/* p[k] = (p[k] − mean[c]) / std[c] for the n values of channel c. */
static void standardise(const hg_normalizer *norm, int c, float *p, size_t n) {
  float mean = norm->mean[c], inv = 1.0f / norm->std[c];
  for (size_t k = 0; k < n; k++) p[k] = (p[k] - mean) * inv;
}

hg_status hg_normalizer_apply_tensor(const hg_normalizer *norm, hg_tensor *x) {
  if (!norm || !x) return hg_fail(HG_ERR_ARG, "normalizer apply: NULL argument");
  hg_status st = check_nchw(x, norm->channels, "apply");
  if (st != HG_OK) return st;
  int n = x->shape[0], c = x->shape[1];
  size_t plane = (size_t)x->shape[2] * (size_t)x->shape[3];
  for (int i = 0; i < n; i++)
    for (int ch = 0; ch < c; ch++) standardise(norm, ch, x->data + ((size_t)i * c + ch) * plane, plane);
  return HG_OK;
}

hg_status hg_normalizer_apply(const hg_normalizer *norm, hg_dataset *ds) {
  if (!norm || !ds) return hg_fail(HG_ERR_ARG, "normalizer apply: NULL argument");
  hg_status st = check_set(ds, norm->channels, "apply");
  if (st != HG_OK || ds->images) return st == HG_OK ? hg_normalizer_apply_tensor(norm, ds->images) : st;
  for (int ch = 0; ch < norm->channels; ch++) standardise(norm, ch, ds->lut + ch * 256, 256); /* same rounding */
  return HG_OK;
}
