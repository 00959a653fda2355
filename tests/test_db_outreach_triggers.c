/* test_db_outreach_triggers.c — each playbook trigger against hand-made rows
 * whose answer is known: health drop (and its baseline while open), open
 * trend alerts (topic and window, nothing from D on), stale escalations,
 * a renewal date column; and no specialist at all. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static char cfg_path[256];

static json_t *run_outreach(const char *dsn, const char *d)
{
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --config %s outreach --as-of %s --json", cfg_path, d);
    return cli_json_ok(dsn, args);
}

static const char *keys(const char *dsn)
{
    return testdb_value(dsn, "SELECT string_agg(dedupe_key, ' ' ORDER BY "
                             "dedupe_key) FROM vigil.outreach_tasks WHERE "
                             "status IN ('open', 'assigned')");
}

static const char *dsn;

/* 2025-03-10: a drop, an alert in its window, two stale tickets, a renewal
 * within 30 days; no specialist, so all unassigned. */
static void each_trigger_fires_on_its_rows(void)
{
    json_t *j = run_outreach(dsn, "2025-03-10");
    CHECK_INT_EQ(jint(j, "created"), 5);
    CHECK_INT_EQ(jint(j, "assigned"), 0);
    CHECK_INT_EQ(jint(j, "unassigned"), 5);
    json_decref(j);
    CHECK_STR_EQ(keys(dsn), "alert:H1 drop:H1 renewal:H1 stale:H2 stale:H3");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.outreach_tasks "
                                   "WHERE reason->>'unassigned' = 'no active "
                                   "specialist'"),
                 "5");
}

static void reasons_say_what_happened(void)
{
    /* what the specialist reads */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT reason->>'summary' FROM "
                                   "vigil.outreach_tasks WHERE dedupe_key = "
                                   "'drop:H1'"),
                 "health fell from 80 to 55 within 7 days");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT reason->'trigger'->'alerts'->0->>"
                                   "'alert_id' || ':' || (reason->'trigger'->"
                                   "'alerts'->0->'tickets')::text FROM "
                                   "vigil.outreach_tasks WHERE dedupe_key = "
                                   "'alert:H1'"),
                 "1:[\"K1\"]");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT reason->>'summary' FROM "
                                   "vigil.outreach_tasks WHERE dedupe_key = "
                                   "'stale:H2'"),
                 "ticket S1 \"down\" (urgent) unresolved for 72 hours");
    CHECK(strstr(testdb_value(dsn, "SELECT reason->>'summary' FROM "
                                   "vigil.outreach_tasks WHERE dedupe_key = "
                                   "'stale:H3'"),
                 "S5") != NULL);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT title FROM vigil.outreach_tasks "
                                   "WHERE dedupe_key = 'renewal:H1'"),
                 "Renewal of One: renewal_date is 2025-03-30 (in 20 days)");
}

static void open_drop_keeps_its_baseline(void)
{
    /* health drop: the baseline of the open task keeps it while health
     * stays down, even when the window no longer sees the old score */
    testdb_exec(dsn, "INSERT INTO vigil.scores (as_of, customer_id, "
                     "churn_risk, health, tier) VALUES "
                     "('2025-03-19', 'H1', 0.2, 57, 'watch'),"
                     "('2025-03-20', 'H1', 0.2, 58, 'watch'),"
                     "('2025-03-21', 'H1', 0.1, 70, 'watch')");
    json_t *j = run_outreach(dsn, "2025-03-20");
    json_t *pb = json_object_get(json_object_get(j, "playbooks"), "drop");
    CHECK_INT_EQ(jint(pb, "updated"), 1);
    CHECK_INT_EQ(jint(pb, "auto_closed"), 0);
    json_decref(j);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT reason->'trigger'->>'health_before'"
                                   " || '>' || (reason->'trigger'->>"
                                   "'health_now') FROM vigil.outreach_tasks "
                                   "WHERE dedupe_key = 'drop:H1'"),
                 "80>58");
}

/* Health recovered to 70: the drop task closes itself. */
static void recovered_drop_closes_itself(void)
{
    json_t *j = run_outreach(dsn, "2025-03-21");
    json_t *pb = json_object_get(json_object_get(j, "playbooks"), "drop");
    CHECK_INT_EQ(jint(pb, "auto_closed"), 1);
    json_decref(j);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT status FROM vigil.outreach_tasks "
                                   "WHERE dedupe_key = 'drop:H1'"),
                 "dismissed");
}

static void no_scores_for_the_date_warns(void)
{
    /* no scores for the date: tier/health triggers do not fire, warned */
    cli_result *r = cli_run(dsn, "outreach --as-of 2025-03-25 --json");
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->err, "no scores for 2025-03-25") != NULL);
    json_t *j = cli_json(r);
    CHECK(json_is_true(json_object_get(j, "default_playbooks")));
    CHECK_STR_EQ(json_string_value(json_object_get(j, "score_as_of")),
                 "2025-03-21");
    json_decref(j);
}

