/* Batch normalisation over channels (dim 1 of [N,C] or [N,C,H,W]) and
 * inverted dropout. */
#include <math.h>

#include "autograd/ops.h"

#define PARALLEL_MIN 32768

/* ---------- batch norm ---------- */

/* x seen as [N, C, S] with S = H·W (1 for 2-D input). */
typedef struct bn_dims {
  int n, c;
  size_t s;
} bn_dims;

static hg_status bn_check_param(const hg_tensor *p, const char *what, const hg_tensor *x) {
  if (!p || (p->ndim == 1 && p->shape[0] == x->shape[1])) return HG_OK;
  char a[64], b[64];
  return hg_fail(HG_ERR_SHAPE, "batch_norm: %s %s does not match the %d channels of x %s", what,
                 hg_shape_str(p, a, sizeof a), x->shape[1], hg_shape_str(x, b, sizeof b));
}

static hg_status bn_check(const hg_tensor *x, hg_tensor *const params[4], bool training,
                          float momentum, float eps) {
  static const char *const names[4] = {"gamma", "beta", "running_mean", "running_var"};
  char s[64];
  if (x->ndim != 2 && x->ndim != 4)
    return hg_fail(HG_ERR_SHAPE, "batch_norm: x %s must be [N,C] or [N,C,H,W]",
                   hg_shape_str(x, s, sizeof s));
  for (int i = 0; i < 4; i++)
    if (bn_check_param(params[i], names[i], x) != HG_OK) return HG_ERR_SHAPE;
  if (!(eps > 0.0f)) return hg_fail(HG_ERR_ARG, "batch_norm: eps %g must be > 0", eps);
  if (!(momentum >= 0.0f && momentum <= 1.0f))
    return hg_fail(HG_ERR_ARG, "batch_norm: momentum %g must be in [0, 1]", momentum);
  if (!training && (!params[2] || !params[3]))
    return hg_fail(HG_ERR_ARG, "batch_norm: evaluation mode needs running_mean and running_var");
  if (training && x->numel / (size_t)x->shape[1] < 2)
    return hg_fail(HG_ERR_SHAPE, "batch_norm: training needs more than one value per channel, x is %s",
                   hg_shape_str(x, s, sizeof s));
  return HG_OK;
}

/* Σ p[i] and Σ (p[i] − m)² over one plane, in float lanes (OpenMP simd may
 * reorder; planes are short enough for float). */
static float plane_sum(const float *p, size_t s) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (size_t i = 0; i < s; i++) acc += p[i];
  return acc;
}

static float plane_sq(const float *p, size_t s, float m) {
  float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
  for (size_t i = 0; i < s; i++) acc += (p[i] - m) * (p[i] - m);
  return acc;
}

/* Batch mean and biased variance of channel c (two passes; planes summed in double). */
static void bn_channel_stats(const float *x, bn_dims d, int c, double *mean, double *var) {
  double sum = 0.0, sq = 0.0, count = (double)d.n * (double)d.s;
  for (int n = 0; n < d.n; n++) sum += plane_sum(x + ((size_t)n * d.c + c) * d.s, d.s);
  float m = (float)(sum / count);
  for (int n = 0; n < d.n; n++) sq += plane_sq(x + ((size_t)n * d.c + c) * d.s, d.s, m);
  *mean = sum / count;
  *var = sq / count;
}

/* mean[c], invstd[c] from the batch (updating running stats) or from running stats. */
static void bn_stats(const float *x, bn_dims d, hg_tensor *const params[4], bool training,
                     float momentum, float eps, float *mean, float *invstd) {
  float *rm = params[2] ? params[2]->data : NULL, *rv = params[3] ? params[3]->data : NULL;
  double count = (double)d.n * (double)d.s;
#pragma omp parallel for if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int c = 0; c < d.c; c++) {
    double m, v;
    if (training) {
      bn_channel_stats(x, d, c, &m, &v);
      if (rm) rm[c] = (float)((1.0 - momentum) * rm[c] + momentum * m);
      if (rv) rv[c] = (float)((1.0 - momentum) * rv[c] + momentum * v * count / (count - 1.0));
    } else {
      m = rm[c];
      v = rv[c];
    }
    mean[c] = (float)m;
    invstd[c] = (float)(1.0 / sqrt(v + eps));
  }
}

