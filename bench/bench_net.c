/* The seeds' 6-layer network (../shared/HEBBIAN.md) on random data, built
 * straight from the ops, timed three ways:
 *   forward_eval   forward in evaluation mode, grad mode off;
 *   sgd_step       forward, backward, Nesterov SGD with weight decay as one
 *                  flat loop over the parameter slab, zero_grad, tape_clear;
 *   hebbian_step   every layer's input detached (no backward-data pass), a
 *                  local loss per layer, loss_l = −mean(sg(relu(u_l)) ⊙ u_l)
 *                  with u_l the pre-activation, cross-entropy on fc6; the
 *                  losses summed, one backward, one SGD step.
 * The convolutions run with their ReLU fused (hg_conv2d_relu), which keeps
 * no pre-activation: there y_l stands for u_l in the local loss, the same
 * value and gradient (y ⊙ u = y ⊙ y, and ∂/∂u through the ReLU is sg(y)). 
 * bench/torch_net.py is the PyTorch twin and prints the same lines.
 * With --net softhebb: SoftHebb's network of the library, its forward_eval
 * (batch --batch) and the hebbian_step of its Hebbian phase (batch
 * --hebb-batch, 10 as the reference), bench/lib/softhebb_steps.h.
 *
 * Then the ceiling (bench/lib/ceiling.h): the same step made of oneDNN's
 * best convolution primitives and OpenBLAS's sgemm alone, and hebbgrad's
 * fraction of it; --ceiling adds the table of every layer's passes.
 *
 * --conv direct runs every convolution on oneDNN's direct kernels, --conv
 * winograd on the Winograd ones wherever they fit (tensor/winograd.h); the
 * default picks per shape.
 *
 * Usage: bench_net [--net seeds|softhebb] [--steps N] [--warmup N] [--batch B]
 *                  [--hebb-batch B] [--threads T] [--conv auto|direct|winograd] [--ceiling] */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench/lib/ceiling.h"
#include "bench/lib/softhebb_steps.h"
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

/* --- one step: an intermediate is freed as soon as the step is done with it
 * (as a Python name is dropped); the tape keeps what the backward needs and
 * lets go of it as the backward goes down --- */

/* r (dying with `what` when NULL), after letting go of `done` (may be NULL). */
static hg_tensor *then_free(hg_tensor *r, hg_tensor *done, const char *what) {
  if (!r) die(what);
  hg_tensor_free(done);
  return r;
}
#define NEXT(expr, done) then_free((expr), (done), #expr)
#define OK(expr) then_free((expr), NULL, #expr)

/* a + b, letting go of both. */
static hg_tensor *add_both(hg_tensor *a, hg_tensor *b) {
  hg_tensor *sum = OK(hg_add(a, b));
  hg_tensor_free(a);
  hg_tensor_free(b);
  return sum;
}

/* The loss of one step (a scalar; NULL in evaluation mode). */
static hg_tensor *forward(net *m, hg_tensor *input, const int *labels, mode md) {
  bool train = md != MODE_EVAL;
  hg_tensor *loss = NULL, *x = hg_tensor_retain(input);
  for (int l = 0; l < N_CONV + 1; l++) {
    if (md == MODE_HEBB) x = NEXT(hg_detach(x), x);
    hg_tensor *u, *y;
    if (l < N_CONV) { /* the ReLU fused: u is not kept, y stands for it in the loss */
      u = NEXT(hg_conv2d_relu(x, m->w[l], m->b[l], 1, 0), x);
      y = hg_tensor_retain(u);
    } else {
      x = NEXT(hg_flatten(x), x);
      u = NEXT(hg_linear(x, m->w[l], m->b[l]), x);
      y = OK(hg_relu(u));
    }
    if (md == MODE_HEBB) { /* loss_l = −mean(sg(y) ⊙ u) = −(sg(y)·u)/numel, one pass */
      hg_tensor *sg = OK(hg_detach(y));
      hg_tensor *dot = NEXT(hg_dot(sg, u), sg);
      hg_tensor *local = NEXT(hg_scale(dot, -1.0f / (float)u->numel), dot);
      loss = loss ? add_both(loss, local) : local;
    }
    hg_tensor_free(u);
    if (l < N_CONV && conv_cfg[l].pool) y = NEXT(hg_max_pool2d(y, 2, 2, 0), y);
    x = NEXT(hg_batch_norm(y, m->gamma[l], m->beta[l], m->run_mean[l], m->run_var[l], train,
                           bn_momentum, bn_eps),
             y);
  }
  x = NEXT(hg_dropout(x, dropout_p, train, &m->rng), x);
  if (md == MODE_HEBB) x = NEXT(hg_detach(x), x);
  hg_tensor *logits = NEXT(hg_linear(x, m->w[N_LAYER - 1], m->b[N_LAYER - 1]), x);
  if (md == MODE_EVAL) {
    hg_tensor_free(logits);
    return NULL;
  }
  hg_tensor *ce = NEXT(hg_cross_entropy(logits, labels), logits);
  return loss ? add_both(loss, ce) : ce;
}

