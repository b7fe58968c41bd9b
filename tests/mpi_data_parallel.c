/* Data-parallel training under mpirun: the small net (batch norm synchronised)
 * trained for 50 steps with its batches split over the processes ends with
 * the weights and batch-norm statistics of one process training alone (max
 * |a − b| / max |a| per tensor ≤ 1e-4), every process with the same ones.
 * Classes are learnable (a pattern each plus noise): on random labels the
 * training is chaotic and float rounding grows past any tolerance. Three
 * runs: SGD alone (B-G, batch 32), a Hebbian first layer trained
 * jointly with the SGD classifier (H-G, e-soft-wta, mean aggregation:
 * factors over the whole batch) and a batch of 15 rows, split 7 + 8.
 * Run: mpirun -np 2 mpi_data_parallel; exit 77 (skipped) with one process. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hebbgrad.h"

#define STEPS 50
#define IMAGES 1600
#define TOLERANCE 1e-4
#define MAX_TENSORS 64

/* 1x28x28 images of 10 classes, each its class's random pattern plus noise,
 * the same on every process. */
static hg_dataset *random_data(void) {
  enum { PIXELS = 28 * 28 };
  static float pattern[10][PIXELS];
  hg_dataset *ds = hg_dataset_new(IMAGES, 1, 28, 28, 10, "random");
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

/* The small net trained for STEPS steps in `modes`; sync NULL: alone. */
static hg_net *trained(const hg_dataset *ds, const char *modes, int batch, const hg_batch_sync *sync) {
  hg_net *net = hg_net_small(1, 28, 10, 3);
  hg_plasticity hebb;
  hg_status s = net ? hg_net_set_modes(net, modes) : hg_last_status();
  if (s == HG_OK) s = hg_plasticity_parse("instar/e-soft-wta:0.02/mean", &hebb);
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.05f, 0.9f, 5e-4f, true), .hebb_lr = 0.02f, .sync = sync};
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, &hebb, &to) : NULL;
  hg_fit_opts f = hg_fit_defaults();
  f.batch = batch;
  f.steps_per_epoch = STEPS;
  f.phase = HG_PHASE_JOINT;
  f.base_lr = 0.05f;
  f.log = NULL;
  if (t) s = hg_fit(t, ds, NULL, &f, NULL);
  if (!t || s != HG_OK) {
    fprintf(stderr, "mpi_data_parallel: %s: %s\n", modes, hg_last_error());
    hg_net_free(net);
    net = NULL;
  }
  hg_trainer_free(t);
  return net;
}

/* max over the tensors of max |a − b| / max |a| (parameters and batch-norm statistics). */
static double max_difference(hg_net *a, hg_net *b) {
  static char names[MAX_TENSORS][64];
  hg_tensor *ta[MAX_TENSORS], *tb[MAX_TENSORS];
  int n = hg_net_tensors(a, true, names, ta, MAX_TENSORS);
  if (n != hg_net_tensors(b, true, names, tb, MAX_TENSORS)) return INFINITY;
  double worst = 0;
  for (int i = 0; i < n; i++) {
    double diff = 0, scale = 0;
    for (size_t k = 0; k < ta[i]->numel; k++) {
      diff = fmax(diff, fabs((double)ta[i]->data[k] - tb[i]->data[k]));
      scale = fmax(scale, fabs((double)ta[i]->data[k]));
    }
    worst = fmax(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

/* Σ of every tensor of net: equal on every process when their weights are. */
static double checksum(hg_net *net) {
  static char names[MAX_TENSORS][64];
  hg_tensor *t[MAX_TENSORS];
  int n = hg_net_tensors(net, true, names, t, MAX_TENSORS);
  double sum = 0;
  for (int i = 0; i < n; i++)
    for (size_t k = 0; k < t[i]->numel; k++) sum += t[i]->data[k];
  return sum;
}

/* One comparison; true when it passes on this process (rank 0 holds the reference). */
static bool compare(const hg_dataset *ds, const char *modes, int batch) {
  const hg_batch_sync *sync = hg_parallel_sync();
  int rank = hg_parallel_rank(), size = hg_parallel_size();
  hg_net *split = trained(ds, modes, batch, sync);
  double sums[2] = {split ? checksum(split) : NAN, 0}; /* this process's, and rank 0's */
  if (rank == 0) sums[1] = sums[0];
  sync->sum_double(&sums[1], 1, sync->ctx);
  bool ok = split && sums[0] == sums[1];
  if (split && !ok) fprintf(stderr, "rank %d: %s: weights differ from rank 0's\n", rank, modes);
  if (rank == 0) {
    hg_net *alone = trained(ds, modes, batch, NULL);
    double d = alone && split ? max_difference(alone, split) : INFINITY;
    printf("%s, batch %d over %d processes, %d steps: max relative difference to one process %.3g\n", modes,
           batch, size, STEPS, d);
    ok = ok && d <= TOLERANCE;
    hg_net_free(alone);
  }
  hg_net_free(split);
  return ok;
}

int main(int argc, char **argv) {
  hg_status s = hg_parallel_start(&argc, &argv);
  if (s != HG_OK || hg_parallel_size() < 2) {
    printf("mpi_data_parallel: skipped: %s\n", s != HG_OK ? hg_last_error() : "not started by mpirun with 2 or more processes");
    return hg_parallel_end(s != HG_OK ? 1 : 77);
  }
  hg_dataset *ds = random_data();
  bool ok = ds != NULL; /* every process makes every comparison (they meet in each) */
  ok = ds && compare(ds, "B-G", 32) && ok;
  ok = ds && compare(ds, "H-G", 32) && ok;
  ok = ds && compare(ds, "B-G", 15) && ok;
  hg_dataset_free(ds);
  ok = hg_parallel_all(ok);
  if (hg_parallel_rank() == 0) printf("mpi_data_parallel: %s\n", ok ? "passed" : "FAILED");
  return hg_parallel_end(ok ? 0 : 1);
}
