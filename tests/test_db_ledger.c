/* test_db_ledger.c — the ledger tells the truth. A command-line job stopped
 * by SIGTERM or SIGINT while inside its transaction records `canceled` and
 * keeps nothing; one killed with -9 leaves a `running` row that the next
 * job's start closes; a second score for a date being scored is refused
 * ("another run is in progress", exit 11); train fails, promoting nothing,
 * when the current champion cannot be read. Jobs are held at a known point by
 * a trigger that waits on an advisory lock the test holds (no sleeps). */
#include "cli.h"
#include "serve_helpers.h"

#define AS_OF "2025-06-01"

static const char *const score_args[] = {"score", "--as-of", AS_OF, NULL};

/* Holds score inside its transaction: every row written to vigil.scores
 * waits for advisory lock 4242 while the holder connection has it. */
static PGconn *hold(const char *dsn)
{
    PGconn *c = PQconnectdb(dsn);
    PQclear(PQexec(c, "SELECT pg_advisory_lock(4242)"));
    return c;
}

static void release(PGconn *c)
{
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(4242)"));
    PQfinish(c);
}

/* Wait until a score job waits on the trigger's lock. */
static int score_waiting(const char *dsn)
{
    return sv_wait_sql(dsn,
                       "SELECT count(*) FROM pg_stat_activity WHERE "
                       "datname = current_database() AND "
                       "application_name LIKE 'vigil/score/%' AND "
                       "wait_event_type = 'Lock'",
                       "1", 120);
}

static void stop_inside(const char *dsn, int sig, const char *want_err)
{
    const char *before = "SELECT count(*) || '/' || sum(churn_risk)::text || "
                         "'/' || max(model_id) FROM vigil.scores";
    char snap[256];
    snprintf(snap, sizeof snap, "%s", testdb_value(dsn, before));
    char errlog[64];
    snprintf(errlog, sizeof errlog, "/tmp/vigil-ledger-%d.err", (int)getpid());
    PGconn *h = hold(dsn);
    pid_t pid = sv_spawn(dsn, errlog, score_args);
    CHECK(score_waiting(dsn));
    kill(pid, sig);
    int st = sv_wait_exit(pid);
    release(h);
    CHECK_INT_EQ(st, 10);
    const char *e = sv_log(errlog);
    if (!strstr(e, want_err))
        fprintf(stderr, "stderr of the stopped job: %s\n", e);
    CHECK(strstr(e, want_err) != NULL);
    CHECK(strchr(e, '\n') == e + strlen(e) - 1);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT status FROM vigil.job_runs ORDER "
                                   "BY run_id DESC LIMIT 1"),
                 "canceled");
    CHECK_STR_EQ(testdb_value(dsn, before), snap); /* nothing kept */
    remove(errlog);
}

static void kill9_then_sweep(const char *dsn)
{
    char errlog[64];
    snprintf(errlog, sizeof errlog, "/tmp/vigil-ledger-%d.err", (int)getpid());
    PGconn *h = hold(dsn);
    pid_t pid = sv_spawn(dsn, errlog, score_args);
    CHECK(score_waiting(dsn));
    kill(pid, SIGKILL);
    sv_wait_exit(pid);
    release(h);
    /* the backend notices its client is gone at its next read: wait for
     * the session lock to go with it */
    CHECK(sv_wait_sql(dsn,
                      "SELECT count(*) FROM pg_stat_activity WHERE "
                      "application_name LIKE 'vigil/score/%'",
                      "0", 60));
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs "
                                   "WHERE status = 'running'"),
                 "1");
    /* the next job, any job, closes it */
    CHECK_INT_EQ(cli_run(dsn, "--quiet outreach --as-of " AS_OF)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs "
                                   "WHERE status = 'running'"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs "
                                   "WHERE job = 'score' AND status = 'failed' "
                                   "AND error LIKE 'abandoned%'"),
                 "1");
    remove(errlog);
}

static void two_scores(const char *dsn)
{
    char errlog[64];
    snprintf(errlog, sizeof errlog, "/tmp/vigil-ledger-%d.err", (int)getpid());
    PGconn *h = hold(dsn);
    pid_t pid = sv_spawn(dsn, errlog, score_args);
    CHECK(score_waiting(dsn));
    cli_result *r = cli_run(dsn, "--quiet score --as-of " AS_OF);
    CHECK_INT_EQ(r->status, 11);
    CHECK(strstr(r->err, "another run is in progress") != NULL);
    CHECK(strchr(r->err, '\n') == r->err + strlen(r->err) - 1);
    r = cli_run(dsn, "--quiet daily --as-of " AS_OF);
    CHECK_INT_EQ(r->status, 11);
    release(h);
    CHECK_INT_EQ(sv_wait_exit(pid), 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs "
                                   "WHERE status = 'running'"),
                 "0");
    remove(errlog);
}

static void champion_unreadable(const char *dsn)
{
    const char *champ = "SELECT model_id || '/' || (SELECT count(*) FROM "
                        "vigil.models) FROM vigil.models WHERE is_champion";
    char before[64];
    snprintf(before, sizeof before, "%s", testdb_value(dsn, champ));
    char cfg[64];
    snprintf(cfg, sizeof cfg, "/tmp/vigil-ledger-%d.json", (int)getpid());
    sv_write(cfg, "{\"db\": {\"train_statement_timeout\": 2}}");
    PGconn *l = PQconnectdb(dsn);
    PQclear(PQexec(l, "BEGIN; LOCK TABLE vigil.models IN ACCESS EXCLUSIVE "
                      "MODE"));
    char args[256];
    snprintf(args, sizeof args,
             "--quiet --log-level error --config %s train --as-of " AS_OF
             " --lookback 28 --step 14",
             cfg);
    cli_result *r = cli_run(dsn, args);
    PQclear(PQexec(l, "ROLLBACK"));
    PQfinish(l);
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "champion cannot be read") != NULL);
    CHECK(strstr(r->err, "nothing was promoted") != NULL);
    CHECK(strchr(r->err, '\n') == r->err + strlen(r->err) - 1);
    CHECK_STR_EQ(testdb_value(dsn, champ), before);
    remove(cfg);
}

int main(void)
{
    const char *dsn = testdb_fresh("vt_ledger");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 200 --end " AS_OF
                              " --history-days 200 --seed 11")
                     ->status,
                 0);
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet train --as-of " AS_OF " --lookback 28 --step 14")
            ->status,
        0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet score --as-of " AS_OF)->status, 0);
    testdb_exec(dsn, "CREATE FUNCTION public.vt_wait() RETURNS trigger "
                     "LANGUAGE plpgsql AS $$ BEGIN "
                     "PERFORM pg_advisory_lock_shared(4242); "
                     "PERFORM pg_advisory_unlock_shared(4242); RETURN NEW; "
                     "END $$; CREATE TRIGGER vt_wait BEFORE INSERT ON "
                     "vigil.scores FOR EACH ROW EXECUTE FUNCTION "
                     "public.vt_wait()");

    stop_inside(dsn, SIGTERM, "canceled by SIGTERM");
    stop_inside(dsn, SIGINT, "canceled by SIGINT");
    kill9_then_sweep(dsn);
    two_scores(dsn);
    champion_unreadable(dsn);
    return check_done("db_ledger");
}
