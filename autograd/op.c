#include "autograd/op.h"

#include <math.h>
#include <stdlib.h>

/* 0.1·(a shuffled 0..n−1) − 0.05·n */
static hg_status fill_distinct(hg_tensor *t, hg_rng *rng) {
  int *perm = malloc(t->numel * sizeof *perm);
  if (!perm) return hg_fail(HG_ERR_NOMEM, "op case: out of memory for %zu values", t->numel);
  for (size_t i = 0; i < t->numel; i++) perm[i] = (int)i;
  hg_rng_shuffle(rng, perm, (int)t->numel);
  for (size_t i = 0; i < t->numel; i++) t->data[i] = 0.1f * (float)perm[i] - 0.05f * (float)t->numel;
  free(perm);
  return HG_OK;
}

static hg_tensor *case_input(const hg_op_input *s, hg_rng *rng) {
  hg_tensor *t = hg_tensor_uniform(s->ndim, s->shape, s->lo, s->hi, rng);
  if (!t) return NULL;
  if ((s->flags & HG_IN_DISTINCT) && fill_distinct(t, rng) != HG_OK) {
    hg_tensor_free(t);
    return NULL;
  }
  for (size_t i = 0; i < t->numel; i++) {
    if (s->flags & HG_IN_INTEGER) t->data[i] = floorf(t->data[i]);
    if ((s->flags & HG_IN_SIGNED) && i % 3 == 1) t->data[i] = -t->data[i];
  }
  hg_requires_grad(t, s->flags & HG_IN_GRAD);
  return t;
}

hg_status hg_op_case_inputs(const hg_op_case *c, uint64_t seed, hg_tensor *in[HG_OP_MAX_IN]) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 5);
  for (int i = 0; i < HG_OP_MAX_IN; i++) in[i] = NULL;
  for (int i = 0; i < c->n_in; i++) {
    in[i] = case_input(&c->in[i], &rng);
    if (!in[i]) {
      hg_op_case_free(in);
      return HG_ERR_NOMEM;
    }
  }
  return HG_OK;
}

hg_tensor *hg_op_case_run(const hg_op *op, const hg_op_case *c, hg_tensor *const *in) {
  hg_tensor *seen[HG_OP_MAX_IN] = {NULL};
  bool ok = true;
  for (int i = 0; i < c->n_in; i++) {
    seen[i] = c->in[i].flags & HG_IN_DETACH ? hg_detach(in[i]) : hg_tensor_retain(in[i]);
    ok &= seen[i] != NULL;
  }
  hg_tensor *y = ok ? op->forward(op, seen, c->args) : NULL;
  hg_op_case_free(seen);
  return y;
}

void hg_op_case_free(hg_tensor *in[HG_OP_MAX_IN]) {
  for (int i = 0; i < HG_OP_MAX_IN; i++) {
    hg_tensor_free(in[i]);
    in[i] = NULL;
  }
}

int hg_op_ref_dim(int ndim, const int *shape, int d) {
  int td = ndim - 4 + d;
  return td >= 0 ? shape[td] : 1;
}

size_t hg_op_ref_offset(int ndim, const int *shape, const int i[4]) {
  size_t o = 0;
  for (int d = 0; d < 4; d++) {
    int size = hg_op_ref_dim(ndim, shape, d);
    o = o * (size_t)size + (size == 1 ? 0 : (size_t)i[d]);
  }
  return o;
}

bool hg_op_ref_next(const int s[4], int i[4]) {
  for (int d = 3; d >= 0; d--) {
    if (++i[d] < s[d]) return true;
    i[d] = 0;
  }
  return false;
}

hg_tensor *hg_op_ref_scalar(double v) {
  hg_tensor *y = hg_tensor_empty(0, NULL);
  if (y) y->data[0] = (float)v;
  return y;
}
