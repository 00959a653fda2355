/* test_db_demo.c — the demo generator on a real PostgreSQL: sizes, determinism,
 * churn, emerging issue, dirty rows against their truth, and the table guard.
 */
#include "check.h"
#include "cli.h"
#include "testdb.h"

#include "core/db.h"
#include "demo/demo.h"

#define S "demo_test"
#define END "'2025-06-01'::timestamptz"
#define END_DAY 20240 /* 2025-06-01 */
#define N 1000

static long qlong(const char *dsn, const char *sql)
{
    return atol(testdb_value(dsn, sql));
}

static double qdouble(const char *dsn, const char *sql)
{
    return atof(testdb_value(dsn, sql));
}

/* One fingerprint over every table the generator writes, in a fixed order. */
static void fingerprint(const char *dsn, char out[200])
{
    static const char *const q[] = {
        "SELECT md5(string_agg(t::text, '|' ORDER BY customer_id)) FROM " S
        ".customers t",
        "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM " S
        ".usage_events t",
        "SELECT md5(string_agg(t::text, '|' ORDER BY ticket_id)) FROM " S
        ".tickets t",
        "SELECT md5(string_agg(t::text, '|' ORDER BY customer_id)) FROM "
        "vigil_demo_truth.customer_truth t",
        "SELECT md5(string_agg(t::text, '|' ORDER BY ticket_id)) FROM "
        "vigil_demo_truth.ticket_topics t",
        "SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM "
        "vigil_demo_truth.dirty_rows t"};
    out[0] = '\0';
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        size_t n = strlen(out);
        snprintf(out + n, 200 - n, "%.32s", testdb_value(dsn, q[i]));
    }
}

static vg_code generate(db_conn *db, unsigned long seed, demo_stats *st)
{
    demo_opts o;
    demo_opts_default(&o);
    o.schema = S;
    o.customers = N;
    o.seed = seed;
    o.end_day = END_DAY;
    o.quiet = 1;
    vg_error err = {0};
    vg_code rc = demo_generate(db, &o, st, &err);
    if (rc != VG_OK)
        fprintf(stderr, "demo_generate: %s\n", err.msg);
    return rc;
}

/* The recorded count of a dirty kind. */
static long dirty(const char *dsn, const char *tbl, const char *kind)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count FROM vigil_demo_truth.dirty_rows WHERE tbl = '%s' "
             "AND kind = '%s'",
             tbl, kind);
    return qlong(dsn, sql);
}

static void check_sizes(const char *dsn, const demo_stats *st)
{
    CHECK_INT_EQ(st->customers, N);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers"), N);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".usage_events"),
                 st->events);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets"), st->tickets);
    /* ~100 events and ~2 tickets per customer over 450 days */
    CHECK(st->events > 60 * N && st->events < 160 * N);
    CHECK(st->tickets > 1.4 * N && st->tickets < 3 * N);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S
                            ".customers WHERE canceled_at IS NOT NULL"),
                 st->churned);
    CHECK_INT_EQ(
        qlong(dsn, "SELECT count(DISTINCT ticket_id) FROM " S ".tickets"),
        st->tickets);
    /* every ticket has its true topic, and there are 20+ of them */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets JOIN "
                            "vigil_demo_truth.ticket_topics USING (ticket_id)"),
                 st->tickets);
    CHECK(qlong(dsn, "SELECT count(DISTINCT topic) FROM "
                     "vigil_demo_truth.ticket_topics") >= 20);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM "
                            "vigil_demo_truth.customer_truth"),
                 N);
}

