/* test_cron.c — table-driven checks of cron parsing and next fire times.
 * Each row is (expression, zone, after, expected next), all instants in UTC. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/date.h"
#include "core/cron.h"
#include "core/tz.h"

/* "YYYY-MM-DD HH:MM:SS" (UTC) to epoch seconds; "-1" stays -1. */
static int64_t utc(const char *s)
{
    int y, mo, d, h, mi, sec;
    if (strcmp(s, "-1") == 0)
        return -1;
    if (sscanf(s, "%d-%d-%d %d:%d:%d", &y, &mo, &d, &h, &mi, &sec) != 6) {
        fprintf(stderr, "bad time in table: %s\n", s);
        check_failures++;
        return 0;
    }
    return (int64_t)date_from_ymd(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
}

static void fmt(int64_t t, char out[32])
{
    if (t == -1) {
        snprintf(out, 32, "-1");
        return;
    }
    int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t s = t - day * 86400;
    int y, mo, d;
    date_to_ymd((int)day, &y, &mo, &d);
    snprintf(out, 32, "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d,
             (int)(s / 3600), (int)(s % 3600 / 60), (int)(s % 60));
}

static const struct {
    const char *expr, *zone, *after, *next;
} next_cases[] = {
    /* The configured defaults. */
    {"0 3 * * *", "UTC", "2026-01-01 00:00:00", "2026-01-01 03:00:00"},
    {"0 3 * * *", "UTC", "2026-01-01 03:00:00", "2026-01-02 03:00:00"},
    {"0 3 * * *", "UTC", "2026-01-01 02:59:59", "2026-01-01 03:00:00"},
    {"0 * * * *", "UTC", "2026-12-31 23:30:00", "2027-01-01 00:00:00"},
    {"0 * * * *", "UTC", "2026-03-31 23:00:00", "2026-04-01 00:00:00"},
    {"0 4 * * 0", "UTC", "2026-01-01 00:00:00", "2026-01-04 04:00:00"},
    /* Field forms. */
    {"* * * * *", "UTC", "2026-05-05 10:10:10", "2026-05-05 10:11:00"},
    {"*/15 * * * *", "UTC", "2026-01-01 00:50:00", "2026-01-01 01:00:00"},
    {"5-10/2 * * * *", "UTC", "2026-01-01 00:07:00", "2026-01-01 00:09:00"},
    {"5-10/2 * * * *", "UTC", "2026-01-01 00:09:00", "2026-01-01 01:05:00"},
    {"10/20 * * * *", "UTC", "2026-01-01 00:31:00", "2026-01-01 00:50:00"},
    {"1,2,58 * * * *", "UTC", "2026-01-01 00:03:00", "2026-01-01 00:58:00"},
    {"0 9-17/4 * * *", "UTC", "2026-01-01 14:00:00", "2026-01-01 17:00:00"},
    {"0 9-17/4 * * *", "UTC", "2026-01-01 17:00:00", "2026-01-02 09:00:00"},
    {"0,30 8,20 * * *", "UTC", "2026-01-01 08:30:00", "2026-01-01 20:00:00"},
    {"59 23 31 12 *", "UTC", "2026-01-01 00:00:00", "2026-12-31 23:59:00"},
    {"0 0 1 1 *", "UTC", "2026-12-31 23:59:59", "2027-01-01 00:00:00"},
    {"0 0 * * *", "UTC", "1969-12-31 12:00:00", "1970-01-01 00:00:00"},
    /* Names, any case; 7 and SUN are Sunday. */
    {"0 0 1 jan *", "UTC", "2026-01-01 00:00:00", "2027-01-01 00:00:00"},
    {"30 6 * Aug mon-fri", "UTC", "2026-01-01 00:00:00", "2026-08-03 06:30:00"},
    {"0 12 * * 7", "UTC", "2026-01-01 00:00:00", "2026-01-04 12:00:00"},
    {"0 12 * * SUN", "UTC", "2026-01-01 00:00:00", "2026-01-04 12:00:00"},
    {"0 12 * * 5-7", "UTC", "2026-01-03 13:00:00", "2026-01-04 12:00:00"},
    {"0 0 * * */3", "UTC", "2026-01-01 00:00:00", "2026-01-03 00:00:00"},
    {"0 0 * NOV-DEC/1 Wed", "UTC", "2026-01-01 00:00:00",
     "2026-11-04 00:00:00"},
    /* Shortcuts. */
    {"@yearly", "UTC", "2026-06-01 00:00:00", "2027-01-01 00:00:00"},
    {"@annually", "UTC", "2026-06-01 00:00:00", "2027-01-01 00:00:00"},
    {"@monthly", "UTC", "2026-01-15 00:00:00", "2026-02-01 00:00:00"},
    {"@weekly", "UTC", "2026-01-01 00:00:00", "2026-01-04 00:00:00"},
    {"@daily", "UTC", "2026-01-01 12:00:00", "2026-01-02 00:00:00"},
    {"@midnight", "UTC", "2026-01-01 12:00:00", "2026-01-02 00:00:00"},
    {"@hourly", "UTC", "2026-01-01 12:00:01", "2026-01-01 13:00:00"},
    {" @DAILY ", "UTC", "2026-01-01 12:00:00", "2026-01-02 00:00:00"},
    /* Month ends and leap days. */
    {"0 0 31 * *", "UTC", "2026-04-01 00:00:00", "2026-05-31 00:00:00"},
    {"0 0 31 * *", "UTC", "2026-01-31 00:00:00", "2026-03-31 00:00:00"},
    {"0 0 29 2 *", "UTC", "2025-01-01 00:00:00", "2028-02-29 00:00:00"},
    {"0 0 29 2 *", "UTC", "2096-03-01 00:00:00", "2104-02-29 00:00:00"},
    {"0 0 30 2 *", "UTC", "2026-01-01 00:00:00", "-1"},
    {"0 0 31 4,6,9,11 *", "UTC", "2026-01-01 00:00:00", "-1"},
    /* Day-of-month OR day-of-week when both are restricted. */
    {"0 0 1 * MON", "UTC", "2026-01-01 00:00:00", "2026-01-05 00:00:00"},
    {"0 0 1 * MON", "UTC", "2026-01-31 00:00:00", "2026-02-01 00:00:00"},
    {"0 0 13 * 5", "UTC", "2026-01-01 00:00:00", "2026-01-02 00:00:00"},
    {"0 0 1-7 * 1", "UTC", "2026-01-07 00:00:00", "2026-01-12 00:00:00"},
    /* The month still applies: Mondays in February, or Feb 29. */
    {"0 0 29 2 1", "UTC", "2026-01-01 00:00:00", "2026-02-02 00:00:00"},
    {"0 0 29 2 1", "UTC", "2027-03-01 00:00:00", "2028-02-07 00:00:00"},
    /* ...but AND when either starts with '*' (crontab(5)). */
    {"0 0 * * 5", "UTC", "2026-01-03 00:00:00", "2026-01-09 00:00:00"},
    {"0 0 */2 * 1", "UTC", "2026-01-01 00:00:00", "2026-01-05 00:00:00"},
    {"0 0 */2 * 1", "UTC", "2026-01-05 00:00:00", "2026-01-19 00:00:00"},
    {"0 0 13 * *", "UTC", "2026-01-14 00:00:00", "2026-02-13 00:00:00"},
    /* Europe/Berlin spring forward (2026-03-29 02:00 CET -> 03:00 CEST):
     * wall times in the gap fire once, at 03:00 CEST = 01:00 UTC. */
    {"30 2 * * *", "Europe/Berlin", "2026-03-28 12:00:00",
     "2026-03-29 01:00:00"},
    {"30 2 * * *", "Europe/Berlin", "2026-03-29 01:00:00",
     "2026-03-30 00:30:00"},
    {"0 3 * * *", "Europe/Berlin", "2026-03-28 12:00:00",
     "2026-03-29 01:00:00"},
    {"0 2,3 * * *", "Europe/Berlin", "2026-03-29 01:00:00",
     "2026-03-30 00:00:00"},
    {"*/30 * * * *", "Europe/Berlin", "2026-03-29 00:30:00",
     "2026-03-29 01:00:00"},
    {"*/30 * * * *", "Europe/Berlin", "2026-03-29 01:00:00",
     "2026-03-29 01:30:00"},
    {"59 1 * * *", "Europe/Berlin", "2026-03-28 12:00:00",
     "2026-03-29 00:59:00"},
    /* Fall back (2026-10-25 03:00 CEST -> 02:00 CET): first occurrence. */
    {"30 2 * * *", "Europe/Berlin", "2026-10-24 12:00:00",
     "2026-10-25 00:30:00"},
    {"30 2 * * *", "Europe/Berlin", "2026-10-25 00:30:00",
     "2026-10-26 01:30:00"},
    {"0 * * * *", "Europe/Berlin", "2026-10-25 00:00:00",
     "2026-10-25 02:00:00"},
    {"0 1 * * *", "Europe/Berlin", "2026-01-01 00:00:00",
     "2026-01-02 00:00:00"},
    {"0 0 1 * *", "Europe/Berlin", "2080-06-15 00:00:00",
     "2080-06-30 22:00:00"},
    /* America/New_York: gap 2026-03-08 02:00, repeat 2026-11-01 01:00. */
    {"0 2 * * *", "America/New_York", "2026-03-07 12:00:00",
     "2026-03-08 07:00:00"},
    {"30 1 * * *", "America/New_York", "2026-10-31 12:00:00",
     "2026-11-01 05:30:00"},
    {"30 1 * * *", "America/New_York", "2026-11-01 05:30:00",
     "2026-11-02 06:30:00"},
    {"0 9 * * 1-5", "America/New_York", "2026-01-02 15:00:00",
     "2026-01-05 14:00:00"},
    /* Australia/Lord_Howe: 30-minute DST shifts. */
    {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03 00:00:00",
     "2026-10-03 15:30:00"},
    {"45 1 * * *", "Australia/Lord_Howe", "2026-04-04 00:00:00",
     "2026-04-04 14:45:00"},
    {"45 1 * * *", "Australia/Lord_Howe", "2026-04-04 14:45:00",
     "2026-04-05 15:15:00"},
    /* Half-hour offset, no DST. */
    {"0 9 * * *", "Asia/Kolkata", "2026-01-01 00:00:00", "2026-01-01 03:30:00"},
    /* Six fields: a leading second (an extension for short test schedules). */
    {"*/5 * * * * *", "UTC", "2026-01-01 00:00:00", "2026-01-01 00:00:05"},
    {"*/5 * * * * *", "UTC", "2026-01-01 00:00:03", "2026-01-01 00:00:05"},
    {"*/5 * * * * *", "UTC", "2026-01-01 00:00:57", "2026-01-01 00:01:00"},
    {"0,30 * * * * *", "UTC", "2026-12-31 23:59:45", "2027-01-01 00:00:00"},
    {"30 0 3 * * *", "UTC", "2026-01-01 03:00:30", "2026-01-02 03:00:30"},
    {"30 0 3 * * *", "UTC", "2026-01-01 03:00:29", "2026-01-01 03:00:30"},
    {"0 0 0 29 2 *", "UTC", "2026-01-01 00:00:00", "2028-02-29 00:00:00"},
    {"59 59 23 31 * *", "UTC", "2026-04-01 00:00:00", "2026-05-31 23:59:59"},
    {"15 30 2 * * *", "Europe/Berlin", "2026-03-28 12:00:00",
     "2026-03-29 01:00:00"},
    {"10 30 2 * * *", "Europe/Berlin", "2026-10-25 00:00:00",
     "2026-10-25 00:30:10"},
    {"10 30 2 * * *", "Europe/Berlin", "2026-10-25 00:30:10",
     "2026-10-26 01:30:10"},
    {"*/20 * * * * *", "Europe/Berlin", "2026-10-25 00:59:50",
     "2026-10-25 02:00:00"},
};

static void test_next(void)
{
    size_t n = sizeof next_cases / sizeof *next_cases;
    CHECK(n >= 40);
    for (size_t i = 0; i < n; i++) {
        cron_expr *e = NULL;
        tz_zone *z = NULL;
        vg_error err = {0};
        if (cron_parse(next_cases[i].expr, &e, &err) != VG_OK) {
            fprintf(stderr, "case %zu: parse '%s': %s\n", i, next_cases[i].expr,
                    err.msg);
            check_failures++;
            continue;
        }
        if (tz_load(next_cases[i].zone, &z, &err) != VG_OK) {
            fprintf(stderr, "case %zu: %s\n", i, err.msg);
            check_failures++;
            cron_free(e);
            continue;
        }
        int64_t got = cron_next(e, z, utc(next_cases[i].after));
        int64_t want = utc(next_cases[i].next);
        check_count++;
        if (got != want) {
            char g[32];
            fmt(got, g);
            fprintf(stderr, "case %zu: cron_next('%s', %s, %s) = %s, want %s\n",
                    i, next_cases[i].expr, next_cases[i].zone,
                    next_cases[i].after, g, next_cases[i].next);
            check_failures++;
        }
        tz_free(z);
        cron_free(e);
    }
}

static const struct {
    const char *expr, *msg; /* msg: a substring of the error */
} bad_cases[] = {
    {"", "cron '': empty expression"},
    {"   \t ", "empty expression"},
    {"* * * *", "cron '* * * *': expected 5 fields (minute hour "
                "day-of-month month day-of-week), or 6 with a leading "
                "second, found 4"},
    {"* * * * * * *", "or 6 with a leading second, found 7"},
    {"60 * * * * *", "second 60 is out of range 0-59"},
    {"*/0 * * * * *", "second step 0 is out of range 1-60"},
    {"x 0 * * * *", "second 'x' is not a number"},
    {"0 60 * * * *", "minute 60 is out of range 0-59"},
    {"0 25 * * *", "cron '0 25 * * *': hour 25 is out of range 0-23"},
    {"60 * * * *", "minute 60 is out of range 0-59"},
    {"99999999999 * * * *", "minute 99999999999 is out of range 0-59"},
    {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
    {"* * 32 * *", "day-of-month 32 is out of range 1-31"},
    {"* * * 0 *", "month 0 is out of range 1-12"},
    {"* * * 13 *", "month 13 is out of range 1-12"},
    {"* * * * 8", "day-of-week 8 is out of range 0-7"},
    {"0 0-24 * * *", "hour 24 is out of range 0-23"},
    {"*/0 * * * *", "cron '*/0 * * * *': minute step 0 is out of range 1-60"},
    {"1-5/0 * * * *", "minute step 0 is out of range"},
    {"0 */25 * * *", "hour step 25 is out of range 1-24"},
    {"*/ * * * *", "minute step '' is not a number"},
    {"0 0 * * */x", "day-of-week step 'x' is not a number"},
    {"x * * * *", "cron 'x * * * *': minute 'x' is not a number"},
    {"JAN * * * *", "minute 'JAN' is not a number"},
    {"* * * FOO *", "month 'FOO' is not a number or month name (JAN-DEC)"},
    {"* * * JANUARY *", "month 'JANUARY' is not"},
    {"* * * * JAN", "day-of-week 'JAN' is not a number or day name"},
    {"* * * * FUNDAY", "day-of-week 'FUNDAY' is not"},
    {"0 0 ? * *", "day-of-month '?' is not a number"},
    {"0 0 L * *", "day-of-month 'L' is not a number"},
    {"5-2 * * * *", "minute range 5-2 is backwards"},
    {"* * * * FRI-MON", "day-of-week range FRI-MON is backwards"},
    {"1,,2 * * * *", "minute has an empty list item"},
    {"1, * * * *", "minute has an empty list item"},
    {"*5 * * * *", "minute item '*5' is not valid"},
    {"1-2-3 * * * *", "minute item '1-2-3' is not valid"},
    {"-5 * * * *", "minute is missing a value"},
    {"0 0 1- * *", "day-of-month is missing a value"},
    {"@reboot", "cron '@reboot': unknown shortcut"},
    {"@daily 0", "unknown shortcut"},
    {"@", "unknown shortcut"},
    {"0 0 * * 1\x01", "day-of-week '1?' is not"},
};

static void test_parse_errors(void)
{
    for (size_t i = 0; i < sizeof bad_cases / sizeof *bad_cases; i++) {
        cron_expr *e = (cron_expr *)1;
        vg_error err = {0};
        vg_code rc = cron_parse(bad_cases[i].expr, &e, &err);
        CHECK_INT_EQ(rc, VG_ECONFIG);
        CHECK(e == NULL);
        if (!strstr(err.msg, bad_cases[i].msg)) {
            fprintf(stderr, "bad case %zu: got \"%s\", want \"%s\"\n", i,
                    err.msg, bad_cases[i].msg);
            check_failures++;
        }
        check_count++;
        if (rc == VG_OK)
            cron_free(e);
    }
    cron_expr *e = (cron_expr *)1;
    vg_error err = {0};
    CHECK_INT_EQ(cron_parse(NULL, &e, &err), VG_ECONFIG);
    CHECK(e == NULL);
    /* Long input is refused, and the message stays one short line. */
    char big[3000];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_INT_EQ(cron_parse(big, &e, &err), VG_ECONFIG);
    CHECK(strlen(err.msg) < 200);
    CHECK(cron_next(NULL, NULL, 0) == -1);
}

static void test_accessors(void)
{
    cron_expr *e = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(cron_parse("  0 3 * * *\n", &e, &err), VG_OK);
    CHECK_STR_EQ(cron_text(e), "0 3 * * *");
    /* NULL zone means UTC; far-out inputs are refused, not overflowed. */
    CHECK_INT_EQ(cron_next(e, NULL, utc("2026-01-01 00:00:00")),
                 utc("2026-01-01 03:00:00"));
    CHECK_INT_EQ(cron_next(e, NULL, INT64_MAX), -1);
    CHECK_INT_EQ(cron_next(e, NULL, INT64_MIN), -1);
    cron_free(e);
    /* Tabs separate fields too; 0 and 7 are both Sunday. */
    CHECK_INT_EQ(cron_parse("0\t0\t*\t*\t0,7", &e, &err), VG_OK);
    CHECK_INT_EQ(cron_next(e, NULL, utc("2026-01-01 00:00:00")),
                 utc("2026-01-04 00:00:00"));
    cron_free(e);
}

/* A year of "30 2 * * *" in Berlin: exactly one run per local day, at 02:30
 * local, except on the spring-forward day (02:30 does not exist) at 03:00. */
static void test_year_walk(void)
{
    cron_expr *e = NULL;
    tz_zone *z = NULL;
    vg_error err = {0};
    if (cron_parse("30 2 * * *", &e, &err) != VG_OK ||
        tz_load("Europe/Berlin", &z, &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        check_failures++;
        cron_free(e);
        tz_free(z);
        return;
    }
    int64_t t = utc("2025-12-31 12:00:00");
    int runs = 0, bad = 0;
    for (;;) {
        int64_t next = cron_next(e, z, t);
        if (next <= t || next >= utc("2027-01-01 00:00:00"))
            break;
        runs++;
        long off = tz_offset_at(z, next);
        int64_t local_sod = ((next + off) % 86400 + 86400) % 86400;
        if (local_sod != 2 * 3600 + 1800 &&
            !(next == utc("2026-03-29 01:00:00") && local_sod == 3 * 3600))
            bad++;
        t = next;
    }
    CHECK_INT_EQ(runs, 365);
    CHECK_INT_EQ(bad, 0);
    cron_free(e);
    tz_free(z);
}

/* Six-field expressions in UTC against a second-by-second reference. */
static int ref_match(const int *sec, const int *min, const int *hour,
                     int dow_mask, int64_t t)
{
    int64_t day = t / 86400, sod = t % 86400;
    int wd = (int)((day + 4) % 7);
    return sec[sod % 60] && min[sod % 3600 / 60] && hour[sod / 3600] &&
           (dow_mask >> wd & 1);
}

static void test_seconds_reference(void)
{
    static const struct {
        const char *expr;
        int sec_step, sec_lo, min_step, min_lo, hour_lo, hour_hi, dow_mask;
    } cases[] = {
        {"*/7 * * * * *", 7, 0, 1, 0, 0, 23, 0x7f},
        {"5-59/20 */3 * * * *", 20, 5, 3, 0, 0, 23, 0x7f},
        {"0/30 10/25 9-11 * * MON-FRI", 30, 0, 25, 10, 9, 11, 0x3e},
        {"59 59 23 * * SUN", 60, 59, 60, 59, 23, 23, 0x01},
    };
    int64_t starts[] = {utc("2026-01-01 00:00:00"), utc("2026-03-28 23:59:58"),
                        utc("2028-02-28 23:59:31")};
    int bad = 0;
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        cron_expr *e = NULL;
        vg_error err = {0};
        if (cron_parse(cases[c].expr, &e, &err) != VG_OK) {
            fprintf(stderr, "%s: %s\n", cases[c].expr, err.msg);
            check_failures++;
            continue;
        }
        int sec[60] = {0}, min[60] = {0}, hour[24] = {0};
        for (int v = cases[c].sec_lo; v < 60; v += cases[c].sec_step)
            sec[v] = 1;
        for (int v = cases[c].min_lo; v < 60; v += cases[c].min_step)
            min[v] = 1;
        for (int v = cases[c].hour_lo; v <= cases[c].hour_hi; v++)
            hour[v] = 1;
        for (size_t k = 0; k < sizeof starts / sizeof *starts; k++) {
            int64_t t = starts[k];
            for (int n = 0; n < 40; n++) { /* 40 consecutive firings */
                int64_t want = t + 1;
                while (!ref_match(sec, min, hour, cases[c].dow_mask, want))
                    want++;
                int64_t got = cron_next(e, NULL, t);
                if (got != want && bad++ < 5)
                    fprintf(stderr, "%s after %lld: got %lld want %lld\n",
                            cases[c].expr, (long long)t, (long long)got,
                            (long long)want);
                check_count++;
                t = want;
            }
        }
        cron_free(e);
    }
    check_failures += bad;
}

int main(void)
{
    test_seconds_reference();
    test_next();
    test_parse_errors();
    test_accessors();
    test_year_walk();
    return check_done("test_cron");
}
