/* jobrun.c — inserts and closes vigil.job_runs rows with bound parameters.
 * Called in autocommit mode: callers run it outside their transaction. */
#include "jobrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* The lease key of a run id expression, as two int4 arguments. */
#define LEASE_KEY(x)                                                           \
    "((" x ")::bigint >> 31)::int, ((" x ")::bigint & 2147483647)::int"

#define ABANDONED_MSG "abandoned: the process running it died"

vg_code jobrun_start(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, long long *run_id,
                     vg_error *err)
{
    const char *p[3] = {job, as_of, scheduled_for};
    PGresult *r = NULL;
    vg_code rc = db_exec(
        db,
        "WITH ins AS (INSERT INTO vigil.job_runs (job, as_of, scheduled_for) "
        "VALUES ($1, $2::date, $3::timestamptz) RETURNING run_id) "
        "SELECT run_id, pg_advisory_lock(" LEASE_KEY("run_id") ") FROM ins",
        3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    *run_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return VG_OK;
}

vg_code jobrun_attach(db_conn *db, long long run_id, const char *job,
                      const char *as_of, vg_error *err)
{
    const db_param p[2] = {DB_INT(run_id), DB_TEXT(as_of)};
    PGresult *r = NULL;
    /* The row keeps serve's job name: a `daily` child runs several bodies. */
    vg_code rc = db_exec_params(db,
                                "UPDATE vigil.job_runs SET as_of = $2::date "
                                "WHERE run_id = $1 AND status = 'running' "
                                "RETURNING run_id",
                                2, p, &r, err);
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EDB,
                     "run %lld of job %s is not running in vigil.job_runs "
                     "(closed, or taken over by another instance)",
                     run_id, job);
    PQclear(r);
    return rc;
}

vg_code jobrun_finish(db_conn *db, long long run_id, const char *status,
                      const json_t *stats, const char *error, vg_error *err)
{
    char *js = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
    if (stats && !js)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    const db_param p[4] = {DB_INT(run_id), DB_TEXT(status), DB_TEXT(js),
                           DB_TEXT(error)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        db,
        "UPDATE vigil.job_runs SET finished_at = clock_timestamp(), "
        "status = $2, stats = $3::jsonb, error = $4 "
        "WHERE run_id = $1 AND status = 'running' RETURNING run_id",
        4, p, &r, err);
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EDB,
                     "run %lld was closed by another process before it "
                     "finished",
                     run_id);
    PQclear(r);
    free(js);
    return rc;
}

vg_code jobrun_tag(db_conn *db, long long run_id, vg_error *err)
{
    /* No run: the empty string, which the run_id column defaults read as
     * NULL (nullif(current_setting(...), '')). */
    const db_param p[1] = {run_id > 0 ? DB_INT(run_id) : DB_TEXT("")};
    return db_exec_params(db, "SELECT set_config('vigil.run_id', $1, false)", 1,
                          p, NULL, err);
}

void jobrun_release(db_conn *db, long long run_id)
{
    const db_param p[1] = {DB_INT(run_id)};
    /* Best effort: a lease not released here ends with the session. */
    (void)db_exec_params(db, "SELECT pg_advisory_unlock(" LEASE_KEY("$1") ")",
                         1, p, NULL, NULL);
}

