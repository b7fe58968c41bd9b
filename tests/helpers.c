#define _XOPEN_SOURCE 700
#include "tests/helpers.h"

#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

hg_tensor *hgt_ok(hg_tensor *t) {
  if (!t) fail_msg("library error: %s", hg_last_error());
  return t;
}

void hgt_status(hg_status status) {
  if (status != HG_OK) fail_msg("status %s: %s", hg_status_name(status), hg_last_error());
}

hg_tensor *hgt_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed) {
  hg_rng rng;
  hg_rng_seed(&rng, seed, 0);
  return hgt_ok(hg_tensor_uniform(ndim, shape, lo, hi, &rng));
}

void hgt_close(const float *a, const float *b, size_t n, float rtol, float atol) {
  for (size_t i = 0; i < n; i++) {
    float d = fabsf(a[i] - b[i]);
    if (!(d <= atol + rtol * fabsf(b[i])))
      fail_msg("element %zu: got %.7g, expected %.7g (diff %.3g)", i, a[i], b[i], d);
  }
}

const char *hgt_shared_dir(void) {
  const char *s = getenv("HG_SHARED");
  return s ? s : "../shared";
}

int hgt_tmpdir(char *buf, size_t size, const char *prefix) {
  snprintf(buf, size, "/tmp/%s_XXXXXX", prefix);
  return mkdtemp(buf) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

int hgt_rmtree(const char *path) { return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS); }

const char *hgt_path(const char *dir, const char *name, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", dir, name);
  return buf;
}

void hgt_error_mentions(const char *a, const char *b) {
  const char *msg = hg_last_error();
  if (!strstr(msg, a) || (b && !strstr(msg, b)))
    fail_msg("error \"%s\" does not mention \"%s\" and \"%s\"", msg, a, b ? b : "");
}

char *hgt_read_all(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
  size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
  fclose(f);
  if (buf) buf[got] = '\0';
  return buf;
}
