/* The command line of examples/hybrid_sweep.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_HYBRID_SWEEP_OPTIONS_H
#define HG_EXAMPLES_HYBRID_SWEEP_OPTIONS_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "hebbgrad.h"

#define HYBRID_MAX_METHODS 16

typedef struct hybrid_sweep_options {
  hg_common_opts c;
  const char *preset, *configs, *methods;
  int seeds;
  float top_weight_decay; /* --weight-decay unless given */
  bool no_zca;
  char out_default[64];   /* runs/sweep-DATA */
} hybrid_sweep_options;

/* --methods: at most HYBRID_MAX_METHODS names or rule specs, comma-separated. */
static hg_status hybrid_check_methods(const char *v) {
  char buf[1024];
  int n = 0;
  if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf) return hg_fail(HG_ERR_ARG, "too long");
  for (char *save, *m = strtok_r(buf, ",", &save); m; m = strtok_r(NULL, ",", &save), n++) {
    if (n == HYBRID_MAX_METHODS) return hg_fail(HG_ERR_ARG, "more than %d methods", HYBRID_MAX_METHODS);
    if (hg_check_rule(hg_sweep_method_spec(m)) != HG_OK) return hg_last_status();
  }
  return n ? HG_OK : hg_fail(HG_ERR_ARG, "no method given");
}

/* What the options imply: --no-zca, the paper's weight decay on CIFAR-100,
 * --top-weight-decay and --out by default. */
static hg_status hybrid_sweep_finish(void *opts, const hg_cli_args *a) {
  hybrid_sweep_options *o = opts;
  bool paper = o->preset && !strcmp(o->preset, "paper");
  if (o->no_zca) o->c.data.zca = false;
  if (paper && !strcmp(o->c.data.name, "cifar100") && !hg_cli_given(a, "weight-decay")) o->c.weight_decay = 1e-2f;
  if (!hg_cli_given(a, "top-weight-decay")) o->top_weight_decay = o->c.weight_decay;
  if (!o->c.out) snprintf(o->out_default, sizeof o->out_default, "runs/sweep-%s", o->c.data.name);
  if (!o->c.out) o->c.out = o->out_default;
  return strlen(o->c.out) > 300 ? hg_fail(HG_ERR_ARG, "--out: at most 300 characters") : HG_OK;
}

static const char *const hybrid_demo[] = {"--model", "small", "--configs", "B-G,H-G,R-G,B-H", "--methods",
                                          "wta,e-soft-wta", "--seeds", "3", "--hebb-lr", "2e-2", "--epochs", "1",
                                          "--limit-train", "20000", "--val", "5000", NULL};
static const char *const hybrid_paper[] = {"--seeds", "5", "--hebb-epochs", "20", "--top-weight-decay", "5e-4",
                                           "--zca", NULL};
static const char *const *const hybrid_presets[] = {hybrid_demo, hybrid_paper, NULL};

static const char hybrid_sweep_usage[] =
    "usage: hybrid_sweep [options]\n"
    "\n"
    "The hybrid networks of seeds 002/003: for each seed a backprop baseline (all\n"
    "layers B, classifier G) is trained once and saved (OUT/baseline-seedS.safetensors,\n"
    "reused when present). Each configuration starts from it: the layers below its\n"
    "lowest H (or R) layer keep the baseline's weights, frozen; that layer and every\n"
    "layer above are re-initialised and trained — H layers with the Hebbian method\n"
    "for --hebb-epochs, then B layers by SGD for --epochs (a classifier H is the\n"
    "supervised Hebbian classifier, trained in the Hebbian phase) — then tested.\n"
    "Each phase keeps its weights of the best validation epoch. Prints the table of\n"
    "test accuracy (rows: configurations, columns: methods, cells: mean ± 95%\n"
    "confidence interval over the seeds, Student's t) and writes OUT/table.csv,\n"
    "OUT/table.md and OUT/table.png (heat map of the means). OUT is --out, by\n"
    "default runs/sweep-DATA.\n"
    "\n"
    "Every finished cell (configuration, method, seed) is appended to OUT/cells.jsonl\n"
    "at once; run the same command again after an interruption and the finished cells\n"
    "are skipped (an unfinished cell resumes from its last epoch checkpoint). The\n"
    "settings that change results are kept in OUT/settings.json; a different setting\n"
    "with the same OUT is refused.\n"
    "\n"
    "Built with -DHG_MPI=ON and started by mpirun or srun, the processes share the\n"
    "unfinished cells out (OUT on a file system they all see); rank 0 writes the\n"
    "tables (docs/scale-out.md).\n"
    "\n";

