/* rt.c — Request Tracker 5 REST 2 calls with basic auth. The password only
 * travels in libcurl's USERPWD option; no message here ever contains it. */
#include "deliver/rt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver/http.h"

static void userpwd(const deliver_config *dc, char *out, size_t n)
{
    int k = snprintf(out, n, "%s:%s", dc->rt_user, dc->rt_password);
    if (k < 0)
        out[0] = '\0';
}

static const char *const json_headers[] = {"Content-Type: application/json",
                                           "Accept: application/json", NULL};

/* Fill a from a response that is not what we wanted. */
static void failed(deliver_attempt *a, const char *what,
                   const deliver_http_response *r)
{
    a->ok = 0;
    a->status = r->status;
    if (r->status == 0)
        snprintf(a->error, sizeof a->error, "%s: %s", what, r->error);
    else
        snprintf(a->error, sizeof a->error, "%s: HTTP %ld: %.200s", what,
                 r->status, r->body ? r->body : "");
}

static void id_text(json_t *id, char *out, size_t n)
{
    if (json_is_integer(id))
        snprintf(out, n, "%lld", (long long)json_integer_value(id));
    else if (json_is_string(id))
        snprintf(out, n, "%s", json_string_value(id));
    else
        out[0] = '\0';
}

/* RT's TicketSQL takes string values in single quotes; a quote or a
 * backslash in the queue's name is escaped so it cannot end the value. */
static void ticketsql_quote(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (const char *c = s; *c && k + 3 < n; c++) {
        if (*c == '\'' || *c == '\\')
            out[k++] = '\\';
        out[k++] = *c;
    }
    out[k] = '\0';
}

/* Look for the task's ticket. Sets *found when the search answered (a
 * ticket, or a failure recorded in a); leaves it 0 only when RT said
 * clearly that there is none, which is the one case a create may follow.
 * Within the queue: task ids are unique per vigil database, and a second
 * vigil database may share the RT instance with a queue of its own. */
