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
/* Customers per chunk of the feature stream: with the batch, what bounds
 * memory whatever the number of customers. */
#define SCORE_CHUNK 32768

int score_health(double risk)
{
    if (!(risk >= 0))
        risk = 0;
    if (risk > 1)
        risk = 1;
    return (int)lround(100.0 * (1.0 - sqrt(risk)));
}

#define TIER_NAME_(name) name,
static const char *const tier_names[SCORE_NTIERS] = {SCORE_TIERS(TIER_NAME_, )};

const char *score_tier_name(int rank)
{
    return rank >= 0 && rank < SCORE_NTIERS ? tier_names[rank] : "?";
}

int score_tier_rank(const char *name)
{
    for (int i = 0; name && i < SCORE_NTIERS; i++)
        if (strcmp(name, tier_names[i]) == 0)
            return i;
    return -1;
}

void score_tier_words(const char *tier, char *buf, size_t n)
{
    snprintf(buf, n, "%s", tier ? tier : "unscored");
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
}

/* The rank of a churn risk by the config's cut-offs. */
static int tier_rank_of(const vg_config *cfg, double risk)
{
    if (risk >= cfg->tier_critical)
        return 3;
    if (risk >= cfg->tier_at_risk)
        return 2;
    if (risk >= cfg->tier_watch)
        return 1;
    return 0;
}

