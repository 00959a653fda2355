/* test_db_faults.c — the fault matrix (issue 12): every job (train, score,
 * topics, outreach) meets every fault (SIGTERM, kill -9, its backend
 * terminated by pg_terminate_backend, a statement failing inside
 * PostgreSQL) at a known moment: while it writes its results, inside its
 * transaction. A trigger on the table each job writes last either waits on
 * an advisory lock this test holds (the job is then seen waiting in
 * pg_stat_activity, under its application_name vigil/<job>/<run_id>, before
 * the fault is injected: no sleeps) or raises an error. Afterwards:
 *   - no data lost: every result table holds exactly what it held before;
 *   - no partial result: no row of any result table carries the run's id;
 *   - the ledger row says canceled or failed (at the latest once the next
 *     job has started), and no row is left `running`;
 *   - the next run of the same job succeeds and writes its results. */
#include "cli.h"
#include "serve_helpers.h"

#define AS_OF "2025-06-01"
#define KEY "4343" /* the advisory lock the trigger waits on */

typedef struct {
    const char *job;
    const char *args;  /* the command line, without --quiet */
    const char *table; /* where the trigger holds or fails it */
} job_def;

static const job_def jobs[] = {
    {"train", "train --as-of " AS_OF " --lookback 28 --step 14", "models"},
    {"score", "score --as-of " AS_OF, "scores"},
    /* --refit: a rerun for a date re-clusters and rewrites it all (without,
     * it only assigns tickets that have no topic yet: none) */
    {"topics", "topics --as-of " AS_OF " --refit", "ticket_topics"},
    {"outreach", "outreach --as-of " AS_OF, "outreach_tasks"},
};

typedef enum { F_SIGTERM, F_KILL9, F_TERMINATE, F_SQLERROR } fault;

static const char *dsn;
static char errlog[64];

/* `vigil --quiet args` in the background, stderr to errlog. */
static pid_t spawn(const char *args)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", args);
    const char *argv[13];
    int n = 0;
    for (char *s = NULL, *w = strtok_r(buf, " ", &s); w && n < 12;
         w = strtok_r(NULL, " ", &s))
        argv[n++] = w;
    argv[n] = NULL;
    return sv_spawn(dsn, errlog, argv);
}

static void set_mode(const char *table, const char *mode)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "UPDATE public.vt_fault SET mode = '%s' WHERE tbl = '%s'", mode,
             table);
    testdb_exec(dsn, sql);
}

/* Every vigil table whose rows carry the run that wrote them. */
static char run_tables[32][64];
static int nrun_tables;

static void find_run_tables(void)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *r =
        PQexec(c, "SELECT table_name FROM information_schema.columns WHERE "
                  "table_schema = 'vigil' AND column_name = 'run_id' AND "
                  "table_name <> 'job_runs' ORDER BY 1");
    for (int i = 0; i < PQntuples(r) && i < 32; i++)
        snprintf(run_tables[nrun_tables++], sizeof run_tables[0], "%s",
                 PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
}

/* Rows and a digest of the contents of every result table. */
static void snapshot(char *out, size_t n)
{
    size_t w = 0;
    out[0] = '\0';
    for (int i = 0; i < nrun_tables && w < n; i++) {
        char sql[2560];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, "
                 "',' ORDER BY t::text)), '') FROM vigil.%s t",
                 run_tables[i]);
        w += (size_t)snprintf(out + w, n - w, "%s=%s ", run_tables[i],
                              testdb_value(dsn, sql));
    }
}

/* Rows in all result tables written by run `run_id`. */
static long rows_of_run(const char *run_id)
{
    long total = 0;
    for (int i = 0; i < nrun_tables; i++) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM vigil.%s WHERE run_id = %s",
                 run_tables[i], run_id);
        total += atol(testdb_value(dsn, sql));
    }
    return total;
}

static const char *run_status(const char *run_id)
{
    char sql[128];
    snprintf(sql, sizeof sql,
             "SELECT status || ':' || coalesce(error, '') FROM "
             "vigil.job_runs WHERE run_id = %s",
             run_id);
    return testdb_value(dsn, sql);
}

/* Wait until the job's backend waits on the trigger's lock (its pid and
 * run id, from application_name vigil/<job>/<run_id>, into pid and run_id);
 * 0 when the job exited first or did not get there within 300 s. */
