/* The ceiling: each pass of a layer timed alone, convolutions on oneDNN's
 * primitives in their preferred layouts, linear layers on OpenBLAS's sgemm
 * (bench/lib/ceiling.h). */
#define _POSIX_C_SOURCE 200809L

#include "bench/lib/ceiling.h"

#include <cblas.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/timing.h"

static dnnl_engine_t engine;
static dnnl_stream_t stream;

static const char *const pass_names[CEILING_PASSES] = {"forward-inference", "forward-training",
                                                       "backward-data", "backward-weights"};

const char *ceiling_pass_name(ceiling_pass p) { return pass_names[p]; }

double ceiling_flops(const ceiling_layer *l) {
  int oh = l->h + 2 * l->pad - l->kh + 1, ow = l->w + 2 * l->pad - l->kw + 1;
  if (!l->conv) return 2.0 * l->c * l->k;
  return 2.0 * l->k * oh * ow * l->c * l->kh * l->kw;
}

/* Record a failure: "ceiling conv2 backward-weights: oneDNN <what> failed (status N)". */
static hg_status fail(const ceiling_layer *l, ceiling_pass p, const char *what, dnnl_status_t st) {
  return hg_fail(HG_ERR_BACKEND, "ceiling %s %s: oneDNN %s failed (status %d)", l->name, pass_names[p],
                 what, (int)st);
}

/* The CPU engine and its stream, created on first use. */
static dnnl_status_t engine_ready(void) {
  if (stream) return dnnl_success;
  dnnl_status_t st = engine ? dnnl_success : dnnl_engine_create(&engine, dnnl_cpu, 0);
  if (st == dnnl_success) st = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
  if (st != dnnl_success) stream = NULL;
  return st;
}

void ceiling_release(void) {
  if (stream) dnnl_stream_destroy(stream);
  if (engine) dnnl_engine_destroy(engine);
  stream = NULL;
  engine = NULL;
}

/* --- timing --- */

typedef dnnl_status_t (*run_fn)(void *ctx);

/* Median seconds of `reps` runs of run(ctx) after `warmup` ones. */
static dnnl_status_t time_runs(run_fn run, void *ctx, int warmup, int reps, double *median) {
  double *t = malloc((size_t)reps * sizeof *t);
  dnnl_status_t st = t ? dnnl_success : dnnl_out_of_memory;
  for (int i = 0; i < warmup && st == dnnl_success; i++) st = run(ctx);
  for (int i = 0; i < reps && st == dnnl_success; i++) {
    double t0 = now();
    st = run(ctx);
    t[i] = now() - t0;
  }
  if (st == dnnl_success) {
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    *median = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
  }
  free(t);
  return st;
}

/* n floats uniform in [−1, 1). */
static void fill_uniform(float *p, size_t n, hg_rng *rng) {
  for (size_t i = 0; i < n; i++) p[i] = 2.0f * hg_rng_uniform(rng) - 1.0f;
}

/* --- convolutions on oneDNN --- */

typedef struct conv_mds {
  dnnl_memory_desc_t x, w, b, y;
} conv_mds;

/* An f32 descriptor of `ndim` dims in layout `tag` (format_tag_any: oneDNN's choice). */
static dnnl_memory_desc_t md_of(int ndim, const dnnl_dims_t dims, dnnl_format_tag_t tag) {
  dnnl_memory_desc_t md = {0};
  dnnl_memory_desc_init_by_tag(&md, ndim, dims, dnnl_f32, tag);
  return md;
}

/* The descriptors of l at batch n, plain (nchw, oihw) or `any`. */
static conv_mds conv_descs(const ceiling_layer *l, int n, bool any) {
  int oh = l->h + 2 * l->pad - l->kh + 1, ow = l->w + 2 * l->pad - l->kw + 1;
  dnnl_dims_t x = {n, l->c, l->h, l->w}, w = {l->k, l->c, l->kh, l->kw}, b = {l->k}, y = {n, l->k, oh, ow};
  return (conv_mds){.x = md_of(4, x, any ? dnnl_format_tag_any : dnnl_nchw),
                    .w = md_of(4, w, any ? dnnl_format_tag_any : dnnl_oihw),
                    .b = md_of(1, b, dnnl_x),
                    .y = md_of(4, y, any ? dnnl_format_tag_any : dnnl_nchw)};
}

/* The backward descriptor of pass p (data or weights). */
static dnnl_status_t backward_desc(dnnl_convolution_desc_t *d, const ceiling_layer *l, const conv_mds *m,
                                   ceiling_pass p) {
  dnnl_dims_t strides = {1, 1}, pads = {l->pad, l->pad};
  if (p == CEILING_BWD_DATA)
    return dnnl_convolution_backward_data_desc_init(d, dnnl_convolution_direct, &m->x, &m->w, &m->y,
                                                    strides, pads, pads);
  return dnnl_convolution_backward_weights_desc_init(d, dnnl_convolution_direct, &m->x, &m->w,
                                                     l->bias ? &m->b : NULL, &m->y, strides, pads, pads);
}

