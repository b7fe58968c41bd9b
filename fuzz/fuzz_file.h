/* For the fuzz harnesses: the input as a file the readers can open by name.
 * A memfd is written and reached as /proc/self/fd/N: no disk, no clean-up. */
#ifndef HG_FUZZ_FILE_H
#define HG_FUZZ_FILE_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* fd of a new in-memory file holding data[0..size), its path in path[32]; -1 on failure. */
static inline int fuzz_file(const uint8_t *data, size_t size, char path[32]) {
  int fd = memfd_create("fuzz", 0);
  if (fd < 0) return -1;
  if (size && write(fd, data, size) != (ssize_t)size) {
    close(fd);
    return -1;
  }
  snprintf(path, 32, "/proc/self/fd/%d", fd);
  return fd;
}

#endif
