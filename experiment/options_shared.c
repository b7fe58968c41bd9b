/* The options the programs share: one entry each, the same meaning and the
 * same default wherever a program takes them. A program's table may give
 * its own default (HG_DEFAULT, shown in its --help): each program's --out,
 * layer_probe's epochs and weight decay, retrain_top's patience, semisup's
 * dropout. */
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "experiment/options.h"
#include "hebb/plasticity.h"
#include "nn/schedule.h"

#define COMMON(f) offsetof(hg_common_opts, f)
#define DATA(f) (offsetof(hg_common_opts, data) + offsetof(hg_data_opts, f))

hg_status hg_check_rule(const char *value) {
  hg_plasticity p[HG_MAX_RULES];
  return hg_plasticity_parse_list(value, p, HG_MAX_RULES) > 0 ? HG_OK : hg_last_status();
}

hg_status hg_check_schedule(const char *value) {
  hg_schedule s;
  return hg_schedule_parse(value, &s);
}

hg_status hg_parse_floats(const char *text, float *out, int n) {
  const char *p = text;
  for (int i = 0; i < n; i++) {
    char *end;
    double v = strtod(p, &end);
    if (end == p || !(v > 0 && v < HUGE_VAL) || *end != (i == n - 1 ? '\0' : ','))
      return hg_fail(HG_ERR_ARG, "'%s': expected %d positive numbers separated by commas", text, n);
    out[i] = (float)v;
    p = end + 1;
  }
  return HG_OK;
}

hg_status hg_check_three_positive(const char *value) {
  float v[3];
  return hg_parse_floats(value, v, 3);
}

hg_status hg_check_readable(const char *value) {
  return access(value, R_OK) == 0 ? HG_OK : hg_fail(HG_ERR_IO, "cannot read the file");
}

