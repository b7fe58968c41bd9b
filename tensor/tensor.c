#include "tensor/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/alloc.h"

static hg_tensor *tensor_header(int ndim, const int *shape) {
  if (ndim < 0 || ndim > HG_MAX_DIMS) {
    hg_fail(HG_ERR_SHAPE, "tensor: %d dimensions (at most %d)", ndim, HG_MAX_DIMS);
    return NULL;
  }
  size_t numel = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] <= 0) {
      hg_fail(HG_ERR_SHAPE, "tensor: dimension %d has size %d", i, shape[i]);
      return NULL;
    }
    numel *= (size_t)shape[i];
  }
  hg_tensor *t = hg_pool_alloc(sizeof *t);
  if (!t) return NULL;
  memset(t, 0, sizeof *t);
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
  t->numel = numel;
  t->refs = 1;
  t->is_leaf = true;
  return t;
}

hg_tensor *hg_tensor_empty(int ndim, const int *shape) {
  hg_tensor *t = tensor_header(ndim, shape);
  if (!t) return NULL;
  hg_storage *s = hg_pool_alloc(sizeof *s);
  float *data = s ? hg_pool_alloc(t->numel * sizeof(float)) : NULL;
  if (!data) {
    hg_pool_free(s, sizeof *s);
    hg_pool_free(t, sizeof *t);
    return NULL;
  }
  s->data = data;
  s->numel = t->numel;
  s->refs = 1;
  t->storage = s;
  t->data = data;
  return t;
}

hg_tensor *hg_tensor_full(int ndim, const int *shape, float value) {
  hg_tensor *t = hg_tensor_empty(ndim, shape);
  if (t) hg_tensor_fill(t, value);
  return t;
}

hg_tensor *hg_tensor_zeros(int ndim, const int *shape) { return hg_tensor_full(ndim, shape, 0.0f); }
hg_tensor *hg_tensor_ones(int ndim, const int *shape) { return hg_tensor_full(ndim, shape, 1.0f); }

hg_tensor *hg_tensor_uniform(int ndim, const int *shape, float lo, float hi, hg_rng *rng) {
  hg_tensor *t = hg_tensor_empty(ndim, shape);
  if (!t) return NULL;
  for (size_t i = 0; i < t->numel; i++) t->data[i] = lo + (hi - lo) * hg_rng_uniform(rng);
  return t;
}

hg_tensor *hg_tensor_normal(int ndim, const int *shape, float mean, float std, hg_rng *rng) {
  hg_tensor *t = hg_tensor_empty(ndim, shape);
  if (!t) return NULL;
  for (size_t i = 0; i < t->numel; i++) t->data[i] = mean + std * hg_rng_normal(rng);
  return t;
}

hg_tensor *hg_tensor_from(int ndim, const int *shape, const float *values) {
  hg_tensor *t = hg_tensor_empty(ndim, shape);
  if (t) memcpy(t->data, values, t->numel * sizeof(float));
  return t;
}

hg_tensor *hg_tensor_clone(const hg_tensor *t) { return hg_tensor_from(t->ndim, t->shape, t->data); }

static hg_tensor *share(hg_tensor *t, int ndim, const int *shape, float *data) {
  hg_tensor *v = tensor_header(ndim, shape);
  if (!v) return NULL;
  v->storage = t->storage;
  v->storage->refs++;
  v->data = data;
  return v;
}

hg_tensor *hg_tensor_view(hg_tensor *t, int ndim, const int *shape) {
  int resolved[HG_MAX_DIMS];
  int infer = -1;
  size_t known = 1;
  if (ndim < 0 || ndim > HG_MAX_DIMS) {
    hg_fail(HG_ERR_SHAPE, "view: %d dimensions (at most %d)", ndim, HG_MAX_DIMS);
    return NULL;
  }
  for (int i = 0; i < ndim; i++) {
    resolved[i] = shape[i];
    if (shape[i] == -1 && infer < 0) infer = i;
    else known *= (size_t)(shape[i] > 0 ? shape[i] : 0);
  }
  if (infer >= 0 && known > 0 && t->numel % known == 0) resolved[infer] = (int)(t->numel / known);
  size_t numel = 1;
  for (int i = 0; i < ndim; i++) numel *= (size_t)(resolved[i] > 0 ? resolved[i] : 0);
  if (numel != t->numel) {
    char buf[64];
    hg_fail(HG_ERR_SHAPE, "view: cannot view %s (%zu elements) with %d dimensions of %zu elements",
            hg_shape_str(t, buf, sizeof buf), t->numel, ndim, numel);
    return NULL;
  }
  return share(t, ndim, resolved, t->data);
}

