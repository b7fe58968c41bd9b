/* What the programs do with the shared options (experiment/options.h), once
 * for all of them: prepare the data, build the net, hg_fit's options,
 * Hebbian pre-training with a cache, the keys that identify a result, the
 * rows of the results files, and the tables they print. */
#ifndef HG_COMMON_H
#define HG_COMMON_H

#include "experiment/experiment.h"
#include "experiment/options.h"
#include "io/results.h"

/* Load and prepare the data (hg_data_prepare): split seeded by --seed,
 * images made 3x32x32 for --model seeds; with --zca the transform is cached
 * in --zca-cache, by default OUT/zca-DATA.safetensors (OUT made then). */
hg_status hg_common_prepare(hg_common_opts *c, hg_data *d);
/* hg_common_prepare by rank 0 of an MPI job first (it writes the ZCA
 * cache), then by the other processes, which find the cache. */
hg_status hg_common_prepare_all(hg_common_opts *c, hg_data *d);
/* The start of a program's main: parse argv into opts (hg_cli_start:
 * --help to stdout, errors to stderr) and use --threads (without it, the
 * processes of an MPI job on one machine share its CPUs); −1 to go on, else
 * main's exit status (0 after --help, 2 after a bad option). */
int hg_common_start(const hg_cli *cli, int argc, char **argv, void *opts);
/* The main of a program that works on the prepared data: join the MPI job
 * when a launcher started it (hg_parallel_start), hg_common_start, make
 * OUT, hg_common_prepare_all, run work on them (on every process); returns main's
 * exit status (1 after "PROGRAM: message" on stderr when the work fails;
 * a failure on one process ends the job, hg_parallel_end). */
int hg_common_main(const hg_cli *cli, int argc, char **argv, void *opts,
                   hg_status (*work)(void *opts, const hg_data *d));
/* A new --model net (seeds when NULL) for train's images and classes, its
 * initialisation drawn from seed; with --modified-bn the seeds' code's
 * batch norm at bn3..bn5, with --check-finite checking its outputs. */
hg_net *hg_common_net(const hg_common_opts *c, const hg_dataset *train, uint64_t seed);
/* hg_fit's options from --epochs, --batch, --lr, --patience, --steps,
 * --seed and --schedule (constant for a Hebbian phase); resumable from
 * run_dir, progress to log. */
hg_status hg_common_fit_opts(const hg_common_opts *c, hg_phase phase, const char *run_dir, const char *label,
                             FILE *log, hg_fit_opts *f);
/* Hebbian training of the lowest `layers` layers of net below the
 * classifier (0: all) with rule `hebb` for --hebb-epochs at --hebb-lr
 * (hg_experiment_pretrain), cached in `cache` under a setting made of the
 * data and training options, resumable from run_dir, progress to stderr;
 * data-parallel over sync's processes (NULL: this one alone), of which
 * rank 0 alone writes and reports. */
hg_status hg_common_pretrain(const hg_common_opts *c, hg_net *net, const hg_dataset *train, const char *hebb,
                             int layers, const char *cache, const char *run_dir, const hg_batch_sync *sync,
                             bool *cached);

/* The data part of a result's key: "NAME", "NAME+zca", or "NAME+zca:EPS"
 * when ZCA's ε is not the default (older results keep their keys). */
void hg_common_data_key(const hg_common_opts *c, char *buf, size_t size);
/* The training part of a result's key: every training option that can
 * change a result. */
void hg_common_training_key(const hg_common_opts *c, char *buf, size_t size);
/* --metric, else "top5" for 100 classes or more (as the seeds report
 * CIFAR-100), else "top1". */
const char *hg_common_metric(const hg_common_opts *c, const hg_dataset *train);
/* FNV-1a over a key's n values: names a run's folder, so that a rerun with
 * other settings never resumes another run's checkpoint. */
unsigned hg_experiment_key_hash(int n, const char *const *v);

/* prefix.csv/.jsonl for rows of the key columns, the extra columns, then
 * epochs_run, best_epoch, val_top1, test_top1, test_top5, seconds; NULL when
 * the file has other columns (hg_results_open). */
hg_results *hg_experiment_results_open(const char *prefix, int nkeys, const char *const *key_cols, int nextra,
                                       const char *const *extra_cols);
/* One row of such a file: key values, extra values, then r. */
hg_status hg_experiment_results_row(hg_results *res, int nkeys, const char *const *key, int nextra,
                                    const char *const *extra, const hg_experiment_outcome *r);
/* Open, append one row, close. */
hg_status hg_experiment_record(const char *prefix, int nkeys, const char *const *key_cols, const char *const *key,
                               int nextra, const char *const *extra_cols, const char *const *extra,
                               const hg_experiment_outcome *r);
/* Write table under its title to f, save it as OUT/NAME.csv and .md, and
 * free it. */
hg_status hg_experiment_finish_table(hg_table *table, const char *out, const char *name, const char *title,
                                     FILE *f);

#endif
