/* http.h — serve's HTTP endpoints on libmicrohttpd: /healthz, /metrics,
 * /alerts, /queue, behind an optional bearer token; JSON and Prometheus text.
 */
#ifndef VG_SERVICE_HTTPD_H
#define VG_SERVICE_HTTPD_H

#include <jansson.h>

#include "core/err.h"
#include "core/log.h"

typedef struct http_server http_server;

/* Called on the HTTP thread for /healthz: add the scheduler's view of each job
 * to `jobs` (an object keyed by job name). Must be thread-safe. */
typedef void (*http_status_fn)(void *ctx, json_t *jobs);

typedef struct http_opts {
    const char *listen; /* "HOST:PORT" (IPv4 or [IPv6]); port 0 picks one */
    const char *token;  /* bearer token; NULL or "" means none */
    const char *dsn;    /* database of the endpoints; NULL: the environment */
    vg_log log;         /* copied: the HTTP thread logs with it */
    http_status_fn status;
    void *status_ctx;
} http_opts;

/* Check a listen address without binding it. VG_ECONFIG names the text. */
vg_code http_check_listen(const char *listen, vg_error *err);
/* Bind and start answering on a thread of its own. Endpoints open their own
 * database connection (never the jobs'), lazily, and reconnect after a
 * failure. */
vg_code http_start(const http_opts *o, http_server **out, vg_error *err);
/* The port actually bound (useful with port 0). */
int http_port(const http_server *s);
/* Replace the token (SIGHUP); NULL or "" turns it off. Thread-safe. */
void http_set_token(http_server *s, const char *token);
/* Stop answering, wait for the thread, free everything. NULL is fine. */
void http_stop(http_server *s);

#endif
