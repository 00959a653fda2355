/* test_db_topics.c — `vigil topics` against a real PostgreSQL: stable ids
 * across refits, incremental assignment, the alert lifecycle, replay
 * determinism, no leakage of tickets after the as-of date, and bad text. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

static const char *SCHEMA_SQL =
    "INSERT INTO customers SELECT 'c' || g, 'Customer ' || g, "
    " '2025-01-01 00:00+00', NULL, 'pro', 100 + g, 5, 'en' "
    " FROM generate_series(1, 60) g;"
    "CREATE FUNCTION pick(w text[], s text) RETURNS text LANGUAGE sql "
    " IMMUTABLE AS $$ SELECT w[1 + abs(hashtext(s)) % array_length(w, 1)] $$;"
    /* per_day tickets a weekday (half at weekends) from first to last. */
    "CREATE FUNCTION add_theme(theme text, w text[], first date, last date, "
    " per_day int) RETURNS void LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body, "
    "  status, priority, channel) "
    " SELECT theme || '-' || d::date || '-' || i, "
    "  'c' || (1 + abs(hashtext(theme || d || i)) % 60), "
    "  (d::date::text || ' 00:00:00+00')::timestamptz "
    "   + ((i * 97) % 1440) * interval '1 minute', "
    "  pick(w, theme || d || i || 's') || ' ' || pick(w, theme || d || i || "
    "   't'), "
    "  'Hello team, the ' || pick(w, theme || d || i || 'a') || ' ' || "
    "   pick(w, theme || d || i || 'b') || ' is a problem. We see ' || "
    "   pick(w, theme || d || i || 'c') || ' and ' || "
    "   pick(w, theme || d || i || 'e') || ' ' || "
    "   pick(w, theme || d || i || 'f') || ' since order 4411.', "
    "  'open', 'normal', 'email' "
    " FROM generate_series(first, last, interval '1 day') d "
    " CROSS JOIN LATERAL generate_series(1, CASE WHEN extract(isodow FROM d) "
    "  >= 6 THEN greatest(per_day / 2, 1) ELSE per_day END) i $$;";

static const char *THEMES_SQL =
    "SELECT add_theme('billing', ARRAY['invoice', 'charged twice', 'refund', "
    " 'billing', 'payment', 'credit card', 'receipt', 'overcharged', "
    " 'subscription fee', 'vat number'], '2026-02-01', '2026-06-30', 8);"
    "SELECT add_theme('login', ARRAY['password', 'reset link', 'login', "
    " 'locked out', 'account', 'two factor', 'sign in', 'authentication', "
    " 'verification code', 'session expired'], '2026-02-01', '2026-06-30', "
    " 6);"
    "SELECT add_theme('export', ARRAY['export', 'csv file', 'download', "
    " 'spreadsheet', 'columns missing', 'excel', 'report export', "
    " 'encoding', 'delimiter', 'large file'], '2026-02-01', '2026-06-30', 5);"
    /* The emerging issue: webhooks time out from May 29 to June 4. */
    "SELECT add_theme('webhook', ARRAY['webhook', 'timeout', 'delivery "
    " failed', 'endpoint', 'retries', 'callback url', 'integration', "
    " 'gateway timeout', 'payload', 'signature'], '2026-05-29', "
    " '2026-06-04', 12);"
    /* A day without any ticket. */
    "DELETE FROM tickets WHERE created_at >= '2026-05-20 00:00+00' AND "
    " created_at < '2026-05-21 00:00+00';"
    /* Bad text: empty, 10 MB, HTML, control characters, other scripts. */
    "INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    "VALUES ('odd-empty', 'c1', '2026-05-10 10:00+00', '', ''), "
    " ('odd-null', NULL, '2026-05-10 11:00+00', NULL, NULL), "
    " ('odd-huge', 'c2', '2026-05-11 10:00+00', 'export', "
    "  repeat('export csv broken again ', 440000)), "
    " ('odd-html', 'c3', '2026-05-12 10:00+00', 'invoice', "
    "  '<html><style>p{}</style><p>Refund &amp; <b>invoice</b></p>"
    "<script>x()</script></html>'), "
    " ('odd-junk', 'c4', '2026-05-12 11:00+00', chr(1) || chr(2) || chr(127), "
    "  repeat(chr(7) || chr(65533) || chr(12), 100)), "
    " ('odd-zh', 'zz-unknown', '2026-05-13 10:00+00', '导出失败', "
    "  '我们无法导出CSV文件，请帮助。');";

