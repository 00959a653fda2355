/* test_db_serve_http.c — serve's HTTP endpoints against a real database:
 * bearer token (401 wrong/missing, 200 right), /healthz shape, /metrics
 * checked by a strict Prometheus text-format parser, /alerts as JSON Feed
 * with its filters, /queue by assignee, and SIGHUP: a broken config is
 * rejected (log names key and file) and the old one keeps serving. */
#include <ctype.h>
#include <jansson.h>
#include <math.h>

#include "cli.h"
#include "serve_helpers.h"

/* ---- a strict parser of the Prometheus text exposition format 0.0.4 ---- */

static int metric_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

static int value_ok(const char *s)
{
    if (!strcmp(s, "NaN") || !strcmp(s, "+Inf") || !strcmp(s, "-Inf"))
        return 1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    (void)v;
    return *s && *end == '\0' && !isspace((unsigned char)*s);
}

typedef struct prom_family {
    char name[128], type[16];
    int help, samples;
} prom_family;

/* What prom_parse has read so far: the families and the series seen. */
typedef struct prom_doc {
    prom_family *fam;
    int nfam, maxfam;
    char (*series)[256];
    int nseries, maxser;
} prom_doc;

static prom_family *prom_find(prom_doc *d, const char *name)
{
    for (int i = 0; i < d->nfam; i++)
        if (!strcmp(d->fam[i].name, name))
            return &d->fam[i];
    return NULL;
}

/* A "# HELP" or "# TYPE" line: at most one of each per family, both before
 * its samples; other comments are ignored. */
static int prom_meta(prom_doc *d, const char *line, int lineno)
{
    char kw[8], name[200], rest[600];
    rest[0] = '\0';
    if (sscanf(line, "# %7s %199s %599[^\n]", kw, name, rest) < 2)
        return 0; /* a plain comment */
    if (strcmp(kw, "HELP") && strcmp(kw, "TYPE"))
        return 0;
    if (!metric_name_ok(name, strlen(name))) {
        fprintf(stderr, "prom %d: bad name in %s\n", lineno, line);
        return -1;
    }
    prom_family *f = prom_find(d, name);
    if (!f) {
        if (d->nfam == d->maxfam)
            return -1;
        f = &d->fam[d->nfam++];
        memset(f, 0, sizeof *f);
        snprintf(f->name, sizeof f->name, "%.*s", (int)sizeof f->name - 1,
                 name);
    }
    if (f->samples) {
        fprintf(stderr, "prom %d: %s after samples\n", lineno, kw);
        return -1;
    }
    if (!strcmp(kw, "HELP")) {
        if (f->help++) {
            fprintf(stderr, "prom %d: second HELP\n", lineno);
            return -1;
        }
        return 0;
    }
    if (f->type[0] || (strcmp(rest, "counter") && strcmp(rest, "gauge") &&
                       strcmp(rest, "histogram") && strcmp(rest, "summary") &&
                       strcmp(rest, "untyped"))) {
        fprintf(stderr, "prom %d: bad TYPE %s\n", lineno, line);
        return -1;
    }
    snprintf(f->type, sizeof f->type, "%.*s", (int)sizeof f->type - 1, rest);
    return 0;
}

/* The label list that starts at line[*i] == '{': names valid, values quoted
 * with only \\, \" and \n escaped. Leaves *i on the closing brace. */
static int prom_labels(const char *line, size_t *i, int lineno)
{
    size_t k = *i + 1;
    while (line[k] != '}') {
        size_t s = k;
        while (line[k] && line[k] != '=')
            k++;
        if (!metric_name_ok(line + s, k - s) || line[k + 1] != '"') {
            fprintf(stderr, "prom %d: bad label: %s\n", lineno, line);
            return -1;
        }
        k += 2;
        while (line[k] && line[k] != '"') {
            if (line[k] == '\\') {
                if (line[k + 1] != '\\' && line[k + 1] != '"' &&
                    line[k + 1] != 'n') {
                    fprintf(stderr, "prom %d: bad escape\n", lineno);
                    return -1;
                }
                k++;
            }
            k++;
        }
        if (line[k] != '"')
            return -1;
        k++;
        if (line[k] == ',')
            k++;
        else if (line[k] != '}') {
            fprintf(stderr, "prom %d: bad label list\n", lineno);
            return -1;
        }
    }
    *i = k;
    return 0;
}

