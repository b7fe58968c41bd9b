#!/usr/bin/env bash
# Installs, builds and runs every test: the release build (with MPI, so the
# scale-out tests run over loopback), then the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (without MPI: Open MPI's
# start-up allocations would be reported as leaks; its MPI tests say
# skipped), then each fuzzer briefly (scripts/fuzz.sh runs the long campaign).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

scripts/setup.sh build -DHG_MPI=ON
ctest --test-dir build --output-on-failure

if [ "${HG_SKIP_SANITIZE:-0}" != 1 ]; then
  scripts/setup.sh build-asan -DHG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure
fi

if [ "${HG_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh --seconds "${HG_FUZZ_SECONDS:-20}"
fi
