/* test_calib.c — model/calib: Platt recovers known parameters, isotonic is
 * monotone and helps on miscalibrated data, JSON round trips, choose rules. */
#include "model/calib.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "check.h"
#include "model/metrics.h"

static double sigmoid(double z)
{
    return 1.0 / (1.0 + exp(-z));
}

static double logit(double p)
{
    return log(p / (1.0 - p));
}

/* raw = sigmoid(z), z ~ N(0, sd); label ~ Bernoulli(truth(raw)) where
 * truth is sigmoid(a*z + b) (Platt's model) or, if square, raw^2 (a shape
 * Platt cannot express). */
static void gen(gsl_rng *r, size_t n, double sd, double a, double b, int square,
                double *raw, double *y)
{
    for (size_t i = 0; i < n; i++) {
        double z = gsl_ran_gaussian(r, sd);
        double p = square ? sigmoid(z) * sigmoid(z) : sigmoid(a * z + b);
        raw[i] = sigmoid(z);
        y[i] = gsl_rng_uniform(r) < p ? 1.0 : 0.0;
    }
}

static void platt_ab(const calib *c, double *a, double *b)
{
    json_t *j = calib_to_json(c);
    *a = json_number_value(json_object_get(j, "a"));
    *b = json_number_value(json_object_get(j, "b"));
    json_decref(j);
}

static void test_platt_recovers(gsl_rng *r)
{
    enum { N = 50000 };
    static double raw[N], y[N];
    calib *c = NULL;
    vg_error err = {0};
    double a, b;

    gen(r, N, 1.5, 0.6, -0.8, 0, raw, y);
    CHECK_INT_EQ(calib_fit(CALIB_PLATT, raw, y, NULL, N, &c, &err), VG_OK);
    if (!c)
        return;
    CHECK_INT_EQ(calib_get_kind(c), CALIB_PLATT);
    platt_ab(c, &a, &b);
    CHECK_NEAR(a, 0.6, 0.05);
    CHECK_NEAR(b, -0.8, 0.05);
    /* Apply is the fitted logistic map of logit(raw). */
    CHECK_NEAR(calib_apply(c, 0.3), sigmoid(a * logit(0.3) + b), 1e-12);
    CHECK(isnan(calib_apply(c, NAN)));
    calib_free(c);
}

static void test_platt_weights_and_separable(void)
{
    /* Weight 2 equals a duplicated row. */
    const double raw[] = {0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9};
    const double y[] = {0, 0, 1, 0, 1, 0, 1, 1};
    const double w[] = {1, 2, 1, 1, 1, 1, 1, 1};
    const double rawd[] = {0.1, 0.2, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9};
    const double yd[] = {0, 0, 0, 1, 0, 1, 0, 1, 1};
    calib *c1 = NULL, *c2 = NULL, *c3 = NULL;
    vg_error err = {0};
    double a1 = 0, b1 = 0, a2 = 0, b2 = 0;

    CHECK_INT_EQ(calib_fit(CALIB_PLATT, raw, y, w, 8, &c1, &err), VG_OK);
    CHECK_INT_EQ(calib_fit(CALIB_PLATT, rawd, yd, NULL, 9, &c2, &err), VG_OK);
    if (c1 && c2) {
        platt_ab(c1, &a1, &b1);
        platt_ab(c2, &a2, &b2);
        CHECK_NEAR(a1, a2, 1e-7);
        CHECK_NEAR(b1, b2, 1e-7);
    }
    /* Perfectly separated classes: the smoothed targets keep a finite fit
     * whose outputs stay strictly inside (0, 1). */
    const double ys[] = {0, 0, 0, 0, 1, 1, 1, 1};
    CHECK_INT_EQ(calib_fit(CALIB_PLATT, raw, ys, NULL, 8, &c3, &err), VG_OK);
    if (c3) {
        double a3, b3;
        platt_ab(c3, &a3, &b3);
        CHECK(isfinite(a3) && isfinite(b3));
        CHECK(calib_apply(c3, 0.99) < 1.0 && calib_apply(c3, 0.01) > 0.0);
        CHECK(calib_apply(c3, 0.9) > 0.5 && calib_apply(c3, 0.1) < 0.5);
    }
    calib_free(c1);
    calib_free(c2);
    calib_free(c3);
}