hg_tensor *hg_tensor_view_at(hg_tensor *base, size_t offset, int ndim, const int *shape) {
  hg_tensor *v = tensor_header(ndim, shape);
  if (!v) return NULL;
  if (offset + v->numel > base->numel) {
    char buf[64];
    hg_fail(HG_ERR_SHAPE, "view_at: %zu elements at offset %zu do not fit in %s", v->numel, offset,
            hg_shape_str(base, buf, sizeof buf));
    hg_pool_free(v, sizeof *v);
    return NULL;
  }
  v->storage = base->storage;
  v->storage->refs++;
  v->data = base->data + offset;
  return v;
}

hg_tensor *hg_tensor_narrow0(hg_tensor *t, int start, int count) {
  if (t->ndim < 1 || start < 0 || count <= 0 || start + count > t->shape[0]) {
    char buf[64];
    hg_fail(HG_ERR_SHAPE, "narrow0: rows [%d, %d) out of range for %s", start, start + count,
            hg_shape_str(t, buf, sizeof buf));
    return NULL;
  }
  int shape[HG_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = count;
  return share(t, t->ndim, shape, t->data + (size_t)start * (t->numel / (size_t)t->shape[0]));
}

hg_tensor *hg_tensor_retain(hg_tensor *t) {
  if (t) t->refs++;
  return t;
}

void hg_tensor_free(hg_tensor *t) {
  if (!t || --t->refs > 0) return;
  hg_tensor_free(t->grad);
  hg_storage *s = t->storage;
  if (s && --s->refs == 0) {
    hg_pool_free(s->data, s->numel * sizeof(float));
    hg_pool_free(s, sizeof *s);
  }
  hg_pool_free(t, sizeof *t);
}

bool hg_same_shape(const hg_tensor *a, const hg_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i]) return false;
  return true;
}

const char *hg_shape_str(const hg_tensor *t, char *buf, size_t size) {
  size_t len = (size_t)snprintf(buf, size, "[");
  for (int i = 0; i < t->ndim && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, i ? ",%d" : "%d", t->shape[i]);
  if (len < size) snprintf(buf + len, size - len, "]");
  return buf;
}

int hg_dim(const hg_tensor *t, int d) { return t->shape[d < 0 ? d + t->ndim : d]; }

hg_status hg_tensor_copy(hg_tensor *dst, const hg_tensor *src) {
  if (dst->numel != src->numel) {
    char a[64], b[64];
    return hg_fail(HG_ERR_SHAPE, "copy: destination %s and source %s differ in size",
                   hg_shape_str(dst, a, sizeof a), hg_shape_str(src, b, sizeof b));
  }
  memmove(dst->data, src->data, src->numel * sizeof(float));
  return HG_OK;
}

void hg_tensor_fill(hg_tensor *t, float value) {
  float *d = t->data;
  size_t n = t->numel;
#pragma omp parallel for simd if (n > 65536)
  for (size_t i = 0; i < n; i++) d[i] = value;
}

void hg_tensor_scale_rows(hg_tensor *w, hg_tensor *b, float norm, float *factors) {
  int rows = w->shape[0];
  size_t fan = w->numel / (size_t)rows;
#pragma omp parallel for if (w->numel > 32768)
  for (int k = 0; k < rows; k++) {
    float *wk = w->data + (size_t)k * fan;
    double sq = 0;
    for (size_t d = 0; d < fan; d++) sq += (double)wk[d] * wk[d];
    float scale = sq == 0 ? 1.0f : (float)(norm / sqrt(sq));
    if (factors) factors[k] = scale;
    if (sq == 0) continue;
    for (size_t d = 0; d < fan; d++) wk[d] *= scale;
    if (b) b->data[k] *= scale;
  }
}

size_t hg_first_nonfinite(const float *x, size_t n) {
  int bad = 0;
#pragma omp parallel for simd reduction(| : bad) if (n > 65536)
  for (size_t i = 0; i < n; i++) bad |= !isfinite(x[i]);
  if (!bad) return n;
  for (size_t i = 0; i < n; i++)
    if (!isfinite(x[i])) return i;
  return n;
}

size_t hg_tensor_first_nonfinite(const hg_tensor *t) { return hg_first_nonfinite(t->data, t->numel); }
