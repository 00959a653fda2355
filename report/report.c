/* report.c — builds the HTML report section by section from one read-only
 * snapshot; each section renders its data or a note saying what to run.
 *
 * Every query runs inside a savepoint: a source table that is missing or
 * shaped differently costs one section, not the report. Nothing on the page
 * is wall-clock time, so the same data gives the same bytes. */
#include "report.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/date.h"
#include "report/html.h"
#include "report/svg.h"
#include "score/drivers.h"
#include "score/score.h"

#define NTIERS SCORE_NTIERS
#define TIER_NAME_(name) name,
static const char *const tier_names[NTIERS] = {SCORE_TIERS(TIER_NAME_, )};
/* By tier rank: chart fills, and badges dark enough for white text. */
static const char *const tier_colors[NTIERS] = {"#2e7d32", "#c9a227", "#e65100",
                                                "#b71c1c"};
static const char *const tier_badges[NTIERS] = {"#2e7d32", "#9a7b00", "#e65100",
                                                "#b71c1c"};

/* One open alert's window, to shade the days it covers in topic charts. */
typedef struct alert_win {
    long long topic_id;
    int from, to; /* day numbers, inclusive */
} alert_win;

typedef struct rctx {
    db_conn *db;
    const vg_log *lg;
    const report_opts *o;
    html_buf *h;
    char d[DATE_BUF];        /* the as-of date */
    char scores_d[DATE_BUF]; /* latest score date <= as-of; "" when none */
    char *customers_tbl, *tickets_tbl;
    long long model_id; /* 0 when there is none */
    json_t *metrics;    /* the model's vigil.models.metrics */
    int have_topics;    /* vigil.topics has rows */
    alert_win *wins;
    size_t nwins;
    json_t *sections, *rows;
    char soft[VG_ERRMSG_MAX]; /* why the last try_query failed */
    int horizon;              /* train.horizon_days: a "saved" is confirmed
                                 when the customer stays this long */
} rctx;

void report_opts_default(report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->score_dates = 12;
    o->top_customers = 20;
    o->trend_days = 30;
    o->top_topics = 8;
}

/* Runs a query in a savepoint. A failing query is soft: *res stays NULL,
 * x->soft says why and the snapshot stays usable. Only a failure of the
 * savepoint itself (the connection is gone) is returned as an error. */
static vg_code try_query(rctx *x, const char *sql, int n, const db_param *p,
                         PGresult **res, vg_error *err)
{
    *res = NULL;
    x->soft[0] = '\0';
    vg_code rc = db_run(x->db, "SAVEPOINT report_section", err);
    if (rc != VG_OK)
        return rc;
    vg_error qe;
    vg_error_clear(&qe);
    if (db_exec_params(x->db, sql, n, p, res, &qe) == VG_OK) {
        rc = db_run(x->db, "RELEASE SAVEPOINT report_section", err);
        if (rc != VG_OK) {
            PQclear(*res);
            *res = NULL;
        }
        return rc;
    }
    snprintf(x->soft, sizeof x->soft, "%s", qe.msg);
    log_warn(x->lg, "report: a section's query failed: %s", qe.msg);
    return db_run(x->db, "ROLLBACK TO SAVEPOINT report_section", err);
}

static void set_section(rctx *x, const char *name, const char *state,
                        long long rows)
{
    json_object_set_new(x->sections, name, json_string(state));
    json_object_set_new(x->rows, name, json_integer(rows));
}

static void section_open(rctx *x, const char *id, const char *title)
{
    html_printf(x->h, "<section id=\"%s\">\n<h2>%s</h2>\n", id, title);
}

/* The reason a query failed, escaped, after a fixed lead-in. */
static void note_failed(rctx *x, const char *what)
{
    html_printf(x->h, "<p class=\"note error\">Could not read %s: ", what);
    html_text_max(x->h, x->soft, 400);
    html_raw(x->h, "</p>\n");
}

static int is_null(PGresult *r, int i, int j)
{
    return PQgetisnull(r, i, j);
}

static double num(PGresult *r, int i, int j)
{
    return PQgetisnull(r, i, j) ? NAN : strtod(PQgetvalue(r, i, j), NULL);
}

