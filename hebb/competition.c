#include "hebb/competition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autograd/ops.h"
#include "tensor/axis.h"

/* s viewed as [N, K, P] around the neuron axis: neuron k of sample n at
 * position p is s[(n·K + k)·P + p]. */
typedef struct nkp {
  int n, k, p;
} nkp;

static nkp dims_of(const hg_tensor *s) {
  hg_axis a;
  hg_axis_split(&a, "compete", s, 1); /* callers have checked that s is 2-D or 4-D */
  return (nkp){(int)a.outer, (int)a.len, (int)a.inner};
}

/* One column: the K values of one sample at one position, stride P apart. */
static void compete_column(const hg_competition *c, const float *s, float *r, int k_count,
                           int stride, float *scratch, int label) {
  for (int k = 0; k < k_count; k++) scratch[k] = s[k * stride];
  float *v = scratch;
  int best = 0;
  for (int k = 1; k < k_count; k++)
    if (v[k] > v[best]) best = k;
  double total = 0;
  switch (c->kind) {
    case HG_COMP_NONE:
      for (int k = 0; k < k_count; k++) r[k * stride] = v[k];
      return;
    case HG_COMP_WTA:
      for (int k = 0; k < k_count; k++) r[k * stride] = k == best;
      return;
    case HG_COMP_KWTA:
      for (int k = 0; k < k_count; k++) {
        int above = 0;
        for (int j = 0; j < k_count; j++) above += v[j] > v[k] || (v[j] == v[k] && j < k);
        r[k * stride] = above < c->k;
      }
      return;
    case HG_COMP_ESOFT:
      for (int k = 0; k < k_count; k++) total += exp((double)(v[k] - v[best]) / c->temperature);
      for (int k = 0; k < k_count; k++)
        r[k * stride] = (float)(exp((double)(v[k] - v[best]) / c->temperature) / total);
      return;
    case HG_COMP_SOFT:
    case HG_COMP_PSOFT: {
      double p = c->kind == HG_COMP_SOFT ? 1.0 : c->power, top = v[best] > 0 ? v[best] : 1.0;
      for (int k = 0; k < k_count; k++) total += v[k] > 0 ? pow(v[k] / top, p) : 0.0;
      for (int k = 0; k < k_count; k++)
        r[k * stride] = total > 0 && v[k] > 0 ? (float)(pow(v[k] / top, p) / total) : 0.0f;
      return;
    }
    case HG_COMP_SOM: {
      int w = c->som_width, bx = best % w, by = best / w;
      for (int k = 0; k < k_count; k++) {
        double dx = k % w - bx, dy = k / w - by;
        r[k * stride] = (float)exp(-(dx * dx + dy * dy) / (2.0 * c->som_sigma * c->som_sigma));
      }
      return;
    }
    case HG_COMP_TEACHER:
      for (int k = 0; k < k_count; k++) {
        bool on = c->per_class == 0 ? k == label
                                    : (k / c->per_class == label || k >= k_count - c->common);
        r[k * stride] = on;
      }
      return;
  }
}

static hg_status check(const hg_competition *c, const hg_tensor *s, const int *labels) {
  char buf[64];
  hg_shape_str(s, buf, sizeof buf);
  if (s->ndim != 2 && s->ndim != 4)
    return hg_fail(HG_ERR_SHAPE, "compete: similarity %s must be [N,K] or [N,K,H,W]", buf);
  nkp d = dims_of(s);
  if (c->kind == HG_COMP_KWTA && (c->k < 1 || c->k > d.k))
    return hg_fail(HG_ERR_ARG, "compete: k-WTA with k = %d for %d neurons", c->k, d.k);
  if (c->kind == HG_COMP_ESOFT && !(c->temperature > 0))
    return hg_fail(HG_ERR_ARG, "compete: e-soft-WTA temperature %g must be positive", c->temperature);
  if (c->kind == HG_COMP_SOM && (c->som_width < 1 || d.k % c->som_width || !(c->som_sigma > 0)))
    return hg_fail(HG_ERR_ARG, "compete: SOM width %d, sigma %g do not fit %d neurons", c->som_width,
                   c->som_sigma, d.k);
  if (c->kind == HG_COMP_TEACHER && !labels)
    return hg_fail(HG_ERR_ARG, "compete: the teacher signal needs labels");
  if (c->kind == HG_COMP_TEACHER && c->per_class > 0 && c->common > d.k)
    return hg_fail(HG_ERR_ARG, "compete: %d common neurons for %d neurons", c->common, d.k);
  return HG_OK;
}

hg_tensor *hg_compete(const hg_competition *c, const hg_tensor *s, const int *labels) {
  if (check(c, s, labels) != HG_OK) return NULL;
  nkp d = dims_of(s);
  hg_tensor *r = hg_tensor_empty(s->ndim, s->shape);
  if (!r) return NULL;
  bool oom = false;
#pragma omp parallel reduction(|| : oom)
  {
    float *scratch = malloc((size_t)d.k * sizeof *scratch);
    oom = !scratch;
#pragma omp for collapse(2)
    for (int n = 0; n < d.n; n++)
      for (int p = 0; p < d.p; p++)
        if (scratch) {
          size_t base = (size_t)n * d.k * d.p + (size_t)p;
          compete_column(c, s->data + base, r->data + base, d.k, d.p, scratch, labels ? labels[n] : -1);
        }
    free(scratch);
  }
  if (oom) {
    hg_tensor_free(r);
    hg_fail(HG_ERR_NOMEM, "compete: out of memory");
    return NULL;
  }
  return r;
}

