/* test_db_train_step.c — train.step_choice "auto": train fits the select
 * stage a second time on about monthly observation dates (a subset of the
 * weekly ones) and keeps the step whose held-out log loss on the select
 * stage's purged holdout is lower. Checked: both candidates are judged on
 * the same holdout rows, each fitted on dates at least the horizon before
 * them; the about monthly candidate keeps the newest date t_0, the holdout
 * t_s and the oldest date; the step kept follows the recorded losses and
 * the rule; the stored model records the choice in its params and metrics
 * and is fitted on the kept dates only; "fixed" tries nothing and is the
 * same model as auto when auto keeps every date. Two as-of dates, so that
 * (in this fixture) one keeps every date and the other the monthly ones:
 * a choice that always kept one step would fail.
 * "blend": both candidates fitted, the model the mean of their margins —
 * recorded in the stored params and metrics, fitted on both date sets in
 * every stage, stored as one model whose trees are both candidates' (so
 * score uses the blend), and a backtest of a date measures what train +
 * score of that date measure outside.
 * "bag" (train.bag): the models of the select (after the search), validate
 * and final stages each the mean of seeds; recorded, one stored model. */
#include <math.h>

#include "check.h"
#include "cli.h"
#include "core/db.h"
#include "model/metrics.h"
#include "model/store.h"
#include "outside_eval.h"
#include "testdb.h"

static const char *dsn;
static char cfg_auto[256], cfg_fixed[256], cfg_blend[256], cfg_recency[256],
    cfg_bag[256];

/* 2000 customers signed up 400-700 days before 2025-06-01, churning about
 * 3% a month, by a hash. A login every 3 days while a customer, every 12
 * days in the last 45 days before a cancellation (the signal), and four
 * noise event types, each on about 3% of days. Until 2025-01-01 customers
 * with an odd id also churned after a burst of "n1" events — a mechanism
 * that then stops, as a price increase's does. */
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
        "  / ln(0.97)) AS t "
        "  FROM (SELECT i, timestamptz '2025-06-01 00:00Z' - interval '1 day' "
        "      * (400 + (i * 37) % 300) AS c "
        "    FROM generate_series(1, 2000) i) a) b;"
        "INSERT INTO usage_events SELECT customer_id, d, 'login', "
        "  customer_id || '-u', 1 FROM customers, "
        "  generate_series(created_at + interval '3 hours', "
        "    least(coalesce(canceled_at, '2025-06-01'), '2025-06-01'), "
        "    interval '3 days') d "
        "  WHERE canceled_at IS NULL OR d < canceled_at - interval '45 days' "
        "    OR extract(day FROM canceled_at - d)::int % 12 = 0;"
        "INSERT INTO usage_events SELECT customer_id, d + interval '5 hours', "
        "  n, customer_id || '-u', 1 FROM customers, "
        "  generate_series(created_at, least(coalesce(canceled_at, "
        "    '2025-06-01'), '2025-06-01'), interval '1 day') d, "
        "  unnest(ARRAY['n1', 'n2', 'n3', 'n4']) n "
        "  WHERE (hashtext(customer_id || n || d::text)::bigint & 1023) < 31;"
        "INSERT INTO usage_events SELECT customer_id, canceled_at - "
        "  interval '1 day' * k, 'n1', customer_id || '-u', 1 "
        "  FROM customers, generate_series(5, 25) k "
        "  WHERE canceled_at < '2025-01-01' "
        "    AND substr(customer_id, 2)::int % 2 = 1;");
}

static json_t *train(const char *cfg, const char *as_of)
{
    char args[512];
    snprintf(args, sizeof args, "--quiet --config %s train --as-of %s --json",
             cfg, as_of);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    if (r->status != 0)
        fprintf(stderr, "%s\n", r->err);
    return cli_json(r);
}

