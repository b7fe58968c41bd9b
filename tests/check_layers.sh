#!/usr/bin/env bash
# The layering of docs/architecture.md, checked: a file may include only
# headers of its own folder or of a folder below it in LAYERS, and the
# header includes form no cycle (tsort finds none). Usage: check_layers.sh [ROOT]
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
LAYERS=(tensor autograd io data nn hebb experiment examples)
rank() {
  local i
  for i in "${!LAYERS[@]}"; do [ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }; done
  echo -1
}
bad=0 edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for dir in "${LAYERS[@]}"; do
  own=$(rank "$dir")
  # examples/user_rule is a project of its own, built against an installed hebbgrad
  for f in $(find "$dir" -path examples/user_rule -prune -o -name '*.[ch]' -print | sort); do
    while read -r inc; do
      [ -n "$inc" ] || continue
      top=${inc%%/*}
      r=$(rank "$top")
      [ "$inc" = hebbgrad.h ] && r=$(rank experiment)   # the whole library
      if [ "$r" -lt 0 ]; then
        echo "layering: $f includes \"$inc\", which is in no layer"; bad=1
      elif [ "$r" -gt "$own" ]; then
        echo "layering: $f ($dir) includes \"$inc\" from the higher layer $top"; bad=1
      fi
      case $f in *.h) echo "$f $inc" >> "$edges" ;; esac
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f")
  done
done
if ! tsort "$edges" > /dev/null 2> "$edges.err"; then
  echo "layering: header include cycle:"; cat "$edges.err"; bad=1
fi
rm -f "$edges.err"
[ "$bad" = 0 ] && echo "layering: ${#LAYERS[@]} layers, every include runs downwards, no header cycle"
exit "$bad"
