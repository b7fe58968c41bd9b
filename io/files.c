#include "io/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void release(hg_atomic_file *a) {
  free(a->path);
  free(a->tmp);
  *a = (hg_atomic_file){0};
}

hg_status hg_atomic_open(hg_atomic_file *a, const char *path, const char *who) {
  *a = (hg_atomic_file){0};
  size_t len = strlen(path);
  a->path = strdup(path);
  a->tmp = malloc(len + 5);
  if (!a->path || !a->tmp) {
    release(a);
    return hg_fail(HG_ERR_NOMEM, "%s: out of memory writing %s", who, path);
  }
  memcpy(a->tmp, path, len);
  memcpy(a->tmp + len, ".tmp", 5);
  a->f = fopen(a->tmp, "wb");
  if (a->f) return HG_OK;
  hg_status s = hg_fail(HG_ERR_IO, "%s: cannot create %s: %s", who, a->tmp, strerror(errno));
  release(a); /* PATH.tmp is not ours: leave whatever is there */
  return s;
}

/* Best effort: make the rename durable by syncing the containing folder. */
static void sync_parent(const char *path) {
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* Flush, sync, close and rename; the reason of the first failure in err. */
static bool finish(hg_atomic_file *a, const char **err) {
  bool ok = fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
  ok = fclose(a->f) == 0 && ok;
  a->f = NULL;
  ok = ok && rename(a->tmp, a->path) == 0;
  if (!ok) *err = strerror(errno);
  return ok;
}

hg_status hg_atomic_commit(hg_atomic_file *a, hg_status written, const char *who) {
  hg_status s = written;
  const char *err = "";
  if (s == HG_OK && !finish(a, &err)) s = hg_fail(HG_ERR_IO, "%s: cannot write %s: %s", who, a->path, err);
  if (a->f) fclose(a->f);
  if (s == HG_OK) sync_parent(a->path);
  else remove(a->tmp);
  release(a);
  return s;
}

static hg_status make_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0 || errno == EEXIST) return HG_OK;
  return hg_fail(HG_ERR_IO, "cannot create directory %s: %s", dir, strerror(errno));
}

hg_status hg_make_dirs(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return hg_fail(HG_ERR_ARG, "make_dirs: path too long: %s", path);
  hg_status s = HG_OK;
  for (char *p = buf + 1; *p && s == HG_OK; p++)
    if (*p == '/') {
      *p = '\0';
      s = make_dir(buf);
      *p = '/';
    }
  return s == HG_OK ? make_dir(buf) : s;
}