/* The primitive descriptor of pass p; a backward pass is hinted by the training forward. */
static dnnl_status_t conv_pd(dnnl_primitive_desc_t *pd, const ceiling_layer *l, const conv_mds *m,
                             ceiling_pass p) {
  dnnl_dims_t strides = {1, 1}, pads = {l->pad, l->pad};
  dnnl_prop_kind_t prop = p == CEILING_INFER ? dnnl_forward_inference : dnnl_forward_training;
  dnnl_convolution_desc_t fwd, bwd;
  dnnl_primitive_desc_t hint = NULL;
  dnnl_status_t st = dnnl_convolution_forward_desc_init(&fwd, prop, dnnl_convolution_direct, &m->x, &m->w,
                                                        l->bias ? &m->b : NULL, &m->y, strides, pads, pads);
  if (st == dnnl_success && p <= CEILING_TRAIN) return dnnl_primitive_desc_create(pd, &fwd, NULL, engine, NULL);
  if (st == dnnl_success) st = dnnl_primitive_desc_create(&hint, &fwd, NULL, engine, NULL);
  if (st == dnnl_success) st = backward_desc(&bwd, l, m, p);
  if (st == dnnl_success) st = dnnl_primitive_desc_create(pd, &bwd, NULL, engine, hint);
  if (hint) dnnl_primitive_desc_destroy(hint);
  return st;
}

/* The argument ids of pass p: inputs first, then outputs. */
static int conv_arg_ids(ceiling_pass p, bool bias, int ids[4]) {
  static const int fwd[] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
  static const int data[] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
  static const int weights[] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS};
  const int *src = p == CEILING_BWD_DATA ? data : p == CEILING_BWD_WEIGHTS ? weights : fwd;
  int n = 3 + (p != CEILING_BWD_DATA && bias);
  for (int i = 0; i < n; i++) ids[i] = src[i];
  return n;
}

/* The plain descriptor of the tensor behind argument id. */
static const dnnl_memory_desc_t *plain_of(const conv_mds *plain, int id) {
  switch (id) {
  case DNNL_ARG_SRC: case DNNL_ARG_DIFF_SRC: return &plain->x;
  case DNNL_ARG_WEIGHTS: case DNNL_ARG_DIFF_WEIGHTS: return &plain->w;
  case DNNL_ARG_BIAS: case DNNL_ARG_DIFF_BIAS: return &plain->b;
  default: return &plain->y;
  }
}

/* Copy src into dst (other layouts) with a one-off reorder. */
static dnnl_status_t reorder_once(dnnl_memory_t src, const dnnl_memory_desc_t *from, dnnl_memory_t dst,
                                  const dnnl_memory_desc_t *to) {
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t r = NULL;
  dnnl_status_t st = dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, NULL);
  if (st == dnnl_success) st = dnnl_primitive_create(&r, pd);
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
  if (st == dnnl_success) st = dnnl_primitive_execute(r, stream, 2, args);
  if (st == dnnl_success) st = dnnl_stream_wait(stream);
  if (r) dnnl_primitive_destroy(r);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

/* *mem in the layout `want`, holding random values reordered from the plain layout. */
static dnnl_status_t filled_memory(dnnl_memory_t *mem, const dnnl_memory_desc_t *want,
                                   const dnnl_memory_desc_t *plain, hg_rng *rng) {
  dnnl_memory_t src = NULL;
  void *data = NULL;
  dnnl_status_t st = dnnl_memory_create(mem, want, engine, DNNL_MEMORY_ALLOCATE);
  if (st != dnnl_success) *mem = NULL;
  if (st == dnnl_success) st = dnnl_memory_create(&src, plain, engine, DNNL_MEMORY_ALLOCATE);
  if (st == dnnl_success) st = dnnl_memory_get_data_handle(src, &data);
  if (st == dnnl_success) fill_uniform(data, dnnl_memory_desc_get_size(plain) / sizeof(float), rng);
  if (st == dnnl_success) st = reorder_once(src, plain, *mem, want);
  if (src) dnnl_memory_destroy(src);
  return st;
}

typedef struct conv_run {
  dnnl_primitive_t prim;
  dnnl_exec_arg_t args[4];
  int nargs;
} conv_run;

/* One execution of the primitive, waited for. */
static dnnl_status_t conv_once(void *ctx) {
  conv_run *r = ctx;
  dnnl_status_t st = dnnl_primitive_execute(r->prim, stream, r->nargs, r->args);
  return st == dnnl_success ? dnnl_stream_wait(stream) : st;
}

/* The arguments of pd, each in pd's layout and filled once. */
static dnnl_status_t conv_memories(conv_run *r, const_dnnl_primitive_desc_t pd, ceiling_pass p,
                                   const ceiling_layer *l, const conv_mds *plain) {
  int ids[4];
  int n = conv_arg_ids(p, l->bias, ids);
  hg_rng rng;
  hg_rng_seed(&rng, 11, (uint64_t)p);
  dnnl_status_t st = dnnl_success;
  for (int i = 0; i < n && st == dnnl_success; i++) {
    const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, ids[i]);
    st = want ? filled_memory(&r->args[i].memory, want, plain_of(plain, ids[i]), &rng) : dnnl_invalid_arguments;
    r->args[i].arg = ids[i];
    r->nargs = i + 1;
  }
  return st;
}

