/* queue.c — the outreach run: one INSERT ... ON CONFLICT per playbook over a
 * temporary table of active customers, auto-close, then assignment in C.
 * PostgreSQL does the set work; C only does the greedy, ordered assignment. */
#include "outreach/queue.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/date.h"
#include "core/util.h"
#include "deliver/outbox.h"
#include "score/score.h"

/* Any constant works; every vigil process must use the same one. */
#define OUTREACH_LOCK_KEY "7411004"
#define SQL_MAX 16384

/* The outcome recorded when a task's trigger stopped holding; cooldown
 * ignores it (nobody contacted the customer). */
#define AUTO_CLOSED "auto_closed: trigger no longer holds"

/* ---- the temporary table every playbook reads ---------------------------- */

/* Active customers at D with their score of the latest score date on or
 * before D, the tier of the score date before that, and what templates
 * need. Scores are written per date for everyone, so "latest date" is one
 * index range, not a per-customer search. */
static vg_code make_base(db_conn *db, const vg_config *cfg, const char *d,
                         char *score_as_of, size_t n, vg_error *err)
{
    PGresult *r = NULL;
    char *cust = db_qualify(db, cfg->source_schema, "customers");
    char sql[4096];
    vg_code rc = VG_OK;
    if (!cust)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(
        sql, sizeof sql,
        "CREATE TEMP TABLE ob_base ON COMMIT DROP AS "
        "WITH sd AS (SELECT max(as_of) d FROM vigil.scores WHERE as_of <= "
        "$1::date), "
        "pd AS (SELECT max(as_of) d FROM vigil.scores, sd WHERE as_of < sd.d) "
        "SELECT c.customer_id::text AS customer_id, c.name::text AS name, "
        " c.plan::text AS plan, "
        " greatest(coalesce(c.mrr::numeric, 0), 0) AS mrr, "
        " lower(c.language::text) AS language, s.as_of AS score_as_of, "
        " s.churn_risk, s.health, s.tier, coalesce(s.drivers, '[]') AS "
        "drivers, "
        " array_position(" SCORE_TIERS_SQL ", "
        "s.tier) - 1 AS tier_rank, p.tier AS prev_tier, "
        " array_position(" SCORE_TIERS_SQL ", "
        "p.tier) - 1 AS prev_rank "
        "FROM %s c "
        "LEFT JOIN vigil.scores s ON s.as_of = (SELECT d FROM sd) AND "
        " s.customer_id = c.customer_id "
        "LEFT JOIN vigil.scores p ON p.as_of = (SELECT d FROM pd) AND "
        " p.customer_id = c.customer_id "
        "WHERE c.customer_id IS NOT NULL AND c.created_at < $1::date AND "
        " (c.canceled_at IS NULL OR c.canceled_at >= $1::date "
        "  OR c.canceled_at < c.created_at)",
        cust);
    const char *p[1] = {d};
    rc = db_exec(db, sql, 1, p, NULL, err);
    /* A source relation may repeat ids (dirty data): the first row wins, as
     * in the feature extraction. */
    if (rc == VG_OK)
        rc = db_run(db,
                    "DELETE FROM ob_base a USING ob_base b WHERE "
                    "a.customer_id = b.customer_id AND a.ctid > b.ctid; "
                    "CREATE UNIQUE INDEX ON ob_base (customer_id); ANALYZE "
                    "ob_base",
                    err);
    if (rc == VG_OK)
        rc = db_exec(db,
                     "SELECT coalesce(max(as_of)::text, '') FROM vigil.scores "
                     "WHERE as_of <= $1::date",
                     1, p, &r, err);
    if (rc == VG_OK)
        snprintf(score_as_of, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    free(cust);
    return rc;
}

/* ---- trigger SQL: customer_id, fires, detail jsonb, summary text ----------
 * $1 as-of date, $2 playbook name; trigger parameters from $8. "fires" is the
 * event that creates a task; rows with fires false still hold the trigger and
 * only refresh an open task (a tier entered yesterday is still the tier). */

typedef struct params {
    db_param v[16];
    char arrays[2][512]; /* text of the text[] parameters */
    int n, narrays;
} params;

static void param_add(params *p, db_param v)
{
    p->v[p->n++] = v;
}

/* A PostgreSQL text[] literal, every item quoted so any character is safe. */
static void param_array(params *p, const char (*items)[OUTREACH_NAME], int n)
{
    char *b = p->arrays[p->narrays++];
    size_t k = 0, cap = sizeof p->arrays[0];
    b[k++] = '{';
    for (int i = 0; i < n && k + 4 < cap; i++) {
        if (i)
            b[k++] = ',';
        b[k++] = '"';
        for (const char *s = items[i]; *s && k + 4 < cap; s++) {
            if (*s == '"' || *s == '\\')
                b[k++] = '\\';
            b[k++] = *s;
        }
        b[k++] = '"';
    }
    b[k++] = '}';
    b[k] = '\0';
    param_add(p, DB_TEXT(b));
}

/* Entered a listed tier on D; $8 the tiers, $9 the healthiest's rank. */
static void tier_entered_sql(const outreach_playbook *pb, params *p, char *out,
                             size_t n)
{
    char tiers[SCORE_NTIERS][OUTREACH_NAME];
    int nt = 0, min_rank = -1;
    for (int i = 0; i < SCORE_NTIERS; i++)
        if (pb->tiers_mask & (1 << i)) {
            snprintf(tiers[nt++], OUTREACH_NAME, "%s", score_tier_name(i));
            if (min_rank < 0)
                min_rank = i;
        }
    param_array(p, (const char(*)[OUTREACH_NAME])tiers, nt); /* $8 */
    param_add(p, DB_INT(min_rank));                          /* $9 */
    /* Entered: from a healthier tier than any listed (or no previous
     * score), on the score of D itself. Holds: still in a listed tier. */
    snprintf(out, n,
             "SELECT b.customer_id, "
             " (b.score_as_of = $1::date AND (b.prev_rank IS NULL OR "
             "  b.prev_rank < $9::int)) AS fires, "
             " jsonb_build_object('type', 'tier_entered', 'tier', b.tier, "
             "  'previous_tier', b.prev_tier, 'score_as_of', "
             "b.score_as_of) AS detail, "
             " CASE WHEN b.prev_tier IS NULL THEN format('entered tier %%s "
             "(first score)', b.tier) ELSE format('entered tier %%s (was "
             "%%s)', b.tier, b.prev_tier) END AS summary "
             "FROM ob_base b WHERE b.tier = ANY($8::text[])");
}

/* Health fell by $8 points within $9 days. */
static void health_drop_sql(const outreach_playbook *pb, params *p, char *out,
                            size_t n)
{
    param_add(p, DB_INT(pb->points)); /* $8 */
    param_add(p, DB_INT(pb->days));   /* $9 */
    /* The baseline of an open task is kept while it stays open, so a
     * drop older than the window still holds until health recovers. */
    snprintf(
        out, n,
        "SELECT customer_id, fires, detail, format('health fell from %%s "
        "to %%s within %%s days', detail->>'health_before', "
        "detail->>'health_now', $9::int) AS summary FROM ("
        "SELECT b.customer_id, "
        " (b.score_as_of = $1::date AND h.max_h - b.health >= $8::int) AS "
        "fires, "
        " jsonb_build_object('type', 'health_drop', 'health_before', "
        "  coalesce((ot.reason->'trigger'->>'health_before')::int, "
        "h.max_h), "
        "  'health_now', b.health, 'points', $8::int, 'days', $9::int) AS "
        "detail "
        "FROM ob_base b "
        "LEFT JOIN (SELECT customer_id, max(health) AS max_h FROM "
        " vigil.scores WHERE as_of >= $1::date - $9::int AND as_of < "
        "$1::date GROUP BY customer_id) h ON h.customer_id = b.customer_id "
        "LEFT JOIN open_t ot ON ot.customer_id = b.customer_id "
        "WHERE b.health IS NOT NULL AND "
        " (h.max_h - b.health >= $8::int OR "
        "  (ot.reason->'trigger'->>'health_before')::int - b.health >= "
        "$8::int)) x");
}

/* A ticket of the customer is in an alert open on D: a topic alert's topic
 * and window, or an issue alert's own tickets (source 'terms', raised from
 * bursting words, with no topic). One task per customer and alert, ever:
 * an alert already covered by a task of this playbook (any status; the
 * covered ids accumulate in trigger.alert_ids while a task is open) only
 * refreshes the open task and never fires again. */
static void trend_alert_sql(const char *tickets, char *out, size_t n)
{
    /* An alert resolved after D (resolved_on) was open on D, so replays
     * see it. The summary is what a specialist reads first. */
    snprintf(
        out, n,
        "SELECT x.customer_id, bool_or(NOT x.covered) AS fires, "
        " jsonb_build_object('type', 'trend_alert', 'alerts', "
        "  jsonb_agg(jsonb_build_object('alert_id', x.alert_id, 'source', "
        "  x.source, 'kind', x.kind, 'topic_id', x.topic_id, 'label', "
        "  x.label, 'window_start', x.window_start, 'window_end', "
        "  x.window_end, 'p_value', x.p_value, 'since', x.since, "
        "  'tickets', to_jsonb(x.tickets)) ORDER BY x.alert_id), "
        "  'alert_ids', (SELECT jsonb_agg(DISTINCT v ORDER BY v) FROM "
        "  (SELECT jsonb_array_elements(coalesce((array_agg(ot.reason))[1]"
        "   ->'trigger'->'alert_ids', '[]')) UNION SELECT to_jsonb(i) FROM "
        "   unnest(array_agg(x.alert_id)) i) u(v))) AS detail, "
        " string_agg(format('affected by %%s since %%s (%%s; %%s alert #%%s "
        "raised %%s)', x.label, to_char(x.since, 'FMDD Mon YYYY'), "
        "  CASE WHEN cardinality(x.tickets) = 1 THEN '1 of their tickets' "
        "  ELSE cardinality(x.tickets) || ' of their tickets' END, "
        "  CASE x.kind WHEN 'new' THEN 'new-issue' WHEN 'emerging' THEN "
        "  'emerging-topic' ELSE coalesce(x.kind, 'trend') END, x.alert_id, "
        "  to_char(x.detected, 'FMDD Mon YYYY')), '; ' ORDER BY x.alert_id) "
        "AS summary "
        "FROM (SELECT y.customer_id, y.alert_id, y.source, y.kind, "
        "  y.topic_id, y.label, y.window_start, y.window_end, y.p_value, "
        "  y.detected, array_agg(DISTINCT y.ticket_id) AS tickets, "
        "  min(y.created_at)::date AS since, EXISTS (SELECT 1 FROM "
        "  vigil.outreach_tasks o WHERE o.dedupe_key = $2 || ':' || "
        "  y.customer_id AND (coalesce(o.reason->'trigger'->'alert_ids', "
        "  '[]') @> to_jsonb(y.alert_id) OR coalesce(o.reason->'trigger'"
        "  ->'alerts', '[]') @> jsonb_build_array(jsonb_build_object("
        "  'alert_id', y.alert_id)))) AS covered "
        " FROM (SELECT tk.customer_id::text AS customer_id, "
        "   tk.ticket_id::text AS ticket_id, tk.created_at, a.alert_id, "
        "   a.source, a.kind, a.topic_id, coalesce(a.label, tp.label, "
        "   'topic ' || a.topic_id) AS label, a.window_start, a.window_end, "
        "   a.p_value, a.detected_at::date AS detected "
        "  FROM vigil.trend_alerts a "
        "  JOIN vigil.ticket_topics tt ON tt.topic_id = a.topic_id "
        "  JOIN %s tk ON tk.ticket_id::text = tt.ticket_id "
        "  LEFT JOIN vigil.topics tp ON tp.topic_id = a.topic_id "
        "  WHERE a.source = 'topic' AND (a.status = 'open' OR "
        "   a.resolved_on > $1::date) AND a.detected_at < $1::date + 1 "
        "   AND tk.created_at >= a.window_start "
        "   AND tk.created_at < a.window_end + 1 "
        "  UNION ALL "
        "  SELECT tk.customer_id::text, tk.ticket_id::text, tk.created_at, "
        "   a.alert_id, a.source, a.kind, a.topic_id, coalesce(a.label, "
        "   'issue alert ' || a.alert_id), a.window_start, a.window_end, "
        "   a.p_value, a.detected_at::date "
        "  FROM vigil.trend_alerts a "
        "  JOIN %s tk ON tk.ticket_id::text = ANY(a.ticket_ids) "
        "  WHERE a.source = 'terms' AND (a.status = 'open' OR "
        "   a.resolved_on > $1::date) AND a.detected_at < $1::date + 1) y "
        " WHERE y.created_at < $1::date AND y.customer_id IS NOT NULL "
        " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10) x "
        "JOIN ob_base b ON b.customer_id = x.customer_id "
        "LEFT JOIN open_t ot ON ot.customer_id = x.customer_id "
        "GROUP BY x.customer_id",
        tickets, tickets);
}

/* A ticket unresolved for $8 hours (escalated or of listed priorities). */
static void stale_ticket_sql(const outreach_playbook *pb, params *p,
                             const char *tickets, char *out, size_t n)
{
    param_add(p, DB_INT(pb->hours));                  /* $8 */
    param_add(p, DB_INT(pb->max_age_days));           /* $9 */
    param_add(p, DB_TEXT(pb->escalated ? "t" : "f")); /* $10 */
    param_array(p, pb->priorities, pb->npriorities);  /* $11 */
    /* `escalated` and `priority` have no timestamp: they are the
     * ticket's current values (exact for today's run). A resolution
     * before creation is unknown, so the ticket counts as unresolved. */
    snprintf(
        out, n,
        "SELECT tk.customer_id::text AS customer_id, true AS fires, "
        " jsonb_build_object('type', 'stale_ticket', 'hours', $8::int, "
        "  'tickets', jsonb_agg(jsonb_build_object('ticket_id', "
        "tk.ticket_id, "
        "  'subject', left(tk.subject, 200), 'priority', tk.priority, "
        "  'escalated', coalesce(tk.escalated, false), 'created_at', "
        "  tk.created_at, 'hours_open', floor(extract(epoch FROM "
        "  ($1::date::timestamptz - tk.created_at)) / 3600)) ORDER BY "
        "tk.created_at, tk.ticket_id)) AS detail, "
        " (array_agg(format('ticket %%s \"%%s\" (%%s%%s) unresolved for "
        "%%s hours', tk.ticket_id, left(tk.subject, 80), "
        "coalesce(tk.priority, 'no priority'), CASE WHEN tk.escalated THEN "
        "', escalated' ELSE '' END, floor(extract(epoch FROM "
        "($1::date::timestamptz - tk.created_at)) / 3600)) ORDER BY "
        "tk.created_at, tk.ticket_id))[1] || "
        " CASE WHEN count(*) > 1 THEN format(' and %%s more', count(*) - "
        "1) ELSE '' END AS summary "
        "FROM %s tk JOIN ob_base b ON b.customer_id = tk.customer_id "
        "WHERE tk.created_at < $1::date - make_interval(hours => $8::int) "
        " AND tk.created_at >= $1::date - $9::int "
        " AND (tk.resolved_at IS NULL OR tk.resolved_at >= $1::date OR "
        "      tk.resolved_at < tk.created_at) "
        " AND ((coalesce(tk.escalated, false) AND $10::boolean) OR "
        "      tk.priority = ANY($11::text[])) "
        "GROUP BY tk.customer_id",
        tickets);
}

/* A rating of $8 or less on a ticket resolved in the last $9 days. */
static void low_csat_sql(const outreach_playbook *pb, params *p,
                         const char *tickets, char *out, size_t n)
{
    param_add(p, DB_INT(pb->max_csat)); /* $8 */
    param_add(p, DB_INT(pb->days));     /* $9 */
    /* A rating counts once the ticket is resolved (its only time). */
    snprintf(
        out, n,
        "SELECT tk.customer_id::text AS customer_id, true AS fires, "
        " jsonb_build_object('type', 'low_csat', 'days', $9::int, "
        "  'tickets', jsonb_agg(jsonb_build_object('ticket_id', "
        "tk.ticket_id, "
        "  'subject', left(tk.subject, 200), 'csat', tk.csat, "
        "'resolved_at', "
        "  tk.resolved_at) ORDER BY tk.resolved_at DESC, tk.ticket_id)) AS "
        "detail, "
        " (array_agg(format('rated ticket %%s \"%%s\" %%s/5 on %%s', "
        "tk.ticket_id, left(tk.subject, 80), tk.csat, "
        "tk.resolved_at::date) ORDER BY tk.resolved_at DESC, "
        "tk.ticket_id))[1] || "
        " CASE WHEN count(*) > 1 THEN format(' and %%s more low ratings', "
        "count(*) - 1) ELSE '' END AS summary "
        "FROM %s tk JOIN ob_base b ON b.customer_id = tk.customer_id "
        "WHERE tk.resolved_at >= $1::date - $9::int AND tk.resolved_at < "
        "$1::date AND tk.resolved_at >= tk.created_at "
        " AND tk.csat BETWEEN 1 AND $8::int "
        "GROUP BY tk.customer_id",
        tickets);
}

/* The customer's date column falls within $8 days after D. */
static void date_within_sql(const outreach_playbook *pb, params *p,
                            const char *cust, const char *col, char *out,
                            size_t n)
{
    param_add(p, DB_INT(pb->days));    /* $8 */
    param_add(p, DB_TEXT(pb->column)); /* $9 */
    snprintf(out, n,
             "SELECT c.customer_id::text AS customer_id, true AS fires, "
             " jsonb_build_object('type', 'date_within', 'column', "
             "$9::text, 'date', c.%s::date, 'days_until', c.%s::date - "
             "$1::date) AS detail, "
             " format('%%s is %%s (in %%s days)', $9::text, c.%s::date, "
             "c.%s::date - $1::date) AS summary "
             "FROM %s c JOIN ob_base b ON b.customer_id = c.customer_id "
             "WHERE c.%s::date >= $1::date AND c.%s::date <= $1::date + "
             "$8::int",
             col, col, col, col, cust, col, col);
}

static vg_code trigger_sql(db_conn *db, const vg_config *cfg,
                           const outreach_playbook *pb, params *p, char *out,
                           size_t n, vg_error *err)
{
    char *tickets = db_qualify(db, cfg->source_schema, "tickets");
    char *cust = db_qualify(db, cfg->source_schema, "customers");
    char *col = db_quote_ident(db, pb->column[0] ? pb->column : "x");
    vg_code rc = VG_OK;
    if (!tickets || !cust || !col) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    switch (pb->trigger) {
    case OUTREACH_TIER_ENTERED:
        tier_entered_sql(pb, p, out, n);
        break;
    case OUTREACH_HEALTH_DROP:
        health_drop_sql(pb, p, out, n);
        break;
    case OUTREACH_TREND_ALERT:
        trend_alert_sql(tickets, out, n);
        break;
    case OUTREACH_STALE_TICKET:
        stale_ticket_sql(pb, p, tickets, out, n);
        break;
    case OUTREACH_LOW_CSAT:
        low_csat_sql(pb, p, tickets, out, n);
        break;
    case OUTREACH_DATE_WITHIN:
        date_within_sql(pb, p, cust, col, out, n);
        break;
    }
cleanup:
    free(tickets);
    free(cust);
    free(col);
    return rc;
}

/* A title/body template becomes nested replace() calls over the candidate
 * row; only the placeholders the template uses are expanded. */
static void render_sql(const char *tmpl, int param, char *out, size_t n)
{
    static const char *const ph[][2] = {
        {"customer_id", "c.customer_id"},
        {"customer_name", "coalesce(c.name, c.customer_id)"},
        {"plan", "coalesce(c.plan, '?')"},
        {"mrr", "c.mrr::text"},
        {"churn_risk", "coalesce(round(c.churn_risk::numeric, 3)::text, "
                       "'unknown')"},
        {"health", "coalesce(c.health::text, 'unknown')"},
        {"tier", "coalesce(c.tier, 'unscored')"},
        {"drivers",
         "coalesce((SELECT string_agg(e->>'text', '; ') FROM "
         "jsonb_array_elements(c.drivers) e), 'no drivers recorded')"},
        {"language", "coalesce(c.language, '?')"},
        {"playbook", "$2::text"},
        {"trigger", "coalesce(c.summary, '')"},
        {"as_of", "$1::text"},
    };
    char expr[SQL_MAX / 2];
    snprintf(expr, sizeof expr, "$%d::text", param);
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++) {
        char tag[64];
        snprintf(tag, sizeof tag, "{%s}", ph[i][0]);
        if (!strstr(tmpl, tag))
            continue;
        char next[SQL_MAX / 2];
        int k = snprintf(next, sizeof next, "replace(%s, '%s', %s)", expr, tag,
                         ph[i][1]);
        /* 12 placeholders of < 150 bytes each cannot fill 8 kB */
        if (k > 0 && (size_t)k < sizeof next)
            memcpy(expr, next, (size_t)k + 1);
    }
    snprintf(out, n, "%s", expr);
}

