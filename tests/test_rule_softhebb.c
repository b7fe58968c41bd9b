/* SoftHebb, the example rule of docs/writing-a-rule.md: −∂L/∂W equals
 * Δw_k/η = Σ ŷ_k (x − u_k w_k), computed here with explicit loops. */
#include <math.h>

#include "hebb/softhebb.h"
#include "tests/helpers.h"

enum { N = 4, D = 6, K = 5 };

static void test_softhebb_gradient_equals_delta(void **state) {
  (void)state;
  const float tau = 0.7f;
  hg_tensor *x = hgt_rand(HG_SHAPE(N, D), -1, 1, 1);
  hg_tensor *w = hgt_rand(HG_SHAPE(K, D), -0.5f, 0.5f, 2);
  hg_requires_grad(w, true);
  hg_tensor *u = hgt_ok(hg_linear(x, w, NULL));
  hg_tensor *loss = hgt_ok(hg_softhebb_loss(u, w, tau));
  hgt_status(hg_backward(loss));
  double delta[K][D] = {{0}};
  for (int n = 0; n < N; n++) {
    double y[K], total = 0, best = -1e30;
    int win = 0;
    for (int k = 0; k < K; k++) {
      double uk = 0;
      for (int d = 0; d < D; d++) uk += (double)w->data[k * D + d] * x->data[n * D + d];
      y[k] = uk;
      if (uk > best) best = uk, win = k;
    }
    double uv[K];
    for (int k = 0; k < K; k++) uv[k] = y[k], total += exp((y[k] - best) / tau);
    for (int k = 0; k < K; k++) {
      double yk = exp((uv[k] - best) / tau) / total * (k == win ? 1 : -1);
      for (int d = 0; d < D; d++) delta[k][d] += yk * (x->data[n * D + d] - uv[k] * w->data[k * D + d]);
    }
  }
  double num = 0, den = 0;
  for (int k = 0; k < K; k++)
    for (int d = 0; d < D; d++) {
      double g = -w->grad->data[k * D + d];
      num += (g - delta[k][d]) * (g - delta[k][d]);
      den += delta[k][d] * delta[k][d];
    }
  assert_true(sqrt(num / den) < 1e-4);
  hg_tensor_free(loss);
  hg_tensor_free(u);
  hg_tape_clear();
  hg_tensor_free(w);
  hg_tensor_free(x);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_softhebb_gradient_equals_delta)};
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_pool_trim();
  return failed;
}
