/* train.c — from observation dates to a stored, calibrated, validated model.
 *
 * Splits are by time: the latest observation date t_0 (whose horizon ends at
 * D) is validation only; t_1 serves early stopping, the choice among a few
 * regularisation settings and calibration; t_2 and older train the trees.
 * Nothing computed on validation rows (normalisation, selection) reaches the
 * model. With two dates, t_1 is split by customer; with one, 5-fold CV by
 * customer gives the metrics and the final model trains on four fifths. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/util.h"
#include "features/feat.h"
#include "model/booster.h"
#include "model/calib.h"
#include "model/metrics.h"
#include "model/store.h"

int train_observation_dates(int as_of, int horizon, int lookback, int step,
                            int **dates)
{
    int n = lookback / step + 1;
    *dates = malloc((size_t)n * sizeof **dates);
    if (!*dates)
        return -1;
    int k = 0;
    for (int t = as_of - horizon; t >= as_of - horizon - lookback; t -= step)
        (*dates)[k++] = t;
    return k;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Row subset gathered into contiguous arrays for XGBoost. */
typedef struct subset {
    size_t n, ncols;
    float *x, *y, *w;
    long *rows; /* matrix row of each entry */
} subset;

static void subset_free(subset *s)
{
    free(s->x);
    free(s->y);
    free(s->w);
    free(s->rows);
    memset(s, 0, sizeof *s);
}

typedef int (*row_pred)(const feat_matrix *m, size_t r, void *arg);

static vg_code subset_take(const feat_matrix *m, row_pred pred, void *arg,
                           subset *s, vg_error *err)
{
    memset(s, 0, sizeof *s);
    s->ncols = m->ncols;
    size_t n = 0;
    for (size_t r = 0; r < m->nrows; r++)
        n += pred(m, r, arg) != 0;
    size_t cap = n ? n : 1;
    s->x = malloc(cap * m->ncols * sizeof *s->x);
    s->y = malloc(cap * sizeof *s->y);
    s->w = malloc(cap * sizeof *s->w);
    s->rows = malloc(cap * sizeof *s->rows);
    if (!s->x || !s->y || !s->w || !s->rows) {
        subset_free(s);
        return vg_fail(err, VG_ENOMEM, "out of memory for %zu training rows",
                       n);
    }
    for (size_t r = 0; r < m->nrows; r++) {
        if (!pred(m, r, arg))
            continue;
        memcpy(&s->x[s->n * m->ncols], &m->x[r * m->ncols],
               m->ncols * sizeof *s->x);
        s->y[s->n] = m->label[r];
        s->w[s->n] = m->weight ? m->weight[r] : 1.0f;
        s->rows[s->n] = (long)r;
        s->n++;
    }
    return VG_OK;
}

static double subset_positives(const subset *s)
{
    double p = 0;
    for (size_t i = 0; i < s->n; i++)
        p += s->y[i];
    return p;
}

/* Which rows go where: role 0 train, 1 early-stop/calibration, 2 validation. */
typedef struct split {
    int ndates;
    int fold; /* CV fold held out for validation, -1 when splitting by time */
    unsigned seed;
} split;

static int fold_of(const char *id, unsigned seed)
{
    return (int)(hash_str(id, seed ^ 0x5eedu) % 5);
}

static int row_role(const feat_matrix *m, size_t r, const split *sp)
{
    int k = m->date_index[r];
    if (sp->fold >= 0) {
        int f = fold_of(m->ids[r], sp->seed);
        if (f == sp->fold)
            return 2;
        return f == (sp->fold + 1) % 5 ? 1 : 0;
    }
    if (sp->ndates >= 3)
        return k == 0 ? 2 : k == 1 ? 1 : 0;
    if (k == 0)
        return 2;
    return fold_of(m->ids[r], sp->seed) == 0 ? 1 : 0;
}

typedef struct role_arg {
    const split *sp;
    int role;
    int any_but_validation; /* final model of CV: every row except role 1 */
} role_arg;

