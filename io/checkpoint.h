/* Checkpoints in the safetensors format (huggingface.co/docs/safetensors):
 * an 8-byte little-endian header length, a JSON header
 *   {"__metadata__": {"key": "value", ...},
 *    "name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8 bytes, then the raw little-endian
 * tensor bytes. Files written here open in Python's `safetensors`.
 *
 * Saving writes `path.tmp`, fsyncs it and renames it over `path`, so an
 * existing file is never left half-written. */
#ifndef HG_CHECKPOINT_H
#define HG_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "tensor/tensor.h"

/* Most dimensions a stored tensor may have to be listed by hg_checkpoint_open. */
#define HG_CHECKPOINT_MAX_DIMS 8

/* One tensor listed in a checkpoint header. */
typedef struct hg_checkpoint_entry {
  char *name;
  char dtype[16];                    /* "F32", "F16", ... as written in the file */
  int ndim;
  int64_t shape[HG_CHECKPOINT_MAX_DIMS];
  uint64_t begin, end;               /* byte range inside the data section */
} hg_checkpoint_entry;

/* An opened checkpoint: the parsed header, read lazily. */
typedef struct hg_checkpoint hg_checkpoint;

/* Write n tensors (names unique) and n_meta string pairs atomically to path. */
hg_status hg_checkpoint_save(const char *path, int n, const char *const *names,
                             hg_tensor *const *tensors, int n_meta, const char *const *meta_keys,
                             const char *const *meta_values);
/* Fill each tensors[i] in place from the F32 tensor names[i]; shapes must match. */
hg_status hg_checkpoint_load(const char *path, int n, const char *const *names,
                             hg_tensor *const *tensors);
/* Copy the metadata value of key into buf (NUL-terminated, at most size bytes). */
hg_status hg_checkpoint_read_meta(const char *path, const char *key, char *buf, size_t size);

/* Open path and validate its header; NULL with an error set on failure. */
hg_checkpoint *hg_checkpoint_open(const char *path);
/* Number of tensors listed in the header. */
int hg_checkpoint_count(const hg_checkpoint *ck);
/* The i-th tensor of the header, in file order (0 <= i < count). */
const hg_checkpoint_entry *hg_checkpoint_entry_at(const hg_checkpoint *ck, int i);
/* The entry called name, or NULL (no error is recorded). */
const hg_checkpoint_entry *hg_checkpoint_find(const hg_checkpoint *ck, const char *name);
/* Metadata value of key, or NULL when absent; owned by ck. */
const char *hg_checkpoint_meta(const hg_checkpoint *ck, const char *key);
/* Read the F32 tensor name into dst, whose shape must equal the stored one. */
hg_status hg_checkpoint_read(hg_checkpoint *ck, const char *name, hg_tensor *dst);
/* New tensor holding the F32 tensor name (at most 4 dimensions). */
hg_tensor *hg_checkpoint_tensor(hg_checkpoint *ck, const char *name);
/* Close the file and free the header. NULL is allowed. */
void hg_checkpoint_close(hg_checkpoint *ck);

#endif
