#include "tensor/winograd.h"

#include <string.h>

#include <oneapi/dnnl/dnnl.h>

#include "tensor/alloc.h"

/* Output tile, input tile, products per tile, kernel size, lanes (channels
 * transformed together, so the compiler vectorizes across them), outputs per
 * block of a forward (its outputs' transformed kernels and products are made
 * a block at a time, so they stay in cache between their transform and
 * their GEMMs: 1.5× faster than whole layers for SoftHebb's conv3 at batch
 * 10, and megabytes instead of 85 MB of buffers). */
enum { M = 4, A = 6, P = A * A, R = 3, L = 16, OB = 64 };

/* Lavin & Gray's F(4, 3) with interpolation points 0, ±1, ±2, ∞. */
static const float BT[A][A] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                               {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
static const float G[A][R] = {{1.0f / 4, 0, 0},
                              {-1.0f / 6, -1.0f / 6, -1.0f / 6},
                              {-1.0f / 6, 1.0f / 6, -1.0f / 6},
                              {1.0f / 24, 1.0f / 12, 1.0f / 6},
                              {1.0f / 24, -1.0f / 12, 1.0f / 6},
                              {0, 0, 1}};
static const float AT[M][A] = {
    {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};

typedef float lanes[L];

/* A small constant matrix: element (i, q) at e[i·s0 + q·s1], so a transpose is a view. */
typedef struct cmat {
  const float *e;
  int rows, cols, s0, s1;
} cmat;

static const cmat BT_ = {&BT[0][0], A, A, A, 1}, G_ = {&G[0][0], A, R, R, 1},
                  GT_ = {&G[0][0], R, A, 1, R}, AT_ = {&AT[0][0], M, A, A, 1},
                  A_ = {&AT[0][0], A, M, 1, A};

/* out = l · x · rᵀ lane by lane (x: l.cols × r.cols, out: l.rows × r.rows,
 * row-major), through t = l · x. Inlined into each caller with its constant
 * matrices and unrolled, so the compiler folds the coefficients and drops
 * the zero ones (one shared loop for both products measured 1.7× slower). */
static inline __attribute__((always_inline)) void sandwich(cmat l, const lanes *x, cmat r,
                                                           lanes *out) {
  lanes t[P];
#pragma GCC unroll 6
  for (int i = 0; i < l.rows; i++)
#pragma GCC unroll 6
    for (int j = 0; j < r.cols; j++) {
      float *tij = t[i * r.cols + j];
      for (int k = 0; k < L; k++) tij[k] = 0;
#pragma GCC unroll 6
      for (int q = 0; q < l.cols; q++) {
        float f = l.e[i * l.s0 + q * l.s1];
        if (f != 0)
          for (int k = 0; k < L; k++) tij[k] += f * x[q * r.cols + j][k];
      }
    }
#pragma GCC unroll 6
  for (int i = 0; i < l.rows; i++)
#pragma GCC unroll 6
    for (int j = 0; j < r.rows; j++) {
      float *o = out[i * r.rows + j];
      for (int k = 0; k < L; k++) o[k] = 0;
#pragma GCC unroll 6
      for (int q = 0; q < r.cols; q++) {
        float f = r.e[j * r.s0 + q * r.s1];
        if (f != 0)
          for (int k = 0; k < L; k++) o[k] += f * t[i * r.cols + q][k];
      }
    }
}

/* The convolution as tiles: input [n, ci, h, w] zero-padded by pad, output [n, co, oh, ow]. */
typedef struct geom {
  int n, ci, h, w, pad, co, oh, ow;
  int th, tw, t; /* 4×4 output tiles per column, per row, in all */
} geom;

static geom make_geom(int n, int ci, int h, int w, int pad, int co) {
  geom g = {.n = n, .ci = ci, .h = h, .w = w, .pad = pad, .co = co,
            .oh = h + 2 * pad - R + 1, .ow = w + 2 * pad - R + 1};
  g.th = (g.oh + M - 1) / M;
  g.tw = (g.ow + M - 1) / M;
  g.t = n * g.th * g.tw;
  return g;
}

static int min_int(int a, int b) { return a < b ? a : b; }

/* Copy nl ≤ L floats; a whole lane row (the common case) as one fixed-size copy. */
static inline void copy_lanes(float *dst, const float *src, int nl) {
  if (nl == L) memcpy(dst, src, sizeof(lanes));
  else memcpy(dst, src, (size_t)nl * sizeof(float));
}

/* u[o][p][i] = (G g Gᵀ)[p] of the kernel g of output o < outs and input i,
 * whose taps start at w[o·so + i·si], rotated by 180° when flip. */
static void transform_weights(const float *w, int outs, int ins, size_t so, size_t si, bool flip,
                              float *u) {
#pragma omp for schedule(static)
  for (int o = 0; o < outs; o++)
    for (int i0 = 0; i0 < ins; i0 += L) {
      int nl = min_int(L, ins - i0);
      lanes g[R * R] = {{0}}, out[P];
      for (int l = 0; l < nl; l++) {
        const float *k = w + o * so + (i0 + l) * si;
        for (int q = 0; q < R * R; q++) g[q][l] = k[flip ? R * R - 1 - q : q];
      }
      sandwich(G_, g, G_, out);
      for (int p = 0; p < P; p++)
        copy_lanes(u + ((size_t)o * P + p) * ins + i0, out[p], nl);
    }
}

/* The side×side tile of channels c0.. (nl of them) of image n at (y0, x0) of
 * [n, ch, h, w] planes, zero outside them. */
static void gather(const float *x, int n, int ch, int h, int w, int c0, int nl, int y0, int x0,
                   int side, lanes *d) {
  for (int l = 0; l < nl; l++) {
    const float *plane = x + ((size_t)n * ch + c0 + l) * h * w;
    for (int r = 0; r < side; r++)
      for (int s = 0; s < side; s++) {
        int yy = y0 + r, xx = x0 + s;
        d[r * side + s][l] = yy >= 0 && yy < h && xx >= 0 && xx < w ? plane[(size_t)yy * w + xx] : 0;
      }
  }
}

/* Store the P transformed lanes of tile t, channels c0.. of ch, into v[t][p][c]. */
static void scatter(const lanes *out, int t, int ch, int c0, int nl, float *v) {
  for (int p = 0; p < P; p++)
    copy_lanes(v + ((size_t)t * P + p) * ch + c0, out[p], nl);
}

/* v[t][p][i] = (Bᵀ d B)[p] of the 6×6 input tile d of tile t and input i. */
static void transform_input(const geom *g, const float *x, float *v) {
  int blocks = (g->ci + L - 1) / L;
#pragma omp for collapse(2) schedule(static)
  for (int n = 0; n < g->n; n++)
    for (int b = 0; b < blocks; b++) {
      int i0 = b * L, nl = min_int(L, g->ci - i0);
      lanes d[P] = {{0}}, out[P];
      for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
          gather(x, n, g->ci, g->h, g->w, i0, nl, ty * M - g->pad, tx * M - g->pad, A, d);
          sandwich(BT_, d, BT_, out);
          scatter(out, (n * g->th + ty) * g->tw + tx, g->ci, i0, nl, v);
        }
    }
}

/* yh[t][p][o] = (A dy Aᵀ)[p] of the 4×4 tile of dy (zero outside the output). */
static void transform_output_grad(const geom *g, const float *dy, float *yh) {
  int blocks = (g->co + L - 1) / L;
#pragma omp for collapse(2) schedule(static)
  for (int n = 0; n < g->n; n++)
    for (int b = 0; b < blocks; b++) {
      int o0 = b * L, nl = min_int(L, g->co - o0);
      lanes d[M * M] = {{0}}, out[P];
      for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
          gather(dy, n, g->co, g->oh, g->ow, o0, nl, ty * M, tx * M, M, d);
          sandwich(A_, d, A_, out);
          scatter(out, (n * g->th + ty) * g->tw + tx, g->co, o0, nl, yh);
        }
    }
}

