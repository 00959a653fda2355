/* test_cron_fuzz.c — random cron expressions checked against a brute force.
 * Deterministic (fixed seed); `test_cron_fuzz SEED COUNT` runs longer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/date.h"
#include "core/cron.h"
#include "core/tz.h"

#define WINDOW_DAYS 40

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rnd(void)
{
    /* xorshift64*: tiny, good enough, same sequence everywhere. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int rint_(int lo, int hi) /* inclusive */
{
    return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static int chance(int percent)
{
    return rint_(1, 100) <= percent;
}

/* ---- a model of what an expression means ---------------------------- */

typedef struct {
    uint64_t bits[5];
    int dom_star, dow_star;
} spec;

static const int lo_[5] = {0, 0, 1, 1, 0}, hi_[5] = {59, 23, 31, 12, 7};
static const char *const mon_names[] = {"jan", "feb", "mar", "apr",
                                        "may", "jun", "jul", "aug",
                                        "sep", "oct", "nov", "dec"};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed",
                                        "thu", "fri", "sat"};

static void put_value(char *out, size_t cap, int f, int v)
{
    size_t n = strlen(out);
    const char *name = NULL;
    if (f == 3 && chance(30))
        name = mon_names[v - 1];
    if (f == 4 && v <= 6 && chance(30))
        name = dow_names[v];
    if (name) {
        char nm[4];
        for (int i = 0; i < 3; i++)
            nm[i] = chance(50) ? (char)(name[i] - 'a' + 'A') : name[i];
        nm[3] = '\0';
        snprintf(out + n, cap - n, "%s", nm);
    } else {
        snprintf(out + n, cap - n, "%d", v);
    }
}

static void append(char *out, size_t cap, const char *s)
{
    size_t n = strlen(out);
    snprintf(out + n, cap - n, "%s", s);
}