static int wait_held(const job_def *j, pid_t child, char *pid, char *run_id)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT pid || ' ' || split_part(application_name, '/', 3) FROM "
             "pg_stat_activity WHERE datname = current_database() AND "
             "application_name LIKE 'vigil/%s/%%' AND "
             "wait_event_type = 'Lock' AND wait_event = 'advisory'",
             j->job);
    double end = sv_now() + 300;
    while (sv_now() < end) {
        if (sscanf(testdb_value(dsn, sql), "%31s %31s", pid, run_id) == 2)
            return 1;
        int st;
        if (waitpid(child, &st, WNOHANG) == child) {
            fprintf(stderr, "%s exited before the fault: %s\n", j->job,
                    sv_log(errlog));
            return 0;
        }
        sv_sleep_ms(100);
    }
    fprintf(stderr, "%s never reached the trigger\n", j->job);
    return 0;
}

/* The fault as an SQL error inside the job: exit 4, the run failed. */
static void fault_by_sql_error(const job_def *j, char *run_id, size_t n)
{
    set_mode(j->table, "error");
    char args[256], sql[128];
    snprintf(args, sizeof args, "--quiet %s", j->args);
    cli_result *r = cli_run(dsn, args);
    CHECK(strstr(r->err, "vt_fault: injected") != NULL);
    snprintf(sql, sizeof sql,
             "SELECT max(run_id) FROM vigil.job_runs WHERE job = '%s'", j->job);
    snprintf(run_id, n, "%s", testdb_value(dsn, sql));
    CHECK_INT_EQ(r->status, 4);
    CHECK(strncmp(run_status(run_id), "failed:", 7) == 0);
}

/* How a job that held the fault's lock ended: SIGTERM is a cancel (exit
 * 10), a kill -9 leaves its backend to notice the client is gone (taking the
 * run's lease with it), a terminated backend is a lost connection (4). */
static void check_held_exit(const job_def *j, fault f, int st,
                            const char *run_id)
{
    if (f == F_KILL9) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM pg_stat_activity WHERE "
                 "application_name = 'vigil/%s/%s'",
                 j->job, run_id);
        CHECK(sv_wait_sql(dsn, sql, "0", 120));
        CHECK_INT_EQ(st, 128 + SIGKILL);
    } else if (f == F_SIGTERM) {
        CHECK_INT_EQ(st, 10);
        CHECK(strncmp(run_status(run_id), "canceled:", 9) == 0);
    } else {
        CHECK_INT_EQ(st, 4); /* a lost connection */
    }
}

/* The fault delivered while the job waits on the trigger's advisory lock,
 * at the moment it writes its table. 0 when the job never got there. */
static int fault_while_held(const job_def *j, fault f, char *run_id)
{
    char pid[32] = "";
    set_mode(j->table, "wait");
    PGconn *h = PQconnectdb(dsn);
    PQclear(PQexec(h, "SELECT pg_advisory_lock(" KEY ")"));
    pid_t child = spawn(j->args);
    int held = wait_held(j, child, pid, run_id);
    CHECK(held);
    if (!held) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        PQfinish(h);
        return 0;
    }
    if (f == F_SIGTERM)
        kill(child, SIGTERM);
    else if (f == F_KILL9)
        kill(child, SIGKILL);
    else {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT pg_terminate_backend(%s)::text",
                 pid[0] ? pid : "0");
        CHECK_STR_EQ(testdb_value(dsn, sql), "true");
    }
    int st = sv_wait_exit(child);
    PQclear(PQexec(h, "SELECT pg_advisory_unlock(" KEY ")"));
    PQfinish(h);
    check_held_exit(j, f, st, run_id);
    return 1;
}

/* A canceled or disconnected job ends on one line saying what happened
 * (after a lost connection, a warning that the ledger could not be written
 * may precede it). */
static void check_last_line(const job_def *j, fault f)
{
    const char *e = sv_log(errlog);
    const char *last = e;
    for (const char *p = e; *p && p[1]; p++)
        if (*p == '\n')
            last = p + 1;
    char want[64];
    snprintf(want, sizeof want, "vigil %s: ", j->job);
    CHECK(strncmp(last, want, strlen(want)) == 0);
    CHECK(strchr(last, '\n') == last + strlen(last) - 1);
    CHECK(strstr(last, f == F_SIGTERM ? "canceled by SIGTERM" : "connection") !=
          NULL);
    if (strncmp(last, want, strlen(want)) != 0)
        fprintf(stderr, "stderr of the %s job: %s\n", j->job, e);
}

/* The next run succeeds, writes its results, and leaves no stale row; the
 * faulted run is closed (abandoned when nothing could say goodbye). */
