#include "tests/rule_check.h"

#include <math.h>

#include "tests/helpers.h"

enum { N = 3, C = 2, H = 5, W = 5, K = 6, KS = 3, STRIDE = 2, PAD = 1, D_LIN = 7 };

hgt_patches hgt_patches_of(const hg_tensor *x, int oh, int ow) {
  if (x->ndim == 2) {
    hgt_patches pt = {x->shape[0], 1, x->shape[1], test_calloc(x->numel, sizeof(double))};
    for (size_t i = 0; i < x->numel; i++) pt.x[i] = x->data[i];
    return pt;
  }
  hgt_patches pt = {x->shape[0], oh * ow, C * KS * KS, NULL};
  pt.x = test_calloc((size_t)pt.n * pt.p * pt.d, sizeof(double));
  for (int n = 0; n < pt.n; n++)
    for (int i = 0; i < oh; i++)
      for (int j = 0; j < ow; j++)
        for (int c = 0; c < C; c++)
          for (int a = 0; a < KS; a++)
            for (int b = 0; b < KS; b++) {
              int r = i * STRIDE - PAD + a, s = j * STRIDE - PAD + b;
              double v = r >= 0 && r < H && s >= 0 && s < W ? x->data[((n * C + c) * H + r) * W + s] : 0.0;
              pt.x[((size_t)n * pt.p + i * ow + j) * pt.d + (c * KS + a) * KS + b] = v;
            }
  return pt;
}

double hgt_relative_error(const float *got, const double *ref, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    num += (got[i] - ref[i]) * (got[i] - ref[i]);
    den += ref[i] * ref[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* A Hebbian layer of K neurons (no bias) and an input for it. */
static hg_layer *test_layer(bool conv, hg_tensor **x, uint64_t seed) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  hg_layer *l = conv ? hg_layer_conv2d("conv", C, K, KS, STRIDE, PAD, false, &rng)
                     : hg_layer_linear("fc", D_LIN, K, false, &rng);
  assert_non_null(l);
  *x = conv ? hgt_rand(HG_SHAPE(N, C, H, W), -1, 1, seed + 1) : hgt_rand(HG_SHAPE(N, D_LIN), -1, 1, seed + 1);
  hg_layer_set_mode(l, HG_TRAIN_H);
  return l;
}

/* The largest relative difference of the state from the expected one. */
static double state_error(const hg_tensor *got, const hg_tensor *want) {
  double err = 0;
  for (size_t i = 0; want && i < want->numel; i++)
    err = fmax(err, fabs(got->data[i] - want->data[i]) / (fabs(want->data[i]) + 1e-6));
  return err;
}

double hgt_rule_error(hg_plasticity p, bool conv, hgt_rule_reference ref) {
  int labels[N] = {1, 0, 2};
  hg_tensor *x;
  hg_layer *l = test_layer(conv, &x, 11);
  hg_rng rng;
  hg_rng_seed(&rng, 3, 0);
  hgt_status(hg_plasticity_init(&p, l->weight, &rng));
  for (size_t i = 0; p.state && i < p.state->numel; i++) p.state->data[i] = 0.05f * (float)(i % 5);
  hg_tensor *state = p.state ? hgt_ok(hg_tensor_clone(p.state)) : NULL; /* the reference's copy */
  hg_tensor *xd = hgt_ok(hg_detach(x));
  hg_tensor *u = hgt_ok(hg_layer_forward(l, xd, &(hg_forward_ctx){.training = true}));
  hg_tensor *y = hgt_ok(hg_plasticity_coefficients(&p, l, u, x, labels));
  hg_tensor *loss = hgt_ok(hg_plasticity_loss(&p, l, u, x, labels));
  hgt_status(hg_backward(loss));
  hgt_patches pt = hgt_patches_of(x, conv ? u->shape[2] : 1, conv ? u->shape[3] : 1);
  double *delta = test_malloc(l->weight->numel * sizeof *delta);
  ref(&(hgt_rule_in){&pt, K, l->weight->data, y->data, p.opt, p.agg, state ? state->data : NULL}, delta);
  hg_tensor *g = hgt_ok(hg_tensor_clone(hg_grad(l->weight)));
  for (size_t i = 0; i < g->numel; i++) g->data[i] = -g->data[i]; /* −∂L/∂W */
  double err = fmax(hgt_relative_error(g->data, delta, g->numel), state_error(p.state, state));
  test_free(delta);
  test_free(pt.x);
  hg_tensor *temps[] = {g, loss, y, u, xd, state, x};
  for (int i = 0; i < 7; i++) hg_tensor_free(temps[i]);
  hg_tape_clear();
  hg_plasticity_release(&p);
  hg_layer_free(l);
  return err;
}
