/* SGD (momentum, Nesterov) and Adam on ranges of a flat parameter array. */
#include "nn/optim.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Groups at least this long are stepped by all OpenMP threads. */
#define HG_OPTIM_PARALLEL_MIN ((size_t)1 << 15)
/* Largest step count a float holds exactly. */
#define HG_OPTIM_MAX_STEPS 16777216L

typedef struct hg_group {
  size_t begin, end;
  hg_group_opts opts;
} hg_group;

struct hg_optimizer {
  hg_optim_kind kind;
  float *params, *grads; /* borrowed, n elements each */
  size_t n;
  hg_group *groups;
  int n_groups, capacity;
  hg_tensor *momentum; /* SGD: [n] momentum buffers, once some group has μ > 0 */
  hg_tensor *m, *v;    /* Adam: [n] first and second moments */
  hg_tensor *steps;    /* [n_groups] step count of each group */
};

hg_group_opts hg_sgd_opts(float lr, float momentum, float weight_decay, bool nesterov) {
  return (hg_group_opts){.lr = lr, .weight_decay = weight_decay, .momentum = momentum,
                         .nesterov = nesterov};
}

hg_group_opts hg_adam_opts(float lr, float weight_decay) {
  return (hg_group_opts){.lr = lr, .weight_decay = weight_decay, .beta1 = 0.9f,
                         .beta2 = 0.999f, .eps = 1e-8f};
}

static hg_optimizer *optim_new(hg_optim_kind kind, float *params, float *grads, size_t n) {
  const char *name = kind == HG_OPTIM_SGD ? "sgd" : "adam";
  if (!params || !grads || n == 0 || n > INT_MAX) {
    hg_fail(HG_ERR_ARG, "%s: need parameters and gradients of 1 to %d elements (got %zu%s)", name,
            INT_MAX, n, params && grads ? "" : ", NULL array");
    return NULL;
  }
  hg_optimizer *opt = calloc(1, sizeof *opt);
  if (!opt) {
    hg_fail(HG_ERR_NOMEM, "%s: out of memory", name);
    return NULL;
  }
  opt->kind = kind;
  opt->params = params;
  opt->grads = grads;
  opt->n = n;
  if (kind == HG_OPTIM_ADAM) {
    opt->m = hg_tensor_zeros(HG_SHAPE((int)n));
    opt->v = opt->m ? hg_tensor_zeros(HG_SHAPE((int)n)) : NULL;
    if (!opt->v) {
      hg_optim_free(opt);
      hg_fail(HG_ERR_NOMEM, "adam: out of memory for moments of %zu parameters", n);
      return NULL;
    }
  }
  return opt;
}

hg_optimizer *hg_sgd_new(float *params, float *grads, size_t n) {
  return optim_new(HG_OPTIM_SGD, params, grads, n);
}

hg_optimizer *hg_adam_new(float *params, float *grads, size_t n) {
  return optim_new(HG_OPTIM_ADAM, params, grads, n);
}

void hg_optim_free(hg_optimizer *opt) {
  if (!opt) return;
  free(opt->groups);
  hg_tensor_free(opt->momentum);
  hg_tensor_free(opt->m);
  hg_tensor_free(opt->v);
  hg_tensor_free(opt->steps);
  free(opt);
}

static bool finite_nonneg(float x) { return isfinite(x) && x >= 0.0f; }

static hg_status check_opts(hg_optim_kind kind, const hg_group_opts *o) {
  if (!finite_nonneg(o->lr) || !finite_nonneg(o->weight_decay))
    return hg_fail(HG_ERR_ARG, "optim: lr %g and weight decay %g must be finite and >= 0",
                   (double)o->lr, (double)o->weight_decay);
  if (kind == HG_OPTIM_SGD) {
    if (!finite_nonneg(o->momentum))
      return hg_fail(HG_ERR_ARG, "sgd: momentum %g must be finite and >= 0", (double)o->momentum);
    if (o->nesterov && o->momentum <= 0.0f)
      return hg_fail(HG_ERR_ARG, "sgd: Nesterov needs momentum > 0");
  } else {
    if (!(o->beta1 >= 0.0f && o->beta1 < 1.0f && o->beta2 >= 0.0f && o->beta2 < 1.0f))
      return hg_fail(HG_ERR_ARG, "adam: betas (%g, %g) must lie in [0, 1)", (double)o->beta1,
                     (double)o->beta2);
    if (!(o->eps > 0.0f && o->eps < INFINITY)) /* 0 divides a zero gradient by zero */
      return hg_fail(HG_ERR_ARG, "adam: eps %g must be finite and > 0", (double)o->eps);
  }
  return HG_OK;
}

