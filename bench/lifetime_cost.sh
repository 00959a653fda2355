#!/usr/bin/env bash
# lifetime_cost.sh — what family lifetime costs `score` and `train`: the
# core features (`[]`), lifetime with its weekly history summary, and
# lifetime read live (features.history_cache false), on one demo company.
#
#   bench/lifetime_cost.sh [CUSTOMERS] [RUNS]     defaults: 200000, 3
#
# Its own private PostgreSQL (BENCH_PG_DIR, default /tmp/vigil-lifetime-pg)
# with two copies of the company (databases vigil and vigil_life, so each
# has its own champion model), both started and run at nice -10 (run as
# root). Per run: vigil's CPU (/usr/bin/time) and PostgreSQL's CPU — the
# postmaster's reaped children (cutime + cstime in /proc/PID/stat): every
# backend, worker and side session of the run, and whatever autovacuum ran
# meanwhile. One line per run in build/bench/lifetime-cost-N.tsv.
set -euo pipefail
N=${1:-200000}
RUNS=${2:-3}
END=2026-11-01
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
vigil=$(bench_vigil)
pgdir=${BENCH_PG_DIR:-/tmp/vigil-lifetime-pg}
dsn=$(nice -n -10 scripts/pg.sh start "$pgdir")
life="${dsn/dbname=vigil/dbname=vigil_life}"
out=build/bench/lifetime-cost-$N.tsv
mkdir -p build/bench
tmp=$(mktemp -d)
echo '{"features": {"families": []}}' >"$tmp/none.json"
echo '{"features": {"families": ["lifetime"]}}' >"$tmp/life.json"
echo '{"features": {"families": ["lifetime"], "history_cache": false}}' >"$tmp/live.json"
VIGIL_DSN=$dsn "$vigil" --quiet init >/dev/null
if [ "$(psql "$dsn" -Atc 'SELECT count(*) FROM public.customers' 2>/dev/null || echo 0)" != "$N" ]; then
  VIGIL_DSN=$dsn "$vigil" --quiet demo --customers "$N" --end "$END" >/dev/null
  psql "$dsn" -qc "VACUUM ANALYZE public.usage_events, public.tickets, public.customers"
  psql "${dsn/dbname=vigil/dbname=postgres}" -qc "DROP DATABASE IF EXISTS vigil_life"
  psql "${dsn/dbname=vigil/dbname=postgres}" -qc "CREATE DATABASE vigil_life TEMPLATE vigil OWNER vigil_app"
fi
pm=$(head -1 "$pgdir/data/postmaster.pid")
pgcpu() { awk '{print $16 + $17}' "/proc/$pm/stat"; }
run() { # label dsn config command...
  local label=$1 d=$2 cfg=$3
  shift 3
  local p0 l0 p1
  p0=$(pgcpu)
  l0=$(cut -d' ' -f1 /proc/loadavg)
  VIGIL_DSN=$d VIGIL_CONFIG=$cfg /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" \
    nice -n -10 "$vigil" --quiet "$@" --json >"$tmp/o.json"
  p1=$(pgcpu)
  read -r wall u s rss <"$tmp/t"
  printf '%s\t%s\twall=%s\tvigil_cpu=%.1f\tpg_cpu=%.1f\trss_mb=%d\tload=%s->%s\t%s\n' \
    "$(date -u +%H:%M:%S)" "$label" "$wall" "$(echo "$u + $s" | bc)" \
    "$(echo "($p1 - $p0) / 100" | bc -l)" $((rss / 1024)) "$l0" \
    "$(cut -d' ' -f1 /proc/loadavg)" \
    "$(grep -o '"history_summaries_[a-z]*":[0-9]*' "$tmp/o.json" || true)" | tee -a "$out"
}
# a champion in each database (lifetime's keeps its family), then the week's
# summary is built by the first lifetime run
run train-core "$dsn" "$tmp/none.json" train --as-of "$END"
run train-lifetime-first "$life" "$tmp/life.json" train --as-of "$END"
for i in $(seq "$RUNS"); do
  run score-core "$dsn" "$tmp/none.json" score --as-of "$END"
  run score-lifetime "$life" "$tmp/life.json" score --as-of "$END"
  run score-lifetime-live "$life" "$tmp/live.json" score --as-of "$END"
done
run train-core "$dsn" "$tmp/none.json" train --as-of "$END"
run train-lifetime "$life" "$tmp/life.json" train --as-of "$END"
rm -rf "$tmp"
