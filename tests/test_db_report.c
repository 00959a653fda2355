/* test_db_report.c — `vigil report` end to end on a small demo company with
 * hostile topic, alert, customer and driver texts: every section, escaping,
 * self-containment, as-of rules, determinism, degraded sections, errors, and
 * the page rendered by headless Chromium. */
#include <ctype.h>
#include <sys/stat.h>
#include <time.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2025-06-01"
#define D_M20 "2025-05-12"
#define D_M14 "2025-05-18"
#define D_M7 "2025-05-25"
#define D_P7 "2025-06-08"

static json_int_t jint(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] &&
               tolower((unsigned char)p[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Every YYYY-MM-DD on the page is on or before `limit`; prints the first
 * later one. */
static int no_date_after(const char *s, const char *limit)
{
    for (const char *p = s; p[0]; p++) {
        if (!(isdigit((unsigned char)p[0]) && strlen(p) >= 10 && p[4] == '-' &&
              p[7] == '-' && isdigit((unsigned char)p[9])))
            continue;
        if (strncmp(p, limit, 10) > 0) {
            fprintf(stderr, "date after %s on the page: %.10s\n", limit, p);
            return 0;
        }
    }
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Seed topics, assignments and alerts around D, with hostile labels. */
static void seed_topics(const char *dsn)
{
    testdb_exec(
        dsn,
        "INSERT INTO public.tickets (ticket_id, customer_id, created_at, "
        " status, subject, body) VALUES "
        "('future-1', NULL, '2025-06-03 10:00+00', 'open', 'x', 'y'), "
        "('future-2', NULL, '2025-06-04 10:00+00', 'open', 'x', 'y');"
        "INSERT INTO vigil.topics (topic_id, label, terms, size) VALUES "
        "(9001, '<script>alert(1)</script>', ARRAY['<b>bold</b>', 'x&y'], 4), "
        "(9002, 'billing \"invoices\" & refunds', ARRAY['invoice', 'refund'], "
        " 40), "
        "(9003, 'only after D', ARRAY['later'], 1);"
        /* 3 tickets of the window for 9001, 40 others for 9002 */
        "INSERT INTO vigil.ticket_topics (ticket_id, topic_id, similarity) "
        "SELECT ticket_id, CASE WHEN rn <= 3 THEN 9001 ELSE 9002 END, 0.9 "
        "FROM (SELECT ticket_id, row_number() OVER (ORDER BY created_at "
        " DESC, ticket_id) rn FROM public.tickets "
        " WHERE created_at >= '" D "'::date - 30 AND created_at < '" D "' "
        " AND ticket_id IS NOT NULL) t WHERE rn <= 43;"
        "INSERT INTO vigil.ticket_topics VALUES ('future-1', 9001, 0.9), "
        "('future-2', 9003, 0.9);"
        "INSERT INTO vigil.trend_alerts (alert_id, topic_id, detected_at, "
        " window_start, window_end, observed, expected, p_value, customers, "
        " mrr_at_risk, sample_ticket_ids, status) VALUES "
        "(701, 9001, '2025-05-29', '2025-05-22', '2025-05-31', 12, 2.5, "
        " 1e-6, 7, 12345.67, ARRAY['<i>t</i>'], 'open'), "
        "(702, 9002, '2025-06-02', '2025-05-26', '2025-06-01', 30, 9, 1e-4, "
        " 5, 100, NULL, 'open'), "
        "(703, 9002, '2025-05-12', '2025-05-07', '2025-05-17', 30, 9, 1e-4, "
        " 5, 100, NULL, 'resolved'), "
        "(704, 9002, '2025-05-27', '2025-05-26', '2025-06-04', 30, 9, 1e-3, "
        " 5, 100, NULL, 'resolved');");
}

/* The riskiest customer at D gets a hostile name and driver text, and the
 * biggest MRR so the revenue-at-risk table lists them. */
static void seed_hostile_customer(const char *dsn)
{
    testdb_exec(
        dsn,
        "WITH top AS (SELECT customer_id FROM vigil.scores WHERE as_of = '" D
        "' ORDER BY churn_risk DESC, customer_id LIMIT 1) "
        "UPDATE public.customers c SET name = '<img src=x onerror=alert(2)>', "
        " mrr = 999999 "
        "FROM top WHERE c.customer_id = top.customer_id;"
        "WITH top AS (SELECT customer_id FROM vigil.scores WHERE as_of = '" D
        "' ORDER BY churn_risk DESC, customer_id LIMIT 1) "
        "UPDATE vigil.scores s SET drivers = jsonb_build_array(jsonb_build_"
        "object('feature', 'x', 'value', 1, 'effect', 0.5, 'text', "
        "'</td><script>alert(3)</script>')) "
        "FROM top WHERE s.as_of = '" D "' AND s.customer_id = top.customer_id");
}

/* Headless Chromium loads the page; returns its serialised DOM (caller
 * frees) or NULL. As root Chromium needs --no-sandbox; its DBus and GPU
 * warnings on stderr are expected and ignored. */
static char *chromium_dom(const char *html_path, const char *png_path,
                          double *secs)
{
    const char *bin = getenv("VIGIL_CHROMIUM");
    if (!bin)
        bin = "chromium";
    char prof[128], dom[128], cmd[2048];
    snprintf(prof, sizeof prof, "/tmp/vt_report_chrome_%d", (int)getpid());
    snprintf(dom, sizeof dom, "/tmp/vt_report_dom_%d.html", (int)getpid());
    const char *flags = "--headless --no-sandbox --disable-gpu "
                        "--no-first-run --disable-extensions "
                        "--hide-scrollbars";
    double t0 = now_s();
    snprintf(cmd, sizeof cmd,
             "timeout 120 %s %s --user-data-dir=%s --dump-dom 'file://%s' "
             ">%s 2>/dev/null",
             bin, flags, prof, html_path, dom);
    int st = system(cmd);
    *secs = now_s() - t0;
    char *out = NULL;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        out = check_read_file(dom, NULL);
    else
        fprintf(stderr,
                "chromium failed (status %d): is it installed? "
                "scripts/install-deps.sh installs Debian's chromium\n",
                st);
    remove(dom);
    if (png_path) {
        snprintf(cmd, sizeof cmd,
                 "timeout 120 %s %s --user-data-dir=%s --window-size=1200,3000 "
                 "--screenshot=%s 'file://%s' >/dev/null 2>&1",
                 bin, flags, prof, png_path, html_path);
        st = system(cmd);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", prof);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", prof);
    return out;
}

static void check_render(const char *path)
{
    char png[128];
    snprintf(png, sizeof png, "/tmp/vt_report_%d.png", (int)getpid());
    double secs = 0;
    char *dom = chromium_dom(path, png, &secs);
    CHECK(dom != NULL);
    if (dom) {
        fprintf(stderr, "chromium --dump-dom took %.1f s\n", secs);
        /* the parsed page: sections, charts, escaped text stays text */
        static const char *const want[] = {
            "<section id=\"summary\">",
            "<section id=\"tiers\">",
            "<section id=\"calibration\">",
            "<section id=\"customers\">",
            "<section id=\"topics\">",
            "<section id=\"alerts\">",
            "<section id=\"revenue\">",
            "<section id=\"movers\">",
            "<section id=\"queue\">",
            "<svg class=\"chart mrr\"",
            "<svg class=\"chart tiers\"",
            "<svg class=\"chart calibration\"",
            "<line class=\"diagonal\"",
            "<polyline class=\"calib\"",
            "<rect class=\"seg-healthy\"",
            "<tr id=\"alert-701\">",
            "&lt;script&gt;alert(1)&lt;/script&gt;"};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            int ok = strstr(dom, want[i]) != NULL;
            CHECK(ok);
            if (!ok)
                fprintf(stderr, "  missing in the DOM: %s\n", want[i]);
        }
        CHECK_INT_EQ(count(dom, "<svg class=\"chart daybars\""), 2);
        CHECK(count(dom, "<circle class=\"calib-pt\"") >= 2);
        CHECK(!contains_ci(dom, "<script"));
        CHECK(!contains_ci(dom, "<img"));
        /* the escaped driver text did not break the table apart */
        CHECK_INT_EQ(count(dom, "<table class=\"customers\">"), 1);
        free(dom);
    }
    size_t n = 0;
    char *p = check_read_file(png, &n);
    /* a real page: a PNG, and far more than a blank screen compresses to */
    CHECK(p && n > 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0);
    CHECK(n > 40000);
    fprintf(stderr, "screenshot: %zu bytes\n", n);
    free(p);
    remove(png);
}

/* Shared by the cases, which run in order and build on each other. */
static const char *dsn;
static char out[256], out2[256], cfg[256];
static json_int_t model;
static const char *const names[] = {"summary",   "tiers",  "calibration",
                                    "customers", "topics", "alerts"};

static void help_and_usage_errors(void)
{
    cli_result *r;
    /* --help and usage errors need no database */
    r = cli_run(dsn, "report --help");
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "--out") && strstr(r->out, "self-contained"));
    r = cli_run(dsn, "report --as-of " D);
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "--out") != NULL);
    r = cli_run(dsn, "report --dates 0 --out /tmp/x.html");
    CHECK_INT_EQ(r->status, 2);
}

