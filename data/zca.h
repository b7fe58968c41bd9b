/* Whole-image ZCA whitening (Krizhevsky 2009, the seeds' preprocessing for
 * Hebbian layers): each image is flattened to D = C*H*W features and
 *   x' = W (x - mean),  W = U diag(1/sqrt(lambda + eps)) U^T,
 * where U, lambda are the eigenvectors and eigenvalues of the feature
 * covariance of the fitting set (divided by N). The fitted transform is
 * saved as a safetensors file ("zca.mean" [D], "zca.matrix" [D,D],
 * metadata eps, count, source and a fingerprint of the fitting data). */
#ifndef HG_ZCA_H
#define HG_ZCA_H

#include "data/dataset.h"

#define HG_ZCA_DEFAULT_EPS 1e-2f

typedef struct hg_zca {
  int dim;           /* D */
  float eps;
  hg_tensor *mean;   /* [D] */
  hg_tensor *matrix; /* [D,D], symmetric */
  int count;         /* images it was fitted on (0 if unknown) */
  char fingerprint[20]; /* hash of the fitting data, "" if unknown */
} hg_zca;

/* Fit on x [N, ...] (N >= 2): features are the N rows flattened. */
hg_zca *hg_zca_fit_tensor(const hg_tensor *x, float eps);
/* Fit on the images of ds as they read (a set not yet whitened), a chunk of
 * rows at a time: the same transform as hg_zca_fit_tensor on them. */
hg_zca *hg_zca_fit(const hg_dataset *ds, float eps);
/* x = W (x - mean) for each row of x [N, ...] in place; rows must have D elements. */
hg_status hg_zca_apply_tensor(const hg_zca *zca, hg_tensor *x);
/* hg_zca_apply_tensor on ds's images; a set of pixels keeps its bytes and
 * takes the transform along (shared, not copied): its rows are whitened as
 * they are read. */
hg_status hg_zca_apply(const hg_zca *zca, hg_dataset *ds);
/* rows [n, D] ← (rows − mean)·matrix: mean [D], matrix [D,D] of a ZCA transform. */
hg_status hg_zca_whiten_rows(const hg_tensor *mean, const hg_tensor *matrix, float *rows, int n);
/* A hash of x's shape and values ("%016llx"), to tell fitting data apart. */
void hg_zca_fingerprint(const hg_tensor *x, char *out, size_t size);
/* The same hash of ds's images as they read (equal to hg_zca_fingerprint of
 * a tensor holding them). */
hg_status hg_zca_fingerprint_dataset(const hg_dataset *ds, char *out, size_t size);
/* Free the tensors and zca. NULL is allowed. */
void hg_zca_free(hg_zca *zca);

#endif
