#include "experiment/options.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Entry `name` of the shared table (a section when `section`), or NULL. */
static const hg_option *shared_entry(const char *name, bool section) {
  for (const hg_option *o = hg_shared_options; o->type != HG_OPT_END; o++)
    if ((o->type == HG_OPT_SECTION) == section && !strcmp(o->name, name)) return o;
  return NULL;
}

/* e appended to out[0..n): the new count, or −1 (error set) past HG_OPT_MAX. */
static int append(const hg_cli *cli, const hg_option *e, hg_option *out, int n) {
  if (n == HG_OPT_MAX) {
    hg_fail(HG_ERR_ARG, "%s: more than %d options", cli->name, HG_OPT_MAX);
    return -1;
  }
  out[n] = *e;
  return n + 1;
}

/* A shared entry, or the entries of a shared section, appended. */
static int expand(const hg_cli *cli, const hg_option *e, hg_option *out, int n) {
  bool group = e->type == HG_OPT_GROUP;
  const hg_option *s = shared_entry(e->name, group);
  if (!s) {
    hg_fail(HG_ERR_ARG, "%s: the option table names %s '%s', which is not shared", cli->name,
            group ? "the group" : "the option", e->name);
    return -1;
  }
  if (!group) return append(cli, s, out, n);
  for (s++; n >= 0 && s->type != HG_OPT_END && s->type != HG_OPT_SECTION; s++) n = append(cli, s, out, n);
  return n;
}

/* Give entry `name` of out[0..n) the default def. */
static bool set_default(const hg_cli *cli, hg_option *out, int n, const char *name, const char *def) {
  for (int i = 0; i < n; i++)
    if (out[i].type != HG_OPT_SECTION && !strcmp(out[i].name, name)) {
      out[i].def = def;
      return true;
    }
  hg_fail(HG_ERR_ARG, "%s: the option table gives a default to --%s, which it does not have", cli->name, name);
  return false;
}

int hg_cli_options(const hg_cli *cli, hg_option *out) {
  int n = 0;
  for (const hg_option *e = cli->options; e->type != HG_OPT_END && n >= 0; e++) {
    if (e->type == HG_OPT_SHARED || e->type == HG_OPT_GROUP) n = expand(cli, e, out, n);
    else if (e->type != HG_OPT_DEFAULT) n = append(cli, e, out, n);
  }
  for (const hg_option *e = cli->options; e->type != HG_OPT_END && n >= 0; e++)
    if (e->type == HG_OPT_DEFAULT && !set_default(cli, out, n, e->name, e->def)) n = -1;
  return n;
}

static bool takes_value(const hg_option *o) { return o->type != HG_OPT_FLAG; }

/* ---- values ---- */

/* Index of word[0..len) among "a|b|c", or −1. */
static int choice_index(const char *choices, const char *word, size_t len) {
  const char *p = choices;
  for (int i = 0;; i++) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n == len && !strncmp(p, word, len)) return i;
    if (!bar) return -1;
    p = bar + 1;
  }
}

/* "a, b, c" from "a|b|c". */
static const char *choice_list(const char *choices, char *buf, size_t size) {
  size_t k = 0;
  for (const char *p = choices; *p && k + 3 < size; p++) {
    if (*p == '|') buf[k++] = ',', buf[k++] = ' ';
    else buf[k++] = *p;
  }
  buf[k] = '\0';
  return buf;
}

/* What a value of o must be, for messages: "an integer from 1 to 65536". */
static const char *expected(const hg_option *o, char *buf, size_t size) {
  char list[256];
  bool lo_open = o->open & HG_OPT_OPEN_MIN, hi_open = o->open & HG_OPT_OPEN_MAX;
  switch (o->type) {
    case HG_OPT_INT: snprintf(buf, size, "an integer from %.0f to %.0f", o->min, o->max); break;
    case HG_OPT_FLOAT:
      if (o->max == HUGE_VAL) snprintf(buf, size, "a number %s %g", lo_open ? ">" : ">=", o->min);
      else snprintf(buf, size, "a number in %c%g, %g%c", lo_open ? '(' : '[', o->min, o->max, hi_open ? ')' : ']');
      break;
    case HG_OPT_CHOICE:
    case HG_OPT_PRESET: snprintf(buf, size, "one of %s", choice_list(o->choices, list, sizeof list)); break;
    case HG_OPT_CHOICES:
      snprintf(buf, size, "words from %s, separated by commas", choice_list(o->choices, list, sizeof list));
      break;
    case HG_OPT_INT_LIST:
      snprintf(buf, size, "distinct integers from %.0f to %.0f, separated by commas", o->min, o->max);
      break;
    default: snprintf(buf, size, "%s", o->arg ? o->arg : "a value");
  }
  return buf;
}

static bool parse_int(const hg_option *o, const char *v, int *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x < o->min || x > o->max) return false;
  *out = (int)x;
  return true;
}

