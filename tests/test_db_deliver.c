/* test_db_deliver.c — webhook delivery against a local HTTP receiver started
 * here: a 503, a lost response (processed, then the connection dropped) and
 * retries with backoff still give exactly one accepted delivery per
 * idempotency key; connection refused and 4xx are given up with the error
 * kept; --retry-failed sends them again; the Slack shape. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

static char cfg_path[256], log_path[256];

/* ---- the receiver: a child process, one connection at a time ------------- */

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(fd, 16) != 0 || getsockname(fd, (struct sockaddr *)&a, &n)) {
        perror("receiver");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static void header(const char *req, const char *name, char *out, size_t n)
{
    out[0] = '\0';
    for (const char *p = req; p && *p; p = strstr(p, "\r\n")) {
        p += (p[0] == '\r') ? 2 : 0;
        if (strncasecmp(p, name, strlen(name)) == 0 && p[strlen(name)] == ':') {
            const char *v = p + strlen(name) + 1;
            while (*v == ' ')
                v++;
            size_t k = strcspn(v, "\r\n");
            snprintf(out, n, "%.*s", (int)(k < n ? k : n - 1), v);
            return;
        }
    }
}

/* Request 1 gets a 503; request 2 is processed but its answer is lost (the
 * connection closes); a path /gone answers 410; everything else is
 * accepted once per Idempotency-Key (a repeat is acknowledged, not
 * created). Each request is one log line: n key action body-start. */
static void receiver(int lfd)
{
    char created[64][128];
    int ncreated = 0, n = 0;
    FILE *log = fopen(log_path, "a");
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        static char buf[1 << 17];
        size_t len = 0;
        long want = -1;
        for (;;) {
            ssize_t k = read(fd, buf + len, sizeof buf - 1 - len);
            if (k <= 0)
                break;
            len += (size_t)k;
            buf[len] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            if (end && want < 0) {
                char cl[32];
                header(buf, "Content-Length", cl, sizeof cl);
                want = (long)(end + 4 - buf) + atol(cl);
            }
            if (want >= 0 && (long)len >= want)
                break;
        }
        n++;
        char key[128], *body = strstr(buf, "\r\n\r\n");
        header(buf, "Idempotency-Key", key, sizeof key);
        const char *action;
        int dup = 0;
        for (int i = 0; i < ncreated; i++)
            dup |= strcmp(created[i], key) == 0;
        if (strncmp(buf, "POST /gone", 10) == 0)
            action = "gone";
        else if (n == 1)
            action = "fail";
        else if (dup)
            action = "duplicate";
        else
            action = n == 2 ? "lost" : "created";
        if ((!strcmp(action, "lost") || !strcmp(action, "created")) &&
            ncreated < 64)
            snprintf(created[ncreated++], sizeof created[0], "%s", key);
        fprintf(log, "%d %s %s %.40s\n", n, key, action, body ? body + 4 : "");
        fflush(log);
        const char *resp =
            !strcmp(action, "fail")
                ? "HTTP/1.1 503 Busy\r\nContent-Length: 4\r\nConnection: "
                  "close\r\n\r\nbusy"
            : !strcmp(action, "gone")
                ? "HTTP/1.1 410 Gone\r\nContent-Length: 4\r\nConnection: "
                  "close\r\n\r\ngone"
            : !strcmp(action, "lost")
                ? NULL
                : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: "
                  "close\r\n\r\nok";
        if (resp && write(fd, resp, strlen(resp)) < 0)
            perror("receiver write");
        close(fd);
    }
}

/* ---- helpers --------------------------------------------------------------
 */

static void write_config(int to_port, const char *path, int attempts,
                         const char *format)
{
    cli_config(cfg_path, sizeof cfg_path, "notify",
               "{\"notify\": {\"webhook\": {\"url\": "
               "\"http://127.0.0.1:%d%s\", \"format\": \"%s\", "
               "\"max_attempts\": %d, \"backoff_seconds\": 0.05, "
               "\"timeout_seconds\": 2}}}",
               to_port, path, format, attempts);
}