/* One random field: text appended to out, meaning OR-ed into *bits. */
static void gen_field(int f, char *out, size_t cap, uint64_t *bits, int *star)
{
    int lo = lo_[f], hi = hi_[f];
    /* Month and day fields mostly '*' so that matches within the window
     * are common. */
    int star_pct = f == 3 ? 60 : f == 2 ? 55 : f == 4 ? 55 : 30;
    int items = chance(star_pct) ? 0 : rint_(1, 3);
    *bits = 0;
    if (items == 0) {
        int step = chance(70) ? 1 : rint_(1, hi - lo + 1);
        append(out, cap, "*");
        if (step > 1 || chance(10)) {
            char s[16];
            snprintf(s, sizeof s, "/%d", step);
            append(out, cap, s);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ull << v;
        *star = 1;
        return;
    }
    *star = 0;
    for (int i = 0; i < items; i++) {
        if (i > 0)
            append(out, cap, ",");
        int a = rint_(lo, hi), b = a, step = 1, kind = rint_(0, 3);
        if (kind == 1 || kind == 2) { /* a-b, a-b/n */
            b = rint_(a, hi);
            put_value(out, cap, f, a);
            append(out, cap, "-");
            put_value(out, cap, f, b);
            if (kind == 2) {
                step = rint_(1, hi - lo + 1);
                char s[16];
                snprintf(s, sizeof s, "/%d", step);
                append(out, cap, s);
            }
        } else if (kind == 3) { /* a/n: a to the end */
            b = hi;
            step = rint_(1, hi - lo + 1);
            put_value(out, cap, f, a);
            char s[16];
            snprintf(s, sizeof s, "/%d", step);
            append(out, cap, s);
        } else {
            put_value(out, cap, f, a);
        }
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << v;
    }
}

static void gen_valid(char *out, size_t cap, spec *sp)
{
    out[0] = '\0';
    int star[5];
    for (int f = 0; f < 5; f++) {
        if (f > 0)
            append(out, cap, chance(90) ? " " : "\t ");
        gen_field(f, out, cap, &sp->bits[f], &star[f]);
    }
    if (sp->bits[4] & (1ull << 7))
        sp->bits[4] |= 1;
    sp->dom_star = star[2];
    sp->dow_star = star[4];
}

/* A copy of a valid expression with one defect that must be rejected. */
static void gen_invalid(char *out, size_t cap)
{
    char fieldtxt[5][64];
    for (int f = 0; f < 5; f++) {
        uint64_t bits;
        int star;
        fieldtxt[f][0] = '\0';
        gen_field(f, fieldtxt[f], sizeof fieldtxt[f], &bits, &star);
    }
    int f = rint_(0, 4), nfields = 5;
    switch (rint_(0, 8)) {
    case 0:
        snprintf(fieldtxt[f], 64, "%d", hi_[f] + rint_(1, 100));
        break;
    case 1:
        if (lo_[f] == 1)
            snprintf(fieldtxt[f], 64, "0");
        else
            snprintf(fieldtxt[f], 64, "%d-%d", hi_[f], hi_[f] + 1);
        break;
    case 2:
        if (chance(50))
            snprintf(fieldtxt[f], 64, "*/0");
        else
            snprintf(fieldtxt[f], 64, "%d-%d/0", lo_[f], hi_[f]);
        break;
    case 3:
        snprintf(fieldtxt[f], 64, "%d-%d", hi_[f], lo_[f]);
        break;
    case 4:
        if (chance(50))
            snprintf(fieldtxt[f], 64, "XYZ");
        else
            snprintf(fieldtxt[f], 64, "%d,", lo_[f]);
        break;
    case 5:
        snprintf(fieldtxt[f], 64, "%d,,%d", lo_[f], hi_[f]);
        break;
    case 6:
        nfields = chance(50) ? rint_(0, 4) : 7; /* 6: seconds form */
        break;
    case 7:
        snprintf(fieldtxt[f], 64, "%d%c", lo_[f], "#?L!W%"[rint_(0, 5)]);
        break;
    default:
        snprintf(fieldtxt[f], 64, "*/%d", hi_[f] - lo_[f] + 2);
        break;
    }
    out[0] = '\0';
    for (int i = 0; i < nfields; i++) {
        if (i > 0)
            append(out, cap, " ");
        append(out, cap, i < 5 ? fieldtxt[i] : "*");
    }
}

/* ---- the brute-force reference -------------------------------------- */

static int spec_matches(const spec *sp, int64_t local)
{
    int64_t day = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t sod = local - day * 86400;
    if (!(sp->bits[0] >> (sod % 3600 / 60) & 1) ||
        !(sp->bits[1] >> (sod / 3600) & 1))
        return 0;
    int y, m, d;
    date_to_ymd((int)day, &y, &m, &d);
    int wd = (int)((day % 7 + 7 + 4) % 7);
    if (!(sp->bits[3] >> m & 1))
        return 0;
    int dm = (int)(sp->bits[2] >> d & 1), dw = (int)(sp->bits[4] >> wd & 1);
    return (sp->dom_star || sp->dow_star) ? (dm && dw) : (dm || dw);
}

/* Walk UTC minute by minute: fire at u when its wall time matches and was
 * not already shown earlier (fall-back), or when u ends a spring-forward gap
 * that swallowed a matching wall time. Returns -1 if nothing in the window. */
static int64_t reference_next(const spec *sp, const tz_zone *z, int64_t after,
                              int64_t window_end)
{
    int64_t u = (after >= 0 ? after / 60 : -((-after + 59) / 60)) * 60 + 60;
    /* The offset only changes at transitions (test_tz checks that),
     * so look it up once per transition rather than once per minute. */
    long off = tz_offset_at(z, u - 1);
    int64_t next_tr = tz_next_transition(z, u - 1);
    for (; u <= window_end; u += 60) {
        long prev = off;
        if (u >= next_tr) {
            prev = tz_offset_at(z, u - 1);
            off = tz_offset_at(z, u);
            next_tr = tz_next_transition(z, u);
        }
        int64_t local = u + off;
        if (spec_matches(sp, local)) {
            int seen = 0;
            if (tz_offset_at(z, u - 3 * 3600) > off)
                for (int64_t v = u - 3 * 3600; v < u && !seen; v += 60)
                    seen = v + tz_offset_at(z, v) == local;
            if (!seen)
                return u;
        }
        if (off > prev)
            for (int64_t l = u - 1 + prev - (u - 1 + prev) % 60 + 60; l < local;
                 l += 60)
                if (spec_matches(sp, l))
                    return u;
    }
    return -1;
}

static int64_t random_after(const tz_zone *z)
{
    /* One call per statement: argument order would differ by compiler. */
    int y = rint_(2000, 2090);
    int m = rint_(1, 12);
    int d = rint_(1, 28);
    int64_t t = (int64_t)date_from_ymd(y, m, d) * 86400;
    t += rint_(0, 86399);
    /* Half the time start shortly before one of the zone's DST switches,
     * where the interesting cases are. */
    if (chance(50)) {
        int64_t next = tz_next_transition(z, t);
        if (next != INT64_MAX)
            return next - rint_(-86400, 2 * 86400);
    }
    return t;
}

static void fuzz_valid(int count, tz_zone *const *zones, int nzones)
{
    int compared = 0, beyond = 0;
    for (int i = 0; i < count; i++) {
        char text[512];
        spec sp;
        gen_valid(text, sizeof text, &sp);
        cron_expr *e = NULL;
        vg_error err = {0};
        if (cron_parse(text, &e, &err) != VG_OK) {
            fprintf(stderr, "valid '%s' rejected: %s\n", text, err.msg);
            check_failures++;
            continue;
        }
        for (int zi = 0; zi < nzones; zi++) {
            int64_t after = random_after(zones[zi]);
            /* Follow a short chain, so repeats and gaps are crossed. */
            for (int step = 0; step < 3; step++) {
                int64_t end = after + WINDOW_DAYS * 86400LL;
                int64_t want = reference_next(&sp, zones[zi], after, end);
                int64_t got = cron_next(e, zones[zi], after);
                check_count++;
                if (want >= 0 ? got != want : (got != -1 && got <= end)) {
                    fprintf(stderr,
                            "cron_next('%s', %s, %lld) = %lld, brute force "
                            "%lld\n",
                            text, tz_name(zones[zi]), (long long)after,
                            (long long)got, (long long)want);
                    check_failures++;
                    break;
                }
                if (want < 0) {
                    beyond++;
                    break;
                }
                compared++;
                after = want;
            }
        }
        cron_free(e);
    }
    fprintf(stderr, "fuzz: %d next times compared, %d beyond the window\n",
            compared, beyond);
    CHECK(compared > 2 * count); /* the generator must mostly produce matches */
}

static void fuzz_invalid(int count)
{
    for (int i = 0; i < count; i++) {
        char text[512];
        gen_invalid(text, sizeof text);
        cron_expr *e = NULL;
        vg_error err = {0};
        vg_code rc = cron_parse(text, &e, &err);
        check_count++;
        if (rc != VG_ECONFIG || e != NULL ||
            strncmp(err.msg, "cron '", 6) != 0) {
            fprintf(stderr, "invalid '%s' gave %d: %s\n", text, (int)rc,
                    err.msg);
            check_failures++;
        }
        cron_free(e);
    }
}

/* Token soup and raw bytes: no crash, an answer either way, and accepted
 * expressions give sane next times. */
static void fuzz_garbage(int count, tz_zone *zone)
{
    static const char *const tokens[] = {
        "*",   "*",   "0",      "1",       "5", "7",  "12", "23", "31",  "59",
        "60",  "99",  "-",      "/",       ",", "/2", "-3", ",4", "JAN", "sun",
        "Fri", "dec", "@daily", "@hourly", "@", "?",  "L",  "#",  "",    "\t"};
    static const char alphabet[] = "0123456789*/-,@ \t JANFEBSUNMONdaily";
    int accepted = 0;
    for (int i = 0; i < count; i++) {
        char text[256];
        text[0] = '\0';
        if (chance(50)) {
            int nf = rint_(0, 7);
            for (int f = 0; f < nf; f++) {
                if (f > 0)
                    append(text, sizeof text, " ");
                int nt = rint_(1, chance(70) ? 1 : 4);
                for (int t = 0; t < nt; t++)
                    append(
                        text, sizeof text,
                        tokens[rint_(0, sizeof tokens / sizeof *tokens - 1)]);
            }
        } else {
            int n = rint_(0, 40);
            for (int j = 0; j < n; j++)
                text[j] = chance(80) ? alphabet[rint_(0, sizeof alphabet - 2)]
                                     : (char)rint_(1, 255);
            text[n] = '\0';
        }
        cron_expr *e = NULL;
        vg_error err = {0};
        vg_code rc = cron_parse(text, &e, &err);
        check_count++;
        if (rc == VG_OK) {
            accepted++;
            int64_t after = random_after(zone);
            int64_t next = cron_next(e, zone, after);
            if (next != -1 && next <= after)
                check_failures++;
        } else if (rc != VG_ECONFIG || err.msg[0] == '\0' || e) {
            check_failures++;
        }
        cron_free(e);
    }
    fprintf(stderr, "fuzz: %d of %d garbage strings parsed\n", accepted, count);
}

int main(int argc, char **argv)
{
    int count = 2000;
    if (argc > 1)
        rng_state = (strtoull(argv[1], NULL, 10) + 1) * 0x9E3779B97F4A7C15ull;
    if (argc > 2)
        count = atoi(argv[2]);
    static const char *const names[] = {
        "UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"};
    enum { NZONES = sizeof names / sizeof *names };
    tz_zone *zones[NZONES] = {NULL};
    vg_error err = {0};
    for (int i = 0; i < NZONES; i++) {
        if (tz_load(names[i], &zones[i], &err) != VG_OK) {
            fprintf(stderr, "%s\n", err.msg);
            check_failures++;
            goto cleanup;
        }
    }
    fuzz_valid(count, zones, NZONES);
    fuzz_invalid(count);
    fuzz_garbage(count * 10, zones[1]);

cleanup:
    for (int i = 0; i < NZONES; i++)
        tz_free(zones[i]);
    return check_done("test_cron_fuzz");
}