/* A sample line: name [{labels}] value [timestamp], of a family declared
 * with a TYPE just before (families contiguous), its series not seen yet. */
static int prom_sample(prom_doc *d, const char *line, int lineno)
{
    size_t i = 0;
    while (line[i] && line[i] != '{' && line[i] != ' ')
        i++;
    if (!metric_name_ok(line, i)) {
        fprintf(stderr, "prom %d: bad sample name: %s\n", lineno, line);
        return -1;
    }
    char name[128], key[256];
    snprintf(name, sizeof name, "%.*s", (int)i, line);
    if (line[i] == '{') {
        if (prom_labels(line, &i, lineno) != 0)
            return -1;
        i++;
    }
    /* the series: the exact text before the value */
    snprintf(key, sizeof key, "%.*s", (int)i, line);
    if (line[i] != ' ') {
        fprintf(stderr, "prom %d: no value: %s\n", lineno, line);
        return -1;
    }
    char val[64], ts[64], extra[8];
    int k = sscanf(line + i, " %63s %63s %7s", val, ts, extra);
    if (k < 1 || k > 2 || !value_ok(val)) {
        fprintf(stderr, "prom %d: bad value: %s\n", lineno, line);
        return -1;
    }
    prom_family *f = prom_find(d, name);
    if (!f || !f->type[0]) {
        fprintf(stderr, "prom %d: sample without TYPE: %s\n", lineno, line);
        return -1;
    }
    if (f != &d->fam[d->nfam - 1]) {
        fprintf(stderr, "prom %d: family %s not contiguous\n", lineno, name);
        return -1;
    }
    f->samples++;
    for (int m = 0; m < d->nseries; m++)
        if (!strcmp(d->series[m], key)) {
            fprintf(stderr, "prom %d: duplicate series %s\n", lineno, key);
            return -1;
        }
    if (d->nseries < d->maxser)
        snprintf(d->series[d->nseries++], 256, "%s", key);
    return 0;
}

/* 0 when every line is well formed: HELP/TYPE comments before a family's
 * samples, TYPE known, samples of a family contiguous, label syntax and
 * escapes valid, values numbers, no duplicate series. Counts families and
 * samples; prints the first problem. */
static int prom_parse(const char *text, prom_family *fam, int *nfam, int maxfam,
                      char series[][256], int *nseries, int maxser)
{
    prom_doc d = {fam, 0, maxfam, series, 0, maxser};
    char line[4096];
    const char *p = text;
    int lineno = 0, rc = 0;
    while (*p && rc == 0) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            fprintf(stderr, "prom: last line without newline\n");
            rc = -1;
            break;
        }
        size_t n = (size_t)(nl - p);
        if (n >= sizeof line) {
            rc = -1;
            break;
        }
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl + 1;
        lineno++;
        if (n > 0)
            rc = line[0] == '#' ? prom_meta(&d, line, lineno)
                                : prom_sample(&d, line, lineno);
    }
    *nfam = d.nfam;
    *nseries = d.nseries;
    return rc;
}

/* A sample's value, or NAN. `series` is the exact text before the value. */
static double prom_value(const char *text, const char *series)
{
    char needle[300];
    snprintf(needle, sizeof needle, "\n%s ", series);
    const char *p = strstr(text, needle);
    return p ? strtod(p + strlen(needle), NULL) : NAN;
}

