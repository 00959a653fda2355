/* test_metrics.c — model/metrics against values worked out by hand on tiny
 * arrays, plus brute-force and duplication cross-checks on random ones. */
#include "model/metrics.h"

#include <stdint.h>

#include "check.h"

/* Small deterministic generator local to the tests (xorshift64). */
static double test_unif(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / 9007199254740992.0;
}

static void test_basic(void)
{
    /* s = {0.1, 0.4, 0.35, 0.8}, y = {0, 0, 1, 1}.
     * AUC: positives 0.35, 0.8 vs negatives 0.1, 0.4:
     *   0.35>0.1 yes, 0.35>0.4 no, 0.8>0.1 yes, 0.8>0.4 yes -> 3/4.
     * AP, descending: 0.8(+) tp1 fp0 P=1, recall +1/2 -> 0.5;
     *   0.4(-) no recall gained; 0.35(+) tp2 fp1 P=2/3, recall +1/2 -> 1/3;
     *   AP = 0.5 + 1/3 = 5/6.
     * Brier: (0.1^2 + 0.4^2 + 0.65^2 + 0.2^2)/4
     *      = (0.01 + 0.16 + 0.4225 + 0.04)/4 = 0.6325/4 = 0.158125.
     * Logloss: -(ln 0.9 + ln 0.6 + ln 0.35 + ln 0.8)/4
     *   = (0.105360516 + 0.510825624 + 1.049822124 + 0.223143551)/4
     *   = 1.889151815/4 = 0.472287954. */
    const double s[] = {0.1, 0.4, 0.35, 0.8}, y[] = {0, 0, 1, 1};
    CHECK_NEAR(metrics_roc_auc(s, y, NULL, 4), 0.75, 1e-12);
    CHECK_NEAR(metrics_pr_auc(s, y, NULL, 4), 5.0 / 6.0, 1e-12);
    CHECK_NEAR(metrics_brier(s, y, NULL, 4), 0.158125, 1e-12);
    CHECK_NEAR(metrics_logloss(s, y, NULL, 4),
               -(log(0.9) + log(0.6) + log(0.35) + log(0.8)) / 4.0, 1e-12);
    CHECK_NEAR(metrics_logloss(s, y, NULL, 4), 0.472287954, 1e-9);
}

static void test_ties(void)
{
    /* s = {0.5, 0.5, 0.2, 0.9}, y = {1, 0, 0, 1}.
     * AUC pairs: (0.5+ vs 0.5-) tie = 1/2, (0.5+ vs 0.2-) 1,
     *   (0.9+ vs 0.5-) 1, (0.9+ vs 0.2-) 1 -> 3.5/4 = 0.875.
     * AP: 0.9 {+}: tp1 fp0 P=1, recall +1/2 -> 0.5;
     *   0.5 {+,-} one threshold: tp2 fp1 P=2/3, recall +1/2 -> 1/3;
     *   AP = 5/6. Order inside the tie must not matter. */
    const double s[] = {0.5, 0.5, 0.2, 0.9}, y[] = {1, 0, 0, 1};
    const double s2[] = {0.5, 0.5, 0.2, 0.9}, y2[] = {0, 1, 0, 1};
    CHECK_NEAR(metrics_roc_auc(s, y, NULL, 4), 0.875, 1e-12);
    CHECK_NEAR(metrics_roc_auc(s2, y2, NULL, 4), 0.875, 1e-12);
    CHECK_NEAR(metrics_pr_auc(s, y, NULL, 4), 5.0 / 6.0, 1e-12);
    CHECK_NEAR(metrics_pr_auc(s2, y2, NULL, 4), 5.0 / 6.0, 1e-12);

    /* All scores equal: AUC 1/2; AP = base rate (one threshold, P = 2/4). */
    const double c[] = {0.3, 0.3, 0.3, 0.3};
    CHECK_NEAR(metrics_roc_auc(c, y, NULL, 4), 0.5, 1e-12);
    CHECK_NEAR(metrics_pr_auc(c, y, NULL, 4), 0.5, 1e-12);
}

