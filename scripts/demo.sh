#!/usr/bin/env bash
# demo.sh — the main job on the embedded default: installs what is missing,
# builds vigil, starts a private PostgreSQL, loads the demo company and a
# small support team, then init → train → score → topics → outreach → report
# and prints the results.
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
"$vigil" topics
echo
# A demo support team (languages and skills route the outreach tasks).
psql "$VIGIL_DSN" -Xq -v ON_ERROR_STOP=1 -c "
  INSERT INTO vigil.specialists (specialist_id, name, email, languages, skills, daily_capacity)
  VALUES ('ana', 'Ana', 'ana@example.com', '{en,es}', '{}', 12),
         ('jonas', 'Jonas', 'jonas@example.com', '{de,en}', '{}', 12),
         ('claire', 'Claire', 'claire@example.com', '{fr,en}', '{}', 10),
         ('sam', 'Sam', 'sam@example.com', '{en}', '{}', 10)
  ON CONFLICT (specialist_id) DO NOTHING"
"$vigil" outreach
echo
mkdir -p "$root/.vigil"
"$vigil" report --out "$root/.vigil/report.html"
echo
echo "report: $root/.vigil/report.html"
echo "explore: psql \"$VIGIL_DSN\" -c 'SELECT * FROM vigil.outreach_queue LIMIT 5'"
echo "stop the private server: scripts/pg.sh stop"
