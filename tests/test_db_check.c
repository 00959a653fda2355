/* test_db_check.c — `vigil check` against a real PostgreSQL: nothing mapped,
 * the worked example of docs/MAPPING.md (docs/mapping-example.sql with
 * docs/vigil.sample.json) as a good mapping, then broken and thin copies of
 * it; the verdict, the messages that say what to do, and the exit status by
 * severity. */
#include <signal.h>
#include <sys/wait.h>

#include "check.h"
#include "cli.h"
#include "serve_helpers.h"
#include "testdb.h"

/* A file the test cannot do without (exits when it is unreadable). */
static char *read_text(const char *path)
{
    char *s = check_read_file(path, NULL);
    if (!s) {
        perror(path);
        exit(1);
    }
    return s;
}

/* Does any finding's message contain every one of the texts? */
static int has_finding(json_t *rep, const char *a, const char *b)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rep, "findings"), i, f)
    {
        const char *m = json_string_value(json_object_get(f, "message"));
        if (m && strstr(m, a) && (!b || strstr(m, b)))
            return 1;
    }
    fprintf(stderr, "no finding with '%s'%s%s\n", a, b ? " and " : "",
            b ? b : "");
    return 0;
}

static const char *verdict(json_t *rep)
{
    return json_string_value(json_object_get(rep, "verdict"));
}

static const char *src, *dsn;
static char cfg_bad[256];

/* Nothing mapped yet, no `vigil init` either: errors that say what to
 * create, exit 5. */
static void nothing_mapped_says_what_to_create(void)
{
    cli_result *r = cli_run(dsn, "check --as-of 2026-06-01");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->out, "create a view public.customers with columns "
                         "customer_id text, name text, created_at "
                         "timestamptz") != NULL);
    CHECK(strstr(r->out, "verdict: not ready: 3 errors") != NULL);
    CHECK(strstr(r->err, "not ready") != NULL);
}

/* `vigil --config docs/vigil.sample.json check --as-of <day> [--json]` */
static cli_result *check_sample(const char *day, const char *json)
{
    char args[1024];
    snprintf(args, sizeof args,
             "--config %s/docs/vigil.sample.json check --as-of %s%s", src, day,
             json);
    return cli_run(dsn, args);
}

/* The worked example: a product-analytics and a helpdesk schema mapped
 * with views, checked with the sample config. */
static void worked_example_is_ready(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/docs/mapping-example.sql", src);
    char *sql = read_text(path);
    testdb_exec(dsn, sql);
    free(sql);
    cli_result *r = check_sample("2026-06-01", " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *rep = cli_json(r);
    CHECK(rep != NULL);
    if (rep) {
        CHECK_STR_EQ(verdict(rep), "ready");
        CHECK_STR_EQ(json_string_value(json_object_get(rep, "schema")), "crm");
        json_t *rel = json_object_get(rep, "relations");
        json_t *cust = json_object_get(rel, "customers");
        CHECK_INT_EQ(json_integer_value(json_object_get(cust, "rows")), 400);
        CHECK_STR_EQ(json_string_value(json_object_get(cust, "kind")), "view");
        CHECK_STR_EQ(json_string_value(json_object_get(
                         json_object_get(rel, "tickets"), "to")),
                     "2026-05-31");
        CHECK_STR_EQ(json_string_value(json_object_get(rep, "latest_data")),
                     "2026-05-31");
        json_t *lab = json_object_get(rep, "labels");
        /* every fifth of 400 accounts cancels, on days spread over 300
         * days before 2026-06-01; train's span is the last 210 of them */
        CHECK(json_integer_value(
                  json_object_get(lab, "canceled_in_training_window")) >= 50);
        CHECK_INT_EQ(json_integer_value(json_object_get(rep, "errors")), 0);
        json_decref(rep);
    }
    r = check_sample("2026-06-01", "");
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "\nverdict: ready") != NULL);
    CHECK(strstr(r->out, "customers     view, 400 rows") != NULL);
}

/* A date well after the data: a warning naming the latest data date,
 * exit 12. */
static void date_after_data_warns(void)
{
    cli_result *r = check_sample("2026-06-10", " --json");
    CHECK_INT_EQ(r->status, 12);
    json_t *rep = cli_json(r);
    CHECK(rep && !strcmp(verdict(rep), "ready_with_warnings"));
    CHECK(rep && has_finding(rep, "jobs for 2026-06-10 will be refused",
                             "is from 2026-05-31"));
    json_decref(rep);
}

