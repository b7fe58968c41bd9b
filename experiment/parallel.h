/* The processes of an MPI job (mpirun, srun): which one this is, how many
 * there are, and what they share. The one file that calls MPI is
 * experiment/parallel.c; built without -DHG_MPI=ON, or started without a
 * launcher, a program is rank 0 of 1 and every function here is trivial.
 * See docs/scale-out.md. */
#ifndef HG_PARALLEL_H
#define HG_PARALLEL_H

#include <stdbool.h>

#include "autograd/batch_sync.h"

/* Join the job (MPI_Init) when a launcher started this process; else
 * nothing. Call once, first thing in main. */
hg_status hg_parallel_start(int *argc, char ***argv);
/* Leave the job with main's exit status rc, which it returns: a failure
 * on any process ends every process of the job (MPI_Abort); success waits
 * for the others (MPI_Finalize). */
int hg_parallel_end(int rc);
/* This process's rank, 0 ≤ rank < hg_parallel_size(). */
int hg_parallel_rank(void);
/* The number of processes of the job (1 without one). */
int hg_parallel_size(void);
/* The number of the job's processes on this machine, which share its cores. */
int hg_parallel_local_size(void);
/* Data-parallel training over every process of the job (hg_trainer_opts.sync);
 * NULL with one process. */
const hg_batch_sync *hg_parallel_sync(void);
/* Wait for every process; true when ok is true on all of them. */
bool hg_parallel_all(bool ok);

#endif
