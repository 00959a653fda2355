/* test_db_train_families.c — features.families_choice "auto": train tries
 * each optional feature family on the select stage's purged rows and keeps
 * it only where the held-out log loss is lower with it. In the fixture,
 * half the customers made a burst of "export" events in their first 20
 * days, more than a year before any observation date, and they churn eight
 * times as often; only family `lifetime` (the whole history) sees that
 * burst, so it carries the signal. Four other event types are random and
 * unrelated to churn, so family `recency` (days since each type) is pure
 * noise. Auto keeps lifetime and drops recency; "always" keeps both; the
 * model auto stores is the one a training without recency makes, and
 * `score` lays out its smaller spec. */
#include <math.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define AS_OF "2025-06-01"

static const char *dsn;
static char cfg_auto[256], cfg_always[256], cfg_lifetime[256];
static json_t *auto_run; /* train --json with the automatic choice */

/* 2000 customers signed up 400-700 days before AS_OF; even ids made 40
 * exports in their first 20 days and churn 8% a month, odd ones 1%. A
 * login every 10 days while a customer; four noise types n1..n4, each on
 * about 3% of days, by a hash. */
static void fixture(void)
{
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(
        dsn,
        "INSERT INTO customers (customer_id, name, created_at, canceled_at) "
        "SELECT 'c' || i, 'Customer ' || i, c, "
        "  CASE WHEN t < timestamptz '2025-07-01' THEN t END "
        "FROM (SELECT i, c, c + interval '1 day' * ceil(30 * "
        "  ln(((hashtext('u' || i)::bigint & 1048575) + 0.5) / 1048576.0) "
        "  / ln(1 - CASE WHEN i % 2 = 0 THEN 0.08 ELSE 0.01 END)) AS t "
        "  FROM (SELECT i, timestamptz '" AS_OF " 00:00Z' - interval '1 day' "
        "      * (400 + (i * 37) % 300) AS c "
        "    FROM generate_series(1, 2000) i) a) b;"
        "INSERT INTO usage_events SELECT customer_id, d, 'login', "
        "  customer_id || '-u', 1 FROM customers, "
        "  generate_series(created_at + interval '3 hours', "
        "    least(coalesce(canceled_at, '" AS_OF "'), '" AS_OF "'), "
        "    interval '10 days') d;"
        "INSERT INTO usage_events SELECT customer_id, created_at + "
        "  interval '12 hours' * k, 'export', customer_id || '-u', 1 "
        "  FROM customers, generate_series(1, 40) k "
        "  WHERE substr(customer_id, 2)::int % 2 = 0 AND created_at + "
        "    interval '12 hours' * k < coalesce(canceled_at, 'infinity');"
        "INSERT INTO usage_events SELECT customer_id, d + interval '5 hours', "
        "  n, customer_id || '-u', 1 FROM customers, "
        "  generate_series(created_at, least(coalesce(canceled_at, "
        "    '" AS_OF "'), '" AS_OF "'), interval '1 day') d, "
        "  unnest(ARRAY['n1', 'n2', 'n3', 'n4']) n "
        "  WHERE (hashtext(customer_id || n || d::text)::bigint & 1023) < 31;");
}

static json_t *train(const char *cfg)
{
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --config %s train --as-of " AS_OF " --json", cfg);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    if (r->status != 0)
        fprintf(stderr, "%s\n", r->err);
    return cli_json(r);
}

static const json_t *tried(const json_t *j, const char *family)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(j, "families"), "tried"),
                       i, v)
    {
        if (!strcmp(json_string_value(json_object_get(v, "family")), family))
            return v;
    }
    return NULL;
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static const char *list(const json_t *j, const char *k)
{
    static char buf[256];
    buf[0] = 0;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(json_object_get(j, "families"), k), i, v)
    {
        strncat(buf, json_string_value(v), sizeof buf - strlen(buf) - 2);
        strcat(buf, " ");
    }
    return buf;
}

