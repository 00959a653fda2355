#!/usr/bin/env bash
# topics_cfpb_replay.sh — trend alerts on real complaints with dates: the
# CFPB consumer complaint sample (a CSV with "Date received", "Issue",
# "Sub-issue", "Consumer complaint narrative", "Complaint ID"; two lines of
# unzip output before the header) loaded as tickets (subject: the issue,
# body: the sub-issue and the narrative; every complaint its own customer,
# English), then one `vigil topics --as-of END --backfill DAYS`. Nothing is
# injected, so no alert has a known cause: the report lists every alert
# with its label and the first day its p-value reached each threshold, and
# counts them per 30 replayed days — an upper bound on false alerts (the
# sample's own shifts of mix are in it).
#
#   bench/topics_cfpb_replay.sh CSV [END] [DAYS]    END 2019-07-01, DAYS 90
#
# Environment: PGDIR (default /tmp/vigil-cfpb-pg), VIGIL_BIN (a vigil binary
# instead of building the Release one), KEEP=1 keeps the database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
csv=${1:?usage: bench/topics_cfpb_replay.sh CSV [END] [DAYS]}
end=${2:-2019-07-01}
days=${3:-90}
pgdir=${PGDIR:-/tmp/vigil-cfpb-pg}
. "$root/bench/lib.sh"
bin=$(bench_vigil)
bench_pg "$pgdir"
export VIGIL_DSN=$dsn PGTZ=UTC
cfg=$pgdir/cfpb.json
# trend.max_p 1: every alert the tests pass, to read every threshold off one run.
echo '{"topics": {"backfill_days": 0}, "trend": {"max_p": 1}}' >"$cfg"
q() { psql "$dsn" -XAtqc "$1"; }

q "DROP SCHEMA IF EXISTS vigil CASCADE;
   DROP TABLE IF EXISTS tickets, customers, usage_events;
   CREATE TABLE customers (customer_id text PRIMARY KEY, name text,
     created_at timestamptz NOT NULL, canceled_at timestamptz, plan text,
     mrr numeric, seats int, language text);
   CREATE TABLE usage_events (customer_id text NOT NULL,
     occurred_at timestamptz NOT NULL, event_type text NOT NULL,
     user_id text, quantity double precision);
   CREATE TABLE tickets (ticket_id text PRIMARY KEY, customer_id text,
     created_at timestamptz NOT NULL, first_response_at timestamptz,
     resolved_at timestamptz, status text, priority text, channel text,
     subject text, body text, csat smallint, reopens int, escalated boolean)"
python3 - "$csv" "$pgdir/tickets.tsv" <<'PY'
import csv, sys
src, out = sys.argv[1], sys.argv[2]
def clean(s):
    return s.replace("\\", " ").replace("\t", " ").replace("\r", " ").replace("\n", " ")
with open(src, newline="", encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
    # Two lines of unzip output come before the header.
    next(f); next(f)
    for r in csv.DictReader(f):
        cid, day = r["Complaint ID"].strip(), r["Date received"].strip()
        if not cid or len(day) != 10:
            continue
        body = " ".join(x for x in (r["Sub-issue"], r["Consumer complaint narrative"]) if x.strip())
        o.write("\t".join([cid, "c" + cid, day + " 12:00:00+00", clean(r["Issue"]), clean(body)]) + "\n")
PY
q "\\copy tickets (ticket_id, customer_id, created_at, subject, body) FROM '$pgdir/tickets.tsv'"
q "INSERT INTO customers SELECT customer_id, customer_id, '2015-01-01', NULL,
     'consumer', 0, 1, 'en' FROM tickets ON CONFLICT DO NOTHING"
"$bin" --quiet init >/dev/null
first=$(date -u -d "$end - $days days" +%F)
out=$( { /usr/bin/time -f '%e %U %S' "$bin" --quiet --config "$cfg" topics --as-of "$end" --backfill "$days" --json >/dev/null; } 2>&1 | tail -1)
ndays=$((days + 1))
cat <<EOF
## Trend alerts on the CFPB complaint sample (nothing injected)

- $(q "SELECT count(*) FROM tickets") complaints in the file; $(q "SELECT count(*) FROM tickets WHERE created_at >= '$first' AND created_at < '$end'") received $first .. $end (replayed: $ndays days, one \`topics --backfill $days\`; wall, user, sys s: $out)

| threshold | alerts (topic / issue) | per 30 replayed days |
|---|---|---|
EOF
psql "$dsn" -XAtq <<SQL
SELECT '| ' || t || ' | ' || count(DISTINCT a.alert_id) || ' (' || count(DISTINCT a.alert_id) FILTER (WHERE a.source = 'topic')
  || ' / ' || count(DISTINCT a.alert_id) FILTER (WHERE a.source = 'terms') || ') | '
  || round(30.0 * count(DISTINCT a.alert_id) / $ndays, 2) || ' |'
FROM (VALUES (1e-3), (1e-4), (1e-5), (1e-6), (1e-8)) th(t)
LEFT JOIN vigil.trend_alert_days d ON d.p_value <= th.t AND d.status = 'open'
LEFT JOIN vigil.trend_alerts a ON a.alert_id = d.alert_id
GROUP BY t ORDER BY t DESC;
SQL
echo
echo '| alert | source | kind | raised | smallest p | days open | topics | label |'
echo '|---|---|---|---|---|---|---|---|'
q "SELECT '| ' || a.alert_id || ' | ' || a.source || ' | ' || a.kind || ' | '
     || a.detected_at::date || ' | ' || (SELECT min(p_value) FROM vigil.trend_alert_days d WHERE d.alert_id = a.alert_id)::float4
     || ' | ' || (SELECT count(*) FROM vigil.trend_alert_days d WHERE d.alert_id = a.alert_id AND d.status = 'open')
     || ' | ' || 1 + coalesce(cardinality(a.topic_ids), 0) || ' | ' || replace(coalesce(a.label, ''), '|', '/') || ' |'
   FROM vigil.trend_alerts a ORDER BY a.detected_at, a.alert_id"
