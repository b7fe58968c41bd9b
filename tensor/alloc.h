/* Caching allocator for tensor buffers, so that a training loop whose shapes
 * repeat asks the system for nothing after its first step. Small buffers
 * (< 256 KiB) go onto free lists keyed by their exact size; large ones are
 * carved from a few big regions by best fit, and a freed one merges with its
 * free neighbours, so the memory freed by the activations of one shape
 * serves the gradients of another. 64-byte aligned. Thread-safe: one mutex
 * guards the lists, the regions and the counters. */
#ifndef HG_ALLOC_H
#define HG_ALLOC_H

#include <stddef.h>

/* Buffer of `bytes` bytes (contents undefined), or NULL with an error set. */
void *hg_pool_alloc(size_t bytes);
/* Return a buffer obtained from hg_pool_alloc with the same `bytes`. */
void hg_pool_free(void *ptr, size_t bytes);
/* Release every cached small buffer, and every region with nothing handed out, to the system. */
void hg_pool_trim(void);

typedef struct hg_pool_stats {
  size_t system_allocs; /* buffers obtained from the system so far */
  size_t reuses;        /* requests served from memory already held */
  size_t cached_bytes;  /* bytes held but not handed out now */
  size_t held_bytes;      /* bytes held from the system (of a region, the part ever handed out) */
  size_t peak_held_bytes; /* the most held_bytes has been */
} hg_pool_stats;
hg_pool_stats hg_pool_get_stats(void);

#endif
