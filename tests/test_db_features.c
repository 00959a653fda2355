/* test_db_features.c — as-of feature extraction against a real PostgreSQL:
 * hand-computed values, leakage (rows from D on change nothing), multi-date
 * equals single-date, dirty rows counted. */
#include <math.h>

#include "check.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "core/freshness.h"
#include "core/migrate.h"
#include "features/feat.h"
#include "featcheck.h"
#include "testdb.h"

static const char *fixture =
    /* A: active; B: canceled before D; C: signs up at D; E: cancels after D */
    "INSERT INTO src.customers VALUES"
    " ('A','A','2024-01-01',NULL,'team',500,10,'de','smb',7.5,true,'2024-07-01'"
    ",NULL),"
    " ('B','B','2024-01-01','2024-05-15','team',100,5,'en','smb',1,false,NULL,"
    "NULL),"
    " ('C','C','2024-06-01 "
    "00:00:00+00',NULL,'starter',50,2,'en','mid',2,false,NULL,NULL),"
    " ('E','E','2024-05-20',  "
    "'2024-06-10','enterprise',9000,50,'fr',NULL,NULL,NULL,NULL,NULL);"
    "INSERT INTO src.usage_events VALUES"
    " ('A','2024-05-31 23:59:59+00','login','u1',NULL)," /* last second before D
                                                          */
    " ('A','2024-05-31 10:00:00+00','login','u2',NULL),"
    " ('A','2024-05-25 00:00:00+00','report_run','u1',3)," /* first second of
                                                              the 7-day window
                                                            */
    " ('A','2024-05-24 23:59:59+00','login','u3',NULL)," /* just outside 7 days
                                                          */
    " ('A','2024-05-10 12:00:00+00','report_run','u1',2),"
    " ('A','2024-04-15 12:00:00+00','login','u1',NULL)," /* in prev 30 (47 days
                                                            before D) */
    " ('A','2024-03-01 12:00:00+00','login','u4',NULL)," /* 92 days before:
                                                            outside 90 */
    " ('A','2024-06-01 00:00:00+00','login','u9',NULL)," /* at D: must not count
                                                          */
    " ('E','2024-05-30 08:00:00+00','login','x1',NULL),"
    /* dirty rows */
    " ('ZZZ','2024-05-30 08:00:00+00','login','z',NULL),"
    " (NULL,'2024-05-30 08:00:00+00','login','z',NULL),"
    " ('A',NULL,'login','u1',NULL),"
    " ('A','2024-05-30 08:00:00+00',NULL,'u1',NULL),"
    " ('A','2024-05-30 08:00:00+00','api_call','u1',-5),"
    " ('A','2099-01-01 00:00:00+00','login','u1',NULL);"
    "INSERT INTO src.tickets VALUES"
    " ('t1','A','2024-05-20 10:00+00','2024-05-20 12:00+00','2024-05-22 "
    "10:00+00','solved','high','email','s','b',2,1,true),"
    " ('t2','A','2024-05-30 "
    "10:00+00',NULL,NULL,'open','urgent','chat','s','b',NULL,NULL,NULL),"
    /* resolved after D: its rating and escalation are not known at D */
    " ('t3','A','2024-04-01 10:00+00','2024-04-01 14:00+00','2024-06-05 "
    "10:00+00','solved','low','email','s','b',5,0,true),"
    " ('t4',NULL,'2024-05-01',NULL,NULL,'open','low','email','s','b',NULL,NULL,"
    "NULL),"
    " ('t5','nobody','2024-05-01',NULL,NULL,'open','low','email','s','b',NULL,"
    "NULL,NULL),"
    " ('t6','A','2024-05-02 10:00+00','2024-05-02 11:00+00','2024-05-03 "
    "10:00+00','solved','normal','email','s','b',9,0,false);";

static feat_matrix *build(db_conn *db, const vg_config *cfg,
                          const feat_spec *spec, const int *dates, int n,
                          int horizon, json_t *stats)
{
    feat_request req = {dates, n, horizon, 0, -1, 1, 1, NULL};
    return build_or_die(db, cfg, spec, &req, stats);
}

static long row_of(const feat_matrix *m, const char *id, int day)
{
    for (size_t r = 0; r < m->nrows; r++)
        if (!strcmp(m->ids[r], id) && m->day[r] == day)
            return (long)r;
    return -1;
}

static double val(const feat_matrix *m, const feat_spec *s, long row,
                  const char *name)
{
    int c = feat_spec_find(s, name);
    if (c < 0 || row < 0) {
        fprintf(stderr, "no feature %s or row %ld\n", name, row);
        return -12345;
    }
    return m->x[(size_t)row * m->ncols + (size_t)c];
}

