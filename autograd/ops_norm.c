/* Batch normalisation over channels (dim 1 of [N,C] or [N,C,H,W]). */
#include <math.h>
#include <stdlib.h>

#include "autograd/batch_sync.h"
#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/vmath.h"

#define PARALLEL_MIN 32768
#define GRAD HG_IN_GRAD

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

/* Training under a batch sync: shared[0..C) the means, shared[C..2C) the
 * biased variances of the channels over the rows of every process,
 * shared[2C] their count (two sums over the processes, as bn_channel_stats). */
static hg_status bn_synced_stats(const float *x, bn_dims d, double *shared) {
  double *sum = shared, *sq = shared + d.c, *count = shared + 2 * d.c;
  for (int c = 0; c < d.c; c++) {
    sum[c] = 0.0;
    for (int n = 0; n < d.n; n++) sum[c] += plane_sum(x + ((size_t)n * d.c + c) * d.s, d.s);
  }
  *count = (double)d.n * (double)d.s;
  sum[d.c] = *count; /* the count travels right after the sums */
  hg_status s = hg_batch_sum(sum, (size_t)d.c + 1);
  *count = sum[d.c];
  for (int c = 0; c < d.c && s == HG_OK; c++) {
    sum[c] /= *count;
    float m = (float)sum[c];
    sq[c] = 0.0;
    for (int n = 0; n < d.n; n++) sq[c] += plane_sq(x + ((size_t)n * d.c + c) * d.s, d.s, m);
  }
  if (s == HG_OK) s = hg_batch_sum(sq, (size_t)d.c);
  for (int c = 0; c < d.c && s == HG_OK; c++) sq[c] /= *count;
  return s;
}

/* mean[c], invstd[c] from the batch (updating running stats) or from running
 * stats; `shared` (NULL: this batch alone) from bn_synced_stats. */
