/* test_topics_trend.c — trend-alert statistics: tails against textbook
 * values, Benjamini-Hochberg, and the volume/weekday rules on synthetic days.
 */
#include <math.h>
#include <string.h>

#include "check.h"
#include "topics/trend.h"

#define ND 31 /* 28 baseline days + a 3-day window */

/* Steady topics: every day the total splits 50/30/20 with weekday volume. */
static void steady(int *counts, int *totals, int ntop, double scale)
{
    const double share[3] = {0.5, 0.3, 0.2};
    for (int d = 0; d < ND; d++) {
        int weekday = d % 7;
        int tot = (int)((weekday >= 5 ? 20 : 100) * scale);
        totals[d] = tot;
        for (int t = 0; t < ntop; t++)
            counts[t * ND + d] = (int)lround(tot * share[t]);
    }
}

static void test_tails(void)
{
    /* Tails: Poisson P(X >= 10 | 3) = 0.0011025 (R: ppois(9, 3, FALSE)). */
    CHECK_NEAR(trend_tail(10, 3.0, 1.0), 0.0011025, 2e-6);
    CHECK_NEAR(trend_tail(0, 3.0, 1.0), 1.0, 0);
    CHECK_NEAR(trend_tail(1, 2.0, 1.0), 1 - exp(-2.0), 1e-12);
    /* NB(mean 3, var 6): size 3, p 0.5: P(X >= 10) = 0.0192871 (R:
     * pnbinom(9, size=3, prob=0.5, lower=FALSE)). Heavier than Poisson. */
    CHECK_NEAR(trend_tail(10, 3.0, 2.0), 0.01928711, 1e-6);
    CHECK(trend_tail(10, 3.0, 2.0) > trend_tail(10, 3.0, 1.0));
}

static void test_benjamini_hochberg(void)
{
    /* BH: p = .01 .04 .03 .2 -> q = .04 .0533 .0533 .2 */
    double p[4] = {0.01, 0.04, 0.03, 0.2}, q[4];
    CHECK(trend_bh(p, 4, q, NULL) == VG_OK);
    CHECK_NEAR(q[0], 0.04, 1e-12);
    CHECK_NEAR(q[1], 0.04 * 4 / 3, 1e-12);
    CHECK_NEAR(q[2], 0.04 * 4 / 3, 1e-12);
    CHECK_NEAR(q[3], 0.2, 1e-12);
}

static void test_steady_topics_raise_nothing(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* Nothing changes: no alert. */
    steady(counts, totals, 3, 1.0);
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    for (int t = 0; t < 3; t++)
        CHECK(!r[t].significant);
    CHECK_NEAR(r[0].expected, 0.5 * (totals[28] + totals[29] + totals[30]),
               2.0);
}

static void test_launch_raises_nothing(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* A launch: the whole volume triples in the window, the mix is the
     * same -> still no alert (expectations follow the volume). */
    steady(counts, totals, 3, 1.0);
    for (int d = 28; d < ND; d++) {
        totals[d] *= 3;
        for (int t = 0; t < 3; t++)
            counts[t * ND + d] *= 3;
    }
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    for (int t = 0; t < 3; t++)
        CHECK(!r[t].significant);
}

static void test_spike_in_one_topic(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* A spike in topic 2 only: +40 tickets over the window. */
    steady(counts, totals, 3, 1.0);
    for (int d = 28; d < ND; d++) {
        counts[2 * ND + d] += 14;
        totals[d] += 14;
    }
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK(r[2].significant);
    CHECK(r[2].kind == TREND_SPIKE);
    CHECK(!r[0].significant && !r[1].significant);
    /* A step over the whole window is best seen over all three days; the
     * scan pays its factor 3 for having looked at one and two days too. */
    CHECK_INT_EQ(r[2].scan_days, 3);
    CHECK_NEAR(r[2].p_value,
               3 * trend_tail(r[2].observed, r[2].expected, r[2].dispersion),
               1e-15);
    CHECK(r[2].p_value < 1e-5);
}

static void test_tiny_excess_is_quiet(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* A tiny excess (3 tickets on a weekend day) is not a spike. */
    steady(counts, totals, 3, 1.0);
    counts[2 * ND + 30] += 3;
    totals[30] += 3;
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK(!r[2].significant);
}

static void test_new_topic_and_volume_floor(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* A brand-new topic (row 3: nothing in the baseline, young). */
    steady(counts, totals, 3, 1.0);
    for (int d = 0; d < ND; d++)
        counts[3 * ND + d] = d >= 28 ? 4 : 0;
    for (int d = 28; d < ND; d++)
        totals[d] += 4;
    int age[4] = {400, 400, 400, 2};
    CHECK(trend_test(&o, counts, totals, 4, ND, age, r, NULL) == VG_OK);
    CHECK(r[3].significant);
    CHECK(r[3].kind == TREND_NEW);
    CHECK_INT_EQ(r[3].observed, 12);
    CHECK_INT_EQ(r[3].baseline, 0);
    /* Below the volume floor it stays quiet, however unlikely. */
    o.min_count = 13;
    CHECK(trend_test(&o, counts, totals, 4, ND, age, r, NULL) == VG_OK);
    CHECK(!r[3].significant);
}