/* Majority topic of each theme, e.g. "billing:3 export:1 login:2". */
static const char *theme_topics(const char *dsn, char *buf, size_t n)
{
    snprintf(buf, n, "%s",
             testdb_value(
                 dsn, "SELECT string_agg(theme || ':' || topic, ' ' ORDER BY "
                      "theme) FROM (SELECT split_part(ticket_id, '-', 1) "
                      "theme, mode() WITHIN GROUP (ORDER BY topic_id) topic "
                      "FROM vigil.ticket_topics WHERE ticket_id ~ "
                      "'^(billing|login|export)-2026-05-0' GROUP BY 1) x"));
    return buf;
}

/* Field `col` of the row starting "customer," in a features CSV ("" if
 * absent); static buffer. */
static const char *csv_field(const char *csv, const char *customer,
                             const char *col)
{
    static char out[64];
    out[0] = '\0';
    const char *nl = strchr(csv, '\n');
    if (!nl)
        return out;
    int idx = -1, i = 0;
    for (const char *p = csv; p < nl; i++) {
        const char *e = memchr(p, ',', (size_t)(nl - p));
        if (!e)
            e = nl;
        if ((size_t)(e - p) == strlen(col) && !strncmp(p, col, strlen(col)))
            idx = i;
        p = e + 1;
    }
    char key[64];
    snprintf(key, sizeof key, "\n%s,", customer);
    const char *row = strstr(csv, key);
    if (idx < 0 || !row)
        return out;
    row++;
    for (i = 0; i < idx && row; i++) {
        row = strchr(row, ',');
        row = row ? row + 1 : NULL;
    }
    if (row)
        snprintf(out, sizeof out, "%.*s", (int)strcspn(row, ",\n"), row);
    return out;
}

static const char *ALERTS_DIGEST =
    "SELECT md5(coalesce(string_agg(concat_ws('|', a.kind, a.status, "
    " a.detected_at, a.window_start, a.window_end, a.observed, "
    " round(a.expected::numeric, 3), a.customers, a.mrr_at_risk, "
    " a.sample_ticket_ids, a.resolved_on), ';' ORDER BY a.detected_at, "
    " a.window_start, a.observed), '')) FROM vigil.trend_alerts a";

/* Shared by the cases, which run in order and build on each other. */
static const char *dsn, *dsn2;
static char cfgpath[64], args[512];
static char before[256];
static char feat1[96], feat2[96];
static char *csv1;
static char alert[32], digest[64];
static char out[96];

static void init_schema(void)
{
    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
}

static void config_mistakes_name_keys_and_file(void)
{
    cli_result *r;
    /* Config mistakes name the keys and the file. */
    FILE *g = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"k_min\": 9, \"k_max\": 3}}", g);
    fclose(g);
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-25",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "topics.k_min") && strstr(r->err, cfgpath));
    /* A topic window shorter than the trend baseline would make every topic
     * look new: refused, naming the keys. */
    g = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"window_days\": 20}}", g);
    fclose(g);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "topics.window_days") &&
          strstr(r->err, "trend.baseline_days") && strstr(r->err, cfgpath));
    g = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"k_min\": 2, \"k_max\": 6, \"window_days\": 60, "
          "\"backfill_days\": 0, \"refit_days\": 1}}",
          g);
    fclose(g);
}

static void first_fit_counts_bad_rows(void)
{
    cli_result *r;
    /* First fit, with the bad rows in its window. */
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-25 --json",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    if (j) {
        CHECK(json_integer_value(json_object_get(j, "topics")) >= 3);
        CHECK(json_integer_value(json_object_get(j, "assigned")) > 500);
        CHECK(json_is_true(json_object_get(j, "refit")));
        CHECK(json_object_get(j, "alerts") != NULL);
        json_t *d = json_object_get(j, "dirty");
        CHECK(json_integer_value(json_object_get(d, "body_truncated")) == 1);
        CHECK(json_integer_value(json_object_get(d, "empty_text")) == 2);
        CHECK(json_integer_value(json_object_get(d, "unknown_customer")) == 1);
        json_decref(j);
    }
}