int main(void)
{
    dsn = testdb_fresh("vt_outreach_triggers");
    cli_config(
        cfg_path, sizeof cfg_path, "outreach_trig", "%s",
        "{\"outreach\": {\"playbooks\": ["
        "{\"name\": \"drop\", \"trigger\": {\"type\": \"health_drop\", "
        " \"points\": 20, \"days\": 7}},"
        "{\"name\": \"alert\", \"trigger\": {\"type\": \"trend_alert\"}},"
        "{\"name\": \"stale\", \"trigger\": {\"type\": \"stale_ticket\", "
        " \"hours\": 48}},"
        "{\"name\": \"renewal\", \"trigger\": {\"type\": \"date_within\", "
        " \"column\": \"renewal_date\", \"days\": 30}, \"task\": "
        " {\"title\": \"Renewal of {customer_name}: {trigger}\"}}"
        "]}}");
    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    testdb_source_tables(dsn, "public", ", renewal_date date");
    testdb_exec(
        dsn,
        "INSERT INTO public.customers VALUES "
        " ('H1', 'One', '2024-01-01', NULL, 'pro', 100, 1, 'en', "
        "'2025-03-30'),"
        " ('H2', 'Two', '2024-01-01', NULL, 'pro', 100, 1, 'en', "
        "'2025-05-01'),"
        " ('H3', 'Three', '2024-01-01', NULL, 'pro', 100, 1, 'en', "
        "'2025-03-09');"
        "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, "
        " tier) VALUES "
        " ('2025-03-05', 'H1', 0.04, 80, 'healthy'),"
        " ('2025-03-05', 'H2', 0.04, 80, 'healthy'),"
        " ('2025-03-10', 'H1', 0.2, 55, 'watch'),"
        " ('2025-03-10', 'H2', 0.12, 65, 'watch'),"
        " ('2025-03-10', 'H3', 0.5, 29, 'critical');"
        "INSERT INTO vigil.topics (topic_id, label) VALUES (1, 'csv "
        " export'), (2, 'billing'), (3, 'csv import');"
        "INSERT INTO vigil.trend_alerts (alert_id, topic_id, detected_at, "
        " window_start, window_end, status) VALUES "
        " (1, 1, '2025-03-09', '2025-03-05', '2025-03-08', 'open'),"
        " (2, 2, '2025-03-09', '2025-03-01', '2025-03-09', 'resolved'),"
        " (3, 2, '2025-03-11', '2025-03-01', '2025-03-09', 'open'),"
        " (4, 3, '2025-03-10', '2025-03-09', '2025-03-12', 'open');"
        "INSERT INTO public.tickets (ticket_id, customer_id, created_at, "
        " resolved_at, priority, escalated, subject) VALUES "
        /* topic tickets: K1 in alert 1's window; K2 before it; K3 another
         * topic; K4 after D (invisible) in alert 4's window */
        " ('K1', 'H1', '2025-03-06 10:00+00', '2025-03-06 12:00+00', "
        "'normal', false, 'csv fails'),"
        " ('K2', 'H2', '2025-03-01 10:00+00', '2025-03-01 12:00+00', "
        "'normal', false, 'csv fails'),"
        " ('K3', 'H3', '2025-03-07 10:00+00', '2025-03-07 12:00+00', "
        "'normal', false, 'invoice'),"
        " ('K4', 'H2', '2025-03-10 08:00+00', NULL, 'normal', false, 'csv'),"
        /* stale: S1 urgent 72 h open; S2 escalated but 36 h; S3 resolved;
         * S4 neither; S5 escalated, resolved only after D */
        " ('S1', 'H2', '2025-03-07 00:00+00', NULL, 'urgent', NULL, 'down'),"
        " ('S2', 'H3', '2025-03-08 12:00+00', NULL, 'high', true, 'slow'),"
        " ('S3', 'H1', '2025-03-01 00:00+00', '2025-03-09', 'high', true, "
        "'old'),"
        " ('S4', 'H3', '2025-03-05 00:00+00', NULL, 'normal', NULL, 'meh'),"
        " ('S5', 'H3', '2025-03-05 00:00+00', '2025-03-10 12:00+00', "
        "'high', true, 'sso broken');"
        "INSERT INTO vigil.ticket_topics (ticket_id, topic_id) VALUES "
        " ('K1', 1), ('K2', 1), ('K3', 2), ('K4', 3)");

    static const check_case cases[] = {
        CHECK_CASE(each_trigger_fires_on_its_rows),
        CHECK_CASE(reasons_say_what_happened),
        CHECK_CASE(open_drop_keeps_its_baseline),
        CHECK_CASE(recovered_drop_closes_itself),
        CHECK_CASE(no_scores_for_the_date_warns),
    };
    int rc = check_run("db_outreach_triggers", cases,
                       sizeof cases / sizeof cases[0]);
    remove(cfg_path);
    return rc;
}