static void check_customers(const char *dsn)
{
    double en =
        qdouble(dsn, "SELECT avg((language = 'en')::int) FROM " S ".customers");
    double de =
        qdouble(dsn, "SELECT avg((language = 'de')::int) FROM " S ".customers");
    CHECK(en > 0.48 && en < 0.62);
    CHECK(de > 0.15 && de < 0.25);
    CHECK_INT_EQ(
        qlong(dsn, "SELECT count(DISTINCT language) FROM " S ".customers"), 4);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers WHERE "
                            "language = 'de' AND region <> 'EMEA'"),
                 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers WHERE "
                            "plan NOT IN ('starter','team','business',"
                            "'enterprise') OR mrr <= 0 OR mrr > 20000 OR "
                            "seats < 1 OR employee_count < seats"),
                 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers WHERE "
                            "plan = 'enterprise' AND NOT is_enterprise"),
                 0);
    /* ~40% signed up before the 450-day window, none after the end */
    double before =
        qdouble(dsn, "SELECT avg((created_at < " END
                     " - interval '450 days')::int) FROM " S ".customers");
    CHECK(before > 0.33 && before < 0.47);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers WHERE "
                            "created_at >= " END " OR canceled_at >= " END
                            " OR canceled_at <= created_at OR renewal_date < "
                            "date " END),
                 0);
}

static void check_churn(const char *dsn)
{
    /* churned per active customer-month within the window: 2-3% (customers
     * who left before the window are history, not part of the rate) */
    double monthly = qdouble(
        dsn, "WITH x AS (SELECT canceled_at, greatest(created_at, " END
             " - interval '450 days') s, coalesce(canceled_at, " END
             ") e FROM " S ".customers) "
             "SELECT count(canceled_at) / (sum(extract(epoch FROM e - s)) / "
             "86400 / 30.44) FROM x WHERE e > s");
    fprintf(stderr, "monthly churn %.4f\n", monthly);
    CHECK(monthly > 0.015 && monthly < 0.04);
    /* the truth agrees with the source, and every churn has a cause */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers c JOIN "
                            "vigil_demo_truth.customer_truth t USING "
                            "(customer_id) WHERE t.churned <> (c.canceled_at "
                            "IS NOT NULL) OR (t.churned AND t.churn_cause IS "
                            "NULL)"),
                 0);
    /* predictable: usage in the last 30 days before cancelling is well below
     * usage two to three months earlier */
    double ratio = qdouble(
        dsn, "WITH c AS (SELECT customer_id, canceled_at FROM " S
             ".customers WHERE canceled_at > greatest(created_at, " END
             " - interval '450 days') + interval '100 days') "
             "SELECT sum((e.occurred_at >= c.canceled_at - interval '30 "
             "days')::int)::float8 / nullif(sum((e.occurred_at < "
             "c.canceled_at - interval '60 days' AND e.occurred_at >= "
             "c.canceled_at - interval '90 days')::int), 0) "
             "FROM c JOIN " S ".usage_events e USING (customer_id)");
    fprintf(stderr, "usage before churn / earlier usage %.3f\n", ratio);
    CHECK(ratio > 0.05 && ratio < 0.7);
}

static void check_lifetimes(const char *dsn)
{
    /* clean events and tickets lie within the customer's life and the window
     * (future-dated rows are dirty and excluded; NULL times never compare) */
    CHECK_INT_EQ(qlong(dsn,
                       "SELECT count(*) FROM " S ".usage_events e JOIN " S
                       ".customers c USING (customer_id) WHERE "
                       "e.occurred_at < " END " AND (e.occurred_at <= "
                       "c.created_at OR e.occurred_at >= c.canceled_at "
                       "OR e.occurred_at < " END " - interval '450 days')"),
                 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets t JOIN " S
                            ".customers c USING (customer_id) WHERE "
                            "t.created_at <= c.created_at OR t.created_at >= "
                            "c.canceled_at OR t.created_at >= " END),
                 0);
    /* weekends are quiet in B2B */
    double wk =
        qdouble(dsn, "SELECT sum((extract(isodow FROM occurred_at) > "
                     "5)::int)::float8 / sum((extract(isodow FROM "
                     "occurred_at) <= 5)::int) FROM " S ".usage_events");
    CHECK(wk > 0.05 && wk < 0.25);
    /* ticket status agrees with resolved_at as of the end */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE "
                            "(resolved_at IS NULL) <> (status IN ('open', "
                            "'pending')) OR resolved_at >= " END
                            " OR first_response_at >= " END),
                 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".usage_events WHERE "
                            "event_type = 'api_call' AND quantity IS NULL"),
                 0);
}

