/* test_db_runs.c — the guard rails around a job's date and `vigil runs`:
 * a date after today or after the newest source data is refused (naming the
 * latest data date) unless --force; a database without schema vigil says to
 * run `vigil init`; `runs list` shows the ledger; `runs undo` removes what
 * one run wrote — scores, a model (the previous champion back), outreach
 * tasks — in one transaction, refusing what would leave later runs dangling.
 * The cases run in order on one database: later ones undo what earlier ones
 * ran. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

static const char *dsn;
static char cfg[128];
/* run ids and model ids the undo cases work on */
static long long train1, model1, score1, score2, out1, created;

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static long long num(const char *sql)
{
    return atoll(testdb_value(dsn, sql));
}

/* Run a job with --json; its run_id (0 on failure). */
static long long run_job(const char *job, long long *created_out)
{
    char args[512];
    snprintf(args, sizeof args, "--quiet --config %s %s --json", cfg, job);
    json_t *j = cli_json_ok(dsn, args);
    long long id = j ? jint(j, "run_id") : 0;
    if (created_out && j)
        *created_out = jint(j, "created");
    json_decref(j);
    return id;
}

/* `vigil runs undo <id> [extra]`; the result. */
static cli_result *undo(long long run_id, const char *extra)
{
    char args[128];
    snprintf(args, sizeof args, "runs undo %lld%s", run_id, extra);
    return cli_run(dsn, args);
}

/* Without schema vigil: say what to run, not a bare SQL error. */
static void without_schema_says_run_init(void)
{
    cli_result *r = cli_run(dsn, "score --as-of 2026-06-01");
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "run `vigil init` first") != NULL);
    CHECK(strstr(r->err, "schema_migrations") == NULL);
    r = cli_run(dsn, "runs list");
    CHECK(strstr(r->err, "run `vigil init` first") != NULL);
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
}

/* `vigil --config <a config reading source schema `schema`> <job_args>`:
 * the config is written for the run and removed after it. */
static cli_result *run_on_schema(const char *schema, const char *job_args)
{
    char path[128], text[128], args[512];
    snprintf(path, sizeof path, "/tmp/vigil-test-runs-%d-%s.json",
             (int)getpid(), schema);
    snprintf(text, sizeof text, "{\"source\": {\"schema\": \"%s\"}}", schema);
    check_write_file(path, text);
    snprintf(args, sizeof args, "--config %s %s", path, job_args);
    cli_result *r = cli_run(dsn, args);
    remove(path);
    return r;
}

/* A job on a schema without the relations says what to create. */
static void missing_relations_say_what_to_create(void)
{
    cli_result *r = run_on_schema("crm", "train --as-of 2026-06-01");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err,
                 "there is no relation crm.customers: create a view "
                 "crm.customers with columns customer_id text") != NULL);
}

/* Integer customer ids: train and score would work, topics and outreach
 * fail on their first join with vigil's own (text) tables, so every job
 * refuses the mapping up front and names the cast. */
static void integer_ids_refused_by_every_job(void)
{
    testdb_exec(dsn, "CREATE SCHEMA crm_int;"
                     "CREATE VIEW crm_int.customers AS SELECT "
                     " hashtext(customer_id) AS customer_id, name, created_at, "
                     " canceled_at, plan, mrr, seats, language "
                     " FROM public.customers;"
                     "CREATE VIEW crm_int.usage_events AS SELECT * FROM "
                     " public.usage_events;"
                     "CREATE VIEW crm_int.tickets AS SELECT * FROM "
                     " public.tickets");
    static const char *const jobs[] = {"train --as-of 2026-06-01",
                                       "outreach --as-of 2026-06-01"};
    for (size_t i = 0; i < 2; i++) {
        cli_result *r = run_on_schema("crm_int", jobs[i]);
        CHECK_INT_EQ(r->status, 5);
        CHECK(strstr(r->err,
                     "crm_int.customers.customer_id is integer: "
                     "vigil compares ids as text; cast it in the "
                     "view (customer_id::text AS customer_id)") != NULL);
    }
    testdb_exec(dsn, "DROP SCHEMA crm_int CASCADE");
}

/* A source that is quiet on weekends (weekday rows up to Friday
 * 2026-05-29): Monday's run passes the guard (and stops later, for want of a
 * model: exit 6), Tuesday's is refused naming the Friday. */