static void self_test_parser(void)
{
    prom_family fam[8];
    char ser[16][256];
    int nf, ns;
    CHECK(prom_parse("# HELP a x\n# TYPE a gauge\na 1\na{b=\"c\\\"\"} 2\n", fam,
                     &nf, 8, ser, &ns, 16) == 0);
    CHECK_INT_EQ(ns, 2);
    /* what it must reject */
    const char *bad[] = {
        "a 1\n",                                 /* no TYPE */
        "# TYPE a gauge\na one\n",               /* value */
        "# TYPE a gauge\na{b=c} 1\n",            /* unquoted label */
        "# TYPE a gauge\na 1\na 2\n",            /* duplicate series */
        "# TYPE a gauge\n# TYPE b gauge\na 1\n", /* not contiguous */
        "# TYPE a gauge\na 1",                   /* no final newline */
        "# TYPE a fancy\na 1\n",                 /* unknown type */
        "# TYPE 1a gauge\n",                     /* name */
        "# TYPE a gauge\na{b=\"\\x\"} 1\n",      /* escape */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(prom_parse(bad[i], fam, &nf, 8, ser, &ns, 16) != 0);
}

/* Shared by the cases, which run in order and build on each other. */
static char dsn[1024];
static char cfg[128], log_path[128];
static pid_t pid;
static int port;

static void parser_accepts_and_rejects(void)
{
    self_test_parser();
}

static void init_and_seed(void)
{
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);

    /* Rows for the endpoints: two topics, three alerts, tasks, scores, runs. */
    testdb_exec(
        dsn,
        "INSERT INTO vigil.topics (topic_id, label, terms, size) VALUES "
        " (1, 'billing errors', '{invoice,charge}', 40),"
        " (2, 'login trouble', '{password,sso}', 25);"
        "INSERT INTO vigil.trend_alerts (alert_id, topic_id, detected_at, "
        " window_start, window_end, observed, expected, p_value, customers, "
        " mrr_at_risk, sample_ticket_ids, status) VALUES "
        " (10, 1, '2025-05-01', '2025-04-28', '2025-04-30', 30, 9.5, 1e-6, 12,"
        "  3400.5, '{T1,T2}', 'resolved'),"
        " (11, 2, '2025-05-20', '2025-05-18', '2025-05-20', 18, 4.0, 1e-4, 7,"
        "  900, '{T3}', 'open'),"
        " (12, 1, '2025-06-01', '2025-05-30', '2025-06-01', 22, 6.0, 1e-5, 9,"
        "  1200, '{T4}', 'open');"
        "INSERT INTO vigil.outreach_tasks (customer_id, priority, playbook, "
        " assignee, status, dedupe_key, outcome) VALUES "
        " ('C1', 0.9, 'call', 'ann', 'assigned', 'k1', NULL),"
        " ('C2', 0.5, 'email', NULL, 'open', 'k2', NULL),"
        " ('C3', 0.7, 'call', 'bob', 'assigned', 'k3', NULL),"
        " ('C4', 0.8, 'call', 'ann', 'done', 'k4', 'renewed');"
        "INSERT INTO vigil.models (model_id, as_of, horizon_days, features, "
        " params, metrics, booster) VALUES (1, '2025-06-01', 30, '[]', '{}', "
        " '{}', '\\x00');"
        "INSERT INTO vigil.scores (as_of, customer_id, model_id, churn_risk, "
        " health, tier) VALUES ('2025-05-01', 'C9', 1, 0.9, 10, 'critical'),"
        " ('2025-06-01', 'C1', 1, 0.6, 30, 'critical'),"
        " ('2025-06-01', 'C2', 1, 0.05, 95, 'healthy'),"
        " ('2025-06-01', 'C3', 1, 0.06, 94, 'healthy');"
        "INSERT INTO vigil.job_runs (job, as_of, started_at, finished_at, "
        " status, error) VALUES "
        " ('train', '2025-06-01', '2025-06-01 04:00', '2025-06-01 04:00:30', "
        "  'ok', NULL),"
        " ('we\"ird\\job', '2025-06-01', '2025-06-01 05:00', "
        "  '2025-06-01 05:00:02', 'failed', 'boom')");
}