static void check_emerging(const char *dsn)
{
    const char *onset = "(SELECT onset FROM vigil_demo_truth.emerging_issues "
                        "WHERE topic = 'csv_export_broken')";
    char sql[1024];
    CHECK_STR_EQ(testdb_value(dsn, "SELECT onset FROM "
                                   "vigil_demo_truth.emerging_issues WHERE "
                                   "topic = 'csv_export_broken'"),
                 "2025-05-11");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM " S ".tickets t JOIN "
             "vigil_demo_truth.ticket_topics USING (ticket_id) WHERE topic = "
             "'csv_export_broken' AND t.created_at < %s",
             onset);
    CHECK_INT_EQ(qlong(dsn, sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM " S ".tickets t JOIN "
             "vigil_demo_truth.ticket_topics USING (ticket_id) WHERE topic = "
             "'csv_export_broken' AND t.created_at < %s + 10",
             onset);
    long first = qlong(dsn, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM " S ".tickets t JOIN "
             "vigil_demo_truth.ticket_topics USING (ticket_id) WHERE topic = "
             "'csv_export_broken' AND t.created_at >= %s + 11",
             onset);
    long last = qlong(dsn, sql);
    fprintf(stderr,
            "csv_export_broken: %ld tickets in the first 10 days, "
            "%ld in the last 10\n",
            first, last);
    CHECK(last >= 5 && last > first);
    /* mostly German customers */
    double de = qdouble(dsn, "SELECT avg((c.language = 'de')::int) FROM " S
                             ".tickets t JOIN vigil_demo_truth.ticket_topics "
                             "USING (ticket_id) JOIN " S
                             ".customers c USING (customer_id) WHERE topic = "
                             "'csv_export_broken'");
    CHECK(de > 0.5);
    /* the SSO outage stays inside its ten days */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets t JOIN "
                            "vigil_demo_truth.ticket_topics USING (ticket_id) "
                            "JOIN vigil_demo_truth.emerging_issues i USING "
                            "(topic) WHERE t.created_at < i.onset OR "
                            "t.created_at >= i.ends"),
                 0);
    CHECK(qlong(dsn, "SELECT count(*) FROM vigil_demo_truth.ticket_topics "
                     "WHERE topic = 'sso_outage'") >= 3);
}