static float step(net *m, hg_tensor *x, const int *labels, mode md) {
  float value = 0;
  if (md == MODE_EVAL) {
    bool was = hg_set_grad_enabled(false);
    forward(m, x, labels, md);
    hg_set_grad_enabled(was);
  } else {
    hg_tensor *loss = forward(m, x, labels, md);
    value = loss->data[0];
    if (hg_backward(loss) != HG_OK) die("hg_backward");
    sgd_update(m);
    for (int i = 0; i < m->n_param; i++) hg_zero_grad(m->param[i]);
    hg_tape_clear();
    hg_tensor_free(loss);
  }
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

typedef struct options {
  int steps, warmup, batch, hebb_batch, threads;
  bool ceiling;     /* the ceiling's table of layers */
  bool softhebb;    /* --net softhebb, else the seeds' net */
} options;

static void usage(void) {
  fprintf(stderr, "usage: bench_net [--net seeds|softhebb] [--steps N] [--warmup N] [--batch B] "
                  "[--hebb-batch B (softhebb)] [--threads T] [--conv auto|direct|winograd] [--ceiling]\n");
  exit(2);
}

/* The command line into o (defaults: seeds, 20 steps, 3 warm-up, batch 64, Hebbian batch 10). */
static void parse_options(int argc, char **argv, options *o) {
  *o = (options){.steps = 20, .warmup = 3, .batch = 64, .hebb_batch = 0, .threads = 0};
  for (int i = 1; i < argc; i++) {
    int *dst = NULL;
    if (!strcmp(argv[i], "--ceiling")) {
      o->ceiling = true;
      continue;
    }
    if (i + 1 >= argc) usage();
    if (!strcmp(argv[i], "--net")) {
      if (strcmp(argv[i + 1], "seeds") && strcmp(argv[i + 1], "softhebb")) usage();
      o->softhebb = !strcmp(argv[++i], "softhebb");
      continue;
    }
    if (!strcmp(argv[i], "--conv")) {
      static const char *const names[] = {"auto", "direct", "winograd"};
      int a = 0;
      while (a < 3 && strcmp(argv[i + 1], names[a])) a++;
      if (a == 3) usage();
      hg_conv_set_algorithm((hg_conv_algorithm)a);
      i++;
      continue;
    }
    if (!strcmp(argv[i], "--steps")) dst = &o->steps;
    else if (!strcmp(argv[i], "--warmup")) dst = &o->warmup;
    else if (!strcmp(argv[i], "--batch")) dst = &o->batch;
    else if (!strcmp(argv[i], "--hebb-batch")) dst = &o->hebb_batch;
    else if (!strcmp(argv[i], "--threads")) dst = &o->threads;
    else usage();
    *dst = atoi(argv[++i]);
  }
  if (o->hebb_batch && !o->softhebb) {
    fprintf(stderr, "bench_net: --hebb-batch applies to --net softhebb only\n");
    exit(2);
  }
  if (!o->hebb_batch) o->hebb_batch = 10;
  if (o->steps < 1 || o->warmup < 0 || o->batch < 1 || o->hebb_batch < 1 || o->threads < 0) usage();
}

/* --- what is timed of one net --- */

enum { MAX_MEAS = 3, MAX_LAYERS = 8 };

typedef struct measurement {
  mode md;
  int batch;
  double flops;   /* per image */
  double img_s;   /* median, once timed */
} measurement;

typedef struct net_case {
  measurement meas[MAX_MEAS];
  int n_meas;
  float (*step)(void *ctx, hg_tensor *x, const int *labels, mode md); /* the loss (0 in evaluation) */
  void *ctx;
  ceiling_layer layers[MAX_LAYERS]; /* its convolutions and linear layers, bottom up */
  int n_layers, n_hebbian;          /* the Hebbian step runs layers [0, n_hebbian) */
} net_case;

/* One step of the seeds' net (ctx: its net). */
static float seeds_step(void *ctx, hg_tensor *x, const int *labels, mode md) {
  return step(ctx, x, labels, md);
}

/* The seeds' convolutions and linear layers from conv_cfg, as the ceiling times them. */
static int seeds_layers(ceiling_layer *out) {
  static const char *names[N_LAYER] = {"conv1", "conv2", "conv3", "conv4", "fc5", "fc6"};
  int hw = IMG;
  for (int l = 0; l < N_CONV; l++) {
    int k = conv_cfg[l].k, o = hw - k + 1;
    out[l] = (ceiling_layer){names[l], true, conv_cfg[l].cin, hw, hw, conv_cfg[l].cout, k, k, 0, true};
    hw = conv_cfg[l].pool ? o / 2 : o;
  }
  out[N_CONV] = (ceiling_layer){names[N_CONV], false, FC5_IN, 1, 1, FC5_OUT, 0, 0, 0, true};
  out[N_CONV + 1] = (ceiling_layer){names[N_CONV + 1], false, FC5_OUT, 1, 1, CLASSES, 0, 0, 0, true};
  return N_LAYER;
}

/* The seeds' net: its three measurements at one batch, and its header lines. */
static void seeds_case(net_case *nc, net *m, const options *o) {
  flops f = count_flops();
  *nc = (net_case){.n_meas = 3, .step = seeds_step, .ctx = m};
  for (int md = MODE_EVAL; md <= MODE_HEBB; md++)
    nc->meas[md] = (measurement){(mode)md, o->batch, step_flops(&f, (mode)md), 0};
  nc->n_layers = nc->n_hebbian = seeds_layers(nc->layers);
  printf("hebbgrad bench_net: seeds' network, batch %d, 3x%dx%d -> %d classes, %d threads, "
         "gemm %s\n",
         o->batch, IMG, IMG, CLASSES, omp_get_max_threads(),
         hg_gemm_get_backend() == HG_GEMM_ONEDNN ? "onednn" : "openblas");
  printf("params %.2fM; MFLOP/image: forward %.1f, sgd step %.1f, hebbian step %.1f; "
         "%d warm-up + %d timed steps each\n",
         (double)m->total / 1e6, step_flops(&f, MODE_EVAL) / 1e6, step_flops(&f, MODE_SGD) / 1e6,
         step_flops(&f, MODE_HEBB) / 1e6, o->warmup, o->steps);
}

/* One step of SoftHebb's net (ctx: its softhebb_steps); a failure ends the program. */
static float softhebb_step(void *ctx, hg_tensor *x, const int *labels, mode md) {
  float loss = 0;
  if (md == MODE_EVAL && softhebb_forward(ctx, x) != HG_OK) die("softhebb forward");
  if (md == MODE_HEBB && softhebb_hebbian_step(ctx, x, labels, &loss) != HG_OK) die("softhebb hebbian step");
  return loss;
}

/* SoftHebb's net: forward at --batch, Hebbian step at --hebb-batch, and its header lines. */
static void softhebb_case(net_case *nc, softhebb_steps *s, const options *o) {
  *nc = (net_case){.n_meas = 2, .step = softhebb_step, .ctx = s, .n_layers = SOFTHEBB_LAYERS,
                   .n_hebbian = SOFTHEBB_HEBBIAN};
  double fwd = 0, hebb = 0;
  for (int l = 0; l < SOFTHEBB_LAYERS; l++) {
    nc->layers[l] = softhebb_layers[l];
    fwd += ceiling_flops(&softhebb_layers[l]);
    if (l < SOFTHEBB_HEBBIAN) hebb += 2 * ceiling_flops(&softhebb_layers[l]);
  }
  nc->meas[0] = (measurement){MODE_EVAL, o->batch, fwd, 0};
  nc->meas[1] = (measurement){MODE_HEBB, o->hebb_batch, hebb, 0};
  printf("hebbgrad bench_net: SoftHebb's network (hg_net_softhebb, modes HHH-G, --hebb %s), "
         "forward batch %d, Hebbian step batch %d, 3x%dx%d -> %d classes, %d threads, gemm %s\n",
         SOFTHEBB_RULES, o->batch, o->hebb_batch, IMG, IMG, CLASSES, omp_get_max_threads(),
         hg_gemm_get_backend() == HG_GEMM_ONEDNN ? "onednn" : "openblas");
  printf("params %.2fM; MFLOP/image: forward %.1f, hebbian step %.1f (phase HEBB: forward up to "
         "conv3); %d warm-up + %d timed steps each\n",
         (double)s->net->param_slab->numel / 1e6, fwd / 1e6, hebb / 1e6, o->warmup, o->steps);
}

/* Time one measurement of nc (a fresh random batch per step, outside the
 * timer), print its line and return its last loss; t holds o->steps timings. */
static float time_measurement(const net_case *nc, measurement *ms, const options *o, hg_rng *data_rng,
                              int *labels, double *t) {
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(ms->batch, 3, IMG, IMG));
  if (!x) die("input batch");
  for (int i = 0; i < o->warmup; i++) {
    fill_batch(x, labels, ms->batch, data_rng);
    nc->step(nc->ctx, x, labels, ms->md);
  }
  hg_pool_stats before = hg_pool_get_stats();
  hg_kernel_stats_reset();
  float loss = 0;
  int steps = o->steps;
  for (int i = 0; i < steps; i++) {
    fill_batch(x, labels, ms->batch, data_rng);
    double t0 = now();
    loss = nc->step(nc->ctx, x, labels, ms->md);
    t[i] = now() - t0;
  }
  hg_kernel_stats k = hg_kstats;
  hg_pool_stats after = hg_pool_get_stats();
  qsort(t, (size_t)steps, sizeof *t, cmp_double);
  double med = steps % 2 ? t[steps / 2] : 0.5 * (t[steps / 2 - 1] + t[steps / 2]);
  double allocs = (double)(after.system_allocs - before.system_allocs) / steps;
  ms->img_s = ms->batch / med;
  printf("%-14s %10.2f %11.1f %12.1f %9.1f %12.2f  %ld/%ld/%ld, %ld/%ld, %ld\n", mode_name[ms->md],
         1e3 * med, ms->batch / med, ms->batch / t[0], ms->flops * ms->batch / med / 1e9, allocs,
         k.conv_forward / steps, k.conv_backward_data / steps, k.conv_backward_weights / steps,
         k.pool_forward / steps, k.pool_backward / steps, k.gemm / steps);
  fflush(stdout);
  hg_tensor_free(x);
  return loss;
}

