/* test_units.c — pure helpers: calendar dates, health and tiers, the string
 * map (driver wording is in tests/test_drivers.c). */
#include <math.h>

#include "check.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/util.h"
#include "score/score.h"
#include "train/train.h"

int main(void)
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
    CHECK_NEAR(date_ts_days("1970-01-02 12:00:00+00"), 1.5, 1e-9);

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

    /* driver wording: tests/test_drivers.c */

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
    return check_done("units");
}
