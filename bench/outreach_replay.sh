#!/usr/bin/env bash
# outreach_replay.sh — the outreach queue's acceptance run: the demo company
# replayed day by day over 30 days with a small team of limited capacity.
#
#   bench/outreach_replay.sh [CUSTOMERS] [CAPACITY_PER_SPECIALIST]
#
# Defaults: 5000 customers, 6 tasks a day per specialist, four specialists
# (en+de, en+fr, en+es, en). Each replay day D: `vigil score --as-of D`, the
# team works every task assigned before D (closed as done, outcome "other",
# at D 00:00: the cooldown counts from then), `vigil outreach --as-of D`.
# Reports: open-task duplicates at any time (must be 0), tasks with neither
# assignee nor reason (must be 0), and revenue recall at capacity — the MRR of
# customers who canceled during the replay and had an assigned task created
# before they canceled (within 30 days) over the MRR of all who canceled —
# against ordering by churn risk alone with the same number of contacts per
# day (each day's top customers by risk not contacted in the last 30 days).
# Uses a private PostgreSQL under /tmp; VIGIL_BIN picks the binary (default:
# a Release build of this checkout).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
N=${1:-5000}
CAP=${2:-6}
DAYS=30
END=2026-11-01                       # demo data ends the day before
START=$(date -u -d "$END - 60 days" +%F) # the replay: START .. START+29
. bench/lib.sh
BIN=$(bench_vigil)
pgdir=${VIGIL_BENCH_PG:-/tmp/vigil-outreach-bench-pg}
mkdir -p "$pgdir"
chmod 755 "$pgdir"
DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN="$DSN"
out=${VIGIL_BENCH_OUT:-/tmp/vigil-outreach-bench}
mkdir -p "$out"
psqlq() { psql "$DSN" -qAtX -v ON_ERROR_STOP=1 "$@"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; customers $N; capacity $CAP/day x 4"
t0=$(date +%s.%N)
"$BIN" --quiet demo --customers "$N" --end "$END" --json >"$out/demo.json"
"$BIN" --quiet init >/dev/null
"$BIN" --quiet train --as-of "$START" --json >"$out/train.json"
psqlq <<SQL
TRUNCATE vigil.outreach_tasks, vigil.deliveries, vigil.specialists;
INSERT INTO vigil.specialists (specialist_id, name, languages, skills, daily_capacity) VALUES
 ('ana', 'Ana', '{en,es}', '{}', $CAP), ('ben', 'Ben', '{en,de}', '{}', $CAP),
 ('cleo', 'Cleo', '{en,fr}', '{}', $CAP), ('dan', 'Dan', '{en}', '{}', $CAP);
DROP TABLE IF EXISTS public.bench_checks, public.bench_baseline;
CREATE TABLE public.bench_checks (day date, dup_open int, no_reason int, open int,
  outreach_s double precision, rss_mb double precision, assigned int, created int);
CREATE TABLE public.bench_baseline (day date, customer_id text);
SQL

for i in $(seq 0 $((DAYS - 1))); do
  d=$(date -u -d "$START + $i days" +%F)
  "$BIN" --quiet score --as-of "$d" --json >"$out/score-$d.json"
  # the team worked yesterday's assignments
  psqlq -c "UPDATE vigil.outreach_tasks SET status = 'done', outcome = 'other',
              outcome_note = 'bench: contacted', closed_at = '$d'::timestamptz
            WHERE status = 'assigned' AND assigned_at < '$d'::timestamptz"
  s=$(date +%s.%N)
  "$BIN" --quiet outreach --as-of "$d" --json >"$out/outreach-$d.json"
  secs=$(echo "$(date +%s.%N) - $s" | bc)
  rss=$(grep -o '"cli_peak_rss_mb":[0-9.e+-]*' "$out/outreach-$d.json" | head -1 | cut -d: -f2)
  assigned=$(grep -o '"assigned":[0-9]*' "$out/outreach-$d.json" | head -1 | cut -d: -f2)
  created=$(grep -o '"created":[0-9]*' "$out/outreach-$d.json" | head -1 | cut -d: -f2)
  psqlq <<SQL
INSERT INTO public.bench_checks SELECT '$d',
  (SELECT count(*) - count(DISTINCT dedupe_key) FROM vigil.outreach_tasks WHERE status IN ('open','assigned')),
  (SELECT count(*) FROM vigil.outreach_tasks WHERE assignee IS NULL AND status IN ('open','assigned')
     AND reason->>'unassigned' IS NULL),
  (SELECT count(*) FROM vigil.outreach_tasks WHERE status IN ('open','assigned')),
  $secs, $rss, $assigned, $created;
-- the baseline: as many contacts as the queue assigned today, by churn risk
-- alone, skipping customers it contacted in the last 30 days
INSERT INTO public.bench_baseline
SELECT '$d', s.customer_id FROM vigil.scores s
 WHERE s.as_of = '$d' AND NOT EXISTS (SELECT 1 FROM public.bench_baseline b
   WHERE b.customer_id = s.customer_id AND b.day > '$d'::date - 30)
 ORDER BY s.churn_risk DESC, s.customer_id LIMIT $assigned;
SQL
  printf '%s created %s assigned %s (%.2f s)\n' "$d" "$created" "$assigned" "$secs"
done
total=$(echo "$(date +%s.%N) - $t0" | bc)

psqlq -F ' | ' <<SQL | tee "$out/result.txt"
WITH churn AS (
  SELECT customer_id, canceled_at, coalesce(mrr, 0) AS mrr FROM public.customers
   WHERE canceled_at >= '$START' AND canceled_at < '$START'::date + $DAYS
     AND created_at < '$START'),
v AS (SELECT DISTINCT c.customer_id FROM churn c JOIN vigil.outreach_tasks t
        ON t.customer_id = c.customer_id AND t.assigned_at IS NOT NULL
       AND t.created_at <= c.canceled_at AND c.canceled_at < t.created_at + interval '30 days'),
b AS (SELECT DISTINCT c.customer_id FROM churn c JOIN public.bench_baseline p
        ON p.customer_id = c.customer_id AND p.day::timestamptz <= c.canceled_at
       AND c.canceled_at < p.day + 30)
SELECT 'churned customers', count(*)::text, round(sum(mrr))::text FROM churn
UNION ALL SELECT 'recall vigil queue (customers, MRR share)', (SELECT count(*) FROM v)::text,
  round((SELECT sum(mrr) FROM churn WHERE customer_id IN (SELECT customer_id FROM v)) / sum(mrr), 3)::text FROM churn
UNION ALL SELECT 'recall churn-risk order (customers, MRR share)', (SELECT count(*) FROM b)::text,
  round((SELECT sum(mrr) FROM churn WHERE customer_id IN (SELECT customer_id FROM b)) / sum(mrr), 3)::text FROM churn
UNION ALL SELECT 'contacts vigil / baseline', (SELECT count(*) FROM vigil.outreach_tasks WHERE assigned_at IS NOT NULL)::text,
  (SELECT count(*) FROM public.bench_baseline)::text
UNION ALL SELECT 'tasks created / auto-closed', (SELECT count(*) FROM vigil.outreach_tasks)::text,
  (SELECT count(*) FROM vigil.outreach_tasks WHERE outcome LIKE 'auto\_closed%')::text
UNION ALL SELECT 'max open duplicates / max tasks without assignee or reason',
  max(dup_open)::text, max(no_reason)::text FROM public.bench_checks
UNION ALL SELECT 'outreach seconds per day: median / max',
  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY outreach_s)::numeric, 2)::text,
  round(max(outreach_s)::numeric, 2)::text FROM public.bench_checks
UNION ALL SELECT 'outreach peak RSS MB (max)', round(max(rss_mb)::numeric, 1)::text, '' FROM public.bench_checks
UNION ALL SELECT 'per playbook tasks (assigned)', string_agg(playbook || ' ' || n || ' (' || a || ')', ', ' ORDER BY playbook), ''
  FROM (SELECT playbook, count(*) n, count(assigned_at) a FROM vigil.outreach_tasks GROUP BY 1) x;
SQL
echo "total seconds (demo, train, 30 x score + outreach): $total"
scripts/pg.sh stop "$pgdir"