/* --- the ceiling --- */

/* The passes of layer i that a step of mode md runs: forward (inference) in
 * evaluation; forward (training), backward-weights and, but for the first
 * layer, backward-data in SGD; forward (training) and backward-weights of
 * the layers the Hebbian step runs (inputs detached: no backward-data). */
static unsigned step_passes(const net_case *nc, mode md, int i) {
  unsigned train = CEILING_BIT(CEILING_TRAIN) | CEILING_BIT(CEILING_BWD_WEIGHTS);
  if (md == MODE_EVAL) return CEILING_BIT(CEILING_INFER);
  if (md == MODE_HEBB) return i < nc->n_hebbian ? train : 0;
  return train | (i > 0 ? CEILING_BIT(CEILING_BWD_DATA) : 0);
}

/* The first measurement with the batch of measurement m: it holds the ceiling's timings of that batch. */
static int batch_owner(const net_case *nc, int m) {
  int j = 0;
  while (nc->meas[j].batch != nc->meas[m].batch) j++;
  return j;
}

/* Time every pass that some measurement needs, once per batch, into ct[owner][layer]. */
static void ceiling_measure(const net_case *nc, const options *o, ceiling_times ct[MAX_MEAS][MAX_LAYERS]) {
  for (int m = 0; m < nc->n_meas; m++) {
    if (batch_owner(nc, m) != m) continue;
    for (int i = 0; i < nc->n_layers; i++) {
      unsigned passes = 0;
      for (int j = m; j < nc->n_meas; j++)
        if (batch_owner(nc, j) == m) passes |= step_passes(nc, nc->meas[j].md, i);
      if (ceiling_time_layer(&nc->layers[i], nc->meas[m].batch, passes, o->warmup > 0 ? o->warmup : 1,
                             o->steps, &ct[m][i]) != HG_OK)
        die("ceiling");
    }
  }
}