/* `vigil --config cfg_bad check --as-of 2026-06-01 --json` */
static cli_result *check_bad(void)
{
    char args[1024];
    snprintf(args, sizeof args, "--config %s check --as-of 2026-06-01 --json",
             cfg_bad);
    return cli_run(dsn, args);
}

/* A relation's figure in a `check --json` report: relations.REL.dirty.NAME,
 * or relations.REL.NAME when dirty is NULL; -1 when absent. */
static long long rel_figure(json_t *rep, const char *rel, const char *dirty,
                            const char *name)
{
    json_t *r = json_object_get(json_object_get(rep, "relations"), rel);
    json_t *v = json_object_get(dirty ? json_object_get(r, dirty) : r, name);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

/* The worked example with known dirty rows added beside it: each is
 * counted under its own reason, on top of what the clean mapping has. */
static void dirty_rows_counted_by_reason(void)
{
    cli_result *r = check_sample("2026-06-01", " --json");
    json_t *clean = cli_json(r);
    CHECK(clean != NULL);
    testdb_exec(
        dsn, "CREATE SCHEMA crm_dirty;"
             "CREATE VIEW crm_dirty.customers AS SELECT * FROM crm.customers;"
             "CREATE VIEW crm_dirty.usage_events AS "
             " SELECT * FROM crm.usage_events UNION ALL "
             " SELECT c, '2026-05-01'::timestamp, 'login', NULL, -2 "
             "  FROM unnest(ARRAY['1','2','3']) c UNION ALL "
             " SELECT '1', '2099-01-01'::timestamp, 'login', NULL, 1 "
             "  FROM generate_series(1, 2);"
             "CREATE VIEW crm_dirty.tickets AS "
             " SELECT * FROM crm.tickets UNION ALL "
             " SELECT 'd1', '1', '2026-05-02', NULL, '2026-05-01', "
             "  'solved', 'low', 'email', 'broken', 'it broke', "
             "  9::smallint, 0, false;");
    check_write_file(cfg_bad, "{\"source\": {\"schema\": \"crm_dirty\"}}");
    json_t *rep = cli_json(check_bad());
    CHECK(rep != NULL);
    if (rep && clean) {
        static const struct {
            const char *rel, *reason;
            long long added;
        } want[] = {
            {"usage_events", "negative_quantity", 3},
            {"usage_events", "future_timestamp", 2},
            {"tickets", "csat_out_of_range", 1},
            {"tickets", "resolved_before_created", 1},
            {"tickets", "future_timestamp", 0},
            {"customers", "duplicate_id", 0},
        };
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            long long before =
                rel_figure(clean, want[i].rel, "dirty", want[i].reason);
            CHECK(before >= 0);
            CHECK_INT_EQ(rel_figure(rep, want[i].rel, "dirty", want[i].reason),
                         before + want[i].added);
        }
        CHECK_INT_EQ(rel_figure(rep, "usage_events", NULL, "rows"),
                     rel_figure(clean, "usage_events", NULL, "rows") + 5);
        CHECK(has_finding(rep, "are dirty: negative_quantity", NULL));
        /* the future rows do not move the data's latest date */
        CHECK_STR_EQ(json_string_value(json_object_get(
                         json_object_get(json_object_get(rep, "relations"),
                                         "usage_events"),
                         "to")),
                     json_string_value(json_object_get(
                         json_object_get(json_object_get(clean, "relations"),
                                         "usage_events"),
                         "to")));
    }
    json_decref(clean);
    json_decref(rep);
    /* later cases look for the schema that has the missing relation */
    testdb_exec(dsn, "DROP SCHEMA crm_dirty CASCADE");
}

/* A broken mapping: mrr as text, tickets without csat, no usage_events
 * in the schema (there is one in crm), a required column missing. */
