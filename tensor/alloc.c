#include "tensor/alloc.h"

#include <pthread.h>
#include <stdlib.h>

#include "tensor/error.h"

/* Free lists in an open-addressing table keyed by size. Each cached buffer
 * stores the link to the next one of the same size in its first bytes. */
#define POOL_SLOTS 1024

typedef struct bucket {
  size_t bytes;
  void *head;
} bucket;

static bucket table[POOL_SLOTS];
static hg_pool_stats stats;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards table and stats */

static bucket *find_bucket(size_t bytes, int create) {
  size_t i = (bytes / 64 * 2654435761u) % POOL_SLOTS;
  for (size_t probe = 0; probe < POOL_SLOTS; probe++, i = (i + 1) % POOL_SLOTS) {
    if (table[i].bytes == bytes) return &table[i];
    if (table[i].bytes == 0) {
      if (!create) return NULL;
      table[i].bytes = bytes;
      return &table[i];
    }
  }
  return NULL;
}

static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

static void pool_trim(void) {
  for (size_t i = 0; i < POOL_SLOTS; i++) {
    while (table[i].head) {
      void *p = table[i].head;
      table[i].head = *(void **)p;
      free(p);
    }
    table[i].bytes = 0;
  }
  stats.cached_bytes = 0;
}

static void *pool_alloc(size_t bytes) {
  bytes = round_up(bytes ? bytes : 64);
#ifdef HG_NO_POOL /* sanitizer builds: every buffer from the system, so reuse hides nothing */
  void *direct = aligned_alloc(64, bytes);
  if (!direct) hg_fail(HG_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  if (direct) stats.system_allocs++;
  return direct;
#endif
  bucket *b = find_bucket(bytes, 0);
  if (b && b->head) {
    void *p = b->head;
    b->head = *(void **)p;
    stats.reuses++;
    stats.cached_bytes -= bytes;
    return p;
  }
  void *p = aligned_alloc(64, bytes);
  if (!p) {
    pool_trim();
    p = aligned_alloc(64, bytes);
  }
  if (!p) {
    hg_fail(HG_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
    return NULL;
  }
  stats.system_allocs++;
  return p;
}

static void pool_free(void *ptr, size_t bytes) {
  if (!ptr) return;
#ifdef HG_NO_POOL
  free(ptr);
  return;
#endif
  bytes = round_up(bytes ? bytes : 64);
  bucket *b = find_bucket(bytes, 1);
  if (!b) { /* table full: give the buffer back to the system */
    free(ptr);
    return;
  }
  *(void **)ptr = b->head;
  b->head = ptr;
  stats.cached_bytes += bytes;
}

void *hg_pool_alloc(size_t bytes) {
  pthread_mutex_lock(&lock);
  void *p = pool_alloc(bytes);
  pthread_mutex_unlock(&lock);
  return p;
}

void hg_pool_free(void *ptr, size_t bytes) {
  pthread_mutex_lock(&lock);
  pool_free(ptr, bytes);
  pthread_mutex_unlock(&lock);
}

void hg_pool_trim(void) {
  pthread_mutex_lock(&lock);
  pool_trim();
  pthread_mutex_unlock(&lock);
}

hg_pool_stats hg_pool_get_stats(void) {
  pthread_mutex_lock(&lock);
  hg_pool_stats s = stats;
  pthread_mutex_unlock(&lock);
  return s;
}