vg_code jobrun_claim(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, int allow_fresh,
                     int max_attempts, long long *run_id, int *attempt,
                     vg_error *err)
{
    const db_param p[5] = {DB_TEXT(job), DB_TEXT(as_of), DB_TEXT(scheduled_for),
                           DB_TEXT(allow_fresh ? "t" : "f"),
                           DB_INT(max_attempts)};
    PGresult *r = NULL;
    *run_id = 0;
    *attempt = 0;
    /* One statement: the insert and the lock commit together, and the unique
     * indexes of migration 004 settle races between instances (a losing
     * insert does nothing). */
    vg_code rc = db_exec_params(
        db,
        "WITH prev AS (SELECT attempt, status, error, stats FROM "
        "  vigil.job_runs WHERE job = $1 AND scheduled_for = $3::timestamptz),"
        " last AS (SELECT * FROM prev ORDER BY attempt DESC LIMIT 1),"
        " ins AS (INSERT INTO vigil.job_runs (job, as_of, scheduled_for, "
        "  attempt) SELECT $1, $2::date, $3::timestamptz, "
        "  coalesce((SELECT max(attempt) FROM prev), 0) + 1 "
        "  WHERE NOT EXISTS (SELECT 1 FROM prev WHERE status IN "
        "   ('running', 'ok'))"
        "  AND coalesce((SELECT max(attempt) FROM prev), 0) < $5::int"
        "  AND CASE WHEN NOT EXISTS (SELECT 1 FROM prev) THEN $4::boolean"
        "   ELSE (SELECT status = 'canceled' OR coalesce(error, '') LIKE "
        "    'abandoned:%' OR coalesce((stats->>'retry_at')::timestamptz <= "
        "    now(), false) FROM last) END"
        "  ON CONFLICT DO NOTHING RETURNING run_id, attempt) "
        "SELECT run_id, attempt, pg_advisory_lock(" LEASE_KEY(
            "run_id") ") FROM ins",
        5, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (PQntuples(r) == 1) {
        *run_id = atoll(PQgetvalue(r, 0, 0));
        *attempt = atoi(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return VG_OK;
}

vg_code jobrun_close(db_conn *db, long long run_id, const char *status,
                     const char *error, int retry_in_s, vg_error *err)
{
    const db_param p[4] = {DB_INT(run_id), DB_TEXT(status), DB_TEXT(error),
                           retry_in_s >= 0 ? DB_INT(retry_in_s) : DB_NULL};
    return db_exec_params(
        db,
        "UPDATE vigil.job_runs SET status = $2, "
        " finished_at = coalesce(finished_at, clock_timestamp()), "
        " error = coalesce(error, $3), "
        " stats = CASE WHEN $4::int IS NULL THEN stats ELSE "
        "  coalesce(stats, '{}'::jsonb) || jsonb_build_object('retry_at', "
        "  clock_timestamp() + $4::int * interval '1 second') END "
        "WHERE run_id = $1 AND (status = 'running' OR "
        " ($4::int IS NOT NULL AND status = 'failed'))",
        4, p, NULL, err);
}

vg_code jobrun_sweep(db_conn *db, const long long *own, size_t nown,
                     int *closed, vg_error *err)
{
    *closed = 0;
    strbuf arr = {0};
    strbuf_putc(&arr, '{');
    for (size_t i = 0; i < nown; i++)
        strbuf_printf(&arr, "%s%lld", i ? "," : "", own[i]);
    if (strbuf_putc(&arr, '}') != 0) {
        strbuf_free(&arr);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    const char *p[1] = {arr.s};
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT run_id FROM vigil.job_runs WHERE status = "
                         "'running' AND NOT (run_id = ANY ($1::bigint[])) "
                         "ORDER BY run_id",
                         1, p, &r, err);
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++) {
        const char *q[2] = {PQgetvalue(r, i, 0), ABANDONED_MSG};
        PGresult *t = NULL;
        rc = db_exec(db, "SELECT pg_try_advisory_lock(" LEASE_KEY("$1") ")", 1,
                     q, &t, err);
        int got = rc == VG_OK && strcmp(PQgetvalue(t, 0, 0), "t") == 0;
        PQclear(t);
        if (!got)
            continue; /* a live process holds it */
        t = NULL;
        rc = db_exec(db,
                     "UPDATE vigil.job_runs SET status = 'failed', "
                     "finished_at = clock_timestamp(), error = $2 "
                     "WHERE run_id = $1 AND status = 'running' "
                     "RETURNING run_id",
                     2, q, &t, err);
        if (rc == VG_OK)
            *closed += PQntuples(t);
        PQclear(t);
        /* Best effort: the lock ends with the session anyway. */
        (void)db_exec(db, "SELECT pg_advisory_unlock(" LEASE_KEY("$1") ")", 1,
                      q, NULL, NULL);
    }
    PQclear(r);
    strbuf_free(&arr);
    return rc;
}

/* Keys apart from the leases, whose first int is run_id >> 31 (0 for
 * billions of runs): hashtext of the kind of work, and the date. */
#define EXCL_KEY                                                               \
    "hashtext('vigil:' || $1)::int | (1 << 30), ($2::date - date "             \
    "'2000-01-01')"

vg_code jobrun_exclusive(db_conn *db, const char *what, const char *as_of,
                         vg_error *err)
{
    const char *p[2] = {what, as_of};
    PGresult *r = NULL;
    vg_code rc =
        db_exec(db, "SELECT pg_try_advisory_lock(" EXCL_KEY ")", 2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    if (got)
        return VG_OK;
    /* Name the run holding it when the ledger shows it. */
    const char *q[1] = {as_of};
    char who[96] = "";
    if (db_exec(db,
                "SELECT run_id, job FROM vigil.job_runs WHERE status = "
                "'running' AND as_of = $1::date AND job IN ('score', 'daily') "
                "ORDER BY run_id DESC LIMIT 1",
                1, q, &r, NULL) == VG_OK &&
        PQntuples(r) == 1)
        snprintf(who, sizeof who, " (run %s, %s)", PQgetvalue(r, 0, 0),
                 PQgetvalue(r, 0, 1));
    PQclear(r);
    return vg_fail(err, VG_EBUSY,
                   "another run is in progress: %s for %s%s; wait for it to "
                   "finish, then run again",
                   what, as_of, who);
}

void jobrun_exclusive_end(db_conn *db, const char *what, const char *as_of)
{
    const char *p[2] = {what, as_of};
    db_exec(db, "SELECT pg_advisory_unlock(" EXCL_KEY ")", 2, p, NULL, NULL);
}

int jobrun_relock(db_conn *db, long long run_id)
{
    const db_param p[1] = {DB_INT(run_id)};
    PGresult *r = NULL;
    if (db_exec_params(db, "SELECT pg_try_advisory_lock(" LEASE_KEY("$1") ")",
                       1, p, &r, NULL) != VG_OK)
        return -1;
    int got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return got;
}
