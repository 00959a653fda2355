/* issues.h — alerts about new issues found from their words (topics/burst.h)
 * rather than from a topic: read the recent tickets, find bursting terms,
 * group them, and raise, update or resolve one alert per issue. */
#ifndef VG_ISSUES_H
#define VG_ISSUES_H

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"

/* Opaque: what today's run saw (tickets, their topics, the issue alerts it
 * raised or updated), for topic alerts to defer to. */
typedef struct issue_day issue_day;

/* Opaque: the words of tickets read on earlier days of one process (a
 * backfill), so each ticket is tokenised once rather than on each of the
 * 31 days that read it. Results are the same with or without it. */
typedef struct issue_cache issue_cache;
vg_code issue_cache_new(issue_cache **out, vg_error *err);
void issue_cache_free(issue_cache *c);

typedef struct issue_counts {
    int raised, updated, resolved;
} issue_counts;

/* Inside the caller's transaction, after tickets have their topics and after
 * the alert history of as_of and later was rewound. Reads the tickets of
 * the trend.baseline_days + trend.window_days before as_of, finds issues
 * (burst.h), and per issue raises an alert of source 'terms' (kind 'new'
 * when it had almost no baseline, else 'spike'; its own label: 2-3
 * distinctive phrases and a representative ticket's subject), updates the
 * open alert of the same issue (shared tickets or key terms), and resolves
 * open ones that no longer hold. cache may be NULL. *day is owned by the
 * caller. */
vg_code issues_alerts(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      int as_of, const char *tickets, const char *customers,
                      issue_cache *cache, issue_day **day, issue_counts *counts,
                      vg_error *err);

/* The issue alert raised or updated today that holds most of topic_id's
 * window tickets: its id (0: none) and how many (*tickets). */
long long issues_explain(const issue_day *d, long long topic_id, int *tickets);

/* What an alert's tickets (ids) and topic_id's tickets of the days from
 * from_day (0 = the oldest of the day's baseline and window) have in
 * common: a term (word, phrase, error code or support notion such as
 * "~invoice") in at least half of each side's tickets (5 or more each) and
 * at most a third as often among the other tickets of those days; the
 * most shared such term's readable form (owned by d), or NULL. *oom is set
 * when memory ran out (then NULL). */
const char *issues_shared_term(const issue_day *d, char *const *ids,
                               size_t nids, long long topic_id, int from_day,
                               int *oom);

void issue_day_free(issue_day *d);

/* The support-vocabulary notion of a case-folded word ("~export" for
 * "export", "exportieren", "exportación"), or NULL. */
const char *issues_concept(const char *word);
/* Splits a text[] as PostgreSQL prints it ("{a,\"b c\"}") into *out
 * (strdup'ed strings, malloc'ed array; entries past 511 bytes are cut).
 * -1 on OOM (then *out holds *n strings to free). */
int issues_split_array(const char *s, char ***out, size_t *n);

/* Shared by every alert row (topics/alerts.c too): records what the alert
 * says as of day in vigil.trend_alert_days, so a replay can restore it. */
vg_code issues_save_day(db_conn *db, long long alert, const char *day,
                        vg_error *err);
/* Resolves an alert as of a date (and records the day). */
vg_code issues_resolve(db_conn *db, long long alert, int as_of, vg_error *err);

#endif
