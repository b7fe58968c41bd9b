/* The oneDNN/BLAS kernels (convolution — direct and Winograd —, pooling, gemm) against naive loops,
 * the shape errors of their ops, the work skipped for detached inputs, and
 * the primitive cache. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tests/helpers.h"
#include "tensor/conv.h"
#include "tensor/kernel_cache.h"
#include "tensor/pooling.h"
#include "tensor/winograd.h"

/* ---------- buffers ---------- */

static float *rand_buf(size_t n, uint64_t seed) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 11);
  float *p = malloc(n * sizeof *p);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) p[i] = 2.0f * hg_rng_uniform(&rng) - 1.0f;
  return p;
}

/* Distinct values (a shuffled 0..n-1, scaled), so a max has one winner. */
static float *distinct_buf(size_t n, uint64_t seed) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 12);
  int *perm = malloc(n * sizeof *perm);
  float *p = malloc(n * sizeof *p);
  assert_true(perm && p);
  for (size_t i = 0; i < n; i++) perm[i] = (int)i;
  hg_rng_shuffle(&rng, perm, (int)n);
  for (size_t i = 0; i < n; i++) p[i] = 0.1f * (float)perm[i] - 0.05f * (float)n;
  free(perm);
  return p;
}

static float *copy_buf(const float *src, size_t n) {
  float *p = malloc(n * sizeof *p);
  assert_non_null(p);
  memcpy(p, src, n * sizeof *p);
  return p;
}

/* ---------- naive references ---------- */

static size_t at4(int a, int b, int c, int d, int B, int C, int D) {
  return (((size_t)a * B + b) * C + c) * D + d;
}

/* y = w ⋆ x + b */
static void ref_conv_forward(const hg_conv_shape *s, const float *x, const float *w,
                             const float *b, float *y) {
  for (int n = 0; n < s->n; n++)
    for (int k = 0; k < s->k; k++)
      for (int i = 0; i < s->oh; i++)
        for (int j = 0; j < s->ow; j++) {
          double acc = b ? b[k] : 0.0;
          for (int c = 0; c < s->c; c++)
            for (int p = 0; p < s->kh; p++)
              for (int q = 0; q < s->kw; q++) {
                int r = i * s->stride - s->pad + p, t = j * s->stride - s->pad + q;
                if (r < 0 || r >= s->h || t < 0 || t >= s->w) continue;
                acc += (double)x[at4(n, c, r, t, s->c, s->h, s->w)] *
                       w[at4(k, c, p, q, s->c, s->kh, s->kw)];
              }
          y[at4(n, k, i, j, s->k, s->oh, s->ow)] = (float)acc;
        }
}

/* dx, dw, db of Σ dy ⊙ conv(x, w, b), written (not added) */
static void ref_conv_backward(const hg_conv_shape *s, const float *x, const float *w,
                              const float *dy, float *dx, float *dw, float *db) {
  memset(dx, 0, (size_t)s->n * s->c * s->h * s->w * sizeof *dx);
  memset(dw, 0, (size_t)s->k * s->c * s->kh * s->kw * sizeof *dw);
  memset(db, 0, (size_t)s->k * sizeof *db);
  for (int n = 0; n < s->n; n++)
    for (int k = 0; k < s->k; k++)
      for (int i = 0; i < s->oh; i++)
        for (int j = 0; j < s->ow; j++) {
          float g = dy[at4(n, k, i, j, s->k, s->oh, s->ow)];
          db[k] += g;
          for (int c = 0; c < s->c; c++)
            for (int p = 0; p < s->kh; p++)
              for (int q = 0; q < s->kw; q++) {
                int r = i * s->stride - s->pad + p, t = j * s->stride - s->pad + q;
                if (r < 0 || r >= s->h || t < 0 || t >= s->w) continue;
                size_t xi = at4(n, c, r, t, s->c, s->h, s->w), wi = at4(k, c, p, q, s->c, s->kh, s->kw);
                dx[xi] += g * w[wi];
                dw[wi] += g * x[xi];
              }
        }
}

/* Pooling forward; arg[o] gets the input index of the max (-1 if none). */
static void ref_pool_forward(const hg_pool_shape *s, const float *x, float *y, long *arg) {
  for (int nc = 0; nc < s->n * s->c; nc++)
    for (int i = 0; i < s->oh; i++)
      for (int j = 0; j < s->ow; j++) {
        double sum = 0;
        float best = 0;
        long where = -1;
        for (int p = 0; p < s->kernel; p++)
          for (int q = 0; q < s->kernel; q++) {
            int r = i * s->stride - s->pad + p, t = j * s->stride - s->pad + q;
            if (r < 0 || r >= s->h || t < 0 || t >= s->w) continue;
            long xi = ((long)nc * s->h + r) * s->w + t;
            sum += x[xi];
            if (where < 0 || x[xi] > best) best = x[xi], where = xi;
          }
        size_t o = ((size_t)nc * s->oh + i) * s->ow + j;
        y[o] = s->kind == HG_POOL_MAX ? best : (float)(sum / (s->kernel * s->kernel));
        arg[o] = where;
      }
}