static void labels_readable_terms_stored(void)
{
    /* Labels are readable and distinct terms are stored. */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) > 0 FROM vigil.topics "
                                   "WHERE label ~ '(invoice|password|export|"
                                   "csv|login|billing|refund)'"),
                 "t");
    CHECK_STR_EQ(testdb_value(dsn,
                              "SELECT bool_and(array_length(terms, 1) >= 3 AND "
                              "array_length(sample_ticket_ids, 1) >= 1) FROM "
                              "vigil.topics WHERE status = 'active'"),
                 "t");
    theme_topics(dsn, before, sizeof before);
    CHECK(strstr(before, "billing:") && strstr(before, "login:") &&
          strstr(before, "export:"));
}

static void refit_keeps_topic_ids(void)
{
    cli_result *r;
    char after[256];
    /* The next day refits: every theme keeps its topic id. */
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-26 --json",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    theme_topics(dsn, after, sizeof after);
    CHECK_STR_EQ(after, before);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) >= 3 FROM "
                                   "vigil.topic_links l JOIN "
                                   "vigil.topic_models m USING (model_id) "
                                   "WHERE m.as_of = '2026-05-26' AND l.kind "
                                   "= 'match'"),
                 "t");
}

static void late_tickets_assigned_incrementally(void)
{
    cli_result *r;
    json_t *j;
    /* Late tickets (created before the date, loaded after the run) are
     * assigned incrementally to the existing topics. */
    testdb_exec(dsn, "INSERT INTO tickets (ticket_id, customer_id, "
                     "created_at, subject, body) SELECT 'late-' || g, 'c7', "
                     "'2026-05-25 18:00+00', 'refund for invoice', 'We were "
                     "charged twice, please refund the invoice payment' "
                     "FROM generate_series(1, 5) g");
    snprintf(args, sizeof args,
             "--config %s topics --as-of 2026-05-26 --incremental --json",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        CHECK(json_is_false(json_object_get(j, "refit")));
        CHECK_INT_EQ(json_integer_value(json_object_get(j, "assigned")), 5);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.ticket_topics "
                                   "l WHERE l.ticket_id LIKE 'late-%' AND "
                                   "l.topic_id = (SELECT mode() WITHIN GROUP "
                                   "(ORDER BY topic_id) FROM "
                                   "vigil.ticket_topics WHERE ticket_id LIKE "
                                   "'billing-2026-05-1%')"),
                 "5");
}

static void topic_shares_become_features(void)
{
    char q0[1024];
    /* Topic shares become churn features, from each ticket's first topic
     * and only once a topics run for a date <= t gave it. */
    snprintf(args, sizeof args,
             "--config %s features --as-of 2026-05-27 --out %s", cfgpath,
             feat1);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    csv1 = check_read_file(feat1, NULL);
    CHECK(csv1 && strstr(csv1, "tickets.topic_share_") != NULL);
    char billing[32], billing_col[64];
    snprintf(billing, sizeof billing, "%s",
             testdb_value(dsn, "SELECT mode() WITHIN GROUP (ORDER BY "
                               "first_topic_id) FROM vigil.ticket_topics "
                               "WHERE ticket_id LIKE 'billing-2026-05-1%'"));
    snprintf(billing_col, sizeof billing_col, "tickets.topic_share_%s_90d",
             billing);
    /* c7: its share of billing tickets among its tickets with a topic known
     * by May 27, in the 90 days before. */
    snprintf(q0, sizeof q0,
             "SELECT round((count(*) FILTER (WHERE tt.first_topic_id = %s)"
             "::numeric / count(*)), 4) FROM tickets t JOIN "
             "vigil.ticket_topics tt USING (ticket_id) WHERE t.customer_id = "
             "'c7' AND t.created_at >= '2026-02-26 00:00+00' AND t.created_at "
             "< '2026-05-27 00:00+00' AND tt.first_assigned_on <= '2026-05-27'",
             billing);
    char want[32];
    snprintf(want, sizeof want, "%s", testdb_value(dsn, q0));
    double got = atof(csv1 ? csv_field(csv1, "c7", billing_col) : "nan");
    CHECK(atof(want) > 0.2);
    CHECK_NEAR(got, atof(want), 1e-4);
}

static void no_alert_before_the_issue(void)
{
    /* Alert lifecycle: nothing before the webhook issue; raised when it
     * starts; the same alert updated while it lasts; resolved after. */
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-29",
             cfgpath);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "0");
}

