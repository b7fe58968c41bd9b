/* The built-in competitions (HEBBIAN.md): each a column function r[K] of the
 * similarities s[K] of one sample at one position, and its definition. */
#include <math.h>
#include <string.h>

#include "hebb/builtins.h"
#include "tensor/error.h"

#define POSITIVE 1.17549435e-38f /* FLT_MIN: the smallest accepted positive value */
#define LARGE 3.0e38f
#define COUNT 1.0e6f

static int arg_max(const float *s, int k) {
  int best = 0;
  for (int j = 1; j < k; j++)
    if (s[j] > s[best]) best = j;
  return best;
}

/* r = s */
static void none_column(const float *param, const float *s, float *r, int k, int label) {
  (void)param, (void)label;
  memcpy(r, s, (size_t)k * sizeof *r);
}

const hg_competition_def hg_competition_none = {
    .name = "none", .doc = "no competition: r = s (the rule uses y = u, or relu(u))", .column = none_column};

/* r_j = 1 for the first arg-max, 0 otherwise */
static void wta_column(const float *param, const float *s, float *r, int k, int label) {
  (void)param, (void)label;
  int best = arg_max(s, k);
  for (int j = 0; j < k; j++) r[j] = j == best;
}

const hg_competition_def hg_competition_wta = {
    .name = "wta", .doc = "winner-take-all: r = 1 for the largest s, 0 otherwise", .column = wta_column};

/* r_j = 1 for the k largest (ties: lower index first) */
static void kwta_column(const float *param, const float *s, float *r, int k, int label) {
  (void)label;
  for (int j = 0; j < k; j++) {
    int above = 0;
    for (int i = 0; i < k; i++) above += s[i] > s[j] || (s[i] == s[j] && i < j);
    r[j] = above < (int)param[0];
  }
}

static hg_status kwta_check(const float *param, int k, const int *labels) {
  (void)labels;
  return param[0] <= k ? HG_OK : hg_fail(HG_ERR_ARG, "k = %g winners for %d neurons", param[0], k);
}

const hg_competition_def hg_competition_kwta = {
    .name = "k-wta",
    .doc = "k-winners-take-all: r = 1 for the k largest s",
    .params = {{"k", 1, 1, COUNT, true, "winners"}},
    .check = kwta_check,
    .column = kwta_column};

/* r = softmax(s / T) */
static void esoft_column(const float *param, const float *s, float *r, int k, int label) {
  (void)label;
  int best = arg_max(s, k);
  double total = 0;
  for (int j = 0; j < k; j++) total += exp((double)(s[j] - s[best]) / param[0]);
  for (int j = 0; j < k; j++) r[j] = (float)(exp((double)(s[j] - s[best]) / param[0]) / total);
}

const hg_competition_def hg_competition_esoft = {
    .name = "e-soft-wta",
    .doc = "exponential soft WTA: r = softmax(s/T) (seed 002: T = 0.02)",
    .params = {{"T", 0.02f, POSITIVE, LARGE, false, "temperature"}},
    .column = esoft_column};

/* r_j = s_j^p / Σ_i s_i^p over s > 0 (others 0), scaled by the largest s */
static void power_column(double p, const float *s, float *r, int k) {
  int best = arg_max(s, k);
  double total = 0, top = s[best] > 0 ? s[best] : 1.0;
  for (int j = 0; j < k; j++) total += s[j] > 0 ? pow(s[j] / top, p) : 0.0;
  for (int j = 0; j < k; j++) r[j] = total > 0 && s[j] > 0 ? (float)(pow(s[j] / top, p) / total) : 0.0f;
}

static void soft_column(const float *param, const float *s, float *r, int k, int label) {
  (void)param, (void)label;
  power_column(1.0, s, r, k);
}

const hg_competition_def hg_competition_soft = {
    .name = "soft-wta", .doc = "soft WTA (Nowlan): r_k = s_k / sum_j s_j over s > 0", .column = soft_column};

static void psoft_column(const float *param, const float *s, float *r, int k, int label) {
  (void)label;
  power_column(1.0f / param[0], s, r, k);
}

const hg_competition_def hg_competition_psoft = {
    .name = "p-soft-wta",
    .doc = "power soft WTA: r_k = s_k^(1/k) / sum_j s_j^(1/k) over s > 0 (seed 002: k = 0.05)",
    .params = {{"k", 0.05f, POSITIVE, LARGE, false, "the power is 1/k"}},
    .column = psoft_column};

/* r_j = exp(−d(j, winner)² / 2σ²) on a map of width columns */
static void som_column(const float *param, const float *s, float *r, int k, int label) {
  (void)label;
  int w = (int)param[0], best = arg_max(s, k), bx = best % w, by = best / w;
  for (int j = 0; j < k; j++) {
    double dx = j % w - bx, dy = j / w - by;
    r[j] = (float)exp(-(dx * dx + dy * dy) / (2.0 * param[1] * param[1]));
  }
}

static hg_status som_check(const float *param, int k, const int *labels) {
  (void)labels;
  return k % (int)param[0] == 0 ? HG_OK
                                : hg_fail(HG_ERR_ARG, "map width %g does not fit %d neurons", param[0], k);
}

const hg_competition_def hg_competition_som = {
    .name = "som",
    .doc = "SOM (seed 000): r = a Gaussian around the winner on a width x K/width map",
    .params = {{"width", 1, 1, COUNT, true, "map width; K must be a multiple"},
               {"sigma", 1, POSITIVE, LARGE, false, "neighbourhood radius"}},
    .check = som_check,
    .column = som_column};

/* per_class 0: r = one-hot(label); else class c owns neurons [c·per_class,
 * (c+1)·per_class) and the `common` last neurons are always on */
static void teacher_column(const float *param, const float *s, float *r, int k, int label) {
  (void)s;
  int per_class = (int)param[0], common = (int)param[1];
  for (int j = 0; j < k; j++)
    r[j] = per_class == 0 ? j == label : (j / per_class == label || j >= k - common);
}

static hg_status teacher_check(const float *param, int k, const int *labels) {
  if (!labels) return hg_fail(HG_ERR_ARG, "the teacher signal needs labels");
  return param[0] == 0 || param[1] <= k
             ? HG_OK
             : hg_fail(HG_ERR_ARG, "%g common neurons for %d neurons", param[1], k);
}

const hg_competition_def hg_competition_teacher = {
    .name = "teacher",
    .doc = "supervised (seed 003 3.3): r = the label's neurons, from the labels",
    .params = {{"per_class", 0, 0, COUNT, true, "neurons per class; 0: r = one-hot label"},
               {"common", 0, 0, COUNT, true, "last neurons always on"}},
    .check = teacher_check,
    .column = teacher_column};
