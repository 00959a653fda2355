/* cmd_runs.c — `vigil runs`: the vigil.job_runs ledger for people, and
 * `runs undo RUN_ID`, which removes what one run wrote in one transaction.
 * Rows carry the run that wrote them (migration 006, core/jobrun.h's
 * jobrun_tag), so undo deletes by run id, never by guessing from dates. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jobrun.h"
#include "service/cli.h"
#include "service/commands.h"

/* ---- list ----------------------------------------------------------------
 */

/* One row of runs_list (its columns 0-9, NULL for SQL NULL) as JSON. */
static json_t *run_json(const char *const v[10])
{
    return json_pack("{s:I, s:s, s:s?, s:s, s:i, s:s, s:o, s:b, s:s?, s:s?}",
                     "run_id", (json_int_t)atoll(v[0]), "job", v[1], "as_of",
                     v[2], "status", v[3], "attempt", atoi(v[4]), "started_at",
                     v[5], "seconds",
                     v[6] ? json_real(atof(v[6])) : json_null(), "scheduled",
                     v[7][0] == 't', "error", v[8], "undone_at", v[9]);
}

/* One row of runs_list as a line of the table, under its header when it is
 * the first. */
static void print_run(const char *const v[10], int first)
{
    if (first)
        printf("%-8s %-9s %-10s %-9s %-20s %8s  %s\n", "RUN", "JOB", "AS OF",
               "STATUS", "STARTED (UTC)", "SECONDS", "NOTE");
    char secs[32] = "-";
    if (v[6])
        snprintf(secs, sizeof secs, "%.1f", atof(v[6]));
    printf("%-8s %-9s %-10s %-9s %-20s %8s  %s%s%.80s\n", v[0], v[1],
           v[2] ? v[2] : "-", v[3], v[5], secs,
           v[7][0] == 't' ? "scheduled " : "", v[9] ? "undone " : "",
           v[8] ? v[8] : "");
}

