/* test_booster.c — model/booster on synthetic data with a known signal:
 * accuracy, early stopping, save/load, contributions, determinism, errors. */
#include "model/booster.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "check.h"
#include "model/metrics.h"

#define NCOLS 6

typedef struct {
    size_t n;
    float *x, *y;
    double *yd; /* labels as doubles for the metrics */
} dataset;

/* x ~ N(0, 1) in NCOLS columns, y ~ Bernoulli(sigmoid(2*x0 - x1)); 5% of
 * every column is then blanked to NaN (after y is drawn, so the signal
 * survives partly hidden). noise_labels draws y ~ Bernoulli(0.5) instead. */
static int gen(gsl_rng *r, size_t n, int noise_labels, dataset *d)
{
    d->n = n;
    d->x = malloc(n * NCOLS * sizeof *d->x);
    d->y = malloc(n * sizeof *d->y);
    d->yd = malloc(n * sizeof *d->yd);
    if (!d->x || !d->y || !d->yd)
        return -1;
    for (size_t i = 0; i < n; i++) {
        float *row = d->x + i * NCOLS;
        for (int j = 0; j < NCOLS; j++)
            row[j] = (float)gsl_ran_gaussian(r, 1.0);
        double p = 1.0 / (1.0 + exp(-(2.0 * row[0] - row[1])));
        if (noise_labels)
            p = 0.5;
        d->y[i] = gsl_rng_uniform(r) < p ? 1.0f : 0.0f;
        d->yd[i] = d->y[i];
        for (int j = 0; j < NCOLS; j++)
            if (gsl_rng_uniform(r) < 0.05)
                row[j] = NAN;
    }
    return 0;
}

static void dataset_free(dataset *d)
{
    free(d->x);
    free(d->y);
    free(d->yd);
}

static booster *train(const booster_params *p, const dataset *tr,
                      const dataset *va, int *best)
{
    booster *b = NULL;
    vg_error err = {0};
    vg_code rc = booster_train(p, tr->x, tr->y, NULL, tr->n, va->x, va->y, NULL,
                               va->n, NCOLS, &b, best, &err);
    CHECK_INT_EQ(rc, VG_OK);
    if (rc != VG_OK)
        fprintf(stderr, "train: %s\n", err.msg);
    return b;
}

static void test_accuracy_and_io(const dataset *tr, const dataset *va,
                                 const dataset *te)
{
    booster_params p;
    booster *b, *b2 = NULL, *b3 = NULL;
    int best = -1;
    vg_error err = {0};
    double *prob = calloc(te->n, sizeof *prob);
    double *prob2 = calloc(te->n, sizeof *prob2);
    double *prob3 = calloc(te->n, sizeof *prob3);
    unsigned char *buf = NULL;
    size_t len = 0;

    booster_params_default(&p);
    b = train(&p, tr, va, &best);
    if (!b || !prob || !prob2 || !prob3)
        goto cleanup;
    CHECK(best >= 1 && best <= p.max_rounds);
    CHECK_INT_EQ(booster_best_rounds(b), best);
    CHECK(booster_total_rounds(b) >= best);
    CHECK_INT_EQ(booster_num_features(b), NCOLS);

    CHECK_INT_EQ(booster_predict(b, te->x, te->n, NCOLS, prob, &err), VG_OK);
    double auc = metrics_roc_auc(prob, te->yd, NULL, te->n);
    fprintf(stderr, "held-out AUC %.4f, best_rounds %d of %d\n", auc, best,
            booster_total_rounds(b));
    CHECK(auc > 0.75);
    int in_range = 1;
    for (size_t i = 0; i < te->n; i++)
        in_range &= prob[i] > 0.0 && prob[i] < 1.0;
    CHECK(in_range);

    /* Predicting twice gives the same answer (no stale DMatrix cache). */
    CHECK_INT_EQ(booster_predict(b, te->x, te->n, NCOLS, prob2, &err), VG_OK);
    CHECK(memcmp(prob, prob2, te->n * sizeof *prob) == 0);

    /* Save, load with the stored best round count, predict the same. */
    CHECK_INT_EQ(booster_save(b, &buf, &len, &err), VG_OK);
    CHECK(buf != NULL && len > 100);
    CHECK_INT_EQ(booster_load(buf, len, 0, &b2, &err), VG_OK);
    if (b2) {
        CHECK_INT_EQ(booster_best_rounds(b2), best);
        CHECK_INT_EQ(booster_total_rounds(b2), booster_total_rounds(b));
        CHECK_INT_EQ(booster_num_features(b2), NCOLS);
        memset(prob2, 0, te->n * sizeof *prob2);
        CHECK_INT_EQ(booster_predict(b2, te->x, te->n, NCOLS, prob2, &err),
                     VG_OK);
        CHECK(memcmp(prob, prob2, te->n * sizeof *prob) == 0);
    }
    /* An explicit best_rounds overrides; all rounds predict differently. */
    int total = booster_total_rounds(b);
    CHECK_INT_EQ(booster_load(buf, len, total, &b3, &err), VG_OK);
    if (b3 && total != best) {
        CHECK_INT_EQ(booster_predict(b3, te->x, te->n, NCOLS, prob3, &err),
                     VG_OK);
        CHECK(memcmp(prob, prob3, te->n * sizeof *prob) != 0);
    }
    booster_free(b3);
    b3 = NULL;
    CHECK_INT_EQ(booster_load(buf, len, total + 1, &b3, &err), VG_EMODEL);
    CHECK(b3 == NULL);

cleanup:
    free(buf);
    free(prob);
    free(prob2);
    free(prob3);
    booster_free(b);
    booster_free(b2);
    booster_free(b3);
}