static void ref_pool_backward(const hg_pool_shape *s, const long *arg, const float *dy, float *dx) {
  memset(dx, 0, (size_t)s->n * s->c * s->h * s->w * sizeof *dx);
  float inv = 1.0f / (float)(s->kernel * s->kernel);
  for (int nc = 0; nc < s->n * s->c; nc++)
    for (int i = 0; i < s->oh; i++)
      for (int j = 0; j < s->ow; j++) {
        size_t o = ((size_t)nc * s->oh + i) * s->ow + j;
        if (s->kind == HG_POOL_MAX) {
          dx[arg[o]] += dy[o];
          continue;
        }
        for (int p = 0; p < s->kernel; p++)
          for (int q = 0; q < s->kernel; q++) {
            int r = i * s->stride - s->pad + p, t = j * s->stride - s->pad + q;
            if (r >= 0 && r < s->h && t >= 0 && t < s->w) dx[((size_t)nc * s->h + r) * s->w + t] += inv * dy[o];
          }
      }
}

/* C = α·op(A)·op(B) + β·C */
static void ref_gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
                     const float *b, int ldb, float beta, float *c, int ldc) {
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double acc = 0;
      for (int p = 0; p < k; p++)
        acc += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
      c[i * ldc + j] = (float)(alpha * acc + (beta == 0.0f ? 0.0 : beta * c[i * ldc + j]));
    }
}

/* ---------- convolution kernels ---------- */

typedef struct conv_case {
  int n, c, h, w, k, kh, kw, stride, pad;
  bool bias;
} conv_case;

/* r = a + b element-wise (the expected result of an accumulating call) */
static float *plus(const float *a, const float *b, size_t n) {
  float *r = malloc(n * sizeof *r);
  assert_non_null(r);
  for (size_t i = 0; i < n; i++) r[i] = a[i] + b[i];
  return r;
}

/* The tolerance of a result against its double-summed reference: 1e-4
 * absolute for direct kernels; Winograd's transforms round at the scale of
 * the largest element, so for them 1e-4 of that (errors measured ≈ 1e-5 of it). */
static float abs_tol(const float *want, size_t n, bool winograd) {
  float scale = 0;
  for (size_t i = 0; i < n; i++) scale = fmaxf(scale, fabsf(want[i]));
  return winograd ? 1e-4f * fmaxf(scale, 1.0f) : 1e-4f;
}

/* One kernel's result, written then accumulated onto `prior`. */
static void check_twice(const float *got_set, const float *got_acc, const float *prior,
                        const float *want, size_t n, bool winograd) {
  float atol = abs_tol(want, n, winograd);
  hgt_close(got_set, want, n, 1e-4f, atol);
  float *sum = plus(prior, want, n);
  hgt_close(got_acc, sum, n, 1e-4f, atol);
  free(sum);
}

/* The kernels on one case against the references; winograd: whether they ran Winograd. */
static void run_conv_case(const conv_case *cc, bool winograd) {
  hg_conv_shape s;
  int xs[4] = {cc->n, cc->c, cc->h, cc->w}, ws[4] = {cc->k, cc->c, cc->kh, cc->kw};
  hgt_status(hg_conv_shape_init(&s, xs, ws, cc->stride, cc->pad));
  size_t nx = (size_t)s.n * s.c * s.h * s.w, nw = (size_t)s.k * s.c * s.kh * s.kw;
  size_t ny = (size_t)s.n * s.k * s.oh * s.ow, nb = (size_t)s.k;
  float *x = rand_buf(nx, 1), *w = rand_buf(nw, 2), *b = rand_buf(nb, 3), *dy = rand_buf(ny, 4);
  float *y = rand_buf(ny, 5), *want_y = rand_buf(ny, 6);
  float *bias = cc->bias ? b : NULL;
  hgt_status(hg_conv2d_forward(&s, x, w, bias, y));
  ref_conv_forward(&s, x, w, bias, want_y);
  hgt_close(y, want_y, ny, 1e-4f, abs_tol(want_y, ny, winograd));
  s.relu = true; /* the ReLU post-op: max(reference, 0) */
  hgt_status(hg_conv2d_forward(&s, x, w, bias, y));
  s.relu = false;
  for (size_t i = 0; i < ny; i++) want_y[i] = want_y[i] > 0.0f ? want_y[i] : 0.0f;
  hgt_close(y, want_y, ny, 1e-4f, abs_tol(want_y, ny, winograd));

  float *want_dx = malloc(nx * sizeof(float)), *want_dw = malloc(nw * sizeof(float));
  float *want_db = malloc(nb * sizeof(float));
  ref_conv_backward(&s, x, w, dy, want_dx, want_dw, want_db);

  float *dx = rand_buf(nx, 7), *prior_dx = rand_buf(nx, 8), *dx_acc = copy_buf(prior_dx, nx);
  hgt_status(hg_conv2d_backward_data(&s, dy, w, dx, false));
  hgt_status(hg_conv2d_backward_data(&s, dy, w, dx_acc, true));
  check_twice(dx, dx_acc, prior_dx, want_dx, nx, winograd);

  float *dw = rand_buf(nw, 9), *prior_dw = rand_buf(nw, 10), *dw_acc = copy_buf(prior_dw, nw);
  float *db = rand_buf(nb, 11), *prior_db = rand_buf(nb, 12), *db_acc = copy_buf(prior_db, nb);
  hgt_status(hg_conv2d_backward_weights(&s, x, dy, dw, cc->bias ? db : NULL, false));
  hgt_status(hg_conv2d_backward_weights(&s, x, dy, dw_acc, cc->bias ? db_acc : NULL, true));
  check_twice(dw, dw_acc, prior_dw, want_dw, nw, winograd);
  if (cc->bias) check_twice(db, db_acc, prior_db, want_db, nb, winograd);

  float *all[] = {x, w, b, dy, y, want_y, want_dx, want_dw, want_db, dx, prior_dx, dx_acc,
                  dw, prior_dw, dw_acc, db, prior_db, db_acc};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
}

