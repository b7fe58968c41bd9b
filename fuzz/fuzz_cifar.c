/* The CIFAR reader on any bytes: they are a folder's test_batch.bin (CIFAR-10)
 * and test.bin (CIFAR-100), read with any record count. The folder is in
 * /dev/shm (memory) when there is one, else in /tmp. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hebbgrad.h"

static char dir[64];

static void write_as(const char *name, const uint8_t *data, size_t size) {
  char path[96];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  fwrite(data, 1, size, f);
  fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "%s/hg_fuzz_cifar_XXXXXX", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(dir)) abort();
  }
  write_as("test_batch.bin", data, size);
  write_as("test.bin", data, size);
  hg_dataset_free(hg_dataset_load_cifar(dir, false, false, 0));
  hg_dataset_free(hg_dataset_load_cifar(dir, true, false, 0));
  return 0;
}
