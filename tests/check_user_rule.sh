#!/usr/bin/env bash
# The out-of-tree example (examples/user_rule): install this build into a
# temporary prefix, build the example there with find_package(hebbgrad) and
# again with pkg-config, and run it: it registers its own rule and trains.
# Usage: tests/check_user_rule.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
tmp=$(mktemp -d /tmp/hg_user_rule_XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src/examples/user_rule" -B "$tmp/cmake-build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
"$tmp/cmake-build/user_rule"
pc=$(find "$tmp/prefix" -name hebbgrad.pc)
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs hebbgrad)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$tmp/user_rule_pc" "$src"/examples/user_rule/*.c $flags
"$tmp/user_rule_pc" | grep -q "test"
echo "pkg-config build: ok"
