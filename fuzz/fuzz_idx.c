/* The IDX reader on any bytes: the first two bytes say where the image file
 * ends and the label file begins (plain or gzip, as the bytes make it). */
#include "fuzz/fuzz_file.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>

#include "hebbgrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  size_t split = ((size_t)data[0] << 8 | data[1]) % (size - 1);
  char images[32], labels[32];
  int fi = fuzz_file(data + 2, split, images);
  int fl = fuzz_file(data + 2 + split, size - 2 - split, labels);
  if (fi >= 0 && fl >= 0) hg_dataset_free(hg_dataset_load_idx(images, labels));
  if (fi >= 0) close(fi);
  if (fl >= 0) close(fl);
  return 0;
}
