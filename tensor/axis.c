#include "tensor/axis.h"

hg_status hg_axis_split(hg_axis *a, const char *op, const hg_tensor *x, int axis) {
  int d = axis < 0 ? axis + x->ndim : axis;
  if (d < 0 || d >= x->ndim) {
    char s[64];
    return hg_fail(HG_ERR_SHAPE, "%s: axis %d out of range for %s", op, axis, hg_shape_str(x, s, sizeof s));
  }
  a->outer = a->inner = 1;
  for (int i = 0; i < d; i++) a->outer *= (size_t)x->shape[i];
  for (int i = d + 1; i < x->ndim; i++) a->inner *= (size_t)x->shape[i];
  a->len = (size_t)x->shape[d];
  return HG_OK;
}
