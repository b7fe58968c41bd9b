#include "tests/rule_references.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* y of neuron k of sample i at position j; the patch of sample i at position j */
#define Y(in, i, k_, j) ((double)(in)->y[((i) * (in)->k + (k_)) * (in)->pt->p + (j)])
#define X(in, i, j) ((in)->pt->x + ((size_t)(i) * (in)->pt->p + (j)) * (in)->pt->d)

double hgt_agg_factor(hg_aggregation agg, double ysum, int count) {
  if (agg == HG_AGG_MEAN) return 1.0 / (ysum + HG_AGG_EPS);
  return agg == HG_AGG_AVG ? 1.0 / count : 1.0;
}

static double coefficient_sum(const hgt_rule_in *in, int k) {
  double s = 0;
  for (int n = 0; n < in->pt->n; n++)
    for (int p = 0; p < in->pt->p; p++) s += Y(in, n, k, p);
  return s;
}

/* Σ_j<=k y_j w_j[d] (Sanger), Σ: over j ≤ upto. */
static double weighted_rows(const hgt_rule_in *in, int n, int p, int upto, int d) {
  double s = 0;
  for (int j = 0; j <= upto; j++) s += Y(in, n, j, p) * in->w[j * in->pt->d + d];
  return s;
}

/* delta_k = factor_k Σ y_k (x − decay(k)), decay chosen by `kind`: 0 none,
 * 1 w_k (instar), 2 y_k w_k (Oja), 3 Σ_{j≤k} y_j w_j (Sanger). */
static void hebbian_family(const hgt_rule_in *in, int kind, double *delta) {
  int D = in->pt->d, P = in->pt->p;
  memset(delta, 0, (size_t)in->k * D * sizeof *delta);
  for (int k = 0; k < in->k; k++) {
    double f = hgt_agg_factor(in->agg, coefficient_sum(in, k), in->pt->n * P);
    for (int n = 0; n < in->pt->n; n++)
      for (int p = 0; p < P; p++)
        for (int d = 0; d < D; d++) {
          double yk = Y(in, n, k, p), w = in->w[k * D + d];
          double decay = kind == 1 ? w : kind == 2 ? yk * w : kind == 3 ? weighted_rows(in, n, p, k, d) : 0;
          delta[k * D + d] += f * yk * (X(in, n, p)[d] - decay);
        }
  }
}

static void ref_hebb(const hgt_rule_in *in, double *delta) { hebbian_family(in, 0, delta); }
static void ref_instar(const hgt_rule_in *in, double *delta) { hebbian_family(in, 1, delta); }
static void ref_oja(const hgt_rule_in *in, double *delta) { hebbian_family(in, 2, delta); }
static void ref_hpca(const hgt_rule_in *in, double *delta) { hebbian_family(in, 3, delta); }

hgt_rule_reference hgt_rule_reference_of(const char *name) {
  static const struct {
    const char *name;
    hgt_rule_reference ref;
  } refs[] = {{"hebb", ref_hebb}, {"instar", ref_instar}, {"oja", ref_oja}, {"hpca", ref_hpca}};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (!strcmp(name, refs[i].name)) return refs[i].ref;
  return NULL;
}
