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
for who in "ana Ana en,es 12" "jonas Jonas de,en 12" "claire Claire fr,en 10" "sam Sam en 10"; do
  set -- $who
  # a second run finds them: keep them active
  "$vigil" specialists add "$1" --name "$2" --email "$1@example.com" \
    --languages "$3" --capacity "$4" >/dev/null 2>&1 ||
    "$vigil" specialists update "$1" --active >/dev/null
done
"$vigil" specialists list
echo
"$vigil" outreach
echo
echo "the outreach queue, most valuable first:"
"$vigil" tasks list --limit 8
echo
# The account with the most revenue at risk, as a specialist sees it.
top=$(psql "$VIGIL_DSN" -XAtq -c "
  SELECT s.customer_id FROM vigil.scores s JOIN public.customers c USING (customer_id)
   WHERE s.as_of = (SELECT max(as_of) FROM vigil.scores)
   ORDER BY s.churn_risk * coalesce(c.mrr, 0) DESC, s.customer_id LIMIT 1")
"$vigil" customer "$top" --limit 5
echo
mkdir -p "$root/.vigil"
"$vigil" report --out "$root/.vigil/report.html"
echo
echo "report: $root/.vigil/report.html"
echo "explore: $vigil customer ID, $vigil tasks list, $vigil tasks show ID"
echo "stop the private server: scripts/pg.sh stop"
