/* The command-line layer (experiment/options.h): parsing every type, the
 * messages of bad values, presets and --help from one table; then every
 * program in examples/: its --help lists every entry of its table, and one
 * bad value of each type gets exit status 2 and a message that names the
 * program, the option and what was expected. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "examples/hybrid_sweep_options.h"
#include "examples/layer_probe_options.h"
#include "examples/plot_run_options.h"
#include "examples/retrain_top_options.h"
#include "examples/semisup_options.h"
#include "examples/train_options.h"
#include "tests/helpers.h"

/* ---- the layer, on a table of every type ---- */

typedef struct test_opts {
  hg_common_opts c;
  bool flag;
  int n;
  float x;
  const char *word, *schedule, *preset;
  unsigned set;
  hg_int_list list;
} test_opts;

static const char *const fast[] = {"--n", "7", "--flag", NULL};
static const char *const *const presets[] = {fast, NULL};

#define T(f) offsetof(test_opts, f)
static const hg_option table[] = {
    HG_SECTION("Things"),
    HG_SHARED("batch"),
    HG_SHARED("epochs"),
    HG_GROUP("Hebbian"),
    HG_FLAG("flag", T(flag), "a flag"),
    HG_INT("n", "N", T(n), "3", 1, 10, "an int"),
    HG_FLOAT("x", "F", T(x), "0.5", 0, 1, HG_OPT_OPEN_MAX, "a float"),
    HG_CHOICE("word", "W", T(word), "b", "a|b|c", "a choice"),
    HG_STRING("sched", "S", T(schedule), NULL, hg_check_schedule, "a checked string"),
    HG_CHOICES("set", "LIST", T(set), "a,c", "a|b|c", "words"),
    HG_INT_LIST("list", "LIST", T(list), "1,2", 1, 5, "ints"),
    HG_PRESET("preset", "P", T(preset), "fast", presets, "a preset"),
    HG_DEFAULT("epochs", "5"),
    HG_END};
#undef T
static const hg_cli cli = {.name = "prog", .usage = "usage: prog [options]\n\n", .options = table};

/* Parse the words (NULL-ended) into o. */
static hg_status parse(const hg_cli *c, test_opts *o, hg_cli_args *a, const char *const *words) {
  char *argv[32] = {"prog"};
  int argc = 1;
  while (words[argc - 1]) argv[argc] = (char *)words[argc - 1], argc++;
  *o = (test_opts){0};
  return hg_cli_parse(c, argc, argv, o, a);
}

/* A bad command line: HG_ERR_ARG with exactly this message. */
static void rejects(const char *const *words, const char *message) {
  test_opts o;
  hg_cli_args a;
  assert_int_equal(parse(&cli, &o, &a, words), HG_ERR_ARG);
  assert_string_equal(hg_last_error(), message);
}

static void test_defaults(void **state) {
  (void)state;
  test_opts o;
  hg_cli_args a;
  hgt_status(parse(&cli, &o, &a, (const char *[]){NULL}));
  assert_false(a.help);
  assert_int_equal(o.c.batch, 64); /* the shared default */
  assert_int_equal(o.c.epochs, 5); /* the table's own */
  assert_int_equal(o.c.hebb_epochs, 1); /* from the group */
  assert_string_equal(o.c.data.name, "fashion-mnist"); /* shared values not offered keep theirs */
  assert_true(o.c.data.zca_eps == 1e-2f && o.c.lr == 1e-3f);
  assert_false(o.flag);
  assert_int_equal(o.n, 3);
  assert_true(o.x == 0.5f);
  assert_string_equal(o.word, "b");
  assert_null(o.schedule);
  assert_int_equal(o.set, 5u);
  assert_int_equal(o.list.n, 2);
  assert_false(hg_cli_given(&a, "n"));
}

