#include "autograd/op_table.h"

#include <string.h>

/* Each family file ends with the NULL-terminated list of its specs. */
extern const hg_op *const hg_ops_binary[], *const hg_ops_unary[], *const hg_ops_reduce[],
    *const hg_ops_view[], *const hg_ops_softmax[], *const hg_ops_linear[], *const hg_ops_conv[],
    *const hg_ops_pool[], *const hg_ops_norm[], *const hg_ops_dropout[], *const hg_ops_loss[];

static const hg_op *const *const families[] = {
    hg_ops_binary, hg_ops_unary, hg_ops_reduce, hg_ops_view, hg_ops_softmax,
    hg_ops_linear, hg_ops_conv,  hg_ops_pool,   hg_ops_norm, hg_ops_dropout, hg_ops_loss,
};
#define N_FAMILIES (int)(sizeof families / sizeof families[0])

int hg_op_count(void) {
  int n = 0;
  for (int f = 0; f < N_FAMILIES; f++)
    for (int i = 0; families[f][i]; i++) n++;
  return n;
}

const hg_op *hg_op_at(int k) {
  for (int f = 0; f < N_FAMILIES; f++)
    for (int i = 0; families[f][i]; i++)
      if (k-- == 0) return families[f][i];
  return NULL;
}

const hg_op *hg_op_find(const char *name) {
  for (int f = 0; f < N_FAMILIES; f++)
    for (int i = 0; families[f][i]; i++)
      if (strcmp(families[f][i]->name, name) == 0) return families[f][i];
  return NULL;
}
