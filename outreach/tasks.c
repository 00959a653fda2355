/* tasks.c — task lifecycle statements. Each transition is a single UPDATE
 * guarded by the current status; zero rows means someone else got there
 * first, and the message says what the task is now. */
#include "outreach/tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "'mrr', t.mrr, 'churn_risk', t.churn_risk)::text"

/* The first value of a one-row, one-column result parsed as JSON. */
static json_t *row_json(PGresult *r)
{
    if (!r || PQntuples(r) == 0 || PQgetisnull(r, 0, 0))
        return NULL;
    return json_loads(PQgetvalue(r, 0, 0), 0, NULL);
}

vg_code tasks_list(db_conn *db, const tasks_filter *f, json_t **out,
                   vg_error *err)
{
    const char *st = f->status ? f->status : "active";
    const db_param p[5] = {DB_TEXT(st), DB_TEXT(f->assignee),
                           DB_TEXT(f->playbook), DB_TEXT(f->customer),
                           DB_INT(f->limit > 0 ? f->limit : 100)};
    PGresult *r = NULL;
    *out = NULL;
    vg_code rc = db_exec_params(
        db,
        "SELECT coalesce(json_agg(x.j::json ORDER BY x.priority DESC NULLS "
        " LAST, x.task_id), '[]')::text FROM (SELECT t.task_id, "
        "t.priority, " TASK_JSON " AS j FROM vigil.outreach_tasks t "
        " WHERE (CASE WHEN $1 = 'active' THEN t.status IN ('open', "
        "  'assigned') ELSE t.status = $1 END) "
        "  AND ($2::text IS NULL OR t.assignee = $2) "
        "  AND ($3::text IS NULL OR t.playbook = $3) "
        "  AND ($4::text IS NULL OR t.customer_id = $4) "
        " ORDER BY t.priority DESC NULLS LAST, t.task_id LIMIT $5::int) x",
        5, p, &r, err);
    if (rc == VG_OK)
        *out = row_json(r);
    PQclear(r);
    if (rc == VG_OK && !*out)
        rc = vg_fail(err, VG_EINTERNAL, "tasks list: unreadable result");
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

vg_code tasks_report(db_conn *db, json_t **out, vg_error *err)
{
    PGresult *r = NULL;
    *out = NULL;
    vg_code rc = db_exec(
        db,
        "SELECT coalesce(json_object_agg(playbook, j ORDER BY playbook), "
        "'{}')::text FROM (SELECT playbook, json_build_object("
        " 'tasks', count(*), "
        " 'open', count(*) FILTER (WHERE status = 'open'), "
        " 'assigned', count(*) FILTER (WHERE status = 'assigned'), "
        " 'done', count(*) FILTER (WHERE status = 'done'), "
        " 'dismissed', count(*) FILTER (WHERE status = 'dismissed' AND "
        "  outcome NOT LIKE 'auto\\_closed%'), "
        " 'auto_closed', count(*) FILTER (WHERE outcome LIKE "
        "'auto\\_closed%'), "
        " 'outcomes', (SELECT coalesce(json_object_agg(o, n), '{}') FROM "
        "  (SELECT outcome o, count(*) n FROM vigil.outreach_tasks x WHERE "
        "  x.playbook = t.playbook AND x.outcome IS NOT NULL AND x.outcome "
        "  NOT LIKE 'auto\\_closed%' GROUP BY outcome) y), "
        " 'mrr_saved', coalesce(sum(mrr) FILTER (WHERE outcome = 'saved'), "
        "0), "
        " 'mrr_churned', coalesce(sum(mrr) FILTER (WHERE outcome = "
        "'churned'), 0), "
        " 'save_rate', round(count(*) FILTER (WHERE outcome = "
        "'saved')::numeric / nullif(count(*) FILTER (WHERE outcome IN "
        "('saved', 'churned')), 0), 3)) AS j "
        "FROM vigil.outreach_tasks t GROUP BY playbook) z",
        0, NULL, &r, err);
    if (rc == VG_OK)
        *out = row_json(r);
    PQclear(r);
    if (rc == VG_OK && !*out)
        rc = vg_fail(err, VG_EINTERNAL, "tasks report: unreadable result");
    return rc;
}
