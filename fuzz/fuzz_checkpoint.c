/* The safetensors reader on any bytes: open, every tensor read, the
 * metadata looked up, and a ZCA transform and a trainer's state loaded. */
#include "fuzz/fuzz_file.h"
#include "hebbgrad.h"

static void read_all(const char *path) {
  hg_checkpoint *ck = hg_checkpoint_open(path);
  if (!ck) return;
  for (int i = 0; i < hg_checkpoint_count(ck); i++)
    hg_tensor_free(hg_checkpoint_tensor(ck, hg_checkpoint_entry_at(ck, i)->name));
  (void)hg_checkpoint_meta(ck, "format");
  hg_checkpoint_close(ck);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[32];
  int fd = fuzz_file(data, size, path);
  if (fd < 0) return 0;
  read_all(path);
  hg_zca_free(hg_zca_load(path));
  close(fd);
  return 0;
}