/* y (+)= Aᵀ m A of each tile (m[t][p][j] for the nb outputs o0 + j), cut to
 * the output; + b, then max(·, 0) when relu. */
static void transform_output(const geom *g, const float *m, int o0, int nb, const float *b,
                             bool relu, bool acc, float *y) {
  int blocks = (nb + L - 1) / L;
#pragma omp for collapse(2) schedule(static)
  for (int n = 0; n < g->n; n++)
    for (int bl = 0; bl < blocks; bl++) {
      int j0 = bl * L, nl = min_int(L, nb - j0);
      lanes mm[P] = {{0}}, out[M * M];
      for (int ty = 0; ty < g->th; ty++)
        for (int tx = 0; tx < g->tw; tx++) {
          int t = (n * g->th + ty) * g->tw + tx;
          for (int p = 0; p < P; p++) copy_lanes(mm[p], m + ((size_t)t * P + p) * nb + j0, nl);
          sandwich(AT_, mm, AT_, out);
          for (int l = 0; l < nl; l++) {
            int o = o0 + j0 + l;
            float *plane = y + ((size_t)n * g->co + o) * g->oh * g->ow, bias = b ? b[o] : 0;
            for (int r = 0; r < M && ty * M + r < g->oh; r++)
              for (int c = 0; c < M && tx * M + c < g->ow; c++) {
                float *dst = plane + (size_t)(ty * M + r) * g->ow + tx * M + c;
                float val = out[r * M + c][l] + bias;
                if (relu && val < 0) val = 0;
                *dst = acc ? *dst + val : val;
              }
          }
        }
    }
}

