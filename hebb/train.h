/* One training loop for SGD, Hebbian and hybrid networks.
 *
 * Every layer with weights has a mode (nn/layer.h): B backprop, H Hebbian,
 * F frozen, R random and fixed. A step runs the forward once, sums the
 * cross-entropy of the output (when some B layer learns) and the surrogate
 * losses of the H layers, runs ONE backward and steps the optimizers. H
 * layers see sg(input) and pass sg(output) on, so the cross-entropy never
 * reaches them and no backward-data work is done for them.
 *
 * Schedules: joint (everything at once) or sequential (phase HEBB trains the
 * H layers, forwarding only up to the last of them; phase BACKPROP then
 * trains the B layers on their output). */
#ifndef HG_HEBB_TRAIN_H
#define HG_HEBB_TRAIN_H

#include "autograd/batch_sync.h"
#include "hebb/plasticity.h"
#include "nn/net.h"
#include "nn/optim.h"

typedef enum hg_phase { HG_PHASE_JOINT, HG_PHASE_HEBB, HG_PHASE_BACKPROP } hg_phase;

typedef struct hg_trainer {
  hg_net *net;
  hg_plasticity *plasticity; /* [net->n]: the rule of each H layer */
  hg_optimizer *opt_b;       /* groups of the B layers (NULL when none) */
  hg_optimizer *opt_h;       /* groups of the H layers (NULL when none) */
  int last_hebb;             /* index of the last H layer, −1 if none */
  bool any_backprop;
  const hg_batch_sync *sync; /* data-parallel: the processes that share each batch (NULL: none) */
} hg_trainer;

typedef struct hg_trainer_opts {
  hg_group_opts backprop; /* B layers: e.g. hg_sgd_opts(1e-3, 0.9, 5e-2, true) */
  bool adam;              /* B layers use Adam with `backprop` lr / weight decay */
  float hebb_lr;          /* H layers: plain SGD on the surrogate losses */
  /* Data-parallel training (NULL: none): every process runs the same steps on
   * the same batches, each on its share of the rows; the gradients are
   * summed over the processes before the optimizers step. Must outlive the trainer. */
  const hg_batch_sync *sync;
} hg_trainer_opts;

typedef struct hg_step_stats {
  float ce_loss;   /* cross-entropy of the batch (0 if not computed) */
  float hebb_loss; /* sum of the H layers' surrogate losses */
  int correct;     /* top-1 hits of the batch (when the output was computed) */
} hg_step_stats;

/* A trainer for net with `hebb` as the rule of every H layer (copied; the
 * classifier, when H, always learns with the teacher signal: with hebb's rule
 * when it takes a competition, else with instar). H layers learn
 * no bias: theirs is set to 0 (u = w·x). The net must be finalized and its
 * modes set. hebb may be NULL when no layer is H (SGD alone). */
hg_trainer *hg_trainer_new(hg_net *net, const hg_plasticity *hebb, const hg_trainer_opts *opts);
/* The same with rules[j] for the j-th H layer from the bottom (n_rules 1:
 * one rule for all; else exactly one per H layer); a rule's lr= sets its
 * layer's learning rate instead of opts->hebb_lr. */
hg_trainer *hg_trainer_new_rules(hg_net *net, const hg_plasticity *rules, int n_rules, const hg_trainer_opts *opts);
void hg_trainer_free(hg_trainer *t);
/* Replace the rule of layer i (an H layer). */
hg_status hg_trainer_set_plasticity(hg_trainer *t, int layer, const hg_plasticity *p);
/* Layer `layer` and everything below it up to the end of its block (before
 * the next linear, convolution, batch norm, flatten or dropout) become F, kept as they
 * are (batch norms on their running statistics, their scale and shift
 * included). The number of frozen layers; −1 (error set) when a linear or
 * convolution layer below it learns by backprop. Greedy
 * Hebbian training freezes each layer so before the next one learns. */
int hg_trainer_freeze_upto(hg_trainer *t, int layer);
/* After the Hebbian phase: hg_trainer_freeze_upto the last H layer, so that
 * the frozen part's output can be computed once (hg_fit_skip_fixed); no layer
 * is H afterwards (last_hebb −1). */
int hg_trainer_freeze_hebbian(hg_trainer *t);
/* One step on the first `count` rows of x (labels[count]). Data-parallel:
 * this process takes rows [count·rank/size, count·(rank+1)/size) and the
 * step's result (weights, statistics, stats) is the one of all `count` rows;
 * count must be at least the number of processes. */
hg_status hg_trainer_step(hg_trainer *t, hg_tensor *x, const int *labels, int count, hg_phase phase,
                          hg_step_stats *stats);

#endif