static void weekend_gap_passes_the_guard(void)
{
    testdb_source_tables(dsn, "wk", NULL);
    testdb_exec(dsn,
                "INSERT INTO wk.customers VALUES ('W1', 'w', '2026-01-01', "
                " NULL, 'team', 10, 1, 'en');"
                "INSERT INTO wk.usage_events SELECT 'W1', d + interval "
                " '10 hours', 'login', 'u', NULL FROM generate_series("
                " '2026-03-02'::timestamptz, '2026-05-29', '1 day') d "
                " WHERE extract(isodow FROM d) < 6");
    CHECK_INT_EQ(run_on_schema("wk", "score --as-of 2026-06-01")->status, 6);
    cli_result *r = run_on_schema("wk", "score --as-of 2026-06-02");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "is from 2026-05-29, 4 days before") != NULL);
}

/* A date before the source's data (nothing in the guard's window, rows only
 * later, here wk's of the case above): refused with exit 5, saying the data
 * lies after the date, not that days are missing. */
static void date_before_the_data_refused(void)
{
    cli_result *r = run_on_schema("wk", "score --as-of 2025-06-01");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "in the 90 days before 2025-06-01, only later (the "
                         "newest is from 2026-05-29)") != NULL);
    CHECK(strstr(r->err, "days before 2025-06-01: ") == NULL);
}

/* A date after today: refused with exit 2 before anything is written. */
static void date_after_today_refused(void)
{
    cli_result *r = cli_run(dsn, "outreach --as-of 2999-12-31");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "after today") != NULL);
    CHECK(strstr(r->err, "--force") != NULL);
}

/* Past the newest data by more than a day: exit 5, naming 2026-05-31; the
 * demo's stray future-dated rows (dirty data) do not count. Refused runs are
 * in the ledger with their reason. */
static void date_past_newest_data_refused(void)
{
    cli_result *r = cli_run(dsn, "score --as-of 2026-06-03");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "latest source data") != NULL);
    CHECK(strstr(r->err, "is from 2026-05-31") != NULL);
    CHECK(strstr(r->err, "--as-of 2026-06-01 or earlier") != NULL);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.outreach_tasks"), 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.job_runs WHERE status "
                     "= 'failed' AND error LIKE '%latest source data%'"),
                 2);
}

/* Train, score and queue for 2026-06-01 (one day after the data: fine);
 * --force lets the rare real case through the guard; every result row
 * carries the run that wrote it. */
static void result_rows_carry_their_run(void)
{
    char sql[512];
    train1 = run_job("train --as-of 2026-06-01 --lookback 56 --step 14", NULL);
    model1 = num("SELECT model_id FROM vigil.models");
    score1 = run_job("score --as-of 2026-06-01", NULL);
    out1 = run_job("outreach --as-of 2026-06-01", &created);
    CHECK(created > 0);
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet score --as-of 2026-06-03 --force")->status, 0);
    score2 = num("SELECT max(run_id) FROM vigil.job_runs");

    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.scores WHERE run_id = %lld", score1);
    long long scored = num(sql);
    CHECK(scored > 0);
    CHECK_INT_EQ(scored, num("SELECT count(*) FROM vigil.scores WHERE "
                             "as_of = '2026-06-01'"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.outreach_tasks WHERE run_id = %lld",
             out1);
    CHECK_INT_EQ(num(sql), created);
}

/* The rows of one date in vigil.scores, summed up. */
static const char *date_rows(const char *as_of)
{
    static char out[128];
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) || ' ' || coalesce(md5(string_agg(customer_id "
             "|| churn_risk || tier || drivers::text || run_id, ',' ORDER BY "
             "customer_id)), '-') FROM vigil.scores WHERE as_of = '%s'",
             as_of);
    snprintf(out, sizeof out, "%s", testdb_value(dsn, sql));
    return out;
}

/* With a champion the freshness check of score and daily runs beside the
 * reading of the features (cli_date_guard): a stale date is still refused
 * before anything is written — a re-scored date keeps its rows untouched,
 * a new date gets none, daily queues no tasks. */
static void stale_date_refused_with_a_model_writes_nothing(void)
{
    char before[128];
    snprintf(before, sizeof before, "%s", date_rows("2026-06-03"));
    CHECK(strncmp(before, "0 ", 2) != 0);
    long long tasks = num("SELECT count(*) FROM vigil.outreach_tasks");
    const char *refused = "SELECT count(*) FROM vigil.job_runs WHERE status "
                          "= 'failed' AND error LIKE '%latest source data%'";
    long long refused_before = num(refused);
    cli_result *r = cli_run(dsn, "score --as-of 2026-06-03");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "is from 2026-05-31") != NULL);
    CHECK_STR_EQ(date_rows("2026-06-03"), before);
    r = cli_run(dsn, "daily --as-of 2026-06-04");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "is from 2026-05-31") != NULL);
    CHECK_STR_EQ(date_rows("2026-06-04"), "0 -");
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.outreach_tasks"), tasks);
    /* both refusals are failed runs in the ledger, with the reason */
    CHECK_INT_EQ(num(refused), refused_before + 2);
}