static void alert_raised_when_issue_starts(void)
{
    cli_result *r;
    json_t *j;
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-31 --json",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        CHECK(json_integer_value(json_object_get(j, "alerts_raised")) >= 1);
        json_decref(j);
    }
    /* The alerted topic is the webhook issue's. */
    /* A new issue is alerted from its words (source 'terms', its own
     * tickets) or, failing that, from its topic. */
    const char *WEBHOOK_ALERT =
        "SELECT alert_id FROM vigil.trend_alerts a WHERE CASE WHEN a.source "
        "= 'terms' THEN (SELECT count(*) FILTER (WHERE x LIKE 'webhook-%') "
        "* 2 > count(*) FROM unnest(a.ticket_ids) x) ELSE (SELECT "
        "count(*) FILTER (WHERE tt.ticket_id LIKE 'webhook-%') * 2 > count(*) "
        "FROM vigil.ticket_topics tt JOIN tickets t USING (ticket_id) WHERE "
        "tt.topic_id = a.topic_id AND t.created_at >= a.window_start AND "
        "t.created_at < a.window_end + 1) END ORDER BY alert_id LIMIT 1";
    snprintf(alert, sizeof alert, "%s", testdb_value(dsn, WEBHOOK_ALERT));
    CHECK(alert[0] != '\0');
    char q[1024];
    snprintf(q, sizeof q,
             "SELECT concat_ws(',', status, window_start, window_end, "
             "observed >= 6, customers > 0, mrr_at_risk > 0, "
             "array_length(sample_ticket_ids, 1) > 0, label IS NOT NULL, "
             "detected_at = '2026-05-31 00:00+00') FROM vigil.trend_alerts "
             "WHERE alert_id = '%s'",
             alert);
    CHECK_STR_EQ(testdb_value(dsn, q),
                 "open,2026-05-28,2026-05-30,t,t,t,t,t,t");
}

static void alert_updated_while_issue_lasts(void)
{
    char q[1024];
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-02",
             cfgpath);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    snprintf(q, sizeof q,
             "SELECT concat_ws(',', status, window_start, window_end, "
             "updated_on, (SELECT count(*) FROM vigil.trend_alert_days d "
             "WHERE d.alert_id = a.alert_id)) FROM vigil.trend_alerts a "
             "WHERE alert_id = '%s'",
             alert);
    CHECK_STR_EQ(testdb_value(dsn, q),
                 "open,2026-05-28,2026-06-01,2026-06-02,2");
    /* Still one open alert for that topic (one per ongoing event). */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT max(n) FROM (SELECT count(*) n "
                                   "FROM vigil.trend_alerts WHERE status = "
                                   "'open' GROUP BY topic_id) x"),
                 "1");
}

static void alert_resolved_after_issue(void)
{
    char q[1024];
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-12",
             cfgpath);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    snprintf(q, sizeof q,
             "SELECT status || ',' || resolved_on FROM vigil.trend_alerts "
             "WHERE alert_id = '%s'",
             alert);
    CHECK_STR_EQ(testdb_value(dsn, q), "resolved,2026-06-12");
}

static void earlier_date_needs_replay(void)
{
    cli_result *r;
    /* An earlier date is refused without --replay ... */
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-05-31",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "--replay") != NULL);
}

static void replay_says_the_same(void)
{
    /* ... and a replay of the same days says exactly the same. */
    snprintf(digest, sizeof digest, "%s", testdb_value(dsn, ALERTS_DIGEST));
    const char *days[] = {"2026-05-31", "2026-06-02", "2026-06-12"};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args,
                 "--config %s topics --as-of %s --replay --json", cfgpath,
                 days[i]);
        CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    }
    CHECK_STR_EQ(testdb_value(dsn, ALERTS_DIGEST), digest);
}

static void no_leakage_of_later_tickets(void)
{
    /* No leakage: tickets on or after the as-of date change nothing. */
    const char *MODEL_DIGEST =
        "SELECT md5(string_agg(term || df, ',' ORDER BY col)) FROM "
        "vigil.topic_vocab v JOIN vigil.topic_models m USING (model_id) "
        "WHERE m.as_of = '2026-06-12'";
    char model[64];
    snprintf(model, sizeof model, "%s", testdb_value(dsn, MODEL_DIGEST));
    testdb_exec(dsn, "SELECT add_theme('zebra', ARRAY['zebra', 'stripes', "
                     "'savanna crash', 'giraffe'], '2026-06-12', "
                     "'2026-06-14', 30)");
    snprintf(args, sizeof args,
             "--config %s topics --as-of 2026-06-12 --replay --json", cfgpath);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, MODEL_DIGEST), model);
    CHECK_STR_EQ(testdb_value(dsn, ALERTS_DIGEST), digest);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.topic_vocab "
                                   "WHERE term LIKE '%zebra%'"),
                 "0");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.ticket_topics "
                                   "WHERE ticket_id LIKE 'zebra-%'"),
                 "0");
}

