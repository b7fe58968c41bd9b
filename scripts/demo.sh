#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, then
#  1. runs the demo hybrid sweep on Fashion-MNIST (a backprop baseline, then the
#     small net with its first layer Hebbian, random, or a supervised Hebbian
#     classifier, for two competition rules) and prints the table
#     (runs/demo-sweep/table.{csv,md,png});
#  2. trains the small net with a Hebbian first layer and draws its kernels and
#     accuracy curves (runs/demo-hebbian/{kernels,curves}.png).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
scripts/setup.sh build
build/hybrid_sweep --preset demo --out runs/demo-sweep
build/train --data fashion-mnist --model small --modes H-G --hebb instar/e-soft-wta:0.02/mean \
  --hebb-epochs 1 --epochs 2 --schedule constant --limit-train 20000 --val 5000 \
  --run-dir runs/demo-hebbian
build/plot_run runs/demo-hebbian
echo "pictures: runs/demo-sweep/table.png runs/demo-hebbian/kernels.png runs/demo-hebbian/curves.png"