static vg_code runs_list(cli *c, const char *job, int limit, int json,
                         vg_error *err)
{
    db_conn *db = NULL;
    PGresult *r = NULL;
    const db_param p[2] = {DB_TEXT(job), DB_INT(limit)};
    vg_code rc = cli_connect(c, &db, 1, err);
    if (rc == VG_OK)
        rc = db_exec_params(
            db,
            "SELECT run_id, job, as_of::text, status, attempt, "
            " to_char(started_at AT TIME ZONE 'UTC', "
            "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            " extract(epoch FROM finished_at - started_at)::float8, "
            " scheduled_for IS NOT NULL, error, stats->>'undone_at', "
            " count(*) OVER () "
            "FROM vigil.job_runs WHERE $1::text IS NULL OR job = $1 "
            "ORDER BY run_id DESC LIMIT $2::int",
            2, p, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    int n = PQntuples(r);
    long long total = n ? atoll(PQgetvalue(r, 0, 10)) : 0;
    json_t *arr = json_array();
    for (int i = 0; i < n; i++) {
        const char *v[10];
        for (int k = 0; k < 10; k++)
            v[k] = PQgetisnull(r, i, k) ? NULL : PQgetvalue(r, i, k);
        if (json)
            json_array_append_new(arr, run_json(v));
        else
            print_run(v, i == 0);
    }
    if (json) {
        json_t *o = json_pack("{s:o, s:I, s:i}", "runs", arr, "total",
                              (json_int_t)total, "shown", n);
        vg_code prc = cli_print_json(o, err);
        json_decref(o);
        if (prc != VG_OK)
            return prc;
    } else {
        json_decref(arr);
        if (n == 0)
            printf("no runs recorded yet\n");
        else if (total > n)
            printf("(%d of %lld runs shown; --limit N shows more)\n", n, total);
    }
cleanup:
    PQclear(r);
    db_close(db);
    return rc;
}

/* ---- undo ----------------------------------------------------------------
 */

/* Each statement removes one kind of result of run $1 and returns a count.
 * They run in this order inside one transaction. */
typedef struct undo_step {
    const char *name; /* key in the summary */
    const char *sql;
} undo_step;

static const undo_step undo_steps[] = {
    /* A run scores one date, its vigil.job_runs.as_of: the primary key's
     * leading column finds its rows (no index on run_id, migration 013).
     * A run without a date (none writes scores today) is looked for in
     * every date. */
    {"scores",
     "WITH j AS (SELECT as_of FROM vigil.job_runs WHERE run_id = $1), "
     "d AS (DELETE FROM vigil.scores WHERE run_id = $1 AND as_of >= "
     " coalesce((SELECT as_of FROM j), '-infinity') AND as_of <= "
     " coalesce((SELECT as_of FROM j), 'infinity') RETURNING 1) "
     "SELECT count(*) FROM d"},
    /* Deliveries not sent yet of the tasks and alerts about to go; what
     * was delivered stays delivered and is counted below. */
    {"deliveries_dropped",
     "WITH d AS (DELETE FROM vigil.deliveries v WHERE v.delivered_at IS NULL "
     " AND ((v.kind = 'task' AND v.ref_id IN (SELECT task_id FROM "
     "  vigil.outreach_tasks WHERE run_id = $1 AND (status IN ('open', "
     "  'assigned') OR closed_run_id = $1))) "
     "  OR (v.kind = 'alert' AND v.ref_id IN (SELECT alert_id FROM "
     "  vigil.trend_alerts WHERE run_id = $1))) RETURNING 1) "
     "SELECT count(*) FROM d"},
    {"deliveries_already_sent",
     "SELECT count(*) FROM vigil.deliveries v WHERE v.delivered_at IS NOT "
     " NULL AND ((v.kind = 'task' AND v.ref_id IN (SELECT task_id FROM "
     "  vigil.outreach_tasks WHERE run_id = $1 AND (status IN ('open', "
     "  'assigned') OR closed_run_id = $1))) "
     "  OR (v.kind = 'alert' AND v.ref_id IN (SELECT alert_id FROM "
     "  vigil.trend_alerts WHERE run_id = $1)))"},
    /* Tasks a person already closed record their work: kept. */
    {"tasks_kept_closed_by_people",
     "SELECT count(*) FROM vigil.outreach_tasks WHERE run_id = $1 AND "
     " status IN ('done', 'dismissed') AND closed_run_id IS DISTINCT FROM $1"},
    {"tasks_deleted",
     "WITH d AS (DELETE FROM vigil.outreach_tasks WHERE run_id = $1 AND "
     " (status IN ('open', 'assigned') OR closed_run_id = $1) RETURNING 1) "
     "SELECT count(*) FROM d"},
    /* Tasks the run closed because their trigger stopped holding come back,
     * unless a newer task for the same customer and playbook is open. */
    {"tasks_reopened",
     "WITH u AS (UPDATE vigil.outreach_tasks t SET status = 'open', "
     " outcome = NULL, closed_at = NULL, updated_at = now() "
     " WHERE t.closed_run_id = $1 AND t.outcome LIKE 'auto\\_closed%' "
     " AND t.assignee IS NULL AND NOT EXISTS (SELECT 1 FROM "
     " vigil.outreach_tasks o WHERE o.dedupe_key = t.dedupe_key AND "
     " o.status IN ('open', 'assigned')) RETURNING 1) "
     "SELECT count(*) FROM u"},
    /* Alerts the run raised go with their history; alerts it updated go
     * back to the state of their latest remaining day. */
    {"alert_days_deleted",
     "WITH d AS (DELETE FROM vigil.trend_alert_days WHERE run_id = $1 "
     " RETURNING alert_id), "
     "r AS (UPDATE vigil.trend_alerts a SET status = l.status, kind = "
     " coalesce(l.kind, a.kind), window_start = l.window_start, window_end = "
     " l.window_end, observed = l.observed, expected = l.expected, p_value = "
     " l.p_value, customers = l.customers, mrr_at_risk = l.mrr_at_risk, "
     " sample_ticket_ids = l.sample_ticket_ids, updated_on = l.as_of, "
     " label = coalesce(l.label, a.label), key_terms = l.key_terms, "
     " languages = l.languages, topic_ids = l.topic_ids, ticket_ids = "
     " l.ticket_ids, strong_terms = l.strong_terms, "
     " resolved_on = CASE WHEN l.status = 'resolved' THEN a.resolved_on END "
     " FROM (SELECT DISTINCT ON (alert_id) * FROM vigil.trend_alert_days "
     "  WHERE run_id IS DISTINCT FROM $1 ORDER BY alert_id, as_of DESC) l "
     " WHERE l.alert_id = a.alert_id AND a.run_id IS DISTINCT FROM $1 "
     " AND a.alert_id IN (SELECT alert_id FROM d)) "
     "SELECT count(*) FROM d"},
    {"alerts_deleted", "WITH d AS (DELETE FROM vigil.trend_alerts WHERE "
                       "run_id = $1 RETURNING 1) SELECT count(*) FROM d"},
    {"ticket_topics_deleted",
     "WITH d AS (DELETE FROM vigil.ticket_topics WHERE run_id = $1 "
     " RETURNING 1) SELECT count(*) FROM d"},
    {"topic_models_deleted",
     "WITH d AS (DELETE FROM vigil.topic_models WHERE run_id = $1 "
     " RETURNING 1) SELECT count(*) FROM d"},
    /* A model the run trained: the previous champion (recorded in the run's
     * summary) becomes champion again if this one had replaced it. */
    {"champion_released",
     "WITH u AS (UPDATE vigil.models SET is_champion = false WHERE run_id = "
     " $1 AND is_champion RETURNING 1) SELECT count(*) FROM u"},
    {"champion_restored",
     "WITH u AS (UPDATE vigil.models p SET is_champion = true WHERE "
     " p.model_id = (SELECT (stats->'champion'->>'previous_model_id')::bigint "
     " FROM vigil.job_runs WHERE run_id = $1) AND NOT EXISTS (SELECT 1 FROM "
     " vigil.models c WHERE c.is_champion AND c.horizon_days = "
     " p.horizon_days) RETURNING 1) SELECT count(*) FROM u"},
    {"models_deleted", "WITH d AS (DELETE FROM vigil.models WHERE run_id = $1 "
                       "RETURNING 1) SELECT count(*) FROM d"},
};
#define NUNDO (sizeof undo_steps / sizeof undo_steps[0])

/* The jobs whose later runs build on a run of `job` (dedupe, cooldowns,
 * alert lifecycles, topic ids): undoing under them would leave those later
 * results pointing at nothing, so they must be undone first. Scores and
 * models stand alone. */
static const char *later_dependents(const char *job)
{
    if (!strcmp(job, "topics"))
        return "{topics,daily}";
    if (!strcmp(job, "outreach"))
        return "{outreach,daily}";
    if (!strcmp(job, "daily"))
        return "{topics,outreach,daily}";
    return "{}";
}

/* A run is undone newest first: refused while a later run of a job that
 * builds on this one's results (later_dependents) still stands. */
static vg_code undo_no_later(db_conn *db, int id, const char *job,
                             vg_error *err)
{
    PGresult *r = NULL;
    const db_param p2[2] = {DB_INT(id), DB_TEXT(later_dependents(job))};
    vg_code rc = db_exec_params(
        db,
        "SELECT run_id, job, coalesce(as_of::text, '-') FROM "
        "vigil.job_runs WHERE run_id > $1 AND status IN ('ok', "
        "'running') AND job = ANY($2::text[]) AND NOT coalesce(stats "
        "? 'undone_at', false) ORDER BY run_id DESC LIMIT 1",
        2, p2, &r, err);
    if (rc == VG_OK && PQntuples(r) > 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "run %s (%s for %s) came after run %d and builds on its "
                     "results: undo the later runs first, newest first",
                     PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
                     PQgetvalue(r, 0, 2), id);
    PQclear(r);
    return rc;
}

/* Scores of other runs may use a model this run trained. No foreign key
 * guards them (migration 012): a score run in flight holds its model row FOR
 * KEY SHARE, so this lock waits for it to finish, and the query below, a new
 * statement, sees the scores it wrote. */
static vg_code undo_no_scores(db_conn *db, int id, vg_error *err)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(id)};
    vg_code rc = db_exec_params(db,
                                "SELECT 1 FROM vigil.models WHERE run_id = $1 "
                                "FOR UPDATE",
                                1, p, NULL, err);
    if (rc != VG_OK)
        return rc;
    /* An aggregate without GROUP BY: exactly one row. */
    rc = db_exec_params(
        db,
        "SELECT string_agg(DISTINCT s.as_of::text, ', ') FROM "
        "vigil.scores s JOIN vigil.models m USING (model_id) WHERE "
        "m.run_id = $1 AND s.run_id IS DISTINCT FROM $1",
        1, p, &r, err);
    if (rc == VG_OK && !PQgetisnull(r, 0, 0))
        rc = vg_fail(err, VG_EUSAGE,
                     "the model run %d trained has scored customers on %s: "
                     "undo those score runs first",
                     id, PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Refuse what cannot or need not be undone, with what to do instead. */
static vg_code undo_check(db_conn *db, int id, vg_error *err)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(id)};
    vg_code rc = db_exec_params(db,
                                "SELECT job, status, stats ? 'undone_at' FROM "
                                "vigil.job_runs WHERE run_id = $1 FOR UPDATE",
                                1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return vg_fail(err, VG_EUSAGE,
                       "there is no run %d (see `vigil runs list`)", id);
    }
    char job[64], status[16];
    snprintf(job, sizeof job, "%s", PQgetvalue(r, 0, 0));
    snprintf(status, sizeof status, "%s", PQgetvalue(r, 0, 1));
    int undone = PQgetvalue(r, 0, 2)[0] == 't';
    PQclear(r);
    if (undone)
        return vg_fail(err, VG_EUSAGE, "run %d was undone already", id);
    if (strcmp(job, "train") && strcmp(job, "score") && strcmp(job, "topics") &&
        strcmp(job, "outreach") && strcmp(job, "daily"))
        return vg_fail(err, VG_EUSAGE,
                       "run %d is a %s run, which cannot be undone (undo "
                       "covers train, score, topics, outreach and daily)",
                       id, job);
    if (strcmp(status, "ok"))
        return vg_fail(err, VG_EUSAGE,
                       "run %d is %s: only a finished run (ok) wrote results; "
                       "a failed or canceled run rolled its work back",
                       id, status);
    rc = undo_no_later(db, id, job, err);
    if (rc == VG_OK)
        rc = undo_no_scores(db, id, err);
    return rc;
}

