#!/usr/bin/env bash
# Code in the documentation is real code: a block after a line
#   <!-- snippet: FILE NAME -->   (or <!-- snippet: FILE --> for the whole file)
# must equal the lines of FILE between /* snippet NAME */ and
# /* end snippet NAME */, leading indentation aside.
# Usage: check_doc_snippets.sh ROOT DOC...
set -euo pipefail
root=$1
shift
cd "$root"
dedent() { awk '{ l[NR] = $0; if ($0 ~ /[^ ]/) { match($0, /^ */); if (min == "" || RLENGTH < min) min = RLENGTH } }
               END { for (i = 1; i <= NR; i++) print substr(l[i], min + 1) }'; }
bad=0 count=0
for doc in "$@"; do
  while read -r line file name; do
    block=$(awk -v start="$line" 'NR > start + 1 && /^```/ { exit } NR > start + 1 { print }' "$doc" | dedent)
    if [ -n "$name" ]; then
      code=$(awk -v a="/* snippet $name */" -v b="/* end snippet $name */" \
             'index($0, b) { on = 0 } on { print } index($0, a) { on = 1 }' "$file" | dedent)
    else
      code=$(dedent < "$file")
    fi
    count=$((count + 1))
    if [ -z "$code" ] || [ "$block" != "$code" ]; then
      echo "doc_snippets: $doc:$line differs from $file${name:+ ($name)}:"
      diff <(echo "$code") <(echo "$block") || true
      bad=1
    fi
  done < <(grep -n '^<!-- snippet: .* -->$' "$doc" | sed 's/^\([0-9]*\):<!-- snippet: \([^ ]*\) *\([^ ]*\) *-->$/\1 \2 \3/')
done
[ "$bad" = 0 ] && echo "doc_snippets: $count blocks equal their code"
exit "$bad"
