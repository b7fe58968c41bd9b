#include "tensor/alloc.h"

#include <pthread.h>
#include <stdlib.h>

#include "tensor/error.h"

/* stats.cached_bytes is derived when read: held − in_use. */
static hg_pool_stats stats;
static size_t in_use; /* bytes handed out and not yet given back */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */

static size_t round_up(size_t bytes) { return (bytes + 63) / 64 * 64; }

static void held_add(size_t bytes) {
  stats.held_bytes += bytes;
  if (stats.held_bytes > stats.peak_held_bytes) stats.peak_held_bytes = stats.held_bytes;
}

/* ---------- small buffers: free lists keyed by exact size ---------- */

/* An open-addressing table of sizes; each cached buffer stores the link to
 * the next one of the same size in its first bytes. */
#define POOL_SLOTS 1024

typedef struct bucket {
  size_t bytes;
  void *head;
} bucket;

static bucket table[POOL_SLOTS];

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

static void *small_alloc(size_t bytes) {
  bucket *b = find_bucket(bytes, 0);
  if (b && b->head) {
    void *p = b->head;
    b->head = *(void **)p;
    stats.reuses++;
    return p;
  }
  void *p = aligned_alloc(64, bytes);
  if (!p) return NULL;
  stats.system_allocs++;
  held_add(bytes);
  return p;
}

static void small_free(void *ptr, size_t bytes) {
  bucket *b = find_bucket(bytes, 1);
  if (!b) { /* table full: give the buffer back to the system */
    free(ptr);
    stats.held_bytes -= bytes;
    return;
  }
  *(void **)ptr = b->head;
  b->head = ptr;
}

static void small_trim(void) {
  for (size_t i = 0; i < POOL_SLOTS; i++) {
    while (table[i].head) {
      void *p = table[i].head;
      table[i].head = *(void **)p;
      free(p);
      stats.held_bytes -= table[i].bytes;
    }
    table[i].bytes = 0;
  }
}

/* ---------- large buffers: best fit in a few regions ---------- */

/* A large buffer is carved from a region, the smallest free block that
 * holds it first; a freed block merges with its free neighbours, so memory
 * freed by buffers of one size serves buffers of another (an exact-size
 * cache would keep the largest count of every size at once). A region's
 * bytes past `top` have never been handed out (the system has not mapped
 * them yet); `touched` is the most top has been. */
#define LARGE_MIN ((size_t)256 << 10)
#define REGION_MIN ((size_t)64 << 20)

typedef struct free_block { /* lives in the free memory it describes */
  size_t bytes;
  struct free_block *next;
} free_block;

typedef struct region { /* lives in the region's first 64 bytes (not counted as held) */
  char *base;
  size_t size, top, touched;
  free_block *free; /* free blocks below top, by address; none ends at top */
  struct region *next;
} region;

static region *regions;

/* Hand out bytes at the start of *link's block, the rest stays free. */
static void *take_block(free_block **link, size_t bytes) {
  free_block *b = *link;
  if (b->bytes == bytes) {
    *link = b->next;
  } else {
    free_block *rest = (free_block *)((char *)b + bytes);
    *rest = (free_block){b->bytes - bytes, b->next};
    *link = rest;
  }
  return b;
}

static void *bump(region *r, size_t bytes) {
  char *p = r->base + r->top;
  r->top += bytes;
  if (r->top > r->touched) {
    held_add(r->top - r->touched);
    r->touched = r->top;
  }
  return p;
}

/* A region for at least `bytes`: twice the largest so far (at least
 * REGION_MIN), or just `bytes` when the system has no more. */
static region *new_region(size_t bytes) {
  size_t size = bytes > REGION_MIN ? bytes : REGION_MIN;
  for (region *r = regions; r; r = r->next)
    if (size < 2 * r->size) size = 2 * r->size;
  region *r = aligned_alloc(64, 64 + size);
  if (!r && size > bytes) r = aligned_alloc(64, 64 + (size = bytes));
  if (!r) return NULL;
  *r = (region){.base = (char *)r + 64, .size = size, .next = regions};
  regions = r;
  stats.system_allocs++;
  return r;
}

static void *large_alloc(size_t bytes) {
  free_block **best = NULL;
  for (region *r = regions; r; r = r->next)
    for (free_block **link = &r->free; *link; link = &(*link)->next)
      if ((*link)->bytes >= bytes && (!best || (*link)->bytes < (*best)->bytes)) best = link;
  if (best) {
    stats.reuses++;
    return take_block(best, bytes);
  }
  for (region *r = regions; r; r = r->next)
    if (r->size - r->top >= bytes) {
      stats.reuses++;
      return bump(r, bytes);
    }
  region *r = new_region(bytes);
  return r ? bump(r, bytes) : NULL;
}

static region *region_of(const char *p) {
  region *r = regions;
  while (r && !(p >= r->base && p < r->base + r->size)) r = r->next;
  return r;
}

/* Put b back on r's list by address, merged with the blocks it touches;
 * a block that reaches top lowers it instead. */
static void large_free(void *ptr, size_t bytes) {
  region *r = region_of(ptr);
  HG_ASSERT(r != NULL);
  free_block *prev = NULL, **link = &r->free;
  while (*link && (char *)*link < (char *)ptr) {
    prev = *link;
    link = &(*link)->next;
  }
  free_block *b = ptr;
  *b = (free_block){bytes, *link};
  *link = b;
  if (b->next && (char *)b + b->bytes == (char *)b->next) {
    b->bytes += b->next->bytes;
    b->next = b->next->next;
  }
  if (prev && (char *)prev + prev->bytes == (char *)b) {
    prev->bytes += b->bytes;
    prev->next = b->next;
    b = prev;
  }
  if ((char *)b + b->bytes != r->base + r->top) return;
  r->top -= b->bytes; /* the tail block: now the region's untouched-looking end */
  for (link = &r->free; *link != b; link = &(*link)->next) continue;
  *link = NULL;
}

/* Regions with nothing handed out go back to the system. */
static void large_trim(void) {
  for (region **link = &regions; *link;) {
    region *r = *link;
    if (r->top > 0) {
      link = &r->next;
      continue;
    }
    *link = r->next;
    stats.held_bytes -= r->touched;
    free(r);
  }
}

/* ---------- the public calls ---------- */

static void pool_trim(void) {
  small_trim();
  large_trim();
}

static void *pool_alloc(size_t bytes) {
  bytes = round_up(bytes ? bytes : 64);
#ifdef HG_NO_POOL /* sanitizer builds: every buffer from the system, so reuse hides nothing */
  void *direct = aligned_alloc(64, bytes);
  if (!direct) hg_fail(HG_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  if (direct) stats.system_allocs++;
  return direct;
#endif
  void *(*alloc)(size_t) = bytes >= LARGE_MIN ? large_alloc : small_alloc;
  void *p = alloc(bytes);
  if (!p) {
    pool_trim();
    p = alloc(bytes);
  }
  if (!p) hg_fail(HG_ERR_NOMEM, "out of memory allocating %zu bytes", bytes);
  else in_use += bytes;
  return p;
}

static void pool_free(void *ptr, size_t bytes) {
  if (!ptr) return;
#ifdef HG_NO_POOL
  free(ptr);
  return;
#endif
  bytes = round_up(bytes ? bytes : 64);
  in_use -= bytes;
  if (bytes >= LARGE_MIN) large_free(ptr, bytes);
  else small_free(ptr, bytes);
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
  s.cached_bytes = s.held_bytes - in_use;
  pthread_mutex_unlock(&lock);
  return s;
}
