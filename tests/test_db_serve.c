/* test_db_serve.c — `vigil serve` runs a job on a schedule seconds apart,
 * once per scheduled time, recorded in vigil.job_runs; and two instances on
 * one database still run each scheduled time exactly once. */
#include "cli.h"
#include "serve_helpers.h"

static const char *q(const char *dsn, const char *sql)
{
    static char buf[4096];
    snprintf(buf, sizeof buf, "%s", testdb_value(dsn, sql));
    return buf;
}

static char dsn[1024], cfg[128], logA[128], logB[128];
/* the newest scheduled time before the two-instance cases */
static char before[64];

/* One instance, a run every 3 seconds. */
static void one_instance_runs_on_schedule(void)
{
    sv_write(cfg, "{\"schedule\": {\"train\": \"*/3 * * * * *\", \"daily\": "
                  "null, \"topics\": null},"
                  " \"http\": {\"listen\": \"127.0.0.1:0\"},"
                  " \"serve\": {\"sweep_seconds\": 1},"
                  " \"train\": {\"search\": false}}");
    pid_t a = sv_start(dsn, cfg, logA, NULL);
    CHECK(sv_port(logA) > 0);
    CHECK(sv_wait_sql(dsn,
                      "SELECT count(*) >= 3 FROM vigil.job_runs WHERE job = "
                      "'train' AND status = 'ok' AND scheduled_for IS NOT NULL",
                      "t", 40));
    CHECK_INT_EQ(sv_stop(a, SIGTERM, 30), 0);
    CHECK(strstr(sv_log(logA), "vigil serve stopped") != NULL);
}

static void each_scheduled_time_runs_once(void)
{
    /* Each scheduled time once, on the schedule, and each run really ran
     * once: one model per successful run. */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM (SELECT scheduled_for FROM "
                        "vigil.job_runs WHERE scheduled_for IS NOT NULL "
                        "GROUP BY 1 HAVING count(*) <> 1) x"),
                 "0");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.job_runs WHERE "
                        "scheduled_for IS NOT NULL AND (extract(second FROM "
                        "scheduled_for)::int % 3 <> 0 OR job <> 'train')"),
                 "0");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.job_runs WHERE status "
                        "NOT IN ('ok', 'canceled')"),
                 "0");
    CHECK_STR_EQ(q(dsn,
                   "SELECT count(*) = (SELECT count(*) FROM "
                   "vigil.job_runs WHERE status = 'ok') FROM vigil.models"),
                 "t");
}

static void ledger_records_each_run(void)
{
    /* The ledger: start, end, stats of the job, as-of = scheduled UTC day. */
    CHECK_STR_EQ(q(dsn, "SELECT bool_and(started_at >= scheduled_for AND "
                        "finished_at >= started_at AND stats ? 'model_id' AND "
                        "as_of = (scheduled_for AT TIME ZONE 'UTC')::date "
                        "AND attempt = 1) FROM vigil.job_runs WHERE status = "
                        "'ok'"),
                 "t");
}

/* Two instances, a run every 2 seconds. */
static void two_instances_both_fire(void)
{
    snprintf(before, sizeof before, "%.63s",
             q(dsn, "SELECT max(scheduled_for) FROM vigil.job_runs"));
    /* No catch-up here: a missed even second just before the start would
     * run once more, outside the times this phase counts. */
    sv_write(cfg, "{\"schedule\": {\"train\": \"*/2 * * * * *\", \"daily\": "
                  "null, \"topics\": null, \"catch_up\": \"none\"},"
                  " \"http\": {\"listen\": \"127.0.0.1:0\"},"
                  " \"serve\": {\"sweep_seconds\": 1},"
                  " \"train\": {\"search\": false}}");
    pid_t a = sv_start(dsn, cfg, logA, NULL);
    pid_t b = sv_start(dsn, cfg, logB, NULL);
    CHECK(sv_port(logA) > 0 && sv_port(logB) > 0);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) >= 5 FROM vigil.job_runs WHERE status = 'ok' "
             "AND scheduled_for > '%s'",
             before);
    CHECK(sv_wait_sql(dsn, sql, "t", 60));
    CHECK_INT_EQ(sv_stop(a, SIGTERM, 30), 0);
    CHECK_INT_EQ(sv_stop(b, SIGTERM, 30), 0);
}

static void two_instances_run_each_time_once(void)
{
    char sql[512];
    /* Both instances fired for every time; the ledger let one run it: one
     * attempt per time, except that a run canceled when A stopped may be
     * redone by B (a second attempt, never a second success). */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM (SELECT scheduled_for FROM vigil.job_runs "
             "WHERE scheduled_for > '%s' GROUP BY 1 HAVING "
             "count(*) FILTER (WHERE status = 'ok') > 1 OR "
             "count(*) FILTER (WHERE status NOT IN ('ok', 'canceled')) > 0 OR "
             "count(*) > 1 + count(*) FILTER (WHERE status = 'canceled') OR "
             "extract(second FROM scheduled_for)::int %% 2 <> 0) x",
             before);
    CHECK_STR_EQ(q(dsn, sql), "0");
    if (strcmp(q(dsn, sql), "0") != 0) {
        snprintf(sql, sizeof sql,
                 "SELECT string_agg(concat_ws(' ', scheduled_for, attempt, "
                 "status, error), E'\\n' ORDER BY run_id) FROM "
                 "vigil.job_runs WHERE scheduled_for > '%s'",
                 before);
        fprintf(stderr, "ledger:\n%s\nA:\n%s\n", q(dsn, sql), sv_log(logA));
        fprintf(stderr, "B:\n%s\n", sv_log(logB));
    }
    CHECK_STR_EQ(q(dsn,
                   "SELECT count(*) = (SELECT count(*) FROM "
                   "vigil.job_runs WHERE status = 'ok') FROM vigil.models"),
                 "t");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.job_runs WHERE scheduled_for > '%s'",
             before);
    int rows = atoi(q(dsn, sql));
    char la[1 << 16], lb[1 << 16];
    snprintf(la, sizeof la, "%s", sv_log(logA));
    snprintf(lb, sizeof lb, "%s", sv_log(logB));
    int started = sv_count(la, "train: running the ") +
                  sv_count(lb, "train: running the ");
    CHECK(rows >= 5);
    CHECK_INT_EQ(started, rows); /* no run outside the ledger */
    fprintf(stderr, "two instances: %d runs, %d by A, %d by B\n", rows,
            sv_count(la, "train: running the "),
            sv_count(lb, "train: running the "));
}

int main(void)
{
    snprintf(dsn, sizeof dsn, "%s", testdb_fresh("vt_serve"));
    snprintf(cfg, sizeof cfg, "/tmp/vt_serve_%d.json", (int)getpid());
    snprintf(logA, sizeof logA, "/tmp/vt_serve_%d_a.log", (int)getpid());
    snprintf(logB, sizeof logB, "/tmp/vt_serve_%d_b.log", (int)getpid());

    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 300 --seed 3")->status,
                 0);

    static const check_case cases[] = {
        CHECK_CASE(one_instance_runs_on_schedule),
        CHECK_CASE(each_scheduled_time_runs_once),
        CHECK_CASE(ledger_records_each_run),
        CHECK_CASE(two_instances_both_fire),
        CHECK_CASE(two_instances_run_each_time_once),
    };
    int rc = check_run("db_serve", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    remove(logA);
    remove(logB);
    return rc;
}