/* The table of every timed pass of every layer. */
static void ceiling_table(const net_case *nc, ceiling_times ct[MAX_MEAS][MAX_LAYERS]) {
  printf("%-10s %5s %-26s %-17s %9s %9s  %s\n", "layer", "batch", "shape", "pass", "ms", "GFLOP/s",
         "implementation");
  for (int m = 0; m < nc->n_meas; m++) {
    if (batch_owner(nc, m) != m) continue;
    for (int i = 0; i < nc->n_layers; i++) {
      const ceiling_layer *l = &nc->layers[i];
      char shape[64];
      if (l->conv) snprintf(shape, sizeof shape, "%dx%dx%d -> %d, %dx%d", l->c, l->h, l->w, l->k, l->kh, l->kw);
      else snprintf(shape, sizeof shape, "%d -> %d", l->c, l->k);
      for (int p = 0; p < CEILING_PASSES; p++) {
        double sec = ct[m][i].seconds[p];
        if (sec <= 0) continue;
        printf("%-10s %5d %-26s %-17s %9.3f %9.1f  %s\n", l->name, nc->meas[m].batch, shape,
               ceiling_pass_name((ceiling_pass)p), 1e3 * sec,
               ceiling_flops(l) * nc->meas[m].batch / sec / 1e9, ct[m][i].impl[p]);
      }
    }
  }
}

