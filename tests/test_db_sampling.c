/* test_db_sampling.c — training-set sampling: with a row cap, every positive
 * row is kept, the rows kept carry exactly the features they have without
 * sampling (the sampled SQL path computes the same numbers), and weights
 * make the negatives add up to their true count. */
#include <math.h>

#include "check.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "demo/demo.h"
#include "features/feat.h"
#include "featcheck.h"
#include "testdb.h"
#include "train/train.h"

/* The demo company, its spec, and the full matrix of the training dates
 * (what the capped builds are compared with); the cases run in order. */
static db_conn *db;
static vg_config cfg;
static feat_spec *spec;
static int *dates, nd;
static feat_matrix *a;
static double pos_a;

/* With a row cap: every positive row is kept, the rows kept carry exactly
 * the features they have without sampling, and weights make the negatives
 * add up to their true count. */
static void cap_keeps_positives_and_values(void)
{
    vg_error err;
    feat_request capped = {dates, nd, 30, 3000, 0, 42, 1, NULL};
    feat_matrix *b = NULL;
    CHECK(feat_build(db, &cfg, spec, &capped, NULL, &b, NULL, &err) == VG_OK);
    if (!b) {
        fprintf(stderr, "%s\n", err.msg);
        return;
    }
    CHECK(a->weight == NULL);
    CHECK(b->weight != NULL);
    CHECK(b->nrows < a->nrows);
    double pos_b = 0, neg_a = 0, neg_b_w = 0;
    for (size_t r = 0; r < a->nrows; r++) {
        pos_a += a->label[r];
        neg_a += 1 - a->label[r];
    }
    /* rows of both are in customer order, then date order: walk them together
     */
    size_t ra = 0, mismatches = 0, missing = 0;
    for (size_t r = 0; r < b->nrows; r++) {
        pos_b += b->label[r];
        if (b->label[r] == 0)
            neg_b_w += b->weight[r];
        else
            CHECK_NEAR(b->weight[r], 1, 0);
        while (ra < a->nrows &&
               (strcmp(a->ids[ra], b->ids[r]) < 0 ||
                (!strcmp(a->ids[ra], b->ids[r]) && a->day[ra] != b->day[r])))
            ra++;
        if (ra == a->nrows) {
            missing++;
            continue;
        }
        for (size_t j = 0; j < a->ncols; j++) {
            float x = a->x[ra * a->ncols + j], y = b->x[r * b->ncols + j];
            if (!(x == y || (isnan(x) && isnan(y)))) {
                if (mismatches++ < 5)
                    fprintf(stderr, "%s day %d %s: full %g sampled %g\n",
                            b->ids[r], b->day[r], feat_spec_info(spec, j)->name,
                            x, y);
            }
        }
    }
    CHECK_INT_EQ(missing, 0);
    CHECK_INT_EQ(mismatches, 0);
    CHECK(pos_a > 20);
    CHECK_NEAR(pos_b, pos_a, 0); /* every positive kept */
    CHECK(fabs(neg_b_w - neg_a) / neg_a <
          0.15); /* weights restore the negatives */
    feat_matrix_free(b);
}

/* A tighter cap samples positives too (at most 40 % of the rows), except on
 * the validation date, where every positive stays. */
static void tight_cap_samples_positives(void)
{
    vg_error err;
    CHECK(pos_a > 20);
    feat_request tight = {dates, nd, 30, (long)(pos_a / 2), 0, 42, 1, NULL};
    feat_matrix *c = NULL;
    CHECK(feat_build(db, &cfg, spec, &tight, NULL, &c, NULL, &err) == VG_OK);
    if (c) {
        double pos_c_w = 0, val_pos_a = 0, val_pos_c = 0;
        for (size_t r = 0; r < c->nrows; r++) {
            if (c->label[r] == 1)
                pos_c_w += c->weight[r];
            if (c->label[r] == 1 && c->date_index[r] == 0) {
                val_pos_c++;
                CHECK_NEAR(c->weight[r], 1, 0);
            }
        }
        for (size_t r = 0; r < a->nrows; r++)
            val_pos_a += a->label[r] == 1 && a->date_index[r] == 0;
        CHECK(c->nrows <= (size_t)(pos_a / 2) * 12 / 10);
        CHECK_NEAR(val_pos_c, val_pos_a, 0);
        CHECK(fabs(pos_c_w - pos_a) / pos_a < 0.2); /* weights restore them */
        feat_matrix_free(c);
    }
}

int main(void)
{
    db = connect_or_die(testdb_fresh("vt_sampling"));
    vg_error err;
    demo_opts o;
    demo_opts_default(&o);
    o.customers = 1200;
    o.quiet = 1;
    date_parse("2025-06-01", &o.end_day);
    demo_stats st;
    CHECK(demo_generate(db, &o, &st, &err) == VG_OK);

    cfg_defaults(&cfg);
    CHECK(feat_spec_discover(db, &cfg, o.end_day, &spec, &err) == VG_OK);
    nd = train_observation_dates(o.end_day, 30, 180, 7, &dates);
    feat_request full = {dates, nd, 30, 0, 0, 42, 1, NULL};
    CHECK(feat_build(db, &cfg, spec, &full, NULL, &a, NULL, &err) == VG_OK);
    if (!a) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }

    static const check_case cases[] = {
        CHECK_CASE(cap_keeps_positives_and_values),
        CHECK_CASE(tight_cap_samples_positives),
    };
    int rc = check_run("db_sampling", cases, sizeof cases / sizeof cases[0]);
    feat_matrix_free(a);
    feat_spec_free(spec);
    free(dates);
    db_close(db);
    return rc;
}