static const conv_case conv_cases[] = {
    {2, 3, 7, 9, 4, 3, 3, 1, 0, true},      /* non-square input */
    {2, 3, 8, 6, 5, 3, 3, 2, 1, true},      /* stride 2 pad 1 */
    {1, 2, 9, 7, 3, 5, 5, 2, 2, false},     /* 5x5, pad 2, no bias */
    {2, 4, 5, 5, 3, 1, 1, 1, 0, false},     /* 1x1 */
    {2, 3, 6, 10, 4, 3, 2, 1, 1, true},     /* non-square kernel */
    {3, 16, 12, 12, 32, 3, 3, 1, 1, true},  /* enough channels for blocked kernels */
    {5, 20, 9, 7, 36, 3, 3, 1, 1, true},    /* blocked, channels not multiples of 16, odd batch */
    {1, 3, 13, 13, 48, 5, 5, 1, 2, false},  /* 3 input channels into 48 (a first layer's kernel) */
    {2, 3, 11, 11, 8, 5, 5, 2, 0, true},
    {2, 3, 6, 6, 5, 3, 3, 1, 2, false},     /* 3x3 pad 2: output larger than the input */
    {3, 70, 10, 13, 66, 3, 3, 1, 1, true},  /* many channels: Winograd by default, partial tiles */
    {2, 64, 6, 6, 64, 3, 3, 1, 0, false},   /* 4x4 output: one whole tile each */
};
enum { N_CONV_CASES = sizeof conv_cases / sizeof conv_cases[0] };

/* Each case under the algorithm; the Winograd kernels ran exactly where expected
 * (6 calls a case: two forwards, two of each backward). */
static void run_conv_cases(hg_conv_algorithm algorithm) {
  hg_conv_set_algorithm(algorithm);
  for (int i = 0; i < N_CONV_CASES; i++) {
    const conv_case *cc = &conv_cases[i];
    hg_conv_shape s;
    int xs[4] = {cc->n, cc->c, cc->h, cc->w}, ws[4] = {cc->k, cc->c, cc->kh, cc->kw};
    hgt_status(hg_conv_shape_init(&s, xs, ws, cc->stride, cc->pad));
    long expected = algorithm == HG_CONV_DIRECT     ? 0
                    : algorithm == HG_CONV_WINOGRAD ? 6 * hg_winograd_fits(&s)
                    : 4 * hg_winograd_pays(&s, false) + 2 * hg_winograd_pays(&s, true);
    long before = hg_kstats.conv_winograd;
    run_conv_case(cc, expected > 0);
    if (hg_kstats.conv_winograd - before != expected)
      fail_msg("case %d: %ld Winograd calls, expected %ld", i, hg_kstats.conv_winograd - before, expected);
  }
  hg_conv_set_algorithm(HG_CONV_AUTO);
}

static void test_conv_kernels(void **state) {
  (void)state;
  run_conv_cases(HG_CONV_AUTO);
}

static void test_conv_kernels_direct(void **state) {
  (void)state;
  run_conv_cases(HG_CONV_DIRECT);
}

static void test_conv_kernels_winograd(void **state) {
  (void)state;
  run_conv_cases(HG_CONV_WINOGRAD);
}

