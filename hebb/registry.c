#include "hebb/registry.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hebb/builtins.h"

#define MAX_DEFS 64

static struct {
  const hg_rule_def *rules[MAX_DEFS];
  const hg_competition_def *comps[MAX_DEFS];
  int n_rules, n_comps;
} table;

static pthread_once_t builtins_once = PTHREAD_ONCE_INIT;
static _Thread_local bool registering_builtins;

static void register_builtins(void) {
  static const hg_rule_def *const rules[] = {&hg_rule_hebb,     &hg_rule_instar, &hg_rule_oja, &hg_rule_hpca,
                                             &hg_rule_softhebb, &hg_rule_krotov, &hg_rule_bcm};
  static const hg_competition_def *const comps[] = {
      &hg_competition_none,  &hg_competition_wta,   &hg_competition_kwta, &hg_competition_soft,
      &hg_competition_esoft, &hg_competition_psoft, &hg_competition_som,  &hg_competition_teacher};
  registering_builtins = true;
  for (size_t i = 0; i < sizeof comps / sizeof comps[0]; i++)
    HG_ASSERT(hg_competition_register(comps[i]) == HG_OK);
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) HG_ASSERT(hg_rule_register(rules[i]) == HG_OK);
  registering_builtins = false;
}

static void ensure_builtins(void) {
  if (!registering_builtins) pthread_once(&builtins_once, register_builtins);
}

/* Does `name` name def (its name or an alias)? */
static bool names(const char *name, const char *def_name, const char *const *aliases) {
  if (!strcmp(name, def_name)) return true;
  for (int i = 0; i < HG_MAX_ALIASES && aliases[i]; i++)
    if (!strcmp(name, aliases[i])) return true;
  return false;
}

static const hg_rule_def *rule_named(const char *name) {
  for (int i = 0; i < table.n_rules; i++)
    if (names(name, table.rules[i]->name, table.rules[i]->aliases)) return table.rules[i];
  return NULL;
}

static const hg_competition_def *competition_named(const char *name) {
  for (int i = 0; i < table.n_comps; i++)
    if (names(name, table.comps[i]->name, table.comps[i]->aliases)) return table.comps[i];
  return NULL;
}

static hg_status check_options(const char *what, const char *name, const hg_option_def *o) {
  for (int i = 0; i < HG_MAX_OPTIONS && o[i].name; i++)
    if (!(o[i].min <= o[i].value && o[i].value <= o[i].max) ||
        (o[i].integer && o[i].value != floorf(o[i].value)))
      return hg_fail(HG_ERR_ARG, "register %s '%s': option %s's default %g is not in [%g, %g]%s", what, name,
                     o[i].name, o[i].value, o[i].min, o[i].max, o[i].integer ? " or not whole" : "");
  return HG_OK;
}

/* A name (and aliases) not yet taken by either kind of definition's table. */
static hg_status check_names(const char *what, const char *name, const char *const *aliases, bool rule) {
  if (!name || !*name || strchr(name, '/') || strchr(name, ':') || strchr(name, '='))
    return hg_fail(HG_ERR_ARG, "register %s: the name '%s' is empty or has '/', ':' or '='", what,
                   name ? name : "");
  for (int i = -1; i < HG_MAX_ALIASES && (i < 0 || aliases[i]); i++) {
    const char *n = i < 0 ? name : aliases[i];
    if (rule ? rule_named(n) != NULL : competition_named(n) != NULL)
      return hg_fail(HG_ERR_ARG, "register %s '%s': the name '%s' is already registered", what, name, n);
  }
  return HG_OK;
}

/* The options every spec takes: no rule option or competition may be named so. */
static hg_status check_reserved(const char *what, const char *name, const char *word) {
  static const char *const reserved[] = {"sum", "mean", "avg", "cosine", "relu", "unitnorm", "prune"};
  for (size_t j = 0; j < sizeof reserved / sizeof reserved[0]; j++)
    if (!strcmp(word, reserved[j]))
      return hg_fail(HG_ERR_ARG, "register %s '%s': '%s' is an option of every spec", what, name, word);
  return HG_OK;
}