hg_status hg_optim_add_group(hg_optimizer *opt, size_t begin, size_t end, hg_group_opts opts) {
  if (begin > end || end > opt->n)
    return hg_fail(HG_ERR_ARG, "optim: group [%zu, %zu) outside the %zu parameters", begin, end,
                   opt->n);
  for (int g = 0; g < opt->n_groups; g++) {
    const hg_group *o = &opt->groups[g];
    if (begin < o->end && o->begin < end)
      return hg_fail(HG_ERR_ARG, "optim: group [%zu, %zu) overlaps group %d [%zu, %zu)", begin,
                     end, g, o->begin, o->end);
  }
  hg_status s = check_opts(opt->kind, &opts);
  if (s != HG_OK) return s;

  if (opt->kind == HG_OPTIM_SGD && opts.momentum > 0.0f && !opt->momentum) {
    opt->momentum = hg_tensor_zeros(HG_SHAPE((int)opt->n));
    if (!opt->momentum)
      return hg_fail(HG_ERR_NOMEM, "sgd: out of memory for momentum of %zu parameters", opt->n);
  }
  if (opt->n_groups == opt->capacity) {
    int cap = opt->capacity ? 2 * opt->capacity : 4;
    hg_group *groups = realloc(opt->groups, (size_t)cap * sizeof *groups);
    if (!groups) return hg_fail(HG_ERR_NOMEM, "optim: out of memory adding a group");
    opt->groups = groups;
    opt->capacity = cap;
  }
  hg_tensor *steps = hg_tensor_zeros(HG_SHAPE(opt->n_groups + 1));
  if (!steps) return hg_fail(HG_ERR_NOMEM, "optim: out of memory adding a group");
  if (opt->steps) memcpy(steps->data, opt->steps->data, (size_t)opt->n_groups * sizeof(float));
  hg_tensor_free(opt->steps);
  opt->steps = steps;
  opt->groups[opt->n_groups++] = (hg_group){.begin = begin, .end = end, .opts = opts};
  return HG_OK;
}

/* d = g + wd·p; b = μ·b + d (b = d when first); d = d + μ·b (Nesterov) or b; p ← p − lr·d. */
static void sgd_group(float *restrict p, const float *restrict g, float *restrict b, size_t n,
                      const hg_group_opts *o, bool first) {
  const float lr = o->lr, wd = o->weight_decay, mu = o->momentum;
  const bool par = n >= HG_OPTIM_PARALLEL_MIN;
  if (mu == 0.0f) {
    if (wd == 0.0f) {
#pragma omp parallel for simd if (par)
      for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
    } else {
#pragma omp parallel for simd if (par)
      for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
    }
    return;
  }
  const bool nesterov = o->nesterov;
#pragma omp parallel for simd if (par)
  for (size_t i = 0; i < n; i++) {
    float d = g[i] + wd * p[i];
    float bi = first ? d : mu * b[i] + d;
    b[i] = bi;
    p[i] -= lr * (nesterov ? d + mu * bi : bi);
  }
}

