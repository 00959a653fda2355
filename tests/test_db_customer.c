/* test_db_customer.c — what a specialist reads and does, through the real
 * binary on a small demo company: reasons stored by `score` are worded for
 * people (no raw column names, no fractions of days, no "better than
 * typical" risks, a theme and a next step each); `vigil customer`; the
 * specialists commands; tasks list/show/claim/report with a total, CSV, one
 * owner per customer, a warning across languages and saves confirmed a
 * horizon later. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2025-06-01"
#define D_M7 "2025-05-25"
#define D_M14 "2025-05-18"

static json_int_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *dsn;

static const char *q(const char *sql)
{
    return testdb_value(dsn, sql);
}

static void check_reasons(void)
{
    /* every stored reason carries the new fields */
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE NOT (d ? "
                   "'theme' AND d ? 'kind' AND d ? 'direction' AND d ? "
                   "'action' AND d ? 'feature' AND d ? 'effect')"),
                 "0");
    CHECK(atoi(q("SELECT count(*) FROM vigil.scores s, "
                 "jsonb_array_elements(s.drivers) d")) > 100);
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE d->>'theme' "
                   "NOT IN ('adoption', 'support_friction', "
                   "'satisfaction', 'onboarding', 'commercial')"),
                 "0");
    /* only warning signs or facts: never "better than typical" */
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE "
                   "d->>'direction' NOT IN ('worse', 'fact')"),
                 "0");
    /* words, not column names; whole units, not "0.45 days" */
    CHECK_STR_EQ(q("SELECT coalesce(string_agg(DISTINCT d->>'text', ' | "
                   "'), '') FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE d->>'text' "
                   "LIKE '%\\_%' OR d->>'text' ~ "
                   "'[0-9]\\.[0-9]+ (days|hours)'"),
                 "");
    /* profile facts are marked apart from behaviour */
    CHECK(atoi(q("SELECT count(*) FROM vigil.scores s, "
                 "jsonb_array_elements(s.drivers) d WHERE d->>'kind' = "
                 "'behaviour'")) > 0);
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.scores s, "
                   "jsonb_array_elements(s.drivers) d WHERE d->>'kind' "
                   "= 'behaviour' AND (d->>'feature' LIKE 'attr.%' OR "
                   "d->>'feature' LIKE 'account.%')"),
                 "0");
}

static void check_customer(void)
{
    char id[64], args[256];
    snprintf(id, sizeof id, "%s",
             q("SELECT customer_id FROM vigil.scores WHERE as_of = '" D
               "' ORDER BY churn_risk DESC, customer_id LIMIT 1"));
    snprintf(args, sizeof args, "customer %s --as-of " D " --json", id);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    json_t *scores = json_object_get(j, "scores");
    CHECK_INT_EQ(json_array_size(scores), 2); /* D and D-7, newest first */
    json_t *now = json_array_get(scores, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(now, "as_of")), D);
    json_t *ch = json_object_get(now, "changes");
    CHECK(ch && strstr(json_string_value(json_object_get(ch, "text")),
                       "since " D_M7));
    CHECK(json_array_size(json_object_get(now, "themes")) >= 1);
    CHECK(json_object_get(json_array_get(scores, 1), "changes") == NULL);
    CHECK(json_is_object(json_object_get(j, "customer")));
    CHECK(json_is_array(json_object_get(j, "tickets")));
    CHECK(json_is_array(json_object_get(j, "tasks")));
    json_decref(j);
    /* as of a week earlier: nothing from D */
    snprintf(args, sizeof args, "customer %s --as-of " D_M7 " --json", id);
    r = cli_run(dsn, args);
    j = cli_json(r);
    CHECK_INT_EQ(json_array_size(json_object_get(j, "scores")), 1);
    json_decref(j);
    snprintf(args, sizeof args, "customer %s --as-of " D, id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "next step:") && strstr(r->out, "score history"));
    r = cli_run(dsn, "customer NO-SUCH-ID");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "no customer 'NO-SUCH-ID'") != NULL);
    r = cli_run(dsn, "customer --help");
    CHECK(r->status == 0 && strstr(r->out, "--as-of"));
    /* before the customer began: not "canceled", which it never was */
    snprintf(args, sizeof args, "customer %s --as-of 2000-01-01", id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "which is after this date") != NULL);
    CHECK(strstr(r->out, "canceled") == NULL);
}