static void bn_stats(const float *x, bn_dims d, hg_tensor *const params[4], bool training,
                     float momentum, float eps, const double *shared, float *mean, float *invstd) {
  float *rm = params[2] ? params[2]->data : NULL, *rv = params[3] ? params[3]->data : NULL;
  double count = shared ? shared[2 * d.c] : (double)d.n * (double)d.s;
#pragma omp parallel for if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int c = 0; c < d.c; c++) {
    double m, v;
    if (training) {
      if (shared) m = shared[c], v = shared[d.c + c];
      else bn_channel_stats(x, d, c, &m, &v);
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

/* Under a batch sync: shared[0..C) Σ g, shared[C..2C) Σ g·x̂ per channel and
 * shared[2C] the count M, over the rows of every process. */
static hg_status bn_synced_sums(const float *x, const float *g, bn_dims d, const float *mean,
                                const float *invstd, double *shared) {
  for (int c = 0; c < d.c; c++) bn_channel_sums(x, g, d, c, mean[c], invstd[c], &shared[c], &shared[d.c + c]);
  shared[2 * d.c] = (double)d.n * (double)d.s;
  return hg_batch_sum(shared, 2 * (size_t)d.c + 1);
}

/* Training: gx = γ·invstd/M · (M·g − Σg − x̂·Σ g x̂); evaluation: gx = γ·invstd·g.
 * `shared` (NULL: this batch alone) from bn_synced_sums. */
static void bn_grad_x(const float *x, const float *g, bn_dims d, const float *mean,
                      const float *invstd, const float *gamma, bool training, const double *shared,
                      float *gx, bool acc) {
  double count = shared ? shared[2 * d.c] : (double)d.n * (double)d.s;
#pragma omp parallel for if ((size_t)d.n * d.c * d.s > PARALLEL_MIN)
  for (int c = 0; c < d.c; c++) {
    double sg = 0.0, sgx = 0.0;
    if (training && shared) sg = shared[c], sgx = shared[d.c + c];
    else if (training) bn_channel_sums(x, g, d, c, mean[c], invstd[c], &sg, &sgx);
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
  const float *mean = nd->saved[0]->data, *invstd = nd->saved[1]->data, *g = nd->out->grad->data;
  bool synced = nd->args.i[0] && hg_batch_sync_current();
  double *shared = synced ? malloc((2 * (size_t)d.c + 1) * sizeof *shared) : NULL;
  if (synced && !shared) return hg_fail(HG_ERR_NOMEM, "batch_norm: out of memory");
  hg_status s = synced ? bn_synced_sums(x->data, g, d, mean, invstd, shared) : HG_OK;
  if (s == HG_OK && hg_needs_grad(x)) {
    bool acc;
    hg_tensor *gx = hg_grad_acquire(x, &acc);
    if (gx) bn_grad_x(x->data, g, d, mean, invstd, gamma ? gamma->data : NULL, nd->args.i[0], shared, gx->data, acc);
    else s = HG_ERR_NOMEM;
  }
  free(shared);
  return s == HG_OK ? bn_grad_affine(nd, d, mean, invstd) : s;
}

/* A case's arguments. */
typedef struct bn_args {
  bool training;
  float momentum, eps;
} bn_args;

static const bn_args train_args = {true, 0.1f, 1e-5f};

static hg_tensor *batch_norm_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const bn_args *a = args;
  return hg_batch_norm(in[0], in[1], in[2], in[3], in[4], a->training, a->momentum, a->eps);
}

/* The batch mean and biased variance of channel c, in double. */
static void reference_stats(const hg_tensor *x, int c, double *mean, double *var) {
  int nc = x->shape[1];
  size_t s = x->numel / ((size_t)x->shape[0] * nc), count = x->numel / (size_t)nc;
  double sum = 0.0, sq = 0.0;
  for (size_t i = 0; i < x->numel; i++)
    if ((int)(i / s % (size_t)nc) == c) sum += x->data[i];
  for (size_t i = 0; i < x->numel; i++)
    if ((int)(i / s % (size_t)nc) == c) sq += (x->data[i] - sum / count) * (x->data[i] - sum / count);
  *mean = sum / count;
  *var = sq / count;
}

/* Naive: y = γ(x − μ)/√(σ² + ε) + β with μ, σ² of the batch or the running ones. */
static hg_tensor *batch_norm_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const bn_args *a = args;
  const hg_tensor *x = in[0], *gamma = in[1], *beta = in[2];
  int nc = x->shape[1];
  size_t s = x->numel / ((size_t)x->shape[0] * nc);
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  for (int c = 0; y && c < nc; c++) {
    double mean, var;
    if (a->training) reference_stats(x, c, &mean, &var);
    else mean = in[3]->data[c], var = in[4]->data[c];
    for (size_t i = 0; i < x->numel; i++)
      if ((int)(i / s % (size_t)nc) == c)
        y->data[i] = (float)((gamma ? gamma->data[c] : 1.0) * (x->data[i] - mean) / sqrt(var + a->eps) +
                             (beta ? beta->data[c] : 0.0));
  }
  return y;
}

static const hg_op_case batch_norm_cases[] = {
    {"training [6,3] affine", 3,
     {HG_IN(-2, 2, GRAD, 6, 3), HG_IN(0.5f, 1.5f, GRAD, 3), HG_IN(-1, 1, GRAD, 3)}, &train_args, 0},
    {"training [3,2,2,3] affine", 3,
     {HG_IN(-2, 2, GRAD, 3, 2, 2, 3), HG_IN(0.5f, 1.5f, GRAD, 2), HG_IN(-1, 1, GRAD, 2)}, &train_args, 0},
    {"training [4,3,2,2] no affine", 1, {HG_IN(-2, 2, GRAD, 4, 3, 2, 2)}, &train_args, 0},
    {"evaluation, gamma without grad", 5,
     {HG_IN(-2, 2, GRAD, 2, 3, 2, 2), HG_IN(0.5f, 1.5f, 0, 3), HG_IN(-1, 1, GRAD, 3),
      HG_IN(-0.5f, 0.5f, 0, 3), HG_IN(0.5f, 2, 0, 3)},
     &(const bn_args){false, 0.1f, 1e-5f}, 0},
};
/* Training with running statistics at bn2, bn3 and fc5 of the seeds' net. */
static const hg_op_case batch_norm_bench[] = {
    {"bn2", 5,
     {HG_IN(-1, 1, GRAD, 64, 96, 14, 14), HG_IN(0.5f, 1.5f, GRAD, 96), HG_IN(-1, 1, GRAD, 96),
      HG_IN(-0.5f, 0.5f, 0, 96), HG_IN(0.5f, 2, 0, 96)},
     &train_args, 0},
    {"bn3", 5,
     {HG_IN(-1, 1, GRAD, 64, 128, 12, 12), HG_IN(0.5f, 1.5f, GRAD, 128), HG_IN(-1, 1, GRAD, 128),
      HG_IN(-0.5f, 0.5f, 0, 128), HG_IN(0.5f, 2, 0, 128)},
     &train_args, 0},
    {"bn fc5", 5,
     {HG_IN(-1, 1, GRAD, 64, 4096), HG_IN(0.5f, 1.5f, GRAD, 4096), HG_IN(-1, 1, GRAD, 4096),
      HG_IN(-0.5f, 0.5f, 0, 4096), HG_IN(0.5f, 2, 0, 4096)},
     &train_args, 0},
};

const hg_op hg_op_batch_norm = HG_OP_SPEC("batch_norm", batch_norm, NULL, batch_norm_cases, batch_norm_bench);

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
  bool synced = training && hg_batch_sync_current(); /* statistics over every process's rows */
  double *shared = synced ? malloc((2 * (size_t)d.c + 1) * sizeof *shared) : NULL;
  hg_status s = !y || !mean || !invstd || (synced && !shared) ? hg_fail(HG_ERR_NOMEM, "batch_norm: out of memory")
                : synced                                    ? bn_synced_stats(x->data, d, shared)
                                                            : HG_OK;
  if (s == HG_OK) bn_stats(x->data, d, params, training, momentum, eps, shared, mean->data, invstd->data);
  free(shared);
  if (s != HG_OK) {
    hg_tensor_free(y);
    hg_tensor_free(mean);
    hg_tensor_free(invstd);
    return NULL;
  }
  bn_normalize(x->data, d, mean->data, invstd->data, gamma, beta, y->data);
  hg_tensor *const in[3] = {x, gamma, beta};
  return bn_finish(y, in, mean, invstd, training);
}

