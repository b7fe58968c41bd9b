/* Accuracy counting and evaluation against plain loops: top-1/top-5 with
 * ties to the lower class, only the first n rows counted; hg_evaluate over
 * batches that do not divide the data set, in evaluation mode (dropout off). */
#include <math.h>

#include "tests/helpers.h"

static void test_count_correct(void **state) {
  (void)state;
  enum { ROWS = 6, C = 7 };
  const float logits[ROWS * C] = {
      0.1f, 0.9f, 0.2f, 0.3f, 0, -1, 0, /* label 1 is the largest: top-1 */
      6, 5, 4, 3, 2, 1, 0,              /* label 2 third: top-5 only */
      6, 5, 4, 3, 2, 1, 0,              /* label 5 sixth: neither */
      1, 1, 0, 0, 0, 0, 0,              /* label 0 tied with 1: ties to the lower class, top-1 */
      1, 1, 0, 0, 0, 0, 0,              /* label 1 tied with 0: second, top-5 only */
      0, 0, 0, 0, 0, 0, 9,              /* label 6 largest, but beyond n */
  };
  const int labels[ROWS] = {1, 2, 5, 0, 1, 6};
  hg_tensor *t = hgt_ok(hg_tensor_empty(HG_SHAPE(ROWS, C)));
  for (int i = 0; i < ROWS * C; i++) t->data[i] = logits[i];
  int top1 = -1, top5 = -1;
  hg_count_correct(t, labels, ROWS - 1, &top1, &top5);
  assert_int_equal(top1, 2);
  assert_int_equal(top5, 4);
  hg_count_correct(t, labels, ROWS, &top1, &top5);
  assert_int_equal(top1, 3);
  assert_int_equal(top5, 5);
  hg_tensor_free(t);
}

enum { IMAGES = 7, D = 4, CLASSES = 3 };

/* dropout → flatten → linear(4 → 3) with the weights set below. */
static hg_net *known_net(void) {
  hg_net *net = hg_net_new(1);
  hgt_status(hg_net_add(net, hg_layer_dropout("drop", 0.5f)));
  hgt_status(hg_net_add(net, hg_layer_flatten("flatten")));
  hgt_status(hg_net_add(net, hg_layer_linear("fc", D, CLASSES, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  hg_layer *fc = net->layers[2];
  for (int i = 0; i < CLASSES * D; i++) fc->weight->data[i] = 0.25f * (float)((i * 5) % 7) - 0.7f;
  for (int c = 0; c < CLASSES; c++) fc->bias->data[c] = 0.1f * (float)c;
  return net;
}

static void test_evaluate_matches_loops(void **state) {
  (void)state;
  hg_net *net = known_net();
  hg_dataset *ds = hg_dataset_new(IMAGES, 1, 2, 2, CLASSES, "toy");
  hg_rng rng;
  hg_rng_seed(&rng, 3, 1);
  for (size_t i = 0; i < ds->images->numel; i++) ds->images->data[i] = hg_rng_normal(&rng);
  for (int n = 0; n < IMAGES; n++) ds->labels[n] = (n * 2) % CLASSES;
  const float *w = net->layers[2]->weight->data, *b = net->layers[2]->bias->data;
  double loss = 0;
  int top1 = 0;
  for (int n = 0; n < IMAGES; n++) {
    double z[CLASSES], zmax = -INFINITY, sum = 0;
    int best = 0;
    for (int c = 0; c < CLASSES; c++) {
      z[c] = b[c];
      for (int d = 0; d < D; d++) z[c] += (double)w[c * D + d] * ds->images->data[n * D + d];
      if (z[c] > zmax) zmax = z[c], best = c;
    }
    for (int c = 0; c < CLASSES; c++) sum += exp(z[c] - zmax);
    loss += log(sum) + zmax - z[ds->labels[n]];
    top1 += best == ds->labels[n];
  }
  hg_eval e;
  hgt_status(hg_evaluate(net, ds, 3, &e)); /* batches of 3, 3 and 1 */
  assert_int_equal(e.count, IMAGES);
  assert_true(fabs(e.loss - loss / IMAGES) < 1e-5);
  assert_true(fabs(e.top1 - (double)top1 / IMAGES) < 1e-12);
  assert_true(e.top5 == 1.0); /* 3 classes: always among the 5 best */
  assert_true(top1 > 0 && top1 < IMAGES); /* the data tell a wrong count apart */
  hg_net_free(net);
  hg_dataset_free(ds);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_count_correct),
      cmocka_unit_test(test_evaluate_matches_loops),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