static void check_contribs(booster *b, const dataset *te, int exact)
{
    vg_error err = {0};
    size_t n = 500, w = NCOLS + 1;
    float *c = malloc(n * w * sizeof *c);
    double *prob = malloc(n * sizeof *prob);
    double worst = 0.0;

    if (!c || !prob)
        goto cleanup;
    CHECK_INT_EQ(booster_contribs(b, te->x, n, NCOLS, exact, c, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(b, te->x, n, NCOLS, prob, &err), VG_OK);
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t j = 0; j < w; j++)
            sum += c[i * w + j];
        double margin = log(prob[i] / (1.0 - prob[i]));
        if (fabs(sum - margin) > worst)
            worst = fabs(sum - margin);
    }
    CHECK_NEAR(worst, 0.0, 1e-3);
    /* The signal lives in x0 and x1: they carry the largest mean |contrib|
     * among the features. */
    double mean_abs[NCOLS] = {0};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < NCOLS; j++)
            mean_abs[j] += fabs(c[i * w + j]);
    for (size_t j = 2; j < NCOLS; j++)
        CHECK(mean_abs[0] > mean_abs[j] && mean_abs[1] > mean_abs[j]);

cleanup:
    free(c);
    free(prob);
}

/* booster_contribs computes the approximate contributions from the trees
 * itself: the same floats as XGBoost's, bit for bit, missing values (the
 * default branch) included. */
static void contribs_match_xgboost(booster *b, const dataset *te)
{
    vg_error err = {0};
    size_t n = 500, w = NCOLS + 1;
    float *x = malloc(n * NCOLS * sizeof *x),
          *mine = malloc(n * w * sizeof *mine),
          *ref = malloc(n * w * sizeof *ref);
    if (!x || !mine || !ref)
        goto cleanup;
    memcpy(x, te->x, n * NCOLS * sizeof *x);
    for (size_t i = 0; i < n; i += 3)
        x[i * NCOLS + i % NCOLS] = NAN;
    CHECK(!booster_contribs_own(b));
    CHECK_INT_EQ(booster_contribs(b, x, n, NCOLS, 0, mine, &err), VG_OK);
    CHECK(booster_contribs_own(b));
    CHECK_INT_EQ(booster_contribs_xgboost(b, x, n, NCOLS, 0, ref, &err), VG_OK);
    CHECK(memcmp(mine, ref, n * w * sizeof *mine) == 0);
    /* later calls (past the first call's check) too */
    CHECK_INT_EQ(
        booster_contribs(b, x + 7 * NCOLS, n - 7, NCOLS, 0, mine, &err), VG_OK);
    CHECK(memcmp(mine, ref + 7 * w, (n - 7) * w * sizeof *mine) == 0);
cleanup:
    free(x);
    free(mine);
    free(ref);
}

static void test_contribs(const dataset *tr, const dataset *va,
                          const dataset *te)
{
    booster_params p;
    int best;
    booster_params_default(&p);
    booster *b = train(&p, tr, va, &best);
    if (!b)
        return;
    contribs_match_xgboost(b, te);
    check_contribs(b, te, 1);
    check_contribs(b, te, 0);
    booster_free(b);
}

/* The linear model on the same data (its signal is linear in x0, x1): as
 * accurate as the trees, contributions that sum to the margin, the input
 * transform and the best round survive save and load, and a column scaled
 * by 1000 and shifted (what standardising is for) changes nothing much. */