static void init_schema(void)
{
    cli_result *r;
    r = cli_run(dsn, "--quiet init");
    CHECK_INT_EQ(r->status, 0);
}

static void bad_destinations(void)
{
    cli_result *r;
    /* bad destinations: exit 7 and a message naming the path */
    r = cli_run(dsn, "report --as-of " D
                     " --out /nonexistent-vigil-dir/report.html");
    CHECK_INT_EQ(r->status, 7);
    CHECK(strstr(r->err, "/nonexistent-vigil-dir/report.html") &&
          strstr(r->err, "existing directory"));
    r = cli_run(dsn, "report --as-of " D " --out /tmp");
    CHECK_INT_EQ(r->status, 7);
    CHECK(strstr(r->err, "is a directory") != NULL);
}

static void empty_vigil_says_what_to_run(void)
{
    char cmd[1024];
    cli_result *r;
    json_t *j;
    /* an empty vigil: every section says what to run, nothing crashes */
    snprintf(cmd, sizeof cmd, "report --as-of " D " --out %s --json", out);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    json_t *sec = json_object_get(j, "sections");
    for (size_t i = 0; i < 6; i++)
        CHECK_STR_EQ(jstr(sec, names[i]), "empty");
    CHECK(json_is_null(json_object_get(j, "model_id")));
    json_decref(j);
    char *html = check_read_file(out, NULL);
    CHECK(html != NULL);
    if (html) {
        CHECK(strstr(html, "run <code>vigil train --as-of " D "</code>"));
        CHECK(strstr(html, "run <code>vigil score --as-of " D "</code>"));
        CHECK(strstr(html, "run <code>vigil topics --as-of " D "</code>"));
        for (size_t i = 0; i < 6; i++) {
            snprintf(cmd, sizeof cmd, "id=\"%s\"", names[i]);
            CHECK(strstr(html, cmd) != NULL);
        }
        free(html);
    }
}