/* m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; p ← p − (lr/c1)·m / (√v/√c2 + ε). */
static void adam_group(float *restrict p, const float *restrict g, float *restrict m,
                       float *restrict v, size_t n, const hg_group_opts *o, long t) {
  const float b1 = o->beta1, b2 = o->beta2, eps = o->eps, wd = o->weight_decay;
  const double c1 = 1.0 - pow((double)b1, (double)t), c2 = 1.0 - pow((double)b2, (double)t);
  const float step = (float)((double)o->lr / c1), c2_sqrt = (float)sqrt(c2);
#pragma omp parallel for simd if (n >= HG_OPTIM_PARALLEL_MIN)
  for (size_t i = 0; i < n; i++) {
    float gi = g[i] + wd * p[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi;
    float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    p[i] -= step * mi / (sqrtf(vi) / c2_sqrt + eps);
  }
}

hg_status hg_optim_step(hg_optimizer *opt) {
  for (int g = 0; g < opt->n_groups; g++) {
    const hg_group *gr = &opt->groups[g];
    size_t bad = gr->begin + hg_first_nonfinite(opt->grads + gr->begin, gr->end - gr->begin);
    if (bad != gr->end)
      return hg_fail(HG_ERR_NUMERIC,
                     "optim: gradient %g at index %zu (element %zu of group %d [%zu, %zu)) is "
                     "not finite; no parameter was changed",
                     (double)opt->grads[bad], bad, bad - gr->begin, g, gr->begin, gr->end);
    float t = opt->steps->data[g]; /* may have been loaded from a checkpoint */
    if (!(t >= 0.0f && t < (float)HG_OPTIM_MAX_STEPS && t == floorf(t)))
      return hg_fail(HG_ERR_STATE,
                     "optim: step count %g of group %d is not a whole number in [0, %ld)",
                     (double)t, g, HG_OPTIM_MAX_STEPS);
  }
  for (int g = 0; g < opt->n_groups; g++) {
    const hg_group *gr = &opt->groups[g];
    size_t b = gr->begin, n = gr->end - gr->begin;
    long t = (long)opt->steps->data[g] + 1;
    if (n > 0) {
      if (opt->kind == HG_OPTIM_SGD)
        sgd_group(opt->params + b, opt->grads + b, opt->momentum ? opt->momentum->data + b : NULL,
                  n, &gr->opts, t == 1);
      else
        adam_group(opt->params + b, opt->grads + b, opt->m->data + b, opt->v->data + b, n,
                   &gr->opts, t);
    }
    opt->steps->data[g] = (float)t;
  }
  return HG_OK;
}

hg_optim_kind hg_optim_kind_of(const hg_optimizer *opt) { return opt->kind; }

int hg_optim_group_count(const hg_optimizer *opt) { return opt->n_groups; }

static hg_status check_group(const hg_optimizer *opt, int group, bool all_ok) {
  if ((all_ok && group == -1) || (group >= 0 && group < opt->n_groups)) return HG_OK;
  return hg_fail(HG_ERR_ARG, "optim: no group %d (there are %d)", group, opt->n_groups);
}

hg_status hg_optim_group(const hg_optimizer *opt, int group, hg_group_opts *opts, size_t *begin,
                         size_t *end) {
  hg_status s = check_group(opt, group, false);
  if (s != HG_OK) return s;
  if (opts) *opts = opt->groups[group].opts;
  if (begin) *begin = opt->groups[group].begin;
  if (end) *end = opt->groups[group].end;
  return HG_OK;
}

hg_status hg_optim_set_lr(hg_optimizer *opt, int group, float lr) {
  hg_status s = check_group(opt, group, true);
  if (s != HG_OK) return s;
  if (!finite_nonneg(lr))
    return hg_fail(HG_ERR_ARG, "optim: lr %g must be finite and >= 0", (double)lr);
  for (int g = 0; g < opt->n_groups; g++)
    if (group == -1 || g == group) opt->groups[g].opts.lr = lr;
  return HG_OK;
}

float hg_optim_lr(const hg_optimizer *opt, int group) {
  return group >= 0 && group < opt->n_groups ? opt->groups[group].opts.lr : 0.0f;
}

long hg_optim_step_count(const hg_optimizer *opt, int group) {
  return group >= 0 && group < opt->n_groups ? (long)opt->steps->data[group] : 0;
}

hg_status hg_optim_set_step_count(hg_optimizer *opt, int group, long steps) {
  hg_status s = check_group(opt, group, true);
  if (s != HG_OK) return s;
  if (steps < 0 || steps > HG_OPTIM_MAX_STEPS)
    return hg_fail(HG_ERR_ARG, "optim: step count %ld outside [0, %ld]", steps, HG_OPTIM_MAX_STEPS);
  for (int g = 0; g < opt->n_groups; g++)
    if (group == -1 || g == group) opt->steps->data[g] = (float)steps;
  return HG_OK;
}

int hg_optim_state(hg_optimizer *opt, char (*names)[64], hg_tensor **tensors, int max) {
  struct {
    const char *name;
    hg_tensor *t;
  } list[] = {{"optim.momentum", opt->momentum},
              {"optim.adam_m", opt->m},
              {"optim.adam_v", opt->v},
              {"optim.step", opt->steps}};
  int count = 0;
  for (size_t k = 0; k < sizeof list / sizeof list[0]; k++) {
    if (!list[k].t) continue;
    if (count < max) {
      strncpy(names[count], list[k].name, 64);
      names[count][63] = '\0';
      tensors[count] = list[k].t;
    }
    count++;
  }
  return count;
}
