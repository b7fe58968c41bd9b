/* The plasticity spec parser ("RULE[/COMPETITION][/OPTION...]") on any text. */
#include <stdlib.h>
#include <string.h>

#include "hebbgrad.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  hg_plasticity p;
  if (hg_plasticity_parse(text, &p) == HG_OK) hg_plasticity_release(&p);
  free(text);
  return 0;
}
