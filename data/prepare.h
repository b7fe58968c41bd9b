/* The data preparation of the seeds: load a data set, split a validation set
 * off the training set, convert MNIST-like images to 3×32×32 when asked,
 * standardise each channel with the training statistics and, optionally,
 * whiten whole images with ZCA fitted on the training split. */
#ifndef HG_PREPARE_H
#define HG_PREPARE_H

#include "data/dataset.h"

typedef struct hg_data_opts {
  const char *name;       /* mnist, fashion-mnist, cifar10, cifar100 */
  const char *dir;        /* NULL: hg_default_data_dir() */
  int n_val;              /* images split off the training set for validation */
  int limit_train;        /* keep only the first N training images (0: all) */
  int limit_test;         /* likewise for validation and test (0: all) */
  bool rgb32;             /* 1×28×28 → 3×32×32 as the seeds do */
  bool zca;               /* whole-image ZCA whitening */
  float zca_eps;
  const char *zca_cache;  /* file to reuse the fitted transform from (NULL: refit) */
  bool zca_floats;        /* whiten once into float32 copies instead of per batch */
  uint64_t seed;          /* of the split */
} hg_data_opts;

typedef struct hg_data {
  hg_dataset *train, *val, *test; /* val is NULL when n_val is 0 */
} hg_data;

/* Defaults: 10k validation images, seed 1, ZCA ε 1e-2, no limits. */
hg_data_opts hg_data_defaults(const char *name);
hg_status hg_data_prepare(const hg_data_opts *o, hg_data *out);
void hg_data_release(hg_data *d);

#endif
