/* test_db_pipeline.c — the main job end to end through the real binary on the
 * demo company: init, train, score, determinism, atomic replacement, leakage,
 * job ledger, CSV export, and the --json summaries of the contract. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2025-06-01"

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *scores_md5(const char *dsn)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s",
             testdb_value(dsn, "SELECT md5(string_agg(customer_id || ':' || "
                               "churn_risk || ':' || health "
                               "|| ':' || tier || ':' || drivers::text, ',' "
                               "ORDER BY customer_id)) "
                               "FROM vigil.scores WHERE as_of = '" D "'"));
    return buf;
}

/* Shared by the cases, which run in order and build on each other. */
static const char *dsn;
static json_int_t model1;
static json_int_t rows1;
static double auc;
static double ll;
static json_int_t scored;
static char md5a[64];
static char expect[32];
static char path[64];

static void init_is_idempotent(void)
{
    cli_result *r;
    /* init is idempotent */
    r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "init --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j && jint(j, "version") >= 1 &&
          jint(j, "from_version") == jint(j, "version"));
    json_decref(j);
}

static void old_database_is_upgraded(void)
{
    json_t *j;
    cli_result *r;
    /* a database at an older version (here: none recorded) is brought up
     * to date without touching what exists */
    testdb_exec(dsn, "DELETE FROM vigil.schema_migrations");
    r = cli_run(dsn, "init --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK(j && jint(j, "from_version") == 0 && jint(j, "version") >= 1);
    json_decref(j);
}

static void score_before_any_model_exits_6(void)
{
    cli_result *r;
    /* score before any model: exit 6 and what to do next */
    r = cli_run(dsn, "score --as-of " D);
    CHECK_INT_EQ(r->status, 6);
    CHECK(strstr(r->err, "vigil train") != NULL);
}

static void demo_company_loads(void)
{
    json_t *j;
    cli_result *r;
    r = cli_run(dsn,
                "--quiet demo --customers 1500 --seed 7 --end " D " --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK(j && jint(j, "customers") == 1500 && jint(j, "events") > 50000 &&
          jint(j, "tickets") > 1000);
    json_decref(j);
}

static void train_beats_its_baseline(void)
{
    json_t *j;
    char cmd[512];
    cli_result *r;
    /* train: the contract's summary, a model better than its baseline */
    r = cli_run(dsn, "--quiet --log-level warn train --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK(jint(j, "model_id") > 0);
    CHECK(jint(j, "rows") > 10000);
    CHECK(jint(j, "positives") > 50);
    CHECK(jint(j, "features") > 40);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "validation")), "time");
    json_t *m = json_object_get(j, "metrics"),
           *b = json_object_get(j, "baseline");
    auc = json_number_value(json_object_get(m, "auc"));
    ll = json_number_value(json_object_get(m, "logloss"));
    CHECK(auc > 0.70 && auc <= 1.0);
    CHECK(json_number_value(json_object_get(m, "pr_auc")) > 0);
    CHECK(json_number_value(json_object_get(m, "brier")) > 0);
    CHECK(ll > 0 && ll < 0.69);
    CHECK(ll <= json_number_value(json_object_get(b, "logloss")));
    CHECK(json_is_true(
        json_object_get(json_object_get(j, "champion"), "is_champion")));
    model1 = jint(j, "model_id"), rows1 = jint(j, "rows");
    json_decref(j);
    snprintf(cmd, sizeof cmd,
             "SELECT count(*) FROM vigil.models WHERE is_champion AND model_id "
             "= %lld",
             (long long)model1);
    CHECK_STR_EQ(testdb_value(dsn, cmd), "1");
}

