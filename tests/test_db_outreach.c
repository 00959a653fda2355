/* test_db_outreach.c — the queue's semantics through the real binary on a
 * hand-made company: tier-entered tasks, dedupe on re-runs, assignment by
 * language/skills/capacity, auto-close, cooldown, the tasks lifecycle and
 * config errors that name the key. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

static json_int_t jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static char cfg_path[256];

static void write_config(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    if (!f) {
        perror(cfg_path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* `vigil --config cfg outreach --as-of d --json`, parsed (NULL on failure) */
static json_t *run_outreach(const char *dsn, const char *d)
{
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --config %s outreach --as-of %s --json", cfg_path, d);
    return cli_json_ok(dsn, args);
}

static const char *q(const char *dsn, const char *sql)
{
    return testdb_value(dsn, sql);
}

/* Scores of one day: "customer tier risk health; ..." */
static void scores(const char *dsn, const char *day, const char *rows)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, "
             "health, tier) SELECT '%s', x[1], x[3]::float8, x[4]::int, x[2] "
             "FROM (SELECT string_to_array(trim(r), ' ') x FROM "
             "unnest(string_to_array('%s', ';')) r) y",
             day, rows);
    testdb_exec(dsn, sql);
}

static const char *config_main =
    "{\"outreach\": {\"playbooks\": ["
    " {\"name\": \"risk_tier\", \"trigger\": {\"type\": \"tier_entered\", "
    "  \"tiers\": [\"at_risk\", \"critical\"]}, \"cooldown_days\": 30, "
    "  \"task\": {\"title\": \"Call {customer_name} ({tier})\", \"weight\": "
    "1}},"
    " {\"name\": \"low_csat\", \"trigger\": {\"type\": \"low_csat\", "
    "  \"max_csat\": 2, \"days\": 14}, \"task\": {\"skills\": "
    "[\"retention\"], \"due_in_hours\": 24}}"
    "]}}";

/* Shared by the cases, which run in order and build on each other. */
static const char *dsn;
static char *a_id, *c_id, *before; /* owned, freed by main */

static void day1_tasks_for_entered_tiers(void)
{
    /* ---- day 1: tasks for entered tiers, assignment ---------------------- */
    json_t *j = run_outreach(dsn, "2025-03-10");
    CHECK(j != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "as_of")), "2025-03-10");
    CHECK_INT_EQ(jint(j, "created"), 5); /* A B E F (tier), C (csat) */
    CHECK_INT_EQ(jint(j, "skipped_duplicates"), 0);
    CHECK_INT_EQ(jint(j, "assigned"), 3);
    CHECK_INT_EQ(jint(j, "unassigned"), 2);
    json_decref(j);
    /* C stayed at_risk (no entry); G canceled before D (not active) */
    CHECK_STR_EQ(q(dsn, "SELECT string_agg(customer_id || ':' || playbook || "
                        "':' || coalesce(assignee, '-'), ' ' ORDER BY "
                        "priority DESC) FROM vigil.outreach_tasks"),
                 "A:risk_tier:s1 F:risk_tier:s2 E:risk_tier:s2 "
                 "B:risk_tier:- C:low_csat:-");
    /* priority = churn_risk x MRR x weight, documented in the reason */
    CHECK_STR_EQ(q(dsn, "SELECT priority FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'A'"),
                 "600");
    CHECK_STR_EQ(q(dsn, "SELECT title FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'A'"),
                 "Call Acme (critical)");
    CHECK_STR_EQ(q(dsn, "SELECT reason->>'summary' FROM vigil.outreach_tasks "
                        "WHERE customer_id = 'A'"),
                 "entered tier critical (was watch)");
    CHECK_STR_EQ(q(dsn, "SELECT reason->>'summary' FROM vigil.outreach_tasks "
                        "WHERE customer_id = 'B'"),
                 "entered tier at_risk (first score)");
    CHECK_STR_EQ(q(dsn, "SELECT reason->>'unassigned' FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'B'"),
                 "no active specialist speaks 'de'");
    CHECK(strstr(q(dsn, "SELECT reason->>'unassigned' FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'C'"),
                 "daily capacity") != NULL);
    CHECK_STR_EQ(q(dsn, "SELECT reason->'trigger'->'tickets'->0->>'ticket_id' "
                        "FROM vigil.outreach_tasks WHERE customer_id = 'C'"),
                 "T1");
    CHECK_STR_EQ(q(dsn,
                   "SELECT extract(epoch FROM due_at - created_at)::int FROM "
                   "vigil.outreach_tasks WHERE customer_id = 'C'"),
                 "86400");
    /* every task has an assignee or a recorded reason */
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "assignee IS NULL AND reason->>'unassigned' IS NULL"),
                 "0");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_queue"), "5");
}