/* Upsert one playbook's tasks. Counts: created, updated (the duplicates a
 * re-run would have made), cooling (fired but inside the cooldown). */
/* Candidates with an open task refresh it (ON CONFLICT on the partial
 * unique index); others create one unless a done/dismissed task of the
 * same key closed within the cooldown. xmax = 0 marks inserted rows. */
static void upsert_sql(char *sql, size_t n, const char *trig, int stamp_i,
                       int skills_i, const char *title, const char *body)
{
    snprintf(
        sql, n,
        "WITH open_t AS (SELECT customer_id, task_id, reason FROM "
        " vigil.outreach_tasks WHERE playbook = $2 AND status IN ('open', "
        "'assigned')), "
        "trig AS (%s), "
        "c AS (SELECT b.*, t.fires, t.detail, t.summary, ot.task_id AS "
        "open_id, "
        " ($5::int > 0 AND EXISTS (SELECT 1 FROM vigil.outreach_tasks x WHERE "
        "  x.dedupe_key = $2 || ':' || b.customer_id AND x.status IN ('done', "
        "  'dismissed') AND x.outcome NOT LIKE 'auto\\_closed%%' AND "
        "  x.closed_at > $1::date - make_interval(days => $5::int))) AS "
        "cooling "
        " FROM trig t JOIN ob_base b ON b.customer_id = t.customer_id "
        " LEFT JOIN open_t ot ON ot.customer_id = b.customer_id), "
        "up AS (INSERT INTO vigil.outreach_tasks AS o (customer_id, "
        "created_at, "
        " due_at, priority, playbook, reason, status, dedupe_key, title, body, "
        " as_of, last_as_of, mrr, churn_risk) "
        " SELECT c.customer_id, $%d::timestamptz, $%d::timestamptz + "
        "  make_interval(hours => $4::int), "
        "  coalesce(c.churn_risk, 0) * c.mrr::double precision * "
        "$3::double precision, "
        "  $2, jsonb_build_object('playbook', $2::text, 'summary', c.summary, "
        "   'trigger', c.detail, 'as_of', $1::date, 'score_as_of', "
        "   c.score_as_of, 'churn_risk', c.churn_risk, 'health', c.health, "
        "   'tier', c.tier, 'mrr', c.mrr, 'weight', $3::double precision, "
        "   'priority_formula', 'churn_risk * mrr * weight', 'drivers', "
        "   c.drivers, 'skills', $%d::jsonb, 'customer', "
        "   jsonb_build_object('name', c.name, 'plan', c.plan, 'language', "
        "   c.language)), "
        "  'open', $2 || ':' || c.customer_id, %s, %s, $1::date, $1::date, "
        "  c.mrr, c.churn_risk "
        " FROM c WHERE c.open_id IS NOT NULL OR (c.fires AND NOT c.cooling) "
        " ORDER BY c.customer_id "
        " ON CONFLICT (dedupe_key) WHERE status IN ('open', 'assigned') "
        " DO UPDATE SET priority = EXCLUDED.priority, "
        "  reason = EXCLUDED.reason || jsonb_strip_nulls(jsonb_build_object("
        "   'assignment', o.reason->'assignment', 'first_summary', "
        "   coalesce(o.reason->'first_summary', o.reason->'summary'))), "
        "  title = EXCLUDED.title, body = EXCLUDED.body, "
        "  last_as_of = greatest(o.last_as_of, EXCLUDED.last_as_of), "
        "  mrr = EXCLUDED.mrr, churn_risk = EXCLUDED.churn_risk, "
        "  updated_at = now() "
        " RETURNING (xmax = 0) AS inserted) "
        "SELECT (SELECT count(*) FROM up WHERE inserted), "
        " (SELECT count(*) FROM up WHERE NOT inserted), "
        " (SELECT count(*) FROM c WHERE c.open_id IS NULL AND c.fires AND "
        "  c.cooling)",
        trig, stamp_i, stamp_i, skills_i, title, body);
}

