/* freshness.c — is there source data close enough to the as-of date? The
 * rows of the 90 days before it, counted per day, tell the newest real day
 * and how long the source's usual quiet spells are. */
#include "freshness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"

/* Days of rows looked at before the as-of date, and the fewest days with
 * data in them for a judgement. */
#define WINDOW_DAYS FRESH_WINDOW_DAYS
#define MIN_DAYS 7

static vg_code newest_day(db_conn *db, const char *schema, int tickets_only,
                          int *day, vg_error *err)
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
             "SELECT (greatest(%s%s%s(SELECT "
             "max(created_at) FROM %s WHERE created_at <= "
             "now())) AT TIME ZONE 'UTC')::date::text",
             tickets_only ? "" : "(SELECT max(occurred_at) FROM ",
             tickets_only ? "" : ev,
             tickets_only ? "" : " WHERE occurred_at <= now()), ", tk);
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

/* What the days of a window look like: the newest day whose activity
 * reaches 10% of the median day with any — a handful of stray rows with
 * dirty timestamps must not count as data, a quiet weekend may fall below
 * it and only lengthens the quiet spells — how many such days there are,
 * and the longest run between two of them (3 for a source that is empty on
 * weekends). */
typedef struct day_scan {
    int latest; /* -1: none */
    int ndays;
    int max_gap;
} day_scan;

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

/* day_scan of n days from `from`, count[i] the activity of day from + i. */
static vg_code judge_days(int from, const long *count, int n, day_scan *out,
                          vg_error *err)
{
    out->latest = -1;
    out->ndays = out->max_gap = 0;
    long *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    if (!v)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (count[i] > 0)
            v[k++] = count[i];
    if (k > 0) {
        qsort(v, (size_t)k, sizeof *v, cmp_long);
        double floor_n = 0.10 * (double)v[k / 2];
        for (int i = 0, prev = -1; i < n; i++) {
            if (count[i] <= 0 || (double)count[i] < floor_n)
                continue;
            int day = from + i;
            if (prev >= 0 && day - prev > out->max_gap)
                out->max_gap = day - prev;
            prev = out->latest = day;
            out->ndays++;
        }
    }
    free(v);
    return VG_OK;
}

/* Rows from window_from up to (not including) day `until` (-1: no limit but
 * the database's clock), counted per day; only tickets when tickets_only. */
/* The per-day count of both tables' rows in [$1, $2), as "date, count"
 * rows ordered by day. ev and tk are the tables' qualified names. */
static void scan_days_sql(const char *ev, const char *tk, int tickets_only,
                          char *sql, size_t n)
{
    /* Bounded above too: a replay of an old date must not count (and scan)
     * every event since, which made the check the costliest part of a
     * replayed `topics` day. */
    /* Days are binned from the window's start (every row is at or after
     * it): plain arithmetic on the timestamp, where a conversion to a
     * date per row cost ~10% of the check's CPU. */
    /* One count over the rows of both tables, not a sum of two grouped
     * branches: an Append of grouped branches runs each branch in one
     * process, while plain scans under it get parallel workers (the events
     * scan took 53 s alone at a million customers). */
    char events[768] = "";
    if (!tickets_only)
        snprintf(events, sizeof events,
                 " SELECT date_bin('1 day', occurred_at, "
                 "  ($1::date)::timestamp AT TIME ZONE 'UTC') AS d "
                 "  FROM %s WHERE occurred_at >= "
                 "  ($1::date)::timestamp AT TIME ZONE 'UTC' AND occurred_at "
                 "  < ($2::date)::timestamp AT TIME ZONE 'UTC' AND "
                 "  occurred_at <= now() UNION ALL",
                 ev);
    snprintf(sql, n,
             "SELECT (d AT TIME ZONE 'UTC')::date::text, count(*) FROM (%s"
             " SELECT date_bin('1 day', created_at, "
             "  ($1::date)::timestamp AT TIME ZONE 'UTC') AS d "
             "  FROM %s WHERE created_at >= "
             "  ($1::date)::timestamp AT TIME ZONE 'UTC' AND created_at < "
             "  ($2::date)::timestamp AT TIME ZONE 'UTC' AND "
             "  created_at <= now()) x "
             "GROUP BY d ORDER BY d",
             events, tk);
}

/* The query's rows (at least one) as a dense array of counts from the first
 * day with rows to the last: the days between count 0. The caller frees
 * *counts. */
static vg_code dense_days(const PGresult *r, int *first, long **counts,
                          int *ndays, vg_error *err)
{
    int rows = PQntuples(r), last;
    if (date_parse(PQgetvalue(r, 0, 0), first) != 0 ||
        date_parse(PQgetvalue(r, rows - 1, 0), &last) != 0 || last < *first)
        return vg_fail(err, VG_EINTERNAL, "unexpected day '%s'",
                       PQgetvalue(r, 0, 0));
    *ndays = last - *first + 1;
    long *n = calloc((size_t)*ndays, sizeof *n);
    if (!n)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (int i = 0; i < rows; i++) {
        int day;
        if (date_parse(PQgetvalue(r, i, 0), &day) == 0 && day >= *first &&
            day <= last)
            n[day - *first] += atol(PQgetvalue(r, i, 1));
    }
    *counts = n;
    return VG_OK;
}

