/* The command line of examples/plot_run.c (also read by tests/test_options.c). */
#ifndef HG_EXAMPLES_PLOT_RUN_OPTIONS_H
#define HG_EXAMPLES_PLOT_RUN_OPTIONS_H

#include <stddef.h>

#include "hebbgrad.h"

typedef struct plot_run_options {
  hg_common_opts c; /* --out: where the pictures go (default RUN_DIR) */
  const char *layer;
  int columns, scale;
} plot_run_options;

static const char plot_run_usage[] =
    "usage: plot_run RUN_DIR [--out DIR] [--layer NAME] [--columns N] [--scale N]\n"
    "\n"
    "Draw two pictures of a run directory written by `train --run-dir RUN_DIR`, into\n"
    "--out (default RUN_DIR):\n"
    "\n"
    "  kernels.png  the kernels of the first convolution: the first 4-D tensor named\n"
    "               *.weight in the checkpoint (or NAME.weight with --layer), one tile\n"
    "               per output channel, each tile min-max scaled on its own; RGB when\n"
    "               the layer has 3 input channels, else the grey average of them.\n"
    "  curves.png   train and validation top-1 accuracy (%) per epoch, one pair of\n"
    "               curves per epochs.csv found (series named after the folder, e.g.\n"
    "               \"backprop val\", \"hebb train\"). A series that is 0 at every epoch\n"
    "               (a Hebbian phase that does not validate) is left out.\n"
    "\n"
    "Where it looks: RUN_DIR, then its subfolders backprop/, hebb/ and joint/ (the\n"
    "phases of a run). The kernels come from the first folder, in that order, whose\n"
    "best.safetensors (else last.safetensors) holds the layer; the curves from the\n"
    "epochs.csv of every one of these folders.\n"
    "\n"
    "Exit status: 0 when both pictures were written; 1 when a checkpoint, layer or\n"
    "epochs.csv could not be found or read, or a picture could not be written (the\n"
    "message names the file; the other picture is still drawn); 2 on bad usage.\n"
    "\n";

static const hg_cli plot_run_cli = {
    .name = "plot_run", .usage = plot_run_usage, .operand = "RUN_DIR",
    .options = (const hg_option[]){
        HG_SECTION("Options"),
        HG_SHARED("out"),
        HG_STRING("layer", "NAME", offsetof(plot_run_options, layer), NULL, NULL,
                  "draw the tensor NAME.weight (e.g. conv2), or the tensor NAME itself,\n"
                  "instead of the first convolution"),
        HG_INT("columns", "N", offsetof(plot_run_options, columns), NULL, 1, 100000,
               "kernels per row (default: about square)"),
        HG_INT("scale", "N", offsetof(plot_run_options, scale), NULL, 1, 64,
               "screen pixels per kernel pixel (default: kernels about 48 pixels wide)"),
        HG_END}};

#endif
