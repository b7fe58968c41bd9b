/* --help, made from a program's table: its usage, then every option with
 * its help and default, under the table's section titles. */
#include <string.h>

#include "experiment/options.h"
#include "hebb/registry.h"

#define HELP_COLUMN 20 /* width of "--name ARG" before the help text */
#define TEXT_WIDTH 76  /* of a help line after that */
#define WRAP 100       /* preset lines wrap before this column */

/* Help lines, the first after the option's name, the others indented to
 * it; tail (the default) ends the last line, or a line of its own when that
 * would grow too long. */
static void help_lines(FILE *f, const char *text, const char *tail) {
  for (const char *p = text;;) {
    size_t n = strcspn(p, "\n");
    bool last = !p[n], apart = last && *tail && n + strlen(tail) > TEXT_WIDTH;
    fprintf(f, "%.*s%s\n", (int)n, p, last && !apart ? tail : "");
    if (apart) fprintf(f, "  %-*s%s\n", HELP_COLUMN, "", tail);
    if (last) return;
    p += n + 1;
    fprintf(f, "  %-*s ", HELP_COLUMN, "");
  }
}

/* A preset's option words after "NAME:" (name[0..len)), wrapped below the help column. */
static void preset_lines(FILE *f, const char *name, int len, const char *const *words) {
  int col = fprintf(f, "  %-*s   %.*s:", HELP_COLUMN, "", len, name);
  for (int i = 0; words[i]; i++) {
    bool pair = words[i][0] == '-' && words[i + 1] && words[i + 1][0] != '-';
    int width = (int)strlen(words[i]) + (pair ? 1 + (int)strlen(words[i + 1]) : 0);
    if (col + 1 + width > WRAP) col = fprintf(f, "\n  %-*s     ", HELP_COLUMN, "") - 1;
    col += fprintf(f, " %s%s%s", words[i], pair ? " " : "", pair ? words[i + 1] : "");
    i += pair;
  }
  fputc('\n', f);
}

static void help_entry(FILE *f, const hg_option *o) {
  char head[128], tail[160] = "";
  bool value = o->type != HG_OPT_FLAG;
  snprintf(head, sizeof head, "--%s%s%s", o->name, value ? " " : "", value ? o->arg : "");
  if (o->def) snprintf(tail, sizeof tail, " (default %s)", o->def);
  if ((int)strlen(head) > HELP_COLUMN) fprintf(f, "  %s\n  %-*s ", head, HELP_COLUMN, "");
  else fprintf(f, "  %-*s ", HELP_COLUMN, head);
  help_lines(f, o->help, tail);
  const char *word = o->choices;
  for (int i = 0; o->type == HG_OPT_PRESET && o->presets[i]; i++, word += strcspn(word, "|") + 1)
    preset_lines(f, word, (int)strcspn(word, "|"), o->presets[i]);
}

hg_status hg_cli_help(const hg_cli *cli, FILE *f) {
  hg_option o[HG_OPT_MAX];
  int n = hg_cli_options(cli, o);
  if (n < 0) return hg_last_status();
  fputs(cli->usage, f);
  for (int i = 0; i < n; i++) {
    if (o[i].type == HG_OPT_SECTION) fprintf(f, "%s\n", o[i].name);
    else help_entry(f, &o[i]);
  }
  fprintf(f, "  %-*s this text\n", HELP_COLUMN, "--help");
  for (int i = 0; i < n; i++)
    if (o[i].type != HG_OPT_SECTION && !strcmp(o[i].name, "hebb")) { /* the registry's rules */
      char rules[8192];
      hg_plasticity_help(rules, sizeof rules);
      fprintf(f, "\n%s", rules);
      break;
    }
  return HG_OK;
}