static void test_good_values_of_each_type(void **state) {
  (void)state;
  test_opts o;
  hg_cli_args a;
  hgt_status(parse(&cli, &o, &a,
                   (const char *[]){"--n", "10", "--x=0", "--word", "c", "--sched", "cosine:5", "--set", "b",
                                    "--list", "5,3", "--flag", "--batch", "1", "--epochs", "0", "--hebb-lr", "2",
                                    NULL}));
  assert_int_equal(o.n, 10);
  assert_true(o.x == 0);
  assert_string_equal(o.word, "c");
  assert_string_equal(o.schedule, "cosine:5");
  assert_int_equal(o.set, 2u);
  assert_int_equal(o.list.n, 2);
  assert_int_equal(o.list.v[0], 5);
  assert_int_equal(o.list.v[1], 3);
  assert_true(o.flag);
  assert_int_equal(o.c.batch, 1);
  assert_int_equal(o.c.epochs, 0);
  assert_true(o.c.hebb_lr == 2);
  assert_true(hg_cli_given(&a, "n") && hg_cli_given(&a, "batch") && !hg_cli_given(&a, "preset"));
}

static void test_bad_values_name_option_and_expectation(void **state) {
  (void)state;
  rejects((const char *[]){"--n", "11", NULL}, "prog: --n 11: expected an integer from 1 to 10");
  rejects((const char *[]){"--n", "2x", NULL}, "prog: --n 2x: expected an integer from 1 to 10");
  rejects((const char *[]){"--batch", "0", NULL}, "prog: --batch 0: expected an integer from 1 to 65536");
  rejects((const char *[]){"--x", "abc", NULL}, "prog: --x abc: expected a number in [0, 1)");
  rejects((const char *[]){"--x", "1", NULL}, "prog: --x 1: expected a number in [0, 1)");
  rejects((const char *[]){"--x", "nan", NULL}, "prog: --x nan: expected a number in [0, 1)");
  rejects((const char *[]){"--word", "d", NULL}, "prog: --word d: expected one of a, b, c");
  rejects((const char *[]){"--set", "a,d", NULL}, "prog: --set a,d: expected words from a, b, c, separated by commas");
  rejects((const char *[]){"--list", "1,1", NULL},
          "prog: --list 1,1: expected distinct integers from 1 to 5, separated by commas");
  rejects((const char *[]){"--list", "6", NULL},
          "prog: --list 6: expected distinct integers from 1 to 5, separated by commas");
  rejects((const char *[]){"--preset", "slow", NULL}, "prog: --preset slow: expected one of fast");
  rejects((const char *[]){"--nope", NULL}, "prog: unknown option --nope (see --help)");
  rejects((const char *[]){"--flag=yes", NULL}, "prog: --flag takes no value");
  rejects((const char *[]){"--n", NULL}, "prog: --n needs a value: an integer from 1 to 10");
  rejects((const char *[]){"extra", NULL}, "prog: unexpected argument 'extra' (see --help)");
  test_opts o;
  hg_cli_args a;
  assert_int_equal(parse(&cli, &o, &a, (const char *[]){"--sched", "weekly", NULL}), HG_ERR_ARG);
  hgt_error_mentions("prog: --sched weekly: ", "schedule");
}

static void test_preset_then_command_line(void **state) {
  (void)state;
  test_opts o;
  hg_cli_args a;
  hgt_status(parse(&cli, &o, &a, (const char *[]){"--n", "9", "--preset", "fast", NULL}));
  assert_int_equal(o.n, 9); /* given explicitly: wins over the preset, wherever it stands */
  assert_true(o.flag);      /* from the preset */
  assert_true(hg_cli_given(&a, "flag") && hg_cli_given(&a, "preset") && !hg_cli_given(&a, "x"));
}

static void test_help_stops_parsing(void **state) {
  (void)state;
  test_opts o;
  hg_cli_args a;
  hgt_status(parse(&cli, &o, &a, (const char *[]){"--help", "--nope", NULL}));
  assert_true(a.help);
}

/* Does text list option `name` at the start of a help line? */
static bool lists(const char *text, const char *name) {
  char head[80];
  snprintf(head, sizeof head, "\n  --%s", name);
  for (const char *p = strstr(text, head); p; p = strstr(p + 1, head)) {
    char after = p[strlen(head)];
    if (after == ' ' || after == '\n') return true;
  }
  return false;
}

