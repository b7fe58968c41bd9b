#!/usr/bin/env bash
# The README's main job: installs what is missing, builds, then
#  1. runs the demo hybrid sweep on Fashion-MNIST, 3 seeds: a backprop baseline,
#     then the small net with its first layer Hebbian (two competition rules),
#     random and fixed, or a supervised Hebbian classifier; prints the table of
#     mean ± 95% CI (runs/demo-sweep/table.{csv,md,png});
#  2. trains the small net with a Hebbian first layer and draws its kernels
#     before and after Hebbian learning, and its accuracy curves
#     (runs/demo-hebbian/{kernels,curves}.png).
# With --publish it then copies the table, its heat map and the kernel picture to docs/demo/ (the
# README shows them).
set -euo pipefail
cd "$(dirname "$0")/.."
publish=0
for arg in "$@"; do
  case $arg in
    --publish) publish=1 ;;
    *) echo "demo.sh: unknown argument '$arg' (expected --publish)" >&2; exit 2 ;;
  esac
done
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
scripts/setup.sh build
start=$(date +%s)
build/hybrid_sweep --preset demo --out runs/demo-sweep
build/train --data fashion-mnist --model small --modes H-G --hebb instar/e-soft-wta:0.02/mean \
  --hebb-epochs 1 --hebb-lr 2e-2 --epochs 2 --schedule constant --limit-train 20000 --val 5000 \
  --run-dir runs/demo-hebbian
build/plot_run runs/demo-hebbian
echo "demo: $(( $(date +%s) - start )) s after the build"
echo "pictures: runs/demo-sweep/table.png runs/demo-hebbian/kernels.png runs/demo-hebbian/curves.png"
if [ "$publish" = 1 ]; then
  mkdir -p docs/demo
  cp runs/demo-sweep/table.md runs/demo-sweep/table.png docs/demo/
  cp runs/demo-hebbian/kernels.png docs/demo/kernels.png
  echo "published to docs/demo/"
fi
