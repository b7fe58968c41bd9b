/* NumPy broadcasting of two tensors of up to 4 dimensions, and the check
 * that two tensors have one shape (internal). */
#ifndef HG_BROADCAST_H
#define HG_BROADCAST_H

#include "tensor/tensor.h"

/* Shapes aligned to 4 dimensions from the right, with element strides that
 * are 0 along broadcast dimensions. */
typedef struct hg_bcast {
  int ndim;      /* of the result */
  int shape[4];  /* result, padded on the left with 1 */
  long sa[4], sb[4];
  bool same;     /* a, b and the result all have one shape */
} hg_bcast;

/* HG_OK when a and b have one shape; else an error naming `op` and both shapes. */
hg_status hg_check_same_shape(const char *op, const hg_tensor *a, const hg_tensor *b);
/* Fill bc for a ⊕ b; errors name `op` and both shapes. */
hg_status hg_bcast_init(hg_bcast *bc, const char *op, const hg_tensor *a, const hg_tensor *b);
/* Strides (0 along broadcast dims) of t aligned to a 4-D result shape. */
void hg_bcast_strides(const hg_tensor *t, const int shape4[4], long strides[4]);
/* dst (+)= src summed over the dimensions where dst is broadcast: src has the
 * 4-D shape, dst has element strides dst_strides (0 where broadcast). */
void hg_bcast_reduce(const float *src, const int shape4[4], float *dst, const long dst_strides[4],
                     size_t dst_numel, bool accumulate);

#endif
