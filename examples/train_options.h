/* The command line of examples/train.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_TRAIN_OPTIONS_H
#define HG_EXAMPLES_TRAIN_OPTIONS_H

#include <math.h>
#include <stddef.h>

#include "hebbgrad.h"

typedef struct train_options {
  hg_common_opts c;
  const char *modes, *init, *probe, *run_dir;
  int probe_epochs, hebb_batch, recount_norms;
  float probe_lr, probe_decay, min_test_acc;
  bool joint, no_nesterov, adam, probe_shc, resume, cache_features, greedy;
} train_options;

static const char train_usage[] =
    "usage: train [options]\n"
    "\n"
    "Train a network with backprop (B), Hebbian rules (H) or a mix, then report\n"
    "validation and test accuracy. Checkpoints, per-epoch CSV/JSON lines and the\n"
    "final result go to --run-dir. The H layers learn with the rule --hebb (a run\n"
    "without H layers uses none): Hebbian epochs first, then the B layers by SGD.\n"
    "Built with -DHG_MPI=ON and started by mpirun or srun, the processes split every\n"
    "batch (data-parallel, the same weights as one process); rank 0 writes\n"
    "(docs/scale-out.md).\n"
    "\n";

#define TRAIN(f) offsetof(train_options, f)
static const hg_cli train_cli = {
    .name = "train", .usage = train_usage,
    .options = (const hg_option[]){
        HG_SECTION("Data"),
        HG_GROUP("Data"),
        HG_SECTION("Network"),
        HG_SHARED("model"),
        HG_STRING("modes", "M", TRAIN(modes), NULL, NULL,
                  "per weighted layer B/H/F/R, then '-' and the classifier G or H, e.g.\n"
                  "HBBBB-G, HHHHH-G, BBBBB-H (default all B, then -G: BBBBB-G)"),
        HG_SHARED("hebb"),
        HG_STRING("init", "FILE", TRAIN(init), NULL, hg_check_readable,
                  "load weights from a checkpoint before training (F layers keep them)"),
        HG_SECTION("Training"),
        HG_GROUP("SGD"),
        HG_FLAG("no-nesterov", TRAIN(no_nesterov), "plain momentum instead of Nesterov"),
        HG_FLAG("adam", TRAIN(adam), "Adam instead of SGD for B layers"),
        HG_GROUP("Hebbian"),
        HG_FLAG("joint", TRAIN(joint), "train H and B layers together instead of H first, then B"),
        HG_FLAG("greedy", TRAIN(greedy),
                "Hebbian layers learn one after another, each for --hebb-epochs with the\n"
                "layers below it frozen (SoftHebb's \"successive\"), instead of all in one pass"),
        HG_FLAG("cache-features", TRAIN(cache_features),
                "after the Hebbian phase, freeze the Hebbian blocks (batch norms on their\n"
                "running statistics) and compute their output once; the B layers train on\n"
                "that cache (float16 in a temporary file when it exceeds 1 GiB)"),
        HG_INT("recount-norms", "N", TRAIN(recount_norms), "0", 0, 1 << 30,
               "with --cache-features: before the cache, set each frozen batch norm's\n"
               "statistics to the exact mean and variance of its input over the first N\n"
               "training images under the final weights (0: the running averages)"),
        HG_SHARED("batch"),
        HG_INT("hebb-batch", "N", TRAIN(hebb_batch), "0", 0, 65536,
               "mini-batch size of the Hebbian phase (0: --batch; SoftHebb's is 10)"),
        HG_SHARED("steps"),
        HG_STRING("probe", "LAYER", TRAIN(probe), NULL, NULL,
                  "after training, freeze the net up to LAYER (a layer name, e.g. bn1)\n"
                  "and train a linear classifier on its output for --probe-epochs"),
        HG_INT("probe-epochs", "N", TRAIN(probe_epochs), "10", 0, 100000, "epochs of the probe"),
        HG_FLOAT("probe-lr", "F", TRAIN(probe_lr), "1e-3", 0, HUGE_VAL, 0, "learning rate of the probe"),
        HG_FLOAT("probe-decay", "F", TRAIN(probe_decay), "5e-4", 0, HUGE_VAL, 0, "weight decay of the probe"),
        HG_FLAG("probe-shc", TRAIN(probe_shc),
                "train the probe as a supervised Hebbian classifier (teacher\n"
                "neuron, --hebb-lr) instead of by SGD"),
        HG_SECTION("Run"),
        HG_SHARED("out"),
        HG_STRING("run-dir", "DIR", TRAIN(run_dir), NULL, NULL,
                  "the run's folder (default OUT/DATA-MODES); DIR/init.safetensors keeps\n"
                  "the weights before training (plot_run draws them beside the learned ones)"),
        HG_FLAG("resume", TRAIN(resume), "continue from DIR/last.safetensors"),
        HG_SHARED("seed"),
        HG_SHARED("threads"),
        HG_SHARED("conv"),
        HG_SHARED("check-finite"),
        HG_FLOAT("min-test-acc", "F", TRAIN(min_test_acc), NULL, 0, 1, 0,
                 "exit with status 3 when the test accuracy is below F (for CI)"),
        HG_DEFAULT("out", "runs"),
        HG_END}};
#undef TRAIN

#endif