static void check_specialists(void)
{
    cli_result *r = cli_run(dsn, "specialists add ana --name Ana --email "
                                 "ana@example.com --languages EN,es "
                                 "--capacity 2 --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK_STR_EQ(
        json_string_value(json_array_get(json_object_get(j, "languages"), 0)),
        "en");
    CHECK_INT_EQ(jint(j, "daily_capacity"), 2);
    json_decref(j);
    r = cli_run(dsn, "specialists add ana --name A --email a@b --languages "
                     "en");
    CHECK(r->status == 2 && strstr(r->err, "already exists"));
    r = cli_run(dsn, "specialists add bo --name Bo --email nope --languages "
                     "en");
    CHECK(r->status == 2 && strstr(r->err, "--email"));
    r = cli_run(dsn, "specialists add bo --name Bo --email bo@x --languages "
                     "'en,,de'");
    CHECK(r->status == 2 && strstr(r->err, "--languages"));
    r = cli_run(dsn, "specialists add bo --name Bo --email bo@example.com "
                     "--languages de --skills billing,api");
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "specialists update bo --capacity 50 --json");
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "daily_capacity"), 50);
    json_decref(j);
    r = cli_run(dsn, "specialists update nobody --capacity 5");
    CHECK(r->status == 2 && strstr(r->err, "no specialist 'nobody'"));
    r = cli_run(dsn, "specialists list --json");
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "count"), 2);
    json_decref(j);
}

/* three tasks of three customers nobody else works on, made for the test
 * so it does not depend on how many tasks the model's scores trigger */
#define PICK                                                                   \
    "SELECT task_id FROM vigil.outreach_tasks WHERE playbook = 'manual' "      \
    "ORDER BY task_id"

static void manual_tasks(void)
{
    testdb_exec(dsn,
                "INSERT INTO vigil.outreach_tasks (customer_id, created_at, "
                " due_at, priority, playbook, reason, status, dedupe_key, "
                " as_of, last_as_of, mrr) "
                "SELECT customer_id, '" D "', '" D "'::date + 3, 1, 'manual', "
                " '{}', 'open', 'manual:' || customer_id, '" D "', '" D "', "
                " 100 FROM public.customers c WHERE NOT EXISTS (SELECT 1 FROM "
                " vigil.outreach_tasks t WHERE t.customer_id = c.customer_id) "
                " AND c.created_at < '" D "' ORDER BY customer_id LIMIT 3");
}

static void task_list_and_show(void)
{
    cli_result *r = cli_run(dsn, "--quiet outreach --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    long total = atol(q("SELECT count(*) FROM vigil.outreach_tasks "
                        "WHERE status IN ('open', 'assigned')"));
    CHECK(total >= 3);
    /* one owner per customer */
    CHECK_STR_EQ(q("SELECT count(*) FROM (SELECT customer_id FROM "
                   "vigil.outreach_tasks WHERE status = 'assigned' "
                   "GROUP BY 1 HAVING count(DISTINCT assignee) > 1) x"),
                 "0");
    /* a total and the "more" notice */
    r = cli_run(dsn, "tasks list --limit 1 --json");
    json_t *j = cli_json(r);
    CHECK_INT_EQ(jint(j, "count"), 1);
    CHECK_INT_EQ(jint(j, "total"), total);
    CHECK(json_is_true(json_object_get(j, "more")));
    json_t *t0 = json_array_get(json_object_get(j, "tasks"), 0);
    CHECK(json_is_string(json_object_get(t0, "customer_name")));
    CHECK(json_is_number(json_object_get(t0, "mrr")));
    CHECK(json_is_string(json_object_get(t0, "due_at")));
    json_decref(j);
    r = cli_run(dsn, "tasks list --limit 1");
    CHECK(strstr(r->out, "more not shown") != NULL);
    r = cli_run(dsn, "tasks list --format csv");
    CHECK(strncmp(r->out,
                  "task_id,status,assignee,customer_id,customer_name,"
                  "mrr,playbook",
                  50) == 0);
    /* a task whose customer has another active task shows it */
    char id[32], args[256];
    snprintf(id, sizeof id, "%s",
             q("SELECT min(task_id) FROM vigil.outreach_tasks t WHERE "
               "(SELECT count(*) FROM vigil.outreach_tasks o WHERE "
               "o.customer_id = t.customer_id) > 1"));
    if (*id) {
        snprintf(args, sizeof args, "tasks show %s --json", id);
        r = cli_run(dsn, args);
        j = cli_json(r);
        CHECK(json_array_size(json_object_get(j, "other_active_tasks")) >= 1);
        CHECK(json_is_object(json_object_get(j, "reason")));
        json_decref(j);
    }
    r = cli_run(dsn, "tasks show 999999");
    CHECK(r->status == 2 && strstr(r->err, "no task 999999"));
}

