/* cron.c — cron expression parser (bit sets per field) and next-fire search.
 * The search skips month -> day -> hour -> minute on local wall time, then
 * maps the wall time to UTC with the zone's DST gaps and repeats in mind. */
#include "core/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

#define CRON_TEXT_MAX 1000 /* longer input is rejected, not truncated */
#define CRON_SEARCH_DAYS (8 * 366 + 2)
#define CRON_T_LIMIT 1000000000000LL /* ~ year 33,600 */

/* F_SEC is the optional leading field of the six-field form; five-field
 * expressions fire at second 0. */
enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT, F_SEC = F_COUNT };

struct cron_expr {
    uint64_t bits[F_COUNT + 1]; /* bit v set when value v matches */
    int dom_star, dow_star;     /* field text starts with '*' (crontab(5)) */
    char *text;
};

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR",
                                          "MAY", "JUN", "JUL", "AUG",
                                          "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED",
                                        "THU", "FRI", "SAT"};

static const struct {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] means value names_base + i */
    int names_n, names_base;
} fields[F_COUNT + 1] = {
    {"minute", 0, 59, NULL, 0, 0},
    {"hour", 0, 23, NULL, 0, 0},
    {"day-of-month", 1, 31, NULL, 0, 0},
    {"month", 1, 12, month_names, 12, 1},
    {"day-of-week", 0, 7, dow_names, 7, 0},
    {"second", 0, 59, NULL, 0, 0},
};