static void score_covers_every_active_customer(void)
{
    json_t *j;
    cli_result *r;
    /* score: every active customer, tiers add up, rows are sane */
    r = cli_run(dsn, "--quiet score --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK(j != NULL);
    scored = j ? jint(j, "scored") : 0;
    json_t *tiers = j ? json_object_get(j, "tiers") : NULL;
    CHECK(scored > 500);
    CHECK_INT_EQ(jint(tiers, "healthy") + jint(tiers, "watch") +
                     jint(tiers, "at_risk") + jint(tiers, "critical"),
                 scored);
    /* honest calibration on ~30 churned validation rows is flat: the
     * riskiest customers reach 'watch' at least */
    CHECK(jint(tiers, "healthy") > 0 && jint(tiers, "critical") +
                                                jint(tiers, "at_risk") +
                                                jint(tiers, "watch") >
                                            0);
    CHECK_INT_EQ(jint(j, "model_id"), model1);
    /* dirty demo rows are counted, not silently used */
    json_t *sk = json_object_get(json_object_get(j, "skipped"), "usage_events");
    CHECK(jint(sk, "unknown_customer") + jint(sk, "null_customer_id") +
              jint(sk, "bad_quantity") >
          0);
    json_decref(j);
    snprintf(expect, sizeof expect, "%lld", (long long)scored);
    CHECK_STR_EQ(
        testdb_value(dsn,
                     "SELECT count(*) FROM vigil.scores WHERE as_of = '" D "'"),
        expect);
    /* active at D means created before D and not canceled before D */
    CHECK_STR_EQ(
        testdb_value(
            dsn,
            "SELECT count(*) FROM public.customers WHERE created_at < '" D "' "
            "AND (canceled_at IS NULL OR canceled_at >= '" D "')"),
        expect);
    CHECK_STR_EQ(
        testdb_value(
            dsn, "SELECT count(*) FROM vigil.scores WHERE churn_risk < 0 OR "
                 "churn_risk > 1 OR health NOT BETWEEN 0 AND 100"),
        "0");
    CHECK_STR_EQ(
        testdb_value(
            dsn,
            "SELECT bool_and(health = round(100 * (1 - sqrt(churn_risk)))) "
            "FROM vigil.scores"),
        "t");
}

static void drivers_strongest_first(void)
{
    /* drivers: strongest first, with feature, value, effect, text */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores s, "
                                   "jsonb_array_elements(s.drivers) d "
                                   "WHERE NOT (d ? 'feature' AND d ? 'value' "
                                   "AND d ? 'effect' AND d ? 'text') "
                                   "OR (d->>'effect')::float8 <= 0"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                   "tier IN ('at_risk','critical') "
                                   "AND jsonb_array_length(drivers) = 0"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                   "jsonb_array_length(drivers) > 1 "
                                   "AND (drivers->0->>'effect')::float8 < "
                                   "(drivers->1->>'effect')::float8"),
                 "0");
}

static void same_date_twice_replaces(void)
{
    cli_result *r;
    /* the same date twice: identical results, replaced not duplicated */
    snprintf(md5a, sizeof md5a, "%s", scores_md5(dsn));
    CHECK(strlen(md5a) == 32);
    r = cli_run(dsn, "--quiet score --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "riskiest customers") != NULL);
    CHECK_STR_EQ(scores_md5(dsn), md5a);
    CHECK_STR_EQ(
        testdb_value(dsn,
                     "SELECT count(*) FROM vigil.scores WHERE as_of = '" D "'"),
        expect);
}

static void failed_run_keeps_previous_results(void)
{
    cli_result *r;
    /* a run that fails half-way leaves the previous results intact */
    testdb_exec(dsn, "CREATE FUNCTION public.boom() RETURNS trigger LANGUAGE "
                     "plpgsql AS $$ BEGIN "
                     "IF NEW.customer_id > 'C000700' THEN RAISE EXCEPTION "
                     "'injected failure'; END IF; "
                     "RETURN NEW; END $$;"
                     "CREATE TRIGGER boom BEFORE INSERT ON vigil.scores FOR "
                     "EACH ROW EXECUTE FUNCTION public.boom();");
    r = cli_run(dsn, "--quiet score --as-of " D);
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "injected failure") != NULL);
    CHECK_STR_EQ(scores_md5(dsn), md5a);
    CHECK_STR_EQ(
        testdb_value(dsn, "SELECT status || ':' || (error LIKE '%injected "
                          "failure%') FROM vigil.job_runs "
                          "WHERE job = 'score' ORDER BY run_id DESC LIMIT 1"),
        "failed:true");
    testdb_exec(dsn, "DROP TRIGGER boom ON vigil.scores");
}

