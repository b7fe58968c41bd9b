/* Shared oneDNN state of the primitive-based kernels (convolution): one CPU
 * engine and stream (created on first use), one scratchpad buffer and one
 * workspace for layout copies, each grown to the largest need, and a small table of primitives keyed by
 * (kind, shape), each with its memory objects created once. A kernel call
 * only swaps data pointers and executes. The cache, stream and scratchpad
 * are shared by all threads: a kernel file holds hg_kernel_lock() from
 * hg_kernel_find until hg_kernel_run returns (oneDNN parallelises inside).
 *
 * Set HG_VERBOSE in the environment to print each primitive's oneDNN
 * implementation (e.g. "jit:avx512_core") to stderr when it is built. */
#ifndef HG_KERNEL_CACHE_H
#define HG_KERNEL_CACHE_H

#include <stddef.h>

#include <oneapi/dnnl/dnnl.h>

#include "tensor/error.h"

#include "tensor/kstats.h"

/* --- private: for the kernel files (tensor/conv.c); users see tensor/kstats.h --- */

#define HG_KERNEL_KEY_INTS 16
#define HG_KERNEL_MAX_ARGS 6

typedef struct hg_kernel {
  int key[HG_KERNEL_KEY_INTS];   /* kind, count of shape ints, the shape ints, zeros */
  dnnl_primitive_t primitive;
  int n_user;                    /* arguments the caller passes, in arg_ids order */
  int nargs;                     /* n_user, plus the scratchpad when one is needed */
  dnnl_exec_arg_t args[HG_KERNEL_MAX_ARGS + 1];
  size_t scratch_bytes;
  long last_use;
} hg_kernel;

/* Take and give back the cache (and its scratchpad) for one kernel call. */
void hg_kernel_lock(void);
void hg_kernel_unlock(void);
/* The cached kernel for this key, or NULL. */
hg_kernel *hg_kernel_find(const int key[HG_KERNEL_KEY_INTS]);
/* Build a primitive from pd (the caller still owns pd) with one memory object
 * per argument id, cache it under key (evicting the least recently used when
 * the table is full) and return it; NULL with an error naming `op` on failure. */
hg_kernel *hg_kernel_build(const int key[HG_KERNEL_KEY_INTS], const_dnnl_primitive_desc_t pd,
                           int nargs, const int *arg_ids, const char *op);
/* A buffer of at least `bytes` (64-byte aligned) for a call's copies of its
 * arguments in other layouts, valid until the caller gives back the lock;
 * one for all kernels, grown to the largest need. NULL with an error. */
void *hg_kernel_workspace(size_t bytes);
/* Point the arguments at `data` (in arg_ids order) and execute on the stream. */
hg_status hg_kernel_run(hg_kernel *k, void *const *data, const char *op);
/* The CPU engine, created on first use; NULL with an error on failure. */
dnnl_engine_t hg_kernel_engine(void);
/* Primitive attributes with a user-managed scratchpad (caller destroys). */
dnnl_primitive_attr_t hg_kernel_attr(void);
/* 4-D f32 memory descriptor of the given dims and tag (nchw, oihw). */
dnnl_memory_desc_t hg_kernel_md4(int a, int b, int c, int d, dnnl_format_tag_t tag);
/* 1-D f32 memory descriptor of n elements. */
dnnl_memory_desc_t hg_kernel_md1(int n);
/* Record a oneDNN failure: "<op>: oneDNN <what> failed (<status>)". */
hg_status hg_kernel_fail(dnnl_status_t status, const char *op, const char *what);
/* dst[i] += src[i] for i < n (the accumulate paths). */
void hg_kernel_add(float *dst, const float *src, size_t n);

#endif
