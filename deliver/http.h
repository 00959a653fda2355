/* http.h — one HTTP request through libcurl, with the outcome as data:
 * transport failures (refused, timeout) are a status of 0 and a message,
 * not an error, so callers can decide to retry. */
#ifndef VG_DELIVER_HTTP_H
#define VG_DELIVER_HTTP_H

#include <stddef.h>

#include "core/err.h"

typedef struct deliver_http_response {
    long status; /* HTTP status; 0 when no response arrived */
    char *body;  /* response body, NUL-terminated (caller frees) */
    size_t len;
    char error[256]; /* transport error when status is 0 */
} deliver_http_response;

/* Send `method` to `url` with a NULL-terminated list of extra headers and
 * an optional body (sent as given). `userpwd` ("user:password", may be NULL)
 * uses basic auth and is never logged. Fails only when libcurl cannot be
 * set up; everything the network does is in *resp (free it with
 * deliver_http_response_free, also after a failure). */
vg_code deliver_http_request(const char *method, const char *url,
                             const char *const *headers, const char *body,
                             const char *userpwd, double timeout_s,
                             deliver_http_response *resp, vg_error *err);
void deliver_http_response_free(deliver_http_response *resp);
/* Percent-encode s for a URL query; caller frees. NULL on OOM. */
char *deliver_http_escape(const char *s);
/* Process-wide libcurl set-up and tear-down; call once around all use. */
void deliver_http_global_init(void);
void deliver_http_global_cleanup(void);
/* A status worth retrying: none (transport), 408, 425, 429 or 5xx. */
int deliver_http_retryable(long status);

#endif