/* Shared by the cases, which run in order: the fixture's spec and its
 * matrix at D (A and E are its rows). */
static const char *dsn;
static db_conn *db;
static vg_config cfg;
static feat_spec *spec;
static int D;
static json_t *stats;
static feat_matrix *m;
static long a = -1, e = -1;

static void spec_discovers_types_and_attributes(void)
{
    /* event types seen in the 90 days before D, sorted; attributes by type */
    CHECK(feat_spec_find(spec, "usage.events_login_30d") >= 0);
    CHECK(feat_spec_find(spec, "usage.events_report_run_7d") >= 0);
    CHECK(feat_spec_find(spec, "account.plan=team") >= 0);
    CHECK(feat_spec_find(spec, "account.plan=starter") <
          0); /* only C has it, created at D */
    CHECK(feat_spec_find(spec, "attr.segment=smb") >= 0);
    CHECK(feat_spec_find(spec, "attr.score") >= 0);
    CHECK(feat_spec_find(spec, "attr.vip") >= 0);
    CHECK(feat_spec_find(spec, "attr.renewal_date_days_from_as_of") >= 0);
    CHECK(feat_spec_find(spec, "attr.notes") < 0); /* jsonb is not a feature */
    CHECK(feat_spec_find(spec, "attr.name") < 0);
}

/* One matrix at D with its dirty-row stats. */
static void streamed_build_equals_whole(void)
{
    m = build(db, &cfg, spec, &D, 1, 0, stats);
    /* streamed, one customer per chunk (every boundary a chunk boundary,
     * the dirty rows in between), or all in one */
    CHECK(stream_same(db, &cfg, spec, D, 1, m, stats));
    CHECK(stream_same(db, &cfg, spec, D, 1000, m, stats));
    /* in hash slices: every row once, the dirty rows (a NULL id is in
     * slice 0) counted once */
    CHECK(slices_same(db, &cfg, spec, D, 2, m, stats));
    CHECK(slices_same(db, &cfg, spec, D, 5, m, stats));
    /* the same through cursors on the one session (features.stream_read)
     * as through a COPY per query on sessions of their own (the default) */
    vg_config cur = cfg;
    cur.feat_stream_read = CFG_STREAM_READ_CURSOR;
    CHECK(stream_same(db, &cur, spec, D, 1, m, stats));
    CHECK(slices_same(db, &cur, spec, D, 2, m, stats));
    CHECK_INT_EQ(m->nrows, 2); /* A and E */
    a = row_of(m, "A", D);
    e = row_of(m, "E", D);
    CHECK(a >= 0 && e >= 0);
}

static void usage_and_account_values(void)
{
    CHECK_NEAR(val(m, spec, a, "usage.events_total_7d"), 2 + 3, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_login_7d"), 2, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_report_run_7d"), 3, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_total_30d"), 2 + 3 + 1 + 2, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_total_90d"), 2 + 3 + 1 + 2 + 1,
               1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_total_prev30d"), 1, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.active_days_7d"), 2,
               1e-6); /* 05-31, 05-25 */
    CHECK_NEAR(val(m, spec, a, "usage.active_days_30d"), 4,
               1e-6); /* + 05-24, 05-10 */
    CHECK_NEAR(val(m, spec, a, "usage.active_days_90d"), 5, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.users_7d"), 2, 1e-6);  /* u1, u2 */
    CHECK_NEAR(val(m, spec, a, "usage.users_30d"), 3, 1e-6); /* + u3 */
    CHECK_NEAR(val(m, spec, a, "usage.seat_utilisation_30d"), 0.3, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.days_since_last_activity"), 1.0 / 86400,
               1e-5);
    CHECK_NEAR(val(m, spec, a, "usage.ratio_30d_prev30d"),
               (8.0 + 1) / (1.0 + 1), 1e-5);
    CHECK_NEAR(val(m, spec, a, "account.tenure_days"),
               D - date_from_ymd(2024, 1, 1), 1e-3);
    CHECK_NEAR(val(m, spec, a, "account.mrr"), 500, 1e-6);
    CHECK_NEAR(val(m, spec, a, "account.plan=team"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "attr.vip"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "attr.score"), 7.5, 1e-6);
    CHECK_NEAR(val(m, spec, a, "attr.renewal_date_days_from_as_of"), 30, 1e-3);
}

