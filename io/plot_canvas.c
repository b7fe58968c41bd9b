#include "io/plot_canvas.h"

#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/files.h"
#include "io/plot_font.h"

/* Largest canvas accepted: 2^26 pixels (192 MiB of RGB). */
#define MAX_PIXELS (1L << 26)

hg_status hg_canvas_init(hg_canvas *c, int w, int h, hg_rgb bg, const char *who) {
  c->w = c->h = 0;
  c->px = NULL;
  if (w <= 0 || h <= 0 || (long)w * h > MAX_PIXELS)
    return hg_fail(HG_ERR_ARG, "%s: image of %d x %d pixels is empty or too large", who, w, h);
  c->px = malloc((size_t)w * h * 3);
  if (!c->px) return hg_fail(HG_ERR_NOMEM, "%s: out of memory for a %d x %d image", who, w, h);
  c->w = w;
  c->h = h;
  hg_canvas_rect(c, 0, 0, w, h, bg);
  return HG_OK;
}

void hg_canvas_release(hg_canvas *c) {
  free(c->px);
  c->px = NULL;
}

void hg_canvas_pixel(hg_canvas *c, int x, int y, hg_rgb color) {
  if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
  unsigned char *p = c->px + ((size_t)y * c->w + x) * 3;
  p[0] = color.r;
  p[1] = color.g;
  p[2] = color.b;
}

void hg_canvas_rect(hg_canvas *c, int x, int y, int w, int h, hg_rgb color) {
  int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
  int x1 = x + w > c->w ? c->w : x + w, y1 = y + h > c->h ? c->h : y + h;
  for (int j = y0; j < y1; j++)
    for (int i = x0; i < x1; i++) hg_canvas_pixel(c, i, j, color);
}

void hg_canvas_line(hg_canvas *c, int x0, int y0, int x1, int y1, int width, hg_rgb color) {
  int dx = abs(x1 - x0), dy = -abs(y1 - y0);
  int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
  int off = (width - 1) / 2;
  for (;;) {
    hg_canvas_rect(c, x0 - off, y0 - off, width, width, color);
    if (x0 == x1 && y0 == y1) break;
    int e2 = 2 * err;
    if (e2 >= dy) {
      err += dy;
      x0 += sx;
    }
    if (e2 <= dx) {
      err += dx;
      y0 += sy;
    }
  }
}

int hg_text_width(const char *s, int scale) {
  int n = (int)strlen(s);
  return n ? (n * (HG_FONT_W + 1) - 1) * scale : 0;
}

int hg_text_height(int scale) { return HG_FONT_H * scale; }

/* Draw every lit glyph pixel of s; `up` turns the text 90° anticlockwise. */
static void each_pixel(hg_canvas *c, const char *s, int scale, hg_rgb color, int x, int y, int up) {
  for (int i = 0; s[i]; i++) {
    const unsigned char *g = hg_plot_glyph((unsigned char)s[i]);
    for (int row = 0; row < HG_FONT_H; row++)
      for (int col = 0; col < HG_FONT_W; col++) {
        if (!(g[row] & (0x10 >> col))) continue;
        int along = (i * (HG_FONT_W + 1) + col) * scale, across = row * scale;
        if (up) hg_canvas_rect(c, x + across, y - along - scale, scale, scale, color);
        else hg_canvas_rect(c, x + along, y + across, scale, scale, color);
      }
  }
}

void hg_canvas_text(hg_canvas *c, int x, int y, const char *s, int scale, hg_rgb color) {
  each_pixel(c, s, scale, color, x, y, 0);
}

void hg_canvas_text_up(hg_canvas *c, int x, int y, const char *s, int scale, hg_rgb color) {
  each_pixel(c, s, scale, color, x, y, 1);
}

/* libpng reports errors here: keep the message, jump back to the writer. */
static void on_png_error(png_structp png, png_const_charp msg) {
  char *buf = png_get_error_ptr(png);
  snprintf(buf, 128, "%s", msg);
  png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

/* Encode c into the open file f; libpng's message goes to err (128 bytes). */
static hg_status encode(const hg_canvas *c, FILE *f, char *err) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, err, on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    png_destroy_write_struct(&png, NULL);
    snprintf(err, 128, "out of memory");
    return HG_ERR_NOMEM;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return HG_ERR_IO;
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < c->h; y++) png_write_row(png, c->px + (size_t)y * c->w * 3);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return HG_OK;
}

hg_status hg_canvas_write_png(const hg_canvas *c, const char *path, const char *who) {
  char err[128] = "";
  hg_atomic_file a;
  hg_status s = hg_atomic_open(&a, path, who);
  if (s != HG_OK) return s;
  s = encode(c, a.f, err);
  if (s != HG_OK) s = hg_fail(s, "%s: cannot write %s: %s", who, path, err);
  return hg_atomic_commit(&a, s, who);
}
