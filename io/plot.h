/* PNG pictures of runs, drawn with libpng and a built-in bitmap font:
 * grids of convolution kernels, training curves and heat maps of results.
 * Each function writes path.tmp and renames it to path. A bad argument
 * gives HG_ERR_ARG naming the function; a file that cannot be written,
 * HG_ERR_IO naming the path. Titles and labels are optional (NULL). */
#ifndef HG_PLOT_H
#define HG_PLOT_H

#include "tensor/tensor.h"

/* Grid of the kernels of weight [K,C,kh,kw]: each kernel min-max scaled to
 * 0..255 on its own, RGB when C == 3 else grey (channel 0.. averaged when
 * C != 1 and != 3), `columns` per row (<= 0: about square), each pixel drawn
 * scale×scale (1..64), 1-pixel gaps.
 * With n = min(columns, K) columns and r = ceil(K / n) rows the picture is
 * (1 + n·(kw·scale + 1)) × (1 + r·(kh·scale + 1)) pixels, the gaps (also
 * around the grid and in unused tiles) dark blue, unlike any grey. A
 * constant kernel is mid grey (128); non-finite values are black. */
hg_status hg_plot_kernels(const char *path, const hg_tensor *weight, int columns, int scale);
/* Several kernel grids side by side on white, each under its title (e.g. a
 * layer before and after learning); titles NULL: the grids alone, no margin. */
hg_status hg_plot_kernel_panels(const char *path, int panels, const hg_tensor *const *weights,
                                const char *const *titles, int columns, int scale);

typedef struct hg_series {
  const char *name; /* legend entry (NULL: "series N") */
  const float *y;   /* n >= 1 values; non-finite ones leave a gap in the line */
  int n;
} hg_series; /* y[i] at x = i + 1 (epochs) */

/* Line chart of the series with axes, tick labels, a title, a y-axis label
 * and a legend. The x axis is "epoch"; the y axis spans the finite values,
 * widened to whole ticks. Up to 10 colours, then they repeat. */
hg_status hg_plot_curves(const char *path, const char *title, const char *ylabel, int n_series,
                         const hg_series *series);

/* Heat map rows × cols of values (row-major; NaN = empty cell, drawn grey),
 * each cell labelled with its value ("%.1f"), row and column labels, a
 * title; colour from low (blue) through white to high (red) over the finite
 * values. Column labels wider than two cells are written upwards; a colour
 * bar under the map shows the range. Labels (arrays or entries) may be NULL. */
hg_status hg_plot_heatmap(const char *path, const char *title, int rows, int cols,
                          const char *const *row_labels, const char *const *col_labels, const float *values);

#endif
