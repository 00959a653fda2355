/* cmd_backtest.c — `vigil backtest`: for each past date, train exactly as
 * `train --as-of` would (nothing stored), score the customers active then and
 * measure against the churn that followed. It answers "how good would vigil
 * have been", next to what vigil itself estimated at the time. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "service/cli.h"
#include "service/commands.h"
#include "train/train.h"

typedef struct backtest_opts {
    int from, to, every, horizon, json;
} backtest_opts;

static json_t *figures_json(const metrics_summary *m)
{
    json_t *o = json_object();
    const char *k[5] = {"auc", "pr_auc", "brier", "log_loss", "lift_top10"};
    double v[5] = {m->auc, m->pr_auc, m->brier, m->logloss, m->lift10};
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, k[i],
                            isfinite(v[i]) ? json_real(v[i]) : json_null());
    return o;
}

static vg_code parse(cli *c, int argc, char **argv, backtest_opts *b,
                     vg_error *err)
{
    const char *from = NULL, *to = NULL;
    static const struct option opts[] = {{"from", required_argument, 0, 'f'},
                                         {"to", required_argument, 0, 't'},
                                         {"every", required_argument, 0, 'e'},
                                         {"horizon", required_argument, 0, 'H'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    memset(b, 0, sizeof *b);
    b->every = 30;
    b->horizon = c->cfg.train_horizon_days;
    int o;
    vg_code rc = VG_OK;
    while (rc == VG_OK && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'e':
            rc = cli_parse_int_opt("--every", optarg, 1, 3650, &b->every, err);
            break;
        case 'H':
            rc = cli_parse_int_opt("--horizon", optarg, 1, 730, &b->horizon,
                                   err);
            break;
        case 'j':
            b->json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil backtest --help`");
        }
    }
    if (rc != VG_OK)
        return rc;
    if ((rc = cli_no_operands("backtest", argc, argv, err)) != VG_OK)
        return rc;
    if (!from || !to)
        return vg_fail(err, VG_EUSAGE,
                       "backtest needs --from and --to (YYYY-MM-DD)");
    if (date_parse(from, &b->from) != 0 || date_parse(to, &b->to) != 0)
        return vg_fail(err, VG_EUSAGE,
                       "--from '%s' / --to '%s': use YYYY-MM-DD", from, to);
    if (b->to < b->from)
        return vg_fail(err, VG_EUSAGE, "--to %s is before --from %s", to, from);
    return VG_OK;
}

/* The newest date whose horizon has fully passed, given what the source
 * holds: labels for later dates are not known yet. */
static vg_code check_horizon(db_conn *db, cli *c, const backtest_opts *b,
                             vg_error *err)
{
    int data_end = 0, today = date_today();
    vg_code rc = train_data_end(db, &c->cfg, &data_end, err);
    if (rc != VG_OK)
        return rc;
    int limit = data_end < today ? data_end : today;
    int last = b->from + (b->to - b->from) / b->every * b->every;
    if (last + b->horizon > limit) {
        char d[DATE_BUF], e[DATE_BUF], ok[DATE_BUF];
        date_format(last, d);
        date_format(limit, e);
        date_format(limit - b->horizon, ok);
        return vg_fail(
            err, VG_EUSAGE,
            "%s cannot be backtested yet: its %d-day horizon ends "
            "after %s (%s), so the churn it would be measured "
            "against is not known; use --to %s or earlier",
            d, b->horizon, e,
            data_end < today ? "the end of the source data" : "today", ok);
    }
    return VG_OK;
}

/* Train as of d, measure at d; one entry of "dates". */
static vg_code one_date(db_conn *db, cli *c, const vg_log *quiet_log,
                        const backtest_opts *b, int d, json_t **out,
                        vg_error *err)
{
    train_opts t = {d, b->horizon, c->cfg.train_lookback_days,
                    c->cfg.train_step_days, 1};
    train_model tm;
    metrics_summary real, base;
    char day[DATE_BUF];
    date_format(d, day);
    vg_code rc = train_fit(db, &c->cfg, quiet_log, &t, &tm, err);
    if (rc == VG_OK)
        rc = train_evaluate(db, &c->cfg, quiet_log, &tm, d, b->horizon, 1,
                            &real, &base, err);
    if (rc == VG_OK) {
        const json_t *s = tm.summary;
        *out =
            json_pack("{s:s, s:I, s:I, s:o, s:o, s:o, s:{s:O, s:O, s:O, s:O, "
                      "s:O, s:O, s:O}}",
                      "as_of", day, "customers", (json_int_t)real.n, "churned",
                      (json_int_t)real.positives, "realised",
                      figures_json(&real), "baseline", figures_json(&base),
                      "estimated", figures_json(&tm.estimate), "training",
                      "validation", json_object_get(s, "validation"), "rows",
                      json_object_get(s, "rows"), "positives",
                      json_object_get(s, "positives"), "best_rounds",
                      json_object_get(s, "best_rounds"), "model_kind",
                      json_object_get(s, "model_kind"), "families",
                      json_object_get(s, "families"), "observation_step",
                      json_object_get(s, "observation_step"));
    } else {
        vg_wrap(err, "backtest as of %s: ", day);
    }
    train_model_free(&tm);
    return rc;
}

static double mean_of(const json_t *dates, const char *group, const char *k)
{
    double s = 0;
    int n = 0;
    size_t i;
    json_t *d;
    json_array_foreach(dates, i, d)
    {
        json_t *v = json_object_get(json_object_get(d, group), k);
        if (json_is_number(v)) {
            s += json_number_value(v);
            n++;
        }
    }
    return n ? s / n : NAN;
}

