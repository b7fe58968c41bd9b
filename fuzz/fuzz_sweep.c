/* The sweep's files on any bytes: its cells (JSON lines) and its settings
 * (a JSON object compared with the run's). */
#include "fuzz/fuzz_file.h"
#include "hebbgrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[32];
  int fd = fuzz_file(data, size, path);
  if (fd < 0) return 0;
  hg_sweep_cells cells = {0};
  (void)hg_sweep_cells_read(path, &cells);
  hg_sweep_cells_free(&cells);
  const char *keys[] = {"data", "epochs"}, *values[] = {"mnist", "20"};
  (void)hg_sweep_settings_check(path, 2, keys, values);
  close(fd);
  return 0;
}