/* The default picks Winograd for the SoftHebb net's 3×3 layers, not for small channel counts. */
static void test_winograd_choice(void **state) {
  (void)state;
  hg_conv_shape s;
  hgt_status(hg_conv_shape_init(&s, (int[]){10, 384, 10, 10}, (int[]){1536, 384, 3, 3}, 1, 0));
  assert_true(hg_winograd_pays(&s, false));
  hgt_status(hg_conv_shape_init(&s, (int[]){10, 96, 18, 18}, (int[]){384, 96, 3, 3}, 1, 0));
  assert_true(hg_winograd_pays(&s, false) && hg_winograd_pays(&s, true));
  hgt_status(hg_conv_shape_init(&s, (int[]){10, 32, 18, 18}, (int[]){384, 32, 3, 3}, 1, 0));
  assert_false(hg_winograd_pays(&s, false));
  hgt_status(hg_conv_shape_init(&s, (int[]){64, 192, 5, 5}, (int[]){256, 192, 3, 3}, 1, 0));
  assert_true(hg_winograd_pays(&s, false));  /* 3×3 output, one tile: 36 products against 81 */
  assert_false(hg_winograd_pays(&s, true));  /* 5×5 input, four tiles: 144 against 225 */
  hgt_status(hg_conv_shape_init(&s, (int[]){2, 64, 9, 9}, (int[]){64, 64, 3, 3}, 2, 1));
  assert_false(hg_winograd_fits(&s));
}

/* ---------- pooling kernels ---------- */

static void run_pool_case(hg_pool_kind kind, const int xs[4], int kernel, int stride, int pad) {
  hg_pool_shape s;
  hgt_status(hg_pool_shape_init(&s, kind, xs, kernel, stride, pad));
  size_t nx = (size_t)xs[0] * xs[1] * xs[2] * xs[3], ny = (size_t)s.n * s.c * s.oh * s.ow;
  float *x = distinct_buf(nx, (uint64_t)(kernel * 100 + stride * 10 + pad));
  float *y = rand_buf(ny, 1), *y_inf = rand_buf(ny, 2), *want_y = rand_buf(ny, 3), *dy = rand_buf(ny, 4);
  long *arg = malloc(ny * sizeof *arg);
  size_t wsb = hg_pool2d_workspace_bytes(&s);
  assert_true(kind == HG_POOL_MAX ? wsb > 0 : wsb == 0);
  void *ws = wsb ? malloc(wsb) : NULL;
  hgt_status(hg_pool2d_forward(&s, x, y, ws));
  hgt_status(hg_pool2d_forward(&s, x, y_inf, NULL));
  ref_pool_forward(&s, x, want_y, arg);
  hgt_close(y, want_y, ny, 1e-5f, 1e-5f);
  hgt_close(y_inf, want_y, ny, 1e-5f, 1e-5f);

  float *want_dx = malloc(nx * sizeof(float));
  ref_pool_backward(&s, arg, dy, want_dx);
  float *dx = rand_buf(nx, 5), *prior = rand_buf(nx, 6), *dx_acc = copy_buf(prior, nx);
  hgt_status(hg_pool2d_backward(&s, dy, ws, dx, false));
  hgt_status(hg_pool2d_backward(&s, dy, ws, dx_acc, true));
  check_twice(dx, dx_acc, prior, want_dx, nx, false);
  float *all[] = {x, y, y_inf, want_y, dy, want_dx, dx, prior, dx_acc};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  free(arg);
  free(ws);
}

static void test_pool_kernels(void **state) {
  (void)state;
  static const int odd[4] = {2, 3, 7, 6}, wide[4] = {1, 2, 4, 523}, even[4] = {2, 2, 8, 8};
  static const int halved[4] = {2, 3, 8, 6}, softhebb[4] = {1, 2, 16, 16}, halved3[4] = {2, 2, 8, 10};
  for (int kind = HG_POOL_MAX; kind <= HG_POOL_AVG; kind++) {
    for (int kernel = 2; kernel <= 3; kernel++)
      for (int stride = 1; stride <= 2; stride++)
        for (int pad = 0; pad <= 1; pad++) run_pool_case((hg_pool_kind)kind, odd, kernel, stride, pad);
    run_pool_case((hg_pool_kind)kind, wide, 2, 2, 0); /* rows longer than one 256-output chunk */
    run_pool_case((hg_pool_kind)kind, even, 2, 2, 0);
    run_pool_case((hg_pool_kind)kind, even, 5, 3, 2);
    run_pool_case((hg_pool_kind)kind, odd, 4, 2, 1); /* SoftHebb's pools: edge and inner columns */
    run_pool_case((hg_pool_kind)kind, wide, 4, 2, 1);
    run_pool_case((hg_pool_kind)kind, even, 4, 2, 2);
    /* planes the stride halves (max: one loop along the plane, then the clipped columns) */
    run_pool_case((hg_pool_kind)kind, halved, 4, 2, 1);
    run_pool_case((hg_pool_kind)kind, softhebb, 4, 2, 1);
    run_pool_case((hg_pool_kind)kind, halved3, 3, 2, 1);
    run_pool_case((hg_pool_kind)kind, odd, 1, 1, 0);
  }
}

