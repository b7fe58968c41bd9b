/* Everything hebbgrad does with MPI. Built with HG_MPI (cmake -DHG_MPI=ON)
 * it joins the job when a launcher set one of its variables; otherwise a
 * process is rank 0 of 1. */
#include "experiment/parallel.h"

#include <stdlib.h>

#ifdef HG_MPI
#include <limits.h>
#include <mpi.h>

static struct {
  bool joined;
  int rank, size, local_size;
  hg_batch_sync sync;
} job = {.size = 1, .local_size = 1};

/* Did mpirun (Open MPI, MPICH's hydra) or srun (PMI, PMIx) start this process? */
static bool launched(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* data[0..n) := its sum over the processes, in chunks MPI's int counts can hold. */
static hg_status sum_over(void *data, size_t n, MPI_Datatype type, size_t width) {
  for (size_t done = 0; done < n;) {
    int part = n - done > INT_MAX / 2 ? INT_MAX / 2 : (int)(n - done);
    if (MPI_Allreduce(MPI_IN_PLACE, (char *)data + done * width, part, type, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS)
      return hg_fail(HG_ERR_IO, "MPI_Allreduce of %zu values failed", n);
    done += (size_t)part;
  }
  return HG_OK;
}

static hg_status sum_double(double *data, size_t n, void *ctx) {
  (void)ctx;
  return sum_over(data, n, MPI_DOUBLE, sizeof *data);
}

static hg_status sum_float(float *data, size_t n, void *ctx) {
  (void)ctx;
  return sum_over(data, n, MPI_FLOAT, sizeof *data);
}

/* How many of the job's processes share this machine. */
static int count_local(void) {
  MPI_Comm node;
  int n = 1;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS) return 1;
  MPI_Comm_size(node, &n);
  MPI_Comm_free(&node);
  return n;
}

hg_status hg_parallel_start(int *argc, char ***argv) {
  if (job.joined || !launched()) return HG_OK;
  if (MPI_Init(argc, argv) != MPI_SUCCESS) return hg_fail(HG_ERR_IO, "MPI_Init failed");
  job.joined = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &job.size);
  job.local_size = count_local();
  job.sync = (hg_batch_sync){.rank = job.rank, .size = job.size, .sum_double = sum_double, .sum_float = sum_float};
  return HG_OK;
}

int hg_parallel_end(int rc) {
  if (!job.joined) return rc;
  if (rc != 0 && job.size > 1) MPI_Abort(MPI_COMM_WORLD, rc); /* the others may wait for this one */
  MPI_Finalize();
  job.joined = false;
  return rc;
}

int hg_parallel_rank(void) { return job.rank; }
int hg_parallel_size(void) { return job.size; }
int hg_parallel_local_size(void) { return job.local_size; }
const hg_batch_sync *hg_parallel_sync(void) { return job.size > 1 ? &job.sync : NULL; }

bool hg_parallel_all(bool ok) {
  int all = ok;
  if (job.joined) MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return all;
}

#else /* built without MPI: always rank 0 of 1 */

hg_status hg_parallel_start(int *argc, char ***argv) {
  (void)argc, (void)argv;
  const char *n = getenv("OMPI_COMM_WORLD_SIZE") ? getenv("OMPI_COMM_WORLD_SIZE") : getenv("PMI_SIZE");
  if (n && atoi(n) > 1) /* each would do the whole job and write the same files */
    return hg_fail(HG_ERR_ARG, "started as one of %s processes, but built without MPI (cmake -DHG_MPI=ON)", n);
  return HG_OK;
}

int hg_parallel_end(int rc) { return rc; }
int hg_parallel_rank(void) { return 0; }
int hg_parallel_size(void) { return 1; }
int hg_parallel_local_size(void) { return 1; }
const hg_batch_sync *hg_parallel_sync(void) { return NULL; }
bool hg_parallel_all(bool ok) { return ok; }

#endif