static int pred_role(const feat_matrix *m, size_t r, void *arg)
{
    role_arg *a = arg;
    int role = row_role(m, r, a->sp);
    if (a->any_but_validation)
        return role != 1;
    return role == a->role;
}

static void to_double(const subset *s, double *y, double *w)
{
    for (size_t i = 0; i < s->n; i++) {
        y[i] = s->y[i];
        w[i] = s->w[i];
    }
}

/* The few settings the search tries; the first is the default. */
static void candidate_params(int i, const vg_config *cfg, booster_params *p)
{
    booster_params_default(p);
    p->nthread = cfg->train_nthread;
    /* A high learning rate with early stopping: training time is budgeted
     * (docs/BENCHMARKS.md) and the held-out loss barely moves below it. */
    p->max_rounds = 200;
    p->early_stopping_rounds = 20;
    p->seed = (unsigned long)cfg->train_seed;
    switch (i) {
    case 0:
        p->max_depth = 4;
        p->eta = 0.3;
        p->min_child_weight = 10;
        p->lambda = 2;
        break;
    case 1:
        p->max_depth = 6;
        p->eta = 0.3;
        p->min_child_weight = 5;
        p->lambda = 5;
        break;
    default:
        p->max_depth = 3;
        p->eta = 0.3;
        p->min_child_weight = 20;
        p->lambda = 10;
        p->alpha = 1;
        break;
    }
}

typedef struct fitted {
    booster *b;
    calib *cal;
    booster_params params;
    int best_rounds;
    double es_logloss;
} fitted;

static void fitted_free(fitted *f)
{
    booster_free(f->b);
    calib_free(f->cal);
    memset(f, 0, sizeof *f);
}

/* Fit trees on `tr` (early stopping on `es`), choose among candidates by the
 * weighted log loss on `es`, then calibrate on `es`. */
static vg_code fit_model(const vg_config *cfg, const vg_log *lg,
                         const subset *tr, const subset *es, fitted *out,
                         vg_error *err)
{
    vg_code rc = VG_OK;
    int ncand = cfg->train_search ? 2 : 1;
    double *raw = malloc((es->n ? es->n : 1) * sizeof *raw);
    double *y = malloc((es->n ? es->n : 1) * sizeof *y);
    double *w = malloc((es->n ? es->n : 1) * sizeof *w);
    memset(out, 0, sizeof *out);
    out->es_logloss = INFINITY;
    if (!raw || !y || !w) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    to_double(es, y, w);
    for (int i = 0; i < ncand; i++) {
        fitted f;
        memset(&f, 0, sizeof f);
        candidate_params(i, cfg, &f.params);
        rc = booster_train(&f.params, tr->x, tr->y, tr->w, tr->n, es->x, es->y,
                           es->w, es->n, tr->ncols, &f.b, &f.best_rounds, err);
        if (rc == VG_OK)
            rc = booster_predict(f.b, es->x, es->n, es->ncols, raw, err);
        if (rc != VG_OK) {
            fitted_free(&f);
            goto cleanup;
        }
        f.es_logloss = metrics_logloss(raw, y, w, es->n);
        log_info(lg,
                 "candidate %d (depth %d, min_child_weight %.0f, lambda %.0f): "
                 "%d rounds, "
                 "held-out log loss %.5f",
                 i, f.params.max_depth, f.params.min_child_weight,
                 f.params.lambda, f.best_rounds, f.es_logloss);
        if (f.es_logloss < out->es_logloss) {
            fitted_free(out);
            *out = f;
        } else {
            fitted_free(&f);
        }
    }
    rc = booster_predict(out->b, es->x, es->n, es->ncols, raw, err);
    if (rc == VG_OK)
        rc = calib_choose(raw, y, w, es->n, &out->cal, err);
    if (rc != VG_OK)
        vg_wrap(err, "calibration: ");
cleanup:
    if (rc != VG_OK)
        fitted_free(out);
    free(raw);
    free(y);
    free(w);
    return rc;
}