static void ticket_values(void)
{
    /* tickets: t1 (high, resolved, csat 2, escalated, 1 reopen), t2 (urgent,
     * open, unanswered), t3 (low, resolved after D: open at D, csat unknown),
     * t6 (normal, csat 9 is out of range) */
    CHECK_NEAR(val(m, spec, a, "tickets.count_30d"), 3, 0); /* t1, t2, t6 */
    CHECK_NEAR(val(m, spec, a, "tickets.count_90d"), 4, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.high_90d"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.urgent_90d"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.open"), 2, 0); /* t2, t3 */
    CHECK_NEAR(val(m, spec, a, "tickets.awaiting_response"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.csat_count_90d"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.csat_mean_90d"), 2, 1e-6);
    CHECK_NEAR(val(m, spec, a, "tickets.csat_min_90d"), 2, 1e-6);
    CHECK_NEAR(val(m, spec, a, "tickets.escalations_90d"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.reopens_90d"), 1, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.median_first_response_hours_90d"), 2,
               1e-3); /* 2, 4, 1 → 2 */
    CHECK_NEAR(val(m, spec, a, "tickets.median_resolution_hours_90d"),
               (48 + 24) / 2.0, 1e-3);
}

/* The optional families on A (active) and E (signed up 2024-05-20). */
static void family_values(void)
{
    /* long_windows: the login 92 days before D is in 180 and 365 days */
    CHECK_NEAR(val(m, spec, a, "usage.events_total_180d"), 10, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_total_365d"), 10, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.active_days_180d"), 6, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.active_days_365d"), 6, 1e-6);
    /* type_trends: one login 47 days before D; three in the last 30 */
    CHECK_NEAR(val(m, spec, a, "usage.events_login_prev30d"), 1, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.events_report_run_prev30d"), 0, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.ratio_login_30d_prev30d"),
               (3.0 + 1) / (1 + 1), 1e-6);
    CHECK(isnan(val(m, spec, e, "usage.ratio_login_30d_prev30d")));
    /* recency: a login one second before D, a report run 7 days before */
    CHECK_NEAR(val(m, spec, a, "usage.days_since_login"), 1.0 / 86400, 1e-4);
    CHECK_NEAR(val(m, spec, a, "usage.days_since_report_run"), 7, 1e-4);
    /* E never ran a report: days since signup */
    CHECK_NEAR(val(m, spec, e, "usage.days_since_report_run"), 12, 1e-4);
    /* users: u1, u2, u3 in the last 30 days; u1 in the 30 before */
    CHECK_NEAR(val(m, spec, a, "usage.users_prev30d"), 1, 1e-6);
    CHECK_NEAR(val(m, spec, a, "usage.ratio_users_30d_prev30d"), 2, 1e-6);
    /* ticket_trends: t1 rated 2, resolved within 30 days; nothing before */
    CHECK_NEAR(val(m, spec, a, "tickets.count_prev30d"), 0, 0);
    CHECK_NEAR(val(m, spec, a, "tickets.csat_mean_30d"), 2, 1e-6);
    CHECK(isnan(val(m, spec, a, "tickets.csat_change_30d")));
    CHECK(isnan(val(m, spec, e, "tickets.csat_mean_30d")));
    /* tenure: 152 days since 2024-01-01 */
    CHECK_NEAR(val(m, spec, a, "account.days_to_anniversary"), 365.25 - 152,
               1e-3);
    CHECK_NEAR(val(m, spec, a, "account.days_to_monthly_anniversary"),
               30.4375 * 5 - 152, 1e-3);
    /* lifetime: everything before D, with long windows on as well */
    CHECK_NEAR(val(m, spec, a, "usage.events_total_lifetime"), 10, 1e-6);
    CHECK_NEAR(val(m, spec, e, "usage.event_rows_lifetime"), 1, 1e-6);
}

/* Family lifetime alone: the usage query then reads events older than the
 * first window boundary (D - 90), and recency is not capped. */