static void test_linear(const dataset *tr, const dataset *va, const dataset *te)
{
    booster_params p;
    int best = 0;
    vg_error err = {0};
    booster *b = NULL, *b2 = NULL, *bs = NULL;
    unsigned char *buf = NULL;
    size_t len = 0, n = te->n;
    double *prob = calloc(n, sizeof *prob), *prob2 = calloc(n, sizeof *prob2);
    float *xs[3] = {malloc(tr->n * NCOLS * sizeof(float)),
                    malloc(va->n * NCOLS * sizeof(float)),
                    malloc(n * NCOLS * sizeof(float))};
    const dataset *ds[3] = {tr, va, te};

    booster_params_default_linear(&p);
    CHECK(p.linear == 1);
    b = train(&p, tr, va, &best);
    if (!b || !prob || !prob2 || !xs[0] || !xs[1] || !xs[2])
        goto cleanup;
    CHECK(booster_is_linear(b));
    CHECK(best >= 1 && best <= p.max_rounds);
    CHECK_INT_EQ(booster_total_rounds(b), best);
    CHECK_INT_EQ(booster_predict(b, te->x, n, NCOLS, prob, &err), VG_OK);
    double auc = metrics_roc_auc(prob, te->yd, NULL, n);
    fprintf(stderr, "linear: held-out AUC %.4f, %d rounds\n", auc, best);
    CHECK(auc > 0.75);
    check_contribs(b, te, 0);
    check_contribs(b, te, 1);
    {
        /* a coarser min_gain stops sooner; 1 or more is refused */
        booster_params q = p;
        booster *bq = NULL;
        int bestq = 0;
        q.min_gain = 0.02;
        CHECK_INT_EQ(booster_train(&q, tr->x, tr->y, NULL, tr->n, va->x, va->y,
                                   NULL, va->n, NCOLS, &bq, &bestq, &err),
                     VG_OK);
        fprintf(stderr, "linear: best round %d at min_gain 0.02, %d at %g\n",
                bestq, best, p.min_gain);
        CHECK(bestq >= 1 && bestq < best);
        booster_free(bq);
        bq = NULL;
        q.min_gain = 1.0;
        CHECK_INT_EQ(booster_train(&q, tr->x, tr->y, NULL, tr->n, va->x, va->y,
                                   NULL, va->n, NCOLS, &bq, NULL, &err),
                     VG_ECONFIG);
        booster_free(bq);
    }

    CHECK_INT_EQ(booster_save(b, &buf, &len, &err), VG_OK);
    CHECK_INT_EQ(booster_load(buf, len, 0, &b2, &err), VG_OK);
    if (b2) {
        CHECK(booster_is_linear(b2));
        CHECK_INT_EQ(booster_best_rounds(b2), best);
        CHECK_INT_EQ(booster_predict(b2, te->x, n, NCOLS, prob2, &err), VG_OK);
        CHECK(memcmp(prob, prob2, n * sizeof *prob) == 0);
    }

    for (int k = 0; k < 3; k++)
        for (size_t i = 0; i < ds[k]->n * NCOLS; i++)
            xs[k][i] =
                i % NCOLS == 0 ? ds[k]->x[i] * 1000.0f - 5000.0f : ds[k]->x[i];
    CHECK_INT_EQ(booster_train(&p, xs[0], tr->y, NULL, tr->n, xs[1], va->y,
                               NULL, va->n, NCOLS, &bs, NULL, &err),
                 VG_OK);
    if (bs) {
        CHECK_INT_EQ(booster_predict(bs, xs[2], n, NCOLS, prob2, &err), VG_OK);
        CHECK_NEAR(metrics_roc_auc(prob2, te->yd, NULL, n), auc, 0.01);
    }

cleanup:
    free(buf);
    free(prob);
    free(prob2);
    for (int k = 0; k < 3; k++)
        free(xs[k]);
    booster_free(b);
    booster_free(b2);
    booster_free(bs);
}

/* ---- indicator runs --------------------------------------------------------
 * Column 0 numeric, columns 1..4 one categorical attribute's indicators
 * (levels a, b, c and "other"); y ~ Bernoulli(sigmoid(x0 + effect)). The
 * fitting rows never have "other"; 5% of rows miss the attribute (NaN). */
#define RUN_COLS 5
static const booster_group run_g = {1, 4};

static void gen_runs(gsl_rng *r, size_t n, int other, float *x, float *y)
{
    static const double effect[4] = {1.5, 0.0, -1.5, 0.0};
    for (size_t i = 0; i < n; i++) {
        float *row = x + i * RUN_COLS;
        int lv = other && i % 7 == 0 ? 3 : (int)(i % 3);
        row[0] = (float)gsl_ran_gaussian(r, 1.0);
        for (int l = 0; l < 4; l++)
            row[1 + l] = l == lv ? 1.0f : 0.0f;
        y[i] = gsl_rng_uniform(r) < 1.0 / (1.0 + exp(-(row[0] + effect[lv])))
                   ? 1.0f
                   : 0.0f;
        if (gsl_rng_uniform(r) < 0.05)
            for (int l = 0; l < 4; l++)
                row[1 + l] = NAN;
    }
}

