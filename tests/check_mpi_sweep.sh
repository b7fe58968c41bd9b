#!/usr/bin/env bash
# A sweep shared by 2 MPI processes (mpirun over loopback, 1 thread each):
#  1. its table (CSV, Markdown, heat map) is the one a single process makes;
#  2. with one of its processes killed (SIGKILL) after some cells are on
#     disk, a rerun skips every finished cell, computes each other cell
#     once (no cell twice in cells.jsonl) and ends with the same table.
# Usage: check_mpi_sweep.sh BIN_DIR MPIEXEC [SHARED]; exit 77 (skipped) when BIN_DIR
# has no hybrid_sweep built with MPI.
set -uo pipefail
bin="$1/hybrid_sweep"
mpiexec="$2"
export OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d /tmp/hg_mpi_sweep_XXXXXX)
trap 'rm -rf "$out"' EXIT
args=(--data fashion-mnist --model small --limit-train 512 --limit-test 256 --val 256
      --configs H-G,B-H,F-F --methods wta,e-soft-wta --seeds 3 --epochs 1 --hebb-epochs 1 --threads 1)
total=15 # per seed: the baseline, H-G x 2 methods, B-H, F-F
fail() { echo "check_mpi_sweep: FAILED: $*"; exit 1; }
sweep2() { "$mpiexec" --oversubscribe -np 2 "$bin" "${args[@]}" --out "$1"; }

"$bin" "${args[@]}" --out "$out/one" >"$out/one.log" 2>&1 || fail "one process: $(tail -5 "$out/one.log")"
sweep2 "$out/two" >"$out/two.log" 2>&1 || fail "two processes: $(tail -5 "$out/two.log")"
for f in table.csv table.md table.png; do
  cmp -s "$out/one/$f" "$out/two/$f" || fail "$f of 2 processes differs from 1 process's"
done
echo "1. 2 processes: table.csv, table.md and table.png are those of 1 process"

# 2. kill rank 1 once 2 cells are finished
"$mpiexec" --oversubscribe -np 2 "$bin" "${args[@]}" --out "$out/killed" >"$out/killed.log" 2>&1 &
launcher=$! # the ranks are its children
cells="$out/killed/cells.jsonl"
for _ in $(seq 1 6000); do
  [ -f "$cells" ] && [ "$(wc -l <"$cells")" -ge 2 ] && break
  sleep 0.02
done
victim=$(pgrep -P "$launcher" -f hybrid_sweep | tail -1)
[ -n "$victim" ] || fail "no rank to kill (did the sweep end early?)"
kill -KILL "$victim"
wait "$launcher" && fail "the job went on after a rank was killed"
before=$(wc -l <"$cells")
[ "$before" -ge 1 ] && [ "$before" -lt "$total" ] || fail "killed after $before of $total cells"
echo "2. killed rank pid $victim with $before of $total cells in the file"
sweep2 "$out/killed" >"$out/rerun.log" 2>&1 || fail "rerun: $(tail -5 "$out/rerun.log")"
skipped=$(grep -c 'skipped' "$out/rerun.log")
[ "$skipped" -eq "$before" ] || fail "the rerun skipped $skipped cells, $before were finished"
[ "$(wc -l <"$cells")" -eq "$total" ] || fail "cells.jsonl has $(wc -l <"$cells") lines after the rerun, expected $total"
dups=$(sed 's/"test_top1.*//' "$cells" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "a cell is twice in cells.jsonl"
cmp -s "$out/one/table.csv" "$out/killed/table.csv" || fail "the resumed sweep's table differs"
echo "   the rerun skipped the $before finished cells, computed the other $((total - before)) once: same table"
