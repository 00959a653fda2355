#!/usr/bin/env bash
# check_layers.sh — the include graph follows the layers the README's reading
# order describes: a folder may include its own headers and those of folders
# on a lower floor, never one beside it or above it. A dependency through a
# table (one stage reading another's output) is named in the header instead.
#
#   floor 0  core/                         libraries: db, cfg, log, dates, cron, tz, strings
#   floor 1  model/ topics/ demo/ deliver/ stages that need only core
#   floor 2  features/                     (topic shares come from topics/)
#   floor 3  train/ score/                 side by side, both on model/ and features/
#   floor 4  outreach/ report/             (outreach enqueues into deliver/)
#   floor 5  service/                      commands, serve loop, HTTP
#
# tests/ and bench/ may include anything. Exit 1 listing each violation.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"

declare -A floor=([core]=0 [model]=1 [topics]=1 [demo]=1 [deliver]=1
                  [features]=2 [train]=3 [score]=3 [outreach]=4 [report]=4
                  [service]=5)
bad=0
for dir in "${!floor[@]}"; do
  [ -d "$dir" ] || continue
  while IFS=: read -r file line inc; do
    target=${inc#*\"}
    target=${target%%/*}
    [ "$target" = "$dir" ] && continue
    if [ -z "${floor[$target]+x}" ]; then
      echo "$file:$line: includes \"$target/...\", a folder with no floor in tests/check_layers.sh"
      bad=1
    elif [ "${floor[$target]}" -ge "${floor[$dir]}" ]; then
      echo "$file:$line: $dir/ (floor ${floor[$dir]}) includes $target/ (floor ${floor[$target]}): only lower floors may be included"
      bad=1
    fi
  done < <(grep -HnoE '^#include "[a-z_]+/[^"]+"' "$dir"/*.[ch] 2>/dev/null || true)
done
# A top folder missing from the table is a new layer nobody placed.
for d in */; do
  d=${d%/}
  case "$d" in tests|bench|docs|scripts|sql|packaging|build|.vigil) continue ;; esac
  if ls "$d"/*.[ch] >/dev/null 2>&1 && [ -z "${floor[$d]+x}" ]; then
    echo "$d/: C sources in a folder with no floor in tests/check_layers.sh"
    bad=1
  fi
done
if [ "$bad" = 0 ]; then
  echo "layers: every include points down (${#floor[@]} folders)"
fi
exit "$bad"
