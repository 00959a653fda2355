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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "drivers.h"
#include "features/feat.h"
#include "core/util.h"
#include "model/store.h"

#define SCORE_BATCH 16384
/* Customers per chunk of the feature stream: what bounds memory. */
#define SCORE_CHUNK 32768

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
        out[j] = median_float_inplace(tmp, n);
    }
    free(tmp);
    return VG_OK;
}

/* One thread's share of a batch: calibrate, then word the drivers. */
typedef struct word_job {
    const vg_config *cfg;
    const feat_spec *spec;
    const calib *cal;
    const float *x;       /* batch rows */
    const float *contrib; /* batch contributions, ncols+1 per row */
    const double *typical;
    size_t nc;
    double *prob; /* in: raw probabilities; out: calibrated risk */
    char **drs;   /* out: drivers JSON per row (caller frees) */
    size_t from, to;
    int failed;
} word_job;

static void *word_rows(void *arg)
{
    word_job *j = arg;
    for (size_t i = j->from; i < j->to; i++) {
        double risk = calib_apply(j->cal, j->prob[i]);
        if (!(risk >= 0))
            risk = 0;
        if (risk > 1)
            risk = 1;
        j->prob[i] = risk;
        json_t *dr = drivers_for_row(j->spec, &j->x[i * j->nc],
                                     &j->contrib[i * (j->nc + 1)], j->nc,
                                     j->typical, j->cfg->score_drivers);
        j->drs[i] = dr ? json_dumps(dr, JSON_COMPACT) : NULL;
        json_decref(dr);
        if (!j->drs[i])
            j->failed = 1;
    }
    return NULL;
}

/* What a run adds up over its chunks. */
typedef struct score_acc {
    long tiers[4];
    double risk_sum;
    size_t scored;
    double *typical; /* medians of the first chunk, ncols */
} score_acc;

/* Predict, explain, word and write one chunk of customers: batches of
 * SCORE_BATCH rows through XGBoost, the wording on two threads, one COPY. */
static vg_code score_chunk(db_conn *db, const vg_config *cfg,
                           const stored_model *sm, const feat_spec *spec,
                           const feat_matrix *m, const char *d, score_acc *acc,
                           vg_error *err)
{
    static const char *tier_names[4] = {"healthy", "watch", "at_risk",
                                        "critical"};
    size_t nc = m->ncols;
    size_t batch = m->nrows < SCORE_BATCH ? m->nrows : SCORE_BATCH;
    double *prob = malloc((batch + 1) * sizeof *prob);
    float *contrib = malloc((batch + 1) * (nc + 1) * sizeof *contrib);
    char **drs = calloc(batch + 1, sizeof *drs);
    db_copy_in *cp = NULL;
    vg_code rc = VG_OK;
    if (!prob || !contrib || !drs) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = db_copy_in_begin(db,
                               "COPY vigil.scores (as_of, customer_id, "
                               "model_id, churn_risk, health, "
                               "tier, drivers) FROM STDIN",
                               &cp, err)) != VG_OK)
        goto cleanup;
    for (size_t start = 0; start < m->nrows; start += batch) {
        size_t n = m->nrows - start < batch ? m->nrows - start : batch;
        const float *x = &m->x[start * nc];
        if ((rc = booster_predict(sm->b, x, n, nc, prob, err)) != VG_OK ||
            (rc = booster_contribs(sm->b, x, n, nc, 0, contrib, err)) != VG_OK)
            goto cleanup;
        /* Wording the drivers (JSON) costs as much as the predictions:
         * two threads share each batch. */
        word_job jobs[2];
        pthread_t th;
        for (int w = 0; w < 2; w++)
            jobs[w] = (word_job){cfg,
                                 spec,
                                 sm->cal,
                                 x,
                                 contrib,
                                 acc->typical,
                                 nc,
                                 prob,
                                 drs,
                                 w == 0 ? 0 : n / 2,
                                 w == 0 ? n / 2 : n,
                                 0};
        int threaded = pthread_create(&th, NULL, word_rows, &jobs[1]) == 0;
        word_rows(&jobs[0]);
        if (threaded)
            pthread_join(th, NULL);
        else
            word_rows(&jobs[1]);
        if (jobs[0].failed || jobs[1].failed) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (size_t i = 0; i < n; i++) {
            double risk = prob[i];
            const char *tier = score_tier(cfg, risk);
            for (int t = 0; t < 4; t++)
                acc->tiers[t] += strcmp(tier, tier_names[t]) == 0;
            acc->risk_sum += risk;
            db_copy_field(cp, d);
            db_copy_field(cp, m->ids[start + i]);
            db_copy_field_fmt(cp, "%lld", sm->model_id);
            db_copy_field_fmt(cp, "%.17g", risk);
            db_copy_field_fmt(cp, "%d", score_health(risk));
            db_copy_field(cp, tier);
            db_copy_field(cp, drs[i]);
            free(drs[i]);
            drs[i] = NULL;
            if ((rc = db_copy_row_end(cp, err)) != VG_OK)
                goto cleanup;
        }
        acc->scored += n;
    }
    rc = db_copy_in_end(cp, 0, err);
    cp = NULL;
