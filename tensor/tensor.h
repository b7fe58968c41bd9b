/* Float32 tensors of up to 4 dimensions (NCHW), contiguous, on
 * reference-counted storage. Views (reshape, batch slices) share storage.
 *
 * Ownership: every function returning hg_tensor* returns a new reference;
 * release it with hg_tensor_free(). hg_tensor_retain() adds a reference. */
#ifndef HG_TENSOR_H
#define HG_TENSOR_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor/error.h"
#include "tensor/rng.h"

#define HG_MAX_DIMS 4

typedef struct hg_storage {
  float *data;
  size_t numel;
  int refs;
} hg_storage;

typedef struct hg_tensor {
  int ndim;
  int shape[HG_MAX_DIMS];
  size_t numel;
  float *data;          /* first element; storage->data + offset */
  hg_storage *storage;
  int refs;
  /* Autograd state (see autograd/autograd.h). */
  bool requires_grad;   /* some gradient must flow into this tensor */
  bool is_leaf;         /* not the output of a recorded op */
  bool grad_is_zero;    /* grad holds zeros: the next backward may overwrite it */
  bool grad_spent;      /* its node has run backward and let go of its inputs */
  struct hg_tensor *grad;
} hg_tensor;

/* Uninitialised tensor of the given shape (ndim 0..4; ndim 0 is a scalar). */
hg_tensor *hg_tensor_empty(int ndim, const int *shape);
hg_tensor *hg_tensor_zeros(int ndim, const int *shape);
hg_tensor *hg_tensor_ones(int ndim, const int *shape);
/* t[i] = value */
hg_tensor *hg_tensor_full(int ndim, const int *shape, float value);
/* t[i] ~ U[lo, hi) */
hg_tensor *hg_tensor_uniform(int ndim, const int *shape, float lo, float hi, hg_rng *rng);
/* t[i] ~ N(mean, std²) */
hg_tensor *hg_tensor_normal(int ndim, const int *shape, float mean, float std, hg_rng *rng);
/* Copy of `n` floats from `values`. */
hg_tensor *hg_tensor_from(int ndim, const int *shape, const float *values);
/* Deep copy (data only; no autograd state). */
hg_tensor *hg_tensor_clone(const hg_tensor *t);
/* View with a new shape of the same numel; one entry of -1 is inferred. */
hg_tensor *hg_tensor_view(hg_tensor *t, int ndim, const int *shape);
/* View of `shape` starting `offset` elements into base's data (must fit). */
hg_tensor *hg_tensor_view_at(hg_tensor *base, size_t offset, int ndim, const int *shape);
/* View of rows [start, start+count) along dimension 0. */
hg_tensor *hg_tensor_narrow0(hg_tensor *t, int start, int count);

hg_tensor *hg_tensor_retain(hg_tensor *t);
/* Drop one reference; frees data (and grad) with the last. NULL is allowed. */
void hg_tensor_free(hg_tensor *t);

/* Shortcuts for literal shapes: HG_SHAPE(64, 3, 32, 32). */
#define HG_SHAPE(...) (sizeof((int[]){__VA_ARGS__}) / sizeof(int)), ((const int[]){__VA_ARGS__})

bool hg_same_shape(const hg_tensor *a, const hg_tensor *b);
/* "[64,3,32,32]" into buf (at least 64 bytes); returns buf. */
const char *hg_shape_str(const hg_tensor *t, char *buf, size_t size);
/* Size of dimension d, counting negative d from the end. */
int hg_dim(const hg_tensor *t, int d);
/* Copy src's data into dst (same numel). */
hg_status hg_tensor_copy(hg_tensor *dst, const hg_tensor *src);
/* t[i] = value */
void hg_tensor_fill(hg_tensor *t, float value);
/* w_k ← norm·w_k/‖w_k‖ for every row k of w seen as [shape[0], rest], and
 * b_k ← norm·b_k/‖w_k‖ when b is given; rows of norm 0 stay as they are.
 * factors[k] (when given, shape[0] of them) gets the factor applied to row k. */
void hg_tensor_scale_rows(hg_tensor *w, hg_tensor *b, float norm, float *factors);
/* Index of the first NaN or infinite element; t->numel when all are finite. */
size_t hg_tensor_first_nonfinite(const hg_tensor *t);
/* Index of the first NaN or infinity among x[0..n), or n (checked on all threads). */
size_t hg_first_nonfinite(const float *x, size_t n);

#endif
