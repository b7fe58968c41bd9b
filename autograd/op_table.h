/* The table of every differentiable op. Tests walk it: an op missing a
 * gradient-check case fails the suite. */
#ifndef HG_OP_TABLE_H
#define HG_OP_TABLE_H

#include "autograd/autograd.h"

extern const hg_op *const hg_op_table[];
extern const int hg_op_table_size;
/* The registered op with this name, or NULL. */
const hg_op *hg_op_find(const char *name);

#endif