static void score_is_leak_free(void)
{
    cli_result *r;
    /* leakage: rows from D on (events, tickets, cancellations, new customers)
     * change nothing computed for D */
    testdb_exec(
        dsn, "INSERT INTO public.usage_events (customer_id, occurred_at, "
             "event_type, user_id, quantity) "
             " SELECT customer_id, '" D
             "'::timestamptz + interval '1 hour', 'login', 'late-user', NULL "
             " FROM public.customers;"
             "INSERT INTO public.tickets (ticket_id, customer_id, created_at, "
             "priority, subject, body, csat, escalated) "
             " SELECT 'late-' || customer_id, customer_id, '" D
             "'::timestamptz, 'urgent', 'x', 'y', 1, true "
             " FROM public.customers;"
             "UPDATE public.customers SET canceled_at = '" D
             "'::timestamptz + interval '2 days' "
             " WHERE canceled_at IS NULL AND customer_id < 'C000300';"
             "INSERT INTO public.customers (customer_id, name, created_at, "
             "plan, mrr, seats, language) "
             " VALUES ('LATE1', 'late', '" D
             "'::timestamptz + interval '1 day', 'team', 10, 1, 'en');");
    r = cli_run(dsn, "--quiet score --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    CHECK_STR_EQ(scores_md5(dsn), md5a);
}

static void train_is_leak_free(void)
{
    json_t *j;
    cli_result *r;
    /* training is leak-free too: D's model does not change with rows from D on
     */
    r = cli_run(dsn, "--quiet --log-level warn train --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        json_t *m2 = json_object_get(j, "metrics");
        CHECK_NEAR(json_number_value(json_object_get(m2, "logloss")), ll,
                   1e-12);
        CHECK_NEAR(json_number_value(json_object_get(m2, "auc")), auc, 1e-12);
        CHECK_INT_EQ(jint(j, "rows"), rows1);
        /* model1 fitted t_0's labels, so the guard is the baseline */
        CHECK(json_is_true(
            json_object_get(json_object_get(j, "champion"), "is_champion")));
        CHECK_INT_EQ(json_integer_value(json_object_get(
                         json_object_get(j, "champion"), "previous_model_id")),
                     model1);
    }
    json_decref(j);
    CHECK_STR_EQ(
        testdb_value(dsn,
                     "SELECT count(*) FROM vigil.models WHERE is_champion"),
        "1");
}

static void ledger_records_every_run(void)
{
    /* the ledger recorded every run with its stats */
    CHECK_STR_EQ(
        testdb_value(
            dsn,
            "SELECT count(*) FROM vigil.job_runs WHERE status = 'running'"),
        "0");
    CHECK_STR_EQ(
        testdb_value(
            dsn, "SELECT count(*) > 0 FROM vigil.job_runs WHERE job = 'train' "
                 "AND status = 'ok' AND stats ? 'model_id' AND finished_at >= "
                 "started_at"),
        "t");
}

static void features_csv_one_row_per_customer(void)
{
    char cmd[512];
    cli_result *r;
    /* features --out: one CSV row per active customer */
    snprintf(path, sizeof path, "/tmp/vigil-features-%d.csv", (int)getpid());
    snprintf(cmd, sizeof cmd, "--quiet features --as-of " D " --out %s", path);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    FILE *f = fopen(path, "r");
    long lines = 0;
    char line[65536];
    int header_ok = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (lines == 0)
            header_ok = strncmp(line, "customer_id,as_of,usage.", 24) == 0;
        lines++;
    }
    if (f)
        fclose(f);
    remove(path);
    CHECK(header_ok);
    CHECK_INT_EQ(lines, scored + 1);
}

/* features without --out counts the same customers it would write; --out
 * with --pg-only (which computes no matrix) is a usage error. */
static void features_count_matches_and_modes_exclude(void)
{
    cli_result *r = cli_run(dsn, "--quiet features --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j && jint(j, "customers") == scored);
    json_decref(j);
    r = cli_run(dsn, "features --as-of " D " --pg-only --out /dev/null");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "--out") != NULL);
}

static void backtest_with_later_model_refused(void)
{
    cli_result *r;
    /* backtests: scoring an earlier date with a later model is refused */
    r = cli_run(dsn, "--quiet score --as-of 2025-05-01");
    CHECK_INT_EQ(r->status, 6);
    CHECK(strstr(r->err, "train --as-of 2025-05-01") != NULL);
}

