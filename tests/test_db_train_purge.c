/* test_db_train_purge.c — purged validation: no row that chooses or measures
 * a model (early stopping, search, calibration, the estimate) shares a label
 * window with a row the trees were fitted on. Checked on the real feature
 * matrix of a demo company, on every (horizon, step, lookback) of a grid,
 * on the dates `vigil train --json` reports, and for the grouped CV used
 * when there are too few dates. The checker is shown to catch a leaky plan.
 */
#include <limits.h>

#include "check.h"
#include "cli.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "demo/demo.h"
#include "features/feat.h"
#include "featcheck.h"
#include "testdb.h"
#include "train/train.h"

#define D "2025-06-01"

/* 1 when a holdout row of stage s lies within H days after a fit row: its
 * label window [t, t+H) then overlaps the fit row's. */
static int time_leak(const train_plan *p, const feat_matrix *m, train_stage s,
                     int H)
{
    int max_fit = INT_MIN, min_ho = INT_MAX;
    for (size_t r = 0; r < m->nrows; r++) {
        train_role role = train_row_role(p, m, r, s);
        if (role == TRAIN_ROLE_FIT && m->day[r] > max_fit)
            max_fit = m->day[r];
        if (role == TRAIN_ROLE_HOLDOUT && m->day[r] < min_ho)
            min_ho = m->day[r];
    }
    return max_fit != INT_MIN && min_ho != INT_MAX && max_fit + H > min_ho;
}

/* CV: 1 when a customer has rows on both sides of stage s (rows come in
 * customer order). */
static int customer_leak(const train_plan *p, const feat_matrix *m,
                         train_stage s)
{
    size_t r = 0;
    while (r < m->nrows) {
        int fit = 0, ho = 0;
        size_t e = r;
        for (; e < m->nrows && !strcmp(m->ids[e], m->ids[r]); e++) {
            fit |= train_row_role(p, m, e, s) == TRAIN_ROLE_FIT;
            ho |= train_row_role(p, m, e, s) == TRAIN_ROLE_HOLDOUT;
        }
        if (fit && ho)
            return 1;
        r = e;
    }
    return 0;
}

/* One customer on every date: the plan alone decides the roles. */
static void grid_check(void)
{
    static const int hs[] = {1, 7, 14, 30, 45, 90};
    static const int steps[] = {1, 3, 7, 14, 30};
    long plans = 0, purged = 0;
    for (size_t hi = 0; hi < sizeof hs / sizeof hs[0]; hi++)
        for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++)
            for (int lb = 0; lb <= 400; lb += 13) {
                int *dates = NULL, H = hs[hi];
                int nd =
                    train_observation_dates(1000, H, lb, steps[si], &dates);
                feat_matrix m;
                memset(&m, 0, sizeof m);
                char *ids[400];
                int day[400], di[400];
                for (int k = 0; k < nd; k++) {
                    ids[k] = "C1";
                    day[k] = dates[k];
                    di[k] = k;
                }
                m.nrows = (size_t)nd;
                m.ids = ids;
                m.day = day;
                m.date_index = di;
                train_plan p;
                train_plan_make(dates, nd, H, 42, &p);
                plans++;
                if (p.purged) {
                    purged++;
                    if (!p.grouped_select)
                        CHECK(!time_leak(&p, &m, TRAIN_STAGE_SELECT, H));
                    CHECK(!time_leak(&p, &m, TRAIN_STAGE_VALIDATE, H));
                    /* the estimate's date is never used by a choice */
                    CHECK(p.select_holdout > 0);
                    CHECK(dates[p.select_holdout] + H <= dates[0]);
                    /* the purge wastes no date: the next newer one leaks */
                    CHECK(dates[p.select_holdout - 1] + H > dates[0]);
                } else {
                    /* only when no date lies H before t_0 */
                    for (int a = 1; a < nd; a++)
                        CHECK(dates[a] + H > dates[0]);
                }
                if (p.grouped_select)
                    /* only when no date lies H before another that lies
                     * H before t_0: nothing to fit a time split on */
                    for (int a = 1; a < nd; a++)
                        for (int b = a + 1; b < nd; b++)
                            CHECK(!(dates[a] + H <= dates[0] &&
                                    dates[b] + H <= dates[a]));
                free(dates);
            }
    CHECK(purged > 100 && purged < plans);
}