static void serve_starts_listening(void)
{
    /* catch_up none: the topics job must not start, only be scheduled. */
    sv_write(cfg, "{\"schedule\": {\"train\": null, \"daily\": null, "
                  "\"topics\": \"0 3 * * *\", \"catch_up\": \"none\"},"
                  " \"http\": {\"listen\": \"127.0.0.1:0\", \"token\": "
                  "\"s3cret-token\"}}");
    pid = sv_start(dsn, cfg, log_path, NULL);
    port = sv_port(log_path);
    CHECK(port > 0);
}

/* The running vigil was executed with OpenMP's waiting threads asleep
 * (service/main.c): /proc shows the environment a process was executed
 * with, so a setenv after libgomp loaded would not show here. */
static void openmp_threads_sleep_when_waiting(void)
{
    char path[64], env[65536];
    const char *mine = getenv("OMP_WAIT_POLICY");
    char want[128];
    snprintf(want, sizeof want, "OMP_WAIT_POLICY=%s", mine ? mine : "passive");
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    size_t n = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    int found = 0;
    env[n] = '\0';
    for (size_t i = 0; i < n; i += strlen(env + i) + 1)
        if (strcmp(env + i, want) == 0)
            found = 1;
    CHECK(found);
}

static void bearer_token_required(void)
{
    /* ---- the token ------------------------------------------------------ */
    const char *paths[] = {"/healthz", "/metrics", "/alerts", "/queue"};
    for (int i = 0; i < 4; i++) {
        sv_http *r = sv_request(port, "GET", paths[i], NULL, NULL);
        CHECK_INT_EQ(r->status, 401);
        CHECK(strstr(r->headers, "WWW-Authenticate: Bearer") != NULL);
        CHECK_INT_EQ(
            sv_request(port, "GET", paths[i], "s3cret-tokeN", NULL)->status,
            401);
        CHECK_INT_EQ(
            sv_request(port, "GET", paths[i], "s3cret-token-and-more", NULL)
                ->status,
            401);
        CHECK_INT_EQ(sv_request(port, "GET", paths[i], "", NULL)->status, 401);
        CHECK_INT_EQ(
            sv_request(port, "GET", paths[i], "s3cret-token", NULL)->status,
            200);
    }
    CHECK_INT_EQ(
        sv_request(port, "GET", "/", NULL, "Authorization: Basic czNjcmV0\r\n")
            ->status,
        401);
}

static void unknown_path_and_method(void)
{
    CHECK_INT_EQ(sv_request(port, "GET", "/nope", "s3cret-token", NULL)->status,
                 404);
    CHECK_INT_EQ(
        sv_request(port, "POST", "/healthz", "s3cret-token", NULL)->status,
        405);
}

static void healthz_shape(void)
{
    /* ---- /healthz ------------------------------------------------------- */
    sv_http *r = sv_request(port, "GET", "/healthz", "s3cret-token", NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    CHECK(j != NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "status")), "ok");
    CHECK_STR_EQ(json_string_value(json_object_get(j, "database")), "ok");
    json_t *jobs = json_object_get(j, "jobs");
    json_t *tr = json_object_get(jobs, "train");
    CHECK_STR_EQ(json_string_value(json_object_get(tr, "last_success")),
                 "2025-06-01T04:00:30Z");
    CHECK(json_is_null(json_object_get(tr, "schedule")));
    json_t *tp = json_object_get(jobs, "topics");
    CHECK_STR_EQ(json_string_value(json_object_get(tp, "schedule")),
                 "0 3 * * *");
    const char *next = json_string_value(json_object_get(tp, "next_run"));
    CHECK(next && strlen(next) == 20 && strstr(next, "T03:00:00Z"));
    CHECK(json_is_null(json_object_get(tp, "running_here")));
    json_decref(j);
}

