#include "tensor/kernel_cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/alloc.h"

#define CACHE_SLOTS 64

static hg_kernel cache[CACHE_SLOTS];
static dnnl_engine_t engine;
static dnnl_stream_t stream;
/* A buffer that grows to the largest request made of it; a smaller old one
 * goes back to the system, so only the largest is ever held. */
typedef struct grow_buf {
  void *data;
  size_t size;
} grow_buf;
static grow_buf scratch, workspace; /* oneDNN's scratchpad; the layout copies of a call */
static long builds, clock_ticks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER; /* one kernel user at a time */

void hg_kernel_lock(void) { pthread_mutex_lock(&lock); }
void hg_kernel_unlock(void) { pthread_mutex_unlock(&lock); }

hg_status hg_kernel_fail(dnnl_status_t status, const char *op, const char *what) {
  return hg_fail(HG_ERR_BACKEND, "%s: oneDNN %s failed (status %d)", op, what, (int)status);
}

dnnl_engine_t hg_kernel_engine(void) {
  if (engine) return engine;
  dnnl_status_t st = dnnl_engine_create(&engine, dnnl_cpu, 0);
  if (st != dnnl_success) {
    engine = NULL;
    hg_kernel_fail(st, "kernels", "engine creation");
  }
  return engine;
}

static dnnl_stream_t kernel_stream(void) {
  if (stream || !hg_kernel_engine()) return stream;
  dnnl_status_t st = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags);
  if (st != dnnl_success) {
    stream = NULL;
    hg_kernel_fail(st, "kernels", "stream creation");
  }
  return stream;
}

dnnl_primitive_attr_t hg_kernel_attr(void) {
  dnnl_primitive_attr_t attr = NULL;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  if (dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success) {
    dnnl_primitive_attr_destroy(attr);
    return NULL;
  }
  return attr;
}

dnnl_memory_desc_t hg_kernel_md4(int a, int b, int c, int d, dnnl_format_tag_t tag) {
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = {a, b, c, d};
  if (dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, tag) != dnnl_success)
    memset(&md, 0, sizeof md);
  return md;
}

dnnl_memory_desc_t hg_kernel_md1(int n) {
  dnnl_memory_desc_t md;
  dnnl_dims_t dims = {n};
  if (dnnl_memory_desc_init_by_tag(&md, 1, dims, dnnl_f32, dnnl_x) != dnnl_success)
    memset(&md, 0, sizeof md);
  return md;
}

void hg_kernel_add(float *dst, const float *src, size_t n) {
#pragma omp parallel for simd if (n > 65536)
  for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

hg_kernel *hg_kernel_find(const int key[HG_KERNEL_KEY_INTS]) {
  for (int i = 0; i < CACHE_SLOTS; i++) {
    hg_kernel *k = &cache[i];
    if (k->primitive && memcmp(k->key, key, sizeof k->key) == 0) {
      k->last_use = ++clock_ticks;
      return k;
    }
  }
  return NULL;
}

static void kernel_destroy(hg_kernel *k) {
  for (int i = 0; i < k->nargs; i++) dnnl_memory_destroy(k->args[i].memory);
  if (k->primitive) dnnl_primitive_destroy(k->primitive);
  memset(k, 0, sizeof *k);
}

/* An empty slot, or the least recently used one emptied. */
static hg_kernel *free_slot(void) {
  hg_kernel *oldest = &cache[0];
  for (int i = 0; i < CACHE_SLOTS; i++) {
    if (!cache[i].primitive) return &cache[i];
    if (cache[i].last_use < oldest->last_use) oldest = &cache[i];
  }
  kernel_destroy(oldest);
  return oldest;
}

static size_t md_bytes(const_dnnl_primitive_desc_t pd, dnnl_query_t what) {
  const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, what, 0);
  return md ? dnnl_memory_desc_get_size(md) : 0;
}

static void report_impl(const_dnnl_primitive_desc_t pd, const char *op, const int *key) {
  if (!getenv("HG_VERBOSE")) return;
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success) impl = "?";
  fprintf(stderr, "hebbgrad: %s [", op);
  for (int i = 2; i < 2 + key[1] && i < HG_KERNEL_KEY_INTS; i++)
    fprintf(stderr, i > 2 ? ",%d" : "%d", key[i]);
  fprintf(stderr, "]: %s\n", impl);
}

