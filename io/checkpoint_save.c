/* Writing safetensors checkpoints: header built with json-c, the file
 * written atomically (io/files.h). */
#define _POSIX_C_SOURCE 200809L
#include "io/checkpoint.h"
#include "io/files.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "checkpoint: safetensors data is little-endian; big-endian hosts are not supported"
#endif

static hg_status check_args(const char *path, int n, const char *const *names,
                            hg_tensor *const *tensors, int n_meta, const char *const *keys,
                            const char *const *values) {
  if (!path || n < 0 || n_meta < 0 || (n > 0 && (!names || !tensors)) ||
      (n_meta > 0 && (!keys || !values)))
    return hg_fail(HG_ERR_ARG, "checkpoint save: bad arguments (path %s, %d tensors, %d metadata)",
                   path ? path : "NULL", n, n_meta);
  for (int i = 0; i < n; i++) {
    if (!names[i] || !names[i][0] || !tensors[i] || !tensors[i]->data)
      return hg_fail(HG_ERR_ARG, "checkpoint %s: tensor %d has no name or no data", path, i);
    if (strcmp(names[i], "__metadata__") == 0)
      return hg_fail(HG_ERR_ARG, "checkpoint %s: '__metadata__' is reserved", path);
    for (int j = 0; j < i; j++)
      if (strcmp(names[i], names[j]) == 0)
        return hg_fail(HG_ERR_ARG, "checkpoint %s: tensor name '%s' used twice", path, names[i]);
  }
  for (int i = 0; i < n_meta; i++)
    if (!keys[i] || !values[i])
      return hg_fail(HG_ERR_ARG, "checkpoint %s: metadata entry %d is NULL", path, i);
  return HG_OK;
}

/* Append an integer to a JSON array; false when out of memory. */
static bool push_int(json_object *array, int64_t v) {
  json_object *x = json_object_new_int64(v);
  if (x && json_object_array_add(array, x) == 0) return true;
  json_object_put(x);
  return false;
}

/* Add key: value to a JSON object, taking value; false when out of memory. */
static bool put(json_object *obj, const char *key, json_object *value) {
  if (value && json_object_object_add(obj, key, value) == 0) return true;
  json_object_put(value);
  return false;
}

static json_object *tensor_json(const hg_tensor *t, uint64_t begin) {
  json_object *o = json_object_new_object();
  json_object *shape = json_object_new_array();
  json_object *offsets = json_object_new_array();
  bool ok = o && shape && offsets;
  for (int d = 0; ok && d < t->ndim; d++) ok = push_int(shape, t->shape[d]);
  ok = ok && push_int(offsets, (int64_t)begin) &&
       push_int(offsets, (int64_t)(begin + t->numel * sizeof(float)));
  ok = ok && put(o, "dtype", json_object_new_string("F32"));
  ok = ok && put(o, "shape", shape);
  shape = NULL;
  ok = ok && put(o, "data_offsets", offsets);
  offsets = NULL;
  if (ok) return o;
  json_object_put(o);
  json_object_put(shape);
  json_object_put(offsets);
  return NULL;
}

/* The JSON header text, padded with spaces to a multiple of 8 bytes. */
static char *build_header(const char *path, int n, const char *const *names,
                          hg_tensor *const *tensors, int n_meta, const char *const *keys,
                          const char *const *values, size_t *len) {
  json_object *root = json_object_new_object();
  json_object *meta = n_meta > 0 ? json_object_new_object() : NULL;
  bool bad = !root || (n_meta > 0 && !meta);
  for (int i = 0; i < n_meta && !bad; i++) bad = !put(meta, keys[i], json_object_new_string(values[i]));
  if (meta && !bad) bad = !put(root, "__metadata__", meta);
  else json_object_put(meta);
  uint64_t offset = 0;
  for (int i = 0; i < n && !bad; i++) {
    bad = !put(root, names[i], tensor_json(tensors[i], offset));
    offset += tensors[i]->numel * sizeof(float);
  }
  const char *text = bad ? NULL : json_object_to_json_string_ext(
                                      root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  size_t raw = text ? strlen(text) : 0;
  size_t padded = (raw + 7) / 8 * 8;
  char *out = text ? malloc(padded) : NULL;
  if (out) {
    memcpy(out, text, raw);
    memset(out + raw, ' ', padded - raw);
    *len = padded;
  } else {
    hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory building the header", path);
  }
  json_object_put(root);
  return out;
}

static int write_all(FILE *f, const void *data, size_t bytes) {
  return fwrite(data, 1, bytes, f) == bytes;
}

/* The safetensors layout: header length (u64 little-endian), header, data. */
static hg_status write_file(FILE *f, const char *path, const char *header, size_t hlen, int n,
                            hg_tensor *const *tensors) {
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  int ok = write_all(f, len8, 8) && write_all(f, header, hlen);
  for (int i = 0; i < n && ok; i++) ok = write_all(f, tensors[i]->data, tensors[i]->numel * sizeof(float));
  if (!ok) return hg_fail(HG_ERR_IO, "checkpoint: cannot write %s: %s", path, strerror(errno));
  return HG_OK;
}

hg_status hg_checkpoint_save(const char *path, int n, const char *const *names,
                             hg_tensor *const *tensors, int n_meta, const char *const *meta_keys,
                             const char *const *meta_values) {
  hg_status st = check_args(path, n, names, tensors, n_meta, meta_keys, meta_values);
  if (st != HG_OK) return st;
  size_t hlen = 0;
  char *header = build_header(path, n, names, tensors, n_meta, meta_keys, meta_values, &hlen);
  if (!header) return hg_last_status();
  hg_atomic_file a;
  st = hg_atomic_open(&a, path, "checkpoint");
  if (st == HG_OK) st = hg_atomic_commit(&a, write_file(a.f, path, header, hlen, n, tensors), "checkpoint");
  free(header);
  return st;
}