static void lifetime_reads_the_whole_history(void)
{
    vg_config lc;
    vg_error err;
    cfg_defaults(&lc);
    CHECK(cfg_load_string(&lc,
                          "{\"source\": {\"schema\": \"src\"}, \"features\": "
                          "{\"families\": [\"lifetime\"], "
                          "\"history_cache\": false}}",
                          "test", &err) == VG_OK);
    feat_spec *ls = discover_or_die(db, &lc, D);
    CHECK(feat_spec_find(ls, "usage.events_total_180d") < 0);
    /* 106 days after D, A's last event is the login at D itself */
    int t2 = D + 106, dates[2] = {D, D + 106};
    feat_matrix *one = build(db, &lc, ls, &D, 1, 0, NULL);
    feat_matrix *two = build(db, &lc, ls, &t2, 1, 0, NULL);
    feat_matrix *both = build(db, &lc, ls, dates, 2, 0, NULL);
    long la = row_of(one, "A", D), le = row_of(one, "E", D);
    long la2 = row_of(two, "A", t2);
    CHECK(la >= 0 && le >= 0 && la2 >= 0);
    /* A at D: seven usable events (the one 92 days before D included;
     * not the one at D, nor the rows without a type or with quantity -5) */
    CHECK_NEAR(val(one, ls, la, "usage.events_total_lifetime"), 10, 1e-6);
    CHECK_NEAR(val(one, ls, la, "usage.event_rows_lifetime"), 7, 1e-6);
    CHECK_NEAR(val(one, ls, la, "usage.events_login_lifetime"), 5, 1e-6);
    CHECK_NEAR(val(one, ls, la, "usage.events_report_run_lifetime"), 5, 1e-6);
    CHECK_NEAR(val(one, ls, la, "usage.events_per_30d_lifetime"),
               10 * 30.0 / 152, 1e-4);
    CHECK_NEAR(val(one, ls, la, "usage.days_since_last_activity_lifetime"),
               1.0 / 86400, 1e-5);
    /* E: one login 1 day 16 hours before D; tenure 12 days counts as 30 */
    CHECK_NEAR(val(one, ls, le, "usage.days_since_last_activity_lifetime"),
               1 + 16.0 / 24, 1e-4);
    CHECK_NEAR(val(one, ls, le, "usage.events_per_30d_lifetime"), 1, 1e-5);
    /* A at D + 106: the login at D is the last; the capped one stops at 91 */
    CHECK_NEAR(val(two, ls, la2, "usage.days_since_last_activity_lifetime"),
               106, 1e-4);
    CHECK_NEAR(val(two, ls, la2, "usage.days_since_last_activity"), 91, 0);
    CHECK_NEAR(val(two, ls, la2, "usage.events_total_lifetime"), 11, 1e-6);
    CHECK_NEAR(val(two, ls, la2, "usage.events_total_90d"), 0, 0);
    /* both dates at once are the two single dates; streamed is whole */
    for (int k = 0; k < 2; k++) {
        feat_matrix *single = k ? two : one;
        for (size_t r = 0; r < single->nrows; r++) {
            long mr = row_of(both, single->ids[r], dates[k]);
            CHECK(mr >= 0);
            for (size_t j = 0; mr >= 0 && j < single->ncols; j++) {
                float x = single->x[r * single->ncols + j],
                      y = both->x[(size_t)mr * both->ncols + j];
                CHECK(x == y || (isnan(x) && isnan(y)));
            }
        }
    }
    CHECK(stream_same(db, &lc, ls, D, 1, one, NULL));
    CHECK(slices_same(db, &lc, ls, D, 3, one, NULL));
    feat_matrix_free(one);
    feat_matrix_free(two);
    feat_matrix_free(both);
    feat_spec_free(ls);
}

/* Days since the last activity, and since each type's last event, count
 * only the 90 days before the date, whatever else the build read: W's
 * login 90.5 days before D is seen by a request that also holds D - 10, by
 * family lifetime's history and by its weekly summary, yet W's row at D is
 * 91 (the cap) every time, as when nothing older was read. */
static void days_since_ignore_older_reads(void)
{
    vg_error err;
    int from = 0, to = 0;
    CHECK(migrate_run(db, &from, &to, &err) == VG_OK);
    testdb_exec(dsn, "INSERT INTO src.customers VALUES ('W','W','2023-06-01',"
                     "NULL,'team',100,5,'en','smb',1,false,NULL,NULL);"
                     "INSERT INTO src.usage_events VALUES"
                     " ('W','2024-03-02 12:00:00+00','login',NULL,NULL);");
    const char *cfgs[3] = {"{\"source\": {\"schema\": \"src\"}, \"features\": "
                           "{\"families\": [\"recency\"]}}",
                           "{\"source\": {\"schema\": \"src\"}, \"features\": "
                           "{\"families\": [\"recency\", \"lifetime\"], "
                           "\"history_cache\": false}}",
                           "{\"source\": {\"schema\": \"src\"}, \"features\": "
                           "{\"families\": [\"recency\", \"lifetime\"]}}"};
    int dates[2] = {D, D - 10};
    for (int i = 0; i < 3; i++) {
        vg_config rc;
        cfg_defaults(&rc);
        CHECK(cfg_load_string(&rc, cfgs[i], "test", &err) == VG_OK);
        feat_spec *rs = discover_or_die(db, &rc, D);
        for (int n = 1; n <= 2; n++) {
            feat_matrix *mx = build(db, &rc, rs, dates, n, 0, NULL);
            long w = row_of(mx, "W", D);
            CHECK(w >= 0);
            if (w < 0) {
                feat_matrix_free(mx);
                continue;
            }
            CHECK_NEAR(val(mx, rs, w, "usage.days_since_last_activity"), 91, 0);
            CHECK_NEAR(val(mx, rs, w, "usage.days_since_login"), 91, 0);
            if (i > 0) /* the lifetime one is not capped */
                CHECK_NEAR(
                    val(mx, rs, w, "usage.days_since_last_activity_lifetime"),
                    90.5, 1e-4);
            feat_matrix_free(mx);
        }
        feat_spec_free(rs);
    }
    testdb_exec(dsn, "DELETE FROM src.usage_events WHERE customer_id = 'W';"
                     "DELETE FROM src.customers WHERE customer_id = 'W';"
                     "DELETE FROM vigil.usage_history;"
                     "DELETE FROM vigil.usage_history_cuts;");
}

