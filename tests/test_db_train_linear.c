/* test_db_train_linear.c — the regularised linear model competes with the
 * trees on the same purged rows. Where churn is a logistic function of one
 * attribute, the linear model wins (or ties, and the tie goes to it), and
 * `score` works end to end with it: risk rises with the attribute, reasons
 * name it, and the stored model says which kind it is. Where churn is a
 * U-shaped function of the attribute (no line fits it), the trees win.
 * Where it also depends on a text attribute (a category, one-hot), the
 * line still wins, ranks the levels, names the attribute once per customer,
 * and reads a level it never saw as it reads a missing one. */
#include <math.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define AS_OF "2025-06-01"

/* 4000 customers signing up through 2024 and early 2025, attribute x spread
 * evenly over [-2, 2), a text attribute `region` (north, south, east, west
 * in turn), a monthly churn probability p30 given as SQL over x and region,
 * the cancellation drawn from it (geometric in months) by a hash of the id.
 * One login every 10 days while a customer (no signal in usage). */
static void fixture(const char *dsn, const char *p30)
{
    char sql[2048];
    testdb_source_tables(dsn, "public", ", x double precision, region text");
    snprintf(
        sql, sizeof sql,
        "INSERT INTO customers (customer_id, name, created_at, "
        "canceled_at, x, region) "
        "SELECT 'c' || i, 'Customer ' || i, c, "
        "  CASE WHEN t < timestamptz '2025-07-01' THEN t END, x, region "
        "FROM (SELECT i, c, x, region, c + interval '1 day' * ceil(30 * "
        "  ln(((hashtext('u' || i)::bigint & 1048575) + 0.5) / 1048576.0) "
        "  / ln(1 - (%s))) AS t "
        "  FROM (SELECT i, timestamptz '2024-01-01 00:00Z' + "
        "      interval '1 day' * (i %% 450) AS c, "
        "      ((i * 7919) %% 4000) / 1000.0 - 2 AS x, "
        "      (ARRAY['north', 'south', 'east', 'west'])[1 + (i / 7) %% 4] "
        "      AS region "
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

static double region_risk(const char *dsn, const char *region)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT avg(s.churn_risk) FROM vigil.scores s JOIN customers c "
             "USING (customer_id) WHERE c.region = '%s' AND c.x BETWEEN -0.5 "
             "AND 0.5",
             region);
    return atof(testdb_value(dsn, q));
}

static void category_world(void)
{
    const char *dsn = testdb_fresh("vt_train_category");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    /* logistic in x plus a level effect: north +1.5, east -1.5 */
    fixture(dsn, "1 / (1 + exp(3.5 - 1.5 * x - CASE region WHEN 'north' "
                 "THEN 1.5 WHEN 'east' THEN -1.5 ELSE 0 END))");
    json_t *j = train(dsn);
    fprintf(stderr, "category world: %s\n", kind_of(j));
    CHECK_STR_EQ(kind_of(j), "linear");
    json_decref(j);
    CHECK_INT_EQ(cli_run(dsn, "--quiet score --as-of " AS_OF)->status, 0);
    double rn = region_risk(dsn, "north"), rs = region_risk(dsn, "south"),
           rw = region_risk(dsn, "west"), re = region_risk(dsn, "east");
    fprintf(stderr,
            "mean risk at |x| <= 0.5: north %.4f, south %.4f, west "
            "%.4f, east %.4f\n",
            rn, rs, rw, re);
    CHECK(rn > 2 * rs && rn > 2 * rw && rs > 2 * re && rw > 2 * re);
    CHECK(rs < 1.5 * rw && rw < 1.5 * rs);
    /* the attribute once per customer, on the customer's own level */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM (SELECT s.customer_id "
                                   "FROM vigil.scores s, jsonb_array_elements("
                                   "s.drivers) d WHERE d->>'feature' LIKE "
                                   "'attr.region=%' GROUP BY 1 HAVING "
                                   "count(*) > 1) t"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores s JOIN "
                                   "customers c USING (customer_id), "
                                   "jsonb_array_elements(s.drivers) d WHERE "
                                   "d->>'feature' LIKE 'attr.region=%' AND "
                                   "d->>'feature' <> 'attr.region=' || "
                                   "c.region"),
                 "0");
    CHECK(atoi(testdb_value(dsn, "SELECT count(*) FROM vigil.scores s, "
                                 "jsonb_array_elements(s.drivers) d WHERE "
                                 "d->>'feature' = 'attr.region=north' AND "
                                 "(d->>'effect')::float > 0 AND d->>'text' = "
                                 "'region is north'")) > 50);

    /* a level the model never saw, and no level at all: twins otherwise */
    testdb_exec(dsn, "INSERT INTO customers (customer_id, name, created_at, x, "
                     "region) SELECT 'n' || i || r, 'New', "
                     "timestamptz '2025-01-01 00:00Z', i / 10.0, "
                     "nullif(r, 'null') FROM generate_series(1, 10) i, "
                     "unnest(ARRAY['mars', 'null']) r");
    CHECK_INT_EQ(cli_run(dsn, "--quiet score --as-of " AS_OF)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                   "customer_id LIKE 'n%'"),
                 "20");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores a JOIN "
                                   "vigil.scores b ON b.customer_id = "
                                   "replace(a.customer_id, 'mars', 'null') "
                                   "AND b.as_of = a.as_of WHERE a.customer_id "
                                   "LIKE 'n%mars' AND a.churn_risk = "
                                   "b.churn_risk"),
                 "10");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores s, "
                                   "jsonb_array_elements(s.drivers) d WHERE "
                                   "s.customer_id LIKE 'n%' AND d->>'feature' "
                                   "LIKE 'attr.region%'"),
                 "0");
}

int main(void)
{
    linear_world();
    tree_world();
    category_world();
    return check_done("db_train_linear");
}