static void noise_dropped_signal_kept(void)
{
    auto_run = train(cfg_auto);
    const json_t *rec = tried(auto_run, "recency"),
                 *life = tried(auto_run, "lifetime");
    CHECK(rec != NULL && life != NULL);
    if (!rec || !life)
        return;
    fprintf(stderr,
            "recency: log loss %.5f with, %.5f without; lifetime: %.5f "
            "with, %.5f without\n",
            num(rec, "logloss_with"), num(rec, "logloss_without"),
            num(life, "logloss_with"), num(life, "logloss_without"));
    CHECK_STR_EQ(list(auto_run, "kept"), "lifetime ");
    CHECK_STR_EQ(list(auto_run, "dropped"), "recency ");
    CHECK(num(rec, "logloss_without") < num(rec, "logloss_with"));
    /* the signal: far better with it */
    CHECK(num(life, "logloss_without") > 1.05 * num(life, "logloss_with"));
    /* the choice was made on purged rows: the select stage's holdout
     * starts at least the horizon after its last fitted date */
    const json_t *sel =
        json_object_get(json_object_get(auto_run, "validation_plan"), "select");
    const char *fit_last = json_string_value(
                   json_object_get(json_object_get(sel, "fit"), "last_date")),
               *ho_first = json_string_value(json_object_get(
                   json_object_get(sel, "holdout"), "first_date"));
    CHECK(fit_last && ho_first);
    char q[256];
    snprintf(q, sizeof q, "SELECT date '%s' - date '%s' >= 30",
             ho_first ? ho_first : "1970-01-01",
             fit_last ? fit_last : "1970-01-01");
    CHECK_STR_EQ(testdb_value(dsn, q), "t");
    /* the stored model's spec is the smaller one, and says why */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT features->>'families' FROM "
                                   "vigil.models ORDER BY model_id DESC "
                                   "LIMIT 1"),
                 "[\"lifetime\"]");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.models, "
                                   "jsonb_array_elements_text(features->"
                                   "'columns') c WHERE c LIKE "
                                   "'usage.days_since_n_' OR c = "
                                   "'usage.days_since_export'"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT metrics->'families'->>'dropped' "
                                   "FROM vigil.models ORDER BY model_id DESC "
                                   "LIMIT 1"),
                 "[\"recency\"]");
}

/* The rows the choice kept are what a training without the family reads:
 * the same columns, the same model, the same held-out figures. */
static void same_model_as_without_family(void)
{
    json_t *j = train(cfg_lifetime);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "features")),
                 json_integer_value(json_object_get(auto_run, "features")));
    const json_t *a = json_object_get(auto_run, "metrics"),
                 *b = json_object_get(j, "metrics");
    fprintf(stderr, "log loss auto %.9f, lifetime only %.9f\n",
            num(a, "logloss"), num(b, "logloss"));
    CHECK(fabs(num(a, "logloss") - num(b, "logloss")) < 1e-9);
    CHECK(fabs(num(a, "auc") - num(b, "auc")) < 1e-9);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "best_rounds")),
                 json_integer_value(json_object_get(auto_run, "best_rounds")));
    json_decref(j);
}

/* `score` lays out the model's stored spec, whatever the config lists. */
static void score_uses_the_kept_families(void)
{
    char q[512];
    snprintf(q, sizeof q, "--quiet --config %s score --as-of " AS_OF " --json",
             cfg_auto);
    cli_result *r = cli_run(dsn, q);
    CHECK_INT_EQ(r->status, 0);
    CHECK(atoi(testdb_value(dsn, "SELECT count(*) FROM vigil.scores")) > 500);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores s, "
                                   "jsonb_array_elements(s.drivers) d WHERE "
                                   "d->>'feature' LIKE 'usage.days_since_n_'"),
                 "0");
}

/* The contrast: with "always" both families stay and nothing is tried. */
static void always_keeps_every_family(void)
{
    json_t *j = train(cfg_always);
    CHECK_STR_EQ(list(j, "kept"), "recency lifetime ");
    CHECK_STR_EQ(list(j, "dropped"), "");
    CHECK_INT_EQ(json_array_size(
                     json_object_get(json_object_get(j, "families"), "tried")),
                 0);
    CHECK(json_integer_value(json_object_get(j, "features")) >
          json_integer_value(json_object_get(auto_run, "features")));
    json_decref(j);
}

int main(void)
{
    dsn = testdb_fresh("vt_train_families");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    fixture();
    cli_config(cfg_auto, sizeof cfg_auto, "families_auto", "%s",
               "{\"features\": {\"families\": [\"recency\", \"lifetime\"], "
               "\"families_choice\": \"auto\"}}\n");
    cli_config(cfg_always, sizeof cfg_always, "families_always", "%s",
               "{\"features\": {\"families\": [\"recency\", \"lifetime\"], "
               "\"families_choice\": \"always\"}}\n");
    cli_config(cfg_lifetime, sizeof cfg_lifetime, "families_lifetime", "%s",
               "{\"features\": {\"families\": [\"lifetime\"], "
               "\"families_choice\": \"always\"}}\n");
    static const check_case cases[] = {
        CHECK_CASE(noise_dropped_signal_kept),
        CHECK_CASE(score_uses_the_kept_families),
        CHECK_CASE(same_model_as_without_family),
        CHECK_CASE(always_keeps_every_family),
    };
    int rc = check_run("test_db_train_families", cases,
                       sizeof cases / sizeof cases[0]);
    json_decref(auto_run);
    return rc;
}
