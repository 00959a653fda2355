/* outbox.c — queueing deliveries in SQL and sending them one row per
 * transaction: a crash between the POST and the commit re-sends the same
 * idempotency key, which the receiver (or RT's custom-field search) absorbs. */
#include "deliver/outbox.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deliver/http.h"
#include "deliver/rt.h"

static void targets_json(const deliver_config *dc, char *out, size_t n)
{
    snprintf(out, n, "[%s%s%s]", dc->webhook_url[0] ? "\"webhook\"" : "",
             dc->webhook_url[0] && dc->rt_url[0] ? "," : "",
             dc->rt_url[0] ? "\"rt\"" : "");
}

/* A target seen for the first time records the newest task and alert it
 * will not get: the backlog stays in vigil (tasks inserted by this very
 * transaction, an outreach run's, are new and do go). $1: the targets. */
static const char cutoff_sql[] =
    "WITH x AS (SELECT pg_current_xact_id()::text::bigint % 4294967296 "
    " AS me) "
    "INSERT INTO vigil.delivery_targets (target, task_cutoff, "
    " alert_cutoff) "
    "SELECT tg, (SELECT coalesce(max(task_id), 0) FROM "
    "  vigil.outreach_tasks, x WHERE xmin::text::bigint <> x.me), "
    " (SELECT coalesce(max(alert_id), 0) FROM vigil.trend_alerts, x "
    "  WHERE xmin::text::bigint <> x.me) "
    "FROM jsonb_array_elements_text($1::jsonb) tg "
    "ON CONFLICT (target) DO NOTHING";

/* Keys: vigil-task-ID (webhook), vigil-rt-task-ID (the RT ticket),
 * vigil-alert-ID (webhook), vigil-rt-close-ID (resolve the RT ticket of a
 * task closed in vigil). The payload is what the receiver gets. $1: the
 * targets, $2: whether alerts go to the webhook. */
static const char enqueue_sql[] =
    "WITH tg AS (SELECT jsonb_array_elements_text($1::jsonb) AS target), "
    "t AS (INSERT INTO vigil.deliveries (target, kind, ref_id, "
    " idempotency_key, payload) "
    " SELECT tg.target, 'task', t.task_id, CASE tg.target WHEN 'webhook' "
    "  THEN 'vigil-task-' ELSE 'vigil-rt-task-' END || t.task_id, "
    "  jsonb_build_object('event', 'task.created', 'idempotency_key', "
    "  CASE tg.target WHEN 'webhook' THEN 'vigil-task-' ELSE "
    "  'vigil-rt-task-' END || t.task_id, 'task', jsonb_build_object("
    "  'task_id', t.task_id, 'customer_id', t.customer_id, "
    "  'customer_name', t.reason->'customer'->>'name', 'playbook', "
    "  t.playbook, 'title', t.title, 'body', t.body, 'priority', "
    "  t.priority, 'created_at', t.created_at, 'due_at', t.due_at, "
    "  'assignee', t.assignee, 'status', t.status, 'reason', t.reason)) "
    " FROM vigil.outreach_tasks t CROSS JOIN tg "
    " JOIN vigil.delivery_targets dt ON dt.target = tg.target "
    " WHERE t.status IN ('open', 'assigned') AND t.task_id > "
    "  dt.task_cutoff "
    " ORDER BY t.task_id, tg.target "
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1), "
    "a AS (INSERT INTO vigil.deliveries (target, kind, ref_id, "
    " idempotency_key, payload) "
    " SELECT 'webhook', 'alert', a.alert_id, 'vigil-alert-' || "
    "a.alert_id, "
    "  jsonb_build_object('event', 'alert.opened', 'idempotency_key', "
    "  'vigil-alert-' || a.alert_id, 'alert', to_jsonb(a) || "
    "  jsonb_build_object('label', coalesce(to_jsonb(a)->>'label', "
    "  tp.label), 'terms', coalesce(to_jsonb(a)->'terms', "
    "  to_jsonb(tp.terms)))) "
    " FROM vigil.trend_alerts a LEFT JOIN vigil.topics tp ON tp.topic_id "
    "  = a.topic_id "
    " WHERE a.status = 'open' AND $2::boolean AND $1::jsonb ? 'webhook' "
    "  AND a.alert_id > (SELECT alert_cutoff FROM vigil.delivery_targets "
    "  WHERE target = 'webhook') "
    " ORDER BY a.alert_id "
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1), "
    "c AS (INSERT INTO vigil.deliveries (target, kind, ref_id, "
    " idempotency_key, payload) "
    " SELECT 'rt', 'task', t.task_id, 'vigil-rt-close-' || t.task_id, "
    "  jsonb_build_object('action', 'close', 'rt_ticket_id', "
    "  t.rt_ticket_id, 'status', CASE t.status WHEN 'done' THEN "
    "  'resolved' ELSE 'rejected' END) "
    " FROM vigil.outreach_tasks t "
    " WHERE t.status IN ('done', 'dismissed') AND t.rt_ticket_id IS NOT "
    "  NULL AND t.outcome_note IS DISTINCT FROM 'closed in Request "
    "Tracker' AND $1::jsonb ? 'rt' "
    " ORDER BY t.task_id "
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1) "
    "SELECT (SELECT count(*) FROM t) + (SELECT count(*) FROM a) + "
    " (SELECT count(*) FROM c)";

