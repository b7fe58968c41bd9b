#include "autograd/gradcheck.h"

#include <math.h>
#include <stdlib.h>

hg_gradcheck_opts hg_gradcheck_defaults(void) {
  return (hg_gradcheck_opts){.eps = 1e-2f, .rtol = 2e-2f, .atol = 2e-3f, .max_checks = 0, .seed = 1};
}

/* L = Σ R ⊙ f(inputs) in double, evaluated without recording. */
static hg_status eval_loss(hg_gradcheck_fn f, void *ctx, hg_tensor *const *inputs,
                           const hg_tensor *r, double *loss) {
  bool mode = hg_set_grad_enabled(false);
  hg_tensor *y = f(inputs, ctx);
  hg_set_grad_enabled(mode);
  if (!y) return hg_last_status() != HG_OK ? hg_last_status() : HG_ERR_STATE;
  double acc = 0;
  for (size_t i = 0; i < y->numel; i++) acc += (double)r->data[i] * y->data[i];
  hg_tensor_free(y);
  *loss = acc;
  return HG_OK;
}

static void clear_grads(int n_in, hg_tensor *const *inputs) {
  for (int i = 0; i < n_in; i++) {
    hg_tensor_free(inputs[i]->grad);
    inputs[i]->grad = NULL;
  }
}

/* Analytic gradients into the inputs' grad fields; R returned in *r_out. */
static hg_status analytic(hg_gradcheck_fn f, void *ctx, int n_in, hg_tensor *const *inputs,
                          hg_rng *rng, hg_tensor **r_out) {
  clear_grads(n_in, inputs);
  hg_tensor *y = f(inputs, ctx);
  if (!y) return hg_last_status() != HG_OK ? hg_last_status() : HG_ERR_STATE;
  hg_tensor *r = hg_tensor_uniform(y->ndim, y->shape, -1.0f, 1.0f, rng);
  hg_status s = r ? HG_OK : HG_ERR_NOMEM;
  if (s == HG_OK && y->requires_grad) s = hg_backward_from(y, r);
  hg_tensor_free(y);
  hg_tape_clear();
  *r_out = r;
  return s;
}

static hg_status check_input(hg_gradcheck_fn f, void *ctx, hg_tensor *const *inputs, int which,
                             const hg_tensor *r, const hg_gradcheck_opts *o, hg_rng *rng,
                             hg_gradcheck_result *res) {
  hg_tensor *x = inputs[which];
  long n = (long)x->numel;
  long count = o->max_checks > 0 && o->max_checks < n ? o->max_checks : n;
  for (long c = 0; c < count; c++) {
    long i = count == n ? c : (long)hg_rng_below(rng, (uint32_t)n);
    float saved = x->data[i];
    double lp = 0, lm = 0;
    x->data[i] = saved + o->eps;
    hg_status s = eval_loss(f, ctx, inputs, r, &lp);
    x->data[i] = saved - o->eps;
    if (s == HG_OK) s = eval_loss(f, ctx, inputs, r, &lm);
    x->data[i] = saved;
    if (s != HG_OK) return s;
    double numeric = (lp - lm) / (2.0 * o->eps);
    double a = x->grad ? x->grad->data[i] : 0.0;
    double err = fabs(a - numeric);
    double bound = o->atol + o->rtol * fmax(fabs(a), fabs(numeric));
    res->checked++;
    if (err > res->max_abs_err) res->max_abs_err = err;
    if (err > bound) {
      res->worst_input = which;
      res->worst_index = i;
      res->analytic = a;
      res->numeric = numeric;
      return hg_fail(HG_ERR_NUMERIC, "gradcheck: input %d element %ld: analytic %.6g, numeric %.6g",
                     which, i, a, numeric);
    }
  }
  return HG_OK;
}

hg_status hg_gradcheck(hg_gradcheck_fn f, void *ctx, int n_in, hg_tensor *const *inputs,
                       const hg_gradcheck_opts *opts, hg_gradcheck_result *result) {
  hg_gradcheck_opts o = opts ? *opts : hg_gradcheck_defaults();
  hg_gradcheck_result res = {.worst_input = -1};
  hg_rng rng;
  hg_rng_seed(&rng, o.seed, 7);
  hg_tensor *r = NULL;
  hg_status s = analytic(f, ctx, n_in, inputs, &rng, &r);
  for (int i = 0; s == HG_OK && i < n_in; i++) {
    if (inputs[i]->requires_grad)
      s = check_input(f, ctx, inputs, i, r, &o, &rng, &res);
    else if (inputs[i]->grad)
      s = hg_fail(HG_ERR_STATE, "gradcheck: input %d requires no gradient but received one", i);
  }
  hg_tensor_free(r);
  clear_grads(n_in, inputs);
  if (result) *result = res;
  return s;
}
