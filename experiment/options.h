/* One command-line layer for the programs: each program describes its
 * options in one table — its own entries, references to the entries all
 * programs share (hg_shared_options) and its own defaults for them — and
 * parsing, validation, presets, --help and the error messages all come from
 * it (docs/architecture.md, "Command line"). A value goes to `offset` in the
 * program's options struct, whose first member is an hg_common_opts (the
 * values of the shared entries). Errors name the program, the option and
 * what was expected ("train: --batch 0: expected an integer from 1 to
 * 65536"); the program prints them and exits with status 2. */
#ifndef HG_OPTIONS_H
#define HG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "data/prepare.h"

typedef enum hg_opt_type {
  HG_OPT_END,      /* ends a table */
  HG_OPT_SECTION,  /* a heading of --help: `name` is its title */
  HG_OPT_SHARED,   /* the shared entry `name` */
  HG_OPT_GROUP,    /* the entries of the shared section titled `name` */
  HG_OPT_DEFAULT,  /* the program's default `def` for its option `name` */
  HG_OPT_FLAG,     /* no value: bool ← true */
  HG_OPT_INT,      /* int in [min, max] */
  HG_OPT_FLOAT,    /* float in [min, max], ends excluded by `open`; max HUGE_VAL: no bound */
  HG_OPT_STRING,   /* const char *, the argument itself, accepted by `check` when set */
  HG_OPT_CHOICE,   /* const char *: one of the words of `choices` */
  HG_OPT_CHOICES,  /* unsigned: bit i set for word i of `choices`, given comma-separated */
  HG_OPT_INT_LIST, /* hg_int_list: distinct ints in [min, max], comma-separated */
  HG_OPT_PRESET    /* a word of `choices`; its option words (`presets`) are parsed first */
} hg_opt_type;

enum { HG_OPT_OPEN_MIN = 1, HG_OPT_OPEN_MAX = 2 };
enum { HG_INT_LIST_MAX = 16, HG_OPT_MAX = 96 };

typedef struct hg_int_list {
  int n;
  int v[HG_INT_LIST_MAX];
} hg_int_list;

typedef struct hg_option {
  hg_opt_type type;
  const char *name;    /* without "--" */
  const char *arg;     /* the value's placeholder in --help: N, F, FILE, … */
  size_t offset;       /* of the value in the program's options struct */
  const char *def;     /* default, written as on the command line (NULL: zero, NULL, none) */
  const char *help;    /* lines separated by '\n'; --help adds "(default DEF)" */
  double min, max;     /* numbers and lists */
  int open;            /* HG_OPT_OPEN_MIN | HG_OPT_OPEN_MAX */
  const char *choices; /* "demo|paper" */
  const char *const *const *presets;     /* per word of choices, its option words, NULL-ended */
  hg_status (*check)(const char *value); /* strings: HG_OK or a failure saying why */
} hg_option;

typedef struct hg_cli_args hg_cli_args;

/* A program: its name (the first word of every message), the text before
 * the options, the table, its operand (NULL: none; else exactly one) and
 * what it checks and derives after parsing (NULL: nothing; a failure's
 * message is given the program's name). */
typedef struct hg_cli {
  const char *name;
  const char *usage;
  const hg_option *options;
  const char *operand;
  hg_status (*finish)(void *opts, const hg_cli_args *a);
} hg_cli;

/* What a parse found besides the values. */
struct hg_cli_args {
  const hg_cli *cli;        /* the program parsed */
  bool help;                /* --help was given (nothing else was parsed) */
  const char *operand;      /* the operand, when the program takes one */
  bool given[HG_OPT_MAX];   /* per option (hg_cli_options): set on the command line or by a preset */
};

/* The values of the shared options; first member of every program's options. */
typedef struct hg_common_opts {
  hg_data_opts data;        /* --data --data-dir --val --limit-train --limit-test --zca --zca-eps --zca-cache */
  const char *out, *model, *hebb, *schedule, *metric, *from, *label, *triangle_powers, *conv;
  int seed, batch, threads, epochs, hebb_epochs, patience, steps;
  float lr, hebb_lr, momentum, weight_decay, dropout;
  bool modified_bn, check_finite;
  char zca_default[1100]; /* the default --zca-cache, OUT/zca-DATA.safetensors (hg_common_prepare) */
} hg_common_opts;

/* The shared entries, in sections that are groups (Data, Run, Nets and rules,
 * SGD, Hebbian, Training), ended by HG_OPT_END. */
extern const hg_option hg_shared_options[];