static void test_weights(void)
{
    /* Weight 2 on row 1 of the basic example == that row duplicated:
     * s = {0.1, 0.4, 0.4, 0.35, 0.8}, y = {0, 0, 0, 1, 1}.
     * AUC: 0.35 beats 0.1 only (1 of 3), 0.8 beats all 3 -> 4/6.
     * AP: 0.8(+) P=1, +1/2 -> 0.5; 0.4 {-,-}; 0.35(+) tp2 fp2 P=1/2, +1/2
     *   -> 0.25; AP = 0.75. */
    const double s[] = {0.1, 0.4, 0.35, 0.8}, y[] = {0, 0, 1, 1};
    const double w[] = {1, 2, 1, 1};
    const double sd[] = {0.1, 0.4, 0.4, 0.35, 0.8}, yd[] = {0, 0, 0, 1, 1};
    CHECK_NEAR(metrics_roc_auc(s, y, w, 4), 4.0 / 6.0, 1e-12);
    CHECK_NEAR(metrics_roc_auc(sd, yd, NULL, 5), 4.0 / 6.0, 1e-12);
    CHECK_NEAR(metrics_pr_auc(s, y, w, 4), 0.75, 1e-12);
    CHECK_NEAR(metrics_pr_auc(sd, yd, NULL, 5), 0.75, 1e-12);
    CHECK_NEAR(metrics_brier(s, y, w, 4), metrics_brier(sd, yd, NULL, 5),
               1e-12);
    CHECK_NEAR(metrics_logloss(s, y, w, 4), metrics_logloss(sd, yd, NULL, 5),
               1e-12);
    /* A zero weight removes the row. */
    const double w0[] = {1, 0, 1, 1};
    const double s3[] = {0.1, 0.35, 0.8}, y3[] = {0, 1, 1};
    CHECK_NEAR(metrics_roc_auc(s, y, w0, 4), 1.0, 1e-12);
    CHECK_NEAR(metrics_brier(s, y, w0, 4), metrics_brier(s3, y3, NULL, 3),
               1e-12);
    /* A negative weight is invalid. */
    const double wn[] = {1, -1, 1, 1};
    CHECK(isnan(metrics_roc_auc(s, y, wn, 4)));
    CHECK(isnan(metrics_brier(s, y, wn, 4)));
}

static void test_logloss_clip(void)
{
    /* p = 0 for a positive costs -ln(1e-15) = 34.538776..., p = 1 for a
     * positive costs -ln(1 - 1e-15) ~ 1e-15. Mean over 2 rows. */
    const double p[] = {0.0, 1.0}, y[] = {1, 1};
    CHECK_NEAR(metrics_logloss(p, y, NULL, 2), -log(1e-15) / 2.0, 1e-9);
    CHECK(isfinite(metrics_logloss(p, y, NULL, 2)));
    const double pn[] = {NAN, 0.5};
    CHECK(isnan(metrics_logloss(pn, y, NULL, 2)));
}

