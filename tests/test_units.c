/* test_units.c — pure helpers: calendar dates, health and tiers, the string
 * map (driver wording is in tests/test_drivers.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/util.h"
#include "score/score.h"
#include "train/train.h"

/* fmt_g17 and fmt_0f print what snprintf prints, on the values scoring
 * writes (rounded to 3 and 4 decimals, risks, day counts), on halves
 * (round half to even), on neighbours of powers of ten and on random bit
 * patterns; one mismatch is reported with the value. */
static int same_text(double v)
{
    char a[FMT_NUM_BUF], b[FMT_NUM_BUF];
    size_t n = fmt_g17(v, a);
    snprintf(b, sizeof b, "%.17g", v);
    int ok = strcmp(a, b) == 0 && n == strlen(b);
    n = fmt_0f(v, a);
    snprintf(b, sizeof b, "%.0f", v);
    ok = ok && strcmp(a, b) == 0 && n == strlen(b);
    if (!ok)
        fprintf(stderr, "number text differs for %a (%.17g)\n", v, v);
    return ok;
}

static void test_number_text(void)
{
    int bad = 0;
    uint64_t h = 12345;
    const double fixed[] = {0,
                            -0.0,
                            0.5,
                            1.5,
                            2.5,
                            -2.5,
                            1e-4,
                            1e-5,
                            9e-5,
                            0.0001,
                            1e15,
                            1e16,
                            1e21,
                            -1e21,
                            0.1,
                            0.7,
                            60.384,
                            0.6971,
                            1.0,
                            10.0,
                            123.5,
                            12345.5,
                            NAN,
                            INFINITY,
                            -INFINITY,
                            999999999999999.9,
                            0.00099999999999999999};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        bad += !same_text(fixed[i]);
    for (int i = 0; i < 300000 && bad < 5; i++) {
        h = hash_mix(h + (uint64_t)i);
        double u = hash_unit(h);
        double v;
        switch (i % 6) {
        case 0: /* a value rounded to 3 decimals */
            v = round((u * 2e6 - 1e6) * 1000) / 1000;
            break;
        case 1: /* an effect rounded to 4 decimals */
            v = round((u * 4 - 2) * 10000) / 10000;
            break;
        case 2: /* a risk */
            v = u;
            break;
        case 3: /* a half, to round to even */
            v = (double)(int64_t)(h % 2000001) / 2 - 500000;
            break;
        case 4: /* around powers of ten */
            v = nextafter(pow(10, (int)(h % 20) - 5), (h & 1) ? 0 : 1e30);
            break;
        default: { /* any bits */
            memcpy(&v, &h, sizeof v);
            break;
        }
        }
        bad += !same_text(v);
    }
    CHECK_INT_EQ(bad, 0);
}

/* parse_decimal gives strtod's double whenever it answers, and answers
 * for the forms PostgreSQL writes: float8's shortest digits of epoch
 * days, numeric's fixed decimals, signs, leading zeros. */
static void test_parse_decimal(void)
{
    int bad = 0, answered = 0;
    uint64_t h = 777;
    const char *fixed[] = {"0",
                           "-0.0",
                           ".5",
                           "5.",
                           "-",
                           ".",
                           "1e5",
                           "12.50",
                           "0.1",
                           "abc",
                           "1.2.3",
                           "",
                           "9999999999999999999",
                           "99999999999999999999",
                           "20393.541666666668",
                           "-0.000000000000000000000000001"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        double d;
        if (parse_decimal(fixed[i], &d)) {
            char *end;
            double r = strtod(fixed[i], &end);
            bad += *end != '\0' || memcmp(&d, &r, sizeof d) != 0;
        }
    }
    CHECK_INT_EQ(bad, 0);
    double d;
    CHECK(!parse_decimal("1e5", &d) && !parse_decimal("abc", &d) &&
          !parse_decimal("", &d) && !parse_decimal("99999999999999999999", &d));
    for (int i = 0; i < 300000 && bad < 5; i++) {
        h = hash_mix(h + (uint64_t)i);
        char s[64];
        if (i % 2) { /* a day number as float8 prints it */
            double v = (double)(h % 2000000000000ull) / 86400.0 / 1000.0;
            snprintf(s, sizeof s, "%.*g", 15 + (int)(h % 3), v);
        } else { /* any digits, any point, any sign */
            int nd = 1 + (int)(h % 19),
                dot = (int)((h >> 8) % (uint64_t)(nd + 1));
            int k = 0;
            if ((h >> 16) & 1)
                s[k++] = '-';
            uint64_t g = hash_mix(h);
            for (int j = 0; j < nd; j++) {
                if (j == dot)
                    s[k++] = '.';
                s[k++] = (char)('0' + g % 10);
                g = g / 10 ? g / 10 : hash_mix(g + 1);
            }
            s[k] = '\0';
        }
        if (!parse_decimal(s, &d))
            continue;
        answered++;
        char *end;
        double r = strtod(s, &end);
        if (*end != '\0' || memcmp(&d, &r, sizeof d) != 0) {
            fprintf(stderr, "parse_decimal(%s) = %a, strtod %a\n", s, d, r);
            bad++;
        }
    }
    CHECK_INT_EQ(bad, 0);
    CHECK(answered > 250000); /* it is the fast path, not the exception */
}

