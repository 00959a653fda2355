/* routes.c — /healthz, /metrics, /alerts and /queue: read vigil's tables with
 * parameterised SQL and answer JSON (alerts as JSON Feed 1.1) or Prometheus
 * text. A database that is down degrades the answer instead of hanging it. */
#include "service/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "score/score.h"

#define ROUTES_TIMEOUT_MS "5000"

#define ISO_UTC(col)                                                           \
    "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

void routes_error(http_reply *out, int status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    out->status = status;
    out->type = "application/json";
    out->body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
}

static void reply_json(http_reply *out, int status, json_t *j)
{
    out->status = status;
    out->type = "application/json";
    out->body = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

/* The HTTP thread's connection, opened on demand. */
static db_conn *route_db(route_req *rq, vg_error *err)
{
    if (*rq->db && PQstatus(db_pg(*rq->db)) == CONNECTION_OK)
        return *rq->db;
    db_close(*rq->db);
    *rq->db = NULL;
    if (db_connect(rq->dsn, rq->db, err) != VG_OK)
        return NULL;
    /* A locked table costs a request at most this long. */
    const char *p[1] = {rq->app ? rq->app : "vigil/http"};
    if (db_exec(*rq->db,
                "SELECT set_config('statement_timeout', '" ROUTES_TIMEOUT_MS
                "', false), set_config('application_name', $1, false)",
                1, p, NULL, err) != VG_OK) {
        db_close(*rq->db);
        *rq->db = NULL;
        return NULL;
    }
    return *rq->db;
}

/* Run a query on the HTTP connection; a broken connection is dropped so the
 * next request reconnects. */
static vg_code route_query(route_req *rq, const char *sql, int n,
                           const db_param *p, PGresult **res, vg_error *err)
{
    db_conn *db = route_db(rq, err);
    if (!db)
        return err->code;
    vg_code rc = db_exec_params(db, sql, n, p, res, err);
    if (rc == VG_EDBDOWN) {
        db_close(*rq->db);
        *rq->db = NULL;
    }
    return rc;
}

/* A value of a JSON text column, parsed (NULL for SQL NULL or bad JSON). */
static json_t *col_json(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return NULL;
    return json_loads(PQgetvalue(r, row, col), 0, NULL);
}

static json_t *col_str(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null()
                                    : json_string(PQgetvalue(r, row, col));
}

/* ---- /healthz ---------------------------------------------------------- */

vg_code routes_ledger(route_req *rq, json_t **jobs, vg_error *err)
{
    *jobs = NULL;
    PGresult *r = NULL;
    vg_code rc = route_query(
        rq,
        "SELECT job, " ISO_UTC(
            "max(finished_at) FILTER (WHERE status = "
            "'ok')") ", "
                     " (array_agg(status ORDER BY run_id DESC))[1], "
                     " (array_agg(" ISO_UTC(
                         "scheduled_for") " ORDER BY run_id DESC))[1], "
                                          " (array_agg(error ORDER BY run_id "
                                          "DESC))[1] "
                                          "FROM vigil.job_runs GROUP BY job "
                                          "ORDER BY job",
        0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    json_t *o = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(o, PQgetvalue(r, i, 0),
                            json_pack("{s:o, s:{s:o, s:o, s:o}}",
                                      "last_success", col_str(r, i, 1),
                                      "last_run", "status", col_str(r, i, 2),
                                      "scheduled_for", col_str(r, i, 3),
                                      "error", col_str(r, i, 4)));
    PQclear(r);
    *jobs = o;
    return VG_OK;
}

/* From memory only: the scheduler's view and the refresher's last look at
 * the ledger, so a slow or locked database never delays it. */
void routes_healthz(route_req *rq, http_reply *out)
{
    json_t *jobs = json_object();
    if (rq->status)
        rq->status(rq->status_ctx, jobs);
    const json_t *h = rq->health;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(h, "jobs"), key, v)
    {
        json_t *j = json_object_get(jobs, key);
        if (!j) {
            j = json_object();
            json_object_set_new(jobs, key, j);
        }
        json_object_update(j, v);
    }
    const char *db = json_string_value(json_object_get(h, "database"));
    int ok = db && strcmp(db, "ok") == 0;
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *j = json_pack(
        "{s:s, s:s, s:s, s:O, s:o}", "status", ok ? "ok" : "degraded", "time",
        now, "database", db ? db : "not checked yet", "database_checked_at",
        json_object_get(h, "checked_at") ? json_object_get(h, "checked_at")
                                         : json_null(),
        "jobs", jobs);
    /* Unhealthy when the database is out of reach: nothing can run. */
    reply_json(out, ok ? 200 : 503, j);
    json_decref(j);
}

/* ---- /metrics ---------------------------------------------------------- */

/* Prometheus label values escape backslash, double quote and newline. */
static void put_label(FILE *f, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            fputs("\\\\", f);
        else if (*v == '"')
            fputs("\\\"", f);
        else if (*v == '\n')
            fputs("\\n", f);
        else
            fputc(*v, f);
    }
}

