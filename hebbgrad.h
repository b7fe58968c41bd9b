/* hebbgrad: Hebbian learning, backpropagation, or any mix of the two.
 * One include for the whole public API. */
#ifndef HEBBGRAD_H
#define HEBBGRAD_H

#include "tensor/error.h"
#include "tensor/alloc.h"
#include "tensor/rng.h"
#include "tensor/tensor.h"
#include "tensor/kstats.h"
#include "tensor/gemm.h"
#include "tensor/kernel_cache.h"
#include "tensor/conv.h"
#include "tensor/pooling.h"
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "autograd/op_table.h"
#include "autograd/gradcheck.h"
#include "nn/layer.h"
#include "nn/net.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "nn/dataset.h"
#include "nn/batcher.h"
#include "nn/normalize.h"
#include "nn/zca.h"
#include "nn/checkpoint.h"
#include "nn/evaluate.h"
#include "nn/progress.h"
#include "nn/results.h"
#include "nn/plot.h"
#include "hebb/competition.h"
#include "hebb/rules.h"
#include "hebb/plasticity.h"
#include "hebb/train.h"

#endif