static void same_date_rerun_changes_nothing(void)
{
    /* A second run for the same date changes nothing either. */
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-12",
             cfgpath);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, ALERTS_DIGEST), digest);
}

static void features_unchanged_by_later_runs(void)
{
    /* Later topics runs (and replays) re-assigned tickets with models that
     * saw later tickets: the features as of May 27 are still the same. */
    snprintf(args, sizeof args,
             "--config %s features --as-of 2026-05-27 --out %s", cfgpath,
             feat2);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    char *csv2 = check_read_file(feat2, NULL);
    CHECK(csv1 && csv2 && strcmp(csv1, csv2) == 0);
    free(csv1);
    csv1 = NULL;
    free(csv2);
    remove(feat1);
    remove(feat2);
}

static void old_models_pruned(void)
{
    cli_result *r;
    json_t *j;
    /* Old models are pruned after topics.keep_models_days. */
    FILE *kf = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"k_min\": 2, \"k_max\": 6, \"window_days\": 60, "
          "\"backfill_days\": 0, \"refit_days\": 1, "
          "\"keep_models_days\": 7}}",
          kf);
    fclose(kf);
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-13 --json",
             cfgpath);
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        CHECK(json_integer_value(json_object_get(j, "models_pruned")) >= 4);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT min(as_of) >= '2026-06-06' FROM "
                                   "vigil.topic_models"),
                 "t");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.topic_vocab v "
                                   "WHERE NOT EXISTS (SELECT 1 FROM "
                                   "vigil.topic_models m WHERE m.model_id = "
                                   "v.model_id)"),
                 "0");
}

static void report_counts_alerts_as_of_its_date(void)
{
    cli_result *r;
    json_t *j;
    /* The HTML report shows each alert as it was on the report's date:
     * open on June 2, resolved by June 12 (from vigil.trend_alert_days). */
    const char *rdays[2] = {"2026-06-02", "2026-06-12"};
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args, "report --as-of %s --out %s --json",
                 rdays[i], out);
        r = cli_run(dsn, args);
        CHECK_INT_EQ(r->status, 0);
        j = cli_json(r);
        if (j) {
            long n = (long)json_integer_value(
                json_object_get(json_object_get(j, "rows"), "alerts"));
            CHECK(i == 0 ? n >= 1 : n == 0);
            json_decref(j);
        }
    }
}

static void report_shows_alert_window_as_of_its_date(void)
{
    /* On June 1 the alert was as the May 31 run left it: its window ended
     * May 30 (the alert row itself now says June 1). */
    snprintf(args, sizeof args, "report --as-of 2026-06-01 --out %s", out);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    FILE *hf = fopen(out, "r");
    static char html[1 << 20];
    size_t hn = hf ? fread(html, 1, sizeof html - 1, hf) : 0;
    html[hn] = '\0';
    if (hf)
        fclose(hf);
    CHECK(strstr(html, "2026-05-28 – 2026-05-30") != NULL);
    CHECK(strstr(html, "2026-05-28 – 2026-06-01") == NULL);
    remove(out);
}

static void no_tickets_no_topics(void)
{
    cli_result *r;
    json_t *j;
    /* Tiny inputs: no tickets at all, then a single ticket. */
    dsn2 = testdb_fresh("vt_topics_tiny");
    testdb_source_tables(dsn2, "public", NULL);
    testdb_exec(dsn2, SCHEMA_SQL);
    CHECK_INT_EQ(cli_run(dsn2, "init")->status, 0);
    r = cli_run(dsn2, "topics --as-of 2026-05-01 --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        CHECK_INT_EQ(json_integer_value(json_object_get(j, "topics")), 0);
        CHECK_INT_EQ(json_integer_value(json_object_get(j, "alerts")), 0);
        json_decref(j);
    }
}

