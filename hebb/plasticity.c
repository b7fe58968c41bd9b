#include "hebb/plasticity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const agg_names[] = {"sum", "mean", "avg"};

/* The rule's own NAME=VALUE option; false when opt names none of them. */
static bool rule_option(const char *opt, hg_plasticity *p, hg_status *s) {
  const char *eq = strchr(opt, '=');
  for (int i = 0; eq && i < HG_MAX_OPTIONS && p->rule->options[i].name; i++)
    if (strlen(p->rule->options[i].name) == (size_t)(eq - opt) &&
        !strncmp(opt, p->rule->options[i].name, (size_t)(eq - opt))) {
      char owner[96];
      snprintf(owner, sizeof owner, "rule '%s'", p->rule->name);
      *s = hg_option_parse(&p->rule->options[i], eq + 1, owner, &p->opt[i]);
      return true;
    }
  return false;
}

static hg_status parse_option(const char *opt, hg_plasticity *p, bool *agg_given) {
  float f;
  int n;
  hg_status s = HG_OK;
  for (int a = HG_AGG_SUM; a <= HG_AGG_AVG; a++)
    if (!strcmp(opt, agg_names[a])) {
      p->agg = (hg_aggregation)a;
      *agg_given = true;
      return HG_OK;
    }
  if (!strcmp(opt, "cosine")) p->cosine = true;
  else if (!strcmp(opt, "relu")) p->relu_y = true;
  else if (!strcmp(opt, "unitnorm")) p->unit_norm = true;
  else if (sscanf(opt, "prune=%f%n", &f, &n) == 1 && !opt[n] && f >= 0 && f < 1) p->prune = f;
  else if (sscanf(opt, "lr=%f%n", &f, &n) == 1 && !opt[n] && f > 0 && f < HUGE_VALF) p->lr = f;
  else if (!rule_option(opt, p, &s)) {
    char own[256] = "";
    for (int i = 0, used = 0; i < HG_MAX_OPTIONS && p->rule->options[i].name && used < (int)sizeof own; i++)
      used += snprintf(own + used, sizeof own - (size_t)used, ", %s=V", p->rule->options[i].name);
    return hg_fail(HG_ERR_ARG,
                   "option '%s' is not one of sum, mean, avg, cosine, relu, unitnorm, prune=F (0 <= F < 1), "
                   "lr=F (F > 0)%s",
                   opt, own);
  }
  return s;
}

/* The part after the rule: an option when it is a flag or NAME=VALUE, else a competition. */
static hg_status parse_second(const char *part, hg_plasticity *p, bool *named, bool *agg_given) {
  static const char *const flags[] = {"sum", "mean", "avg", "cosine", "relu", "unitnorm"};
  bool option = strchr(part, '=') != NULL;
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) option |= !strcmp(part, flags[i]);
  if (option) return parse_option(part, p, agg_given);
  *named = true;
  return hg_competition_parse(part, &p->comp);
}

/* What the rule accepts of the parsed spec. */
static hg_status check_spec(const hg_plasticity *p, bool named, bool agg_given) {
  unsigned aggs = p->rule->aggregations ? p->rule->aggregations : HG_AGG_BIT(HG_AGG_SUM);
  if (agg_given && !(aggs & HG_AGG_BIT(p->agg)))
    return hg_fail(HG_ERR_ARG, "rule '%s' does not aggregate by '%s'", p->rule->name, agg_names[p->agg]);
  if (p->rule->coefficients && (named || p->cosine || p->relu_y))
    return hg_fail(HG_ERR_ARG,
                   "rule '%s' computes its own coefficients: it takes no competition, cosine or relu",
                   p->rule->name);
  return HG_OK;
}

hg_status hg_plasticity_parse(const char *text, hg_plasticity *out) {
  hg_plasticity p = {0};
  char buf[256];
  if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf)
    return hg_fail(HG_ERR_ARG, "plasticity '%.40s...' is too long", text);
  size_t len = strlen(text);
  if (len && (text[0] == '/' || text[len - 1] == '/' || strstr(text, "//")))
    return hg_fail(HG_ERR_ARG, "plasticity '%s': an empty part between slashes (RULE[/COMPETITION][/OPTION...])", text);
  char *save = NULL, *part = strtok_r(buf, "/", &save);
  bool named = false, agg_given = false;
  hg_status s = part ? HG_OK : hg_fail(HG_ERR_ARG, "plasticity: empty text");
  if (s == HG_OK && !(p.rule = hg_rule_find(part))) s = hg_last_status();
  if (s == HG_OK) {
    for (int i = 0; i < HG_MAX_OPTIONS && p.rule->options[i].name; i++) p.opt[i] = p.rule->options[i].value;
    p.agg = p.rule->aggregation;
    s = hg_competition_parse("none", &p.comp);
  }
  if (s == HG_OK && (part = strtok_r(NULL, "/", &save))) s = parse_second(part, &p, &named, &agg_given);
  while (s == HG_OK && (part = strtok_r(NULL, "/", &save))) s = parse_option(part, &p, &agg_given);
  if (s == HG_OK) s = check_spec(&p, named, agg_given);
  if (s != HG_OK) {
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", hg_last_error());
    return hg_fail(s, "plasticity '%s': %s", text, msg);
  }
  *out = p;
  return HG_OK;
}

