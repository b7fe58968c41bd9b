#!/bin/sh
# SoftHebb's CIFAR-10 protocol timed per phase in hebbgrad (build/train, as
# scripts/softhebb_cifar10.sh runs it) and in PyTorch (bench/torch_softhebb.py)
# on the same machine, one after the other, with the same threads; prints
# each phase's seconds and PyTorch/hebbgrad ratio, the accuracy and the peak
# RSS of both.
# Usage: bench/softhebb_compare.sh DATA_DIR [build-dir] [LIMIT_TRAIN [LIMIT_TEST [EPOCHS]]]
#   defaults: build, 5000 training and 2000 test images, 10 classifier epochs
#   (0 0 50: the whole protocol, about an hour on 2 cores)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${1:?usage: bench/softhebb_compare.sh DATA_DIR [build-dir] [LIMIT_TRAIN [LIMIT_TEST [EPOCHS]]]}
build=${2:-build}
ntrain=${3:-5000} ntest=${4:-2000} epochs=${5:-10}
threads=${OMP_NUM_THREADS:-2}
python=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
limits=""
[ "$ntrain" -gt 0 ] && limits="--limit-train $ntrain"
[ "$ntest" -gt 0 ] && limits="$limits --limit-test $ntest"
milestones=$(awk -v e="$epochs" 'BEGIN { n = split("0.2 0.35 0.5 0.6 0.7 0.8 0.9", r, " "); s = "";
  for (i = 1; i <= n; i++) { m = int(e * r[i]); if (m >= 1 && m > last) { s = s (s ? "," : "") m; last = m } }
  print s ? "halve:" s : "constant" }')
echo "== hebbgrad: $build/train ($ntrain training, $ntest test images, $epochs classifier epochs, $threads threads)"
# shellcheck disable=SC2086
OMP_NUM_THREADS=$threads "$build/train" --data cifar10 --data-dir "$data" --val 0 $limits --model softhebb \
  --modes HHH-G --hebb "softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01" \
  --hebb-epochs 1 --hebb-batch 10 --cache-features --recount-norms 10000 --adam --lr 1e-3 --weight-decay 0 --batch 64 \
  --epochs "$epochs" --schedule "$milestones" --threads "$threads" --run-dir "$tmp/run" | grep -E "^(time|peak|HHH)" \
  | tee "$tmp/hg.txt"
echo "== PyTorch: bench/torch_softhebb.py"
# shellcheck disable=SC2086
OMP_NUM_THREADS=$threads "$python" "$here/torch_softhebb.py" "$data" $limits --epochs "$epochs" --threads "$threads" \
  | tee "$tmp/pt.txt"
echo "== PyTorch seconds / hebbgrad seconds"
for phase in "hebbian phase" "features" "backprop phase"; do
  hg=$(grep "time: $phase" "$tmp/hg.txt" | grep -o '[0-9.]* s' | tr -d ' s')
  if [ "$phase" = features ]; then # hebbgrad's include recounting the batch norms (the reference keeps their running averages)
    bn=$(grep "time: batch norms" "$tmp/hg.txt" | grep -o '[0-9.]* s' | head -1 | tr -d ' s')
    hg=$(awk -v a="$hg" -v b="${bn:-0}" 'BEGIN { print a + b }')
  fi
  pt=$(grep "time: $phase" "$tmp/pt.txt" | grep -o '[0-9.]* s' | tr -d ' s')
  awk -v p="$phase" -v a="$pt" -v b="$hg" 'BEGIN { printf "%-15s %8.1f s %8.1f s  %.2fx\n", p, a, b, a / b }'
done