const hg_option hg_shared_options[] = {
    HG_SECTION("Data"),
    HG_CHOICE("data", "NAME", DATA(name), "fashion-mnist", "mnist|fashion-mnist|cifar10|cifar100",
              "mnist, fashion-mnist, cifar10 or cifar100 (28x28 images are made\n"
              "3x32x32 for the seeds' net)"),
    HG_STRING("data-dir", "DIR", DATA(dir), NULL, NULL,
              "where the data sets are (default $HEBBGRAD_DATA, else ./datasets;\n"
              "see scripts/get_data.sh)"),
    HG_INT("val", "N", DATA(n_val), "10000", 0, 1000000,
           "validation images split off the training set (they pick the best epoch)"),
    HG_INT("limit-train", "N", DATA(limit_train), NULL, 1, 100000000, "use only N training images (default all)"),
    HG_INT("limit-test", "N", DATA(limit_test), NULL, 1, 100000000,
           "use only N validation and N test images (default all)"),
    HG_FLAG("zca", DATA(zca), "whole-image ZCA whitening fitted on the training split"),
    HG_FLOAT("zca-eps", "E", DATA(zca_eps), "0.01", 0, HUGE_VAL, HG_OPT_OPEN_MIN, "ZCA regulariser"),
    HG_FLAG("zca-floats", DATA(zca_floats), "with --zca, whiten the images once into float32 copies (4x the "
                                            "memory of the bytes) instead of a batch at a time"),
    HG_STRING("zca-cache", "FILE", DATA(zca_cache), NULL, NULL,
              "reuse the fitted ZCA transform from FILE when it was fitted on the same\n"
              "data, else fit it and save it there (default OUT/zca-DATA.safetensors)"),
    HG_SECTION("Run"),
    HG_STRING("out", "DIR", COMMON(out), NULL, NULL, "output folder, OUT (made when missing)"),
    HG_INT("seed", "N", COMMON(seed), "1", 0, 2000000000,
           "seed of the initialisation, the validation split and the batch order\n"
           "(for a trained net, its own --seed: the same validation split)"),
    HG_INT("batch", "N", COMMON(batch), "64", 1, 65536, "mini-batch size"),
    HG_INT("threads", "N", COMMON(threads), "2", 1, 1024, "worker threads (results are reproducible for a given N)"),
    HG_CHOICE("conv", "ALGO", COMMON(conv), "auto", "auto|direct|winograd",
              "convolution kernels: auto (Winograd F(4x4,3x3) for 3x3 stride-1 layers\n"
              "with >= 64 channels, oneDNN's direct ones elsewhere), direct (oneDNN's\n"
              "everywhere) or winograd (wherever it fits); docs/architecture.md"),
    HG_FLAG("check-finite", COMMON(check_finite),
            "check every layer's output for NaN and infinity, naming the first layer\n"
            "where a diverging run goes wrong (slower)"),
    HG_SECTION("Nets and rules"),
    HG_CHOICE("model", "NAME", COMMON(model), "seeds", "seeds|small|softhebb",
              "seeds (the seeds' 6-layer net, inputs made 3x32x32), small (conv1, fc2)\n"
              "or softhebb (SoftHebb's 3 conv blocks 96-384-1536 and a linear classifier)"),
    HG_STRING("triangle-powers", "P,P,P", COMMON(triangle_powers), "0.7,1.4,1", hg_check_three_positive,
              "--model softhebb: the triangle activations' powers of its three blocks"),
    HG_STRING("from", "FILE", COMMON(from), NULL, hg_check_readable,
              "checkpoint of the seeds' net trained on this data set: best.safetensors\n"
              "or last.safetensors of a run of train, or any file of hg_trainer_save;\n"
              "weights are read by name, the optimizer state is ignored"),
    HG_STRING("label", "TEXT", COMMON(label), NULL, NULL,
              "name of the trained net in the results (default the --from path)"),
    HG_FLAG("modified-bn", COMMON(modified_bn),
            "the seeds' code's batch norm for Hebbian nets at bn3..bn5: each channel\n"
            "keeps its relative variance (\"+modified-bn\" in the net's name)"),
    HG_STRING("hebb", "SPEC", COMMON(hebb), "instar/e-soft-wta:0.02/mean", hg_check_rule,
              "Hebbian rule RULE[/COMPETITION][/OPTION...], e.g. hpca/none/relu/avg,\n"
              "instar/5-wta/sum/unitnorm/prune=0.5, softhebb/t=1 (all are listed\n"
              "below; docs/writing-a-rule.md adds your own); SPEC+SPEC+... gives\n"
              "each Hebbian layer its own, from the bottom"),
    HG_SECTION("SGD"),
    HG_INT("epochs", "N", COMMON(epochs), "20", 0, 100000, "training epochs"),
    HG_INT("patience", "N", COMMON(patience), "0", 0, 100000,
           "stop after N epochs without a better validation (0: never)"),
    HG_FLOAT("lr", "F", COMMON(lr), "1e-3", 0, HUGE_VAL, 0, "SGD learning rate"),
    HG_STRING("schedule", "S", COMMON(schedule), "seeds:10:2", hg_check_schedule,
              "SGD learning-rate schedule: constant, step:S:G, cosine:T[:MIN[:W]],\n"
              "seeds:HOLD:PERIOD (--lr for HOLD epochs, then halved every PERIOD),\n"
              "halve:E,E,... (halved at each epoch E, e.g. SoftHebb's halve:10,17,25,30,35,40,45)"),
    HG_FLOAT("momentum", "F", COMMON(momentum), "0.9", 0, 1, 0, "SGD Nesterov momentum"),
    HG_FLOAT("weight-decay", "F", COMMON(weight_decay), "5e-2", 0, HUGE_VAL, 0,
             "L2 weight decay of the SGD-trained layers"),
    HG_SECTION("Hebbian"),
    HG_INT("hebb-epochs", "N", COMMON(hebb_epochs), "1", 0, 100000, "Hebbian training epochs"),
    HG_FLOAT("hebb-lr", "F", COMMON(hebb_lr), "1e-3", 0, HUGE_VAL, 0, "Hebbian learning rate"),
    HG_SECTION("Training"),
    HG_INT("steps", "N", COMMON(steps), NULL, 1, 1000000000,
           "at most N steps per epoch (default all; for quick checks)"),
    HG_FLOAT("dropout", "P", COMMON(dropout), "0", 0, 1, HG_OPT_OPEN_MAX, "dropout on the classifier's input"),
    HG_CHOICE("metric", "M", COMMON(metric), NULL, "top1|top5",
              "accuracy in the table: top1 or top5 (default top5 with 100 classes, else top1)"),
    HG_END};