/* Ties: every window's first element (row-major) wins, at the edges and inside. */
static void max_pool_ties_on(const int xs[4]) {
  hg_pool_shape s;
  hgt_status(hg_pool_shape_init(&s, HG_POOL_MAX, xs, 4, 2, 1));
  size_t nx = (size_t)xs[0] * xs[1] * xs[2] * xs[3], ny = (size_t)s.n * s.c * s.oh * s.ow;
  float x[2 * 8 * 9], y[64], want_y[64], dy[64], dx[2 * 8 * 9], want_dx[2 * 8 * 9];
  long arg[64];
  assert_true(nx <= 2 * 8 * 9 && ny <= 64);
  for (size_t i = 0; i < nx; i++) x[i] = 1.0f;
  for (size_t i = 0; i < ny; i++) dy[i] = (float)(i + 1);
  void *ws = malloc(hg_pool2d_workspace_bytes(&s));
  hgt_status(hg_pool2d_forward(&s, x, y, ws));
  ref_pool_forward(&s, x, want_y, arg);
  ref_pool_backward(&s, arg, dy, want_dx);
  hgt_status(hg_pool2d_backward(&s, dy, ws, dx, false));
  hgt_close(y, want_y, ny, 0, 0);
  hgt_close(dx, want_dx, nx, 0, 0);
  free(ws);
}

/* On a plane the stride halves (the row maxima's path) and on one it does not. */
static void test_max_pool_ties(void **state) {
  (void)state;
  max_pool_ties_on((const int[4]){1, 2, 8, 8});
  max_pool_ties_on((const int[4]){1, 2, 7, 9});
}

/* A NaN in a window wins the max (as PyTorch) and takes the gradient. */
static void test_max_pool_nan(void **state) {
  (void)state;
  for (int kernel = 2; kernel <= 3; kernel++) {
    hg_pool_shape s;
    int xs[4] = {1, 1, 4, 4};
    hgt_status(hg_pool_shape_init(&s, HG_POOL_MAX, xs, kernel, 2, kernel == 3));
    float x[16], y[4], dy[4] = {1, 1, 1, 1}, dx[16];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    x[5] = NAN; /* inside the first window of both shapes */
    void *ws = malloc(hg_pool2d_workspace_bytes(&s));
    hgt_status(hg_pool2d_forward(&s, x, y, ws));
    assert_true(isnan(y[0]));
    hgt_status(hg_pool2d_backward(&s, dy, ws, dx, false));
    assert_true(dx[5] == (kernel == 2 ? 1.0f : 4.0f)); /* in every 3x3 window */
    free(ws);
  }
  /* a plane 4/2/1 halves, without a workspace (the values-only path): NaN in exactly the windows holding it */
  hg_pool_shape s;
  hgt_status(hg_pool_shape_init(&s, HG_POOL_MAX, (const int[4]){1, 1, 8, 8}, 4, 2, 1));
  float x[64], y[16];
  for (int i = 0; i < 64; i++) x[i] = (float)(i % 7);
  x[3 * 8 + 4] = NAN; /* row 3, column 4: windows i, j ∈ {1, 2} */
  hgt_status(hg_pool2d_forward(&s, x, y, NULL));
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) assert_true(isnan(y[i * 4 + j]) == (i >= 1 && i <= 2 && j >= 1 && j <= 2));
}

static void test_max_pool_backward_needs_workspace(void **state) {
  (void)state;
  hg_pool_shape s;
  int xs[4] = {1, 1, 4, 4};
  hgt_status(hg_pool_shape_init(&s, HG_POOL_MAX, xs, 2, 2, 0));
  float dy[4] = {0}, dx[16];
  assert_int_equal(hg_pool2d_backward(&s, dy, NULL, dx, false), HG_ERR_ARG);
  assert_non_null(strstr(hg_last_error(), "max_pool2d"));
}

/* ---------- gemm ---------- */

static void run_gemm_case(hg_gemm_backend backend, bool ta, bool tb, float alpha, float beta) {
  int m = 13, n = 9, k = 17, pad = 3; /* leading dimensions wider than the rows */
  int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
  size_t na = (size_t)(ta ? k : m) * lda, nb = (size_t)(tb ? n : k) * ldb, nc = (size_t)m * ldc;
  float *a = rand_buf(na, 21), *b = rand_buf(nb, 22), *c = rand_buf(nc, 23), *want = copy_buf(c, nc);
  hg_gemm_set_backend(backend);
  long before = hg_kstats.gemm;
  hgt_status(hg_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
  assert_int_equal(hg_kstats.gemm, before + 1);
  ref_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, want, ldc);
  hgt_close(c, want, nc, 1e-4f, 1e-4f); /* also: the padding columns are untouched */
  free(a);
  free(b);
  free(c);
  free(want);
}

