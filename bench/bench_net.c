/* The seeds' 6-layer network (../shared/HEBBIAN.md) on random data, built
 * straight from the ops, timed three ways:
 *   forward_eval   forward in evaluation mode, grad mode off;
 *   sgd_step       forward, backward, Nesterov SGD with weight decay as one
 *                  flat loop over the parameter slab, zero_grad, tape_clear;
 *   hebbian_step   every layer's input detached (no backward-data pass), a
 *                  local loss per layer, loss_l = −mean(sg(relu(u_l)) ⊙ u_l)
 *                  with u_l the pre-activation, cross-entropy on fc6; the
 *                  losses summed, one backward, one SGD step.
 * bench/torch_net.py is the PyTorch twin and prints the same lines.
 *
 * Usage: bench_net [--steps N] [--warmup N] [--batch B] [--threads T] */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/timing.h"
#include "hebbgrad.h"
#include "tensor/conv.h"
#include "tensor/pooling.h"

#define N_CONV 4
#define N_BN 5   /* after conv1..conv4 and fc5 */
#define N_LAYER 6

typedef enum mode { MODE_EVAL, MODE_SGD, MODE_HEBB } mode;

static const char *mode_name[] = {"forward_eval", "sgd_step", "hebbian_step"};

/* Layer table: conv k×k (stride 1, no padding) then optional max-pool 2. */
static const struct {
  int cin, cout, k, pool;
} conv_cfg[N_CONV] = {{3, 96, 5, 1}, {96, 128, 3, 0}, {128, 192, 3, 1}, {192, 256, 3, 0}};
enum { FC5_IN = 2304, FC5_OUT = 4096, CLASSES = 10, IMG = 32 };

static const float lr = 1e-3f, momentum = 0.9f, weight_decay = 5e-2f;
static const float bn_momentum = 0.1f, bn_eps = 1e-5f, dropout_p = 0.5f;

static void die(const char *what) {
  fprintf(stderr, "bench_net: %s failed: %s\n", what, hg_last_error());
  exit(1);
}

/* --- parameters: one slab each for values, gradients, momentum --- */

typedef struct net {
  hg_tensor *w[N_LAYER], *b[N_LAYER];           /* conv1..4, fc5, fc6 */
  hg_tensor *gamma[N_BN], *beta[N_BN];          /* BN affine */
  hg_tensor *run_mean[N_BN], *run_var[N_BN];    /* BN running statistics */
  hg_tensor *param[2 * N_LAYER + 2 * N_BN];
  int n_param;
  hg_tensor *slab, *grad_slab, *mom_slab;       /* [total] */
  size_t total;
  hg_rng rng;
} net;

/* A [shape] view at `offset` of the 1-D slab. */
static hg_tensor *slab_view(hg_tensor *slab, size_t offset, int ndim, const int *shape) {
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)shape[i];
  hg_tensor *rows = hg_tensor_narrow0(slab, (int)offset, (int)n);
  if (!rows) die("narrow0");
  hg_tensor *v = hg_tensor_view(rows, ndim, shape);
  if (!v) die("view");
  hg_tensor_free(rows);
  return v;
}

typedef struct param_spec {
  hg_tensor **dst;
  int ndim, shape[4];
  float bound;   /* U(−bound, bound); 0 means a constant fill */
  float fill;
} param_spec;

