/* Kernel grids and heat maps; line charts are in io/plot_curves.c. */
#include "io/plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/plot_canvas.h"

static const hg_rgb black = {0, 0, 0}, white = {255, 255, 255}, empty = {190, 190, 190};
static const hg_rgb gap = {40, 70, 130}; /* between kernels: apart from every grey */

/* Value of pixel i of a kernel with C channel planes of `plane` pixels:
 * the channel average (the channel itself when C == 1). */
static float mean_at(const float *k, int C, int plane, int i) {
  float sum = 0;
  for (int ch = 0; ch < C; ch++) sum += k[(size_t)ch * plane + i];
  return sum / (float)C;
}

/* lo, hi over the finite values of the n floats v (0, 0 when none). */
static void finite_range(const float *v, int n, float *lo, float *hi) {
  float a = INFINITY, b = -INFINITY;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) {
      a = v[i] < a ? v[i] : a;
      b = v[i] > b ? v[i] : b;
    }
  *lo = a <= b ? a : 0;
  *hi = a <= b ? b : 0;
}

/* v scaled from [lo, hi] to 0..255; 128 when hi == lo, 0 when not finite. */
static unsigned char to_byte(float v, float lo, float hi) {
  if (!isfinite(v)) return 0;
  if (!(hi > lo)) return 128;
  return (unsigned char)lrintf(255.0f * (v - lo) / (hi - lo));
}

/* Range of what is drawn of kernel k: all channels when RGB, else the channel means. */
static void kernel_range(const float *k, int C, int plane, float *lo, float *hi) {
  if (C == 3) {
    finite_range(k, 3 * plane, lo, hi);
    return;
  }
  float a = INFINITY, b = -INFINITY;
  for (int i = 0; i < plane; i++) {
    float m = mean_at(k, C, plane, i);
    if (isfinite(m)) a = fminf(a, m), b = fmaxf(b, m);
  }
  *lo = a <= b ? a : 0;
  *hi = a <= b ? b : 0;
}

/* Draw kernel k [C,kh,kw] with its top-left pixel at (x, y). */
static void draw_kernel(hg_canvas *c, const float *k, int C, int kh, int kw, int x, int y, int scale) {
  int plane = kh * kw;
  float lo, hi;
  kernel_range(k, C, plane, &lo, &hi);
  for (int i = 0; i < plane; i++) {
    hg_rgb p;
    if (C == 3) {
      p = (hg_rgb){to_byte(k[i], lo, hi), to_byte(k[plane + i], lo, hi), to_byte(k[2 * plane + i], lo, hi)};
    } else {
      unsigned char g = to_byte(mean_at(k, C, plane, i), lo, hi);
      p = (hg_rgb){g, g, g};
    }
    hg_canvas_rect(c, x + (i % kw) * scale, y + (i / kw) * scale, scale, scale, p);
  }
}

/* Columns and rows of the grid of K kernels. */
static void grid_size(int K, int columns, int *n, int *rows) {
  *n = columns > 0 ? (columns < K ? columns : K) : (int)ceil(sqrt((double)K));
  *rows = (K + *n - 1) / *n;
}

static hg_status check_kernels(const hg_tensor *weight, const char *who) {
  char buf[64];
  if (!weight) return hg_fail(HG_ERR_ARG, "%s: weight is NULL", who);
  if (weight->ndim != 4 || weight->numel == 0)
    return hg_fail(HG_ERR_ARG, "%s: weight must be a non-empty 4-D [K,C,kh,kw] tensor, got %s", who,
                   hg_shape_str(weight, buf, sizeof buf));
  return HG_OK;
}

/* The grid of weight's kernels with its top-left corner at (x, y). */
static void draw_grid(hg_canvas *c, const hg_tensor *weight, int columns, int scale, int x, int y) {
  int K = weight->shape[0], C = weight->shape[1], kh = weight->shape[2], kw = weight->shape[3], n, rows;
  grid_size(K, columns, &n, &rows);
  hg_canvas_rect(c, x, y, 1 + n * (kw * scale + 1), 1 + rows * (kh * scale + 1), gap);
  for (int k = 0; k < K; k++)
    draw_kernel(c, weight->data + (size_t)k * C * kh * kw, C, kh, kw, x + 1 + (k % n) * (kw * scale + 1),
                y + 1 + (k / n) * (kh * scale + 1), scale);
}

#define TS 2     /* text scale */
#define PAD 16   /* outer margin */

