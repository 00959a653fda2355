#!/usr/bin/env bash
# topics_replay.sh — the trend-alert acceptance: replays `vigil topics` day by
# day over the demo company's last DAYS days and scores the alerts against the
# injected emerging issues (vigil_demo_truth.emerging_issues).
#
#   bench/topics_replay.sh [CUSTOMERS] [DAYS]      defaults 20000 and 75
#
# An alert "catches" an issue when most tickets of its topic inside its
# window carry that issue's true topic; every other alert is a false alert.
# Prints a Markdown report: per issue the onset, the first catching alert and
# the delay; false alerts per 30 replayed days; time per day and peak memory.
# Environment: PGDIR (default /tmp/vigil-replay-pg), END (demo end date,
# default 2026-11-01), BACKFILL=1 (one `--backfill DAYS` run instead of
# a run per day), KEEP=1 keeps the database for inspection, VIGIL_BIN (a
# vigil binary to use instead of building one), DEMO_ARGS (more options for
# `vigil demo`, e.g. injected issues).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/topics_judge.sh
. "$root/bench/topics_judge.sh"
n=${1:-20000}
days=${2:-75}
end=${END:-2026-11-01}
pgdir=${PGDIR:-/tmp/vigil-replay-pg}
. "$root/bench/lib.sh"
bin=$(bench_vigil)
bench_pg "$pgdir"
export VIGIL_DSN=$dsn
# Day by day as the daily runs would: no history built by the first run.
cfg=$pgdir/replay.json
# MAX_P: trend.max_p for the run (1: every alert the tests pass, to draw
# the whole delay / false-alert curve; default: the configured default).
echo "{\"topics\": {\"backfill_days\": 0}${MAX_P:+, \"trend\": {\"max_p\": $MAX_P\}}}" >"$cfg"
q() { psql "$dsn" -XAtqc "$1"; }

"$bin" --quiet init >/dev/null
# shellcheck disable=SC2086 # DEMO_ARGS is a list of options
"$bin" --quiet demo --customers "$n" --end "$end" ${DEMO_ARGS:-} >/dev/null
q "TRUNCATE vigil.trend_alert_days, vigil.ticket_topics, vigil.topic_links,
   vigil.topic_centroids, vigil.topic_vocab, vigil.topic_models,
   vigil.trend_alerts, vigil.topics, vigil.ticket_topic_history CASCADE"
first=$(date -u -d "$end - $days days" +%F)
# What an alert is about is judged on the day it is raised, with that day's
# topic assignments (bench/topics_judge.sh).
q "DROP TABLE IF EXISTS public.replay_alert_truth;
   CREATE TABLE public.replay_alert_truth (alert_id bigint, detected date,
     kind text, source text, label text, observed int, expected float8,
     truth text, precision float8, mixed boolean, languages text)"
judge() {
  q "$(judge_ctes "SELECT * FROM vigil.trend_alerts
                WHERE detected_at = ('$1' || ' 00:00+00')::timestamptz")
     INSERT INTO public.replay_alert_truth
     SELECT a.alert_id, a.detected_at::date, a.kind, a.source, a.label,
       a.observed, a.expected, j.truth, j.precision, j.mixed,
       array_to_string(a.languages, ',')
     FROM a JOIN judged j USING (alert_id)"
}
tickets=$(q "SELECT count(*) FROM tickets")
times=()
cpus=()
peak=0
if [ "${BACKFILL:-0}" = 1 ]; then
  # One `vigil topics --backfill`: the first-run path (a re-clustering every
  # 7th day, assignments in between), then every day judged.
  out=$( { /usr/bin/time -f '%e %U %S %M' "$bin" --quiet --config "$cfg" topics --as-of "$end" --backfill "$days" --json >/dev/null; } 2>&1 | tail -1)
  read -r el us sy kb <<<"$out"
  times+=("$el"); cpus+=("$(echo "$us + $sy" | bc)"); peak=$kb
  d=$first
  while [[ "$d" < "$end" ]] || [[ "$d" == "$end" ]]; do
    judge "$d"
    d=$(date -u -d "$d + 1 day" +%F)
  done
else
  d=$first
  while [[ "$d" < "$end" ]] || [[ "$d" == "$end" ]]; do
    out=$( { /usr/bin/time -f '%e %U %S %M' "$bin" --quiet --config "$cfg" topics --as-of "$d" --json >/dev/null; } 2>&1 | tail -1)
    judge "$d"
    read -r el us sy kb <<<"$out"
    times+=("$el"); cpus+=("$(echo "$us + $sy" | bc)")
    [ "$kb" -gt "$peak" ] && peak=$kb
    d=$(date -u -d "$d + 1 day" +%F)
  done
