/* hebbgrad: Hebbian learning, backpropagation, or any mix of the two.
 * One include for the whole public API. It pulls in no oneDNN or OpenBLAS
 * header: the raw kernels (tensor/conv.h, pooling.h, kernel_cache.h) are
 * private and not installed. Threads: each thread its own tensors and nets;
 * the pool and kernel cache are shared and locked (docs/architecture.md). */
#ifndef HEBBGRAD_H
#define HEBBGRAD_H

/* tensor/: storage, errors, random numbers, vector maths, GEMM backend, kernel counters */
#include "tensor/error.h"
#include "tensor/alloc.h"
#include "tensor/rng.h"
#include "tensor/vmath.h"
#include "tensor/tensor.h"
#include "tensor/kstats.h"
#include "tensor/gemm.h"
/* autograd/: the tape, the ops, gradient checking */
#include "autograd/autograd.h"
#include "autograd/ops.h"
#include "autograd/op_table.h"
#include "autograd/gradcheck.h"
#include "autograd/batch_sync.h"
/* io/: checkpoints, results files, progress, pictures */
#include "io/checkpoint.h"
#include "io/files.h"
#include "io/progress.h"
#include "io/results.h"
#include "io/plot.h"
/* data/: data sets, batching, normalisation, ZCA */
#include "data/dataset.h"
#include "data/batcher.h"
#include "data/normalize.h"
#include "data/zca_cache.h"
#include "data/prepare.h"
/* nn/: layers, nets, optimizers, schedules, evaluation */
#include "nn/layer.h"
#include "nn/net.h"
#include "nn/optim.h"
#include "nn/schedule.h"
#include "nn/evaluate.h"
/* hebb/: the registry of rules and competitions, the built-in ones, the
 * building blocks of surrogate losses, plasticity, the trainer and hg_fit */
#include "hebb/registry.h"
#include "hebb/builtins.h"
#include "hebb/surrogate.h"
#include "hebb/competition.h"
#include "hebb/plasticity.h"
#include "hebb/train.h"
#include "hebb/fit.h"
/* experiment/: sweeps, probes, semi-supervised runs, tables, the programs' options */
#include "experiment/sweep.h"
#include "experiment/experiment.h"
#include "experiment/options.h"
#include "experiment/common.h"
#include "experiment/parallel.h"

#endif