static vg_code scan_days(db_conn *db, const char *schema, int tickets_only,
                         int window_from, int until, day_scan *out,
                         vg_error *err)
{
    char *ev = db_qualify(db, schema, "usage_events");
    char *tk = db_qualify(db, schema, "tickets");
    char sql[2048], from[DATE_BUF], to[DATE_BUF] = "infinity";
    PGresult *r = NULL;
    long *n = NULL;
    int first = 0, ndays = 0;
    vg_code rc = VG_OK;
    date_format(window_from, from);
    if (until >= 0)
        date_format(until, to);
    const char *p[2] = {from, to};
    out->latest = -1;
    out->ndays = out->max_gap = 0;
    if (!ev || !tk) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    scan_days_sql(ev, tk, tickets_only, sql, sizeof sql);
    if ((rc = db_exec(db, sql, 2, p, &r, err)) != VG_OK)
        goto cleanup;
    if (PQntuples(r) == 0)
        goto cleanup;
    if ((rc = dense_days(r, &first, &n, &ndays, err)) != VG_OK)
        goto cleanup;
    rc = judge_days(first, n, ndays, out, err);
cleanup:
    PQclear(r);
    free(n);
    free(ev);
    free(tk);
    return rc;
}

vg_code fresh_latest_day(db_conn *db, const char *schema, int until, int *day,
                         vg_error *err)
{
    day_scan sc;
    vg_code rc = scan_days(db, schema, 0, until - WINDOW_DAYS, -1, &sc, err);
    *day = sc.latest;
    if (rc == VG_OK && *day < 0)
        rc = newest_day(db, schema, 0, day, err);
    return rc;
}

/* Nothing in the window before as_of, but newer rows exist: the date lies
 * before the data (or in a gap of more than the window), where every
 * customer would look silent. */
static vg_code before_data(const char *schema, const char *job, int as_of,
                           int tickets_only, int latest, vg_error *err)
{
    char d[DATE_BUF], l[DATE_BUF];
    date_format(as_of, d);
    date_format(latest, l);
    return vg_fail(err, VG_EDATA,
                   "there is no source data (%s in schema %s) in the %d days "
                   "before %s, only later (the newest is from %s): `vigil %s` "
                   "would %s; use an --as-of within the data, or add --force "
                   "if you mean it",
                   tickets_only ? "tickets" : "usage events and tickets",
                   schema, WINDOW_DAYS, d, l, job,
                   tickets_only ? "find no tickets"
                                : "read every customer as silent");
}

/* The verdict on a day_scan of the days before as_of (sc: what the window
 * showed; its newest data, or the newest row at all when the window had
 * none, is fetched from db only then). */
static vg_code verdict(db_conn *db, const char *schema, const char *job,
                       int as_of, int tickets_only, const day_scan *sc,
                       vg_error *err)
{
    char d[DATE_BUF], l[DATE_BUF], n[DATE_BUF];
    int latest = -1;
    date_format(as_of, d);
    if (sc->latest < 0 &&
        newest_day(db, schema, tickets_only, &latest, err) != VG_OK)
        return vg_wrap(err, "checking how recent %s's data is: ", schema);
    if (sc->latest >= 0) {
        /* Too few days to know what normal looks like: no verdict. */
        if (sc->ndays < MIN_DAYS)
            return VG_OK;
        latest = sc->latest;
        /* A source that is quiet on weekends may end on a Friday. */
        int allowed = sc->max_gap > 1 ? sc->max_gap : 1;
        if (as_of - latest <= allowed)
            return VG_OK;
    } else if (latest < 0) {
        return VG_OK; /* no data at all: the job itself says what is wrong */
    } else if (latest >= as_of) {
        return before_data(schema, job, as_of, tickets_only, latest, err);
    }
    date_format(latest, l);
    date_format(latest + 1, n);
    return vg_fail(
        err, VG_EDATA,
        "the latest source data (%s in schema %s) is from %s, "
        "%d days before %s: `vigil %s` would read the missing "
        "days as %s; load the missing data, use --as-of %s or "
        "earlier, or add --force if the data really stopped",
        tickets_only ? "tickets" : "usage events and tickets", schema, l,
        as_of - latest, d, job,
        tickets_only ? "days without tickets" : "customers going quiet", n);
}

static vg_code after_today(int as_of, int today, vg_error *err)
{
    char d[DATE_BUF], t[DATE_BUF];
    date_format(as_of, d);
    date_format(today, t);
    return vg_fail(err, VG_EUSAGE,
                   "--as-of %s is after today (%s, UTC): its results "
                   "would look current but describe nothing real; use "
                   "--as-of %s or earlier, or add --force if you mean it",
                   d, t, t);
}

vg_code fresh_check(db_conn *db, const char *schema, const char *job, int as_of,
                    int today, vg_error *err)
{
    if (as_of > today)
        return after_today(as_of, today, err);
    day_scan sc;
    /* Rows after as_of cannot make data for as_of fresh: they are not read
     * (the run of D reads rows before D; a row on D itself still counts,
     * as before). */
    int upto = as_of < today ? as_of : today;
    /* topics reads tickets only: their days are what its date needs (and
     * scanning every usage event was most of a topics run's database time
     * at 100,000 customers). */
    int tickets_only = strcmp(job, "topics") == 0;
    if (scan_days(db, schema, tickets_only, upto - WINDOW_DAYS, upto + 1, &sc,
                  err) != VG_OK)
        return vg_wrap(err, "checking how recent %s's data is: ", schema);
    return verdict(db, schema, job, as_of, tickets_only, &sc, err);
}

vg_code fresh_judge(db_conn *db, const char *schema, const char *job, int as_of,
                    int today, const fresh_days *days, vg_error *err)
{
    if (as_of > today)
        return after_today(as_of, today, err);
    day_scan sc;
    vg_code rc = judge_days(days->from, days->count, days->n, &sc, err);
    return rc == VG_OK ? verdict(db, schema, job, as_of, 0, &sc, err) : rc;
}
