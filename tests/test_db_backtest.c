/* test_db_backtest.c — `vigil backtest` for one date measures exactly what an
 * outside evaluation of `train --as-of d` + `score --as-of d` against the
 * churn realised in [d, d + H) measures; it writes no model and no score;
 * a date whose horizon has not passed is refused; the JSON has the shape the
 * issue gives. */
#include <math.h>

#include "check.h"
#include "cli.h"
#include "outside_eval.h"
#include "testdb.h"

#define END "2025-06-01"
#define DAY "2025-04-20"

static double num(const json_t *o, const char *a, const char *k)
{
    return json_number_value(json_object_get(json_object_get(o, a), k));
}

/* One demo world scored once with a fresh model: the outside evaluation of
 * those scores and what the database held before the backtest. */
static const char *dsn;
static double auc = NAN, brier = NAN;
static long rows, churned;
static char models[32], scores[32];

/* The backtest of a day is the evaluation of that day's scores computed
 * here, realised against the cancellations; baseline and estimate beside. */
static void backtest_equals_the_outside_evaluation(void)
{
    cli_result *r =
        cli_run(dsn, "--quiet backtest --from " DAY " --to " DAY " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    json_t *d = json_array_get(json_object_get(j, "dates"), 0);
    CHECK(d != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(d, "as_of")), DAY);
    CHECK_INT_EQ(json_integer_value(json_object_get(d, "customers")), rows);
    CHECK_INT_EQ(json_integer_value(json_object_get(d, "churned")), churned);
    CHECK(fabs(num(d, "realised", "auc") - auc) < 1e-12);
    CHECK(fabs(num(d, "realised", "brier") - brier) < 1e-12);
    const char *groups[3] = {"realised", "baseline", "estimated"};
    const char *keys[5] = {"auc", "pr_auc", "brier", "log_loss", "lift_top10"};
    for (int g = 0; g < 3; g++)
        for (int k = 0; k < 5; k++)
            CHECK(json_is_number(
                json_object_get(json_object_get(d, groups[g]), keys[k])));
    CHECK(num(d, "baseline", "auc") > 0.5 && num(d, "estimated", "auc") > 0.5);
    json_t *s = json_object_get(j, "summary");
    CHECK_INT_EQ(json_integer_value(json_object_get(s, "dates")), 1);
    CHECK(fabs(num(s, "realised", "auc") - auc) < 1e-12);
    json_decref(j);
}

/* Nothing written, no champion changed. */
static void backtest_writes_nothing(void)
{
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) || ':' || "
                                   "max(model_id) FILTER (WHERE is_champion) "
                                   "FROM vigil.models"),
                 models);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores"),
                 scores);
}

/* The horizon of 2025-05-10 ends after the data: refused, saying which
 * date would do. */
static void horizon_after_the_data_refused(void)
{
    cli_result *r =
        cli_run(dsn, "--quiet backtest --from 2025-05-10 --to 2025-05-10");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "2025-05-10 cannot be backtested yet") != NULL);
    CHECK(strstr(r->err, "--to 2025-05-02") != NULL);
}

/* --from without --to is a usage mistake; --help answers. */
static void usage_mistakes_and_help(void)
{
    cli_result *r = cli_run(dsn, "--quiet backtest --from " DAY);
    CHECK_INT_EQ(r->status, 2);
    r = cli_run(dsn, "backtest --help");
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "--every") != NULL);
}

int main(void)
{
    dsn = testdb_fresh("vt_backtest");
    cli_result *r = cli_run(dsn, "--quiet init");
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet demo --customers 700 --seed 11 --end " END);
    CHECK_INT_EQ(r->status, 0);

    r = cli_run(dsn, "--quiet train --as-of " DAY " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "--quiet score --as-of " DAY " --model %lld",
             (long long)json_integer_value(json_object_get(j, "model_id")));
    json_decref(j);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    outside_eval(dsn, DAY, 30, &auc, &brier, &rows, &churned);
    CHECK(rows > 300 && churned > 3);

    snprintf(models, sizeof models, "%s",
             testdb_value(dsn, "SELECT count(*) || ':' || "
                               "max(model_id) FILTER (WHERE is_champion) "
                               "FROM vigil.models"));
    snprintf(scores, sizeof scores, "%s",
             testdb_value(dsn, "SELECT count(*) FROM vigil.scores"));

    static const check_case cases[] = {
        CHECK_CASE(backtest_equals_the_outside_evaluation),
        CHECK_CASE(backtest_writes_nothing),
        CHECK_CASE(horizon_after_the_data_refused),
        CHECK_CASE(usage_mistakes_and_help),
    };
    return check_run("db_backtest", cases, sizeof cases / sizeof cases[0]);
}
