/* An RGB canvas for the plots of io/plot.h: pixels, rectangles, lines,
 * text in the built-in 5×9 bitmap font, and an atomic PNG writer. Drawing
 * clips at the edges. Internal to the plotting code. */
#ifndef HG_PLOT_CANVAS_H
#define HG_PLOT_CANVAS_H

#include "tensor/error.h"

typedef struct hg_rgb {
  unsigned char r, g, b;
} hg_rgb;

typedef struct hg_canvas {
  int w, h;
  unsigned char *px; /* h rows of w RGB triples */
} hg_canvas;

/* Allocate a w×h canvas filled with bg; errors name `who`. */
hg_status hg_canvas_init(hg_canvas *c, int w, int h, hg_rgb bg, const char *who);
/* Free the pixels. */
void hg_canvas_release(hg_canvas *c);
/* px(x, y) = color when inside the canvas. */
void hg_canvas_pixel(hg_canvas *c, int x, int y, hg_rgb color);
/* Fill the w×h rectangle whose top-left corner is (x, y). */
void hg_canvas_rect(hg_canvas *c, int x, int y, int w, int h, hg_rgb color);
/* Bresenham line from (x0, y0) to (x1, y1) drawn with a width×width pen. */
void hg_canvas_line(hg_canvas *c, int x0, int y0, int x1, int y1, int width, hg_rgb color);
/* Width in pixels of s drawn at this scale (each glyph pixel scale×scale). */
int hg_text_width(const char *s, int scale);
/* Height in pixels of a line of text at this scale, descenders included. */
int hg_text_height(int scale);
/* Text whose cell's top-left corner is (x, y). */
void hg_canvas_text(hg_canvas *c, int x, int y, const char *s, int scale, hg_rgb color);
/* Text turned 90° anticlockwise (read bottom to top); (x, y) is its bottom-left corner. */
void hg_canvas_text_up(hg_canvas *c, int x, int y, const char *s, int scale, hg_rgb color);
/* Write the canvas as an 8-bit RGB PNG to path.tmp, then rename it to path. */
hg_status hg_canvas_write_png(const hg_canvas *c, const char *path, const char *who);

#endif