vg_code deliver_enqueue(db_conn *db, const deliver_config *dc, long *queued,
                        vg_error *err)
{
    char targets[64];
    PGresult *r = NULL;
    *queued = 0;
    targets_json(dc, targets, sizeof targets);
    const char *p[2] = {targets, dc->alerts ? "t" : "f"};
    vg_code rc = db_exec(db, cutoff_sql, 1, p, NULL, err);
    if (rc != VG_OK)
        return rc;
    rc = db_exec(db, enqueue_sql, 2, p, &r, err);
    if (rc == VG_OK)
        *queued = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* The Slack shape: one line of what, for whom, how urgent, then the body. */
static char *slack_body(json_t *payload)
{
    json_t *t = json_object_get(payload, "task"),
           *a = json_object_get(payload, "alert");
    char text[4096];
    if (t)
        snprintf(text, sizeof text,
                 "*%s* (task %lld, %s) priority %.0f, due %s, %s\n%s",
                 jstr(t, "title", "task"),
                 (long long)json_integer_value(json_object_get(t, "task_id")),
                 jstr(t, "playbook", "?"),
                 json_number_value(json_object_get(t, "priority")),
                 jstr(t, "due_at", "?"), jstr(t, "assignee", "unassigned"),
                 jstr(t, "body", ""));
    else
        snprintf(
            text, sizeof text,
            "*Trend alert %lld*: %s, %lld tickets (expected %.1f), %lld "
            "customers affected",
            (long long)json_integer_value(json_object_get(a, "alert_id")),
            jstr(a, "label", "a ticket topic"),
            (long long)json_integer_value(json_object_get(a, "observed")),
            json_number_value(json_object_get(a, "expected")),
            (long long)json_integer_value(json_object_get(a, "customers")));
    json_t *j = json_pack("{s:s}", "text", text);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

static vg_code send_webhook(const deliver_config *dc, const char *key,
                            const char *payload_s, deliver_attempt *a,
                            vg_error *err)
{
    memset(a, 0, sizeof *a);
    /* payload_s is a jsonb value's text: only memory can fail to load it */
    json_t *payload = json_loads(payload_s, 0, NULL);
    char *body = !payload            ? NULL
                 : dc->webhook_slack ? slack_body(payload)
                                     : strdup(payload_s);
    char hk[300], he[128];
    snprintf(hk, sizeof hk, "Idempotency-Key: %s", key);
    snprintf(he, sizeof he, "X-Vigil-Event: %s",
             jstr(payload, "event", "unknown"));
    const char *headers[] = {"Content-Type: application/json", hk, he, NULL};
    deliver_http_response r;
    memset(&r, 0, sizeof r);
    vg_code rc = VG_OK;
    if (!body) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    rc = deliver_http_request("POST", dc->webhook_url, headers, body, NULL,
                              dc->timeout_seconds, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    a->status = r.status;
    a->ok = r.status >= 200 && r.status < 300;
    if (!a->ok) {
        if (r.status == 0)
            snprintf(a->error, sizeof a->error, "%s", r.error);
        else
            snprintf(a->error, sizeof a->error, "HTTP %ld: %.200s", r.status,
                     r.body ? r.body : "");
    }
cleanup:
    deliver_http_response_free(&r);
    free(body);
    json_decref(payload);
    return rc;
}

static vg_code send_rt(const deliver_config *dc, long long ref_id,
                       const char *payload_s, deliver_attempt *a, vg_error *err)
{
    json_t *payload = json_loads(payload_s, 0, NULL);
    vg_code rc = VG_OK;
    if (!payload) /* a jsonb value's text: only memory can fail */
        return vg_fail(err, VG_ENOMEM, "out of memory");
    if (json_object_get(payload, "action")) {
        char id[32];
        snprintf(id, sizeof id, "%lld",
                 (long long)json_integer_value(
                     json_object_get(payload, "rt_ticket_id")));
        rc = deliver_rt_set_status(dc, id, jstr(payload, "status", "resolved"),
                                   a, err);
    } else {
        json_t *t = json_object_get(payload, "task");
        rc =
            deliver_rt_ensure_ticket(dc, ref_id, jstr(t, "title", "vigil task"),
                                     jstr(t, "body", ""), a, err);
    }
    json_decref(payload);
    return rc;
}

static void sleep_s(double s)
{
    if (s <= 0)
        return;
    struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
    nanosleep(&ts, NULL);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Record one attempt's result on the delivery row (and the task's RT ticket
 * id), in the transaction that holds the row lock. */
static vg_code record(db_conn *db, const char *id, const char *target,
                      const char *key, long long ref, int attempts, int give_up,
                      double delay, const deliver_attempt *a, vg_error *err)
{
    char dl[32];
    /* Whole milliseconds: the retry schedule needs no finer grain. */
    snprintf(dl, sizeof dl, "%.3f", delay);
    const db_param u[8] = {DB_TEXT(id),
                           DB_INT(attempts),
                           DB_TEXT(a->ok ? "t" : "f"),
                           DB_TEXT(give_up ? "t" : "f"),
                           DB_TEXT(dl),
                           a->status ? DB_INT(a->status) : DB_NULL,
                           DB_TEXT(a->ok ? NULL : a->error),
                           DB_TEXT(a->external_id[0] ? a->external_id : NULL)};
    vg_code rc = db_exec_params(
        db,
        "UPDATE vigil.deliveries SET attempts = $2::int, "
        " delivered_at = CASE WHEN $3::boolean THEN now() END, "
        " gave_up_at = CASE WHEN $4::boolean THEN now() END, "
        " next_attempt_at = now() + make_interval(secs => $5::double "
        "precision), last_status = $6::int, last_error = $7, "
        " external_id = coalesce($8, external_id) "
        "WHERE delivery_id = $1::bigint",
        8, u, NULL, err);
    if (rc == VG_OK && a->ok && a->external_id[0] &&
        strcmp(target, "rt") == 0 && strstr(key, "vigil-rt-task-") == key) {
        const db_param q[2] = {DB_INT(ref), DB_TEXT(a->external_id)};
        rc = db_exec_params(db,
                            "UPDATE vigil.outreach_tasks SET rt_ticket_id = "
                            "$2::bigint WHERE task_id = $1::bigint",
                            2, q, NULL, err);
    }
    return rc;
}

/* Counts a recorded attempt in the run's stats and says what became of it:
 * a give-up is a warning (someone must look), a retry only information. */
static void tally(const vg_log *lg, deliver_stats *st, const deliver_attempt *a,
                  int give_up, const char *key, int attempts, double delay)
{
    if (a->ok) {
        st->delivered++;
        log_debug(lg, "delivered %s (attempt %d)", key, attempts);
    } else if (give_up) {
        st->gave_up++;
        log_warn(lg, "gave up delivering %s after %d attempts: %s", key,
                 attempts, a->error);
    } else {
        st->retried++;
        log_info(lg, "delivery %s failed (attempt %d, retry in %.1f s): %s",
                 key, attempts, delay, a->error);
    }
}

/* One due row: lock, send, record. Sets *none when nothing was due. */
static vg_code deliver_one(db_conn *db, const deliver_config *dc,
                           const vg_log *lg, const char *targets, int *none,
                           deliver_stats *st, vg_error *err)
{
    PGresult *r = NULL;
    deliver_attempt a;
    *none = 0;
    vg_code rc = db_begin(db, err);
    const char *p[1] = {targets};
    if (rc == VG_OK)
        rc = db_exec(db,
                     "SELECT delivery_id, target, kind, ref_id, "
                     " idempotency_key, payload::text, attempts "
                     "FROM vigil.deliveries WHERE delivered_at IS NULL AND "
                     " gave_up_at IS NULL AND next_attempt_at <= now() AND "
                     " target IN (SELECT jsonb_array_elements_text($1::jsonb)) "
                     "ORDER BY next_attempt_at, delivery_id LIMIT 1 "
                     "FOR UPDATE SKIP LOCKED",
                     1, p, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    if (PQntuples(r) == 0) {
        *none = 1;
        rc = db_commit(db, err);
        goto cleanup;
    }
    const char *id = PQgetvalue(r, 0, 0), *target = PQgetvalue(r, 0, 1),
               *key = PQgetvalue(r, 0, 4), *payload = PQgetvalue(r, 0, 5);
    long long ref = atoll(PQgetvalue(r, 0, 3));
    int attempts = atoi(PQgetvalue(r, 0, 6)) + 1;
    if (strcmp(target, "webhook") == 0)
        rc = send_webhook(dc, key, payload, &a, err);
    else
        rc = send_rt(dc, ref, payload, &a, err);
    if (rc != VG_OK)
        goto cleanup;
    st->attempted++;
    /* 4xx other than 408/425/429 will not get better by waiting. */
    int give_up = !a.ok && (!deliver_http_retryable(a.status) ||
                            attempts >= dc->max_attempts);
    double delay = dc->backoff_seconds * pow(2.0, attempts - 1);
    if (delay > dc->max_backoff_seconds)
        delay = dc->max_backoff_seconds;
    rc = record(db, id, target, key, ref, attempts, give_up, delay, &a, err);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    if (rc != VG_OK)
        goto cleanup;
    tally(lg, st, &a, give_up, key, attempts, delay);
cleanup:
    if (rc != VG_OK)
        db_rollback(db);
    PQclear(r);
    return rc;
}

vg_code deliver_send(db_conn *db, const deliver_config *dc, const vg_log *lg,
                     long limit, double wait_s, deliver_stats *st,
                     vg_error *err)
{
    char targets[64];
    targets_json(dc, targets, sizeof targets);
    const char *p[1] = {targets};
    double t0 = mono_s();
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    for (;;) {
        int none = 0;
        if (limit > 0 && st->attempted >= limit)
            break;
        if ((rc = deliver_one(db, dc, lg, targets, &none, st, err)) != VG_OK)
            return rc;
        if (!none)
            continue;
        /* Nothing due now: wait for the next retry if asked to. */
        rc = db_exec(db,
                     "SELECT count(*), coalesce(extract(epoch FROM "
                     " min(next_attempt_at) - now()), 0) "
                     "FROM vigil.deliveries WHERE delivered_at IS NULL AND "
                     " gave_up_at IS NULL AND target IN (SELECT "
                     " jsonb_array_elements_text($1::jsonb))",
                     1, p, &r, err);
        if (rc != VG_OK)
            return rc;
        long pending = atol(PQgetvalue(r, 0, 0));
        double next = atof(PQgetvalue(r, 0, 1));
        PQclear(r);
        r = NULL;
        double left = wait_s - (mono_s() - t0);
        if (pending == 0 || wait_s <= 0 || next > left)
            break;
        sleep_s(next > 0.01 ? next : 0.01);
    }
    rc = db_exec(db,
                 "SELECT count(*) FROM vigil.deliveries WHERE delivered_at IS "
                 "NULL AND gave_up_at IS NULL",
                 0, NULL, &r, err);
    if (rc == VG_OK)
        st->pending = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

vg_code deliver_rt_sync(db_conn *db, const deliver_config *dc, const vg_log *lg,
                        deliver_stats *st, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT task_id, rt_ticket_id FROM "
                         "vigil.outreach_tasks WHERE rt_ticket_id IS NOT NULL "
                         "AND status IN ('open', 'assigned') ORDER BY task_id",
                         0, NULL, &r, err);
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++) {
        char status[64], outcome[128];
        deliver_attempt a;
        const char *task = PQgetvalue(r, i, 0), *ticket = PQgetvalue(r, i, 1);
        rc = deliver_rt_get_ticket(dc, ticket, status, sizeof status, outcome,
                                   sizeof outcome, &a, err);
        if (rc != VG_OK)
            break;
        st->rt_checked++;
        if (!a.ok) {
            log_warn(lg, "task %s: cannot read RT ticket %s: %s", task, ticket,
                     a.error);
            continue;
        }
        int done = strcmp(status, "resolved") == 0;
        int dismissed =
            strcmp(status, "rejected") == 0 || strcmp(status, "deleted") == 0;
        if (!done && !dismissed)
            continue;
        const char *p[3] = {task, done ? "done" : "dismissed",
                            outcome[0] ? outcome
                            : done     ? "resolved_in_rt"
                                       : "rejected_in_rt"};
        PGresult *u = NULL;
        /* Guarded by status: a task closed in vigil meanwhile stays so. */
        rc = db_exec(db,
                     "UPDATE vigil.outreach_tasks SET status = $2, outcome = "
                     " $3, outcome_note = 'closed in Request Tracker', "
                     " closed_at = now(), updated_at = now() "
                     "WHERE task_id = $1::bigint AND status IN ('open', "
                     "'assigned') RETURNING 1",
                     3, p, &u, err);
        if (rc == VG_OK && PQntuples(u) > 0) {
            if (done)
                st->rt_done++;
            else
                st->rt_dismissed++;
            log_info(lg, "task %s %s in RT (ticket %s): outcome %s", task,
                     status, ticket, p[2]);
        }
        PQclear(u);
    }
    PQclear(r);
    return rc;
}

vg_code deliver_retry_failed(db_conn *db, long *n, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(
        db,
        "WITH u AS (UPDATE vigil.deliveries SET gave_up_at = NULL, attempts = "
        "0, next_attempt_at = now() WHERE gave_up_at IS NOT NULL AND "
        "delivered_at IS NULL RETURNING 1) SELECT count(*) FROM u",
        0, NULL, &r, err);
    if (rc == VG_OK)
        *n = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}