static void test_dates(void)
{
    /* dates */
    int d;
    CHECK(date_parse("1970-01-01", &d) == 0 && d == 0);
    CHECK(date_parse("2024-02-29", &d) == 0 && d == 19782);
    CHECK(date_parse("2023-02-29", &d) != 0);
    CHECK(date_parse("2024-13-01", &d) != 0);
    CHECK(date_parse("2024-1-01", &d) != 0);
    CHECK(date_parse("tomorrow", &d) != 0);
    char buf[DATE_BUF];
    date_format(19782, buf);
    CHECK_STR_EQ(buf, "2024-02-29");
    for (int day = -800; day < 80000; day += 37) {
        int y, m, dd;
        date_to_ymd(day, &y, &m, &dd);
        CHECK_INT_EQ(date_from_ymd(y, m, dd), day);
    }
}

static void test_observation_dates(void)
{
    /* observation dates t_k = D - H - k*step while t_k >= D - H - lookback */
    int *dates = NULL;
    int n = train_observation_dates(1000, 30, 180, 7, &dates);
    CHECK_INT_EQ(n, 26);
    CHECK_INT_EQ(dates[0], 970);
    CHECK_INT_EQ(dates[25], 970 - 175);
    free(dates);
    n = train_observation_dates(1000, 30, 0, 7, &dates);
    CHECK_INT_EQ(n, 1);
    free(dates);
}

static void test_health_and_tiers(void)
{
    /* health and tiers */
    vg_config cfg;
    cfg_defaults(&cfg);
    CHECK_INT_EQ(score_health(0), 100);
    CHECK_INT_EQ(score_health(1), 0);
    CHECK_INT_EQ(score_health(0.25), 50);
    CHECK_INT_EQ(score_health(NAN), 100);
    CHECK(score_health(0.1) > score_health(0.2));
    CHECK_STR_EQ(score_tier(&cfg, 0.05), "healthy");
    CHECK_STR_EQ(score_tier(&cfg, 0.10), "watch");
    CHECK_STR_EQ(score_tier(&cfg, 0.30), "at_risk");
    CHECK_STR_EQ(score_tier(&cfg, 0.95), "critical");
    /* one vocabulary: names, ranks and the SQL spelling agree */
    CHECK_INT_EQ(SCORE_NTIERS, 4);
    for (int t = 0; t < SCORE_NTIERS; t++)
        CHECK_INT_EQ(score_tier_rank(score_tier_name(t)), t);
    CHECK_INT_EQ(score_tier_rank("at_risk"), 2);
    CHECK_INT_EQ(score_tier_rank("AT_RISK"), -1);
    CHECK_INT_EQ(score_tier_rank(NULL), -1);
    CHECK_STR_EQ(score_tier_name(4), "?");
    CHECK_STR_EQ(score_tier_name(-1), "?");
    CHECK_STR_EQ(SCORE_TIERS_SQL,
                 "ARRAY['healthy','watch','at_risk','critical']");
}

static void test_string_map(void)
{
    /* string map: dense indices, growth, lookups */
    strmap *m = strmap_new(4);
    int added = 0;
    char key[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "C%06d", i);
        CHECK_INT_EQ(strmap_put(m, key, &added), i);
    }
    CHECK_INT_EQ(strmap_put(m, "C000042", &added), 42);
    CHECK_INT_EQ(added, 0);
    CHECK_INT_EQ(strmap_get(m, "C004999"), 4999);
    CHECK_INT_EQ(strmap_get(m, "nope"), -1);
    CHECK_STR_EQ(strmap_key(m, 7), "C000007");
    strmap_free(m);
}

