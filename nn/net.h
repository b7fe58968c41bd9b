/* A network: an ordered list of named layers. Every intermediate output of
 * the last forward stays reachable (layer probes, hybrid training), any layer
 * can be replaced or frozen, and after hg_net_finalize() all parameters and
 * gradients live in two contiguous slabs, so an optimizer is a flat loop. */
#ifndef HG_NET_H
#define HG_NET_H

#include <stdio.h>

#include "data/dataset.h"
#include "nn/layer.h"

typedef struct hg_net {
  hg_layer **layers;
  hg_tensor **outputs;   /* outputs[i]: layer i's output of the last forward (or NULL) */
  int n, capacity;
  hg_tensor *param_slab; /* after finalize: every parameter, layer order */
  hg_tensor *grad_slab;  /* their gradients, same offsets */
  hg_rng rng;            /* dropout masks */
  int first;             /* hg_net_forward and training start at this layer (0); with
                            first = k the input is layer k-1's output, e.g. features
                            computed once by hg_net_features */
  bool check_finite;     /* forward checks every layer's output for NaN and infinity */
} hg_net;

hg_net *hg_net_new(uint64_t seed);
void hg_net_free(hg_net *net);
/* Append a layer; the net owns it from now on (also on failure). A NULL layer
 * passes its creation error on. */
hg_status hg_net_add(hg_net *net, hg_layer *layer);
/* Replace layer `index` (the old one is freed); call hg_net_finalize again. */
hg_status hg_net_replace(hg_net *net, int index, hg_layer *layer);
/* Drop the layers from index n on; call hg_net_finalize again. */
void hg_net_truncate(hg_net *net, int n);
/* Index of the layer named `name`, or -1. */
int hg_net_find(const hg_net *net, const char *name);

/* Set the modes of the layers with weights from the seeds' notation: one
 * letter per layer before '-', in order (B, H, F, R), then the classifier's
 * (G = gradient descent, H = supervised Hebbian, F, R), e.g. "HBBBB-G".
 * Without '-' the letters cover every layer with weights. */
hg_status hg_net_set_modes(hg_net *net, const char *modes);

/* Run layers [from, to) on x; outputs[i] keep every intermediate result.
 * Frozen (F, R) layers always run in evaluation mode. */
hg_tensor *hg_net_forward_range(hg_net *net, hg_tensor *x, int from, int to, bool training);
/* Run layers [first, n). */
hg_tensor *hg_net_forward(hg_net *net, hg_tensor *x, bool training);
/* Drop the kept outputs (frees activations between steps). */
void hg_net_clear_outputs(hg_net *net);

/* Move every parameter into the slabs (values kept). */
hg_status hg_net_finalize(hg_net *net);
/* Slab range [begin, end) holding the parameters of layers [first, last]. */
void hg_net_slab_range(const hg_net *net, int first, int last, size_t *begin, size_t *end);
/* Zero every parameter gradient: those written since they were last zeroed
 * (a frozen layer's stay zero without a pass over them). */
void hg_net_zero_grad(hg_net *net);
/* Every parameter gradient may hold values (after the gradient slab was
 * written directly, e.g. summed over processes): the next hg_net_zero_grad
 * zeroes them all. */
void hg_net_grads_written(hg_net *net);

/* "conv1.weight", "bn1.running_mean", ...: the net's parameters and, when
 * `buffers`, its batch-norm statistics; returns how many (at most max). */
int hg_net_tensors(hg_net *net, bool buffers, char (*names)[64], hg_tensor **tensors, int max);

/* Turn net into a linear probe of layer `after`: drop the layers above it,
 * freeze the rest (F) and add flatten "probe_flatten", dropout
 * "probe_dropout" when dropout > 0 (the seeds' classifiers use 0.5) and a
 * linear classifier "probe" (B);
 * `sample` ([N,...] input) gives the feature size. Finalizes the net. */
hg_status hg_net_attach_probe(hg_net *net, int after, const hg_tensor *sample, int classes, float dropout);
/* The outputs of layers [0, upto) (evaluation mode, no gradients) for every
 * image of ds, run in batches of `batch`, as a data set with ds's labels;
 * [N,F] outputs are stored as [N,F,1,1]. Training a probe on them with
 * net->first = upto gives the same result as on the images, without running
 * the frozen layers again every epoch. */
hg_dataset *hg_net_features(hg_net *net, int upto, const hg_dataset *ds, int batch);
/* The same with a progress bar on log (NULL: none) and, when half_dir is
 * given, the features kept as float16 in an unlinked file there
 * (hg_dataset_new_half): 2 bytes a value and no process memory. */
hg_dataset *hg_net_features_to(hg_net *net, int upto, const hg_dataset *ds, int batch, const char *half_dir,
                               FILE *log);

/* Set the running mean and (unbiased) variance of every batch norm among
 * layers [0, upto) to those of its input over the first `count` images of
 * ds, bottom up (the layers below in evaluation mode, on statistics already
 * recounted), in batches of `batch`. For a frozen, trained net: its
 * running averages rest on the last batches of training. */
hg_status hg_net_recount_norms(hg_net *net, int upto, const hg_dataset *ds, int count, int batch);

/* The seeds' network (seeds 002/003): 4 conv + 2 fc layers for 3×32×32
 * input, layers conv1 relu1 pool1 bn1 conv2 relu2 bn2 conv3 relu3 pool3 bn3
 * conv4 relu4 bn4 flatten fc5 relu5 bn5 drop5 fc6. */
hg_net *hg_net_seeds(int in_channels, int classes, uint64_t seed);
/* A small net for quick runs: conv1 (32 5×5) relu1 pool1 bn1 flatten fc2,
 * for square inputs of side `size`. */
hg_net *hg_net_small(int in_channels, int size, int classes, uint64_t seed);
/* SoftHebb's network (Journé et al. 2023) for square inputs of side `size`
 * (a multiple of 8): three blocks bnI padI convI triangleI poolI (I = 1..3;
 * batch norm without scale or shift, reflect padding, conv 3→96 5×5, 96→384
 * 3×3, 384→1536 3×3 without bias, triangle powers power[0..2] (NULL: the
 * reference's 0.7, 1.4, 1), max pool 4/2/1, 4/2/1, average pool 2/2), then
 * flatten, dropout (0.5) and the linear "classifier"; weights initialised as
 * the reference does (conv ~ N(0, (25/√fan_in)²), classifier ~ U[0, 0.11)). */
hg_net *hg_net_softhebb(int in_channels, int size, int classes, const float power[3], uint64_t seed);

#endif