/* Calibrated probabilities of `fit` on rows of `s`. */
static vg_code predict_cal(const fitted *fit, const subset *s, double *prob,
                           vg_error *err)
{
    vg_code rc = booster_predict(fit->b, s->x, s->n, s->ncols, prob, err);
    for (size_t i = 0; rc == VG_OK && i < s->n; i++)
        prob[i] = calib_apply(fit->cal, prob[i]);
    return rc;
}

/* The baseline everyone would try first: days since last activity, mapped to
 * a probability by isotonic regression fitted on the calibration rows. */
static vg_code baseline(const feat_spec *spec, const subset *es,
                        const subset *va, metrics_summary *out, vg_error *err)
{
    int col = feat_spec_find(spec, "usage.days_since_last_activity");
    double *r1 = malloc((es->n + 1) * sizeof *r1),
           *y1 = malloc((es->n + 1) * sizeof *y1),
           *w1 = malloc((es->n + 1) * sizeof *w1);
    double *r2 = malloc((va->n + 1) * sizeof *r2),
           *y2 = malloc((va->n + 1) * sizeof *y2),
           *w2 = malloc((va->n + 1) * sizeof *w2);
    calib *cal = NULL;
    vg_code rc = VG_OK;
    if (!r1 || !y1 || !w1 || !r2 || !y2 || !w2 || col < 0) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    /* never active counts as the longest silence */
#define SILENCE(s, i)                                                          \
    (isnan((s)->x[(i) * (s)->ncols + (size_t)col])                             \
         ? 0.999999                                                            \
         : 1.0 - exp(-(s)->x[(i) * (s)->ncols + (size_t)col] / 30.0))
    for (size_t i = 0; i < es->n; i++)
        r1[i] = SILENCE(es, i);
    for (size_t i = 0; i < va->n; i++)
        r2[i] = SILENCE(va, i);
#undef SILENCE
    to_double(es, y1, w1);
    to_double(va, y2, w2);
    rc = calib_fit(CALIB_ISOTONIC, r1, y1, w1, es->n, &cal, err);
    if (rc != VG_OK)
        goto cleanup;
    for (size_t i = 0; i < va->n; i++)
        r2[i] = calib_apply(cal, r2[i]);
    metrics_summarize(r2, y2, w2, va->n, out);
cleanup:
    calib_free(cal);
    free(r1);
    free(y1);
    free(w1);
    free(r2);
    free(y2);
    free(w2);
    return rc;
}

static json_t *calibration_json(const double *prob, const double *y,
                                const double *w, size_t n)
{
    metrics_calib_bin bins[10];
    metrics_calibration_table(prob, y, w, n, 10, bins);
    json_t *a = json_array();
    for (int i = 0; i < 10; i++) {
        if (bins[i].count == 0)
            continue;
        json_array_append_new(a, json_pack("{s:f, s:f, s:f, s:f, s:I}", "lo",
                                           bins[i].lo, "hi", bins[i].hi,
                                           "mean_predicted", bins[i].mean_pred,
                                           "observed", bins[i].observed, "rows",
                                           (json_int_t)bins[i].count));
    }
    return a;
}

/* Log loss of the current champion on the same validation rows, scored with
 * the champion's own features: when its feature list differs, the same
 * request (same dates, same deterministic sample) is extracted again with
 * its list. NAN (and no error) when there is no champion for this horizon. */
