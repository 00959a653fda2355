/* test_db_model_guard.c — vigil.scores.model_id without a per-row foreign
 * key (migration 012) still never points at a missing model. `score` locks
 * its model row once per run; a model delete waits for a run in flight and
 * is then refused with the dates its scores cover; a run whose model was
 * deleted while it waited for the lock stops with exit 6 and keeps the
 * date's old rows; deleting, renumbering or truncating a scored model by
 * hand is refused, with what to do instead. Runs are held at a known point
 * by a trigger that waits on an advisory lock the test holds (no sleeps);
 * the test polls pg_stat_activity until PostgreSQL shows the waits. */
#include "cli.h"
#include "serve_helpers.h"

#define AS_OF "2025-06-01"
#define KEY "4251" /* the advisory lock the scores trigger waits on */

static const char *dsn;
static long long train1, model1;

static long long num(const char *sql)
{
    return atoll(testdb_value(dsn, sql));
}

/* Scores whose model is not in vigil.models. */
static long long orphans(void)
{
    return num("SELECT count(*) FROM vigil.scores s WHERE s.model_id IS NOT "
               "NULL AND NOT EXISTS (SELECT 1 FROM vigil.models m WHERE "
               "m.model_id = s.model_id)");
}

/* Sessions waiting on a heavyweight lock whose query contains `like`. */
static int waiting(const char *like)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) > 0 FROM pg_stat_activity WHERE "
             "datname = current_database() AND wait_event_type = 'Lock' "
             "AND query LIKE '%s'",
             like);
    return sv_wait_sql(dsn, sql, "t", 120);
}

/* The per-row check is gone: that is what makes the COPY cheaper. */
static void scores_have_no_per_row_key(void)
{
    CHECK_INT_EQ(num("SELECT count(*) FROM pg_constraint WHERE conrelid = "
                     "'vigil.scores'::regclass AND contype = 'f'"),
                 0);
}

/* A score run holds its model while it writes; `runs undo` of the training
 * waits for it, then sees its scores and refuses, as before. */
static void undo_waits_for_a_score_in_flight(void)
{
    char errlog[64], undolog[64], id[32], sql[256];
    snprintf(errlog, sizeof errlog, "/tmp/vt-guard-%d.err", (int)getpid());
    snprintf(undolog, sizeof undolog, "/tmp/vt-guard-%d.undo", (int)getpid());
    snprintf(id, sizeof id, "%lld", train1);
    PGconn *h = PQconnectdb(dsn);
    PQclear(PQexec(h, "SELECT pg_advisory_lock(" KEY ")"));
    testdb_exec(dsn, "ALTER TABLE vigil.scores ENABLE TRIGGER vt_wait");
    const char *score[] = {"score", "--as-of", AS_OF, NULL};
    pid_t sp = sv_spawn(dsn, errlog, score);
    CHECK(waiting("COPY vigil.scores%"));
    const char *undo[] = {"runs", "undo", id, NULL};
    pid_t up = sv_spawn(dsn, undolog, undo);
    /* the undo waits for the score run's lock on the model row */
    CHECK(waiting("%FROM vigil.models WHERE run_id%FOR UPDATE%"));
    PQclear(PQexec(h, "SELECT pg_advisory_unlock(" KEY ")"));
    PQfinish(h);
    CHECK_INT_EQ(sv_wait_exit(sp), 0);
    CHECK_INT_EQ(sv_wait_exit(up), 2);
    const char *e = sv_log(undolog);
    CHECK(strstr(e, "has scored customers on " AS_OF) != NULL);
    CHECK(strstr(e, "undo those score runs first") != NULL);
    testdb_exec(dsn, "ALTER TABLE vigil.scores DISABLE TRIGGER vt_wait");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.scores WHERE model_id = %lld AND "
             "as_of = '" AS_OF "'",
             model1);
    CHECK(num(sql) > 0);
    CHECK_INT_EQ(orphans(), 0);
    remove(errlog);
    remove(undolog);
}

/* A model deleted while a score run waits for it: the run stops with exit
 * 6 before writing, and the date keeps the rows it had. */
