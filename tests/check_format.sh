#!/usr/bin/env bash
# check_format.sh — every C source and header of the project is as
# clang-format (the repository's .clang-format) writes it, so a diff shows
# changes, not re-wrapping. clang-format comes with scripts/install-deps.sh;
# without it this check fails, never skips. Exit 1 listing each file to run
# `clang-format -i` on.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
if ! command -v clang-format >/dev/null; then
  echo "clang-format is not installed: run scripts/install-deps.sh as root" >&2
  exit 1
fi
mapfile -t files < <(find core model topics demo deliver features train score \
                          outreach report service tests bench -name '*.[ch]' \
                          2>/dev/null | sort)
# one clang-format for every file (a process each costs minutes under load);
# its warnings start with the file's name
out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1) && exit 0
grep -o '^[^:]*\.[ch]:' <<<"$out" | sort -u | while IFS=: read -r f _; do
  echo "$f: not clang-formatted; run: clang-format -i $f"
done
exit 1