static long stat_of(json_t *st, const char *key)
{
    return (long)json_integer_value(json_object_get(st, key));
}

/* Family lifetime's weekly summary (features.history_cache): the events
 * before the cut — the Monday at or before D - 90, 2024-02-26 for D =
 * 2024-06-01 — come from vigil.usage_history, built once and reused; the
 * matrix is the one read live, at D and at D + 106; nothing at or after D
 * counts (H's purchase of 100 at D itself). */
static void history_summary_equals_live(void)
{
    vg_error err;
    int from = 0, to = 0;
    CHECK(migrate_run(db, &from, &to, &err) == VG_OK);
    testdb_exec(dsn,
                "INSERT INTO src.customers VALUES ('H','H','2023-01-01',NULL,"
                "'team',100,5,'en','smb',1,false,NULL,NULL);"
                "INSERT INTO src.usage_events VALUES"
                " ('H','2024-02-25 23:59:59+00','login',NULL,1)," /* summary */
                " ('H','2024-02-26 00:00:00+00','login',NULL,2)," /* at cut */
                " ('H','2024-05-01 00:00:00+00','report_run',NULL,4),"
                " ('H','2024-06-01 00:00:00+00','login',NULL,100)," /* at D */
                " ('H','2024-07-01 00:00:00+00','login',NULL,5);");
    vg_config lc, lo;
    cfg_defaults(&lc);
    cfg_defaults(&lo);
    CHECK(cfg_load_string(&lc,
                          "{\"source\": {\"schema\": \"src\"}, \"features\": "
                          "{\"families\": [\"lifetime\"]}}",
                          "test", &err) == VG_OK);
    CHECK(lc.feat_history_cache == 1); /* the default */
    CHECK(cfg_load_string(&lo,
                          "{\"source\": {\"schema\": \"src\"}, \"features\": "
                          "{\"families\": [\"lifetime\"], \"history_cache\": "
                          "false}}",
                          "test", &err) == VG_OK);
    feat_spec *ls = discover_or_die(db, &lc, D);
    json_t *s1 = json_object(), *s2 = json_object();
    feat_matrix *live = build(db, &lo, ls, &D, 1, 0, NULL);
    feat_matrix *c1 = build(db, &lc, ls, &D, 1, 0, s1);
    feat_matrix *c2 = build(db, &lc, ls, &D, 1, 0, s2);
    CHECK_INT_EQ(1, stat_of(s1, "history_summaries_built"));
    CHECK_INT_EQ(1, stat_of(s2, "history_summaries_reused"));
    CHECK_INT_EQ(0, stat_of(s2, "history_summaries_built"));
    /* the summary holds H's one event before the cut, nothing later */
    CHECK(!strcmp(testdb_value(dsn, "SELECT cut::text FROM "
                                    "vigil.usage_history_cuts"),
                  "2024-02-26"));
    CHECK(!strcmp(testdb_value(dsn, "SELECT quantity || ' ' || event_rows FROM "
                                    "vigil.usage_history WHERE customer_id "
                                    "= 'H'"),
                  "1 1"));
    long h = row_of(c1, "H", D);
    CHECK(h >= 0);
    CHECK_NEAR(val(c1, ls, h, "usage.events_total_lifetime"), 1 + 2 + 4, 1e-6);
    CHECK_NEAR(val(c1, ls, h, "usage.event_rows_lifetime"), 3, 1e-6);
    CHECK_NEAR(val(c1, ls, h, "usage.events_login_lifetime"), 3, 1e-6);
    CHECK_NEAR(val(c1, ls, h, "usage.days_since_last_activity_lifetime"), 31,
               1e-4);
    CHECK(same_matrix(live, c1));
    CHECK(same_matrix(live, c2));
    CHECK(stream_same(db, &lc, ls, D, 1, c1, NULL));
    CHECK(slices_same(db, &lc, ls, D, 3, c1, NULL));
    /* D + 106: a second summary (cut 2024-06-17) now holds the purchase at
     * D; still the live matrix */
    int t2 = D + 106;
    feat_matrix *live2 = build(db, &lo, ls, &t2, 1, 0, NULL);
    feat_matrix *c3 = build(db, &lc, ls, &t2, 1, 0, NULL);
    long h2 = row_of(c3, "H", t2);
    CHECK_NEAR(val(c3, ls, h2, "usage.events_total_lifetime"), 112, 1e-6);
    CHECK(same_matrix(live2, c3));
    CHECK(!strcmp(testdb_value(dsn, "SELECT count(*) FROM "
                                    "vigil.usage_history_cuts"),
                  "2"));
    feat_matrix_free(live);
    feat_matrix_free(c1);
    feat_matrix_free(c2);
    feat_matrix_free(live2);
    feat_matrix_free(c3);
    json_decref(s1);
    json_decref(s2);
    feat_spec_free(ls);
}

