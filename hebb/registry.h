/* The registry of plasticity: a rule and a competition are values — a struct
 * of names, numeric options, functions and a one-line doc — kept in one
 * process-global table and found by name when a spec
 * "RULE[/COMPETITION][/OPTION...]" is parsed (hebb/plasticity.h).
 *
 * The library registers its own rules and competitions (hebb/builtins.h) with
 * the same hg_rule_register / hg_competition_register a user calls, once,
 * before the first lookup or registration (thread-safe). Registering is not
 * thread-safe: register your rules before starting threads that parse specs. */
#ifndef HG_REGISTRY_H
#define HG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "tensor/tensor.h"

#define HG_MAX_OPTIONS 4  /* options of a rule, parameters of a competition */
#define HG_MAX_ALIASES 3

/* How a rule sums its per-sample, per-position terms of kernel k:
 * HG_AGG_SUM as written; HG_AGG_MEAN, the weighted average of seeds 002/003
 * (times 1/(Σ y_k + HG_AGG_EPS)); HG_AGG_AVG, the plain average of seed 001's
 * HPCA (times 1/(N·P), N samples of P positions). */
typedef enum hg_aggregation { HG_AGG_SUM, HG_AGG_MEAN, HG_AGG_AVG } hg_aggregation;
#define HG_AGG_BIT(a) (1u << (a))
#define HG_AGG_ALL (HG_AGG_BIT(HG_AGG_SUM) | HG_AGG_BIT(HG_AGG_MEAN) | HG_AGG_BIT(HG_AGG_AVG))
/* Guards 1/Σ y_k of a kernel that does not learn (Σ y_k = 0); small enough
 * that a kernel with Σ y_k = 1e-5 is off by 1e-7 relative. */
#define HG_AGG_EPS 1e-12

/* A numeric option: NAME=VALUE after a rule, a positional :VALUE after a competition. */
typedef struct hg_option_def {
  const char *name; /* NULL ends a list */
  float value;      /* the default */
  float min, max;   /* accepted range, inclusive */
  bool integer;     /* whole numbers only */
  const char *doc;
} hg_option_def;

/* One H layer in one step, as its rule sees it. */
typedef struct hg_rule_ctx {
  hg_tensor *u;       /* pre-activation W·x, [N,K] or [N,K,OH,OW], on the tape from w */
  hg_tensor *w;       /* weights [K,D] or [K,C,kh,kw], requiring a gradient */
  hg_tensor *x;       /* the layer's input [N,D] or [N,C,H,W] (no gradient; read only) */
  int stride, pad;    /* of the convolution (1 and 0 for a linear layer) */
  const int *labels;  /* [N], or NULL */
  const float *opt;   /* the rule's option values, in the order of its options */
  hg_aggregation agg;
  hg_tensor *state;   /* the layer's state (state_new), or NULL; the loss may update it */
} hg_rule_ctx;

typedef struct hg_rule_def {
  const char *name;
  const char *aliases[HG_MAX_ALIASES]; /* other names, e.g. "competitive"; NULL ends */
  const char *doc;                     /* one line: the update */
  hg_option_def options[HG_MAX_OPTIONS];
  unsigned aggregations;               /* HG_AGG_BIT()s accepted; 0: HG_AGG_SUM only */
  hg_aggregation aggregation;          /* the default */
  /* The coefficients y (shaped like u, no gradient). NULL: the spec's
   * competition gives them (u, relu(u) or r); else the rule takes no competition. */
  hg_tensor *(*coefficients)(const hg_rule_ctx *c);
  /* The surrogate loss, a scalar with −∂L/∂W = ΔW/η, for coefficients y. */
  hg_tensor *(*loss)(const hg_rule_ctx *c, const hg_tensor *y);
  /* A new state for a layer with weights w (e.g. BCM's threshold), kept in
   * checkpoints and freed with hg_tensor_free; NULL: the rule has none. */
  hg_tensor *(*state_new)(const hg_tensor *w, const float *opt);
} hg_rule_def;

/* Who learns: r[K] from similarities s[K] (u_k, or the cosine), per sample and position. */
typedef struct hg_competition_def {
  const char *name; /* "k-NAME" may also be written "N-NAME", e.g. k-wta:5 as 5-wta */
  const char *aliases[HG_MAX_ALIASES];
  const char *doc;
  hg_option_def params[HG_MAX_OPTIONS]; /* positional: NAME:V1:V2 */
  /* HG_OK, or an error when the parameters do not fit K neurons or labels are
   * missing; NULL: always fits. */
  hg_status (*check)(const float *param, int k, const int *labels);
  /* r[0..k) from s[0..k) of one sample at one position; label: its class or −1. */
  void (*column)(const float *param, const float *s, float *r, int k, int label);
} hg_competition_def;

/* Add a rule; def must outlive every use (a static). Refused: a name or alias
 * already registered, a missing loss, options out of their range or named like
 * a spec option (sum, mean, avg, cosine, relu, unitnorm, prune). */
hg_status hg_rule_register(const hg_rule_def *def);
/* Add a competition; the same conditions (a column function is required, a
 * name may not be a spec option nor start with a digit). */
hg_status hg_competition_register(const hg_competition_def *def);

/* The rule named (or aliased) `name`; NULL with an error listing the registered ones. */
const hg_rule_def *hg_rule_find(const char *name);
/* The competition named `name`; NULL with an error listing the registered ones. */
const hg_competition_def *hg_competition_find(const char *name);
/* Registered rules in order of registration: i in [0, hg_rule_count()). */
int hg_rule_count(void);
const hg_rule_def *hg_rule_at(int i);
int hg_competition_count(void);
const hg_competition_def *hg_competition_at(int i);

/* *value = the number `text` if it is one that option o accepts; errors name
 * `owner` (e.g. "rule 'krotov'"), the option and its range. */
hg_status hg_option_parse(const hg_option_def *o, const char *text, const char *owner, float *value);

/* The --help text of every registered rule and competition: name, aliases,
 * doc line and options with their defaults; snprintf's contract (returns the
 * length the whole text needs). */
int hg_plasticity_help(char *buf, size_t size);

#endif
