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

static hg_status check(const hg_competition *c, const hg_tensor *s, const int *labels) {
  char buf[64];
  hg_shape_str(s, buf, sizeof buf);
  if (s->ndim != 2 && s->ndim != 4)
    return hg_fail(HG_ERR_SHAPE, "compete: similarity %s must be [N,K] or [N,K,H,W]", buf);
  if (!c->def->check || c->def->check(c->param, s->shape[1], labels) == HG_OK) return HG_OK;
  char why[256];
  snprintf(why, sizeof why, "%s", hg_last_error());
  return hg_fail(HG_ERR_ARG, "compete: %s: %s", c->def->name, why);
}

/* Column (n, p) of s and r, gathered into and scattered from v[0..K) and out[0..K). */
static void compete_column(const hg_competition *c, const float *s, float *r, nkp d, float *v, float *out,
                           int label) {
  for (int k = 0; k < d.k; k++) v[k] = s[(size_t)k * d.p];
  c->def->column(c->param, v, out, d.k, label);
  for (int k = 0; k < d.k; k++) r[(size_t)k * d.p] = out[k];
}

hg_tensor *hg_compete(const hg_competition *c, const hg_tensor *s, const int *labels) {
  if (check(c, s, labels) != HG_OK) return NULL;
  nkp d = dims_of(s);
  hg_tensor *r = hg_tensor_empty(s->ndim, s->shape);
  if (!r) return NULL;
  bool oom = false;
#pragma omp parallel reduction(|| : oom)
  {
    float *scratch = malloc(2 * (size_t)d.k * sizeof *scratch);
    oom = !scratch;
#pragma omp for collapse(2)
    for (int n = 0; n < d.n; n++)
      for (int p = 0; p < d.p; p++)
        if (scratch) {
          size_t base = (size_t)n * d.k * d.p + (size_t)p;
          compete_column(c, s->data + base, r->data + base, d, scratch, scratch + d.k,
                         labels ? labels[n] : -1);
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

/* Parameters first.. from "V1:V2..." (NULL: none). */
static hg_status parse_params(hg_competition *c, int first, char *args, const char *owner) {
  char *save = NULL;
  int i = first;
  for (char *a = args ? strtok_r(args, ":", &save) : NULL; a; a = strtok_r(NULL, ":", &save), i++) {
    if (i == HG_MAX_OPTIONS || !c->def->params[i].name)
      return hg_fail(HG_ERR_ARG, "%s takes %d parameters", owner, i);
    hg_status s = hg_option_parse(&c->def->params[i], a, owner, &c->param[i]);
    if (s != HG_OK) return s;
  }
  return HG_OK;
}

hg_status hg_competition_parse(const char *text, hg_competition *out) {
  char buf[128], name[136], owner[160];
  if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
    return hg_fail(HG_ERR_ARG, "competition '%.40s...' is too long", text);
  char *args = strchr(buf, ':'), *count = NULL;
  if (args) *args++ = '\0';
  size_t digits = strspn(buf, "0123456789");
  if (digits > 0 && buf[digits] == '-') { /* N-NAME: k-NAME with N */
    buf[digits] = '\0';
    count = buf;
    snprintf(name, sizeof name, "k-%s", buf + digits + 1);
  } else {
    snprintf(name, sizeof name, "%s", buf);
  }
  hg_competition c = {.def = hg_competition_find(name)};
  if (!c.def) return hg_last_status();
  snprintf(owner, sizeof owner, "competition '%s'", text);
  for (int i = 0; i < HG_MAX_OPTIONS && c.def->params[i].name; i++) c.param[i] = c.def->params[i].value;
  hg_status s = HG_OK;
  if (count && !c.def->params[0].name) s = hg_fail(HG_ERR_ARG, "%s takes no parameters", owner);
  else if (count) s = hg_option_parse(&c.def->params[0], count, owner, &c.param[0]);
  if (s == HG_OK) s = parse_params(&c, count ? 1 : 0, args, owner);
  if (s != HG_OK) return s;
  *out = c;
  return HG_OK;
}

const char *hg_competition_name(const hg_competition *c, char *buf, size_t size) {
  int n = snprintf(buf, size, "%s", c->def->name);
  for (int i = 0; i < HG_MAX_OPTIONS && c->def->params[i].name && n >= 0 && (size_t)n < size; i++)
    n += snprintf(buf + n, size - (size_t)n, ":%g", c->param[i]);
  return buf;
}
