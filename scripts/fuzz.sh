#!/usr/bin/env bash
# Builds the libFuzzer harnesses (fuzz/, clang with ASan + UBSan) and runs
# each one: first on its regression inputs (fuzz/regressions/NAME/), then for
# SECONDS seconds (or until RUNS executions) from a seed corpus written here
# (build-fuzz/corpus/NAME/). Prints each fuzzer's execution count; a crash,
# leak or timeout fails.
# Usage: scripts/fuzz.sh [--seconds N] [--runs N] [--only NAME]   (default 600 s each)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=600 only="" runs=-1
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "fuzz.sh: unknown argument '$1' (expected --seconds N, --runs N, --only NAME)" >&2; exit 2 ;;
  esac
done
if ! command -v clang >/dev/null; then
  echo "fuzz: installing clang"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq clang >/dev/null
fi
scripts/setup.sh build-fuzz -DHG_FUZZ=ON -DHG_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_COMPILER=clang >/dev/null

corpus=build-fuzz/corpus
be32() { printf "\\x$(printf %02x $(($1 >> 24 & 255)))\\x$(printf %02x $(($1 >> 16 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\x$(printf %02x $(($1 & 255)))"; }
le64() { printf "\\x$(printf %02x $(($1 & 255)))\\x$(printf %02x $(($1 >> 8 & 255)))\\0\\0\\0\\0\\0\\0"; }

seed() { # seed NAME FILE: writes stdin to the corpus of NAME
  mkdir -p "$corpus/$1"
  cat > "$corpus/$1/$2"
}
# IDX: split bytes (the image file's length), 2 images of 2x2 then their 2 labels.
{ printf '\x00\x18'; be32 2051; be32 2; be32 2; be32 2; printf '\x01\x02\x03\x04\x05\x06\x07\x08'
  be32 2049; be32 2; printf '\x03\x07'; } | seed fuzz_idx plain
# CIFAR: one CIFAR-10 record (label, 3072 pixels).
{ printf '\x03'; head -c 3072 /dev/zero; } | seed fuzz_cifar record
# safetensors: a trainer-like and a ZCA-like header.
h='{"__metadata__":{"format":"hebbgrad-zca/1","eps":"0.01","count":"2"},"zca.mean":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"zca.matrix":{"dtype":"F32","shape":[1,1],"data_offsets":[4,8]}}'
{ le64 ${#h}; printf '%s' "$h"; printf '\x00\x00\x80\x3f\x00\x00\x80\x3f'; } | seed fuzz_checkpoint zca
printf '%s\n' '{"config":"HBBBB-G","method":"wta","seed":1,"test_top1":0.5,"test_top5":0.9,"val_top1":0.5,"seconds":3}' \
  | seed fuzz_sweep cells
printf '%s' '{"data":"mnist","epochs":"20"}' | seed fuzz_sweep settings
printf 'HB-G' | seed fuzz_modes modes
printf 'B-H,HBBBB-G,all' | seed fuzz_modes configs
printf 'instar/e-soft-wta:0.02/mean' | seed fuzz_spec esoft
printf 'hpca/none/relu/avg/prune=0.5' | seed fuzz_spec hpca

status=0
for bin in build-fuzz/fuzz_*; do
  name=$(basename "$bin")
  case $name in *.* | *-*) continue ;; esac # logs and saved inputs
  [ -x "$bin" ] || continue
  [ -n "$only" ] && [ "$name" != "$only" ] && continue
  if [ -d "fuzz/regressions/$name" ]; then
    "$bin" fuzz/regressions/"$name"/* >/dev/null 2>&1 || { echo "$name: a regression input fails"; status=1; }
  fi
  log=build-fuzz/$name.log
  start=$(date +%s)
  if "$bin" -max_total_time="$seconds" -runs="$runs" -rss_limit_mb=4096 -timeout=20 -print_final_stats=1 \
      -artifact_prefix=build-fuzz/"$name"- "$corpus/$name" >"$log" 2>&1; then
    count=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "$name: $count executions in $(( $(date +%s) - start )) s, no crash"
  else
    echo "$name: FAILED (see $log; the input is build-fuzz/$name-*; add it to fuzz/regressions/$name/)"
    status=1
  fi
done
exit $status
