#!/usr/bin/env bash
# layer_probe and semisup under mpirun (2 processes over loopback, 1 thread
# each) against one process, Fashion-MNIST, the seeds' net, tiny limits:
#  probe:   the same probe_table.csv and .md; each cell once in cells.csv,
#           both ranks trained cells; a rerun skips every cell and adds
#           none; a cell that fails on rank 1 ends the job with an error.
#  semisup: the same test accuracy (within one test image: the data-parallel
#           sums round differently, which may flip a borderline image) and
#           one result row; a rerun adds none.
# Usage: check_mpi_probe.sh probe|semisup BIN_DIR MPIEXEC; exit 77 (skipped)
# when BIN_DIR has no such program.
set -uo pipefail
what="$1"
bin="$2/$([ "$what" = probe ] && echo layer_probe || echo semisup)"
mpiexec="$3"
[ -x "$bin" ] || { echo "check_mpi_probe: skipped: no $bin"; exit 77; }
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d /tmp/hg_mpi_probe_XXXXXX)
trap 'rm -rf "$out"' EXIT
data=(--data fashion-mnist --limit-train 512 --val 256 --limit-test 256 --epochs 1 --hebb-epochs 1 --threads 1)
fail() { echo "check_mpi_probe $what: FAILED: $*"; exit 1; }
two() { "$mpiexec" --oversubscribe -np 2 "$bin" "$@"; }
rows() { tail -n +2 "$1" | wc -l; }

probe() {
  local args=("${data[@]}" --train-hebb hpca/none/relu/avg --layers 1,2 --shc) cells=4
  "$bin" "${args[@]}" --out "$out/one" >"$out/one.log" 2>&1 || fail "one process: $(tail -5 "$out/one.log")"
  two "${args[@]}" --out "$out/two" >"$out/two.log" 2>&1 || fail "two processes: $(tail -5 "$out/two.log")"
  for f in probe_table.csv probe_table.md; do
    cmp -s "$out/one/$f" "$out/two/$f" || fail "$f of 2 processes differs from 1 process's"
  done
  [ "$(rows "$out/two/cells.csv")" -eq $cells ] || fail "cells.csv has $(rows "$out/two/cells.csv") cells, expected $cells"
  [ -z "$(tail -n +2 "$out/two/cells.csv" | cut -d, -f5,6 | sort | uniq -d)" ] || fail "a cell is twice in cells.csv"
  for r in 0 1; do grep -q "^\[rank $r\] L" "$out/two.log" || fail "rank $r trained no cell"; done
  echo "1. 2 processes: probe_table.csv and .md are those of 1 process; each of the $cells cells once in cells.csv"

  two "${args[@]}" --out "$out/two" >"$out/rerun.log" 2>&1 || fail "rerun: $(tail -5 "$out/rerun.log")"
  [ "$(grep -c 'from .*cells.csv' "$out/rerun.log")" -eq $cells ] || fail "the rerun did not skip the $cells cells"
  [ "$(rows "$out/two/cells.csv")" -eq $cells ] || fail "the rerun added cells"
  cmp -s "$out/one/probe_table.md" "$out/two/probe_table.md" || fail "the rerun's table differs"
  echo "2. a rerun skips the $cells cells and writes the same table"

  # L1 goes to rank 0, L2 to rank 1, whose SGD run folder is made a file
  cp -r "$out/one" "$out/broken"
  head -1 "$out/one/cells.csv" >"$out/broken/cells.csv"
  local dir=$(ls -d "$out"/broken/cells/L2-sgd-*)
  rm -rf "$dir" && touch "$dir"
  timeout 120 "$mpiexec" --oversubscribe -np 2 "$bin" "${args[@]}" --out "$out/broken" >"$out/broken.log" 2>&1
  local rc=$?
  [ $rc -ne 0 ] || fail "the job ended with 0 although a cell failed on rank 1"
  [ $rc -ne 124 ] || fail "the job hung after a cell failed on rank 1"
  grep -q "$(basename "$dir")" "$out/broken.log" || fail "no message names $dir: $(tail -5 "$out/broken.log")"
  echo "3. a cell failing on rank 1 ends the job (exit $rc) naming its folder"
}

# test_top1 of the one row in OUT/semisup.csv
top1() {
  [ "$(rows "$1/semisup.csv")" -eq 1 ] || fail "$1/semisup.csv has $(rows "$1/semisup.csv") rows, expected 1"
  awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "test_top1") c = i } NR == 2 { print $c }' "$1/semisup.csv"
}

semisup() {
  local args=("${data[@]}" --epochs 2 --pretrain hpca --hebb-layers 2 --upto 2 --labels 50)
  "$bin" "${args[@]}" --out "$out/one" >"$out/one.log" 2>&1 || fail "one process: $(tail -5 "$out/one.log")"
  two "${args[@]}" --out "$out/two" >"$out/two.log" 2>&1 || fail "two processes: $(tail -5 "$out/two.log")"
  local a=$(top1 "$out/one") b=$(top1 "$out/two")
  [ -n "$a" ] && [ -n "$b" ] || fail "no test accuracy in semisup.csv"
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; exit !(d * d <= (1 / 256) ^ 2 + 1e-12) }' ||
    fail "test accuracy $b with 2 processes, $a with 1"
  [ "$(grep -c 'test ' "$out/two.log")" -eq 1 ] || fail "2 processes printed the result $(grep -c 'test ' "$out/two.log") times"
  echo "1. test accuracy: 1 process $a, 2 processes $b; one row each"
  two "${args[@]}" --out "$out/two" >"$out/rerun.log" 2>&1 || fail "rerun: $(tail -5 "$out/rerun.log")"
  grep -q "from .*semisup.csv" "$out/rerun.log" || fail "the rerun did not find the regime in semisup.csv"
  top1 "$out/two" >/dev/null
  echo "2. a rerun finds the regime in semisup.csv and adds no row"
}

case "$what" in
  probe) probe ;;
  semisup) semisup ;;
  *) fail "expected probe or semisup, not '$what'" ;;
esac