static void family(FILE *f, const char *name, const char *type,
                   const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per row: labels from columns 0..nlab-1, the value from column
 * nlab (NULL rows are skipped). */
static void samples(FILE *f, const char *name, PGresult *r, int nlab,
                    const char *const *labels)
{
    for (int i = 0; r && i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, nlab))
            continue;
        fputs(name, f);
        for (int k = 0; k < nlab; k++) {
            fprintf(f, "%s%s=\"", k ? "," : "{", labels[k]);
            put_label(f, PQgetvalue(r, i, k));
            fputc('"', f);
        }
        fprintf(f, "%s %s\n", nlab ? "}" : "", PQgetvalue(r, i, nlab));
    }
}

/* What /metrics exports: one query per family, its rows the samples (the
 * leading columns are the labels, the last the value). A table, so that a
 * new gauge is one entry. */
typedef struct metric_def {
    const char *name, *type, *help, *sql;
    int nlabels;
    const char *const *labels;
} metric_def;

static const char *const job_labels[] = {"job", "status"};
static const char *const tier_labels[] = {"tier"};

static const metric_def metric_defs[] = {
    {"vigil_job_runs_total", "counter",
     "runs (attempts) of each job in vigil.job_runs by status",
     "SELECT job, status, count(*) FROM vigil.job_runs "
     "GROUP BY 1, 2 ORDER BY 1, 2",
     2, job_labels},
    {"vigil_job_last_success_timestamp_seconds", "gauge",
     "when the job last finished successfully (Unix time)",
     "SELECT job, extract(epoch FROM max(finished_at))::float8 FROM "
     "vigil.job_runs WHERE status = 'ok' GROUP BY job ORDER BY job",
     1, job_labels},
    {"vigil_job_last_duration_seconds", "gauge",
     "duration of the job's most recently finished run",
     "SELECT job, extract(epoch FROM finished_at - started_at)::float8 "
     "FROM (SELECT DISTINCT ON (job) job, started_at, finished_at FROM "
     "vigil.job_runs WHERE finished_at IS NOT NULL "
     "ORDER BY job, finished_at DESC) x ORDER BY job",
     1, job_labels},
    {"vigil_job_running", "gauge", "runs of the job in progress (any instance)",
     "SELECT job, count(*) FILTER (WHERE status = 'running') FROM "
     "vigil.job_runs GROUP BY job ORDER BY job",
     1, job_labels},
    {"vigil_customers_by_tier", "gauge",
     "customers per risk tier in the latest scores",
     "SELECT t.tier, count(s.customer_id) FROM "
     "unnest(" SCORE_TIERS_SQL ") WITH ORDINALITY t(tier, k) "
     "CROSS JOIN (SELECT max(as_of) d FROM vigil.scores) m "
     "LEFT JOIN vigil.scores s ON s.as_of = m.d AND s.tier = t.tier "
     "GROUP BY t.k, t.tier ORDER BY t.k",
     1, tier_labels},
    {"vigil_scores_as_of_timestamp_seconds", "gauge",
     "as-of date of the latest scores (Unix time, midnight UTC)",
     "SELECT extract(epoch FROM max(as_of)::timestamp)::float8 FROM "
     "vigil.scores",
     0, NULL},
    {"vigil_outreach_tasks_open", "gauge", "outreach tasks open or assigned",
     "SELECT count(*) FROM vigil.outreach_tasks WHERE status IN "
     "('open', 'assigned')",
     0, NULL},
    {"vigil_trend_alerts_open", "gauge", "trend alerts open",
     "SELECT count(*) FROM vigil.trend_alerts WHERE status = 'open'", 0, NULL},
};
enum { NMETRICS = sizeof metric_defs / sizeof *metric_defs };

