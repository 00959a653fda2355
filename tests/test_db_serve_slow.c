/* test_db_serve_slow.c — slow clients and a locked database never stall
 * /healthz. 200 loopback clients hold connections open mid-request, the
 * ledger and the queue tables are locked, three /queue requests hold the
 * three database workers: /healthz still answers from memory in under
 * 100 ms, and the waiting ones end by the routes' statement timeout. */
#include <pthread.h>

#include "cli.h"
#include "serve_helpers.h"

#define SLOW 200

static int port;

/* One whole request on its own buffers (threads); the status, 0 if none. */
static int fetch(const char *path, char *body, size_t cap)
{
    int fd = sv_dial(port);
    if (fd < 0)
        return 0;
    char req[256];
    int n =
        snprintf(req, sizeof req,
                 "GET %s HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n", path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return 0;
    }
    size_t got = 0;
    ssize_t k;
    while (got + 1 < cap && (k = read(fd, body + got, cap - 1 - got)) > 0)
        got += (size_t)k;
    body[got] = '\0';
    close(fd);
    int status = 0;
    sscanf(body, "HTTP/1.%*d %d", &status);
    return status;
}

typedef struct waiter {
    pthread_t th;
    int status;
    double seconds;
} waiter;

static void *queue_waiter(void *arg)
{
    waiter *w = arg;
    static __thread char body[1 << 16];
    double t0 = sv_now();
    w->status = fetch("/queue", body, sizeof body);
    w->seconds = sv_now() - t0;
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* One serve, its slow clients, the connection holding the locks and the
 * requests waiting on them: the cases run in order, each a stage. */
static const char *dsn;
static pid_t serve_pid;
static int slow[SLOW];
static PGconn *locker;
static waiter w[3];
static char body[1 << 16];

/* 200 clients stuck halfway through their request headers. */
static void slow_clients_stay_connected(void)
{
    int open_n = 0;
    for (int i = 0; i < SLOW; i++) {
        slow[i] = sv_dial(port);
        if (slow[i] >= 0 &&
            write(slow[i], "GET /queue HTTP/1.1\r\nHo", 23) == 23)
            open_n++;
    }
    CHECK_INT_EQ(open_n, SLOW);
}

/* The tables behind every endpoint, locked; all three database slots
 * taken: wait until PostgreSQL shows them. */
static void database_requests_wait_on_locks(void)
{
    locker = PQconnectdb(dsn);
    PGresult *r = PQexec(locker, "BEGIN; LOCK TABLE vigil.job_runs, "
                                 "vigil.outreach_tasks, vigil.scores, "
                                 "vigil.trend_alerts IN ACCESS EXCLUSIVE MODE");
    CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    for (int i = 0; i < 3; i++)
        pthread_create(&w[i].th, NULL, queue_waiter, &w[i]);
    CHECK(sv_wait_sql(dsn,
                      "SELECT count(*) >= 3 FROM pg_stat_activity WHERE "
                      "application_name = 'vigil/http' AND wait_event_type "
                      "= 'Lock'",
                      "t", 30));
}

static void healthz_answers_while_stuck(void)
{
    double ms[21];
    int ok = 0;
    for (int i = 0; i < 21; i++) {
        double t0 = sv_now();
        int st = fetch("/healthz", body, sizeof body);
        ms[i] = (sv_now() - t0) * 1000;
        json_t *j = json_loads(
            strstr(body, "\r\n\r\n") ? strstr(body, "\r\n\r\n") : body, 0,
            NULL);
        if ((st == 200 || st == 503) && j && json_object_get(j, "jobs") &&
            json_object_get(j, "database_checked_at"))
            ok++;
        json_decref(j);
    }
    qsort(ms, 21, sizeof *ms, cmp_double);
    fprintf(stderr,
            "/healthz with %d slow clients, locked tables, 3 waiting "
            "requests: median %.2f ms, max %.2f ms\n",
            SLOW, ms[10], ms[20]);
    CHECK_INT_EQ(ok, 21);
    CHECK(ms[20] < 100);
}

/* The waiting requests end with the statement timeout (5 s). */
static void waiting_requests_time_out(void)
{
    for (int i = 0; i < 3; i++) {
        pthread_join(w[i].th, NULL);
        CHECK_INT_EQ(w[i].status, 503); /* the statement timeout, 5 s */
        CHECK(w[i].seconds < 15);
    }
    PGresult *r = PQexec(locker, "ROLLBACK");
    CHECK_INT_EQ(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(locker);
    for (int i = 0; i < SLOW; i++)
        if (slow[i] >= 0)
            close(slow[i]);
}

/* Unlocked: the database routes answer again, and serve stops cleanly. */
static void unlocked_routes_answer_again(void)
{
    CHECK_INT_EQ(fetch("/queue", body, sizeof body), 200);
    CHECK_INT_EQ(sv_stop(serve_pid, SIGTERM, 30), 0);
}

int main(void)
{
    dsn = testdb_fresh("vt_serve_slow");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    char cfg[64], log[64];
    snprintf(cfg, sizeof cfg, "/tmp/vigil-slow-%d.json", (int)getpid());
    snprintf(log, sizeof log, "/tmp/vigil-slow-%d.log", (int)getpid());
    sv_write(cfg, "{\"schedule\": {\"train\": null, \"daily\": null, "
                  "\"topics\": null}, \"http\": {\"listen\": "
                  "\"127.0.0.1:0\", \"token\": \"tok\"}}");
    serve_pid = sv_start(dsn, cfg, log, NULL);
    port = sv_port(log);
    CHECK(port > 0);
    CHECK_INT_EQ(fetch("/healthz", body, sizeof body), 200);

    static const check_case cases[] = {
        CHECK_CASE(slow_clients_stay_connected),
        CHECK_CASE(database_requests_wait_on_locks),
        CHECK_CASE(healthz_answers_while_stuck),
        CHECK_CASE(waiting_requests_time_out),
        CHECK_CASE(unlocked_routes_answer_again),
    };
    int rc = check_run("db_serve_slow", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    remove(log);
    return rc;
}
