#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, and trains a small
# network on Fashion-MNIST twice — all layers by backprop (B-G), then the
# first layer by a Hebbian rule with soft competition (H-G) — and prints both
# test accuracies.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
scripts/setup.sh build
common=(--data fashion-mnist --model small --epochs 2 --schedule constant --val 10000)
build/train "${common[@]}" --modes B-G --run-dir runs/demo-B-G
build/train "${common[@]}" --modes H-G --hebb instar/e-soft-wta:0.02/mean --hebb-lr 0.01 \
  --run-dir runs/demo-H-G