/* ‖x‖ per sample (linear) or per patch (convolution), shaped [N,1] or [N,1,OH,OW]. */
static hg_tensor *input_norms(const hg_tensor *x, const hg_tensor *w, int stride, int pad) {
  hg_tensor *sq = hg_tensor_empty(x->ndim, x->shape);
  if (!sq) return NULL;
  for (size_t i = 0; i < x->numel; i++) sq->data[i] = x->data[i] * x->data[i];
  hg_tensor *norms = NULL;
  if (x->ndim == 2) {
    norms = hg_sum(sq, 1, (int[]){1}, true);
  } else {
    hg_tensor *ones = hg_tensor_ones(HG_SHAPE(1, w->shape[1], w->shape[2], w->shape[3]));
    norms = ones ? hg_conv2d(sq, ones, NULL, stride, pad) : NULL;
    hg_tensor_free(ones);
  }
  hg_tensor_free(sq);
  if (norms)
    for (size_t i = 0; i < norms->numel; i++) norms->data[i] = sqrtf(norms->data[i]);
  return norms;
}

hg_tensor *hg_cosine_similarity(const hg_tensor *u, const hg_tensor *w, const hg_tensor *x,
                                int stride, int pad) {
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *xn = input_norms(x, w, stride, pad);
  hg_tensor *s = xn ? hg_tensor_clone(u) : NULL;
  hg_set_grad_enabled(grad);
  if (!s) {
    hg_tensor_free(xn);
    return NULL;
  }
  nkp d = dims_of(u);
  size_t fan = w->numel / (size_t)w->shape[0];
  for (int k = 0; k < d.k; k++) {
    double wn = 0;
    for (size_t i = 0; i < fan; i++) wn += (double)w->data[k * fan + i] * w->data[k * fan + i];
    float inv_w = 1.0f / (sqrtf((float)wn) + 1e-8f);
    for (int n = 0; n < d.n; n++)
      for (int p = 0; p < d.p; p++)
        s->data[((size_t)n * d.k + k) * d.p + p] *= inv_w / (xn->data[(size_t)n * d.p + p] + 1e-8f);
  }
  hg_tensor_free(xn);
  return s;
}

hg_status hg_competition_parse(const char *text, hg_competition *out) {
  hg_competition c = {.kind = HG_COMP_NONE, .k = 1, .temperature = 0.02f, .power = 20.0f,
                      .som_width = 1, .som_sigma = 1.0f};
  float a = 0, b = 0;
  int k = 0, n;
  if (!strcmp(text, "none")) c.kind = HG_COMP_NONE;
  else if (!strcmp(text, "wta")) c.kind = HG_COMP_WTA;
  else if (sscanf(text, "%d-wta%n", &k, &n) == 1 && text[n] == '\0' && k > 0) c.kind = HG_COMP_KWTA, c.k = k;
  else if (!strcmp(text, "soft-wta")) c.kind = HG_COMP_SOFT;
  else if (!strcmp(text, "e-soft-wta")) c.kind = HG_COMP_ESOFT;
  else if (sscanf(text, "e-soft-wta:%f%n", &a, &n) == 1 && !text[n] && a > 0) c.kind = HG_COMP_ESOFT, c.temperature = a;
  else if (!strcmp(text, "p-soft-wta")) c.kind = HG_COMP_PSOFT;
  else if (sscanf(text, "p-soft-wta:%f%n", &a, &n) == 1 && !text[n] && a > 0) c.kind = HG_COMP_PSOFT, c.power = 1.0f / a;
  else if (!strcmp(text, "som")) c.kind = HG_COMP_SOM;
  else if (sscanf(text, "som:%d:%f%n", &k, &b, &n) == 2 && !text[n] && k > 0 && b > 0)
    c.kind = HG_COMP_SOM, c.som_width = k, c.som_sigma = b;
  else if (!strcmp(text, "teacher")) c.kind = HG_COMP_TEACHER;
  else if (sscanf(text, "teacher:%d:%d%n", &k, &c.common, &n) == 2 && !text[n] && k > 0 && c.common >= 0)
    c.kind = HG_COMP_TEACHER, c.per_class = k;
  else
    return hg_fail(HG_ERR_ARG,
                   "competition '%s' is not one of none, wta, K-wta, soft-wta, e-soft-wta[:T], "
                   "p-soft-wta[:k], som[:width:sigma], teacher[:per_class:common]", text);
  *out = c;
  return HG_OK;
}

const char *hg_competition_name(const hg_competition *c, char *buf, size_t size) {
  switch (c->kind) {
    case HG_COMP_NONE: snprintf(buf, size, "none"); break;
    case HG_COMP_WTA: snprintf(buf, size, "wta"); break;
    case HG_COMP_KWTA: snprintf(buf, size, "%d-wta", c->k); break;
    case HG_COMP_SOFT: snprintf(buf, size, "soft-wta"); break;
    case HG_COMP_ESOFT: snprintf(buf, size, "e-soft-wta:%g", c->temperature); break;
    case HG_COMP_PSOFT: snprintf(buf, size, "p-soft-wta:%g", 1.0f / c->power); break;
    case HG_COMP_SOM: snprintf(buf, size, "som:%d:%g", c->som_width, c->som_sigma); break;
    case HG_COMP_TEACHER: snprintf(buf, size, "teacher:%d:%d", c->per_class, c->common); break;
  }
  return buf;
}
