/* Reading safetensors checkpoints: the header is parsed and validated once on
 * open (lengths, JSON, dtypes, shapes, offsets), tensor data read on demand. */
#define _POSIX_C_SOURCE 200809L
#include "io/checkpoint.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/types.h>

#define MAX_HEADER_BYTES (100u << 20) /* the limit of the reference implementation */

struct hg_checkpoint {
  char *path;
  FILE *file;
  uint64_t data_start; /* file offset of the data section */
  uint64_t data_size;
  int count;
  hg_checkpoint_entry *entries;
  json_object *root;   /* parsed header; owns the metadata strings */
  json_object *meta;   /* "__metadata__" or NULL */
};

static size_t dtype_size(const char *dtype) {
  static const struct { const char *name; size_t size; } sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},    {"I32", 4},     {"I16", 2},
      {"I8", 1},  {"U64", 8}, {"U32", 4}, {"U16", 2},  {"U8", 1},     {"BOOL", 1},    {"F8_E4M3", 1},
      {"F8_E5M2", 1}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (strcmp(dtype, sizes[i].name) == 0) return sizes[i].size;
  return 0;
}

static const char *shape_text(int ndim, const int64_t *shape, char *buf, size_t size) {
  size_t used = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < ndim && used < size; d++)
    used += (size_t)snprintf(buf + used, size - used, d ? ",%lld" : "%lld", (long long)shape[d]);
  if (used < size) snprintf(buf + used, size - used, "]");
  return buf;
}

static int json_uint(json_object *v, uint64_t *out) {
  if (!json_object_is_type(v, json_type_int)) return 0;
  int64_t x = json_object_get_int64(v);
  if (x < 0) return 0;
  *out = (uint64_t)x;
  return 1;
}

static hg_status parse_shape(hg_checkpoint *ck, const char *name, json_object *shape,
                             hg_checkpoint_entry *e, uint64_t *numel) {
  if (!json_object_is_type(shape, json_type_array))
    return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' has no shape array", ck->path, name);
  size_t nd = json_object_array_length(shape);
  if (nd > HG_CHECKPOINT_MAX_DIMS)
    return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' has %zu dimensions (at most %d)",
                   ck->path, name, nd, HG_CHECKPOINT_MAX_DIMS);
  e->ndim = (int)nd;
  *numel = 1;
  for (size_t d = 0; d < nd; d++) {
    uint64_t dim;
    if (!json_uint(json_object_array_get_idx(shape, d), &dim) || dim > (uint64_t)INT64_MAX / 16)
      return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' has a bad shape entry", ck->path, name);
    e->shape[d] = (int64_t)dim;
    *numel = dim && *numel > UINT64_MAX / dim ? UINT64_MAX : *numel * dim;
  }
  return HG_OK;
}

static hg_status parse_offsets(hg_checkpoint *ck, const char *name, json_object *offs,
                               hg_checkpoint_entry *e) {
  if (!json_object_is_type(offs, json_type_array) || json_object_array_length(offs) != 2 ||
      !json_uint(json_object_array_get_idx(offs, 0), &e->begin) ||
      !json_uint(json_object_array_get_idx(offs, 1), &e->end) || e->begin > e->end)
    return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' has bad data_offsets", ck->path, name);
  if (e->end > ck->data_size)
    return hg_fail(HG_ERR_IO,
                   "checkpoint %s: tensor '%s' data_offsets [%llu,%llu] run past the %llu data "
                   "bytes of the file (truncated?)",
                   ck->path, name, (unsigned long long)e->begin, (unsigned long long)e->end,
                   (unsigned long long)ck->data_size);
  return HG_OK;
}