static void test_gemm(void **state) {
  (void)state;
  for (int backend = HG_GEMM_ONEDNN; backend <= HG_GEMM_OPENBLAS; backend++)
    for (int t = 0; t < 4; t++) {
      run_gemm_case((hg_gemm_backend)backend, t & 1, t & 2, 1.0f, 0.0f);
      run_gemm_case((hg_gemm_backend)backend, t & 1, t & 2, 1.5f, 0.5f);
    }
  hg_gemm_set_backend(HG_GEMM_ONEDNN);
  assert_int_equal(hg_gemm_get_backend(), HG_GEMM_ONEDNN);
}

static void test_gemm_bad_sizes(void **state) {
  (void)state;
  float a[4] = {0}, b[4] = {0}, c[4] = {0};
  assert_int_equal(hg_gemm(false, false, 2, 2, 2, 1, a, 1, b, 2, 0, c, 2), HG_ERR_ARG);
  assert_non_null(strstr(hg_last_error(), "gemm"));
}

/* ---------- ops: forward values, errors, skipped work, cache ---------- */

static void test_linear_and_matmul_values(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(5, 7), -1, 1, 31), *w = hgt_rand(HG_SHAPE(4, 7), -1, 1, 32);
  hg_tensor *b = hgt_rand(HG_SHAPE(4), -1, 1, 33);
  hg_tensor *y = hgt_ok(hg_linear(x, w, b)), *z = hgt_ok(hg_matmul(x, w, false, true));
  assert_int_equal(y->shape[0], 5);
  assert_int_equal(y->shape[1], 4);
  float want[20];
  for (int i = 0; i < 5; i++)
    for (int j = 0; j < 4; j++) want[i * 4 + j] = b->data[j];
  ref_gemm(false, true, 5, 4, 7, 1, x->data, 7, w->data, 7, 1, want, 4);
  hgt_close(y->data, want, 20, 1e-5f, 1e-5f);
  ref_gemm(false, true, 5, 4, 7, 1, x->data, 7, w->data, 7, 0, want, 4);
  hgt_close(z->data, want, 20, 1e-5f, 1e-5f);
  hg_tensor *all[] = {x, w, b, y, z};
  for (int i = 0; i < 5; i++) hg_tensor_free(all[i]);
}

/* The call returned NULL and the message names the op and every shape. */
static void expect_error(hg_tensor *result, const char *op, const char *shape1, const char *shape2) {
  assert_null(result);
  const char *msg = hg_last_error();
  if (!strstr(msg, op) || !strstr(msg, shape1) || (shape2 && !strstr(msg, shape2)))
    fail_msg("message '%s' should name %s, %s and %s", msg, op, shape1, shape2 ? shape2 : "-");
}

static void test_shape_errors(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 8, 8), -1, 1, 1), *w = hgt_rand(HG_SHAPE(4, 2, 3, 3), -1, 1, 2);
  hg_tensor *big = hgt_rand(HG_SHAPE(4, 3, 9, 9), -1, 1, 3), *b5 = hgt_rand(HG_SHAPE(5), -1, 1, 4);
  hg_tensor *w3 = hgt_rand(HG_SHAPE(4, 3, 3, 3), -1, 1, 5);
  hg_tensor *m23 = hgt_rand(HG_SHAPE(2, 3), -1, 1, 6), *m45 = hgt_rand(HG_SHAPE(4, 5), -1, 1, 7);
  hg_tensor *v3 = hgt_rand(HG_SHAPE(3), -1, 1, 8);
  expect_error(hg_conv2d(x, w, NULL, 1, 0), "conv2d", "[2,3,8,8]", "[4,2,3,3]");
  expect_error(hg_conv2d(x, big, NULL, 1, 0), "conv2d", "[2,3,8,8]", "[4,3,9,9]");
  expect_error(hg_conv2d(x, w3, b5, 1, 0), "conv2d", "[5]", "[4,3,3,3]");
  expect_error(hg_conv2d(x, w3, NULL, 0, 0), "conv2d", "[2,3,8,8]", "[4,3,3,3]");
  expect_error(hg_conv2d(m23, w3, NULL, 1, 0), "conv2d", "[2,3]", "[4,3,3,3]");
  expect_error(hg_matmul(m23, m45, false, false), "matmul", "[2,3]", "[4,5]");
  expect_error(hg_matmul(m23, v3, false, false), "matmul", "[2,3]", "[3]");
  expect_error(hg_linear(m23, m45, NULL), "linear", "[2,3]", "[4,5]");
  expect_error(hg_linear(m23, w3, NULL), "linear", "[2,3]", "[4,3,3,3]");
  expect_error(hg_linear(m23, m45, v3), "linear", "[2,3]", "[4,5]");
  expect_error(hg_max_pool2d(m23, 2, 2, 0), "max_pool2d", "[2,3]", NULL);
  expect_error(hg_max_pool2d(x, 9, 1, 0), "max_pool2d", "[2,3,8,8]", NULL);
  expect_error(hg_avg_pool2d(x, 2, 2, 2), "avg_pool2d", "[2,3,8,8]", NULL);
  assert_int_equal(hg_tape_size(), 0);
  hg_tensor *all[] = {x, w, big, b5, w3, m23, m45, v3};
  for (int i = 0; i < 8; i++) hg_tensor_free(all[i]);
}

