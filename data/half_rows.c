#define _GNU_SOURCE
#include "data/half_rows.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef __F16C__
#include <immintrin.h>
#endif

struct hg_half_rows {
  int fd, n;
  size_t width;
  char dir[256];
};

uint16_t hg_float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u, mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) return (uint16_t)(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u : 0)); /* inf, nan */
  if (mag >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: inf */
  if (mag < 0x38800000u) { /* a subnormal half (or 0): in units of 2^-24 */
    if (mag < 0x33000000u) return (uint16_t)sign;           /* below half of 2^-24 */
    uint32_t m = (mag & 0x7fffffu) | 0x800000u, shift = 126 - (mag >> 23); /* 14..24 */
    uint32_t h = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
    h += rest > half || (rest == half && (h & 1));
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((mag >> 13) - (112u << 10)), rest = mag & 0x1fffu; /* rebias 127 → 15 */
  h += rest > 0x1000u || (rest == 0x1000u && (h & 1));
  return (uint16_t)(sign | h);
}

float hg_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu, x;
  if (e == 0x1f) x = sign | 0x7f800000u | (m << 13);
  else if (e) x = sign | ((e + 112) << 23) | (m << 13);
  else if (!m) x = sign;
  else { /* subnormal: m·2^-24 */
    float v = (float)m * 0x1p-24f;
    memcpy(&x, &v, 4);
    x |= sign;
  }
  float f;
  memcpy(&f, &x, 4);
  return f;
}

static void to_half(const float *in, uint16_t *out, size_t n) {
  size_t i = 0;
#ifdef __F16C__
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(out + i), _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT));
#endif
  for (; i < n; i++) out[i] = hg_float_to_half(in[i]);
}

/* out[i] = in[i]; in may lie in out's upper half (in = out's bytes 2n on):
 * value i is written to bytes [4i, 4i + 4) after the values up to i + 7
 * are read from [2n + 2i, …), so no value is overwritten before it is read. */
static void from_half(const uint16_t *in, float *out, size_t n) {
  size_t i = 0;
#ifdef __F16C__
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(in + i))));
#endif
  for (; i < n; i++) out[i] = hg_half_to_float(in[i]);
}

hg_half_rows *hg_half_rows_new(const char *dir, int n, size_t width) {
  if (n < 1 || width < 1) {
    hg_fail(HG_ERR_ARG, "half rows: %d rows of %zu values", n, width);
    return NULL;
  }
  hg_half_rows *r = calloc(1, sizeof *r);
  if (!r) {
    hg_fail(HG_ERR_NOMEM, "half rows: out of memory");
    return NULL;
  }
  char path[300];
  snprintf(r->dir, sizeof r->dir, "%s", dir);
  snprintf(path, sizeof path, "%s/hebbgrad-rows-XXXXXX", dir);
  r->fd = mkstemp(path);
  if (r->fd < 0) {
    hg_fail(HG_ERR_IO, "half rows: cannot create a file in %s: %s", dir, strerror(errno));
    free(r);
    return NULL;
  }
  unlink(path); /* gone with the descriptor, also after a crash */
  r->n = n;
  r->width = width;
  return r;
}

hg_status hg_half_rows_write(hg_half_rows *r, int first, int count, const float *values) {
  if (first < 0 || count < 0 || first + count > r->n)
    return hg_fail(HG_ERR_ARG, "half rows: rows [%d, %d) of %d", first, first + count, r->n);
  size_t n = (size_t)count * r->width;
  uint16_t *buf = malloc(n * sizeof *buf);
  if (!buf) return hg_fail(HG_ERR_NOMEM, "half rows: out of memory");
  to_half(values, buf, n);
  off_t at = (off_t)first * (off_t)r->width * 2;
  size_t done = 0;
  while (done < n * 2) {
    ssize_t w = pwrite(r->fd, (const char *)buf + done, n * 2 - done, at + (off_t)done);
    if (w <= 0) {
      free(buf);
      return hg_fail(HG_ERR_IO, "half rows: cannot write to the temporary file in %s: %s", r->dir,
                     w < 0 ? strerror(errno) : "disk full?");
    }
    done += (size_t)w;
  }
  free(buf);
  return HG_OK;
}

/* Row i into out: its float16 bytes read into out's upper half, then widened in place. */
static bool read_row(const hg_half_rows *r, int i, float *out) {
  size_t bytes = r->width * 2;
  uint16_t *raw = (uint16_t *)((char *)out + bytes);
  if (pread(r->fd, raw, bytes, (off_t)i * (off_t)bytes) != (ssize_t)bytes) return false;
  from_half(raw, out, r->width);
  return true;
}

hg_status hg_half_rows_read(const hg_half_rows *r, const int *rows, int count, float *out) {
  for (int k = 0; k < count; k++)
    if (rows[k] < 0 || rows[k] >= r->n) return hg_fail(HG_ERR_ARG, "half rows: row %d of %d", rows[k], r->n);
  int bad = -1;
#pragma omp parallel for schedule(static) if ((size_t)count * r->width >= 65536)
  for (int k = 0; k < count; k++)
    if (!read_row(r, rows[k], out + (size_t)k * r->width)) {
#pragma omp atomic write
      bad = rows[k];
    }
  if (bad >= 0) return hg_fail(HG_ERR_IO, "half rows: cannot read row %d from the temporary file in %s", bad, r->dir);
  return HG_OK;
}

void hg_half_rows_free(hg_half_rows *r) {
  if (!r) return;
  close(r->fd);
  free(r);
}
