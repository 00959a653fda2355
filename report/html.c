/* html.c — the report's output buffer (a core strbuf) and HTML escaping.
 * Escaping decodes UTF-8 strictly, so a malformed byte can never swallow a
 * following '<'. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct html_buf {
    strbuf sb;
};

html_buf *html_new(void)
{
    html_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    if (strbuf_reserve(&b->sb, 4096) != 0) {
        free(b);
        return NULL;
    }
    b->sb.s[0] = '\0';
    return b;
}

void html_free(html_buf *b)
{
    if (!b)
        return;
    strbuf_free(&b->sb);
    free(b);
}

int html_failed(const html_buf *b)
{
    return b->sb.failed;
}

const char *html_data(const html_buf *b)
{
    return strbuf_str(&b->sb);
}

size_t html_len(const html_buf *b)
{
    return b->sb.len;
}

void html_raw(html_buf *b, const char *s)
{
    strbuf_puts(&b->sb, s);
}

void html_printf(html_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vprintf(&b->sb, fmt, ap);
    va_end(ap);
}

void html_text_max(html_buf *b, const char *s, size_t max_chars)
{
    if (!s)
        return;
    const unsigned char *p = (const unsigned char *)s;
    size_t chars = 0;
    while (*p) {
        if (chars == max_chars) {
            html_raw(b, "\xE2\x80\xA6"); /* … */
            return;
        }
        uint32_t cp;
        size_t n = utf8_decode(p, SIZE_MAX, &cp);
        chars++;
        if (n == 1 && cp == 0xFFFD) { /* not UTF-8 */
            html_raw(b, "\xEF\xBF\xBD");
            p++;
            continue;
        }
        if (n > 1) {
            strbuf_append(&b->sb, (const char *)p, n);
            p += n;
            continue;
        }
        switch (*p) {
        case '&':
            html_raw(b, "&amp;");
            break;
        case '<':
            html_raw(b, "&lt;");
            break;
        case '>':
            html_raw(b, "&gt;");
            break;
        case '"':
            html_raw(b, "&quot;");
            break;
        case '\'':
            html_raw(b, "&#39;");
            break;
        default:
            if (*p >= 0x20 && *p != 0x7F)
                strbuf_putc(&b->sb, (char)*p);
            else if (*p == '\t' || *p == '\n')
                strbuf_putc(&b->sb, ' ');
            else
                chars--; /* dropped: it takes no room */
        }
        p++;
    }
}

void html_text(html_buf *b, const char *s)
{
    html_text_max(b, s, (size_t)-1);
}
