/* freshness.h — the guard rail against a wrong date: a job for a day after
 * today, or further after the newest source data than its usual quiet
 * spells (a weekend, for a source quiet on weekends), would write
 * results (scores for 2027, tasks dated 9999) that look current but describe
 * nothing real. */
#ifndef VG_FRESHNESS_H
#define VG_FRESHNESS_H

#include "db.h"
#include "err.h"

/* Days before the as-of date a verdict looks at. */
#define FRESH_WINDOW_DAYS 90

/* The UTC day of the newest usage event or ticket of `schema`, not in the
 * future of the database's clock: the newest day from until-90 on whose rows
 * reach 10% of that span's median day (stray rows with dirty timestamps do
 * not count), else the newest row at all. *day is -1 when both relations
 * are empty. */
vg_code fresh_latest_day(db_conn *db, const char *schema, int until, int *day,
                         vg_error *err);

/* Refuse a job for as_of: VG_EUSAGE for a date after today; VG_EDATA when
 * as_of is further after the newest source data up to as_of (later rows
 * are not read) than the source's longest quiet spell in the 90 days before (at
 * least one day: data up to D-1 is what a run for D reads), naming the latest
 * data date and what to do. No verdict on data with fewer than 7 days of rows
 * in that span (too sparse to tell a gap from normal) or none at all. `job`
 * names the command; `topics` is judged by tickets alone, the rows it reads. */
vg_code fresh_check(db_conn *db, const char *schema, const char *job, int as_of,
                    int today, vg_error *err);

/* Activity per day, as a job's own reading of the source counted it:
 * count[i] for day from + i (UTC day numbers), n days. */
typedef struct fresh_days {
    int from, n;
    const long *count;
} fresh_days;

/* fresh_check's verdict for a job that reads usage events and tickets
 * itself, from the activity its reading counted over the days before as_of
 * (score: per day, customers with a usable usage event plus tickets opened;
 * features/feat.h feat_stream_activity) instead of a scan of its own.
 * Queries db only when those days show no activity at all, for the newest
 * data to name. */
vg_code fresh_judge(db_conn *db, const char *schema, const char *job, int as_of,
                    int today, const fresh_days *days, vg_error *err);

#endif