static void broken_mapping_says_how_to_fix(void)
{
    testdb_exec(dsn,
                "CREATE SCHEMA crm_bad;"
                "CREATE VIEW crm_bad.customers AS SELECT customer_id, name, "
                " created_at, canceled_at, plan, mrr::text AS mrr, seats, "
                " language FROM crm.customers;"
                "CREATE VIEW crm_bad.tickets AS SELECT ticket_id, customer_id, "
                " created_at, first_response_at, resolved_at, status, "
                " priority, channel, subject, body, reopens, escalated "
                " FROM crm.tickets;");
    check_write_file(cfg_bad, "{\"source\": {\"schema\": \"crm_bad\"}}");
    cli_result *r = check_bad();
    CHECK_INT_EQ(r->status, 5);
    json_t *rep = cli_json(r);
    CHECK(rep != NULL);
    if (rep) {
        CHECK_STR_EQ(verdict(rep), "not_ready");
        CHECK(has_finding(rep, "crm_bad.tickets has no column csat",
                          "NULL::smallint AS csat"));
        CHECK(has_finding(rep, "crm_bad.customers.mrr is text",
                          "mrr::numeric AS mrr"));
        CHECK(has_finding(rep, "there is no relation crm_bad.usage_events",
                          "schema crm has a usage_events"));
        CHECK(has_finding(rep, "there is no relation crm_bad.usage_events",
                          "no product events at all? an empty view will do"));
        CHECK_INT_EQ(json_integer_value(json_object_get(rep, "errors")), 3);
        json_decref(rep);
    }
}

/* A thin mapping: no revenue and no cancellations on record. */
static void thin_mapping_is_not_ready(void)
{
    testdb_exec(dsn,
                "DROP VIEW crm_bad.customers;"
                "CREATE VIEW crm_bad.customers AS SELECT customer_id, "
                " name, created_at, NULL::timestamptz AS canceled_at, "
                " plan, NULL::numeric AS mrr, seats, language "
                " FROM crm.customers;"
                "CREATE VIEW crm_bad.usage_events AS SELECT * FROM "
                " crm.usage_events;"
                "DROP VIEW crm_bad.tickets;"
                "CREATE VIEW crm_bad.tickets AS SELECT * FROM crm.tickets");
    cli_result *r = check_bad();
    CHECK_INT_EQ(r->status, 5);
    json_t *rep = cli_json(r);
    CHECK(rep && has_finding(rep,
                             "no customer has a canceled_at before "
                             "2026-06-01",
                             "no churn to learn from"));
    CHECK(rep &&
          has_finding(rep, "mrr is empty in every row", "task priority"));
    json_decref(rep);
}

/* With cancellations back, the empty mrr alone is a warning: exit 12. */
static void empty_mrr_alone_warns(void)
{
    testdb_exec(dsn, "CREATE OR REPLACE VIEW crm_bad.customers AS SELECT "
                     " customer_id, name, created_at, canceled_at, plan, "
                     " NULL::numeric AS mrr, seats, language "
                     " FROM crm.customers");
    cli_result *r = check_bad();
    CHECK_INT_EQ(r->status, 12);
    CHECK(strstr(r->err, "ready with warnings") != NULL);
}

/* One change to crm_bad's mapping: `setup` it, check it (exit `status`
 * and a finding with both a and b), then `restore` the mapping. */
static void mapping_change_finds(const char *setup, int status, const char *a,
                                 const char *b, const char *restore)
{
    testdb_exec(dsn, setup);
    cli_result *r = check_bad();
    CHECK_INT_EQ(r->status, status);
    json_t *rep = cli_json(r);
    CHECK(rep && has_finding(rep, a, b));
    json_decref(rep);
    testdb_exec(dsn, restore);
}

/* A company without a helpdesk maps tickets as an empty view
 * (docs/MAPPING.md): a warning that says so, not an error. */
static void no_helpdesk_is_a_warning(void)
{
    mapping_change_finds(
        "CREATE OR REPLACE VIEW crm_bad.tickets AS SELECT "
        " NULL::text AS ticket_id, NULL::text AS customer_id, "
        " NULL::timestamptz AS created_at, "
        " NULL::timestamptz AS first_response_at, "
        " NULL::timestamptz AS resolved_at, NULL::text AS status, "
        " NULL::text AS priority, NULL::text AS channel, "
        " NULL::text AS subject, NULL::text AS body, "
        " NULL::smallint AS csat, NULL::integer AS reopens, "
        " NULL::boolean AS escalated WHERE false",
        12, "crm_bad.tickets has no rows", "fine if there is no helpdesk",
        "DROP VIEW crm_bad.tickets;"
        "CREATE VIEW crm_bad.tickets AS SELECT * FROM crm.tickets");
}

/* An integer customer id would fail the first join with vigil's own
 * tables (topics, outreach) after train and score had worked: check calls
 * it an error, with the cast to write (db_runs: every job refuses it). */
