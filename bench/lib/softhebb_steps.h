/* The steps of SoftHebb's network that bench_net times, through the
 * library's own model (hg_net_softhebb) and trainer, as
 * scripts/softhebb_cifar10.sh trains it: modes HHH-G, SoftHebb's rule on each
 * convolution with the reference's inverse temperatures and rates. */
#ifndef HG_BENCH_SOFTHEBB_STEPS_H
#define HG_BENCH_SOFTHEBB_STEPS_H

#include "bench/lib/ceiling.h"
#include "hebbgrad.h"

#define SOFTHEBB_RULES "softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01"

/* The net's convolutions and classifier as the library runs them (each
 * convolution on its reflect-padded input, with no zero padding of its own,
 * no bias); the Hebbian step runs the first SOFTHEBB_HEBBIAN of them. */
enum { SOFTHEBB_LAYERS = 4, SOFTHEBB_HEBBIAN = 3 };
extern const ceiling_layer softhebb_layers[SOFTHEBB_LAYERS];

typedef struct softhebb_steps {
  hg_net *net;
  hg_trainer *trainer;
} softhebb_steps;

/* The net for 3×32×32 images and 10 classes, and its trainer. */
hg_status softhebb_steps_init(softhebb_steps *s, uint64_t seed);
void softhebb_steps_free(softhebb_steps *s);
/* The whole net in evaluation mode with grad mode off, as hg_evaluate runs it. */
hg_status softhebb_forward(softhebb_steps *s, hg_tensor *x);
/* One step of the Hebbian phase on x (forward up to conv3, the surrogate
 * losses, one backward, the Hebbian update); their sum into *loss. */
hg_status softhebb_hebbian_step(softhebb_steps *s, hg_tensor *x, const int *labels, float *loss);

#endif
