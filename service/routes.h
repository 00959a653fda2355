/* routes.h — the endpoint bodies behind service/httpd.c; internal to the HTTP
 * server. Each fills a reply from the database (parameterised SQL only). */
#ifndef VG_SERVICE_ROUTES_H
#define VG_SERVICE_ROUTES_H

#include "core/db.h"
#include "service/httpd.h"

typedef struct http_reply {
    int status;       /* HTTP status */
    const char *type; /* Content-Type */
    char *body;       /* malloc'd, NUL-terminated */
} http_reply;

/* What a route may use: a lazily (re)opened connection of the HTTP thread,
 * the request's query arguments, and the scheduler's status callback. */
typedef const char *(*route_arg_fn)(void *conn, const char *name);
typedef struct route_req {
    db_conn **db; /* in/out: opened on first use, dropped when it breaks */
    const char *dsn;
    route_arg_fn arg;
    void *conn;
    http_status_fn status;
    void *status_ctx;
    const vg_log *log;
    /* /healthz only: the refresher's last look at the ledger (owned by
     * the caller): {"jobs": {...}, "database": "ok" | reason,
     * "checked_at": ISO time or null} */
    const json_t *health;
    /* application_name of a new connection; NULL: vigil/http */
    const char *app;
} route_req;

/* The refresher thread's query: the ledger's view of each job (last
 * success, last run) into a new object *jobs. On an error *jobs is NULL. */
vg_code routes_ledger(route_req *rq, json_t **jobs, vg_error *err);

void routes_healthz(route_req *rq, http_reply *out);
void routes_metrics(route_req *rq, http_reply *out);
void routes_alerts(route_req *rq, http_reply *out);
void routes_queue(route_req *rq, http_reply *out);
/* ?limit=: absent gives 100; 0 and *out set for a whole number 1..1000,
 * -1 for anything else. */
int routes_parse_limit(const char *s, int *out);
/* {"error": msg} with the given status. */
void routes_error(http_reply *out, int status, const char *msg);

#endif