static void test_lift(void)
{
    /* 10 rows, scores 0.1..1.0, positives at 1.0, 0.5, 0.2: base rate 0.3.
     * Top decile = the single row scored 1.0, positive -> rate 1.
     * Lift = 1 / 0.3. */
    double s[10], y[10] = {0, 1, 0, 0, 1, 0, 0, 0, 0, 1};
    for (int i = 0; i < 10; i++)
        s[i] = (i + 1) / 10.0;
    CHECK_NEAR(metrics_lift_top_decile(s, y, NULL, 10), 1.0 / 0.3, 1e-12);

    /* 20 rows, scores 1..20, positives at 20, 10, 5, 3 -> base 4/20 = 0.2.
     * Top decile = scores 20 (+) and 19 (-) -> rate 0.5; lift 2.5. */
    double s20[20], y20[20] = {0};
    for (int i = 0; i < 20; i++)
        s20[i] = i + 1;
    y20[19] = y20[9] = y20[4] = y20[2] = 1;
    CHECK_NEAR(metrics_lift_top_decile(s20, y20, NULL, 20), 2.5, 1e-12);

    /* Tie across the cut: 10 rows, the top two tie at 0.9 with labels 1, 0;
     * positives 2 of 10 -> base 0.2. The decile is 1 row of weight, so half
     * of the tie group is taken at its rate 1/2: rate 0.5, lift 2.5. */
    const double st[] = {0.9, 0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    const double yt[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const double yt2[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    CHECK_NEAR(metrics_lift_top_decile(st, yt, NULL, 10), 2.5, 1e-12);
    CHECK_NEAR(metrics_lift_top_decile(st, yt2, NULL, 10), 2.5, 1e-12);

    /* Weighted: the 10-row example with weight 2 on the top row: total 11,
     * decile 1.1 = the top row (weight 2 > 1.1, positive) -> rate 1;
     * base = (2 + 1 + 1)/11 = 4/11 -> lift 11/4. */
    double w[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 2};
    CHECK_NEAR(metrics_lift_top_decile(s, y, w, 10), 11.0 / 4.0, 1e-12);
}

static void test_undefined(void)
{
    const double s[] = {0.2, 0.4, 0.6}, y1[] = {1, 1, 1}, y0[] = {0, 0, 0};
    CHECK(isnan(metrics_roc_auc(s, y1, NULL, 3)));
    CHECK(isnan(metrics_roc_auc(s, y0, NULL, 3)));
    CHECK(isnan(metrics_pr_auc(s, y0, NULL, 3)));
    CHECK_NEAR(metrics_pr_auc(s, y1, NULL, 3), 1.0, 1e-12);
    CHECK(isnan(metrics_lift_top_decile(s, y0, NULL, 3)));
    CHECK(isnan(metrics_roc_auc(s, y1, NULL, 0)));
    CHECK(isnan(metrics_brier(s, y1, NULL, 0)));
    CHECK(isnan(metrics_logloss(s, y1, NULL, 0)));
    const double wz[] = {0, 0, 0};
    CHECK(isnan(metrics_brier(s, y1, wz, 3)));
    const double sn[] = {0.2, NAN, 0.6}, y01[] = {0, 1, 1};
    CHECK(isnan(metrics_roc_auc(sn, y01, NULL, 3)));
}

static void test_calibration_quantiles(void)
{
    /* p = {0.05, 0.15, 0.12, 0.95, 1.0, NaN}, y = {0, 1, 0, 1, 1, 1}, 2 equal
     * groups by cumulative weight at each row's start (NaN skipped):
     * 0.05 (0/5), 0.12 (1/5), 0.15 (2/5) -> group 0: lo 0.05, hi 0.15, mean
     * 0.32/3, observed 1/3; 0.95 (3/5), 1.0 (4/5) -> group 1. */
    const double p[] = {0.05, 0.15, 0.12, 0.95, 1.0, NAN},
                 y[] = {0, 1, 0, 1, 1, 1};
    metrics_calib_bin b[4];
    CHECK_INT_EQ(metrics_calibration_quantiles(p, y, NULL, 6, 2, b), 2);
    CHECK_NEAR(b[0].lo, 0.05, 0);
    CHECK_NEAR(b[0].hi, 0.15, 0);
    CHECK_NEAR(b[0].mean_pred, 0.32 / 3.0, 1e-12);
    CHECK_NEAR(b[0].observed, 1.0 / 3.0, 1e-12);
    CHECK_INT_EQ(b[0].count, 3);
    CHECK_NEAR(b[1].lo, 0.95, 0);
    CHECK_NEAR(b[1].hi, 1.0, 0);
    CHECK_NEAR(b[1].mean_pred, 0.975, 1e-12);
    CHECK_NEAR(b[1].observed, 1.0, 1e-12);
    CHECK_INT_EQ(b[1].count, 2);

    /* More groups than distinct starts: empty ones have NAN means. */
    CHECK_INT_EQ(metrics_calibration_quantiles(p, y, NULL, 6, 4, b), 4);
    CHECK_INT_EQ(metrics_calibration_quantiles(p, y, NULL, 3, 4, b), 3);
    CHECK_INT_EQ(b[3].count, 0);
    CHECK(isnan(b[3].mean_pred) && isnan(b[3].observed));

    /* Ties stay together: four rows at 0.1 fill group 0 whole. */
    const double pt[] = {0.1, 0.1, 0.1, 0.1, 0.9}, yt[] = {0, 1, 0, 0, 1};
    CHECK_INT_EQ(metrics_calibration_quantiles(pt, yt, NULL, 5, 2, b), 2);
    CHECK_INT_EQ(b[0].count, 4);
    CHECK_NEAR(b[0].observed, 0.25, 1e-12);
    CHECK_INT_EQ(b[1].count, 1);

    /* Weights: weight 3 on 0.15 (positive), total 7: 0.15 starts at 2/7,
     * 0.95 at 5/7 -> group 0 mean (0.05 + 0.12 + 0.45)/5 = 0.124,
     * observed 3/5, weight 5. */
    const double w[] = {1, 3, 1, 1, 1, 1};
    CHECK_INT_EQ(metrics_calibration_quantiles(p, y, w, 6, 2, b), 2);
    CHECK_NEAR(b[0].mean_pred, 0.124, 1e-12);
    CHECK_NEAR(b[0].observed, 0.6, 1e-12);
    CHECK_NEAR(b[0].weight, 5.0, 1e-12);
    CHECK_INT_EQ(b[0].count, 3);

    CHECK_INT_EQ(metrics_calibration_quantiles(p, y, NULL, 5, 0, b), -1);
}

/* O(n^2) weighted Mann-Whitney, the definition itself. */
static double brute_auc(const double *s, const double *y, const double *w,
                        size_t n)
{
    double num = 0.0, pw = 0.0, nw = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (y[i] > 0.5)
            pw += w[i];
        else
            nw += w[i];
        for (size_t j = 0; j < n; j++) {
            if (y[i] > 0.5 && y[j] < 0.5)
                num += w[i] * w[j] *
                       (s[i] > s[j]    ? 1.0
                        : s[i] == s[j] ? 0.5
                                       : 0.0);
        }
    }
    return num / (pw * nw);
}

static void test_random_cross_checks(void)
{
    enum { N = 300 };
    double s[N], y[N], w[N], sd[4 * N], yd[4 * N];
    size_t nd = 0;
    uint64_t seed = 88172645463325252ULL;

    for (int i = 0; i < N; i++) {
        /* Scores on a coarse grid so there are many ties. */
        s[i] = floor(test_unif(&seed) * 20.0) / 20.0;
        y[i] = test_unif(&seed) < 0.3 + 0.4 * s[i] ? 1.0 : 0.0;
        w[i] = floor(test_unif(&seed) * 4.0); /* 0..3, zeros included */
        for (int k = 0; k < (int)w[i]; k++) {
            sd[nd] = s[i];
            yd[nd] = y[i];
            nd++;
        }
    }
    CHECK_NEAR(metrics_roc_auc(s, y, w, N), brute_auc(s, y, w, N), 1e-12);
    CHECK_NEAR(metrics_roc_auc(s, y, w, N), metrics_roc_auc(sd, yd, NULL, nd),
               1e-12);
    CHECK_NEAR(metrics_pr_auc(s, y, w, N), metrics_pr_auc(sd, yd, NULL, nd),
               1e-12);
    CHECK_NEAR(metrics_brier(s, y, w, N), metrics_brier(sd, yd, NULL, nd),
               1e-12);
    CHECK_NEAR(metrics_logloss(s, y, w, N), metrics_logloss(sd, yd, NULL, nd),
               1e-12);
    CHECK_NEAR(metrics_lift_top_decile(s, y, w, N),
               metrics_lift_top_decile(sd, yd, NULL, nd), 1e-12);
}

static void test_summary(void)
{
    const double s[] = {0.1, 0.4, 0.35, 0.8}, y[] = {0, 0, 1, 1};
    metrics_summary m;
    metrics_summarize(s, y, NULL, 4, &m);
    CHECK_NEAR(m.auc, 0.75, 1e-12);
    CHECK_NEAR(m.pr_auc, 5.0 / 6.0, 1e-12);
    CHECK_NEAR(m.brier, 0.158125, 1e-12);
    CHECK_NEAR(m.base_rate, 0.5, 1e-12);
    CHECK_NEAR(m.n, 4.0, 0);
    CHECK_NEAR(m.positives, 2.0, 0);
    /* Decile of 4 rows = 0.4 of the top row (0.8, positive): rate 1,
     * lift 1/0.5 = 2. */
    CHECK_NEAR(m.lift10, 2.0, 1e-12);

    json_t *j = metrics_summary_json(&m);
    CHECK(j != NULL);
    CHECK_NEAR(json_number_value(json_object_get(j, "auc")), 0.75, 1e-12);
    CHECK_NEAR(json_number_value(json_object_get(j, "lift_top_decile")), 2.0,
               1e-12);
    CHECK_NEAR(json_number_value(json_object_get(j, "rows")), 4.0, 0);
    CHECK_NEAR(json_number_value(json_object_get(j, "positives")), 2.0, 0);
    CHECK(json_object_get(j, "pr_auc") && json_object_get(j, "brier") &&
          json_object_get(j, "logloss") && json_object_get(j, "base_rate"));
    CHECK_INT_EQ(json_object_size(j), 8);
    json_decref(j);

    /* Single class: the rank metrics are NAN and become JSON null. */
    const double y1[] = {1, 1, 1, 1};
    metrics_summarize(s, y1, NULL, 4, &m);
    CHECK(isnan(m.auc));
    j = metrics_summary_json(&m);
    CHECK(j && json_is_null(json_object_get(j, "auc")));
    CHECK(j && json_is_number(json_object_get(j, "brier")));
    json_decref(j);
}

int main(void)
{
    test_basic();
    test_ties();
    test_weights();
    test_logloss_clip();
    test_lift();
    test_undefined();
    test_calibration_quantiles();
    test_random_cross_checks();
    test_summary();
    return check_done("metrics");
}
