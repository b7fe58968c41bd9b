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

/* h[(n·P + p)·K + k] = Σ_d sign(w)|w|^(power−1) x (power 2: u = w·x). */
static double *overlaps(const hgt_rule_in *in, double power) {
  int N = in->pt->n, P = in->pt->p, D = in->pt->d;
  double *h = calloc((size_t)N * P * in->k, sizeof *h);
  for (int n = 0; n < N; n++)
    for (int p = 0; p < P; p++)
      for (int k = 0; k < in->k; k++)
        for (int d = 0; d < D; d++) {
          double w = in->w[k * D + d];
          h[((size_t)n * P + p) * in->k + k] += copysign(pow(fabs(w), power - 1), w) * X(in, n, p)[d];
        }
  return h;
}

/* delta_k = Σ g_k x − (Σ g_k h_k) w_k for coefficients g and overlaps h laid out as [N·P, K]. */
static void hebbian_with_decay(const hgt_rule_in *in, const double *g, const double *h, double *delta) {
  int N = in->pt->n, P = in->pt->p, D = in->pt->d, K = in->k;
  memset(delta, 0, (size_t)K * D * sizeof *delta);
  for (int k = 0; k < K; k++) {
    double gh = 0;
    for (int i = 0; i < N * P; i++) gh += g[(size_t)i * K + k] * h[(size_t)i * K + k];
    for (int i = 0; i < N * P; i++)
      for (int d = 0; d < D; d++) delta[k * D + d] += g[(size_t)i * K + k] * X(in, i / P, i % P)[d];
    for (int d = 0; d < D; d++) delta[k * D + d] -= gh * in->w[k * D + d];
  }
}

static double max_abs(const double *v, size_t n) {
  double m = 0;
  for (size_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
  return m;
}

/* SoftHebb: ŷ = ±softmax(t·u), winner +; then rate_k Δ_k / (max|Δ| + 1e-30). */
static void ref_softhebb(const hgt_rule_in *in, double *delta) {
  int K = in->k, D = in->pt->d, cols = in->pt->n * in->pt->p;
  double t = in->opt[0], power = in->opt[1];
  double *u = overlaps(in, 2), *g = calloc((size_t)cols * K, sizeof *g);
  for (int i = 0; i < cols; i++) {
    const double *ui = u + (size_t)i * K;
    int win = 0;
    for (int k = 1; k < K; k++) win = ui[k] > ui[win] ? k : win;
    double z = 0;
    for (int k = 0; k < K; k++) z += exp(t * ui[k]);
    for (int k = 0; k < K; k++) g[(size_t)i * K + k] = (k == win ? 1 : -1) * exp(t * ui[k]) / z;
  }
  hebbian_with_decay(in, g, u, delta);
  double top = max_abs(delta, (size_t)K * D);
  for (int k = 0; k < K; k++) {
    double norm = 0;
    for (int d = 0; d < D; d++) norm += (double)in->w[k * D + d] * in->w[k * D + d];
    double rate = pow(fabs(sqrt(norm) - 1) + 1e-10, power);
    for (int d = 0; d < D; d++) delta[k * D + d] *= rate / (top + 1e-30);
  }
  free(u);
  free(g);
}

/* Krotov–Hopfield: g = 1 at the largest h, −Δ at the k-th largest; D / max|D|. */
static void ref_krotov(const hgt_rule_in *in, double *delta) {
  int K = in->k, D = in->pt->d, cols = in->pt->n * in->pt->p, rank = (int)in->opt[1];
  double *h = overlaps(in, in->opt[0]), *g = calloc((size_t)cols * K, sizeof *g);
  int *order = malloc((size_t)K * sizeof *order);
  for (int i = 0; i < cols; i++) {
    const double *hi = h + (size_t)i * K;
    for (int k = 0; k < K; k++) order[k] = k;
    for (int a = 0; a < K; a++) /* selection sort: larger h first, ties by index */
      for (int b = a + 1; b < K; b++)
        if (hi[order[b]] > hi[order[a]] || (hi[order[b]] == hi[order[a]] && order[b] < order[a])) {
          int tmp = order[a];
          order[a] = order[b];
          order[b] = tmp;
        }
    g[(size_t)i * K + order[rank - 1]] = -in->opt[2];
    g[(size_t)i * K + order[0]] = 1;
  }
  hebbian_with_decay(in, g, h, delta);
  double top = fmax(max_abs(delta, (size_t)K * D), 1e-30);
  for (int i = 0; i < K * D; i++) delta[i] /= top;
  free(order);
  free(h);
  free(g);
}

/* BCM: θ ← (1 − ρ)θ + ρ mean y², then factor_k Σ y_k (y_k − θ_k) x. */
static void ref_bcm(const hgt_rule_in *in, double *delta) {
  int D = in->pt->d, P = in->pt->p, count = in->pt->n * P;
  double rate = in->opt[0];
  memset(delta, 0, (size_t)in->k * D * sizeof *delta);
  for (int k = 0; k < in->k; k++) {
    double sq = 0;
    for (int n = 0; n < in->pt->n; n++)
      for (int p = 0; p < P; p++) sq += Y(in, n, k, p) * Y(in, n, k, p);
    double theta = (1 - rate) * in->state[k] + rate * sq / count;
    in->state[k] = (float)theta;
    double f = hgt_agg_factor(in->agg, coefficient_sum(in, k), count);
    for (int n = 0; n < in->pt->n; n++)
      for (int p = 0; p < P; p++)
        for (int d = 0; d < D; d++)
          delta[k * D + d] += f * Y(in, n, k, p) * (Y(in, n, k, p) - theta) * X(in, n, p)[d];
  }
}

hgt_rule_reference hgt_rule_reference_of(const char *name) {
  static const struct {
    const char *name;
    hgt_rule_reference ref;
  } refs[] = {{"hebb", ref_hebb},         {"instar", ref_instar}, {"oja", ref_oja}, {"hpca", ref_hpca},
              {"softhebb", ref_softhebb}, {"krotov", ref_krotov}, {"bcm", ref_bcm}};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++)
    if (!strcmp(name, refs[i].name)) return refs[i].ref;
  return NULL;
}
