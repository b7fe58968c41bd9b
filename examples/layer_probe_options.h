/* The command line of examples/layer_probe.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_LAYER_PROBE_OPTIONS_H
#define HG_EXAMPLES_LAYER_PROBE_OPTIONS_H

#include <math.h>
#include <stddef.h>

#include "hebbgrad.h"

typedef struct layer_probe_options {
  hg_common_opts c;
  const char *train_hebb, *shc_rule;
  hg_int_list layers;
  float shc_lr; /* of the SHC: --hebb-lr unless given */
  bool shc, recalibrate, shc_lr_given;
} layer_probe_options;

/* The trained net comes from exactly one place. */
static hg_status layer_probe_finish(void *opts, const hg_cli_args *a) {
  layer_probe_options *o = opts;
  if (!o->c.from == !o->train_hebb) return hg_fail(HG_ERR_ARG, "give exactly one of --from FILE and --train-hebb SPEC");
  o->shc_lr_given = hg_cli_given(a, "shc-lr");
  if (!o->shc_lr_given) o->shc_lr = o->c.hebb_lr;
  return HG_OK;
}

static const char layer_probe_usage[] =
    "usage: layer_probe (--from FILE | --train-hebb SPEC) [options]\n"
    "\n"
    "Train a linear classifier on top of each layer L1..L5 of a trained seeds' network\n"
    "(L1..L5 end at bn1..bn5; everything below the classifier is frozen) and report\n"
    "its test accuracy as a table, layer x {SGD, SHC}, on stdout and in OUT/probe_table.csv\n"
    "and .md. Each cell (layer, classifier) is appended to OUT/cells.csv/.jsonl when done\n"
    "and skipped when it is there already, so an interrupted run continues; a cell cut\n"
    "off half-way resumes from its last epoch (OUT/cells/). The frozen layers run once over\n"
    "the images; the probe trains on their outputs, kept in memory (CIFAR-10, L1: 60000\n"
    "images x 18816 values, 4.5 GB). Each probe trains for --epochs and keeps the weights\n"
    "of its best validation epoch (early stopping as the seeds); the SGD probe has\n"
    "--dropout on its input (seed 001's classifier uses 0.5; kept in the method column,\n"
    "\"sgd:dropout=P\"). The net is named in OUT/cells.csv by --label, else the --from\n"
    "path, else hebb:SPEC:EPOCHS.\n"
    "\n";

#define PROBE(f) offsetof(layer_probe_options, f)
static const hg_cli layer_probe_cli = {
    .name = "layer_probe", .usage = layer_probe_usage, .finish = layer_probe_finish,
    .options = (const hg_option[]){
        HG_SECTION("The trained net"),
        HG_SHARED("from"),
        HG_STRING("train-hebb", "SPEC", PROBE(train_hebb), NULL, hg_check_rule,
                  "instead, first train every layer of a new seeds' net with this\n"
                  "Hebbian rule (no labels), e.g. instar/e-soft-wta:0.02/mean,\n"
                  "hpca/none/relu/avg; kept in OUT/hebb-net-seedN.safetensors and\n"
                  "reused by later runs with the same setting"),
        HG_GROUP("Hebbian"),
        HG_FLAG("recalibrate", PROBE(recalibrate),
                "re-estimate the batch-norm statistics of the --from net on the\n"
                "training images before probing (always done after --train-hebb,\n"
                "whose Hebbian phase never runs bn5)"),
        HG_SHARED("modified-bn"),
        HG_SHARED("label"),
        HG_SECTION("Probes"),
        HG_INT_LIST("layers", "LIST", PROBE(layers), "1,2,3,4,5", 1, 5, "layers to probe, e.g. 1,3,5"),
        HG_FLAG("shc", PROBE(shc),
                "also train the supervised Hebbian classifier (teacher neuron,\n"
                "instar rule, --hebb-lr) on each layer"),
        HG_STRING("shc-rule", "SPEC", PROBE(shc_rule), "instar", hg_check_rule,
                  "plasticity of that classifier (the teacher signal always decides\n"
                  "who learns), e.g. instar/none/unitnorm: weight vectors kept at unit\n"
                  "length, read out by projection (seed 003)"),
        HG_FLOAT("shc-lr", "F", PROBE(shc_lr), NULL, 0, HUGE_VAL, 0,
                 "its learning rate (default --hebb-lr; seed 003 uses 0.1)"),
        HG_SHARED("dropout"),
        HG_SHARED("metric"),
        HG_GROUP("SGD"),
        HG_DEFAULT("epochs", "10"),
        HG_DEFAULT("weight-decay", "5e-4"),
        HG_DATA_AND_RUN("runs/layer_probe"),
        HG_END}};
#undef PROBE

#endif
