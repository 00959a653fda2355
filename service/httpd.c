/* server.c — the libmicrohttpd daemon: binds the listen address, checks the
 * bearer token in constant time, and dispatches GET requests to routes.c. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "service/httpd.h"
#include "service/routes.h"

/* Database work never runs on libmicrohttpd's thread: a request for a
 * database route is suspended and queued for one of HTTP_WORKERS threads,
 * each with its own connection (statement_timeout 5 s), which resumes it
 * with the answer. /healthz reads memory only: the scheduler's view and the
 * ledger as HTTP_REFRESH_S-old at most, read by a refresher thread. */
#define HTTP_WORKERS 3
#define HTTP_QUEUE_MAX 64 /* queued database requests beyond it get a 503 */
/* Slow clients hold a connection, not a thread: enough room that a few
 * hundred of them leave space for real requests, each dropped after
 * HTTP_IDLE_S seconds without a byte. */
#define HTTP_MAX_CONNECTIONS 1000
#define HTTP_IDLE_S 10
#define HTTP_REFRESH_S 2

typedef enum { R_METRICS, R_ALERTS, R_QUEUE } route_id;

/* A suspended request, owned by the queue, then a worker, then the
 * connection (con_cls) once resumed. */
typedef struct pending {
    struct MHD_Connection *conn;
    route_id route;
    json_t *args; /* the query arguments, first occurrence of each */
    http_reply rep;
    struct pending *next;
} pending;

struct http_server {
    struct MHD_Daemon *mhd;
    http_opts o;
    char *dsn;
    pthread_mutex_t mu;
    char token[512];      /* guarded by mu */
    pending *head, *tail; /* guarded by mu */
    int queued;           /* guarded by mu */
    int stopping;         /* guarded by mu */
    json_t *health;       /* guarded by mu; replaced, never edited */
    pthread_cond_t work;  /* a request queued, or stopping */
    pthread_cond_t wake;  /* refresher: stop, or first look done */
    pthread_t worker[HTTP_WORKERS];
    db_conn *wdb[HTTP_WORKERS]; /* each worker's own */
    int nworkers;
    pthread_t refresher;
    int have_refresher;
    db_conn *refresh_db; /* the refresher's own connection */
    int port;
};

typedef struct listen_addr {
    struct sockaddr_storage sa;
    int v6;
} listen_addr;

/* "A.B.C.D:PORT" or "[v6]:PORT". */
static vg_code parse_listen(const char *text, listen_addr *out, vg_error *err)
{
    char host[256];
    const char *colon = strrchr(text, ':');
    memset(out, 0, sizeof *out);
    if (!colon || colon == text || (size_t)(colon - text) >= sizeof host)
        goto bad;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        goto bad;
    size_t hl = strlen(host);
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->sa;
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            goto bad;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        out->v6 = 1;
        return VG_OK;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&out->sa;
    if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        goto bad;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((unsigned short)port);
    return VG_OK;
bad:
    return vg_fail(err, VG_ECONFIG,
                   "listen address '%.200s' is not IPV4:PORT or [IPV6]:PORT "
                   "(e.g. 127.0.0.1:8470; port 0 picks a free one)",
                   text);
}

vg_code http_check_listen(const char *listen, vg_error *err)
{
    listen_addr a;
    return parse_listen(listen, &a, err);
}

/* Constant time in the length of the presented value: no early exit on the
 * first differing byte, so timing does not reveal how much of a guess was
 * right. */
static int token_ok(http_server *s, const char *auth)
{
    pthread_mutex_lock(&s->mu);
    size_t tl = strlen(s->token);
    int ok = 1;
    if (tl > 0) {
        const char *given = "";
        if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
            given = auth + 7;
            while (*given == ' ')
                given++;
        }
        size_t gl = strlen(given);
        unsigned char diff = gl != tl;
        for (size_t i = 0; i < gl; i++)
            diff |= (unsigned char)(given[i] ^ s->token[i % tl]);
        ok = diff == 0;
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static const char *get_arg(void *conn, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)conn,
                                       MHD_GET_ARGUMENT_KIND, name);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *json_arg(void *args, const char *name)
{
    return json_string_value(json_object_get(args, name));
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    (void)kind;
    if (key && !json_object_get(cls, key))
        json_object_set_new(cls, key, json_string(value ? value : ""));
    return MHD_YES;
}

typedef struct worker_arg {
    http_server *s;
    int i;
} worker_arg;

