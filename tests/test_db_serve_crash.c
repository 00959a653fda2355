/* test_db_serve_crash.c — a job interrupted mid-transaction leaves nothing
 * half-written and is redone: `kill -9` of serve (its child dies with it;
 * the run is found abandoned after a restart), and SIGTERM (the run is
 * canceled and rolled back, then caught up by the next start).
 * VIGIL_TEST_COMMIT_DELAY_MS holds the job's transaction open before commit
 * so the interruption lands inside it. */
#include "cli.h"
#include "serve_helpers.h"

static const char *q(const char *dsn, const char *sql)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", testdb_value(dsn, sql));
    return buf;
}

/* A config whose train job fires daily at now + `ahead` seconds (negative:
 * in the past); returns that time. catch_up "none" keeps yesterday's
 * occurrence from running at start unless asked for. */
static time_t one_shot(const char *cfg, int ahead, const char *catch_up)
{
    time_t t0 = time(NULL) + ahead;
    char cron[64], json[512];
    sv_cron_at(t0, cron);
    snprintf(json, sizeof json,
             "{\"schedule\": {\"train\": \"%s\", \"daily\": null, "
             "\"topics\": null, \"catch_up\": \"%s\"}, "
             "\"http\": {\"listen\": \"127.0.0.1:0\"}, "
             "\"serve\": {\"sweep_seconds\": 1, \"stop_timeout\": 10}, "
             "\"train\": {\"search\": false}}",
             cron, catch_up);
    sv_write(cfg, json);
    return t0;
}

static const char *in_tx_sql =
    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
    "AND state = 'idle in transaction'";

/* The cases run in order on one database and one schedule: `when` is the
 * scheduled time of the case at hand, t0 that of the first. */
static char dsn[1024], cfg[128], log_path[128], when[32];
static time_t t0;

/* SQL: the attempts of the run scheduled `when`, "1:failed,2:ok". */
static void attempts_sql(char *sql, size_t n)
{
    snprintf(sql, n,
             "SELECT string_agg(attempt || ':' || status, ',' ORDER BY "
             "attempt) FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
}

/* kill -9 while the job's transaction is open. */
static void kill_9_leaves_nothing_half_written(void)
{
    char sql[512];
    t0 = one_shot(cfg, 3, "none");
    sv_iso(t0, when);
    pid_t pid =
        sv_start(dsn, cfg, log_path, "VIGIL_TEST_COMMIT_DELAY_MS=60000");
    CHECK(
        sv_wait_sql(dsn, in_tx_sql, "1", 40)); /* model written, uncommitted */
    snprintf(sql, sizeof sql,
             "SELECT status FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK_STR_EQ(q(dsn, sql), "running");
    CHECK_INT_EQ(sv_stop(pid, SIGKILL, 10), -1);
    /* The child died with the service (no orphan keeps the transaction). */
    CHECK(sv_wait_sql(dsn,
                      "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND pid <> pg_backend_pid()",
                      "0", 10));
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "0");
    CHECK_STR_EQ(q(dsn, sql), "running"); /* nobody could close it */
}

/* Restart: the run is found abandoned and redone, once. */
static void restart_redoes_the_abandoned_run_once(void)
{
    char sql[512];
    pid_t pid = sv_start(dsn, cfg, log_path, NULL);
    attempts_sql(sql, sizeof sql);
    CHECK(sv_wait_sql(dsn, sql, "1:failed,2:ok", 40));
    snprintf(sql, sizeof sql,
             "SELECT error FROM vigil.job_runs WHERE scheduled_for = '%s' AND "
             "attempt = 1",
             when);
    CHECK_STR_EQ(q(dsn, sql), "abandoned: the process running it died");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "1");
    CHECK(strstr(sv_log(log_path), "abandoned by a process that died") != NULL);
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
}

/* SIGTERM while the job's transaction is open. */
static void sigterm_cancels_and_rolls_back(void)
{
    time_t t1 = one_shot(cfg, 3, "none");
    sv_iso(t1, when);
    char sql[512];
    pid_t pid =
        sv_start(dsn, cfg, log_path, "VIGIL_TEST_COMMIT_DELAY_MS=60000");
    CHECK(sv_wait_sql(dsn, in_tx_sql, "1", 40));
    double s0 = sv_now();
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
    CHECK(sv_now() - s0 < 10); /* did not wait out the 60 s delay */
    snprintf(sql, sizeof sql,
             "SELECT status || ' ' || error FROM vigil.job_runs WHERE "
             "scheduled_for = '%s'",
             when);
    CHECK_STR_EQ(q(dsn, sql), "canceled canceled: the service was stopping");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "1");
    CHECK(sv_wait_sql(dsn, in_tx_sql, "0", 10));
}

static void next_start_catches_up_the_canceled_run(void)
{
    /* The next start catches the canceled run up. */
    char sql[512];
    pid_t pid = sv_start(dsn, cfg, log_path, NULL);
    attempts_sql(sql, sizeof sql);
    CHECK(sv_wait_sql(dsn, sql, "1:canceled,2:ok", 40));
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "2");
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
}

/* Missed runs: caught up once, not once per missed day. */
static void missed_runs_caught_up_once(void)
{
    /* An hour before t0's time of day: today's occurrence has passed, like
     * the 6 before it, and none of them ran. */
    time_t t2 = one_shot(cfg, (int)(t0 - 3600 - time(NULL)), "latest");
    sv_iso(t2, when);
    char sql[512];
    pid_t pid = sv_start(dsn, cfg, log_path, NULL);
    snprintf(sql, sizeof sql,
             "SELECT status FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK(sv_wait_sql(dsn, sql, "ok", 40));
    sv_sleep_ms(2500); /* several sweeps: nothing more starts */
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.job_runs"), "5");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "3");
}

static void every_scheduled_time_one_success(void)
{
    /* Every scheduled time ended with exactly one success. */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM (SELECT scheduled_for FROM "
                        "vigil.job_runs GROUP BY 1 HAVING count(*) FILTER "
                        "(WHERE status = 'ok') <> 1) x"),
                 "0");
}

int main(void)
{
    snprintf(dsn, sizeof dsn, "%s", testdb_fresh("vt_serve_crash"));
    snprintf(cfg, sizeof cfg, "/tmp/vt_serve_crash_%d.json", (int)getpid());
    snprintf(log_path, sizeof log_path, "/tmp/vt_serve_crash_%d.log",
             (int)getpid());
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 300 --seed 5")->status,
                 0);

    static const check_case cases[] = {
        CHECK_CASE(kill_9_leaves_nothing_half_written),
        CHECK_CASE(restart_redoes_the_abandoned_run_once),
        CHECK_CASE(sigterm_cancels_and_rolls_back),
        CHECK_CASE(next_start_catches_up_the_canceled_run),
        CHECK_CASE(missed_runs_caught_up_once),
        CHECK_CASE(every_scheduled_time_one_success),
    };
    int rc = check_run("db_serve_crash", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    remove(log_path);
    return rc;
}
