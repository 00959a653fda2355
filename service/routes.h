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
} route_req;

void routes_healthz(route_req *rq, http_reply *out);
void routes_metrics(route_req *rq, http_reply *out);
void routes_alerts(route_req *rq, http_reply *out);
void routes_queue(route_req *rq, http_reply *out);
/* {"error": msg} with the given status. */
void routes_error(http_reply *out, int status, const char *msg);

#endif