/* ---------- triangle: y = relu(x − mean_c x − θ)^p over channels ---------- */

typedef struct triangle_args {
  float threshold, power;
} triangle_args;

/* [N, C, P] sizes of x around the channel axis (dimension 1 of 2-D or 4-D x). */
static void channel_dims(const hg_tensor *x, int *n, int *c, int *p) {
  *n = x->shape[0];
  *c = x->shape[1];
  *p = x->ndim == 4 ? x->shape[2] * x->shape[3] : 1;
}

/* mean[q] = mean over c of x[c·p + q], for one sample. */
static void channel_mean(const float *x, int c, int p, float *mean) {
  for (int q = 0; q < p; q++) mean[q] = 0;
  for (int j = 0; j < c; j++)
#pragma omp simd
    for (int q = 0; q < p; q++) mean[q] += x[(size_t)j * p + q];
  for (int q = 0; q < p; q++) mean[q] /= (float)c;
}

static hg_status triangle_backward(hg_node *nd) {
  hg_tensor *x = nd->in[0];
  const float *y = nd->out->data, *g = nd->out->grad->data, *mean = nd->saved[0]->data;
  float threshold = nd->args.f[0], power = nd->args.f[1];
  int n, c, p;
  channel_dims(x, &n, &c, &p);
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
#pragma omp parallel for if (x->numel > PARALLEL_MIN)
  for (int i = 0; i < n * p; i++) { /* dy_k/dx_j = f'(r_k)(δ_kj − 1/C), f'(r) = p·y/r for r > 0 */
    size_t at = (size_t)(i / p) * c * p + i % p;
    float m = mean[i], total = 0;
    for (int j = 0; j < c; j++) {
      float r = x->data[at + (size_t)j * p] - m - threshold;
      total += r > 0 ? g[at + (size_t)j * p] * power * y[at + (size_t)j * p] / r : 0;
    }
    for (int j = 0; j < c; j++) {
      size_t e = at + (size_t)j * p;
      float r = x->data[e] - m - threshold, t = (r > 0 ? g[e] * power * y[e] / r : 0) - total / (float)c;
      gx->data[e] = acc ? gx->data[e] + t : t;
    }
  }
  return HG_OK;
}