static void test_isotonic_small(void)
{
    /* raw {0.1, 0.2, 0.3, 0.4}, y {0, 1, 0, 1}: PAV pools 0.2 and 0.3
     * (1 > 0) into one block of mean 1/2 at mean raw 0.25. Points:
     * (0.1, 0), (0.25, 0.5), (0.4, 1). apply(0.2) interpolates between the
     * first two: 0 + 0.5 * (0.2 - 0.1)/(0.25 - 0.1) = 1/3. Outside the
     * points the ends are held: apply(0.05) = 0, apply(0.9) = 1. */
    const double raw[] = {0.3, 0.1, 0.4, 0.2}, y[] = {0, 0, 1, 1};
    calib *c = NULL;
    vg_error err = {0};

    CHECK_INT_EQ(calib_fit(CALIB_ISOTONIC, raw, y, NULL, 4, &c, &err), VG_OK);
    if (!c)
        return;
    CHECK_INT_EQ(calib_get_kind(c), CALIB_ISOTONIC);
    CHECK_NEAR(calib_apply(c, 0.1), 0.0, 1e-12);
    CHECK_NEAR(calib_apply(c, 0.25), 0.5, 1e-12);
    CHECK_NEAR(calib_apply(c, 0.2), 1.0 / 3.0, 1e-12);
    CHECK_NEAR(calib_apply(c, 0.05), 0.0, 0);
    CHECK_NEAR(calib_apply(c, 0.9), 1.0, 0);
    json_t *j = calib_to_json(c);
    CHECK_INT_EQ(json_array_size(json_object_get(j, "x")), 3);
    json_decref(j);
    calib_free(c);

    /* Tied raw values get one value whatever their order: raw 0.5 twice
     * with labels 1, 0 (weight 3 on the 0) -> mean 1/4 at 0.5. */
    const double rt[] = {0.5, 0.5, 0.7}, yt[] = {1, 0, 1}, wt[] = {1, 3, 1};
    CHECK_INT_EQ(calib_fit(CALIB_ISOTONIC, rt, yt, wt, 3, &c, &err), VG_OK);
    if (c) {
        CHECK_NEAR(calib_apply(c, 0.5), 0.25, 1e-12);
        CHECK_NEAR(calib_apply(c, 0.7), 1.0, 1e-12);
        calib_free(c);
    }
}

static void test_isotonic_miscalibrated(gsl_rng *r)
{
    enum { N = 40000 };
    static double raw[N], y[N], test_raw[N], test_y[N], prob[N];
    calib *c = NULL;
    vg_error err = {0};

    /* Truth is raw^2: the raw score overstates every probability. */
    gen(r, N, 2.0, 0, 0, 1, raw, y);
    gen(r, N, 2.0, 0, 0, 1, test_raw, test_y);
    CHECK_INT_EQ(calib_fit(CALIB_ISOTONIC, raw, y, NULL, N, &c, &err), VG_OK);
    if (!c)
        return;
    for (int i = 0; i < N; i++)
        prob[i] = calib_apply(c, test_raw[i]);
    double before = metrics_logloss(test_raw, test_y, NULL, N);
    double after = metrics_logloss(prob, test_y, NULL, N);
    CHECK(after < before - 0.02);
    /* Monotone over a fine grid, and within [0, 1]. */
    double prev = -1.0;
    int mono = 1;
    for (int k = 0; k <= 10000; k++) {
        double v = calib_apply(c, k / 10000.0);
        mono &= v >= prev && v >= 0.0 && v <= 1.0;
        prev = v;
    }
    CHECK(mono);
    /* Bounded size however many rows. */
    json_t *j = calib_to_json(c);
    CHECK(json_array_size(json_object_get(j, "x")) <= 200);
    CHECK(json_array_size(json_object_get(j, "x")) >= 20);
    json_decref(j);
    calib_free(c);
}

/* Dump to text and back: applies must agree exactly. */
static void check_round_trip(const calib *c)
{
    vg_error err = {0};
    json_t *j = calib_to_json(c), *j2 = NULL;
    char *text = j ? json_dumps(j, 0) : NULL;
    calib *back = NULL;

    CHECK(text != NULL);
    if (text)
        j2 = json_loads(text, 0, NULL);
    CHECK_INT_EQ(calib_from_json(j2, &back, &err), VG_OK);
    if (back) {
        int same = calib_get_kind(back) == calib_get_kind(c);
        for (int k = 0; k <= 1000; k++)
            same &= calib_apply(back, k / 1000.0) == calib_apply(c, k / 1000.0);
        same &= calib_apply(back, 0.123456789) == calib_apply(c, 0.123456789);
        CHECK(same);
    }
    calib_free(back);
    free(text);
    json_decref(j);
    json_decref(j2);
}

