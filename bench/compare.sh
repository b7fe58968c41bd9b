#!/bin/sh
# Run bench_net (hebbgrad) and torch_net.py (PyTorch CPU) with the same
# thread count and print images/s side by side.
# Usage: bench/compare.sh [build-dir] [extra bench options, e.g. --steps 30]
# (build-dir defaults to build; --ceiling goes to bench_net alone, whose
# output always ends with its ceiling, see docs/results/bench.md). Needs /usr/bin/python3 with torch.
# ROUNDS=n (default 1) alternates the two programs n times and keeps each
# side's highest figures: on a shared machine it filters out the rounds
# that other work slowed down.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
python=/usr/bin/python3
threads=${OMP_NUM_THREADS:-2}
rounds=${ROUNDS:-1}

if [ ! -x "$build/bench_net" ]; then
  echo "compare.sh: $build/bench_net not found; build first:" >&2
  echo "  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release && cmake --build $build -j2" >&2
  exit 1
fi
if [ ! -x "$python" ] || ! "$python" -c 'import torch' >/dev/null 2>&1; then
  echo "compare.sh: $python cannot import torch (install Debian's python3-torch);" \
       "the PyTorch side of the comparison cannot run" >&2
  exit 1
fi

# bench_net's own options (--ceiling, --net NAME) are not passed to
# torch_net.py, the twin of the seeds' net alone.
torch_args='' prev=''
for a in "$@"; do
  if [ "$prev" = --net ] && [ "$a" != seeds ]; then
    echo "compare.sh: --net $a has no PyTorch twin here (SoftHebb's: bench/softhebb_compare.sh)" >&2
    exit 2
  fi
  case $a in
    --ceiling | --net) ;;
    *) [ "$prev" = --net ] || torch_args="$torch_args $a" ;;
  esac
  prev=$a
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

r=1
while [ "$r" -le "$rounds" ]; do
  echo "== round $r/$rounds hebbgrad: $build/bench_net --threads $threads $*"
  OMP_NUM_THREADS=$threads "$build/bench_net" --threads "$threads" "$@" | tee "$tmp/hg.$r.txt"
  echo
  echo "== round $r/$rounds PyTorch: $python bench/torch_net.py --threads $threads$torch_args"
  # shellcheck disable=SC2086 # numbers and flags, split on purpose
  OMP_NUM_THREADS=$threads "$python" "$here/torch_net.py" --threads "$threads" $torch_args | tee "$tmp/pt.$r.txt"
  echo
  r=$((r + 1))
done

# Measurement lines: name, ms/step, img/s (median), img/s (best), ...
# field SIDE NAME COLUMN: the highest value over the rounds.
field() { awk -v m="$2" -v f="$3" '$1 == m && (v == "" || $f > v) { v = $f } END { print v }' "$tmp/$1".*.txt; }
rss() { awk '/^peak RSS:/ && $3 > v { v = $3 } END { print v }' "$tmp/$1".*.txt; }

echo "images/s: median of the timed steps (best step in brackets), highest over $rounds round(s); ratio > 1: hebbgrad faster"
printf '%-14s | %-22s | %-22s | %s\n' "measurement" "hebbgrad img/s" "PyTorch img/s" "ratio med (best)"
printf '%-14s-+-%-22s-+-%-22s-+-%s\n' "--------------" "----------------------" "----------------------" "----------------"
status=0
for m in forward_eval sgd_step hebbian_step; do
  h=$(field hg $m 3) hb=$(field hg $m 4)
  p=$(field pt $m 3) pb=$(field pt $m 4)
  if [ -z "$h" ] || [ -z "$p" ]; then
    echo "compare.sh: no '$m' line in one of the outputs" >&2
    status=1
    continue
  fi
  awk -v m="$m" -v h="$h" -v hb="$hb" -v p="$p" -v pb="$pb" 'BEGIN {
    printf "%-14s | %9.1f (%9.1f) | %9.1f (%9.1f) | %5.2fx (%5.2fx)\n", m, h, hb, p, pb, h / p, hb / pb }'
done
awk -v h="$(rss hg)" -v p="$(rss pt)" 'BEGIN {
  printf "%-14s | %18.1f MiB | %18.1f MiB | %5.2fx\n", "peak RSS", h, p, h / p }'
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
echo "load average at the end: $load on $(nproc) CPUs (other work on the machine skews both sides)"
exit $status
