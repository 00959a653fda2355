#!/usr/bin/env bash
# fuzz_speed.sh — CPU cost of the libFuzzer targets, independent of the
# machine's load: each target runs a fixed number of executions from a fresh
# copy of its seeds (tests/fuzz/seeds, -seed=1, so the same inputs each time)
# and the median user+system CPU seconds of REPS runs is printed, with the
# executions per CPU second that follow.
#
#   bench/fuzz_speed.sh FUZZ_OUT [RUNS] [REPS] [TARGET...]
#
# FUZZ_OUT holds the fuzz_TARGET binaries (scripts/fuzz.sh builds them into
# build/fuzz, or VIGIL_FUZZ_OUT). Comparing two versions: build each with
# VIGIL_FUZZ_OUT=DIR scripts/fuzz.sh 1 from its own tree, run this on both.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
runs=${2:-20000}
reps=${3:-3}
shift 3 2>/dev/null || shift $#
targets=${*:-"config cron tz text http playbook"}
tmp=$(mktemp -d /tmp/fuzz_speed.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
for t in $targets; do
  cpu=()
  for _ in $(seq "$reps"); do
    rm -rf "$tmp/corpus" && mkdir "$tmp/corpus"
    cp "$root/tests/fuzz/seeds/$t"/* "$tmp/corpus/"
    /usr/bin/time -o "$tmp/time" -f '%U %S' "$out/fuzz_$t" -seed=1 \
      -runs="$runs" "$tmp/corpus" >/dev/null 2>"$tmp/log" ||
      { echo "fuzz_speed: $t failed (log: kept in $tmp/log)" >&2; cat "$tmp/log" >&2; exit 1; }
    cpu+=("$(awk '{print $1 + $2}' "$tmp/time")")
  done
  med=$(printf '%s\n' "${cpu[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$t: $runs executions, median CPU ${med} s of $reps (${cpu[*]}), $(awk -v r="$runs" -v c="$med" 'BEGIN {printf "%.0f", r / c}') executions per CPU second"
done
