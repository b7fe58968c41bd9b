#!/usr/bin/env bash
# SoftHebb on CIFAR-10 (Journé et al., ICLR 2023), the reference's protocol:
# one unsupervised Hebbian epoch (batch 10, all three layers learning in the
# same pass, SoftHebb's rule with its per-layer inverse temperatures and
# rates), then the Hebbian blocks are frozen, their batch norms' statistics
# recounted on 10 000 training images under the final weights (the running
# averages of the epoch rest on its last ~100 images; +0.3–0.4 points), their
# features are computed once (float16, in a temporary file) and a linear
# classifier trains on them:
# Adam 1e-3, batch 64, 50 epochs, halved at epochs 10, 17, 25, 30, 35, 40, 45,
# dropout 0.5. No label or gradient reaches a convolution.
#
# Writes OUT/softhebb-RULE-seedN/: result.{csv,jsonl} (test accuracy), the phases'
# epochs.csv, kernels.png (conv1 before and after) and curves.png; the times
# of the phases and the peak RSS are printed at the end. Rerunning resumes a
# run (at the last finished epoch of a phase).
#
# Usage: scripts/softhebb_cifar10.sh [--seed N] [--rule SPEC] [--out DIR] [--data-dir DIR] [-- TRAIN-OPTIONS]
#   --rule    Hebbian rule(s) of the three layers (default SoftHebb's), e.g.
#             "instar/e-soft-wta:0.02/mean" to put the seeds' rule on this net
set -euo pipefail
cd "$(dirname "$0")/.."
seed=1 out=runs data_dir="${HEBBGRAD_DATA:-datasets}" rule_name=softhebb
rule="softhebb/t=1/lr=0.08+softhebb/t=0.65/lr=0.005+softhebb/t=0.25/lr=0.01"
while [ $# -gt 0 ]; do
  case $1 in
    --seed) seed=$2; shift 2 ;;
    --rule) rule=$2; rule_name=${2%%/*}; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data-dir) data_dir=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "softhebb_cifar10.sh: unknown argument '$1' (expected --seed N, --rule SPEC, --out DIR, --data-dir DIR, -- TRAIN-OPTIONS)" >&2; exit 2 ;;
  esac
done
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
scripts/setup.sh build
if [ ! -f "$data_dir/cifar-10-batches-bin/test_batch.bin" ]; then
  if [ -d ../shared/data/cifar-10-batches-bin ]; then scripts/get_data.sh --from ../shared/data --link --only cifar10 "$data_dir"
  else scripts/get_data.sh --only cifar10 "$data_dir"; fi
fi
run="$out/softhebb-$rule_name-seed$seed"
resume=()
[ -f "$run/settings.json" ] && resume=(--resume)
build/train --data cifar10 --data-dir "$data_dir" --val 0 --model softhebb --modes HHH-G \
  --hebb "$rule" --hebb-epochs 1 --hebb-batch 10 \
  --cache-features --recount-norms 10000 --adam --lr 1e-3 --weight-decay 0 --batch 64 --epochs 50 \
  --schedule halve:10,17,25,30,35,40,45 --seed "$seed" --run-dir "$run" "${resume[@]}" "$@"
build/plot_run "$run"
echo "softhebb: $run/result.csv (and .jsonl), $run/kernels.png, $run/curves.png"