/* Backward through a conv of a detached input: weights only, no data pass. */
static void test_detached_input_skips_backward_data(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 8, 8), -1, 1, 41), *w = hgt_rand(HG_SHAPE(4, 3, 3, 3), -1, 1, 42);
  hg_requires_grad(x, true);
  hg_requires_grad(w, true);
  hg_tensor *xd = hgt_ok(hg_detach(x));
  hg_tensor *y = hgt_ok(hg_conv2d(xd, w, NULL, 1, 1));
  hg_tensor *loss = hgt_ok(hg_sum(y, 0, NULL, false));
  hg_kernel_stats_reset();
  hgt_status(hg_backward(loss));
  assert_int_equal(hg_kstats.conv_backward_data, 0);
  assert_int_equal(hg_kstats.conv_backward_weights, 1);
  assert_null(x->grad);
  assert_null(xd->grad);
  assert_non_null(w->grad);
  hg_tape_clear();
  hg_tensor_free(loss);
  hg_tensor_free(y);
  /* the same without detaching runs both */
  y = hgt_ok(hg_conv2d(x, w, NULL, 1, 1));
  loss = hgt_ok(hg_sum(y, 0, NULL, false));
  hg_kernel_stats_reset();
  hgt_status(hg_backward(loss));
  assert_int_equal(hg_kstats.conv_backward_data, 1);
  assert_int_equal(hg_kstats.conv_backward_weights, 1);
  hg_tape_clear();
  hg_tensor *all[] = {loss, y, xd, x, w};
  for (int i = 0; i < 5; i++) hg_tensor_free(all[i]);
}

/* w and b used twice: their gradients add up; a zeroed b overwrites while w accumulates. */
static void test_conv_gradients_accumulate(void **state) {
  (void)state;
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 3, 6, 5), -1, 1, 51), *w = hgt_rand(HG_SHAPE(4, 3, 3, 3), -1, 1, 52);
  hg_tensor *b = hgt_rand(HG_SHAPE(4), -1, 1, 53);
  hg_requires_grad(w, true);
  hg_requires_grad(b, true);
  hg_conv_shape s;
  hgt_status(hg_conv_shape_init(&s, x->shape, w->shape, 2, 1));
  size_t ny = (size_t)s.n * s.k * s.oh * s.ow;
  float *ones = malloc(ny * sizeof *ones), dx[180], dw[108], db[4];
  for (size_t i = 0; i < ny; i++) ones[i] = 1.0f;
  ref_conv_backward(&s, x->data, w->data, ones, dx, dw, db);
  for (int round = 0; round < 2; round++) {
    hg_tensor *y1 = hgt_ok(hg_conv2d(x, w, b, 2, 1)), *y2 = hgt_ok(hg_conv2d(x, w, b, 2, 1));
    hg_tensor *y = hgt_ok(hg_add(y1, y2)), *loss = hgt_ok(hg_sum(y, 0, NULL, false));
    if (round == 1) hg_zero_grad(b); /* w keeps its gradient from round 0 */
    hgt_status(hg_backward(loss));
    hg_tape_clear();
    float want_w[108], want_b[4];
    for (int i = 0; i < 108; i++) want_w[i] = (round ? 4.0f : 2.0f) * dw[i];
    for (int i = 0; i < 4; i++) want_b[i] = 2.0f * db[i];
    hgt_close(w->grad->data, want_w, 108, 1e-4f, 1e-4f);
    hgt_close(b->grad->data, want_b, 4, 1e-4f, 1e-4f);
    hg_tensor *all[] = {y1, y2, y, loss};
    for (int i = 0; i < 4; i++) hg_tensor_free(all[i]);
  }
  free(ones);
  hg_tensor_free(x);
  hg_tensor_free(w);
  hg_tensor_free(b);
}

