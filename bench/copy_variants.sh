#!/usr/bin/env bash
# copy_variants.sh — what each part of vigil.scores costs the backend that
# COPYs a date's rows into it: the date's stored rows are written to files
# once (text, binary, and text with run_id as a value), then COPYed, in
# turn and RUNS times, into copies of the table that differ in one thing:
#   as_is       vigil.scores' own columns, defaults, CHECKs and indexes
#   no_run_idx  without an index on run_id (migration 013 dropped it)
#   run_value   run_id sent as a value instead of its per-row default
#   no_checks   without the three CHECK constraints
#   binary      as_is, COPY in binary format (what `score` sends)
#   text_json   drivers as text instead of jsonb (what parsing jsonb costs)
# Each COPY runs in a session of its own into the emptied and vacuumed table
# (as for a new date); the figure is that backend's CPU (utime + stime from
# /proc/<pid>/stat, read by the session itself before and after), which the
# load changes far less than wall time. The copies live in schema
# bench_copy, dropped at the end.
#
#   bench/copy_variants.sh PGDIR [RUNS] [AS_OF]    default 3 runs, 2026-11-01
#
# The server of PGDIR must be running; run this as a user that may read the
# server's /proc entries (root, or the server's own user). Prints one line
# per COPY and the medians.
set -euo pipefail
PGDIR=${1:?usage: bench/copy_variants.sh PGDIR [RUNS] [AS_OF]}
RUNS=${2:-3}
AS_OF=${3:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
dsn="$(scripts/pg.sh dsn "$PGDIR") user=postgres"
tmp=$(mktemp -d)
chmod 755 "$tmp"
cleanup() {
  psql "$dsn" -qXc "DROP SCHEMA IF EXISTS bench_copy CASCADE" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
cols="as_of, customer_id, model_id, churn_risk, health, tier, drivers"
sel="SELECT $cols FROM vigil.scores WHERE as_of = '$AS_OF' ORDER BY customer_id"
psql "$dsn" -qX -v ON_ERROR_STOP=1 <<SQL
DROP SCHEMA IF EXISTS bench_copy CASCADE;
CREATE SCHEMA bench_copy;
CREATE TABLE bench_copy.as_is (LIKE vigil.scores INCLUDING ALL);
CREATE TABLE bench_copy.no_run_idx (LIKE vigil.scores INCLUDING ALL);
CREATE TABLE bench_copy.no_checks (LIKE vigil.scores INCLUDING DEFAULTS INCLUDING INDEXES);
CREATE TABLE bench_copy.text_json (LIKE vigil.scores INCLUDING ALL);
ALTER TABLE bench_copy.text_json ALTER drivers TYPE text, ALTER drivers SET DEFAULT '[]';
-- an index on run_id in every copy but no_run_idx, whatever vigil.scores has
DO \$\$ DECLARE t text; BEGIN
  FOREACH t IN ARRAY ARRAY['as_is', 'no_checks', 'text_json'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_indexes WHERE schemaname = 'bench_copy'
                   AND tablename = t AND indexdef LIKE '%(run_id)') THEN
      EXECUTE format('CREATE INDEX ON bench_copy.%I (run_id)', t);
    END IF;
  END LOOP;
  FOR t IN SELECT indexname FROM pg_indexes WHERE schemaname = 'bench_copy'
    AND tablename = 'no_run_idx' AND indexdef LIKE '%(run_id)' LOOP
    EXECUTE format('DROP INDEX bench_copy.%I', t);
  END LOOP;
END \$\$;
\copy ($sel) TO '$tmp/rows'
\copy ($sel) TO '$tmp/rows.bin' WITH (FORMAT binary)
SQL
n=$(wc -l <"$tmp/rows")
[ "$n" -gt 0 ] || { echo "copy_variants.sh: no scores for $AS_OF" >&2; exit 1; }
awk '{print $0 "\t7"}' "$tmp/rows" >"$tmp/rows_run"
tck=$(getconf CLK_TCK)

one() { # variant table columns file format
  psql "$dsn" -qXc "TRUNCATE bench_copy.$2" -c "VACUUM bench_copy.$2" >/dev/null
  psql "$dsn" -qXAt -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT pg_backend_pid() AS pid \gset
\setenv BPID :pid
SELECT set_config('vigil.run_id', '7', false);
\! awk '{print \$14 + \$15}' /proc/\$BPID/stat > $tmp/c0
\copy bench_copy.$2 ($3) FROM '$4' WITH (FORMAT $5)
\! awk '{print \$14 + \$15}' /proc/\$BPID/stat > $tmp/c1
SQL
  local cpu
  cpu=$(echo "scale=2; ($(cat "$tmp/c1") - $(cat "$tmp/c0")) / $tck" | bc)
  echo "$1 $cpu $(cut -d' ' -f1 /proc/loadavg)" | tee -a "$tmp/runs"
}
echo "variant backend_cpu_s load ($n rows)"
: >"$tmp/runs"
for _ in $(seq "$RUNS"); do
  one as_is as_is "$cols" "$tmp/rows" text
  one no_run_idx no_run_idx "$cols" "$tmp/rows" text
  one run_value as_is "$cols, run_id" "$tmp/rows_run" text
  one no_checks no_checks "$cols" "$tmp/rows" text
  one binary as_is "$cols" "$tmp/rows.bin" binary
  one text_json text_json "$cols" "$tmp/rows" text
done
echo
echo "medians:"
sort -k1,1 -k2,2n "$tmp/runs" | awk '
  { v[$1] = v[$1] " " $2; c[$1]++ }
  END { for (k in v) { split(substr(v[k], 2), a, " "); print k, a[int((c[k] + 1) / 2)], "(" substr(v[k], 2) ")" } }' | sort