static void score_stops_when_its_model_went(void)
{
    char errlog[64], sql[256], mid[32], before[128];
    snprintf(errlog, sizeof errlog, "/tmp/vt-guard-%d.err", (int)getpid());
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet train --as-of " AS_OF " --lookback 28 --step 14")
            ->status,
        0);
    long long model2 = num("SELECT max(model_id) FROM vigil.models");
    CHECK(model2 > model1);
    snprintf(mid, sizeof mid, "%lld", model2);
    const char *rows = "SELECT count(*) || ' ' || md5(string_agg(customer_id "
                       "|| churn_risk || model_id, ',' ORDER BY customer_id)) "
                       "FROM vigil.scores WHERE as_of = '" AS_OF "'";
    snprintf(before, sizeof before, "%s", testdb_value(dsn, rows));

    PGconn *d = PQconnectdb(dsn);
    snprintf(sql, sizeof sql,
             "BEGIN; DELETE FROM vigil.models WHERE model_id = %lld", model2);
    PGresult *r = PQexec(d, sql);
    CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    const char *score[] = {"score", "--as-of", AS_OF, "--model", mid, NULL};
    pid_t sp = sv_spawn(dsn, errlog, score);
    CHECK(waiting("%FROM vigil.models WHERE model_id%FOR KEY SHARE%"));
    r = PQexec(d, "COMMIT");
    CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(d);
    CHECK_INT_EQ(sv_wait_exit(sp), 6);
    const char *e = sv_log(errlog);
    char want[128];
    snprintf(want, sizeof want, "model %lld was deleted while this run",
             model2);
    CHECK(strstr(e, want) != NULL);
    CHECK_STR_EQ(testdb_value(dsn, rows), before);
    CHECK_INT_EQ(orphans(), 0);
    remove(errlog);
}

/* The statement's error text (empty when it succeeded). */
static const char *sql_error(const char *sql)
{
    static char msg[1024];
    PGconn *c = PQconnectdb(dsn);
    PGresult *r = PQexec(c, sql);
    int bad = PQresultStatus(r) == PGRES_FATAL_ERROR;
    snprintf(msg, sizeof msg, "%s", bad ? PQresultErrorMessage(r) : "");
    if (bad)
        CHECK_STR_EQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23503");
    PQclear(r);
    PQfinish(c);
    return msg;
}

/* By hand: a scored model cannot be deleted, renumbered or truncated away;
 * a champion flag still changes; models and scores truncated together go. */
static void a_scored_model_stays(void)
{
    char sql[256];
    snprintf(sql, sizeof sql, "DELETE FROM vigil.models WHERE model_id = %lld",
             model1);
    CHECK(strstr(sql_error(sql), "has scored customers on " AS_OF) != NULL);
    snprintf(sql, sizeof sql,
             "UPDATE vigil.models SET model_id = model_id + 1000 WHERE "
             "model_id = %lld",
             model1);
    CHECK(strstr(sql_error(sql), "undo those score runs first") != NULL);
    snprintf(sql, sizeof sql,
             "BEGIN ISOLATION LEVEL REPEATABLE READ; DELETE FROM vigil.models "
             "WHERE model_id = %lld",
             model1);
    CHECK(strstr(sql_error(sql), "in a READ COMMITTED transaction") != NULL);
    CHECK(strstr(sql_error("TRUNCATE vigil.models"),
                 "truncate vigil.models and vigil.scores together") != NULL);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.models WHERE model_id = %lld", model1);
    CHECK_INT_EQ(num(sql), 1);
    CHECK_STR_EQ(sql_error("UPDATE vigil.models SET is_champion = NOT "
                           "is_champion"),
                 "");
    CHECK_STR_EQ(sql_error("TRUNCATE vigil.models, vigil.scores"), "");
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.models"), 0);
    CHECK_INT_EQ(orphans(), 0);
}

int main(void)
{
    dsn = testdb_fresh("vt_model_guard");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 200 --end " AS_OF
                              " --history-days 200 --seed 11")
                     ->status,
                 0);
    json_t *j = cli_json_ok(dsn, "--quiet train --as-of " AS_OF
                                 " --lookback 28 --step 14 --json");
    train1 =
        j ? (long long)json_integer_value(json_object_get(j, "run_id")) : 0;
    json_decref(j);
    model1 = num("SELECT max(model_id) FROM vigil.models");
    CHECK(train1 > 0 && model1 > 0);
    testdb_exec(dsn, "CREATE FUNCTION public.vt_wait() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN "
                     "PERFORM pg_advisory_lock_shared(" KEY "); "
                     "PERFORM pg_advisory_unlock_shared(" KEY "); RETURN NEW; "
                     "END $$; CREATE TRIGGER vt_wait BEFORE INSERT ON "
                     "vigil.scores FOR EACH ROW EXECUTE FUNCTION "
                     "public.vt_wait(); ALTER TABLE vigil.scores DISABLE "
                     "TRIGGER vt_wait");

    scores_have_no_per_row_key();
    undo_waits_for_a_score_in_flight();
    score_stops_when_its_model_went();
    a_scored_model_stays();
    return check_done("db_model_guard");
}