static void check_dirty(const char *dsn, const demo_stats *st)
{
    const char *ev = S ".usage_events";
    char sql[512];
    long total = qlong(dsn, "SELECT sum(count) FROM "
                            "vigil_demo_truth.dirty_rows WHERE tbl = "
                            "'usage_events'");
    CHECK_INT_EQ(total, st->dirty_events);
    CHECK_INT_EQ(qlong(dsn, "SELECT sum(count) FROM "
                            "vigil_demo_truth.dirty_rows WHERE tbl = "
                            "'tickets'"),
                 st->dirty_tickets);
    CHECK(qlong(dsn, "SELECT min(count) FROM vigil_demo_truth.dirty_rows "
                     "WHERE kind <> 'huge_body'") >= 2);

    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE customer_id IS "
             "NULL",
             ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "null_customer_id"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s e WHERE customer_id IS NOT NULL AND NOT "
             "EXISTS (SELECT 1 FROM " S ".customers c WHERE c.customer_id = "
             "e.customer_id)",
             ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "unknown_customer_id"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE occurred_at IS "
             "NULL",
             ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "null_occurred_at"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE event_type IS "
             "NULL",
             ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "null_event_type"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE quantity < 0", ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "negative_quantity"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE occurred_at >= " END, ev);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "usage_events", "future_timestamp"));
    /* identical rows: the injected copies, plus the rare coincidence of two
     * dirty rows that lost the same fields */
    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM %s "
             "GROUP BY customer_id, occurred_at, event_type, user_id, "
             "quantity HAVING count(*) > 1) d",
             ev);
    long dups = qlong(dsn, sql),
         want = dirty(dsn, "usage_events", "exact_duplicate");
    CHECK(dups >= want && dups <= want + 3 + want / 10);

    const char *tk = S ".tickets";
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE customer_id IS "
             "NULL",
             tk);
    CHECK_INT_EQ(qlong(dsn, sql), dirty(dsn, "tickets", "null_customer_id"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s t WHERE customer_id IS NOT NULL AND NOT "
             "EXISTS (SELECT 1 FROM " S ".customers c WHERE c.customer_id = "
             "t.customer_id)",
             tk);
    CHECK_INT_EQ(qlong(dsn, sql), dirty(dsn, "tickets", "unknown_customer_id"));
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE body = ''", tk);
    CHECK_INT_EQ(qlong(dsn, sql), dirty(dsn, "tickets", "empty_body"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE csat NOT BETWEEN "
             "1 AND 5",
             tk);
    CHECK_INT_EQ(qlong(dsn, sql), dirty(dsn, "tickets", "csat_out_of_range"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE resolved_at < "
             "created_at",
             tk);
    CHECK_INT_EQ(qlong(dsn, sql),
                 dirty(dsn, "tickets", "resolved_before_created"));
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s WHERE "
             "octet_length(body) > 1000000",
             tk);
    CHECK_INT_EQ(qlong(dsn, sql), 2);
    CHECK_INT_EQ(dirty(dsn, "tickets", "huge_body"), 2);
    snprintf(sql, sizeof sql,
             "SELECT min(octet_length(body)) FROM %s WHERE "
             "octet_length(body) > 1000000",
             tk);
    long huge = qlong(dsn, sql);
    CHECK(huge >= 2000000 && huge <= 6000000);
}

static void check_text(const char *dsn)
{
    /* the customer's language mostly, some English anyway */
    double own = qdouble(dsn, "SELECT avg((c.language = tt.language)::int) "
                              "FROM " S ".tickets t JOIN " S
                              ".customers c USING (customer_id) JOIN "
                              "vigil_demo_truth.ticket_topics tt USING "
                              "(ticket_id) WHERE c.language <> 'en'");
    CHECK(own > 0.7 && own < 0.95);
    CHECK(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE body LIKE "
                     "'<html>%'") > 0);
    CHECK(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE body LIKE "
                     "'%wrote:%' OR body LIKE '%schrieb%'") > 0);
    CHECK(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE body ~ "
                     "'INV-[0-9]{5}'") > 0);
    CHECK(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE body LIKE "
                     "'%Mit freundlichen Grüßen%'") > 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".tickets WHERE "
                            "subject IS NULL OR subject = '' OR body IS NULL "
                            "OR body ~ '\\{[a-z]+\\}'"),
                 0);
}

static void check_guard(db_conn *db, const char *dsn)
{
    testdb_exec(dsn, "CREATE SCHEMA crm; CREATE TABLE crm.customers (id int);"
                     "INSERT INTO crm.customers VALUES (1)");
    demo_opts o;
    demo_opts_default(&o);
    o.schema = "crm";
    o.customers = 10;
    o.quiet = 1;
    vg_error err = {0};
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_EUSAGE);
    CHECK(strstr(err.msg, "refusing") != NULL);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM crm.customers"), 1);
    o.schema = S;
    o.customers = 0;
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_EUSAGE);
    o.customers = 10;
    o.schema = "vigil_demo_truth";
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_EUSAGE);
    o.schema = S;
    o.end_day = 3700; /* 1980-02-18: ten years of history reach before 1970 */
    o.history_days = 3650;
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_EUSAGE);
    /* a failed run leaves the previous demo in place */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers"), N);
    /* the command refuses a bad --world before it connects: with no
     * database to reach, the error is the world's, not the connection's */
    cli_result *r = cli_run("host=/nonexistent-vigil-socket dbname=none",
                            "demo --world nope --customers 10");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "unknown world 'nope'") != NULL);
    CHECK(strstr(r->err, "connect") == NULL);
    /* ... and so a bad --issue, or two issues of one name */
    r = cli_run("host=/nonexistent-vigil-socket dbname=none",
                "demo --issue name=a,days=1.5");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "days must be a whole number") != NULL);
    r = cli_run("host=/nonexistent-vigil-socket dbname=none",
                "demo --issue name=a --issue name=a");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "two injected issues are named 'a'") != NULL);
}