static vg_code undo_in_tx(db_conn *db, int id, json_t *done, vg_error *err)
{
    const db_param p[1] = {DB_INT(id)};
    vg_code rc = undo_check(db, id, err);
    for (size_t i = 0; rc == VG_OK && i < NUNDO; i++) {
        PGresult *r = NULL;
        rc = db_exec_params(db, undo_steps[i].sql, 1, p, &r, err);
        if (rc == VG_OK && PQntuples(r) != 1)
            rc = vg_fail(err, VG_EINTERNAL, "undo step returned %d rows",
                         PQntuples(r));
        if (rc == VG_OK)
            json_object_set_new(done, undo_steps[i].name,
                                json_integer(atoll(PQgetvalue(r, 0, 0))));
        else
            vg_wrap(err, "undoing run %d (%s): ", id, undo_steps[i].name);
        PQclear(r);
    }
    if (rc == VG_OK) {
        char *js = json_dumps(done, JSON_COMPACT);
        const db_param p2[2] = {DB_INT(id), DB_TEXT(js)};
        rc = js ? db_exec_params(
                      db,
                      "UPDATE vigil.job_runs SET stats = coalesce(stats, "
                      "'{}') || jsonb_build_object('undone_at', now(), "
                      "'undone', $2::jsonb) WHERE run_id = $1",
                      2, p2, NULL, err)
                : vg_fail(err, VG_ENOMEM, "out of memory");
        free(js);
    }
    return rc;
}