/* The demo company: a model as of D-14, scores at D-14, D-7, D and one
 * after D that the report must not show; topics and a hostile customer. */
static void load_company(void)
{
    char cmd[256];
    cli_result *r = cli_run(dsn, "--quiet demo --customers 300 --seed 11 "
                                 "--end " D);
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn,
                "--quiet --log-level error train --as-of " D_M14 " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    model = j ? jint(j, "model_id") : 0;
    CHECK(model > 0);
    json_decref(j);
    static const char *const dates[] = {D_M14, D_M7, D, D_P7};
    for (size_t i = 0; i < 4; i++) {
        /* D_P7 is a week past the data: --force past the date guard */
        snprintf(cmd, sizeof cmd, "--quiet score --as-of %s --force", dates[i]);
        r = cli_run(dsn, cmd);
        CHECK_INT_EQ(r->status, 0);
    }
    seed_topics(dsn);
    seed_hostile_customer(dsn);
}

/* --json: every section has data, each with the rows of D and before. */
static void check_summary(const json_t *j)
{
    const json_t *sec = json_object_get(j, "sections");
    const json_t *rows = json_object_get(j, "rows");
    for (size_t i = 0; i < 6; i++)
        CHECK_STR_EQ(jstr(sec, names[i]), "data");
    CHECK_INT_EQ(jint(rows, "tiers"), 3); /* D-14, D-7, D; not D+7 */
    CHECK_INT_EQ(jint(rows, "customers"), 20);
    CHECK_INT_EQ(jint(rows, "topics"), 2); /* 9003 has tickets after D only */
    CHECK_INT_EQ(jint(rows, "alerts"), 2); /* 701, 704 */
    CHECK(jint(rows, "calibration") >= 2);
    CHECK_INT_EQ(jint(j, "model_id"), model);
    CHECK_STR_EQ(jstr(j, "scores_as_of"), D);
    /* the lead's sections: money, movers; no outreach ran, so no queue */
    CHECK_STR_EQ(jstr(sec, "revenue"), "data");
    CHECK_STR_EQ(jstr(sec, "movers"), "data");
    CHECK_STR_EQ(jstr(sec, "queue"), "empty");
    CHECK(jint(rows, "movers") >= 1 && jint(rows, "movers") <= 10);
}

/* Hostile strings appear only escaped, and the page links to nothing
 * outside itself. */
