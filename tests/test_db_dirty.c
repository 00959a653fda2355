/* test_db_dirty.c — the dirty-data corpus: every column of the source
 * contract holding hostile and extreme values a column of its type can hold
 * (±infinity, 1900, 1e300, NaN, '', NULL, repeated keys in views without a
 * primary key, invalid UTF-8, megabyte texts). No job fails on source data;
 * every bad row is counted under a named reason, in the --json summary and
 * in vigil.job_runs.stats. */
#include <jansson.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

/* A demo world in public, then schema dirty: views (no key) over it plus
 * table hx.* of hostile rows. */
static const char *corpus =
    "DROP SCHEMA IF EXISTS dirty CASCADE; DROP SCHEMA IF EXISTS hx CASCADE;\n"
    "CREATE SCHEMA hx; CREATE SCHEMA dirty;\n"
    "CREATE TABLE hx.customers (LIKE public.customers);\n"
    "ALTER TABLE hx.customers ALTER customer_id DROP NOT NULL, ALTER "
    "created_at DROP NOT NULL, ALTER mrr TYPE numeric;\n"
    "CREATE TABLE hx.usage_events (LIKE public.usage_events);\n"
    "ALTER TABLE hx.usage_events ALTER customer_id DROP NOT NULL, ALTER "
    "occurred_at DROP NOT NULL, ALTER event_type DROP NOT NULL;\n"
    "CREATE TABLE hx.tickets (LIKE public.tickets);\n"
    "ALTER TABLE hx.tickets ALTER ticket_id DROP NOT NULL, ALTER created_at "
    "DROP NOT NULL;\n"
    "CREATE VIEW dirty.customers AS SELECT * FROM public.customers UNION ALL "
    "SELECT * FROM hx.customers;\n"
    "CREATE VIEW dirty.usage_events AS SELECT * FROM public.usage_events UNION "
    "ALL SELECT * FROM hx.usage_events;\n"
    "CREATE VIEW dirty.tickets AS SELECT * FROM public.tickets UNION ALL "
    "SELECT * FROM hx.tickets;\n"
    "INSERT INTO hx.customers (customer_id, name, created_at, canceled_at, "
    "plan, mrr, seats, language)\n"
    "SELECT customer_id, 'dup', created_at, NULL, 'other', 1, 1, 'de' FROM "
    "public.customers ORDER BY customer_id LIMIT 3;\n"
    "INSERT INTO hx.customers (customer_id, name, created_at, canceled_at, "
    "plan, mrr, seats, language) VALUES\n"
    " ('', 'empty id', '2024-01-01', NULL, 'team', 10, 1, 'en'),\n"
    " (NULL, 'null id', '2024-01-01', NULL, 'team', 10, 1, 'en'),\n"
    " ('X1900', 'old', '1900-01-01', NULL, 'team', 10, 1, 'en'),\n"
    " ('Xneginf', repeat('n', 100000), '-infinity', NULL, '', 'NaN', "
    "2147483647, repeat('x', 500)),\n"
    " ('Xposinf', 'inf', 'infinity', NULL, NULL, 1e300, -2147483648, NULL),\n"
    " ('Xcancinf', E'tab\\there', '2024-01-01', 'infinity', 'team', -5, -1, "
    "'en'),\n"
    " ('Xcancneg', E'nl\\nhere', '2024-01-01', '-infinity', 'team', "
    "99999999999999999999999999999999999999, 0, 'zz'),\n"
    " ('Xnullcr', 'nullcreated', NULL, NULL, 'team', 10, 1, 'en'),\n"
    " (E'X\\\\back\\tslash\\n', 'weird id', '2024-02-01', NULL, 'team', 10, 1, "
    "'en'),\n"
    " ('Xfuture', 'future', '2999-01-01', NULL, 'team', 10, 1, 'en'),\n"
    " ('Xcancbefore', 'cb', '2024-05-01', '2024-01-01', 'team', 10, 1, 'en'),\n"
    " ('Xhuge', 'huge', '2024-03-01', NULL, 'team', 1e300, 3, 'en');\n"
    "UPDATE hx.customers SET renewal_date = 'infinity', employee_count = "
    "2147483647 WHERE customer_id = 'Xhuge';\n"
    "INSERT INTO hx.usage_events (customer_id, occurred_at, event_type, "
    "user_id, quantity)\n"
    "SELECT c, t, e, u, q FROM (SELECT customer_id AS c FROM public.customers "
    "ORDER BY customer_id LIMIT 5) cs,\n"
    " (VALUES ('infinity'::timestamptz), ('-infinity'), ('1900-01-01'), "
    "('2999-01-01'), ('2025-05-20')) ts(t),\n"
    " (VALUES ('login'), (''), (NULL), (repeat('e', 5000))) et(e),\n"
    " (VALUES ('u1'), (NULL), ('')) us(u),\n"
    " (VALUES (1e308::float8), (-1e308), ('Infinity'), ('-Infinity'), ('NaN'), "
    "(1e-320), (1.7e308), (NULL), (0)) qs(q);\n"
    "INSERT INTO hx.usage_events VALUES (NULL, '2025-05-01', 'login', 'u', 1), "
    "('', '2025-05-01', 'login', 'u', 1),\n"
    " ('Xneginf', '2025-05-01', 'login', 'u', 1), ('X1900', '2025-05-01', "
    "'login', 'u', 1), ('Xposinf', '2025-05-01', 'login', 'u', 1),\n"
    " ('nobody', '2025-05-01', 'login', 'u', 1), ('C_x', NULL, 'login', 'u', "
    "1);\n"
    "INSERT INTO hx.tickets SELECT * FROM public.tickets ORDER BY ticket_id "
    "LIMIT 5;\n"
    "INSERT INTO hx.tickets (ticket_id, customer_id, created_at, "
    "first_response_at, resolved_at, status, priority, channel, subject, body, "
    "csat, reopens, escalated)\n"
    "SELECT 'H' || i, (SELECT customer_id FROM public.customers ORDER BY "
    "customer_id LIMIT 1 OFFSET (i % 4)),\n"
    " ca, fr, ra, st, pr, ch, sj, bd, cs, ro, es\n"
    "FROM (VALUES\n"
    " (1, '2025-05-20'::timestamptz, '-infinity'::timestamptz, "
    "'infinity'::timestamptz, 'open', 'urgent', 'email', 'Login broken', "
    "'cannot login at all', 32767::smallint, 2147483647, NULL::boolean),\n"
    " (2, 'infinity', NULL, NULL, 'weird', 'p0', 'pigeon', '', '', -32768, "
    "-2147483648, true),\n"
    " (3, '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, "
    "false),\n"
    " (4, '1900-01-01', '1899-01-01', '1901-01-01', 'closed', 'low', 'chat', "
    "'old', 'old ticket', 5, 0, false),\n"
    " (5, '2025-05-21', '2025-05-20', '2025-05-19', 'solved', 'high', 'chat', "
    "repeat('subj ', 20000), repeat('<b>billing</b> &amp; &#x0; &#99999999; ', "
    "100000), 1, 1, true),\n"
    " (6, '2025-05-22', NULL, NULL, 'open', 'normal', 'email', E'ctl "
    "\\x01\\x02\\x7f', E'\\\\N \\\\ tab\\t nl\\n cr\\r', NULL, NULL, NULL),\n"
    " (7, NULL, NULL, NULL, 'open', 'normal', 'email', 'null created', 'x', "
    "NULL, NULL, NULL)\n"
    ") v(i, ca, fr, ra, st, pr, ch, sj, bd, cs, ro, es);\n"
    "INSERT INTO hx.tickets (ticket_id, customer_id, created_at, subject, "
    "body) VALUES\n"
    " (NULL, NULL, '2025-05-20', 'null id', 'null id body'),\n"
    " ('', '', '2025-05-20', 'empty id', 'empty id body'),\n"
    " ('Hdup', 'nobody', '2025-05-20', 'dup a', 'first copy'),\n"
    " ('Hdup', NULL, '2025-05-21', 'dup b', 'second copy'),\n"
    " ('Hx', 'Xneginf', '2025-05-21', 'hostile customer', 'hostile customer "
    "body');\n";

