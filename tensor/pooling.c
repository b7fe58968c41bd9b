/* Max and average pooling on NCHW as plain loops, parallel over the N·C
 * planes. oneDNN 2.6 has only its reference implementation ("simple_nchw")
 * for the plain NCHW layout, and it measured 5-8 times slower than these
 * loops on the seed network's layers; pooling needs no GEMM, so nothing is
 * lost by not using it. The max-pool workspace holds, per output, the offset
 * a·kernel + b of the winning element inside its window. */
#include "tensor/pooling.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tensor/kstats.h"

typedef uint16_t pool_arg;
#define POOL_MAX_KERNEL 256 /* kernel² offsets fit in pool_arg */

static const char *pool_name(hg_pool_kind kind) {
  return kind == HG_POOL_MAX ? "max_pool2d" : "avg_pool2d";
}

hg_status hg_pool_shape_init(hg_pool_shape *s, hg_pool_kind kind, const int x_shape[4],
                             int kernel, int stride, int pad) {
  const char *op = pool_name(kind);
  char xs[64];
  snprintf(xs, sizeof xs, "[%d,%d,%d,%d]", x_shape[0], x_shape[1], x_shape[2], x_shape[3]);
  if (x_shape[0] <= 0 || x_shape[1] <= 0 || x_shape[2] <= 0 || x_shape[3] <= 0)
    return hg_fail(HG_ERR_SHAPE, "%s: input %s needs positive sizes", op, xs);
  if (kernel < 1 || kernel > POOL_MAX_KERNEL || stride < 1 || pad < 0 || pad > kernel / 2)
    return hg_fail(HG_ERR_ARG, "%s: kernel %d, stride %d, pad %d invalid for input %s "
                   "(need 1 <= kernel <= %d, stride >= 1, 0 <= pad <= kernel/2)",
                   op, kernel, stride, pad, xs, POOL_MAX_KERNEL);
  if (x_shape[2] + 2 * pad < kernel || x_shape[3] + 2 * pad < kernel)
    return hg_fail(HG_ERR_SHAPE, "%s: input %s with pad %d is smaller than the %dx%d window", op,
                   xs, pad, kernel, kernel);
  *s = (hg_pool_shape){.kind = kind, .n = x_shape[0], .c = x_shape[1], .h = x_shape[2],
                       .w = x_shape[3], .kernel = kernel, .stride = stride, .pad = pad};
  s->oh = (s->h + 2 * pad - kernel) / stride + 1;
  s->ow = (s->w + 2 * pad - kernel) / stride + 1;
  return HG_OK;
}

size_t hg_pool2d_workspace_bytes(const hg_pool_shape *s) {
  if (s->kind != HG_POOL_MAX) return 0;
  return (size_t)s->n * s->c * s->oh * s->ow * sizeof(pool_arg);
}

/* The window of output (i, j) clipped to the input: rows r0+[a0, a1), columns c0+[b0, b1).
 * pad ≤ kernel/2 keeps every window non-empty. */
typedef struct window {
  int r0, c0, a0, a1, b0, b1;
} window;

static window window_at(const hg_pool_shape *s, int i, int j) {
  window v = {.r0 = i * s->stride - s->pad, .c0 = j * s->stride - s->pad};
  v.a0 = v.r0 < 0 ? -v.r0 : 0;
  v.a1 = v.r0 + s->kernel > s->h ? s->h - v.r0 : s->kernel;
  v.b0 = v.c0 < 0 ? -v.c0 : 0;
  v.b1 = v.c0 + s->kernel > s->w ? s->w - v.c0 : s->kernel;
  return v;
}

/* t replaces the running maximum m when greater, or NaN (NaN then sticks);
 * `|`, not `||`: no branch, so that loops of it vectorise. */
#define POOL_WINS(t, m) (((t) > (m)) | ((t) != (t)))

/* One output row of the 2×2 stride-2 unpadded max (the common case), written
 * without branches so that it vectorises. */
static void max2x2_row(const float *r0, const float *r1, float *y, pool_arg *arg, int ow) {
  for (int j = 0; j < ow; j++) {
    float m = r0[2 * j], t;
    int k = 0;
    t = r0[2 * j + 1], k = POOL_WINS(t, m) ? 1 : k, m = POOL_WINS(t, m) ? t : m;
    t = r1[2 * j], k = POOL_WINS(t, m) ? 2 : k, m = POOL_WINS(t, m) ? t : m;
    t = r1[2 * j + 1], k = POOL_WINS(t, m) ? 3 : k, m = POOL_WINS(t, m) ? t : m;
    y[j] = m;
    arg[j] = (pool_arg)k;
  }
}

