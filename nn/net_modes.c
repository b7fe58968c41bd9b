/* The seeds' notation for how each layer with weights trains. */
#include <string.h>

#include "nn/net.h"

static hg_status apply_mode_letter(hg_layer *l, char letter, bool classifier) {
  hg_train_mode mode;
  switch (letter) {
    case 'B': mode = HG_TRAIN_B; break;
    case 'G': mode = classifier ? HG_TRAIN_B : (hg_train_mode)0; break;
    case 'H': mode = HG_TRAIN_H; break;
    case 'F': mode = HG_TRAIN_F; break;
    case 'R': mode = HG_TRAIN_R; break;
    default: mode = (hg_train_mode)0;
  }
  if (!mode)
    return hg_fail(HG_ERR_ARG, "modes: letter '%c' for layer '%s' is not one of B H F R%s", letter,
                   l->name, classifier ? " G" : "");
  hg_layer_set_mode(l, mode);
  return HG_OK;
}

/* Layers between weighted ones (ReLU, pooling, batch norm, ...) belong to the
 * block of the weighted layer before them: frozen with a frozen or random
 * one, learning by backprop (batch norm statistics and affine) otherwise. */
static void follow_block_modes(hg_net *net) {
  hg_train_mode block = HG_TRAIN_B;
  for (int i = 0; i < net->n; i++) {
    hg_layer *l = net->layers[i];
    if (hg_layer_is_affine(l)) block = l->mode;
    else hg_layer_set_mode(l, block == HG_TRAIN_F || block == HG_TRAIN_R ? HG_TRAIN_F : HG_TRAIN_B);
  }
}

hg_status hg_net_set_modes(hg_net *net, const char *modes) {
  int weighted[64], count = 0;
  for (int i = 0; i < net->n && count < 64; i++)
    if (hg_layer_is_affine(net->layers[i])) weighted[count++] = i;
  const char *dash = strchr(modes, '-');
  int body = dash ? (int)(dash - modes) : (int)strlen(modes);
  int expected = dash ? count - 1 : count;
  if (body != expected || (dash && strlen(dash + 1) != 1))
    return hg_fail(HG_ERR_ARG, "modes '%s': the net has %d layers with weights, so %d letters%s are needed",
                   modes, count, expected, dash ? " before '-' and one after" : "");
  for (int j = 0; j < count; j++) {
    bool classifier = dash && j == count - 1;
    hg_status s = apply_mode_letter(net->layers[weighted[j]], classifier ? dash[1] : modes[j], classifier);
    if (s != HG_OK) return s;
  }
  follow_block_modes(net);
  return HG_OK;
}
