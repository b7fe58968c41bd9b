#!/usr/bin/env bash
# The public API is what hebbgrad.h reaches: every header of the library's
# folders but the private ones (given as arguments) is reachable from it, and
# the rule files (hebb/rules/*.c, written as a user would write a rule)
# include public headers only. Usage: check_public_api.sh ROOT CC PRIVATE_HEADER...
set -euo pipefail
root=$1 cc=$2
shift 2
cd "$root"
reach=$("$cc" -MM -I. -x c hebbgrad.h | tr ' \\' '\n\n' | grep '\.h$' | sort -u)
is_private() {
  local p
  for p in "${@:2}"; do [ "$1" = "$p" ] && return 0; done
  return 1
}
bad=0
for h in $(find tensor autograd io data nn hebb experiment -name '*.h' | sort); do
  is_private "$h" "$@" && continue
  grep -qx "$h" <<< "$reach" || { echo "public_api: $h is not reachable from hebbgrad.h"; bad=1; }
done
for f in hebb/rules/*.c; do
  while read -r inc; do
    grep -qx "$inc" <<< "$reach" || { echo "public_api: $f includes \"$inc\", which is not public"; bad=1; }
  done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
done
[ "$bad" = 0 ] && echo "public_api: $(wc -l <<< "$reach") headers reachable from hebbgrad.h; rule files include only them"
exit "$bad"