static void max2x2_plane(const hg_pool_shape *s, const float *x, float *y, pool_arg *arg) {
  pool_arg row_arg[256];
  for (int i = 0; i < s->oh; i++) {
    const float *r0 = x + (size_t)2 * i * s->w;
    for (int j0 = 0; j0 < s->ow; j0 += 256) { /* chunks, so a NULL workspace needs no buffer */
      int n = s->ow - j0 < 256 ? s->ow - j0 : 256;
      pool_arg *a = arg ? arg + (size_t)i * s->ow + j0 : row_arg;
      max2x2_row(r0 + 2 * j0, r0 + s->w + 2 * j0, y + (size_t)i * s->ow + j0, a, n);
    }
  }
}

/* Output (i, j) of a max plane: y = max over its window (NaN wins, first
 * maximum on ties), the winner's offset to arg. */
static void max_at(const hg_pool_shape *s, const float *x, int i, int j, float *y, pool_arg *arg) {
  window v = window_at(s, i, j);
  const float *base = x + (size_t)v.r0 * s->w + v.c0;
  float best = base[(size_t)v.a0 * s->w + v.b0];
  int where = v.a0 * s->kernel + v.b0;
  for (int a = v.a0; a < v.a1; a++)
    for (int b = v.b0; b < v.b1; b++) {
      float t = base[(size_t)a * s->w + b];
      if (POOL_WINS(t, best)) best = t, where = a * s->kernel + b;
    }
  y[i * s->ow + j] = best;
  if (arg) arg[i * s->ow + j] = (pool_arg)where;
}

/* Outputs (i, j0 ≤ j < j1) of a max plane whose windows need no column
 * clipping: the window loops outside and the columns inside, so the
 * columns' comparisons run side by side (SIMD) instead of one long chain;
 * each output still sees its window in row-major order, as max_at. */
static void max_row_inner(const hg_pool_shape *s, const float *x, int i, int j0, int j1, float *y, pool_arg *arg) {
  enum { CHUNK = 256 };
  window v = window_at(s, i, j0); /* rows: alike for every column */
  for (int c = j0; c < j1; c += CHUNK) {
    int n = j1 - c < CHUNK ? j1 - c : CHUNK;
    float best[CHUNK];
    int where[CHUNK];
    const float *origin = x + (size_t)v.r0 * s->w + (c * s->stride - s->pad); /* window (0, 0) of column c */
    for (int j = 0; j < n; j++) best[j] = origin[(size_t)v.a0 * s->w + j * s->stride], where[j] = v.a0 * s->kernel;
    for (int a = v.a0; a < v.a1; a++)
      for (int b = 0; b < s->kernel; b++) {
        const float *in = origin + (size_t)a * s->w + b;
        for (int j = 0; j < n; j++) {
          float t = in[j * s->stride];
          bool wins = POOL_WINS(t, best[j]);
          where[j] = wins ? a * s->kernel + b : where[j];
          best[j] = wins ? t : best[j];
        }
      }
    memcpy(y + (size_t)i * s->ow + c, best, (size_t)n * sizeof *best);
    for (int j = 0; arg && j < n; j++) arg[(size_t)i * s->ow + c + j] = (pool_arg)where[j];
  }
}

enum { FLAT = 4096 }; /* h · ow row maxima of a halved plane, kept on the stack */

/* hm[e], hb[e] = the first maximum (the last NaN) of x[stride·e + b − pad]
 * over b < kernel, and its b (when track), for e0 ≤ e < e1; inlined with
 * constant strides and kernels so that the loads become shuffles (offsets
 * as int: loops mixing float and 16-bit lanes do not vectorise). */
static inline __attribute__((always_inline)) void flat_maxima(const float *restrict x, int pad, int e0, int e1,
                                                              int stride, int kernel, bool track, float *restrict hm,
                                                              int *restrict hb) {
  for (int e = e0; e < e1; e++) hm[e] = x[stride * e - pad], hb[e] = 0;
  for (int b = 1; b < kernel; b++)
    for (int e = e0; e < e1; e++) {
      float t = x[stride * e + b - pad];
      bool wins = POOL_WINS(t, hm[e]);
      if (track) hb[e] = wins ? b : hb[e];
      hm[e] = wins ? t : hm[e];
    }
}