/* A model keeps the families it was trained with: its stored spec lays out
 * the same columns whatever the config says now, and a model stored before
 * families existed (no "families") is the core set. */
static void a_model_keeps_its_families(void)
{
    vg_error err;
    feat_spec *back = NULL, *core = NULL, *old = NULL;
    json_t *j = feat_spec_to_json(spec);
    CHECK(feat_spec_from_json(j, &back, &err) == VG_OK);
    CHECK(back && feat_spec_ncols(back) == feat_spec_ncols(spec));
    json_decref(j);
    vg_config none;
    cfg_defaults(&none);
    CHECK(cfg_load_string(&none,
                          "{\"source\": {\"schema\": \"src\"}, \"features\": "
                          "{\"families\": []}}",
                          "test", &err) == VG_OK);
    CHECK(feat_spec_discover(db, &none, D, &core, &err) == VG_OK);
    CHECK(core && feat_spec_ncols(core) < feat_spec_ncols(spec));
    CHECK(core && feat_spec_find(core, "usage.days_since_login") < 0);
    if (core) {
        j = feat_spec_to_json(core);
        json_object_del(j, "families");
        CHECK(feat_spec_from_json(j, &old, &err) == VG_OK);
        CHECK(old && feat_spec_ncols(old) == feat_spec_ncols(core));
        /* an unknown family is a model this vigil cannot compute */
        json_object_set_new(j, "families", json_pack("[s]", "crystal_ball"));
        feat_spec *bad = NULL;
        CHECK(feat_spec_from_json(j, &bad, &err) == VG_EMODEL);
        CHECK(strstr(err.msg, "crystal_ball") != NULL);
        json_decref(j);
    }
    feat_spec_free(back);
    feat_spec_free(core);
    feat_spec_free(old);
}

/* A stored spec that this vigil did not write the way it reads it (edited
 * by hand, damaged, or from another version) is refused with the model's
 * own error and a message naming the part, never read half-way. */
static void a_damaged_model_spec_is_refused(void)
{
    static const struct {
        const char *what, *msg;
    } cases[] = {
        {"type", "feature list is malformed"},
        {"attribute", "attribute list is malformed"},
        {"topic", "topic list is malformed"},
        {"renamed column", "expected"},
        {"missing column", "this vigil lays out"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        vg_error err;
        feat_spec *back = NULL;
        json_t *j = feat_spec_to_json(spec);
        json_t *cols = json_object_get(j, "columns");
        size_t last = json_array_size(cols) - 1;
        if (k == 0)
            json_array_append_new(json_object_get(j, "event_types"),
                                  json_integer(7));
        else if (k == 1)
            json_array_append_new(json_object_get(j, "attributes"),
                                  json_pack("{s:s}", "column", "plan"));
        else if (k == 2)
            json_object_set_new(j, "topics",
                                json_pack("[{s:s}]", "label", "x"));
        else if (k == 3)
            json_array_set_new(cols, last, json_string("usage.crystal_ball"));
        else
            json_array_remove(cols, last);
        CHECK(feat_spec_from_json(j, &back, &err) == VG_EMODEL);
        CHECK(back == NULL);
        if (!strstr(err.msg, cases[k].msg))
            fprintf(stderr, "%s: '%s' lacks '%s'\n", cases[k].what, err.msg,
                    cases[k].msg);
        CHECK(strstr(err.msg, cases[k].msg) != NULL);
        json_decref(j);
    }
}

static void unknown_values_are_nan(void)
{
    /* E: no tickets, a short tenure */
    CHECK(isnan(val(m, spec, e, "tickets.csat_mean_90d")));
    CHECK(isnan(val(m, spec, e, "tickets.days_since_last_ticket")));
    CHECK(isnan(val(m, spec, e, "usage.trend_slope_12w")));
    CHECK(isnan(
        val(m, spec, e, "attr.segment=smb"))); /* segment is NULL: unknown */
}

static void dirty_rows_counted_by_reason(void)
{
    /* dirty rows: counted by reason */
    json_t *ue = json_object_get(stats, "usage_events"),
           *tk = json_object_get(stats, "tickets");
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "unknown_customer")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "null_customer_id")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "null_occurred_at")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "null_event_type")), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "bad_quantity")), 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "future_timestamp")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(ue, "after_as_of")), 2);
    CHECK_INT_EQ(json_integer_value(json_object_get(tk, "null_customer_id")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(tk, "unknown_customer")),
                 1);
    CHECK_INT_EQ(json_integer_value(json_object_get(tk, "csat_out_of_range")),
                 1);
}

