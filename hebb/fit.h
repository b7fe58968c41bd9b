/* Epochs of hg_trainer_step over a data set, with the learning-rate
 * schedule, validation after each epoch, early stopping that keeps the best
 * weights, checkpoints (last and best, safetensors) and exact resume. */
#ifndef HG_FIT_H
#define HG_FIT_H

#include <stdio.h>

#include "hebb/train.h"
#include "data/dataset.h"
#include "nn/schedule.h"

typedef struct hg_fit_opts {
  int epochs;
  int batch;
  hg_phase phase;
  hg_schedule schedule; /* of the B layers' learning rate */
  float base_lr;        /* B layers' learning rate at epoch 0 */
  int patience;         /* stop after this many epochs without a better validation (0: never) */
  int steps_per_epoch;  /* 0: whole epochs */
  const char *run_dir;  /* last.safetensors, best.safetensors, epochs.csv/.jsonl (NULL: none) */
  bool resume;          /* continue from run_dir/last.safetensors when it exists */
  bool read_only;       /* resume from run_dir, but write nothing there (data-parallel: all but rank 0) */
  uint64_t seed;        /* of the batch order */
  const char *label;    /* progress bar label */
  FILE *log;            /* progress and epoch lines (NULL: silent) */
} hg_fit_opts;

typedef struct hg_fit_result {
  int epochs_run;      /* epochs completed, resumed ones included */
  int best_epoch;      /* 1-based; 0 when nothing was validated */
  double best_val;     /* best validation top-1 (fraction) */
  double seconds;      /* training time of this call */
  double feature_seconds; /* hg_fit_skip_fixed: computing the fixed prefix's features (before `seconds`) */
  double images_per_s;
} hg_fit_result;

hg_fit_opts hg_fit_defaults(void);
/* Train; on return the net holds the best validated weights (or the last).
 * Data-parallel (the trainer's sync): every process calls it with the same
 * options, one of them without read_only; all end with the same weights.
 * On success hg_last_error() is "" (an earlier failure is forgotten). */
hg_status hg_fit(hg_trainer *t, const hg_dataset *train, const hg_dataset *val, const hg_fit_opts *o,
                 hg_fit_result *result);

/* The number of leading layers of net that are fixed while it trains (modes
 * F and R: weights kept, batch norms on their running statistics, dropout
 * off): their outputs are the same in every epoch. */
int hg_fit_fixed_prefix(const hg_net *net);
/* hg_fit, with the fixed prefix of t's net run once over train and val
 * (hg_net_features) instead of in every epoch: the same training, without
 * the prefix's forward passes. The features are held in memory as float32,
 * or as float16 in an unlinked file in o->run_dir (else /tmp) when they
 * would take more than HG_FEATURE_MEMORY bytes. Plain hg_fit when there is
 * no prefix or its outputs do not fit in memory. net->first is 0 again on
 * return. */
#define HG_FEATURE_MEMORY (1024.0 * 1024 * 1024)
hg_status hg_fit_skip_fixed(hg_trainer *t, const hg_dataset *train, const hg_dataset *val, const hg_fit_opts *o,
                            hg_fit_result *result);
/* Save the net's parameters and statistics, both optimizers' states, the
 * rules' layer states (e.g. BCM's threshold) and `epoch` to path (atomically). */
hg_status hg_trainer_save(hg_trainer *t, const char *path, int epoch, double best_val, int best_epoch);
/* Restore what hg_trainer_save wrote; *epoch etc. may be NULL. */
hg_status hg_trainer_load(hg_trainer *t, const char *path, int *epoch, double *best_val, int *best_epoch);

#endif
