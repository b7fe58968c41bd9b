/* The modes parser and the sweep's configuration lists on any text. */
#include <stdlib.h>
#include <string.h>

#include "hebbgrad.h"

static hg_net *net;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!net) {
    net = hg_net_new(1);
    hg_rng *r = &net->rng;
    if (hg_net_add(net, hg_layer_conv2d("c1", 1, 2, 3, 1, 0, true, r)) != HG_OK ||
        hg_net_add(net, hg_layer_batch_norm("bn1", 2, true, 0.1f, 1e-5f)) != HG_OK ||
        hg_net_add(net, hg_layer_flatten("flat")) != HG_OK ||
        hg_net_add(net, hg_layer_linear("fc", 8, 3, true, r)) != HG_OK || hg_net_finalize(net) != HG_OK)
      abort();
  }
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  (void)hg_net_set_modes(net, text);
  char configs[16][32];
  (void)hg_sweep_configs(text, 5, configs, 16);
  free(text);
  return 0;
}
