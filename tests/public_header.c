/* A user's program: hebbgrad.h alone, with oneDNN's and OpenBLAS's headers
 * replaced by ones that #error (tests/poisoned_include), must compile. */
#include "hebbgrad.h"

int main(void) {
  hg_tensor *t = hg_tensor_zeros(HG_SHAPE(2, 3));
  hg_tensor_free(t);
  return 0;
}
