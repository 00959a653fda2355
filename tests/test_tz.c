/* test_tz.c — time zone offsets, DST gaps/repeats, POSIX footer rules.
 * Uses the system tzdata for real zones and hand-built TZif bytes for rules. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/date.h"
#include "core/tz.h"

static int64_t ts(int y, int mo, int d, int h, int mi, int s)
{
    return (int64_t)date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

static tz_zone *load(const char *name)
{
    tz_zone *z = NULL;
    vg_error err = {0};
    if (tz_load(name, &z, &err) != VG_OK) {
        fprintf(stderr, "tz_load(%s): %s\n", name, err.msg);
        check_failures++;
    }
    return z;
}

/* Day number of the last Sunday of a month (for footer-rule checks). */
static int last_sunday(int y, int m)
{
    int d = date_from_ymd(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    while ((d + 4) % 7 != 0)
        d--;
    return d;
}

static void test_offsets(void)
{
    static const struct {
        const char *zone;
        int y, mo, d, h, mi, s;
        long off;
    } cases[] = {
        {"UTC", 2026, 1, 1, 0, 0, 0, 0},
        {"Etc/UTC", 2080, 7, 1, 0, 0, 0, 0},
        {"Europe/Berlin", 2026, 1, 15, 12, 0, 0, 3600},
        {"Europe/Berlin", 2026, 7, 1, 12, 0, 0, 7200},
        {"Europe/Berlin", 2026, 3, 29, 0, 59, 59, 3600},
        {"Europe/Berlin", 2026, 3, 29, 1, 0, 0, 7200},
        {"Europe/Berlin", 2026, 10, 25, 0, 59, 59, 7200},
        {"Europe/Berlin", 2026, 10, 25, 1, 0, 0, 3600},
        {"Europe/Berlin", 2080, 7, 1, 0, 0, 0, 7200}, /* footer rule */
        {"Europe/Berlin", 2080, 1, 1, 0, 0, 0, 3600},
        {"Europe/Berlin", 2400, 8, 1, 0, 0, 0, 7200},
        {"Europe/Berlin", 1890, 1, 1, 0, 0, 0, 3208},  /* LMT, type 0 */
        {"Europe/Berlin", 1945, 6, 1, 0, 0, 0, 10800}, /* double summer */
        {"America/New_York", 2026, 1, 15, 12, 0, 0, -18000},
        {"America/New_York", 2026, 7, 1, 12, 0, 0, -14400},
        {"America/New_York", 2026, 3, 8, 6, 59, 59, -18000},
        {"America/New_York", 2026, 3, 8, 7, 0, 0, -14400},
        {"America/New_York", 2026, 11, 1, 5, 59, 59, -14400},
        {"America/New_York", 2026, 11, 1, 6, 0, 0, -18000},
        {"America/New_York", 2090, 7, 4, 0, 0, 0, -14400},
        {"Asia/Kolkata", 2026, 1, 15, 0, 0, 0, 19800},
        {"Asia/Kolkata", 2026, 7, 1, 0, 0, 0, 19800},
        {"Asia/Kolkata", 2080, 7, 1, 0, 0, 0, 19800},
        {"Australia/Lord_Howe", 2026, 1, 15, 0, 0, 0, 39600},
        {"Australia/Lord_Howe", 2026, 7, 1, 0, 0, 0, 37800},
        {"Australia/Sydney", 2026, 1, 15, 0, 0, 0, 39600},
        {"Australia/Sydney", 2026, 7, 1, 0, 0, 0, 36000},
        {"Australia/Sydney", 2085, 1, 15, 0, 0, 0, 39600},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tz_zone *z = load(cases[i].zone);
        if (!z)
            continue;
        long got = tz_offset_at(z, ts(cases[i].y, cases[i].mo, cases[i].d,
                                      cases[i].h, cases[i].mi, cases[i].s));
        if (got != cases[i].off)
            fprintf(stderr, "offset case %zu (%s %d-%02d-%02d)\n", i,
                    cases[i].zone, cases[i].y, cases[i].mo, cases[i].d);
        CHECK_INT_EQ(got, cases[i].off);
        CHECK_STR_EQ(tz_name(z), cases[i].zone);
        tz_free(z);
    }
}

static void test_far_future_transitions(void)
{
    tz_zone *z = load("Europe/Berlin");
    if (!z)
        return;
    /* 2080 is past any transition table: the footer rule decides. */
    int64_t spring = (int64_t)last_sunday(2080, 3) * 86400 + 3600;
    int64_t autumn = (int64_t)last_sunday(2080, 10) * 86400 + 3600;
    CHECK_INT_EQ(tz_offset_at(z, spring - 1), 3600);
    CHECK_INT_EQ(tz_offset_at(z, spring), 7200);
    CHECK_INT_EQ(tz_offset_at(z, autumn - 1), 7200);
    CHECK_INT_EQ(tz_offset_at(z, autumn), 3600);
    CHECK_INT_EQ(tz_next_transition(z, ts(2080, 1, 1, 0, 0, 0)), spring);
    CHECK_INT_EQ(tz_next_transition(z, spring), autumn);
    CHECK_INT_EQ(tz_next_transition(z, ts(2026, 1, 1, 0, 0, 0)),
                 ts(2026, 3, 29, 1, 0, 0));
    CHECK_INT_EQ(tz_next_transition(z, ts(2026, 3, 29, 0, 59, 59)),
                 ts(2026, 3, 29, 1, 0, 0));
    CHECK_INT_EQ(tz_next_transition(z, ts(2026, 3, 29, 1, 0, 0)),
                 ts(2026, 10, 25, 1, 0, 0));
    int64_t out[2];
    CHECK_INT_EQ(tz_local_to_utc(z, spring + 7200 - 1800, out), 0);
    CHECK_INT_EQ(out[0], spring);
    CHECK_INT_EQ(tz_local_to_utc(z, autumn + 3600 + 1800, out), 2);
    CHECK_INT_EQ(out[0], autumn - 1800);
    CHECK_INT_EQ(out[1], autumn + 1800);
    /* Consistency across a whole century: offsets change only at reported
     * transitions. */
    int64_t t = ts(2000, 1, 1, 0, 0, 0), stop = ts(2100, 1, 1, 0, 0, 0);
    int n = 0, bad = 0;
    while (t < stop && n < 1000) {
        int64_t next = tz_next_transition(z, t);
        if (next <= t)
            bad++;
        if (next != INT64_MAX &&
            tz_offset_at(z, next - 1) != tz_offset_at(z, t))
            bad++;
        t = next;
        n += next < stop;
    }
    CHECK_INT_EQ(bad, 0);
    CHECK_INT_EQ(n, 200); /* two a year */
    tz_free(z);

    tz_zone *u = load("UTC");
    tz_zone *k = load("Asia/Kolkata");
    if (u)
        CHECK(tz_next_transition(u, 0) == INT64_MAX);
    if (k)
        CHECK(tz_next_transition(k, ts(2026, 1, 1, 0, 0, 0)) == INT64_MAX);
    tz_free(u);
    tz_free(k);
}

static void test_local_to_utc(void)
{
    static const struct {
        const char *zone;
        int y, mo, d, h, mi; /* local wall time */
        int n;
        int64_t first, second; /* UTC; for n == 0, first is the gap end */
    } cases[] = {
        {"UTC", 2026, 3, 29, 2, 30, 1, 0, 0},
        {"Europe/Berlin", 2026, 6, 1, 12, 0, 1, 0, 0},
        {"Europe/Berlin", 2026, 3, 29, 1, 59, 1, 0, 0},
        {"Europe/Berlin", 2026, 3, 29, 2, 0, 0, 0, 0},
        {"Europe/Berlin", 2026, 3, 29, 2, 30, 0, 0, 0},
        {"Europe/Berlin", 2026, 3, 29, 2, 59, 0, 0, 0},
        {"Europe/Berlin", 2026, 3, 29, 3, 0, 1, 0, 0},
        {"Europe/Berlin", 2026, 10, 25, 1, 59, 1, 0, 0},
        {"Europe/Berlin", 2026, 10, 25, 2, 0, 2, 0, 0},
        {"Europe/Berlin", 2026, 10, 25, 2, 30, 2, 0, 0},
        {"Europe/Berlin", 2026, 10, 25, 3, 0, 1, 0, 0},
        {"America/New_York", 2026, 3, 8, 2, 30, 0, 0, 0},
        {"America/New_York", 2026, 11, 1, 1, 30, 2, 0, 0},
        {"Australia/Lord_Howe", 2026, 10, 4, 2, 15, 0, 0, 0},
        {"Australia/Lord_Howe", 2026, 4, 5, 1, 45, 2, 0, 0},
        {"Australia/Lord_Howe", 2026, 4, 5, 2, 0, 1, 0, 0},
    };
    /* Expected instants, filled here to keep the table readable. */
    int64_t exp[][2] = {
        {ts(2026, 3, 29, 2, 30, 0), 0},
        {ts(2026, 6, 1, 10, 0, 0), 0},
        {ts(2026, 3, 29, 0, 59, 0), 0},
        {ts(2026, 3, 29, 1, 0, 0), 0},
        {ts(2026, 3, 29, 1, 0, 0), 0},
        {ts(2026, 3, 29, 1, 0, 0), 0},
        {ts(2026, 3, 29, 1, 0, 0), 0},
        {ts(2026, 10, 24, 23, 59, 0), 0},
        {ts(2026, 10, 25, 0, 0, 0), ts(2026, 10, 25, 1, 0, 0)},
        {ts(2026, 10, 25, 0, 30, 0), ts(2026, 10, 25, 1, 30, 0)},
        {ts(2026, 10, 25, 2, 0, 0), 0},
        {ts(2026, 3, 8, 7, 0, 0), 0},
        {ts(2026, 11, 1, 5, 30, 0), ts(2026, 11, 1, 6, 30, 0)},
        {ts(2026, 10, 3, 15, 30, 0), 0},
        {ts(2026, 4, 4, 14, 45, 0), ts(2026, 4, 4, 15, 15, 0)},
        {ts(2026, 4, 4, 15, 30, 0), 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tz_zone *z = load(cases[i].zone);
        if (!z)
            continue;
        int64_t out[2] = {-1, -1};
        int n = tz_local_to_utc(
            z,
            ts(cases[i].y, cases[i].mo, cases[i].d, cases[i].h, cases[i].mi, 0),
            out);
        if (n != cases[i].n || out[0] != exp[i][0] ||
            (n == 2 && out[1] != exp[i][1]))
            fprintf(stderr, "local case %zu (%s)\n", i, cases[i].zone);
        CHECK_INT_EQ(n, cases[i].n);
        CHECK_INT_EQ(out[0], exp[i][0]);
        if (n == 2)
            CHECK_INT_EQ(out[1], exp[i][1]);
        tz_free(z);
    }
}

static void test_errors(void)
{
    static const char *const bad[] = {
        "Mars/Olympus",
        "../etc/passwd",
        "/etc/passwd",
        "Europe/../../etc/passwd",
        "",
        "Europe",
        "zone.tab",
        "Europe/Berlin ",
        "right/Europe/Berlin",
        "Europe/Berlin/x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        tz_zone *z = (tz_zone *)1;
        vg_error err = {0};
        vg_code rc = tz_load(bad[i], &z, &err);
        if (rc != VG_ECONFIG)
            fprintf(stderr, "bad zone '%s' gave %d\n", bad[i], (int)rc);
        CHECK_INT_EQ(rc, VG_ECONFIG);
        CHECK(z == NULL);
        CHECK(strstr(err.msg, bad[i]) != NULL);
        tz_free(z);
    }
    vg_error err = {0};
    tz_zone *z = NULL;
    CHECK_INT_EQ(tz_load("Mars/Olympus", &z, &err), VG_ECONFIG);
    CHECK(strstr(err.msg, "unknown time zone 'Mars/Olympus'") != NULL);
    CHECK_INT_EQ(tz_load(NULL, &z, &err), VG_ECONFIG);

    /* Without tzdata only UTC works, and the error says why. */
    CHECK_INT_EQ(tz_load_dir("/nonexistent/zoneinfo", "Etc/UTC", &z, &err),
                 VG_OK);
    CHECK_INT_EQ(tz_offset_at(z, 0), 0);
    tz_free(z);
    z = NULL;
    CHECK_INT_EQ(
        tz_load_dir("/nonexistent/zoneinfo", "Europe/Berlin", &z, &err),
        VG_ECONFIG);
    CHECK(strstr(err.msg, "tzdata") != NULL);
    CHECK(strstr(err.msg, "Europe/Berlin") != NULL);
    CHECK(tz_offset_at(NULL, 12345) == 0);
}

/* ---- hand-built TZif files ------------------------------------------ */

typedef struct {
    unsigned char b[4096];
    size_t n;
} buf;

static void put(buf *o, const void *p, size_t n)
{
    memcpy(o->b + o->n, p, n);
    o->n += n;
}

static void put32(buf *o, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(o, c, 4);
}

static void put64(buf *o, int64_t v)
{
    put32(o, (uint32_t)((uint64_t)v >> 32));
    put32(o, (uint32_t)v);
}

static void header(buf *o, char version, uint32_t timecnt, uint32_t typecnt)
{
    put(o, "TZif", 4);
    unsigned char v = (unsigned char)version;
    put(o, &v, 1);
    unsigned char zero[15] = {0};
    put(o, zero, 15);
    put32(o, 0);       /* isutcnt */
    put32(o, 0);       /* isstdcnt */
    put32(o, 0);       /* leapcnt */
    put32(o, timecnt); /* timecnt */
    put32(o, typecnt); /* typecnt */
    put32(o, 4);       /* charcnt */
}

static void types(buf *o, const long *offs, const int *dst, int n)
{
    for (int i = 0; i < n; i++) {
        put32(o, (uint32_t)(int32_t)offs[i]);
        unsigned char c[2] = {(unsigned char)dst[i], 0};
        put(o, c, 2);
    }
    put(o, "ABC", 4);
}

/* A version-2 file: one transition in 1990 to offs[1], then the footer. */
static tz_zone *from_footer(const char *footer, long off0, long off1)
{
    buf o = {{0}, 0};
    long offs[2] = {off0, off1};
    int dst[2] = {0, 0};
    header(&o, '2', 0, 1);
    types(&o, offs, dst, 1);
    header(&o, '2', 1, 2);
    put64(&o, ts(1990, 1, 1, 0, 0, 0));
    unsigned char idx = 1;
    put(&o, &idx, 1);
    types(&o, offs, dst, 2);
    put(&o, "\n", 1);
    put(&o, footer, strlen(footer));
    put(&o, "\n", 1);
    tz_zone *z = NULL;
    vg_error err = {0};
    if (tz_from_tzif(footer, o.b, o.n, &z, &err) != VG_OK) {
        fprintf(stderr, "tz_from_tzif(%s): %s\n", footer, err.msg);
        check_failures++;
    }
    return z;
}

static void test_footer_rules(void)
{
    static const struct {
        const char *footer;
        int y, mo, d, h, mi, s; /* UTC */
        long off;
    } cases[] = {
        {"CET-1CEST,M3.5.0,M10.5.0/3", 2030, 3, 31, 0, 59, 59, 3600},
        {"CET-1CEST,M3.5.0,M10.5.0/3", 2030, 3, 31, 1, 0, 0, 7200},
        {"CET-1CEST,M3.5.0,M10.5.0/3", 2030, 10, 27, 0, 59, 59, 7200},
        {"CET-1CEST,M3.5.0,M10.5.0/3", 2030, 10, 27, 1, 0, 0, 3600},
        {"EST5EDT,M3.2.0,M11.1.0", 2030, 3, 10, 6, 59, 59, -18000},
        {"EST5EDT,M3.2.0,M11.1.0", 2030, 3, 10, 7, 0, 0, -14400},
        {"EST5EDT,M3.2.0,M11.1.0", 2030, 11, 3, 6, 0, 0, -18000},
        {"EST5EDT", 2030, 7, 1, 0, 0, 0, -14400}, /* default US rule */
        {"IST-5:30", 2030, 7, 1, 0, 0, 0, 19800},
        {"<-03>3", 2030, 7, 1, 0, 0, 0, -10800},
        {"<+0545>-5:45", 2030, 7, 1, 0, 0, 0, 20700},
        /* Southern hemisphere, 30-minute DST (Lord Howe). */
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2030, 1, 15, 0, 0, 0, 39600},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2030, 7, 1, 0, 0, 0, 37800},
        {"<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2030, 12, 31, 23, 0, 0, 39600},
        /* Jn skips Feb 29: J60 is always March 1. */
        {"AAA0BBB,J60/0,J305/0", 2028, 2, 29, 23, 59, 59, 0},
        {"AAA0BBB,J60/0,J305/0", 2028, 3, 1, 0, 0, 0, 3600},
        {"AAA0BBB,J60/0,J305/0", 2027, 10, 31, 22, 59, 59, 3600},
        {"AAA0BBB,J60/0,J305/0", 2027, 10, 31, 23, 0, 0, 0},
        /* Zero-based n counts Feb 29: day 59 is Feb 29 in 2028. */
        {"AAA0BBB,59/0,304/0", 2028, 2, 28, 23, 59, 59, 0},
        {"AAA0BBB,59/0,304/0", 2028, 2, 29, 0, 0, 0, 3600},
        {"AAA0BBB,59/0,304/0", 2027, 3, 1, 0, 0, 0, 3600},
        /* Version-3 extension: hours beyond 24 and negative times. */
        {"AAA0BBB,M3.5.0/-1,M10.5.0/26", 2030, 3, 30, 22, 59, 59, 0},
        {"AAA0BBB,M3.5.0/-1,M10.5.0/26", 2030, 3, 30, 23, 0, 0, 3600},
        {"AAA0BBB,M3.5.0/-1,M10.5.0/26", 2030, 10, 28, 0, 59, 59, 3600},
        {"AAA0BBB,M3.5.0/-1,M10.5.0/26", 2030, 10, 28, 1, 0, 0, 0},
        /* Before the only transition: type 0. */
        {"CET-1CEST,M3.5.0,M10.5.0/3", 1980, 7, 1, 0, 0, 0, 1234},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        tz_zone *z = from_footer(cases[i].footer, 1234, 3600);
        if (!z)
            continue;
        long got = tz_offset_at(z, ts(cases[i].y, cases[i].mo, cases[i].d,
                                      cases[i].h, cases[i].mi, cases[i].s));
        if (got != cases[i].off)
            fprintf(stderr, "footer case %zu (%s)\n", i, cases[i].footer);
        CHECK_INT_EQ(got, cases[i].off);
        tz_free(z);
    }
    /* An unusable footer falls back to the last transition's type. */
    tz_zone *z = from_footer("garbage!", 0, 4321);
    if (z)
        CHECK_INT_EQ(tz_offset_at(z, ts(2050, 1, 1, 0, 0, 0)), 4321);
    tz_free(z);
}

static void test_v1_and_truncation(void)
{
    /* Version 1: 32-bit data only, no footer; the last type holds. */
    buf o = {{0}, 0};
    long offs[2] = {3600, 7200};
    int dst[2] = {0, 1};
    header(&o, 0, 2, 2);
    put32(&o, (uint32_t)ts(2000, 3, 26, 1, 0, 0));
    put32(&o, (uint32_t)ts(2000, 10, 29, 1, 0, 0));
    unsigned char idx[2] = {1, 0};
    put(&o, idx, 2);
    types(&o, offs, dst, 2);
    tz_zone *z = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(tz_from_tzif("v1", o.b, o.n, &z, &err), VG_OK);
    if (z) {
        CHECK_INT_EQ(tz_offset_at(z, ts(1999, 1, 1, 0, 0, 0)), 3600);
        CHECK_INT_EQ(tz_offset_at(z, ts(2000, 7, 1, 0, 0, 0)), 7200);
        CHECK_INT_EQ(tz_offset_at(z, ts(2030, 7, 1, 0, 0, 0)), 3600);
    }
    tz_free(z);

    /* Every truncation of a real file fails cleanly or still loads. */
    FILE *f = fopen(TZ_DEFAULT_DIR "/Europe/Berlin", "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    unsigned char data[8192];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    CHECK(n > 44);
    int ok = 0, failed = 0;
    for (size_t len = 0; len <= n; len++) {
        unsigned char *copy = malloc(len ? len : 1);
        memcpy(copy, data, len);
        z = NULL;
        vg_code rc = tz_from_tzif("cut", copy, len, &z, &err);
        if (rc == VG_OK) {
            ok++;
            (void)tz_offset_at(z, ts(2026, 7, 1, 0, 0, 0));
        } else {
            failed++;
            CHECK(z == NULL);
        }
        tz_free(z);
        free(copy);
    }
    CHECK(ok >= 1 && failed > 0);
    /* Flipped bytes must not crash either. */
    unsigned seed = 12345;
    for (int k = 0; k < 2000; k++) {
        unsigned char copy[8192];
        memcpy(copy, data, n);
        for (int j = 0; j < 4; j++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] ^= (unsigned char)(seed >> 20);
        }
        z = NULL;
        if (tz_from_tzif("flip", copy, n, &z, &err) == VG_OK) {
            int64_t out[2];
            (void)tz_offset_at(z, ts(2026, 7, 1, 0, 0, 0));
            (void)tz_local_to_utc(z, ts(2026, 7, 1, 0, 0, 0), out);
            (void)tz_next_transition(z, ts(2026, 7, 1, 0, 0, 0));
        }
        tz_free(z);
    }
}

int main(void)
{
    test_offsets();
    test_far_future_transitions();
    test_local_to_utc();
    test_errors();
    test_footer_rules();
    test_v1_and_truncation();
    return check_done("test_tz");
}