hg_status hg_rule_register(const hg_rule_def *def) {
  ensure_builtins();
  hg_status s = check_names("rule", def->name, def->aliases, true);
  if (s == HG_OK) s = check_options("rule", def->name, def->options);
  for (int i = 0; s == HG_OK && i < HG_MAX_OPTIONS && def->options[i].name; i++)
    s = check_reserved("rule", def->name, def->options[i].name);
  unsigned aggs = def->aggregations ? def->aggregations : HG_AGG_BIT(HG_AGG_SUM);
  if (s == HG_OK && !def->loss) s = hg_fail(HG_ERR_ARG, "register rule '%s': no loss function", def->name);
  if (s == HG_OK && !(aggs & HG_AGG_BIT(def->aggregation)))
    s = hg_fail(HG_ERR_ARG, "register rule '%s': its default aggregation is not one it accepts", def->name);
  if (s == HG_OK && table.n_rules == MAX_DEFS)
    s = hg_fail(HG_ERR_ARG, "register rule '%s': %d rules already", def->name, MAX_DEFS);
  if (s == HG_OK) table.rules[table.n_rules++] = def;
  return s;
}

hg_status hg_competition_register(const hg_competition_def *def) {
  ensure_builtins();
  hg_status s = check_names("competition", def->name, def->aliases, false);
  for (int i = -1; s == HG_OK && i < HG_MAX_ALIASES && (i < 0 || def->aliases[i]); i++)
    s = check_reserved("competition", def->name, i < 0 ? def->name : def->aliases[i]);
  if (s == HG_OK && (def->name[0] >= '0' && def->name[0] <= '9'))
    s = hg_fail(HG_ERR_ARG, "register competition '%s': a name may not start with a digit", def->name);
  if (s == HG_OK) s = check_options("competition", def->name, def->params);
  if (s == HG_OK && !def->column)
    s = hg_fail(HG_ERR_ARG, "register competition '%s': no column function", def->name);
  if (s == HG_OK && table.n_comps == MAX_DEFS)
    s = hg_fail(HG_ERR_ARG, "register competition '%s': %d competitions already", def->name, MAX_DEFS);
  if (s == HG_OK) table.comps[table.n_comps++] = def;
  return s;
}

hg_status hg_option_parse(const hg_option_def *o, const char *text, const char *owner, float *value) {
  char *end;
  float v = strtof(text, &end);
  if (end == text || *end || !(o->min <= v && v <= o->max) || (o->integer && v != floorf(v)))
    return hg_fail(HG_ERR_ARG, "%s: %s = '%s' is not a%s number in [%g, %g]", owner, o->name, text,
                   o->integer ? " whole" : "", o->min, o->max);
  *value = v;
  return HG_OK;
}

/* What the listings show of a rule or a competition. */
typedef struct entry {
  const char *name, *doc;
  const char *const *aliases;
  const hg_option_def *options;
} entry;

static entry rule_entry(int i) {
  const hg_rule_def *d = table.rules[i];
  return (entry){d->name, d->doc, d->aliases, d->options};
}

static entry comp_entry(int i) {
  const hg_competition_def *d = table.comps[i];
  return (entry){d->name, d->doc, d->aliases, d->params};
}

/* "a, b (c), d": the names of n entries, aliases in parentheses. */
static void list_names(char *buf, size_t size, int n, entry (*at)(int)) {
  size_t used = 0;
  buf[0] = '\0';
  for (int i = 0; i < n && used < size; i++) {
    entry e = at(i);
    used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", e.name);
    for (int j = 0; j < HG_MAX_ALIASES && e.aliases[j] && used < size; j++)
      used += (size_t)snprintf(buf + used, size - used, "%s%s%s", j ? ", " : " (", e.aliases[j],
                               j + 1 == HG_MAX_ALIASES || !e.aliases[j + 1] ? ")" : "");
  }
}

const hg_rule_def *hg_rule_find(const char *name) {
  ensure_builtins();
  const hg_rule_def *def = rule_named(name);
  if (!def) {
    char known[1024];
    list_names(known, sizeof known, table.n_rules, rule_entry);
    hg_fail(HG_ERR_ARG, "rule '%s' is not registered; the rules are %s", name, known);
  }
  return def;
}