static const struct {
    const char *name, *expansion;
} shortcuts[] = {
    {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

/* Error messages quote user text; keep them printable and one line. */
static void clean(char *dst, size_t cap, const char *src, size_t n)
{
    size_t j = 0;
    for (; j < n && j + 1 < cap; j++) {
        unsigned char c = (unsigned char)src[j];
        dst[j] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    dst[j] = '\0';
    if (j < n && j >= 3)
        memcpy(dst + j - 3, "...", 3); /* show that it was cut */
}

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

typedef struct {
    const char *quoted; /* cleaned expression for messages */
    vg_error *err;
} parse_ctx;

/* Parse one value token [s, s+n) of field f; 0 on success. */
static vg_code parse_value(const parse_ctx *cx, int f, const char *s, size_t n,
                           int *v)
{
    char tok[48];
    clean(tok, sizeof tok, s, n);
    int all_digits = n > 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            all_digits = 0;
    if (all_digits) {
        long x = 0;
        for (size_t i = 0; i < n && x <= 1000; i++)
            x = x * 10 + (s[i] - '0');
        if (x < fields[f].lo || x > fields[f].hi)
            return vg_fail(cx->err, VG_ECONFIG,
                           "cron '%s': %s %s is out of range %d-%d", cx->quoted,
                           fields[f].name, tok, fields[f].lo, fields[f].hi);
        *v = (int)x;
        return VG_OK;
    }
    if (fields[f].names && n == 3) {
        for (int i = 0; i < fields[f].names_n; i++) {
            const char *nm = fields[f].names[i];
            if (upper(s[0]) == nm[0] && upper(s[1]) == nm[1] &&
                upper(s[2]) == nm[2]) {
                *v = fields[f].names_base + i;
                return VG_OK;
            }
        }
    }
    if (n == 0)
        return vg_fail(cx->err, VG_ECONFIG, "cron '%s': %s is missing a value",
                       cx->quoted, fields[f].name);
    return vg_fail(cx->err, VG_ECONFIG, "cron '%s': %s '%s' is not %s",
                   cx->quoted, fields[f].name, tok,
                   f == F_MON   ? "a number or month name (JAN-DEC)"
                   : f == F_DOW ? "a number or day name (SUN-SAT)"
                                : "a number");
}

static size_t span(const char *s, size_t n, const char *stops)
{
    size_t i = 0;
    while (i < n && !strchr(stops, s[i]))
        i++;
    return i;
}

/* The step after '/' in an item, kept apart from the range it steps: all of
 * s[0, n) must be digits, from 1 to the field's width. */
static vg_code parse_step(const parse_ctx *cx, int f, const char *s, size_t n,
                          int *step)
{
    char tok[48];
    size_t j = 0;
    long x = 0;
    int digits = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9') {
        if (x <= 1000)
            x = x * 10 + (s[j] - '0');
        j++;
        digits++;
    }
    clean(tok, sizeof tok, s, n);
    if (!digits || j != n)
        return vg_fail(cx->err, VG_ECONFIG,
                       "cron '%s': %s step '%s' is not a number", cx->quoted,
                       fields[f].name, tok);
    int max_step = fields[f].hi - fields[f].lo + 1;
    if (x < 1 || x > max_step)
        return vg_fail(cx->err, VG_ECONFIG,
                       "cron '%s': %s step %s is out of range 1-%d", cx->quoted,
                       fields[f].name, tok, max_step);
    *step = (int)x;
    return VG_OK;
}

/* One list item: `*`, `a`, `a-b`, each with optional `/step`. */
static vg_code parse_item(const parse_ctx *cx, int f, const char *s, size_t n,
                          uint64_t *bits)
{
    vg_code rc = VG_OK;
    char tok[48];
    int lo = fields[f].lo, hi = fields[f].hi, step = 1;
    size_t i;
    if (n == 0)
        return vg_fail(cx->err, VG_ECONFIG,
                       "cron '%s': %s has an empty list item", cx->quoted,
                       fields[f].name);
    if (s[0] == '*') {
        i = 1;
    } else {
        i = span(s, n, "-/");
        if ((rc = parse_value(cx, f, s, i, &lo)) != VG_OK)
            return rc;
        hi = lo;
        if (i < n && s[i] == '-') {
            size_t j = i + 1 + span(s + i + 1, n - i - 1, "-/");
            if ((rc = parse_value(cx, f, s + i + 1, j - i - 1, &hi)) != VG_OK)
                return rc;
            if (hi < lo) {
                clean(tok, sizeof tok, s, j);
                return vg_fail(cx->err, VG_ECONFIG,
                               "cron '%s': %s range %s is backwards",
                               cx->quoted, fields[f].name, tok);
            }
            i = j;
        } else if (i < n && s[i] == '/') {
            hi = fields[f].hi; /* "a/n": from a to the end */
        }
    }
    if (i < n && s[i] == '/') {
        if ((rc = parse_step(cx, f, s + i + 1, n - i - 1, &step)) != VG_OK)
            return rc;
        i = n;
    }
    if (i != n) {
        clean(tok, sizeof tok, s, n);
        return vg_fail(cx->err, VG_ECONFIG,
                       "cron '%s': %s item '%s' is not "
                       "valid",
                       cx->quoted, fields[f].name, tok);
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << v;
    return VG_OK;
}

static vg_code parse_field(const parse_ctx *cx, int f, const char *s, size_t n,
                           uint64_t *bits)
{
    vg_code rc = VG_OK;
    size_t i = 0;
    *bits = 0;
    for (;;) {
        size_t k = span(s + i, n - i, ",");
        if ((rc = parse_item(cx, f, s + i, k, bits)) != VG_OK)
            return rc;
        i += k;
        if (i >= n)
            break;
        i++; /* the comma; a trailing one makes an empty item next */
    }
    return VG_OK;
}

/* The five fields an @shortcut stands for (case-insensitive, whole word),
 * or NULL when it is not one. */
static const char *expand_shortcut(const char *text, size_t len)
{
    for (size_t i = 0; i < sizeof shortcuts / sizeof *shortcuts; i++) {
        const char *nm = shortcuts[i].name;
        size_t k = strlen(nm), j = 0;
        while (j < k && j < len && upper(text[j]) == upper(nm[j]))
            j++;
        if (j == k && k == len)
            return shortcuts[i].expansion;
    }
    return NULL;
}

/* Split on blanks; any byte that is not a blank belongs to a field, so stray
 * characters are reported by the field parser. Returns the number of fields
 * found and keeps the first F_COUNT + 2 of them (a count above F_COUNT + 1 is
 * an error the caller reports). */
static int split_fields(const char *p, const char *fs[F_COUNT + 2],
                        size_t fn[F_COUNT + 2])
{
    int nf = 0;
    while (*p) {
        while (*p && is_space(*p))
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && !is_space(*q))
            q++;
        if (nf <= F_COUNT + 1) {
            fs[nf] = p;
            fn[nf] = (size_t)(q - p);
        }
        nf++;
        p = q;
    }
    return nf;
}

/* Trim surrounding blanks (and a trailing newline, as a config file's
 * value may carry one): *text moves to the first character kept, the
 * result is the length kept. */
static size_t trimmed(const char **text)
{
    const char *t = *text;
    size_t len = strlen(t);
    while (len > 0 &&
           (is_space(t[len - 1]) || t[len - 1] == '\n' || t[len - 1] == '\r'))
        len--;
    while (len > 0 && is_space(*t)) {
        t++;
        len--;
    }
    *text = t;
    return len;
}

/* Fill e's bit sets from the five (or six, a second leading) fields of
 * fieldtext: the expression itself, or what its @shortcut stands for. */
static vg_code parse_fields(const parse_ctx *cx, const char *fieldtext,
                            cron_expr *e)
{
    const char *fs[F_COUNT + 2];
    size_t fn[F_COUNT + 2];
    vg_code rc = VG_OK;
    int nf = split_fields(fieldtext, fs, fn);
    if (nf != F_COUNT && nf != F_COUNT + 1)
        return vg_fail(cx->err, VG_ECONFIG,
                       "cron '%s': expected 5 fields (minute hour "
                       "day-of-month month day-of-week), or 6 with a leading "
                       "second, found %d",
                       cx->quoted, nf);
    int skip = nf - F_COUNT; /* 1 when a seconds field leads */
    if (skip &&
        (rc = parse_field(cx, F_SEC, fs[0], fn[0], &e->bits[F_SEC])) != VG_OK)
        return rc;
    if (!skip)
        e->bits[F_SEC] = 1; /* second 0 */
    for (int f = 0; f < F_COUNT; f++)
        if ((rc = parse_field(cx, f, fs[f + skip], fn[f + skip],
                              &e->bits[f])) != VG_OK)
            return rc;
    e->dom_star = fs[F_DOM + skip][0] == '*';
    e->dow_star = fs[F_DOW + skip][0] == '*';
    if (e->bits[F_DOW] & (1u << 7))
        e->bits[F_DOW] = (e->bits[F_DOW] | 1u) & 0x7f; /* 7 is Sunday too */
    return VG_OK;
}

vg_code cron_parse(const char *text, cron_expr **out, vg_error *err)
{
    vg_code rc = VG_OK;
    cron_expr *e = NULL;
    char quoted[128];
    *out = NULL;

    if (!text) {
        rc = vg_fail(err, VG_ECONFIG, "cron: no expression");
        goto cleanup;
    }
    size_t len = trimmed(&text);
    clean(quoted, sizeof quoted, text, len);
    if (len == 0) {
        rc = vg_fail(err, VG_ECONFIG, "cron '': empty expression");
        goto cleanup;
    }
    if (len > CRON_TEXT_MAX) {
        rc = vg_fail(err, VG_ECONFIG, "cron '%s': longer than %d characters",
                     quoted, CRON_TEXT_MAX);
        goto cleanup;
    }
    e = calloc(1, sizeof *e);
    if (!e || !(e->text = malloc(len + 1))) {
        rc = vg_fail(err, VG_ENOMEM, "cron '%s': out of memory", quoted);
        goto cleanup;
    }
    memcpy(e->text, text, len);
    e->text[len] = '\0';

    const char *fieldtext = e->text;
    if (text[0] == '@' && !(fieldtext = expand_shortcut(text, len))) {
        rc = vg_fail(err, VG_ECONFIG,
                     "cron '%s': unknown shortcut (use @yearly, @annually, "
                     "@monthly, @weekly, @daily, @midnight or @hourly)",
                     quoted);
        goto cleanup;
    }
    parse_ctx cx = {quoted, err};
    if ((rc = parse_fields(&cx, fieldtext, e)) != VG_OK)
        goto cleanup;
    *out = e;
    e = NULL;

cleanup:
    cron_free(e);
    return rc;
}

void cron_free(cron_expr *expr)
{
    if (!expr)
        return;
    free(expr->text);
    free(expr);
}

const char *cron_text(const cron_expr *expr)
{
    return expr ? expr->text : "";
}

/* ---- next fire time -------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int day_matches(const cron_expr *e, int day)
{
    int y, m, d;
    date_to_ymd(day, &y, &m, &d);
    int wd = (int)(((int64_t)day + 4) % 7); /* 1970-01-01 was a Thursday */
    if (wd < 0)
        wd += 7;
    int dom = (int)(e->bits[F_DOM] >> d & 1);
    int dow = (int)(e->bits[F_DOW] >> wd & 1);
    if (e->dom_star || e->dow_star)
        return dom && dow;
    return dom || dow;
}

/* Lowest set bit >= from in bits, or -1. */
static int next_bit(uint64_t bits, int from, int hi)
{
    for (int v = from; v <= hi; v++)
        if (bits >> v & 1)
            return v;
    return -1;
}

/* First matching local wall time >= local (a minute boundary), searching no
 * further than day_limit; INT64_MIN if none. */
static int64_t next_local(const cron_expr *e, int64_t local, int64_t day_limit)
{
    int64_t day = floor_div(local, 86400);
    int sod = (int)(local - day * 86400);
    int h = sod / 3600, mi = sod % 3600 / 60;
    while (day <= day_limit) {
        int y, m, d;
        date_to_ymd((int)day, &y, &m, &d);
        if (!(e->bits[F_MON] >> m & 1)) {
            /* Jump to the 1st of the next month. */
            day = m == 12 ? date_from_ymd(y + 1, 1, 1)
                          : date_from_ymd(y, m + 1, 1);
            h = mi = 0;
            continue;
        }
        if (!day_matches(e, (int)day)) {
            day++;
            h = mi = 0;
            continue;
        }
        int hh = next_bit(e->bits[F_HOUR], h, 23);
        if (hh < 0) {
            day++;
            h = mi = 0;
            continue;
        }
        if (hh != h) {
            h = hh;
            mi = 0;
        }
        int mm = next_bit(e->bits[F_MIN], mi, 59);
        if (mm < 0) {
            mi = 0;
            if (++h == 24) {
                h = 0;
                day++;
            }
            continue;
        }
        return day * 86400 + (int64_t)h * 3600 + (int64_t)mm * 60;
    }
    return INT64_MIN;
}

/* First matching local wall second >= local: the minute search, then the
 * seconds within the minute found (the rest of the current minute first). */
static int64_t next_local_sec(const cron_expr *e, int64_t local,
                              int64_t day_limit)
{
    int64_t minute = floor_div(local, 60) * 60;
    int sec = (int)(local - minute);
    for (;;) {
        int64_t m = next_local(e, minute, day_limit);
        if (m == INT64_MIN)
            return INT64_MIN;
        int s = next_bit(e->bits[F_SEC], m == minute ? sec : 0, 59);
        if (s >= 0)
            return m + s;
        minute = m + 60;
        sec = 0;
    }
}

int64_t cron_next(const cron_expr *expr, const tz_zone *zone, int64_t after_utc)
{
    if (!expr || after_utc > CRON_T_LIMIT || after_utc < -CRON_T_LIMIT)
        return -1;
    /* Wall time -> firing instant (first occurrence, or the end of a gap) is
     * non-decreasing, so every wall time up to after's own maps to <= after:
     * start at the next local second after it. */
    int64_t local = after_utc + tz_offset_at(zone, after_utc) + 1;
    const int64_t day_limit = floor_div(local, 86400) + CRON_SEARCH_DAYS;
    /* Only a fall-back repeat (wall times already fired at their first
     * occurrence) makes this loop more than once; the cap guards against
     * absurd zone data (and an hour of every-second firings). */
    for (int guard = 0; guard < 100000; guard++) {
        int64_t wall = next_local_sec(expr, local, day_limit);
        if (wall == INT64_MIN)
            return -1;
        int64_t utc[2];
        tz_local_to_utc(zone, wall, utc);
        if (utc[0] > after_utc)
            return utc[0];
        /* Inside a repeat: skip to the next matching wall time. Five-field
         * expressions only match second 0, so jump a whole minute. */
        local = wall + (expr->bits[F_SEC] == 1 ? 60 : 1);
    }
    return -1;
}
