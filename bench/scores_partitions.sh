#!/usr/bin/env bash
# scores_partitions.sh — what a year of daily partitions would cost the
# queries that read vigil.scores (report, outreach, HTTP metrics, customer
# history): planning and execution time of each query's shape on a table
# shaped like vigil.scores partitioned by as_of (LIST, one partition per
# date, as the ninth session's prototype did), DATES partitions of ROWS
# rows, against the same rows in one plain table with the same key.
#
#   bench/scores_partitions.sh DSN [DATES] [ROWS]     default 400 dates, 2000 rows
#
# DSN: a scratch database (tables public.bench_scores_part and
# public.bench_scores_plain are replaced). Each query runs in a new session
# (as a vigil command does), RUNS times (default 3); prints the medians of PostgreSQL's
# planning and execution milliseconds (EXPLAIN ANALYZE's own figures).
set -euo pipefail
DSN=${1:?usage: bench/scores_partitions.sh DSN [DATES] [ROWS]}
DATES=${2:-400}
ROWS=${3:-2000}
psql "$DSN" -qX -v ON_ERROR_STOP=1 <<SQL
SET client_min_messages = warning;
DROP TABLE IF EXISTS public.bench_scores_part, public.bench_scores_plain;
CREATE TABLE public.bench_scores_part (
    as_of date NOT NULL, customer_id text NOT NULL, model_id bigint,
    churn_risk double precision NOT NULL, health smallint NOT NULL,
    tier text NOT NULL, drivers jsonb NOT NULL DEFAULT '[]', run_id bigint,
    PRIMARY KEY (as_of, customer_id)) PARTITION BY LIST (as_of);
CREATE INDEX ON public.bench_scores_part (run_id);
CREATE TABLE public.bench_scores_part_default PARTITION OF public.bench_scores_part DEFAULT;
DO \$\$
DECLARE d date;
BEGIN
  FOR d IN SELECT generate_series('2026-12-01'::date - ($DATES - 1), '2026-12-01', '1 day')::date LOOP
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.bench_scores_part FOR VALUES IN (%L)',
                   'bench_scores_' || to_char(d, 'YYYYMMDD'), d);
  END LOOP;
END \$\$;
INSERT INTO public.bench_scores_part (as_of, customer_id, churn_risk, health, tier, drivers)
SELECT d::date, 'C' || lpad(g::text, 7, '0'), random(), 50, 'watch', '[]'
FROM generate_series('2026-12-01'::date - ($DATES - 1), '2026-12-01', '1 day') d,
     generate_series(1, $ROWS) g;
CREATE TABLE public.bench_scores_plain AS SELECT * FROM public.bench_scores_part;
ALTER TABLE public.bench_scores_plain ADD PRIMARY KEY (as_of, customer_id);
CREATE INDEX ON public.bench_scores_plain (run_id);
ANALYZE public.bench_scores_part; ANALYZE public.bench_scores_plain;
SQL
queries=(
"latest|SELECT max(as_of)::text FROM %T WHERE as_of <= '2026-12-01'::date"
"tiers_http|SELECT t.tier, count(s.customer_id) FROM unnest(ARRAY['healthy','watch','at_risk','critical']) t(tier) CROSS JOIN (SELECT max(as_of) d FROM %T) m LEFT JOIN %T s ON s.as_of = m.d AND s.tier = t.tier GROUP BY t.tier"
"report_dates|WITH RECURSIVE d(as_of, n) AS (SELECT max(as_of), 1 FROM %T WHERE as_of <= '2026-12-01'::date UNION ALL SELECT (SELECT max(s.as_of) FROM %T s WHERE s.as_of < d.as_of), d.n + 1 FROM d WHERE d.as_of IS NOT NULL AND d.n < 8) SELECT s.as_of, count(*), avg(churn_risk) FROM %T s JOIN d ON d.as_of = s.as_of GROUP BY s.as_of"
"one_date|SELECT count(*), avg(churn_risk) FROM %T WHERE as_of = '2026-11-20'::date"
"history|SELECT * FROM %T WHERE customer_id = 'C0000042' AND as_of <= '2026-12-01'::date ORDER BY as_of DESC LIMIT 31"
"outreach_pair|WITH sd AS (SELECT max(as_of) d FROM %T WHERE as_of <= '2026-12-01'::date), pd AS (SELECT max(as_of) d FROM %T, sd WHERE as_of < sd.d) SELECT count(*) FROM %T s JOIN %T p ON p.as_of = (SELECT d FROM pd) AND p.customer_id = s.customer_id WHERE s.as_of = (SELECT d FROM sd)"
)
for q in "${queries[@]}"; do
  name=${q%%|*}
  sql=${q#*|}
  for t in public.bench_scores_part public.bench_scores_plain; do
    s=${sql//%T/$t}
    for i in $(seq "${RUNS:-3}"); do
      psql "$DSN" -qXAt -c "EXPLAIN (ANALYZE, SUMMARY, TIMING OFF) $s" | grep -E 'Planning Time|Execution Time' | awk '{print $3}' | paste -sd' '
    done | /usr/bin/python3 -c '
import statistics, sys
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(f"{sys.argv[1]:<14} {sys.argv[2]:<20} planning {statistics.median(r[0] for r in rows):7.2f} ms"
      f"  execution {statistics.median(r[1] for r in rows):8.2f} ms")' "$name" "$t"
  done
done