static vg_code rt_search(const deliver_config *dc, const char *up,
                         long long task_id, deliver_attempt *a, int *found,
                         vg_error *err)
{
    char queue[300], q[700], url[1024];
    deliver_http_response r;
    memset(&r, 0, sizeof r);
    json_t *j = NULL;
    char *esc = NULL;
    vg_code rc = VG_OK;
    *found = 1;
    ticketsql_quote(dc->rt_queue, queue, sizeof queue);
    snprintf(q, sizeof q, "Queue = '%s' AND CF.{%s} = '%lld'", queue,
             dc->rt_task_field, task_id);
    esc = deliver_http_escape(q);
    if (!esc) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(url, sizeof url, "%s/REST/2.0/tickets?query=%s", dc->rt_url, esc);
    rc = deliver_http_request("GET", url, json_headers, NULL, up,
                              dc->timeout_seconds, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    j = r.status == 200 ? json_loads(r.body ? r.body : "", 0, NULL) : NULL;
    if (!j) {
        /* Not a 200, or a 200 that is not JSON (a proxy's page): neither
         * says "no ticket", and creating one now could make a second. */
        failed(a, "RT search", &r);
        goto cleanup;
    }
    json_t *items = json_object_get(j, "items");
    if (json_array_size(items) == 0) {
        *found = 0;
        goto cleanup;
    }
    id_text(json_object_get(json_array_get(items, 0), "id"), a->external_id,
            sizeof a->external_id);
    a->ok = a->external_id[0] != '\0';
    a->status = r.status;
    if (!a->ok)
        snprintf(a->error, sizeof a->error, "RT search: no ticket id");
cleanup:
    deliver_http_response_free(&r);
    json_decref(j);
    free(esc);
    return rc;
}

/* Create the task's ticket, its task id in the custom field the search
 * looks at. */
static vg_code rt_create(const deliver_config *dc, const char *up,
                         long long task_id, const char *subject,
                         const char *content, deliver_attempt *a, vg_error *err)
{
    char url[1024], idbuf[32];
    deliver_http_response r;
    memset(&r, 0, sizeof r);
    json_t *req = NULL, *j = NULL;
    char *body = NULL;
    vg_code rc = VG_OK;
    snprintf(idbuf, sizeof idbuf, "%lld", task_id);
    req = json_pack("{s:s, s:s, s:s, s:s, s:{s:s}}", "Queue", dc->rt_queue,
                    "Subject", subject, "Content", content, "ContentType",
                    "text/plain", "CustomFields", dc->rt_task_field, idbuf);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    if (!body) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(url, sizeof url, "%s/REST/2.0/ticket", dc->rt_url);
    rc = deliver_http_request("POST", url, json_headers, body, up,
                              dc->timeout_seconds, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    j = json_loads(r.body ? r.body : "", 0, NULL);
    id_text(json_object_get(j, "id"), a->external_id, sizeof a->external_id);
    if (r.status != 201 || !a->external_id[0]) {
        failed(a, "RT create", &r);
        goto cleanup;
    }
    a->ok = 1;
    a->status = r.status;
cleanup:
    deliver_http_response_free(&r);
    json_decref(j);
    json_decref(req);
    free(body);
    return rc;
}

vg_code deliver_rt_ensure_ticket(const deliver_config *dc, long long task_id,
                                 const char *subject, const char *content,
                                 deliver_attempt *a, vg_error *err)
{
    char up[300];
    int found = 1;
    memset(a, 0, sizeof *a);
    userpwd(dc, up, sizeof up);
    /* Search first: a create whose answer was lost must not run twice. */
    vg_code rc = rt_search(dc, up, task_id, a, &found, err);
    if (rc != VG_OK || found)
        return rc;
    return rt_create(dc, up, task_id, subject, content, a, err);
}

vg_code deliver_rt_get_ticket(const deliver_config *dc, const char *ticket_id,
                              char *status, size_t status_n, char *outcome,
                              size_t outcome_n, deliver_attempt *a,
                              vg_error *err)
{
    char up[300], url[1024];
    deliver_http_response r;
    memset(a, 0, sizeof *a);
    status[0] = outcome[0] = '\0';
    userpwd(dc, up, sizeof up);
    snprintf(url, sizeof url, "%s/REST/2.0/ticket/%s", dc->rt_url, ticket_id);
    vg_code rc = deliver_http_request("GET", url, json_headers, NULL, up,
                                      dc->timeout_seconds, &r, err);
    if (rc != VG_OK) {
        deliver_http_response_free(&r);
        return rc;
    }
    json_t *j = json_loads(r.body ? r.body : "", 0, NULL);
    const char *s = json_string_value(json_object_get(j, "Status"));
    if (r.status != 200 || !s) {
        failed(a, "RT read", &r);
    } else {
        snprintf(status, status_n, "%s", s);
        /* CustomFields: [{"name": ..., "values": [...]}, ...] */
        size_t i;
        json_t *cf;
        json_array_foreach(json_object_get(j, "CustomFields"), i, cf)
        {
            const char *name = json_string_value(json_object_get(cf, "name"));
            const char *v = json_string_value(
                json_array_get(json_object_get(cf, "values"), 0));
            if (name && v && *v && dc->rt_outcome_field[0] &&
                strcmp(name, dc->rt_outcome_field) == 0)
                snprintf(outcome, outcome_n, "%s", v);
        }
        a->ok = 1;
        a->status = r.status;
    }
    json_decref(j);
    deliver_http_response_free(&r);
    return VG_OK;
}

vg_code deliver_rt_set_status(const deliver_config *dc, const char *ticket_id,
                              const char *status, deliver_attempt *a,
                              vg_error *err)
{
    char up[300], url[1024], now[64], outc[8];
    deliver_http_response r;
    memset(a, 0, sizeof *a);
    userpwd(dc, up, sizeof up);
    json_t *req = json_pack("{s:s}", "Status", status);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(url, sizeof url, "%s/REST/2.0/ticket/%s", dc->rt_url, ticket_id);
    vg_code rc = deliver_http_request("PUT", url, json_headers, body, up,
                                      dc->timeout_seconds, &r, err);
    free(body);
    if (rc != VG_OK) {
        deliver_http_response_free(&r);
        return rc;
    }
    if (r.status != 200) {
        failed(a, "RT update", &r);
        deliver_http_response_free(&r);
        return VG_OK;
    }
    deliver_http_response_free(&r);
    rc = deliver_rt_get_ticket(dc, ticket_id, now, sizeof now, outc,
                               sizeof outc, a, err);
    if (rc == VG_OK && a->ok && strcmp(now, status) != 0) {
        a->ok = 0;
        snprintf(a->error, sizeof a->error,
                 "RT update: ticket %s is '%s' after setting '%s'", ticket_id,
                 now, status);
    }
    snprintf(a->external_id, sizeof a->external_id, "%s", ticket_id);
    return rc;
}
