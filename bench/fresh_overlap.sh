#!/usr/bin/env bash
# fresh_overlap.sh — the freshness check's scan (core/freshness.c's count
# of the 91 days' rows per day) before PostgreSQL alone's aggregation
# (`features --pg-only`), against the two at once: what running the check
# beside the reading saves in wall time and in the server's CPU.
#
#   bench/fresh_overlap.sh PGDIR [ROUNDS] [AS_OF]   default 2, 2026-11-01
#
# VIGIL_BIN picks the binary (default: a Release build of this checkout),
# BENCH_NICE the niceness of the client (default 5; start the server at the
# same niceness). Prints one line per run: the check's wall time, the
# pair's, and the cluster's CPU (its reaped backends and workers).
set -euo pipefail
PGDIR=${1:?usage: bench/fresh_overlap.sh PGDIR [ROUNDS] [AS_OF]}
ROUNDS=${2:-2}
AS_OF=${3:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
VIGIL_BIN=$(bench_vigil)
VIGIL_DSN=$(scripts/pg.sh dsn "$PGDIR")
export VIGIL_DSN
n=${BENCH_NICE:-5}
pm=$(head -1 "$PGDIR/data/postmaster.pid")
tck=$(getconf CLK_TCK)
pgcpu() { awk -v t="$tck" '{print ($16 + $17) / t}' "/proc/$pm/stat"; }
now() { date +%s.%N; }
# the check's query as core/freshness.c sends it (events and tickets)
check="SELECT (d AT TIME ZONE 'UTC')::date::text, count(*) FROM (
 SELECT date_bin('1 day', occurred_at, (\$1::date)::timestamp AT TIME ZONE 'UTC') AS d
  FROM usage_events WHERE occurred_at >= (\$1::date)::timestamp AT TIME ZONE 'UTC'
  AND occurred_at < (\$2::date)::timestamp AT TIME ZONE 'UTC' AND occurred_at <= now()
 UNION ALL
 SELECT date_bin('1 day', created_at, (\$1::date)::timestamp AT TIME ZONE 'UTC') AS d
  FROM tickets WHERE created_at >= (\$1::date)::timestamp AT TIME ZONE 'UTC'
  AND created_at < (\$2::date)::timestamp AT TIME ZONE 'UTC' AND created_at <= now()) x
 GROUP BY d ORDER BY d"
from=$(date -u -d "$AS_OF - 90 days" +%F)
to=$(date -u -d "$AS_OF + 1 day" +%F)
sql="PREPARE c(text, text) AS $check; EXECUTE c('$from', '$to');"
fresh() { nice -n "$n" psql -qX "$VIGIL_DSN" -c "$sql" >/dev/null; }
pgonly() {
  nice -n "$n" "$VIGIL_BIN" --quiet features --as-of "$AS_OF" --pg-only \
    --json >/dev/null
}
for _ in $(seq "$ROUNDS"); do
  for how in serial beside; do
    l=$(cut -d' ' -f1 /proc/loadavg)
    c0=$(pgcpu)
    t0=$(now)
    if [ $how = serial ]; then
      fresh
      t1=$(now)
      pgonly
    else
      pgonly &
      p=$!
      fresh
      t1=$(now)
      wait $p
    fi
    t2=$(now)
    c1=$(pgcpu)
    awk -v h=$how -v l="$l" -v a="$t0" -v b="$t1" -v c="$t2" -v x="$c0" \
      -v y="$c1" 'BEGIN { printf "%-6s load %5.1f  check %6.1f s  both %6.1f s  server CPU %6.1f s\n", h, l, b - a, c - a, y - x }'
  done
done
