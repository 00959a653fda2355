/* alerts.c — the trend-alert feed: counts per topic and day pushed into SQL,
 * tested in C (topics/trend.c), and one alert row per ongoing event. */
#include "topics/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "topics/trend.h"

#define SAMPLES 5

vg_code topics_alerts_rewind(db_conn *db, const char *from, vg_error *err)
{
    const char *p[1] = {from};
    static const char *const steps[] = {
        "DELETE FROM vigil.trend_alert_days WHERE as_of >= $1::date",
        "DELETE FROM vigil.trend_alerts WHERE detected_at >= ($1 || ' "
        "00:00:00+00')::timestamptz",
        /* Alerts raised earlier go back to their last earlier day. */
        "UPDATE vigil.trend_alerts a SET kind = d.kind, status = d.status, "
        " window_start = d.window_start, window_end = d.window_end, "
        " observed = d.observed, expected = d.expected, p_value = d.p_value, "
        " customers = d.customers, mrr_at_risk = d.mrr_at_risk, "
        " sample_ticket_ids = d.sample_ticket_ids, updated_on = d.as_of, "
        " resolved_on = CASE WHEN d.status = 'resolved' THEN d.as_of END "
        "FROM (SELECT DISTINCT ON (alert_id) * FROM vigil.trend_alert_days "
        "      ORDER BY alert_id, as_of DESC) d "
        "WHERE d.alert_id = a.alert_id AND a.updated_on >= $1::date"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        vg_code rc = db_exec(db, steps[i], 1, p, NULL, err);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

typedef struct topic_row {
    long long id;
    int age;
    long long open_alert; /* 0 = none */
    int window_start;     /* of the open alert */
    char kind[16];        /* of the open alert */
} topic_row;

/* The window's figures for one alert, from SQL. */
typedef struct window_stats {
    int observed, others, customers;
    char mrr[64];
    char *samples; /* text[] literal, PQ-owned copy */
} window_stats;

static vg_code window_figures(db_conn *db, const char *tickets,
                              const char *customers, long long topic,
                              const char *ws, const char *day, window_stats *w,
                              vg_error *err)
{
    char sql[2048];
    snprintf(
        sql, sizeof sql,
        "WITH w AS (SELECT t.ticket_id, t.customer_id, tt.topic_id, "
        "  tt.similarity FROM %s t LEFT JOIN vigil.ticket_topics tt "
        "  ON tt.ticket_id = t.ticket_id "
        "  WHERE t.created_at >= ($2 || ' 00:00:00+00')::timestamptz "
        "  AND t.created_at < ($3 || ' 00:00:00+00')::timestamptz) "
        "SELECT (SELECT count(*) FROM w WHERE topic_id = $1::bigint), "
        " (SELECT count(*) FROM w WHERE topic_id IS DISTINCT FROM "
        "  $1::bigint), "
        " (SELECT count(DISTINCT c.customer_id) FROM %s c WHERE "
        "  c.customer_id IN (SELECT customer_id FROM w "
        "  WHERE topic_id = $1::bigint)), "
        " (SELECT coalesce(sum(greatest(c.mrr, 0)), 0) FROM %s c WHERE "
        "  c.customer_id IN (SELECT customer_id FROM w "
        "  WHERE topic_id = $1::bigint) "
        "  AND c.created_at < ($3 || ' 00:00:00+00')::timestamptz "
        "  AND (c.canceled_at IS NULL OR "
        "       c.canceled_at >= ($3 || ' 00:00:00+00')::timestamptz)), "
        " (SELECT coalesce(array_agg(ticket_id ORDER BY similarity DESC, "
        "  ticket_id), '{}') FROM (SELECT ticket_id, similarity FROM w "
        "  WHERE topic_id = $1::bigint ORDER BY similarity DESC, ticket_id "
        "  LIMIT %d) s)",
        tickets, customers, customers, SAMPLES);
    const db_param p[3] = {DB_INT(topic), DB_TEXT(ws), DB_TEXT(day)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(db, sql, 3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    w->observed = atoi(PQgetvalue(r, 0, 0));
    w->others = atoi(PQgetvalue(r, 0, 1));
    w->customers = atoi(PQgetvalue(r, 0, 2));
    snprintf(w->mrr, sizeof w->mrr, "%s", PQgetvalue(r, 0, 3));
    w->samples = strdup(PQgetvalue(r, 0, 4));
    PQclear(r);
    if (!w->samples)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    return VG_OK;
}

static vg_code save_day(db_conn *db, long long alert, const char *day,
                        vg_error *err)
{
    const db_param p[2] = {DB_INT(alert), DB_TEXT(day)};
    return db_exec_params(
        db,
        "INSERT INTO vigil.trend_alert_days (alert_id, as_of, kind, status, "
        " window_start, window_end, observed, expected, p_value, customers, "
        " mrr_at_risk, sample_ticket_ids) "
        "SELECT alert_id, $2::date, kind, status, window_start, window_end, "
        " observed, expected, p_value, customers, mrr_at_risk, "
        " sample_ticket_ids FROM vigil.trend_alerts WHERE alert_id = $1 "
        "ON CONFLICT (alert_id, as_of) DO UPDATE SET kind = EXCLUDED.kind, "
        " status = EXCLUDED.status, window_start = EXCLUDED.window_start, "
        " window_end = EXCLUDED.window_end, observed = EXCLUDED.observed, "
        " expected = EXCLUDED.expected, p_value = EXCLUDED.p_value, "
        " customers = EXCLUDED.customers, mrr_at_risk = EXCLUDED.mrr_at_risk, "
        " sample_ticket_ids = EXCLUDED.sample_ticket_ids",
        2, p, NULL, err);
}

/* Raises (alert == 0) or updates an alert over [ws, as_of). */
static vg_code upsert_alert(db_conn *db, const char *tickets,
                            const char *customers, const topic_row *t,
                            const trend_result *tr, const int *daily, int ndays,
                            int ws_day, int as_of, vg_error *err)
{
    char ws[DATE_BUF], we[DATE_BUF], day[DATE_BUF];
    date_format(ws_day, ws);
    date_format(as_of - 1, we);
    date_format(as_of, day);
    window_stats w = {0};
    vg_code rc =
        window_figures(db, tickets, customers, t->id, ws, day, &w, err);
    if (rc != VG_OK)
        return rc;
    double expected = tr->rate * w.others;
    double p = trend_tail(w.observed, expected, tr->dispersion);
    /* A kind is set when the alert is raised; sustained growth later
     * upgrades a new topic or a spike to 'emerging', nothing else changes
     * it. */
    const char *kind = trend_kind_name(tr->kind);
    if (t->kind[0])
        kind = tr->significant && tr->kind == TREND_EMERGING ? "emerging"
                                                             : t->kind;
    json_t *det =
        json_pack("{s:{s:i, s:f, s:f}, s:f, s:i, s:[]}", "recent", "observed",
                  tr->observed, "expected", tr->expected, "p_value",
                  tr->p_value, "dispersion", tr->dispersion, "baseline_tickets",
                  tr->baseline, "daily_counts");
    json_t *arr = json_object_get(det, "daily_counts");
    for (int i = 0; i < ndays; i++)
        json_array_append_new(arr, json_integer(daily[i]));
    char *ds = json_dumps(det, JSON_COMPACT);
    json_decref(det);
    char ex[32], pv[32];
    snprintf(ex, sizeof ex, "%.6f", expected);
    snprintf(pv, sizeof pv, "%.6g", p);
    long long al = t->open_alert;
    db_param pr[12] = {DB_INT(t->id),       DB_TEXT(ws),    DB_TEXT(we),
                       DB_INT(w.observed),  DB_TEXT(ex),    DB_TEXT(pv),
                       DB_INT(w.customers), DB_TEXT(w.mrr), DB_TEXT(w.samples),
                       DB_TEXT(kind),       DB_TEXT(ds),    DB_TEXT(day)};
    PGresult *r = NULL;
    if (!ds) {
        rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    } else if (t->open_alert == 0) {
        rc = db_exec_params(
            db,
            "INSERT INTO vigil.trend_alerts (topic_id, detected_at, "
            " window_start, window_end, observed, expected, p_value, "
            " customers, mrr_at_risk, sample_ticket_ids, status, kind, "
            " details, updated_on, label, terms) "
            "SELECT $1, ($12 || ' 00:00:00+00')::timestamptz, $2::date, "
            " $3::date, $4, $5, $6, $7, $8::numeric, $9::text[], 'open', $10, "
            " $11::jsonb, $12::date, t.label, t.surface_terms "
            "FROM vigil.topics t WHERE t.topic_id = $1 RETURNING alert_id",
            12, pr, &r, err);
        if (rc == VG_OK)
            al = atoll(PQgetvalue(r, 0, 0));
    } else {
        pr[0] = DB_INT(al);
        rc = db_exec_params(
            db,
            "UPDATE vigil.trend_alerts a SET window_start = $2::date, "
            " window_end = $3::date, observed = $4, expected = $5, "
            " p_value = $6, customers = $7, mrr_at_risk = $8::numeric, "
            " sample_ticket_ids = $9::text[], kind = $10, details = "
            " $11::jsonb, updated_on = $12::date, label = t.label, "
            " terms = t.surface_terms "
            "FROM vigil.topics t WHERE a.alert_id = $1 "
            " AND t.topic_id = a.topic_id",
            12, pr, NULL, err);
    }
    PQclear(r);
    if (rc == VG_OK)
        rc = save_day(db, al, day, err);
    free(ds);
    free(w.samples);
    return rc;
}

static vg_code resolve_alert(db_conn *db, long long alert, int as_of,
                             vg_error *err)
{
    char day[DATE_BUF];
    date_format(as_of, day);
    const db_param p[2] = {DB_INT(alert), DB_TEXT(day)};
    vg_code rc =
        db_exec_params(db,
                       "UPDATE vigil.trend_alerts SET status = 'resolved', "
                       "resolved_on = $2::date, updated_on = $2::date "
                       "WHERE alert_id = $1",
                       2, p, NULL, err);
    return rc == VG_OK ? save_day(db, alert, day, err) : rc;
}

vg_code topics_alerts(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      int as_of, long long model_id, const char *tickets,
                      const char *customers, json_t **stats, vg_error *err)
{
    *stats = NULL;
    trend_opts o = {cfg->trend_window_days, cfg->trend_baseline_days,
                    cfg->trend_min_count,   cfg->trend_min_ratio,
                    cfg->trend_fdr,         cfg->trend_resolve_ratio,
                    cfg->trend_new_days};
    const int nd = o.window_days + o.baseline_days;
    char day[DATE_BUF], start[DATE_BUF];
    date_format(as_of, day);
    date_format(as_of - nd, start);
    PGresult *r = NULL;
    topic_row *tp = NULL;
    int *counts = NULL, *totals = NULL, *age = NULL;
    trend_result *res = NULL;
    int raised = 0, updated = 0, resolved = 0;
    size_t nt = 0;
    vg_code rc = topics_alerts_rewind(db, day, err);
    if (rc != VG_OK)
        return rc;

    const db_param p1[2] = {DB_INT(model_id), DB_TEXT(day)};
    rc = db_exec_params(
        db,
        "SELECT c.topic_id, $2::date - coalesce(t.first_seen, "
        " $2::date), a.alert_id, "
        " a.window_start - DATE '1970-01-01', a.kind "
        "FROM vigil.topic_centroids c JOIN vigil.topics t "
        " USING (topic_id) "
        "LEFT JOIN vigil.trend_alerts a ON a.topic_id = c.topic_id "
        " AND a.status = 'open' "
        "WHERE c.model_id = $1 ORDER BY c.topic_id",
        2, p1, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    nt = (size_t)PQntuples(r);
    tp = calloc(nt + 1, sizeof *tp);
    counts = calloc(nt * (size_t)nd + 1, sizeof *counts);
    totals = calloc((size_t)nd, sizeof *totals);
    age = calloc(nt + 1, sizeof *age);
    res = calloc(nt + 1, sizeof *res);
    if (!tp || !counts || !totals || !age || !res) {
        rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < nt; i++) {
        tp[i].id = atoll(PQgetvalue(r, (int)i, 0));
        tp[i].age = age[i] = atoi(PQgetvalue(r, (int)i, 1));
        if (!PQgetisnull(r, (int)i, 2)) {
            tp[i].open_alert = atoll(PQgetvalue(r, (int)i, 2));
            tp[i].window_start = atoi(PQgetvalue(r, (int)i, 3));
            snprintf(tp[i].kind, sizeof tp[i].kind, "%s",
                     PQgetvalue(r, (int)i, 4));
        }
    }
    PQclear(r);
    r = NULL;

    /* Daily volume of every ticket, assigned or not. */
    char sql[1024];
    const char *p2[2] = {start, day};
    snprintf(sql, sizeof sql,
             "SELECT ($2::date - (created_at AT TIME ZONE 'UTC')::date), "
             "count(*) FROM %s WHERE created_at >= ($1 || ' "
             "00:00:00+00')::timestamptz AND created_at < ($2 || ' "
             "00:00:00+00')::timestamptz GROUP BY 1",
             tickets);
    if ((rc = db_exec(db, sql, 2, p2, &r, err)) != VG_OK)
        goto cleanup;
    for (int i = 0; i < PQntuples(r); i++) {
        int ago = atoi(PQgetvalue(r, i, 0));
        if (ago >= 1 && ago <= nd)
            totals[nd - ago] = atoi(PQgetvalue(r, i, 1));
    }
    PQclear(r);
    r = NULL;
    const db_param p3[3] = {DB_TEXT(start), DB_TEXT(day), DB_INT(model_id)};
    snprintf(sql, sizeof sql,
             "SELECT tt.topic_id, ($2::date - (t.created_at AT TIME ZONE "
             "'UTC')::date), count(*) FROM vigil.ticket_topics tt JOIN %s t "
             "ON t.ticket_id = tt.ticket_id WHERE t.created_at >= ($1 || ' "
             "00:00:00+00')::timestamptz AND t.created_at < ($2 || ' "
             "00:00:00+00')::timestamptz AND tt.topic_id IN (SELECT topic_id "
             "FROM vigil.topic_centroids WHERE model_id = $3) GROUP BY 1, 2",
             tickets);
    if ((rc = db_exec_params(db, sql, 3, p3, &r, err)) != VG_OK)
        goto cleanup;
    for (int i = 0; i < PQntuples(r); i++) {
        long long id = atoll(PQgetvalue(r, i, 0));
        int ago = atoi(PQgetvalue(r, i, 1));
        size_t lo = 0, hi = nt; /* tp is sorted by id */
        while (lo < hi) {
            size_t m = (lo + hi) / 2;
            if (tp[m].id < id)
                lo = m + 1;
            else
                hi = m;
        }
        if (lo < nt && tp[lo].id == id && ago >= 1 && ago <= nd)
            counts[lo * (size_t)nd + (size_t)(nd - ago)] =
                atoi(PQgetvalue(r, i, 2));
    }
    PQclear(r);
    r = NULL;

    if ((rc = trend_test(&o, counts, totals, nt, (size_t)nd, age, res, err)) !=
        VG_OK)
        goto cleanup;
    for (size_t i = 0; rc == VG_OK && i < nt; i++) {
        const int *daily = counts + i * (size_t)nd;
        if (tp[i].open_alert && (res[i].elevated || res[i].significant)) {
            rc = upsert_alert(db, tickets, customers, &tp[i], &res[i], daily,
                              nd, tp[i].window_start, as_of, err);
            updated++;
        } else if (tp[i].open_alert) {
            rc = resolve_alert(db, tp[i].open_alert, as_of, err);
            resolved++;
        } else if (res[i].significant) {
            rc = upsert_alert(db, tickets, customers, &tp[i], &res[i], daily,
                              nd, as_of - o.window_days, as_of, err);
            raised++;
            log_info(lg,
                     "trend alert (%s): topic %lld, %d tickets in %d days, "
                     "%.1f expected, p = %.2g",
                     trend_kind_name(res[i].kind), tp[i].id, res[i].observed,
                     o.window_days, res[i].expected, res[i].p_value);
        }
    }
    if (rc != VG_OK)
        goto cleanup;
    /* Open alerts whose topic left the model (merged or gone) resolve. */
    rc =
        db_exec_params(db,
                       "SELECT alert_id FROM vigil.trend_alerts WHERE status = "
                       "'open' AND topic_id NOT IN (SELECT topic_id FROM "
                       "vigil.topic_centroids WHERE model_id = $1)",
                       1, p1, &r, err); /* p1[0] is the model id */
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++) {
        rc = resolve_alert(db, atoll(PQgetvalue(r, i, 0)), as_of, err);
        resolved++;
    }
    PQclear(r);
    r = NULL;
    if (rc != VG_OK)
        goto cleanup;
    if ((rc = db_exec(db,
                      "SELECT count(*) FROM vigil.trend_alerts WHERE status "
                      "= 'open'",
                      0, NULL, &r, err)) != VG_OK)
        goto cleanup;
    *stats = json_pack("{s:i, s:i, s:i, s:i}", "alerts",
                       atoi(PQgetvalue(r, 0, 0)), "alerts_raised", raised,
                       "alerts_updated", updated, "alerts_resolved", resolved);
cleanup:
    PQclear(r);
    free(tp);
    free(counts);
    free(totals);
    free(age);
    free(res);
    return rc;
}
