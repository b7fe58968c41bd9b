/* The command line of examples/semisup.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_SEMISUP_OPTIONS_H
#define HG_EXAMPLES_SEMISUP_OPTIONS_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "hebbgrad.h"

typedef struct semisup_options {
  hg_common_opts c;
  const char *pretrain;
  const char *hebb; /* the rule of the pre-training, NULL for none (from --pretrain and --hebb) */
  float labels, row_norm; /* row_norm 0: pre-trained rows as they are */
  int upto, hebb_layers;
  bool unit_rows, no_bias;
} semisup_options;

/* --pretrain names the regime in file names and keys. */
static hg_status semisup_check_name(const char *v) {
  return strpbrk(v, "/,") ? hg_fail(HG_ERR_ARG, "expected a name without '/' or ','") : HG_OK;
}

/* The pre-training rule, and what does not apply without one. */
static hg_status semisup_finish(void *opts, const hg_cli_args *a) {
  semisup_options *o = opts;
  const char *p = o->pretrain;
  bool hebb = hg_cli_given(a, "hebb");
  if (!p) return hg_fail(HG_ERR_ARG, "--pretrain hpca|soft-wta|none is required (see --help)");
  if (!strcmp(p, "none") && hebb) return hg_fail(HG_ERR_ARG, "--hebb makes no sense with --pretrain none");
  if (!hebb && strcmp(p, "hpca") && strcmp(p, "soft-wta") && strcmp(p, "none"))
    return hg_fail(HG_ERR_ARG, "--pretrain %s: expected hpca, soft-wta or none (or give --hebb SPEC)", p);
  if (o->unit_rows && hg_cli_given(a, "row-norm"))
    return hg_fail(HG_ERR_ARG, "give --unit-rows or --row-norm, not both");
  o->hebb = hebb || !strcmp(p, "soft-wta") ? o->c.hebb : !strcmp(p, "hpca") ? "hpca/none/relu/avg" : NULL;
  if (o->unit_rows) o->row_norm = 1;
  if (!o->hebb) o->row_norm = 0, o->no_bias = false, o->c.hebb_epochs = 0; /* nothing pre-trained */
  if (o->hebb && o->upto > o->hebb_layers)
    return hg_fail(HG_ERR_ARG, "--upto %d: only L1..L%d are pre-trained (--hebb-layers)", o->upto, o->hebb_layers);
  return HG_OK;
}

static const char semisup_usage[] =
    "usage: semisup --pretrain hpca|soft-wta|none [options]\n"
    "\n"
    "One regime of the semi-supervised protocol of seed 001: pre-train every layer of the\n"
    "seeds' net with a Hebbian rule on the whole training split without labels (or keep\n"
    "the random initialisation), keep L1..LK (K = --upto; L1..L5 end at bn1..bn5) and a new\n"
    "linear classifier on bnK, and fine-tune all of them end to end by SGD on --labels\n"
    "percent of the training images (a seeded class-balanced subset). Prints the test\n"
    "accuracy of the best validation epoch and appends a row to OUT/semisup.csv/.jsonl; a\n"
    "regime already there (same data, net, pre-training, labels, depth, seed and fine-tuning\n"
    "settings) is not run again. The pre-trained net is kept in\n"
    "OUT/pretrain-DATA-PRETRAIN-seedN.safetensors and reused by every regime with the same\n"
    "data, pre-training and seed. The validation split (--val) keeps its labels: it picks\n"
    "the best epoch, as in the seeds. scripts/semisup_table.sh runs the 40 regimes of a table.\n"
    "\n";

#define SEMISUP(f) offsetof(semisup_options, f)
static const hg_cli semisup_cli = {
    .name = "semisup", .usage = semisup_usage, .finish = semisup_finish,
    .options = (const hg_option[]){
        HG_SECTION("Regime"),
        HG_STRING("pretrain", "P", SEMISUP(pretrain), NULL, semisup_check_name,
                  "hpca (rule hpca/none/relu/avg), soft-wta (the --hebb default\n"
                  "instar/e-soft-wta:0.02/mean: seed 001's soft-WTA is the softmax variant,\n"
                  "its eq. 3) or none; required. With --hebb SPEC any name, for that rule"),
        HG_SHARED("hebb"),
        HG_GROUP("Hebbian"),
        HG_INT("hebb-layers", "K", SEMISUP(hebb_layers), "5", 1, 5,
               "pre-train only L1..LK, the others keep their initialisation. Each\n"
               "layer learns on its own input, so L1..LK end as they would with all\n"
               "five: the same results for --upto <= K, faster (fc5's 4096 units\n"
               "dominate HPCA). The cache is then OUT/pretrain-DATA-P-LK-seedN.safetensors"),
        HG_FLOAT("labels", "PCT", SEMISUP(labels), "100", 0, 100, HG_OPT_OPEN_MIN,
                 "percentage of training images with labels"),
        HG_INT("upto", "K", SEMISUP(upto), "5", 1, 5, "fine-tune layers L1..LK"),
        HG_FLAG("unit-rows", SEMISUP(unit_rows),
                "scale every unit's weights (and bias) of the pre-trained L1..LK to\n"
                "norm 1 before fine-tuning: the same function (batch norm follows),\n"
                "but SGD's step relative to the weights becomes that of a fresh layer\n"
                "(instar rows grow to the norm of their input, ~10x a fresh one's);\n"
                "seed 001's code reads its WTA layers out as x·w/‖w‖. Kept in the hebb\n"
                "column (\"SPEC+unit-rows\"); no effect with --pretrain none"),
        HG_FLOAT("row-norm", "F", SEMISUP(row_norm), NULL, 0, HUGE_VAL, HG_OPT_OPEN_MIN,
                 "the same, to norm F (\"SPEC+rows=F\"): 0.58 is a fresh 3x3x96\n"
                 "layer's, whose rows turn (1/0.58)^2 = 3x faster per step than unit rows"),
        HG_FLAG("no-bias", SEMISUP(no_bias),
                "the pre-trained L1..LK keep no bias while fine-tuning (u = w·x, as\n"
                "seed 001's Hebbian layers; ours start at 0 after pre-training and\n"
                "learn otherwise); net column \"seeds+no-bias\"; no effect with none"),
        HG_SHARED("modified-bn"),
        HG_SECTION("Fine-tuning (SGD with Nesterov momentum, the seeds' protocol)"),
        HG_GROUP("SGD"),
        HG_SHARED("dropout"),
        HG_DEFAULT("dropout", "0.5"),
        HG_DATA_AND_RUN("runs/semisup"),
        HG_END}};
#undef SEMISUP

#endif
