/* test_db_topics_replay.c — `vigil topics --replay` of days a `--backfill`
 * built, against a real PostgreSQL: the replay sees each day as the
 * backfill's pass saw it and raises exactly its alerts.
 *
 * A small demo company (3,000 customers, its planted CSV outage), 14 days
 * of history built by one `--backfill 14` (re-clusterings on 10-18 and
 * 10-25, then the run for 11-01 re-clusters once more), then 10-29, 10-30
 * and 10-31 replayed. Every re-clustering re-assigns the window's tickets
 * and relabels the topics it keeps; a replay of 10-29 must count them as
 * the 10-25 model had them, with its labels. Before this was kept, the
 * rewind sent each ticket back to its *first* topic (of the 10-18 model)
 * and kept the 11-01 labels: the replay of 10-29 raised a topic alert of
 * kind `new` (a topic of 6 tickets against 0.2, its older tickets still
 * counted in the topics they first had) that the backfill never raised. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define END "2026-11-01"

static const char *dsn;
static char cfg[64], args[256];

/* Every day's view of every alert up to day (inclusive), and the alerts
 * raised by then: what a replay of those days must give back. */
static void digest(const char *day, char *out, size_t n)
{
    char sql[1400];
    snprintf(sql, sizeof sql,
             "SELECT md5(coalesce((SELECT string_agg(concat_ws('|', alert_id, "
             " as_of, kind, status, window_start, window_end, observed, "
             " round(expected::numeric, 4), p_value::real, customers, label, "
             " key_terms, languages, topic_id, topic_ids, ticket_ids), ';' "
             " ORDER BY as_of, alert_id) FROM vigil.trend_alert_days "
             " WHERE as_of <= '%s'), '') || coalesce((SELECT "
             " string_agg(concat_ws('|', alert_id, detected_at, source), ';' "
             " ORDER BY alert_id) FROM vigil.trend_alerts WHERE detected_at < "
             " ('%s'::date + 1)::timestamptz), ''))",
             day, day);
    snprintf(out, n, "%s", testdb_value(dsn, sql));
}

static void replay(const char *day)
{
    snprintf(args, sizeof args,
             "--quiet --config %s topics --as-of %s --replay", cfg, day);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
}

/* The day right after the last re-clustering of the backfill but one:
 * its tickets' topics were moved by the run for 11-01. */
static void replayed_day_raises_what_the_backfill_raised(void)
{
    char before[64], after[64];
    digest("2026-10-29", before, sizeof before);
    /* The backfill raised alerts (else there is nothing to compare). */
    CHECK(atoi(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alert_days "
                                 "WHERE as_of <= '2026-10-29'")) > 0);
    replay("2026-10-29");
    digest("2026-10-29", after, sizeof after);
    CHECK_STR_EQ(after, before);
}

/* Each ticket of the 10-25 model's window is back in the topic that model
 * gave it (tickets of later days: the topic it was assigned to with it),
 * and the topics carry that model's labels. */
static void tickets_and_labels_as_of_that_day(void)
{
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.ticket_topics "
                                   "tt JOIN tickets t USING (ticket_id) "
                                   "LEFT JOIN vigil.topic_models m USING "
                                   "(model_id) WHERE t.created_at >= "
                                   "'2026-07-27' AND m.as_of IS DISTINCT "
                                   "FROM '2026-10-25'"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.ticket_topics "
                                   "WHERE model_id IS NULL"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.topics t JOIN "
                                   "vigil.topic_centroids c USING (topic_id) "
                                   "JOIN vigil.topic_models m USING "
                                   "(model_id) WHERE m.as_of = '2026-10-25' "
                                   "AND t.label IS DISTINCT FROM c.label"),
                 "0");
}

/* Replaying on, day by day, gives the backfill's days again. */
static void later_days_too(void)
{
    replay("2026-10-30");
    replay("2026-10-31");
    char after[64];
    digest("2026-10-31", after, sizeof after);
    static char before[64];
    snprintf(before, sizeof before, "%s",
             testdb_value(dsn, "SELECT digest FROM backfill_digest"));
    CHECK_STR_EQ(after, before);
}

int main(void)
{
    dsn = testdb_fresh("vt_topics_replay");
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet demo --customers 3000 --end " END)->status, 0);
    /* Every alert the tests pass (thresholds 1): the more alerts, the
     * sharper the comparison. */
    cli_config(cfg, sizeof cfg, "topics_replay", "%s",
               "{\"topics\": {\"backfill_days\": 0}, \"trend\": "
               "{\"max_p\": 1, \"topic_max_p\": 1}}");
    snprintf(args, sizeof args,
             "--quiet --config %s topics --as-of " END " --backfill 14", cfg);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    char d[64];
    digest("2026-10-31", d, sizeof d);
    char sql[160];
    snprintf(sql, sizeof sql,
             "CREATE TABLE backfill_digest AS SELECT '%s'::text AS digest", d);
    testdb_exec(dsn, sql);
    static const check_case cases[] = {
        CHECK_CASE(replayed_day_raises_what_the_backfill_raised),
        CHECK_CASE(tickets_and_labels_as_of_that_day),
        CHECK_CASE(later_days_too),
    };
    int rc =
        check_run("db_topics_replay", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