/* runs list: newest first, as one JSON object. */
static void runs_list_newest_first(void)
{
    cli_result *r = cli_run(dsn, "runs list --json --limit 3");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j && json_array_size(json_object_get(j, "runs")) == 3);
    CHECK(j && jint(json_array_get(json_object_get(j, "runs"), 0), "run_id") ==
                   score2);
    CHECK(j && jint(j, "total") >= 6);
    json_decref(j);
}

/* The model of train1 scored customers: its undo must wait for them. */
static void undo_train_waits_for_its_scores(void)
{
    cli_result *r = undo(train1, "");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "undo those score runs first") != NULL);
}

/* Undo the outreach run: its tasks go, in one transaction; one a person
 * closed is kept; a second undo is refused. */
static void undo_outreach_keeps_closed_tasks(void)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE vigil.outreach_tasks SET status = 'done', outcome = "
             "'saved', closed_at = now() WHERE task_id = (SELECT min(task_id) "
             "FROM vigil.outreach_tasks WHERE run_id = %lld)",
             out1);
    testdb_exec(dsn, sql);
    cli_result *r = undo(out1, " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j && jint(j, "tasks_deleted") == created - 1);
    CHECK(j && jint(j, "tasks_kept_closed_by_people") == 1);
    json_decref(j);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.outreach_tasks"), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.job_runs WHERE run_id = %lld AND "
             "stats ? 'undone_at'",
             out1);
    CHECK_INT_EQ(num(sql), 1);
    r = undo(out1, " --json");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "undone already") != NULL);
}

static const char *is_champion(long long model_id)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT is_champion::text FROM vigil.models WHERE model_id = "
             "%lld",
             model_id);
    return testdb_value(dsn, sql);
}

/* A second model that became champion (made so by hand: whether a retrained
 * model wins is the trainer's business), then undo both score runs and the
 * second training: model2 goes, model1 is champion again. The undo is one
 * transaction: a failure in the last step leaves everything as it was (the
 * champion flag is released in an earlier step). */
static void undo_train_restores_the_champion(void)
{
    char sql[512];
    long long train2 =
        run_job("train --as-of 2026-06-01 --lookback 56 --step 14", NULL);
    long long model2 = num("SELECT max(model_id) FROM vigil.models");
    CHECK(model2 > model1);
    snprintf(sql, sizeof sql,
             "UPDATE vigil.models SET is_champion = false; UPDATE "
             "vigil.models SET is_champion = true WHERE model_id = %lld",
             model2);
    testdb_exec(dsn, sql);
    CHECK_INT_EQ(undo(score2, "")->status, 0);
    CHECK_INT_EQ(undo(score1, "")->status, 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.scores"), 0);

    testdb_exec(dsn,
                "CREATE FUNCTION pg_temp_block() RETURNS trigger LANGUAGE "
                "plpgsql AS $$BEGIN RAISE EXCEPTION 'blocked by the test'; "
                "END$$;"
                "CREATE TRIGGER block_delete BEFORE DELETE ON vigil.models "
                "FOR EACH ROW EXECUTE FUNCTION pg_temp_block()");
    cli_result *r = undo(train2, "");
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "blocked by the test") != NULL);
    CHECK_STR_EQ(is_champion(model2), "true");
    testdb_exec(dsn, "DROP TRIGGER block_delete ON vigil.models");
    r = undo(train2, "");
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "champion_restored 1") != NULL);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM vigil.models WHERE model_id = %lld", model2);
    CHECK_INT_EQ(num(sql), 0);
    CHECK_STR_EQ(is_champion(model1), "true");
    /* with its scores gone, the first model can go too */
    CHECK_INT_EQ(undo(train1, "")->status, 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.models"), 0);
}