/* Seconds of the ceiling of measurement m: the sum of the passes its step runs. */
static double ceiling_seconds(const net_case *nc, int m, ceiling_times ct[MAX_MEAS][MAX_LAYERS]) {
  double sec = 0;
  for (int i = 0; i < nc->n_layers; i++)
    for (int p = 0; p < CEILING_PASSES; p++)
      if (step_passes(nc, nc->meas[m].md, i) & CEILING_BIT(p)) sec += ct[batch_owner(nc, m)][i].seconds[p];
  return sec;
}

/* Time the ceiling of every measurement and print hebbgrad's fraction of it. */
static void ceiling_report(const net_case *nc, const options *o) {
  static ceiling_times ct[MAX_MEAS][MAX_LAYERS];
  printf("ceiling: the convolutions and GEMMs alone (oneDNN primitives in the blocked layouts they "
         "choose, arguments reordered once before timing; OpenBLAS sgemm); pooling, batch norm, "
         "activations, losses and the optimizer not counted; median of %d runs per pass\n",
         o->steps);
  fflush(stdout);
  ceiling_measure(nc, o, ct);
  if (o->ceiling) ceiling_table(nc, ct);
  for (int m = 0; m < nc->n_meas; m++) {
    const measurement *ms = &nc->meas[m];
    double ceiling_img_s = ms->batch / ceiling_seconds(nc, m, ct);
    printf("fraction: %-14s %8.1f img/s  ceiling %8.1f img/s  %3.0f %%  (batch %d)\n", mode_name[ms->md],
           ms->img_s, ceiling_img_s, 100 * ms->img_s / ceiling_img_s, ms->batch);
  }
  ceiling_release();
}

/* The losses of the last timed training steps, the pool and the peak RSS. */
static void print_tail(const net_case *nc, const float *last_loss) {
  static const char *short_name[] = {"", "sgd", "hebbian"};
  printf("last loss:");
  for (int m = 0, k = 0; m < nc->n_meas; m++)
    if (nc->meas[m].md != MODE_EVAL)
      printf("%s %s %.4f", k++ ? "," : "", short_name[nc->meas[m].md], last_loss[m]);
  printf("\n");
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  hg_pool_stats ps = hg_pool_get_stats();
  printf("pool: %zu system allocations in all, %.1f MiB held at most, %.1f MiB cached\n",
         ps.system_allocs, (double)ps.peak_held_bytes / (1 << 20),
         (double)ps.cached_bytes / (1 << 20));
  printf("peak RSS: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
}

int main(int argc, char **argv) {
  options o;
  parse_options(argc, argv, &o);
  if (o.threads > 0) omp_set_num_threads(o.threads);

  net m = {0};
  softhebb_steps sh = {0};
  net_case nc;
  if (o.softhebb) {
    if (softhebb_steps_init(&sh, 42) != HG_OK) die("softhebb net");
    softhebb_case(&nc, &sh, &o);
  } else {
    net_init(&m, 42);
    seeds_case(&nc, &m, &o);
  }
  hg_rng data_rng;
  hg_rng_seed(&data_rng, 7, 2);
  int most = o.batch > o.hebb_batch ? o.batch : o.hebb_batch;
  int *labels = malloc((size_t)most * sizeof *labels);
  double *t = malloc((size_t)o.steps * sizeof *t);
  if (!labels || !t) die("labels and timings");

  printf("%-14s %10s %11s %12s %9s %12s  %s\n", "measurement", "ms/step", "img/s(med)",
         "img/s(best)", "GFLOP/s", "allocs/step", "kernels/step conv fwd/bwd-data/bwd-w, pool "
         "fwd/bwd, gemm");
  float last_loss[MAX_MEAS] = {0};
  for (int i = 0; i < nc.n_meas; i++) last_loss[i] = time_measurement(&nc, &nc.meas[i], &o, &data_rng, labels, t);
  print_tail(&nc, last_loss); /* before the ceiling: its buffers are not hebbgrad's memory */
  ceiling_report(&nc, &o);

  free(t);
  free(labels);
  if (o.softhebb) softhebb_steps_free(&sh);
  else net_free(&m);
  return 0;
}
