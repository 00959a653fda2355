/* test_db_serve_pgrestart.c — PostgreSQL restarts while a scheduled job is
 * inside its transaction: the job fails with a transient error, serve
 * reconnects, retries it with backoff, and the second attempt succeeds.
 * Restarting the shared test server would hurt other tests, so this one
 * starts a private server of its own with scripts/pg.sh. */
#include "cli.h"
#include "serve_helpers.h"

static const char *q(const char *dsn, const char *sql)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", testdb_value(dsn, sql));
    return buf;
}

/* scripts/ next to this file's tests/ directory. */
static void script_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s", __FILE__);
    char *slash = strrchr(out, '/');
    char *up = NULL;
    if (slash) {
        *slash = '\0';
        up = strrchr(out, '/');
    }
    if (up)
        snprintf(up, cap - (size_t)(up - out), "/scripts/pg.sh");
    else
        snprintf(out, cap, "../scripts/pg.sh");
}

static int sh(const char *cmd)
{
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The private server (its directory and DSN) and the serve the cases
 * follow through one restart. */
static char dir[128], dsn[1024], cfg[160], log_path[160], when[32];
static pid_t serve_pid;

/* The job holds its transaction open (VIGIL_TEST_COMMIT_DELAY_MS). */
static void job_waits_inside_its_transaction(void)
{
    serve_pid = sv_start(dsn, cfg, log_path, "VIGIL_TEST_COMMIT_DELAY_MS=3000");
    CHECK(sv_wait_sql(dsn,
                      "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND state = 'idle in transaction'",
                      "1", 40));
}

/* Restart the server under the job (same port and options). */
static void server_restarts_under_the_job(void)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd /tmp && pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | "
             "tail -1) && if [ \"$(id -u)\" = 0 ]; then runuser -u postgres "
             "-- \"$pgbin/pg_ctl\" -D '%s/data' -l '%s/postgres.log' -m fast "
             "-w restart >/dev/null; else \"$pgbin/pg_ctl\" -D '%s/data' -l "
             "'%s/postgres.log' -m fast -w restart >/dev/null; fi",
             dir, dir, dir, dir);
    CHECK_INT_EQ(sh(cmd), 0);
}

/* The attempt that hit the restart failed as "database unavailable" and
 * the retry succeeded: one model. */
static void run_retried_once_the_database_is_back(void)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT string_agg(attempt || ':' || status, ',' ORDER BY "
             "attempt) FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK(sv_wait_sql(dsn, sql, "1:failed,2:ok", 60));
    snprintf(sql, sizeof sql,
             "SELECT error LIKE 'database unavailable (attempt 1 of 4, "
             "retried): %%' FROM vigil.job_runs WHERE scheduled_for = '%s' AND "
             "attempt = 1",
             when);
    CHECK_STR_EQ(q(dsn, sql), "t");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "1");
}

/* The log says what happened; serve stops cleanly. */
static void log_says_what_happened(void)
{
    const char *l = sv_log(log_path);
    CHECK(strstr(l, "hit an unavailable database; retrying in 1 s") != NULL);
    CHECK(strstr(l, "database reachable again") != NULL);
    CHECK_INT_EQ(sv_stop(serve_pid, SIGTERM, 30), 0);
}

int main(void)
{
    check_test_dsn(); /* the suite's server must exist, as for every db test */
    char pg[512], cmd[2048];
    script_path(pg, sizeof pg);
    snprintf(dir, sizeof dir, "/tmp/vt_pgrestart_%d", (int)getpid());
    snprintf(cmd, sizeof cmd, "'%s' start '%s'", pg, dir);
    FILE *p = popen(cmd, "r");
    if (!p || !fgets(dsn, sizeof dsn, p)) {
        fprintf(stderr, "cannot start a private PostgreSQL with %s\n", cmd);
        return 1;
    }
    pclose(p);
    dsn[strcspn(dsn, "\n")] = '\0';

    snprintf(cfg, sizeof cfg, "%s.json", dir);
    snprintf(log_path, sizeof log_path, "%s.log", dir);
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 300 --seed 9")->status,
                 0);

    time_t t0 = time(NULL) + 3;
    char cron[64], json[512];
    sv_cron_at(t0, cron);
    sv_iso(t0, when);
    snprintf(json, sizeof json,
             "{\"schedule\": {\"train\": \"%s\", \"daily\": null, "
             "\"topics\": null, \"catch_up\": \"none\"}, "
             "\"http\": {\"listen\": \"127.0.0.1:0\"}, "
             "\"serve\": {\"sweep_seconds\": 1, \"max_retries\": 3}, "
             "\"train\": {\"search\": false}}",
             cron);
    sv_write(cfg, json);

    static const check_case cases[] = {
        CHECK_CASE(job_waits_inside_its_transaction),
        CHECK_CASE(server_restarts_under_the_job),
        CHECK_CASE(run_retried_once_the_database_is_back),
        CHECK_CASE(log_says_what_happened),
    };
    int rc =
        check_run("db_serve_pgrestart", cases, sizeof cases / sizeof cases[0]);
    snprintf(cmd, sizeof cmd, "'%s' stop '%s' && rm -rf '%s'", pg, dir, dir);
    if (sh(cmd) != 0) {
        fprintf(stderr, "could not stop the private PostgreSQL: %s\n", cmd);
        rc = 1;
    }
    remove(cfg);
    remove(log_path);
    return rc;
}
