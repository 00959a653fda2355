/* http.c — a libcurl easy handle per request: the calls vigil makes are
 * seconds apart, so connection reuse would buy nothing and cost state. */
#include "deliver/http.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    strbuf *b = arg;
    size_t n = size * nmemb;
    /* Responses we read are small JSON documents; cap what we keep. */
    if (b->len + n > (8u << 20))
        return 0;
    strbuf_append(b, data, n);
    return b->failed ? 0 : n;
}

vg_code deliver_http_request(const char *method, const char *url,
                             const char *const *headers, const char *body,
                             const char *userpwd, double timeout_s,
                             deliver_http_response *resp, vg_error *err)
{
    memset(resp, 0, sizeof *resp);
    CURL *h = curl_easy_init();
    struct curl_slist *hl = NULL;
    strbuf rbody = {0};
    vg_code rc = VG_OK;
    if (!h)
        return vg_fail(err, VG_EINTERNAL, "libcurl could not start");
    for (int i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (!n) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
            goto cleanup;
        }
        hl = n;
    }
    long ms = (long)(timeout_s * 1000);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms > 0 ? ms : 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &rbody);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "vigil");
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    if (userpwd) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERPWD, userpwd);
    }
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        snprintf(resp->error, sizeof resp->error, "%s", curl_easy_strerror(cc));
        resp->status = 0;
    } else {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    }
    resp->body = rbody.s; /* ownership moves to the response */
    resp->len = rbody.len;
    rbody = (strbuf){0};
cleanup:
    strbuf_free(&rbody);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return rc;
}

void deliver_http_response_free(deliver_http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

char *deliver_http_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = e ? strdup(e) : NULL;
    curl_free(e);
    return out;
}

void deliver_http_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void deliver_http_global_cleanup(void)
{
    curl_global_cleanup();
}

int deliver_http_retryable(long status)
{
    return status == 0 || status == 408 || status == 425 || status == 429 ||
           status >= 500;
}
