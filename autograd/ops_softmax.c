/* Softmax and log-softmax along any axis, stable: the maximum of each line is
 * subtracted before exponentiating. */
#include <math.h>

#include "autograd/op.h"
#include "autograd/ops.h"
#include "tensor/axis.h"

#define PARALLEL_MIN 32768

#define BLOCK 64

/* x seen as [outer, len, inner] around the axis. Adjacent lines are handled
 * in blocks of up to BLOCK so that inner loops run over contiguous memory
 * (for axis 1 of [N,C,H,W], a block is a run of pixels). */
typedef struct axis_lines {
  size_t outer, len, inner, blocks;
} axis_lines;

static hg_status lines_init(axis_lines *l, const char *op, const hg_tensor *x, int axis) {
  hg_axis a;
  if (hg_axis_split(&a, op, x, axis) != HG_OK) return HG_ERR_SHAPE;
  *l = (axis_lines){a.outer, a.len, a.inner, (a.inner + BLOCK - 1) / BLOCK};
  return HG_OK;
}

static inline size_t block_start(const axis_lines *l, size_t t, size_t *w) {
  size_t j0 = (t % l->blocks) * BLOCK;
  *w = l->inner - j0 < BLOCK ? l->inner - j0 : BLOCK;
  return (t / l->blocks) * l->len * l->inner + j0;
}

/* One block: y = e^{x − m} / Σ e^{x − m}, or (x − m) − ln Σ e^{x − m}, with m
 * the line's maximum (x − m is exact near the maximum). */
static void block_softmax(const float *x, float *y, const axis_lines *l, size_t w, bool log_out) {
  float m[BLOCK], s[BLOCK] = {0};
  size_t st = l->inner;
  for (size_t j = 0; j < w; j++) m[j] = x[j];
  for (size_t c = 1; c < l->len; c++)
    for (size_t j = 0; j < w; j++) m[j] = fmaxf(m[j], x[c * st + j]);
  for (size_t c = 0; c < l->len; c++)
    for (size_t j = 0; j < w; j++) {
      float e = expf(x[c * st + j] - m[j]);
      s[j] += e;
      if (!log_out) y[c * st + j] = e;
    }
  for (size_t j = 0; j < w; j++) s[j] = log_out ? logf(s[j]) : 1.0f / s[j];
  for (size_t c = 0; c < l->len; c++)
    for (size_t j = 0; j < w; j++) {
      size_t i = c * st + j;
      y[i] = log_out ? (x[i] - m[j]) - s[j] : y[i] * s[j];
    }
}

static void softmax_kernel(const axis_lines *l, const float *x, float *y, bool log_out) {
  size_t n = l->outer * l->blocks;
#pragma omp parallel for if (l->outer * l->len * l->inner > PARALLEL_MIN)
  for (size_t t = 0; t < n; t++) {
    size_t w, o = block_start(l, t, &w);
    block_softmax(x + o, y + o, l, w, log_out);
  }
}

/* softmax: gx = y ⊙ (g − Σ g·y); log_softmax: gx = g − e^y · Σ g. */
static void block_grad(const float *y, const float *g, float *gx, const axis_lines *l, size_t w,
                       bool log_out, bool acc) {
  float s[BLOCK] = {0};
  size_t st = l->inner;
  for (size_t c = 0; c < l->len; c++)
    for (size_t j = 0; j < w; j++) {
      size_t i = c * st + j;
      s[j] += log_out ? g[i] : g[i] * y[i];
    }
  for (size_t c = 0; c < l->len; c++)
    for (size_t j = 0; j < w; j++) {
      size_t i = c * st + j;
      float t = log_out ? g[i] - expf(y[i]) * s[j] : y[i] * (g[i] - s[j]);
      gx[i] = acc ? gx[i] + t : t;
    }
}

static void softmax_grad(const axis_lines *l, const float *y, const float *g, float *gx,
                         bool log_out, bool acc) {
  size_t n = l->outer * l->blocks;
#pragma omp parallel for if (l->outer * l->len * l->inner > PARALLEL_MIN)
  for (size_t t = 0; t < n; t++) {
    size_t w, o = block_start(l, t, &w);
    block_grad(y + o, g + o, gx + o, l, w, log_out, acc);
  }
}

static hg_status softmax_backward(hg_node *n) {
  hg_tensor *x = n->in[0];
  if (!hg_needs_grad(x)) return HG_OK;
  axis_lines l;
  lines_init(&l, n->op->name, x, n->args.i[0]);
  bool acc;
  hg_tensor *gx = hg_grad_acquire(x, &acc);
  if (!gx) return HG_ERR_NOMEM;
  softmax_grad(&l, n->out->data, n->out->grad->data, gx->data, *(const bool *)n->op->kernel, acc);
  return HG_OK;
}

