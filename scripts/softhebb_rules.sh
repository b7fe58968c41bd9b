#!/usr/bin/env bash
# Which makes SoftHebb's result, its rule or its network? On a slice of
# CIFAR-10 (first N training and N test images), each Hebbian rule trains
# each network for one unsupervised epoch, then a linear classifier trains on
# the frozen features (Adam 1e-3, batch 64, E epochs, halved at E/2 and
# 0.85 E, dropout 0.5 on SoftHebb's net as in its protocol). Then linear
# probes (the same classifier without dropout, 10 epochs) after each of
# SoftHebb's blocks trained by SoftHebb's rule.
#
#   SoftHebb's net (no ZCA, as its reference): softhebb, e-soft-WTA, Krotov,
#                                              BCM (with hard WTA, as Nimmo &
#                                              Mondragón), none (rate 1e-12: the weights
#                                              stay random, the epoch only sets
#                                              the batch norms' statistics)
#   the seeds' net (ZCA, as the seeds):        softhebb, e-soft-WTA
#
# Writes OUT/RUN/ for each run and OUT/table.md; rerunning skips finished runs.
# Usage: scripts/softhebb_rules.sh [--data-dir DIR] [--out DIR] [--images N]
#                                  [--epochs E] [--threads T] [--seed S]
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${HEBBGRAD_DATA:-datasets}" out=runs/softhebb-rules images=10000 epochs=20 threads=2 seed=1
while [ $# -gt 0 ]; do
  case $1 in
    --data-dir) data_dir=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "softhebb_rules.sh: unknown argument '$1' (expected --data-dir DIR, --out DIR, --images N, --epochs E, --threads T, --seed S)" >&2; exit 2 ;;
  esac
done
scripts/setup.sh build
mkdir -p "$out"
common=(--data cifar10 --data-dir "$data_dir" --val 0 --limit-train "$images" --limit-test "$images"
        --threads "$threads" --seed "$seed" --hebb-epochs 1 --hebb-batch 10 --cache-features
        --adam --lr 1e-3 --weight-decay 0 --batch 64 --epochs "$epochs"
        --schedule "halve:$((epochs / 2)),$((epochs * 85 / 100))")

# name, net options, rule
runs=(
  "softhebb-net-softhebb|--model softhebb --modes HHH-G|softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01"
  "softhebb-net-esoftwta|--model softhebb --modes HHH-G --hebb-lr 0.01|instar/e-soft-wta:0.02/mean"
  "softhebb-net-krotov|--model softhebb --modes HHH-G|krotov/lr=0.08+krotov/lr=0.005+krotov/lr=0.01"
  "softhebb-net-bcm|--model softhebb --modes HHH-G --hebb-lr 0.01|bcm/wta"
  "softhebb-net-random|--model softhebb --modes HHH-G|softhebb/lr=1e-12"
  "seeds-net-softhebb|--model seeds --zca --modes HHHHH-G|softhebb/t=1/lr=0.01"
  "seeds-net-esoftwta|--model seeds --zca --modes HHHHH-G --hebb-lr 0.001|instar/e-soft-wta:0.02/mean"
)

test_acc() { # the test top-1 of a run folder (the last row of result.csv, in %)
  awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="test_top1") c=i} NR>1 && c{v=$c} END{printf "%.2f", 100*v}' "$1/result.csv"
}

for r in "${runs[@]}"; do
  IFS='|' read -r name net rule <<<"$r"
  [ -f "$out/$name/result.csv" ] && continue
  extra=()
  [ -f "$out/$name/settings.json" ] && extra+=(--resume)
  # shellcheck disable=SC2086  # $net is a list of options
  build/train "${common[@]}" $net --hebb "$rule" --zca-cache "$out/zca.safetensors" \
    --run-dir "$out/$name" "${extra[@]}"
done

for layer in pool1 pool2 pool3; do
  dir="$out/probe-$layer"
  [ -f "$dir/result.csv" ] && continue
  build/train --data cifar10 --data-dir "$data_dir" --val 0 --limit-train "$images" --limit-test "$images" \
    --threads "$threads" --seed "$seed" --model softhebb --modes FFF-G --epochs 0 \
    --init "$out/softhebb-net-softhebb/backprop/last.safetensors" \
    --probe "$layer" --probe-epochs 10 --adam --lr 1e-3 --probe-lr 1e-3 --run-dir "$dir"
done

{
  echo "| net | rule | test top-1 (%) |"
  echo "|---|---|---:|"
  for r in "${runs[@]}"; do
    IFS='|' read -r name net rule <<<"$r"
    echo "| ${name%%-net-*} | \`$rule\` | $(test_acc "$out/$name") |"
  done
  echo
  echo "| SoftHebb's net, SoftHebb's rule: linear probe after | test top-1 (%) |"
  echo "|---|---:|"
  for layer in pool1 pool2 pool3; do
    echo "| $layer | $(test_acc "$out/probe-$layer") |"
  done
} > "$out/table.md"
cat "$out/table.md"
