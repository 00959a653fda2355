/* test_db_train_linear.c — the regularised linear model competes with the
 * trees on the same purged rows. Where churn is a logistic function of one
 * attribute, the linear model wins (or ties, and the tie goes to it), and
 * `score` works end to end with it: risk rises with the attribute, reasons
 * name it, and the stored model says which kind it is. Where churn is a
 * U-shaped function of the attribute (no line fits it), the trees win. */
#include <math.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define AS_OF "2025-06-01"

/* 4000 customers signing up through 2024 and early 2025, attribute x spread
 * evenly over [-2, 2), a monthly churn probability p30(x) given as SQL over
 * x, the cancellation drawn from it (geometric in months) by a hash of the
 * id. One login every 10 days while a customer (no signal in usage). */
static void fixture(const char *dsn, const char *p30)
{
    char sql[2048];
    testdb_source_tables(dsn, "public", ", x double precision");
    snprintf(sql, sizeof sql,
             "INSERT INTO customers (customer_id, name, created_at, "
             "canceled_at, x) "
             "SELECT 'c' || i, 'Customer ' || i, c, "
             "  CASE WHEN t < timestamptz '2025-07-01' THEN t END, x "
             "FROM (SELECT i, c, x, c + interval '1 day' * ceil(30 * "
             "  ln(((hashtext('u' || i)::bigint & 1048575) + 0.5) / 1048576.0) "
             "  / ln(1 - (%s))) AS t "
             "  FROM (SELECT i, timestamptz '2024-01-01 00:00Z' + "
             "      interval '1 day' * (i %% 450) AS c, "
             "      ((i * 7919) %% 4000) / 1000.0 - 2 AS x "
             "    FROM generate_series(1, 4000) i) a) b;"
             "INSERT INTO usage_events SELECT customer_id, d, 'login', "
             "  customer_id || '-u', 1 FROM customers, "
             "  generate_series(created_at + interval '3 hours', "
             "    least(coalesce(canceled_at, '" AS_OF "'), '" AS_OF "'), "
             "    interval '10 days') d;",
             p30);
    testdb_exec(dsn, sql);
}

static json_t *train(const char *dsn)
{
    cli_result *r = cli_run(dsn, "--quiet train --as-of " AS_OF " --json");
    CHECK_INT_EQ(r->status, 0);
    if (r->status != 0)
        fprintf(stderr, "%s\n", r->err);
    return cli_json(r);
}

static const char *kind_of(const json_t *j)
{
    const char *k = json_string_value(json_object_get(j, "model_kind"));
    return k ? k : "(none)";
}

static void linear_world(void)
{
    const char *dsn = testdb_fresh("vt_train_linear");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    fixture(dsn, "1 / (1 + exp(3.5 - 1.5 * x))");
    json_t *j = train(dsn);
    fprintf(stderr, "linear world: %s\n", kind_of(j));
    CHECK_STR_EQ(kind_of(j), "linear");
    long long id = json_integer_value(json_object_get(j, "model_id"));
    CHECK(json_number_value(
              json_object_get(json_object_get(j, "metrics"), "auc")) > 0.7);
    json_decref(j);
    /* stored as what it is, and the held-out comparison is kept */
    char q[256];
    snprintf(q, sizeof q,
             "SELECT params->'xgboost'->>'booster' || ' ' || "
             "(metrics->>'model_kind') FROM vigil.models WHERE model_id = %lld",
             id);
    CHECK_STR_EQ(testdb_value(dsn, q), "gblinear linear");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT params->'validation_plan'->"
                                   "'select'->'kind'->>'chosen' FROM "
                                   "vigil.models"),
                 "linear");

    /* scoring end to end: risk rises with x, reasons name x */
    cli_result *r = cli_run(dsn, "--quiet score --as-of " AS_OF);
    CHECK_INT_EQ(r->status, 0);
    const char *rho = testdb_value(
        dsn, "SELECT corr(a, b) FROM (SELECT rank() OVER (ORDER BY "
             "s.churn_risk) a, rank() OVER (ORDER BY c.x) b FROM vigil.scores "
             "s JOIN customers c USING (customer_id)) t");
    fprintf(stderr, "rank corr(risk, x) = %s\n", rho);
    CHECK(atof(rho) > 0.9);
    CHECK(atoi(testdb_value(
              dsn, "SELECT count(*) FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE s.churn_risk > "
                   "0.2 AND d->>'feature' LIKE '%x' AND (d->>'effect')::float "
                   "> 0")) > 10);
    /* a second training compares with the stored linear champion */
    j = train(dsn);
    CHECK(json_is_object(json_object_get(j, "champion")));
    json_decref(j);
}

static void tree_world(void)
{
    const char *dsn = testdb_fresh("vt_train_trees");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    /* 40% a month beyond |x| > 1.3, 1% inside: no line separates that */
    fixture(dsn, "CASE WHEN abs(x) > 1.3 THEN 0.4 ELSE 0.01 END");
    json_t *j = train(dsn);
    fprintf(stderr, "tree world: %s\n", kind_of(j));
    CHECK_STR_EQ(kind_of(j), "trees");
    json_t *k = json_object_get(
        json_object_get(json_object_get(j, "validation_plan"), "select"),
        "kind");
    double lt = json_number_value(json_object_get(k, "trees_logloss")),
           ll = json_number_value(json_object_get(k, "linear_logloss"));
    fprintf(stderr, "held-out log loss trees %.5f, linear %.5f\n", lt, ll);
    CHECK(lt < ll * 0.95);
    json_decref(j);
    CHECK_INT_EQ(cli_run(dsn, "--quiet score --as-of " AS_OF)->status, 0);
    CHECK(atoi(testdb_value(dsn, "SELECT count(*) FROM vigil.scores")) > 500);
}

int main(void)
{
    linear_world();
    tree_world();
    return check_done("db_train_linear");
}
