/* test_db_check.c — `vigil check` against a real PostgreSQL: nothing mapped,
 * the worked example of docs/MAPPING.md (docs/mapping-example.sql with
 * docs/vigil.sample.json) as a good mapping, then broken and thin copies of
 * it; the verdict, the messages that say what to do, and the exit status by
 * severity. */
#include <signal.h>
#include <sys/wait.h>

#include "check.h"
#include "cli.h"
#include "serve_helpers.h"
#include "testdb.h"

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (!s || fread(s, 1, (size_t)n, f) != (size_t)n)
        exit(1);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Does any finding's message contain every one of the texts? */
static int has_finding(json_t *rep, const char *a, const char *b)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rep, "findings"), i, f)
    {
        const char *m = json_string_value(json_object_get(f, "message"));
        if (m && strstr(m, a) && (!b || strstr(m, b)))
            return 1;
    }
    fprintf(stderr, "no finding with '%s'%s%s\n", a, b ? " and " : "",
            b ? b : "");
    return 0;
}

static const char *verdict(json_t *rep)
{
    return json_string_value(json_object_get(rep, "verdict"));
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

int main(void)
{
    const char *src = getenv("VIGIL_SRC");
    if (!src) {
        fprintf(stderr, "VIGIL_SRC is not set (ctest sets it)\n");
        return 1;
    }
    const char *dsn = testdb_fresh("vigil_test_check");
    char args[1024], path[512], cfg_bad[256];
    snprintf(cfg_bad, sizeof cfg_bad, "/tmp/vigil-test-check-%d.json",
             (int)getpid());

    /* Nothing mapped yet, no `vigil init` either: errors that say what to
     * create, exit 5. */
    cli_result *r = cli_run(dsn, "check --as-of 2026-06-01");
    CHECK_INT_EQ(r->status, 5);
    CHECK(strstr(r->out, "create a view public.customers with columns "
                         "customer_id text, name text, created_at "
                         "timestamptz") != NULL);
    CHECK(strstr(r->out, "verdict: not ready: 3 errors") != NULL);
    CHECK(strstr(r->err, "not ready") != NULL);

    /* The worked example: a product-analytics and a helpdesk schema mapped
     * with views, checked with the sample config. */
    snprintf(path, sizeof path, "%s/docs/mapping-example.sql", src);
    char *sql = read_text(path);
    testdb_exec(dsn, sql);
    free(sql);
    snprintf(args, sizeof args,
             "--config %s/docs/vigil.sample.json check --as-of 2026-06-01 "
             "--json",
             src);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *rep = cli_json(r);
    CHECK(rep != NULL);
    if (rep) {
        CHECK_STR_EQ(verdict(rep), "ready");
        CHECK_STR_EQ(json_string_value(json_object_get(rep, "schema")), "crm");
        json_t *rel = json_object_get(rep, "relations");
        json_t *cust = json_object_get(rel, "customers");
        CHECK_INT_EQ(json_integer_value(json_object_get(cust, "rows")), 400);
        CHECK_STR_EQ(json_string_value(json_object_get(cust, "kind")), "view");
        CHECK_STR_EQ(json_string_value(json_object_get(
                         json_object_get(rel, "tickets"), "to")),
                     "2026-05-31");
        CHECK_STR_EQ(json_string_value(json_object_get(rep, "latest_data")),
                     "2026-05-31");
        json_t *lab = json_object_get(rep, "labels");
        /* every fifth of 400 accounts cancels, on days spread over 300
         * days before 2026-06-01; train's span is the last 210 of them */
        CHECK(json_integer_value(
                  json_object_get(lab, "canceled_in_training_window")) >= 50);
        CHECK_INT_EQ(json_integer_value(json_object_get(rep, "errors")), 0);
        json_decref(rep);
    }
    snprintf(args, sizeof args,
             "--config %s/docs/vigil.sample.json check --as-of 2026-06-01",
             src);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "\nverdict: ready") != NULL);
    CHECK(strstr(r->out, "customers     view, 400 rows") != NULL);

    /* A date well after the data: a warning naming the latest data date,
     * exit 12. */
    snprintf(args, sizeof args,
             "--config %s/docs/vigil.sample.json check --as-of 2026-06-10 "
             "--json",
             src);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 12);
    rep = cli_json(r);
    CHECK(rep && !strcmp(verdict(rep), "ready_with_warnings"));
    CHECK(rep && has_finding(rep, "jobs for 2026-06-10 will be refused",
                             "is from 2026-05-31"));
    json_decref(rep);

    /* A broken mapping: mrr as text, tickets without csat, no usage_events
     * in the schema (there is one in crm), a required column missing. */
    testdb_exec(dsn,
                "CREATE SCHEMA crm_bad;"
                "CREATE VIEW crm_bad.customers AS SELECT customer_id, name, "
                " created_at, canceled_at, plan, mrr::text AS mrr, seats, "
                " language FROM crm.customers;"
                "CREATE VIEW crm_bad.tickets AS SELECT ticket_id, customer_id, "
                " created_at, first_response_at, resolved_at, status, "
                " priority, channel, subject, body, reopens, escalated "
                " FROM crm.tickets;");
    write_file(cfg_bad, "{\"source\": {\"schema\": \"crm_bad\"}}");
    snprintf(args, sizeof args, "--config %s check --as-of 2026-06-01 --json",
             cfg_bad);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    rep = cli_json(r);
    CHECK(rep != NULL);
    if (rep) {
        CHECK_STR_EQ(verdict(rep), "not_ready");
        CHECK(has_finding(rep, "crm_bad.tickets has no column csat",
                          "NULL::smallint AS csat"));
        CHECK(has_finding(rep, "crm_bad.customers.mrr is text",
                          "mrr::numeric AS mrr"));
        CHECK(has_finding(rep, "there is no relation crm_bad.usage_events",
                          "schema crm has a usage_events"));
        CHECK_INT_EQ(json_integer_value(json_object_get(rep, "errors")), 3);
        json_decref(rep);
    }

    /* A thin mapping: no revenue and no cancellations on record. */
    testdb_exec(dsn,
                "DROP VIEW crm_bad.customers;"
                "CREATE VIEW crm_bad.customers AS SELECT customer_id, "
                " name, created_at, NULL::timestamptz AS canceled_at, "
                " plan, NULL::numeric AS mrr, seats, language "
                " FROM crm.customers;"
                "CREATE VIEW crm_bad.usage_events AS SELECT * FROM "
                " crm.usage_events;"
                "DROP VIEW crm_bad.tickets;"
                "CREATE VIEW crm_bad.tickets AS SELECT * FROM crm.tickets");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 5);
    rep = cli_json(r);
    CHECK(rep && has_finding(rep,
                             "no customer has a canceled_at before "
                             "2026-06-01",
                             "no churn to learn from"));
    CHECK(rep &&
          has_finding(rep, "mrr is empty in every row", "task priority"));
    json_decref(rep);
    /* With cancellations back, the empty mrr alone is a warning: exit 12. */
    testdb_exec(dsn, "CREATE OR REPLACE VIEW crm_bad.customers AS SELECT "
                     " customer_id, name, created_at, canceled_at, plan, "
                     " NULL::numeric AS mrr, seats, language "
                     " FROM crm.customers");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 12);
    CHECK(strstr(r->err, "ready with warnings") != NULL);

    /* serve checks the playbooks' columns at start: a misspelt
     * date_within column stops it at once, naming the key. */
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    write_file(cfg_bad,
               "{\"source\": {\"schema\": \"crm\"}, \"http\": {\"listen\": "
               "\"127.0.0.1:0\"}, \"schedule\": {\"daily\": null, "
               "\"topics\": null, \"train\": null}, \"outreach\": "
               "{\"playbooks\": [{\"name\": \"renewal\", \"trigger\": "
               "{\"type\": \"date_within\", \"column\": \"renewl_date\", "
               "\"days\": 45}, \"task\": {\"title\": \"Renewal\"}}]}}");
    snprintf(args, sizeof args, "--config %s serve", cfg_bad);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "outreach.playbooks[0].trigger.column") != NULL);
    CHECK(strstr(r->err, "renewl_date") != NULL);

    /* ... and on SIGHUP: the misspelt column is rejected, the running
     * configuration kept. */
    char log[128], cfg_good[128];
    snprintf(log, sizeof log, "/tmp/vigil-test-check-%d.log", (int)getpid());
    snprintf(cfg_good, sizeof cfg_good, "/tmp/vigil-test-check-%d-ok.json",
             (int)getpid());
    write_file(cfg_good,
               "{\"source\": {\"schema\": \"crm\"}, \"http\": {\"listen\": "
               "\"127.0.0.1:0\"}, \"schedule\": {\"daily\": null, "
               "\"topics\": null, \"train\": null}, \"outreach\": "
               "{\"playbooks\": [{\"name\": \"renewal\", \"trigger\": "
               "{\"type\": \"date_within\", \"column\": \"renewal_date\", "
               "\"days\": 45}, \"task\": {\"title\": \"Renewal\"}}]}}");
    pid_t sv = sv_start(dsn, cfg_good, log, NULL);
    CHECK(sv_wait_log(log, "vigil serve started", 60));
    /* the same file, now with the misspelt column */
    char *good = read_text(cfg_good), *bad = read_text(cfg_bad);
    write_file(cfg_good, bad);
    kill(sv, SIGHUP);
    CHECK(sv_wait_log(log, "configuration rejected", 30));
    CHECK(strstr(sv_log(log), "renewl_date") != NULL);
    CHECK(waitpid(sv, NULL, WNOHANG) == 0); /* still serving */
    /* and a good file again is taken */
    write_file(cfg_good, good);
    kill(sv, SIGHUP);
    CHECK(sv_wait_log(log, "configuration reloaded", 30));
    CHECK_INT_EQ(sv_stop(sv, SIGTERM, 30), 0);
    free(good);
    free(bad);
    remove(cfg_good);
    remove(log);

    remove(cfg_bad);
    return check_done("db_check");
}