static void test_help_from_the_table(void **state) {
  (void)state;
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  assert_non_null(f);
  hgt_status(hg_cli_help(&cli, f));
  fclose(f);
  assert_true(!strncmp(text, "usage: prog [options]\n\nThings\n", 30));
  hg_option e[HG_OPT_MAX];
  int n = hg_cli_options(&cli, e);
  assert_int_equal(n, 13); /* the section, 2 shared, 2 of the group, 8 of its own */
  for (int i = 1; i < n; i++)
    if (!lists(text, e[i].name)) fail_msg("--%s is not in the help:\n%s", e[i].name, text);
  assert_true(lists(text, "hebb-epochs") && lists(text, "hebb-lr"));
  assert_non_null(strstr(text, "--n N"));
  assert_non_null(strstr(text, "an int (default 3)"));
  assert_non_null(strstr(text, "(default 5)")); /* the table's own default of the shared --epochs */
  assert_non_null(strstr(text, "fast: --n 7 --flag"));
  assert_true(lists(text, "help"));
  free(text);
}

static const hg_option bad_shared[] = {HG_SHARED("no-such-option"), HG_END};
static const hg_option bad_group[] = {HG_GROUP("No such group"), HG_END};
static const hg_option default_of_nothing[] = {HG_SHARED("lr"), HG_DEFAULT("batch", "8"), HG_END};
static const hg_option bad_default[] = {HG_INT("n", "N", offsetof(test_opts, n), "0", 1, 10, "n"), HG_END};

static hg_status refuse(void *opts, const hg_cli_args *a) {
  (void)opts, (void)a;
  return hg_fail(HG_ERR_ARG, "--n and --x disagree");
}

static void test_table_errors_and_finish(void **state) {
  (void)state;
  test_opts o;
  hg_cli_args a;
  hg_cli bad = {.name = "prog", .usage = "", .options = bad_shared};
  assert_int_equal(parse(&bad, &o, &a, (const char *[]){NULL}), HG_ERR_ARG);
  hgt_error_mentions("prog: ", "'no-such-option'");
  bad.options = bad_group;
  assert_int_equal(parse(&bad, &o, &a, (const char *[]){NULL}), HG_ERR_ARG);
  hgt_error_mentions("prog: ", "'No such group'");
  bad.options = default_of_nothing;
  assert_int_equal(parse(&bad, &o, &a, (const char *[]){NULL}), HG_ERR_ARG);
  hgt_error_mentions("prog: ", "--batch");
  bad.options = bad_default;
  assert_int_equal(parse(&bad, &o, &a, (const char *[]){NULL}), HG_ERR_ARG);
  hgt_error_mentions("the default of --n", "'0'");
  hg_cli checked = cli;
  checked.finish = refuse;
  assert_int_equal(parse(&checked, &o, &a, (const char *[]){NULL}), HG_ERR_ARG);
  assert_string_equal(hg_last_error(), "prog: --n and --x disagree");
}

/* ---- every program ---- */

static const hg_cli *const programs[] = {&train_cli,       &hybrid_sweep_cli, &semisup_cli,
                                         &layer_probe_cli, &retrain_top_cli,  &plot_run_cli};
#define N_PROGRAMS (int)(sizeof programs / sizeof *programs)

/* Run the program with the words (each quoted); its output and exit status. */
static char *run(const hg_cli *p, const char *words, int *status) {
  const char *dir = getenv("HG_BIN_DIR");
  if (!dir) {
    print_message("HG_BIN_DIR not set: test skipped\n");
    skip();
  }
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "'%s/%s' %s 2>&1", dir, p->name, words);
  FILE *f = popen(cmd, "r");
  assert_non_null(f);
  size_t size = 0, cap = 1 << 16;
  char *text = malloc(cap);
  size_t got;
  while (text && (got = fread(text + size, 1, cap - 1 - size, f)) > 0) size += got;
  int rc = pclose(f);
  assert_non_null(text);
  text[size] = '\0';
  *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return text;
}

static void test_every_program_lists_its_table(void **state) {
  (void)state;
  for (int k = 0; k < N_PROGRAMS; k++) {
    const hg_cli *p = programs[k];
    int status;
    char *text = run(p, "--help", &status);
    if (status != 0) fail_msg("%s --help: exit %d\n%s", p->name, status, text);
    hg_option e[HG_OPT_MAX];
    int n = hg_cli_options(p, e);
    if (n < 0) fail_msg("%s", hg_last_error());
    for (int i = 0; i < n; i++) {
      bool section = e[i].type == HG_OPT_SECTION;
      if (!(section ? strstr(text, e[i].name) != NULL : lists(text, e[i].name)))
        fail_msg("%s --help does not list %s:\n%s", p->name, e[i].name, text);
      for (int j = 0; j < i && !section; j++) /* and no name twice */
        if (e[j].type != HG_OPT_SECTION && !strcmp(e[i].name, e[j].name))
          fail_msg("%s has --%s twice", p->name, e[i].name);
    }
    free(text);
  }
}

