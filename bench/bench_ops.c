/* Kernel and op timings at the seeds' network sizes (batch 64), one per line:
 * GEMM on both backends (to justify the default), the convolution kernels of
 * every conv layer of the seeds' net and of SoftHebb's 3×3 ones (forward,
 * backward-data, backward-weights; oneDNN's direct kernels and, for the 3×3
 * layers, the Winograd ones — rates count the direct products), pooling, every
 * op of the table at its spec's benchmark shapes (forward, and forward +
 * backward), and the Hebbian surrogate losses (loss + backward) at the fc5
 * and conv2 shapes.
 * Each entry: warm-up, then reps sized to ~0.4 s (0.1 s with --quick);
 * median and best time with CLOCK_MONOTONIC.
 *
 * Usage: bench_ops [--quick] [--threads T] */
#define _POSIX_C_SOURCE 200809L

#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/timing.h"
#include "hebbgrad.h"
#include "tensor/conv.h"
#include "tensor/pooling.h"
#include "tensor/winograd.h"

static double budget_s = 0.4;
static int max_reps = 200;

static void die(const char *what) {
  fprintf(stderr, "bench_ops: %s failed: %s\n", what, hg_last_error());
  exit(1);
}

typedef void (*bench_fn)(void *ctx);
typedef struct timing {
  double med, best;
  int reps;
} timing;

/* Two warm-up calls, then as many reps as fit the budget (3..max_reps). */
static timing time_fn(bench_fn fn, void *ctx) {
  fn(ctx);
  double t0 = now();
  fn(ctx);
  double once = now() - t0;
  int reps = once > 0 ? (int)(budget_s / once) : max_reps;
  if (reps < 3) reps = 3;
  if (reps > max_reps) reps = max_reps;
  double t[1000];
  for (int i = 0; i < reps; i++) {
    double s = now();
    fn(ctx);
    t[i] = now() - s;
  }
  qsort(t, (size_t)reps, sizeof t[0], cmp_double);
  timing r = {reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]), t[0], reps};
  return r;
}

/* rate = work / median time, in `unit` (GFLOP/s or GB/s: work in 1e9); "-"
 * for no work (a view). */
static void report(const char *name, const char *shape, timing t, double work, const char *unit) {
  char rate[16] = "-";
  if (work > 0) snprintf(rate, sizeof rate, "%.1f", work / t.med / 1e9);
  printf("%-40s %-40s %9.3f %9.3f %9s %-7s %4d\n", name, shape, 1e3 * t.med, 1e3 * t.best, rate, unit,
         t.reps);
  fflush(stdout);
}

static float *buffer(size_t n, hg_rng *rng) {
  float *p = hg_pool_alloc(n * sizeof(float));
  if (!p) die("buffer");
  for (size_t i = 0; i < n; i++) p[i] = hg_rng_uniform(rng) - 0.5f;
  return p;
}

/* --- GEMM --- */

typedef struct gemm_ctx {
  bool ta, tb;
  int m, n, k;
  float *a, *b, *c;
} gemm_ctx;

static void run_gemm(void *p) {
  gemm_ctx *g = p;
  int lda = g->ta ? g->m : g->k, ldb = g->tb ? g->k : g->n;
  if (hg_gemm(g->ta, g->tb, g->m, g->n, g->k, 1.0f, g->a, lda, g->b, ldb, 0.0f, g->c, g->n) != HG_OK)
    die("hg_gemm");
}