/* y = γ (x − μ)·invstd + β */
static void bn_normalize(const float *x, bn_dims d, const float *mean, const float *invstd,
                         const hg_tensor *gamma, const hg_tensor *beta, float *y) {
#pragma omp parallel for collapse(2) if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int n = 0; n < d.n; n++)
    for (int c = 0; c < d.c; c++) {
      float scale = invstd[c] * (gamma ? gamma->data[c] : 1.0f);
      float shift = (beta ? beta->data[c] : 0.0f) - mean[c] * scale;
      size_t o = ((size_t)n * d.c + c) * d.s;
      for (size_t i = 0; i < d.s; i++) y[o + i] = x[o + i] * scale + shift;
    }
}

static bn_dims bn_dims_of(const hg_tensor *x) {
  return (bn_dims){x->shape[0], x->shape[1], x->ndim == 4 ? (size_t)x->shape[2] * x->shape[3] : 1};
}

/* Σ g and Σ g·x̂ of channel c, x̂ = (x − μ)·invstd. */
static void bn_channel_sums(const float *x, const float *g, bn_dims d, int c, float mean,
                            float invstd, double *sum_g, double *sum_gx) {
  double sg = 0.0, sgx = 0.0;
  for (int n = 0; n < d.n; n++) {
    size_t o = ((size_t)n * d.c + c) * d.s;
    float pg = 0.0f, pgx = 0.0f;
#pragma omp simd reduction(+ : pg, pgx)
    for (size_t i = 0; i < d.s; i++) {
      pg += g[o + i];
      pgx += g[o + i] * (x[o + i] - mean);
    }
    sg += pg;
    sgx += pgx;
  }
  *sum_g = sg;
  *sum_gx = sgx * invstd;
}

/* Training: gx = γ·invstd/M · (M·g − Σg − x̂·Σ g x̂); evaluation: gx = γ·invstd·g. */
static void bn_grad_x(const float *x, const float *g, bn_dims d, const float *mean,
                      const float *invstd, const float *gamma, bool training, float *gx,
                      bool acc) {
  double count = (double)d.n * (double)d.s;
#pragma omp parallel for if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int c = 0; c < d.c; c++) {
    double sg = 0.0, sgx = 0.0;
    if (training) bn_channel_sums(x, g, d, c, mean[c], invstd[c], &sg, &sgx);
    float k = invstd[c] * (gamma ? gamma[c] : 1.0f);
    float mg = (float)(sg / count), mgx = (float)(sgx / count);
    for (int n = 0; n < d.n; n++) {
      size_t o = ((size_t)n * d.c + c) * d.s;
      for (size_t i = 0; i < d.s; i++) {
        float xhat = (x[o + i] - mean[c]) * invstd[c];
        float t = training ? k * (g[o + i] - mg - xhat * mgx) : k * g[o + i];
        gx[o + i] = acc ? gx[o + i] + t : t;
      }
    }
  }
}

/* gγ = Σ g·x̂, gβ = Σ g per channel (either may be NULL). */
static hg_status bn_grad_affine(hg_node *nd, bn_dims d, const float *mean, const float *invstd) {
  hg_tensor *gamma = nd->in[1], *beta = nd->in[2];
  bool acc_g = false, acc_b = false;
  hg_tensor *gg = hg_needs_grad(gamma) ? hg_grad_acquire(gamma, &acc_g) : NULL;
  hg_tensor *gb = hg_needs_grad(beta) ? hg_grad_acquire(beta, &acc_b) : NULL;
  if ((hg_needs_grad(gamma) && !gg) || (hg_needs_grad(beta) && !gb)) return HG_ERR_NOMEM;
  if (!gg && !gb) return HG_OK;
  const float *x = nd->in[0]->data, *g = nd->out->grad->data;
#pragma omp parallel for if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int c = 0; c < d.c; c++) {
    double sg, sgx;
    bn_channel_sums(x, g, d, c, mean[c], invstd[c], &sg, &sgx);
    if (gg) gg->data[c] = (acc_g ? gg->data[c] : 0.0f) + (float)sgx;
    if (gb) gb->data[c] = (acc_b ? gb->data[c] : 0.0f) + (float)sg;
  }
  return HG_OK;
}

static hg_status batch_norm_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0], *gamma = nd->in[1];
  bn_dims d = bn_dims_of(x);
  const float *mean = nd->saved[0]->data, *invstd = nd->saved[1]->data;
  if (hg_needs_grad(x)) {
    bool acc;
    hg_tensor *gx = hg_grad_acquire(x, &acc);
    if (!gx) return HG_ERR_NOMEM;
    bn_grad_x(x->data, nd->out->grad->data, d, mean, invstd, gamma ? gamma->data : NULL,
              nd->args.i[0], gx->data, acc);
  }
  return bn_grad_affine(nd, d, mean, invstd);
}

