/* test_topics_quality.c — NMI and ARI against values computed by
 * scikit-learn 1.2.1 (normalized_mutual_info_score, adjusted_rand_score). */
#include <math.h>

#include "check.h"
#include "bench/quality.h"

int main(void)
{
    int x[8] = {0, 0, 0, 1, 1, 1, 2, 2}, y[8] = {0, 0, 1, 1, 1, 2, 2, 2};
    CHECK_NEAR(topic_nmi(x, y, 8, 3, 3), 0.5588730382170326, 1e-12);
    CHECK_NEAR(topic_ari(x, y, 8, 3, 3), 0.23809523809523808, 1e-12);
    /* symmetric */
    CHECK_NEAR(topic_nmi(y, x, 8, 3, 3), topic_nmi(x, y, 8, 3, 3), 1e-12);
    /* the same partition under other names */
    int a[4] = {0, 0, 1, 1}, b[4] = {1, 1, 0, 0};
    CHECK_NEAR(topic_nmi(a, b, 4, 2, 2), 1, 1e-12);
    CHECK_NEAR(topic_ari(a, b, 4, 2, 2), 1, 1e-12);
    /* one cluster against all singletons */
    int one[4] = {0, 0, 0, 0}, each[4] = {0, 1, 2, 3};
    CHECK_NEAR(topic_nmi(one, each, 4, 1, 4), 0, 1e-12);
    CHECK_NEAR(topic_ari(one, each, 4, 1, 4), 0, 1e-12);
    CHECK(isnan(topic_nmi(a, b, 0, 2, 2)));
    CHECK(isnan(topic_ari(a, b, 0, 2, 2)));
    return check_done("topics_quality");
}
