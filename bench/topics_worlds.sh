#!/usr/bin/env bash
# topics_worlds.sh — trend alerts measured on several generated companies
# ("worlds": seeds, language mixes, churn worlds, injected issues of every
# shape, issues written only in de, fr or es, spikes of existing topics).
# Per world: `vigil demo` with its injected issues, one `vigil topics --as-of
# END --backfill DAYS` (the first-run path, which writes every day's view of
# every alert to vigil.trend_alert_days), then every alert judged against the
# truth on the day it was raised. Prints a Markdown report: per injected issue
# the day it became detectable (new issue: >= 8 tickets from >= 5 customers
# in the 3 days before), the first catching alert, the delays, the label and
# whether it carries the issue's own words; false alerts per 30 days; the
# grouping precision; and the NAB-style curve of detection delay against
# false alerts per 30 days over the alert's p-value threshold.
#
#   bench/topics_worlds.sh [CUSTOMERS] [DAYS] [WORLDS]   20000, 60, "1 2 3 4"
#
# Environment: PGDIR (default /tmp/vigil-worlds-pg), END (2026-11-01), VIGIL_BIN (a
# vigil binary instead of building the Release one), MAX_P (below), KEEP=1 keeps the
# database. Run it with `nice` on a shared machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/topics_judge.sh
. "$root/bench/topics_judge.sh"
n=${1:-20000}
days=${2:-60}
worlds=${3:-1 2 3 4}
end=${END:-2026-11-01}
pgdir=${PGDIR:-/tmp/vigil-worlds-pg}
. "$root/bench/lib.sh"
bin=$(bench_vigil)
bench_pg "$pgdir"
export VIGIL_DSN=$dsn PGTZ=UTC
cfg=$pgdir/worlds.json
# MAX_P: trend.max_p for the run (1: every alert the tests pass, to draw
# the whole delay / false-alert curve; default: the configured default).
echo "{\"topics\": {\"backfill_days\": 0}${MAX_P:+, \"trend\": {\"max_p\": $MAX_P\}}}" >"$cfg"
q() { psql "$dsn" -XAtqc "$1"; }

# The worlds. Onsets are days before END; each world differs in seed,
# language mix, churn world and issues. de/fr/es-only issues, a spike of an
# existing topic (factor 2) and every shape appear at least once.
world_args() {
  case $1 in
  1) echo "--seed 101 --issue name=de_only_step,onset=-35,shape=step,days=14,size=35,langs=de
      --issue name=fr_only_ramp,onset=-24,shape=ramp,days=12,size=40,langs=fr
      --issue name=password_spike,spike=password_reset,factor=2,onset=-44,days=7" ;;
  2) echo "--seed 202 --languages en=30,de=30,fr=20,es=20 --no-planted-issues --world support
      --issue name=es_only_burst,onset=-40,shape=burst,days=8,size=30,langs=es
      --issue name=en_fr_step,onset=-30,shape=step,days=14,size=40,langs=en:fr
      --issue name=billing_spike,spike=billing_invoice,factor=2,onset=-20,days=10
      --issue name=de_only_ramp,onset=-15,shape=ramp,days=10,size=30,langs=de" ;;
  3) echo "--seed 303 --languages en=70,de=10,fr=10,es=10 --world price --random-issues 4" ;;
  4) echo "--seed 404 --languages en=40,de=20,fr=20,es=20 --no-planted-issues --world champion
      --issue name=fr_only_small,onset=-45,shape=step,days=10,size=24,langs=fr
      --issue name=es_de_step,onset=-33,shape=step,days=12,size=30,langs=es:de
      --issue name=report_spike,spike=report_errors,factor=2,onset=-26,days=8,shape=burst
      --issue name=en_only_burst,onset=-12,shape=burst,days=8,size=25,langs=en" ;;
  *) echo "unknown world $1" >&2; exit 2 ;;
  esac
}