static hg_status make_args(hg_kernel *k, const_dnnl_primitive_desc_t pd, int nargs,
                           const int *arg_ids, const char *op) {
  for (int i = 0; i < nargs; i++) {
    const dnnl_memory_desc_t *md =
        dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, arg_ids[i]);
    dnnl_status_t st = md ? dnnl_memory_create(&k->args[i].memory, md, engine, DNNL_MEMORY_NONE)
                          : dnnl_invalid_arguments;
    if (st != dnnl_success) return hg_kernel_fail(st, op, "memory creation");
    k->args[i].arg = arg_ids[i];
    k->nargs = i + 1;
  }
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  if (!smd || dnnl_memory_desc_get_size(smd) == 0) return HG_OK;
  dnnl_status_t st = dnnl_memory_create(&k->args[nargs].memory, smd, engine, DNNL_MEMORY_NONE);
  if (st != dnnl_success) return hg_kernel_fail(st, op, "scratchpad memory creation");
  k->args[nargs].arg = DNNL_ARG_SCRATCHPAD;
  k->nargs = nargs + 1;
  return HG_OK;
}

hg_kernel *hg_kernel_build(const int key[HG_KERNEL_KEY_INTS], const_dnnl_primitive_desc_t pd,
                           int nargs, const int *arg_ids, const char *op) {
  HG_ASSERT(nargs <= HG_KERNEL_MAX_ARGS);
  if (!kernel_stream()) return NULL;
  hg_kernel *k = free_slot();
  dnnl_status_t st = dnnl_primitive_create(&k->primitive, pd);
  if (st != dnnl_success) {
    k->primitive = NULL;
    hg_kernel_fail(st, op, "primitive creation");
    return NULL;
  }
  if (make_args(k, pd, nargs, arg_ids, op) != HG_OK) {
    kernel_destroy(k);
    return NULL;
  }
  memcpy(k->key, key, sizeof k->key);
  k->n_user = nargs;
  k->scratch_bytes = md_bytes(pd, dnnl_query_scratchpad_md);
  k->last_use = ++clock_ticks;
  builds++;
  report_impl(pd, op, key);
  return k;
}

static void *grow(grow_buf *b, size_t bytes, const char *what) {
  if (bytes <= b->size && b->data) return b->data;
  size_t size = (bytes + 63) / 64 * 64;
  void *p = aligned_alloc(64, size ? size : 64);
  if (!p) {
    hg_fail(HG_ERR_NOMEM, "kernels: out of memory growing the %s to %zu bytes", what, size);
    return NULL;
  }
  free(b->data);
  *b = (grow_buf){p, size};
  return p;
}

static void grow_release(grow_buf *b) {
  free(b->data);
  *b = (grow_buf){NULL, 0};
}

void *hg_kernel_workspace(size_t bytes) { return grow(&workspace, bytes, "layout workspace"); }

hg_status hg_kernel_run(hg_kernel *k, void *const *data, const char *op) {
  if (k->nargs > k->n_user && !grow(&scratch, k->scratch_bytes, "scratchpad")) return HG_ERR_NOMEM;
  for (int i = 0; i < k->n_user; i++) dnnl_memory_set_data_handle(k->args[i].memory, data[i]);
  if (k->nargs > k->n_user) dnnl_memory_set_data_handle(k->args[k->n_user].memory, scratch.data);
  dnnl_status_t st = dnnl_primitive_execute(k->primitive, stream, k->nargs, k->args);
  if (st == dnnl_success) st = dnnl_stream_wait(stream);
  return st == dnnl_success ? HG_OK : hg_kernel_fail(st, op, "execution");
}

void hg_kernels_release(void) {
  hg_kernel_lock();
  for (int i = 0; i < CACHE_SLOTS; i++) kernel_destroy(&cache[i]);
  grow_release(&scratch);
  grow_release(&workspace);
  if (stream) dnnl_stream_destroy(stream);
  if (engine) dnnl_engine_destroy(engine);
  stream = NULL;
  engine = NULL;
  hg_kernel_unlock();
}

long hg_kernel_cache_builds(void) {
  hg_kernel_lock();
  long n = builds;
  hg_kernel_unlock();
  return n;
}
