/* test_db_libpq.c — libpq hygiene: a database that accepts TCP and never
 * answers gives the CLI a clear exit within 30 s and keeps `serve` up,
 * logging every retry; a job's session is named vigil/<job>/<run_id>; a
 * statement stuck behind a lock is canceled by db.statement_timeout and the
 * run is recorded as failed with a one-line reason. */
#include <pthread.h>

#include "cli.h"
#include "serve_helpers.h"

/* The hung database: accepts connections and never says a word. */
static int hung_fd = -1;

static void *hung_accept(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(hung_fd, NULL, NULL);
        if (c < 0)
            return NULL; /* the connection is leaked on purpose: held open */
    }
}

static int hung_start(void)
{
    hung_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(hung_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(hung_fd, 64) != 0 ||
        getsockname(hung_fd, (struct sockaddr *)&a, &len) != 0) {
        perror("hung listener");
        exit(1);
    }
    pthread_t t;
    pthread_create(&t, NULL, hung_accept, NULL);
    pthread_detach(t);
    return ntohs(a.sin_port);
}

static void hung_cli(int port)
{
    char dsn[256];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%d dbname=vigil user=vigil_app", port);
    double t0 = sv_now();
    cli_result *r = cli_run(dsn, "--quiet score --as-of 2025-06-01");
    double took = sv_now() - t0;
    fprintf(stderr, "hung database: CLI exited %d after %.1f s\n", r->status,
            took);
    CHECK(r->status != 0 && r->status != -1);
    CHECK(took < 30);
    CHECK(strstr(r->err, "cannot connect to PostgreSQL") != NULL);
    CHECK(strstr(r->err, "timeout") != NULL);
    CHECK(strchr(r->err, '\n') == r->err + strlen(r->err) - 1);
}

static void hung_serve(int port)
{
    char dsn[256], cfg[64], log[64];
    snprintf(dsn, sizeof dsn,
             "host=127.0.0.1 port=%d dbname=vigil user=vigil_app "
             "connect_timeout=2",
             port);
    snprintf(cfg, sizeof cfg, "/tmp/vigil-libpq-%d.json", (int)getpid());
    snprintf(log, sizeof log, "/tmp/vigil-libpq-%d.log", (int)getpid());
    sv_write(cfg, "{\"http\": {\"listen\": \"127.0.0.1:0\", \"token\": "
                  "\"t0ken\"}}");
    pid_t pid = sv_start(dsn, cfg, log, NULL);
    /* two retries logged, and the service still answers */
    double end = sv_now() + 60;
    while (sv_now() < end &&
           sv_count(sv_log(log), "database unavailable, retrying") < 2)
        sv_sleep_ms(100);
    CHECK(sv_count(sv_log(log), "database unavailable, retrying") >= 2);
    CHECK(strstr(sv_log(log), "timeout") != NULL);
    CHECK(waitpid(pid, NULL, WNOHANG) == 0); /* still up */
    CHECK_INT_EQ(sv_stop(pid, SIGTERM, 30), 0);
    remove(cfg);
    remove(log);
}

/* application_name while a job is in its transaction (the commit hook holds
 * it there until the test has looked). */
static void app_name(const char *dsn)
{
    const char *bin = getenv("VIGIL_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        setenv("VIGIL_DSN", dsn, 1);
        setenv("VIGIL_TEST_COMMIT_DELAY_MS", "3000", 1);
        if (!freopen("/dev/null", "w", stdout))
            _exit(126);
        execl(bin, bin, "--quiet", "topics", "--as-of", "2025-06-01",
              (char *)NULL);
        _exit(127);
    }
    CHECK(
        sv_wait_sql(dsn,
                    "SELECT count(*) FROM pg_stat_activity a JOIN "
                    "vigil.job_runs j ON a.application_name = 'vigil/topics/' "
                    "|| j.run_id WHERE j.status = 'running'",
                    "1", 60));
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* A statement waiting on a lock is canceled by db.statement_timeout. */
static void statement_timeout(const char *dsn)
{
    char cfg[64], args[256];
    snprintf(cfg, sizeof cfg, "/tmp/vigil-libpq-st-%d.json", (int)getpid());
    sv_write(cfg, "{\"db\": {\"statement_timeout\": 1}}");
    PGconn *locker = PQconnectdb(dsn);
    PQclear(
        PQexec(locker, "BEGIN; LOCK TABLE tickets IN ACCESS EXCLUSIVE MODE"));
    snprintf(args, sizeof args,
             "--quiet --config %s topics --as-of 2025-06-02 --json", cfg);
    double t0 = sv_now();
    cli_result *r = cli_run(dsn, args);
    double took = sv_now() - t0;
    PQclear(PQexec(locker, "ROLLBACK"));
    PQfinish(locker);
    CHECK(r->status != 0);
    CHECK(took < 20);
    CHECK(strstr(r->err, "statement timeout") != NULL);
    CHECK(strstr(r->err, "db.statement_timeout") != NULL);
    CHECK(strchr(r->err, '\n') == r->err + strlen(r->err) - 1);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT status FROM vigil.job_runs "
                                   "ORDER BY run_id DESC LIMIT 1"),
                 "failed");
    /* a bad value names the key and the file */
    sv_write(cfg, "{\"db\": {\"statement_timeout\": -1}}");
    r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "statement_timeout") && strstr(r->err, cfg));
    remove(cfg);
}

int main(void)
{
    int port = hung_start();
    hung_cli(port);
    hung_serve(port);

    const char *dsn = testdb_fresh("vt_libpq");
    CHECK_INT_EQ(cli_run(dsn, "--quiet init")->status, 0);
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 100 --end 2025-06-01 "
                              "--history-days 120 --seed 5")
                     ->status,
                 0);
    app_name(dsn);
    statement_timeout(dsn);
    return check_done("db_libpq");
}