static void *worker_loop(void *arg)
{
    worker_arg *wa = arg;
    http_server *s = wa->s;
    int i = wa->i;
    free(wa);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work, &s->mu);
        pending *p = s->head;
        if (!p)
            break; /* stopping and nothing left */
        s->head = p->next;
        if (!s->head)
            s->tail = NULL;
        s->queued--;
        pthread_mutex_unlock(&s->mu);
        route_req rq = {&s->wdb[i], s->dsn,      json_arg,
                        p->args,    s->o.status, s->o.status_ctx,
                        &s->o.log,  NULL,        NULL};
        if (p->route == R_METRICS)
            routes_metrics(&rq, &p->rep);
        else if (p->route == R_ALERTS)
            routes_alerts(&rq, &p->rep);
        else
            routes_queue(&rq, &p->rep);
        MHD_resume_connection(p->conn);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void pending_free(pending *p)
{
    if (!p)
        return;
    json_decref(p->args);
    free(p->rep.body);
    free(p);
}

/* Queue a database route and suspend its connection; 0 when refused
 * (stopping, or too much queued already). */
static int enqueue(http_server *s, struct MHD_Connection *conn, route_id r,
                   void **con_cls)
{
    pending *p = calloc(1, sizeof *p);
    if (!p || !(p->args = json_object())) {
        free(p);
        return 0;
    }
    p->conn = conn;
    p->route = r;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_arg,
                              p->args);
    pthread_mutex_lock(&s->mu);
    int ok = !s->stopping && s->nworkers > 0 && s->queued < HTTP_QUEUE_MAX;
    if (ok) {
        *con_cls = p;
        MHD_suspend_connection(conn);
        if (s->tail)
            s->tail->next = p;
        else
            s->head = p;
        s->tail = p;
        s->queued++;
        pthread_cond_signal(&s->work);
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        pending_free(p);
    return ok;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    pending_free(*con_cls);
    *con_cls = NULL;
}

static json_t *health_get(http_server *s)
{
    pthread_mutex_lock(&s->mu);
    /* Only in the first moments after start: wait (1 s at most) for the
     * refresher's first look rather than answer "not checked yet". */
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (!s->health && s->have_refresher && !s->stopping &&
           pthread_cond_timedwait(&s->wake, &s->mu, &until) == 0)
        ;
    json_t *h = json_incref(s->health);
    pthread_mutex_unlock(&s->mu);
    return h;
}

/* Reads the ledger every HTTP_REFRESH_S seconds on a connection of its own
 * (statement_timeout as the routes'), so /healthz never waits for it. */
static void *refresh_loop(void *arg)
{
    http_server *s = arg;
    for (;;) {
        route_req rq = {.db = &s->refresh_db,
                        .dsn = s->dsn,
                        .log = &s->o.log,
                        .app = "vigil/http/healthz"};
        vg_error err;
        vg_error_clear(&err);
        json_t *jobs = NULL;
        vg_code rc = routes_ledger(&rq, &jobs, &err);
        char now[32];
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        pthread_mutex_lock(&s->mu);
        json_t *h = json_object();
        /* A failed look keeps the jobs last seen: say what is known. */
        json_object_set(h, "jobs",
                        jobs ? jobs : json_object_get(s->health, "jobs"));
        json_object_set_new(h, "database",
                            json_string(rc == VG_OK ? "ok" : err.msg));
        json_object_set_new(h, "checked_at", json_string(now));
        json_decref(s->health);
        s->health = h;
        pthread_cond_broadcast(&s->wake);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HTTP_REFRESH_S;
        while (!s->stopping &&
               pthread_cond_timedwait(&s->wake, &s->mu, &until) == 0)
            ;
        int stop = s->stopping;
        pthread_mutex_unlock(&s->mu);
        json_decref(jobs);
        if (stop)
            return NULL;
    }
}

/* Queues `rep` (its body handed to MHD, which frees it) with the headers
 * every answer carries; an answer without a body becomes a plain 500. *ok
 * is MHD's verdict on the queueing. Returns -1, and nothing is queued, when
 * even the response cannot be made (out of memory). */
