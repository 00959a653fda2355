/* tasks.c — task lifecycle statements. Each transition is a single UPDATE
 * guarded by the current status; zero rows means someone else got there
 * first, and the message says what the task is now. */
#include "outreach/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

static const char *const outcomes[] = {"saved",      "churned",  "no_answer",
                                       "not_needed", "declined", "other"};

const char *tasks_outcomes(void)
{
    return "saved churned no_answer not_needed declined other";
}

int tasks_outcome_valid(const char *o)
{
    for (size_t i = 0; o && i < sizeof outcomes / sizeof outcomes[0]; i++)
        if (strcmp(o, outcomes[i]) == 0)
            return 1;
    return 0;
}

#define TASK_JSON                                                              \
    "json_build_object('task_id', t.task_id, 'customer_id', t.customer_id, "   \
    "'customer_name', t.reason->'customer'->>'name', 'playbook', t.playbook, " \
    "'status', t.status, 'assignee', t.assignee, 'priority', t.priority, "     \
    "'title', t.title, 'summary', t.reason->>'summary', 'created_at', "        \
    "t.created_at, 'due_at', t.due_at, 'outcome', t.outcome, "                 \
    "'outcome_note', t.outcome_note, 'closed_at', t.closed_at, "               \
    "'unassigned', t.reason->>'unassigned', 'rt_ticket_id', t.rt_ticket_id, "  \
    "'mrr', t.mrr, 'churn_risk', t.churn_risk, 'language', "                   \
    "t.reason->'customer'->>'language', 'customer_active_tasks', "             \
    "(SELECT count(*) FROM vigil.outreach_tasks o WHERE o.customer_id = "      \
    "t.customer_id AND o.status IN ('open', 'assigned')))::text"