/* The playbook's skills as a JSON array, for the task's reason. */
static vg_code skills_json(const outreach_playbook *pb, char *out, size_t n,
                           vg_error *err)
{
    json_t *a = json_array();
    int bad = !a;
    for (int i = 0; !bad && i < pb->nskills; i++)
        bad = json_array_append_new(a, json_string(pb->skills[i])) != 0;
    char *s = bad ? NULL : json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!s)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(out, n, "%s", s);
    free(s);
    return VG_OK;
}

static vg_code run_playbook(db_conn *db, const vg_config *cfg,
                            const outreach_playbook *pb, const char *d,
                            const char *stamp, long counts[3], vg_error *err)
{
    params p;
    memset(&p, 0, sizeof p);
    param_add(&p, DB_TEXT(d));                /* $1 */
    param_add(&p, DB_TEXT(pb->name));         /* $2 */
    param_add(&p, DB_FLOAT(pb->weight));      /* $3 */
    param_add(&p, DB_INT(pb->due_in_hours));  /* $4 */
    param_add(&p, DB_INT(pb->cooldown_days)); /* $5 */
    param_add(&p, DB_TEXT(pb->title));        /* $6 */
    param_add(&p, DB_TEXT(pb->body));         /* $7 */
    char skills[1024];
    vg_code rc = skills_json(pb, skills, sizeof skills, err);
    if (rc != VG_OK)
        return rc;
    char *sql = malloc(6 * SQL_MAX);
    char *trig = malloc(SQL_MAX), *title = malloc(SQL_MAX / 2),
         *body = malloc(SQL_MAX / 2);
    PGresult *r = NULL;
    if (!sql || !trig || !title || !body) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = trigger_sql(db, cfg, pb, &p, trig, SQL_MAX, err)) != VG_OK)
        goto cleanup;
    int stamp_i = p.n + 1, skills_i = p.n + 2;
    param_add(&p, DB_TEXT(stamp));
    param_add(&p, DB_TEXT(skills));
    render_sql(pb->title, 6, title, SQL_MAX / 2);
    render_sql(pb->body, 7, body, SQL_MAX / 2);
    upsert_sql(sql, 6 * SQL_MAX, trig, stamp_i, skills_i, title, body);
    rc = db_exec_params(db, sql, p.n, p.v, &r, err);
    if (rc == VG_OK) {
        for (int i = 0; i < 3; i++)
            counts[i] = atol(PQgetvalue(r, 0, i));
    } else {
        vg_wrap(err, "playbook %s: ", pb->name);
    }
