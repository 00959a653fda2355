/* serve_helpers.h — for the `vigil serve` tests: start the real service in the
 * background, watch its log, speak HTTP to it and poll the database. */
#ifndef VG_TEST_SERVE_HELPERS_H
#define VG_TEST_SERVE_HELPERS_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"

static inline void sv_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static inline double sv_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sv_write(const char *path, const char *text)
{
    check_write_file(path, text);
}

/* Start `vigil --config CONFIG serve` with VIGIL_DSN=dsn, stderr to LOG and
 * the extra environment assignment `env` ("K=V", may be NULL). */
static inline pid_t sv_start(const char *dsn, const char *config,
                             const char *log, const char *env)
{
    const char *bin = getenv("VIGIL_BIN");
    if (!bin) {
        fprintf(stderr, "VIGIL_BIN is not set (ctest sets it)\n");
        exit(1);
    }
    /* Truncate here, not only in the child: a reader must never see the
     * previous instance's lines in a reused log file. */
    FILE *t = fopen(log, "w");
    if (t)
        fclose(t);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("VIGIL_DSN", dsn, 1);
        if (env)
            putenv((char *)env);
        if (!freopen(log, "w", stderr))
            _exit(126);
        execl(bin, bin, "--config", config, "serve", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Whole log file (static buffer). */
static inline const char *sv_log(const char *log)
{
    static char buf[1 << 20];
    FILE *f = fopen(log, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static inline int sv_count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Wait until the log holds `needle`; 1 if it did within timeout_s. */
static inline int sv_wait_log(const char *log, const char *needle,
                              double timeout_s)
{
    double end = sv_now() + timeout_s;
    while (sv_now() < end) {
        if (strstr(sv_log(log), needle))
            return 1;
        sv_sleep_ms(50);
    }
    fprintf(stderr, "timed out waiting for '%s' in %s:\n%s\n", needle, log,
            sv_log(log));
    return 0;
}

/* The port from "listening on ... (port N)", 0 if not (yet) there. */
static inline int sv_port(const char *log)
{
    if (!sv_wait_log(log, "(port ", 30))
        return 0;
    /* The file only grows after sv_start truncated it: reading it again is
     * safe. */
    const char *p = strstr(sv_log(log), "(port ");
    return p ? atoi(p + 6) : 0;
}

/* `vigil --quiet args...` (VIGIL_BIN, at most 12 arguments, NULL-ended)
 * in the background against dsn: stdout to /dev/null, stderr to errlog. */
static inline pid_t sv_spawn(const char *dsn, const char *errlog,
                             const char *const *args)
{
    const char *bin = getenv("VIGIL_BIN");
    pid_t pid = fork();
    if (pid == 0) {
        const char *argv[16] = {bin, "--quiet"};
        int n = 2;
        for (; args[n - 2] && n < 15; n++)
            argv[n] = args[n - 2];
        argv[n] = NULL;
        setenv("VIGIL_DSN", dsn, 1);
        if (!freopen("/dev/null", "w", stdout) || !freopen(errlog, "w", stderr))
            _exit(126);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* A child's exit status, or 128 + the signal that killed it. */
static inline int sv_wait_exit(pid_t pid)
{
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Send a signal and wait for the exit; the exit status, or -1 for a kill,
 * -2 on timeout (then SIGKILLed). */
static inline int sv_stop(pid_t pid, int sig, double timeout_s)
{
    kill(pid, sig);
    double end = sv_now() + timeout_s;
    int st;
    while (sv_now() < end) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        sv_sleep_ms(20);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -2;
}

/* Poll until `sql` returns `want` (as text); 1 on success. */
static inline int sv_wait_sql(const char *dsn, const char *sql,
                              const char *want, double timeout_s)
{
    double end = sv_now() + timeout_s;
    while (sv_now() < end) {
        if (strcmp(testdb_value(dsn, sql), want) == 0)
            return 1;
        sv_sleep_ms(100);
    }
    fprintf(stderr, "timed out: %s gave '%s', wanted '%s'\n", sql,
            testdb_value(dsn, sql), want);
    return 0;
}

/* A six-field cron expression firing once a day at UTC second `t`. */
static inline void sv_cron_at(time_t t, char out[64])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 64, "%d %d %d * * *", tm.tm_sec, tm.tm_min, tm.tm_hour);
}

static inline void sv_iso(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M:%S+00", &tm);
}

typedef struct sv_http {
    int status;
    char headers[8192];
    char body[1 << 18];
} sv_http;

/* A TCP connection to 127.0.0.1:port; -1 when it failed. */
static inline int sv_dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One HTTP/1.0 request to 127.0.0.1:port; extra is more header lines
 * ("Name: value\r\n"). status 0 when the connection failed. */
static inline sv_http *sv_request(int port, const char *method,
                                  const char *path, const char *token,
                                  const char *extra)
{
    static sv_http r;
    r.status = 0;
    r.headers[0] = r.body[0] = '\0';
    int fd = sv_dial(port);
    if (fd < 0)
        return &r;
    char req[2048];
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: localhost\r\n",
                     method, path);
    if (token)
        n += snprintf(req + n, sizeof req - n, "Authorization: Bearer %s\r\n",
                      token);
    n += snprintf(req + n, sizeof req - n, "%s\r\n", extra ? extra : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return &r;
    }
    static char buf[(1 << 18) + 8192];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof buf - 1 &&
           (k = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)k;
    buf[len] = '\0';
    close(fd);
    char *sep = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.", 7) != 0 || !sep)
        return &r;
    r.status = atoi(buf + 9);
    size_t hl = (size_t)(sep - buf);
    if (hl >= sizeof r.headers)
        hl = sizeof r.headers - 1;
    memcpy(r.headers, buf, hl);
    r.headers[hl] = '\0';
    snprintf(r.body, sizeof r.body, "%s", sep + 4);
    return &r;
}

#endif
