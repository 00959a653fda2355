/* test_db_train_errors.c — training refuses bad situations with a clear
 * message and exit status 5, never a crash: no customers, no churn, a single
 * class, too few rows, a horizon longer than the history; and CV with one
 * observation date. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

/* n customers signed up on `created`, the first `churned` canceling on
 * `canceled`; each gets one login a week whose rate does not matter here. */
static void load(const char *dsn, int n, int churned, const char *created,
                 const char *canceled)
{
    char sql[2048];
    testdb_source_tables(dsn, "public", NULL);
    snprintf(
        sql, sizeof sql,
        "INSERT INTO customers SELECT 'K' || lpad(i::text, 5, '0'), 'n', '%s', "
        " CASE WHEN i <= %d THEN '%s'::timestamptz END, 'team', 100, 5, 'en' "
        "FROM generate_series(1, %d) i;"
        "INSERT INTO usage_events SELECT c.customer_id, d, 'login', 'u', NULL "
        "FROM customers c, "
        " generate_series('%s'::timestamptz, coalesce(c.canceled_at, "
        "'2025-06-01'), '7 days') d;",
        created, churned, canceled, n, created);
    testdb_exec(dsn, sql);
}

static void expect_fail(const char *dsn, const char *args, const char *needle)
{
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    if (!strstr(r->err, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, r->err);
        CHECK(0);
    }
    CHECK(strchr(r->err, '\n') == r->err + strlen(r->err) - 1); /* one line */
}

/* Each case loads its own data over the last case's tables. */
static const char *dsn;

static void no_customers(void)
{
    expect_fail(dsn, "--quiet train --as-of 2025-06-01", "no customers");
}

static void no_customer_churned(void)
{
    load(dsn, 300, 0, "2024-01-01", "2024-01-01");
    expect_fail(dsn, "--quiet train --as-of 2025-06-01", "no customer churned");
}

static void horizon_longer_than_the_history(void)
{
    load(dsn, 300, 40, "2025-03-01", "2025-04-10");
    expect_fail(dsn, "--quiet train --as-of 2025-06-01 --horizon 120",
                "longer than the history");
}

/* Every customer active at the only observation date churns (so the data
 * really stops on 2025-05-10: --force past the date guard rail). */
static void every_row_churned(void)
{
    load(dsn, 300, 300, "2024-01-01", "2025-05-10");
    expect_fail(dsn, "--quiet train --as-of 2025-06-01 --lookback 0 --force",
                "every row churned");
}

static void too_few_rows(void)
{
    load(dsn, 20, 5, "2024-01-01", "2025-05-10");
    expect_fail(dsn, "--quiet train --as-of 2025-06-01 --lookback 0",
                "too few rows");
}

/* Churn only on one date: time validation has nothing to validate on. */
static void churn_on_one_date_only(void)
{
    load(dsn, 400, 60, "2024-01-01", "2025-05-28");
    expect_fail(dsn, "--quiet train --as-of 2025-06-01 --lookback 140",
                "not enough churn to split by time");
}

/* One observation date: 5-fold cross-validation, summary says "cv". */
static void one_date_cross_validates(void)
{
    testdb_exec(dsn,
                "UPDATE customers SET canceled_at = '2025-05-02'::timestamptz "
                "+ (abs(hashtext(customer_id)) % 20) * interval '1 day' "
                "WHERE customer_id <= 'K00200' AND customer_id > 'K00060';"
                "DELETE FROM usage_events WHERE customer_id <= 'K00200' AND "
                "occurred_at > '2025-03-01';");
    cli_result *r = cli_run(dsn, "--quiet --log-level warn train --as-of "
                                 "2025-06-01 --lookback 0 --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    if (j) {
        CHECK_STR_EQ(json_string_value(json_object_get(j, "validation")), "cv");
        CHECK(json_number_value(
                  json_object_get(json_object_get(j, "metrics"), "auc")) > 0.5);
    }
    json_decref(j);
}

int main(void)
{
    dsn = testdb_fresh("vt_train_errors");
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);

    testdb_source_tables(dsn, "public", NULL);

    static const check_case cases[] = {
        CHECK_CASE(no_customers),
        CHECK_CASE(no_customer_churned),
        CHECK_CASE(horizon_longer_than_the_history),
        CHECK_CASE(every_row_churned),
        CHECK_CASE(too_few_rows),
        CHECK_CASE(churn_on_one_date_only),
        CHECK_CASE(one_date_cross_validates),
    };
    return check_run("db_train_errors", cases, sizeof cases / sizeof cases[0]);
}