static void rows_from_as_of_on_change_nothing(void)
{
    /* Leakage: everything from D on — events, tickets, a cancellation, a new
     * customer, a changed rating of a ticket resolved after D — changes
     * nothing. */
    testdb_exec(
        dsn,
        "INSERT INTO src.usage_events VALUES ('A','2024-06-01 "
        "00:00:01+00','login','u7',NULL),"
        " ('E','2024-06-03','report_run','x1',100);"
        "INSERT INTO src.tickets VALUES ('t9','A','2024-06-01 "
        "00:00+00',NULL,NULL,'open','urgent',"
        " 'email','s','b',1,3,true);"
        "UPDATE src.tickets SET csat = 1 WHERE ticket_id = 't3';"
        "UPDATE src.customers SET canceled_at = '2024-06-02' WHERE customer_id "
        "= 'A';"
        "INSERT INTO src.customers VALUES "
        "('F','F','2024-06-02',NULL,'team',1,1,'en','smb',1,true,NULL,NULL);");
    feat_matrix *m2 = build(db, &cfg, spec, &D, 1, 0, NULL);
    CHECK(same_matrix(m, m2));
    feat_matrix_free(m2);
}

static void multi_date_equals_single_date(void)
{
    /* Multi-date extraction gives exactly the single-date rows. */
    int dates[3] = {D, D - 7, D - 30};
    feat_matrix *mm = build(db, &cfg, spec, dates, 3, 0, NULL);
    for (int k = 0; k < 3; k++) {
        feat_matrix *one = build(db, &cfg, spec, &dates[k], 1, 0, NULL);
        size_t n = 0;
        for (size_t r = 0; r < mm->nrows; r++)
            n += mm->day[r] == dates[k];
        /* rows of one date are interleaved per customer: compare row by row */
        CHECK_INT_EQ(n, one->nrows);
        for (size_t r = 0; r < one->nrows; r++) {
            long mr = row_of(mm, one->ids[r], dates[k]);
            CHECK(mr >= 0);
            if (mr < 0)
                continue;
            for (size_t j = 0; j < one->ncols; j++) {
                float x = one->x[r * one->ncols + j],
                      y = mm->x[(size_t)mr * mm->ncols + j];
                if (!(x == y || (isnan(x) && isnan(y)))) {
                    fprintf(stderr, "date %d %s %s: single %g multi %g\n", k,
                            one->ids[r], feat_spec_info(spec, j)->name, x, y);
                    CHECK(0);
                }
            }
        }
        feat_matrix_free(one);
    }
    feat_matrix_free(mm);
}

static void labels_use_the_horizon_window(void)
{
    /* Labels for t = D - 30 with a 30-day horizon look at [D - 30, D): A's
     * cancellation (set above to D + 1 day) is outside, B's inside. */
    int t = D - 30;
    feat_matrix *ml = build(db, &cfg, spec, &t, 1, 30, NULL);
    long la = row_of(ml, "A", t), lb = row_of(ml, "B", t);
    CHECK(la >= 0 && lb >= 0);
    if (la >= 0 && lb >= 0) {
        CHECK_NEAR(ml->label[la], 0, 0); /* cancels at D+1: outside [t, t+30) */
        CHECK_NEAR(ml->label[lb], 1, 0); /* B canceled 2024-05-15 */
    }
    feat_matrix_free(ml);
}

/* The activity per day a stream counts for the freshness verdict, summed
 * over `nslices` hash slices read in chunks of `chunk` customers, as
 * "MM-DD:n" for each day with any, oldest first; "" on error. */
