/* Building blocks of the experiment programs (layer probes, retraining the
 * top layers, semi-supervised fine-tuning; examples/layer_probe.c,
 * retrain_top.c, semisup.c): weights of a trained net copied into a fresh
 * one layer by layer, Hebbian pre-training of a whole net with a cached
 * result, batch-norm statistics re-estimated, class-balanced label subsets,
 * result rows looked up for resumable runs, and small tables written as CSV
 * and Markdown. */
#ifndef HG_EXPERIMENT_H
#define HG_EXPERIMENT_H

#include <stdbool.h>
#include <stdio.h>

#include "hebb/fit.h"
#include "nn/evaluate.h"
#include "data/prepare.h"

/* Copy the parameters and batch-norm statistics of layers [0, upto) of net
 * (every layer when upto < 0) from the checkpoint at path, matched by name
 * ("conv1.weight", "bn1.running_mean", ...). Files written by
 * hg_trainer_save (e.g. a run of examples/train) or hg_experiment_save_net
 * both work; the optimizer state in them is ignored. Nothing is changed when
 * a tensor is missing or has another shape (the error names it). */
hg_status hg_experiment_load_net(hg_net *net, const char *path, int upto);
/* Save net's parameters and batch-norm statistics with n_meta string pairs. */
hg_status hg_experiment_save_net(hg_net *net, const char *path, int n_meta, const char *const *keys,
                                 const char *const *values);

/* Set the mode of every layer with weights but the classifier (the last one)
 * to `layers` and the classifier's to `classifier`, in the notation of
 * hg_net_set_modes: ('H', 'F') gives "HHHHH-F" on the seeds' net. */
hg_status hg_experiment_set_modes(hg_net *net, char layers, char classifier);

/* w_k ← norm·w_k/‖w_k‖ and b_k ← norm·b_k/‖w_k‖ for every output unit k of
 * the linear and convolution layers among [0, upto) (all when upto < 0). A
 * positive factor per unit passes through ReLU and pooling and is removed by
 * the batch norm after them, whose running mean and variance are scaled with
 * the unit: the seeds' net computes the same function, in training and in
 * evaluation (up to batch norm's ε). Only the step size of SGD relative to
 * the weights changes: a row's turn per step goes as lr/‖w‖² (a Hebbian
 * instar row grows to the norm of its inputs, ≈ 10× a fresh layer's 0.58).
 * Seed 001's code reads such layers out as the projection x·w/‖w‖, i.e.
 * norm 1. Rows of norm 0 are left as they are. NOMEM leaves the layers
 * before the failing one scaled. */
hg_status hg_experiment_scale_rows(hg_net *net, int upto, float norm);

/* Seed 001/002's batch norm for their Hebbian nets at bn3, bn4 and bn5 of the
 * seeds' net (hg_layer_batch_norm_keep_variance): each channel keeps its
 * relative variance. HG_ERR_ARG, naming the layer, when net lacks one. */
hg_status hg_experiment_modified_bn(hg_net *net);

/* b ← 0, kept there: the linear and convolution layers among [0, upto) (all
 * when upto < 0) compute u = w·x, as seed 001's Hebbian layers, also while
 * the rest of the net learns. Call after the train modes are set (setting a
 * mode lets a bias learn again). */
void hg_experiment_drop_bias(hg_net *net, int upto);

/* Re-estimate the running mean and variance of every batch-norm layer among
 * layers [0, upto) (all when upto < 0) as the plain average of the statistics
 * of full batches of `batch` images, over at most max_images images of ds
 * (all when max_images <= 0) in a seeded random order. The weights do not
 * change. A Hebbian phase forwards only up to the last Hebbian layer, so the
 * batch norm after it never sees data; this gives it (and the others, which
 * saw drifting weights) the statistics of the final weights. */
hg_status hg_experiment_recalibrate_bn(hg_net *net, const hg_dataset *ds, int upto, int batch,
                                       int max_images, uint64_t seed);

/* Unsupervised Hebbian pre-training of the layers with weights below the
 * classifier ("H…H-F"), labels unused. */