static json_int_t jint(json_t *j, const char *path)
{
    /* "a.b.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = j;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    if (!json_is_integer(cur)) {
        fprintf(stderr, "no integer at %s\n", path);
        return -1;
    }
    return json_integer_value(cur);
}

/* Runs a job with --json on the dirty schema; NULL unless it exited 0. */
static json_t *job(const char *dsn, const char *cfg, const char *args)
{
    char a[512];
    snprintf(a, sizeof a, "--quiet --config %s %s --json", cfg, args);
    return cli_json_ok(dsn, a);
}

static void check_feature_counts(json_t *s)
{
    CHECK_INT_EQ(jint(s, "customers.null_customer_id"), 1);
    CHECK_INT_EQ(jint(s, "customers.empty_customer_id"), 1);
    CHECK_INT_EQ(jint(s, "customers.duplicate_id"), 3);
    CHECK_INT_EQ(jint(s, "customers.infinite_created_at"), 2);
    CHECK_INT_EQ(jint(s, "customers.created_before_1970"), 1);
    CHECK_INT_EQ(jint(s, "customers.null_created_at"), 1);
    CHECK(jint(s, "customers.non_finite_values_cleared") >= 2);
    CHECK(jint(s, "usage_events.infinite_occurred_at") > 0);
    CHECK(jint(s, "usage_events.bad_quantity") > 0);
    CHECK(jint(s, "usage_events.null_event_type") > 0);
    CHECK(jint(s, "usage_events.null_customer_id") > 0);
    CHECK(jint(s, "usage_events.unknown_customer") > 0);
    CHECK(jint(s, "tickets.infinite_timestamp") >= 1);
    CHECK(jint(s, "tickets.duplicate_id") >= 1);
    CHECK(jint(s, "tickets.csat_out_of_range") >= 1);
}

/* In a SQL_ASCII database text may hold any bytes: topics repairs and
 * counts them. */
static void invalid_utf8(void)
{
    const char *base = check_test_dsn();
    testdb_exec(base, "DROP DATABASE IF EXISTS vt_dirty_ascii WITH (FORCE)");
    testdb_exec(base, "CREATE DATABASE vt_dirty_ascii ENCODING 'SQL_ASCII' "
                      "LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0");
    char url[1200];
    snprintf(url, sizeof url, "%s dbname=vt_dirty_ascii", base);
    CHECK_INT_EQ(cli_run(url, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(url, "--quiet demo --customers 150 --end 2025-06-01 "
                              "--history-days 120 --seed 3")
                     ->status,
                 0);
    testdb_exec(url,
                "UPDATE tickets SET body = body || E' caf\\xe9 \\xff\\xfe' "
                "WHERE ticket_id IN (SELECT ticket_id FROM tickets "
                "WHERE created_at >= '2025-05-01' ORDER BY ticket_id "
                "LIMIT 4)");
    cli_result *r = cli_run(url, "--quiet topics --as-of 2025-06-01 --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK_INT_EQ(jint(j, "dirty.invalid_utf8"), 4);
    json_decref(j);
}

/* The cases run in order on the demo world and its dirty schema. */
static const char *dsn;
static char cfg[64];

/* XGBoost never sees an infinity: none is written either. */
static void features_never_write_infinity(void)
{
    char out[128], a[256];
    snprintf(out, sizeof out, "/tmp/vigil-dirty-%d.csv", (int)getpid());
    snprintf(a, sizeof a,
             "--quiet --config %s features --as-of 2025-06-01 --out %s", cfg,
             out);
    CHECK_INT_EQ(cli_run(dsn, a)->status, 0);
    FILE *csv = fopen(out, "r");
    CHECK(csv != NULL);
    char line[65536];
    int infs = 0;
    while (csv && fgets(line, sizeof line, csv))
        if (strstr(line, ",inf") || strstr(line, ",-inf") ||
            strstr(line, ",Inf") || strstr(line, ",nan"))
            infs++;
    if (csv)
        fclose(csv);
    CHECK_INT_EQ(infs, 0);
    remove(out);
}

static void train_counts_dirty_rows(void)
{
    json_t *t = job(dsn, cfg, "train --as-of 2025-06-01 --lookback 180");
    if (t)
        check_feature_counts(json_object_get(t, "skipped"));
    json_decref(t);
}

/* Score counts the dirty rows, and the ledger holds the same counts. */
static void score_counts_dirty_rows_as_the_ledger(void)
{
    json_t *s = job(dsn, cfg, "score --as-of 2025-06-01");
    if (s) {
        check_feature_counts(json_object_get(s, "skipped"));
        CHECK(jint(s, "scored") > 200);
    }
    /* the ledger holds the same counts */
    json_error_t je;
    json_t *led = json_loads(
        testdb_value(dsn, "SELECT stats FROM vigil.job_runs WHERE job = "
                          "'score' ORDER BY run_id DESC LIMIT 1"),
        0, &je);
    CHECK(led != NULL);
    if (led && s)
        CHECK(json_equal(json_object_get(led, "skipped"),
                         json_object_get(s, "skipped")));
    json_decref(led);
    json_decref(s);
    /* scores never hold a hostile customer */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                   "customer_id IN ('', 'Xneginf', 'Xposinf') "
                                   "OR churn_risk = 'NaN'"),
                 "0");
}

/* Topics twice: the repeated ticket ids never reach ON CONFLICT. */
/* Topics twice: the repeated ticket ids never reach ON CONFLICT. */
static void topics_twice_on_repeated_ticket_ids(void)
{
    for (int i = 0; i < 2; i++) {
        json_t *tp = job(dsn, cfg, "topics --as-of 2025-06-01");
        if (tp && i == 0) {
            CHECK(jint(tp, "dirty.duplicate_ticket_id") >= 1);
            CHECK_INT_EQ(jint(tp, "dirty.null_or_empty_ticket_id"), 2);
            CHECK(jint(tp, "assigned") > 0);
        }
        json_decref(tp);
    }
}

/* Outreach, daily and the report run too; no job failed. */
static void every_job_runs_on_dirty_data(void)
{
    json_decref(job(dsn, cfg, "outreach --as-of 2025-06-01"));
    /* the data ends 2025-05-31: a day past the day after needs --force
     * (the date guard rail) */
    json_decref(job(dsn, cfg, "daily --as-of 2025-06-02 --force"));
    char out[128], a[256];
    snprintf(out, sizeof out, "/tmp/vigil-dirty-%d.html", (int)getpid());
    snprintf(a, sizeof a,
             "--quiet --config %s report --as-of 2025-06-02 --out %s", cfg,
             out);
    CHECK_INT_EQ(cli_run(dsn, a)->status, 0);
    remove(out);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.job_runs "
                                   "WHERE status <> 'ok'"),
                 "0");
}

int main(void)
{
    dsn = testdb_fresh("vt_dirty");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 300 --end 2025-06-01 "
                              "--history-days 400 --seed 7")
                     ->status,
                 0);
    testdb_exec(dsn, corpus);
    cli_config(cfg, sizeof cfg, "dirty", "%s",
               "{\"source\": {\"schema\": \"dirty\"}}\n");

    static const check_case cases[] = {
        CHECK_CASE(features_never_write_infinity),
        CHECK_CASE(train_counts_dirty_rows),
        CHECK_CASE(score_counts_dirty_rows_as_the_ledger),
        CHECK_CASE(topics_twice_on_repeated_ticket_ids),
        CHECK_CASE(every_job_runs_on_dirty_data),
        CHECK_CASE(invalid_utf8),
    };
    int rc = check_run("db_dirty", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
