/* test_db_outreach_concurrency.c — four `vigil outreach` runs at once never
 * duplicate a task or over-assign a specialist; a run that fails half-way
 * (an error injected by a database trigger) or is killed mid-transaction
 * leaves nothing behind, and the next run does all of it. */
#include <signal.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2025-06-02"
#define N_TRIGGERED "1000" /* customers entering at_risk/critical on D */

static const char *q(const char *dsn, const char *sql)
{
    return testdb_value(dsn, sql);
}

/* n concurrent runs; returns how many exited 0, sums created/assigned. */
static int run_parallel(const char *dsn, int n, long *created, long *assigned)
{
    const char *bin = getenv("VIGIL_BIN");
    char cmd[4096];
    int k = snprintf(cmd, sizeof cmd, "ok=0; ");
    for (int i = 0; i < n; i++)
        k += snprintf(cmd + k, sizeof cmd - (size_t)k,
                      "VIGIL_DSN='%s' '%s' --quiet outreach --as-of " D
                      " --json >/tmp/vt_conc_%d.%d 2>&1 & ",
                      dsn, bin, (int)getpid(), i);
    snprintf(cmd + k, sizeof cmd - (size_t)k, "wait");
    CHECK_INT_EQ(system(cmd), 0);
    int ok = 0;
    *created = *assigned = 0;
    for (int i = 0; i < n; i++) {
        char path[128];
        snprintf(path, sizeof path, "/tmp/vt_conc_%d.%d", (int)getpid(), i);
        json_t *j = json_load_file(path, 0, NULL);
        if (j) {
            ok++;
            *created += (long)json_integer_value(json_object_get(j, "created"));
            *assigned +=
                (long)json_integer_value(json_object_get(j, "assigned"));
        } else {
            char buf[2048];
            slurp(path, buf, sizeof buf);
            fprintf(stderr, "run %d: %s\n", i, buf);
        }
        json_decref(j);
        remove(path);
    }
    return ok;
}

static const char *dsn;

/* Four runs at once: each task created once, capacity never exceeded. */
static void four_runs_at_once_never_duplicate(void)
{
    long created = 0, assigned = 0;
    CHECK_INT_EQ(run_parallel(dsn, 4, &created, &assigned), 4);
    CHECK_INT_EQ(created, atol(N_TRIGGERED)); /* each task created once */
    CHECK_INT_EQ(assigned, 180); /* 100 + 50 + 30: capacity, never more */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks"),
                 N_TRIGGERED);
    CHECK_STR_EQ(q(dsn, "SELECT count(DISTINCT dedupe_key) FROM "
                        "vigil.outreach_tasks"),
                 N_TRIGGERED);
    CHECK_STR_EQ(q(dsn, "SELECT string_agg(assignee || '=' || n, ' ' ORDER BY "
                        "assignee) FROM (SELECT assignee, count(*) n FROM "
                        "vigil.outreach_tasks WHERE assignee IS NOT NULL "
                        "GROUP BY 1) x"),
                 "a=100 b=50 c=30");
}

static void assigned_work_is_the_most_valuable(void)
{
    /* assigned work is the most valuable: nothing unassigned outranks an
     * assigned task its specialist could have taken (same language) */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks u WHERE "
                        "u.status = 'open' AND reason->>'unassigned' IS NULL"),
                 "0");
    CHECK_STR_EQ(q(dsn,
                   "SELECT count(*) FROM vigil.outreach_tasks u JOIN "
                   "vigil.outreach_tasks a ON a.assignee = 'a' AND u.status = "
                   "'open' AND u.reason->'customer'->>'language' = 'en' AND "
                   "u.priority > a.priority"),
                 "0");
}

static void failure_half_way_leaves_nothing(void)
{
    testdb_exec(dsn, "DELETE FROM vigil.deliveries; DELETE FROM "
                     "vigil.outreach_tasks");
    testdb_exec(dsn,
                "CREATE FUNCTION public.vt_boom() RETURNS trigger LANGUAGE "
                "plpgsql AS $$ BEGIN IF NEW.customer_id = 'C02400' THEN RAISE "
                "EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$;"
                "CREATE TRIGGER vt_boom BEFORE INSERT ON vigil.outreach_tasks "
                "FOR EACH ROW EXECUTE FUNCTION public.vt_boom()");
    cli_result *r = cli_run(dsn, "--quiet outreach --as-of " D);
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "injected failure") != NULL);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks"), "0");
    CHECK_STR_EQ(q(dsn, "SELECT status FROM vigil.job_runs WHERE job = "
                        "'outreach' ORDER BY run_id DESC LIMIT 1"),
                 "failed");
}

