# shellcheck shell=bash
# lib.sh — what the benchmark scripts share. Sourced, never run:
#   . "$(dirname "$0")/lib.sh"
#
# bench_vigil prints the vigil binary a benchmark measures: VIGIL_BIN when
# it is set (e.g. main's binary against a branch's, or an old build kept for
# a paired run), otherwise a Release build of this checkout in build/release,
# brought up to date first. Always Release and never sanitized: a figure
# taken from an ASan build measures ASan. It also makes build/bench, where
# every script writes its raw results.
bench_vigil() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$root/build/bench"
  if [ -n "${VIGIL_BIN:-}" ]; then
    echo "$VIGIL_BIN"
    return
  fi
  cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release \
    -DVIGIL_SANITIZE=OFF >/dev/null
  cmake --build "$root/build/release" -j2 --target vigil >/dev/null
  echo "$root/build/release/vigil"
}

# bench_pg DIR starts (or finds running) the private PostgreSQL of DIR and
# sets VIGIL_DSN and dsn to it; unless KEEP=1 it is stopped when the script
# exits. Not in a subshell: the EXIT trap must be the caller's.
bench_pg() {
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$1"
  chmod 755 "$1"
  dsn=$("$root/scripts/pg.sh" start "$1")
  export VIGIL_DSN=$dsn
  # shellcheck disable=SC2064 # the directory is fixed now, on purpose
  [ "${KEEP:-0}" = 1 ] || trap "'$root/scripts/pg.sh' stop '$1' >/dev/null 2>&1 || true" EXIT
}