int hg_plasticity_parse_list(const char *text, hg_plasticity *out, int max) {
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", text) >= (int)sizeof buf) {
    hg_fail(HG_ERR_ARG, "plasticity list '%.40s...' is too long", text);
    return -1;
  }
  int n = 0;
  for (char *part = buf, *plus; part; part = plus ? plus + 1 : NULL) {
    plus = strchr(part, '+');
    if (plus) *plus = '\0';
    if (n == max) {
      hg_fail(HG_ERR_ARG, "plasticity list '%s': more than %d rules", text, max);
      return -1;
    }
    if (hg_plasticity_parse(part, &out[n++]) != HG_OK) return -1;
  }
  return n;
}

const char *hg_plasticity_name(const hg_plasticity *p, char *buf, size_t size) {
  char comp[128] = ""; /* "/COMPETITION", or nothing for a rule that takes none */
  if (!p->rule->coefficients) {
    comp[0] = '/';
    hg_competition_name(&p->comp, comp + 1, sizeof comp - 1);
  }
  int n = snprintf(buf, size, "%s%s/%s%s%s%s", p->rule->name, comp, agg_names[p->agg],
                   p->cosine ? "/cosine" : "", p->relu_y ? "/relu" : "", p->unit_norm ? "/unitnorm" : "");
  if (p->prune > 0 && n >= 0 && (size_t)n < size)
    n += snprintf(buf + n, size - (size_t)n, "/prune=%g", p->prune);
  if (p->lr > 0 && n >= 0 && (size_t)n < size) n += snprintf(buf + n, size - (size_t)n, "/lr=%g", p->lr);
  for (int i = 0; i < HG_MAX_OPTIONS && p->rule->options[i].name && n >= 0 && (size_t)n < size; i++)
    n += snprintf(buf + n, size - (size_t)n, "/%s=%g", p->rule->options[i].name, p->opt[i]);
  return buf;
}

hg_status hg_plasticity_init(hg_plasticity *p, hg_tensor *weight, hg_rng *rng) {
  hg_plasticity_release(p);
  if (p->rule->state_new && !(p->state = p->rule->state_new(weight, p->opt))) return hg_last_status();
  if (p->prune <= 0) return HG_OK;
  p->mask = hg_tensor_empty(weight->ndim, weight->shape);
  if (!p->mask) return hg_last_status();
  for (size_t i = 0; i < p->mask->numel; i++) p->mask->data[i] = hg_rng_uniform(rng) >= p->prune;
  for (size_t i = 0; i < weight->numel; i++) weight->data[i] *= p->mask->data[i];
  return HG_OK;
}

void hg_plasticity_release(hg_plasticity *p) {
  hg_tensor_free(p->mask);
  hg_tensor_free(p->state);
  p->mask = NULL;
  p->state = NULL;
}

static hg_rule_ctx context(const hg_plasticity *p, const hg_layer *l, hg_tensor *u, hg_tensor *x,
                           const int *labels) {
  return (hg_rule_ctx){.u = u,
                       .w = l->weight,
                       .x = x,
                       .stride = l->cfg.affine.stride,
                       .pad = l->cfg.affine.pad,
                       .labels = labels,
                       .opt = p->opt,
                       .agg = p->agg,
                       .state = p->state};
}

hg_tensor *hg_plasticity_coefficients(const hg_plasticity *p, const hg_layer *l, hg_tensor *u,
                                      hg_tensor *x, const int *labels) {
  hg_rule_ctx c = context(p, l, u, x, labels);
  if (p->rule->coefficients) return p->rule->coefficients(&c);
  hg_tensor *s = p->cosine ? hg_cosine_similarity(u, l->weight, x, c.stride, c.pad) : NULL;
  if (p->cosine && !s) return NULL;
  hg_tensor *y = hg_compete(&p->comp, s ? s : u, labels);
  hg_tensor_free(s);
  if (y && p->relu_y)
    for (size_t i = 0; i < y->numel; i++) y->data[i] = y->data[i] > 0 ? y->data[i] : 0;
  return y;
}

static hg_status check_shapes(const hg_tensor *u, const hg_tensor *w, const hg_tensor *y) {
  char a[64], b[64], c[64];
  if ((u->ndim == 2 || u->ndim == 4) && hg_same_shape(u, y) && w->shape[0] == u->shape[1]) return HG_OK;
  return hg_fail(HG_ERR_SHAPE, "plasticity: u %s, weights %s and coefficients %s do not match",
                 hg_shape_str(u, a, sizeof a), hg_shape_str(w, b, sizeof b), hg_shape_str(y, c, sizeof c));
}

hg_tensor *hg_plasticity_loss(const hg_plasticity *p, hg_layer *l, hg_tensor *u, hg_tensor *x,
                              const int *labels) {
  if (!l->weight) {
    hg_fail(HG_ERR_ARG, "plasticity: layer '%s' (%s) has no weights to learn", l->name, l->ops->name);
    return NULL;
  }
  hg_rule_ctx c = context(p, l, u, x, labels);
  hg_tensor *y = hg_plasticity_coefficients(p, l, u, x, labels);
  hg_tensor *loss = y && check_shapes(u, l->weight, y) == HG_OK ? p->rule->loss(&c, y) : NULL;
  hg_tensor_free(y);
  return loss;
}

void hg_plasticity_after_step(const hg_plasticity *p, hg_layer *l) {
  hg_tensor *w = l->weight;
  if (p->mask)
    for (size_t i = 0; i < w->numel; i++) w->data[i] *= p->mask->data[i];
  if (p->unit_norm) hg_tensor_scale_rows(w, NULL, 1.0f, NULL);
}
