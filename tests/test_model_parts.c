/* test_model_parts.c — the booster's two pure parts, on hand-made inputs
 * whose answers are worked out in the comments: the linear model's input
 * transform (model/lininput) and the flat trees' contributions
 * (model/flattrees). test_booster checks both against XGBoost itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "model/flattrees.h"
#include "model/lininput.h"

/* Column 0: 0, 10, 100, NaN (non-negative, max > 20: logged).
 * Column 1: -1, 1, -1, 1 (negative: not logged; mean 0, sd 1). */
static const float lin_x[] = {0, -1, 10, 1, 100, -1, NAN, 1};

static void lininput_standardises_and_logs(void)
{
    lininput *tf = lininput_fit(lin_x, 4, 2);
    float z[8];
    CHECK(tf != NULL);
    if (!tf)
        return;
    lininput_apply(tf, lin_x, 4, 2, z);
    /* column 1 is +-1 exactly; column 0's three logs have mean 0 */
    CHECK_NEAR(z[1], -1.0, 1e-6);
    CHECK_NEAR(z[3], 1.0, 1e-6);
    CHECK_NEAR(z[0] + z[2] + z[4], 0.0, 1e-5);
    /* logged: 0 -> 10 is the larger step (2.40 against 2.22), where on the
     * raw scale it is ten times smaller than 10 -> 100 */
    CHECK(z[4] - z[2] < z[2] - z[0]);
    CHECK_NEAR(z[6], 0.0, 0.0); /* missing: the mean */
    lininput_free(tf);
}

static void lininput_clips_outliers(void)
{
    /* 99 zeros and one 1: the 1 standardises to sqrt(99) ~ 9.9, clipped */
    float x[100] = {0}, z[100];
    x[99] = 1;
    lininput *tf = lininput_fit(x, 100, 1);
    CHECK(tf != NULL);
    if (!tf)
        return;
    lininput_apply(tf, x, 100, 1, z);
    CHECK_NEAR(z[99], 5.0, 0.0);
    CHECK(z[0] < 0 && z[0] > -0.2);
    lininput_free(tf);
}

static void lininput_text_round_trip_exact(void)
{
    lininput *tf = lininput_fit(lin_x, 4, 2), *back = NULL;
    char *text = tf ? lininput_format(tf, 2) : NULL;
    float z1[8], z2[8];
    CHECK(text != NULL);
    if (!text)
        goto cleanup;
    back = lininput_parse(text, 2);
    CHECK(back != NULL);
    if (!back)
        goto cleanup;
    lininput_apply(tf, lin_x, 4, 2, z1);
    lininput_apply(back, lin_x, 4, 2, z2);
    CHECK(memcmp(z1, z2, sizeof z1) == 0);
cleanup:
    free(text);
    lininput_free(tf);
    lininput_free(back);
}

static void lininput_refuses_damaged_text(void)
{
    lininput *tf = lininput_parse("1 0.5", 1); /* no sd */
    CHECK(tf == NULL);
    tf = lininput_parse("2 0 1", 1); /* log flag not 0/1 */
    CHECK(tf == NULL);
    tf = lininput_parse("0 0 0", 1); /* sd must be > 0 */
    CHECK(tf == NULL);
    tf = lininput_parse("0 0 1", 2); /* one column of two */
    CHECK(tf == NULL);
    tf = lininput_parse("0 0 1 1 2 3", 2);
    CHECK(tf != NULL);
    lininput_free(tf);
}

/* One tree: root splits column 0 at 0.5 (missing goes right), leaves -1
 * (hessian 4) and +1 (hessian 6); base_score 0.5, a zero margin. The
 * root's mean is (-1*4 + 1*6)/10 = 0.2. A row going left gets column 0
 * -1 - 0.2 = -1.2 and the bias 0.2; right: +0.8 and 0.2. */
#define TREE_JSON(objective, split_type)                                       \
    "{\"learner\": {\"objective\": {\"name\": \"" objective "\"},"             \
    "\"learner_model_param\": {\"base_score\": \"5E-1\"},"                     \
    "\"gradient_booster\": {\"name\": \"gbtree\", \"model\": {"                \
    "\"gbtree_model_param\": {\"num_parallel_tree\": \"1\"},"                  \
    "\"tree_info\": [0], \"trees\": [{"                                        \
    "\"left_children\": [1, -1, -1], \"right_children\": [2, -1, -1],"         \
    "\"split_indices\": [0, 0, 0], \"split_conditions\": [0.5, -1, 1],"        \
    "\"default_left\": [0, 0, 0], \"sum_hessian\": [10, 4, 6],"                \
    "\"split_type\": [" split_type "]}]}}}}"

static void flattrees_saabas_by_hand(void)
{
    const char *json = TREE_JSON("binary:logistic", "0, 0, 0");
    flattrees *t = flattrees_from_json(json, strlen(json), 1, 2);
    float left[] = {0.0f, 7.0f}, right[] = {0.9f, 7.0f}, miss[] = {NAN, 7.0f};
    float out[3];
    CHECK(t != NULL);
    if (!t)
        return;
    flattrees_contribs_row(t, left, 2, out);
    CHECK_NEAR(out[0], -1.2, 1e-6);
    CHECK_NEAR(out[1], 0.0, 0.0); /* never split on */
    CHECK_NEAR(out[2], 0.2, 1e-6);
    flattrees_contribs_row(t, right, 2, out);
    CHECK_NEAR(out[0], 0.8, 1e-6);
    flattrees_contribs_row(t, miss, 2, out);
    CHECK_NEAR(out[0], 0.8, 1e-6); /* default right */
    flattrees_free(t);
}

static void flattrees_refuses_what_it_cannot_walk(void)
{
    const char *reg = TREE_JSON("reg:squarederror", "0, 0, 0");
    const char *cat = TREE_JSON("binary:logistic", "1, 0, 0");
    const char *ok = TREE_JSON("binary:logistic", "0, 0, 0");
    CHECK(flattrees_from_json(reg, strlen(reg), 1, 2) == NULL);
    CHECK(flattrees_from_json(cat, strlen(cat), 1, 2) == NULL);
    /* more rounds than trees; a split column beyond the input's */
    CHECK(flattrees_from_json(ok, strlen(ok), 2, 2) == NULL);
    CHECK(flattrees_from_json(ok, strlen(ok), 1, 0) == NULL);
    CHECK(flattrees_from_json("{", 1, 1, 2) == NULL);
}

int main(void)
{
    static const check_case cases[] = {
        CHECK_CASE(lininput_standardises_and_logs),
        CHECK_CASE(lininput_clips_outliers),
        CHECK_CASE(lininput_text_round_trip_exact),
        CHECK_CASE(lininput_refuses_damaged_text),
        CHECK_CASE(flattrees_saabas_by_hand),
        CHECK_CASE(flattrees_refuses_what_it_cannot_walk),
    };
    return check_run("model_parts", cases, sizeof cases / sizeof cases[0]);
}