/* 1234567.5 -> "1,234,568"; money and counts read better grouped. */
static void fmt_grouped(double v, char *buf, size_t n)
{
    if (!isfinite(v)) {
        snprintf(buf, n, "—");
        return;
    }
    char digits[64];
    snprintf(digits, sizeof digits, "%.0f", fabs(v));
    size_t len = strlen(digits), o = 0;
    if (v <= -0.5 && o + 1 < n)
        buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

/* A right-aligned number cell; a dash for NULL or a non-finite value. The
 * format is one of this file's literals. */
static void num_td(html_buf *h, const char *fmt, double v)
{
    html_raw(h, "<td class=\"num\">");
    if (isfinite(v))
        html_printf(h, fmt, v);
    else
        html_raw(h, "—");
    html_raw(h, "</td>");
}

/* A metric from a JSON object to 4 digits, or a dash when absent or null. */
static void metric_cell(html_buf *h, const json_t *obj, const char *key)
{
    const json_t *v = obj ? json_object_get(obj, key) : NULL;
    num_td(h, "%.4g", json_is_number(v) ? json_number_value(v) : NAN);
}

/* ---- context: the score date and the model the page is about ------------ */

static vg_code load_context(rctx *x, vg_error *err)
{
    PGresult *r = NULL;
    db_param p[2] = {DB_TEXT(x->d), DB_NULL};
    vg_code rc = try_query(
        x, "SELECT max(as_of)::text FROM vigil.scores WHERE as_of <= $1::date",
        1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (r && PQntuples(r) == 1 && !is_null(r, 0, 0))
        snprintf(x->scores_d, sizeof x->scores_d, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    /* The model behind the latest scores; else the champion, else the newest
     * model; never one trained as of a later date. */
    p[1] = DB_TEXT(x->scores_d[0] ? x->scores_d : NULL);
    rc = try_query(x,
                   "SELECT model_id, metrics::text FROM vigil.models "
                   "WHERE as_of <= $1::date ORDER BY model_id = "
                   "(SELECT s.model_id FROM vigil.scores s WHERE s.as_of = "
                   "$2::date GROUP BY s.model_id ORDER BY count(*) DESC, "
                   "s.model_id DESC LIMIT 1) DESC NULLS LAST, "
                   "is_champion DESC, as_of DESC, model_id DESC LIMIT 1",
                   2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (r && PQntuples(r) == 1) {
        json_error_t je;
        x->model_id = atoll(PQgetvalue(r, 0, 0));
        x->metrics = json_loads(PQgetvalue(r, 0, 1), 0, &je);
    }
    PQclear(r);
    rc = try_query(x, "SELECT EXISTS (SELECT 1 FROM vigil.topics)", 0, NULL, &r,
                   err);
    if (rc == VG_OK && r && PQntuples(r) == 1)
        x->have_topics = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

/* ---- page frame --------------------------------------------------------- */

static const char css_head[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,"
    "'DejaVu Sans',sans-serif;color:#1d2430;max-width:1100px;margin:0 auto;"
    "padding:16px 24px}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:18px;border-bottom:1px solid #d5dae1;padding-bottom:4px;"
    "margin-top:28px}\n"
    "table{border-collapse:collapse;margin:8px 0}\n"
    "th,td{padding:3px 8px;border-bottom:1px solid #e3e7ec;text-align:left;"
    "vertical-align:top}\n"
    "th{font-weight:600;background:#f3f5f8}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;"
    "white-space:nowrap}\n"
    ".note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px}\n"
    ".note.error{background:#fdecea;border-left-color:#c62828}\n"
    ".meta{color:#5b6573}\n"
    ".tier{display:inline-block;padding:0 6px;border-radius:3px;color:#fff;"
    "font-size:12px;-webkit-print-color-adjust:exact;print-color-adjust:exact}"
    "\n";
/* (the .tier-NAME badge rules go between the two) */
static const char css_tail[] =
    ".terms{color:#5b6573;font-size:12px}\n"
    ".headline{font-size:16px}\n"
    "ul.why{margin:0;padding-left:18px}\n"
    "svg.chart{max-width:100%;height:auto;display:block}\n"
    "svg .grid{stroke:#e3e7ec;stroke-width:1}\n"
    "svg .tick{font-size:11px;fill:#5b6573}\n"
    "svg .legend,svg .axis{font-size:12px;fill:#1d2430}\n"
    "svg .diagonal{stroke:#8a94a3;stroke-dasharray:4 4;stroke-width:1.5}\n"
    "svg .calib{fill:none;stroke:#1565c0;stroke-width:2}\n"
    "svg .calib-pt{fill:#1565c0;fill-opacity:.75}\n"
    "svg .day{fill:#1565c0}\n"
    "svg .alert-window{fill:#ffe0b2}\n"
    "svg .base{stroke:#8a94a3}\n"
    "@media print{body{max-width:none;padding:0}"
    "tr,svg{break-inside:avoid}.note{border:1px solid #f9a825}}\n";

static void page_open(rctx *x)
{
    html_raw(x->h,
             "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
             "<meta charset=\"utf-8\">\n"
             /* Defence in depth: even an escaping bug could neither run a
              * script nor fetch anything. */
             "<meta http-equiv=\"Content-Security-Policy\" "
             "content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, "
             "initial-scale=1\">\n"
             "<meta name=\"generator\" content=\"vigil report\">\n"
             "<title>vigil report as of ");
    html_text(x->h, x->d);
    html_raw(x->h, "</title>\n<style>\n");
    html_raw(x->h, css_head);
    for (int t = 0; t < NTIERS; t++)
        html_printf(x->h, ".tier-%s{background:%s}", tier_names[t],
                    tier_badges[t]);
    html_raw(x->h, "\n");
    html_raw(x->h, css_tail);
    html_raw(x->h, "</style>\n</head>\n<body>\n");
}

/* ---- summary: what, when, which model and how good it is ---------------- */

static void model_line(rctx *x, vg_error *err, vg_code *rc)
{
    html_buf *h = x->h;
    const db_param p[1] = {DB_INT(x->model_id)};
    PGresult *r = NULL;
    *rc = try_query(x,
                    "SELECT as_of::text, horizon_days, is_champion "
                    "FROM vigil.models WHERE model_id = $1::bigint",
                    1, p, &r, err);
    html_printf(h, "<p>Model <b>#%lld</b>", x->model_id);
    if (r && PQntuples(r) == 1) {
        html_raw(h, PQgetvalue(r, 0, 2)[0] == 't' ? " (the current champion)"
                                                  : "");
        html_raw(h, ", trained as of ");
        html_text(h, PQgetvalue(r, 0, 0));
        html_raw(h, " to predict churn within ");
        html_text(h, PQgetvalue(r, 0, 1));
        html_raw(h, " days.");
    }
    PQclear(r);
    const char *val =
        json_string_value(json_object_get(x->metrics, "validation"));
    const char *vdate =
        json_string_value(json_object_get(x->metrics, "validation_date"));
    const json_t *vrows = json_object_get(x->metrics, "validation_rows");
    html_raw(h, " Validation: ");
    if (val && !strcmp(val, "time")) {
        html_raw(h, "on the observation date ");
        html_text(h, vdate ? vdate : "?");
        html_raw(h, ", after training on earlier dates");
    } else if (val && !strcmp(val, "cv")) {
        html_raw(h, "5-fold cross-validation");
    } else {
        html_text(h, val ? val : "not recorded");
    }
    if (json_is_integer(vrows))
        html_printf(h, " (%lld rows)", (long long)json_integer_value(vrows));
    html_raw(h, ".</p>\n");
}

/* What the metrics mean, in words a support lead uses. */
static void quality_words(rctx *x, const json_t *m, const json_t *b)
{
    html_buf *h = x->h;
    const json_t *auc = json_object_get(m, "auc"),
                 *lift = json_object_get(m, "lift_top_decile"),
                 *base = json_object_get(m, "base_rate"),
                 *bauc = json_object_get(b, "auc");
    if (!json_is_number(auc))
        return;
    double a = json_number_value(auc);
    const char *verdict = a >= 0.8   ? "good"
                          : a >= 0.7 ? "useful"
                          : a >= 0.6 ? "weak"
                                     : "hardly better than chance";
    html_printf(h,
                "<p class=\"quality\">Model quality in plain words: "
                "<b>%s</b>. Given one customer who churned and one who "
                "stayed, the model rated the churner riskier %.0f%% of the "
                "time (50%% is a coin toss).",
                verdict, 100 * a);
    if (json_is_number(lift) && json_is_number(base))
        html_printf(h,
                    " About %.1f in 100 customers churned within the horizon; "
                    "among the 10%% it rated riskiest, %.1f times as many "
                    "did.",
                    100 * json_number_value(base), json_number_value(lift));
    if (json_is_number(bauc))
        html_printf(h,
                    " The simple rule \"longest without product activity "
                    "first\" scores %.0f%%: the model is %s.",
                    100 * json_number_value(bauc),
                    a > json_number_value(bauc) + 0.01 ? "better"
                    : a < json_number_value(bauc) - 0.01
                        ? "worse — check the data mapping"
                        : "no better");
    if (a < 0.6)
        html_raw(h, " Treat the tiers as a rough guide until more history "
                    "accumulates.");
    html_raw(h, "</p>\n");
}

static vg_code sec_summary(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    PGresult *r = NULL;
    vg_code rc = try_query(x, "SELECT current_database()", 0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    html_raw(h, "<section id=\"summary\">\n<h1>vigil report — as of ");
    html_text(h, x->d);
    html_raw(h, "</h1>\n<p class=\"meta\">Database <b>");
    html_text(h, r && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "?");
    PQclear(r);
    html_raw(h, "</b>. Everything below comes from data recorded before ");
    html_text(h, x->d);
    html_raw(h, " 00:00 UTC; latest scores: ");
    html_text(h, x->scores_d[0] ? x->scores_d : "none");
    html_raw(h, ".</p>\n");
    if (!x->model_id) {
        html_raw(h, "<p class=\"note\">No model trained as of ");
        html_text(h, x->d);
        html_raw(h, " or earlier yet — run <code>vigil train --as-of ");
        html_text(h, x->d);
        html_raw(h, "</code>.</p>\n</section>\n");
        set_section(x, "summary", "empty", 0);
        return VG_OK;
    }
    /* the model's details come after the money (sec_calibration) */
    html_raw(h, "</section>\n");
    const json_t *m = json_object_get(x->metrics, "model");
    set_section(x, "summary", json_is_object(m) ? "data" : "empty", 1);
    return VG_OK;
}

/* Which model, how good in words and in figures: opens "Model quality". */
static vg_code model_quality(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    vg_code rc = VG_OK;
    model_line(x, err, &rc);
    if (rc != VG_OK)
        return rc;
    const json_t *m = json_object_get(x->metrics, "model");
    const json_t *b = json_object_get(x->metrics, "baseline");
    quality_words(x, m, b);
    static const char *const keys[][2] = {
        {"auc", "ROC AUC"},
        {"pr_auc", "PR AUC"},
        {"brier", "Brier score"},
        {"logloss", "log loss"},
        {"lift_top_decile", "lift in the riskiest 10%"},
        {"base_rate", "churn rate (base rate)"}};
    html_raw(h, "<table class=\"metrics\">\n<tr><th>metric</th>"
                "<th class=\"num\">model</th>");
    if (json_is_object(b))
        html_raw(h, "<th class=\"num\">baseline: days since last "
                    "activity</th>");
    html_raw(h, "</tr>\n");
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        html_printf(h, "<tr><td>%s</td>", keys[i][1]);
        metric_cell(h, m, keys[i][0]);
        if (json_is_object(b))
            metric_cell(h, b, keys[i][0]);
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</table>\n");
    return VG_OK;
}

/* ---- tier distribution over the last score dates ------------------------ */

/* One count per tier, in rank order, each followed by a comma. */
#define TIER_COUNT_SQL_(name) "count(*) FILTER (WHERE tier = '" name "'), "

static void tier_table(rctx *x, PGresult *r, const char **labels, int nd)
{
    html_buf *h = x->h;
    html_raw(h, "<table class=\"tiers\">\n<tr><th>score date</th>");
    for (int t = 0; t < NTIERS; t++)
        html_printf(h, "<th class=\"num\">%s</th>", tier_names[t]);
    html_raw(h, "<th class=\"num\">scored</th><th class=\"num\">mean "
                "churn risk</th></tr>\n");
    for (int i = 0; i < nd; i++) {
        html_raw(h, "<tr><td>");
        html_text(h, labels[i]);
        html_raw(h, "</td>");
        for (int t = 0; t <= NTIERS; t++) {
            char g[32];
            fmt_grouped(num(r, i, 1 + t), g, sizeof g);
            html_printf(h, "<td class=\"num\">%s</td>", g);
        }
        num_td(h, "%.1f%%", 100 * num(r, i, 6));
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</table>\n");
}

/* The tiers' chart and table for nd score dates (r: the date, the tiers'
 * counts, the mean risk): one bar of shares for a single date, stacked bars
 * over time otherwise. */
static vg_code tiers_chart(rctx *x, PGresult *r, int nd, vg_error *err)
{
    html_buf *h = x->h;
    double *v = calloc((size_t)nd * NTIERS, sizeof *v);
    const char **labels = calloc((size_t)nd, sizeof *labels);
    if (!v || !labels) {
        free(v);
        free(labels);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    for (int i = 0; i < nd; i++) {
        labels[i] = PQgetvalue(r, i, 0);
        for (int t = 0; t < NTIERS; t++)
            v[i * NTIERS + t] = num(r, i, 1 + t);
    }
    html_printf(h,
                "<p>Share of scored customers in each tier on the last "
                "%d score dates up to ",
                nd);
    html_text(h, x->d);
    html_raw(h, ".</p>\n");
    if (nd == 1) {
        /* one date: one bar with shares reads; a lone column does not */
        char lab[NTIERS][48];
        const char *labp[NTIERS];
        for (int t = 0; t < NTIERS; t++) {
            fmt_grouped(v[t], lab[t], sizeof lab[t]);
            labp[t] = lab[t];
        }
        svg_share_bar(h, "tiers", "Customers per tier", NTIERS, tier_names,
                      tier_colors, v, labp);
    } else {
        svg_stacked_bars(h, "Customers per tier by score date", (size_t)nd,
                         labels, NTIERS, tier_names, tier_colors, v);
    }
    tier_table(x, r, labels, nd);
    free(v);
    free(labels);
    return VG_OK;
}

static vg_code sec_tiers(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "tiers", "Tier distribution over time");
    const db_param p[2] = {DB_TEXT(x->d), DB_INT(x->o->score_dates)};
    PGresult *r = NULL;
    /* The score dates come from a loose index scan over the primary key: a
     * DISTINCT would read every score ever written. */
    vg_code rc = try_query(
        x,
        "WITH RECURSIVE d(as_of, n) AS ("
        " SELECT max(as_of), 1 FROM vigil.scores WHERE as_of <= $1::date"
        " UNION ALL SELECT (SELECT max(s.as_of) FROM vigil.scores s"
        "  WHERE s.as_of < d.as_of), d.n + 1 FROM d"
        "  WHERE d.as_of IS NOT NULL AND d.n < $2::int) "
        "SELECT s.as_of::text, " SCORE_TIERS(
            TIER_COUNT_SQL_, ) " count(*), "
                               " avg(churn_risk) "
                               "FROM vigil.scores s JOIN d ON d.as_of = "
                               "s.as_of "
                               "GROUP BY s.as_of ORDER BY s.as_of",
        2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    int nd = r ? PQntuples(r) : 0;
    if (!r) {
        note_failed(x, "vigil.scores");
    } else if (nd == 0) {
        html_raw(h, "<p class=\"note\">No scores up to ");
        html_text(h, x->d);
        html_raw(h, " yet — run <code>vigil score --as-of ");
        html_text(h, x->d);
        html_raw(h, "</code>");
        html_raw(h, x->model_id ? "" : " after <code>vigil train</code>");
        html_raw(h, ".</p>\n");
    } else if ((rc = tiers_chart(x, r, nd, err)) != VG_OK) {
        PQclear(r);
        return rc;
    }
    PQclear(r);
    html_raw(h, "</section>\n");
    set_section(x, "tiers", !r ? "error" : nd ? "data" : "empty", nd);
    return VG_OK;
}

/* ---- calibration curve from the model's stored table -------------------- */

/* The calibration table's rows: each risk bin's bounds, rows, mean
 * prediction and observed churn rate. */
static void calibration_rows(html_buf *h, const json_t *tab, size_t n,
                             const double *pred, const double *obs,
                             const double *rows)
{
    html_raw(h, "<table class=\"calibration\">\n<tr><th>predicted risk "
                "bin</th><th class=\"num\">rows</th><th class=\"num\">mean "
                "predicted</th><th class=\"num\">observed</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(tab, i);
        const json_t *lo = json_object_get(e, "lo"),
                     *hi = json_object_get(e, "hi");
        char g[32];
        fmt_grouped(rows[i], g, sizeof g);
        html_printf(h, "<tr><td>%.2f–%.2f</td><td class=\"num\">%s</td>",
                    json_number_value(lo), json_number_value(hi), g);
        num_td(h, "%.4f", pred[i]);
        num_td(h, "%.4f", obs[i]);
        html_raw(h, "</tr>\n");
    }
}

static vg_code sec_calibration(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "calibration", "Model quality and calibration");
    const json_t *tab = json_object_get(json_object_get(x->metrics, "model"),
                                        "calibration_table");
    size_t n = json_is_array(tab) ? json_array_size(tab) : 0;
    if (!x->model_id) {
        html_raw(h, "<p class=\"note\">No model yet — run <code>vigil train "
                    "--as-of ");
        html_text(h, x->d);
        html_raw(h, "</code>.</p>\n</section>\n");
        set_section(x, "calibration", "empty", 0);
        return VG_OK;
    }
    vg_code qrc = model_quality(x, err);
    if (qrc != VG_OK)
        return qrc;
    if (n == 0) {
        html_printf(h,
                    "<p class=\"note\">Model #%lld stores no calibration "
                    "table — retrain with <code>vigil train</code>.</p>\n"
                    "</section>\n",
                    x->model_id);
        set_section(x, "calibration", "empty", 0);
        return VG_OK;
    }
    double *pred = calloc(n, sizeof *pred), *obs = calloc(n, sizeof *obs),
           *rows = calloc(n, sizeof *rows);
    if (!pred || !obs || !rows) {
        free(pred);
        free(obs);
        free(rows);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(tab, i);
        const json_t *a = json_object_get(e, "mean_predicted"),
                     *o = json_object_get(e, "observed"),
                     *c = json_object_get(e, "rows");
        pred[i] = json_is_number(a) ? json_number_value(a) : NAN;
        obs[i] = json_is_number(o) ? json_number_value(o) : NAN;
        rows[i] = json_is_number(c) ? json_number_value(c) : NAN;
    }
    html_printf(h,
                "<p>On the validation rows of model #%lld, customers are "
                "grouped by predicted churn risk; each point is a group's mean "
                "prediction against the share that churned. Points on the "
                "dashed diagonal are perfectly calibrated; the bigger the "
                "point, the more customers.</p>\n",
                x->model_id);
    svg_calibration(h, "Predicted churn risk against observed churn rate", n,
                    pred, obs, rows);
    calibration_rows(h, tab, n, pred, obs, rows);
    html_raw(h, "</table>\n</section>\n");
    free(pred);
    free(obs);
    free(rows);
    set_section(x, "calibration", "data", (long long)n);
    return VG_OK;
}

/* ---- the riskiest customers and why ------------------------------------- */

/* A drivers array as a list by theme, behaviour first, each theme with its
 * next step; 0 when there is nothing to list. */
static int reasons_list(html_buf *h, const json_t *drivers)
{
    json_t *groups = drivers_by_theme(drivers);
    size_t i, k;
    json_t *g, *e;
    int any = 0;
    json_array_foreach(groups, i, g)
    {
        json_t *rs = json_object_get(g, "reasons");
        if (json_array_size(rs) == 0)
            continue;
        html_raw(h, any ? "" : "<ul class=\"why\">");
        html_raw(h, "<li><b>");
        html_text(h, json_string_value(json_object_get(g, "title")));
        html_raw(
            h, !strcmp(json_string_value(json_object_get(g, "kind")), "profile")
                   ? " (profile)"
                   : "");
        html_raw(h, ":</b> ");
        json_array_foreach(rs, k, e)
        {
            html_raw(h, k ? "; " : "");
            html_text_max(h, json_string_value(e), 300);
        }
        html_raw(h, "<br><span class=\"meta\">Next step: ");
        html_text(h, json_string_value(json_object_get(g, "action")));
        html_raw(h, "</span></li>");
        any = 1;
    }
    json_decref(groups);
    if (any)
        html_raw(h, "</ul>");
    return any;
}

/* Columns: customer_id, churn_risk, health, tier, drivers, name, plan, mrr. */
static void customer_row(rctx *x, PGresult *r, int i)
{
    html_buf *h = x->h;
    html_printf(h, "<tr><td class=\"num\">%d</td><td>", i + 1);
    html_text_max(h, PQgetvalue(r, i, 0), 80);
    if (!is_null(r, i, 5) && PQgetvalue(r, i, 5)[0]) {
        html_raw(h, "<br><span class=\"meta\">");
        html_text_max(h, PQgetvalue(r, i, 5), 80);
        html_raw(h, "</span>");
    }
    const char *tier = PQgetvalue(r, i, 3);
    int known = 0;
    for (int t = 0; t < NTIERS; t++)
        known |= !strcmp(tier, tier_names[t]);
    html_printf(h,
                "</td><td class=\"num\">%.1f%%</td><td class=\"num\">%s</td>"
                "<td><span class=\"tier tier-%s\">",
                100 * num(r, i, 1), PQgetvalue(r, i, 2),
                known ? tier : "unknown");
    html_text(h, tier);
    char g[32];
    fmt_grouped(num(r, i, 7), g, sizeof g);
    html_printf(h, "</span></td><td class=\"num\">%s</td>", g);
    fmt_grouped(num(r, i, 1) * fmax(num(r, i, 7), 0), g, sizeof g);
    html_printf(h, "<td class=\"num\">%s</td><td>", g);
    html_text_max(h, is_null(r, i, 6) ? "" : PQgetvalue(r, i, 6), 40);
    html_raw(h, "</td><td>");
    json_error_t je;
    /* unreadable drivers (NULL) list nothing: the row shows "—" */
    json_t *dr = json_loads(PQgetvalue(r, i, 4), 0, &je);
    int any = reasons_list(h, dr);
    json_decref(dr);
    html_raw(h, any ? "</td></tr>\n" : "—</td></tr>\n");
}

static void customer_table(rctx *x, PGresult *r, int joined)
{
    html_buf *h = x->h;
    int n = PQntuples(r);
    if (strcmp(x->scores_d, x->d)) {
        html_raw(h, "<p class=\"note\">No scores for ");
        html_text(h, x->d);
        html_raw(h, " itself: these are from ");
        html_text(h, x->scores_d);
        html_raw(h, " (run <code>vigil score --as-of ");
        html_text(h, x->d);
        html_raw(h, "</code>).</p>\n");
    }
    html_printf(h,
                "<p>The %d customers with the most revenue at risk (churn "
                "risk × MRR) on ",
                n);
    html_text(h, x->scores_d);
    html_raw(h, joined ? "" : " (by churn risk: MRR is unknown)");
    html_raw(h, ", with their reasons by theme and a next step for each.");
    if (joined)
        html_raw(h, " Name, plan and MRR are the source table's current "
                    "values.");
    html_raw(h, "</p>\n<table class=\"customers\">\n<tr><th "
                "class=\"num\">#</th><th>customer</th><th "
                "class=\"num\">churn risk</th><th "
                "class=\"num\">health</th><th>tier</th><th "
                "class=\"num\">MRR</th><th class=\"num\">MRR at "
                "risk</th><th>plan</th><th>why</th></tr>\n");
    for (int i = 0; i < n; i++)
        customer_row(x, r, i);
    html_raw(h, "</table>\n");
}

/* A section that needs the scores of D says how to get them, and closes. */
static vg_code section_no_scores(rctx *x, const char *name)
{
    html_raw(x->h, "<p class=\"note\">No scores yet — run <code>vigil score "
                   "--as-of ");
    html_text(x->h, x->d);
    html_raw(x->h, "</code>.</p>\n</section>\n");
    set_section(x, name, "empty", 0);
    return VG_OK;
}

static vg_code sec_customers(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "customers", "Customers by revenue at risk");
    if (!x->scores_d[0])
        return section_no_scores(x, "customers");
    const db_param p[2] = {DB_TEXT(x->scores_d), DB_INT(x->o->top_customers)};
    /* Revenue at risk first: a support lead calls the account that can
     * cost the most, not the riskiest ten-dollar one. */
    const char *fmt = "SELECT s.customer_id, s.churn_risk, s.health, s.tier, "
                      "s.drivers::text, %s FROM vigil.scores s %s%s%s "
                      "WHERE s.as_of = $1::date "
                      "ORDER BY %s s.churn_risk DESC, s.customer_id "
                      "LIMIT $2::int";
    /* The source table's name is quoted SQL, never a parameter. */
    size_t need = strlen(fmt) + strlen(x->customers_tbl) + 256;
    char *q = malloc(need);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(q, need, fmt, "c.name::text, c.plan::text, c.mrr::text",
             "LEFT JOIN ", x->customers_tbl,
             " c ON c.customer_id::text = s.customer_id",
             "s.churn_risk * greatest(coalesce(c.mrr::float8, 0), 0) DESC,");
    PGresult *r = NULL;
    vg_code rc = try_query(x, q, 2, p, &r, err);
    int joined = r != NULL;
    if (rc == VG_OK && !r) {
        /* Without the source customers the scores still tell the story. */
        html_raw(h, "<p class=\"note\">Names, plans and MRR are missing: ");
        html_text_max(h, x->soft, 300);
        html_raw(h, "</p>\n");
        snprintf(q, need, fmt, "NULL::text, NULL::text, NULL::text", "", "", "",
                 "");
        rc = try_query(x, q, 2, p, &r, err);
    }
    free(q);
    if (rc != VG_OK)
        return rc;
    int n = r ? PQntuples(r) : 0;
    if (!r)
        note_failed(x, "vigil.scores");
    else
        customer_table(x, r, joined);
    PQclear(r);
    html_raw(h, "</section>\n");
    set_section(x, "customers", !r ? "error" : n ? "data" : "empty", n);
    return VG_OK;
}

/* ---- open alerts at the as-of date (queried before topics: their windows
 * are shaded in the topic charts) ----------------------------------------- */

/* Columns: alert_id, topic_id, label, detected, window start, window end
 * (cut at D), cut?, observed, expected, p_value, customers, mrr_at_risk,
 * window start and end as day numbers. */
static vg_code query_alerts(rctx *x, PGresult **res, vg_error *err)
{
    const db_param p[1] = {DB_TEXT(x->d)};
    /* What the alert looked like at D: `vigil topics` keeps every run's view
     * in trend_alert_days, so the latest day on or before D is exact. Rows
     * written without that history (other writers, older versions) fall
     * back to: raised by D, and still open now or counting days up to D,
     * with the window cut at D. */
    return try_query(
        x,
        "SELECT a.alert_id, a.topic_id, t.label, "
        " (a.detected_at AT TIME ZONE 'UTC')::date::text, "
        " coalesce(d.window_start, a.window_start)::text, "
        " coalesce(d.window_end, LEAST(a.window_end, $1::date))::text, "
        " d.alert_id IS NULL AND coalesce(a.window_end > $1::date, false), "
        " coalesce(d.observed, a.observed), coalesce(d.expected, a.expected), "
        " coalesce(d.p_value, a.p_value), coalesce(d.customers, a.customers), "
        " coalesce(d.mrr_at_risk, a.mrr_at_risk)::text, "
        " coalesce(d.window_start, a.window_start) - date '1970-01-01', "
        " coalesce(d.window_end, LEAST(a.window_end, $1::date)) "
        "  - date '1970-01-01' "
        "FROM vigil.trend_alerts a "
        "LEFT JOIN LATERAL (SELECT * FROM vigil.trend_alert_days h "
        " WHERE h.alert_id = a.alert_id AND h.as_of <= $1::date "
        " ORDER BY h.as_of DESC LIMIT 1) d ON true "
        "LEFT JOIN vigil.topics t ON t.topic_id = a.topic_id "
        "WHERE a.detected_at < ($1::date + 1)::timestamptz "
        " AND CASE WHEN d.alert_id IS NOT NULL THEN d.status = 'open' "
        "  ELSE NOT EXISTS (SELECT 1 FROM vigil.trend_alert_days h "
        "                   WHERE h.alert_id = a.alert_id) "
        "   AND (a.status = 'open' OR a.window_end >= $1::date - 1) END "
        "ORDER BY coalesce(d.p_value, a.p_value) NULLS LAST, a.alert_id",
        1, p, res, err);
}

static void topic_label(html_buf *h, PGresult *r, int i, int label_col,
                        long long topic_id)
{
    if (is_null(r, i, label_col) || !PQgetvalue(r, i, label_col)[0])
        html_printf(h, "topic %lld", topic_id);
    else
        html_text_max(h, PQgetvalue(r, i, label_col), 80);
}

static int alert_row(rctx *x, PGresult *r, int i)
{
    html_buf *h = x->h;
    long long id = atoll(PQgetvalue(r, i, 0));
    long long tid = atoll(PQgetvalue(r, i, 1));
    int clipped = PQgetvalue(r, i, 6)[0] == 't';
    html_printf(h, "<tr id=\"alert-%lld\"><td><a href=\"#topic-%lld\">", id,
                tid);
    topic_label(h, r, i, 2, tid);
    html_raw(h, "</a></td><td>");
    html_text(h, PQgetvalue(r, i, 3));
    html_raw(h, "</td><td>");
    html_text(h, PQgetvalue(r, i, 4));
    html_raw(h, " – ");
    html_text(h, PQgetvalue(r, i, 5));
    html_raw(h, clipped ? "*</td>" : "</td>");
    num_td(h, "%.0f", num(r, i, 7));
    num_td(h, "%.1f", num(r, i, 8));
    num_td(h, "%.2g", num(r, i, 9));
    char g[32], m[32];
    fmt_grouped(num(r, i, 10), g, sizeof g);
    fmt_grouped(num(r, i, 11), m, sizeof m);
    html_printf(h, "<td class=\"num\">%s</td><td class=\"num\">%s</td></tr>\n",
                g, m);
    return clipped;
}

static vg_code sec_alerts(rctx *x, PGresult *r, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "alerts", "Open trend alerts");
    int n = r ? PQntuples(r) : 0;
    if (!r) {
        note_failed(x, "vigil.trend_alerts");
    } else if (n == 0) {
        html_raw(h, "<p class=\"note\">");
        if (x->have_topics) {
            html_raw(h, "No open alerts at ");
            html_text(h, x->d);
            html_raw(h, ".");
        } else {
            html_raw(h, "No data yet — run <code>vigil topics --as-of ");
            html_text(h, x->d);
            html_raw(h, "</code>.");
        }
        html_raw(h, "</p>\n");
    } else {
        int cut = 0;
        html_raw(h, "<p>Topics whose ticket volume rose beyond what their "
                    "history predicts, most significant first.</p>\n"
                    "<table class=\"alerts\">\n<tr><th>topic</th>"
                    "<th>detected</th><th>window</th><th "
                    "class=\"num\">observed</th><th "
                    "class=\"num\">expected</th><th "
                    "class=\"num\">p-value</th><th "
                    "class=\"num\">customers</th><th class=\"num\">MRR at "
                    "risk</th></tr>\n");
        for (int i = 0; i < n; i++)
            cut |= alert_row(x, r, i);
        html_raw(h, "</table>\n");
        if (cut) {
            html_raw(h, "<p class=\"meta\">* The alert was still running "
                        "after ");
            html_text(h, x->d);
            html_raw(h, ": its window is shown up to that day, but alert rows "
                        "keep their latest counts.</p>\n");
        }
    }
    html_raw(h, "</section>\n");
    set_section(x, "alerts", !r ? "error" : n ? "data" : "empty", n);
    return VG_OK;
}

/* Remember open alerts' windows and their topics (as a bigint[] literal). */
static vg_code collect_windows(rctx *x, PGresult *r, char **ids, vg_error *err)
{
    int n = r ? PQntuples(r) : 0;
    *ids = malloc((size_t)n * 24 + 3);
    x->wins = calloc((size_t)n + 1, sizeof *x->wins);
    if (!*ids || !x->wins)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    size_t o = 0;
    (*ids)[o++] = '{';
    for (int i = 0; i < n; i++) {
        if (is_null(r, i, 1))
            continue;
        alert_win *w = &x->wins[x->nwins++];
        w->topic_id = atoll(PQgetvalue(r, i, 1));
        /* a window without both ends shades nothing */
        int known = !is_null(r, i, 12) && !is_null(r, i, 13);
        w->from = known ? atoi(PQgetvalue(r, i, 12)) : 1;
        w->to = known ? atoi(PQgetvalue(r, i, 13)) : 0;
        o += (size_t)snprintf(*ids + o, 24, "%s%lld", x->nwins > 1 ? "," : "",
                              w->topic_id);
    }
    (*ids)[o++] = '}';
    (*ids)[o] = '\0';
    return VG_OK;
}

/* ---- topic trends: daily tickets per topic before the as-of date --------- */

/* Rows from..to-1 of r are one topic's days. Columns: topic_id, label,
 * terms, total, day index, count. */
static void topic_row(rctx *x, PGresult *r, int from, int to, double *counts,
                      unsigned char *mark)
{
    html_buf *h = x->h;
    int nd = x->o->trend_days, first = x->o->as_of - nd;
    long long tid = atoll(PQgetvalue(r, from, 0));
    memset(counts, 0, (size_t)nd * sizeof *counts);
    memset(mark, 0, (size_t)nd);
    for (int i = from; i < to; i++) {
        int d = atoi(PQgetvalue(r, i, 4));
        if (d >= 0 && d < nd)
            counts[d] = num(r, i, 5);
    }
    int alerted = 0;
    for (size_t w = 0; w < x->nwins; w++) {
        if (x->wins[w].topic_id != tid)
            continue;
        alerted = 1;
        for (int d = 0; d < nd; d++)
            if (first + d >= x->wins[w].from && first + d <= x->wins[w].to)
                mark[d] = 1;
    }
    html_printf(h, "<tr id=\"topic-%lld\" data-tickets=\"%lld\"><td>", tid,
                atoll(PQgetvalue(r, from, 3)));
    topic_label(h, r, from, 1, tid);
    if (!is_null(r, from, 2) && PQgetvalue(r, from, 2)[0]) {
        html_raw(h, "<br><span class=\"terms\">");
        html_text_max(h, PQgetvalue(r, from, 2), 120);
        html_raw(h, "</span>");
    }
    double peak = 0;
    for (int d = 0; d < nd; d++)
        peak = fmax(peak, counts[d]);
    html_printf(h,
                "</td><td class=\"num\">%lld<br><span class=\"meta\">peak "
                "%.0f a day</span></td><td>%s</td><td>",
                atoll(PQgetvalue(r, from, 3)), peak,
                alerted ? "open alert" : "");
    html_buf *t = html_new();
    if (t) {
        /* raw here: the chart escapes its title */
        html_raw(t, "Daily tickets: ");
        if (is_null(r, from, 1))
            html_printf(t, "topic %lld", tid);
        else
            html_raw(t, PQgetvalue(r, from, 1));
        if (!html_failed(t))
            svg_day_bars(h, html_data(t), first, (size_t)nd, counts, mark);
        html_free(t);
    }
    html_raw(h, "</td></tr>\n");
}

static void topic_table(rctx *x, PGresult *r, double *counts,
                        unsigned char *mark, int *ntopics)
{
    html_buf *h = x->h;
    char a[DATE_BUF];
    date_format(x->o->as_of - x->o->trend_days, a);
    html_raw(h, "<p>Tickets per day for the busiest topics (and any with an "
                "open alert, its window shaded) from ");
    html_text(h, a);
    html_raw(h, " to the day before ");
    html_text(h, x->d);
    html_raw(h, ".</p>\n<table class=\"topics\">\n<tr><th>topic</th>"
                "<th class=\"num\">tickets</th><th>alert</th>"
                "<th>tickets per day</th></tr>\n");
    int n = PQntuples(r);
    for (int i = 0; i < n;) {
        int j = i + 1;
        while (j < n && !strcmp(PQgetvalue(r, j, 0), PQgetvalue(r, i, 0)))
            j++;
        topic_row(x, r, i, j, counts, mark);
        (*ntopics)++;
        i = j;
    }
    html_raw(h, "</table>\n");
}

/* Tickets per topic and day over the trend window ($1 the date, $2 the
 * days): the $3 busiest topics and every topic with an open alert ($4),
 * busiest first. %s is the source's tickets table. */
static const char TOPIC_TRENDS_SQL[] =
    "WITH w AS (SELECT tt.topic_id, "
    "  (tk.created_at AT TIME ZONE 'UTC')::date - ($1::date - $2::int) "
    "  AS d "
    " FROM vigil.ticket_topics tt JOIN %s tk "
    "  ON tk.ticket_id::text = tt.ticket_id "
    " WHERE tt.topic_id IS NOT NULL "
    "  AND tk.created_at >= ($1::date - $2::int)::timestamptz "
    "  AND tk.created_at < $1::date::timestamptz), "
    "n AS (SELECT topic_id, count(*) AS total, "
    "  row_number() OVER (ORDER BY count(*) DESC, topic_id) AS rk "
    " FROM w GROUP BY topic_id), "
    "top AS (SELECT * FROM n "
    " WHERE rk <= $3::int OR topic_id = ANY ($4::bigint[])) "
    "SELECT top.topic_id, t.label, array_to_string(t.terms[1:6], ', '), "
    " top.total, w.d, count(*) "
    "FROM top JOIN w USING (topic_id) "
    "LEFT JOIN vigil.topics t ON t.topic_id = top.topic_id "
    "GROUP BY top.rk, top.topic_id, t.label, t.terms, top.total, w.d "
    "ORDER BY top.rk, w.d";

static vg_code sec_topics(rctx *x, const char *alert_ids, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "topics", "Topic trends");
    if (!x->have_topics) {
        html_raw(h, "<p class=\"note\">No data yet — run <code>vigil topics "
                    "--as-of ");
        html_text(h, x->d);
        html_raw(h, "</code>.</p>\n</section>\n");
        set_section(x, "topics", "empty", 0);
        return VG_OK;
    }
    const db_param p[4] = {DB_TEXT(x->d), DB_INT(x->o->trend_days),
                           DB_INT(x->o->top_topics), DB_TEXT(alert_ids)};
    const char *fmt = TOPIC_TRENDS_SQL;
    size_t need = strlen(fmt) + strlen(x->tickets_tbl) + 1;
    char *q = malloc(need);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(q, need, fmt, x->tickets_tbl);
    PGresult *r = NULL;
    vg_code rc = try_query(x, q, 4, p, &r, err);
    free(q);
    if (rc != VG_OK)
        return rc;
    int ntopics = 0;
    if (!r) {
        note_failed(x, "the tickets' topics");
    } else if (PQntuples(r) == 0) {
        html_printf(h,
                    "<p class=\"note\">No tickets with a topic in the %d days "
                    "before ",
                    x->o->trend_days);
        html_text(h, x->d);
        html_raw(h, " — run <code>vigil topics --as-of ");
        html_text(h, x->d);
        html_raw(h, "</code> to assign recent tickets.</p>\n");
    } else {
        double *counts = calloc((size_t)x->o->trend_days, sizeof *counts);
        unsigned char *mark = calloc((size_t)x->o->trend_days, 1);
        if (counts && mark)
            topic_table(x, r, counts, mark, &ntopics);
        free(counts);
        free(mark);
        if (!counts || !mark) {
            PQclear(r);
            return vg_fail(err, VG_ENOMEM, "out of memory");
        }
    }
    html_raw(h, "</section>\n");
    set_section(x, "topics",
                !r        ? "error"
                : ntopics ? "data"
                          : "empty",
                ntopics);
    PQclear(r);
    return VG_OK;
}

/* ---- MRR at risk by tier: what the lead reads first --------------------- */

/* Rows in tier_names order: customers, MRR, MRR at risk (risk x MRR). */
static void revenue_table(rctx *x, const double *cnt, const double *mrr,
                          const double *risk)
{
    html_buf *h = x->h;
    double tm = 0, tr = 0;
    for (int t = 0; t < NTIERS; t++)
        tm += mrr[t], tr += risk[t];
    char a[48], b[48];
    fmt_grouped(tr, a, sizeof a);
    fmt_grouped(tm, b, sizeof b);
    html_printf(h,
                "<p class=\"headline\"><b>%s</b> of <b>%s</b> monthly "
                "recurring revenue is at risk (%.1f%%): the sum over "
                "customers of churn risk × MRR, what churn within %d days "
                "would cost if nobody acts.</p>\n",
                a, b, tm > 0 ? 100 * tr / tm : 0, x->horizon);
    const char *labels[NTIERS];
    char lab[NTIERS][48];
    for (int t = 0; t < NTIERS; t++) {
        fmt_grouped(risk[t], lab[t], sizeof lab[t]);
        labels[t] = lab[t];
    }
    svg_share_bar(h, "mrr", "MRR at risk by tier", NTIERS, tier_names,
                  tier_colors, risk, labels);
    html_raw(h, "<table class=\"revenue\">\n<tr><th>tier</th><th "
                "class=\"num\">customers</th><th class=\"num\">MRR</th><th "
                "class=\"num\">MRR at risk</th><th class=\"num\">share of "
                "MRR at risk</th></tr>\n");
    for (int t = NTIERS - 1; t >= 0; t--) {
        html_printf(h, "<tr><td><span class=\"tier tier-%s\">%s</span></td>",
                    tier_names[t], tier_names[t]);
        fmt_grouped(cnt[t], a, sizeof a);
        html_printf(h, "<td class=\"num\">%s</td>", a);
        fmt_grouped(mrr[t], a, sizeof a);
        html_printf(h, "<td class=\"num\">%s</td>", a);
        fmt_grouped(risk[t], a, sizeof a);
        html_printf(h, "<td class=\"num\">%s</td>", a);
        num_td(h, "%.1f%%", tr > 0 ? 100 * risk[t] / tr : NAN);
        html_raw(h, "</tr>\n");
    }
    html_raw(h, "</table>\n");
}

static vg_code sec_revenue(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "revenue", "MRR at risk by tier");
    if (!x->scores_d[0])
        return section_no_scores(x, "revenue");
    const char *fmt =
        "SELECT s.tier, count(*), sum(c.mrr), sum(s.churn_risk * c.mrr) "
        "FROM vigil.scores s LEFT JOIN LATERAL (SELECT greatest(coalesce("
        " c.mrr::float8, 0), 0) AS mrr FROM %s c WHERE c.customer_id::text "
        " = s.customer_id LIMIT 1) c ON true WHERE s.as_of = $1::date "
        "GROUP BY s.tier";
    size_t need = strlen(fmt) + strlen(x->customers_tbl) + 1;
    char *q = malloc(need);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(q, need, fmt, x->customers_tbl);
    const db_param p[1] = {DB_TEXT(x->scores_d)};
    PGresult *r = NULL;
    vg_code rc = try_query(x, q, 1, p, &r, err);
    free(q);
    if (rc != VG_OK)
        return rc;
    double cnt[NTIERS] = {0}, mrr[NTIERS] = {0}, risk[NTIERS] = {0};
    int n = r ? PQntuples(r) : 0;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < NTIERS; t++)
            if (!strcmp(PQgetvalue(r, i, 0), tier_names[t])) {
                cnt[t] = num(r, i, 1);
                mrr[t] = num(r, i, 2);
                risk[t] = num(r, i, 3);
            }
    if (!r)
        note_failed(x, "the customers' MRR");
    else
        revenue_table(x, cnt, mrr, risk);
    PQclear(r);
    html_raw(h, "</section>\n");
    set_section(x, "revenue", !r ? "error" : n ? "data" : "empty", n);
    return VG_OK;
}

/* ---- biggest movers since last week ------------------------------------- */

/* Columns: customer_id, name, previous date, risk before, risk now, tier
 * before, tier now, drivers before, drivers now, mrr. */
static void mover_row(rctx *x, PGresult *r, int i)
{
    html_buf *h = x->h;
    html_raw(h, "<tr><td>");
    html_text_max(h, PQgetvalue(r, i, 0), 80);
    if (!is_null(r, i, 1) && PQgetvalue(r, i, 1)[0]) {
        html_raw(h, "<br><span class=\"meta\">");
        html_text_max(h, PQgetvalue(r, i, 1), 80);
        html_raw(h, "</span>");
    }
    char g[48];
    fmt_grouped(num(r, i, 9), g, sizeof g);
    html_printf(h, "</td><td class=\"num\">%.0f%% → %.0f%%</td><td>",
                100 * num(r, i, 3), 100 * num(r, i, 4));
    html_text(h, PQgetvalue(r, i, 5));
    html_raw(h, " → ");
    html_text(h, PQgetvalue(r, i, 6));
    html_printf(h, "</td><td class=\"num\">%s</td><td>", g);
    /* NULL (no earlier drivers, or unreadable) compares the drivers with
     * themselves: none reads as new or gone */
    json_t *before = json_loads(PQgetvalue(r, i, 7), 0, NULL);
    json_t *now = json_loads(PQgetvalue(r, i, 8), 0, NULL);
    json_t *ch = drivers_changes(PQgetvalue(r, i, 2), num(r, i, 3),
                                 PQgetvalue(r, i, 5), before ? before : now,
                                 num(r, i, 4), PQgetvalue(r, i, 6), now);
    json_t *added = json_object_get(ch, "new");
    size_t k;
    json_t *e;
    json_array_foreach(added, k, e)
    {
        html_raw(h, k ? "; " : "new: ");
        html_text_max(h, json_string_value(e), 300);
    }
    if (json_array_size(added) == 0)
        html_raw(h, "same reasons, stronger");
    json_decref(ch);
    json_decref(before);
    json_decref(now);
    html_raw(h, "</td></tr>\n");
}

static vg_code sec_movers(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "movers", "Biggest movers since last week");
    if (!x->scores_d[0]) {
        html_raw(h, "<p class=\"note\">No scores yet.</p>\n</section>\n");
        set_section(x, "movers", "empty", 0);
        return VG_OK;
    }
    /* last week: the latest score date at least 7 days before, else the
     * earliest one in the week before */
    const char *fmt =
        "WITH p AS (SELECT coalesce((SELECT max(as_of) FROM vigil.scores "
        " WHERE as_of <= $1::date - 7), (SELECT min(as_of) FROM vigil.scores "
        " WHERE as_of < $1::date AND as_of > $1::date - 7)) AS d) "
        "SELECT s.customer_id, %s, p.d::text, ps.churn_risk, s.churn_risk, "
        " ps.tier, s.tier, coalesce(ps.drivers, '[]')::text, "
        " coalesce(s.drivers, '[]')::text, %s "
        "FROM p JOIN vigil.scores ps ON ps.as_of = p.d "
        "JOIN vigil.scores s ON s.as_of = $1::date AND s.customer_id = "
        " ps.customer_id %s%s%s "
        "WHERE s.churn_risk > ps.churn_risk "
        "ORDER BY s.churn_risk - ps.churn_risk DESC, s.customer_id LIMIT 10";
    size_t need = strlen(fmt) + strlen(x->customers_tbl) + 256;
    char *q = malloc(need);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(q, need, fmt, "c.name::text", "c.mrr::float8",
             "LEFT JOIN LATERAL (SELECT * FROM ", x->customers_tbl,
             " c WHERE c.customer_id::text = s.customer_id LIMIT 1) c ON true");
    const db_param p[1] = {DB_TEXT(x->scores_d)};
    PGresult *r = NULL;
    vg_code rc = try_query(x, q, 1, p, &r, err);
    if (rc == VG_OK && !r) {
        snprintf(q, need, fmt, "NULL::text", "NULL::float8", "", "", "");
        rc = try_query(x, q, 1, p, &r, err);
    }
    free(q);
    if (rc != VG_OK)
        return rc;
    int n = r ? PQntuples(r) : 0;
    if (!r) {
        note_failed(x, "vigil.scores");
    } else if (n == 0) {
        html_raw(h, "<p class=\"note\">No customer's risk rose since the "
                    "score a week earlier (or there is no earlier score "
                    "yet).</p>\n");
    } else {
        html_raw(h, "<p>Customers whose churn risk rose most since ");
        html_text(h, PQgetvalue(r, 0, 2));
        html_raw(h, ", and the reasons that are new.</p>\n<table "
                    "class=\"movers\">\n<tr><th>customer</th><th "
                    "class=\"num\">churn risk</th><th>tier</th><th "
                    "class=\"num\">MRR</th><th>what changed</th></tr>\n");
        for (int i = 0; i < n; i++)
            mover_row(x, r, i);
        html_raw(h, "</table>\n");
    }
    PQclear(r);
    html_raw(h, "</section>\n");
    set_section(x, "movers", !r ? "error" : n ? "data" : "empty", n);
    return VG_OK;
}

/* ---- the outreach queue: load and outcomes ------------------------------ */

/* Tasks as they were at D: made by D, closed only if closed before D+1. */
#define TASKS_AT_D                                                             \
    "(SELECT t.*, t.closed_at IS NOT NULL AND t.closed_at < $1::date + 1 "     \
    " AS closed FROM vigil.outreach_tasks t WHERE coalesce(t.as_of, "          \
    " t.created_at::date) <= $1::date)"

static void queue_load(rctx *x, PGresult *r)
{
    html_buf *h = x->h;
    int n = PQntuples(r);
    html_raw(h, "<table class=\"load\">\n<tr><th>specialist</th><th "
                "class=\"num\">holding</th><th class=\"num\">capacity</th>"
                "<th class=\"num\">overdue</th></tr>\n");
    for (int i = 0; i < n; i++) {
        html_raw(h, "<tr><td>");
        html_text_max(h, PQgetvalue(r, i, 0), 80);
        html_printf(h,
                    "</td><td class=\"num\">%s</td><td class=\"num\">%s</td>"
                    "<td class=\"num\">%s</td></tr>\n",
                    PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                    PQgetvalue(r, i, 3));
    }
    html_raw(h, "</table>\n");
}

/* Columns: open, unassigned, overdue, closed in 90 days, claimed saves,
 * claimed MRR, confirmed, confirmed MRR, lost, lost MRR, pending. */
static void queue_outcomes(rctx *x, PGresult *r)
{
    html_buf *h = x->h;
    char a[48], b[48];
    html_printf(h,
                "<p class=\"headline\">Open tasks: <b>%s</b> (%s unassigned, "
                "%s overdue). Closed in the 90 days before: %s.</p>\n",
                PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                PQgetvalue(r, 0, 3));
    html_raw(h, "<table class=\"outcomes\">\n<tr><th>saves</th><th "
                "class=\"num\">tasks</th><th class=\"num\">MRR</th></tr>\n");
    static const char *const rows[] = {
        "claimed by specialists (outcome saved)",
        "confirmed: still a customer %d days later",
        "lost: canceled within %d days", "too early to tell"};
    for (int i = 0; i < 4; i++) {
        fmt_grouped(num(r, 0, 4 + 2 * i), a, sizeof a);
        if (i < 3)
            fmt_grouped(num(r, 0, 5 + 2 * i), b, sizeof b);
        else
            snprintf(b, sizeof b, "—");
        html_raw(h, "<tr><td>");
        html_printf(h, rows[i], x->horizon);
        html_printf(h,
                    "</td><td class=\"num\">%s</td><td class=\"num\">%s"
                    "</td></tr>\n",
                    a, b);
    }
    html_raw(h, "</table>\n");
}

/* The queue's counts as of D, one row: open, unassigned and overdue tasks,
 * those closed in 90 days, and the saves claimed, confirmed (the customer
 * still there a horizon later), lost and pending, with their MRR. *r stays
 * NULL when the query failed softly (try_query). */
static vg_code queue_counts(rctx *x, const db_param p[2], PGresult **r,
                            vg_error *err)
{
    const char *fmt =
        "SELECT count(*) FILTER (WHERE NOT closed), "
        " count(*) FILTER (WHERE NOT closed AND (assignee IS NULL OR "
        "  assigned_at >= $1::date + 1)), "
        " count(*) FILTER (WHERE NOT closed AND due_at < $1::date), "
        " count(*) FILTER (WHERE closed AND closed_at >= $1::date - 90), "
        " count(*) FILTER (WHERE sv), coalesce(sum(mrr) FILTER (WHERE sv), "
        "  0), count(*) FILTER (WHERE sv AND ok), coalesce(sum(mrr) FILTER "
        "  (WHERE sv AND ok), 0), count(*) FILTER (WHERE sv AND lost), "
        "  coalesce(sum(mrr) FILTER (WHERE sv AND lost), 0), "
        " count(*) FILTER (WHERE sv AND NOT ok AND NOT lost) "
        "FROM (SELECT t.*, closed AND outcome = 'saved' AS sv, "
        " closed_at + make_interval(days => $2::int) <= $1::date AND "
        "  (c.canceled_at IS NULL OR c.canceled_at >= closed_at + "
        "  make_interval(days => $2::int)) AS ok, "
        " coalesce(c.canceled_at < least(closed_at + make_interval(days => "
        "  $2::int), $1::date) AND c.canceled_at >= t.created_at, false) AS "
        "  lost FROM " TASKS_AT_D " t LEFT JOIN LATERAL (SELECT "
        "  c.canceled_at::timestamptz AS canceled_at FROM %s c WHERE "
        "  c.customer_id::text = t.customer_id LIMIT 1) c ON true) z";
    size_t need = strlen(fmt) + strlen(x->customers_tbl) + 1;
    char *q = malloc(need);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(q, need, fmt, x->customers_tbl);
    vg_code rc = try_query(x, q, 2, p, r, err);
    free(q);
    return rc;
}

static vg_code sec_queue(rctx *x, vg_error *err)
{
    html_buf *h = x->h;
    section_open(x, "queue", "Outreach queue: load and outcomes");
    const db_param p[2] = {DB_TEXT(x->d), DB_INT(x->horizon)};
    PGresult *r = NULL, *load = NULL;
    vg_code rc = queue_counts(x, p, &r, err);
    if (rc == VG_OK && r)
        rc = try_query(
            x,
            "SELECT coalesce(s.name, s.specialist_id), count(t.task_id), "
            " s.daily_capacity, count(t.task_id) FILTER (WHERE t.due_at < "
            " $1::date) FROM vigil.specialists s LEFT JOIN " TASKS_AT_D
            " t ON t.assignee = s.specialist_id AND NOT t.closed AND "
            " t.assigned_at < $1::date + 1 WHERE s.active GROUP BY "
            " s.specialist_id, s.name, s.daily_capacity ORDER BY 2 DESC, "
            " s.specialist_id",
            1, p, &load, err);
    if (rc != VG_OK) {
        PQclear(r);
        return rc;
    }
    long long total =
        r ? atoll(PQgetvalue(r, 0, 0)) + atoll(PQgetvalue(r, 0, 3)) : 0;
    if (!r) {
        note_failed(x, "the outreach tasks");
    } else if (total == 0 && !(load && PQntuples(load) > 0)) {
        html_raw(h, "<p class=\"note\">No outreach tasks yet — run "
                    "<code>vigil outreach --as-of ");
        html_text(h, x->d);
        html_raw(h, "</code> after adding specialists with <code>vigil "
                    "specialists add</code>.</p>\n");
    } else {
        queue_outcomes(x, r);
        if (load && PQntuples(load) > 0)
            queue_load(x, load);
    }
    PQclear(r);
    PQclear(load);
    html_raw(h, "</section>\n");
    set_section(x, "queue", !r ? "error" : total ? "data" : "empty", total);
    return VG_OK;
}

/* ---- the whole page ----------------------------------------------------- */

static vg_code build(rctx *x, vg_error *err)
{
    PGresult *alerts = NULL;
    char *alert_ids = NULL;
    vg_code rc = load_context(x, err);
    if (rc == VG_OK) {
        page_open(x);
        rc = sec_summary(x, err);
    }
    /* money first, then who to call, what moved, the team; the model's
     * own charts after */
    if (rc == VG_OK)
        rc = sec_revenue(x, err);
    if (rc == VG_OK)
        rc = sec_customers(x, err);
    if (rc == VG_OK)
        rc = sec_movers(x, err);
    if (rc == VG_OK)
        rc = sec_queue(x, err);
    if (rc == VG_OK)
        rc = sec_tiers(x, err);
    if (rc == VG_OK)
        rc = sec_calibration(x, err);
    if (rc == VG_OK)
        rc = query_alerts(x, &alerts, err);
    if (rc == VG_OK) {
        /* the alerts query's soft failure is shown in its own section */
        char why[VG_ERRMSG_MAX];
        snprintf(why, sizeof why, "%s", x->soft);
        rc = collect_windows(x, alerts, &alert_ids, err);
        if (rc == VG_OK)
            rc = sec_topics(x, alert_ids, err);
        snprintf(x->soft, sizeof x->soft, "%s", why);
    }
    if (rc == VG_OK)
        rc = sec_alerts(x, alerts, err);
    if (rc == VG_OK) {
        html_raw(x->h, "<footer class=\"meta\"><p>Written by <code>vigil "
                       "report --as-of ");
        html_text(x->h, x->d);
        html_raw(x->h, "</code>.</p></footer>\n</body>\n</html>\n");
        if (html_failed(x->h))
            rc = vg_fail(err, VG_ENOMEM, "out of memory building the report");
    }
    PQclear(alerts);
    free(alert_ids);
    return rc;
}

/* A device, a pipe or a socket (--out /dev/stdout, /dev/null, a FIFO) is
 * written in place: renaming a file over it would replace the device itself
 * (as root, /dev/null became a regular file and broke every later job). */
static int is_special(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}

static vg_code write_stream(FILE *f, const char *path, const html_buf *h,
                            vg_error *err)
{
    size_t len = html_len(h);
    int bad = fwrite(html_data(h), 1, len, f) != len;
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        return vg_fail(err, VG_EIO, "cannot write the report to '%s': %s", path,
                       strerror(errno));
    return VG_OK;
}

/* Writes a regular file next to its destination and renames it into place,
 * so a reader never sees half a page. */
static vg_code write_file(const char *path, const html_buf *h, vg_error *err)
{
    if (is_special(path)) {
        FILE *f = fopen(path, "w");
        if (!f)
            return vg_fail(err, VG_EIO, "cannot write the report to '%s': %s",
                           path, strerror(errno));
        return write_stream(f, path, h, err);
    }
    size_t n = strlen(path) + 32;
    char *tmp = malloc(n);
    if (!tmp)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmp-%ld", path, (long)getpid());
    vg_code rc = VG_OK;
    FILE *f = fopen(tmp, "wx");
    if (!f) {
        rc = vg_fail(err, VG_EIO,
                     "cannot write the report to '%s': %s (choose --out in "
                     "an existing directory you may write to)",
                     path, strerror(errno));
        free(tmp);
        return rc;
    }
    rc = write_stream(f, path, h, err);
    if (rc == VG_OK && rename(tmp, path) != 0)
        rc = vg_fail(err, VG_EIO, "cannot write the report to '%s': %s", path,
                     strerror(errno));
    if (rc != VG_OK)
        remove(tmp);
    free(tmp);
    return rc;
}

vg_code report_write(db_conn *db, const vg_config *cfg, const vg_log *lg,
                     const report_opts *o, json_t **summary, vg_error *err)
{
    *summary = NULL;
    rctx x;
    memset(&x, 0, sizeof x);
    x.db = db;
    x.lg = lg;
    x.o = o;
    x.horizon = cfg->train_horizon_days;
    date_format(o->as_of, x.d);
    int in_tx = 0;
    vg_code rc = VG_OK;
    struct stat st;
    /* Fail before any work when the destination cannot be a file. */
    if (stat(o->out_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = vg_fail(err, VG_EIO,
                     "--out '%s' is a directory: give a file name, e.g. "
                     "'%s/report.html'",
                     o->out_path, o->out_path);
        goto cleanup;
    }
    x.h = html_new();
    x.sections = json_object();
    x.rows = json_object();
    x.customers_tbl = db_qualify(db, cfg->source_schema, "customers");
    x.tickets_tbl = db_qualify(db, cfg->source_schema, "tickets");
    if (!x.h || !x.sections || !x.rows || !x.customers_tbl || !x.tickets_tbl) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    /* One snapshot: a score run committing meanwhile cannot mix dates. */
    if ((rc = db_run(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                     err)) != VG_OK)
        goto cleanup;
    in_tx = 1;
    if ((rc = build(&x, err)) != VG_OK)
        goto cleanup;
    in_tx = 0;
    if ((rc = db_commit(db, err)) != VG_OK)
        goto cleanup;
    if ((rc = write_file(o->out_path, x.h, err)) != VG_OK)
        goto cleanup;
    *summary = json_pack(
        "{s:s, s:s, s:I, s:o, s:o, s:O, s:O}", "as_of", x.d, "out", o->out_path,
        "bytes", (json_int_t)html_len(x.h), "model_id",
        x.model_id ? json_integer(x.model_id) : json_null(), "scores_as_of",
        x.scores_d[0] ? json_string(x.scores_d) : json_null(), "sections",
        x.sections, "rows", x.rows);
    if (!*summary)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
cleanup:
    if (in_tx)
        db_rollback(db);
    html_free(x.h);
    json_decref(x.sections);
    json_decref(x.rows);
    json_decref(x.metrics);
    free(x.customers_tbl);
    free(x.tickets_tbl);
    free(x.wins);
    return rc;
}