fi
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
total=$(printf '%s\n' "${times[@]}" | awk '{s+=$1} END {printf "%.1f", s}')
cpu=$(printf '%s\n' "${cpus[@]}" | awk '{s+=$1} END {printf "%.1f", s}')

cat <<EOF
## Trend alerts: replay acceptance

- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB
- demo company: $n customers, $tickets tickets, data up to $end
- replayed: $((days + 1)) days ($first to $end), $([ "${BACKFILL:-0}" = 1 ] && echo "one \`vigil topics --backfill $days\`" || echo "one \`vigil topics --as-of D\` per day") (Release build)
- wall time: median ${median} s per run (total ${total} s), CPU of vigil ${cpu} s (user + system; PostgreSQL's not counted); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); peak RSS $((peak / 1024)) MB

| injected issue | onset | first catching alert (detected_at) | days after onset | kind | observed / expected at detection | alerts about it |
|---|---|---|---|---|---|---|
EOF
psql "$dsn" -XAtq -F ' | ' <<'SQL'
SELECT '| ' || e.topic, e.onset,
  coalesce(min(a.detected)::text, 'none'),
  coalesce((min(a.detected) - e.onset)::text, '-'),
  coalesce((array_agg(a.kind ORDER BY a.detected))[1], '-'),
  coalesce((array_agg(a.observed || ' / ' || round(a.expected::numeric, 1) ORDER BY a.detected))[1], '-'),
  count(a.alert_id) || ' |'
FROM vigil_demo_truth.emerging_issues e
LEFT JOIN public.replay_alert_truth a ON a.truth = e.topic AND a.detected > e.onset
GROUP BY e.topic, e.onset ORDER BY e.onset;
SQL
echo
psql "$dsn" -XAtq <<SQL
SELECT 'Alerts raised: ' || count(*) || '; false alerts (excess not explained by an injected issue): '
  || count(*) FILTER (WHERE truth IS NULL)
  || ' = ' || round(30.0 * count(*) FILTER (WHERE truth IS NULL) / ($days + 1), 2)
  || ' per 30 replayed days. Grouping precision (mean share of an explained alert''s tickets from its issue): '
  || coalesce(round(avg(precision) FILTER (WHERE truth IS NOT NULL)::numeric, 3)::text, '-')
  || '; wrong merges (two injected issues in one alert): ' || count(*) FILTER (WHERE mixed) || '.'
FROM public.replay_alert_truth;
SELECT '';
SELECT '| alert | detected | source | kind | languages | label | explained by | precision | observed / expected |';
SELECT '|---|---|---|---|---|---|---|---|---|';
SELECT '| ' || alert_id || ' | ' || detected || ' | ' || source || ' | ' || kind || ' | '
       || coalesce(languages, '') || ' | ' || replace(coalesce(label, ''), '|', '/') || ' | '
       || coalesce(truth, '(false alert)') || ' | ' || coalesce(round(precision::numeric, 2)::text, '-')
       || ' | ' || observed || ' / ' || round(expected::numeric, 1) || ' |'
FROM public.replay_alert_truth ORDER BY detected, alert_id;
SELECT '';
SELECT '### Detection delay against false alerts, over the p-value threshold';
SELECT '';
SELECT 'An alert counts from the first replayed day its recorded p-value (vigil.trend_alert_days) is at or below the threshold; the run itself used the configured thresholds, so only stricter ones are explored.';
SELECT '';
SELECT '| p-value threshold | ' || string_agg(topic || ' delay (days)', ' | ' ORDER BY onset) || ' | false alerts per 30 days |'
FROM vigil_demo_truth.emerging_issues;
SELECT '|---|' || string_agg('---|', '' ORDER BY onset) || '---|' FROM vigil_demo_truth.emerging_issues;
WITH th(t) AS (VALUES (1e-3), (1e-4), (1e-6), (1e-8), (1e-10), (1e-12)),
first_day AS (SELECT th.t, r.alert_id, r.truth, min(d.as_of) AS day
  FROM th CROSS JOIN public.replay_alert_truth r
  JOIN vigil.trend_alert_days d ON d.alert_id = r.alert_id
  WHERE d.status = 'open' AND d.p_value <= th.t GROUP BY 1, 2, 3)
SELECT '| ' || th.t || ' | ' ||
  (SELECT string_agg(coalesce((SELECT (min(f.day) - e.onset)::text FROM first_day f
      WHERE f.t = th.t AND f.truth = e.topic AND f.day > e.onset), 'missed'), ' | ' ORDER BY e.onset)
   FROM vigil_demo_truth.emerging_issues e) || ' | ' ||
  round(30.0 * (SELECT count(*) FROM first_day f WHERE f.t = th.t AND f.truth IS NULL) / ($days + 1), 2) || ' |'
FROM th ORDER BY th.t DESC;
SQL