static void metrics_strict_text_format(void)
{
    /* ---- /metrics ------------------------------------------------------- */
    sv_http *r = sv_request(port, "GET", "/metrics", "s3cret-token", NULL);
    CHECK_INT_EQ(r->status, 200);
    CHECK(strstr(r->headers, "text/plain; version=0.0.4") != NULL);
    static prom_family fam[64];
    static char ser[256][256];
    int nf = 0, ns = 0;
    CHECK_INT_EQ(prom_parse(r->body, fam, &nf, 64, ser, &ns, 256), 0);
    CHECK(nf >= 10);
    static char text[(1 << 18) + 8];
    snprintf(text, sizeof text, "\n%s", r->body);
    CHECK_NEAR(prom_value(text, "vigil_up"), 1, 0);
    CHECK_NEAR(prom_value(text, "vigil_database_up"), 1, 0);
    CHECK_NEAR(prom_value(text, "vigil_job_runs_total{job=\"train\",status="
                                "\"ok\"}"),
               1, 0);
    CHECK_NEAR(prom_value(text, "vigil_job_runs_total{job=\"we\\\"ird\\\\job\","
                                "status=\"failed\"}"),
               1, 0);
    CHECK_NEAR(prom_value(text, "vigil_job_last_success_timestamp_seconds{job="
                                "\"train\"}"),
               1748750430, 0.5);
    CHECK_NEAR(
        prom_value(text, "vigil_job_last_duration_seconds{job=\"train\"}"), 30,
        0.01);
    CHECK_NEAR(prom_value(text, "vigil_customers_by_tier{tier=\"critical\"}"),
               1, 0);
    CHECK_NEAR(prom_value(text, "vigil_customers_by_tier{tier=\"healthy\"}"), 2,
               0);
    CHECK_NEAR(prom_value(text, "vigil_customers_by_tier{tier=\"watch\"}"), 0,
               0);
    CHECK_NEAR(prom_value(text, "vigil_outreach_tasks_open"), 3, 0);
    CHECK_NEAR(prom_value(text, "vigil_trend_alerts_open"), 2, 0);
}

static void alerts_json_feed_newest_first(void)
{
    /* ---- /alerts (JSON Feed 1.1), newest first, filters ------------------ */
    sv_http *r = sv_request(port, "GET", "/alerts", "s3cret-token", NULL);
    CHECK(strstr(r->headers, "application/feed+json") != NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "version")),
                 "https://jsonfeed.org/version/1.1");
    json_t *items = json_object_get(j, "items");
    CHECK_INT_EQ(json_array_size(items), 3);
    const char *ids[3] = {"12", "11", "10"};
    for (size_t i = 0; i < 3 && i < json_array_size(items); i++) {
        json_t *it = json_array_get(items, i);
        CHECK_STR_EQ(json_string_value(json_object_get(it, "id")), ids[i]);
        CHECK(json_string_value(json_object_get(it, "title")) != NULL);
        CHECK(json_string_value(json_object_get(it, "content_text")) != NULL);
    }
    json_t *first = json_array_get(items, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(first, "date_published")),
                 "2025-06-01T00:00:00Z");
    CHECK(strstr(json_string_value(json_object_get(first, "title")),
                 "billing errors") != NULL);
    json_t *raw = json_object_get(first, "_vigil");
    CHECK_INT_EQ(json_integer_value(json_object_get(raw, "observed")), 22);
    CHECK_STR_EQ(json_string_value(json_array_get(
                     json_object_get(raw, "sample_ticket_ids"), 0)),
                 "T4");
    json_decref(j);
}

