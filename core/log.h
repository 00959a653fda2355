/* log.h — levelled logging to stderr (text or JSON lines) and terminal
 * progress. A vg_log is a value passed down with the config; there is no global
 * logger. */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdio.h>

typedef enum {
    LOG_LVL_DEBUG = 0,
    LOG_LVL_INFO,
    LOG_LVL_WARN,
    LOG_LVL_ERROR,
    LOG_LVL_OFF
} log_level;

typedef struct vg_log {
    log_level level;
    int json;        /* one JSON object per line instead of text */
    FILE *out;       /* stderr unless a test redirects it */
    const char *job; /* context carried into every line, may be NULL */
} vg_log;

void log_init(vg_log *lg);
/* Parse "debug|info|warn|error|off"; returns 0 on success. */
int log_level_parse(const char *s, log_level *out);
void log_write(const vg_log *lg, log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The level test happens before any formatting work. */
#define LOG_AT(lg, lvl, ...)                                                   \
    do {                                                                       \
        if ((lg) && (lvl) >= (lg)->level)                                      \
            log_write((lg), (lvl), __VA_ARGS__);                               \
    } while (0)
#define log_debug(lg, ...) LOG_AT(lg, LOG_LVL_DEBUG, __VA_ARGS__)
#define log_info(lg, ...) LOG_AT(lg, LOG_LVL_INFO, __VA_ARGS__)
#define log_warn(lg, ...) LOG_AT(lg, LOG_LVL_WARN, __VA_ARGS__)
#define log_error(lg, ...) LOG_AT(lg, LOG_LVL_ERROR, __VA_ARGS__)

/* Progress on a terminal: a single rewritten line on stderr, at most ~5
 * updates a second; silent when stderr is not a terminal or quiet is set. */
typedef struct progress {
    int enabled;
    double last;
    int drawn;
} progress;

void progress_init(progress *p, int quiet);
void progress_update(progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void progress_done(progress *p);

#endif