static void test_emerging_topic(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* Emerging: topic 1 grows over two windows. */
    steady(counts, totals, 3, 1.0);
    for (int d = 25; d < ND; d++) {
        int extra = (d - 24) * 5;
        counts[1 * ND + d] += extra;
        totals[d] += extra;
    }
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK(r[1].significant);
    CHECK(r[1].kind == TREND_EMERGING);
    CHECK(r[1].elevated);
}

static void test_overdispersion_raises_p(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* Overdispersed baseline (a noisy topic) raises the dispersion and so
     * the p-value of the same window count. */
    steady(counts, totals, 3, 1.0);
    for (int d = 28; d < ND; d++) {
        counts[2 * ND + d] += 8;
        totals[d] += 8;
    }
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    double p_calm = r[2].p_value;
    for (int d = 0; d < 28; d += 2) {
        for (int t = 0; t < 3; t++) {
            counts[t * ND + d] += counts[t * ND + d] / 2;
            counts[t * ND + d + 1] -= counts[t * ND + d + 1] / 2;
        }
    }
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK(r[2].dispersion > 1.5);
    CHECK(r[2].p_value > p_calm);
}

static void test_split_problem_summed_over_siblings(void)
{
    trend_opts o;
    trend_opts_default(&o);

    /* One problem split over four per-language topics (0-3, 3 tickets a
     * weekday each) doubles on the last two days: no topic alone is
     * significant, their sum is, on those two days; four sibling topics
     * that stay the same (4-7) are not. */
    enum { NT = 9, NG = 2 };
    int c9[(NT + NG) * ND], t9[ND];
    trend_result r9[NT + NG];
    for (int d = 0; d < ND; d++) {
        t9[d] = d % 7 >= 5 ? 20 : 100;
        int rest = t9[d];
        for (int t = 0; t < 8; t++) {
            c9[t * ND + d] = (int)lround(t9[d] * 0.03);
            if (t < 4 && d >= ND - 2) /* days 29, 30: weekdays */
                c9[t * ND + d] *= 2;
            rest -= (int)lround(t9[d] * 0.03);
        }
        c9[8 * ND + d] = rest;
        for (int t = 0; t < 4; t++)
            t9[d] += c9[t * ND + d] - (int)lround(t9[d] * 0.03);
    }
    const size_t start[NG + 1] = {0, 4, 8};
    const size_t member[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    trend_sum_rows(c9, ND, start, member, NG, c9 + NT * ND);
    CHECK_INT_EQ(c9[NT * ND + ND - 1], 24);
    CHECK_INT_EQ(c9[(NT + 1) * ND + ND - 1], 12);
    CHECK(trend_test(&o, c9, t9, NT + NG, ND, NULL, r9, NULL) == VG_OK);
    for (int t = 0; t < NT; t++)
        CHECK(!r9[t].significant);
    CHECK(r9[NT].significant);
    CHECK(r9[NT].kind == TREND_SPIKE);
    CHECK_INT_EQ(r9[NT].scan_days, 2);
    CHECK(r9[NT].p_value < 1e-3);
    CHECK(!r9[NT + 1].significant);
    CHECK(r9[NT + 1].p_value > 0.1);
}

static void test_one_day_burst_scanned_alone(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* A one-day burst: the scan tests the last day alone (p times 3), far
     * stronger than the 3-day sum that dilutes it with two ordinary days. */
    steady(counts, totals, 3, 1.0);
    counts[2 * ND + ND - 1] += 12;
    totals[ND - 1] += 12;
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK_INT_EQ(r[2].scan_days, 1);
    {
        double e3 = r[2].expected;
        CHECK(r[2].p_value < trend_tail(r[2].observed, e3, r[2].dispersion));
    }
}

static void test_degenerate_input(void)
{
    trend_opts o;
    trend_opts_default(&o);
    int counts[4 * ND], totals[ND];
    trend_result r[4];

    /* Degenerate input: a day with no tickets at all, and no topics. */
    memset(counts, 0, sizeof counts);
    memset(totals, 0, sizeof totals);
    CHECK(trend_test(&o, counts, totals, 3, ND, NULL, r, NULL) == VG_OK);
    CHECK(!r[0].significant);
    CHECK(trend_test(&o, counts, totals, 0, ND, NULL, r, NULL) == VG_OK);
    CHECK(trend_test(&o, counts, totals, 3, 3, NULL, r, NULL) != VG_OK);
}

int main(void)
{
    static const check_case cases[] = {
        CHECK_CASE(test_tails),
        CHECK_CASE(test_benjamini_hochberg),
        CHECK_CASE(test_steady_topics_raise_nothing),
        CHECK_CASE(test_launch_raises_nothing),
        CHECK_CASE(test_spike_in_one_topic),
        CHECK_CASE(test_tiny_excess_is_quiet),
        CHECK_CASE(test_new_topic_and_volume_floor),
        CHECK_CASE(test_emerging_topic),
        CHECK_CASE(test_overdispersion_raises_p),
        CHECK_CASE(test_split_problem_summed_over_siblings),
        CHECK_CASE(test_one_day_burst_scanned_alone),
        CHECK_CASE(test_degenerate_input),
    };
    return check_run("topics_trend", cases, sizeof cases / sizeof cases[0]);
}
