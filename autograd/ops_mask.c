/* Non-differentiable 0/1 masks for competition (winner-take-all, k-WTA).
 * Lines along the axis are processed in blocks of adjacent lines so that the
 * inner loops run over contiguous memory: for axis 1 of [N,C,H,W] a block is
 * a run of pixels and each pass walks the channels plane by plane. */
#include <stdbool.h>

#include "autograd/ops.h"
#include "tensor/axis.h"

#define BLOCK 256
#define PARALLEL_MIN 32768

/* One selection pass over the lines [j0, j1) of x and m, which point at the
 * start of an outer slice. Among the elements whose mask is not yet `mark`,
 * picks the largest (ties: lowest index) or, when `smallest`, the smallest
 * (ties: highest index), and sets its mask to `mark`. */
static void select_pass(const float *x, float *m, const hg_axis *l, size_t j0, size_t j1,
                        bool smallest, float mark) {
  float best_v[BLOCK] = {0};
  int best_i[BLOCK];
  size_t w = j1 - j0;
  for (size_t j = 0; j < w; j++) best_i[j] = -1;
  for (size_t c = 0; c < l->len; c++) {
    const float *xc = x + c * l->inner + j0;
    const float *mc = m + c * l->inner + j0;
    for (size_t j = 0; j < w; j++) { /* branch-free so that it vectorises */
      float v = xc[j], b = best_v[j];
      bool better = smallest ? v <= b : v > b;
      bool take = mc[j] != mark && (best_i[j] < 0 || better);
      best_v[j] = take ? v : b;
      best_i[j] = take ? (int)c : best_i[j];
    }
  }
  for (size_t j = 0; j < w; j++) m[(size_t)best_i[j] * l->inner + j0 + j] = mark;
}

/* Top-k along the axis; for k > len/2 the len − k smallest are removed instead. */
static void topk_fill(const float *x, float *m, const hg_axis *l, size_t k) {
  bool complement = 2 * k > l->len;
  size_t passes = complement ? l->len - k : k;
  float mark = complement ? 0.0f : 1.0f;
  size_t slice = l->len * l->inner, blocks = (l->inner + BLOCK - 1) / BLOCK;
  size_t total = l->outer * blocks;
  for (size_t i = 0; i < l->outer * slice; i++) m[i] = complement ? 1.0f : 0.0f;
#pragma omp parallel for if (l->outer * slice * passes > PARALLEL_MIN)
  for (size_t t = 0; t < total; t++) {
    size_t o = t / blocks, j0 = (t % blocks) * BLOCK;
    size_t j1 = j0 + BLOCK < l->inner ? j0 + BLOCK : l->inner;
    for (size_t p = 0; p < passes; p++)
      select_pass(x + o * slice, m + o * slice, l, j0, j1, complement, mark);
  }
}

static hg_tensor *topk_common(const char *op, const hg_tensor *x, int axis, int k) {
  hg_axis l;
  if (hg_axis_split(&l, op, x, axis) != HG_OK) return NULL;
  if (k < 1 || (size_t)k > l.len) {
    char s[64];
    hg_fail(HG_ERR_ARG, "%s: k %d out of range [1, %zu] for axis %d of %s", op, k, l.len, axis,
            hg_shape_str(x, s, sizeof s));
    return NULL;
  }
  hg_tensor *m = hg_tensor_empty(x->ndim, x->shape);
  if (m) topk_fill(x->data, m->data, &l, (size_t)k);
  return m;
}

/* mask = 1 at the first maximum along axis, 0 elsewhere */
hg_tensor *hg_argmax_mask(const hg_tensor *x, int axis) {
  return topk_common("argmax_mask", x, axis, 1);
}

/* mask = 1 at the k largest along axis (ties: lower index first), 0 elsewhere */
hg_tensor *hg_topk_mask(const hg_tensor *x, int axis, int k) {
  return topk_common("topk_mask", x, axis, k);
}
