/* Competition: the coefficients r that decide how much each neuron learns,
 * computed per sample and per position over the K neurons (dimension 1 of
 * [N,K] or [N,K,H,W]) from a similarity s, always under stop-gradient. Each
 * competition is a registered hg_competition_def (hebb/registry.h); a value
 * of this type is one with its parameters. */
#ifndef HG_COMPETITION_H
#define HG_COMPETITION_H

#include "hebb/registry.h"

typedef struct hg_competition {
  const hg_competition_def *def;
  float param[HG_MAX_OPTIONS]; /* in the order of def->params */
} hg_competition;

/* Parse "NAME[:P1[:P2...]]" of a registered competition (missing parameters
 * keep their defaults; "N-NAME" is "k-NAME:N", e.g. "5-wta"); errors name the
 * text and list the registered competitions. */
hg_status hg_competition_parse(const char *text, hg_competition *out);
/* "NAME[:P1:P2...]" as hg_competition_parse reads it, e.g. "e-soft-wta:0.02". */
const char *hg_competition_name(const hg_competition *c, char *buf, size_t size);

/* r = the competition's columns of the similarity s [N,K] or [N,K,H,W];
 * labels[N] may be NULL unless the competition needs them. No gradient. */
hg_tensor *hg_compete(const hg_competition *c, const hg_tensor *s, const int *labels);

/* Cosine similarity u_k / (‖w_k‖ ‖x‖) for a linear layer (x [N,D], w [K,D])
 * or a convolution (x [N,C,H,W], w [K,C,kh,kw], ‖x‖ per patch). No gradient. */
hg_tensor *hg_cosine_similarity(const hg_tensor *u, const hg_tensor *w, const hg_tensor *x,
                                int stride, int pad);

#endif
