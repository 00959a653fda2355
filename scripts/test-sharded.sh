#!/usr/bin/env bash
# test-sharded.sh — vigil against a sharded source: a coordinator whose
# customers, usage_events and tickets are hash-partitioned by customer_id over
# two shards through postgres_fdw foreign partitions (three private PostgreSQL
# clusters started by scripts/pg.sh), compared with a single server holding
# the same rows.
#
#   scripts/test-sharded.sh [CUSTOMERS]   default 2000 customers
#
# Loads a demo company through the coordinator (`vigil demo` into a staging
# schema there, then INSERT … SELECT into the partitioned tables, which
# postgres_fdw routes to the shards in batches), copies the same rows into a
# plain database `single` on the coordinator's cluster, trains and scores on
# both, and checks:
#   - every churn risk (and health, tier, drivers) is identical;
#   - the plans of vigil's per-customer aggregations run the aggregates on the
#     shards ("Relations: Aggregate on …"), and no Foreign Scan feeds a
#     coordinator-side aggregate with raw event rows;
# then prints the feature plans and the times of both runs.
# Environment: VIGIL_TEST_BUILD (a build dir with vigil), KEEP=1 keeps the
# clusters running (their DSNs are printed), SHARD_BASE reuses a directory.
set -euo pipefail
N=${1:-2000}
END=${SHARDED_END:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${VIGIL_TEST_BUILD:-$root/build/sharded-rel}
if [ ! -x "$build/vigil" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target vigil >/dev/null
fi
BIN=$build/vigil
base=${SHARD_BASE:-$(mktemp -d /tmp/vigil-sharded.XXXXXX)}
mkdir -p "$base"
chmod 755 "$base"
cleanup() {
  if [ -z "${KEEP:-}" ]; then
    for n in shard1 shard0 coord; do scripts/pg.sh stop "$base/$n" >/dev/null 2>&1 || true; done
    [ -n "${SHARD_BASE:-}" ] || rm -rf "$base"
  fi
}
trap cleanup EXIT

declare -A dsn sock port
for n in coord shard0 shard1; do
  mkdir -p "$base/$n"
  chmod 755 "$base/$n"
  # another server may take the free port pg.sh found before it binds: retry
  for attempt in 1 2 3; do
    dsn[$n]=$(scripts/pg.sh start "$base/$n" 2>"$base/$n.err") && break
    [ $attempt = 3 ] && { cat "$base/$n.err" >&2; exit 1; }
    sleep 1
  done
  sock[$n]=$(sed -E 's/.*host=([^ ]+).*/\1/' <<<"${dsn[$n]}")
  port[$n]=$(sed -E 's/.*port=([^ ]+).*/\1/' <<<"${dsn[$n]}")
done
COORD=${dsn[coord]}
SINGLE=${COORD/dbname=vigil/dbname=single}
export PGOPTIONS="-c client_min_messages=warning"
q() { # q DSN SQL
  psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$2"
}
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}

# ---- load: demo into the coordinator's staging schema
cfg=$base/staging.json
echo '{"source": {"schema": "staging"}}' >"$cfg"
t0=$(date +%s.%N)
"$BIN" --quiet --dsn "$COORD" init >/dev/null
"$BIN" --quiet --dsn "$COORD" --config "$cfg" demo --customers "$N" --end "$END" >/dev/null
cols() { # cols TABLE: the staging table's column list with types
  q "$COORD" "SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
              FROM pg_attribute WHERE attrelid = 'staging.$1'::regclass AND attnum > 0 AND NOT attisdropped"
}
tables="customers usage_events tickets"
declare -A def
for t in $tables; do def[$t]=$(cols "$t"); done

# ---- the shards: plain tables (no key: the demo's dirty rows must load)
for s in shard0 shard1; do
  for t in $tables; do q "${dsn[$s]}" "DROP TABLE IF EXISTS public.$t; CREATE TABLE public.$t (${def[$t]})"; done
done
# ---- the coordinator: hash-partitioned parents, one foreign partition per shard
# extension, servers and password-less user mappings: the cluster's
# superuser (vigil's role is not one)
ADMIN="$COORD user=postgres"
q "$ADMIN" "CREATE EXTENSION IF NOT EXISTS postgres_fdw"
for i in 0 1; do
  s=shard$i
  # async_capable: the two shards' Foreign Scans run at once under an Append;
  # fetch_size: rows per round trip; batch_size: rows per INSERT round trip.
  q "$ADMIN" "DROP SERVER IF EXISTS $s CASCADE;
    CREATE SERVER $s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '${sock[$s]}', port '${port[$s]}',
      dbname 'vigil', async_capable 'true', fetch_size '10000', batch_size '1000');
    CREATE USER MAPPING FOR vigil_app SERVER $s OPTIONS (user 'vigil_app', password_required 'false');
    GRANT USAGE ON FOREIGN SERVER $s TO vigil_app"
