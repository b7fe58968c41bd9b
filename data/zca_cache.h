/* A fitted ZCA transform kept in a safetensors file ("zca.mean" [D],
 * "zca.matrix" [D,D]; metadata format, eps, count, fingerprint), so a
 * second run on the same data skips the eigendecomposition. */
#ifndef HG_ZCA_CACHE_H
#define HG_ZCA_CACHE_H

#include "data/zca.h"

/* Write zca to path (temporary file, then rename). */
hg_status hg_zca_save(const hg_zca *zca, const char *path);
/* Read a transform written by hg_zca_save; NULL with a message naming path. */
hg_zca *hg_zca_load(const char *path);
/* The transform in path when it was fitted on ds with eps, else fit on ds and
 * save it to path. A file in path that is not a ZCA transform (or is damaged)
 * is an error and stays untouched. */
hg_zca *hg_zca_load_or_fit(const char *path, const hg_dataset *ds, float eps);

#endif