static void same_day_again_refreshes_never_duplicates(void)
{
    json_t *j;
    /* ---- the same day again: refreshed, never duplicated ----------------- */
    testdb_exec(dsn, "UPDATE vigil.scores SET churn_risk = 0.65 WHERE as_of = "
                     "'2025-03-10' AND customer_id = 'A'");
    j = run_outreach(dsn, "2025-03-10");
    CHECK_INT_EQ(jint(j, "created"), 0);
    CHECK_INT_EQ(jint(j, "skipped_duplicates"), 5);
    CHECK_INT_EQ(jint(j, "assigned"), 0);
    CHECK_INT_EQ(jint(j, "open"), 5);
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks"), "5");
    CHECK_STR_EQ(q(dsn, "SELECT priority || ':' || assignee FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'A'"),
                 "650:s1");
    /* the database itself refuses a second open task for a key */
    {
        PGconn *c = PQconnectdb(dsn);
        PGresult *res = PQexec(
            c, "INSERT INTO vigil.outreach_tasks (customer_id, playbook, "
               "dedupe_key) VALUES ('A', 'risk_tier', 'risk_tier:A')");
        CHECK(PQresultStatus(res) == PGRES_FATAL_ERROR);
        CHECK(strstr(PQresultErrorMessage(res), "outreach_tasks_one_open") !=
              NULL);
        PQclear(res);
        PQfinish(c);
    }
}

static void lifecycle_from_the_command_line(void)
{
    json_t *j;
    cli_result *r;
    /* ---- lifecycle from the command line --------------------------------- */
    char args[512];
    a_id = strdup(q(dsn, "SELECT task_id FROM "
                         "vigil.outreach_tasks WHERE customer_id "
                         "= 'A'"));
    c_id = strdup(q(dsn, "SELECT task_id FROM "
                         "vigil.outreach_tasks WHERE customer_id "
                         "= 'C'"));
    r = cli_run(dsn, "tasks list --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "count"), 5);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "tasks"), 0), "customer_id")),
        "A");
    json_decref(j);
    r = cli_run(dsn, "tasks list --assignee s2 --json");
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "count"), 2);
    json_decref(j);
    snprintf(args, sizeof args, "tasks done %s", a_id);
    r = cli_run(dsn, args); /* no outcome */
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "--outcome") != NULL);
    snprintf(args, sizeof args, "tasks done %s --outcome maybe", a_id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "saved") != NULL);
    snprintf(args, sizeof args,
             "tasks done %s --outcome saved --note 'renewed early' --at "
             "'2025-03-10 15:00+00' --json",
             a_id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "status")), "done");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "outcome")), "saved");
    json_decref(j);
    r = cli_run(dsn, args); /* twice: refused, says what it is */
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "already done") != NULL);
    snprintf(args, sizeof args, "tasks claim %s --specialist nobody", c_id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    r = cli_run(dsn, "tasks claim 999999 --specialist s2");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "no task 999999") != NULL);
}

static void day2_unassigned_tasks_auto_close(void)
{
    json_t *j;
    /* ---- day 2: B left the tier (unassigned: auto-closed), s1 is free
     * again so C's task (needs 'retention') goes to s1 ----------------------
     */
    scores(dsn, "2025-03-11",
           "A critical 0.62 21; B watch 0.12 65; C at_risk 0.3 45; "
           "E critical 0.7 16; F at_risk 0.4 37");
    j = run_outreach(dsn, "2025-03-11");
    CHECK_INT_EQ(jint(j, "created"), 0); /* A: done, and no new entry */
    CHECK_INT_EQ(jint(j, "skipped_duplicates"), 3); /* E F C */
    CHECK_INT_EQ(jint(j, "auto_closed"), 1);
    CHECK_INT_EQ(jint(j, "assigned"), 1);
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT status || '|' || outcome FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'B'"),
                 "dismissed|auto_closed: trigger no longer holds");
    CHECK_STR_EQ(q(dsn, "SELECT assignee FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'C'"),
                 "s1");
    CHECK_STR_EQ(q(dsn, "SELECT reason->'assignment'->>'specialist' FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'C'"),
                 "s1");
    /* assigned tasks are not auto-closed even when the trigger stops */
    scores(dsn, "2025-03-12", "A watch 0.15 61; B watch 0.12 65");
    j = run_outreach(dsn, "2025-03-12");
    CHECK_INT_EQ(jint(j, "auto_closed"), 0);
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "status = 'assigned'"),
                 "3"); /* E F (s2), C (s1) */
}

