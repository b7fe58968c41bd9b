/* Competition: the coefficients r that decide how much each neuron learns,
 * computed per sample and per position over the K neurons (dimension 1 of
 * [N,K] or [N,K,H,W]) from a similarity s, always under stop-gradient. */
#ifndef HG_COMPETITION_H
#define HG_COMPETITION_H

#include "tensor/tensor.h"

typedef enum hg_comp_kind {
  HG_COMP_NONE,    /* r = s (no competition: plain rules use y) */
  HG_COMP_WTA,     /* r_k = 1 for the arg-max, 0 otherwise */
  HG_COMP_KWTA,    /* r_k = 1 for the k largest */
  HG_COMP_SOFT,    /* r_k = s_k / Σ_j s_j, s clipped at 0 (Nowlan) */
  HG_COMP_ESOFT,   /* r = softmax(s / T) */
  HG_COMP_PSOFT,   /* r_k = s_k^p / Σ_j s_j^p, s clipped at 0 */
  HG_COMP_SOM,     /* r_k = exp(−d(k, winner)² / 2σ²) on a width × K/width map */
  HG_COMP_TEACHER  /* r = teacher signal from the labels (seed 003 §3.3) */
} hg_comp_kind;

typedef struct hg_competition {
  hg_comp_kind kind;
  int k;             /* k-WTA winners */
  float temperature; /* e-soft-WTA T (seed 002: 0.02) */
  float power;       /* p-soft-WTA p = 1/k (seed 002: k = 0.05, p = 20) */
  int som_width;     /* SOM map width (K must be a multiple) */
  float som_sigma;   /* SOM neighbourhood radius */
  int per_class;     /* teacher: 0 → r = one-hot label (classifier); else class c owns
                        neurons [c·per_class, (c+1)·per_class) and the `common` last
                        neurons are always on */
  int common;
} hg_competition;

/* Parse "wta", "5-wta", "e-soft-wta[:T]", "p-soft-wta[:k]", "soft-wta", "som[:width:sigma]",
 * "teacher[:per_class:common]", "none"; errors name the text. */
hg_status hg_competition_parse(const char *text, hg_competition *out);
/* Name as hg_competition_parse reads it, e.g. "e-soft-wta:0.02". */
const char *hg_competition_name(const hg_competition *c, char *buf, size_t size);

/* r from the similarity s [N,K] or [N,K,H,W]; labels[N] is used by the teacher.
 * The result requires no gradient. */
hg_tensor *hg_compete(const hg_competition *c, const hg_tensor *s, const int *labels);

/* Cosine similarity u_k / (‖w_k‖ ‖x‖) for a linear layer (x [N,D], w [K,D])
 * or a convolution (x [N,C,H,W], w [K,C,kh,kw], ‖x‖ per patch). No gradient. */
hg_tensor *hg_cosine_similarity(const hg_tensor *u, const hg_tensor *w, const hg_tensor *x,
                                int stride, int pad);

#endif