#define SWEEP(f) offsetof(hybrid_sweep_options, f)
static const hg_cli hybrid_sweep_cli = {
    .name = "hybrid_sweep", .usage = hybrid_sweep_usage, .finish = hybrid_sweep_finish,
    .options = (const hg_option[]){
        HG_SECTION("Presets (options given explicitly override them)"),
        HG_PRESET("preset", "NAME", SWEEP(preset), "demo|paper", hybrid_presets,
                  "demo: a few minutes on 2 cores (Hebbian lr 2e-2: 1e-3 leaves the kernels\n"
                  "near their random start); paper: seed 002's protocol on --data (20\n"
                  "Hebbian epochs: its section 5; weight decay 1e-2 on cifar100, and 5e-4\n"
                  "when SGD trains no convolution). Without a preset: as paper, but 1 seed,\n"
                  "1 Hebbian epoch and no ZCA. The options of each:"),
        HG_SECTION("Data"),
        HG_GROUP("Data"),
        HG_FLAG("no-zca", SWEEP(no_zca), "no ZCA whitening, even with --preset paper"),
        HG_SECTION("Sweep"),
        HG_SHARED("model"),
        HG_STRING("configs", "LIST", SWEEP(configs), "seed002", NULL,
                  "comma-separated configurations in the seeds' notation: one letter\n"
                  "per layer with weights (B backprop, H Hebbian, R random and fixed,\n"
                  "F frozen with the baseline's weights), '-', then the classifier\n"
                  "(G gradient descent, H supervised Hebbian), e.g. HBBBB-G,BBBBH-H;\n"
                  "shorthands: seed002 (the 15 hybrid rows of seed 002 Tables 2/5/8),\n"
                  "seed003 (the 8 groups of seed 003 Table 2, R rows included),\n"
                  "single (each layer alone Hebbian, and all of them). The baseline\n"
                  "row (all B, G) always comes first. With a classifier H there is\n"
                  "no SGD phase (no gradient gets past a Hebbian classifier)."),
        HG_STRING("methods", "LIST", SWEEP(methods), "wta,5-wta,e-soft-wta,p-soft-wta", hybrid_check_methods,
                  "comma-separated Hebbian methods, one column each: wta\n"
                  "(instar/wta/mean), 5-wta (instar/5-wta/mean), e-soft-wta\n"
                  "(instar/e-soft-wta:0.02/mean), p-soft-wta (instar/p-soft-wta:0.05/mean),\n"
                  "hpca (hpca/none/relu/avg), or any rule spec RULE[/COMPETITION][/OPTION...]\n"
                  "(see --hebb of train). A row with no H layer below the classifier does\n"
                  "not use the method: it is trained once per seed, its number stands\n"
                  "in the first column and the others say n/a."),
        HG_INT("seeds", "N", SWEEP(seeds), "1", 1, 1000,
               "repeat over seeds 1..N (initialisation, batch order, dropout)"),
        HG_SHARED("metric"),
        HG_SECTION("Training"),
        HG_GROUP("SGD"),
        HG_FLOAT("top-weight-decay", "F", SWEEP(top_weight_decay), NULL, 0, HUGE_VAL, 0,
                 "L2 weight decay of an SGD phase that trains no convolution,\n"
                 "only the fully connected layers on top (seed 002's code uses\n"
                 "its probes' 5e-4 there, e.g. for BBBBH-G and HHHHH-G; default\n"
                 "--weight-decay)"),
        HG_GROUP("Hebbian"),
        HG_SHARED("batch"),
        HG_SHARED("steps"),
        HG_SECTION("Run"),
        HG_SHARED("out"),
        HG_SHARED("threads"),
        HG_SHARED("conv"),
        HG_SHARED("check-finite"),
        HG_END}};
#undef SWEEP

#endif