static hg_status kernel_panels(const char *who, const char *path, int panels, const hg_tensor *const *weights,
                               const char *const *titles, int columns, int scale) {
  if (!path || !weights || panels < 1) return hg_fail(HG_ERR_ARG, "%s: no path or no panel", who);
  if (scale < 1 || scale > 64) return hg_fail(HG_ERR_ARG, "%s: scale %d is not in 1..64", who, scale);
  long w = titles ? PAD : 0, h = 0;
  int top = titles ? PAD + hg_text_height(TS) + PAD / 2 : 0;
  for (int i = 0; i < panels; i++) {
    hg_status s = check_kernels(weights[i], who);
    if (s != HG_OK) return s;
    int n, rows;
    grid_size(weights[i]->shape[0], columns, &n, &rows);
    long pw = 1 + (long)n * ((long)weights[i]->shape[3] * scale + 1);
    long ph = 1 + (long)rows * ((long)weights[i]->shape[2] * scale + 1);
    if (titles && hg_text_width(titles[i], TS) > pw) pw = hg_text_width(titles[i], TS);
    w += pw + (titles ? PAD : 0);
    if (ph > h) h = ph;
  }
  h += top + (titles ? PAD : 0);
  if (w > 1 << 20 || h > 1 << 20) return hg_fail(HG_ERR_ARG, "%s: a %ld x %ld image is too large", who, w, h);
  hg_canvas c;
  hg_status s = hg_canvas_init(&c, (int)w, (int)h, titles ? white : gap, who);
  for (int i = 0, x = titles ? PAD : 0; s == HG_OK && i < panels; i++) {
    int n, rows;
    grid_size(weights[i]->shape[0], columns, &n, &rows);
    int pw = 1 + n * (weights[i]->shape[3] * scale + 1);
    if (titles) hg_canvas_text(&c, x, PAD, titles[i], TS, black);
    draw_grid(&c, weights[i], columns, scale, x, top);
    if (titles && hg_text_width(titles[i], TS) > pw) pw = hg_text_width(titles[i], TS);
    x += pw + (titles ? PAD : 0);
  }
  if (s == HG_OK) s = hg_canvas_write_png(&c, path, who);
  hg_canvas_release(&c);
  return s;
}

hg_status hg_plot_kernel_panels(const char *path, int panels, const hg_tensor *const *weights,
                                const char *const *titles, int columns, int scale) {
  return kernel_panels("hg_plot_kernel_panels", path, panels, weights, titles, columns, scale);
}

hg_status hg_plot_kernels(const char *path, const hg_tensor *weight, int columns, int scale) {
  return kernel_panels("hg_plot_kernels", path, 1, &weight, NULL, columns, scale);
}

/* Colour of t in [0, 1]: blue through near-white to red. */
static hg_rgb diverging(float t) {
  static const float stops[3][3] = {{33, 102, 172}, {247, 247, 247}, {178, 24, 43}};
  int seg = t < 0.5f ? 0 : 1;
  float u = t < 0.5f ? 2 * t : 2 * t - 1;
  const float *a = stops[seg], *b = stops[seg + 1];
  return (hg_rgb){(unsigned char)lrintf(a[0] + u * (b[0] - a[0])), (unsigned char)lrintf(a[1] + u * (b[1] - a[1])),
                  (unsigned char)lrintf(a[2] + u * (b[2] - a[2]))};
}

static hg_rgb ink_on(hg_rgb bg) { return 0.299f * bg.r + 0.587f * bg.g + 0.114f * bg.b < 140 ? white : black; }

#define BAR_W 240
#define BAR_H 14

/* Sizes of the parts of a heat map, in pixels. */
typedef struct heat_layout {
  int cell_w, cell_h, label_w, head_h, grid_x, grid_y, w, h;
  int upright; /* column labels written upwards */
  float lo, hi;
} heat_layout;

static int widest(int n, const char *const *labels) {
  int m = 0;
  for (int i = 0; labels && i < n; i++) {
    int w = labels[i] ? hg_text_width(labels[i], TS) : 0;
    m = w > m ? w : m;
  }
  return m;
}

static heat_layout heat_plan(const char *title, int rows, int cols, const char *const *row_labels,
                             const char *const *col_labels, const float *values) {
  heat_layout L = {0};
  char buf[48];
  int value_w = hg_text_width("-0.0", TS);
  for (long i = 0; i < (long)rows * cols; i++)
    if (isfinite(values[i])) {
      snprintf(buf, sizeof buf, "%.1f", values[i]);
      int w = hg_text_width(buf, TS);
      value_w = w > value_w ? w : value_w;
    }
  int col_w = widest(cols, col_labels), th = hg_text_height(TS);
  L.cell_w = value_w + 20;
  L.upright = col_w > 2 * L.cell_w;
  if (!L.upright && col_w + 12 > L.cell_w) L.cell_w = col_w + 12;
  L.cell_h = th + 18;
  L.label_w = row_labels ? widest(rows, row_labels) + 12 : 0;
  L.head_h = col_labels ? (L.upright ? col_w : th) + 10 : 0;
  L.grid_x = PAD + L.label_w;
  L.grid_y = PAD + (title ? th + 14 : 0) + L.head_h;
  L.w = L.grid_x + cols * L.cell_w + PAD;
  finite_range(values, rows * cols, &L.lo, &L.hi);
  snprintf(buf, sizeof buf, "%.1f", fabsf(L.lo) > fabsf(L.hi) ? L.lo : L.hi);
  int title_w = title ? hg_text_width(title, TS) : 0, bar_w = BAR_W + 2 * (hg_text_width(buf, TS) + 8);
  if (L.w < title_w + 2 * PAD) L.w = title_w + 2 * PAD;
  if (L.w < bar_w + 2 * PAD) L.w = bar_w + 2 * PAD;
  L.grid_x += (L.w - (L.grid_x + cols * L.cell_w + PAD)) / 2; /* centred when the title or bar is wider */
  L.h = L.grid_y + rows * L.cell_h + 16 + BAR_H + PAD;
  return L;
}