done
for t in $tables; do
  q "$COORD" "DROP TABLE IF EXISTS public.$t; CREATE TABLE public.$t (${def[$t]}) PARTITION BY HASH (customer_id)"
  for i in 0 1; do
    q "$COORD" "CREATE FOREIGN TABLE public.${t}_s$i PARTITION OF public.$t
      FOR VALUES WITH (MODULUS 2, REMAINDER $i) SERVER shard$i OPTIONS (schema_name 'public', table_name '$t')"
  done
  q "$COORD" "INSERT INTO public.$t SELECT * FROM staging.$t"
done
t1=$(date +%s.%N)
# ---- the single server: the same rows, plain tables
q "$COORD" "DROP DATABASE IF EXISTS single" && q "$COORD" "CREATE DATABASE single"
for t in $tables; do
  q "$SINGLE" "CREATE TABLE public.$t (${def[$t]})"
  psql "$COORD" -qAtX -v ON_ERROR_STOP=1 -c "COPY staging.$t TO STDOUT" |
    psql "$SINGLE" -qAtX -v ON_ERROR_STOP=1 -c "COPY public.$t FROM STDIN"
done
q "$COORD" "DROP SCHEMA staging CASCADE; DROP SCHEMA IF EXISTS vigil_demo_truth CASCADE"
for s in shard0 shard1; do q "${dsn[$s]}" "VACUUM ANALYZE"; done
q "$COORD" "ANALYZE public.customers, public.usage_events, public.tickets"
q "$SINGLE" "VACUUM ANALYZE"
echo "loaded $N customers through the coordinator in $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}") s:" \
  "shard0 $(q "${dsn[shard0]}" "SELECT count(*) FROM public.usage_events") events," \
  "shard1 $(q "${dsn[shard1]}" "SELECT count(*) FROM public.usage_events") events"
for t in $tables; do
  check "$t: same rows on the coordinator and the single server" \
    "$(q "$SINGLE" "SELECT count(*), md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) FROM public.$t x")" \
    "$(q "$COORD" "SELECT count(*), md5(string_agg(md5(x::text), '' ORDER BY md5(x::text))) FROM public.$t x")"
done

# ---- train and score on both
declare -A secs
for side in single coord; do
  d=$SINGLE
  [ $side = coord ] && d=$COORD
  "$BIN" --quiet --dsn "$d" init >/dev/null
  "$BIN" --quiet --dsn "$d" train --as-of "$END" --json >"$base/train-$side.json"
  s0=$(date +%s.%N)
  "$BIN" --quiet --dsn "$d" score --as-of "$END" --json >"$base/score-$side.json"
  secs[$side]=$(awk "BEGIN{printf \"%.2f\", $(date +%s.%N) - $s0}")
  psql "$d" -qAtX -v ON_ERROR_STOP=1 -c "COPY (SELECT customer_id, churn_risk, health, tier, drivers FROM vigil.scores
    WHERE as_of = '$END' ORDER BY customer_id) TO STDOUT" >"$base/scores-$side.tsv"
done
check "customers scored" "$(wc -l <"$base/scores-single.tsv")" "$(wc -l <"$base/scores-coord.tsv")"
check "every churn risk, health, tier and driver identical" "" \
  "$(diff "$base/scores-single.tsv" "$base/scores-coord.tsv" | head -5)"
scored=$(wc -l <"$base/scores-coord.tsv")
[ "$scored" -gt 0 ] || check "customers scored > 0" yes no

# ---- the plans vigil's feature queries get on the coordinator
"$BIN" --quiet --dsn "$COORD" features --as-of "$END" --explain --json >"$base/plans.json"
for name in usage users tickets; do
  /usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]], end='')" \
    "$base/plans.json" "$name" >"$base/plan-$name.txt"
  echo "---- plan of the $name query on the coordinator (abridged: the full one is in features --explain)"
  grep -E 'Append|Foreign Scan|Aggregate|Relations|Sort|Unique|Join' "$base/plan-$name.txt" | cut -c1-160
done
for name in usage users; do
  plan=$(cat "$base/plan-$name.txt")
  check "$name: aggregated on both shards" 2 "$(grep -c 'Relations: Aggregate on' <<<"$plan" || true)"
  # a coordinator-side aggregate would sit above a Foreign Scan of raw rows
  check "$name: no aggregate on the coordinator" 0 \
    "$(grep -cE '^ *(->  )?(Finalize |Partial )?(Hash|Group|Mixed)?Aggregate' <<<"$plan" || true)"
  check "$name: no raw-row scan of a foreign partition" 0 \
    "$(grep -cE 'Foreign Scan on ' <<<"$plan" || true)"
done

echo "score seconds: single server ${secs[single]}, coordinator + 2 shards ${secs[coord]} ($scored customers)"
if [ -n "${KEEP:-}" ]; then
  echo "kept: coordinator $COORD; single $SINGLE; shard0 ${dsn[shard0]}; shard1 ${dsn[shard1]}"
fi
[ "$fails" -eq 0 ] && echo "all sharded checks passed" || { echo "$fails sharded checks failed"; exit 1; }