static json_t *summary_json(const json_t *dates)
{
    json_t *s = json_object();
    const char *groups[3] = {"realised", "baseline", "estimated"};
    const char *k[5] = {"auc", "pr_auc", "brier", "log_loss", "lift_top10"};
    for (int g = 0; g < 3; g++) {
        json_t *o = json_object();
        for (int i = 0; i < 5; i++) {
            double v = mean_of(dates, groups[g], k[i]);
            json_object_set_new(o, k[i],
                                isfinite(v) ? json_real(v) : json_null());
        }
        json_object_set_new(s, groups[g], o);
    }
    double gap =
        mean_of(dates, "estimated", "auc") - mean_of(dates, "realised", "auc");
    json_object_set_new(s, "dates",
                        json_integer((json_int_t)json_array_size(dates)));
    json_object_set_new(s, "estimate_minus_realised_auc",
                        isfinite(gap) ? json_real(gap) : json_null());
    return s;
}

static void print_human(const json_t *out)
{
    const json_t *dates = json_object_get(out, "dates");
    printf("%-10s %9s %7s  %-23s %-15s %-15s\n", "", "", "", "ROC AUC", "Brier",
           "lift top 10 %");
    printf("%-10s %9s %7s  %7s %7s %7s %7s %7s %7s %7s\n", "as of", "customers",
           "churned", "real", "est.", "base", "real", "base", "real", "base");
    size_t i;
    json_t *d;
    json_array_foreach(dates, i, d)
    {
        json_t *r = json_object_get(d, "realised"),
               *e = json_object_get(d, "estimated"),
               *b = json_object_get(d, "baseline");
        printf("%-10s %9lld %7lld  %7.3f %7.3f %7.3f %7.4f %7.4f %7.2f %7.2f\n",
               json_string_value(json_object_get(d, "as_of")),
               (long long)json_integer_value(json_object_get(d, "customers")),
               (long long)json_integer_value(json_object_get(d, "churned")),
               json_number_value(json_object_get(r, "auc")),
               json_number_value(json_object_get(e, "auc")),
               json_number_value(json_object_get(b, "auc")),
               json_number_value(json_object_get(r, "brier")),
               json_number_value(json_object_get(b, "brier")),
               json_number_value(json_object_get(r, "lift_top10")),
               json_number_value(json_object_get(b, "lift_top10")));
    }
    const json_t *s = json_object_get(out, "summary");
    printf("mean over %lld dates: realised ROC AUC %.3f, estimated %.3f, "
           "baseline %.3f\n",
           (long long)json_integer_value(json_object_get(s, "dates")),
           json_number_value(
               json_object_get(json_object_get(s, "realised"), "auc")),
           json_number_value(
               json_object_get(json_object_get(s, "estimated"), "auc")),
           json_number_value(
               json_object_get(json_object_get(s, "baseline"), "auc")));
}

static int run_backtest(cli *c, int argc, char **argv, vg_error *err)
{
    backtest_opts b;
    vg_code rc = parse(c, argc, argv, &b, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *dates = json_array();
    /* Each date's training would log its candidates: only warnings here. */
    vg_log quiet_log = c->log;
    if (quiet_log.level < LOG_LVL_WARN)
        quiet_log.level = LOG_LVL_WARN;
    progress p;
    progress_init(&p, c->quiet);
    int n = (b.to - b.from) / b.every + 1, k = 0;
    if ((rc = cli_connect(c, &db, 1, err)) == VG_OK)
        rc = check_horizon(db, c, &b, err);
    for (int d = b.from; rc == VG_OK && d <= b.to; d += b.every) {
        char day[DATE_BUF];
        date_format(d, day);
        progress_update(&p, "backtest: %s (%d of %d): training and scoring",
                        day, ++k, n);
        json_t *one = NULL;
        if ((rc = one_date(db, c, &quiet_log, &b, d, &one, err)) == VG_OK)
            json_array_append_new(dates, one);
    }
    progress_done(&p);
    if (rc == VG_OK) {
        json_t *out = json_pack("{s:O, s:o}", "dates", dates, "summary",
                                summary_json(dates));
        if (b.json)
            rc = cli_print_json(out, err);
        else
            print_human(out);
        json_decref(out);
    }
    json_decref(dates);
    db_close(db);
    return rc;
}

const command cmd_backtest = {
    .name = "backtest",
    .fn = run_backtest,
    .summary =
        "replay training and scoring for past dates against realised churn",
    .usage =
        "usage: vigil [global options] backtest --from D1 --to D2 [--every "
        "DAYS]\n"
        "                                      [--horizon DAYS] [--json]\n\n"
        "For each date d from D1 to D2, every DAYS days (default 30): train "
        "as\n"
        "`vigil train --as-of d` would (train.lookback_days, "
        "train.step_days),\n"
        "score the customers active at d and measure against the churn "
        "realised\n"
        "in [d, d + horizon): ROC AUC, PR AUC, Brier, log loss, lift in the "
        "top\n"
        "10 %, the same for the baseline (days since last activity), and the\n"
        "model's own estimate from its validation. Nothing is written to\n"
        "vigil.models or vigil.scores and the champion does not change. A "
        "date\n"
        "whose horizon has not passed yet (today, or the end of the source "
        "data)\n"
        "is refused.\n",
};
