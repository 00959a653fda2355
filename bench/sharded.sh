#!/usr/bin/env bash
# sharded.sh — `vigil score` on one server against a coordinator with the same
# company hash-partitioned by customer_id over two postgres_fdw shards, in the
# same run, alternating, on the same machine.
#
#   bench/sharded.sh SINGLE_PG_DIR [RUNS]
#
# SINGLE_PG_DIR: a private PostgreSQL (scripts/pg.sh) holding a demo company
# and a trained champion (bench/bench.sh leaves one). Two shard clusters are
# started next to it; the rows are split with the coordinator's own hash
# (satisfies_hash_partition) and copied to the shards directly (COPY; loading
# through postgres_fdw routes row batches and takes far longer). The
# coordinator is a database `coord` in the single server's cluster, the model
# is copied there. Prints one JSON line per run and the medians; checks every
# churn risk is identical.
set -euo pipefail
single_dir=${1:?usage: bench/sharded.sh SINGLE_PG_DIR [RUNS]}
RUNS=${2:-3}
END=${BENCH_END:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
vigil=$(bench_vigil)
export PGOPTIONS="-c client_min_messages=warning"
SINGLE=$(scripts/pg.sh dsn "$single_dir")
COORD=${SINGLE/dbname=vigil/dbname=coord}
q() { psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"; }
tables="customers usage_events tickets"
declare -A dsn sock port
for i in 0 1; do
  d=$single_dir-shard$i
  mkdir -p "$d" && chmod 755 "$d"
  for attempt in 1 2 3; do dsn[$i]=$(scripts/pg.sh start "$d") && break; sleep 1; done
  sock[$i]=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"${dsn[$i]}")
  port[$i]=$(sed -E 's/.*port=([^ ]+).*/\1/' <<<"${dsn[$i]}")
done
cols() {
  q "$SINGLE" "SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
              FROM pg_attribute WHERE attrelid = 'public.$1'::regclass AND attnum > 0 AND NOT attisdropped"
}
loaded=$(q "${dsn[0]}" "SELECT to_regclass('public.usage_events') IS NOT NULL")
if [ "$loaded" != t ]; then
  q "$SINGLE" "DROP DATABASE IF EXISTS coord" && q "$SINGLE" "CREATE DATABASE coord"
  ADMIN="$COORD user=postgres" # the cluster's superuser; vigil's role is not one
  q "$ADMIN" "CREATE EXTENSION postgres_fdw"
  for i in 0 1; do
    q "$ADMIN" "CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${sock[$i]}',
      port '${port[$i]}', dbname 'vigil', async_capable 'true', fetch_size '10000');
      CREATE USER MAPPING FOR vigil_app SERVER shard$i OPTIONS (user 'vigil_app', password_required 'false');
      GRANT USAGE ON FOREIGN SERVER shard$i TO vigil_app"
  done
  q "$SINGLE" "DROP SCHEMA IF EXISTS bench_split CASCADE; CREATE SCHEMA bench_split"
  for t in $tables; do
    def=$(cols "$t")
    q "$COORD" "CREATE TABLE public.$t ($def) PARTITION BY HASH (customer_id)"
    q "$SINGLE" "CREATE TABLE bench_split.$t ($def) PARTITION BY HASH (customer_id)"
    for i in 0 1; do
      q "$COORD" "CREATE FOREIGN TABLE public.${t}_s$i PARTITION OF public.$t
        FOR VALUES WITH (MODULUS 2, REMAINDER $i) SERVER shard$i OPTIONS (table_name '$t')"
      q "${dsn[$i]}" "CREATE TABLE public.$t ($def)"
      psql "$SINGLE" -qAtX -v ON_ERROR_STOP=1 -c "COPY (SELECT * FROM public.$t
          WHERE satisfies_hash_partition('bench_split.$t'::regclass, 2, $i, customer_id)) TO STDOUT" |
        psql "${dsn[$i]}" -qAtX -v ON_ERROR_STOP=1 -c "COPY public.$t FROM STDIN"
    done
  done
  for i in 0 1; do q "${dsn[$i]}" "VACUUM ANALYZE"; done
  q "$COORD" "ANALYZE public.customers, public.usage_events, public.tickets"
  "$vigil" --quiet --dsn "$COORD" init >/dev/null
  psql "$SINGLE" -qAtX -c "COPY vigil.models TO STDOUT" | psql "$COORD" -qAtX -c "COPY vigil.models FROM STDIN"
fi
echo "rows: single $(q "$SINGLE" "SELECT count(*) FROM public.usage_events") events;" \
  "shard0 $(q "${dsn[0]}" "SELECT count(*) FROM public.usage_events"), shard1 $(q "${dsn[1]}" "SELECT count(*) FROM public.usage_events")"
out=$root/build/bench/sharded.jsonl
mkdir -p "$(dirname "$out")"
: >"$out"
for r in $(seq "$RUNS"); do
  for side in single coord; do
    d=$SINGLE
    [ $side = coord ] && d=$COORD
    j=$(nice -n 5 "$vigil" --quiet --dsn "$d" score --as-of "$END" --json)
    echo "{\"run\":$r,\"side\":\"$side\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"summary\":$j}" | tee -a "$out" | cut -c1-160
  done
done
for side in single coord; do
  d=$SINGLE
  [ $side = coord ] && d=$COORD
  psql "$d" -qAtX -c "COPY (SELECT customer_id, churn_risk, tier FROM vigil.scores WHERE as_of = '$END' ORDER BY 1) TO STDOUT" >"$root/build/bench/sharded-$side.tsv"
done
if cmp -s "$root/build/bench/sharded-single.tsv" "$root/build/bench/sharded-coord.tsv"; then
  echo "every churn risk identical ($(wc -l <"$root/build/bench/sharded-single.tsv") customers)"
else
  echo "churn risks DIFFER"
fi
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
t = {s: [r["summary"]["elapsed_seconds"] for r in rows if r["side"] == s] for s in ("single", "coord")}
rss = {s: [r["summary"]["cli_peak_rss_mb"] for r in rows if r["side"] == s] for s in ("single", "coord")}
ratios = [c / s for s, c in zip(t["single"], t["coord"])]
print(f"score single server: median {statistics.median(t['single']):.1f} s {[round(x, 1) for x in t['single']]}, RSS {statistics.median(rss['single']):.0f} MB")
print(f"score coordinator + 2 shards: median {statistics.median(t['coord']):.1f} s {[round(x, 1) for x in t['coord']]}, RSS {statistics.median(rss['coord']):.0f} MB")
print(f"ratio coordinator/single (median of per-run ratios): {statistics.median(ratios):.2f} {[round(x, 2) for x in ratios]}")
PY