/* dw[o0 + j][i] (+)= Gᵀ d G of d[j][p][i], for nb outputs. */
static void transform_weight_grad(const geom *g, const float *d, int o0, int nb, bool acc,
                                  float *dw) {
#pragma omp for schedule(static)
  for (int j = 0; j < nb; j++)
    for (int i0 = 0; i0 < g->ci; i0 += L) {
      int nl = min_int(L, g->ci - i0);
      lanes dd[P] = {{0}}, out[R * R];
      for (int p = 0; p < P; p++) copy_lanes(dd[p], d + ((size_t)j * P + p) * g->ci + i0, nl);
      sandwich(GT_, dd, GT_, out);
      for (int l = 0; l < nl; l++) {
        float *k = dw + ((size_t)(o0 + j) * g->ci + i0 + l) * R * R;
        for (int q = 0; q < R * R; q++) k[q] = acc ? k[q] + out[q][l] : out[q][l];
      }
    }
}

/* db[o] (+)= Σ_{n,i,j} dy[n][o][i][j] */
static void bias_grad(const geom *g, const float *dy, bool acc, float *db) {
  size_t plane = (size_t)g->oh * g->ow;
#pragma omp parallel for schedule(static)
  for (int o = 0; o < g->co; o++) {
    double sum = 0;
    for (int n = 0; n < g->n; n++) {
      const float *src = dy + ((size_t)n * g->co + o) * plane;
      for (size_t i = 0; i < plane; i++) sum += src[i];
    }
    db[o] = acc ? db[o] + (float)sum : (float)sum;
  }
}

/* The three pool buffers of a call (input tiles, and the kernels', products'
 * or gradients' transforms), of the given float counts: all or none. */
static hg_status take(float *bufs[3], const size_t counts[3]) {
  for (int i = 0; i < 3; i++) {
    bufs[i] = hg_pool_alloc(counts[i] * sizeof(float));
    if (bufs[i]) continue;
    while (i--) hg_pool_free(bufs[i], counts[i] * sizeof(float));
    return hg_fail(HG_ERR_NOMEM, "conv2d (winograd): no memory for its %zu-float transforms",
                   counts[0] + counts[1] + counts[2]);
  }
  return HG_OK;
}

static void give_back(float *bufs[3], const size_t counts[3]) {
  for (int i = 0; i < 3; i++) hg_pool_free(bufs[i], counts[i] * sizeof(float));
}

/* The 36 products of a block, one GEMM per product and thread (oneDNN's
 * sgemm runs on the calling thread inside a parallel region): for each p,
 * c_p (m×n) = op(a_p)·op(b_p), where x_p starts at x + p·x_step with rows
 * x_ld apart. Sets *failed (shared) when one fails. */
static void products(bool trans_a, int m, int n, int k, const float *a, size_t a_step, int lda,
                     const float *b, size_t b_step, int ldb, float *c, size_t c_step, int ldc,
                     int *failed) {
#pragma omp for schedule(static)
  for (int p = 0; p < P; p++)
    if (dnnl_sgemm(trans_a ? 'T' : 'N', trans_a ? 'N' : 'T', m, n, k, 1.0f, a + p * a_step, lda,
                   b + p * b_step, ldb, 0.0f, c + p * c_step, ldc) != dnnl_success) {
#pragma omp atomic write
      *failed = 1;
    }
}

