#!/usr/bin/env bash
# test.sh — the whole test suite, as a newcomer and CI run it: installs what is
# missing, builds with AddressSanitizer + UBSan, starts a throwaway PostgreSQL,
# runs every CTest program, stops the server.
#
#   scripts/test.sh            everything
#   scripts/test.sh -R NAME    only tests matching NAME (ctest -R)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/install-deps.sh

build=${VIGIL_TEST_BUILD:-$root/build/test}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_SANITIZE=ON -DVIGIL_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

pgdir=$(mktemp -d /tmp/vigil-test-pg.XXXXXX)
chmod 755 "$pgdir"
# An absolute path: the suite runs from the build directory, where a relative
# scripts/pg.sh is not found, and the server, its directory removed, would
# only stop at its next lock-file check (an immediate shutdown).
cleanup() { "$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
trap cleanup EXIT
VIGIL_TEST_DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_TEST_DSN

# Sanitizers: fail on the first UB report; leaks inside OpenMP's thread pool
# (libgomp) are that library's, listed in tests/lsan.supp.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}

cd "$build"
ctest --output-on-failure -j2 "$@"
