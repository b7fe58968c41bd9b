#include "autograd/op_table.h"

#include <string.h>

/* Each op file defines its row beside its forward and backward. */
extern const hg_op hg_op_add, hg_op_sub, hg_op_mul, hg_op_div, hg_op_neg, hg_op_scale, hg_op_pow,
    hg_op_exp, hg_op_log, hg_op_sqrt, hg_op_abs, hg_op_relu, hg_op_sigmoid, hg_op_tanh;
extern const hg_op hg_op_matmul, hg_op_linear, hg_op_conv2d, hg_op_max_pool2d,
    hg_op_avg_pool2d;
extern const hg_op hg_op_sum, hg_op_mean, hg_op_max, hg_op_reshape, hg_op_narrow, hg_op_dot;
extern const hg_op hg_op_softmax, hg_op_log_softmax, hg_op_batch_norm, hg_op_dropout,
    hg_op_cross_entropy, hg_op_mse;

const hg_op *const hg_op_table[] = {
    &hg_op_add, &hg_op_sub, &hg_op_mul, &hg_op_div, &hg_op_neg, &hg_op_scale, &hg_op_pow,
    &hg_op_exp, &hg_op_log, &hg_op_sqrt, &hg_op_abs, &hg_op_relu, &hg_op_sigmoid, &hg_op_tanh,
    &hg_op_matmul, &hg_op_linear, &hg_op_conv2d, &hg_op_max_pool2d, &hg_op_avg_pool2d,
    &hg_op_sum, &hg_op_mean, &hg_op_max, &hg_op_reshape, &hg_op_narrow, &hg_op_dot,
    &hg_op_softmax, &hg_op_log_softmax, &hg_op_batch_norm, &hg_op_dropout,
    &hg_op_cross_entropy, &hg_op_mse,
};
const int hg_op_table_size = (int)(sizeof hg_op_table / sizeof hg_op_table[0]);

const hg_op *hg_op_find(const char *name) {
  for (int i = 0; i < hg_op_table_size; i++)
    if (strcmp(hg_op_table[i]->name, name) == 0) return hg_op_table[i];
  return NULL;
}
