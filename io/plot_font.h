/* The bitmap font of io/plot.c: printable ASCII (32..126) in a 5×9 cell,
 * rows 0..6 above the baseline and rows 7..8 for descenders. Internal to
 * the plotting code. */
#ifndef HG_PLOT_FONT_H
#define HG_PLOT_FONT_H

#define HG_FONT_W 5 /* glyph width in pixels; text advances HG_FONT_W + 1 per character */
#define HG_FONT_H 9 /* glyph height in pixels, descenders included */

/* The HG_FONT_H rows of character c, bit 4 the leftmost pixel; '?' outside 32..126. */
const unsigned char *hg_plot_glyph(int c);

#endif