static vg_code champion_logloss(db_conn *db, const vg_config *cfg,
                                const vg_log *lg, const feat_request *req,
                                const split *sp, const feat_spec *spec,
                                const subset *va, double *ll,
                                long long *champ_id, vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *cspec = NULL;
    feat_matrix *cm = NULL;
    subset cva = {0};
    double *prob = NULL, *y = NULL, *w = NULL;
    *ll = NAN;
    *champ_id = 0;
    vg_error e2;
    vg_code rc = store_load(db, 0, req->horizon_days, &sm, &e2);
    if (rc == VG_ENOMODEL)
        return VG_OK;
    if (rc != VG_OK) {
        log_warn(lg,
                 "the current champion cannot be loaded (%s); the new model "
                 "replaces it",
                 e2.msg);
        return VG_OK;
    }
    rc = VG_OK;
    if (sm->horizon_days != req->horizon_days)
        goto cleanup; /* a champion for another horizon is not a rival */
    *champ_id = sm->model_id;
    if (feat_spec_from_json(sm->features, &cspec, &e2) != VG_OK) {
        log_warn(lg, "champion %lld: %s; the new model replaces it",
                 sm->model_id, e2.msg);
        goto cleanup;
    }
    json_t *a = feat_spec_to_json(spec), *b = feat_spec_to_json(cspec);
    int same = json_equal(json_object_get(a, "columns"),
                          json_object_get(b, "columns"));
    json_decref(a);
    json_decref(b);
    const subset *v = va;
    if (!same) {
        role_arg a2 = {sp, 2, 0};
        log_info(lg, "the champion uses other features: extracting them for "
                     "the comparison");
        if ((rc = feat_build(db, cfg, cspec, req, lg, &cm, NULL, err)) !=
                VG_OK ||
            (rc = subset_take(cm, pred_role, &a2, &cva, err)) != VG_OK)
            goto cleanup;
        v = &cva;
    }
    prob = malloc((v->n + 1) * sizeof *prob);
    y = malloc((v->n + 1) * sizeof *y);
    w = malloc((v->n + 1) * sizeof *w);
    if (!prob || !y || !w) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = booster_predict(sm->b, v->x, v->n, v->ncols, prob, err)) != VG_OK)
        goto cleanup;
    for (size_t i = 0; i < v->n; i++)
        prob[i] = calib_apply(sm->cal, prob[i]);
    to_double(v, y, w);
    *ll = metrics_logloss(prob, y, w, v->n);
cleanup:
    free(prob);
    free(y);
    free(w);
    subset_free(&cva);
    feat_matrix_free(cm);
    feat_spec_free(cspec);
    store_model_free(sm);
    return rc;
}