static void integer_ids_are_refused(void)
{
    mapping_change_finds(
        "DROP VIEW crm_bad.customers;"
        "CREATE VIEW crm_bad.customers AS SELECT "
        " hashtext(customer_id) AS customer_id, name, created_at, "
        " canceled_at, plan, mrr, seats, language FROM crm.customers",
        5, "crm_bad.customers.customer_id is integer",
        "customer_id::text AS customer_id",
        "DROP VIEW crm_bad.customers;"
        "CREATE VIEW crm_bad.customers AS SELECT * FROM crm.customers");
}

/* A serve config on the crm schema with one date_within playbook on
 * `column`. */
static void write_serve_config(const char *path, const char *column)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"source\": {\"schema\": \"crm\"}, \"http\": {\"listen\": "
             "\"127.0.0.1:0\"}, \"schedule\": {\"daily\": null, "
             "\"topics\": null, \"train\": null}, \"outreach\": "
             "{\"playbooks\": [{\"name\": \"renewal\", \"trigger\": "
             "{\"type\": \"date_within\", \"column\": \"%s\", "
             "\"days\": 45}, \"task\": {\"title\": \"Renewal\"}}]}}",
             column);
    check_write_file(path, text);
}

/* serve checks the playbooks' columns at start: a misspelt date_within
 * column stops it at once, naming the key. */
static void serve_refuses_misspelt_column(void)
{
    char args[512];
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    write_serve_config(cfg_bad, "renewl_date");
    snprintf(args, sizeof args, "--config %s serve", cfg_bad);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbooks[0].trigger.column") != NULL);
    CHECK(strstr(r->err, "renewl_date") != NULL);
}

/* ... and on SIGHUP: the misspelt column is rejected, the running
 * configuration kept; a good file again is taken. */
static void reload_rejects_misspelt_column(void)
{
    char log[128], cfg_good[128];
    snprintf(log, sizeof log, "/tmp/vigil-test-check-%d.log", (int)getpid());
    snprintf(cfg_good, sizeof cfg_good, "/tmp/vigil-test-check-%d-ok.json",
             (int)getpid());
    write_serve_config(cfg_good, "renewal_date");
    pid_t sv = sv_start(dsn, cfg_good, log, NULL);
    CHECK(sv_wait_log(log, "vigil serve started", 60));
    /* the same file, now with the misspelt column */
    char *good = read_text(cfg_good), *bad = read_text(cfg_bad);
    check_write_file(cfg_good, bad);
    kill(sv, SIGHUP);
    CHECK(sv_wait_log(log, "configuration rejected", 30));
    CHECK(strstr(sv_log(log), "renewl_date") != NULL);
    CHECK(waitpid(sv, NULL, WNOHANG) == 0); /* still serving */
    check_write_file(cfg_good, good);
    kill(sv, SIGHUP);
    CHECK(sv_wait_log(log, "configuration reloaded", 30));
    CHECK_INT_EQ(sv_stop(sv, SIGTERM, 30), 0);
    free(good);
    free(bad);
    remove(cfg_good);
    remove(log);
}

int main(void)
{
    src = getenv("VIGIL_SRC");
    if (!src) {
        fprintf(stderr, "VIGIL_SRC is not set (ctest sets it)\n");
        return 1;
    }
    dsn = testdb_fresh("vigil_test_check");
    snprintf(cfg_bad, sizeof cfg_bad, "/tmp/vigil-test-check-%d.json",
             (int)getpid());

    static const check_case cases[] = {
        CHECK_CASE(nothing_mapped_says_what_to_create),
        CHECK_CASE(worked_example_is_ready),
        CHECK_CASE(dirty_rows_counted_by_reason),
        CHECK_CASE(date_after_data_warns),
        CHECK_CASE(broken_mapping_says_how_to_fix),
        CHECK_CASE(thin_mapping_is_not_ready),
        CHECK_CASE(empty_mrr_alone_warns),
        CHECK_CASE(no_helpdesk_is_a_warning),
        CHECK_CASE(integer_ids_are_refused),
        CHECK_CASE(serve_refuses_misspelt_column),
        CHECK_CASE(reload_rejects_misspelt_column),
    };
    int rc = check_run("db_check", cases, sizeof cases / sizeof cases[0]);
    remove(cfg_bad);
    return rc;
}
