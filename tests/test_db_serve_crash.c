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

int main(void)
{
    const char *dsn0 = testdb_fresh("vt_serve_crash");
    char dsn[1024];
    snprintf(dsn, sizeof dsn, "%s", dsn0);
    char cfg[128], log[128], sql[512], when[32];
    snprintf(cfg, sizeof cfg, "/tmp/vt_serve_crash_%d.json", (int)getpid());
    snprintf(log, sizeof log, "/tmp/vt_serve_crash_%d.log", (int)getpid());
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 300 --seed 5")->status,
                 0);

    /* ---- kill -9 while the job's transaction is open ----------------------
     */
    time_t t0 = one_shot(cfg, 3, "none");
    sv_iso(t0, when);
    pid_t pid = sv_start(dsn, cfg, log, "VIGIL_TEST_COMMIT_DELAY_MS=60000");
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

    /* Restart: the run is found abandoned and redone, once. */
    pid = sv_start(dsn, cfg, log, NULL);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(attempt || ':' || status, ',' ORDER BY "
             "attempt) FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK(sv_wait_sql(dsn, sql, "1:failed,2:ok", 40));
    snprintf(sql, sizeof sql,
             "SELECT error FROM vigil.job_runs WHERE scheduled_for = '%s' AND "
             "attempt = 1",
             when);
    CHECK_STR_EQ(q(dsn, sql), "abandoned: the process running it died");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "1");
    CHECK(strstr(sv_log(log), "abandoned by a process that died") != NULL);
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);

    /* ---- SIGTERM while the job's transaction is open --------------------- */
    time_t t1 = one_shot(cfg, 3, "none");
    sv_iso(t1, when);
    pid = sv_start(dsn, cfg, log, "VIGIL_TEST_COMMIT_DELAY_MS=60000");
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

    /* The next start catches the canceled run up. */
    pid = sv_start(dsn, cfg, log, NULL);
    snprintf(sql, sizeof sql,
             "SELECT string_agg(attempt || ':' || status, ',' ORDER BY "
             "attempt) FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK(sv_wait_sql(dsn, sql, "1:canceled,2:ok", 40));
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "2");
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);

    /* ---- missed runs: caught up once, not once per missed day -------------
     */
    /* An hour before t0's time of day: today's occurrence has passed, like
     * the 6 before it, and none of them ran. */
    time_t t2 = one_shot(cfg, (int)(t0 - 3600 - time(NULL)), "latest");
    sv_iso(t2, when);
    pid = sv_start(dsn, cfg, log, NULL);
    snprintf(sql, sizeof sql,
             "SELECT status FROM vigil.job_runs WHERE scheduled_for = '%s'",
             when);
    CHECK(sv_wait_sql(dsn, sql, "ok", 40));
    sv_sleep_ms(2500); /* several sweeps: nothing more starts */
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.job_runs"), "5");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.models"), "3");

    /* Every scheduled time ended with exactly one success. */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM (SELECT scheduled_for FROM "
                        "vigil.job_runs GROUP BY 1 HAVING count(*) FILTER "
                        "(WHERE status = 'ok') <> 1) x"),
                 "0");
    remove(cfg);
    remove(log);
    return check_done("db_serve_crash");
}