static void alerts_filters(void)
{
    sv_http *r = sv_request(port, "GET", "/alerts?status=open&since=2025-05-21",
                            "s3cret-token", NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    json_t *items = json_object_get(j, "items");
    CHECK_INT_EQ(json_array_size(items), 1);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(items, 0), "id")),
        "12");
    json_decref(j);
    r = sv_request(port, "GET", "/alerts?status=resolved", "s3cret-token",
                   NULL);
    j = json_loads(r->body, 0, NULL);
    CHECK_INT_EQ(json_array_size(json_object_get(j, "items")), 1);
    json_decref(j);
    CHECK_INT_EQ(
        sv_request(port, "GET", "/alerts?status=x", "s3cret-token", NULL)
            ->status,
        400);
    CHECK_INT_EQ(sv_request(port, "GET", "/alerts?since=2025-13-01",
                            "s3cret-token", NULL)
                     ->status,
                 400);
    /* SQL stays parameterised: a quote is just an unknown status value. */
    CHECK_INT_EQ(
        sv_request(port, "GET", "/alerts?status=open'--", "s3cret-token", NULL)
            ->status,
        400);
}

static void queue_by_assignee(void)
{
    /* ---- /queue ---------------------------------------------------------- */
    sv_http *r = sv_request(port, "GET", "/queue", "s3cret-token", NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "count")), 3);
    json_t *tasks = json_object_get(j, "tasks");
    CHECK_STR_EQ(json_string_value(
                     json_object_get(json_array_get(tasks, 0), "customer_id")),
                 "C1"); /* highest priority first */
    json_decref(j);
    r = sv_request(port, "GET", "/queue?assignee=ann", "s3cret-token", NULL);
    j = json_loads(r->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
    r = sv_request(port, "GET", "/queue?assignee=", "s3cret-token", NULL);
    j = json_loads(r->body, 0, NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "count")), 1);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_array_get(json_object_get(j, "tasks"), 0), "customer_id")),
        "C2");
    json_decref(j);
}

static void sighup_broken_file_keeps_old_config(void)
{
    /* ---- SIGHUP: a broken file is rejected, the old config keeps serving --
     */
    sv_write(cfg, "{\"schedule\": {\"train\": null, \"daily\": null, "
                  "\"topics\": \"0 25 * * *\"},"
                  " \"http\": {\"listen\": \"127.0.0.1:0\", \"token\": "
                  "\"other\"}}");
    kill(pid, SIGHUP);
    CHECK(sv_wait_log(log_path, "configuration rejected", 10));
    const char *l = sv_log(log_path);
    CHECK(strstr(l, cfg) != NULL && strstr(l, "key 'schedule.topics'") &&
          strstr(l, "hour 25 is out of range"));
    CHECK_INT_EQ(
        sv_request(port, "GET", "/healthz", "s3cret-token", NULL)->status, 200);
    CHECK_INT_EQ(sv_request(port, "GET", "/healthz", "other", NULL)->status,
                 401);
    sv_http *r = sv_request(port, "GET", "/healthz", "s3cret-token", NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_object_get(j, "jobs"), "topics"), "schedule")),
        "0 3 * * *");
    json_decref(j);
}

static void sighup_rejects_bad_json_and_bad_key(void)
{
    /* Not JSON at all, and an unknown key: also rejected. */
    sv_write(cfg, "{\"http\": {\"listen\": \"127.0.0.1:0\"");
    kill(pid, SIGHUP);
    CHECK(sv_wait_log(log_path, "keeping the running one: ", 10));
    sv_write(cfg, "{\"serve\": {\"max_retries\": -1}}");
    kill(pid, SIGHUP);
    CHECK(sv_wait_log(log_path, "key 'serve.max_retries' must be between", 10));
}