static void print_undo(int id, const json_t *d)
{
    printf("run %d undone:", id);
    const char *k;
    json_t *v;
    int any = 0;
    json_object_foreach((json_t *)d, k, v)
    {
        if (json_integer_value(v) == 0 || !strcmp(k, "run_id"))
            continue;
        printf("%s %s %lld", any ? "," : "", k,
               (long long)json_integer_value(v));
        any = 1;
    }
    printf("%s\n", any ? "" : " it had left nothing to remove");
}

static vg_code runs_undo(cli *c, const char *id_s, int json, vg_error *err)
{
    int id;
    vg_code rc = cli_parse_int_opt("RUN_ID", id_s, 1, 2147483647, &id, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *done = json_object();
    rc = cli_connect(c, &db, 1, err);
    if (rc == VG_OK && (rc = db_begin(db, err)) == VG_OK) {
        rc = undo_in_tx(db, id, done, err);
        if (rc == VG_OK)
            rc = db_commit(db, err);
        else
            db_rollback(db);
    }
    if (rc == VG_OK) {
        json_object_set_new(done, "run_id", json_integer(id));
        if (json)
            rc = cli_print_json(done, err);
        else
            print_undo(id, done);
    }
    json_decref(done);
    db_close(db);
    return rc;
}

static int run_runs(cli *c, int argc, char **argv, vg_error *err)
{
    const char *job = NULL;
    int json = 0, limit = 30;
    static const struct option opts[] = {{"job", required_argument, 0, 'J'},
                                         {"limit", required_argument, 0, 'l'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    /* An action first (list when none), then its options. */
    const char *verb = "list";
    if (argc > 1 && argv[1][0] != '-') {
        verb = argv[1];
        argc--;
        argv++;
    }
    int o;
    vg_code rc = VG_OK;
    optind = 0; /* glibc starts over (main's scan stopped at the command) */
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'J')
            job = optarg;
        else if (o == 'l')
            rc = cli_parse_int_opt("--limit", optarg, 1, 100000, &limit, err);
        else if (o == 'j')
            json = 1;
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil runs --help`");
        if (rc != VG_OK)
            return rc;
    }
    if (!strcmp(verb, "list") && optind >= argc)
        return runs_list(c, job, limit, json, err);
    if (!strcmp(verb, "undo") && optind + 1 == argc)
        return runs_undo(c, argv[optind], json, err);
    return vg_fail(err, VG_EUSAGE,
                   "use `vigil runs [list]` or `vigil runs undo RUN_ID` (see "
                   "`vigil runs --help`)");
}

const command cmd_runs = {
    .name = "runs",
    .fn = run_runs,
    .summary = "list job runs; undo what one run wrote",
    .usage =
        "usage: vigil [global options] runs [list] [--job JOB] [--limit N] "
        "[--json]\n"
        "       vigil [global options] runs undo RUN_ID [--json]\n\n"
        "list shows the latest runs of every job (vigil.job_runs), newest "
        "first: "
        "run id,\n"
        "job, as-of date, status, start, duration, error.\n\n"
        "undo removes what one finished run wrote, in one transaction: a score "
        "run's\n"
        "scores; a train run's model (the previous champion is champion "
        "again); "
        "an\n"
        "outreach run's new tasks (tasks people already closed are kept), the "
        "tasks it\n"
        "auto-closed reopened, its deliveries not sent yet; a topics run's "
        "topic "
        "model,\n"
        "first ticket assignments, the alerts it raised and its day of every "
        "alert's\n"
        "history (alerts it updated return to their previous day); a daily run "
        "all three.\n"
        "Not undone: what was delivered already, tasks it refreshed or "
        "assigned, "
        "topics\n"
        "it created (left without tickets), what it replaced (a re-run for the "
        "same date\n"
        "replaced the earlier results). Later topics/outreach/daily runs build "
        "on "
        "earlier\n"
        "ones, so undo them newest first; a model that scored customers needs "
        "those score\n"
        "runs undone first. deliver runs cannot be undone.\n",
};