static void bench_gemm(hg_rng *rng) {
  static const struct {
    const char *what;
    bool ta, tb;
    int m, n, k;
  } cases[] = {
      {"fc5 fwd  x.W^T", false, true, 64, 4096, 2304},
      {"fc5 bwd-data dy.W", false, false, 64, 2304, 4096},
      {"fc5 bwd-w dy^T.x", true, false, 4096, 2304, 64},
      {"square", false, false, 1024, 1024, 1024},
  };
  static const struct {
    hg_gemm_backend backend;
    const char *name;
  } backends[] = {{HG_GEMM_ONEDNN, "onednn"}, {HG_GEMM_OPENBLAS, "openblas"}};
  hg_gemm_backend saved = hg_gemm_get_backend();
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    gemm_ctx g = {cases[c].ta, cases[c].tb, cases[c].m, cases[c].n, cases[c].k, NULL, NULL, NULL};
    g.a = buffer((size_t)g.m * g.k, rng);
    g.b = buffer((size_t)g.k * g.n, rng);
    g.c = buffer((size_t)g.m * g.n, rng);
    for (size_t b = 0; b < 2; b++) {
      hg_gemm_set_backend(backends[b].backend);
      char name[64], shape[64];
      snprintf(name, sizeof name, "gemm %-8s %s", backends[b].name, cases[c].what);
      snprintf(shape, sizeof shape, "%dx%dx%d %c%c", g.m, g.n, g.k, g.ta ? 'T' : 'N',
               g.tb ? 'T' : 'N');
      report(name, shape, time_fn(run_gemm, &g), 2.0 * g.m * g.n * g.k, "GFLOP/s");
    }
    hg_pool_free(g.a, (size_t)g.m * g.k * sizeof(float));
    hg_pool_free(g.b, (size_t)g.k * g.n * sizeof(float));
    hg_pool_free(g.c, (size_t)g.m * g.n * sizeof(float));
  }
  hg_gemm_set_backend(saved);
}

/* --- convolution kernels --- */

typedef struct conv_ctx {
  hg_conv_shape s;
  float *x, *w, *b, *y, *dx, *dw, *db;
} conv_ctx;

static void run_conv_fwd(void *p) {
  conv_ctx *c = p;
  if (hg_conv2d_forward(&c->s, c->x, c->w, c->b, c->y) != HG_OK) die("conv forward");
}
static void run_conv_bwd_data(void *p) {
  conv_ctx *c = p;
  if (hg_conv2d_backward_data(&c->s, c->y, c->w, c->dx, false) != HG_OK) die("conv bwd-data");
}
static void run_conv_bwd_weights(void *p) {
  conv_ctx *c = p;
  if (hg_conv2d_backward_weights(&c->s, c->x, c->y, c->dw, c->db, false) != HG_OK)
    die("conv bwd-weights");
}

/* The three passes of c's layer under the current algorithm, as "NAME PASS ALGORITHM". */
static void bench_conv_passes(conv_ctx *c, const char *layer, const char *algorithm) {
  static const char *const pass[] = {"forward", "backward-data", "backward-weights"};
  static const bench_fn run[] = {run_conv_fwd, run_conv_bwd_data, run_conv_bwd_weights};
  double flop = 2.0 * c->s.n * c->s.k * c->s.oh * c->s.ow * c->s.c * c->s.kh * c->s.kw;
  char name[64], shape[64];
  snprintf(shape, sizeof shape, "%dx%dx%dx%d k%d %dx%d", c->s.n, c->s.c, c->s.h, c->s.w, c->s.k,
           c->s.kh, c->s.kw);
  for (int i = 0; i < 3; i++) {
    snprintf(name, sizeof name, "%s %s %s", layer, pass[i], algorithm);
    report(name, shape, time_fn(run[i], c), flop, "GFLOP/s");
  }
}

/* The seeds' conv layers at `batch` and SoftHebb's 3×3 ones (reflect padding
 * done before: conv2 at batch 64, conv3 at 64 and at its Hebbian batch 10). */