static hg_rgb heat_colour(const heat_layout *L, float v) {
  if (!isfinite(v)) return empty;
  return diverging(L->hi > L->lo ? (v - L->lo) / (L->hi - L->lo) : 0.5f);
}

static void heat_cells(hg_canvas *c, const heat_layout *L, int rows, int cols, const float *values) {
  char buf[48];
  int th = hg_text_height(TS);
  for (int r = 0; r < rows; r++)
    for (int k = 0; k < cols; k++) {
      float v = values[(size_t)r * cols + k];
      int x = L->grid_x + k * L->cell_w, y = L->grid_y + r * L->cell_h;
      hg_rgb bg = heat_colour(L, v);
      hg_canvas_rect(c, x + 1, y + 1, L->cell_w - 2, L->cell_h - 2, bg);
      if (!isfinite(v)) continue;
      snprintf(buf, sizeof buf, "%.1f", v);
      hg_canvas_text(c, x + (L->cell_w - hg_text_width(buf, TS)) / 2, y + (L->cell_h - th) / 2 + TS, buf, TS,
                     ink_on(bg));
    }
}

static void heat_labels(hg_canvas *c, const heat_layout *L, const char *title, int rows, int cols,
                        const char *const *row_labels, const char *const *col_labels) {
  int th = hg_text_height(TS);
  if (title) hg_canvas_text(c, (L->w - hg_text_width(title, TS)) / 2, PAD, title, TS, black);
  for (int r = 0; row_labels && r < rows; r++)
    if (row_labels[r])
      hg_canvas_text(c, L->grid_x - 8 - hg_text_width(row_labels[r], TS),
                     L->grid_y + r * L->cell_h + (L->cell_h - th) / 2 + TS, row_labels[r], TS, black);
  for (int k = 0; col_labels && k < cols; k++) {
    if (!col_labels[k]) continue;
    int x = L->grid_x + k * L->cell_w, tw = hg_text_width(col_labels[k], TS);
    if (L->upright) hg_canvas_text_up(c, x + (L->cell_w - th) / 2, L->grid_y - 6, col_labels[k], TS, black);
    else hg_canvas_text(c, x + (L->cell_w - tw) / 2, L->grid_y - 6 - th + 2 * TS, col_labels[k], TS, black);
  }
}

/* Colour bar from lo to hi under the grid, its ends labelled. */
static void heat_bar(hg_canvas *c, const heat_layout *L, int rows) {
  char buf[48];
  int x = (L->w - BAR_W) / 2, y = L->grid_y + rows * L->cell_h + 16;
  for (int i = 0; i < BAR_W; i++) hg_canvas_rect(c, x + i, y, 1, BAR_H, diverging((float)i / (BAR_W - 1)));
  snprintf(buf, sizeof buf, "%.1f", L->lo);
  hg_canvas_text(c, x - 8 - hg_text_width(buf, TS), y, buf, TS, black);
  snprintf(buf, sizeof buf, "%.1f", L->hi);
  hg_canvas_text(c, x + BAR_W + 8, y, buf, TS, black);
}

hg_status hg_plot_heatmap(const char *path, const char *title, int rows, int cols, const char *const *row_labels,
                          const char *const *col_labels, const float *values) {
  static const char who[] = "hg_plot_heatmap";
  if (!path || !values) return hg_fail(HG_ERR_ARG, "%s: %s is NULL", who, path ? "values" : "path");
  if (rows <= 0 || cols <= 0 || (long)rows * cols > 1 << 20)
    return hg_fail(HG_ERR_ARG, "%s: %d x %d cells: need 1..2^20 of them", who, rows, cols);
  heat_layout L = heat_plan(title, rows, cols, row_labels, col_labels, values);
  hg_canvas c;
  hg_status s = hg_canvas_init(&c, L.w, L.h, white, who);
  if (s == HG_OK) {
    heat_cells(&c, &L, rows, cols, values);
    heat_labels(&c, &L, title, rows, cols, row_labels, col_labels);
    heat_bar(&c, &L, rows);
    s = hg_canvas_write_png(&c, path, who);
  }
  hg_canvas_release(&c);
  return s;
}