/* A plane the stride halves exactly (w = stride·ow, h = stride·oh, as
 * SoftHebb's 4/2/1 pools), separably: the maxima of every input row over the
 * windows' columns as one loop along the plane (column b of row r's window
 * j is x[stride·(r·ow + j) + b − pad]), those of the columns whose windows
 * leave the row again clipped, then each output the maximum of its rows'
 * maxima. The first row's first maximum among the rows' maxima is the first
 * maximum in row-major order, the last NaN likewise: as max_at. */
static inline __attribute__((always_inline)) void max_plane_halved(const hg_pool_shape *s, const float *x, float *y,
                                                                   pool_arg *arg, int lo, int hi, bool track) {
  float hm[FLAT];
  int hb[FLAT], where[FLAT];
  int n = s->h * s->ow;
  if (s->stride == 2 && s->kernel == 4) flat_maxima(x, s->pad, lo, n - (s->ow - hi), 2, 4, track, hm, hb);
  else flat_maxima(x, s->pad, lo, n - (s->ow - hi), s->stride, s->kernel, track, hm, hb);
  for (int r = 0; r < s->h; r++)
    for (int j = 0; j < s->ow; j++) {
      if (j == lo) j = hi; /* the clipped columns: j < lo and j ≥ hi */
      if (j >= s->ow) break;
      window v = window_at(s, 0, j);
      const float *row = x + (size_t)r * s->w + v.c0;
      int e = r * s->ow + j;
      hm[e] = row[v.b0], hb[e] = v.b0;
      for (int b = v.b0 + 1; b < v.b1; b++)
        if (POOL_WINS(row[b], hm[e])) hm[e] = row[b], hb[e] = b;
    }
  for (int i = 0; i < s->oh; i++) {
    window v = window_at(s, i, 0); /* rows: alike for every column */
    const float *h0 = hm + (v.r0 + v.a0) * s->ow;
    const int *b0 = hb + (v.r0 + v.a0) * s->ow;
    float *yi = y + (size_t)i * s->ow;
    for (int j = 0; j < s->ow; j++) yi[j] = h0[j];
    for (int j = 0; track && j < s->ow; j++) where[j] = v.a0 * s->kernel + b0[j];
    for (int a = v.a0 + 1; a < v.a1; a++) {
      const float *ha = hm + (v.r0 + a) * s->ow;
      const int *ba = hb + (v.r0 + a) * s->ow;
      for (int j = 0; j < s->ow; j++) {
        bool wins = POOL_WINS(ha[j], yi[j]);
        if (track) where[j] = wins ? a * s->kernel + ba[j] : where[j];
        yi[j] = wins ? ha[j] : yi[j];
      }
    }
    for (int j = 0; track && j < s->ow; j++) arg[(size_t)i * s->ow + j] = (pool_arg)where[j];
  }
}

/* The halved plane with the winners' offsets, and without (no workspace: half the work). */
static void max_plane_halved_arg(const hg_pool_shape *s, const float *x, float *y, pool_arg *arg, int lo, int hi) {
  max_plane_halved(s, x, y, arg, lo, hi, true);
}

static void max_plane_halved_values(const hg_pool_shape *s, const float *x, float *y, int lo, int hi) {
  max_plane_halved(s, x, y, NULL, lo, hi, false);
}

/* One plane: y = max over each window (NaN wins, first maximum on ties). */
static void max_plane(const hg_pool_shape *s, const float *x, float *y, pool_arg *arg) {
  if (s->kernel == 2 && s->stride == 2 && s->pad == 0) {
    max2x2_plane(s, x, y, arg);
    return;
  }
  /* columns whose windows lie inside the plane: j·stride − pad ≥ 0 and j·stride − pad + kernel ≤ w */
  int lo = (s->pad + s->stride - 1) / s->stride, hi = (s->w - s->kernel + s->pad) / s->stride + 1;
  hi = hi > s->ow ? s->ow : hi;
  lo = lo > hi ? hi : lo;
  if (s->w == s->stride * s->ow && s->h == s->stride * s->oh && s->pad < s->w && s->h * s->ow <= FLAT) {
    if (arg) max_plane_halved_arg(s, x, y, arg, lo, hi);
    else max_plane_halved_values(s, x, y, lo, hi);
    return;
  }
  for (int i = 0; i < s->oh; i++) {
    for (int j = 0; j < lo; j++) max_at(s, x, i, j, y, arg);
    max_row_inner(s, x, i, lo, hi, y, arg);
    for (int j = hi; j < s->ow; j++) max_at(s, x, i, j, y, arg);
  }
}