static void net_init(net *m, uint64_t seed) {
  param_spec spec[2 * N_LAYER + 2 * N_BN];
  int n = 0;
  for (int l = 0; l < N_CONV; l++) {
    int c = conv_cfg[l].cin, k = conv_cfg[l].cout, kk = conv_cfg[l].k;
    float bound = 1.0f / sqrtf((float)(c * kk * kk));
    spec[n++] = (param_spec){&m->w[l], 4, {k, c, kk, kk}, bound, 0};
    spec[n++] = (param_spec){&m->b[l], 1, {k}, bound, 0};
  }
  int fin[2] = {FC5_IN, FC5_OUT}, fout[2] = {FC5_OUT, CLASSES};
  for (int l = 0; l < 2; l++) {
    float bound = 1.0f / sqrtf((float)fin[l]);
    spec[n++] = (param_spec){&m->w[N_CONV + l], 2, {fout[l], fin[l]}, bound, 0};
    spec[n++] = (param_spec){&m->b[N_CONV + l], 1, {fout[l]}, bound, 0};
  }
  for (int l = 0; l < N_BN; l++) {
    int c = l < N_CONV ? conv_cfg[l].cout : FC5_OUT;
    spec[n++] = (param_spec){&m->gamma[l], 1, {c}, 0, 1.0f};
    spec[n++] = (param_spec){&m->beta[l], 1, {c}, 0, 0.0f};
  }
  m->total = 0;
  for (int i = 0; i < n; i++) {
    size_t count = 1;
    for (int d = 0; d < spec[i].ndim; d++) count *= (size_t)spec[i].shape[d];
    m->total += count;
  }
  int flat[1] = {(int)m->total};
  m->slab = hg_tensor_empty(1, flat);
  m->grad_slab = hg_tensor_zeros(1, flat);
  m->mom_slab = hg_tensor_zeros(1, flat);
  if (!m->slab || !m->grad_slab || !m->mom_slab) die("parameter slab");
  hg_rng_seed(&m->rng, seed, 1);
  size_t offset = 0;
  for (int i = 0; i < n; i++) {
    hg_tensor *p = slab_view(m->slab, offset, spec[i].ndim, spec[i].shape);
    for (size_t j = 0; j < p->numel; j++)
      p->data[j] = spec[i].bound > 0
                       ? (2.0f * hg_rng_uniform(&m->rng) - 1.0f) * spec[i].bound
                       : spec[i].fill;
    hg_requires_grad(p, true);
    p->grad = slab_view(m->grad_slab, offset, spec[i].ndim, spec[i].shape);
    p->grad_is_zero = true;
    offset += p->numel;
    *spec[i].dst = p;
    m->param[i] = p;
  }
  m->n_param = n;
  for (int l = 0; l < N_BN; l++) {
    int c = l < N_CONV ? conv_cfg[l].cout : FC5_OUT;
    m->run_mean[l] = hg_tensor_zeros(HG_SHAPE(c));
    m->run_var[l] = hg_tensor_ones(HG_SHAPE(c));
    if (!m->run_mean[l] || !m->run_var[l]) die("running statistics");
  }
}

static void net_free(net *m) {
  for (int i = 0; i < m->n_param; i++) hg_tensor_free(m->param[i]);
  for (int l = 0; l < N_BN; l++) {
    hg_tensor_free(m->run_mean[l]);
    hg_tensor_free(m->run_var[l]);
  }
  hg_tensor_free(m->slab);
  hg_tensor_free(m->grad_slab);
  hg_tensor_free(m->mom_slab);
}

/* Nesterov SGD with L2 weight decay, as torch.optim.SGD(nesterov=True):
 * d = g + λw; v ← μv + d; w ← w − lr·(d + μv). */
static void sgd_update(net *m) {
  float *w = m->slab->data, *g = m->grad_slab->data, *v = m->mom_slab->data;
  long n = (long)m->total;
#pragma omp parallel for simd schedule(static)
  for (long i = 0; i < n; i++) {
    float d = g[i] + weight_decay * w[i];
    float vi = momentum * v[i] + d;
    v[i] = vi;
    w[i] -= lr * (d + momentum * vi);
  }
}

/* --- one step: every tensor made during it is kept here and freed after --- */

typedef struct step_list {
  hg_tensor *t[128];
  int n;
} step_list;

static hg_tensor *keep(step_list *l, hg_tensor *t, const char *what) {
  if (!t) die(what);
  HG_ASSERT(l->n < (int)(sizeof l->t / sizeof l->t[0]));
  l->t[l->n++] = t;
  return t;
}
#define K(expr) keep(L, (expr), #expr)

static void step_list_free(step_list *l) {
  for (int i = 0; i < l->n; i++) hg_tensor_free(l->t[i]);
  l->n = 0;
}

