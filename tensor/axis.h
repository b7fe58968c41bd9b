/* A tensor seen around one axis as [outer, len, inner]: element (o, i, j) is
 * at (o·len + i)·inner + j. Softmax, masks and competition run along such
 * lines. */
#ifndef HG_AXIS_H
#define HG_AXIS_H

#include "tensor/tensor.h"

typedef struct hg_axis {
  size_t outer, len, inner;
} hg_axis;

/* Split x around `axis` (negative counts from the end); errors name `op`. */
hg_status hg_axis_split(hg_axis *a, const char *op, const hg_tensor *x, int axis);

#endif
