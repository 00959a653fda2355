/* history.c — one customer's scores over time, read for `vigil customer`:
 * each score with its reasons grouped by theme and what changed since the
 * score before it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "drivers.h"
#include "score.h"

/* The source row: name, plan, MRR, language, dates; NULL json when the
 * customer is not in the source relation. */
static vg_code profile(db_conn *db, const vg_config *cfg, const char *id,
                       const char *d, json_t **out, vg_error *err)
{
    char *cust = db_qualify(db, cfg->source_schema, "customers");
    char sql[1024];
    PGresult *r = NULL;
    *out = NULL;
    if (!cust)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(sql, sizeof sql,
             "SELECT json_build_object('name', c.name::text, 'plan', "
             "c.plan::text, 'mrr', c.mrr::numeric, 'language', "
             "c.language::text, 'created_at', c.created_at, 'canceled_at', "
             "CASE WHEN c.canceled_at < $2::date THEN c.canceled_at END, "
             "'active', c.created_at < $2::date AND (c.canceled_at IS NULL OR "
             "c.canceled_at >= $2::date))::text FROM %s c WHERE "
             "c.customer_id::text = $1 ORDER BY c.created_at LIMIT 1",
             cust);
    const char *p[2] = {id, d};
    vg_code rc = db_exec(db, sql, 2, p, &r, err);
    if (rc != VG_OK)
        vg_wrap(err, "reading %s.customers: ", cfg->source_schema);
    else if (PQntuples(r) == 1)
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    free(cust);
    return rc;
}

/* Adds "themes" and "changes" (against the next-older row) to each score;
 * rows are newest first. */
static void annotate(json_t *scores)
{
    size_t n = json_array_size(scores);
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_array_get(scores, i);
        json_t *dr = json_object_get(s, "drivers");
        json_object_set_new(s, "themes", drivers_by_theme(dr));
        if (i + 1 >= n)
            continue;
        json_t *p = json_array_get(scores, i + 1);
        json_t *ch =
            drivers_changes(json_string_value(json_object_get(p, "as_of")),
                            json_number_value(json_object_get(p, "churn_risk")),
                            json_string_value(json_object_get(p, "tier")),
                            json_object_get(p, "drivers"),
                            json_number_value(json_object_get(s, "churn_risk")),
                            json_string_value(json_object_get(s, "tier")), dr);
        if (ch)
            json_object_set_new(s, "changes", ch);
    }
}

vg_code score_customer(db_conn *db, const vg_config *cfg,
                       const char *customer_id, int as_of, int n, json_t **out,
                       vg_error *err)
{
    char d[DATE_BUF], lim[16];
    date_format(as_of, d);
    snprintf(lim, sizeof lim, "%d", n);
    *out = NULL;
    json_t *prof = NULL, *scores = NULL;
    PGresult *r = NULL;
    vg_code rc = profile(db, cfg, customer_id, d, &prof, err);
    if (rc != VG_OK)
        return rc;
    /* one row more than shown: the oldest shown still gets its changes */
    const char *p[3] = {customer_id, d, lim};
    rc = db_exec(db,
                 "SELECT coalesce(json_agg(json_build_object('as_of', "
                 "as_of, 'churn_risk', churn_risk, 'health', health, 'tier', "
                 "tier, 'model_id', model_id, 'drivers', coalesce(drivers, "
                 "'[]')) ORDER BY as_of DESC), '[]')::text FROM (SELECT * "
                 "FROM vigil.scores WHERE customer_id = $1 AND as_of <= "
                 "$2::date ORDER BY as_of DESC LIMIT $3::int + 1) s",
                 3, p, &r, err);
    if (rc == VG_OK)
        scores = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    if (rc != VG_OK)
        goto cleanup;
    if (!scores) {
        rc = vg_fail(err, VG_EINTERNAL, "customer scores: unreadable result");
        goto cleanup;
    }
    if (!prof && json_array_size(scores) == 0) {
        rc = vg_fail(err, VG_EUSAGE,
                     "no customer '%s' in %s.customers and no scores for it: "
                     "check the id (customer ids are case-sensitive)",
                     customer_id, cfg->source_schema);
        goto cleanup;
    }
    annotate(scores);
    if ((long)json_array_size(scores) > n)
        json_array_remove(scores, json_array_size(scores) - 1);
    *out =
        json_pack("{s:s, s:s, s:o, s:O}", "customer_id", customer_id, "as_of",
                  d, "customer", prof ? prof : json_null(), "scores", scores);
    prof = NULL;
    if (!*out)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
cleanup:
    json_decref(prof);
    json_decref(scores);
    return rc;
}