static void check_escaped_and_self_contained(const char *html)
{
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK(strstr(html, "&lt;img src=x onerror=alert(2)&gt;"));
    CHECK(strstr(html, "&lt;/td&gt;&lt;script&gt;alert(3)"));
    CHECK(strstr(html, "billing &quot;invoices&quot; &amp; refunds"));
    CHECK(strstr(html, "&lt;b&gt;bold&lt;/b&gt;, x&amp;y"));
    CHECK(!contains_ci(html, "<script"));
    CHECK(!contains_ci(html, "<img"));
    CHECK(!contains_ci(html, "http://") && !contains_ci(html, "https://"));
    /* (escaped text may say src=, an attribute would be src=") */
    CHECK(!contains_ci(html, "src=\"") && !contains_ci(html, "url("));
    CHECK(!contains_ci(html, "@import") && !contains_ci(html, "<link"));
}

/* As of D: nothing dated after it; the alerts open at D, the topics with
 * tickets before it. */
static void check_as_of(const char *html)
{
    CHECK(no_date_after(html, D));
    CHECK(strstr(html, ">" D_M14 "<") && strstr(html, ">" D_M7 "<"));
    CHECK(strstr(html, "id=\"alert-701\"") != NULL);
    CHECK(strstr(html, "id=\"alert-702\"") == NULL); /* detected after D */
    CHECK(strstr(html, "id=\"alert-703\"") == NULL); /* resolved before */
    CHECK(strstr(html, "id=\"alert-704\"") != NULL); /* open at D */
    CHECK(strstr(html, "<tr id=\"topic-9001\" data-tickets=\"3\">"));
    CHECK(strstr(html, "<tr id=\"topic-9002\" data-tickets=\"40\">"));
    CHECK(strstr(html, "topic-9003\"") == NULL);
    CHECK_INT_EQ(count(html, "<rect class=\"alert-window\""), 10 + 6);
    /* sparklines say which days they show */
    CHECK(strstr(html, "class=\"tick\">2025-05-02</text>") != NULL);
    CHECK(strstr(html, "class=\"tick\">2025-05-31</text>") != NULL);
}

/* What a support lead reads first: MRR at risk, then the customers (the
 * hostile big account first), then the model in plain words. */
static void check_lead_order(const char *html)
{
    char want[64];
    CHECK(strstr(html, "12,346") != NULL); /* MRR at risk, grouped */
    snprintf(want, sizeof want, "Model <b>#%lld</b>", (long long)model);
    CHECK(strstr(html, want) != NULL);
    const char *rev = strstr(html, "<section id=\"revenue\">");
    const char *cus = strstr(html, "<section id=\"customers\">");
    const char *cal = strstr(html, "<section id=\"calibration\">");
    CHECK(rev && cus && cal && rev < cus && cus < cal);
    CHECK(strstr(html, "monthly recurring revenue is at risk") != NULL);
    CHECK(strstr(html, "Model quality in plain words") != NULL);
    const char *first = cus ? strstr(cus, "<td class=\"num\">1</td>") : NULL;
    CHECK(first && strstr(first, "&lt;img src=x") &&
          strstr(first, "&lt;img src=x") < strstr(first, "</tr>"));
    CHECK(strstr(html, "Next step:") != NULL);
    CHECK(strstr(html, "since " D_M7) != NULL); /* movers: a week back */
}

static void demo_company_every_section(void)
{
    char cmd[1024];
    load_company();
    snprintf(cmd, sizeof cmd, "--quiet report --as-of " D " --out %s --json",
             out);
    cli_result *r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    check_summary(j);
    size_t len = 0;
    char *html = check_read_file(out, &len);
    CHECK(html != NULL);
    CHECK_INT_EQ(jint(j, "bytes"), (json_int_t)len);
    json_decref(j);
    if (html) {
        check_escaped_and_self_contained(html);
        check_as_of(html);
        check_lead_order(html);
    }
    free(html);
}

static void same_data_same_bytes(void)
{
    char cmd[1024];
    cli_result *r;
    /* the same data gives the same bytes */
    snprintf(cmd, sizeof cmd, "--quiet report --as-of " D " --out %s", out2);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "report as of " D " written to") != NULL);
    char *html = check_read_file(out, NULL),
         *html2 = check_read_file(out2, NULL);
    CHECK(html && html2 && strcmp(html, html2) == 0);
    free(html);
    free(html2);
    remove(out2);
}

static void renders_in_chromium(void)
{
    check_render(out);
}

