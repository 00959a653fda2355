/* serve.h — `vigil serve`: runs the configured jobs on their cron schedules
 * as child processes, once per scheduled time across instances, and answers
 * HTTP (health, metrics, alerts, queue) while they run. */
#ifndef VG_SERVE_H
#define VG_SERVE_H

#include "core/err.h"
#include "core/log.h"

typedef struct serve_opts {
    const char *dsn;         /* NULL: VIGIL_DSN, DATABASE_URL or PG* vars */
    const char *config_path; /* NULL: built-in defaults */
    vg_log log;              /* copied; jobs get the same level and format */
    const char *exe;         /* vigil binary for jobs; NULL: /proc/self/exe */
} serve_opts;

/* Run until SIGTERM or SIGINT (then VG_OK). Fails at start on a bad
 * configuration (VG_ECONFIG naming the key and the file), a listen address
 * that cannot be bound, or a database without `vigil init`; a database that
 * is down is waited for. SIGHUP reloads the configuration file; a bad one is
 * logged and the running configuration kept. */
vg_code serve_run(const serve_opts *o, vg_error *err);

#endif