static void test_medians(void)
{
    double v[5] = {5, 1, 3, 2, 4};
    CHECK_NEAR(median_inplace(v, 5), 3, 0);
    CHECK_NEAR(median_inplace(v, 4), 2.5, 0);
    CHECK(isnan(median_inplace(v, 0)));
    /* selection agrees with sorting, ties and odd/even sizes included */
    for (int trial = 0; trial < 200; trial++) {
        size_t len = 1 + (size_t)(hash_mix((uint64_t)trial) % 60);
        float f[64];
        double sorted[64];
        for (size_t i = 0; i < len; i++) {
            f[i] = (float)(hash_mix((uint64_t)trial * 131 + i) % 7);
            sorted[i] = f[i];
        }
        CHECK_NEAR(median_float_inplace(f, len), median_inplace(sorted, len),
                   0);
    }
    float single = 4;
    CHECK_NEAR(median_float_inplace(&single, 1), 4, 0);
    CHECK(isnan(median_float_inplace(&single, 0)));
}

static void test_strbuf(void)
{
    /* strbuf: empty reads as "", appends grow past any first capacity */
    strbuf sb = {0};
    CHECK_STR_EQ(strbuf_str(&sb), "");
    strbuf_puts(&sb, "ab");
    strbuf_putc(&sb, 'c');
    strbuf_append(&sb, "dexyz", 2);
    strbuf_printf(&sb, "-%d-%s", 42, "x");
    CHECK_STR_EQ(strbuf_str(&sb), "abcde-42-x");
    CHECK_INT_EQ(sb.len, 10);
    for (int i = 0; i < 1000; i++)
        strbuf_printf(&sb, "%0300d", i);
    CHECK_INT_EQ(sb.len, 10 + 300000);
    CHECK_STR_EQ(sb.s + 10 + 999 * 300 + 297, "999");
    CHECK(!sb.failed);
    strbuf_reset(&sb);
    CHECK_STR_EQ(strbuf_str(&sb), "");
    strbuf_free(&sb);
    CHECK(sb.s == NULL && sb.len == 0);
    /* a failed buffer stays failed and ignores appends */
    sb.failed = 1;
    strbuf_puts(&sb, "lost");
    CHECK(sb.s == NULL && sb.len == 0);
}

static void test_utf8(void)
{
    /* utf8_decode: valid 1..4-byte sequences, and every invalid form gives
     * U+FFFD consuming one byte */
    uint32_t cp;
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"A", 1, &cp), 1);
    CHECK_INT_EQ(cp, 'A');
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp), 2);
    CHECK_INT_EQ(cp, 0xE9);
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"\xE2\x82\xAC", 3, &cp), 3);
    CHECK_INT_EQ(cp, 0x20AC);
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp),
                 4);
    CHECK_INT_EQ(cp, 0x1F600);
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"\xEF\xBF\xBD", 3, &cp), 3);
    CHECK_INT_EQ(cp, 0xFFFD);
    const char *bad[] = {
        "\x80", "\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80",
        "\xC3", "\xE2\x82", "\xFF"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT_EQ(utf8_decode((const unsigned char *)bad[i], SIZE_MAX, &cp),
                     1);
        CHECK_INT_EQ(cp, 0xFFFD);
    }
    /* truncated by n, not by a NUL */
    CHECK_INT_EQ(utf8_decode((const unsigned char *)"\xC3\xA9", 1, &cp), 1);
    CHECK_INT_EQ(cp, 0xFFFD);
    char cut[] = "caf\xC3\xA9 \xE2\x82"; /* "café " + a cut euro sign */
    CHECK_INT_EQ(utf8_cut_invalid(cut), 6);
    CHECK_STR_EQ(cut, "caf\xC3\xA9 ");
    char whole[] = "\xEF\xBF\xBD ok"; /* a real U+FFFD stays */
    CHECK_INT_EQ(utf8_cut_invalid(whole), 6);
    char enc[4];
    uint32_t cps[] = {0x41, 0xE9, 0x20AC, 0x1F600};
    for (size_t i = 0; i < 4; i++) {
        size_t k = utf8_encode(cps[i], enc);
        CHECK_INT_EQ(k, i + 1);
        CHECK_INT_EQ(utf8_decode((const unsigned char *)enc, k, &cp), k);
        CHECK_INT_EQ(cp, cps[i]);
    }
}

int main(void)
{
    static const check_case cases[] = {
        CHECK_CASE(test_dates),
        CHECK_CASE(test_observation_dates),
        CHECK_CASE(test_health_and_tiers),
        CHECK_CASE(test_string_map),
        CHECK_CASE(test_medians),
        CHECK_CASE(test_strbuf),
        CHECK_CASE(test_utf8),
        CHECK_CASE(test_number_text),
        CHECK_CASE(test_parse_decimal),
    };
    return check_run("units", cases, sizeof cases / sizeof cases[0]);
}