typedef struct hg_pretrain_opts {
  const char *hebb;      /* rule spec, e.g. "hpca/none/relu/avg" (hebb/plasticity.h) */
  int epochs;            /* Hebbian epochs */
  int layers;            /* train only the lowest `layers` of them, the rest keep their
                            initialisation ("HHHFF-F" for 3); 0: all. Every layer learns on
                            its own input, so the trained ones end as they would with all */
  int batch;
  float lr;              /* Hebbian learning rate */
  uint64_t seed;         /* batch order */
  int bn_images;         /* images for hg_experiment_recalibrate_bn afterwards (0: all) */
  const char *cache;     /* checkpoint to reuse or write (NULL: none) */
  const char *setting;   /* description stored in the cache; a cache with another one is an error */
  const char *run_dir;   /* hg_fit's per-epoch files and resume checkpoint (NULL: none) */
  FILE *log;             /* progress (NULL: silent) */
  const hg_batch_sync *sync; /* data-parallel over these processes (NULL: none); every process
                                calls with the same options, all but rank 0 write nothing */
} hg_pretrain_opts;

/* Default options: all layers, 1 epoch, batch 64, lr 1e-3, seed 1, 10000 BN images. */
hg_pretrain_opts hg_pretrain_defaults(const char *hebb);
/* Pre-train net (finalized, its classifier last) on train; when o->cache
 * exists with the same o->setting, load it instead (*cached = true). Leaves
 * the layers' modes as trained ("H…H-F", "HHHFF-F"); callers set their own. */
hg_status hg_experiment_pretrain(hg_net *net, const hg_dataset *train, const hg_pretrain_opts *o,
                                 bool *cached);

/* What a training run of an experiment gives. */
typedef struct hg_experiment_outcome {
  hg_fit_result fit; /* fit.best_epoch: the epoch whose weights were kept */
  hg_eval val, test; /* of those weights (val zero when there is no validation set) */
} hg_experiment_outcome;

/* hg_fit_skip_fixed(t, d->train, d->val, o), then evaluate the weights it leaves (the
 * best validated ones) on d->val and d->test, then delete o->run_dir's
 * checkpoints (its per-epoch CSV/JSON lines stay). With o->resume an
 * interrupted run continues from its last epoch. Data-parallel (t->sync):
 * every process calls it, one without o->read_only, which deletes the
 * checkpoints once all have loaded the best one. */
hg_status hg_experiment_fit_evaluate(hg_trainer *t, const hg_data *d, const hg_fit_opts *o,
                                     hg_experiment_outcome *out);

/* Indices (ascending) of a class-balanced subset of labels[0..n): `total`
 * images, total/classes of each class and one more for total%classes of the
 * classes (drawn by the seed); each class's images drawn at random by the
 * seed. A class with too few images gives all it has. Writes at most total
 * indices to out and returns how many, or -1 with an error set. The same
 * seed gives the same subset. */
int hg_experiment_balanced_indices(const int *labels, int n, int classes, int total, uint64_t seed,
                                   int *out);
/* The subset of ds keeping `percent` % of its images (rounded, at least one
 * per class), class-balanced as above. */
hg_dataset *hg_experiment_label_subset(const hg_dataset *ds, double percent, uint64_t seed);

/* Look up, in a CSV written by io/results.h, the last row whose columns
 * key_cols[i] equal key_vals[i], and copy its `column` into out. Returns
 * true when found; false when the file, a column or the row is missing. */
bool hg_experiment_find_result(const char *csv_path, int nkeys, const char *const *key_cols,
                               const char *const *key_vals, const char *column, char *out,
                               size_t size);

/* A small table of strings: a header row and `rows` rows of `cols` cells. */
typedef struct hg_table {
  int rows, cols;
  char **cells; /* (rows + 1) × cols, header first; NULL cells print empty */
} hg_table;

hg_table *hg_table_new(int rows, int cols);
void hg_table_free(hg_table *t);
/* Cell (row, col) = the formatted text; row −1 is the header. */
hg_status hg_table_set(hg_table *t, int row, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* CSV (cells with a comma or a quote are quoted, quotes doubled). */
hg_status hg_table_write_csv(const hg_table *t, FILE *f);
/* GitHub Markdown, columns padded to their widest cell, '|' escaped. */
hg_status hg_table_write_markdown(const hg_table *t, FILE *f);
/* prefix.csv and prefix.md (with `title` as a paragraph before the table,
 * when not NULL). */
hg_status hg_table_save(const hg_table *t, const char *prefix, const char *title);

#endif
