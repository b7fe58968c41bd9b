#include "autograd/batch_sync.h"

static _Thread_local const hg_batch_sync *current;
static _Thread_local struct {
  int lo, n, count;
} share;

const hg_batch_sync *hg_batch_sync_use(const hg_batch_sync *s) {
  const hg_batch_sync *old = current;
  current = s;
  return old;
}

const hg_batch_sync *hg_batch_sync_current(void) { return current; }

void hg_batch_sync_set_rows(int lo, int n, int count) {
  share.lo = lo;
  share.n = n;
  share.count = count;
}

bool hg_batch_sync_rows(int *lo, int *n, int *count) {
  if (!current || current->size <= 1) return false;
  *lo = share.lo;
  *n = share.n;
  *count = share.count;
  return true;
}

hg_status hg_batch_sum(double *data, size_t n) {
  if (!current || current->size <= 1) return HG_OK;
  return current->sum_double(data, n, current->ctx);
}

hg_status hg_batch_sync_barrier(const hg_batch_sync *s) {
  double one = 1.0;
  return s && s->size > 1 ? s->sum_double(&one, 1, s->ctx) : HG_OK;
}