static void bench_conv(int batch, hg_rng *rng) {
  static const struct {
    const char *name;
    int n, c, hw, k, kk;
  } layers[] = {{"conv1", 0, 3, 32, 96, 5},          {"conv2", 0, 96, 14, 128, 3},
                {"conv3", 0, 128, 12, 192, 3},       {"conv4", 0, 192, 5, 256, 3},
                {"softhebb conv2", 64, 96, 18, 384, 3}, {"softhebb conv3", 64, 384, 10, 1536, 3},
                {"softhebb conv3", 10, 384, 10, 1536, 3}};
  for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
    conv_ctx c;
    int n = layers[l].n ? layers[l].n : batch;
    int xs[4] = {n, layers[l].c, layers[l].hw, layers[l].hw};
    int ws[4] = {layers[l].k, layers[l].c, layers[l].kk, layers[l].kk};
    if (hg_conv_shape_init(&c.s, xs, ws, 1, 0) != HG_OK) die("conv shape");
    size_t nx = (size_t)n * c.s.c * c.s.h * c.s.w, nw = (size_t)c.s.k * c.s.c * c.s.kh * c.s.kw;
    size_t ny = (size_t)n * c.s.k * c.s.oh * c.s.ow;
    c.x = buffer(nx, rng);
    c.dx = buffer(nx, rng);
    c.w = buffer(nw, rng);
    c.dw = buffer(nw, rng);
    c.b = buffer((size_t)c.s.k, rng);
    c.db = buffer((size_t)c.s.k, rng);
    c.y = buffer(ny, rng);
    hg_conv_set_algorithm(HG_CONV_DIRECT);
    bench_conv_passes(&c, layers[l].name, "direct");
    if (hg_winograd_fits(&c.s)) {
      hg_conv_set_algorithm(HG_CONV_WINOGRAD);
      bench_conv_passes(&c, layers[l].name, "winograd");
    }
    hg_conv_set_algorithm(HG_CONV_AUTO);
    hg_pool_free(c.x, nx * sizeof(float));
    hg_pool_free(c.dx, nx * sizeof(float));
    hg_pool_free(c.w, nw * sizeof(float));
    hg_pool_free(c.dw, nw * sizeof(float));
    hg_pool_free(c.b, (size_t)c.s.k * sizeof(float));
    hg_pool_free(c.db, (size_t)c.s.k * sizeof(float));
    hg_pool_free(c.y, ny * sizeof(float));
  }
}

/* --- pooling kernels --- */

typedef struct pool_ctx {
  hg_pool_shape s;
  float *x, *y, *dx;
  void *ws;
} pool_ctx;

static void run_pool_fwd(void *p) {
  pool_ctx *c = p;
  if (hg_pool2d_forward(&c->s, c->x, c->y, c->ws) != HG_OK) die("pool forward");
}
static void run_pool_bwd(void *p) {
  pool_ctx *c = p;
  if (hg_pool2d_backward(&c->s, c->y, c->ws, c->dx, false) != HG_OK) die("pool backward");
}

static void bench_pool(int batch, hg_rng *rng) {
  static const struct {
    const char *name;
    int c, hw;
  } sites[] = {{"pool1", 96, 28}, {"pool3", 192, 10}};
  for (size_t i = 0; i < sizeof sites / sizeof sites[0]; i++) {
    for (int kind = HG_POOL_MAX; kind <= HG_POOL_AVG; kind++) {
      pool_ctx c;
      int xs[4] = {batch, sites[i].c, sites[i].hw, sites[i].hw};
      if (hg_pool_shape_init(&c.s, (hg_pool_kind)kind, xs, 2, 2, 0) != HG_OK) die("pool shape");
      size_t nx = (size_t)batch * c.s.c * c.s.h * c.s.w, ny = (size_t)batch * c.s.c * c.s.oh * c.s.ow;
      size_t wsb = hg_pool2d_workspace_bytes(&c.s);
      c.x = buffer(nx, rng);
      c.dx = buffer(nx, rng);
      c.y = buffer(ny, rng);
      c.ws = wsb ? hg_pool_alloc(wsb) : NULL;
      if (wsb && !c.ws) die("workspace");
      char name[64], shape[64];
      const char *k = kind == HG_POOL_MAX ? "max" : "avg";
      snprintf(shape, sizeof shape, "%dx%dx%dx%d k2 s2", batch, c.s.c, c.s.h, c.s.w);
      double bytes = 4.0 * (double)(nx + ny) + (double)wsb;
      snprintf(name, sizeof name, "%s %s forward", sites[i].name, k);
      report(name, shape, time_fn(run_pool_fwd, &c), bytes, "GB/s");
      snprintf(name, sizeof name, "%s %s backward", sites[i].name, k);
      report(name, shape, time_fn(run_pool_bwd, &c), bytes, "GB/s");
      hg_pool_free(c.x, nx * sizeof(float));
      hg_pool_free(c.dx, nx * sizeof(float));
      hg_pool_free(c.y, ny * sizeof(float));
      if (wsb) hg_pool_free(c.ws, wsb);
    }
  }
}