static void check_next_run(const job_def *j, fault f, const char *run_id)
{
    char args[256], sql[256];
    snprintf(args, sizeof args, "--quiet %s", j->args);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs WHERE "
                                   "status = 'running'"),
                 "0");
    const char *s = run_status(run_id);
    if (f == F_KILL9 || f == F_TERMINATE)
        CHECK(strncmp(s, "failed:abandoned", 16) == 0);
    else
        CHECK(strncmp(s, "running", 7) != 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) > 0 FROM vigil.%s WHERE run_id = (SELECT "
             "max(run_id) FROM vigil.job_runs WHERE job = '%s' AND status = "
             "'ok')",
             j->table, j->job);
    CHECK_STR_EQ(testdb_value(dsn, sql), "t");
}

static void matrix_case(const job_def *j, fault f)
{
    /* outreach only writes tasks that are not open already: start it from
     * none, so that it has something to write when the fault hits */
    if (strcmp(j->job, "outreach") == 0)
        testdb_exec(dsn, "DELETE FROM vigil.outreach_tasks");
    char before[4096], after[4096], run_id[32] = "";
    snapshot(before, sizeof before);
    if (f == F_SQLERROR) {
        fault_by_sql_error(j, run_id, sizeof run_id);
    } else if (!fault_while_held(j, f, run_id)) {
        set_mode(j->table, "off");
        return;
    }
    set_mode(j->table, "off");
    if (!run_id[0])
        snprintf(run_id, sizeof run_id, "0");
    if (f == F_SIGTERM || f == F_TERMINATE)
        check_last_line(j, f);
    /* nothing of the run visible, nothing lost */
    CHECK_INT_EQ(rows_of_run(run_id), 0);
    snapshot(after, sizeof after);
    CHECK_STR_EQ(after, before);
    check_next_run(j, f, run_id);
}

#define CASE(jn, fn, J, F)                                                     \
    static void jn##_##fn(void)                                                \
    {                                                                          \
        matrix_case(&jobs[J], F);                                              \
    }
#define ROW(jn, J)                                                             \
    CASE(jn, sigterm, J, F_SIGTERM)                                            \
    CASE(jn, kill9, J, F_KILL9)                                                \
    CASE(jn, backend_terminated, J, F_TERMINATE)                               \
    CASE(jn, statement_error, J, F_SQLERROR)
ROW(train, 0)
ROW(score, 1)
ROW(topics, 2)
ROW(outreach, 3)

int main(void)
{
    dsn = testdb_fresh("vt_faults");
    snprintf(errlog, sizeof errlog, "/tmp/vigil-faults-%d.err", (int)getpid());
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 200 --end " AS_OF
                              " --history-days 200 --seed 11")
                     ->status,
                 0);
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        char args[256];
        snprintf(args, sizeof args, "--quiet %s", jobs[i].args);
        CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    }
    testdb_exec(
        dsn,
        "CREATE TABLE public.vt_fault (tbl text PRIMARY KEY, mode text NOT "
        "NULL DEFAULT 'off');"
        "CREATE FUNCTION public.vt_fault() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ DECLARE m text; BEGIN "
        "SELECT mode INTO m FROM public.vt_fault WHERE tbl = TG_TABLE_NAME; "
        "IF m = 'wait' THEN PERFORM pg_advisory_lock_shared(" KEY "); "
        "PERFORM pg_advisory_unlock_shared(" KEY "); "
        "ELSIF m = 'error' THEN RAISE EXCEPTION 'vt_fault: injected failure "
        "writing %', TG_TABLE_NAME; END IF; RETURN NEW; END $$;");
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "INSERT INTO public.vt_fault (tbl) VALUES ('%s');"
                 "CREATE TRIGGER vt_fault BEFORE INSERT ON vigil.%s FOR EACH "
                 "ROW EXECUTE FUNCTION public.vt_fault()",
                 jobs[i].table, jobs[i].table);
        testdb_exec(dsn, sql);
    }
    find_run_tables();
    CHECK(nrun_tables >= 4);

    static const check_case cases[] = {
        CHECK_CASE(train_sigterm),
        CHECK_CASE(train_kill9),
        CHECK_CASE(train_backend_terminated),
        CHECK_CASE(train_statement_error),
        CHECK_CASE(score_sigterm),
        CHECK_CASE(score_kill9),
        CHECK_CASE(score_backend_terminated),
        CHECK_CASE(score_statement_error),
        CHECK_CASE(topics_sigterm),
        CHECK_CASE(topics_kill9),
        CHECK_CASE(topics_backend_terminated),
        CHECK_CASE(topics_statement_error),
        CHECK_CASE(outreach_sigterm),
        CHECK_CASE(outreach_kill9),
        CHECK_CASE(outreach_backend_terminated),
        CHECK_CASE(outreach_statement_error),
    };
    int rc = check_run("db_faults", cases, sizeof cases / sizeof cases[0]);
    remove(errlog);
    return rc;
}