static void claim_across_languages_warns(void)
{
    cli_result *r;
    char id[32], args[256];
    /* claiming across languages: kept, with a warning naming both */
    testdb_exec(dsn, "UPDATE vigil.outreach_tasks SET reason = reason || "
                     "'{\"customer\": {\"language\": \"fr\"}}' WHERE task_id "
                     "= (SELECT min(task_id) FROM vigil.outreach_tasks)");
    snprintf(id, sizeof id, "%s",
             q("SELECT min(task_id) FROM vigil.outreach_tasks"));
    snprintf(args, sizeof args, "tasks claim %s --specialist bo --force", id);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->err, "warning") && strstr(r->err, "'fr'") &&
          strstr(r->err, "de"));
}

static void saves_confirmed_a_horizon_later(void)
{
    cli_result *r;
    json_t *j;
    char args[256];
    /* saves: claimed vs confirmed a horizon (30 days) later */
    manual_tasks();
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%s", q(PICK " LIMIT 1"));
    snprintf(b, sizeof b, "%s", q(PICK " LIMIT 1 OFFSET 1"));
    snprintf(c, sizeof c, "%s", q(PICK " LIMIT 1 OFFSET 2"));
    snprintf(args, sizeof args, "tasks done %s --outcome saved --at 2025-06-02",
             a);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    snprintf(args, sizeof args, "tasks done %s --outcome saved --at 2025-06-02",
             b);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    snprintf(args, sizeof args, "tasks done %s --outcome saved --at 2025-07-20",
             c);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    char sql[512];
    snprintf(sql, sizeof sql,
             "UPDATE public.customers SET canceled_at = NULL WHERE "
             "customer_id IN (SELECT customer_id FROM vigil.outreach_tasks "
             "WHERE task_id IN (%s, %s)); UPDATE public.customers SET "
             "canceled_at = '2025-06-12' WHERE customer_id = (SELECT "
             "customer_id FROM vigil.outreach_tasks WHERE task_id = %s)",
             a, c, b);
    testdb_exec(dsn, sql);
    r = cli_run(dsn, "tasks report --as-of 2025-08-01 --json");
    j = cli_json(r);
    long claimed = 0, confirmed = 0, lost = 0, pending = 0;
    const char *name;
    json_t *v;
    json_object_foreach(j, name, v)
    {
        claimed += (long)jint(v, "saved_claimed");
        confirmed += (long)jint(v, "saved_confirmed");
        lost += (long)jint(v, "saved_lost");
        pending += (long)jint(v, "saved_pending");
    }
    CHECK_INT_EQ(claimed, 3);
    CHECK_INT_EQ(confirmed, 1);
    CHECK_INT_EQ(lost, 1);
    CHECK_INT_EQ(pending, 1);
    json_decref(j);
    r = cli_run(dsn, "tasks report --as-of 2025-08-01");
    CHECK(strstr(r->out, "saved as claimed by specialists: 3") &&
          strstr(r->out, "confirmed (still a customer 30 days"));
}

static void deactivating_releases_tasks(void)
{
    cli_result *r;
    json_t *j;
    /* deactivating gives the person's tasks back to the queue */
    long held = atol(q("SELECT count(*) FROM vigil.outreach_tasks WHERE "
                       "assignee = 'bo' AND status = 'assigned'"));
    CHECK(held >= 1);
    r = cli_run(dsn, "specialists deactivate bo --json");
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "released_tasks"), held);
    CHECK(json_is_false(json_object_get(j, "active")));
    json_decref(j);
    CHECK_STR_EQ(q("SELECT count(*) FROM vigil.outreach_tasks WHERE "
                   "assignee = 'bo' AND status = 'assigned'"),
                 "0");
    r = cli_run(dsn, "specialists list --json");
    j = cli_json(r);
    CHECK_INT_EQ(jint(j, "count"), 1);
    json_decref(j);
}

int main(void)
{
    dsn = testdb_fresh("vt_customer");
    cli_result *r = cli_run(dsn, "--quiet init");
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet demo --customers 400 --seed 5 --end " D);
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet --log-level error train --as-of " D_M14);
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet score --as-of " D_M7);
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet score --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    static const check_case cases[] = {
        CHECK_CASE(check_reasons),
        CHECK_CASE(check_customer),
        CHECK_CASE(check_specialists),
        CHECK_CASE(task_list_and_show),
        CHECK_CASE(claim_across_languages_warns),
        CHECK_CASE(saves_confirmed_a_horizon_later),
        CHECK_CASE(deactivating_releases_tasks),
    };
    return check_run("db_customer", cases, sizeof cases / sizeof cases[0]);
}
