#include "hebb/plasticity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hg_status parse_option(const char *opt, hg_plasticity *p) {
  float f;
  int n;
  if (!strcmp(opt, "sum")) p->agg = HG_AGG_SUM;
  else if (!strcmp(opt, "mean")) p->agg = HG_AGG_MEAN;
  else if (!strcmp(opt, "avg")) p->agg = HG_AGG_AVG;
  else if (!strcmp(opt, "cosine")) p->cosine = true;
  else if (!strcmp(opt, "relu")) p->relu_y = true;
  else if (!strcmp(opt, "unitnorm")) p->unit_norm = true;
  else if (sscanf(opt, "prune=%f%n", &f, &n) == 1 && !opt[n] && f >= 0 && f < 1) p->prune = f;
  else
    return hg_fail(HG_ERR_ARG, "plasticity option '%s' is not one of sum, mean, avg, cosine, relu, "
                               "unitnorm, prune=F (0 <= F < 1)", opt);
  return HG_OK;
}

hg_status hg_plasticity_parse(const char *text, hg_plasticity *out) {
  hg_plasticity p = {.agg = HG_AGG_MEAN};
  char buf[256];
  if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
    return hg_fail(HG_ERR_ARG, "plasticity '%.40s...' is too long", text);
  char *save = NULL, *part = strtok_r(buf, "/", &save);
  hg_status s = part ? hg_rule_parse(part, &p.rule) : hg_fail(HG_ERR_ARG, "plasticity: empty text");
  if (s == HG_OK && (part = strtok_r(NULL, "/", &save))) s = hg_competition_parse(part, &p.comp);
  while (s == HG_OK && (part = strtok_r(NULL, "/", &save))) s = parse_option(part, &p);
  if (s != HG_OK) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", hg_last_error());
    return hg_fail(s, "plasticity '%s': %s", text, msg);
  }
  *out = p;
  return HG_OK;
}

hg_status hg_plasticity_init(hg_plasticity *p, hg_tensor *weight, hg_rng *rng) {
  hg_tensor_free(p->mask);
  p->mask = NULL;
  if (p->prune <= 0) return HG_OK;
  p->mask = hg_tensor_empty(weight->ndim, weight->shape);
  if (!p->mask) return hg_last_status();
  for (size_t i = 0; i < p->mask->numel; i++) p->mask->data[i] = hg_rng_uniform(rng) >= p->prune;
  for (size_t i = 0; i < weight->numel; i++) weight->data[i] *= p->mask->data[i];
  return HG_OK;
}

void hg_plasticity_release(hg_plasticity *p) {
  hg_tensor_free(p->mask);
  p->mask = NULL;
}

hg_tensor *hg_plasticity_coefficients(const hg_plasticity *p, const hg_layer *l, hg_tensor *u,
                                      const hg_tensor *x, const int *labels) {
  hg_tensor *s = p->cosine ? hg_cosine_similarity(u, l->weight, x, l->cfg.affine.stride, l->cfg.affine.pad)
                           : hg_tensor_clone(u);
  if (!s) return NULL;
  if (p->comp.kind == HG_COMP_NONE) {
    if (p->relu_y)
      for (size_t i = 0; i < s->numel; i++) s->data[i] = s->data[i] > 0 ? s->data[i] : 0;
    return s;
  }
  hg_tensor *r = hg_compete(&p->comp, s, labels);
  hg_tensor_free(s);
  return r;
}

hg_tensor *hg_plasticity_loss(const hg_plasticity *p, hg_layer *l, hg_tensor *u, const hg_tensor *x,
                              const int *labels) {
  if (!l->weight) {
    hg_fail(HG_ERR_ARG, "plasticity: layer '%s' (%s) has no weights to learn", l->name, l->ops->name);
    return NULL;
  }
  hg_tensor *y = hg_plasticity_coefficients(p, l, u, x, labels);
  hg_tensor *loss = y ? hg_hebb_loss(p->rule, p->agg, u, l->weight, y) : NULL;
  hg_tensor_free(y);
  return loss;
}

void hg_plasticity_after_step(const hg_plasticity *p, hg_layer *l) {
  hg_tensor *w = l->weight;
  if (p->mask)
    for (size_t i = 0; i < w->numel; i++) w->data[i] *= p->mask->data[i];
  if (p->unit_norm) hg_tensor_scale_rows(w, NULL, 1.0f, NULL);
}