static void sighup_good_file_applies(void)
{
    /* A good file: the new token and schedule apply without a restart. */
    sv_write(cfg, "{\"schedule\": {\"train\": null, \"daily\": null, "
                  "\"topics\": \"30 4 * * *\", \"catch_up\": \"none\"},"
                  " \"http\": {\"listen\": \"127.0.0.1:0\", \"token\": "
                  "\"other\"}}");
    kill(pid, SIGHUP);
    CHECK(sv_wait_log(log_path, "configuration reloaded", 10));
    CHECK_INT_EQ(sv_request(port, "GET", "/healthz", "other", NULL)->status,
                 200);
    CHECK_INT_EQ(
        sv_request(port, "GET", "/healthz", "s3cret-token", NULL)->status, 401);
    sv_http *r = sv_request(port, "GET", "/healthz", "other", NULL);
    json_t *j = json_loads(r->body, 0, NULL);
    CHECK_STR_EQ(
        json_string_value(json_object_get(
            json_object_get(json_object_get(j, "jobs"), "topics"), "schedule")),
        "30 4 * * *");
    json_decref(j);
}

static void token_never_logged(void)
{
    /* The token never reaches the log. */
    CHECK(strstr(sv_log(log_path), "s3cret-token") == NULL);
    CHECK(strstr(sv_log(log_path), "\"other\"") == NULL);
}

static void stop_then_nothing_answers(void)
{
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
    /* After the stop nothing answers. */
    CHECK_INT_EQ(sv_request(port, "GET", "/healthz", "other", NULL)->status, 0);
}

static void bad_config_at_start_exits_3(void)
{
    /* A bad configuration at start: exit 3, naming key and file. */
    sv_write(cfg, "{\"schedule\": {\"timezone\": \"Mars/Olympus\"}}");
    cli_result *cr = cli_run(dsn, "--config /nonexistent.json serve");
    CHECK(cr->status != 0);
    char args[256];
    snprintf(args, sizeof args, "--config %s serve", cfg);
    cr = cli_run(dsn, args);
    CHECK_INT_EQ(cr->status, 3);
    CHECK(strstr(cr->err, "key 'schedule.timezone'") != NULL);
}

static void job_section_mistake_stops_start(void)
{
    char args[256];
    snprintf(args, sizeof args, "--config %s serve", cfg);
    /* A mistake in a section only a job reads stops the service too, at
     * start rather than at the first daily run. */
    sv_write(cfg, "{\"outreach\": {\"playbooks\": [{\"name\": \"x\", "
                  "\"trigger\": {\"type\": \"no_such_trigger\"}}]}}");
    cli_result *cr = cli_run(dsn, args);
    CHECK_INT_EQ(cr->status, 3);
    CHECK(strstr(cr->err, "outreach.playbooks[0]") != NULL &&
          strstr(cr->err, cfg) != NULL);
}

int main(void)
{
    const char *dsn0 = testdb_fresh("vt_serve_http");
    snprintf(dsn, sizeof dsn, "%s", dsn0);
    snprintf(cfg, sizeof cfg, "/tmp/vt_serve_http_%d.json", (int)getpid());
    snprintf(log_path, sizeof log_path, "/tmp/vt_serve_http_%d.log",
             (int)getpid());
    static const check_case cases[] = {
        CHECK_CASE(parser_accepts_and_rejects),
        CHECK_CASE(init_and_seed),
        CHECK_CASE(serve_starts_listening),
        CHECK_CASE(openmp_threads_sleep_when_waiting),
        CHECK_CASE(bearer_token_required),
        CHECK_CASE(unknown_path_and_method),
        CHECK_CASE(healthz_shape),
        CHECK_CASE(metrics_strict_text_format),
        CHECK_CASE(alerts_json_feed_newest_first),
        CHECK_CASE(alerts_filters),
        CHECK_CASE(queue_by_assignee),
        CHECK_CASE(sighup_broken_file_keeps_old_config),
        CHECK_CASE(sighup_rejects_bad_json_and_bad_key),
        CHECK_CASE(sighup_good_file_applies),
        CHECK_CASE(token_never_logged),
        CHECK_CASE(stop_then_nothing_answers),
        CHECK_CASE(bad_config_at_start_exits_3),
        CHECK_CASE(job_section_mistake_stops_start),
    };
    int rc = check_run("db_serve_http", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    remove(log_path);
    return rc;
}