/* --- every op of the table (autograd/op_table.h) at its spec's benchmark
 * shapes: forward alone (grad mode off), and forward + backward (its inputs
 * flagged HG_IN_GRAD require a gradient) --- */

typedef struct op_ctx {
  const hg_op *op;
  const hg_op_case *c;
  hg_tensor *in[HG_OP_MAX_IN], *gout;
  bool backward;
} op_ctx;

static void run_op(void *p) {
  op_ctx *c = p;
  bool was = hg_set_grad_enabled(c->backward);
  hg_tensor *y = hg_op_case_run(c->op, c->c, c->in);
  if (!y) die(c->op->name);
  if (c->backward) {
    if (hg_backward_from(y, c->gout) != HG_OK) die("backward");
    hg_tape_clear();
  }
  hg_tensor_free(y);
  hg_set_grad_enabled(was);
}

/* The inputs' shapes, "[64,96,28,28] [96,1,1]", and their bytes. */
static double input_shapes(const op_ctx *c, char *buf, size_t size) {
  double bytes = 0;
  buf[0] = '\0';
  for (int i = 0; i < c->c->n_in; i++) {
    char one[64];
    size_t len = strlen(buf);
    snprintf(buf + len, size - len, "%s%s", i ? " " : "", hg_shape_str(c->in[i], one, sizeof one));
    bytes += 4.0 * (double)c->in[i]->numel;
  }
  return bytes;
}

/* One benchmark case: forward traffic is reading the inputs and writing the
 * output (none for a view of its input); forward + backward is counted as
 * twice the inputs and the output. */
static void bench_op_case(const hg_op *op, const hg_op_case *bc, hg_rng *rng) {
  op_ctx c = {.op = op, .c = bc};
  if (hg_op_case_inputs(bc, hg_rng_u32(rng), c.in) != HG_OK) die(op->name);
  hg_tensor *y = hg_op_case_run(op, bc, c.in);
  if (!y) die(op->name);
  c.gout = hg_tensor_normal(y->ndim, y->shape, 0.0f, 1.0f, rng);
  if (!c.gout) die("gradient seed");
  double out_bytes = 4.0 * (double)y->numel;
  bool view = y->storage == c.in[0]->storage;
  hg_tensor_free(y);
  hg_tape_clear();
  char name[64], shapes[128];
  double bytes = input_shapes(&c, shapes, sizeof shapes) + out_bytes;
  snprintf(name, sizeof name, "%s %s forward", op->name, bc->label);
  report(name, shapes, time_fn(run_op, &c), view ? 0.0 : bytes, "GB/s");
  c.backward = true;
  snprintf(name, sizeof name, "%s %s fwd+bwd", op->name, bc->label);
  report(name, shapes, time_fn(run_op, &c), 2.0 * bytes, "GB/s");
  hg_tensor_free(c.gout);
  hg_op_case_free(c.in);
}

static void bench_op_table(hg_rng *rng) {
  for (int i = 0; i < hg_op_count(); i++)
    for (int b = 0; b < hg_op_at(i)->n_bench; b++) bench_op_case(hg_op_at(i), &hg_op_at(i)->bench[b], rng);
}

/* One Hebbian surrogate loss and its backward: u = W·x recorded, y = relu(u). */
typedef struct hebb_ctx {
  const hg_rule_def *rule;
  hg_tensor *x, *w, *y;
  bool conv;
} hebb_ctx;