/* The exposition text; the database's families only when every query
 * answered (a scrape that half-worked would look like zeros). */
static void metrics_write(FILE *f, int ok, PGresult *const *r)
{
    family(f, "vigil_up", "gauge", "1 while the vigil service answers");
    fputs("vigil_up 1\n", f);
    family(f, "vigil_database_up", "gauge",
           "1 when the service could read the database for this scrape");
    fprintf(f, "vigil_database_up %d\n", ok);
    for (int i = 0; ok && i < NMETRICS; i++) {
        const metric_def *m = &metric_defs[i];
        family(f, m->name, m->type, m->help);
        samples(f, m->name, r[i], m->nlabels, m->labels);
    }
}

void routes_metrics(route_req *rq, http_reply *out)
{
    PGresult *r[NMETRICS] = {0};
    vg_error err;
    vg_error_clear(&err);
    vg_code rc = VG_OK;
    for (int i = 0; i < NMETRICS && rc == VG_OK; i++)
        rc = route_query(rq, metric_defs[i].sql, 0, NULL, &r[i], &err);
    if (rc != VG_OK)
        log_warn(rq->log, "/metrics: %s", err.msg);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        routes_error(out, 500, "out of memory");
        goto cleanup;
    }
    metrics_write(f, rc == VG_OK, r);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        routes_error(out, 500, "out of memory");
        goto cleanup;
    }
    out->status = 200;
    out->type = "text/plain; version=0.0.4; charset=utf-8";
    out->body = buf;
cleanup:
    for (int i = 0; i < NMETRICS; i++)
        PQclear(r[i]);
}

/* ---- /alerts ----------------------------------------------------------- */

int routes_parse_limit(const char *s, int *out)
{
    if (!s) {
        *out = 100;
        return 0;
    }
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 1 || v > 1000)
        return -1;
    *out = (int)v;
    return 0;
}

static const char *jstr(json_t *o, const char *k, const char *dflt)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : dflt;
}

/* One JSON Feed item from a trend_alerts row (as JSON, plus the topic). */
static json_t *alert_item(json_t *a)
{
    char id[32], title[512], text[1024];
    snprintf(id, sizeof id, "%lld",
             (long long)json_integer_value(json_object_get(a, "alert_id")));
    const char *label =
        jstr(a, "label", jstr(a, "topic_label", "unlabelled topic"));
    const char *kind = jstr(a, "kind", "trend");
    double expected = json_number_value(json_object_get(a, "expected"));
    long long observed =
        (long long)json_integer_value(json_object_get(a, "observed"));
    snprintf(title, sizeof title, "%s alert: %s", kind, label);
    snprintf(text, sizeof text,
             "%lld tickets about \"%s\" from %s to %s where %.1f were "
             "expected; %lld customers affected; status %s.",
             observed, label, jstr(a, "window_start", "?"),
             jstr(a, "window_end", "?"), expected,
             (long long)json_integer_value(json_object_get(a, "customers")),
             jstr(a, "status", "?"));
    json_t *item =
        json_pack("{s:s, s:s, s:s, s:s, s:[s, s]}", "id", id, "title", title,
                  "content_text", text, "date_published",
                  jstr(a, "detected_at_utc", "1970-01-01T00:00:00Z"), "tags",
                  jstr(a, "status", "open"), kind);
    /* updated_on (a date) exists once the topic engine's migration ran. */
    const char *upd = jstr(a, "updated_on", NULL);
    char mod[40];
    if (item && upd && strlen(upd) == 10) {
        snprintf(mod, sizeof mod, "%sT00:00:00Z", upd);
        json_object_set_new(item, "date_modified", json_string(mod));
    }
    json_object_del(a, "detected_at_utc");
    if (item)
        json_object_set(item, "_vigil", a); /* every column, as stored */
    return item;
}