const hg_competition_def *hg_competition_find(const char *name) {
  ensure_builtins();
  const hg_competition_def *def = competition_named(name);
  if (!def) {
    char known[1024];
    list_names(known, sizeof known, table.n_comps, comp_entry);
    hg_fail(HG_ERR_ARG,
            "competition '%s' is not registered; the competitions are %s (k-NAME:N may be written N-NAME)",
            name, known);
  }
  return def;
}

int hg_rule_count(void) {
  ensure_builtins();
  return table.n_rules;
}

const hg_rule_def *hg_rule_at(int i) {
  ensure_builtins();
  return i >= 0 && i < table.n_rules ? table.rules[i] : NULL;
}

int hg_competition_count(void) {
  ensure_builtins();
  return table.n_comps;
}

const hg_competition_def *hg_competition_at(int i) {
  ensure_builtins();
  return i >= 0 && i < table.n_comps ? table.comps[i] : NULL;
}

/* Appends with snprintf's contract: *used grows by what the text needs. */
static void put(char *buf, size_t size, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put(char *buf, size_t size, size_t *used, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(*used < size ? buf + *used : NULL, *used < size ? size - *used : 0, fmt, ap);
  va_end(ap);
  *used += n > 0 ? (size_t)n : 0;
}

#define INDENT "                       "

/* "  name, alias     doc" and a line per option, when it has some. */
static void put_entry(char *buf, size_t size, size_t *used, entry e) {
  char head[64];
  int n = snprintf(head, sizeof head, "%s", e.name);
  for (int j = 0; j < HG_MAX_ALIASES && e.aliases[j] && n < (int)sizeof head; j++)
    n += snprintf(head + n, sizeof head - (size_t)n, ", %s", e.aliases[j]);
  put(buf, size, used, "  %-20s %s\n", head, e.doc);
  for (int i = 0; i < HG_MAX_OPTIONS && e.options[i].name; i++)
    put(buf, size, used, INDENT "%s=%g: %s\n", e.options[i].name, e.options[i].value, e.options[i].doc);
}

/* The aggregations a rule accepts, its default marked, and whether it competes. */
static void put_aggregations(char *buf, size_t size, size_t *used, const hg_rule_def *r) {
  static const char *const agg_names[] = {"sum", "mean", "avg"};
  unsigned aggs = r->aggregations ? r->aggregations : HG_AGG_BIT(HG_AGG_SUM);
  const char *sep = r->coefficients ? INDENT "takes no competition; aggregation: " : INDENT "aggregation: ";
  for (int a = HG_AGG_SUM; a <= HG_AGG_AVG; a++)
    if (aggs & HG_AGG_BIT(a)) {
      put(buf, size, used, "%s%s%s", sep, agg_names[a], a == (int)r->aggregation ? " (default)" : "");
      sep = ", ";
    }
  put(buf, size, used, "\n");
}

int hg_plasticity_help(char *buf, size_t size) {
  ensure_builtins();
  size_t used = 0;
  if (size) buf[0] = '\0';
  put(buf, size, &used,
      "Rules (RULE[/COMPETITION][/OPTION...], options NAME=VALUE; y: the competition's r, or u):\n");
  for (int i = 0; i < table.n_rules; i++) {
    put_entry(buf, size, &used, rule_entry(i));
    put_aggregations(buf, size, &used, table.rules[i]);
  }
  put(buf, size, &used, "Competitions (NAME[:P1[:P2...]], parameters in order; N-NAME is k-NAME:N):\n");
  for (int i = 0; i < table.n_comps; i++) put_entry(buf, size, &used, comp_entry(i));
  put(buf, size, &used,
      "Options of every rule: sum, mean, avg (aggregation), cosine (compete on u/(|w||x|)),\n"
      "  relu (y = relu(y)), unitnorm (w_k <- w_k/|w_k| after each step), prune=F (a fixed\n"
      "  random mask removes the fraction F of the weights)\n");
  return (int)used;
}
