#!/usr/bin/env bash
# The semi-supervised table of seed 001 (Table 1): for each label percentage s
# and each depth L1..L5, fine-tune the seeds' net after Hebbian pre-training
# (--pretrain) and, beside it, from random initialisation (none); then print
# the table and write OUT/semisup_table.md. Regimes already in OUT/semisup.csv
# are not run again, so an interrupted table continues where it stopped.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/semisup_table.sh --pretrain hpca|soft-wta [options] [semisup options]

Runs build/semisup for every s in --percents, K in --layers and pre-training in
{--pretrain, none}, once per seed in --seeds, then prints the table (rows: label
percentage x pre-training, columns: L1..L5; mean +- 95% confidence half-width
when there are several seeds) and writes it to OUT/semisup_table.md.

  --pretrain P       hpca or soft-wta (or any name with --hebb SPEC); required
  --out DIR          output folder of semisup (default runs/semisup)
  --seeds "1 2 3"    seeds to run and average (default "1"; --seed N is the same as --seeds N)
  --percents "..."   label percentages (default "1 5 10 100")
  --layers "..."     depths K (default "1 2 3 4 5")
  --bin FILE         the semisup program (default $HEBBGRAD_BIN/semisup, else build/semisup)
  --table-only       do not run anything, only make the table from OUT/semisup.csv
  --help             this text
Every other option (--data, --data-dir, --limit-train, --val, --epochs, --hebb-epochs,
--zca, ...) is passed to semisup unchanged; see build/semisup --help.

Example (a small run on Fashion-MNIST):
  scripts/semisup_table.sh --pretrain hpca --data fashion-mnist --limit-train 2000 \
      --val 1000 --limit-test 1000 --epochs 2 --out runs/semisup-small
EOF
}

pretrain="" out="runs/semisup" seeds="1" percents="1 5 10 100" layers="1 2 3 4 5"
bin="${HEBBGRAD_BIN:-build}/semisup" table_only=0 data="fashion-mnist" zca=0
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) usage; exit 0 ;;
    --pretrain) pretrain="${2:?--pretrain needs a value}"; shift 2 ;;
    --out) out="${2:?--out needs a value}"; shift 2 ;;
    --seeds|--seed) seeds="${2:?$1 needs a value}"; shift 2 ;;
    --percents) percents="${2:?--percents needs a value}"; shift 2 ;;
    --layers) layers="${2:?--layers needs a value}"; shift 2 ;;
    --bin) bin="${2:?--bin needs a value}"; shift 2 ;;
    --table-only) table_only=1; shift ;;
    --data) data="${2:?--data needs a value}"; pass+=("$1" "$2"); shift 2 ;;
    --zca) zca=1; pass+=("$1"); shift ;;
    --labels|--upto) echo "semisup_table.sh: $1 is set by the script (see --percents, --layers)" >&2; exit 2 ;;
    --*=*) echo "semisup_table.sh: write '${1%%=*} ${1#*=}' instead of '$1'" >&2; exit 2 ;;
    --*)
      pass+=("$1")
      # options of semisup that take a value
      case "$1" in
        --zca|--unit-rows|--modified-bn|--no-bias|--help) ;;
        *) [ $# -ge 2 ] || { echo "semisup_table.sh: $1 needs a value" >&2; exit 2; }
           pass+=("$2"); shift ;;
      esac
      shift ;;
    *) echo "semisup_table.sh: unexpected argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$pretrain" ] || { echo "semisup_table.sh: --pretrain is required (see --help)" >&2; exit 2; }
[ "$pretrain" != none ] || { echo "semisup_table.sh: --pretrain none is the baseline run beside the Hebbian one; name a rule" >&2; exit 2; }

if [ "$table_only" = 0 ]; then
  [ -x "$bin" ] || { echo "semisup_table.sh: $bin is not built (cmake --build build, or --bin FILE)" >&2; exit 2; }
  for seed in $seeds; do
    for s in $percents; do
      for k in $layers; do
        for p in "$pretrain" none; do
          extra=()
          if [ "$p" = none ]; then # --hebb* options belong to the Hebbian regime only
            skip=0
            for a in ${pass[@]+"${pass[@]}"}; do
              if [ "$skip" = 1 ]; then skip=0; continue; fi
              case "$a" in --hebb|--hebb-epochs|--hebb-lr|--hebb-layers) skip=1; continue ;; esac
              extra+=("$a")
            done
          else
            extra=(${pass[@]+"${pass[@]}"})
          fi
          "$bin" --pretrain "$p" --labels "$s" --upto "$k" --seed "$seed" --out "$out" ${extra[@]+"${extra[@]}"}
        done
      done
    done
  done
fi

csv="$out/semisup.csv"
[ -f "$csv" ] || { echo "semisup_table.sh: no results in $csv" >&2; exit 1; }
key="$data"
[ "$zca" = 1 ] && key="$data+zca"
table="$out/semisup_table.md"
{
  echo "Semi-supervised fine-tuning (seed 001 Table 1): $key, test top-1 accuracy (%), pre-training $pretrain vs random initialisation (none), seeds: $seeds."
  echo
  awk -F, -v data="$key" -v pre="$pretrain" -v seeds="$seeds" -v percents="$percents" -v layers="$layers" '
    NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    {
      if ($col["data"] != data) next
      if ($col["pretrain"] != pre && $col["pretrain"] != "none") next
      # the last row of each (pre-training, s, K, seed) wins
      last[$col["pretrain"] SUBSEP $col["labels_pct"] SUBSEP $col["upto"] SUBSEP $col["seed"]] = 100 * $col["test_top1"]
    }
    END {
      nt = split("12.706 4.303 3.182 2.776 2.571 2.447 2.365 2.306 2.262 2.228", tq, " ")
      ns = split(seeds, sd, " "); np = split(percents, pc, " "); nl = split(layers, ly, " ")
      printf "| Regime | Pre-train |"; for (j = 1; j <= nl; j++) printf " L%s |", ly[j]; printf "\n"
      printf "|---|---|"; for (j = 1; j <= nl; j++) printf "---|"; printf "\n"
      for (i = 1; i <= np; i++) {
        for (q = 1; q <= 2; q++) {
          p = q == 1 ? pre : "none"
          printf "| %s | %s |", q == 1 ? pc[i] "%" : "", q == 1 ? p : "none (random init)"
          for (j = 1; j <= nl; j++) {
            n = 0; sum = 0; sq = 0
            for (k = 1; k <= ns; k++) {
              id = p SUBSEP pc[i] SUBSEP ly[j] SUBSEP sd[k]
              if (id in last) { n++; sum += last[id]; sq += last[id] * last[id] }
            }
            if (n == 0) { printf " - |"; continue }
            m = sum / n
            if (n == 1) { printf " %.2f |", m; continue }
            v = (sq - n * m * m) / (n - 1); if (v < 0) v = 0
            t = n - 1 <= nt ? tq[n - 1] : 1.96
            printf " %.2f ± %.2f |", m, t * sqrt(v / n)
          }
          printf "\n"
        }
      }
    }' "$csv"
} > "$table"
cat "$table"
echo
echo "written: $table"
