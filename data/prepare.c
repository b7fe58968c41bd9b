#include "data/prepare.h"

#include <stdlib.h>

#include "data/normalize.h"
#include "data/zca_cache.h"

hg_data_opts hg_data_defaults(const char *name) {
  return (hg_data_opts){.name = name, .n_val = 10000, .zca_eps = HG_ZCA_DEFAULT_EPS, .seed = 1};
}

void hg_data_release(hg_data *d) {
  hg_dataset_free(d->train);
  hg_dataset_free(d->val);
  hg_dataset_free(d->test);
  d->train = d->val = d->test = NULL;
}

/* ds → its first `limit` images (when limit > 0 and smaller). */
static hg_status limit_to(hg_dataset **ds, int limit) {
  if (!*ds || limit <= 0 || limit >= (*ds)->count) return HG_OK;
  int *idx = malloc((size_t)limit * sizeof *idx);
  if (!idx) return hg_fail(HG_ERR_NOMEM, "prepare: out of memory");
  for (int i = 0; i < limit; i++) idx[i] = i;
  hg_dataset *sub = hg_dataset_subset(*ds, idx, limit);
  free(idx);
  if (!sub) return hg_last_status();
  hg_dataset_free(*ds);
  *ds = sub;
  return HG_OK;
}

static hg_status to_rgb32(hg_dataset **ds) {
  if (!*ds) return HG_OK;
  hg_dataset *c = hg_dataset_to_rgb32(*ds);
  if (!c) return hg_last_status();
  hg_dataset_free(*ds);
  *ds = c;
  return HG_OK;
}

/* *ds → a float32 copy of what it reads. */
static hg_status to_floats(hg_dataset **ds) {
  hg_dataset *f = hg_dataset_floats(*ds);
  if (!f) return hg_last_status();
  hg_dataset_free(*ds);
  *ds = f;
  return HG_OK;
}

static hg_status split(const hg_data_opts *o, hg_dataset *full, hg_data *d) {
  if (o->n_val <= 0) {
    d->train = full;
    return HG_OK;
  }
  if (o->n_val >= full->count) {
    hg_dataset_free(full);
    return hg_fail(HG_ERR_ARG, "prepare: %d validation images leave none of the %d for training",
                   o->n_val, full->count);
  }
  hg_status s = hg_dataset_split(full, o->n_val, o->seed, &d->train, &d->val);
  hg_dataset_free(full);
  return s;
}

static hg_status standardise(const hg_data_opts *o, hg_data *d) {
  hg_normalizer norm;
  hg_status s = hg_normalizer_fit(&norm, d->train);
  hg_dataset **sets[3] = {&d->train, &d->val, &d->test};
  for (int i = 0; i < 3 && s == HG_OK; i++)
    if (*sets[i]) s = hg_normalizer_apply(&norm, *sets[i]);
  if (s != HG_OK || !o->zca) return s;
  hg_zca *z = o->zca_cache ? hg_zca_load_or_fit(o->zca_cache, d->train, o->zca_eps)
                           : hg_zca_fit(d->train, o->zca_eps);
  if (!z) return hg_last_status();
  for (int i = 0; i < 3 && s == HG_OK; i++) {
    if (!*sets[i]) continue;
    if (o->zca_floats) s = to_floats(sets[i]); /* then whitened once, in place */
    if (s == HG_OK) s = hg_zca_apply(z, *sets[i]);
  }
  hg_zca_free(z);
  return s;
}

/* Training and test images of one shape and one set of classes. */
static hg_status check_alike(const hg_dataset *train, const hg_dataset *test) {
  const int *a = train->shape, *b = test->shape;
  bool same = train->num_classes == test->num_classes;
  for (int d = 1; d < 4; d++) same = same && a[d] == b[d];
  if (same) return HG_OK;
  return hg_fail(HG_ERR_SHAPE, "prepare: the training images in %s are [%d,%d,%d,%d] (%d classes), the test images in %s [%d,%d,%d,%d] (%d classes)",
                 train->source, a[0], a[1], a[2], a[3], train->num_classes, test->source, b[0], b[1], b[2], b[3],
                 test->num_classes);
}

hg_status hg_data_prepare(const hg_data_opts *o, hg_data *out) {
  hg_data d = {0};
  hg_dataset *full = hg_dataset_load(o->name, o->dir, true);
  d.test = full ? hg_dataset_load(o->name, o->dir, false) : NULL;
  hg_status s = d.test ? check_alike(full, d.test) : hg_last_status();
  if (s == HG_OK) s = split(o, full, &d);
  else hg_dataset_free(full);
  if (s == HG_OK) s = limit_to(&d.train, o->limit_train);
  if (s == HG_OK) s = limit_to(&d.val, o->limit_test);
  if (s == HG_OK) s = limit_to(&d.test, o->limit_test);
  for (int i = 0; o->rgb32 && s == HG_OK && i < 3; i++) s = to_rgb32(i == 0 ? &d.train : i == 1 ? &d.val : &d.test);
  if (s == HG_OK) s = standardise(o, &d);
  if (s != HG_OK) {
    hg_data_release(&d);
    return s;
  }
  *out = d;
  return HG_OK;
}
