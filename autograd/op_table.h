/* The table of every differentiable op: the spec lists of the op families
 * (each ops_*.c file ends with its own), walked by the op sweep and by
 * bench_ops. */
#ifndef HG_OP_TABLE_H
#define HG_OP_TABLE_H

#include "autograd/op.h"

/* Number of ops in the table. */
int hg_op_count(void);
/* The i-th op, 0 ≤ i < hg_op_count(), family by family. */
const hg_op *hg_op_at(int i);
/* The registered op with this name, or NULL. */
const hg_op *hg_op_find(const char *name);

#endif
