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
# default 2026-11-01), KEEP=1 keeps the database for inspection.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20000}
days=${2:-75}
end=${END:-2026-11-01}
pgdir=${PGDIR:-/tmp/vigil-replay-pg}
build=$root/build/release
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)" --target vigil >/dev/null
bin=$build/vigil
mkdir -p "$pgdir"
chmod 755 "$pgdir"
dsn=$("$root/scripts/pg.sh" start "$pgdir")
[ "${KEEP:-0}" = 1 ] || trap '"$root/scripts/pg.sh" stop "$pgdir" >/dev/null 2>&1 || true' EXIT
export VIGIL_DSN=$dsn
q() { psql "$dsn" -XAtqc "$1"; }

"$bin" --quiet init >/dev/null
"$bin" --quiet demo --customers "$n" --end "$end" >/dev/null
q "TRUNCATE vigil.trend_alert_days, vigil.ticket_topics, vigil.topic_links,
   vigil.topic_centroids, vigil.topic_vocab, vigil.topic_models,
   vigil.trend_alerts, vigil.topics CASCADE"
first=$(date -u -d "$end - $days days" +%F)
# What an alert is about is judged on the day it is raised, with that day's
# topic assignments: the injected issue with the most tickets in the alert's
# topic and window, if they make up at least half of the excess
# (observed - expected). Any other alert is a false alert.
q "DROP TABLE IF EXISTS public.replay_alert_truth;
   CREATE TABLE public.replay_alert_truth (alert_id bigint, detected date,
     kind text, label text, observed int, expected float8, truth text)"
judge() {
  q "INSERT INTO public.replay_alert_truth
     SELECT a.alert_id, a.detected_at::date, a.kind, a.label, a.observed, a.expected,
       (SELECT g.topic FROM vigil.ticket_topics tt JOIN tickets t USING (ticket_id)
          JOIN vigil_demo_truth.ticket_topics g USING (ticket_id)
        WHERE tt.topic_id = a.topic_id
          AND t.created_at >= (a.window_start::text || ' 00:00+00')::timestamptz
          AND t.created_at < ((a.window_end + 1)::text || ' 00:00+00')::timestamptz
          AND g.topic IN (SELECT topic FROM vigil_demo_truth.emerging_issues)
        GROUP BY g.topic HAVING count(*) >= 0.5 * (a.observed - a.expected)
        ORDER BY count(*) DESC, g.topic LIMIT 1)
     FROM vigil.trend_alerts a WHERE a.detected_at = ('$1' || ' 00:00+00')::timestamptz"
}
tickets=$(q "SELECT count(*) FROM tickets")
times=()
peak=0
d=$first
while [[ "$d" < "$end" ]] || [[ "$d" == "$end" ]]; do
  out=$( { /usr/bin/time -f '%e %M' "$bin" --quiet topics --as-of "$d" --json >/dev/null; } 2>&1 | tail -1)
  judge "$d"
  times+=("${out% *}")
  kb=${out#* }
  [ "$kb" -gt "$peak" ] && peak=$kb
  d=$(date -u -d "$d + 1 day" +%F)
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
total=$(printf '%s\n' "${times[@]}" | awk '{s+=$1} END {printf "%.1f", s}')

cat <<EOF
## Trend alerts: replay acceptance

- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GiB
- demo company: $n customers, $tickets tickets, data up to $end
- replayed: $((days + 1)) days ($first to $end), one \`vigil topics --as-of D\` per day (Release build)
- time per day: median ${median} s (total ${total} s); peak RSS $((peak / 1024)) MB

| injected issue | onset | first catching alert (detected_at) | days after onset | kind | observed / expected at detection |
|---|---|---|---|---|---|
EOF
psql "$dsn" -XAtq -F ' | ' <<'SQL'
SELECT '| ' || e.topic, e.onset,
  coalesce(min(a.detected)::text, 'none'),
  coalesce((min(a.detected) - e.onset)::text, '-'),
  coalesce((array_agg(a.kind ORDER BY a.detected))[1], '-'),
  coalesce((array_agg(a.observed || ' / ' || round(a.expected::numeric, 1) ORDER BY a.detected))[1], '-') || ' |'
FROM vigil_demo_truth.emerging_issues e
LEFT JOIN public.replay_alert_truth a ON a.truth = e.topic AND a.detected > e.onset
GROUP BY e.topic, e.onset ORDER BY e.onset;
SQL
echo
psql "$dsn" -XAtq <<SQL
SELECT 'Alerts raised: ' || count(*) || '; false alerts (excess not explained by an injected issue): '
  || count(*) FILTER (WHERE truth IS NULL OR truth NOT IN (SELECT topic FROM vigil_demo_truth.emerging_issues))
  || ' = ' || round(30.0 * count(*) FILTER (WHERE truth IS NULL OR truth NOT IN
       (SELECT topic FROM vigil_demo_truth.emerging_issues)) / ($days + 1), 2)
  || ' per 30 replayed days.'
FROM public.replay_alert_truth;
SELECT '';
SELECT '| alert | detected | kind | label | explained by | observed / expected |';
SELECT '|---|---|---|---|---|---|';
SELECT '| ' || alert_id || ' | ' || detected || ' | ' || kind || ' | ' || coalesce(label, '') || ' | '
       || coalesce(truth, '(false alert)') || ' | ' || observed || ' / ' || round(expected::numeric, 1) || ' |'
FROM public.replay_alert_truth ORDER BY detected, alert_id;
SQL
