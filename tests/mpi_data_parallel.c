/* Data-parallel training under mpirun: the small net (batch norm
 * synchronised) trained for 50 steps with its batches split over the
 * processes ends with the weights and batch-norm statistics of one process
 * training alone (max |a − b| / max |a| per tensor ≤ 1e-4), every process
 * with the same ones. Three runs: SGD alone (B-G, batch 32), a Hebbian first
 * layer trained jointly with the SGD classifier (H-G, e-soft-wta, mean
 * aggregation: factors over the whole batch) and a batch of 15 rows, split
 * 7 + 8, and that with dropout 0.5 before the classifier. test_data_parallel.c makes the same checks with threads in one process.
 * Run: mpirun -np 2 mpi_data_parallel; exit 77 (skipped) with one process. */
#include <math.h>
#include <stdio.h>

#include "tests/data_parallel_check.h"

/* One comparison; true when it passes on this process (rank 0 holds the reference). */
static bool compare(const hg_dataset *ds, const char *modes, int batch, float dropout) {
  const hg_batch_sync *sync = hg_parallel_sync();
  int rank = hg_parallel_rank(), size = hg_parallel_size();
  hg_net *split = dp_train(ds, modes, batch, dropout, sync);
  double sums[2] = {split ? dp_checksum(split) : NAN, 0}; /* this process's, and rank 0's */
  if (rank == 0) sums[1] = sums[0];
  sync->sum_double(&sums[1], 1, sync->ctx);
  bool ok = split && sums[0] == sums[1];
  if (split && !ok) fprintf(stderr, "rank %d: %s: weights differ from rank 0's\n", rank, modes);
  if (rank == 0) {
    hg_net *alone = dp_train(ds, modes, batch, dropout, NULL);
    double d = alone && split ? dp_difference(alone, split) : INFINITY;
    printf("%s, batch %d, dropout %g over %d processes, %d steps: max relative difference to one process %.3g\n",
           modes, batch, (double)dropout, size, DP_STEPS, d);
    ok = ok && d <= DP_TOLERANCE;
    hg_net_free(alone);
  }
  hg_net_free(split);
  return ok;
}

int main(int argc, char **argv) {
  hg_status s = hg_parallel_start(&argc, &argv);
  if (s != HG_OK || hg_parallel_size() < 2) {
    const char *why = s != HG_OK ? hg_last_error() : "not started by mpirun with 2 or more processes";
    printf("mpi_data_parallel: skipped: %s\n", why);
    return hg_parallel_end(s != HG_OK ? 1 : 77);
  }
  hg_dataset *ds = dp_data();
  bool ok = ds != NULL; /* every process makes every comparison (they meet in each) */
  ok = ds && compare(ds, "B-G", 32, 0) && ok;
  ok = ds && compare(ds, "H-G", 32, 0) && ok;
  ok = ds && compare(ds, "B-G", 15, 0) && ok;
  ok = ds && compare(ds, "B-G", 15, 0.5f) && ok;
  hg_dataset_free(ds);
  ok = hg_parallel_all(ok);
  if (hg_parallel_rank() == 0) printf("mpi_data_parallel: %s\n", ok ? "passed" : "FAILED");
  return hg_parallel_end(ok ? 0 : 1);
}
