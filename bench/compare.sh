#!/bin/sh
# Run bench_net (hebbgrad) and torch_net.py (PyTorch CPU) with the same
# thread count and print images/s side by side.
# Usage: bench/compare.sh [build-dir] [extra bench options, e.g. --steps 30]
# (build-dir defaults to build). Needs /usr/bin/python3 with torch.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ $# -gt 0 ] && shift
python=/usr/bin/python3
threads=${OMP_NUM_THREADS:-2}

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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== hebbgrad: $build/bench_net --threads $threads $*"
OMP_NUM_THREADS=$threads "$build/bench_net" --threads "$threads" "$@" | tee "$tmp/hg.txt"
echo
echo "== PyTorch: $python bench/torch_net.py --threads $threads $*"
OMP_NUM_THREADS=$threads "$python" "$here/torch_net.py" --threads "$threads" "$@" | tee "$tmp/pt.txt"
echo

# images/s (median) is the third field of each measurement line.
rate() { awk -v m="$2" '$1 == m { print $3 }' "$1"; }
rss() { awk '/^peak RSS:/ { print $3 }' "$1"; }

printf '%-14s | %15s | %14s | %15s\n' "measurement" "hebbgrad img/s" "PyTorch img/s" "hebbgrad/PyTorch"
printf '%-14s-+-%15s-+-%14s-+-%15s\n' "--------------" "---------------" "--------------" "----------------"
status=0
for m in forward_eval sgd_step hebbian_step; do
  h=$(rate "$tmp/hg.txt" $m)
  p=$(rate "$tmp/pt.txt" $m)
  if [ -z "$h" ] || [ -z "$p" ]; then
    echo "compare.sh: no '$m' line in one of the outputs" >&2
    status=1
    continue
  fi
  awk -v m="$m" -v h="$h" -v p="$p" \
    'BEGIN { printf "%-14s | %15.1f | %14.1f | %15.2fx\n", m, h, p, h / p }'
done
awk -v h="$(rss "$tmp/hg.txt")" -v p="$(rss "$tmp/pt.txt")" \
  'BEGIN { printf "%-14s | %11.1f MiB | %10.1f MiB | %15.2fx\n", "peak RSS", h, p, h / p }'
exit $status
