/* cli.h — running the real `vigil` binary from tests and reading what it
 * prints, so exit codes, --json output and error messages are tested as a
 * user sees them. */
#ifndef VG_TEST_CLI_H
#define VG_TEST_CLI_H

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

typedef struct cli_result {
    int status;      /* exit status, -1 if it did not exit normally */
    char out[65536]; /* stdout */
    char err[16384]; /* stderr */
} cli_result;

static inline void slurp(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = '\0';
    if (f)
        fclose(f);
}

/* Write a config file for `--config`: /tmp/vt_<tag>.<pid>.json (path, n
 * bytes) holding the printf-formatted text. A test that cannot write its
 * config stops at once: every check after it would fail for the wrong
 * reason. */
static inline void cli_config(char *path, size_t n, const char *tag,
                              const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static inline void cli_config(char *path, size_t n, const char *tag,
                              const char *fmt, ...)
{
    snprintf(path, n, "/tmp/vt_%s.%d.json", tag, (int)getpid());
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* Run `$VIGIL_BIN args` with VIGIL_DSN=dsn; args are shell words. */
static inline cli_result *cli_run(const char *dsn, const char *args)
{
    static cli_result r;
    const char *bin = getenv("VIGIL_BIN");
    if (!bin) {
        fprintf(stderr, "VIGIL_BIN is not set (ctest sets it)\n");
        exit(1);
    }
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "VIGIL_DSN='%s' '%s' %s >/tmp/vigil-test-out.%d "
             "2>/tmp/vigil-test-err.%d",
             dsn, bin, args, (int)getpid(), (int)getpid());
    int st = system(cmd);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    char p[64];
    snprintf(p, sizeof p, "/tmp/vigil-test-out.%d", (int)getpid());
    slurp(p, r.out, sizeof r.out);
    remove(p);
    snprintf(p, sizeof p, "/tmp/vigil-test-err.%d", (int)getpid());
    slurp(p, r.err, sizeof r.err);
    remove(p);
    if (r.status != 0)
        fprintf(stderr, "[vigil %s] exit %d: %s", args, r.status, r.err);
    return &r;
}

/* stdout parsed as exactly one JSON object (NULL otherwise). */
static inline json_t *cli_json(const cli_result *r)
{
    json_error_t je;
    json_t *j = json_loads(r->out, 0, &je);
    if (!j || !json_is_object(j)) {
        fprintf(stderr, "not one JSON object: %s\n%s\n", je.text, r->out);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* `vigil args` where args ask for --json and the command must succeed:
 * checks exit 0 and one JSON object on stdout; returns it (the caller
 * decrefs), NULL when either check failed. */
static inline json_t *cli_json_ok(const char *dsn, const char *args)
{
    cli_result *r = cli_run(dsn, args);
    CHECK_INT_EQ(r->status, 0);
    if (r->status != 0) {
        fprintf(stderr, "vigil %s: exit %d: %s", args, r->status, r->err);
        return NULL;
    }
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    return j;
}

#endif
