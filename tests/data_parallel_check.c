#include "tests/data_parallel_check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_TENSORS 64
#define IMAGES 1600

hg_dataset *dp_data(void) {
  enum { PIXELS = 28 * 28 };
  static float pattern[10][PIXELS];
  hg_dataset *ds = hg_dataset_new(IMAGES, 1, 28, 28, 10, "patterns");
  hg_rng rng;
  hg_rng_seed(&rng, 7, 1);
  for (int c = 0; c < 10; c++)
    for (int p = 0; p < PIXELS; p++) pattern[c][p] = hg_rng_normal(&rng);
  for (int i = 0; ds && i < ds->count; i++) {
    ds->labels[i] = (int)hg_rng_below(&rng, 10);
    for (int p = 0; p < PIXELS; p++)
      ds->images->data[(size_t)i * PIXELS + p] = pattern[ds->labels[i]][p] + hg_rng_normal(&rng);
  }
  return ds;
}

hg_net *dp_train(const hg_dataset *ds, const char *modes, int batch, float dropout, const hg_batch_sync *sync) {
  hg_net *net = hg_net_small(1, 28, 10, 3);
  hg_plasticity hebb;
  hg_status s = net ? HG_OK : hg_last_status();
  if (s == HG_OK && dropout > 0) s = hg_net_attach_probe(net, hg_net_find(net, "bn1"), ds->images, 10, dropout);
  if (s == HG_OK) s = hg_net_set_modes(net, modes);
  if (s == HG_OK) s = hg_plasticity_parse("instar/e-soft-wta:0.02/mean", &hebb);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.05f, 0.9f, 5e-4f, true), .hebb_lr = 0.02f, .sync = sync};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &hebb, &to) : NULL;
  hg_fit_opts f = hg_fit_defaults();
  f.batch = batch;
  f.steps_per_epoch = DP_STEPS;
  f.phase = HG_PHASE_JOINT;
  f.base_lr = 0.05f;
  f.log = NULL;
  if (t) s = hg_fit(t, ds, NULL, &f, NULL);
  if (!t || s != HG_OK) {
    fprintf(stderr, "data-parallel check: %s: %s\n", modes, hg_last_error());
    hg_net_free(net);
    net = NULL;
  }
  hg_trainer_free(t);
  return net;
}

double dp_difference(hg_net *a, hg_net *b) {
  char(*names)[64] = malloc(MAX_TENSORS * sizeof *names);
  hg_tensor *ta[MAX_TENSORS], *tb[MAX_TENSORS];
  int n = names ? hg_net_tensors(a, true, names, ta, MAX_TENSORS) : -1;
  double worst = names && n == hg_net_tensors(b, true, names, tb, MAX_TENSORS) ? 0 : INFINITY;
  for (int i = 0; i < n && worst < INFINITY; i++) {
    double diff = 0, scale = 0;
    for (size_t k = 0; k < ta[i]->numel; k++) {
      diff = fmax(diff, fabs((double)ta[i]->data[k] - tb[i]->data[k]));
      scale = fmax(scale, fabs((double)ta[i]->data[k]));
    }
    worst = fmax(worst, scale > 0 ? diff / scale : diff);
  }
  free(names);
  return worst;
}

double dp_checksum(hg_net *net) {
  char(*names)[64] = malloc(MAX_TENSORS * sizeof *names);
  hg_tensor *t[MAX_TENSORS];
  int n = names ? hg_net_tensors(net, true, names, t, MAX_TENSORS) : 0;
  double sum = names ? 0 : NAN;
  for (int i = 0; i < n; i++)
    for (size_t k = 0; k < t[i]->numel; k++) sum += t[i]->data[k];
  free(names);
  return sum;
}