/* A topics run: its topic model, assignments and alert history go. */
static void undo_topics_run(void)
{
    long long topics1 = run_job("topics --as-of 2026-06-01", NULL);
    CHECK(num("SELECT count(*) FROM vigil.topic_models") > 0);
    CHECK(num("SELECT count(*) FROM vigil.ticket_topics") > 0);
    cli_result *r = undo(topics1, " --json");
    CHECK_INT_EQ(r->status, 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.topic_models"), 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.ticket_topics"), 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.trend_alert_days"), 0);
    CHECK_INT_EQ(num("SELECT count(*) FROM vigil.trend_alerts"), 0);
}

/* What cannot be undone says why. */
static void what_cannot_be_undone_says_why(void)
{
    CHECK_INT_EQ(cli_run(dsn, "runs undo 999999")->status, 2);
    long long failed =
        num("SELECT min(run_id) FROM vigil.job_runs WHERE status = 'failed'");
    CHECK(failed > 0);
    cli_result *r = undo(failed, "");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "rolled its work back") != NULL);
}

/* topics is judged by the tickets it reads: tickets that stopped on
 * Friday 2026-05-29 refuse it on Wednesday although usage events go on
 * (score, judged by both, passes the guard and stops later for want of a
 * model: exit 6). Last: its refusal is a failed run in the ledger. */
static void topics_judged_by_its_tickets(void)
{
    testdb_source_tables(dsn, "tk", NULL);
    testdb_exec(dsn,
                "INSERT INTO tk.customers VALUES ('W1', 'w', '2026-01-01', "
                " NULL, 'team', 10, 1, 'en');"
                "INSERT INTO tk.usage_events SELECT 'W1', d + interval "
                " '10 hours', 'login', 'u', NULL FROM generate_series("
                " '2026-03-02'::timestamptz, '2026-06-02', '1 day') d;"
                "INSERT INTO tk.tickets (ticket_id, customer_id, created_at, "
                " subject, body) SELECT 'T' || extract(doy FROM d), 'W1', d + "
                " interval '9 hours', 'login', 'cannot log in' FROM "
                " generate_series('2026-03-02'::timestamptz, '2026-05-29', "
                " '1 day') d WHERE extract(isodow FROM d) < 6");
    cli_result *r = run_on_schema("tk", "topics --as-of 2026-06-03");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->err, "(tickets in schema tk) is from 2026-05-29") != NULL);
    CHECK_INT_EQ(run_on_schema("tk", "score --as-of 2026-06-03")->status, 6);
}

int main(void)
{
    dsn = testdb_fresh("vigil_test_runs");
    snprintf(cfg, sizeof cfg, "/tmp/vigil-test-runs-%d.json", (int)getpid());
    check_write_file(cfg, "{\"train\": {\"search\": false}}");

    /* Data up to 2026-05-31 (the day before --end). */
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet demo --customers 300 --seed 11 --end 2026-06-01")
            ->status,
        0);

    static const check_case cases[] = {
        CHECK_CASE(without_schema_says_run_init),
        CHECK_CASE(missing_relations_say_what_to_create),
        CHECK_CASE(integer_ids_refused_by_every_job),
        CHECK_CASE(weekend_gap_passes_the_guard),
        CHECK_CASE(date_before_the_data_refused),
        CHECK_CASE(date_after_today_refused),
        CHECK_CASE(date_past_newest_data_refused),
        CHECK_CASE(result_rows_carry_their_run),
        CHECK_CASE(runs_list_newest_first),
        CHECK_CASE(stale_date_refused_with_a_model_writes_nothing),
        CHECK_CASE(undo_train_waits_for_its_scores),
        CHECK_CASE(undo_outreach_keeps_closed_tasks),
        CHECK_CASE(undo_train_restores_the_champion),
        CHECK_CASE(undo_topics_run),
        CHECK_CASE(what_cannot_be_undone_says_why),
        CHECK_CASE(topics_judged_by_its_tickets),
    };
    int rc = check_run("db_runs", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