static void test_cache_reuses_primitives(void **state) {
  (void)state;
  hg_conv_set_algorithm(HG_CONV_DIRECT); /* the cache holds oneDNN's primitives */
  hg_tensor *x = hgt_rand(HG_SHAPE(2, 5, 9, 9), -1, 1, 61), *w = hgt_rand(HG_SHAPE(6, 5, 3, 3), -1, 1, 62);
  hg_tensor *y = hgt_ok(hg_conv2d(x, w, NULL, 1, 0));
  hg_tensor *p = hgt_ok(hg_max_pool2d(y, 2, 2, 0));
  long builds = hg_kernel_cache_builds();
  hg_tensor_free(y);
  hg_tensor_free(p);
  for (int i = 0; i < 3; i++) {
    y = hgt_ok(hg_conv2d(x, w, NULL, 1, 0));
    p = hgt_ok(hg_max_pool2d(y, 2, 2, 0));
    hg_tensor_free(y);
    hg_tensor_free(p);
  }
  assert_int_equal(hg_kernel_cache_builds(), builds);
  /* a new shape builds its convolution and the layout reorders it needs, once */
  y = hgt_ok(hg_conv2d(x, w, NULL, 2, 0));
  long per_shape = hg_kernel_cache_builds() - builds;
  assert_true(per_shape >= 1 && per_shape <= 4);
  hg_tensor_free(y);
  y = hgt_ok(hg_conv2d(x, w, NULL, 2, 0));
  assert_int_equal(hg_kernel_cache_builds(), builds + per_shape);
  hg_tensor_free(y);
  /* after a release, kernels rebuild on demand and give the same result */
  y = hgt_ok(hg_conv2d(x, w, NULL, 1, 0));
  long before_release = hg_kernel_cache_builds();
  hg_kernels_release();
  hg_tensor *y2 = hgt_ok(hg_conv2d(x, w, NULL, 1, 0));
  assert_true(hg_kernel_cache_builds() > before_release);
  hgt_close(y2->data, y->data, y->numel, 0, 0);
  hg_tensor_free(y);
  hg_tensor_free(y2);
  hg_tensor_free(x);
  hg_tensor_free(w);
  hg_conv_set_algorithm(HG_CONV_AUTO);
}

/* Max pool through autograd: the workspace is kept only when recorded. */
static void test_max_pool_op_backward(void **state) {
  (void)state;
  int shape[4] = {2, 2, 6, 6};
  float *v = distinct_buf(144, 71);
  hg_tensor *x = hgt_ok(hg_tensor_from(4, shape, v));
  hg_requires_grad(x, true);
  hg_tensor *y = hgt_ok(hg_max_pool2d(x, 3, 2, 1));
  hg_tensor *loss = hgt_ok(hg_sum(y, 0, NULL, false));
  hgt_status(hg_backward(loss));
  hg_pool_shape s;
  hgt_status(hg_pool_shape_init(&s, HG_POOL_MAX, shape, 3, 2, 1));
  size_t ny = (size_t)s.n * s.c * s.oh * s.ow;
  float want_y[72], ones[72], want_dx[144];
  long arg[72];
  for (size_t i = 0; i < ny; i++) ones[i] = 1.0f;
  ref_pool_forward(&s, v, want_y, arg);
  ref_pool_backward(&s, arg, ones, want_dx);
  hgt_close(y->data, want_y, ny, 1e-6f, 0);
  hgt_close(x->grad->data, want_dx, 144, 1e-6f, 0);
  hg_tape_clear();
  hg_tensor_free(loss);
  hg_tensor_free(y);
  bool mode = hg_set_grad_enabled(false);
  y = hgt_ok(hg_max_pool2d(x, 3, 2, 1));
  hg_set_grad_enabled(mode);
  assert_int_equal(hg_tape_size(), 0);
  hgt_close(y->data, want_y, ny, 1e-6f, 0);
  hg_tensor_free(y);
  hg_tensor_free(x);
  free(v);
}

static int teardown(void **state) {
  (void)state;
  hg_tape_clear();
  hg_kernels_release();
  hg_pool_trim();
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_kernels),
      cmocka_unit_test(test_conv_kernels_direct),
      cmocka_unit_test(test_conv_kernels_winograd),
      cmocka_unit_test(test_winograd_choice),
      cmocka_unit_test(test_pool_kernels),
      cmocka_unit_test(test_max_pool_nan),
      cmocka_unit_test(test_max_pool_ties),
      cmocka_unit_test(test_max_pool_backward_needs_workspace),
      cmocka_unit_test(test_gemm),
      cmocka_unit_test(test_gemm_bad_sizes),
      cmocka_unit_test(test_linear_and_matmul_values),
      cmocka_unit_test(test_shape_errors),
      cmocka_unit_test(test_detached_input_skips_backward_data),
      cmocka_unit_test(test_conv_gradients_accumulate),
      cmocka_unit_test(test_cache_reuses_primitives),
      cmocka_unit_test(test_max_pool_op_backward),
  };
  return cmocka_run_group_tests(tests, NULL, teardown);
}
