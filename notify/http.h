/* http.h — one HTTP request through libcurl, with the outcome as data:
 * transport failures (refused, timeout) are a status of 0 and a message,
 * not an error, so callers can decide to retry. */
#ifndef VG_NOTIFY_HTTP_H
#define VG_NOTIFY_HTTP_H

#include <stddef.h>

#include "core/err.h"

typedef struct http_response {
    long status; /* HTTP status; 0 when no response arrived */
    char *body;  /* response body, NUL-terminated (caller frees) */
    size_t len;
    char error[256]; /* transport error when status is 0 */
} http_response;

/* Send `method` to `url` with a NULL-terminated list of extra headers and
 * an optional body (sent as given). `userpwd` ("user:password", may be NULL)
 * uses basic auth and is never logged. Fails only when libcurl cannot be
 * set up; everything the network does is in *resp (free it with
 * http_response_free, also after a failure). */
vg_code http_request(const char *method, const char *url,
                     const char *const *headers, const char *body,
                     const char *userpwd, double timeout_s, http_response *resp,
                     vg_error *err);
void http_response_free(http_response *resp);
/* Percent-encode s for a URL query; caller frees. NULL on OOM. */
char *http_escape(const char *s);
/* Process-wide libcurl set-up and tear-down; call once around all use. */
void http_global_init(void);
void http_global_cleanup(void);
/* A status worth retrying: none (transport), 408, 425, 429 or 5xx. */
int http_retryable(long status);

#endif