static const char *activity(const vg_config *c, const feat_spec *sp,
                            int nslices, size_t chunk)
{
    static char out[512];
    long sum[FRESH_WINDOW_DAYS] = {0};
    int from = 0, ok = 1;
    feat_request req = {&D, 1, 0, 0, -1, 1, 1, NULL};
    vg_error err;
    out[0] = '\0';
    if (db_begin(db, &err) != VG_OK)
        return out;
    for (int k = 0; ok && k < nslices; k++) {
        feat_stream *fs = NULL;
        feat_matrix *fm = NULL;
        json_t *st = json_object();
        ok = feat_stream_open_slice(db, c, sp, &req, k, nslices, NULL, chunk,
                                    st, &fs, &err) == VG_OK;
        while (ok && (ok = feat_stream_next(fs, &fm, &err) == VG_OK) && fm)
            feat_matrix_free(fm);
        int n = 0;
        const long *act = ok ? feat_stream_activity(fs, &from, &n) : NULL;
        ok = ok && n == FRESH_WINDOW_DAYS && from == D - FRESH_WINDOW_DAYS;
        for (int i = 0; ok && i < n; i++)
            sum[i] += act[i];
        if (!ok)
            fprintf(stderr, "activity: %s\n", err.msg);
        feat_stream_close(fs);
        json_decref(st);
    }
    db_rollback(db);
    size_t len = 0;
    for (int i = 0; ok && i < FRESH_WINDOW_DAYS; i++) {
        char d[DATE_BUF];
        if (!sum[i])
            continue;
        date_format(from + i, d);
        len += (size_t)snprintf(out + len, sizeof out - len, "%s%s:%ld",
                                len ? " " : "", d + 5, sum[i]);
    }
    return out;
}

/* What score judges a date's freshness by (core/freshness.h fresh_judge):
 * per day of the 90 before D, customers with a usable event that day
 * (A's two events on 05-31 count once; E, the unknown ZZZ and the NULL id
 * on 05-30; not A's NULL-type and negative rows, nor 03-01, nor D itself)
 * plus tickets opened (t2 on 05-30; t4 without and t5 with an unknown
 * customer on 05-01) — the same whichever windows the spec has, however
 * the stream is sliced or chunked or read. */
static void activity_per_day_for_the_freshness_verdict(void)
{
    const char *want = "04-01:1 04-15:1 05-01:2 05-02:1 05-10:1 05-20:1 "
                       "05-24:1 05-25:1 05-30:4 05-31:1";
    CHECK_STR_EQ(activity(&cfg, spec, 1, 1000), want);
    CHECK_STR_EQ(activity(&cfg, spec, 1, 1), want);
    CHECK_STR_EQ(activity(&cfg, spec, 3, 1), want);
    vg_config cur = cfg;
    cur.feat_stream_read = CFG_STREAM_READ_CURSOR;
    CHECK_STR_EQ(activity(&cur, spec, 2, 1), want);
    /* no optional family: the windows start 90 days before D */
    vg_config plain;
    vg_error err;
    cfg_defaults(&plain);
    CHECK(cfg_load_string(&plain,
                          "{\"source\": {\"schema\": \"src\"}, "
                          "\"features\": {\"families\": []}}",
                          "test", &err) == VG_OK);
    feat_spec *ps = discover_or_die(db, &plain, D);
    CHECK_STR_EQ(activity(&plain, ps, 1, 1000), want);
    CHECK_STR_EQ(activity(&plain, ps, 2, 1), want);
    feat_spec_free(ps);
}

int main(void)
{
    dsn = testdb_fresh("vt_features");
    testdb_source_tables(dsn, "src",
                         ", segment text, score numeric, vip boolean, "
                         "renewal_date date, notes jsonb");
    testdb_exec(dsn, fixture);
    db = connect_or_die(dsn);
    vg_error err;
    cfg_defaults(&cfg);
    /* every optional family on, whatever the defaults are */
    CHECK(cfg_load_string(&cfg,
                          "{\"source\": {\"schema\": \"src\"}, \"features\": "
                          "{\"families\": [\"long_windows\", \"type_trends\", "
                          "\"recency\", \"users\", \"ticket_trends\", "
                          "\"tenure\", \"lifetime\"]}}",
                          "test", &err) == VG_OK);
    date_parse("2024-06-01", &D);
    spec = discover_or_die(db, &cfg, D);
    stats = json_object();

    static const check_case cases[] = {
        CHECK_CASE(spec_discovers_types_and_attributes),
        CHECK_CASE(streamed_build_equals_whole),
        CHECK_CASE(activity_per_day_for_the_freshness_verdict),
        CHECK_CASE(usage_and_account_values),
        CHECK_CASE(ticket_values),
        CHECK_CASE(family_values),
        CHECK_CASE(lifetime_reads_the_whole_history),
        CHECK_CASE(a_model_keeps_its_families),
        CHECK_CASE(a_damaged_model_spec_is_refused),
        CHECK_CASE(unknown_values_are_nan),
        CHECK_CASE(dirty_rows_counted_by_reason),
        CHECK_CASE(rows_from_as_of_on_change_nothing),
        CHECK_CASE(multi_date_equals_single_date),
        CHECK_CASE(labels_use_the_horizon_window),
        CHECK_CASE(days_since_ignore_older_reads),
        CHECK_CASE(history_summary_equals_live),
    };
    int rc = check_run("db_features", cases, sizeof cases / sizeof cases[0]);
    json_decref(stats);
    feat_matrix_free(m);
    feat_spec_free(spec);
    db_close(db);
    return rc;
}
