/* freshness.c — is there source data close enough to the as-of date? The
 * newest day with a real amount of rows answers it (a few stray rows with
 * dirty future timestamps do not count). */
#include "freshness.h"

#include <stdio.h>
#include <stdlib.h>

#include "date.h"

static vg_code newest_day(db_conn *db, const char *schema, int *day,
                          vg_error *err)
{
    char *ev = db_qualify(db, schema, "usage_events");
    char *tk = db_qualify(db, schema, "tickets");
    char sql[2048];
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    *day = -1;
    if (!ev || !tk) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(sql, sizeof sql,
             "SELECT (greatest((SELECT max(occurred_at) FROM "
             "%s WHERE occurred_at <= now()), (SELECT "
             "max(created_at) FROM %s WHERE created_at <= "
             "now())) AT TIME ZONE 'UTC')::date::text",
             ev, tk);
    rc = db_exec(db, sql, 0, NULL, &r, err);
    if (rc == VG_OK && !PQgetisnull(r, 0, 0) &&
        date_parse(PQgetvalue(r, 0, 0), day) != 0)
        rc = vg_fail(err, VG_EINTERNAL, "unexpected date '%s'",
                     PQgetvalue(r, 0, 0));
cleanup:
    PQclear(r);
    free(ev);
    free(tk);
    return rc;
}

/* The newest day from window_from on whose rows (events plus tickets) reach
 * 5% of the window's median day: a handful of stray rows dated after the
 * real data (dirty timestamps) must not count as data. -1 when none. */
static vg_code recent_day(db_conn *db, const char *schema, int window_from,
                          int *day, vg_error *err)
{
    char *ev = db_qualify(db, schema, "usage_events");
    char *tk = db_qualify(db, schema, "tickets");
    char sql[2048], from[DATE_BUF];
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    date_format(window_from, from);
    const char *p[1] = {from};
    *day = -1;
    if (!ev || !tk) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(sql, sizeof sql,
             "WITH per AS (SELECT d, sum(n) AS n FROM ("
             " SELECT (occurred_at AT TIME ZONE 'UTC')::date AS d, count(*) "
             "  AS n FROM %s WHERE occurred_at >= ($1::date)::timestamp AT "
             "  TIME ZONE 'UTC' AND occurred_at <= now() GROUP BY 1 "
             " UNION ALL SELECT (created_at AT TIME ZONE 'UTC')::date, "
             "  count(*) FROM %s WHERE created_at >= ($1::date)::timestamp "
             "  AT TIME ZONE 'UTC' AND created_at <= now() GROUP BY 1) x "
             " GROUP BY d) "
             "SELECT max(d)::text FROM per WHERE n >= 0.05 * (SELECT "
             " percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FROM per)",
             ev, tk);
    rc = db_exec(db, sql, 1, p, &r, err);
    if (rc == VG_OK && !PQgetisnull(r, 0, 0) &&
        date_parse(PQgetvalue(r, 0, 0), day) != 0)
        rc = vg_fail(err, VG_EINTERNAL, "unexpected date '%s'",
                     PQgetvalue(r, 0, 0));
cleanup:
    PQclear(r);
    free(ev);
    free(tk);
    return rc;
}

vg_code fresh_latest_day(db_conn *db, const char *schema, int until, int *day,
                         vg_error *err)
{
    /* 90 days are enough to tell the newest real day, and keep it to one
     * grouped scan of recent rows. */
    vg_code rc = recent_day(db, schema, until - 90, day, err);
    if (rc == VG_OK && *day < 0)
        rc = newest_day(db, schema, day, err);
    return rc;
}

vg_code fresh_check(db_conn *db, const char *schema, const char *job, int as_of,
                    int today, vg_error *err)
{
    char d[DATE_BUF], t[DATE_BUF], l[DATE_BUF], n[DATE_BUF];
    date_format(as_of, d);
    date_format(today, t);
    if (as_of > today)
        return vg_fail(err, VG_EUSAGE,
                       "--as-of %s is after today (%s, UTC): its results "
                       "would look current but describe nothing real; use "
                       "--as-of %s or earlier, or add --force if you mean it",
                       d, t, t);
    int latest = -1;
    vg_code rc = fresh_latest_day(db, schema, as_of < today ? as_of : today,
                                  &latest, err);
    if (rc != VG_OK)
        return vg_wrap(err, "checking how recent %s's data is: ", schema);
    if (latest < 0 || as_of <= latest + 1) /* no data at all: the job says */
        return VG_OK;
    date_format(latest, l);
    date_format(latest + 1, n);
    return vg_fail(err, VG_EDATA,
                   "the latest source data (usage events and tickets in "
                   "schema %s) is from %s, %d days before %s: a %s run would "
                   "take the missing days for customers going quiet; load "
                   "the missing data, use --as-of %s or earlier, or add "
                   "--force if the data really stopped",
                   schema, l, as_of - latest, d, job, n);
}