/* Injected issues: a German-only new issue in its own words, a spike of an
 * existing topic, no planted issues, a two-language company; the truth
 * matches the tickets, and the same options give the same tables. */
static void check_injected(db_conn *db, const char *dsn)
{
    static const char *const specs[] = {
        "name=kiosk,onset=-40,shape=ramp,days=20,size=40,langs=de",
        "name=bills,spike=billing_invoice,factor=3,onset=-45,days=30"};
    demo_opts o;
    demo_opts_default(&o);
    o.schema = S;
    o.customers = N;
    o.seed = 7;
    o.end_day = END_DAY;
    o.quiet = 1;
    o.issue_specs = specs;
    o.n_issue_specs = 2;
    o.no_planted = 1;
    o.lang_weight[0] = o.lang_weight[1] = 1; /* en and de only */
    vg_error err = {0};
    char fp1[200], fp2[200];
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_OK);
    fingerprint(dsn, fp1);
    CHECK_INT_EQ(demo_generate(db, &o, NULL, &err), VG_OK);
    fingerprint(dsn, fp2);
    CHECK_STR_EQ(fp1, fp2);

    CHECK_STR_EQ(testdb_value(dsn, "SELECT string_agg(topic || ':' || kind || "
                                   "':' || shape || ':' || languages, ' ' "
                                   "ORDER BY topic) FROM "
                                   "vigil_demo_truth.emerging_issues"),
                 "bills:spike:step:en,de,fr,es kiosk:new:ramp:de");
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM vigil_demo_truth."
                            "ticket_topics WHERE topic IN "
                            "('csv_export_broken', 'sso_outage')"),
                 0);
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM " S ".customers WHERE "
                            "language NOT IN ('en', 'de')"),
                 0);
    double de =
        qdouble(dsn, "SELECT avg((language = 'de')::int) FROM " S ".customers");
    CHECK(de > 0.44 && de < 0.56);
    /* the recorded counts are the tickets' */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM vigil_demo_truth."
                            "emerging_issues e WHERE tickets = (SELECT "
                            "count(*) FROM vigil_demo_truth.ticket_topics g "
                            "WHERE g.topic = e.topic) AND customers = (SELECT "
                            "count(DISTINCT t.customer_id) FROM " S
                            ".tickets t JOIN vigil_demo_truth.ticket_topics g "
                            "USING (ticket_id) WHERE g.topic = e.topic)"),
                 2);
    long kiosk = qlong(dsn, "SELECT tickets FROM vigil_demo_truth."
                            "emerging_issues WHERE topic = 'kiosk'");
    CHECK(kiosk >= 20 && kiosk <= 60);
    /* German only, inside its days, and in words of its own: the product
     * name of the description is in (almost) every one of its tickets and
     * in no other ticket */
    CHECK_INT_EQ(qlong(dsn, "SELECT count(*) FROM vigil_demo_truth."
                            "ticket_topics g JOIN " S
                            ".tickets t USING (ticket_id), vigil_demo_truth."
                            "emerging_issues e WHERE g.topic = 'kiosk' AND "
                            "e.topic = 'kiosk' AND (g.language <> 'de' OR "
                            "t.created_at < e.onset OR t.created_at >= e.ends "
                            "OR t.created_at >= " END ")"),
                 0);
    const char *feat = "(SELECT substring(description FROM ' in ([A-Za-z]+) "
                       "[(]') FROM vigil_demo_truth.emerging_issues WHERE "
                       "topic = 'kiosk')";
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE g.topic = 'kiosk') || ' ' || "
             "count(*) FILTER (WHERE g.topic <> 'kiosk') FROM " S
             ".tickets t JOIN vigil_demo_truth.ticket_topics g USING "
             "(ticket_id) WHERE strpos(t.subject || ' ' || t.body, %s) > 0",
             feat);
    long with = 0, others = -1;
    sscanf(testdb_value(dsn, sql), "%ld %ld", &with, &others);
    CHECK(with >= kiosk * 8 / 10);
    CHECK_INT_EQ(others, 0);
    /* the spike: billing tickets in its 30 days, about 3x the same days
     * before (step shape, factor 3), from billing's own phrasebook */
    double ratio = qdouble(
        dsn, "SELECT count(*) FILTER (WHERE t.created_at >= " END
             " - interval '45 days' AND t.created_at < " END
             " - interval '15 days')::float8 / nullif(count(*) FILTER (WHERE "
             "t.created_at >= " END " - interval '105 days' AND t.created_at "
             "< " END " - interval '45 days'), 0) * 2 FROM " S
             ".tickets t JOIN vigil_demo_truth.ticket_topics g USING "
             "(ticket_id) WHERE g.topic IN ('billing_invoice', 'bills')");
    fprintf(stderr, "demo: kiosk %ld tickets; billing x%.2f in the spike\n",
            kiosk, ratio);
    CHECK(ratio > 2.0 && ratio < 4.5);
    CHECK(qlong(dsn, "SELECT count(*) FROM " S ".tickets t JOIN "
                     "vigil_demo_truth.ticket_topics g USING (ticket_id) "
                     "WHERE g.topic = 'bills' AND (t.subject ILIKE '%invoice%' "
                     "OR t.subject ILIKE '%rechnung%' OR t.subject ILIKE "
                     "'%factur%' OR t.subject ILIKE '%amount%' OR t.subject "
                     "ILIKE '%betrag%' OR t.subject ILIKE '%VAT%' OR "
                     "t.subject ILIKE '%USt%' OR t.subject ILIKE '%montant%' "
                     "OR t.subject ILIKE '%importe%' OR t.subject ILIKE "
                     "'%NIF%' OR t.subject ILIKE '%TVA%')") >
          qlong(dsn, "SELECT tickets * 8 / 10 FROM vigil_demo_truth."
                     "emerging_issues WHERE topic = 'bills'"));
}