static int send_reply(struct MHD_Connection *conn, http_reply *rep,
                      int unauthorized, enum MHD_Result *ok)
{
    if (!rep->body) {
        rep->status = 500;
        rep->type = "text/plain";
        rep->body = strdup("out of memory\n");
        if (!rep->body)
            return -1;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(rep->body), rep->body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep->body);
        return -1;
    }
    MHD_add_response_header(r, "Content-Type", rep->type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (unauthorized)
        MHD_add_response_header(r, "WWW-Authenticate",
                                "Bearer realm=\"vigil\"");
    *ok = MHD_queue_response(conn, (unsigned)rep->status, r);
    MHD_destroy_response(r);
    return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    http_server *s = cls;
    double t0 = mono_ms();
    http_reply rep = {0, NULL, NULL};
    int unauthorized = 0;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        routes_error(&rep, 405, "only GET is supported");
    } else if (!token_ok(s, MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                        "Authorization"))) {
        unauthorized = 1;
        routes_error(&rep, 401, "missing or wrong bearer token");
    } else if (strcmp(url, "/healthz") == 0) {
        json_t *h = health_get(s);
        route_req rq = {NULL,      s->dsn,      get_arg,
                        conn,      s->o.status, s->o.status_ctx,
                        &s->o.log, h,           NULL};
        routes_healthz(&rq, &rep);
        json_decref(h);
    } else if (*con_cls) {
        /* resumed: a worker wrote the answer */
        pending *p = *con_cls;
        rep = p->rep;
        p->rep.body = NULL;
    } else {
        route_id r = strcmp(url, "/metrics") == 0  ? R_METRICS
                     : strcmp(url, "/alerts") == 0 ? R_ALERTS
                     : strcmp(url, "/queue") == 0  ? R_QUEUE
                                                   : (route_id)-1;
        if ((int)r < 0)
            routes_error(&rep, 404,
                         "not found: try /healthz, /metrics, /alerts, /queue");
        else if (enqueue(s, conn, r, con_cls))
            return MHD_YES;
        else
            routes_error(&rep, 503,
                         "busy: too many database requests queued; retry in "
                         "a second");
    }
    enum MHD_Result ok;
    if (send_reply(conn, &rep, unauthorized, &ok) != 0)
        return MHD_NO;
    log_debug(&s->o.log, "http %s %s %d %.1f ms", method, url, rep.status,
              mono_ms() - t0);
    return ok;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_server *s = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && msg[n - 1] == '\n')
        msg[--n] = '\0';
    log_warn(&s->o.log, "http: %s", msg);
}

vg_code http_start(const http_opts *o, http_server **out, vg_error *err)
{
    *out = NULL;
    listen_addr a;
    vg_code rc = parse_listen(o->listen, &a, err);
    if (rc != VG_OK)
        return rc;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    s->o = *o;
    s->o.listen = NULL; /* not kept: the caller owns the text */
    s->o.token = NULL;
    s->o.dsn = NULL;
    s->dsn = o->dsn ? strdup(o->dsn) : NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->wake, NULL);
    pthread_cond_init(&s->work, NULL);
    snprintf(s->token, sizeof s->token, "%s", o->token ? o->token : "");
    if (pthread_create(&s->refresher, NULL, refresh_loop, s) == 0)
        s->have_refresher = 1;
    for (int i = 0; i < HTTP_WORKERS; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa)
            break;
        *wa = (worker_arg){s, i};
        if (pthread_create(&s->worker[i], NULL, worker_loop, wa) != 0) {
            free(wa);
            break;
        }
        s->nworkers++;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (a.v6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first so MHD reports nothing on its own. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_S,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_MAX_CONNECTIONS,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (!s->mhd) {
        rc = vg_fail(err, VG_EIO,
                     "cannot listen on %.200s (address in use, or not "
                     "an address of this machine?)",
                     o->listen);
        http_stop(s);
        return rc;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return VG_OK;
}

int http_port(const http_server *s)
{
    return s ? s->port : 0;
}

void http_set_token(http_server *s, const char *token)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->token, sizeof s->token, "%s", token ? token : "");
    pthread_mutex_unlock(&s->mu);
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    /* Workers finish what is queued (each statement ends within its
     * timeout) and resume it, before the daemon may stop. */
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->wake);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->worker[i], NULL);
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* joins its thread */
    if (s->have_refresher)
        pthread_join(s->refresher, NULL);
    for (int i = 0; i < HTTP_WORKERS; i++)
        db_close(s->wdb[i]);
    db_close(s->refresh_db);
    json_decref(s->health);
    pthread_cond_destroy(&s->work);
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->mu);
    free(s->dsn);
    free(s);
}