static void week_earlier(void)
{
    json_t *sec;
    char *html2;
    char cmd[1024];
    cli_result *r;
    json_t *j;
    /* a week earlier: two score dates, no alert raised yet */
    snprintf(cmd, sizeof cmd, "--quiet report --as-of " D_M7 " --out %s --json",
             out2);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    sec = json_object_get(j, "sections");
    CHECK_INT_EQ(jint(json_object_get(j, "rows"), "tiers"), 2);
    CHECK_STR_EQ(jstr(sec, "alerts"), "empty");
    CHECK_STR_EQ(jstr(j, "scores_as_of"), D_M7);
    json_decref(j);
    html2 = check_read_file(out2, NULL);
    CHECK(html2 && no_date_after(html2, D_M7));
    free(html2);
}

static void one_score_date_one_bar(void)
{
    char cmd[1024];
    cli_result *r;
    json_t *j;
    char *html2;
    /* one score date: the tier chart is one bar of shares, not a column */
    snprintf(cmd, sizeof cmd,
             "--quiet report --as-of " D_M14 " --out %s --json", out2);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    CHECK_INT_EQ(jint(json_object_get(j, "rows"), "tiers"), 1);
    CHECK_STR_EQ(jstr(json_object_get(j, "sections"), "movers"), "empty");
    json_decref(j);
    html2 = check_read_file(out2, NULL);
    CHECK(html2 && strstr(html2, "<svg class=\"chart tiers\""));
    CHECK(html2 && !strstr(html2, "Customers per tier by score date"));
    CHECK(html2 && strstr(html2, "<title>Customers per tier</title>"));
    free(html2);
}

static void before_the_models_date(void)
{
    json_t *sec;
    char cmd[1024];
    cli_result *r;
    json_t *j;
    /* before the model's date: no model is shown, even though one exists */
    snprintf(cmd, sizeof cmd,
             "--quiet report --as-of " D_M20 " --out %s --json", out2);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    sec = json_object_get(j, "sections");
    CHECK_STR_EQ(jstr(sec, "summary"), "empty");
    CHECK_STR_EQ(jstr(sec, "calibration"), "empty");
    CHECK_STR_EQ(jstr(sec, "customers"), "empty");
    CHECK(json_is_null(json_object_get(j, "model_id")));
    json_decref(j);
}

static void unreadable_source_costs_its_section(void)
{
    json_t *sec;
    char *html2;
    char cmd[1024];
    cli_result *r;
    json_t *j;
    /* source tables that cannot be read cost their section, not the report */
    cli_config(cfg, sizeof cfg, "report", "%s",
               "{\"source\": {\"schema\": \"no_such_schema\"}}\n");
    snprintf(cmd, sizeof cmd,
             "--quiet --log-level error --config %s report --as-of " D
             " --out %s --json",
             cfg, out2);
    r = cli_run(dsn, cmd);
    CHECK_INT_EQ(r->status, 0);
    j = cli_json(r);
    sec = json_object_get(j, "sections");
    CHECK_STR_EQ(jstr(sec, "customers"), "data");
    CHECK_STR_EQ(jstr(sec, "revenue"), "error");
    CHECK_STR_EQ(jstr(sec, "movers"), "data");
    CHECK_STR_EQ(jstr(sec, "topics"), "error");
    CHECK_STR_EQ(jstr(sec, "alerts"), "data");
    json_decref(j);
    html2 = check_read_file(out2, NULL);
    CHECK(html2 && strstr(html2, "Names, plans and MRR are missing"));
    CHECK(html2 && strstr(html2, "Could not read the tickets' topics"));
    free(html2);
}

int main(void)
{
    dsn = testdb_fresh("vt_report");
    snprintf(out, sizeof out, "/tmp/vt_report_%d.html", (int)getpid());
    snprintf(out2, sizeof out2, "/tmp/vt_report_%d_b.html", (int)getpid());
    static const check_case cases[] = {
        CHECK_CASE(help_and_usage_errors),
        CHECK_CASE(init_schema),
        CHECK_CASE(bad_destinations),
        CHECK_CASE(empty_vigil_says_what_to_run),
        CHECK_CASE(demo_company_every_section),
        CHECK_CASE(same_data_same_bytes),
        CHECK_CASE(renders_in_chromium),
        CHECK_CASE(week_earlier),
        CHECK_CASE(one_score_date_one_bar),
        CHECK_CASE(before_the_models_date),
        CHECK_CASE(unreadable_source_costs_its_section),
    };
    int rc = check_run("db_report", cases, sizeof cases / sizeof cases[0]);
    remove(out);
    remove(out2);
    remove(cfg);
    return rc;
}
