/* test_db_outreach_issue.c — the trend-alert playbook on issue alerts (source
 * 'terms': no topic, their own ticket ids): every customer with a ticket in
 * an open issue alert gets one task, worded for a specialist ("affected by
 * ... since ..."); a re-run, a later run after the cooldown, and a closed
 * task never bring a second task for the same alert; a new alert does; a
 * ticket only counts once it exists (created before D). */
#include "check.h"
#include "cli.h"
#include "testdb.h"

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static char cfg_path[256];
static const char *dsn;

/* `outreach --as-of d`: the created and refreshed counts as "c/u". */
static void run(const char *d, const char *expect)
{
    char args[512], got[64] = "?";
    snprintf(args, sizeof args,
             "--quiet --config %s outreach --as-of %s --json", cfg_path, d);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = r->status == 0 ? cli_json(r) : NULL;
    if (j)
        snprintf(got, sizeof got, "%lld/%lld", (long long)jint(j, "created"),
                 (long long)jint(j, "updated"));
    json_decref(j);
    if (strcmp(got, expect) != 0)
        fprintf(stderr, "outreach --as-of %s: created/updated %s, want %s\n", d,
                got, expect);
    CHECK_STR_EQ(got, expect);
}

static const char *q(const char *sql)
{
    return testdb_value(dsn, sql);
}

static void setup(void)
{
    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(
        dsn,
        "INSERT INTO public.customers VALUES "
        " ('A', 'Acme', '2024-01-01', NULL, 'pro', 100, 1, 'en'),"
        " ('B', 'Beta', '2024-01-01', NULL, 'pro', 300, 1, 'de'),"
        " ('C', 'Cobalt', '2024-01-01', NULL, 'pro', 50, 1, 'fr'),"
        " ('D', 'Delta', '2024-01-01', NULL, 'pro', 80, 1, 'en');"
        "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, "
        " tier) SELECT d, c, 0.2, 60, 'watch' FROM unnest(ARRAY['A', 'B', "
        " 'C', 'D']) c, generate_series('2025-03-10'::date, '2025-03-25', "
        " '1 day') d;"
        /* issue alert 7: raised on the 9th from bursting words, no topic;
         * T4 (C) is created on the 10th, invisible to the run of the 10th;
         * D's ticket T9 is not in the alert */
        "INSERT INTO vigil.trend_alerts (alert_id, source, topic_id, "
        " detected_at, window_start, window_end, observed, expected, "
        " p_value, status, kind, label, ticket_ids, languages) VALUES "
        " (7, 'terms', NULL, '2025-03-09 00:00+00', '2025-03-06', "
        " '2025-03-09', 4, 0.2, 1e-9, 'open', 'new', 'csv export, umlaute "
        "— \"CSV-Export kaputt\"', '{T1,T2,T3,T4}', '{de,en}');"
        "INSERT INTO public.tickets (ticket_id, customer_id, created_at, "
        " subject) VALUES "
        " ('T1', 'A', '2025-03-07 10:00+00', 'csv broken'),"
        " ('T2', 'A', '2025-03-08 10:00+00', 'csv still broken'),"
        " ('T3', 'B', '2025-03-08 11:00+00', 'Umlaute kaputt'),"
        " ('T4', 'C', '2025-03-10 09:00+00', 'export cassé'),"
        " ('T9', 'D', '2025-03-08 09:00+00', 'invoice')");
}

static void first_run_contacts_affected(void)
{
    run("2025-03-10", "2/0");
    CHECK_STR_EQ(q("SELECT string_agg(dedupe_key, ' ' ORDER BY dedupe_key) "
                   "FROM vigil.outreach_tasks"),
                 "alert:A alert:B");
    CHECK_STR_EQ(q("SELECT reason->>'summary' FROM vigil.outreach_tasks "
                   "WHERE dedupe_key = 'alert:A'"),
                 "affected by csv export, umlaute — \"CSV-Export kaputt\" "
                 "since 7 Mar 2025 (2 of their tickets; new-issue alert #7 "
                 "raised 9 Mar 2025)");
    CHECK_STR_EQ(q("SELECT reason->>'summary' FROM vigil.outreach_tasks "
                   "WHERE dedupe_key = 'alert:B'"),
                 "affected by csv export, umlaute — \"CSV-Export kaputt\" "
                 "since 8 Mar 2025 (1 of their tickets; new-issue alert #7 "
                 "raised 9 Mar 2025)");
    /* the body a specialist reads carries the same words */
    CHECK(strstr(q("SELECT body FROM vigil.outreach_tasks WHERE dedupe_key "
                   "= 'alert:A'"),
                 "since 7 Mar 2025") != NULL);
    CHECK_STR_EQ(q("SELECT (reason->'trigger'->'alert_ids')::text || ' ' || "
                   "(reason->'trigger'->'alerts'->0->'tickets')::text || ' ' "
                   "|| (reason->'trigger'->'alerts'->0->>'source') FROM "
                   "vigil.outreach_tasks WHERE dedupe_key = 'alert:A'"),
                 "[7] [\"T1\", \"T2\"] terms");
}

