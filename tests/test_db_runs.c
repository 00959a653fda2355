/* test_db_runs.c — the guard rails around a job's date and `vigil runs`:
 * a date after today or after the newest source data is refused (naming the
 * latest data date) unless --force; a database without schema vigil says to
 * run `vigil init`; `runs list` shows the ledger; `runs undo` removes what
 * one run wrote — scores, a model (the previous champion back), outreach
 * tasks — in one transaction, refusing what would leave later runs dangling. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static long long num(const char *dsn, const char *sql)
{
    return atoll(testdb_value(dsn, sql));
}

/* Run a job with --json; its run_id (0 on failure). */
static long long run_job(const char *dsn, const char *cfg, const char *job,
                         long long *created)
{
    char args[512];
    snprintf(args, sizeof args, "--quiet --config %s %s --json", cfg, job);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = r->status == 0 ? cli_json(r) : NULL;
    long long id = j ? jint(j, "run_id") : 0;
    if (created && j)
        *created = jint(j, "created");
    json_decref(j);
    return id;
}

int main(void)
{
    const char *dsn = testdb_fresh("vigil_test_runs");
    char cfg[128], args[512], sql[512];
    snprintf(cfg, sizeof cfg, "/tmp/vigil-test-runs-%d.json", (int)getpid());
    FILE *f = fopen(cfg, "w");
    fputs("{\"train\": {\"search\": false}}", f);
    fclose(f);

    /* Data up to 2026-05-31 (the day before --end). */
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet demo --customers 300 --seed 11 --end 2026-06-01")
            ->status,
        0);

    /* Without schema vigil: say what to run, not a bare SQL error. */
    cli_result *r = cli_run(dsn, "score --as-of 2026-06-01");
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "run `vigil init` first") != NULL);
    CHECK(strstr(r->err, "schema_migrations") == NULL);
    r = cli_run(dsn, "runs list");
    CHECK(strstr(r->err, "run `vigil init` first") != NULL);
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);

    /* A job on a schema without the relations says what to create. */
    char cfg2[128];
    snprintf(cfg2, sizeof cfg2, "/tmp/vigil-test-runs-%d-b.json",
             (int)getpid());
    f = fopen(cfg2, "w");
    fputs("{\"source\": {\"schema\": \"crm\"}}", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s train --as-of 2026-06-01", cfg2);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err,
                 "there is no relation crm.customers: create a view "
                 "crm.customers with columns customer_id text") != NULL);
    remove(cfg2);

    /* A source that is quiet on weekends (weekday rows up to Friday
     * 2026-05-29): Monday's run passes the guard (and stops later, for
     * want of a model: exit 6), Tuesday's is refused naming the Friday. */
    testdb_exec(dsn,
                "CREATE SCHEMA wk;"
                "CREATE TABLE wk.customers (customer_id text, name text, "
                " created_at timestamptz, canceled_at timestamptz, plan text, "
                " mrr numeric, seats int, language text);"
                "CREATE TABLE wk.usage_events (customer_id text, occurred_at "
                " timestamptz, event_type text, user_id text, quantity "
                " float8);"
                "CREATE TABLE wk.tickets (ticket_id text, customer_id text, "
                " created_at timestamptz, first_response_at timestamptz, "
                " resolved_at timestamptz, status text, priority text, "
                " channel text, subject text, body text, csat smallint, "
                " reopens int, escalated boolean);"
                "INSERT INTO wk.customers VALUES ('W1', 'w', '2026-01-01', "
                " NULL, 'team', 10, 1, 'en');"
                "INSERT INTO wk.usage_events SELECT 'W1', d + interval "
                " '10 hours', 'login', 'u', NULL FROM generate_series("
                " '2026-03-02'::timestamptz, '2026-05-29', '1 day') d "
                " WHERE extract(isodow FROM d) < 6");
    snprintf(cfg2, sizeof cfg2, "/tmp/vigil-test-runs-%d-c.json",
             (int)getpid());
    f = fopen(cfg2, "w");
    fputs("{\"source\": {\"schema\": \"wk\"}}", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s score --as-of 2026-06-01", cfg2);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 6);
    snprintf(args, sizeof args, "--config %s score --as-of 2026-06-02", cfg2);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "is from 2026-05-29, 4 days before") != NULL);
    remove(cfg2);

    /* A date after today: refused with exit 2 before anything is written. */
    r = cli_run(dsn, "outreach --as-of 2999-12-31");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "after today") != NULL);
    CHECK(strstr(r->err, "--force") != NULL);
    /* Past the newest data by more than a day: exit 5, naming 2026-05-31;
     * the demo's stray future-dated rows (dirty data) do not count. */
    r = cli_run(dsn, "score --as-of 2026-06-03");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "latest source data") != NULL);
    CHECK(strstr(r->err, "is from 2026-05-31") != NULL);
    CHECK(strstr(r->err, "--as-of 2026-06-01 or earlier") != NULL);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.outreach_tasks"), 0);
    /* Refused runs are in the ledger with their reason. */
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.job_runs WHERE status "
                          "= 'failed' AND error LIKE '%latest source data%'"),
                 2);

    /* Train, score and queue for 2026-06-01 (one day after the data: fine). */
    long long train1 = run_job(
        dsn, cfg, "train --as-of 2026-06-01 --lookback 56 --step 14", NULL);
    long long model1 = num(dsn, "SELECT model_id FROM vigil.models");
    long long score1 = run_job(dsn, cfg, "score --as-of 2026-06-01", NULL);
    long long created = 0;
    long long out1 = run_job(dsn, cfg, "outreach --as-of 2026-06-01", &created);
    CHECK(created > 0);
    /* --force lets the rare real case through the guard. */
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet score --as-of 2026-06-03 --force")->status, 0);
    long long score2 = num(dsn, "SELECT max(run_id) FROM vigil.job_runs");

    /* Every result row carries the run that wrote it. */
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.scores WHERE run_id = %lld", score1);
    long long scored = num(dsn, sql);
    CHECK(scored > 0);
    CHECK_INT_EQ(scored, num(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                  "as_of = '2026-06-01'"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.outreach_tasks WHERE run_id = %lld",
             out1);
    CHECK_INT_EQ(num(dsn, sql), created);

    /* runs list: newest first, as one JSON object. */
    r = cli_run(dsn, "runs list --json --limit 3");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j && json_array_size(json_object_get(j, "runs")) == 3);
    CHECK(j && jint(json_array_get(json_object_get(j, "runs"), 0), "run_id") ==
                   score2);
    CHECK(j && jint(j, "total") >= 6);
    json_decref(j);

    /* The model of train1 scored customers: its undo must wait for them. */
    snprintf(args, sizeof args, "runs undo %lld", train1);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "undo those score runs first") != NULL);

    /* Undo the outreach run: its tasks go, in one transaction; one a
     * person closed is kept. */
    snprintf(sql, sizeof sql,
             "UPDATE vigil.outreach_tasks SET status = 'done', outcome = "
             "'saved', closed_at = now() WHERE task_id = (SELECT min(task_id) "
             "FROM vigil.outreach_tasks WHERE run_id = %lld)",
             out1);
    testdb_exec(dsn, sql);
    snprintf(args, sizeof args, "runs undo %lld --json", out1);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK(j && jint(j, "tasks_deleted") == created - 1);
    CHECK(j && jint(j, "tasks_kept_closed_by_people") == 1);
    json_decref(j);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.outreach_tasks"), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.job_runs WHERE run_id = %lld AND "
             "stats ? 'undone_at'",
             out1);
    CHECK_INT_EQ(num(dsn, sql), 1);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "undone already") != NULL);

    /* A second model that became champion (made so by hand: whether a
     * retrained model wins is the trainer's business), then undo both score
     * runs and the second training: model2 goes, model1 is champion again. */
    long long train2 = run_job(
        dsn, cfg, "train --as-of 2026-06-01 --lookback 56 --step 14", NULL);
    long long model2 = num(dsn, "SELECT max(model_id) FROM vigil.models");
    CHECK(model2 > model1);
    snprintf(sql, sizeof sql,
             "UPDATE vigil.models SET is_champion = false; UPDATE "
             "vigil.models SET is_champion = true WHERE model_id = %lld",
             model2);
    testdb_exec(dsn, sql);
    snprintf(args, sizeof args, "runs undo %lld", score2);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    snprintf(args, sizeof args, "runs undo %lld", score1);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.scores"), 0);

    /* One transaction: a failure in the last step leaves everything as it
     * was (the champion flag is released in an earlier step). */
    testdb_exec(dsn,
                "CREATE FUNCTION pg_temp_block() RETURNS trigger LANGUAGE "
                "plpgsql AS $$BEGIN RAISE EXCEPTION 'blocked by the test'; "
                "END$$;"
                "CREATE TRIGGER block_delete BEFORE DELETE ON vigil.models "
                "FOR EACH ROW EXECUTE FUNCTION pg_temp_block()");
    snprintf(args, sizeof args, "runs undo %lld", train2);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "blocked by the test") != NULL);
    snprintf(sql, sizeof sql,
             "SELECT is_champion::text FROM vigil.models WHERE model_id = "
             "%lld",
             model2);
    CHECK_STR_EQ(testdb_value(dsn, sql), "true");
    testdb_exec(dsn, "DROP TRIGGER block_delete ON vigil.models");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "champion_restored 1") != NULL);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.models WHERE model_id = %lld", model2);
    CHECK_INT_EQ(num(dsn, sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT is_champion::text FROM vigil.models WHERE model_id = "
             "%lld",
             model1);
    CHECK_STR_EQ(testdb_value(dsn, sql), "true");
    /* with its scores gone, the first model can go too */
    snprintf(args, sizeof args, "runs undo %lld", train1);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.models"), 0);

    /* A topics run: its topic model, assignments and alert history go. */
    long long topics1 = run_job(dsn, cfg, "topics --as-of 2026-06-01", NULL);
    CHECK(num(dsn, "SELECT count(*) FROM vigil.topic_models") > 0);
    CHECK(num(dsn, "SELECT count(*) FROM vigil.ticket_topics") > 0);
    snprintf(args, sizeof args, "runs undo %lld --json", topics1);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.topic_models"), 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.ticket_topics"), 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.trend_alert_days"), 0);
    CHECK_INT_EQ(num(dsn, "SELECT count(*) FROM vigil.trend_alerts"), 0);

    /* What cannot be undone says why. */
    CHECK_INT_EQ(cli_run(dsn, "runs undo 999999")->status, 2);
    snprintf(sql, sizeof sql,
             "SELECT min(run_id) FROM vigil.job_runs WHERE status = 'failed'");
    snprintf(args, sizeof args, "runs undo %s", testdb_value(dsn, sql));
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "rolled its work back") != NULL);

    /* topics is judged by the tickets it reads: tickets that stopped on
     * Friday 2026-05-29 refuse it on Wednesday although usage events go
     * on (and score, judged by both, passes the guard, stopping later for
     * want of a model: exit 6). */
    testdb_exec(dsn,
                "CREATE SCHEMA tk;"
                "CREATE TABLE tk.customers AS SELECT * FROM wk.customers;"
                "CREATE TABLE tk.usage_events (LIKE wk.usage_events);"
                "CREATE TABLE tk.tickets (LIKE wk.tickets);"
                "INSERT INTO tk.usage_events SELECT 'W1', d + interval "
                " '10 hours', 'login', 'u', NULL FROM generate_series("
                " '2026-03-02'::timestamptz, '2026-06-02', '1 day') d;"
                "INSERT INTO tk.tickets (ticket_id, customer_id, created_at, "
                " subject, body) SELECT 'T' || extract(doy FROM d), 'W1', d + "
                " interval '9 hours', 'login', 'cannot log in' FROM "
                " generate_series('2026-03-02'::timestamptz, '2026-05-29', "
                " '1 day') d WHERE extract(isodow FROM d) < 6");
    char cfg3[128];
    snprintf(cfg3, sizeof cfg3, "/tmp/vigil-test-runs-%d-d.json",
             (int)getpid());
    f = fopen(cfg3, "w");
    fputs("{\"source\": {\"schema\": \"tk\"}}", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-03", cfg3);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "(tickets in schema tk) is from 2026-05-29") != NULL);
    snprintf(args, sizeof args, "--config %s score --as-of 2026-06-03", cfg3);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 6);
    remove(cfg3);

    remove(cfg);
    return check_done("db_runs");
}