static void test_json(gsl_rng *r)
{
    enum { N = 5000 };
    static double raw[N], y[N];
    calib *c = NULL;
    vg_error err = {0};

    gen(r, N, 1.5, 0.7, 0.3, 0, raw, y);
    for (int kind = CALIB_PLATT; kind <= CALIB_ISOTONIC; kind++) {
        CHECK_INT_EQ(calib_fit((calib_kind)kind, raw, y, NULL, N, &c, &err),
                     VG_OK);
        if (c)
            check_round_trip(c);
        calib_free(c);
        c = NULL;
    }

    /* Documents calib_to_json could not have written are refused. */
    const char *bad[] = {
        "{}",
        "{\"kind\":\"spline\"}",
        "{\"kind\":\"platt\",\"a\":1}",
        "{\"kind\":\"platt\",\"a\":\"1\",\"b\":0}",
        "{\"kind\":\"isotonic\",\"x\":[],\"y\":[]}",
        "{\"kind\":\"isotonic\",\"x\":[0.1,0.2],\"y\":[0.5]}",
        "{\"kind\":\"isotonic\",\"x\":[0.2,0.1],\"y\":[0.1,0.5]}",
        "{\"kind\":\"isotonic\",\"x\":[0.1,0.2],\"y\":[0.5,0.1]}",
        "{\"kind\":\"isotonic\",\"x\":[0.1,0.2],\"y\":[0.5,1.5]}",
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        json_t *j = json_loads(bad[k], 0, NULL);
        calib *out = NULL;
        CHECK(j != NULL);
        CHECK_INT_EQ(calib_from_json(j, &out, &err), VG_EMODEL);
        CHECK(out == NULL);
        json_decref(j);
    }
    /* Integers are numbers too. */
    json_t *j = json_loads("{\"kind\":\"platt\",\"a\":1,\"b\":0}", 0, NULL);
    CHECK_INT_EQ(calib_from_json(j, &c, &err), VG_OK);
    if (c)
        CHECK_NEAR(calib_apply(c, 0.3), 0.3, 1e-12);
    calib_free(c);
    json_decref(j);
}

static void test_choose(gsl_rng *r)
{
    enum { N = 20000 };
    static double raw[N], y[N];
    calib *c = NULL;
    vg_error err = {0};

    /* Too few rows, or one class. */
    CHECK_INT_EQ(calib_choose(raw, y, NULL, 19, &c, &err), VG_EDATA);
    CHECK(c == NULL);
    for (int i = 0; i < 100; i++) {
        raw[i] = (i + 0.5) / 100.0;
        y[i] = 1.0;
    }
    CHECK_INT_EQ(calib_choose(raw, y, NULL, 100, &c, &err), VG_EDATA);
    CHECK(c == NULL);
    CHECK_INT_EQ(calib_fit(CALIB_PLATT, raw, y, NULL, 100, &c, &err), VG_EDATA);
    CHECK_INT_EQ(calib_fit(CALIB_ISOTONIC, raw, y, NULL, 0, &c, &err),
                 VG_EDATA);
    y[3] = NAN;
    y[4] = 0.0;
    CHECK_INT_EQ(calib_fit(CALIB_ISOTONIC, raw, y, NULL, 100, &c, &err),
                 VG_EDATA);

    /* A step truth (0.1 below raw 0.5, 0.9 above) is what isotonic can
     * express and a logistic curve in logit(raw) cannot. */
    for (int i = 0; i < N; i++) {
        raw[i] = gsl_rng_uniform(r);
        y[i] = gsl_rng_uniform(r) < (raw[i] < 0.5 ? 0.1 : 0.9) ? 1.0 : 0.0;
    }
    CHECK_INT_EQ(calib_choose(raw, y, NULL, N, &c, &err), VG_OK);
    if (c)
        CHECK_INT_EQ(calib_get_kind(c), CALIB_ISOTONIC);
    calib_free(c);
    c = NULL;

    /* Data from Platt's own model: Platt should win. */
    gen(r, N, 1.5, 0.6, -0.8, 0, raw, y);
    CHECK_INT_EQ(calib_choose(raw, y, NULL, N, &c, &err), VG_OK);
    if (c) {
        double a, b;
        CHECK_INT_EQ(calib_get_kind(c), CALIB_PLATT);
        platt_ab(c, &a, &b);
        CHECK_NEAR(a, 0.6, 0.07);
    }
    calib_free(c);
    c = NULL;

    /* Positives only on even rows: the odd half has one class, so the
     * comparison is skipped and Platt is used. */
    for (int i = 0; i < 40; i++) {
        raw[i] = (i + 0.5) / 40.0;
        y[i] = (i % 2 == 0 && i > 20) ? 1.0 : 0.0;
    }
    CHECK_INT_EQ(calib_choose(raw, y, NULL, 40, &c, &err), VG_OK);
    if (c)
        CHECK_INT_EQ(calib_get_kind(c), CALIB_PLATT);
    calib_free(c);
}

int main(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 20240601);
    test_platt_recovers(r);
    test_platt_weights_and_separable();
    test_isotonic_small();
    test_isotonic_miscalibrated(r);
    test_json(r);
    test_choose(r);
    gsl_rng_free(r);
    return check_done("calib");
}