q "CREATE SCHEMA IF NOT EXISTS bench;
   DROP TABLE IF EXISTS bench.issues, bench.alerts, bench.first_day, bench.runs;
   CREATE TABLE bench.issues (world int, topic text, kind text, shape text,
     languages text, onset date, tickets int, customers int, ready date,
     ready_tickets int);
   CREATE TABLE bench.alerts (world int, alert_id bigint, detected date,
     kind text, source text, label text, observed int, expected float8,
     truth text, precision float8, mixed boolean, languages text,
     own_words boolean);
   CREATE TABLE bench.first_day (world int, t float8, alert_id bigint,
     truth text, day date);
   CREATE TABLE bench.runs (world int, args text, tickets int, wall float8,
     cpu float8, rss_kb bigint, load text);
   DROP TABLE IF EXISTS bench.final;
   CREATE TABLE bench.final (world int, alert_id bigint, last_day date,
     truth text, precision float8, mixed boolean, topics int,
     recall float8)"
first=$(date -u -d "$end - $days days" +%F)

for w in $worlds; do
  args=$(world_args "$w" | tr '\n' ' ' | tr -s ' ')
  "$bin" --quiet init >/dev/null
  # shellcheck disable=SC2086 # args is a list of options
  "$bin" --quiet demo --customers "$n" --end "$end" $args >/dev/null
  # The replaced assignments too: they name topics of the previous world,
  # and a later `--replay` on the kept database would restore them.
  q "TRUNCATE vigil.trend_alert_days, vigil.ticket_topics, vigil.topic_links,
     vigil.topic_centroids, vigil.topic_vocab, vigil.topic_models,
     vigil.trend_alerts, vigil.topics, vigil.ticket_topic_history CASCADE"
  out=$( { /usr/bin/time -f '%e %U %S %M' "$bin" --quiet --config "$cfg" topics --as-of "$end" --backfill "$days" --json >/dev/null; } 2>&1 | tail -1)
  read -r el us sy kb <<<"$out"
  q "INSERT INTO bench.runs VALUES ($w, '$args', (SELECT count(*) FROM tickets),
     $el, $us + $sy, $kb, '$(cut -d' ' -f1-3 /proc/loadavg)')"
  # Injected issues and the day each became detectable: a new issue once the
  # 3 days before hold >= 8 of its tickets from >= 5 customers; a spike on
  # its onset.
  q "INSERT INTO bench.issues
     SELECT $w, e.topic, e.kind, e.shape, e.languages, e.onset, e.tickets,
       e.customers, r.day, r.n
     FROM vigil_demo_truth.emerging_issues e
     LEFT JOIN LATERAL (
       SELECT d::date AS day, x.n FROM generate_series(e.onset + 1,
         '$end'::date, '1 day') d,
       LATERAL (SELECT count(*) AS n, count(DISTINCT t.customer_id) AS c
         FROM vigil_demo_truth.ticket_topics g JOIN tickets t USING (ticket_id)
         WHERE g.topic = e.topic AND t.created_at >= d - interval '3 days'
           AND t.created_at < d) x
       WHERE e.kind = 'spike' OR (x.n >= 8 AND x.c >= 5)
       ORDER BY d LIMIT 1) r ON true
     WHERE e.onset >= '$first'"
  # Each alert judged on the day it was raised, with that day's view of it
  # (bench/topics_judge.sh).
  q "$(judge_ctes "SELECT a.alert_id, a.source, a.topic_id, d.topic_ids, d.as_of AS detected,
                  d.kind, d.label, d.observed, d.expected, d.ticket_ids,
                  d.window_start, d.window_end, d.languages
                FROM vigil.trend_alerts a JOIN vigil.trend_alert_days d
                  ON d.alert_id = a.alert_id
                 AND d.as_of = (a.detected_at AT TIME ZONE 'UTC')::date")
     INSERT INTO bench.alerts
     SELECT $w, a.alert_id, a.detected, a.kind, a.source, a.label,
       a.observed, a.expected, j.truth, j.precision, j.mixed,
       array_to_string(a.languages, ','), NULL
     FROM a JOIN judged j USING (alert_id)"
  # Each alert judged again on its last open day, with everything merged
  # into it by then (topics taken in on later days, a resolved alert opened
  # again): a wrong merge shows there. Recall: the share of its issue's
  # tickets of its window (as judged when raised) that the alert holds.
  q "$(judge_ctes "SELECT DISTINCT ON (a.alert_id) a.alert_id, a.source, a.topic_id,
                  d.topic_ids, d.as_of, d.observed, d.expected, d.ticket_ids,
                  d.window_start, d.window_end
                FROM vigil.trend_alerts a JOIN vigil.trend_alert_days d
                  ON d.alert_id = a.alert_id AND d.status = 'open'
                ORDER BY a.alert_id, d.as_of DESC")
     INSERT INTO bench.final
     SELECT $w, a.alert_id, a.as_of, j.truth, j.precision, j.mixed,
       1 + coalesce(cardinality(a.topic_ids), 0),
       (SELECT avg((t.ticket_id = ANY(a.ticket_ids))::int)
          FROM vigil_demo_truth.ticket_topics g JOIN tickets t USING (ticket_id)
         WHERE g.topic = b.truth
           AND t.created_at >= (a.window_start::text || ' 00:00+00')::timestamptz
           AND t.created_at < ((a.window_end + 1)::text || ' 00:00+00')::timestamptz)
     FROM a JOIN judged j USING (alert_id)
     JOIN bench.alerts b ON b.world = $w AND b.alert_id = a.alert_id"
  # Own words: a phrase of the label (before the subject) found in at least
  # 30% of the issue's tickets and in at most 0.2% of the tickets before it.
  q "UPDATE bench.alerts b SET own_words = EXISTS (
       SELECT 1 FROM unnest(string_to_array(split_part(b.label, ' — ', 1), ', ')) p(term),
         vigil_demo_truth.emerging_issues e
       WHERE e.topic = b.truth AND length(p.term) >= 3
         AND (SELECT avg((strpos(lower(t.subject || ' ' || t.body), lower(p.term)) > 0)::int)
              FROM vigil_demo_truth.ticket_topics g JOIN tickets t USING (ticket_id)
              WHERE g.topic = e.topic) >= 0.3
         AND (SELECT avg((strpos(lower(t.subject || ' ' || t.body), lower(p.term)) > 0)::int)
              FROM tickets t WHERE t.created_at < e.onset
                AND t.created_at >= e.onset - interval '60 days') <= 0.002)
     WHERE b.world = $w AND b.truth IS NOT NULL"
  # The curve: an alert counts from the first day its recorded p-value is
  # at or below the threshold (stricter thresholds than the run's only).
  q "INSERT INTO bench.first_day
     SELECT $w, th.t, r.alert_id, r.truth, min(d.as_of)
     FROM (VALUES (1e-3), (1e-4), (1e-5), (1e-6), (1e-7), (1e-8), (1e-10), (1e-12)) th(t)
     CROSS JOIN bench.alerts r
     JOIN vigil.trend_alert_days d ON d.alert_id = r.alert_id
     WHERE r.world = $w AND d.status = 'open' AND d.p_value <= th.t
     GROUP BY 1, 2, 3, 4"