void routes_alerts(route_req *rq, http_reply *out)
{
    const char *status = rq->arg(rq->conn, "status");
    const char *since = rq->arg(rq->conn, "since");
    int limit, day;
    if (status && strcmp(status, "open") && strcmp(status, "resolved")) {
        routes_error(out, 400, "status must be open or resolved");
        return;
    }
    if (since && date_parse(since, &day) != 0) {
        routes_error(out, 400, "since must be a date YYYY-MM-DD");
        return;
    }
    if (routes_parse_limit(rq->arg(rq->conn, "limit"), &limit) != 0) {
        routes_error(out, 400, "limit must be a whole number from 1 to 1000");
        return;
    }
    const db_param p[3] = {DB_TEXT(status), DB_TEXT(since), DB_INT(limit)};
    vg_error err;
    vg_error_clear(&err);
    PGresult *r = NULL;
    /* to_jsonb(a) keeps columns later migrations add (kind, label ...). */
    vg_code rc = route_query(
        rq,
        "SELECT to_jsonb(a) || jsonb_build_object('topic_label', t.label, "
        " 'topic_terms', t.terms, 'detected_at_utc', " ISO_UTC(
            "a.detected_at") ") "
                             "FROM vigil.trend_alerts a LEFT JOIN vigil.topics "
                             "t ON t.topic_id = a.topic_id "
                             "WHERE ($1::text IS NULL OR a.status = $1) AND "
                             "($2::date IS NULL OR a.detected_at >= $2::date) "
                             "ORDER BY a.detected_at DESC, a.alert_id DESC "
                             "LIMIT $3::int",
        3, p, &r, &err);
    if (rc != VG_OK) {
        log_warn(rq->log, "/alerts: %s", err.msg);
        routes_error(out, 503, err.msg);
        return;
    }
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *a = col_json(r, i, 0);
        json_t *item = a ? alert_item(a) : NULL;
        if (item)
            json_array_append_new(items, item);
        json_decref(a);
    }
    PQclear(r);
    json_t *feed = json_pack(
        "{s:s, s:s, s:s, s:o}", "version", "https://jsonfeed.org/version/1.1",
        "title", "vigil trend alerts", "description",
        "Ticket topics rising above their expected volume, newest first",
        "items", items);
    reply_json(out, 200, feed);
    out->type = "application/feed+json";
    json_decref(feed);
}

/* ---- /queue ------------------------------------------------------------ */

void routes_queue(route_req *rq, http_reply *out)
{
    const char *assignee = rq->arg(rq->conn, "assignee");
    const char *status = rq->arg(rq->conn, "status");
    int limit;
    if (status && strcmp(status, "open") && strcmp(status, "assigned")) {
        routes_error(out, 400, "status must be open or assigned");
        return;
    }
    if (routes_parse_limit(rq->arg(rq->conn, "limit"), &limit) != 0) {
        routes_error(out, 400, "limit must be a whole number from 1 to 1000");
        return;
    }
    /* assignee= (empty) asks for the unassigned tasks. */
    const db_param p[4] = {DB_TEXT(assignee),
                           DB_TEXT(assignee && !*assignee ? "t" : "f"),
                           DB_TEXT(status), DB_INT(limit)};
    vg_error err;
    vg_error_clear(&err);
    PGresult *r = NULL;
    vg_code rc = route_query(
        rq,
        "SELECT to_jsonb(o) FROM vigil.outreach_tasks o "
        "WHERE o.status IN ('open', 'assigned') "
        "AND ($1::text IS NULL OR ($2::boolean AND o.assignee IS NULL) OR "
        "     o.assignee = $1) "
        "AND ($3::text IS NULL OR o.status = $3) "
        "ORDER BY o.priority DESC NULLS LAST, o.due_at NULLS LAST, o.task_id "
        "LIMIT $4::int",
        4, p, &r, &err);
    if (rc != VG_OK) {
        log_warn(rq->log, "/queue: %s", err.msg);
        routes_error(out, 503, err.msg);
        return;
    }
    json_t *tasks = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *t = col_json(r, i, 0);
        if (t)
            json_array_append_new(tasks, t);
    }
    PQclear(r);
    json_t *j = json_pack("{s:I, s:o}", "count",
                          (json_int_t)json_array_size(tasks), "tasks", tasks);
    reply_json(out, 200, j);
    json_decref(j);
}