/* The loss of one step (a scalar; NULL in evaluation mode). */
static hg_tensor *forward(net *m, step_list *L, hg_tensor *x, const int *labels, mode md) {
  bool train = md != MODE_EVAL;
  hg_tensor *loss = NULL;
  for (int l = 0; l < N_CONV + 1; l++) {
    if (md == MODE_HEBB) x = K(hg_detach(x));
    hg_tensor *u;
    if (l < N_CONV) {
      u = K(hg_conv2d(x, m->w[l], m->b[l], 1, 0));
    } else {
      x = K(hg_flatten(x));
      u = K(hg_linear(x, m->w[l], m->b[l]));
    }
    hg_tensor *y = K(hg_relu(u));
    if (md == MODE_HEBB) { /* loss_l = −mean(sg(y) ⊙ u) */
      hg_tensor *local = K(hg_neg(K(hg_mean(K(hg_mul(K(hg_detach(y)), u)), 0, NULL, false))));
      loss = loss ? K(hg_add(loss, local)) : local;
    }
    if (l < N_CONV && conv_cfg[l].pool) y = K(hg_max_pool2d(y, 2, 2, 0));
    x = K(hg_batch_norm(y, m->gamma[l], m->beta[l], m->run_mean[l], m->run_var[l], train,
                        bn_momentum, bn_eps));
  }
  x = K(hg_dropout(x, dropout_p, train, &m->rng));
  if (md == MODE_HEBB) x = K(hg_detach(x));
  hg_tensor *logits = K(hg_linear(x, m->w[N_LAYER - 1], m->b[N_LAYER - 1]));
  if (md == MODE_EVAL) return NULL;
  hg_tensor *ce = K(hg_cross_entropy(logits, labels));
  return loss ? K(hg_add(loss, ce)) : ce;
}

static float step(net *m, hg_tensor *x, const int *labels, mode md) {
  step_list list = {.n = 0}, *L = &list;
  float value = 0;
  if (md == MODE_EVAL) {
    bool was = hg_set_grad_enabled(false);
    forward(m, L, x, labels, md);
    hg_set_grad_enabled(was);
  } else {
    hg_tensor *loss = forward(m, L, x, labels, md);
    value = loss->data[0];
    if (hg_backward(loss) != HG_OK) die("hg_backward");
    sgd_update(m);
    for (int i = 0; i < m->n_param; i++) hg_zero_grad(m->param[i]);
    hg_tape_clear();
  }
  step_list_free(L);
  return value;
}

/* --- FLOP counts from the shapes --- */

typedef struct flops {
  double fwd[N_LAYER]; /* per image; backward-weights costs the same, as does backward-data */
} flops;

static flops count_flops(void) {
  flops f;
  int hw = IMG;
  for (int l = 0; l < N_CONV; l++) {
    int o = hw - conv_cfg[l].k + 1;
    f.fwd[l] = 2.0 * conv_cfg[l].cout * o * o * conv_cfg[l].cin * conv_cfg[l].k * conv_cfg[l].k;
    hw = conv_cfg[l].pool ? o / 2 : o;
  }
  f.fwd[N_CONV] = 2.0 * FC5_IN * FC5_OUT;
  f.fwd[N_CONV + 1] = 2.0 * FC5_OUT * CLASSES;
  return f;
}

/* FLOP per image of one step: forward; + backward-weights of every layer;
 * + backward-data of every layer whose input needs a gradient (SGD: all but
 * conv1, whose input is the data; Hebbian: none, every input is detached). */
static double step_flops(const flops *f, mode md) {
  double fwd = 0, bwd_data = 0;
  for (int l = 0; l < N_LAYER; l++) {
    fwd += f->fwd[l];
    if (l > 0) bwd_data += f->fwd[l];
  }
  if (md == MODE_EVAL) return fwd;
  if (md == MODE_HEBB) return 2 * fwd;
  return 2 * fwd + bwd_data;
}

/* A fresh random batch for every step: a network that saw one batch over and
 * over would memorise it, its gradients would decay into denormals and the
 * timings would measure that instead. */
static void fill_batch(hg_tensor *x, int *labels, int batch, hg_rng *rng) {
  for (size_t i = 0; i < x->numel; i++) x->data[i] = hg_rng_normal(rng);
  for (int i = 0; i < batch; i++) labels[i] = (int)hg_rng_below(rng, CLASSES);
}

static void usage(void) {
  fprintf(stderr, "usage: bench_net [--steps N] [--warmup N] [--batch B] [--threads T]\n");
  exit(2);
}