static void usage_and_config_errors(void)
{
    char cmd[512];
    cli_result *r;
    /* usage and config errors */
    r = cli_run(dsn, "score --as-of 2025-02-30");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "YYYY-MM-DD") != NULL);
    r = cli_run(dsn, "frobnicate");
    CHECK_INT_EQ(r->status, 2);
    cli_config(path, sizeof path, "pipeline", "%s",
               "{\"score\": {\"drivers\": 3, \"tiers\": {\"critcal\": 0.5}}}");
    snprintf(cmd, sizeof cmd, "--config %s score", path);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "score.tiers.critcal") && strstr(r->err, path));
    remove(path);
    const char *helps[] = {"--help",       "init --help",     "train --help",
                           "score --help", "features --help", "demo --help"};
    for (size_t i = 0; i < sizeof helps / sizeof *helps; i++) {
        r = cli_run(dsn, helps[i]);
        CHECK_INT_EQ(r->status, 0);
        CHECK(strstr(r->out, "usage: vigil") != NULL);
    }
}

/* A word left over after the options (a typo, a value without its option)
 * is a usage error naming it, before anything runs: once it was ignored,
 * and `score --as-of D typo` scored D. (`serve` is left out: run without
 * the check it would not return.) */
static void stray_operands_refused(void)
{
    const char *cmds[] = {
        "init",
        "demo",
        "check",
        "features --as-of " D,
        "train --as-of " D,
        "score --as-of 2025-06-02",
        "topics --as-of " D,
        "outreach --as-of " D,
        "daily --as-of " D,
        "report --out /dev/null",
        "backtest --from 2025-04-01 --to 2025-04-01",
        "deliver",
        "config-keys",
        "customer C1",
        "tasks list",
        "tasks show 1",
        "specialists list",
        "specialists deactivate nobody",
    };
    char cmd[256];
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        snprintf(cmd, sizeof cmd, "%s stray", cmds[i]);
        cli_result *r = cli_run(dsn, cmd);
        CHECK_INT_EQ(r->status, 2);
        if (!strstr(r->err, "unexpected argument 'stray'"))
            fprintf(stderr, "`vigil %s`: %s\n", cmd, r->err);
        CHECK(strstr(r->err, "unexpected argument 'stray'") != NULL);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores "
                                   "WHERE as_of = '2025-06-02'"),
                 "0");
}

static void json_logs_one_object_per_line(void)
{
    cli_result *r;
    /* JSON logs: one object per line with level and message */
    r = cli_run(dsn, "--log-format json --log-level debug score --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    {
        char *ln = strtok(r->err, "\n");
        int nlines = 0, ok = 1;
        while (ln) {
            json_error_t je;
            json_t *o = json_loads(ln, 0, &je);
            ok &= o && json_is_string(json_object_get(o, "level")) &&
                  json_is_string(json_object_get(o, "msg"));
            json_decref(o);
            nlines++;
            ln = strtok(NULL, "\n");
        }
        CHECK(ok);
        CHECK(nlines > 3);
    }
}

static void unreachable_database_exits_4(void)
{
    cli_result *r;
    r = cli_run("host=/nonexistent port=1", "init");
    CHECK_INT_EQ(r->status, 4);
    CHECK(strstr(r->err, "cannot connect") != NULL);
}

int main(void)
{
    dsn = testdb_fresh("vt_pipeline");
    static const check_case cases[] = {
        CHECK_CASE(init_is_idempotent),
        CHECK_CASE(old_database_is_upgraded),
        CHECK_CASE(score_before_any_model_exits_6),
        CHECK_CASE(demo_company_loads),
        CHECK_CASE(train_beats_its_baseline),
        CHECK_CASE(score_covers_every_active_customer),
        CHECK_CASE(drivers_strongest_first),
        CHECK_CASE(same_date_twice_replaces),
        CHECK_CASE(failed_run_keeps_previous_results),
        CHECK_CASE(score_is_leak_free),
        CHECK_CASE(train_is_leak_free),
        CHECK_CASE(ledger_records_every_run),
        CHECK_CASE(features_csv_one_row_per_customer),
        CHECK_CASE(features_count_matches_and_modes_exclude),
        CHECK_CASE(backtest_with_later_model_refused),
        CHECK_CASE(usage_and_config_errors),
        CHECK_CASE(stray_operands_refused),
        CHECK_CASE(json_logs_one_object_per_line),
        CHECK_CASE(unreachable_database_exits_4),
    };
    int rc = check_run("db_pipeline", cases, sizeof cases / sizeof cases[0]);
    return rc;
}