done

ndays=$((days + 1))
nworlds=$(echo "$worlds" | wc -w)
cat <<EOF
## Trend alerts on several companies

- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB
- $nworlds worlds of $n customers, data up to $end; each replayed over $ndays days ($first to $end) by one \`vigil topics --backfill $days\` (Release build)

| world | demo options | tickets | backfill wall s | vigil CPU s | peak RSS MB | load at the end |
|---|---|---|---|---|---|---|
EOF
q "SELECT '| ' || world || ' | \`' || trim(args) || '\` | ' || tickets || ' | ' || wall || ' | '
     || round(cpu::numeric, 1) || ' | ' || rss_kb / 1024 || ' | ' || load || ' |'
   FROM bench.runs ORDER BY world"
cat <<'EOF'

Per injected issue: *ready* is the first day the issue was detectable by the
target (new issue: >= 8 tickets from >= 5 customers in the 3 days before;
spike: its onset); delays are in days from the onset and from *ready*.

| world | issue | kind | shape | languages | tickets | onset | ready | first catching alert | kind of alert | days after onset | days after ready | alerts about it | precision | own words in label | label |
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|
EOF
psql "$dsn" -XAtq <<'SQL'
SELECT '| ' || i.world || ' | ' || i.topic || ' | ' || i.kind || ' | ' || i.shape || ' | '
  || i.languages || ' | ' || i.tickets || ' | ' || i.onset || ' | '
  || coalesce(i.ready::text, 'never') || ' | '
  || coalesce(f.detected::text, 'none') || ' | ' || coalesce(f.kind || ' (' || f.source || ')', '-') || ' | '
  || coalesce((f.detected - i.onset)::text, '-') || ' | '
  || coalesce((f.detected - i.ready)::text, '-') || ' | '
  || (SELECT count(*) FROM bench.alerts a WHERE a.world = i.world AND a.truth = i.topic) || ' | '
  || coalesce(round(f.precision::numeric, 2)::text, '-') || ' | '
  || coalesce(CASE WHEN f.own_words THEN 'yes' ELSE 'no' END, '-') || ' | '
  || replace(coalesce(f.label, ''), '|', '/') || ' |'
FROM bench.issues i
LEFT JOIN LATERAL (SELECT * FROM bench.alerts a WHERE a.world = i.world
  AND a.truth = i.topic AND a.detected > i.onset ORDER BY a.detected, a.alert_id LIMIT 1) f ON true
ORDER BY i.world, i.onset;
SQL
echo
psql "$dsn" -XAtq <<SQL
SELECT 'Alerts raised: ' || count(*) || ' over ' || $nworlds || ' x ' || $ndays
  || ' replayed days; false alerts (excess not explained by an injected issue): '
  || count(*) FILTER (WHERE truth IS NULL) || ' = '
  || round(30.0 * count(*) FILTER (WHERE truth IS NULL) / ($nworlds * $ndays), 2)
  || ' per 30 days (worst world: ' || (SELECT max(c) FROM (SELECT count(*) FILTER (WHERE truth IS NULL) AS c FROM bench.alerts GROUP BY world) x)
  || ' in ' || $ndays || ' days). Grouping precision (mean share of an explained alert''s tickets from its issue, on the day it was raised): '
  || coalesce(round(avg(precision) FILTER (WHERE truth IS NOT NULL)::numeric, 3)::text, '-')
  || '; wrong merges (two injected issues in one alert): ' || count(*) FILTER (WHERE mixed)
  || '; issues with more than one alert: '
  || (SELECT count(*) FROM (SELECT world, truth FROM bench.alerts WHERE truth IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) y)
  || '.'
FROM bench.alerts;
SELECT 'Judged again on each alert''s last open day (with the topics it took in later and any reopening): '
  || count(*) FILTER (WHERE f.truth IS DISTINCT FROM b.truth) || ' alerts explained otherwise than when raised; wrong merges: '
  || count(*) FILTER (WHERE f.mixed) || '; grouping precision '
  || coalesce(round(avg(f.precision) FILTER (WHERE f.truth IS NOT NULL)::numeric, 3)::text, '-')
  || '; topic alerts over several topics: ' || count(*) FILTER (WHERE f.topics > 1 AND b.source = 'topic')
  || '; recall (share of the issue''s tickets of the alert''s window that it holds, mean over explained alerts): '
  || coalesce(round(avg(f.recall) FILTER (WHERE b.truth IS NOT NULL)::numeric, 3)::text, '-') || '.'
FROM bench.final f JOIN bench.alerts b USING (world, alert_id);
SELECT '';
SELECT '| world | alert | detected | source | kind | languages | label | explained by | precision | observed / expected |';
SELECT '|---|---|---|---|---|---|---|---|---|---|';
SELECT '| ' || world || ' | ' || alert_id || ' | ' || detected || ' | ' || source || ' | ' || kind || ' | '
       || coalesce(languages, '') || ' | ' || replace(coalesce(label, ''), '|', '/') || ' | '
       || coalesce(truth, '(false alert)') || ' | ' || coalesce(round(precision::numeric, 2)::text, '-')
       || ' | ' || observed || ' / ' || round(expected::numeric, 1) || ' |'
FROM bench.alerts ORDER BY world, detected, alert_id;
SELECT '';
SELECT '### Detection delay against false alerts, over the p-value threshold';
SELECT '';
SELECT 'All worlds together. Delay: days from onset to the first catching alert whose p-value reached the threshold (median and mean over the issues caught). NAB score: the Numenta Anomaly Benchmark''s standard profile on a window of 7 days after each onset (a catch at relative position y in the window scores 2/(1+e^(5y))-1, a miss -1, a false alert -0.11), normalised so 0 is a detector that never alerts and 100 a perfect one.';
SELECT '';
SELECT '| p-value threshold | issues caught | new issues caught as new | median delay | mean delay | median delay after ready (new issues) | false alerts per 30 days | NAB score |';
SELECT '|---|---|---|---|---|---|---|---|';
WITH th AS (SELECT DISTINCT t FROM bench.first_day),
caught AS (SELECT th.t, i.world, i.topic, i.kind, i.onset, i.ready,
    (SELECT min(f.day) FROM bench.first_day f WHERE f.t = th.t AND f.world = i.world
       AND f.truth = i.topic AND f.day > i.onset) AS day,
    (SELECT a.kind FROM bench.first_day f JOIN bench.alerts a USING (world, alert_id)
      WHERE f.t = th.t AND f.world = i.world AND f.truth = i.topic AND f.day > i.onset
      ORDER BY f.day, f.alert_id LIMIT 1) AS akind
  FROM th CROSS JOIN bench.issues i),
fa AS (SELECT t, count(*) AS n FROM bench.first_day WHERE truth IS NULL GROUP BY t),
nab AS (SELECT t, sum(CASE WHEN day IS NOT NULL AND day - onset <= 7
    THEN 2 / (1 + exp(5 * ((day - onset) - 7) / 7.0)) - 1 ELSE -1 END) AS s,
    count(*) AS k FROM caught GROUP BY t)
SELECT '| ' || c.t || ' | ' || count(c.day) || ' / ' || count(*) || ' | '
  || count(*) FILTER (WHERE c.kind = 'new' AND c.akind = 'new') || ' / ' || count(*) FILTER (WHERE c.kind = 'new') || ' | '
  || coalesce(percentile_disc(0.5) WITHIN GROUP (ORDER BY c.day - c.onset)::text, '-') || ' | '
  || coalesce(round(avg(c.day - c.onset)::numeric, 2)::text, '-') || ' | '
  || coalesce((percentile_disc(0.5) WITHIN GROUP (ORDER BY c.day - c.ready) FILTER (WHERE c.kind = 'new'))::text, '-') || ' | '
  || round(30.0 * coalesce(max(fa.n), 0) / ($nworlds * $ndays), 2) || ' | '
  || round((100 * (max(nab.s) - 0.11 * coalesce(max(fa.n), 0) + max(nab.k)) / (2 * max(nab.k)))::numeric, 1) || ' |'
FROM caught c LEFT JOIN fa USING (t) JOIN nab USING (t)
GROUP BY c.t ORDER BY c.t DESC;
SQL
cat <<'EOF2'

### Topic alerts' own threshold (issue alerts at 1e-6)

A spike of an existing topic is raised by a topic (or sibling-sum) alert;
new issues mostly by issue (word) alerts. Here the topic alerts' threshold
moves while issue alerts stay at 1e-6 (read off the same run: an alert counts
from the first day its p-value reached its source's threshold).

| topic alerts' p-value threshold | spikes caught within 2 days | spikes caught | new issues caught | false alerts per 30 days | worst world's false alerts per 30 days |
|---|---|---|---|---|---|
EOF2
psql "$dsn" -XAtq <<SQL
WITH th AS (SELECT DISTINCT t FROM bench.first_day WHERE t >= 1e-8),
hit AS (SELECT th.t, i.world, i.topic, i.kind, i.onset,
    (SELECT min(f.day) FROM bench.first_day f JOIN bench.alerts a USING (world, alert_id)
      WHERE f.world = i.world AND f.truth = i.topic AND f.day > i.onset
        AND f.t = CASE WHEN a.source = 'topic' THEN th.t ELSE 1e-6 END) AS day
  FROM th CROSS JOIN bench.issues i),
fa AS (SELECT th.t, f.world, count(*) AS n FROM th JOIN bench.first_day f ON true
    JOIN bench.alerts a USING (world, alert_id)
   WHERE f.truth IS NULL AND f.t = CASE WHEN a.source = 'topic' THEN th.t ELSE 1e-6 END
   GROUP BY 1, 2)
SELECT '| ' || h.t || ' | '
  || count(*) FILTER (WHERE h.kind = 'spike' AND h.day - h.onset <= 2) || ' / ' || count(*) FILTER (WHERE h.kind = 'spike') || ' | '
  || count(h.day) FILTER (WHERE h.kind = 'spike') || ' | '
  || count(h.day) FILTER (WHERE h.kind = 'new') || ' / ' || count(*) FILTER (WHERE h.kind = 'new') || ' | '
  || round(30.0 * coalesce((SELECT sum(n) FROM fa WHERE fa.t = h.t), 0) / ($nworlds * $ndays), 2) || ' | '
  || round(30.0 * coalesce((SELECT max(n) FROM fa WHERE fa.t = h.t), 0) / $ndays, 2) || ' |'
FROM hit h GROUP BY h.t ORDER BY h.t DESC;
SQL