/* Table entries. OFF is offsetof(the options struct, field). */
#define HG_SHARED(NAME) {.type = HG_OPT_SHARED, .name = NAME}
#define HG_GROUP(TITLE) {.type = HG_OPT_GROUP, .name = TITLE}
#define HG_DEFAULT(NAME, DEF) {.type = HG_OPT_DEFAULT, .name = NAME, .def = DEF}
#define HG_SECTION(TITLE) {.type = HG_OPT_SECTION, .name = TITLE}
#define HG_FLAG(NAME, OFF, HELP) {.type = HG_OPT_FLAG, .name = NAME, .offset = OFF, .help = HELP}
#define HG_INT(NAME, ARG, OFF, DEF, MIN, MAX, HELP) \
  {.type = HG_OPT_INT, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .min = MIN, .max = MAX, .help = HELP}
#define HG_FLOAT(NAME, ARG, OFF, DEF, MIN, MAX, OPEN, HELP)                                              \
  {.type = HG_OPT_FLOAT, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .min = MIN, .max = MAX, \
   .open = OPEN, .help = HELP}
#define HG_STRING(NAME, ARG, OFF, DEF, CHECK, HELP) \
  {.type = HG_OPT_STRING, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .check = CHECK, .help = HELP}
#define HG_CHOICE(NAME, ARG, OFF, DEF, CHOICES, HELP) \
  {.type = HG_OPT_CHOICE, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .choices = CHOICES, .help = HELP}
#define HG_CHOICES(NAME, ARG, OFF, DEF, CHOICES, HELP) \
  {.type = HG_OPT_CHOICES, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .choices = CHOICES, .help = HELP}
#define HG_INT_LIST(NAME, ARG, OFF, DEF, MIN, MAX, HELP)                                                   \
  {.type = HG_OPT_INT_LIST, .name = NAME, .arg = ARG, .offset = OFF, .def = DEF, .min = MIN, .max = MAX, \
   .help = HELP}
#define HG_PRESET(NAME, ARG, OFF, CHOICES, PRESETS, HELP)                                                    \
  {.type = HG_OPT_PRESET, .name = NAME, .arg = ARG, .offset = OFF, .choices = CHOICES, .presets = PRESETS, \
   .help = HELP}
#define HG_END {.type = HG_OPT_END}
/* The sections of a program on the shared data (hg_common_main): Data and
 * Run, with its output folder OUT. */
#define HG_DATA_AND_RUN(OUT) \
  HG_SECTION("Data"), HG_GROUP("Data"), HG_SECTION("Run"), HG_GROUP("Run"), HG_DEFAULT("out", OUT)

/* The program's options as --help lists them: its table with shared
 * entries and groups expanded and its defaults applied, into
 * out[HG_OPT_MAX]; the count, or −1 (error set) for a table that names
 * what is not shared or gives a default to what it does not have. */
int hg_cli_options(const hg_cli *cli, hg_option *out);
/* Set every shared value to its default (also those cli does not offer) and
 * every option of cli to its own, then parse argv[1..argc) into opts (a
 * preset's words first), then cli->finish. HG_ERR_ARG with the message
 * (naming the program and option) on a bad or unknown option. */
hg_status hg_cli_parse(const hg_cli *cli, int argc, char **argv, void *opts, hg_cli_args *a);
/* Was option `name` set on the command line (or by a preset)? */
bool hg_cli_given(const hg_cli_args *a, const char *name);
/* Write the usage and every option with its help and default to f. */
hg_status hg_cli_help(const hg_cli *cli, FILE *f);
/* hg_cli_parse for main: −1 to run; 0 after --help written to out; 2 after
 * the error written to err. */
int hg_cli_start(const hg_cli *cli, int argc, char **argv, void *opts, hg_cli_args *a, FILE *out, FILE *err);
/* The exit status of a program whose work ended with s: 0, or 1 after
 * writing "PROGRAM: message" to err. */
int hg_cli_status(const hg_cli *cli, hg_status s, FILE *err);

/* Checks of HG_OPT_STRING values: a Hebbian rule spec or list of them
 * (hg_plasticity_parse_list), a learning-rate schedule (hg_schedule_parse), a
 * readable file, three positive numbers (hg_parse_floats). */
hg_status hg_check_rule(const char *value);
hg_status hg_check_schedule(const char *value);
hg_status hg_check_readable(const char *value);
hg_status hg_check_three_positive(const char *value);
/* Exactly n comma-separated positive finite numbers from text into out. */
hg_status hg_parse_floats(const char *text, float *out, int n);

#endif
