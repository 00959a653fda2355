/* log.c — text and JSON log lines, and the terminal progress line.
 * JSON lines are built with jansson so messages are always escaped correctly.
 */
#include "log.h"

#include <jansson.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *level_names[] = {"debug", "info", "warn", "error", "off"};

void log_init(vg_log *lg)
{
    lg->level = LOG_LVL_INFO;
    lg->json = 0;
    lg->out = stderr;
    lg->job = NULL;
}

int log_level_parse(const char *s, log_level *out)
{
    for (int i = 0; i <= LOG_LVL_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_write(const vg_log *lg, log_level lvl, const char *fmt, ...)
{
    char msg[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[96];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
    FILE *out = lg->out ? lg->out : stderr;
    if (lg->json) {
        json_t *o = json_pack("{s:s, s:s, s:s}", "ts", when, "level",
                              level_names[lvl], "msg", msg);
        if (o && lg->job)
            json_object_set_new(o, "job", json_string(lg->job));
        char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (line) {
            fprintf(out, "%s\n", line);
            free(line);
        }
        json_decref(o);
    } else {
        fprintf(out, "%s %-5s %s%s%s\n", when, level_names[lvl],
                lg->job ? lg->job : "", lg->job ? ": " : "", msg);
    }
    fflush(out);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void progress_init(progress *p, int quiet)
{
    p->enabled = !quiet && isatty(STDERR_FILENO);
    p->last = 0;
    p->drawn = 0;
}

void progress_update(progress *p, const char *fmt, ...)
{
    if (!p->enabled)
        return;
    double t = now_s();
    if (p->drawn && t - p->last < 0.2)
        return;
    p->last = t;
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    p->drawn = 1;
}

void progress_done(progress *p)
{
    if (p->enabled && p->drawn) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
    p->drawn = 0;
}