static json_t *deliver(const char *dsn, const char *extra)
{
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --config %s deliver --wait 20 %s --json", cfg_path,
             extra);
    return cli_json_ok(dsn, args);
}

static long jl(json_t *j, const char *k)
{
    return (long)json_integer_value(json_object_get(j, k));
}

/* Lines of the receiver's log containing `what`. */
static int log_count(const char *what)
{
    char line[512];
    int n = 0;
    FILE *f = fopen(log_path, "r");
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, what) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* the receiver's port and one nobody listens on; the cases run in order on
 * one queue */
static const char *dsn;
static int port, dead_port;

static void tasks_and_deliveries_queued_together(void)
{
    /* tasks and their deliveries are queued in one transaction */
    write_config(port, "/hook", 5, "json");
    char args[512];
    snprintf(args, sizeof args,
             "--quiet --config %s outreach --as-of 2025-03-10 --json",
             cfg_path);
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK_INT_EQ(jl(j, "created"), 3);
    CHECK_INT_EQ(jl(j, "deliveries_queued"), 3);
    json_decref(j);
}

/* 503, a lost answer, retries: one accepted delivery per key. */
static void retries_give_one_delivery_per_key(void)
{
    /* an open trend alert is delivered too */
    testdb_exec(dsn, "INSERT INTO vigil.topics (topic_id, label) VALUES (7, "
                     "'login loop'); INSERT INTO vigil.trend_alerts "
                     "(alert_id, topic_id, detected_at, observed, expected, "
                     "customers, status) VALUES (1, 7, '2025-03-10', 30, 4.5, "
                     "12, 'open')");

    json_t *j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "queued"), 1); /* the alert */
    CHECK_INT_EQ(jl(j, "delivered"), 4);
    CHECK_INT_EQ(jl(j, "retried"), 2);
    CHECK_INT_EQ(jl(j, "attempted"), 6);
    CHECK_INT_EQ(jl(j, "gave_up"), 0);
    CHECK_INT_EQ(jl(j, "pending"), 0);
    json_decref(j);
    CHECK_INT_EQ(log_count(" fail "), 1);
    CHECK_INT_EQ(log_count(" lost "), 1);
    CHECK_INT_EQ(log_count(" duplicate "), 1);
    /* exactly one creation per key: 3 tasks + 1 alert */
    CHECK_INT_EQ(log_count(" created ") + log_count(" lost "), 4);
    CHECK_INT_EQ(
        log_count("vigil-task-1 created") + log_count("vigil-task-1 lost"), 1);
    CHECK_INT_EQ(log_count("vigil-alert-1 created"), 1);
    CHECK(log_count("{\"task\": {\"body\"") + log_count("{\"event\"") > 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT sum(attempts) || '/' || "
                                   "count(delivered_at) FROM vigil.deliveries"),
                 "6/4");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.deliveries "
                                   "WHERE last_status = 200"),
                 "4");
}

static void nothing_left_to_deliver(void)
{
    /* again: nothing to do */
    json_t *j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "attempted"), 0);
    CHECK_INT_EQ(jl(j, "queued"), 0);
    json_decref(j);
}

/* Connection refused: retried, then given up with the error. */
static void connection_refused_gives_up_with_error(void)
{
    testdb_exec(dsn, "DELETE FROM vigil.deliveries");
    write_config(dead_port, "/hook", 3, "json");
    json_t *j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "queued"), 4);
    CHECK_INT_EQ(jl(j, "gave_up"), 4);
    CHECK_INT_EQ(jl(j, "attempted"), 12);
    json_decref(j);
    CHECK(strstr(testdb_value(dsn, "SELECT min(last_error) FROM "
                                   "vigil.deliveries"),
                 "onnect") != NULL);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.deliveries "
                                   "WHERE attempts = 3 AND gave_up_at IS NOT "
                                   "NULL AND delivered_at IS NULL"),
                 "4");
}

/* 4xx: given up at once. */
static void client_error_gives_up_at_once(void)
{
    testdb_exec(dsn, "DELETE FROM vigil.deliveries");
    write_config(port, "/gone", 5, "json");
    json_t *j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "gave_up"), 4);
    CHECK_INT_EQ(jl(j, "attempted"), 4);
    json_decref(j);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.deliveries "
                                   "WHERE last_status = 410 AND last_error "
                                   "LIKE 'HTTP 410%'"),
                 "4");
}