static vg_code check_history(db_conn *db, const vg_config *cfg, int t0,
                             int as_of, int horizon, vg_error *err)
{
    char *customers = db_qualify(db, cfg->source_schema, "customers");
    char sql[512];
    PGresult *r = NULL;
    if (!customers)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(sql, sizeof sql,
             "SELECT min(created_at)::date::text, count(*) FROM %s", customers);
    free(customers);
    vg_code rc = db_exec(db, sql, 0, NULL, &r, err);
    if (rc != VG_OK)
        return vg_wrap(err, "reading %s.customers: ", cfg->source_schema);
    char t0s[DATE_BUF], ds[DATE_BUF];
    date_format(t0, t0s);
    date_format(as_of, ds);
    if (atol(PQgetvalue(r, 0, 1)) == 0)
        rc = vg_fail(err, VG_EDATA,
                     "no customers in %s.customers: nothing to train on",
                     cfg->source_schema);
    else if (PQgetisnull(r, 0, 0) || strcmp(PQgetvalue(r, 0, 0), t0s) >= 0)
        rc = vg_fail(err, VG_EDATA,
                     "the horizon (%d days) is longer than the history: the "
                     "latest observation "
                     "date %s (as-of %s minus the horizon) is not after the "
                     "first signup (%s)",
                     horizon, t0s, ds,
                     PQgetisnull(r, 0, 0) ? "none" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

vg_code train_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  const train_opts *o, json_t **summary, vg_error *err)
{
    double t_start = now_s();
    int *dates = NULL;
    feat_spec *spec = NULL;
    feat_matrix *m = NULL;
    subset tr = {0}, es = {0}, va = {0};
    fitted fit;
    memset(&fit, 0, sizeof fit);
    double *prob = NULL, *y = NULL, *w = NULL;
    json_t *stats = json_object(), *out = NULL;
    vg_code rc = VG_OK;
    *summary = NULL;

    int nd = train_observation_dates(o->as_of, o->horizon_days,
                                     o->lookback_days, o->step_days, &dates);
    if (nd <= 0) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = check_history(db, cfg, dates[0], o->as_of, o->horizon_days,
                            err)) != VG_OK)
        goto cleanup;
    if ((rc = feat_spec_discover(db, cfg, o->as_of, &spec, err)) != VG_OK)
        goto cleanup;
    feat_request req = {dates,
                        nd,
                        o->horizon_days,
                        cfg->train_max_rows,
                        0,
                        (unsigned)cfg->train_seed,
                        o->quiet,
                        NULL};
    if ((rc = feat_build(db, cfg, spec, &req, lg, &m, stats, err)) != VG_OK)
        goto cleanup;
    double t_feat = now_s();
    log_info(
        lg,
        "features: %zu rows x %zu columns over %d observation dates in %.1f s",
        m->nrows, m->ncols, nd, t_feat - t_start);

    if (m->nrows == 0) {
        rc = vg_fail(err, VG_EDATA,
                     "no customer was active on any observation date");
        goto cleanup;
    }
    double pos = 0;
    for (size_t r = 0; r < m->nrows; r++)
        pos += m->label[r];
    if (pos == 0) {
        rc = vg_fail(
            err, VG_EDATA,
            "no customer churned within %d days of any observation date (%zu "
            "rows): "
            "a model needs both classes; check that canceled_at is mapped",
            o->horizon_days, m->nrows);
        goto cleanup;
    }
    if (pos == (double)m->nrows) {
        rc = vg_fail(err, VG_EDATA,
                     "every row churned: a model needs both classes");
        goto cleanup;
    }
    if ((long)m->nrows < cfg->train_min_rows ||
        pos < cfg->train_min_positives) {
        rc = vg_fail(err, VG_EDATA,
                     "too few rows to train: %zu rows with %.0f churned (need "
                     "%d and %d; "
                     "see train.min_rows and train.min_positives, or lengthen "
                     "--lookback)",
                     m->nrows, pos, cfg->train_min_rows,
                     cfg->train_min_positives);
        goto cleanup;
    }

    split sp = {nd, nd == 1 ? 0 : -1, (unsigned)cfg->train_seed};
    const char *validation = nd == 1 ? "cv" : "time";
    size_t nva_total = 0;
    /* Validation predictions: out-of-fold for CV, t_0 for time. */
    if (nd == 1) {
        prob = malloc(m->nrows * sizeof *prob);
        y = malloc(m->nrows * sizeof *y);
        w = malloc(m->nrows * sizeof *w);
        if (!prob || !y || !w) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
            goto cleanup;
        }
        for (int f = 0; f < 5; f++) {
            sp.fold = f;
            role_arg a0 = {&sp, 0, 0}, a1 = {&sp, 1, 0}, a2 = {&sp, 2, 0};
            fitted ff;
            if ((rc = subset_take(m, pred_role, &a0, &tr, err)) != VG_OK ||
                (rc = subset_take(m, pred_role, &a1, &es, err)) != VG_OK ||
                (rc = subset_take(m, pred_role, &a2, &va, err)) != VG_OK)
                goto cleanup;
            if (subset_positives(&tr) == 0 || subset_positives(&es) == 0) {
                rc = vg_fail(
                    err, VG_EDATA,
                    "cross-validation fold %d has no churned customers: "
                    "too few positives for 5-fold CV",
                    f);
                goto cleanup;
            }
            if ((rc = fit_model(cfg, lg, &tr, &es, &ff, err)) != VG_OK)
                goto cleanup;
            rc = predict_cal(&ff, &va, prob + nva_total, err);
            fitted_free(&ff);
            if (rc != VG_OK)
                goto cleanup;
            for (size_t i = 0; i < va.n; i++) {
                y[nva_total + i] = va.y[i];
                w[nva_total + i] = va.w[i];
            }
            nva_total += va.n;
            subset_free(&tr);
            subset_free(&es);
            subset_free(&va);
        }
        /* Final model: every fold but one, which early-stops and calibrates. */
        sp.fold = 4;
        role_arg fa = {&sp, 0, 1}, fe = {&sp, 1, 0};
        if ((rc = subset_take(m, pred_role, &fa, &tr, err)) != VG_OK ||
            (rc = subset_take(m, pred_role, &fe, &es, err)) != VG_OK)
            goto cleanup;
        if ((rc = fit_model(cfg, lg, &tr, &es, &fit, err)) != VG_OK)
            goto cleanup;
    } else {
        role_arg a0 = {&sp, 0, 0}, a1 = {&sp, 1, 0}, a2 = {&sp, 2, 0};
        if ((rc = subset_take(m, pred_role, &a0, &tr, err)) != VG_OK ||
            (rc = subset_take(m, pred_role, &a1, &es, err)) != VG_OK ||
            (rc = subset_take(m, pred_role, &a2, &va, err)) != VG_OK)
            goto cleanup;
        if (subset_positives(&tr) == 0 || subset_positives(&es) == 0 ||
            subset_positives(&va) == 0) {
            char d0[DATE_BUF];
            date_format(dates[0], d0);
            rc = vg_fail(err, VG_EDATA,
                         "not enough churn to split by time (train %.0f, "
                         "calibration %.0f, "
                         "validation %.0f churned rows; validation date %s): "
                         "lengthen --lookback",
                         subset_positives(&tr), subset_positives(&es),
                         subset_positives(&va), d0);
            goto cleanup;
        }
        if ((rc = fit_model(cfg, lg, &tr, &es, &fit, err)) != VG_OK)
            goto cleanup;
        nva_total = va.n;
        prob = malloc((va.n + 1) * sizeof *prob);
        y = malloc((va.n + 1) * sizeof *y);
        w = malloc((va.n + 1) * sizeof *w);
        if (!prob || !y || !w) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
            goto cleanup;
        }
        if ((rc = predict_cal(&fit, &va, prob, err)) != VG_OK)
            goto cleanup;
        to_double(&va, y, w);
    }
    double t_fit = now_s();

    metrics_summary ms, mb;
    metrics_summarize(prob, y, w, nva_total, &ms);
    memset(&mb, 0, sizeof mb);
    int have_baseline = 0;
    if (nd > 1) {
        if (baseline(spec, &es, &va, &mb, err) == VG_OK)
            have_baseline = 1;
        else
            log_warn(lg, "baseline not computed: %s", err->msg);
    }

    /* Champion decision on the same validation rows. */
    double champ_ll = NAN;
    long long champ_id = 0;
    if (nd > 1 && (rc = champion_logloss(db, cfg, lg, &req, &sp, spec, &va,
                                         &champ_ll, &champ_id, err)) != VG_OK)
        goto cleanup;
    int promote = isnan(champ_ll) || ms.logloss <= champ_ll + 1e-12;
    if (nd == 1 && champ_id == 0) {
        /* CV has no shared validation rows to compare on: the new model wins
         * only when there is no champion for this horizon. */
        stored_model *sm = NULL;
        vg_error e2;
        if (store_load(db, 0, o->horizon_days, &sm, &e2) == VG_OK &&
            sm->horizon_days == o->horizon_days) {
            champ_id = sm->model_id;
            promote = 0;
        }
        store_model_free(sm);
    }
    char decision[256];
    if (champ_id == 0)
        snprintf(decision, sizeof decision,
                 "champion (there was none for a %d-day horizon)",
                 o->horizon_days);
    else if (isnan(champ_ll))
        snprintf(decision, sizeof decision,
                 "kept model %lld (cross-validated models are not compared; "
                 "promote by training with time validation)",
                 champ_id);
    else if (promote)
        snprintf(decision, sizeof decision,
                 "champion (log loss %.5f vs %.5f of model %lld)", ms.logloss,
                 champ_ll, champ_id);
    else
        snprintf(decision, sizeof decision,
                 "not promoted (log loss %.5f vs %.5f of champion %lld)",
                 ms.logloss, champ_ll, champ_id);

    char asof[DATE_BUF], d0[DATE_BUF], dn[DATE_BUF];
    date_format(o->as_of, asof);
    date_format(dates[0], d0);
    date_format(dates[nd - 1], dn);
    json_t *metrics = metrics_summary_json(&ms);
    json_object_set_new(metrics, "calibration_table",
                        calibration_json(prob, y, w, nva_total));
    json_t *mjs = json_pack(
        "{s:o, s:o, s:s, s:s, s:s, s:I, s:o}", "model", metrics, "baseline",
        have_baseline ? metrics_summary_json(&mb) : json_null(), "validation",
        validation, "validation_date", d0, "baseline_feature",
        "usage.days_since_last_activity", "validation_rows",
        (json_int_t)nva_total, "champion_logloss",
        isnan(champ_ll) ? json_null() : json_real(champ_ll));
    json_t *params = json_pack(
        "{s:o, s:i, s:o, s:i, s:i, s:i, s:i, s:s, s:s}", "xgboost",
        booster_params_json(&fit.params), "best_rounds", fit.best_rounds,
        "calibration", calib_to_json(fit.cal), "horizon_days", o->horizon_days,
        "lookback_days", o->lookback_days, "step_days", o->step_days,
        "observation_dates", nd, "first_date", dn, "last_date", d0);
    json_object_set(params, "sampling", json_object_get(stats, "sampling"));
    json_t *features = feat_spec_to_json(spec);

    long long model_id = 0;
    if ((rc = db_begin(db, err)) != VG_OK)
        goto store_fail;
    rc = store_insert(db, o->as_of, o->horizon_days, features, params, mjs,
                      fit.b, &model_id, err);
    if (rc == VG_OK && promote)
        rc = store_promote(db, model_id, o->horizon_days, err);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    if (rc != VG_OK)
        db_rollback(db);