const hg_op hg_op_batch_norm = {"batch_norm", batch_norm_backward};

/* Records the node and saves mean and invstd; frees everything on failure. */
static hg_tensor *bn_finish(hg_tensor *y, hg_tensor *const in[3], hg_tensor *mean,
                            hg_tensor *invstd, bool training) {
  hg_node *nd;
  hg_status s = hg_record(&hg_op_batch_norm, y, 3, in, &nd);
  if (s == HG_OK && nd) {
    hg_node_save(nd, 0, mean);
    hg_node_save(nd, 1, invstd);
    nd->args.i[0] = training;
  }
  hg_tensor_free(mean);
  hg_tensor_free(invstd);
  if (s == HG_OK) return y;
  hg_tensor_free(y);
  return NULL;
}

/* y = γ (x − μ)/√(σ² + ε) + β per channel; μ, σ² from the batch (training) or running stats. */
hg_tensor *hg_batch_norm(hg_tensor *x, hg_tensor *gamma, hg_tensor *beta,
                         hg_tensor *running_mean, hg_tensor *running_var, bool training,
                         float momentum, float eps) {
  hg_tensor *const params[4] = {gamma, beta, running_mean, running_var};
  if (bn_check(x, params, training, momentum, eps) != HG_OK) return NULL;
  bn_dims d = bn_dims_of(x);
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  hg_tensor *mean = hg_tensor_empty(HG_SHAPE(d.c));
  hg_tensor *invstd = hg_tensor_empty(HG_SHAPE(d.c));
  if (!y || !mean || !invstd) {
    hg_tensor_free(y);
    hg_tensor_free(mean);
    hg_tensor_free(invstd);
    return NULL;
  }
  bn_stats(x->data, d, params, training, momentum, eps, mean->data, invstd->data);
  bn_normalize(x->data, d, mean->data, invstd->data, gamma, beta, y->data);
  hg_tensor *const in[3] = {x, gamma, beta};
  return bn_finish(y, in, mean, invstd, training);
}

/* ---------- dropout ---------- */

/* gx = g ⊙ mask (mask already holds 0 or 1/(1 − p)), or gx = g without a mask. */
static hg_status dropout_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0];
  if (!hg_needs_grad(x)) return HG_OK;
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  const float *g = nd->out->grad->data, *m = nd->saved[0] ? nd->saved[0]->data : NULL;
  float *d = gx->data;
  size_t n = x->numel;
#pragma omp parallel for simd if (n > PARALLEL_MIN)
  for (size_t i = 0; i < n; i++) {
    float t = m ? g[i] * m[i] : g[i];
    d[i] = acc ? d[i] + t : t;
  }
  return HG_OK;
}

const hg_op hg_op_dropout = {"dropout", dropout_backward};

/* mask_i = 1/(1 − p) when u_i < 1 − p, else 0; drawn in element order. */
static hg_tensor *dropout_mask(const hg_tensor *x, float p, hg_rng *rng) {
  hg_tensor *m = hg_tensor_empty(x->ndim, x->shape);
  if (!m) return NULL;
  float keep = 1.0f - p, scale = 1.0f / keep;
  for (size_t i = 0; i < m->numel; i++) m->data[i] = hg_rng_uniform(rng) < keep ? scale : 0.0f;
  return m;
}

/* Training: y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) from rng; else y = x (a copy). */
hg_tensor *hg_dropout(hg_tensor *x, float p, bool training, hg_rng *rng) {
  if (!(p >= 0.0f && p < 1.0f)) {
    hg_fail(HG_ERR_ARG, "dropout: p %g must be in [0, 1)", p);
    return NULL;
  }
  bool masked = training && p > 0.0f;
  if (masked && !rng) {
    hg_fail(HG_ERR_ARG, "dropout: training with p %g needs a generator", p);
    return NULL;
  }
  hg_tensor *mask = masked ? dropout_mask(x, p, rng) : NULL;
  hg_tensor *y = (!masked || mask) ? hg_tensor_clone(x) : NULL;
  hg_node *nd = NULL;
  if (y && mask)
    for (size_t i = 0; i < y->numel; i++) y->data[i] *= mask->data[i];
  if (y && hg_record(&hg_op_dropout, y, 1, &x, &nd) != HG_OK) {
    hg_tensor_free(y);
    y = NULL;
  }
  if (nd && mask) hg_node_save(nd, 0, mask);
  hg_tensor_free(mask);
  return y;
}