/* --retry-failed, Slack-shaped: the receiver already has them all. */
static void retry_failed_in_slack_shape(void)
{
    write_config(port, "/hook", 5, "slack");
    json_t *j = deliver(dsn, "--retry-failed");
    CHECK_INT_EQ(jl(j, "retried_failed"), 4);
    CHECK_INT_EQ(jl(j, "delivered"), 4);
    json_decref(j);
    CHECK_INT_EQ(log_count(" created ") + log_count(" lost "), 4);
    CHECK_INT_EQ(log_count(" duplicate {\"text\":\"*"), 4);
}

/* A webhook configured for the first time: no backlog. */
static void new_webhook_has_no_backlog(void)
{
    testdb_exec(dsn, "DELETE FROM vigil.deliveries; "
                     "DELETE FROM vigil.delivery_targets");
    json_t *j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "queued"), 0); /* 3 open tasks and 1 alert: backlog */
    json_decref(j);
    /* what is created from then on is delivered */
    testdb_exec(dsn, "UPDATE vigil.trend_alerts SET status = 'resolved' "
                     "WHERE alert_id = 1");
    testdb_exec(dsn,
                "INSERT INTO vigil.outreach_tasks (customer_id, playbook, "
                " dedupe_key, priority) VALUES ('C', 'manual', 'manual:C', 1);"
                "INSERT INTO vigil.trend_alerts (alert_id, topic_id, "
                " detected_at, observed, expected, customers, status) VALUES "
                " (2, 7, '2025-03-11', 30, 4.5, 12, 'resolved'), "
                " (3, 7, '2025-03-12', 20, 4.0, 9, 'open')");
    j = deliver(dsn, "");
    CHECK_INT_EQ(jl(j, "queued"), 2);
    json_decref(j);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT string_agg(idempotency_key, ' ' "
                                   "ORDER BY idempotency_key) FROM "
                                   "vigil.deliveries"),
                 "vigil-alert-3 vigil-task-4");
}

int main(void)
{
    dsn = testdb_fresh("vt_notify");
    snprintf(log_path, sizeof log_path, "/tmp/vt_notify_%d.log", (int)getpid());
    remove(log_path);
    int lfd = listen_any(&port);
    pid_t rpid = fork();
    if (rpid == 0) {
        receiver(lfd);
        _exit(0);
    }
    close(lfd);
    /* a port nobody listens on: bind one, then close it */
    close(listen_any(&dead_port));

    cli_result *r = cli_run(dsn, "init");
    CHECK_INT_EQ(r->status, 0);
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(
        dsn,
        "INSERT INTO public.customers VALUES "
        " ('A', 'Acme', '2024-01-01', NULL, 'pro', 1000, 1, 'en'),"
        " ('B', 'Bolt', '2024-01-01', NULL, 'pro', 500, 1, 'en'),"
        " ('C', 'Core', '2024-01-01', NULL, 'pro', 200, 1, 'en');"
        "INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, "
        " tier) SELECT '2025-03-10', id, 0.6, 23, 'critical' FROM "
        " unnest('{A,B,C}'::text[]) id;"
        "INSERT INTO vigil.specialists (specialist_id, languages) VALUES "
        " ('s1', '{en}')");

    static const check_case cases[] = {
        CHECK_CASE(tasks_and_deliveries_queued_together),
        CHECK_CASE(retries_give_one_delivery_per_key),
        CHECK_CASE(nothing_left_to_deliver),
        CHECK_CASE(connection_refused_gives_up_with_error),
        CHECK_CASE(client_error_gives_up_at_once),
        CHECK_CASE(retry_failed_in_slack_shape),
        CHECK_CASE(new_webhook_has_no_backlog),
    };
    int rc = check_run("db_deliver", cases, sizeof cases / sizeof cases[0]);
    kill(rpid, SIGKILL);
    waitpid(rpid, NULL, 0);
    remove(cfg_path);
    remove(log_path);
    return rc;
}