static double num(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static const char *str(const json_t *o, const char *a, const char *b)
{
    const char *s =
        json_string_value(json_object_get(json_object_get(o, a), b));
    return s ? s : "";
}

static int days_between(const char *from, const char *to)
{
    char q[128];
    snprintf(q, sizeof q, "SELECT date '%s' - date '%s'",
             *to ? to : "1970-01-01", *from ? from : "1970-01-01");
    return atoi(testdb_value(dsn, q));
}

/* The checks every auto run must pass; returns every_nth (1 or 4). */
static int check_auto_run(const json_t *j)
{
    const json_t *st = json_object_get(j, "observation_step"),
                 *c = json_object_get(st, "candidates");
    CHECK_STR_EQ(json_string_value(json_object_get(st, "choice")), "auto");
    CHECK_INT_EQ(json_array_size(c), 2);
    if (json_array_size(c) != 2)
        return 0;
    const json_t *every = json_array_get(c, 0), *monthly = json_array_get(c, 1);
    const json_t *sel =
        json_object_get(json_object_get(j, "validation_plan"), "select");
    fprintf(stderr,
            "as of %s: held-out log loss every date %.5f (%d dates), about "
            "monthly %.5f (%d dates): every %d-th kept\n",
            json_string_value(json_object_get(j, "as_of")),
            num(every, "holdout_logloss"), (int)num(every, "observation_dates"),
            num(monthly, "holdout_logloss"),
            (int)num(monthly, "observation_dates"), (int)num(st, "every_nth"));
    /* the same holdout rows: the select stage's t_s */
    CHECK(json_equal(json_object_get(every, "holdout"),
                     json_object_get(monthly, "holdout")));
    CHECK(json_equal(json_object_get(every, "holdout"),
                     json_object_get(sel, "holdout")));
    /* purged: every fitted row at least the horizon (30) before them */
    const char *ho = str(every, "holdout", "first_date");
    CHECK_STR_EQ(ho, str(every, "holdout", "last_date"));
    CHECK(days_between(str(every, "fit", "last_date"), ho) >= 30);
    CHECK(days_between(str(monthly, "fit", "last_date"), ho) >= 30);
    /* the monthly dates are a subset reaching as far back: fewer rows,
     * the same oldest date, 26 weekly dates thinned to 7 */
    CHECK_INT_EQ((int)num(every, "observation_dates"), 26);
    CHECK_INT_EQ((int)num(monthly, "observation_dates"), 7);
    CHECK_STR_EQ(str(every, "fit", "first_date"),
                 str(monthly, "fit", "first_date"));
    CHECK(json_integer_value(
              json_object_get(json_object_get(monthly, "fit"), "rows")) <
          json_integer_value(
              json_object_get(json_object_get(every, "fit"), "rows")) /
              3);
    /* the rule: monthly only when lower by more than 0.1 % */
    int won = num(monthly, "holdout_logloss") <
              num(every, "holdout_logloss") * (1 - 0.001);
    int nth = (int)num(st, "every_nth");
    CHECK_INT_EQ(nth, won ? 4 : 1);
    CHECK_INT_EQ((int)num(j, "observation_dates"), won ? 7 : 26);
    CHECK_INT_EQ((int)num(st, "observation_dates"), won ? 7 : 26);
    /* the select stage the model went on with is the winner's */
    CHECK(json_equal(json_object_get(sel, "fit"),
                     json_object_get(won ? monthly : every, "fit")));
    /* the estimate's date t_0 was not part of the choice, and the validate
     * stage measures on it, fitted at least the horizon before */
    const json_t *va =
        json_object_get(json_object_get(j, "validation_plan"), "validate");
    CHECK(days_between(ho, str(va, "holdout", "first_date")) >= 30);
    CHECK(days_between(str(va, "fit", "last_date"),
                       str(va, "holdout", "first_date")) >= 30);
    return nth;
}

/* The stored model says which step it was fitted with and why. */
static void check_stored(int nth)
{
    char q[256];
    snprintf(q, sizeof q,
             "SELECT format('%%s %%s %%s %%s', "
             "params->'observation_step'->>'every_nth', "
             "params->>'observation_dates', "
             "metrics->'observation_step'->>'every_nth', "
             "jsonb_array_length(metrics->'observation_step'->'candidates')) "
             "FROM vigil.models ORDER BY model_id DESC LIMIT 1");
    char want[64];
    snprintf(want, sizeof want, "%d %d %d 2", nth, nth > 1 ? 7 : 26, nth);
    CHECK_STR_EQ(testdb_value(dsn, q), want);
}

static int stored_rounds(long long id);
static int kept[2];
/* "fixed" as of 2025-06-01 (from the first case): what the recency case
 * compares with, without training it again. */
static double fixed_logloss = NAN;
static long fixed_rows;
static int fixed_rounds;
static json_t *fixed_t0;

static void choice_on_purged_rows_recorded(void)
{
    static const char *dates[2] = {"2025-03-01", "2025-06-01"};
    for (int i = 0; i < 2; i++) {
        json_t *j = train(cfg_auto, dates[i]);
        kept[i] = check_auto_run(j);
        check_stored(kept[i]);
        /* the final model was fitted on the kept dates only */
        json_t *fixed = train(cfg_fixed, dates[i]);
        long rows_auto = (long)json_integer_value(json_object_get(j, "rows")),
             rows_fixed =
                 (long)json_integer_value(json_object_get(fixed, "rows"));
        const json_t *a = json_object_get(j, "metrics"),
                     *b = json_object_get(fixed, "metrics");
        if (kept[i] == 1) {
            /* every date kept: the same model as "fixed" */
            CHECK_INT_EQ(rows_auto, rows_fixed);
            CHECK(fabs(num(a, "logloss") - num(b, "logloss")) < 1e-9);
            CHECK(fabs(num(a, "auc") - num(b, "auc")) < 1e-9);
        } else {
            CHECK(rows_auto < rows_fixed / 3);
            CHECK_STR_EQ(str(json_object_get(j, "validation_plan"), "final",
                             "first_date"),
                         str(json_object_get(fixed, "validation_plan"), "final",
                             "first_date"));
            /* t_0's rows, the estimate's, are the same in both */
            CHECK(json_equal(
                json_object_get(
                    json_object_get(json_object_get(j, "validation_plan"),
                                    "validate"),
                    "holdout"),
                json_object_get(
                    json_object_get(json_object_get(fixed, "validation_plan"),
                                    "validate"),
                    "holdout")));
        }
        /* "fixed" tries nothing */
        const json_t *fs = json_object_get(fixed, "observation_step");
        CHECK_STR_EQ(json_string_value(json_object_get(fs, "choice")), "fixed");
        CHECK_INT_EQ(json_array_size(json_object_get(fs, "candidates")), 0);
        if (i == 1) {
            /* train.bag 1 (the default): one model, as before the key */
            const json_t *bag = json_object_get(fixed, "bag");
            CHECK_INT_EQ((int)num(bag, "boosters"), 1);
            CHECK(json_is_null(json_object_get(bag, "select")));
            fixed_rounds = (int)num(fixed, "best_rounds");
            CHECK_INT_EQ((int)num(bag, "rounds_each"), fixed_rounds);
            CHECK_INT_EQ(stored_rounds(json_integer_value(
                             json_object_get(fixed, "model_id"))),
                         fixed_rounds);
            fixed_logloss = num(b, "logloss");
            fixed_rows = rows_fixed;
            fixed_t0 = json_incref(json_object_get(
                json_object_get(json_object_get(fixed, "validation_plan"),
                                "validate"),
                "holdout"));
        }
        json_decref(j);
        json_decref(fixed);
    }
    /* both outcomes happen in this fixture */
    CHECK(kept[0] != kept[1]);
}

#define BLEND_DAY "2025-05-01"

/* ROC AUC of vigil.scores at BLEND_DAY against the cancellations in
 * [BLEND_DAY, BLEND_DAY + 30), computed outside vigil. */
static double outside_auc(void)
{
    double auc, brier;
    long rows, churned;
    outside_eval(dsn, BLEND_DAY, 30, &auc, &brier, &rows, &churned);
    CHECK(rows > 1000);
    return auc;
}

/* The stored model's trees: every-date rounds + about monthly rounds. */
static int stored_rounds(long long id)
{
    db_conn *db = NULL;
    stored_model *sm = NULL;
    vg_error err = {0};
    int n = -1;
    CHECK_INT_EQ(db_connect(dsn, &db, &err), VG_OK);
    if (db)
        CHECK_INT_EQ(store_load(db, id, 30, &sm, &err), VG_OK);
    if (sm) {
        CHECK_INT_EQ(booster_best_rounds(sm->b), booster_total_rounds(sm->b));
        n = booster_total_rounds(sm->b);
    }
    store_model_free(sm);
    db_close(db);
    return n;
}

static void blend_scored_end_to_end(void)
{
    json_t *j = train(cfg_blend, BLEND_DAY);
    const json_t *st = json_object_get(j, "observation_step"),
                 *plan = json_object_get(j, "validation_plan");
    CHECK_STR_EQ(json_string_value(json_object_get(st, "choice")), "blend");
    CHECK_STR_EQ(json_string_value(json_object_get(st, "model")), "blend");
    CHECK_INT_EQ(json_array_size(json_object_get(st, "candidates")), 2);
    CHECK(isfinite(num(st, "blend_logloss")) &&
          isfinite(num(st, "blend_paired_se")));
    int monthly = (int)num(st, "monthly_rounds");
    CHECK(monthly > 0);
    /* both date sets in the validate and final stages: the about monthly
     * one about a quarter of the weekly rows, from the same oldest date */
    for (int k = 0; k < 2; k++) {
        const json_t *sg = json_object_get(plan, k ? "final" : "validate");
        const json_t *bf = json_object_get(sg, "blend_fit");
        const json_t *wf = k ? sg : json_object_get(sg, "fit");
        CHECK(bf != NULL);
        CHECK(num(bf, "rows") > 0 && num(bf, "rows") < num(wf, "rows") / 3);
        CHECK_STR_EQ(json_string_value(json_object_get(bf, "first_date")),
                     json_string_value(json_object_get(wf, "first_date")));
        CHECK_STR_EQ(json_string_value(json_object_get(bf, "last_date")),
                     json_string_value(json_object_get(wf, "last_date")));
    }
    long long id =
        (long long)json_integer_value(json_object_get(j, "model_id"));
    char q[256];
    snprintf(q, sizeof q,
             "SELECT format('%%s %%s %%s', "
             "params->'observation_step'->>'choice', "
             "metrics->'observation_step'->>'model', "
             "params->'observation_step'->>'monthly_rounds') "
             "FROM vigil.models WHERE model_id = %lld",
             id);
    char want[64];
    snprintf(want, sizeof want, "blend blend %d", monthly);
    CHECK_STR_EQ(testdb_value(dsn, q), want);
    /* the stored model is the blend: both candidates' trees, every one
     * used (params.best_rounds, which store_load applies, says so) */
    int every = (int)num(json_array_get(json_object_get(st, "candidates"), 0),
                         "rounds");
    CHECK_INT_EQ(stored_rounds(id), every + monthly);
    CHECK_INT_EQ((int)num(j, "best_rounds"), every + monthly);
    /* score with it, and the backtest of the day measures the same */
    char args[512];
    snprintf(args, sizeof args,
             "--quiet score --as-of " BLEND_DAY " --model %lld", id);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    double auc = outside_auc();
    snprintf(args, sizeof args,
             "--quiet --config %s backtest --from " BLEND_DAY " --to " BLEND_DAY
             " --json",
             cfg_blend);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *bt = cli_json(r);
    const json_t *d = json_array_get(json_object_get(bt, "dates"), 0);
    double real = json_number_value(
        json_object_get(json_object_get(d, "realised"), "auc"));
    fprintf(stderr,
            "blend as of " BLEND_DAY ": AUC %.6f outside, %.6f in "
            "the backtest\n",
            auc, real);
    CHECK(fabs(real - auc) < 1e-12);
    json_decref(bt);
    json_decref(j);
}

/* train.recency_half_life_days: the same rows and dates, the half-life
 * recorded in the plan, the estimate's rows (t_0) unchanged, and a
 * different model (the fitted rows are weighted). */
static void recency_weighting_recorded(void)
{
    json_t *r = train(cfg_recency, "2025-06-01");
    const json_t *pr = json_object_get(r, "validation_plan");
    CHECK_INT_EQ((int)num(pr, "recency_half_life_days"), 30);
    CHECK_INT_EQ((long)num(r, "rows"), fixed_rows);
    CHECK(json_equal(
        json_object_get(json_object_get(pr, "validate"), "holdout"), fixed_t0));
    CHECK(fabs(num(json_object_get(r, "metrics"), "logloss") - fixed_logloss) >
          1e-9);
    json_decref(r);
    json_decref(fixed_t0);
}

/* train.bag 3: the search is not bagged (the same settings and rounds as
 * one model), the select model is (its held-out loss against one seed's
 * recorded), the estimate is measured on the same rows t_0 by another
 * model, and the stored model is one model holding the three seeds' trees,
 * its bag recorded in params and metrics. */
static void bag_recorded(void)
{
    json_t *j = train(cfg_bag, "2025-06-01");
    const json_t *bag = json_object_get(j, "bag"),
                 *sel = json_object_get(bag, "select"),
                 *seeds = json_object_get(bag, "seeds"),
                 *pr = json_object_get(j, "validation_plan");
    CHECK_INT_EQ((int)num(bag, "boosters"), 3);
    CHECK_INT_EQ(json_array_size(seeds), 3);
    CHECK(json_integer_value(json_array_get(seeds, 0)) == 42);
    CHECK(json_integer_value(json_array_get(seeds, 1)) !=
          json_integer_value(json_array_get(seeds, 2)));
    CHECK(isfinite(num(sel, "bag_logloss")) && num(sel, "paired_se") > 0);
    CHECK_INT_EQ((int)num(bag, "rounds_each"), fixed_rounds);
    CHECK_INT_EQ((int)num(j, "best_rounds"), 3 * fixed_rounds);
    CHECK_INT_EQ((long)num(j, "rows"), fixed_rows);
    CHECK(json_equal(
        json_object_get(json_object_get(pr, "validate"), "holdout"), fixed_t0));
    CHECK(fabs(num(json_object_get(j, "metrics"), "logloss") - fixed_logloss) >
          1e-9);
    long long id =
        (long long)json_integer_value(json_object_get(j, "model_id"));
    CHECK_INT_EQ(stored_rounds(id), 3 * fixed_rounds);
    char q[256];
    snprintf(q, sizeof q,
             "SELECT format('%%s %%s %%s', params->'bag'->>'boosters', "
             "metrics->'bag'->>'boosters', params->>'best_rounds') "
             "FROM vigil.models WHERE model_id = %lld",
             id);
    char want[64];
    snprintf(want, sizeof want, "3 3 %d", 3 * fixed_rounds);
    CHECK_STR_EQ(testdb_value(dsn, q), want);
    json_decref(j);
}

int main(void)
{
    dsn = testdb_fresh("vt_train_step");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    fixture();
    cli_config(cfg_auto, sizeof cfg_auto, "step_auto", "%s",
               "{\"features\": {\"families\": []}, "
               "\"train\": {\"step_choice\": \"auto\"}}\n");
    cli_config(cfg_fixed, sizeof cfg_fixed, "step_fixed", "%s",
               "{\"features\": {\"families\": []}, "
               "\"train\": {\"step_choice\": \"fixed\"}}\n");
    cli_config(cfg_blend, sizeof cfg_blend, "step_blend", "%s",
               "{\"features\": {\"families\": []}, "
               "\"train\": {\"step_choice\": \"blend\"}}\n");
    cli_config(cfg_recency, sizeof cfg_recency, "step_recency", "%s",
               "{\"features\": {\"families\": []}, "
               "\"train\": {\"recency_half_life_days\": 30}}\n");
    cli_config(cfg_bag, sizeof cfg_bag, "step_bag", "%s",
               "{\"features\": {\"families\": []}, "
               "\"train\": {\"bag\": 3}}\n");
    static const check_case cases[] = {
        CHECK_CASE(choice_on_purged_rows_recorded),
        CHECK_CASE(blend_scored_end_to_end),
        CHECK_CASE(bag_recorded),
        CHECK_CASE(recency_weighting_recorded),
    };
    return check_run("test_db_train_step", cases,
                     sizeof cases / sizeof cases[0]);
}
