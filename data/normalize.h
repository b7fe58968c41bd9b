/* Per-channel standardisation: fit the mean and standard deviation of each
 * channel on one data set (the training split), apply them to any other:
 * x' = (x - mean[c]) / std[c]. */
#ifndef HG_NORMALIZE_H
#define HG_NORMALIZE_H

#include "data/dataset.h"

#define HG_NORM_MAX_CHANNELS 16

typedef struct hg_normalizer {
  int channels;
  float mean[HG_NORM_MAX_CHANNELS];
  float std[HG_NORM_MAX_CHANNELS]; /* population std; 1 for a constant channel */
} hg_normalizer;

/* Per-channel mean and std of ds's images [N,C,H,W] as they read
 * (accumulated in double; a set of pixels from a histogram of its bytes). */
hg_status hg_normalizer_fit(hg_normalizer *norm, const hg_dataset *ds);
/* x[n,c,:,:] = (x - mean[c]) / std[c] in place; x is [N,C,H,W] with C == channels. */
hg_status hg_normalizer_apply_tensor(const hg_normalizer *norm, hg_tensor *x);
/* hg_normalizer_apply_tensor on ds's images; a set of pixels has its byte
 * tables standardised instead (each value rounds as it would in a tensor). */
hg_status hg_normalizer_apply(const hg_normalizer *norm, hg_dataset *ds);

#endif