int main(int argc, char **argv) {
  int steps = 20, warmup = 3, batch = 64, threads = 0;
  for (int i = 1; i < argc; i++) {
    int *dst = NULL;
    if (!strcmp(argv[i], "--steps")) dst = &steps;
    else if (!strcmp(argv[i], "--warmup")) dst = &warmup;
    else if (!strcmp(argv[i], "--batch")) dst = &batch;
    else if (!strcmp(argv[i], "--threads")) dst = &threads;
    else usage();
    if (i + 1 >= argc) usage();
    *dst = atoi(argv[++i]);
  }
  if (steps < 1 || warmup < 0 || batch < 1 || threads < 0) usage();
  if (threads > 0) omp_set_num_threads(threads);

  net m;
  net_init(&m, 42);
  hg_rng data_rng;
  hg_rng_seed(&data_rng, 7, 2);
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(batch, 3, IMG, IMG));
  int *labels = malloc((size_t)batch * sizeof *labels);
  if (!x || !labels) die("input batch");

  flops f = count_flops();
  printf("hebbgrad bench_net: seeds' network, batch %d, 3x%dx%d -> %d classes, %d threads, "
         "gemm %s\n",
         batch, IMG, IMG, CLASSES, omp_get_max_threads(),
         hg_gemm_get_backend() == HG_GEMM_ONEDNN ? "onednn" : "openblas");
  printf("params %.2fM; MFLOP/image: forward %.1f, sgd step %.1f, hebbian step %.1f; "
         "%d warm-up + %d timed steps each\n",
         (double)m.total / 1e6, step_flops(&f, MODE_EVAL) / 1e6, step_flops(&f, MODE_SGD) / 1e6,
         step_flops(&f, MODE_HEBB) / 1e6, warmup, steps);
  printf("%-14s %10s %11s %12s %9s %12s  %s\n", "measurement", "ms/step", "img/s(med)",
         "img/s(best)", "GFLOP/s", "allocs/step", "kernels/step conv fwd/bwd-data/bwd-w, pool "
         "fwd/bwd, gemm");

  double *t = malloc((size_t)steps * sizeof *t);
  if (!t) die("timings");
  float last_loss[3] = {0};
  for (int md = MODE_EVAL; md <= MODE_HEBB; md++) {
    for (int i = 0; i < warmup; i++) {
      fill_batch(x, labels, batch, &data_rng);
      step(&m, x, labels, (mode)md);
    }
    hg_pool_stats before = hg_pool_get_stats();
    hg_kernel_stats_reset();
    for (int i = 0; i < steps; i++) {
      fill_batch(x, labels, batch, &data_rng);
      double t0 = now();
      last_loss[md] = step(&m, x, labels, (mode)md);
      t[i] = now() - t0;
    }
    hg_kernel_stats k = hg_kstats;
    hg_pool_stats after = hg_pool_get_stats();
    qsort(t, (size_t)steps, sizeof *t, cmp_double);
    double med = steps % 2 ? t[steps / 2] : 0.5 * (t[steps / 2 - 1] + t[steps / 2]);
    double allocs = (double)(after.system_allocs - before.system_allocs) / steps;
    printf("%-14s %10.2f %11.1f %12.1f %9.1f %12.2f  %ld/%ld/%ld, %ld/%ld, %ld\n",
           mode_name[md], 1e3 * med, batch / med, batch / t[0],
           step_flops(&f, (mode)md) * batch / med / 1e9, allocs, k.conv_forward / steps,
           k.conv_backward_data / steps, k.conv_backward_weights / steps,
           k.pool_forward / steps, k.pool_backward / steps, k.gemm / steps);
    fflush(stdout);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  hg_pool_stats ps = hg_pool_get_stats();
  printf("last loss: sgd %.4f, hebbian %.4f\n", last_loss[MODE_SGD], last_loss[MODE_HEBB]);
  printf("pool: %zu system allocations in all, %.1f MiB cached\n", ps.system_allocs,
         (double)ps.cached_bytes / (1 << 20));
  printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);

  free(t);
  free(labels);
  hg_tensor_free(x);
  net_free(&m);
  return 0;
}