static void run_hebb(void *p) {
  hebb_ctx *c = p;
  hg_tensor *u = c->conv ? hg_conv2d(c->x, c->w, NULL, 1, 0) : hg_linear(c->x, c->w, NULL);
  hg_rule_ctx rc = {.u = u, .w = c->w, .x = c->x, .stride = 1, .agg = HG_AGG_AVG};
  hg_tensor *loss = u ? c->rule->loss(&rc, c->y) : NULL;
  if (!loss || hg_backward(loss) != HG_OK) die("hebb loss");
  hg_tensor_free(loss);
  hg_tensor_free(u);
  hg_tape_clear();
  hg_zero_grad(c->w);
}

/* Work: the GEMMs of u and of the gradient (2·2·N·P·K·D) plus, for HPCA,
 * C = Σ y yᵀ (2·N·P·K²) and tril(C)·W in 8 row blocks (2·(36/64)·K²·D). */
static void bench_hebb(int batch, hg_rng *rng) {
  static const struct { const char *name; bool conv; int cin, side, k, ks; } shapes[] = {
      {"fc5", false, 2304, 1, 4096, 1}, {"conv2", true, 96, 14, 128, 3}};
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (int r = 0; r < 2; r++) {
      hebb_ctx c = {.rule = hg_rule_find(r ? "hpca" : "instar"), .conv = shapes[i].conv};
      int ks = shapes[i].ks, side = shapes[i].side, k = shapes[i].k, out = side - ks + 1;
      c.x = shapes[i].conv ? hg_tensor_empty(HG_SHAPE(batch, shapes[i].cin, side, side))
                           : hg_tensor_empty(HG_SHAPE(batch, shapes[i].cin));
      c.w = shapes[i].conv ? hg_tensor_empty(HG_SHAPE(k, shapes[i].cin, ks, ks))
                           : hg_tensor_empty(HG_SHAPE(k, shapes[i].cin));
      c.y = shapes[i].conv ? hg_tensor_empty(HG_SHAPE(batch, k, out, out)) : hg_tensor_empty(HG_SHAPE(batch, k));
      if (!c.x || !c.w || !c.y) die("hebb tensors");
      for (size_t j = 0; j < c.x->numel; j++) c.x->data[j] = hg_rng_normal(rng);
      for (size_t j = 0; j < c.w->numel; j++) c.w->data[j] = 0.02f * hg_rng_normal(rng);
      for (size_t j = 0; j < c.y->numel; j++) c.y->data[j] = hg_rng_uniform(rng);
      hg_requires_grad(c.w, true);
      double np = (double)batch * out * out, d = (double)c.w->numel / k;
      double flop = 4.0 * np * k * d + (r ? 2.0 * np * k * k + 2.0 * 36.0 / 64.0 * k * k * d : 0.0);
      char name[64], shape[64];
      snprintf(name, sizeof name, "hebb %s loss+bwd", r ? "hpca" : "instar");
      snprintf(shape, sizeof shape, "%s [%d,%d]x[%d,%d]", shapes[i].name, batch * out * out, (int)d, k, (int)d);
      report(name, shape, time_fn(run_hebb, &c), flop, "GFLOP/s");
      hg_tensor_free(c.x);
      hg_tensor_free(c.w);
      hg_tensor_free(c.y);
    }
}

int main(int argc, char **argv) {
  int threads = 0, batch = 64;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) {
      budget_s = 0.1;
      max_reps = 30;
    } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads = atoi(argv[++i]);
    } else {
      fprintf(stderr, "usage: bench_ops [--quick] [--threads T]\n");
      return 2;
    }
  }
  if (threads > 0) {
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
  }
  hg_rng rng;
  hg_rng_seed(&rng, 1, 1);
  printf("hebbgrad bench_ops: batch %d, %d threads, default gemm %s; median/best of reps after "
         "warm-up\n",
         batch, omp_get_max_threads(),
         hg_gemm_get_backend() == HG_GEMM_ONEDNN ? "onednn" : "openblas");
  printf("%-40s %-40s %9s %9s %9s %-7s %4s\n", "op", "shape", "med ms", "best ms", "rate", "unit",
         "reps");
  bench_gemm(&rng);
  bench_conv(batch, &rng);
  bench_pool(batch, &rng);
  bench_op_table(&rng);
  bench_hebb(batch, &rng);
  return 0;
}