cleanup:
    PQclear(r);
    free(sql);
    free(trig);
    free(title);
    free(body);
    return rc;
}

/* date_within names a customers column: it must exist and be a date. */
vg_code outreach_check_columns(db_conn *db, const vg_config *cfg,
                               const outreach_config *oc, vg_error *err)
{
    for (int i = 0; i < oc->nplaybooks; i++) {
        const outreach_playbook *pb = &oc->playbooks[i];
        if (pb->trigger != OUTREACH_DATE_WITHIN)
            continue;
        const char *p[2] = {cfg->source_schema, pb->column};
        PGresult *r = NULL;
        vg_code rc =
            db_exec(db,
                    "SELECT data_type FROM information_schema.columns WHERE "
                    "table_schema = $1 AND table_name = 'customers' AND "
                    "column_name = $2",
                    2, p, &r, err);
        if (rc != VG_OK)
            return rc;
        const char *type = PQntuples(r) ? PQgetvalue(r, 0, 0) : "";
        int ok =
            strcmp(type, "date") == 0 || strncmp(type, "timestamp", 9) == 0;
        if (!ok)
            rc = vg_fail(err, VG_ECONFIG,
                         "key 'outreach.playbooks[%d].trigger.column': "
                         "%s.customers has %s column '%s' (a date or "
                         "timestamp is needed)",
                         i, cfg->source_schema, *type ? "no date" : "no",
                         pb->column);
        PQclear(r);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* ---- assignment ------------------------------------------------------------
 */

typedef struct spec {
    const char *id;
    json_t *languages, *skills;
    long load, capacity;
} spec;

static int json_has(json_t *arr, const char *s, int ci)
{
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const char *v = json_string_value(e);
        if (v && s && (ci ? strcasecmp(v, s) : strcmp(v, s)) == 0)
            return 1;
    }
    return 0;
}

/* The specialist (index into sp) who already holds a task of the customer,
 * from before this run (holder) or earlier in it (owners), when they are
 * active and speak the customer's language; -1 otherwise. */
static int owner_of(const spec *sp, int ns, json_t *owners, const char *cust,
                    const char *holder, const char *lang)
{
    json_t *o = json_object_get(owners, cust);
    int i = o ? (int)json_integer_value(o) : -1;
    for (int k = 0; i < 0 && *holder && k < ns; k++)
        if (strcmp(sp[k].id, holder) == 0)
            i = k;
    if (i >= 0 && *lang && !json_has(sp[i].languages, lang, 1))
        i = -1;
    return i;
}

/* Tasks held by specialists who left (inactive or deleted) go back to the
 * queue rather than waiting for someone who will not come; then the active
 * specialists, with the tasks they hold now, in specialist_id order. *sp
 * points into *rs, which the caller clears after freeing *sp's JSON. */
static vg_code load_specialists(db_conn *db, PGresult **rs, spec **sp, int *ns,
                                vg_error *err)
{
    vg_code rc = db_run(
        db,
        "UPDATE vigil.outreach_tasks t SET status = 'open', assignee = NULL, "
        " assigned_at = NULL, updated_at = now(), reason = (coalesce(reason, "
        " '{}') - 'assignment') || jsonb_build_object('released_from', "
        "assignee) "
        "WHERE status = 'assigned' AND NOT EXISTS (SELECT 1 FROM "
        " vigil.specialists s WHERE s.specialist_id = t.assignee AND "
        "s.active)",
        err);
    if (rc == VG_OK)
        rc = db_exec(db,
                     "SELECT s.specialist_id, to_json(s.languages)::text, "
                     " to_json(s.skills)::text, s.daily_capacity, "
                     " (SELECT count(*) FROM vigil.outreach_tasks t WHERE "
                     "  t.assignee = s.specialist_id AND t.status = "
                     "'assigned') "
                     "FROM vigil.specialists s WHERE s.active "
                     "ORDER BY s.specialist_id",
                     0, NULL, rs, err);
    if (rc != VG_OK)
        return rc;
    int n = PQntuples(*rs);
    if (!(*sp = calloc((size_t)(n ? n : 1), sizeof **sp)))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    *ns = n;
    for (int i = 0; i < n; i++) {
        spec *s = &(*sp)[i];
        s->id = PQgetvalue(*rs, i, 0);
        /* PostgreSQL's to_json wrote these: only memory can fail here. */
        s->languages = json_loads(PQgetvalue(*rs, i, 1), 0, NULL);
        s->skills = json_loads(PQgetvalue(*rs, i, 2), 0, NULL);
        s->capacity = atol(PQgetvalue(*rs, i, 3));
        s->load = atol(PQgetvalue(*rs, i, 4));
        if (!s->languages || !s->skills)
            return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    return VG_OK;
}

/* The specialist for a task nobody owns: speaks its language (an unknown
 * one is no reason to leave a task), has every skill it needs, is under
 * capacity, with the lowest load/capacity; -1 when none. *speak and *able
 * count who speaks the language and who also has the skills, for the
 * reason a task is left. */
static int pick_specialist(const spec *sp, int ns, const char *lang,
                           json_t *skills, int *speak, int *able)
{
    int best = -1;
    *speak = *able = 0;
    for (int i = 0; i < ns; i++) {
        if (*lang && !json_has(sp[i].languages, lang, 1))
            continue;
        (*speak)++;
        size_t k;
        json_t *e;
        int covers = 1;
        json_array_foreach(skills, k, e) covers &=
            json_has(sp[i].skills, json_string_value(e), 0);
        if (!covers)
            continue;
        (*able)++;
        if (sp[i].load >= sp[i].capacity)
            continue;
        /* compared as cross products (exact); equal ratios keep the earlier
         * specialist_id */
        if (best < 0 ||
            sp[i].load * sp[best].capacity < sp[best].load * sp[i].capacity)
            best = i;
    }
    return best;
}

/* Why a task was left, in words for the queue's reader. */
static void why_left(char *why, size_t cap, int ns, int speak, int able,
                     const char *lang, json_t *skills)
{
    char *sk = json_dumps(skills, JSON_COMPACT);
    if (ns == 0)
        snprintf(why, cap, "no active specialist");
    else if (speak == 0)
        snprintf(why, cap, "no active specialist speaks '%s'", lang);
    else if (able == 0)
        snprintf(why, cap, "no active specialist%s%s%s has the skills %s",
                 *lang ? " speaking '" : "", lang, *lang ? "'" : "",
                 sk ? sk : "?");
    else
        snprintf(why, cap,
                 "all %d specialists who could take it (language "
                 "'%s', skills %s) are at their daily capacity",
                 able, *lang ? lang : "any", sk ? sk : "?");
    free(sk);
    utf8_cut_invalid(why); /* the language may have been cut */
}

/* Open task `t` of rt (see outreach_assign's query) goes to `done` with its
 * specialist, or to `left` with the reason. */
static vg_code assign_task(spec *sp, int ns, json_t *owners, PGresult *rt,
                           int t, json_t *done, json_t *left, long *assigned,
                           long *unassigned, vg_error *err)
{
    const char *id = PQgetvalue(rt, t, 0), *lang = PQgetvalue(rt, t, 1);
    const char *cust = PQgetvalue(rt, t, 3);
    json_t *skills = json_loads(PQgetvalue(rt, t, 2), 0, NULL);
    if (!skills) /* a jsonb value's text: only memory can fail */
        return vg_fail(err, VG_ENOMEM, "out of memory");
    int pushed, speak = 0, able = 0, best;
    int owner = owner_of(sp, ns, owners, cust, PQgetvalue(rt, t, 4), lang);
    if (owner >= 0) {
        /* One person per customer: their other tasks join the same
         * conversation and do not count against capacity. */
        pushed = json_array_append_new(
            done,
            json_pack("{s:s, s:s, s:I, s:I, s:s}", "task_id", id, "assignee",
                      sp[owner].id, "load_before", (json_int_t)sp[owner].load,
                      "capacity", (json_int_t)sp[owner].capacity, "rule",
                      "the customer's other tasks are theirs"));
        (*assigned)++;
    } else if ((best = pick_specialist(sp, ns, lang, skills, &speak, &able)) >=
               0) {
        pushed = json_array_append_new(
            done,
            json_pack("{s:s, s:s, s:I, s:I}", "task_id", id, "assignee",
                      sp[best].id, "load_before", (json_int_t)sp[best].load,
                      "capacity", (json_int_t)sp[best].capacity));
        sp[best].load++;
        (*assigned)++;
        if (json_object_set_new(owners, cust, json_integer(best)) != 0)
            pushed = -1;
    } else {
        char why[512];
        why_left(why, sizeof why, ns, speak, able, lang, skills);
        pushed = json_array_append_new(
            left, json_pack("{s:s, s:s}", "task_id", id, "why", why));
        (*unassigned)++;
    }
    json_decref(skills);
    return pushed == 0 ? VG_OK : vg_fail(err, VG_ENOMEM, "out of memory");
}

/* The run's decisions into the tasks: `done` assigned (with the rule that
 * chose), `left` open with why (written only when it changed). */
static vg_code write_assignments(db_conn *db, json_t *done, json_t *left,
                                 const char *stamp, vg_error *err)
{
    char *done_s = json_dumps(done, JSON_COMPACT);
    char *left_s = json_dumps(left, JSON_COMPACT);
    vg_code rc = VG_OK;
    if (!done_s || !left_s) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    const char *p1[2] = {done_s, stamp};
    rc = db_exec(
        db,
        "UPDATE vigil.outreach_tasks t SET status = 'assigned', assignee = "
        " x.assignee, assigned_at = $2::timestamptz, updated_at = now(), "
        " reason = (coalesce(t.reason, '{}') - 'unassigned') || "
        " jsonb_build_object('assignment', jsonb_build_object('specialist', "
        " x.assignee, 'load_before', x.load_before, 'capacity', x.capacity, "
        " 'rule', coalesce(x.rule, 'language and skills match, lowest "
        "load/capacity, then specialist_id'))) "
        "FROM json_to_recordset($1::json) AS x(task_id bigint, assignee text, "
        " load_before int, capacity int, rule text) "
        "WHERE t.task_id = x.task_id AND t.status = 'open'",
        2, p1, NULL, err);
    const char *p2[1] = {left_s};
    if (rc == VG_OK)
        rc = db_exec(db,
                     "UPDATE vigil.outreach_tasks t SET reason = "
                     " coalesce(t.reason, '{}') || jsonb_build_object("
                     " 'unassigned', x.why) "
                     "FROM json_to_recordset($1::json) AS x(task_id bigint, "
                     " why text) "
                     "WHERE t.task_id = x.task_id AND t.status = 'open' AND "
                     " t.reason->>'unassigned' IS DISTINCT FROM x.why",
                     1, p2, NULL, err);
cleanup:
    free(done_s);
    free(left_s);
    return rc;
}

vg_code outreach_assign(db_conn *db, const char *stamp, long *assigned,
                        long *unassigned, vg_error *err)
{
    PGresult *rs = NULL, *rt = NULL;
    spec *sp = NULL;
    int ns = 0;
    json_t *done = json_array(), *left = json_array();
    json_t *owners = json_object(); /* customer_id -> specialist index */
    *assigned = *unassigned = 0;
    vg_code rc = done && left && owners
                     ? load_specialists(db, &rs, &sp, &ns, err)
                     : vg_fail(err, VG_ENOMEM, "out of memory");
    /* The customer's owner: whoever already holds one of their tasks (the
     * earliest assigned). Joined once, not looked up per open task: with
     * no index on customer_id that lookup scanned the table for every
     * task, minutes at a million customers. */
    if (rc == VG_OK)
        rc = db_exec(db,
                     "SELECT t.task_id, coalesce(t.reason->'customer'->>"
                     "'language', ''), coalesce(t.reason->'skills', "
                     "'[]')::text, t.customer_id, coalesce(o.assignee, '') "
                     "FROM vigil.outreach_tasks t LEFT JOIN (SELECT DISTINCT "
                     " ON (a.customer_id) a.customer_id, a.assignee FROM "
                     " vigil.outreach_tasks a WHERE a.status = 'assigned' "
                     " ORDER BY a.customer_id, a.assigned_at, a.task_id) o "
                     " ON o.customer_id = t.customer_id "
                     "WHERE t.status = 'open' "
                     "ORDER BY t.priority DESC NULLS LAST, t.task_id",
                     0, NULL, &rt, err);
    for (int t = 0; rc == VG_OK && t < PQntuples(rt); t++)
        rc = assign_task(sp, ns, owners, rt, t, done, left, assigned,
                         unassigned, err);
    if (rc == VG_OK)
        rc = write_assignments(db, done, left, stamp, err);
    for (int i = 0; sp && i < ns; i++) {
        json_decref(sp[i].languages);
        json_decref(sp[i].skills);
    }
    free(sp);
    json_decref(done);
    json_decref(left);
    json_decref(owners);
    PQclear(rs);
    PQclear(rt);
    return rc;
}

/* ---- the run ---------------------------------------------------------------
 */

static vg_code auto_close(db_conn *db, const outreach_config *oc, const char *d,
                          const char *stamp, json_t *per, long *closed,
                          vg_error *err)
{
    json_t *names = json_array();
    int bad = !names;
    for (int i = 0; !bad && i < oc->nplaybooks; i++)
        bad = json_array_append_new(names,
                                    json_string(oc->playbooks[i].name)) != 0;
    char *ns = bad ? NULL : json_dumps(names, JSON_COMPACT);
    json_decref(names);
    if (!ns)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    const char *p[3] = {d, ns, stamp};
    PGresult *r = NULL;
    /* An unassigned open task of a configured playbook whose trigger did not
     * hold in this run (last_as_of < D). Tasks of playbooks no longer
     * configured are left to people. */
    vg_code rc = db_exec(
        db,
        "WITH c AS (UPDATE vigil.outreach_tasks SET status = 'dismissed', "
        " outcome = '" AUTO_CLOSED "', closed_at = $3::timestamptz, "
        " updated_at = now() "
        " WHERE status = 'open' AND assignee IS NULL AND last_as_of < "
        " $1::date AND playbook IN (SELECT jsonb_array_elements_text("
        " $2::jsonb)) RETURNING playbook) "
        "SELECT playbook, count(*) FROM c GROUP BY playbook",
        3, p, &r, err);
    free(ns);
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++) {
        json_t *o = json_object_get(per, PQgetvalue(r, i, 0));
        long k = atol(PQgetvalue(r, i, 1));
        *closed += k;
        if (o && json_object_set_new(o, "auto_closed", json_integer(k)) != 0)
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
    }
    PQclear(r);
    return rc;
}

/* What one run did, for its summary and its log line. */
typedef struct run_tally {
    long created, updated, cooling, closed, assigned, unassigned, queued, open;
} run_tally;

/* One run at a time: a second run waits, then sees the first's tasks; the
 * unique index would stop duplicates anyway, the lock keeps the assignment's
 * load counts exact. UTC makes every ::date cut at 00:00 UTC, as the
 * contract's as-of rule says. created_at (stamp): the run's time when it
 * runs for today, else the as-of date's midnight (a replay reproduces
 * history). */
static vg_code lock_and_stamp(db_conn *db, const char *d, char *stamp, size_t n,
                              vg_error *err)
{
    const char *p[1] = {d};
    PGresult *r = NULL;
    vg_code rc = db_run(db,
                        "SELECT pg_advisory_xact_lock(" OUTREACH_LOCK_KEY
                        "); SET LOCAL TimeZone = 'UTC'",
                        err);
    if (rc == VG_OK)
        rc = db_exec(db,
                     "SELECT CASE WHEN $1::date = (now() AT TIME ZONE "
                     "'UTC')::date THEN now() ELSE $1::date::timestamptz END",
                     1, p, &r, err);
    if (rc == VG_OK)
        snprintf(stamp, n, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Every playbook in turn; per playbook its counts go into per. */
static vg_code run_playbooks(db_conn *db, const vg_config *cfg,
                             const outreach_config *oc, const vg_log *lg,
                             const char *d, const char *stamp, json_t *per,
                             run_tally *t, vg_error *err)
{
    for (int i = 0; i < oc->nplaybooks; i++) {
        long c[3] = {0, 0, 0};
        const outreach_playbook *pb = &oc->playbooks[i];
        vg_code rc = run_playbook(db, cfg, pb, d, stamp, c, err);
        if (rc != VG_OK)
            return rc;
        t->created += c[0];
        t->updated += c[1];
        t->cooling += c[2];
        if (json_object_set_new(
                per, pb->name,
                json_pack("{s:s, s:I, s:I, s:I, s:I}", "trigger",
                          outreach_trigger_name(pb->trigger), "created",
                          (json_int_t)c[0], "updated", (json_int_t)c[1],
                          "cooldown", (json_int_t)c[2], "auto_closed",
                          (json_int_t)0)) != 0)
            return vg_fail(err, VG_ENOMEM, "out of memory");
        log_debug(lg, "playbook %s: %ld created, %ld updated, %ld cooling",
                  pb->name, c[0], c[1], c[2]);
    }
    return VG_OK;
}

static vg_code count_open(db_conn *db, long *open, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                         "status IN ('open', 'assigned')",
                         0, NULL, &r, err);
    if (rc == VG_OK)
        *open = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

static json_t *run_summary(const outreach_config *oc, const char *d,
                           const char *score_as_of, const run_tally *t,
                           json_t *per)
{
    return json_pack(
        "{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:b}",
        "as_of", d, "score_as_of", *score_as_of ? score_as_of : NULL, "created",
        (json_int_t)t->created, "updated", (json_int_t)t->updated,
        "skipped_duplicates", (json_int_t)t->updated, "cooldown",
        (json_int_t)t->cooling, "auto_closed", (json_int_t)t->closed,
        "assigned", (json_int_t)t->assigned, "unassigned",
        (json_int_t)t->unassigned, "open", (json_int_t)t->open,
        "deliveries_queued", (json_int_t)t->queued, "playbooks", per,
        "default_playbooks", oc->defaulted);
}

vg_code outreach_run(db_conn *db, const vg_config *cfg,
                     const outreach_config *oc, const deliver_config *dc,
                     const vg_log *lg, int as_of, json_t **summary,
                     vg_error *err)
{
    char d[DATE_BUF], score_as_of[DATE_BUF + 4] = "", stamp[64] = "";
    run_tally t = {0, 0, 0, 0, 0, 0, 0, 0};
    date_format(as_of, d);
    json_t *per = json_object();
    if (!per)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    vg_code rc = outreach_check_columns(db, cfg, oc, err);
    if (rc == VG_OK)
        rc = db_begin(db, err);
    if (rc != VG_OK)
        goto cleanup;
    rc = lock_and_stamp(db, d, stamp, sizeof stamp, err);
    if (rc == VG_OK)
        rc = make_base(db, cfg, d, score_as_of, sizeof score_as_of, err);
    if (rc == VG_OK && strcmp(score_as_of, d) != 0)
        log_warn(lg,
                 "no scores for %s (latest: %s): tier and health triggers "
                 "only refresh open tasks; run `vigil score --as-of %s` first",
                 d, *score_as_of ? score_as_of : "none", d);
    if (rc == VG_OK)
        rc = run_playbooks(db, cfg, oc, lg, d, stamp, per, &t, err);
    if (rc == VG_OK)
        rc = auto_close(db, oc, d, stamp, per, &t.closed, err);
    if (rc == VG_OK)
        rc = outreach_assign(db, stamp, &t.assigned, &t.unassigned, err);
    if (rc == VG_OK)
        rc = deliver_enqueue(db, dc, &t.queued, err);
    if (rc == VG_OK)
        rc = count_open(db, &t.open, err);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    if (rc != VG_OK) {
        db_rollback(db);
        goto cleanup;
    }
    *summary = run_summary(oc, d, score_as_of, &t, per);
    if (!*summary) {
        /* The tasks are committed; only the report of them is lost. */
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    log_info(lg,
             "outreach %s: %ld created, %ld refreshed, %ld in cooldown, %ld "
             "auto-closed, %ld assigned, %ld left unassigned, %ld open",
             d, t.created, t.updated, t.cooling, t.closed, t.assigned,
             t.unassigned, t.open);
cleanup:
    json_decref(per);
    return rc;
}