cleanup:
    if (cp)
        db_copy_in_end(cp, 1, NULL);
    for (size_t i = 0; drs && i < batch + 1; i++)
        free(drs[i]);
    free(drs);
    free(prob);
    free(contrib);
    return rc;
}

vg_code score_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  int as_of, long long model_id, int quiet, json_t **summary,
                  vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *spec = NULL;
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    json_t *stats = json_object();
    int in_tx = 0;
    score_acc acc;
    memset(&acc, 0, sizeof acc);
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

    /* One transaction: D's old rows go, the new ones arrive chunk by chunk
     * while the feature cursors are read, and readers see either run whole. */
    if ((rc = db_begin(db, err)) != VG_OK)
        goto cleanup;
    in_tx = 1;
    const char *p[1] = {d};
    if ((rc = db_exec(db, "DELETE FROM vigil.scores WHERE as_of = $1::date", 1,
                      p, NULL, err)) != VG_OK)
        goto cleanup;
    feat_request req = {&as_of, 1, 0, 0, -1, 0, quiet, NULL};
    if ((rc = feat_stream_open(db, cfg, spec, &req, lg, SCORE_CHUNK, stats, &fs,
                               err)) != VG_OK)
        goto cleanup;
    for (;;) {
        if ((rc = feat_stream_next(fs, &m, err)) != VG_OK)
            goto cleanup;
        if (!m)
            break;
        if (!acc.typical) {
            /* "Typical" is the median of the first chunk: up to SCORE_CHUNK
             * customers in id order, a sample that does not depend on the
             * features; with fewer customers, the whole population. */
            acc.typical = malloc((m->ncols + 1) * sizeof *acc.typical);
            if (!acc.typical) {
                rc = vg_fail(err, VG_ENOMEM, "out of memory");
                goto cleanup;
            }
            if ((rc = column_medians(m, acc.typical, err)) != VG_OK)
                goto cleanup;
        }
        if ((rc = score_chunk(db, cfg, sm, spec, m, d, &acc, err)) != VG_OK)
            goto cleanup;
        log_debug(lg, "scored %zu customers so far", acc.scored);
        feat_matrix_free(m);
        m = NULL;
    }
    feat_stream_close(fs);
    fs = NULL;
    log_debug(lg, "predictions and drivers written; committing");
    if ((rc = db_commit(db, err)) != VG_OK)
        goto cleanup;
    in_tx = 0;

    double mean = acc.scored ? acc.risk_sum / (double)acc.scored : 0;
    *summary = json_pack(
        "{s:s, s:I, s:I, s:{s:I, s:I, s:I, s:I}, s:f, s:s, s:O}", "as_of", d,
        "scored", (json_int_t)acc.scored, "model_id", (json_int_t)sm->model_id,
        "tiers", "healthy", (json_int_t)acc.tiers[0], "watch",
        (json_int_t)acc.tiers[1], "at_risk", (json_int_t)acc.tiers[2],
        "critical", (json_int_t)acc.tiers[3], "mean_churn_risk", mean,
        "drivers_method", "xgboost approximate contributions (Saabas)",
        "skipped", stats);
    log_debug(lg, "scored %zu customers as of %s with model %lld", acc.scored,
              d, sm->model_id);
cleanup:
    feat_stream_close(fs);
    if (in_tx)
        db_rollback(db);
    free(acc.typical);
    json_decref(stats);
    feat_matrix_free(m);
    feat_spec_free(spec);
    store_model_free(sm);
    return rc;
}

vg_code score_riskiest(db_conn *db, const char *as_of, int n, json_t **rows,
                       vg_error *err)
{
    char limit[16];
    snprintf(limit, sizeof limit, "%d", n);
    const char *p[2] = {as_of, limit};
    PGresult *r = NULL;
    *rows = NULL;
    vg_code rc =
        db_exec(db,
                "SELECT customer_id, churn_risk, health, tier, "
                " coalesce((SELECT string_agg(d->>'text', '; ') FROM "
                "  (SELECT jsonb_array_elements(drivers) d) x), '') "
                "FROM vigil.scores WHERE as_of = $1::date ORDER BY churn_risk "
                "DESC, customer_id LIMIT $2::int",
                2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    json_t *out = json_array();
    for (int i = 0; out && i < PQntuples(r); i++)
        json_array_append_new(out,
                              json_pack("{s:s, s:f, s:i, s:s, s:s}",
                                        "customer_id", PQgetvalue(r, i, 0),
                                        "churn_risk", atof(PQgetvalue(r, i, 1)),
                                        "health", atoi(PQgetvalue(r, i, 2)),
                                        "tier", PQgetvalue(r, i, 3), "reasons",
                                        PQgetvalue(r, i, 4)));
    PQclear(r);
    if (!out)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    *rows = out;
    return VG_OK;
}