static hg_status parse_entry(hg_checkpoint *ck, const char *name, json_object *v,
                             hg_checkpoint_entry *e) {
  json_object *dtype, *shape, *offs;
  if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "dtype", &dtype) ||
      !json_object_is_type(dtype, json_type_string) || !json_object_object_get_ex(v, "shape", &shape) ||
      !json_object_object_get_ex(v, "data_offsets", &offs))
    return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' lacks dtype, shape or data_offsets",
                   ck->path, name);
  snprintf(e->dtype, sizeof e->dtype, "%s", json_object_get_string(dtype));
  uint64_t numel = 0;
  hg_status st = parse_shape(ck, name, shape, e, &numel);
  if (st == HG_OK) st = parse_offsets(ck, name, offs, e);
  if (st != HG_OK) return st;
  size_t esize = dtype_size(e->dtype);
  if (esize && (numel > UINT64_MAX / esize || e->end - e->begin != numel * esize))
    return hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' (%s) spans %llu bytes, its shape needs %llu",
                   ck->path, name, e->dtype, (unsigned long long)(e->end - e->begin),
                   (unsigned long long)(numel * esize));
  e->name = strdup(name);
  if (!e->name) return hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", ck->path);
  return HG_OK;
}

static hg_status parse_metadata(hg_checkpoint *ck, json_object *v) {
  if (!json_object_is_type(v, json_type_object))
    return hg_fail(HG_ERR_IO, "checkpoint %s: __metadata__ is not an object", ck->path);
  json_object_object_foreach(v, key, val) {
    if (!json_object_is_type(val, json_type_string))
      return hg_fail(HG_ERR_IO, "checkpoint %s: metadata '%s' is not a string", ck->path, key);
  }
  ck->meta = v;
  return HG_OK;
}

static hg_status parse_entries(hg_checkpoint *ck) {
  int n = json_object_object_length(ck->root);
  ck->entries = calloc((size_t)(n > 0 ? n : 1), sizeof *ck->entries);
  if (!ck->entries) return hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", ck->path);
  json_object_object_foreach(ck->root, key, val) {
    hg_status st = strcmp(key, "__metadata__") == 0
                       ? parse_metadata(ck, val)
                       : parse_entry(ck, key, val, &ck->entries[ck->count]);
    if (st != HG_OK) return st;
    if (strcmp(key, "__metadata__") != 0) ck->count++;
  }
  return HG_OK;
}

static int by_begin(const void *a, const void *b) {
  uint64_t x = (*(const hg_checkpoint_entry *const *)a)->begin, y = (*(const hg_checkpoint_entry *const *)b)->begin;
  return (x > y) - (x < y);
}

/* No two tensors share bytes of the data section. */
static hg_status check_overlaps(hg_checkpoint *ck) {
  const hg_checkpoint_entry **order = malloc((size_t)(ck->count > 0 ? ck->count : 1) * sizeof *order);
  if (!order) return hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", ck->path);
  for (int i = 0; i < ck->count; i++) order[i] = &ck->entries[i];
  qsort(order, (size_t)ck->count, sizeof *order, by_begin);
  hg_status st = HG_OK;
  for (int i = 1; i < ck->count && st == HG_OK; i++)
    if (order[i]->begin < order[i - 1]->end)
      st = hg_fail(HG_ERR_IO, "checkpoint %s: tensors '%s' and '%s' overlap in the file (damaged?)", ck->path,
                   order[i - 1]->name, order[i]->name);
  free(order);
  return st;
}

static hg_status parse_header(hg_checkpoint *ck, const char *text, size_t len) {
  json_tokener *tok = json_tokener_new();
  if (!tok) return hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", ck->path);
  ck->root = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (!ck->root || jerr != json_tokener_success)
    return hg_fail(HG_ERR_IO, "checkpoint %s: header is not valid JSON (%s)", ck->path,
                   ck->root ? "trailing data" : json_tokener_error_desc(jerr));
  for (size_t i = used; i < len; i++)
    if (text[i] != ' ' && text[i] != '\n' && text[i] != '\t' && text[i] != '\r')
      return hg_fail(HG_ERR_IO, "checkpoint %s: garbage after the JSON header", ck->path);
  if (!json_object_is_type(ck->root, json_type_object))
    return hg_fail(HG_ERR_IO, "checkpoint %s: header is not a JSON object", ck->path);
  return parse_entries(ck);
}

