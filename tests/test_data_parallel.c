/* Data-parallel training in one process: two threads, each a "process" with
 * its own net, share every batch through a batch sync that sums over them
 * with a barrier. The small net (batch norm synchronised) trained for 50
 * steps so ends with the weights and batch-norm statistics of one thread
 * training alone (max |a − b| / max |a| per tensor ≤ 1e-4), both threads with
 * the same ones: SGD (B-G, batch 32), a Hebbian first layer with mean
 * aggregation trained jointly (H-G), an uneven split (batch 15: 7 + 8) and
 * the same with dropout 0.5 before the classifier (the masks of one thread).
 * A batch with fewer rows than processes is refused. mpi_data_parallel.c
 * makes the same checks over MPI. */
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <string.h>

#include "tests/data_parallel_check.h"
#include "tests/helpers.h"

#define WAYS 2
#define MAX_DOUBLES 1024 /* the longest sum of doubles: batch norm's, 2·channels + 1 */

/* The sums of WAYS threads: each lends its buffer, rank 0 adds them up. */
typedef struct pool {
  pthread_barrier_t barrier;
  void *data[WAYS];
  double total[MAX_DOUBLES];
} pool;

typedef struct member {
  pool *pool;
  hg_batch_sync sync;
  const hg_dataset *ds;
  const char *modes;
  int batch;
  float dropout;
  hg_net *net;
} member;

/* data := Σ over the threads: n ≤ MAX_DOUBLES doubles, or n floats (the gradient slab). */
static hg_status sum_in(member *m, void *data, size_t n, bool floats) {
  pool *p = m->pool;
  p->data[m->sync.rank] = data;
  pthread_barrier_wait(&p->barrier);
  if (m->sync.rank == 0) /* float slabs are added in place into rank 0's, then copied */
    for (size_t i = 0; i < n; i++) {
      double s = 0;
      for (int r = 0; r < WAYS; r++) s += floats ? ((float *)p->data[r])[i] : ((double *)p->data[r])[i];
      if (floats) ((float *)p->data[0])[i] = (float)s;
      else p->total[i] = s;
    }
  pthread_barrier_wait(&p->barrier);
  if (floats && m->sync.rank != 0) memcpy(data, p->data[0], n * sizeof(float));
  if (!floats) memcpy(data, p->total, n * sizeof(double));
  pthread_barrier_wait(&p->barrier);
  return HG_OK;
}

static hg_status sum_double(double *data, size_t n, void *ctx) {
  if (n > MAX_DOUBLES) return hg_fail(HG_ERR_ARG, "test: a sum of %zu doubles", n); /* alike in every thread */
  return sum_in(ctx, data, n, false);
}

static hg_status sum_float(float *data, size_t n, void *ctx) { return sum_in(ctx, data, n, true); }

static void *train_member(void *arg) {
  member *m = arg;
  omp_set_num_threads(1); /* one core each, as one MPI process per core */
  m->net = dp_train(m->ds, m->modes, m->batch, m->dropout, &m->sync);
  return NULL;
}

/* The nets of WAYS threads sharing the batches, against one thread alone. */
static void compare(const char *modes, int batch, float dropout) {
  hg_dataset *ds = dp_data();
  assert_non_null(ds);
  pool p;
  assert_int_equal(pthread_barrier_init(&p.barrier, NULL, WAYS), 0);
  member m[WAYS];
  pthread_t threads[WAYS];
  for (int r = 0; r < WAYS; r++) {
    m[r] = (member){.pool = &p, .ds = ds, .modes = modes, .batch = batch, .dropout = dropout};
    m[r].sync =
        (hg_batch_sync){.rank = r, .size = WAYS, .sum_double = sum_double, .sum_float = sum_float, .ctx = &m[r]};
    assert_int_equal(pthread_create(&threads[r], NULL, train_member, &m[r]), 0);
  }
  for (int r = 0; r < WAYS; r++) assert_int_equal(pthread_join(threads[r], NULL), 0);
  pthread_barrier_destroy(&p.barrier);
  hg_net *alone = dp_train(ds, modes, batch, dropout, NULL);
  assert_non_null(alone);
  for (int r = 0; r < WAYS; r++) assert_non_null(m[r].net);
  double d = dp_difference(alone, m[0].net);
  print_message("%s, batch %d, dropout %g over %d threads, %d steps: max relative difference to one %.3g\n", modes,
                batch, (double)dropout, WAYS, DP_STEPS, d);
  assert_true(d <= DP_TOLERANCE);
  assert_true(dp_difference(m[0].net, m[1].net) == 0); /* the same step everywhere */
  hg_net_free(alone);
  for (int r = 0; r < WAYS; r++) hg_net_free(m[r].net);
  hg_dataset_free(ds);
}

static void test_sgd(void **state) {
  (void)state;
  compare("B-G", 32, 0);
}

static void test_hebbian_joint(void **state) {
  (void)state;
  compare("H-G", 32, 0);
}

static void test_uneven_split(void **state) {
  (void)state;
  compare("B-G", 15, 0);
}

/* Dropout: each process keeps its rows' share of the whole batch's mask. */
static void test_dropout(void **state) {
  (void)state;
  compare("B-G", 15, 0.5f);
}

/* Fewer rows than processes: refused (by every process alike, so none waits). */
static void test_batch_too_small(void **state) {
  (void)state;
  hg_net *net = hg_net_small(1, 28, 10, 3);
  assert_non_null(net);
  hgt_status(hg_net_set_modes(net, "B-G"));
  hg_batch_sync sync = {.rank = 0, .size = 4, .sum_double = sum_double, .sum_float = sum_float};
  hg_trainer_opts to = {.backprop = hg_sgd_opts(0.05f, 0, 0, false), .sync = &sync};
  hg_trainer *t = hg_trainer_new(net, NULL, &to);
  assert_non_null(t);
  hg_tensor *x = hgt_rand(HG_SHAPE(3, 1, 28, 28), -1, 1, 5);
  int labels[3] = {0, 1, 2};
  assert_int_equal(hg_trainer_step(t, x, labels, 3, HG_PHASE_BACKPROP, NULL), HG_ERR_ARG);
  hgt_error_mentions("3 rows", "4 processes");
  assert_null(hg_batch_sync_current()); /* the step's sync is gone with it */
  hg_tensor_free(x);
  hg_trainer_free(t);
  hg_net_free(net);
}

int main(void) {
  omp_set_num_threads(1); /* idle OpenMP workers of this thread would spin while the members train */
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_sgd), cmocka_unit_test(test_hebbian_joint),
                                     cmocka_unit_test(test_uneven_split), cmocka_unit_test(test_dropout),
                                     cmocka_unit_test(test_batch_too_small)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
