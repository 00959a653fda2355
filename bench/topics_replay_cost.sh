#!/usr/bin/env bash
# topics_replay_cost.sh — the cost of replayed days of `vigil topics`:
# wall time and vigil's CPU (/usr/bin/time) and PostgreSQL's CPU (the CPU
# of the postmaster's reaped children: the session's backend, its parallel
# workers, and any autovacuum worker that ended meanwhile) per day.
#
#   bench/topics_replay_cost.sh PGDIR VIGIL_BIN DAY...
#
# PGDIR is a kept database of bench/topics_worlds.sh (KEEP=1), started with
# `nice -n -10 scripts/pg.sh start PGDIR` so its backends run at nice -10;
# vigil runs at nice -10 too (as root). Each DAY is replayed in the order
# given (`vigil topics --as-of DAY --replay`); prints one line per day with
# the load average, then a digest of every alert and alert day, so two
# binaries can be compared on the same days (equal digests: same alerts;
# alert ids aside, which a replay renumbers).
set -euo pipefail
dir=$1
bin=$2
shift 2
dsn="host=$dir/sock port=$(cat "$dir/port") dbname=vigil user=vigil_app"
pm=$(head -1 "$dir/data/postmaster.pid")
tck=$(getconf CLK_TCK)
pgcpu() { awk -v t="$tck" '{print ($16 + $17) / t}' "/proc/$pm/stat"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for d in "$@"; do
  a=$(pgcpu)
  t=$( { VIGIL_DSN="$dsn" nice -n -10 /usr/bin/time -f '%e %U %S' "$bin" --quiet topics --as-of "$d" --replay --json >"$out"; } 2>&1 | tail -1)
  sleep 0.5 # the backend is reaped after the client leaves
  b=$(pgcpu)
  read -r el us sy <<<"$t"
  echo "$d wall=${el}s vigil_cpu=$(echo "$us + $sy" | bc)s pg_cpu=$(echo "$b - $a" | bc)s raised=$(jq .alerts_raised "$out") load=$(cut -d' ' -f1 /proc/loadavg)"
done
psql "$dsn" -XAtc "SELECT md5(coalesce((SELECT string_agg(concat_ws('|',
  as_of, kind, status, window_start, window_end, observed,
  round(expected::numeric, 4), p_value, customers, mrr_at_risk, label,
  key_terms, languages, topic_id, topic_ids, ticket_ids, sample_ticket_ids),
  ';' ORDER BY as_of, label, observed) FROM vigil.trend_alert_days), ''))"
