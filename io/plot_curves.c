/* Line charts of per-epoch series (hg_plot_curves). */
#include <math.h>
#include <stdio.h>

#include "io/plot.h"
#include "io/plot_canvas.h"

#define TS 2        /* text scale */
#define PAD 16      /* outer margin */
#define PLOT_W 640  /* width of the plot area */
#define PLOT_H 400  /* height of the plot area */
#define INSET 8     /* gap between the frame and the first and last epoch */

static const hg_rgb black = {0, 0, 0}, white = {255, 255, 255}, grid = {228, 228, 228}, frame = {90, 90, 90};
static const hg_rgb palette[] = {{31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
                                 {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
#define N_COLOURS (int)(sizeof palette / sizeof palette[0])

/* An axis: data range [lo, hi] with ticks every `step` from `first`. */
typedef struct axis {
  double lo, hi, first, step;
  int decimals;
} axis;

/* Placement of the plot area and the legend. */
typedef struct chart {
  int x, y, w, h; /* plot area */
  int legend_x, width, height;
  axis ax, ay;
} chart;

/* 1, 2 or 5 times a power of ten, near range / target. */
static double nice_step(double range, int target) {
  double raw = range / target, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

/* Y axis over the finite values, widened to whole ticks. */
static axis y_axis(int n_series, const hg_series *series) {
  double lo = INFINITY, hi = -INFINITY;
  for (int s = 0; s < n_series; s++)
    for (int i = 0; i < series[s].n; i++)
      if (isfinite(series[s].y[i])) {
        lo = fmin(lo, series[s].y[i]);
        hi = fmax(hi, series[s].y[i]);
      }
  if (!(lo <= hi)) lo = 0, hi = 1;
  if (hi - lo < 1e-9 * fmax(1, fabs(hi))) {
    double d = fabs(hi) > 1e-6 ? 0.05 * fabs(hi) : 1;
    lo -= d, hi += d;
  }
  axis a = {.step = nice_step(hi - lo, 6)};
  a.lo = floor(lo / a.step + 1e-9) * a.step;
  a.hi = ceil(hi / a.step - 1e-9) * a.step;
  a.first = a.lo;
  a.decimals = a.step >= 1 ? 0 : (int)ceil(-log10(a.step) - 1e-9);
  return a;
}

/* X axis over epochs 1..n, ticks on whole epochs. */
static axis x_axis(int n) {
  axis a = {.lo = 1, .hi = n > 2 ? n : 2};
  a.step = fmax(1, nice_step(a.hi - a.lo, 10));
  a.first = a.step > 1 ? a.step : 1;
  return a;
}

static void tick_label(char *buf, size_t size, const axis *a, double v) {
  if (fabs(v) < 1e-9 * a->step) v = 0;
  snprintf(buf, size, "%.*f", a->decimals, v);
}

/* Number of ticks first, first + step, ... up to hi. */
static int n_ticks(const axis *a) { return (int)floor((a->hi - a->first) / a->step + 1e-6) + 1; }

static int px_x(const chart *c, double x) {
  return c->x + INSET + (int)lround((x - c->ax.lo) / (c->ax.hi - c->ax.lo) * (c->w - 1 - 2 * INSET));
}

static int px_y(const chart *c, double y) {
  return c->y + c->h - 1 - (int)lround((y - c->ay.lo) / (c->ay.hi - c->ay.lo) * (c->h - 1));
}

static const char *series_name(const hg_series *s, int i, char *buf, size_t size) {
  if (s->name) return s->name;
  snprintf(buf, size, "series %d", i + 1);
  return buf;
}

static chart plan(const char *title, const char *ylabel, int n_series, const hg_series *series) {
  chart c = {.w = PLOT_W, .h = PLOT_H};
  char buf[64];
  int n = 1, th = hg_text_height(TS), tick_w = 0, name_w = 0;
  for (int s = 0; s < n_series; s++) {
    n = series[s].n > n ? series[s].n : n;
    int w = hg_text_width(series_name(&series[s], s, buf, sizeof buf), TS);
    name_w = w > name_w ? w : name_w;
  }
  c.ax = x_axis(n);
  c.ay = y_axis(n_series, series);
  for (int i = 0; i < n_ticks(&c.ay); i++) {
    tick_label(buf, sizeof buf, &c.ay, c.ay.first + i * c.ay.step);
    int w = hg_text_width(buf, TS);
    tick_w = w > tick_w ? w : tick_w;
  }
  c.x = PAD + (ylabel ? th + 12 : 0) + tick_w + 10;
  c.y = PAD + (title ? th + 16 : 0);
  c.legend_x = c.x + c.w + 20;
  c.width = c.legend_x + 36 + name_w + PAD;
  c.height = c.y + c.h + 10 + th + 10 + th + PAD;
  int title_w = title ? hg_text_width(title, TS) + 2 * PAD : 0;
  if (c.width < title_w) c.width = title_w;
  return c;
}

static void draw_axes(hg_canvas *cv, const chart *c, const char *title, const char *ylabel) {
  char buf[64];
  int th = hg_text_height(TS), bottom = c->y + c->h - 1;
  for (int i = 0; i < n_ticks(&c->ay); i++) {
    double v = c->ay.first + i * c->ay.step;
    int y = px_y(c, v);
    hg_canvas_rect(cv, c->x, y, c->w, 1, grid);
    hg_canvas_rect(cv, c->x - 5, y, 5, 1, frame);
    tick_label(buf, sizeof buf, &c->ay, v);
    hg_canvas_text(cv, c->x - 8 - hg_text_width(buf, TS), y - 7 * TS / 2, buf, TS, black);
  }
  for (int i = 0; i < n_ticks(&c->ax); i++) {
    double v = c->ax.first + i * c->ax.step;
    int x = px_x(c, v);
    hg_canvas_rect(cv, x, c->y, 1, c->h, grid);
    hg_canvas_rect(cv, x, bottom + 1, 1, 5, frame);
    snprintf(buf, sizeof buf, "%.0f", v);
    hg_canvas_text(cv, x - hg_text_width(buf, TS) / 2, bottom + 10, buf, TS, black);
  }
  hg_canvas_rect(cv, c->x, c->y, c->w, 1, frame);
  hg_canvas_rect(cv, c->x, bottom, c->w, 1, frame);
  hg_canvas_rect(cv, c->x, c->y, 1, c->h, frame);
  hg_canvas_rect(cv, c->x + c->w - 1, c->y, 1, c->h, frame);
  const char *xlabel = "epoch";
  hg_canvas_text(cv, c->x + (c->w - hg_text_width(xlabel, TS)) / 2, bottom + 10 + th + 8, xlabel, TS, black);
  if (title) {
    int tw = hg_text_width(title, TS), x = c->x + (c->w - tw) / 2;
    x = x + tw > cv->w - PAD ? cv->w - PAD - tw : x;
    hg_canvas_text(cv, x < PAD ? PAD : x, PAD, title, TS, black);
  }
  if (ylabel)
    hg_canvas_text_up(cv, PAD, c->y + (c->h + hg_text_width(ylabel, TS)) / 2, ylabel, TS, black);
}

/* One series: 2-pixel lines between consecutive finite points, square markers when few. */
static void draw_series(hg_canvas *cv, const chart *c, const hg_series *s, hg_rgb colour) {
  int px = 0, py = 0, have = 0, mark = s->n <= 40 ? 5 : 0;
  for (int i = 0; i < s->n; i++) {
    if (!isfinite(s->y[i])) {
      have = 0;
      continue;
    }
    int x = px_x(c, i + 1), y = px_y(c, s->y[i]);
    if (have) hg_canvas_line(cv, px, py, x, y, 2, colour);
    else if (!mark) hg_canvas_rect(cv, x - 1, y - 1, 3, 3, colour);
    if (mark) hg_canvas_rect(cv, x - mark / 2, y - mark / 2, mark, mark, colour);
    px = x, py = y, have = 1;
  }
}

static void draw_legend(hg_canvas *cv, const chart *c, int n_series, const hg_series *series) {
  char buf[64];
  int th = hg_text_height(TS);
  for (int s = 0; s < n_series; s++) {
    hg_rgb colour = palette[s % N_COLOURS];
    int y = c->y + 4 + s * (th + 8);
    hg_canvas_rect(cv, c->legend_x, y + 7 * TS / 2 - 1, 26, 3, colour);
    hg_canvas_rect(cv, c->legend_x + 11, y + 7 * TS / 2 - 2, 5, 5, colour);
    hg_canvas_text(cv, c->legend_x + 36, y, series_name(&series[s], s, buf, sizeof buf), TS, black);
  }
}

hg_status hg_plot_curves(const char *path, const char *title, const char *ylabel, int n_series,
                         const hg_series *series) {
  static const char who[] = "hg_plot_curves";
  if (!path || !series) return hg_fail(HG_ERR_ARG, "%s: %s is NULL", who, path ? "series" : "path");
  if (n_series <= 0) return hg_fail(HG_ERR_ARG, "%s: n_series is %d, need at least 1", who, n_series);
  for (int s = 0; s < n_series; s++) {
    if (series[s].n <= 0 || series[s].n > 1 << 20)
      return hg_fail(HG_ERR_ARG, "%s: series %d has n = %d, need 1..2^20", who, s, series[s].n);
    if (!series[s].y) return hg_fail(HG_ERR_ARG, "%s: series %d has y = NULL", who, s);
  }
  chart c = plan(title, ylabel, n_series, series);
  int legend_h = c.y + 4 + n_series * (hg_text_height(TS) + 8) + PAD;
  hg_canvas cv;
  hg_status st = hg_canvas_init(&cv, c.width, c.height > legend_h ? c.height : legend_h, white, who);
  if (st == HG_OK) {
    draw_axes(&cv, &c, title, ylabel);
    for (int s = 0; s < n_series; s++) draw_series(&cv, &c, &series[s], palette[s % N_COLOURS]);
    draw_legend(&cv, &c, n_series, series);
    st = hg_canvas_write_png(&cv, path, who);
  }
  hg_canvas_release(&cv);
  return st;
}
