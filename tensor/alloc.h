/* Caching allocator for tensor buffers: a freed buffer goes onto a free list
 * keyed by its exact size and is handed out again, so a training loop whose
 * shapes repeat allocates nothing after its first step. 64-byte aligned.
 * Thread-safe: one mutex guards the free lists and the counters. */
#ifndef HG_ALLOC_H
#define HG_ALLOC_H

#include <stddef.h>

/* Buffer of `bytes` bytes (contents undefined), or NULL with an error set. */
void *hg_pool_alloc(size_t bytes);
/* Return a buffer obtained from hg_pool_alloc with the same `bytes`. */
void hg_pool_free(void *ptr, size_t bytes);
/* Release every cached buffer to the system. */
void hg_pool_trim(void);

typedef struct hg_pool_stats {
  size_t system_allocs; /* buffers obtained from the system so far */
  size_t reuses;        /* requests served from the free lists */
  size_t cached_bytes;  /* bytes sitting on the free lists now */
} hg_pool_stats;
hg_pool_stats hg_pool_get_stats(void);

#endif