/* Killed mid-transaction: nothing, and the lock is released.
 * The trigger holds the run on C02400's task until the test lets go of an
 * advisory lock; the kill comes only once PostgreSQL shows the run waiting
 * there, inside its transaction (checked, never assumed). */
static void killed_run_leaves_nothing(void)
{
    testdb_exec(dsn,
                "CREATE OR REPLACE FUNCTION public.vt_boom() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN IF NEW.customer_id = 'C02400' "
                "THEN PERFORM pg_advisory_lock_shared(4244); "
                "PERFORM pg_advisory_unlock_shared(4244); END IF; "
                "RETURN NEW; END $$");
    {
        PGconn *hold = PQconnectdb(dsn);
        PGresult *lock = PQexec(hold, "SELECT pg_advisory_lock(4244)");
        CHECK_INT_EQ(PQresultStatus(lock), PGRES_TUPLES_OK);
        PQclear(lock);
        pid_t pid = fork();
        if (pid == 0) {
            char env[1100];
            snprintf(env, sizeof env, "VIGIL_DSN=%s", dsn);
            putenv(env);
            execl(getenv("VIGIL_BIN"), "vigil", "--quiet", "outreach",
                  "--as-of", D, (char *)NULL);
            _exit(127);
        }
        int seen = 0;
        for (int i = 0; i < 1200 && !seen; i++) {
            seen = atoi(q(dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
                               "application_name LIKE 'vigil/outreach/%' "
                               "AND wait_event_type = 'Lock' AND "
                               "xact_start IS NOT NULL")) > 0;
            if (!seen)
                usleep(50000);
        }
        CHECK(seen); /* the kill below hits the run inside its transaction */
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        CHECK(WIFSIGNALED(st));
        PGresult *unlock = PQexec(hold, "SELECT pg_advisory_unlock(4244)");
        CHECK_INT_EQ(PQresultStatus(unlock), PGRES_TUPLES_OK);
        PQclear(unlock);
        PQfinish(hold);
    }
    /* the server ends the orphaned transaction once its client is gone */
    int gone = 0;
    for (int i = 0; i < 1200 && !gone; i++) {
        gone = atoi(q(dsn, "SELECT count(*) FROM pg_stat_activity WHERE "
                           "application_name LIKE 'vigil/outreach/%'")) == 0;
        if (!gone)
            usleep(50000);
    }
    CHECK(gone);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks"), "0");
}

static void next_run_does_all_of_it(void)
{
    testdb_exec(dsn, "DROP TRIGGER vt_boom ON vigil.outreach_tasks");
    cli_result *r = cli_run(dsn, "--quiet outreach --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "created")),
                 atol(N_TRIGGERED));
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks"),
                 N_TRIGGERED);
    /* the killed run's row was closed by the next run's start */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.job_runs WHERE status = "
                        "'running'"),
                 "0");
}

int main(void)
{
    dsn = testdb_fresh("vt_outreach_conc");
    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    /* 3000 customers; every third enters at_risk or critical on D */
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(
        dsn,
        "INSERT INTO public.customers SELECT 'C' || lpad(i::text, 5, '0'), 'c' "
        "|| i, "
        " '2024-01-01', NULL, 'pro', 10 + i % 97, 1, CASE WHEN i % 5 = 0 "
        " THEN 'de' ELSE 'en' END FROM generate_series(1, 3000) i;"
        "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, "
        " tier) SELECT '2025-06-01', 'C' || lpad(i::text, 5, '0'), 0.05, 78, "
        "'healthy' "
        " FROM generate_series(1, 3000) i;"
        "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, "
        " tier) SELECT '" D
        "', 'C' || lpad(i::text, 5, '0'), CASE WHEN i % 3 = 0 "
        " THEN 0.3 + (i % 7) / 20.0 ELSE 0.05 END, 78, CASE WHEN i % 3 <> 0 "
        " THEN 'healthy' WHEN 0.3 + (i % 7) / 20.0 >= 0.5 THEN 'critical' "
        " ELSE 'at_risk' END FROM generate_series(1, 3000) i;"
        "INSERT INTO vigil.specialists (specialist_id, languages, skills, "
        " daily_capacity) VALUES ('a', '{en}', '{}', 100), ('b', '{en,de}', "
        " '{}', 50), ('c', '{de}', '{}', 30)");

    static const check_case cases[] = {
        CHECK_CASE(four_runs_at_once_never_duplicate),
        CHECK_CASE(assigned_work_is_the_most_valuable),
        CHECK_CASE(failure_half_way_leaves_nothing),
        CHECK_CASE(killed_run_leaves_nothing),
        CHECK_CASE(next_run_does_all_of_it),
    };
    return check_run("db_outreach_concurrency", cases,
                     sizeof cases / sizeof cases[0]);
}
