/* Optimizers on parameter groups, as torch.optim.SGD and torch.optim.Adam.
 *
 * An optimizer works on one flat parameter array and its gradient array (a
 * net's param_slab and grad_slab after hg_net_finalize). A group is a range
 * [begin, end) of them with its own options; elements outside every group
 * never move. A step is one flat loop per group and knows nothing of layers.
 *
 * State lives in tensors owned by the optimizer, so a checkpoint can save and
 * restore it by name (hg_optim_state): "optim.momentum" (SGD, when some group
 * has momentum), "optim.adam_m", "optim.adam_v" (Adam), each with one element
 * per parameter, and "optim.step" with each group's step count t (counted in
 * float: exact up to 2^24 steps). A resumed optimizer whose state was copied
 * in takes the same next step as the one it was copied from. */
#ifndef HG_OPTIM_H
#define HG_OPTIM_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor/tensor.h"

typedef enum hg_optim_kind { HG_OPTIM_SGD, HG_OPTIM_ADAM } hg_optim_kind;

/* Options of one group. Fields the optimizer's kind does not use are ignored. */
typedef struct hg_group_opts {
  float lr;
  float weight_decay; /* L2: g ← g + wd·p before anything else */
  float momentum;     /* SGD μ (0: no momentum buffer) */
  bool nesterov;      /* SGD: needs momentum > 0 */
  float beta1, beta2; /* Adam */
  float eps;          /* Adam */
} hg_group_opts;

typedef struct hg_optimizer hg_optimizer;

/* SGD options: lr, momentum μ, L2 weight decay, Nesterov. */
hg_group_opts hg_sgd_opts(float lr, float momentum, float weight_decay, bool nesterov);
/* Adam options with PyTorch's defaults β = (0.9, 0.999), ε = 1e-8. */
hg_group_opts hg_adam_opts(float lr, float weight_decay);

/* SGD on params[0..n), grads[0..n) (borrowed: they must outlive the optimizer).
 * Per group: g = ∇ + wd·p; b = μ·b + g (b = g at the group's first step);
 * d = g + μ·b (Nesterov) or b (μ > 0) or g; p ← p − lr·d. */
hg_optimizer *hg_sgd_new(float *params, float *grads, size_t n);
/* Adam on params[0..n), grads[0..n): g = ∇ + wd·p; m = β1·m + (1−β1)·g;
 * v = β2·v + (1−β2)·g²; p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε), t = the group's step. */
hg_optimizer *hg_adam_new(float *params, float *grads, size_t n);
/* NULL is allowed. */
void hg_optim_free(hg_optimizer *opt);

/* Add group [begin, end) (end ≤ n, no overlap with an existing group); its
 * index is the number of groups before the call. Views from hg_optim_state
 * taken before the call are no longer valid. */
hg_status hg_optim_add_group(hg_optimizer *opt, size_t begin, size_t end, hg_group_opts opts);
/* One step of every group. If a gradient of some group is NaN or infinite,
 * returns HG_ERR_NUMERIC naming the group and index, and changes nothing. */
hg_status hg_optim_step(hg_optimizer *opt);

hg_optim_kind hg_optim_kind_of(const hg_optimizer *opt);
int hg_optim_group_count(const hg_optimizer *opt);
/* Options and range of group g; HG_ERR_ARG when there is no group g. */
hg_status hg_optim_group(const hg_optimizer *opt, int group, hg_group_opts *opts, size_t *begin,
                         size_t *end);
/* lr of group `group`, or of every group when group is −1. */
hg_status hg_optim_set_lr(hg_optimizer *opt, int group, float lr);
/* Learning rate of group g (0 when there is no group g). */
float hg_optim_lr(const hg_optimizer *opt, int group);

/* Steps group g has taken (t of Adam's bias correction; 0 = next step is the first). */
long hg_optim_step_count(const hg_optimizer *opt, int group);
/* Set the step count of group g, or of every group when group is −1. */
hg_status hg_optim_set_step_count(hg_optimizer *opt, int group, long steps);

/* The state tensors (borrowed, owned by opt) and their names, written to
 * names[i] / tensors[i] for i < max; returns how many there are (may exceed
 * max). Filling these tensors in place restores a saved state. */
int hg_optim_state(hg_optimizer *opt, char (*names)[64], hg_tensor **tensors, int max);

#endif