static bool parse_float(const hg_option *o, const char *v, float *out) {
  char *end;
  double x = strtod(v, &end);
  bool lo_open = o->open & HG_OPT_OPEN_MIN, hi_open = o->open & HG_OPT_OPEN_MAX;
  if (!*v || *end || !isfinite(x) || x < o->min || x > o->max || (lo_open && x == o->min) ||
      (hi_open && x == o->max))
    return false;
  *out = (float)x;
  return true;
}

/* Comma-separated words of o->choices into a bit mask. */
static bool parse_choices(const hg_option *o, const char *v, unsigned *out) {
  unsigned mask = 0;
  for (const char *p = v;; p++) {
    size_t n = strcspn(p, ",");
    int i = choice_index(o->choices, p, n);
    if (i < 0 || i >= 32) return false;
    mask |= 1u << i;
    p += n;
    if (!*p) break;
  }
  *out = mask;
  return true;
}

static bool parse_int_list(const hg_option *o, const char *v, hg_int_list *out) {
  hg_int_list l = {0};
  for (const char *p = v;;) {
    char *end;
    long x = strtol(p, &end, 10);
    bool repeat = false;
    for (int i = 0; i < l.n; i++) repeat |= l.v[i] == x;
    if (end == p || (*end != ',' && *end) || x < o->min || x > o->max || repeat || l.n == HG_INT_LIST_MAX)
      return false;
    l.v[l.n++] = (int)x;
    if (!*end) break;
    p = end + 1;
  }
  *out = l;
  return true;
}

/* Store v (NULL for a flag) as o's value in opts; false when it is not valid. */
static bool set_value(const hg_option *o, const char *v, void *opts) {
  void *field = (char *)opts + o->offset;
  switch (o->type) {
    case HG_OPT_FLAG: return *(bool *)field = true;
    case HG_OPT_INT: return parse_int(o, v, field);
    case HG_OPT_FLOAT: return parse_float(o, v, field);
    case HG_OPT_CHOICES: return parse_choices(o, v, field);
    case HG_OPT_INT_LIST: return parse_int_list(o, v, field);
    case HG_OPT_CHOICE:
    case HG_OPT_PRESET:
      if (choice_index(o->choices, v, strlen(v)) < 0) return false;
      break;
    case HG_OPT_STRING:
      if (o->check && o->check(v) != HG_OK) return false;
      break;
    default: return false;
  }
  *(const char **)field = v;
  return true;
}

/* The zero of o's type when it has no default. */
static void clear_value(const hg_option *o, void *opts) {
  void *field = (char *)opts + o->offset;
  switch (o->type) {
    case HG_OPT_FLAG: *(bool *)field = false; break;
    case HG_OPT_INT: *(int *)field = 0; break;
    case HG_OPT_FLOAT: *(float *)field = 0; break;
    case HG_OPT_CHOICES: *(unsigned *)field = 0; break;
    case HG_OPT_INT_LIST: ((hg_int_list *)field)->n = 0; break;
    default: *(const char **)field = NULL;
  }
}

/* A command line being parsed: the program's flat table, where the values
 * go and what was found. */
typedef struct parser {
  const hg_cli *cli;
  int n;
  hg_option o[HG_OPT_MAX];
  void *opts;
  hg_cli_args *a;
} parser;

/* "PROG: --NAME VALUE: expected …", or the check's own reason for a string. */
static hg_status bad_value(const parser *p, const hg_option *o, const char *v) {
  char what[512], want[320];
  if (o->type == HG_OPT_STRING) snprintf(what, sizeof what, "%s", hg_last_error());
  else snprintf(what, sizeof what, "expected %s", expected(o, want, sizeof want));
  return hg_fail(HG_ERR_ARG, "%s: --%s %s: %s", p->cli->name, o->name, v, what);
}

static hg_status bad_default(const parser *p, const hg_option *o) {
  return hg_fail(HG_ERR_ARG, "%s: the default of --%s, '%s', is not valid", p->cli->name, o->name, o->def);
}

/* Every shared value to its default (also those the program does not
 * offer), then every entry of the table to its own; nothing given. */
static hg_status set_defaults(parser *p) {
  *p->a = (hg_cli_args){.cli = p->cli};
  *(hg_common_opts *)p->opts = (hg_common_opts){0};
  for (const hg_option *o = hg_shared_options; o->type != HG_OPT_END; o++)
    if (o->type != HG_OPT_SECTION && o->def && !set_value(o, o->def, p->opts)) return bad_default(p, o);
  for (int i = 0; i < p->n; i++) {
    const hg_option *o = &p->o[i];
    if (o->type == HG_OPT_SECTION) continue;
    if (!o->def) clear_value(o, p->opts);
    else if (!set_value(o, o->def, p->opts)) return bad_default(p, o);
  }
  return HG_OK;
}

/* ---- words ---- */

/* Index of the option called name[0..len) in o[0..n), or −1. */
static int find(const hg_option *o, int n, const char *name, size_t len) {
  for (int i = 0; i < n; i++)
    if (o[i].type != HG_OPT_SECTION && strlen(o[i].name) == len && !strncmp(o[i].name, name, len)) return i;
  return -1;
}

