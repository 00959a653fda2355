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

struct http_server {
    struct MHD_Daemon *mhd;
    http_opts o;
    char *dsn;
    db_conn *db; /* used only on the MHD thread */
    pthread_mutex_t mu;
    char token[512]; /* guarded by mu */
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
    } else {
        route_req rq = {&s->db,      s->dsn,          get_arg,  conn,
                        s->o.status, s->o.status_ctx, &s->o.log};
        if (strcmp(url, "/healthz") == 0)
            routes_healthz(&rq, &rep);
        else if (strcmp(url, "/metrics") == 0)
            routes_metrics(&rq, &rep);
        else if (strcmp(url, "/alerts") == 0)
            routes_alerts(&rq, &rep);
        else if (strcmp(url, "/queue") == 0)
            routes_queue(&rq, &rep);
        else
            routes_error(&rep, 404,
                         "not found: try /healthz, /metrics, /alerts, /queue");
    }
    if (!rep.body) {
        rep.status = 500;
        rep.type = "text/plain";
        rep.body = strdup("out of memory\n");
        if (!rep.body)
            return MHD_NO;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        strlen(rep.body), rep.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", rep.type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (unauthorized)
        MHD_add_response_header(r, "WWW-Authenticate",
                                "Bearer realm=\"vigil\"");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)rep.status, r);
    MHD_destroy_response(r);
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
    snprintf(s->token, sizeof s->token, "%s", o->token ? o->token : "");
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (a.v6)
        flags |= MHD_USE_IPv6;
    /* The logger goes first so MHD reports nothing on its own. */
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a.sa,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
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
    if (s->mhd)
        MHD_stop_daemon(s->mhd); /* joins the thread */
    db_close(s->db);
    pthread_mutex_destroy(&s->mu);
    free(s->dsn);
    free(s);
}
