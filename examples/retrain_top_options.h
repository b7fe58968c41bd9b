/* The command line of examples/retrain_top.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_RETRAIN_TOP_OPTIONS_H
#define HG_EXAMPLES_RETRAIN_TOP_OPTIONS_H

#include <stddef.h>

#include "hebbgrad.h"

typedef struct retrain_top_options {
  hg_common_opts c;
  unsigned methods; /* bit SGD, SHC, HEBB (retrain_top.c) */
} retrain_top_options;

static hg_status retrain_top_finish(void *opts, const hg_cli_args *a) {
  (void)a;
  return ((retrain_top_options *)opts)->c.from ? HG_OK : hg_fail(HG_ERR_ARG, "--from FILE is required (see --help)");
}

static const char retrain_top_usage[] =
    "usage: retrain_top --from FILE [options]\n"
    "\n"
    "Take a backprop-trained seeds' net, keep its layers L1..L4 (conv1..bn4) frozen, put\n"
    "new layers on top and train them until the validation accuracy stops improving:\n"
    "  sgd    fc5 block and fc6 re-initialised and trained by SGD   (seed notation BBBBB-G)\n"
    "  shc    fc5 block kept, fc6 re-initialised and trained as the supervised Hebbian\n"
    "         classifier (teacher neuron)                           (BBBBB-H)\n"
    "  hebb   fc5 re-initialised and trained by --hebb, fc6 re-initialised and trained as\n"
    "         the supervised Hebbian classifier, both at once       (BBBBH-H)\n"
    "Each method trains for at most --epochs (--patience stops it earlier). Reports the\n"
    "test accuracy of the weights of the best validation epoch and that epoch\n"
    "(epochs to converge), as a table on stdout and in OUT/retrain_table.csv and .md. Each\n"
    "method's result is appended to OUT/retrain.csv/.jsonl and skipped when it is there\n"
    "already; a method cut off half-way resumes from its last epoch (OUT/runs/).\n"
    "\n";

static const hg_cli retrain_top_cli = {
    .name = "retrain_top", .usage = retrain_top_usage, .finish = retrain_top_finish,
    .options = (const hg_option[]){
        HG_SECTION("Retraining"),
        HG_SHARED("from"),
        HG_CHOICES("methods", "LIST", offsetof(retrain_top_options, methods), "sgd,shc,hebb", "sgd|shc|hebb",
                   "which of sgd, shc, hebb, comma-separated"),
        HG_SHARED("hebb"),
        HG_SHARED("hebb-lr"),
        HG_SHARED("metric"),
        HG_SHARED("label"),
        HG_GROUP("SGD"),
        HG_DEFAULT("patience", "2"),
        HG_DATA_AND_RUN("runs/retrain_top"),
        HG_END}};

#endif