static hg_status read_header(hg_checkpoint *ck) {
  unsigned char len8[8];
  if (fseeko(ck->file, 0, SEEK_END) != 0)
    return hg_fail(HG_ERR_IO, "checkpoint %s: cannot seek: %s", ck->path, strerror(errno));
  off_t size = ftello(ck->file);
  rewind(ck->file);
  if (size < 8 || fread(len8, 1, 8, ck->file) != 8)
    return hg_fail(HG_ERR_IO, "checkpoint %s: file too short (%lld bytes) for a header length",
                   ck->path, (long long)size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = hlen << 8 | len8[i];
  if (hlen < 2 || hlen > MAX_HEADER_BYTES || hlen > (uint64_t)size - 8)
    return hg_fail(HG_ERR_IO, "checkpoint %s: header length %llu does not fit a file of %lld bytes",
                   ck->path, (unsigned long long)hlen, (long long)size);
  ck->data_start = 8 + hlen;
  ck->data_size = (uint64_t)size - ck->data_start;
  char *text = malloc(hlen + 1);
  if (!text) return hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", ck->path);
  hg_status st = HG_OK;
  if (fread(text, 1, hlen, ck->file) != hlen)
    st = hg_fail(HG_ERR_IO, "checkpoint %s: cannot read the header", ck->path);
  text[hlen] = '\0';
  if (st == HG_OK) st = parse_header(ck, text, hlen);
  if (st == HG_OK) st = check_overlaps(ck);
  free(text);
  return st;
}

hg_checkpoint *hg_checkpoint_open(const char *path) {
  if (!path) {
    hg_fail(HG_ERR_ARG, "checkpoint: NULL path");
    return NULL;
  }
  hg_checkpoint *ck = calloc(1, sizeof *ck);
  if (ck) ck->path = strdup(path);
  if (!ck || !ck->path) {
    free(ck);
    hg_fail(HG_ERR_NOMEM, "checkpoint %s: out of memory", path);
    return NULL;
  }
  struct stat info;
  bool folder = stat(path, &info) == 0 && S_ISDIR(info.st_mode);
  ck->file = folder ? NULL : fopen(path, "rb");
  hg_status st = ck->file  ? read_header(ck)
                 : folder ? hg_fail(HG_ERR_IO, "checkpoint: %s is a directory, not a checkpoint", path)
                          : hg_fail(HG_ERR_IO, "checkpoint: cannot open %s: %s", path, strerror(errno));
  if (st != HG_OK) {
    hg_checkpoint_close(ck);
    return NULL;
  }
  return ck;
}

void hg_checkpoint_close(hg_checkpoint *ck) {
  if (!ck) return;
  if (ck->file) fclose(ck->file);
  for (int i = 0; ck->entries && i < ck->count; i++) free(ck->entries[i].name);
  free(ck->entries);
  json_object_put(ck->root);
  free(ck->path);
  free(ck);
}

int hg_checkpoint_count(const hg_checkpoint *ck) { return ck->count; }

const hg_checkpoint_entry *hg_checkpoint_entry_at(const hg_checkpoint *ck, int i) {
  return i >= 0 && i < ck->count ? &ck->entries[i] : NULL;
}

const hg_checkpoint_entry *hg_checkpoint_find(const hg_checkpoint *ck, const char *name) {
  for (int i = 0; i < ck->count; i++)
    if (strcmp(ck->entries[i].name, name) == 0) return &ck->entries[i];
  return NULL;
}

const char *hg_checkpoint_meta(const hg_checkpoint *ck, const char *key) {
  json_object *v;
  if (!ck->meta || !json_object_object_get_ex(ck->meta, key, &v)) return NULL;
  return json_object_get_string(v);
}

/* The F32 entry name whose shape equals dst's (dst may be NULL: no shape check). */
static const hg_checkpoint_entry *checked_entry(const hg_checkpoint *ck, const char *name,
                                                const hg_tensor *dst) {
  const hg_checkpoint_entry *e = hg_checkpoint_find(ck, name);
  char want[64], have[128];
  if (!e) {
    hg_fail(HG_ERR_IO, "checkpoint %s: no tensor '%s' (the file holds %d)", ck->path, name, ck->count);
    return NULL;
  }
  if (strcmp(e->dtype, "F32") != 0) {
    hg_fail(HG_ERR_IO, "checkpoint %s: tensor '%s' has dtype %s, expected F32", ck->path, name, e->dtype);
    return NULL;
  }
  int same = dst ? e->ndim == dst->ndim : e->ndim <= HG_MAX_DIMS;
  for (int d = 0; dst && same && d < e->ndim; d++) same = e->shape[d] == dst->shape[d];
  for (int d = 0; !dst && same && d < e->ndim; d++) same = e->shape[d] > 0 && e->shape[d] <= INT32_MAX;
  if (!same) {
    hg_fail(HG_ERR_SHAPE, "checkpoint %s: tensor '%s' has shape %s in the file, %s expected", ck->path,
            name, shape_text(e->ndim, e->shape, have, sizeof have),
            dst ? hg_shape_str(dst, want, sizeof want) : "at most 4 positive dimensions");
    return NULL;
  }
  return e;
}

static hg_status read_entry(hg_checkpoint *ck, const hg_checkpoint_entry *e, hg_tensor *dst) {
  size_t bytes = (size_t)(e->end - e->begin);
  if (fseeko(ck->file, (off_t)(ck->data_start + e->begin), SEEK_SET) != 0 ||
      fread(dst->data, 1, bytes, ck->file) != bytes)
    return hg_fail(HG_ERR_IO, "checkpoint %s: cannot read tensor '%s' (file truncated?)", ck->path,
                   e->name);
  size_t bad = hg_tensor_first_nonfinite(dst);
  if (bad < dst->numel)
    return hg_fail(HG_ERR_NUMERIC, "checkpoint %s: tensor '%s' holds %g at element %zu (damaged or a diverged run)",
                   ck->path, e->name, (double)dst->data[bad], bad);
  return HG_OK;
}

hg_status hg_checkpoint_read(hg_checkpoint *ck, const char *name, hg_tensor *dst) {
  const hg_checkpoint_entry *e = checked_entry(ck, name, dst);
  return e ? read_entry(ck, e, dst) : hg_last_status();
}

hg_tensor *hg_checkpoint_tensor(hg_checkpoint *ck, const char *name) {
  const hg_checkpoint_entry *e = checked_entry(ck, name, NULL);
  if (!e) return NULL;
  int shape[HG_MAX_DIMS];
  for (int d = 0; d < e->ndim; d++) shape[d] = (int)e->shape[d];
  hg_tensor *t = hg_tensor_empty(e->ndim, shape);
  if (t && read_entry(ck, e, t) != HG_OK) {
    hg_tensor_free(t);
    return NULL;
  }
  return t;
}

hg_status hg_checkpoint_load(const char *path, int n, const char *const *names,
                             hg_tensor *const *tensors) {
  if (n < 0 || (n > 0 && (!names || !tensors)))
    return hg_fail(HG_ERR_ARG, "checkpoint load %s: bad arguments", path ? path : "NULL");
  hg_checkpoint *ck = hg_checkpoint_open(path);
  if (!ck) return hg_last_status();
  hg_status st = HG_OK;
  /* Check every tensor before filling any, so a failure leaves them all untouched. */
  for (int i = 0; i < n && st == HG_OK; i++)
    if (!names[i] || !tensors[i] || !checked_entry(ck, names[i], tensors[i]))
      st = names[i] && tensors[i] ? hg_last_status()
                                  : hg_fail(HG_ERR_ARG, "checkpoint load %s: entry %d is NULL", path, i);
  for (int i = 0; i < n && st == HG_OK; i++)
    st = read_entry(ck, hg_checkpoint_find(ck, names[i]), tensors[i]);
  hg_checkpoint_close(ck);
  return st;
}

hg_status hg_checkpoint_read_meta(const char *path, const char *key, char *buf, size_t size) {
  hg_checkpoint *ck = hg_checkpoint_open(path);
  if (!ck) return hg_last_status();
  const char *v = hg_checkpoint_meta(ck, key);
  hg_status st = HG_OK;
  if (!v) st = hg_fail(HG_ERR_IO, "checkpoint %s: no metadata '%s'", path, key);
  else if (!buf || strlen(v) >= size)
    st = hg_fail(HG_ERR_ARG, "checkpoint %s: metadata '%s' needs %zu bytes, buffer has %zu", path, key,
                 strlen(v) + 1, size);
  else memcpy(buf, v, strlen(v) + 1);
  hg_checkpoint_close(ck);
  return st;
}