static hg_tensor *softmax_common(const hg_op *op, hg_tensor *x, int axis) {
  axis_lines l;
  if (lines_init(&l, op->name, x, axis) != HG_OK) return NULL;
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  if (!y) return NULL;
  softmax_kernel(&l, x->data, y->data, *(const bool *)op->kernel);
  hg_node *node;
  y = hg_record_output(op, y, 1, &x, &node);
  if (node) node->args.i[0] = axis;
  return y;
}

/* A case's argument: the axis. */
static hg_tensor *softmax_forward(const hg_op *op, hg_tensor *const *in, const void *args) {
  return softmax_common(op, in[0], *(const int *)args);
}

/* Naive, in double: e^{x_j} / Σ e^{x_l}, or x_j − ln Σ e^{x_l}, along each line. */
static hg_tensor *softmax_reference(const hg_op *op, hg_tensor *const *in, const void *args) {
  const hg_tensor *x = in[0];
  int axis = *(const int *)args < 0 ? *(const int *)args + x->ndim : *(const int *)args;
  size_t outer = 1, len = (size_t)x->shape[axis], inner = 1;
  for (int d = 0; d < axis; d++) outer *= (size_t)x->shape[d];
  for (int d = axis + 1; d < x->ndim; d++) inner *= (size_t)x->shape[d];
  hg_tensor *y = hg_tensor_empty(x->ndim, x->shape);
  for (size_t o = 0; y && o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      double s = 0.0;
      for (size_t j = 0; j < len; j++) s += exp((double)x->data[(o * len + j) * inner + i]);
      for (size_t j = 0; j < len; j++) {
        size_t k = (o * len + j) * inner + i;
        y->data[k] = (float)(*(const bool *)op->kernel ? x->data[k] - log(s) : exp((double)x->data[k]) / s);
      }
    }
  return y;
}

/* ---------- the specs ---------- */

#define GRAD HG_IN_GRAD

static const hg_op_case softmax_cases[] = {
    {"[2,3,4] axis 1", 1, {HG_IN(-2, 2, GRAD, 2, 3, 4)}, &(const int){1}, 0},
    {"[3,5] axis -1", 1, {HG_IN(-2, 2, GRAD, 3, 5)}, &(const int){-1}, 0},
    {"[2,3,2,2] axis 0", 1, {HG_IN(-2, 2, GRAD, 2, 3, 2, 2)}, &(const int){0}, 0},
    {"[2,3,10,9] axis 1: two blocks of lines", 1, {HG_IN(-2, 2, GRAD, 2, 3, 10, 9)}, &(const int){1}, 0},
};
static const hg_op_case log_softmax_cases[] = {
    {"[2,4,2,2] axis 1", 1, {HG_IN(-2, 2, GRAD, 2, 4, 2, 2)}, &(const int){1}, 0},
    {"[3,5] axis -1", 1, {HG_IN(-2, 2, GRAD, 3, 5)}, &(const int){-1}, 0},
    {"[2,3,10,9] axis 1: two blocks of lines", 1, {HG_IN(-2, 2, GRAD, 2, 3, 10, 9)}, &(const int){1}, 0},
};
/* The classifier's 10 classes, and fc5's 4096 units (a competition along them). */
static const hg_op_case softmax_bench[] = {
    {"axis 1", 1, {HG_IN(-2, 2, GRAD, 64, 10)}, &(const int){1}, 0},
    {"axis 1", 1, {HG_IN(-2, 2, GRAD, 64, 4096)}, &(const int){1}, 0},
};

const hg_op hg_op_softmax =
    HG_OP_SPEC("softmax", softmax, &(const bool){false}, softmax_cases, softmax_bench);
const hg_op hg_op_log_softmax =
    HG_OP_SPEC("log_softmax", softmax, &(const bool){true}, log_softmax_cases, softmax_bench);

const hg_op *const hg_ops_softmax[] = {&hg_op_softmax, &hg_op_log_softmax, NULL};

/* softmax(x)_i = e^{x_i − max} / Σ_j e^{x_j − max} along axis */
hg_tensor *hg_softmax(hg_tensor *x, int axis) { return softmax_common(&hg_op_softmax, x, axis); }

/* log_softmax(x)_i = x_i − max − ln Σ_j e^{x_j − max} along axis */
hg_tensor *hg_log_softmax(hg_tensor *x, int axis) { return softmax_common(&hg_op_log_softmax, x, axis); }
