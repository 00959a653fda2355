#!/usr/bin/env bash
# demo.sh — the main job on the embedded default: installs what is missing,
# builds vigil, starts a private PostgreSQL, loads the demo company, then
# init → train → score and prints the result.
#
#   scripts/demo.sh                 5,000 customers
#   VIGIL_DEMO_CUSTOMERS=200000 scripts/demo.sh
#   scripts/pg.sh stop              stop the private server afterwards
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/install-deps.sh
cmake -S "$root" -B "$root/build/release" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j"$(nproc)" >/dev/null
vigil="$root/build/release/vigil"

VIGIL_DSN=$(scripts/pg.sh start)
export VIGIL_DSN
echo "private PostgreSQL: $VIGIL_DSN"

"$vigil" init
"$vigil" demo --customers "${VIGIL_DEMO_CUSTOMERS:-5000}"
echo
"$vigil" train
echo
"$vigil" score
echo
echo "explore: psql \"$VIGIL_DSN\" -c 'SELECT * FROM vigil.scores ORDER BY churn_risk DESC LIMIT 5'"
echo "stop the private server: scripts/pg.sh stop"
