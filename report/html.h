/* html.h — a growable output buffer for HTML and SVG text, with the escaping
 * every string from the database must go through before it reaches a page. */
#ifndef VG_HTML_H
#define VG_HTML_H

#include <stddef.h>

/* Out of memory is sticky: appends after a failure do nothing and
 * html_failed() reports it once at the end, so writers need not check every
 * call. */
typedef struct html_buf html_buf;

/* NULL when out of memory. Free with html_free(). */
html_buf *html_new(void);
void html_free(html_buf *b);
int html_failed(const html_buf *b);
/* The text so far (NUL-terminated, owned by the buffer) and its length. */
const char *html_data(const html_buf *b);
size_t html_len(const html_buf *b);

/* Appends markup as is: only for text the program wrote itself. */
void html_raw(html_buf *b, const char *s);
void html_printf(html_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends untrusted text escaped for element content and quoted attribute
 * values alike (& < > " '). Bytes that are not valid UTF-8 become U+FFFD, tab
 * and newline become spaces and other control characters are dropped, so the
 * page stays well-formed whatever the database holds. NULL appends nothing. */
void html_text(html_buf *b, const char *s);
/* As html_text, cut to at most max_chars characters with an ellipsis. */
void html_text_max(html_buf *b, const char *s, size_t max_chars);

#endif
