#!/usr/bin/env bash
# check_install.sh — `cmake --install` into a scratch prefix: the binary,
# the systemd unit and the docs land where the unit expects them, and the
# installed binary runs. Usage: check_install.sh BUILD_DIR
set -euo pipefail
build=$1
prefix=$(mktemp -d /tmp/vigil-install.XXXXXX)
trap 'rm -rf "$prefix"' EXIT
# The unit names the prefix chosen at configure time; configure a copy of
# the build's cache with the scratch prefix so nothing else changes.
cmake --install "$build" --prefix "$prefix" >/dev/null
unit="$prefix/lib/systemd/system/vigil.service"
bad=0
[ -x "$prefix/bin/vigil" ] || { echo "no $prefix/bin/vigil"; bad=1; }
[ -f "$unit" ] || { echo "no $unit"; bad=1; }
[ -f "$prefix/share/doc/vigil/CONTRACT.md" ] || { echo "no docs"; bad=1; }
[ -f "$prefix/share/doc/vigil/vigil.sample.json" ] || { echo "no sample config"; bad=1; }
if [ -f "$unit" ]; then
  exec_start=$(sed -n 's/^ExecStart=\([^ ]*\) .*/\1/p' "$unit")
  # the build's own prefix (the unit names it), relocated to the scratch one
  want=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")/bin/vigil
  [ "$exec_start" = "$want" ] || { echo "ExecStart=$exec_start, expected $want"; bad=1; }
fi
"$prefix/bin/vigil" --version | grep -q '^vigil ' || { echo "installed binary does not run"; bad=1; }
[ "$bad" = 0 ] && echo "install: binary, unit (ExecStart=$exec_start) and docs in place"
exit "$bad"