/* One plane: y = Σ window / kernel² (padding counts as zeros). */
static void avg_plane(const hg_pool_shape *s, const float *x, float *y) {
  float inv = 1.0f / (float)(s->kernel * s->kernel);
  if (s->kernel == 2 && s->stride == 2 && s->pad == 0) { /* SoftHebb's last pool: rows of pairs, vectorised */
    for (int i = 0; i < s->oh; i++) {
      const float *r0 = x + (size_t)2 * i * s->w, *r1 = r0 + s->w;
      for (int j = 0; j < s->ow; j++) y[i * s->ow + j] = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) * inv;
    }
    return;
  }
  for (int i = 0; i < s->oh; i++)
    for (int j = 0; j < s->ow; j++) {
      window v = window_at(s, i, j);
      const float *base = x + (size_t)v.r0 * s->w + v.c0;
      float sum = 0.0f;
      for (int a = v.a0; a < v.a1; a++)
        for (int b = v.b0; b < v.b1; b++) sum += base[(size_t)a * s->w + b];
      y[i * s->ow + j] = sum * inv;
    }
}

static size_t plane_work(const hg_pool_shape *s) {
  return (size_t)s->oh * s->ow * s->kernel * s->kernel;
}

/* y = pool(x); the max's window offsets go to workspace when it is given */
hg_status hg_pool2d_forward(const hg_pool_shape *s, const float *x, float *y, void *workspace) {
  int planes = s->n * s->c;
  size_t in = (size_t)s->h * s->w, out = (size_t)s->oh * s->ow;
  pool_arg *arg = workspace;
  hg_kstats.pool_forward++;
#pragma omp parallel for schedule(static) if (planes * plane_work(s) > 65536)
  for (int p = 0; p < planes; p++) {
    if (s->kind == HG_POOL_MAX) max_plane(s, x + p * in, y + p * out, arg ? arg + p * out : NULL);
    else avg_plane(s, x + p * in, y + p * out);
  }
  return HG_OK;
}

/* One plane: dx[winner] += dy */
static void max_plane_backward(const hg_pool_shape *s, const float *dy, const pool_arg *arg,
                               float *dx) {
  for (int i = 0; i < s->oh; i++)
    for (int j = 0; j < s->ow; j++) {
      int o = i * s->ow + j, a = arg[o] / s->kernel, b = arg[o] % s->kernel;
      dx[(size_t)(i * s->stride - s->pad + a) * s->w + (j * s->stride - s->pad + b)] += dy[o];
    }
}

/* One plane: dx[window] += dy / kernel² */
static void avg_plane_backward(const hg_pool_shape *s, const float *dy, float *dx) {
  float inv = 1.0f / (float)(s->kernel * s->kernel);
  for (int i = 0; i < s->oh; i++)
    for (int j = 0; j < s->ow; j++) {
      window v = window_at(s, i, j);
      float g = dy[i * s->ow + j] * inv;
      float *base = dx + (size_t)v.r0 * s->w + v.c0;
      for (int a = v.a0; a < v.a1; a++)
        for (int b = v.b0; b < v.b1; b++) base[(size_t)a * s->w + b] += g;
    }
}

/* dx (+)= ∂/∂x of Σ dy ⊙ pool(x) */
hg_status hg_pool2d_backward(const hg_pool_shape *s, const float *dy, const void *workspace,
                             float *dx, bool accumulate) {
  if (s->kind == HG_POOL_MAX && !workspace)
    return hg_fail(HG_ERR_ARG, "max_pool2d: backward needs the workspace of a training forward");
  int planes = s->n * s->c;
  size_t in = (size_t)s->h * s->w, out = (size_t)s->oh * s->ow;
  const pool_arg *arg = workspace;
  hg_kstats.pool_backward++;
#pragma omp parallel for schedule(static) if (planes * plane_work(s) > 65536)
  for (int p = 0; p < planes; p++) {
    if (!accumulate) memset(dx + p * in, 0, in * sizeof *dx);
    if (s->kind == HG_POOL_MAX) max_plane_backward(s, dy + p * out, arg + p * out, dx + p * in);
    else avg_plane_backward(s, dy + p * out, dx + p * in);
  }
  return HG_OK;
}
