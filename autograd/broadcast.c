#include "autograd/broadcast.h"

#include <string.h>

void hg_bcast_strides(const hg_tensor *t, const int shape4[4], long strides[4]) {
  long stride = 1;
  for (int d = 3; d >= 0; d--) {
    int td = t->ndim - 4 + d; /* the tensor's dimension aligned with d */
    int size = td >= 0 ? t->shape[td] : 1;
    strides[d] = (size == 1 && shape4[d] != 1) ? 0 : stride;
    stride *= size;
  }
}

hg_status hg_check_same_shape(const char *op, const hg_tensor *a, const hg_tensor *b) {
  if (hg_same_shape(a, b)) return HG_OK;
  char x[64], y[64];
  return hg_fail(HG_ERR_SHAPE, "%s: shapes %s and %s differ", op, hg_shape_str(a, x, sizeof x),
                 hg_shape_str(b, y, sizeof y));
}

hg_status hg_bcast_init(hg_bcast *bc, const char *op, const hg_tensor *a, const hg_tensor *b) {
  bc->ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
  for (int d = 0; d < 4; d++) {
    int ad = a->ndim - 4 + d, bd = b->ndim - 4 + d;
    int sa = ad >= 0 ? a->shape[ad] : 1, sb = bd >= 0 ? b->shape[bd] : 1;
    if (sa != sb && sa != 1 && sb != 1) {
      char x[64], y[64];
      return hg_fail(HG_ERR_SHAPE, "%s: shapes %s and %s do not broadcast", op,
                     hg_shape_str(a, x, sizeof x), hg_shape_str(b, y, sizeof y));
    }
    bc->shape[d] = sa > sb ? sa : sb;
  }
  hg_bcast_strides(a, bc->shape, bc->sa);
  hg_bcast_strides(b, bc->shape, bc->sb);
  bc->same = hg_same_shape(a, b);
  return HG_OK;
}

void hg_bcast_reduce(const float *src, const int shape4[4], float *dst, const long dst_strides[4],
                     size_t dst_numel, bool accumulate) {
  if (!accumulate) memset(dst, 0, dst_numel * sizeof(float));
  size_t i = 0;
  for (int n = 0; n < shape4[0]; n++)
    for (int c = 0; c < shape4[1]; c++)
      for (int h = 0; h < shape4[2]; h++) {
        float *row = dst + n * dst_strides[0] + c * dst_strides[1] + h * dst_strides[2];
        for (int w = 0; w < shape4[3]; w++) row[w * dst_strides[3]] += src[i++];
      }
}