/* b's contributions on x: rows sum to the margin; in a row with a level on,
 * the run's sum sits on that level's column (the others 0) and equals the
 * unfolded sum of `raw` (a model without runs) — except, for a linear
 * model, in rows with the level it never saw ("other"): 0, the mean. */
static void check_folded(booster *b, booster *raw, const float *x, size_t n)
{
    int lin = booster_is_linear(b);
    size_t w = RUN_COLS + 1;
    float *c = malloc(n * w * sizeof *c), *u = malloc(n * w * sizeof *u);
    double *p = malloc(n * sizeof *p);
    vg_error err = {0};
    if (!c || !u || !p)
        goto cleanup;
    CHECK_INT_EQ(booster_contribs(b, x, n, RUN_COLS, 0, c, &err), VG_OK);
    CHECK_INT_EQ(booster_contribs(raw, x, n, RUN_COLS, 0, u, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(b, x, n, RUN_COLS, p, &err), VG_OK);
    int bad_sum = 0, bad_fold = 0, unfolded = 0;
    for (size_t i = 0; i < n; i++) {
        const float *row = x + i * RUN_COLS;
        double sum = 0, run = 0, urun = 0;
        for (size_t j = 0; j < w; j++)
            sum += c[i * w + j];
        bad_sum += fabs(sum - log(p[i] / (1 - p[i]))) > 1e-3;
        if (isnan(row[1]))
            continue;
        for (int l = 0; l < 4; l++) {
            run += c[i * w + 1 + l];
            urun += u[i * w + 1 + l];
            bad_fold += row[1 + l] < 0.5f && c[i * w + 1 + l] != 0.0f;
            unfolded += row[1 + l] < 0.5f && u[i * w + 1 + l] != 0.0f;
        }
        bad_fold += fabs(run - (lin && row[4] > 0.5f ? 0 : urun)) > 1e-5;
    }
    CHECK_INT_EQ(bad_sum, 0);
    CHECK_INT_EQ(bad_fold, 0);
    CHECK(unfolded > 0); /* folding changed something */
cleanup:
    free(c);
    free(u);
    free(p);
}

static void test_indicator_runs(gsl_rng *r)
{
    enum { NTR = 3000, NTE = 700 };
    float *x = malloc(NTR * RUN_COLS * sizeof *x), *y = malloc(NTR * sizeof *y);
    float *xt = malloc(NTE * RUN_COLS * sizeof *xt), *yt = malloc(NTE * 4);
    booster *b[2] = {NULL, NULL}, *old[2] = {NULL, NULL}, *re = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    vg_error err = {0};
    if (!x || !y || !xt || !yt)
        goto cleanup;
    gen_runs(r, NTR, 0, x, y);
    gen_runs(r, NTE, 1, xt, yt);
    for (int k = 0; k < 2; k++) {
        booster_params p;
        if (k)
            booster_params_default_linear(&p);
        else
            booster_params_default(&p);
        p.max_rounds = k ? 100 : 60;
        p.early_stopping_rounds = 0;
        CHECK_INT_EQ(booster_train(&p, x, y, NULL, NTR, NULL, NULL, NULL, 0,
                                   RUN_COLS, &b[k], NULL, &err),
                     VG_OK);
        if (!b[k])
            goto cleanup;
        /* saved before the runs are declared: a model of older vigil */
        CHECK_INT_EQ(booster_save(b[k], &buf, &len, &err), VG_OK);
        CHECK_INT_EQ(booster_load(buf, len, 0, &old[k], &err), VG_OK);
        free(buf);
        buf = NULL;
        if (!old[k])
            goto cleanup;
        CHECK_INT_EQ((int)booster_ngroups(old[k]), 0);
        CHECK_INT_EQ(booster_set_groups(b[k], &run_g, 1, &err), VG_OK);
        CHECK_INT_EQ((int)booster_ngroups(b[k]), 1);
        check_folded(b[k], old[k], xt, NTE);
    }

    /* bad runs are refused and leave the model's own */
    booster_group bad[3][2] = {{{1, 1}}, {{1, 3}, {2, 2}}, {{3, 3}}};
    size_t nbad[3] = {1, 2, 1};
    for (int k = 0; k < 3; k++)
        CHECK_INT_EQ(booster_set_groups(b[1], bad[k], nbad[k], &err), VG_EDATA);
    CHECK_INT_EQ((int)booster_ngroups(b[1]), 1);

    /* save/load round trip: same runs, same numbers to the bit */
    CHECK_INT_EQ(booster_save(b[1], &buf, &len, &err), VG_OK);
    CHECK_INT_EQ(booster_load(buf, len, 0, &re, &err), VG_OK);
    if (!re)
        goto cleanup;
    CHECK_INT_EQ((int)booster_ngroups(re), 1);
    {
        size_t w = RUN_COLS + 1;
        float *c1 = malloc(NTE * w * 4), *c2 = malloc(NTE * w * 4);
        double *p1 = malloc(NTE * 8), *p2 = malloc(NTE * 8);
        if (c1 && c2 && p1 && p2) {
            booster_contribs(b[1], xt, NTE, RUN_COLS, 0, c1, &err);
            booster_contribs(re, xt, NTE, RUN_COLS, 0, c2, &err);
            CHECK(memcmp(c1, c2, NTE * w * 4) == 0);
            booster_predict(b[1], xt, NTE, RUN_COLS, p1, &err);
            booster_predict(re, xt, NTE, RUN_COLS, p2, &err);
            CHECK(memcmp(p1, p2, NTE * 8) == 0);
            /* the linear model never saw "other": such a row scores as
             * if the attribute were missing; without runs it did not */
            float row[2][RUN_COLS] = {{0.3f, 0, 0, 0, 1},
                                      {0.3f, NAN, NAN, NAN, NAN}};
            double q[2], qo;
            booster_predict(re, row[0], 1, RUN_COLS, &q[0], &err);
            booster_predict(re, row[1], 1, RUN_COLS, &q[1], &err);
            booster_predict(old[1], row[0], 1, RUN_COLS, &qo, &err);
            fprintf(stderr, "unseen level: %.4f, missing %.4f, old %.4f\n",
                    q[0], q[1], qo);
            CHECK(q[0] == q[1]);
            CHECK(fabs(qo - q[1]) > 1e-3);
        }
        free(c1);
        free(c2);
        free(p1);
        free(p2);
    }
cleanup:
    free(x);
    free(y);
    free(xt);
    free(yt);
    free(buf);
    for (int k = 0; k < 2; k++) {
        booster_free(b[k]);
        booster_free(old[k]);
    }
    booster_free(re);
}

static void test_early_stopping(gsl_rng *r, const dataset *tr)
{
    dataset noise = {0};
    booster_params p;
    int best = -1;

    if (gen(r, 1000, 1, &noise) != 0)
        goto cleanup;
    booster_params_default(&p);
    booster *b = train(&p, tr, &noise, &best);
    if (b) {
        fprintf(stderr, "noise validation: best %d, trained %d\n", best,
                booster_total_rounds(b));
        CHECK(booster_total_rounds(b) < p.max_rounds);
        CHECK_INT_EQ(booster_total_rounds(b) - best, p.early_stopping_rounds);
    }
    booster_free(b);

    /* No validation rows: every round is trained and used. */
    booster *b2 = NULL;
    vg_error err = {0};
    p.max_rounds = 25;
    CHECK_INT_EQ(booster_train(&p, tr->x, tr->y, NULL, tr->n, NULL, NULL, NULL,
                               0, NCOLS, &b2, &best, &err),
                 VG_OK);
    CHECK_INT_EQ(best, 25);
    if (b2)
        CHECK_INT_EQ(booster_total_rounds(b2), 25);
    booster_free(b2);

cleanup:
    dataset_free(&noise);
}

static void test_determinism_and_weights(const dataset *tr, const dataset *va,
                                         const dataset *te)
{
    booster_params p;
    int best1 = 0, best2 = 0;
    vg_error err = {0};
    double *p1 = calloc(te->n, sizeof *p1), *p2 = calloc(te->n, sizeof *p2);
    float *w = malloc(tr->n * sizeof *w);
    booster *b1 = NULL, *b2 = NULL;

    if (!p1 || !p2 || !w)
        goto cleanup;
    booster_params_default(&p);
    p.max_rounds = 60;
    b1 = train(&p, tr, va, &best1);
    b2 = train(&p, tr, va, &best2);
    if (!b1 || !b2)
        goto cleanup;
    CHECK_INT_EQ(best1, best2);
    CHECK_INT_EQ(booster_predict(b1, te->x, te->n, NCOLS, p1, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(b2, te->x, te->n, NCOLS, p2, &err), VG_OK);
    CHECK(memcmp(p1, p2, te->n * sizeof *p1) == 0);
    booster_free(b2);
    b2 = NULL;

    /* Another seed samples other rows and columns: other predictions. */
    p.seed = 7;
    b2 = train(&p, tr, va, &best2);
    if (b2) {
        CHECK_INT_EQ(booster_predict(b2, te->x, te->n, NCOLS, p2, &err), VG_OK);
        CHECK(memcmp(p1, p2, te->n * sizeof *p1) != 0);
    }
    booster_free(b2);
    b2 = NULL;

    /* Weights reach XGBoost: heavy weight on positives raises the mean
     * predicted probability. */
    p.seed = 42;
    for (size_t i = 0; i < tr->n; i++)
        w[i] = tr->y[i] > 0.5f ? 4.0f : 1.0f;
    CHECK_INT_EQ(booster_train(&p, tr->x, tr->y, w, tr->n, va->x, va->y, NULL,
                               va->n, NCOLS, &b2, &best2, &err),
                 VG_OK);
    if (b2) {
        double m1 = 0.0, m2 = 0.0;
        CHECK_INT_EQ(booster_predict(b2, te->x, te->n, NCOLS, p2, &err), VG_OK);
        for (size_t i = 0; i < te->n; i++) {
            m1 += p1[i];
            m2 += p2[i];
        }
        CHECK(m2 / te->n > m1 / te->n + 0.1);
    }

cleanup:
    free(p1);
    free(p2);
    free(w);
    booster_free(b1);
    booster_free(b2);
}

static void test_blocks(gsl_rng *r, const dataset *tr, const dataset *va)
{
    /* More rows than one contribution block (65536): the rows at the end
     * must match the same rows predicted on their own. */
    dataset big = {0};
    booster_params p;
    int best;
    vg_error err = {0};
    size_t n = 70000, tail = 100;
    double *pb = malloc(n * sizeof *pb), *pt = malloc(tail * sizeof *pt);
    float *cb = NULL, *ct = NULL;
    booster *b = NULL;

    if (!pb || !pt || gen(r, n, 0, &big) != 0)
        goto cleanup;
    booster_params_default(&p);
    p.max_rounds = 30;
    b = train(&p, tr, va, &best);
    if (!b)
        goto cleanup;
    CHECK_INT_EQ(booster_predict(b, big.x, n, NCOLS, pb, &err), VG_OK);
    CHECK_INT_EQ(
        booster_predict(b, big.x + (n - tail) * NCOLS, tail, NCOLS, pt, &err),
        VG_OK);
    CHECK(memcmp(pb + n - tail, pt, tail * sizeof *pt) == 0);
    /* Contributions go through DMatrix blocks of 65536 rows: same check. */
    cb = malloc(n * (NCOLS + 1) * sizeof *cb);
    ct = malloc(tail * (NCOLS + 1) * sizeof *ct);
    if (!cb || !ct)
        goto cleanup;
    CHECK_INT_EQ(booster_contribs(b, big.x, n, NCOLS, 0, cb, &err), VG_OK);
    CHECK_INT_EQ(booster_contribs(b, big.x + (n - tail) * NCOLS, tail, NCOLS, 0,
                                  ct, &err),
                 VG_OK);
    CHECK(memcmp(cb + (n - tail) * (NCOLS + 1), ct,
                 tail * (NCOLS + 1) * sizeof *ct) == 0);
    CHECK_INT_EQ(booster_predict(b, big.x, 0, NCOLS, pb, &err), VG_OK);

cleanup:
    free(pb);
    free(pt);
    free(cb);
    free(ct);
    dataset_free(&big);
    booster_free(b);
}

static void test_errors(const dataset *tr, const dataset *va)
{
    booster_params p;
    booster *b = NULL;
    int best;
    vg_error err = {0};
    double prob[4];

    booster_params_default(&p);
    p.eta = 0.0;
    CHECK_INT_EQ(booster_train(&p, tr->x, tr->y, NULL, tr->n, va->x, va->y,
                               NULL, va->n, NCOLS, &b, &best, &err),
                 VG_ECONFIG);
    booster_params_default(&p);
    p.subsample = NAN;
    CHECK_INT_EQ(booster_train(&p, tr->x, tr->y, NULL, tr->n, va->x, va->y,
                               NULL, va->n, NCOLS, &b, &best, &err),
                 VG_ECONFIG);
    booster_params_default(&p);
    float ybad[3] = {0, 2, 1}, xs[3 * NCOLS] = {0};
    CHECK_INT_EQ(booster_train(&p, xs, ybad, NULL, 3, NULL, NULL, NULL, 0,
                               NCOLS, &b, &best, &err),
                 VG_EDATA);
    CHECK(strstr(err.msg, "row 1") != NULL);
    CHECK_INT_EQ(booster_train(&p, xs, ybad, NULL, 0, NULL, NULL, NULL, 0,
                               NCOLS, &b, &best, &err),
                 VG_EDATA);
    CHECK(b == NULL);

    /* Wrong column count at prediction; garbage model bytes. */
    p.max_rounds = 5;
    b = train(&p, tr, va, &best);
    if (b)
        CHECK_INT_EQ(booster_predict(b, tr->x, 4, NCOLS - 1, prob, &err),
                     VG_EDATA);
    booster_free(b);
    b = NULL;
    const unsigned char junk[] = "this is not a model";
    CHECK_INT_EQ(booster_load(junk, sizeof junk, 0, &b, &err), VG_EMODEL);
    CHECK(b == NULL);
    CHECK(strlen(err.msg) > 0);
    CHECK_INT_EQ(booster_load(junk, 0, 0, &b, &err), VG_EMODEL);
}

/* Two tree models (one stopped early, with unused trees) blended: the
 * margin is the mean of theirs to float precision, it survives save/load,
 * contributions still sum to it, and a linear model is refused. */
static void test_blend(const dataset *tr, const dataset *va, const dataset *te)
{
    booster_params p, q;
    int ba = 0, bb = 0;
    vg_error err = {0};
    booster *a, *b, *m = NULL, *m2 = NULL, *lin = NULL, *bad = NULL;
    double *pa = calloc(te->n, sizeof *pa), *pb = calloc(te->n, sizeof *pb),
           *pm = calloc(te->n, sizeof *pm), *pm2 = calloc(te->n, sizeof *pm2);
    float *c = calloc(te->n * (NCOLS + 1), sizeof *c);
    unsigned char *buf = NULL;
    size_t len = 0;
    booster_params_default(&p);
    booster_params_default(&q);
    q.max_depth = 2;
    q.eta = 0.3;
    q.early_stopping_rounds = 0;
    q.max_rounds = 17;
    a = train(&p, tr, va, &ba);
    b = train(&q, tr, va, &bb);
    if (!a || !b || !pa || !pb || !pm || !pm2 || !c)
        goto cleanup;
    CHECK_INT_EQ(booster_blend(a, b, &m, &err), VG_OK);
    if (!m)
        goto cleanup;
    CHECK_INT_EQ(booster_best_rounds(m), ba + bb);
    CHECK_INT_EQ(booster_total_rounds(m), ba + bb);
    CHECK_INT_EQ(booster_predict(a, te->x, te->n, NCOLS, pa, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(b, te->x, te->n, NCOLS, pb, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(m, te->x, te->n, NCOLS, pm, &err), VG_OK);
    double worst = 0;
    for (size_t i = 0; i < te->n; i++) {
        double za = log(pa[i] / (1 - pa[i])), zb = log(pb[i] / (1 - pb[i]));
        double d = fabs(log(pm[i] / (1 - pm[i])) - 0.5 * (za + zb));
        worst = d > worst ? d : worst;
    }
    fprintf(stderr, "blend: %d + %d trees, worst margin error %.2g\n", ba, bb,
            worst);
    CHECK(worst < 1e-4);
    CHECK_INT_EQ(booster_save(m, &buf, &len, &err), VG_OK);
    CHECK_INT_EQ(booster_load(buf, len, 0, &m2, &err), VG_OK);
    if (m2) {
        CHECK_INT_EQ(booster_best_rounds(m2), ba + bb);
        CHECK_INT_EQ(booster_predict(m2, te->x, te->n, NCOLS, pm2, &err),
                     VG_OK);
        CHECK(memcmp(pm, pm2, te->n * sizeof *pm) == 0);
    }
    CHECK_INT_EQ(booster_contribs(m, te->x, te->n, NCOLS, 0, c, &err), VG_OK);
    double worst_sum = 0;
    for (size_t i = 0; i < te->n; i++) {
        double sum = 0;
        for (int j = 0; j <= NCOLS; j++)
            sum += c[i * (NCOLS + 1) + (size_t)j];
        double d = fabs(sum - log(pm[i] / (1 - pm[i])));
        worst_sum = d > worst_sum ? d : worst_sum;
    }
    CHECK(worst_sum < 1e-3);
    booster_params_default_linear(&p);
    lin = train(&p, tr, va, &ba);
    if (lin) {
        CHECK_INT_EQ(booster_blend(a, lin, &bad, &err), VG_EINTERNAL);
        CHECK(bad == NULL);
    }
cleanup:
    free(buf);
    free(pa);
    free(pb);
    free(pm);
    free(pm2);
    free(c);
    booster_free(a);
    booster_free(b);
    booster_free(m);
    booster_free(m2);
    booster_free(lin);
}

/* K models of one setting, seeds apart (so their subsampled rows and
 * columns differ), blended with equal and with unequal weights: the margin
 * is the weighted mean of theirs (what train.bag stores); one model alone
 * predicts as itself; weights that do not sum to 1 are refused. */
static void test_blend_n(const dataset *tr, const dataset *va,
                         const dataset *te)
{
    enum { K = 3 };
    booster_params p;
    booster *b[K] = {NULL}, *m = NULL, *w = NULL, *one = NULL, *bad = NULL;
    int used[K] = {0};
    vg_error err = {0};
    double *pr[K], *pm = calloc(te->n, sizeof *pm),
                   *pw = calloc(te->n, sizeof *pw),
                   *po = calloc(te->n, sizeof *po);
    static const double wt[K] = {0.5, 0.3, 0.2}, off[K] = {0.5, 0.3, 0.3};
    booster_params_default(&p);
    for (int k = 0; k < K; k++) {
        pr[k] = calloc(te->n, sizeof *pr[k]);
        p.seed = 42 + 1000003UL * (unsigned long)k;
        b[k] = train(&p, tr, va, &used[k]);
        if (b[k] && pr[k])
            CHECK_INT_EQ(
                booster_predict(b[k], te->x, te->n, NCOLS, pr[k], &err), VG_OK);
    }
    if (!b[0] || !b[1] || !b[2] || !pr[0] || !pr[1] || !pr[2] || !pm || !pw ||
        !po)
        goto cleanup;
    CHECK(memcmp(pr[0], pr[1], te->n * sizeof *pm) != 0); /* seeds differ */
    CHECK_INT_EQ(booster_blend_n(b, NULL, K, &m, &err), VG_OK);
    CHECK_INT_EQ(booster_blend_n(b, wt, K, &w, &err), VG_OK);
    CHECK_INT_EQ(booster_blend_n(b, NULL, 1, &one, &err), VG_OK);
    CHECK_INT_EQ(booster_blend_n(b, off, K, &bad, &err), VG_EINTERNAL);
    CHECK(bad == NULL);
    if (!m || !w || !one)
        goto cleanup;
    CHECK_INT_EQ(booster_best_rounds(m), used[0] + used[1] + used[2]);
    CHECK_INT_EQ(booster_predict(m, te->x, te->n, NCOLS, pm, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(w, te->x, te->n, NCOLS, pw, &err), VG_OK);
    CHECK_INT_EQ(booster_predict(one, te->x, te->n, NCOLS, po, &err), VG_OK);
    double worst = 0, worst_w = 0, worst_one = 0;
    for (size_t i = 0; i < te->n; i++) {
        double mean = 0, wmean = 0;
        for (int k = 0; k < K; k++) {
            double z = log(pr[k][i] / (1 - pr[k][i]));
            mean += z / K;
            wmean += wt[k] * z;
        }
        worst = fmax(worst, fabs(log(pm[i] / (1 - pm[i])) - mean));
        worst_w = fmax(worst_w, fabs(log(pw[i] / (1 - pw[i])) - wmean));
        worst_one = fmax(worst_one, fabs(po[i] - pr[0][i]));
    }
    fprintf(stderr,
            "blend of %d: worst margin error %.2g (equal weights), %.2g "
            "(0.5/0.3/0.2); one model %.2g\n",
            K, worst, worst_w, worst_one);
    CHECK(worst < 1e-4);
    CHECK(worst_w < 1e-4);
    CHECK(worst_one < 1e-6);
cleanup:
    for (int k = 0; k < K; k++) {
        booster_free(b[k]);
        free(pr[k]);
    }
    booster_free(m);
    booster_free(w);
    booster_free(one);
    free(pm);
    free(pw);
    free(po);
}

static void test_params_json(void)
{
    booster_params p;
    booster_params_default(&p);
    CHECK_INT_EQ(p.max_depth, 4);
    CHECK_NEAR(p.eta, 0.1, 0);
    CHECK_INT_EQ(p.max_rounds, 400);
    CHECK_INT_EQ(p.early_stopping_rounds, 30);
    json_t *j = booster_params_json(&p);
    CHECK(j != NULL);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "max_depth")), 4);
    CHECK_NEAR(json_real_value(json_object_get(j, "subsample")), 0.8, 0);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "seed")), 42);
    CHECK_STR_EQ(json_string_value(json_object_get(j, "objective")),
                 "binary:logistic");
    const char *keys[] = {
        "eta",   "min_child_weight", "colsample_bytree",      "lambda", "alpha",
        "gamma", "max_rounds",       "early_stopping_rounds", "nthread"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
        CHECK(json_object_get(j, keys[k]) != NULL);
    json_decref(j);
}

int main(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    dataset tr = {0}, va = {0}, te = {0};

    gsl_rng_set(r, 12345);
    /* 5k rows: 3000 train, 1000 validation, 1000 held-out test. */
    if (gen(r, 3000, 0, &tr) || gen(r, 1000, 0, &va) || gen(r, 1000, 0, &te)) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    test_params_json();
    test_accuracy_and_io(&tr, &va, &te);
    test_contribs(&tr, &va, &te);
    test_linear(&tr, &va, &te);
    test_indicator_runs(r);
    test_early_stopping(r, &tr);
    test_determinism_and_weights(&tr, &va, &te);
    test_blocks(r, &tr, &va);
    test_errors(&tr, &va);
    test_blend(&tr, &va, &te);
    test_blend_n(&tr, &va, &te);
    dataset_free(&tr);
    dataset_free(&va);
    dataset_free(&te);
    gsl_rng_free(r);
    return check_done("booster");
}
