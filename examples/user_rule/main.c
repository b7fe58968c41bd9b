/* Registers decay-hebb, then trains the small net on Fashion-MNIST (the
 * Debian package, or --data-dir's) with its first layer learning by that
 * rule under an e-soft-WTA competition and the classifier by SGD, through
 * hg_fit; prints the test accuracy. Usage: user_rule [DATA_DIR] */
#include <stdio.h>

#include "decay_hebb.h"

static hg_status train(const char *data_dir, double *test_top1) {
  hg_data_opts o = hg_data_defaults("fashion-mnist");
  o.dir = data_dir;
  o.n_val = 1000;
  o.limit_train = 6000;
  o.limit_test = 2000;
  hg_data d = {0};
  hg_status s = hg_data_prepare(&o, &d);
  hg_net *net = s == HG_OK ? hg_net_small(1, 28, 10, 1) : NULL;
  hg_plasticity rule = {0};
  if (s == HG_OK) s = net ? hg_plasticity_parse("decay-hebb/e-soft-wta:0.02/lambda=0.5", &rule) : hg_last_status();
  if (s == HG_OK) s = hg_net_set_modes(net, "H-G"); /* conv1 by the rule, the classifier by SGD */
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.01f, 0.9f, 0, true), .hebb_lr = 1e-2f};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &rule, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  hg_fit_opts fo = hg_fit_defaults();
  fo.phase = HG_PHASE_HEBB;
  fo.label = "decay-hebb";
  if (s == HG_OK) s = hg_fit(t, d.train, NULL, &fo, NULL);
  fo.phase = HG_PHASE_BACKPROP;
  fo.label = "classifier";
  fo.epochs = 2;
  fo.base_lr = 0.01f;
  if (s == HG_OK) s = hg_fit(t, d.train, d.val, &fo, NULL);
  hg_eval e;
  if (s == HG_OK) s = hg_evaluate(net, d.test, 64, &e);
  if (s == HG_OK) *test_top1 = e.top1;
  hg_trainer_free(t);
  hg_plasticity_release(&rule);
  hg_net_free(net);
  hg_data_release(&d);
  return s;
}

int main(int argc, char **argv) {
  if (hg_rule_register(&decay_hebb_rule) != HG_OK) { /* before any spec is parsed */
    fprintf(stderr, "user_rule: %s\n", hg_last_error());
    return 1;
  }
  double top1 = 0;
  if (train(argc > 1 ? argv[1] : NULL, &top1) != HG_OK) {
    fprintf(stderr, "user_rule: %s\n", hg_last_error());
    return 1;
  }
  printf("decay-hebb conv1 + SGD classifier: test %.2f%%\n", 100 * top1);
  return top1 > 0.5 ? 0 : 1;
}
