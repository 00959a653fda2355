#!/usr/bin/env bash
# copy_scores.sh — the server's side of `score`'s COPY alone: one date's
# stored rows of vigil.scores are written to a file once, then, per run,
# deleted (untimed, then VACUUM) and COPYed back with the columns `score`
# sends. Records the COPY's wall time and the server's CPU for it (every
# backend of the cluster, from the postmaster's reaped children: the
# psql session's backend exits before it is read), and the DELETE's.
#
#   bench/copy_scores.sh PGDIR [RUNS] [AS_OF]     default 5 runs, 2026-11-01
#
# The server of PGDIR must be running (start it at the niceness the figure
# is for). Prints one line per run and the medians.
set -euo pipefail
PGDIR=${1:?usage: bench/copy_scores.sh PGDIR [RUNS] [AS_OF]}
RUNS=${2:-5}
AS_OF=${3:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dsn=$(scripts/pg.sh dsn "$PGDIR")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cols="as_of, customer_id, model_id, churn_risk, health, tier, drivers"
psql "$dsn" -qXc "\\copy (SELECT $cols FROM vigil.scores WHERE as_of = '$AS_OF') TO '$tmp/rows'"
n=$(wc -l <"$tmp/rows")
[ "$n" -gt 0 ] || { echo "copy_scores.sh: no scores for $AS_OF" >&2; exit 1; }
pm=$(head -1 "$PGDIR/data/postmaster.pid")
tck=$(getconf CLK_TCK)
pgcpu() { awk -v t="$tck" '{print ($16 + $17) / t}' "/proc/$pm/stat"; }
now() { date +%s.%N; }
# A statement in its own session; returns once the session's backend has
# exited and been reaped, so that its CPU is in the postmaster's figures.
sess() {
  local pid
  pid=$(psql "$dsn" -qXAt -c "SELECT pg_backend_pid()" -c "$1")
  while [ -e "/proc/$pid" ]; do sleep 0.05; done
}
: >"$tmp/runs"
for i in $(seq "$RUNS"); do
  psql "$dsn" -qXc "VACUUM vigil.scores" >/dev/null
  c0=$(pgcpu) t0=$(now)
  sess "DELETE FROM vigil.scores WHERE as_of = '$AS_OF'"
  c1=$(pgcpu) t1=$(now)
  psql "$dsn" -qXc "VACUUM vigil.scores" >/dev/null
  l0=$(cut -d' ' -f1 /proc/loadavg)
  c2=$(pgcpu) t2=$(now)
  sess "\\copy vigil.scores ($cols) FROM '$tmp/rows'"
  c3=$(pgcpu) t3=$(now)
  echo "$i $n $l0 $(echo "$t3 - $t2" | bc) $(echo "$c3 - $c2" | bc) $(echo "$t1 - $t0" | bc) $(echo "$c1 - $c0" | bc)" >>"$tmp/runs"
done
/usr/bin/python3 - "$tmp/runs" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
print("| run | rows | load | COPY wall (s) | COPY server CPU (s) | DELETE wall (s) | DELETE server CPU (s) |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r[0]} | {r[1]} | {r[2]} | {float(r[3]):.2f} | {float(r[4]):.2f} | {float(r[5]):.2f} | {float(r[6]):.2f} |")
med = lambda k: statistics.median(float(r[k]) for r in rows)
print(f"median: COPY {med(3):.2f} s wall, {med(4):.2f} server CPU-s; "
      f"DELETE {med(5):.2f} s wall, {med(6):.2f} server CPU-s")
PY
