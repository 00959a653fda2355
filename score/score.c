/* score.c — the daily scoring job: champion model, features as of D,
 * calibrated risk, health, tier, drivers; one transaction replaces D's rows.
 *
 * Drivers use XGBoost's approximate contributions (Saabas, prediction type 3):
 * they sum to the margin exactly like SHAP values and rank features the same
 * way in practice, at ~100x the speed of exact SHAP (TOOLCHAIN.md: exact SHAP
 * needs minutes per million rows). Rows are processed in fixed-size batches
 * so memory does not grow with contributions. */
#include "score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "drivers.h"
#include "features/feat.h"
#include "model/store.h"

#define SCORE_BATCH 65536

int score_health(double risk)
{
    if (!(risk >= 0))
        risk = 0;
    if (risk > 1)
        risk = 1;
    return (int)lround(100.0 * (1.0 - sqrt(risk)));
}

const char *score_tier(const vg_config *cfg, double risk)
{
    if (risk >= cfg->tier_critical)
        return "critical";
    if (risk >= cfg->tier_at_risk)
        return "at_risk";
    if (risk >= cfg->tier_watch)
        return "watch";
    return "healthy";
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of every column over the scored population, NaN ignored. */
static vg_code column_medians(const feat_matrix *m, double *out, vg_error *err)
{
    float *tmp = malloc((m->nrows + 1) * sizeof *tmp);
    if (!tmp)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t j = 0; j < m->ncols; j++) {
        size_t n = 0;
        for (size_t r = 0; r < m->nrows; r++) {
            float v = m->x[r * m->ncols + j];
            if (!isnan(v))
                tmp[n++] = v;
        }
        if (n == 0) {
            out[j] = NAN;
            continue;
        }
        qsort(tmp, n, sizeof *tmp, cmp_float);
        out[j] =
            n % 2 ? tmp[n / 2] : 0.5 * ((double)tmp[n / 2 - 1] + tmp[n / 2]);
    }
    free(tmp);
    return VG_OK;
}