static hg_status gemm_failed(void) {
  return hg_fail(HG_ERR_BACKEND, "conv2d (winograd): dnnl_sgemm failed");
}

/* y (+)= the convolution of g of x with the kernels whose taps start at
 * w[o·so + i·si] (rotated when flip), + b, max(·, 0) when relu: the input
 * transformed once, then per block of outputs their kernels, the products
 * and the output tiles. */
static hg_status convolve(const geom *g, const float *x, const float *w, size_t so, size_t si,
                          bool flip, const float *b, bool relu, bool acc, float *y) {
  int ob = min_int(OB, g->co);
  size_t counts[3] = {(size_t)P * g->t * g->ci, (size_t)P * ob * g->ci, (size_t)P * g->t * ob};
  float *buf[3];
  hg_status st = take(buf, counts);
  if (st != HG_OK) return st;
  float *v = buf[0], *u = buf[1], *m = buf[2];
  int failed = 0; /* read only after the barrier that ends products() */
#pragma omp parallel
  {
    transform_input(g, x, v);
    for (int o0 = 0; o0 < g->co && !failed; o0 += ob) {
      int nb = min_int(ob, g->co - o0);
      transform_weights(w + o0 * so, nb, g->ci, so, si, flip, u);
      products(false, g->t, nb, g->ci, v, g->ci, P * g->ci, u, g->ci, P * g->ci, m, nb, P * nb,
               &failed);
      if (!failed) transform_output(g, m, o0, nb, b, relu, acc, y);
    }
  }
  give_back(buf, counts);
  return failed ? gemm_failed() : HG_OK;
}
bool hg_winograd_fits(const hg_conv_shape *s) {
  return s->kh == R && s->kw == R && s->stride == 1 && s->pad <= R - 1;
}

bool hg_winograd_pays(const hg_conv_shape *s, bool backward_data) {
  int oh = backward_data ? s->h : s->oh, ow = backward_data ? s->w : s->ow;
  size_t tiles = (size_t)((oh + M - 1) / M) * ((ow + M - 1) / M);
  /* products per channel pair: 36 per tile against 9 per output */
  return hg_winograd_fits(s) && s->c >= 64 && s->k >= 64 && 2 * tiles * P <= (size_t)oh * ow * R * R;
}

hg_status hg_winograd_forward(const hg_conv_shape *s, const float *x, const float *w,
                              const float *b, float *y) {
  geom g = make_geom(s->n, s->c, s->h, s->w, s->pad, s->k);
  return convolve(&g, x, w, (size_t)s->c * R * R, R * R, false, b, s->relu, false, y);
}

hg_status hg_winograd_backward_data(const hg_conv_shape *s, const float *dy, const float *w,
                                    float *dx, bool accumulate) {
  geom g = make_geom(s->n, s->k, s->oh, s->ow, R - 1 - s->pad, s->c);
  return convolve(&g, dy, w, R * R, (size_t)s->c * R * R, true, NULL, false, accumulate, dx);
}

hg_status hg_winograd_backward_weights(const hg_conv_shape *s, const float *x, const float *dy,
                                       float *dw, float *db, bool accumulate) {
  geom g = make_geom(s->n, s->c, s->h, s->w, s->pad, s->k);
  /* whole layers: the products sum over the tiles, too few for GEMMs of a block (measured 1.3–1.8× slower) */
  size_t counts[3] = {(size_t)P * g.t * g.ci, (size_t)P * g.t * g.co, (size_t)P * g.co * g.ci};
  float *buf[3];
  hg_status st = take(buf, counts);
  if (st != HG_OK) return st;
  float *v = buf[0], *yh = buf[1], *d = buf[2];
  int failed = 0; /* read only after the barrier that ends products() */
#pragma omp parallel
  {
    transform_input(&g, x, v);
    transform_output_grad(&g, dy, yh);
    products(true, g.co, g.ci, g.t, yh, g.co, P * g.co, v, g.ci, P * g.ci, d, g.ci, P * g.ci, &failed);
    if (!failed) transform_weight_grad(&g, d, 0, g.co, accumulate, dw);
  }
  if (!failed && db) bias_grad(&g, dy, accumulate, db);
  give_back(buf, counts);
  return failed ? gemm_failed() : HG_OK;
}