static void rerun_and_new_ticket(void)
{
    run("2025-03-10", "0/2"); /* the same day again: refreshed only */
    run("2025-03-11", "1/2"); /* C's ticket of the 10th now counts */
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.outreach_tasks"), "3");
}

static void never_twice(void)
{
    /* A was contacted; the cooldown (1 day) is long over by the 20th, the
     * alert still open: no second task about the same issue */
    testdb_exec(dsn, "UPDATE vigil.outreach_tasks SET status = 'done', "
                     "outcome = 'contacted', closed_at = '2025-03-12' WHERE "
                     "dedupe_key = 'alert:A'");
    run("2025-03-20", "0/2");
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.outreach_tasks WHERE "
                   "customer_id = 'A'"),
                 "1");
    /* a second issue in which A writes again is a new reason to call */
    testdb_exec(
        dsn, "INSERT INTO public.tickets (ticket_id, customer_id, "
             "created_at, subject) VALUES ('T5', 'A', '2025-03-19 10:00+00', "
             "'kiosk beeps');"
             "INSERT INTO vigil.trend_alerts (alert_id, source, topic_id, "
             " detected_at, window_start, window_end, observed, expected, "
             " p_value, status, kind, label, ticket_ids) VALUES (8, 'terms', "
             " NULL, '2025-03-20 00:00+00', '2025-03-17', '2025-03-19', 9, "
             " 1.0, 1e-7, 'open', 'spike', 'kiosk mode, piept', '{T5}')");
    run("2025-03-21", "1/2");
    CHECK_STR_EQ(q("SELECT (reason->'trigger'->'alert_ids')::text FROM "
                   "vigil.outreach_tasks WHERE customer_id = 'A' AND status "
                   "= 'open'"),
                 "[7, 8]");
    CHECK(strstr(q("SELECT reason->>'summary' FROM vigil.outreach_tasks WHERE "
                   "customer_id = 'A' AND status = 'open'"),
                 "affected by kiosk mode, piept since 19 Mar 2025 (1 of their "
                 "tickets; spike alert #8 raised 20 Mar 2025)") != NULL);
    /* and that task, closed, is not raised again either */
    testdb_exec(dsn, "UPDATE vigil.outreach_tasks SET status = 'dismissed', "
                     "outcome = 'not reachable', closed_at = '2025-03-21' "
                     "WHERE customer_id = 'A' AND status = 'open'");
    run("2025-03-23", "0/2");
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.outreach_tasks WHERE "
                   "customer_id = 'A'"),
                 "2");
}

static void resolved_alert_closes(void)
{
    /* resolved on the 24th: a replay of the 23rd still sees it open, the
     * run of the 25th closes the unassigned tasks it held */
    testdb_exec(dsn, "UPDATE vigil.trend_alerts SET status = 'resolved', "
                     "resolved_on = '2025-03-24' WHERE alert_id IN (7, 8)");
    run("2025-03-23", "0/2");
    run("2025-03-25", "0/0");
    CHECK_STR_EQ(q("SELECT string_agg(dedupe_key || ':' || status, ' ' ORDER "
                   "BY dedupe_key, task_id) FROM vigil.outreach_tasks"),
                 "alert:A:done alert:A:dismissed alert:B:dismissed "
                 "alert:C:dismissed");
}

int main(void)
{
    dsn = testdb_fresh("vt_outreach_issue");
    cli_config(cfg_path, sizeof cfg_path, "outreach_issue", "%s",
               "{\"outreach\": {\"playbooks\": [{\"name\": \"alert\", "
               "\"trigger\": {\"type\": \"trend_alert\"}, \"cooldown_days\": "
               "1}]}}");
    setup();
    static const check_case cases[] = {
        {"first_run_contacts_affected", first_run_contacts_affected},
        {"rerun_and_new_ticket", rerun_and_new_ticket},
        {"never_twice", never_twice},
        {"resolved_alert_closes", resolved_alert_closes},
    };
    int rc =
        check_run("db_outreach_issue", cases, sizeof cases / sizeof *cases);
    remove(cfg_path);
    return rc;
}
