/* test_report_svg.c — the report's pure helpers: HTML escaping of hostile and
 * malformed text, axis rounding, and the SVG charts' geometry. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "report/html.h"
#include "report/svg.h"

static const char *escaped(const char *in, size_t max)
{
    static char out[1024];
    html_buf *b = html_new();
    if (max)
        html_text_max(b, in, max);
    else
        html_text(b, in);
    snprintf(out, sizeof out, "%s", html_data(b));
    html_free(b);
    return out;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Every number an SVG attribute holds must be finite. */
static int has_bad_number(const char *s)
{
    return strstr(s, "nan") || strstr(s, "inf") || strstr(s, "NaN");
}

static void test_escape(void)
{
    static const struct {
        const char *in, *want;
        size_t max;
    } cases[] = {
        {"plain text", "plain text", 0},
        {"<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;",
         0},
        {"a & b", "a &amp; b", 0},
        {"\"quoted\" 'single'", "&quot;quoted&quot; &#39;single&#39;", 0},
        {"&lt;", "&amp;lt;", 0},
        {"tab\tnew\nline\rcr", "tab new linecr", 0},
        {"bell\x07zero\x1f", "bellzero", 0},
        {"caf\xC3\xA9 \xE2\x82\xAC", "caf\xC3\xA9 \xE2\x82\xAC", 0},
        /* invalid UTF-8: a lone continuation byte, a truncated sequence
         * right before '<', an overlong '<' (C0 BC), a surrogate */
        {"a\x80z", "a\xEF\xBF\xBDz", 0},
        {"\xE2\x82<b>", "\xEF\xBF\xBD\xEF\xBF\xBD&lt;b&gt;", 0},
        {"\xC0\xBCscript", "\xEF\xBF\xBD\xEF\xBF\xBDscript", 0},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD", 0},
        {"", "", 0},
        /* truncation counts characters, not bytes, and adds an ellipsis */
        {"abcdef", "abc\xE2\x80\xA6", 3},
        {"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", "\xC3\xA9\xC3\xA9\xE2\x80\xA6", 2},
        {"abc", "abc", 3},
        {"<<<<", "&lt;&lt;\xE2\x80\xA6", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_STR_EQ(escaped(cases[i].in, cases[i].max), cases[i].want);

    html_buf *b = html_new();
    html_text(b, NULL);
    CHECK_INT_EQ(html_len(b), 0);
    /* growth well past the first allocation keeps every byte */
    for (int i = 0; i < 5000; i++)
        html_printf(b, "%04d", i % 10000);
    CHECK_INT_EQ(html_len(b), 20000);
    CHECK(!html_failed(b));
    CHECK(strncmp(html_data(b) + 19996, "4999", 4) == 0);
    html_free(b);
}

static void test_nice_max(void)
{
    static const double cases[][2] = {
        {0.07, 0.1}, {0.1, 0.1}, {0.11, 0.2},     {0.21, 0.25}, {0.3, 0.5},
        {0.51, 1},   {1, 1},     {0.0012, 0.002}, {37, 50},     {0, 1},
        {-3, 1},     {NAN, 1},   {INFINITY, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK_NEAR(svg_nice_max(cases[i][0]), cases[i][1], 1e-12);
}

static void test_stacked_bars(void)
{
    const char *labels[3] = {"2025-05-18", "<d2>", "2025-06-01"};
    const char *names[2] = {"healthy", "critical"};
    const char *colors[2] = {"#0a0", "#a00"};
    /* bar 0: 3:1 split; bar 1: empty; bar 2: one series only */
    const double v[6] = {300, 100, 0, 0, 0, 50};
    html_buf *b = html_new();
    svg_stacked_bars(b, "tiers & more", 3, labels, 2, names, colors, v);
    const char *s = html_data(b);
    CHECK(strncmp(s, "<svg class=\"chart tiers\"", 24) == 0);
    CHECK(strstr(s, "</svg>") != NULL);
    CHECK(strstr(s, "<title>tiers &amp; more</title>") != NULL);
    CHECK(strstr(s, "&lt;d2&gt;") != NULL && !strstr(s, "<d2>"));
    CHECK_INT_EQ(count(s, "class=\"seg-healthy\""), 1);
    CHECK_INT_EQ(count(s, "class=\"seg-critical\""), 2);
    /* plot height 200: 75% and 25% of it, and a full bar for bar 2 */
    CHECK(strstr(s, "height=\"150.0\"") != NULL);
    CHECK(strstr(s, "height=\"50.0\"") != NULL);
    CHECK(strstr(s, "height=\"200.0\"") != NULL);
    CHECK(strstr(s, "healthy: 300 (75.0%)") != NULL);
    CHECK(!has_bad_number(s));
    html_free(b);

    /* no bars at all still makes a closed, valid chart */
    b = html_new();
    svg_stacked_bars(b, "none", 0, NULL, 2, names, colors, NULL);
    CHECK(strstr(html_data(b), "</svg>") != NULL);
    CHECK_INT_EQ(count(html_data(b), "<rect class="), 0);
    html_free(b);
}

static void test_calibration(void)
{
    const double pred[4] = {0.02, 0.08, NAN, 0.3};
    const double obs[4] = {0.01, 0.1, 0.5, 0.35};
    const double rows[4] = {1000, 200, 10, 5};
    html_buf *b = html_new();
    svg_calibration(b, "cal", 4, pred, obs, rows);
    const char *s = html_data(b);
    CHECK(strstr(s, "class=\"chart calibration\"") != NULL);
    CHECK_INT_EQ(count(s, "class=\"diagonal\""), 1);
    /* the NaN point is left out */
    CHECK_INT_EQ(count(s, "class=\"calib-pt\""), 3);
    /* axes end at the nice maximum 0.5 of the largest value 0.35 */
    CHECK(strstr(s, ">0.5</text>") != NULL);
    CHECK(strstr(s, ">0.6</text>") == NULL);
    /* the biggest bin gets the biggest point */
    CHECK(strstr(s, "r=\"9.0\"><title>predicted 0.0200") != NULL);
    CHECK(!has_bad_number(s));
    html_free(b);
}

static void test_day_bars(void)
{
    const double counts[4] = {0, 2, 4, NAN};
    const unsigned char mark[4] = {0, 0, 1, 1};
    html_buf *b = html_new();
    svg_day_bars(b, "Daily tickets: <x>", 20089, 4, counts, mark);
    const char *s = html_data(b);
    CHECK(strstr(s, "class=\"chart daybars\"") != NULL);
    CHECK(strstr(s, "Daily tickets: &lt;x&gt;") != NULL);
    CHECK_INT_EQ(count(s, "class=\"day\""), 4);
    CHECK_INT_EQ(count(s, "class=\"alert-window\""), 2);
    CHECK(strstr(s, "<title>2025-01-01: 0</title>") != NULL);
    CHECK(strstr(s, "<title>2025-01-03: 4</title>") != NULL);
    /* bar of the maximum fills the 42-unit plot height */
    CHECK(strstr(s, "height=\"42.0\"><title>2025-01-03") != NULL);
    CHECK(!has_bad_number(s));
    html_free(b);
}

int main(void)
{
    test_escape();
    test_nice_max();
    test_stacked_bars();
    test_calibration();
    test_day_bars();
    return check_done("report_svg");
}
