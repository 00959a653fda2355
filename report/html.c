/* html.c — the report's output buffer and HTML escaping. Escaping decodes
 * UTF-8 strictly, so a malformed byte can never swallow a following '<'. */
#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct html_buf {
    char *s;
    size_t len, cap;
    int failed;
};

html_buf *html_new(void)
{
    html_buf *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = 4096;
    b->s = malloc(b->cap);
    if (!b->s) {
        free(b);
        return NULL;
    }
    b->s[0] = '\0';
    return b;
}

void html_free(html_buf *b)
{
    if (!b)
        return;
    free(b->s);
    free(b);
}

int html_failed(const html_buf *b)
{
    return b->failed;
}

const char *html_data(const html_buf *b)
{
    return b->s;
}

size_t html_len(const html_buf *b)
{
    return b->len;
}

/* Room for `extra` more bytes plus the terminating NUL. */
static int reserve(html_buf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap;
    while (b->len + extra + 1 > cap)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

static void append(html_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void html_raw(html_buf *b, const char *s)
{
    if (s)
        append(b, s, strlen(s));
}

void html_printf(html_buf *b, const char *fmt, ...)
{
    if (b->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one:
 * overlong forms, surrogates and code points past U+10FFFF are invalid. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL */
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return n;
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
        size_t n = utf8_seq(p);
        chars++;
        if (n == 0) {
            html_raw(b, "\xEF\xBF\xBD"); /* U+FFFD */
            p++;
            continue;
        }
        if (n > 1) {
            append(b, (const char *)p, n);
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
                append(b, (const char *)p, 1);
            else if (*p == '\t' || *p == '\n')
                append(b, " ", 1);
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