/* oneDNN's name for the implementation of pd, into impl. */
static void impl_name(const_dnnl_primitive_desc_t pd, char impl[32]) {
  const char *s = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) s = "?";
  snprintf(impl, 32, "%s", s);
}

/* Time pass p of the convolution l at batch n. */
static hg_status conv_pass(const ceiling_layer *l, int n, ceiling_pass p, int warmup, int reps,
                           ceiling_times *out) {
  conv_mds any = conv_descs(l, n, true), plain = conv_descs(l, n, false);
  conv_run r = {0};
  dnnl_primitive_desc_t pd = NULL;
  const char *what = "primitive descriptor creation";
  dnnl_status_t st = conv_pd(&pd, l, &any, p);
  if (st == dnnl_success) {
    what = "primitive creation";
    st = dnnl_primitive_create(&r.prim, pd);
    if (st != dnnl_success) r.prim = NULL;
  }
  if (st == dnnl_success) {
    what = "memory creation or reorder";
    st = conv_memories(&r, pd, p, l, &plain);
  }
  if (st == dnnl_success) {
    what = "execution";
    st = time_runs(conv_once, &r, warmup, reps, &out->seconds[p]);
  }
  if (st == dnnl_success) impl_name(pd, out->impl[p]);
  for (int i = 0; i < r.nargs; i++)
    if (r.args[i].memory) dnnl_memory_destroy(r.args[i].memory);
  if (r.prim) dnnl_primitive_destroy(r.prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st == dnnl_success ? HG_OK : fail(l, p, what, st);
}

/* --- linear layers on OpenBLAS --- */

typedef struct gemm_run {
  ceiling_pass p;
  int n, c, k;
  float *x, *w, *dy, *out; /* [n,c], [k,c], [n,k]; out as large as the largest of them */
} gemm_run;

/* The GEMM of pass p: y = x·Wᵀ, dx = dy·W or dW = dyᵀ·x. */
static dnnl_status_t gemm_once(void *ctx) {
  const gemm_run *g = ctx;
  if (g->p == CEILING_BWD_DATA)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->n, g->c, g->k, 1, g->dy, g->k, g->w, g->c, 0,
                g->out, g->c);
  else if (g->p == CEILING_BWD_WEIGHTS)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g->k, g->c, g->n, 1, g->dy, g->k, g->x, g->c, 0,
                g->out, g->c);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->n, g->k, g->c, 1, g->x, g->c, g->w, g->c, 0,
                g->out, g->k);
  return dnnl_success;
}

/* Time pass p of the linear layer l at batch n (inference and training: the same GEMM). */
static hg_status linear_pass(const ceiling_layer *l, int n, ceiling_pass p, int warmup, int reps,
                             ceiling_times *out) {
  size_t nc = (size_t)n * l->c, kc = (size_t)l->k * l->c, nk = (size_t)n * l->k;
  size_t most = kc > nc ? (kc > nk ? kc : nk) : (nc > nk ? nc : nk);
  gemm_run g = {.p = p, .n = n, .c = l->c, .k = l->k, .x = malloc(nc * sizeof(float)),
                .w = malloc(kc * sizeof(float)), .dy = malloc(nk * sizeof(float)),
                .out = malloc(most * sizeof(float))};
  bool ok = g.x && g.w && g.dy && g.out;
  hg_rng rng;
  hg_rng_seed(&rng, 13, (uint64_t)p);
  if (ok) {
    fill_uniform(g.x, nc, &rng);
    fill_uniform(g.w, kc, &rng);
    fill_uniform(g.dy, nk, &rng);
    openblas_set_num_threads(omp_get_max_threads());
    ok = time_runs(gemm_once, &g, warmup, reps, &out->seconds[p]) == dnnl_success;
    snprintf(out->impl[p], sizeof out->impl[p], "openblas sgemm");
  }
  hg_status s = ok ? HG_OK : hg_fail(HG_ERR_NOMEM, "ceiling %s %s: out of memory", l->name, pass_names[p]);
  free(g.x);
  free(g.w);
  free(g.dy);
  free(g.out);
  return s;
}

hg_status ceiling_time_layer(const ceiling_layer *l, int n, unsigned passes, int warmup, int reps,
                             ceiling_times *out) {
  *out = (ceiling_times){.seconds = {0}};
  dnnl_status_t st = l->conv ? engine_ready() : dnnl_success;
  if (st != dnnl_success) return fail(l, CEILING_INFER, "engine or stream creation", st);
  hg_status s = HG_OK;
  for (int p = 0; p < CEILING_PASSES && s == HG_OK; p++) {
    if (!(passes & CEILING_BIT(p))) continue;
    s = l->conv ? conv_pass(l, n, (ceiling_pass)p, warmup, reps, out)
                : linear_pass(l, n, (ceiling_pass)p, warmup, reps, out);
  }
  return s;
}