static hg_status take_operand(parser *p, const char *w) {
  const hg_cli *cli = p->cli;
  if (!cli->operand) return hg_fail(HG_ERR_ARG, "%s: unexpected argument '%s' (see --help)", cli->name, w);
  if (p->a->operand)
    return hg_fail(HG_ERR_ARG, "%s: expected one %s, got '%s' and '%s'", cli->name, cli->operand, p->a->operand, w);
  p->a->operand = w;
  return HG_OK;
}

/* The option at w[*i] (with its value from the word or the next one); *i
 * moves past them. */
static hg_status parse_option(parser *p, int n, const char *const *w, int *i) {
  const char *name = w[(*i)++] + 2, *eq = strchr(name, '='), *prog = p->cli->name;
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  char want[320];
  if (len == 4 && !strncmp(name, "help", 4)) return p->a->help = true, HG_OK;
  int k = find(p->o, p->n, name, len);
  if (k < 0) return hg_fail(HG_ERR_ARG, "%s: unknown option --%.*s (see --help)", prog, (int)len, name);
  const hg_option *o = &p->o[k];
  if (!takes_value(o) && eq) return hg_fail(HG_ERR_ARG, "%s: --%s takes no value", prog, o->name);
  const char *v = eq ? eq + 1 : NULL;
  if (takes_value(o) && !v && *i < n) v = w[(*i)++];
  if (takes_value(o) && !v)
    return hg_fail(HG_ERR_ARG, "%s: --%s needs a value: %s", prog, o->name, expected(o, want, sizeof want));
  if (!set_value(o, v, p->opts)) return bad_value(p, o, v);
  p->a->given[k] = true;
  return HG_OK;
}

/* The words w[0..n) (n < 0: up to a NULL); "--" ends the options. */
static hg_status parse_words(parser *p, int n, const char *const *w) {
  if (n < 0)
    for (n = 0; w[n];) n++;
  hg_status s = HG_OK;
  bool operands_only = false;
  for (int i = 0; i < n && s == HG_OK && !p->a->help;) {
    if (!operands_only && !strcmp(w[i], "--")) operands_only = true, i++;
    else if (!operands_only && !strncmp(w[i], "--", 2)) s = parse_option(p, n, w, &i);
    else s = take_operand(p, w[i++]);
  }
  return s;
}

/* The option words of the preset that was given, or NULL. */
static const char *const *given_preset(const parser *p) {
  for (int i = 0; i < p->n; i++) {
    const hg_option *o = &p->o[i];
    if (!p->a->given[i] || o->type != HG_OPT_PRESET) continue;
    const char *word = *(const char *const *)((const char *)p->opts + o->offset);
    return o->presets[choice_index(o->choices, word, strlen(word))];
  }
  return NULL;
}

/* What is checked once the words are parsed: the operand, cli->finish. */
static hg_status finish(const parser *p) {
  const hg_cli *cli = p->cli;
  if (p->a->help) return HG_OK;
  if (cli->operand && !p->a->operand)
    return hg_fail(HG_ERR_ARG, "%s: expected %s (see --help)", cli->name, cli->operand);
  if (!cli->finish || cli->finish(p->opts, p->a) == HG_OK) return HG_OK;
  char why[512];
  snprintf(why, sizeof why, "%s", hg_last_error());
  return hg_fail(HG_ERR_ARG, "%s: %s", cli->name, why);
}

hg_status hg_cli_parse(const hg_cli *cli, int argc, char **argv, void *opts, hg_cli_args *a) {
  parser p = {.cli = cli, .opts = opts, .a = a};
  p.n = hg_cli_options(cli, p.o);
  const char *const *words = (const char *const *)argv + 1;
  hg_status s = p.n < 0 ? hg_last_status() : set_defaults(&p);
  if (s == HG_OK) s = parse_words(&p, argc - 1, words);
  const char *const *preset = s == HG_OK && !a->help ? given_preset(&p) : NULL;
  if (preset) { /* again: the defaults, the preset's words, then the command line over them */
    s = set_defaults(&p);
    if (s == HG_OK) s = parse_words(&p, -1, preset);
    if (s == HG_OK) s = parse_words(&p, argc - 1, words);
  }
  return s == HG_OK ? finish(&p) : s;
}

bool hg_cli_given(const hg_cli_args *a, const char *name) {
  hg_option o[HG_OPT_MAX];
  int n = hg_cli_options(a->cli, o), k = n < 0 ? -1 : find(o, n, name, strlen(name));
  return k >= 0 && a->given[k];
}

int hg_cli_start(const hg_cli *cli, int argc, char **argv, void *opts, hg_cli_args *a, FILE *out, FILE *err) {
  hg_status s = hg_cli_parse(cli, argc, argv, opts, a);
  if (s == HG_OK && !a->help) return -1;
  if (s == HG_OK) s = hg_cli_help(cli, out);
  if (s == HG_OK) return 0;
  fprintf(err, "%s\n", hg_last_error());
  return 2;
}

int hg_cli_status(const hg_cli *cli, hg_status s, FILE *err) {
  if (s == HG_OK) return 0;
  fprintf(err, "%s: %s\n", cli->name, hg_last_error());
  return 1;
}