/* The first value of a one-row, one-column result parsed as JSON. */
static json_t *row_json(PGresult *r)
{
    if (!r || PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
        return NULL;
    return json_loads(PQgetvalue(r, 0, 0), 0, NULL);
}

/* The filter of tasks_list and tasks_count: $1 status, $2 assignee,
 * $3 playbook, $4 customer, $5 made on or before this date. */
#define TASK_WHERE                                                             \
    " WHERE (CASE WHEN $1 = 'active' THEN t.status IN ('open', 'assigned') "   \
    "  WHEN $1 = 'all' THEN true ELSE t.status = $1 END) "                     \
    "  AND ($2::text IS NULL OR t.assignee = $2) "                             \
    "  AND ($3::text IS NULL OR t.playbook = $3) "                             \
    "  AND ($4::text IS NULL OR t.customer_id = $4) "                          \
    "  AND ($5::date IS NULL OR coalesce(t.as_of, t.created_at::date) <= "     \
    "   $5::date) "

vg_code tasks_list(db_conn *db, const tasks_filter *f, json_t **out,
                   vg_error *err)
{
    const char *st = f->status ? f->status : "active";
    const db_param p[6] = {
        DB_TEXT(st),          DB_TEXT(f->assignee),
        DB_TEXT(f->playbook), DB_TEXT(f->customer),
        DB_TEXT(f->made_by),  DB_INT(f->limit > 0 ? f->limit : 100)};
    PGresult *r = NULL;
    *out = NULL;
    /* Closed tasks (status all) come newest first: a history reads so. */
    vg_code rc = db_exec_params(
        db,
        "SELECT coalesce(json_agg(x.j::json ORDER BY x.rk), '[]')::text "
        "FROM (SELECT " TASK_JSON " AS j, row_number() OVER (ORDER BY "
        " CASE WHEN $1 = 'all' THEN t.created_at END DESC, t.priority DESC "
        " NULLS LAST, t.task_id) AS rk FROM vigil.outreach_tasks t " TASK_WHERE
        " ORDER BY rk LIMIT $6::int) x",
        6, p, &r, err);
    if (rc == VG_OK)
        *out = row_json(r);
    PQclear(r);
    if (rc == VG_OK && !*out)
        rc = vg_fail(err, VG_EINTERNAL, "tasks list: unreadable result");
    return rc;
}

vg_code tasks_count(db_conn *db, const tasks_filter *f, long *total,
                    vg_error *err)
{
    const char *st = f->status ? f->status : "active";
    const char *p[5] = {st, f->assignee, f->playbook, f->customer, f->made_by};
    PGresult *r = NULL;
    vg_code rc =
        db_exec(db, "SELECT count(*) FROM vigil.outreach_tasks t " TASK_WHERE,
                5, p, &r, err);
    *total = rc == VG_OK ? atol(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return rc;
}

vg_code tasks_show(db_conn *db, long long task_id, json_t **task, vg_error *err)
{
    const db_param p[1] = {DB_INT(task_id)};
    PGresult *r = NULL;
    *task = NULL;
    /* the task, its whole reason and body, and the customer's other active
     * tasks (one specialist works them together) */
    vg_code rc = db_exec_params(
        db,
        "SELECT (" TASK_JSON "::jsonb || jsonb_build_object('body', t.body, "
        " 'reason', t.reason, 'as_of', t.as_of, 'last_as_of', t.last_as_of, "
        " 'assigned_at', t.assigned_at, 'other_active_tasks', (SELECT "
        " coalesce(jsonb_agg(jsonb_build_object('task_id', o.task_id, "
        " 'playbook', o.playbook, 'status', o.status, 'assignee', o.assignee, "
        " 'summary', o.reason->>'summary') ORDER BY o.priority DESC NULLS "
        " LAST, o.task_id), '[]') FROM vigil.outreach_tasks o WHERE "
        " o.customer_id = t.customer_id AND o.task_id <> t.task_id AND "
        " o.status IN ('open', 'assigned'))))::text "
        "FROM vigil.outreach_tasks t WHERE t.task_id = $1::bigint",
        1, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "no task %lld: see `vigil tasks list --status all`",
                     task_id);
    else if (rc == VG_OK && !(*task = row_json(r)))
        rc = vg_fail(err, VG_EINTERNAL, "tasks show: unreadable result");
    PQclear(r);
    return rc;
}

/* After a guarded UPDATE changed nothing: say why. */
static vg_code explain(db_conn *db, long long task_id, const char *verb,
                       vg_error *err)
{
    const db_param p[1] = {DB_INT(task_id)};
    PGresult *r = NULL;
    vg_code rc =
        db_exec_params(db,
                       "SELECT status, coalesce(assignee, ''), "
                       "coalesce(outcome, '') FROM vigil.outreach_tasks "
                       "WHERE task_id = $1::bigint",
                       1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (PQntuples(r) == 0)
        rc = vg_fail(err, VG_EUSAGE, "no task %lld", task_id);
    else if (*PQgetvalue(r, 0, 2))
        rc = vg_fail(err, VG_EUSAGE,
                     "cannot %s task %lld: it is already %s (outcome: %s)",
                     verb, task_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 2));
    else
        rc = vg_fail(err, VG_EUSAGE,
                     "cannot %s task %lld: it is %s to %s (use --force to "
                     "take it over)",
                     verb, task_id, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
    PQclear(r);
    return rc;
}

/* A claim across languages is allowed (the specialist may know better)
 * but said: task.warning names the customer's language and the
 * specialist's. */
static vg_code language_warning(db_conn *db, long long task_id,
                                const char *specialist, json_t *task,
                                vg_error *err)
{
    const db_param p[2] = {DB_INT(task_id), DB_TEXT(specialist)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        db,
        "SELECT t.reason->'customer'->>'language', array_to_string("
        " s.languages, ', ') FROM vigil.outreach_tasks t, vigil.specialists s "
        "WHERE t.task_id = $1::bigint AND s.specialist_id = $2 AND "
        " coalesce(t.reason->'customer'->>'language', '') <> '' AND NOT "
        " lower(t.reason->'customer'->>'language') = ANY (SELECT lower(l) "
        " FROM unnest(s.languages) l)",
        2, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 1) {
        char w[512];
        snprintf(w, sizeof w,
                 "the customer's language is '%s'; %s speaks %s — claim kept, "
                 "hand it over with `vigil tasks claim %lld --specialist ID "
                 "--force` if needed",
                 PQgetvalue(r, 0, 0), specialist,
                 *PQgetvalue(r, 0, 1) ? PQgetvalue(r, 0, 1)
                                      : "no language "
                                        "on record",
                 task_id);
        json_object_set_new(task, "warning", json_string(w));
    }
    PQclear(r);
    return rc;
}

vg_code tasks_claim(db_conn *db, long long task_id, const char *specialist,
                    int force, json_t **task, vg_error *err)
{
    const db_param p[3] = {DB_INT(task_id), DB_TEXT(specialist),
                           DB_TEXT(force ? "t" : "f")};
    PGresult *r = NULL;
    vg_code rc =
        db_exec_params(db,
                       "SELECT 1 FROM vigil.specialists WHERE specialist_id "
                       "= $1 AND active",
                       1, p + 1, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "no active specialist '%s' in vigil.specialists",
                     specialist);
    PQclear(r);
    r = NULL;
    if (rc == VG_OK)
        rc = db_exec_params(
            db,
            "UPDATE vigil.outreach_tasks t SET status = 'assigned', assignee "
            " = $2, assigned_at = now(), updated_at = now(), reason = "
            " (coalesce(reason, '{}') - 'unassigned') || jsonb_build_object("
            " 'assignment', jsonb_build_object('specialist', $2::text, "
            " 'rule', 'claimed')) "
            "WHERE task_id = $1::bigint AND (status = 'open' OR (status = "
            " 'assigned' AND (assignee = $2 OR $3::boolean))) "
            "RETURNING " TASK_JSON,
            3, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = explain(db, task_id, "claim", err);
    if (rc == VG_OK && task)
        *task = row_json(r);
    PQclear(r);
    if (rc == VG_OK && task && *task)
        rc = language_warning(db, task_id, specialist, *task, err);
    return rc;
}

vg_code tasks_close(db_conn *db, long long task_id, const char *status,
                    const char *outcome, const char *note, const char *at,
                    json_t **task, vg_error *err)
{
    if (strcmp(status, "done") && strcmp(status, "dismissed"))
        return vg_fail(err, VG_EUSAGE, "a task closes as done or dismissed");
    if (!tasks_outcome_valid(outcome))
        return vg_fail(err, VG_EUSAGE, "outcome '%s' is not one of: %s",
                       outcome ? outcome : "", tasks_outcomes());
    const db_param p[5] = {DB_INT(task_id), DB_TEXT(status), DB_TEXT(outcome),
                           DB_TEXT(note), DB_TEXT(at)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        db,
        "UPDATE vigil.outreach_tasks t SET status = $2, outcome = $3, "
        " outcome_note = $4, closed_at = coalesce($5::timestamptz, now()), "
        " updated_at = now() "
        "WHERE task_id = $1::bigint AND status IN ('open', 'assigned') "
        "RETURNING " TASK_JSON,
        5, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = explain(db, task_id, strcmp(status, "done") ? "dismiss" : "close",
                     err);
    if (rc == VG_OK && task)
        *task = row_json(r);
    PQclear(r);
    return rc;
}

vg_code tasks_report(db_conn *db, const vg_config *cfg, int as_of, json_t **out,
                     vg_error *err)
{
    PGresult *r = NULL;
    *out = NULL;
    char d[DATE_BUF];
    date_format(as_of, d);
    char *cust = db_qualify(db, cfg->source_schema, "customers");
    size_t n = 4096 + (cust ? strlen(cust) : 0);
    char *sql = malloc(n);
    vg_code rc = VG_OK;
    if (!cust || !sql) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    /* "saved" as claimed by a specialist, and as it turned out: confirmed
     * when the customer was still a customer a horizon after the task
     * closed, lost when they canceled before that, pending until then. */
    snprintf(
        sql, n,
        "SELECT coalesce(json_object_agg(playbook, j ORDER BY playbook), "
        "'{}')::text FROM (SELECT playbook, json_build_object("
        " 'tasks', count(*), "
        " 'open', count(*) FILTER (WHERE status = 'open'), "
        " 'assigned', count(*) FILTER (WHERE status = 'assigned'), "
        " 'done', count(*) FILTER (WHERE status = 'done'), "
        " 'dismissed', count(*) FILTER (WHERE status = 'dismissed' AND "
        "  outcome NOT LIKE 'auto\\_closed%%'), "
        " 'auto_closed', count(*) FILTER (WHERE outcome LIKE "
        "'auto\\_closed%%'), "
        " 'outcomes', (SELECT coalesce(json_object_agg(o, n), '{}') FROM "
        "  (SELECT outcome o, count(*) n FROM vigil.outreach_tasks x WHERE "
        "  x.playbook = t.playbook AND x.outcome IS NOT NULL AND x.outcome "
        "  NOT LIKE 'auto\\_closed%%' GROUP BY outcome) y), "
        " 'mrr_saved', coalesce(sum(mrr) FILTER (WHERE saved), 0), "
        " 'mrr_churned', coalesce(sum(mrr) FILTER (WHERE outcome = "
        "'churned'), 0), "
        " 'save_rate', round(count(*) FILTER (WHERE saved)::numeric / "
        "  nullif(count(*) FILTER (WHERE outcome IN ('saved', 'churned')), "
        "  0), 3), "
        " 'saved_claimed', count(*) FILTER (WHERE saved), "
        " 'saved_confirmed', count(*) FILTER (WHERE saved AND confirmed), "
        " 'saved_lost', count(*) FILTER (WHERE saved AND lost), "
        " 'saved_pending', count(*) FILTER (WHERE saved AND NOT confirmed "
        "  AND NOT lost), "
        " 'mrr_saved_confirmed', coalesce(sum(mrr) FILTER (WHERE saved AND "
        "  confirmed), 0), "
        " 'mrr_saved_lost', coalesce(sum(mrr) FILTER (WHERE saved AND lost), "
        "  0), "
        " 'mrr_saved_pending', coalesce(sum(mrr) FILTER (WHERE saved AND NOT "
        "  confirmed AND NOT lost), 0)) AS j "
        "FROM (SELECT t.*, t.outcome = 'saved' AS saved, "
        "  (c.canceled_at IS NULL OR c.canceled_at >= t.closed_at + "
        "   make_interval(days => $2::int)) AND t.closed_at + "
        "   make_interval(days => $2::int) <= $1::date AS confirmed, "
        "  coalesce(c.canceled_at < least(t.closed_at + make_interval(days "
        "   => $2::int), $1::date) AND c.canceled_at >= t.created_at, "
        "   false) AS lost "
        " FROM vigil.outreach_tasks t LEFT JOIN LATERAL (SELECT "
        "  c.canceled_at::timestamptz AS canceled_at FROM %s c WHERE "
        "  c.customer_id::text = t.customer_id LIMIT 1) c ON true) t "
        "GROUP BY playbook) z",
        cust);
    const db_param p[2] = {DB_TEXT(d), DB_INT(cfg->train_horizon_days)};
    rc = db_exec_params(db, sql, 2, p, &r, err);
    if (rc == VG_OK)
        *out = row_json(r);
    if (rc == VG_OK && !*out)
        rc = vg_fail(err, VG_EINTERNAL, "tasks report: unreadable result");
cleanup:
    PQclear(r);
    free(sql);
    free(cust);
    return rc;
}