const char *score_tier(const vg_config *cfg, double risk)
{
    return tier_names[tier_rank_of(cfg, risk)];
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

/* The model to score with: the champion (model_id <= 0) or model_id. A
 * champion trained after the date would use the future and is refused; an
 * explicit model is only warned about (a replay, not a backtest). */
static vg_code load_model(db_conn *db, const vg_config *cfg, const vg_log *lg,
                          int as_of, long long model_id, stored_model **out,
                          vg_error *err)
{
    stored_model *sm = NULL;
    vg_code rc = store_load(db, model_id, cfg->train_horizon_days, &sm, err);
    if (rc != VG_OK)
        return rc;
    if (sm->as_of > as_of) {
        char md[DATE_BUF], d[DATE_BUF];
        date_format(sm->as_of, md);
        date_format(as_of, d);
        if (model_id <= 0) {
            rc = vg_fail(err, VG_ENOMODEL,
                         "the champion (model %lld) was trained as of %s, "
                         "after %s: scoring %s with "
                         "it would use the future. Run `vigil train --as-of "
                         "%s` first, or pass --model",
                         sm->model_id, md, d, d, d);
            store_model_free(sm);
            return rc;
        }
        log_warn(lg,
                 "model %lld was trained as of %s, after %s: this is not a "
                 "faithful backtest",
                 sm->model_id, md, d);
    }
    *out = sm;
    return VG_OK;
}

/* One scoring run's state: the model, the current chunk of features,
 * per-batch buffers and what the run adds up over its chunks. */
typedef struct scoring {
    const vg_config *cfg;
    const stored_model *sm;
    const feat_spec *spec;
    const feat_matrix *m; /* the current chunk */
    const char *d;        /* the as-of date, YYYY-MM-DD */
    double *prob;    /* per batch row: raw probability, then calibrated risk */
    double *typical; /* per column: the first chunk's median */
    int have_typical;
    float *contrib; /* per batch row: ncols+1 contributions */
    char **drs;     /* per batch row: drivers JSON */
    long tiers[SCORE_NTIERS];
    size_t scored;
    double risk_sum;
} scoring;

static vg_code scoring_alloc(scoring *S, vg_error *err)
{
    size_t nc = feat_spec_ncols(S->spec);
    S->prob = malloc((size_t)SCORE_BATCH * sizeof *S->prob);
    S->typical = malloc((nc + 1) * sizeof *S->typical);
    S->contrib = malloc((size_t)SCORE_BATCH * (nc + 1) * sizeof *S->contrib);
    S->drs = calloc(SCORE_BATCH, sizeof *S->drs);
    if (!S->prob || !S->typical || !S->contrib || !S->drs)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

static void scoring_free(scoring *S)
{
    free(S->prob);
    free(S->typical);
    free(S->contrib);
    for (size_t i = 0; S->drs && i < SCORE_BATCH; i++)
        free(S->drs[i]);
    free(S->drs);
}

/* Predict rows [start, start+n) and word their drivers. Wording (JSON)
 * costs as much as the predictions: two threads share the batch. */
static vg_code predict_batch(scoring *S, size_t start, size_t n, vg_error *err)
{
    size_t nc = S->m->ncols;
    const float *x = &S->m->x[start * nc];
    vg_code rc = booster_predict(S->sm->b, x, n, nc, S->prob, err);
    if (rc == VG_OK)
        rc = booster_contribs(S->sm->b, x, n, nc, 0, S->contrib, err);
    if (rc != VG_OK)
        return rc;
    word_job jobs[2];
    pthread_t th;
    for (int w = 0; w < 2; w++)
        jobs[w] = (word_job){S->cfg,
                             S->spec,
                             S->sm->cal,
                             x,
                             S->contrib,
                             S->typical,
                             nc,
                             S->prob,
                             S->drs,
                             w == 0 ? 0 : n / 2,
                             w == 0 ? n / 2 : n,
                             0};
    int threaded = pthread_create(&th, NULL, word_rows, &jobs[1]) == 0;
    word_rows(&jobs[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        word_rows(&jobs[1]);
    if (jobs[0].failed || jobs[1].failed)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

/* Append rows [start, start+n) to the COPY into vigil.scores. */
static vg_code copy_batch(scoring *S, db_copy_in *cp, size_t start, size_t n,
                          vg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t r = start + i;
        double risk = S->prob[i];
        int t = tier_rank_of(S->cfg, risk);
        S->tiers[t]++;
        S->risk_sum += risk;
        S->scored++;
        db_copy_field(cp, S->d);
        db_copy_field(cp, S->m->ids[r]);
        db_copy_field_fmt(cp, "%lld", S->sm->model_id);
        db_copy_field_fmt(cp, "%.17g", risk);
        db_copy_field_fmt(cp, "%d", score_health(risk));
        db_copy_field(cp, tier_names[t]);
        db_copy_field(cp, S->drs[i]);
        free(S->drs[i]);
        S->drs[i] = NULL;
        vg_code rc = db_copy_row_end(cp, err);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* Predict, word and COPY one chunk of customers, batch by batch. The
 * "typical" values are the first chunk's medians: up to SCORE_CHUNK
 * customers in id order, a sample independent of the features (with fewer
 * customers, the whole population). */
static vg_code score_chunk(db_conn *db, scoring *S, vg_error *err)
{
    db_copy_in *cp = NULL;
    vg_code rc = VG_OK;
    if (!S->have_typical) {
        if ((rc = column_medians(S->m, S->typical, err)) != VG_OK)
            return rc;
        S->have_typical = 1;
    }
    rc = db_copy_in_begin(db,
                          "COPY vigil.scores (as_of, customer_id, "
                          "model_id, churn_risk, health, "
                          "tier, drivers) FROM STDIN",
                          &cp, err);
    for (size_t start = 0; rc == VG_OK && start < S->m->nrows;
         start += SCORE_BATCH) {
        size_t n = S->m->nrows - start < SCORE_BATCH ? S->m->nrows - start
                                                     : SCORE_BATCH;
        rc = predict_batch(S, start, n, err);
        if (rc == VG_OK)
            rc = copy_batch(S, cp, start, n, err);
    }
    if (cp) {
        vg_code rc2 = db_copy_in_end(cp, rc != VG_OK, err);
        if (rc == VG_OK)
            rc = rc2;
    }
    return rc;
}

/* Replace the date's rows in vigil.scores in one transaction: the old rows
 * go, the feature stream is read chunk by chunk inside it (its cursors live
 * in the transaction) and each chunk is written before the next is read, so
 * memory does not grow with the customers and readers see one run whole. */
static vg_code write_scores(db_conn *db, const vg_log *lg, scoring *S,
                            int as_of, int quiet, json_t *stats, vg_error *err)
{
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    vg_code rc = db_begin(db, err);
    if (rc != VG_OK)
        return rc;
    const char *p[1] = {S->d};
    rc = db_exec(db, "DELETE FROM vigil.scores WHERE as_of = $1::date", 1, p,
                 NULL, err);
    feat_request req = {&as_of, 1, 0, 0, -1, 0, quiet, NULL};
    if (rc == VG_OK)
        rc = feat_stream_open(db, S->cfg, S->spec, &req, lg, SCORE_CHUNK, stats,
                              &fs, err);
    while (rc == VG_OK && (rc = feat_stream_next(fs, &m, err)) == VG_OK && m) {
        S->m = m;
        rc = score_chunk(db, S, err);
        S->m = NULL;
        feat_matrix_free(m);
        m = NULL;
        log_debug(lg, "scored %zu customers so far", S->scored);
    }
    feat_stream_close(fs);
    if (rc != VG_OK) {
        db_rollback(db); /* the rollback reports nothing */
        return rc;
    }
    log_debug(lg, "predictions and drivers written; committing");
    rc = db_commit(db, err);
    if (rc != VG_OK)
        db_rollback(db);
    return rc;
}

/* The contract's score summary, plus what was skipped (stats, borrowed). */
static json_t *score_summary(const scoring *S, json_t *stats)
{
    double mean = S->scored ? S->risk_sum / (double)S->scored : 0;
    json_t *tiers = json_object();
    for (int t = 0; tiers && t < SCORE_NTIERS; t++)
        if (json_object_set_new(tiers, tier_names[t],
                                json_integer((json_int_t)S->tiers[t])) != 0) {
            json_decref(tiers);
            tiers = NULL;
        }
    if (!tiers)
        return NULL;
    return json_pack(
        "{s:s, s:I, s:I, s:o, s:f, s:s, s:O}", "as_of", S->d, "scored",
        (json_int_t)S->scored, "model_id", (json_int_t)S->sm->model_id, "tiers",
        tiers, "mean_churn_risk", mean, "drivers_method",
        "xgboost approximate contributions (Saabas)", "skipped", stats);
}

vg_code score_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  int as_of, long long model_id, int quiet, json_t **summary,
                  vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *spec = NULL;
    char d[DATE_BUF];
    date_format(as_of, d);
    scoring S = {.cfg = cfg, .d = d};
    *summary = NULL;
    json_t *stats = json_object();
    if (!stats)
        return vg_fail(err, VG_ENOMEM, "out of memory");

    vg_code rc = load_model(db, cfg, lg, as_of, model_id, &sm, err);
    if (rc == VG_OK)
        rc = feat_spec_from_json(sm->features, &spec, err);
    if (rc != VG_OK)
        goto cleanup;
    S.sm = sm;
    S.spec = spec;
    if ((rc = scoring_alloc(&S, err)) != VG_OK ||
        (rc = write_scores(db, lg, &S, as_of, quiet, stats, err)) != VG_OK)
        goto cleanup;
    *summary = score_summary(&S, stats);
    if (!*summary) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    log_debug(lg, "scored %zu customers as of %s with model %lld", S.scored, d,
              sm->model_id);
cleanup:
    scoring_free(&S);
    json_decref(stats);
    feat_spec_free(spec);
    store_model_free(sm);
    return rc;
}

vg_code score_riskiest(db_conn *db, const char *as_of, int n, json_t **rows,
                       vg_error *err)
{
    const db_param p[2] = {DB_TEXT(as_of), DB_INT(n)};
    PGresult *r = NULL;
    *rows = NULL;
    vg_code rc = db_exec_params(
        db,
        "SELECT customer_id, churn_risk, health, tier, "
        " coalesce((SELECT string_agg(d->>'text', '; ') FROM "
        "  (SELECT jsonb_array_elements(drivers) d) x), '') "
        "FROM vigil.scores WHERE as_of = $1::date ORDER BY churn_risk "
        "DESC, customer_id LIMIT $2::int",
        2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    json_t *out = json_array();
    for (int i = 0; out && i < PQntuples(r); i++) {
        json_t *row = json_pack(
            "{s:s, s:f, s:i, s:s, s:s}", "customer_id", PQgetvalue(r, i, 0),
            "churn_risk", atof(PQgetvalue(r, i, 1)), "health",
            atoi(PQgetvalue(r, i, 2)), "tier", PQgetvalue(r, i, 3), "reasons",
            PQgetvalue(r, i, 4));
        if (!row || json_array_append_new(out, row) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    PQclear(r);
    if (!out)
        return vg_fail(err, VG_ENOMEM,
                       "out of memory or text that is not "
                       "UTF-8 in vigil.scores");
    *rows = out;
    return VG_OK;
}