int main(void)
{
    const char *dsn = testdb_fresh("vt_demo");
    db_conn *db = NULL;
    vg_error err = {0};
    if (db_connect(dsn, &db, &err) != VG_OK) {
        fprintf(stderr, "connect: %s\n", err.msg);
        return 1;
    }

    demo_stats st = {0}, st2 = {0};
    char fp1[200], fp2[200], fp3[200];
    CHECK_INT_EQ(generate(db, 42, &st), VG_OK);
    fingerprint(dsn, fp1);
    CHECK_INT_EQ(generate(db, 43, &st2), VG_OK);
    fingerprint(dsn, fp2);
    CHECK(strcmp(fp1, fp2) != 0);
    CHECK_INT_EQ(generate(db, 42, &st2), VG_OK);
    fingerprint(dsn, fp3);
    CHECK_STR_EQ(fp3, fp1);
    CHECK(strlen(fp1) == 6 * 32);
    CHECK(memcmp(&st, &st2, sizeof st) == 0);
    fprintf(stderr,
            "demo: %ld customers, %ld events, %ld tickets, %ld churned, "
            "%ld dirty events, %ld dirty tickets\n",
            st.customers, st.events, st.tickets, st.churned, st.dirty_events,
            st.dirty_tickets);

    check_sizes(dsn, &st);
    check_customers(dsn);
    check_churn(dsn);
    check_lifetimes(dsn);
    check_emerging(dsn);
    check_dirty(dsn, &st);
    check_text(dsn);
    check_guard(db, dsn);
    check_injected(db, dsn);

    db_close(db);
    return check_done("db_demo");
}