vg_code score_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  int as_of, long long model_id, int quiet, json_t **summary,
                  vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *spec = NULL;
    feat_matrix *m = NULL;
    double *prob = NULL, *typical = NULL;
    float *contrib = NULL;
    json_t *stats = json_object();
    db_copy_in *cp = NULL;
    int in_tx = 0;
    long tiers[4] = {0, 0, 0, 0};
    const char *tier_names[4] = {"healthy", "watch", "at_risk", "critical"};
    char d[DATE_BUF];
    date_format(as_of, d);
    *summary = NULL;

    vg_code rc = store_load(db, model_id, cfg->train_horizon_days, &sm, err);
    if (rc != VG_OK)
        goto cleanup;
    if (sm->as_of > as_of) {
        char md[DATE_BUF];
        date_format(sm->as_of, md);
        if (model_id <= 0) {
            rc = vg_fail(err, VG_ENOMODEL,
                         "the champion (model %lld) was trained as of %s, "
                         "after %s: scoring %s with "
                         "it would use the future. Run `vigil train --as-of "
                         "%s` first, or pass --model",
                         sm->model_id, md, d, d, d);
            goto cleanup;
        }
        log_warn(lg,
                 "model %lld was trained as of %s, after %s: this is not a "
                 "faithful backtest",
                 sm->model_id, md, d);
    }
    if ((rc = feat_spec_from_json(sm->features, &spec, err)) != VG_OK)
        goto cleanup;
    feat_request req = {&as_of, 1, 0, 0, -1, 0, quiet};
    if ((rc = feat_build(db, cfg, spec, &req, lg, &m, stats, err)) != VG_OK)
        goto cleanup;
    size_t nc = m->ncols;
    prob = malloc((m->nrows + 1) * sizeof *prob);
    typical = malloc((nc + 1) * sizeof *typical);
    contrib = malloc((size_t)SCORE_BATCH * (nc + 1) * sizeof *contrib);
    if (!prob || !typical || !contrib) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = column_medians(m, typical, err)) != VG_OK)
        goto cleanup;

    if ((rc = db_begin(db, err)) != VG_OK)
        goto cleanup;
    in_tx = 1;
    const char *p[1] = {d};
    if ((rc = db_exec(db, "DELETE FROM vigil.scores WHERE as_of = $1::date", 1,
                      p, NULL, err)) != VG_OK)
        goto cleanup;
    if ((rc = db_copy_in_begin(db,
                               "COPY vigil.scores (as_of, customer_id, "
                               "model_id, churn_risk, health, "
                               "tier, drivers) FROM STDIN",
                               &cp, err)) != VG_OK)
        goto cleanup;
    for (size_t start = 0; start < m->nrows; start += SCORE_BATCH) {
        size_t n =
            m->nrows - start < SCORE_BATCH ? m->nrows - start : SCORE_BATCH;
        const float *x = &m->x[start * nc];
        if ((rc = booster_predict(sm->b, x, n, nc, prob + start, err)) !=
                VG_OK ||
            (rc = booster_contribs(sm->b, x, n, nc, 0, contrib, err)) != VG_OK)
            goto cleanup;
        for (size_t i = 0; i < n; i++) {
            size_t r = start + i;
            double risk = calib_apply(sm->cal, prob[r]);
            if (!(risk >= 0))
                risk = 0;
            if (risk > 1)
                risk = 1;
            prob[r] = risk;
            const char *tier = score_tier(cfg, risk);
            for (int t = 0; t < 4; t++)
                tiers[t] += strcmp(tier, tier_names[t]) == 0;
            json_t *dr =
                drivers_for_row(spec, &x[i * nc], &contrib[i * (nc + 1)], nc,
                                typical, cfg->score_drivers);
            char *drs = dr ? json_dumps(dr, JSON_COMPACT) : NULL;
            json_decref(dr);
            if (!drs) {
                rc = vg_fail(err, VG_ENOMEM, "out of memory");
                goto cleanup;
            }
            db_copy_field(cp, d);
            db_copy_field(cp, m->ids[r]);
            db_copy_field_fmt(cp, "%lld", sm->model_id);
            db_copy_field_fmt(cp, "%.17g", risk);
            db_copy_field_fmt(cp, "%d", score_health(risk));
            db_copy_field(cp, tier);
            db_copy_field(cp, drs);
            free(drs);
            if ((rc = db_copy_row_end(cp, err)) != VG_OK)
                goto cleanup;
        }
    }
    rc = db_copy_in_end(cp, 0, err);
    cp = NULL;
    if (rc == VG_OK)
        rc = db_commit(db, err);
    if (rc != VG_OK)
        goto cleanup;
    in_tx = 0;

    double mean = 0;
    for (size_t r = 0; r < m->nrows; r++)
        mean += prob[r];
    mean = m->nrows ? mean / (double)m->nrows : 0;
    *summary = json_pack(
        "{s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:f, s:s, s:O}", "as_of", d,
        "scored", (json_int_t)m->nrows, "model_id", (json_int_t)sm->model_id,
        "tiers", "healthy", (json_int_t)tiers[0], "watch", (json_int_t)tiers[1],
        "at_risk", (json_int_t)tiers[2], "critical", (json_int_t)tiers[3],
        "mean_churn_risk", mean, "drivers_method",
        "xgboost approximate contributions (Saabas)", "skipped", stats);
    log_debug(lg, "scored %zu customers as of %s with model %lld", m->nrows, d,
              sm->model_id);
cleanup:
    if (cp)
        db_copy_in_end(cp, 1, NULL);
    if (in_tx)
        db_rollback(db);
    free(prob);
    free(typical);
    free(contrib);
    json_decref(stats);
    feat_matrix_free(m);
    feat_spec_free(spec);
    store_model_free(sm);
    return rc;
}