static void single_ticket_at_most_one_topic(void)
{
    cli_result *r;
    json_t *j;
    testdb_exec(dsn2, "INSERT INTO tickets (ticket_id, customer_id, "
                      "created_at, subject, body) VALUES ('one', 'c1', "
                      "'2026-05-01 09:00+00', 'Invoice wrong', 'The invoice "
                      "total is wrong')");
    r = cli_run(dsn2, "topics --as-of 2026-05-02 --k 5 --json");
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    if (j) {
        CHECK(json_integer_value(json_object_get(j, "topics")) <= 1);
        json_decref(j);
    }
}

static void default_refit_is_weekly(void)
{
    /* Without topics.refit_days the model is refitted weekly: the next
     * days assign new tickets to it, the 7th day re-clusters. */
    FILE *f = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"k_min\": 2, \"k_max\": 6, \"window_days\": 60, "
          "\"backfill_days\": 0}}",
          f);
    fclose(f);
    static const struct {
        const char *day;
        int refit;
        const char *model; /* the latest model's date after the run */
    } runs[] = {{"2026-06-14", 0, "2026-06-13"},
                {"2026-06-19", 0, "2026-06-13"},
                {"2026-06-20", 1, "2026-06-20"}};
    CHECK_STR_EQ(testdb_value(dsn, "SELECT max(as_of) FROM vigil.topic_models"),
                 "2026-06-13");
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        snprintf(args, sizeof args,
                 "--config %s topics --as-of %s --force --json", cfgpath,
                 runs[i].day);
        cli_result *r = cli_run(dsn, args);
        CHECK_INT_EQ(r->status, 0);
        json_t *j = cli_json(r);
        CHECK(j != NULL);
        if (j) {
            CHECK_INT_EQ(json_is_true(json_object_get(j, "refit")),
                         runs[i].refit);
            json_decref(j);
        }
        CHECK_STR_EQ(
            testdb_value(dsn, "SELECT max(as_of) FROM vigil.topic_models"),
            runs[i].model);
    }
}

int main(void)
{
    dsn = testdb_fresh("vt_topics");
    snprintf(cfgpath, sizeof cfgpath, "/tmp/vt_topics_cfg.%d.json",
             (int)getpid());
    FILE *f = fopen(cfgpath, "w");
    fputs("{\"topics\": {\"k_min\": 2, \"k_max\": 6, \"window_days\": 60, "
          "\"backfill_days\": 0, \"refit_days\": 1}}",
          f);
    fclose(f);
    snprintf(feat1, sizeof feat1, "/tmp/vt_topics_f1.%d.csv", (int)getpid());
    snprintf(feat2, sizeof feat2, "/tmp/vt_topics_f2.%d.csv", (int)getpid());
    snprintf(out, sizeof out, "/tmp/vt_topics_report.%d.html", (int)getpid());
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(dsn, SCHEMA_SQL);
    testdb_exec(dsn, THEMES_SQL);
    static const check_case cases[] = {
        CHECK_CASE(init_schema),
        CHECK_CASE(config_mistakes_name_keys_and_file),
        CHECK_CASE(first_fit_counts_bad_rows),
        CHECK_CASE(labels_readable_terms_stored),
        CHECK_CASE(refit_keeps_topic_ids),
        CHECK_CASE(late_tickets_assigned_incrementally),
        CHECK_CASE(topic_shares_become_features),
        CHECK_CASE(no_alert_before_the_issue),
        CHECK_CASE(alert_raised_when_issue_starts),
        CHECK_CASE(alert_updated_while_issue_lasts),
        CHECK_CASE(alert_resolved_after_issue),
        CHECK_CASE(earlier_date_needs_replay),
        CHECK_CASE(replay_says_the_same),
        CHECK_CASE(no_leakage_of_later_tickets),
        CHECK_CASE(same_date_rerun_changes_nothing),
        CHECK_CASE(features_unchanged_by_later_runs),
        CHECK_CASE(old_models_pruned),
        CHECK_CASE(report_counts_alerts_as_of_its_date),
        CHECK_CASE(report_shows_alert_window_as_of_its_date),
        CHECK_CASE(default_refit_is_weekly),
        CHECK_CASE(no_tickets_no_topics),
        CHECK_CASE(single_ticket_at_most_one_topic),
    };
    int rc = check_run("db_topics", cases, sizeof cases / sizeof cases[0]);
    free(csv1);
    remove(feat1);
    remove(feat2);
    remove(out);
    remove(cfgpath);
    return rc;
}