/* The real matrix of a demo company, default dates. */
static void matrix_check(db_conn *db, int end)
{
    vg_config cfg;
    cfg_defaults(&cfg);
    vg_error err;
    feat_spec *spec = NULL;
    feat_matrix *m = NULL;
    int *dates = NULL;
    int nd = train_observation_dates(end, 30, 180, 7, &dates);
    feat_request req = {dates, nd, 30, 0, 0, 42, 1, NULL};
    CHECK(feat_spec_discover(db, &cfg, end, &spec, &err) == VG_OK);
    CHECK(spec &&
          feat_build(db, &cfg, spec, &req, NULL, &m, NULL, &err) == VG_OK);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        free(dates);
        feat_spec_free(spec);
        return;
    }
    train_plan p;
    train_plan_make(dates, nd, 30, 42, &p);
    CHECK(p.purged);
    CHECK(!time_leak(&p, m, TRAIN_STAGE_SELECT, 30));
    CHECK(!time_leak(&p, m, TRAIN_STAGE_VALIDATE, 30));
    /* every row trains the model that scores */
    size_t fit = 0;
    for (size_t r = 0; r < m->nrows; r++)
        fit += train_row_role(&p, m, r, TRAIN_STAGE_FINAL) == TRAIN_ROLE_FIT;
    CHECK_INT_EQ((long long)fit, (long long)m->nrows);

    /* the checker catches the old layout: choices on t_1, fit from t_2 */
    train_plan leaky = p;
    leaky.select_holdout = 1;
    leaky.select_fit_from = 2;
    CHECK(time_leak(&leaky, m, TRAIN_STAGE_SELECT, 30));
    leaky = p;
    leaky.select_holdout = 1; /* validate fits on t_1: shares t_0's window */
    CHECK(time_leak(&leaky, m, TRAIN_STAGE_VALIDATE, 30));

    /* the select stage split by customer (short lookbacks) */
    train_plan gs = p;
    gs.grouped_select = 1;
    CHECK(!customer_leak(&gs, m, TRAIN_STAGE_SELECT));
    CHECK(!time_leak(&gs, m, TRAIN_STAGE_VALIDATE, 30));
    /* grouped CV: a customer is on one side only, in every fold */
    train_plan cv = p;
    cv.purged = 0;
    for (cv.fold = 0; cv.fold < 5; cv.fold++) {
        CHECK(!customer_leak(&cv, m, TRAIN_STAGE_SELECT));
        CHECK(!customer_leak(&cv, m, TRAIN_STAGE_FINAL));
    }
    free(dates);
    feat_matrix_free(m);
    feat_spec_free(spec);
}

static int jday(const json_t *o, const char *a, const char *b, const char *k)
{
    int d = 0;
    const char *s = json_string_value(
        json_object_get(json_object_get(json_object_get(o, a), b), k));
    if (!s || date_parse(s, &d) != 0)
        return INT_MIN / 2;
    return d;
}

/* What `vigil train --json` reports it did. */
static void summary_check(const char *dsn)
{
    cli_result *r =
        cli_run(dsn, "--quiet --log-level warn train --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    json_t *p = json_object_get(j, "validation_plan");
    CHECK(p != NULL);
    int sf = jday(p, "select", "fit", "last_date"),
        sh = jday(p, "select", "holdout", "first_date"),
        vf = jday(p, "validate", "fit", "last_date"),
        vh = jday(p, "validate", "holdout", "first_date"), d;
    date_parse(D, &d);
    CHECK(sf + 30 <= sh);
    CHECK(vf + 30 <= vh);
    CHECK(sh + 30 <= vh);
    /* The final model's rounds are the ones early stopping chose in the
     * select stage (its best candidate of the chosen kind), so the purge
     * checked above (sf + 30 <= sh; time_leak in matrix_check, with the
     * leaky plans failing) is the purge of the date the rounds come from. */
    json_t *sel = json_object_get(p, "select");
    const char *kind = json_string_value(
        json_object_get(json_object_get(sel, "kind"), "chosen"));
    json_t *c, *best = NULL;
    size_t i;
    json_array_foreach(json_object_get(sel, "candidates"), i, c)
    {
        if (kind &&
            strcmp(json_string_value(json_object_get(c, "kind")), kind) == 0 &&
            (!best ||
             json_real_value(json_object_get(c, "holdout_logloss")) <
                 json_real_value(json_object_get(best, "holdout_logloss"))))
            best = c;
    }
    CHECK(best != NULL);
    CHECK(json_integer_value(json_object_get(j, "best_rounds")) > 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(best, "best_rounds")),
                 json_integer_value(json_object_get(j, "best_rounds")));
    CHECK_INT_EQ(vh, d - 30);
    CHECK_STR_EQ(json_string_value(
                     json_object_get(json_object_get(p, "final"), "last_date")),
                 "2025-05-02");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "validation_date")),
                 "2025-05-02");
    json_decref(j);
}

int main(void)
{
    grid_check();
    const char *dsn = testdb_fresh("vt_train_purge");
    db_conn *db = connect_or_die(dsn);
    vg_error err;
    demo_opts o;
    demo_opts_default(&o);
    o.customers = 800;
    o.quiet = 1;
    date_parse(D, &o.end_day);
    demo_stats st;
    CHECK(demo_generate(db, &o, &st, &err) == VG_OK);
    matrix_check(db, o.end_day);
    db_close(db);
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    summary_check(dsn);
    return check_done("db_train_purge");
}