/* Does text name every word of "a|b|c"? */
static bool names_every_word(const char *text, const char *choices) {
  for (const char *w = choices; w && *w; w += strcspn(w, "|") + (w[strcspn(w, "|")] == '|')) {
    char word[64];
    snprintf(word, sizeof word, "%.*s", (int)strcspn(w, "|"), w);
    if (!strstr(text, word)) return false;
  }
  return true;
}

/* A value of e's type that e refuses, and how the message then says what
 * was expected (strings: the check's own reason, not compared); false for
 * a flag or an unchecked string. */
static bool bad_value(const hg_option *e, char *value, char *expect) {
  switch (e->type) {
    case HG_OPT_INT:
      sprintf(value, "%.0f", e->max + 1);
      sprintf(expect, "expected an integer from %.0f to %.0f", e->min, e->max);
      return true;
    case HG_OPT_FLOAT:
      sprintf(value, "abc");
      sprintf(expect, "expected a number ");
      return true;
    case HG_OPT_CHOICE:
    case HG_OPT_PRESET:
    case HG_OPT_CHOICES: /* and every word, checked apart */
      sprintf(value, "no-such-word");
      sprintf(expect, e->type == HG_OPT_CHOICES ? "expected words from " : "expected one of ");
      return true;
    case HG_OPT_INT_LIST:
      sprintf(value, "%.0f", e->min - 1);
      sprintf(expect, "expected distinct integers from %.0f to %.0f, separated by commas", e->min, e->max);
      return true;
    case HG_OPT_STRING: /* no rule, schedule, readable file or plain name */
      sprintf(value, "/no/such:rule,x");
      expect[0] = '\0';
      return e->check != NULL;
    default: return false;
  }
}

static void test_every_program_rejects_bad_values(void **state) {
  (void)state;
  for (int k = 0; k < N_PROGRAMS; k++) {
    const hg_cli *p = programs[k];
    bool tried[HG_OPT_PRESET + 1] = {false};
    hg_option all[HG_OPT_MAX];
    int n = hg_cli_options(p, all);
    for (int i = 0; i < n; i++) {
      hg_option e = all[i];
      char value[64], expect[400], words[200], message[600];
      bool flag = e.type == HG_OPT_FLAG;
      if (tried[e.type] || !(flag || bad_value(&e, value, expect))) continue;
      tried[e.type] = true; /* one bad value per type and program */
      snprintf(words, sizeof words, flag ? "--%s=yes" : "--%s '%s'", e.name, value);
      if (flag) snprintf(message, sizeof message, "%s: --%s takes no value\n", p->name, e.name);
      else snprintf(message, sizeof message, "%s: --%s %s: %s", p->name, e.name, value, expect);
      int status;
      char *text = run(p, words, &status);
      bool named = !e.choices || names_every_word(text, e.choices);
      if (status != 2 || strncmp(text, message, strlen(message)) || !strchr(text, '\n') || !named)
        fail_msg("%s %s: exit %d, said \"%s\", expected exit 2 and \"%s…\"", p->name, words, status, text, message);
      free(text);
    }
    int status;
    char *text = run(p, "--no-such-option", &status);
    char message[200];
    snprintf(message, sizeof message, "%s: unknown option --no-such-option (see --help)\n", p->name);
    if (status != 2 || strcmp(text, message)) fail_msg("%s: exit %d, said \"%s\"", p->name, status, text);
    free(text);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_good_values_of_each_type),
      cmocka_unit_test(test_bad_values_name_option_and_expectation),
      cmocka_unit_test(test_preset_then_command_line),
      cmocka_unit_test(test_help_stops_parsing),
      cmocka_unit_test(test_help_from_the_table),
      cmocka_unit_test(test_table_errors_and_finish),
      cmocka_unit_test(test_every_program_lists_its_table),
      cmocka_unit_test(test_every_program_rejects_bad_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