static void cooldown_after_done(void)
{
    json_t *j;
    /* ---- cooldown: A re-enters critical 3 days after its task was done:
     * held back; B re-enters after an auto-close: new task ---------------- */
    scores(dsn, "2025-03-13", "A critical 0.6 23; B at_risk 0.3 45");
    j = run_outreach(dsn, "2025-03-13");
    CHECK_INT_EQ(jint(j, "cooldown"), 1);
    CHECK_INT_EQ(jint(j, "created"), 1);
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'A'"),
                 "1");
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'B'"),
                 "2");
    /* after the 30 days: a new task for A */
    scores(dsn, "2025-04-14", "A watch 0.15 61");
    scores(dsn, "2025-04-15", "A critical 0.6 23");
    j = run_outreach(dsn, "2025-04-15");
    CHECK_INT_EQ(jint(j, "cooldown"), 0);
    CHECK_INT_EQ(jint(j, "created"), 1);
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'A' AND status IN ('open', "
                        "'assigned')"),
                 "1");
    CHECK_STR_EQ(q(dsn, "SELECT created_at FROM vigil.outreach_tasks WHERE "
                        "customer_id = 'A' AND status IN ('open', 'assigned')"),
                 "2025-04-15 00:00:00+00");
}

static void report_outcomes_per_playbook(void)
{
    char args[512];
    json_t *j;
    cli_result *r;
    /* ---- report: outcomes per playbook ----------------------------------- */
    r = cli_run(dsn, "tasks report --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    json_t *rt = json_object_get(j, "risk_tier");
    CHECK_INT_EQ(jint(rt, "done"), 1);
    CHECK_INT_EQ(jint(rt, "auto_closed"), 2); /* B on 03-11 and 04-15 */
    CHECK_INT_EQ(jint(json_object_get(rt, "outcomes"), "saved"), 1);
    CHECK_NEAR(json_number_value(json_object_get(rt, "mrr_saved")), 1000, 1e-9);
    json_decref(j);
    snprintf(args, sizeof args, "tasks dismiss %s --note 'not reachable'",
             c_id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK_STR_EQ(q(dsn, "SELECT status || '|' || outcome FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'C'"),
                 "dismissed|not_needed");
}

static void assignment_is_a_function_of_the_input(void)
{
    json_t *j;
    /* ---- assignment is a function of the input --------------------------- */
    before = strdup(q(dsn, "SELECT string_agg(dedupe_key || '=' || coalesce("
                           "assignee, '-'), ',' ORDER BY dedupe_key) FROM "
                           "vigil.outreach_tasks WHERE as_of = '2025-03-10'"));
    testdb_exec(dsn, "DELETE FROM vigil.deliveries; DELETE FROM "
                     "vigil.outreach_tasks");
    j = run_outreach(dsn, "2025-03-10");
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT string_agg(dedupe_key || '=' || coalesce("
                        "assignee, '-'), ',' ORDER BY dedupe_key) FROM "
                        "vigil.outreach_tasks"),
                 "low_csat:C=-,risk_tier:A=s1,risk_tier:B=-,risk_tier:E=s2,"
                 "risk_tier:F=s2");
    CHECK(strstr(before, "risk_tier:A=s1") != NULL);
}

static void leaving_specialist_gives_tasks_back(void)
{
    json_t *j;
    /* ---- a specialist who leaves gives tasks back ------------------------ */
    testdb_exec(dsn, "UPDATE vigil.specialists SET active = false WHERE "
                     "specialist_id = 's2'");
    j = run_outreach(dsn, "2025-03-10");
    json_decref(j);
    CHECK_STR_EQ(q(dsn, "SELECT count(*) FROM vigil.outreach_tasks WHERE "
                        "assignee = 's2'"),
                 "0");
    CHECK_STR_EQ(q(dsn, "SELECT reason->>'released_from' FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'E'"),
                 "s2");
    CHECK_STR_EQ(q(dsn, "SELECT reason->>'unassigned' FROM "
                        "vigil.outreach_tasks WHERE customer_id = 'E'"),
                 "no active specialist speaks 'fr'");
}

static void config_mistakes_name_key_and_file(void)
{
    char args[512];
    cli_result *r;
    /* ---- config mistakes name the key and the file ----------------------- */
    write_config("{\"outreach\": {\"playbooks\": [{\"name\": \"a\", "
                 "\"trigger\": {\"type\": \"tier_entered\"}}, {\"name\": "
                 "\"b\", \"trigger\": {\"type\": \"health_drop\", \"days\": "
                 "0}}]}}");
    snprintf(args, sizeof args, "--config %s outreach --as-of 2025-03-10",
             cfg_path);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbooks[1].trigger.days") != NULL);
    CHECK(strstr(r->err, cfg_path) != NULL);
    write_config("{\"outreach\": {\"playbooks\": [{\"name\": \"a\", "
                 "\"trigger\": {\"type\": \"tier_entered\"}, \"task\": "
                 "{\"title\": \"hi {nme}\"}}]}}");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbooks[0].task.title") != NULL);
    CHECK(strstr(r->err, "{nme}") != NULL);
    write_config("{\"outreach\": {\"playbooks\": [{\"name\": \"r\", "
                 "\"trigger\": {\"type\": \"date_within\", \"column\": "
                 "\"plan\"}}]}}");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbooks[0].trigger.column") != NULL);
    write_config("{\"outreach\": {\"playbookz\": []}}");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbookz") != NULL);
    /* the core config loader still rejects its own unknown keys */
    write_config("{\"outreech\": {}}");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
}

int main(void)
{
    dsn = testdb_fresh("vt_outreach");
    snprintf(cfg_path, sizeof cfg_path, "/tmp/vt_outreach_%d.json",
             (int)getpid());
    write_config(config_main);
    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    testdb_source_tables(dsn, "public", ", renewal_date date");
    testdb_exec(
        dsn,
        "INSERT INTO public.customers VALUES "
        " ('A', 'Acme', '2024-01-01', NULL, 'pro', 1000, 10, 'en', NULL),"
        " ('B', 'Bauer', '2024-01-01', NULL, 'pro', 500, 5, 'de', NULL),"
        " ('C', 'Cobalt', '2024-01-01', NULL, 'basic', 200, 2, 'EN', NULL),"
        " ('E', 'Etoile', '2024-01-01', NULL, 'pro', 300, 3, 'fr', NULL),"
        " ('F', 'Fjord', '2024-01-01', NULL, 'pro', 800, 8, 'en', NULL),"
        " ('G', 'Gone', '2024-01-01', '2025-03-01', 'pro', 900, 9, 'en', "
        "NULL);"
        /* C rated a ticket 1/5 on 2025-03-05 */
        "INSERT INTO public.tickets (ticket_id, customer_id, created_at, "
        " resolved_at, subject, csat) VALUES "
        " ('T1', 'C', '2025-03-01', '2025-03-05', 'export broken', 1),"
        " ('T2', 'C', '2025-03-01', '2025-03-12', 'later rating', 1);"
        "INSERT INTO vigil.specialists (specialist_id, name, languages, "
        " skills, daily_capacity, active) VALUES "
        " ('s1', 'Sam', '{en}', '{retention}', 1, true),"
        " ('s2', 'Sue', '{en,fr}', '{}', 2, true),"
        " ('s3', 'Dirk', '{de}', '{retention}', 5, false)");
    scores(dsn, "2025-03-09",
           "A watch 0.15 61; C at_risk 0.3 45; E healthy 0.05 78; "
           "F healthy 0.05 78; G watch 0.15 61");
    scores(dsn, "2025-03-10",
           "A critical 0.6 23; B at_risk 0.3 45; C at_risk 0.3 45; "
           "E critical 0.7 16; F at_risk 0.4 37; G critical 0.6 23");

    static const check_case cases[] = {
        CHECK_CASE(day1_tasks_for_entered_tiers),
        CHECK_CASE(same_day_again_refreshes_never_duplicates),
        CHECK_CASE(lifecycle_from_the_command_line),
        CHECK_CASE(day2_unassigned_tasks_auto_close),
        CHECK_CASE(cooldown_after_done),
        CHECK_CASE(report_outcomes_per_playbook),
        CHECK_CASE(assignment_is_a_function_of_the_input),
        CHECK_CASE(leaving_specialist_gives_tasks_back),
        CHECK_CASE(config_mistakes_name_key_and_file),
    };
    int rc = check_run("db_outreach", cases, sizeof cases / sizeof cases[0]);
    remove(cfg_path);
    free(a_id);
    free(c_id);
    free(before);
    return rc;
}