static hg_tensor *triangle_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const triangle_args *a = args;
  return hg_triangle(in[0], a->threshold, a->power);
}

static hg_tensor *triangle_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  (void)op;
  const triangle_args *a = args;
  const hg_tensor *x = in[0];
  int n, c, p;
  channel_dims(x, &n, &c, &p);
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  for (int i = 0; y && i < n; i++)
    for (int q = 0; q < p; q++) {
      double mean = 0;
      for (int j = 0; j < c; j++) mean += x->data[((size_t)i * c + j) * p + q];
      mean /= c;
      for (int j = 0; j < c; j++) {
        size_t e = ((size_t)i * c + j) * p + q;
        double r = x->data[e] - mean - a->threshold;
        y->data[e] = r > 0 ? (float)pow(r, a->power) : 0.0f;
      }
    }
  return y;
}

static const hg_op_case triangle_cases[] = {
    {"[2,5,2,3], θ = 0.1, power 1.4", 1, {HG_IN(-2, 2, HG_IN_GRAD | HG_IN_DISTINCT, 2, 5, 2, 3)},
     &(const triangle_args){0.1f, 1.4f}, 0},
    {"[3,6], θ = 0, power 2.5", 1, {HG_IN(-2, 2, HG_IN_GRAD | HG_IN_DISTINCT, 3, 6)},
     &(const triangle_args){0, 2.5f}, 0},
    {"[2,4,3,3], θ = 0, power 1", 1, {HG_IN(-2, 2, HG_IN_GRAD | HG_IN_DISTINCT, 2, 4, 3, 3)},
     &(const triangle_args){0, 1}, 0},
};
/* SoftHebb's conv1 and conv3 outputs at batch 10 (powers 0.7 and 1). */
static const hg_op_case triangle_bench[] = {
    {"triangle1", 1, {HG_IN(-1, 1, GRAD, 10, 96, 32, 32)}, &(const triangle_args){0, 0.7f}, 0},
    {"triangle3", 1, {HG_IN(-1, 1, GRAD, 10, 1536, 8, 8)}, &(const triangle_args){0, 1}, 0},
};

const hg_op hg_op_triangle = HG_OP_SPEC("triangle", triangle, NULL, triangle_cases, triangle_bench);

hg_tensor *hg_triangle(hg_tensor *x, float threshold, float power) {
  if ((x->ndim != 2 && x->ndim != 4) || !(power > 0)) {
    char sh[64];
    hg_fail(HG_ERR_SHAPE, "triangle: x %s, power %g: expected [N,C] or [N,C,H,W] and a positive power",
            hg_shape_str(x, sh, sizeof sh), power);
    return NULL;
  }
  int n, c, p;
  channel_dims(x, &n, &c, &p);
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  hg_tensor *mean = y ? hg_tensor_empty(HG_SHAPE(n, p)) : NULL;
  if (!mean) {
    hg_tensor_free(y);
    return NULL;
  }
#pragma omp parallel for if (x->numel > PARALLEL_MIN)
  for (int i = 0; i < n; i++) {
    const float *xi = x->data + (size_t)i * c * p;
    float *yi = y->data + (size_t)i * c * p, *m = mean->data + (size_t)i * p;
    channel_mean(xi, c, p, m);
    for (int j = 0; j < c; j++) {
      float *yj = yi + (size_t)j * p;
#pragma omp simd
      for (int q = 0; q < p; q++) yj[q] = xi[(size_t)j * p + q] - m[q] - threshold;
      hg_vpow_pos(yj, power, yj, (size_t)p);
    }
  }
  hg_node *nd;
  y = hg_record_output(&hg_op_triangle, y, 1, &x, &nd);
  if (nd) {
    hg_node_save(nd, 0, mean);
    nd->args.f[0] = threshold;
    nd->args.f[1] = power;
  }
  hg_tensor_free(mean);
  return y;
}

const hg_op *const hg_ops_norm[] = {&hg_op_batch_norm, &hg_op_triangle, NULL};
