# topics_judge.sh — sourced by bench/topics_replay.sh and
# bench/topics_worlds.sh: how an alert is judged against the demo's truth.
#
# judge_ctes A_SQL prints the WITH clause that judges the alerts A_SQL
# selects (columns alert_id, source, topic_id, topic_ids, ticket_ids,
# window_start, window_end, observed, expected: the alert as seen on the day
# it is judged). It defines `a` (A_SQL) and `judged` (alert_id, truth,
# precision, mixed): an alert's tickets are its ticket_ids (an issue
# alert's tickets; a topic alert's topics' tickets in its window as they
# were assigned that day), or, for a topic alert recorded without them (an
# older vigil), the tickets of its topics (its topic and the sibling topics
# it lists) inside its window as assigned now; the injected issue with the
# most tickets among them explains the alert if those make up at least half
# of its excess (observed - expected), else truth is NULL (a false alert);
# precision is that issue's share of the alert's tickets; mixed: a second
# injected issue holds at least a fifth of them (a wrong merge).
# shellcheck shell=bash
judge_ctes() {
  cat <<SQL
WITH a AS ($1),
tk AS (SELECT a.alert_id, t.ticket_id FROM a JOIN tickets t
         ON t.ticket_id = ANY(a.ticket_ids)
        WHERE a.source = 'terms' OR cardinality(a.ticket_ids) > 0
       UNION ALL
       SELECT a.alert_id, t.ticket_id FROM a
         JOIN vigil.ticket_topics tt ON tt.topic_id = a.topic_id
           OR tt.topic_id = ANY(coalesce(a.topic_ids, '{}'))
         JOIN tickets t USING (ticket_id)
        WHERE a.source = 'topic' AND coalesce(cardinality(a.ticket_ids), 0) = 0
          AND t.created_at >= (a.window_start::text || ' 00:00+00')::timestamptz
          AND t.created_at < ((a.window_end + 1)::text || ' 00:00+00')::timestamptz),
per AS (SELECT tk.alert_id, g.topic, count(*) AS n FROM tk
          JOIN vigil_demo_truth.ticket_topics g USING (ticket_id)
         WHERE g.topic IN (SELECT topic FROM vigil_demo_truth.emerging_issues)
         GROUP BY 1, 2),
tot AS (SELECT alert_id, count(*) AS n FROM tk GROUP BY 1),
judged AS (SELECT a.alert_id, best.topic AS truth,
    best.n::float8 / nullif(tot.n, 0) AS precision,
    (SELECT count(*) FROM per p WHERE p.alert_id = a.alert_id
       AND p.n >= 0.2 * tot.n) >= 2 AS mixed
  FROM a LEFT JOIN tot USING (alert_id)
  LEFT JOIN LATERAL (SELECT p.topic, p.n FROM per p WHERE p.alert_id = a.alert_id
       AND p.n >= 0.5 * (a.observed - a.expected)
       ORDER BY p.n DESC, p.topic LIMIT 1) best ON true)
SQL
}