store_fail:
    if (rc != VG_OK) {
        json_decref(mjs);
        json_decref(params);
        json_decref(features);
        goto cleanup;
    }
    double t_end = now_s();
    out = json_pack(
        "{s:I, s:s, s:I, s:I, s:I, s:s, s:O, s:o, s:{s:s, s:b, s:o}, s:i, s:i, "
        "s:{s:f, s:f, s:f, s:f}, s:O}",
        "model_id", (json_int_t)model_id, "as_of", asof, "rows",
        (json_int_t)m->nrows, "positives", (json_int_t)pos, "features",
        (json_int_t)m->ncols, "validation", validation, "metrics", metrics,
        "baseline", have_baseline ? metrics_summary_json(&mb) : json_null(),
        "champion", "decision", decision, "is_champion", promote,
        "previous_model_id", champ_id ? json_integer(champ_id) : json_null(),
        "observation_dates", nd, "best_rounds", fit.best_rounds, "seconds",
        "features", t_feat - t_start, "fit", t_fit - t_feat, "store",
        t_end - t_fit, "total", t_end - t_start, "skipped", stats);
    json_decref(mjs);
    json_decref(params);
    json_decref(features);
    *summary = out;
cleanup:
    free(dates);
    feat_spec_free(spec);
    feat_matrix_free(m);
    subset_free(&tr);
    subset_free(&es);
    subset_free(&va);
    fitted_free(&fit);
    free(prob);
    free(y);
    free(w);
    json_decref(stats);
    return rc;
}
