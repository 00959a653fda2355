/* train.c — from observation dates to a stored, calibrated, validated model.
 *
 * Validation is purged by time (train.h, "the validation plan"): every
 * choice — early stopping, the search, calibration — is made on rows at
 * least H days after the rows the trees were fitted on, and the reported
 * estimate comes from a date no choice looked at. The model that scores is
 * then refitted on every labelled date, with the chosen settings and rounds.
 * With too few dates, 5-fold cross-validation grouped by customer. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/util.h"
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

/* CPU time of the process, every thread: what a fit costs whatever else
 * runs on the machine (wall time measures the neighbours too). */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the plan ------------------------------------------------------------ */

void train_plan_make(const int *dates, int nd, int horizon, unsigned seed,
                     train_plan *p)
{
    memset(p, 0, sizeof *p);
    p->horizon = horizon;
    p->seed = seed;
    p->select_holdout = -1;
    p->select_fit_from = -1;
    for (int k = 1; k < nd && p->select_holdout < 0; k++)
        if (dates[k] + horizon <= dates[0])
            p->select_holdout = k;
    for (int k = p->select_holdout + 1; p->select_holdout > 0 && k < nd; k++)
        if (dates[k] + horizon <= dates[p->select_holdout]) {
            p->select_fit_from = k;
            break;
        }
    p->purged = p->select_holdout > 0;
    p->grouped_select = p->purged && p->select_fit_from < 0;
}

static int fold_of(const char *id, unsigned seed)
{
    return (int)(hash_str(id, seed ^ 0x5eedu) % 5);
}

static train_role cv_role(const train_plan *p, int f, train_stage s)
{
    int next = (p->fold + 1) % 5;
    switch (s) {
    case TRAIN_STAGE_SELECT:
        return f == next      ? TRAIN_ROLE_HOLDOUT
               : f == p->fold ? TRAIN_ROLE_OUT
                              : TRAIN_ROLE_FIT;
    case TRAIN_STAGE_VALIDATE:
        return f == p->fold ? TRAIN_ROLE_HOLDOUT : TRAIN_ROLE_OUT;
    default: /* the final model: four folds, the fifth for its choices */
        return f == next ? TRAIN_ROLE_HOLDOUT : TRAIN_ROLE_FIT;
    }
}

train_role train_row_role(const train_plan *p, const feat_matrix *m, size_t r,
                          train_stage s)
{
    int k = m->date_index[r];
    if (!p->purged)
        return cv_role(p, fold_of(m->ids[r], p->seed), s);
    switch (s) {
    case TRAIN_STAGE_SELECT:
        if (p->grouped_select)
            return k < p->select_holdout              ? TRAIN_ROLE_OUT
                   : fold_of(m->ids[r], p->seed) == 0 ? TRAIN_ROLE_HOLDOUT
                                                      : TRAIN_ROLE_FIT;
        return k == p->select_holdout    ? TRAIN_ROLE_HOLDOUT
               : k >= p->select_fit_from ? TRAIN_ROLE_FIT
                                         : TRAIN_ROLE_OUT;
    case TRAIN_STAGE_VALIDATE:
        return k == 0                   ? TRAIN_ROLE_HOLDOUT
               : k >= p->select_holdout ? TRAIN_ROLE_FIT
                                        : TRAIN_ROLE_OUT;
    default:
        return TRAIN_ROLE_FIT;
    }
}

/* ---- row subsets ----------------------------------------------------------
 * Rows of one role in one stage, gathered into contiguous arrays for
 * XGBoost. */
typedef struct subset {
    size_t n, ncols;
    float *x, *y, *w;
    int first_day, last_day; /* observation days covered */
} subset;

static void subset_free(subset *s)
{
    free(s->x);
    free(s->y);
    free(s->w);
    memset(s, 0, sizeof *s);
}

/* With a recency half-life: row weights w[i] (observation days day[i])
 * times 2^-(age / half_life), rescaled so their sum is unchanged (what
 * min_child_weight and the penalties are set against stays the same). Only
 * the relative weight of the dates changes. */
static void recency_weigh(int half_life, const int *day, float *w, size_t n)
{
    if (half_life <= 0 || n == 0)
        return;
    int newest = day[0];
    for (size_t i = 1; i < n; i++)
        newest = day[i] > newest ? day[i] : newest;
    double before = 0, after = 0;
    for (size_t i = 0; i < n; i++) {
        before += w[i];
        w[i] = (float)(w[i] * exp2(-(double)(newest - day[i]) / half_life));
        after += w[i];
    }
    for (size_t i = 0; after > 0 && i < n; i++)
        w[i] = (float)(w[i] * (before / after));
}

/* Rows of one role in one stage, of the dates k with keep[k] >= 0 (keep
 * NULL: every date); fitted rows weighted by recency (p->half_life). */
static vg_code subset_take_kept(const feat_matrix *m, const train_plan *p,
                                train_stage st, train_role role,
                                const int *keep, subset *s, vg_error *err)
{
#define KEPT(r) (!keep || keep[m->date_index[r]] >= 0)
    memset(s, 0, sizeof *s);
    s->ncols = m->ncols;
    size_t n = 0;
    for (size_t r = 0; r < m->nrows; r++)
        n += KEPT(r) && train_row_role(p, m, r, st) == role;
    size_t cap = n ? n : 1;
    s->x = malloc(cap * m->ncols * sizeof *s->x);
    s->y = malloc(cap * sizeof *s->y);
    s->w = malloc(cap * sizeof *s->w);
    int *day = malloc(cap * sizeof *day);
    if (!s->x || !s->y || !s->w || !day) {
        subset_free(s);
        free(day);
        return vg_fail(err, VG_ENOMEM, "out of memory for %zu training rows",
                       n);
    }
    for (size_t r = 0; r < m->nrows; r++) {
        if (!KEPT(r) || train_row_role(p, m, r, st) != role)
            continue;
        memcpy(&s->x[s->n * m->ncols], &m->x[r * m->ncols],
               m->ncols * sizeof *s->x);
        s->y[s->n] = m->label[r];
        s->w[s->n] = m->weight ? m->weight[r] : 1.0f;
        day[s->n] = m->day[r];
        if (s->n == 0 || m->day[r] < s->first_day)
            s->first_day = m->day[r];
        if (s->n == 0 || m->day[r] > s->last_day)
            s->last_day = m->day[r];
        s->n++;
    }
#undef KEPT
    if (role == TRAIN_ROLE_FIT)
        recency_weigh(p->half_life, day, s->w, s->n);
    free(day);
    return VG_OK;
}

static vg_code subset_take(const feat_matrix *m, const train_plan *p,
                           train_stage st, train_role role, subset *s,
                           vg_error *err)
{
    return subset_take_kept(m, p, st, role, NULL, s, err);
}

static double subset_positives(const subset *s)
{
    double p = 0;
    for (size_t i = 0; i < s->n; i++)
        p += s->y[i] * s->w[i];
    return p;
}

/* y and w as doubles (malloc'd pair in one block: y = *out, w = *out + n). */
static vg_code subset_yw(const subset *s, double **out, vg_error *err)
{
    *out = malloc((2 * s->n + 2) * sizeof **out);
    if (!*out)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++) {
        (*out)[i] = s->y[i];
        (*out)[s->n + i] = s->w[i];
    }
    return VG_OK;
}

/* Every ceil(n/max)-th row of s into *out (at most max rows). */
static vg_code subset_stride(const subset *s, size_t max, subset *out,
                             vg_error *err)
{
    size_t step = (s->n + max - 1) / max, n = (s->n + step - 1) / step;
    memset(out, 0, sizeof *out);
    out->ncols = s->ncols;
    out->x = malloc((n + 1) * s->ncols * sizeof *out->x);
    out->y = malloc((n + 1) * sizeof *out->y);
    out->w = malloc((n + 1) * sizeof *out->w);
    if (!out->x || !out->y || !out->w) {
        subset_free(out);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < s->n; r += step, out->n++) {
        memcpy(&out->x[out->n * s->ncols], &s->x[r * s->ncols],
               s->ncols * sizeof *out->x);
        out->y[out->n] = s->y[r];
        out->w[out->n] = s->w[r];
    }
    out->first_day = s->first_day;
    out->last_day = s->last_day;
    return VG_OK;
}

static json_t *subset_json(const subset *s)
{
    char a[DATE_BUF], b[DATE_BUF];
    date_format(s->first_day, a);
    date_format(s->last_day, b);
    return json_pack("{s:s, s:s, s:I, s:f}", "first_date", a, "last_date", b,
                     "rows", (json_int_t)s->n, "churned", subset_positives(s));
}

/* The linear rival: XGBoost's gblinear on standardised inputs (booster.h),
 * its L2 penalty from a small grid. XGBoost scales lambda by the weight sum,
 * so these are per row: against a standardised column's Hessian of about
 * p(1-p) per row (0.01..0.25 for churn), 1e-4 barely shrinks, 1e-2 shrinks
 * a rare-class weight by a tenth or more. Without the search, the middle. */
static int linear_grid(const vg_config *cfg, booster_params *c)
{
    static const double lambda[] = {1e-4, 1e-3, 1e-2};
    int n = cfg->train_search ? 3 : 1;
    for (int i = 0; i < n; i++) {
        booster_params_default_linear(&c[i]);
        c[i].nthread = cfg->train_nthread;
        c[i].seed = (unsigned long)cfg->train_seed;
        c[i].lambda = n == 1 ? lambda[1] : lambda[i];
    }
    return n;
}

/* Trees and the linear model are compared on the same held-out rows by log
 * loss; within this relative margin they count as tied and the linear model
 * (fewer ways to overfit, contributions that read as weights) is kept. The
 * margin is small: a tie, not a handicap for the trees. */
#define TRAIN_LINEAR_TIE 0.001

/* The linear candidates of the search fit at most this many rows (every
 * n-th, weights kept): 83 weights are pinned down long before, and the
 * search then costs about a second at 250,000 rows instead of three. The
 * validate and final fits of a chosen line use every row. */
#define TRAIN_LINEAR_SELECT_ROWS 50000

/* ---- the search -----------------------------------------------------------
 * A small grid whose scale follows the data: with few churned rows a low
 * learning rate, shallow trees and more rounds (each tree then moves the
 * model little, so early stopping has a fine grain and noise is averaged);
 * with many, a higher rate keeps the training budget. min_child_weight grows
 * with the rows so leaves stay supported by a similar share of the data. */
static int candidate_grid(const vg_config *cfg, double rows, double pos,
                          booster_params *c)
{
    static const struct {
        double max_pos, eta;
        int rounds, patience, depth[2];
        double lambda[2];
    } scale[] = {
        {500, 0.05, 1000, 50, {2, 3}, {5, 10}},
        {5000, 0.1, 500, 30, {3, 5}, {2, 5}},
        {INFINITY, 0.2, 300, 20, {4, 6}, {2, 5}},
    };
    int s = 0;
    while (pos > scale[s].max_pos)
        s++;
    double mcw = rows / 20000.0;
    if (mcw < 1)
        mcw = 1;
    if (mcw > 20)
        mcw = 20;
    int n = cfg->train_search ? 2 : 1;
    for (int i = 0; i < n; i++) {
        booster_params_default(&c[i]);
        c[i].nthread = cfg->train_nthread;
        c[i].seed = (unsigned long)cfg->train_seed;
        c[i].eta = scale[s].eta;
        c[i].max_rounds = scale[s].rounds;
        c[i].early_stopping_rounds = scale[s].patience;
        c[i].max_depth = scale[s].depth[i];
        c[i].lambda = scale[s].lambda[i];
        c[i].min_child_weight = mcw * (i + 1);
    }
    return n + linear_grid(cfg, c + n);
}

/* What the select stage chose, and the maps it fitted on its holdout. */
typedef struct selection {
    booster_params params; /* max_rounds = the chosen rounds, no stopping */
    int rounds;
    double holdout_logloss;
    double kind_logloss[2]; /* best held-out log loss: [0] trees, [1] linear */
    booster *b;             /* the select-stage model (CV: the fold's model) */
    calib *cal;             /* its calibration on the holdout */
    calib *base_cal;        /* the baseline's map on the holdout */
    json_t *candidates;
} selection;

static void selection_free(selection *s)
{
    booster_free(s->b);
    calib_free(s->cal);
    calib_free(s->base_cal);
    json_decref(s->candidates);
    memset(s, 0, sizeof *s);
}

double train_silence(const float *row, int col)
{
    double v = row[col];
    return isnan(v) ? 0.999999 : 1.0 - exp(-v / 30.0);
}

/* Isotonic map from silence to churn on the rows of s. */
static vg_code baseline_fit(int col, const subset *s, calib **out,
                            vg_error *err)
{
    double *yw = NULL, *r = malloc((s->n + 1) * sizeof *r);
    vg_code rc =
        r ? subset_yw(s, &yw, err) : vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t i = 0; rc == VG_OK && i < s->n; i++)
        r[i] = train_silence(&s->x[i * s->ncols], col);
    if (rc == VG_OK)
        rc = calib_fit(CALIB_ISOTONIC, r, yw, yw + s->n, s->n, out, err);
    free(r);
    free(yw);
    return rc;
}

static vg_code baseline_measure(int col, const calib *cal, const subset *s,
                                metrics_summary *out, vg_error *err)
{
    double *yw = NULL, *r = malloc((s->n + 1) * sizeof *r);
    vg_code rc =
        r ? subset_yw(s, &yw, err) : vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t i = 0; rc == VG_OK && i < s->n; i++)
        r[i] = calib_apply(cal, train_silence(&s->x[i * s->ncols], col));
    if (rc == VG_OK)
        metrics_summarize(r, yw, yw + s->n, s->n, out);
    free(r);
    free(yw);
    return rc;
}

static void candidate_log(const vg_log *lg, int i, const booster_params *p,
                          int best, double ll, double auc)
{
    if (p->linear)
        log_info(lg,
                 "candidate %d (linear, lambda %g): %d rounds, held-out log "
                 "loss %.5f, AUC %.4f",
                 i, p->lambda, best, ll, auc);
    else
        log_info(lg,
                 "candidate %d (trees, eta %.2f, depth %d, min_child_weight "
                 "%.1f, lambda %.0f): %d rounds, held-out log loss %.5f, AUC "
                 "%.4f",
                 i, p->eta, p->max_depth, p->min_child_weight, p->lambda, best,
                 ll, auc);
}

/* Keeps the better of the trees and the linear model: the lower held-out
 * log loss, the linear one when they are within TRAIN_LINEAR_TIE. */
static void keep_kind(selection *out, booster *kb[2], booster_params kp[2],
                      int kr[2])
{
    double t = out->kind_logloss[0], l = out->kind_logloss[1];
    int k = kb[0] == NULL || (kb[1] && l <= t * (1 + TRAIN_LINEAR_TIE));
    out->b = kb[k];
    out->params = kp[k];
    out->rounds = kr[k];
    out->holdout_logloss = out->kind_logloss[k];
    kb[k] = NULL;
    booster_free(kb[!k]);
    kb[!k] = NULL;
}

/* An empty selection whose every kind is still to beat: log losses start at
 * infinity so the first candidate of each kind is kept. */
static void selection_start(selection *out)
{
    memset(out, 0, sizeof *out);
    out->holdout_logloss = INFINITY;
    out->kind_logloss[0] = out->kind_logloss[1] = INFINITY;
    out->candidates = json_array();
}

/* The rows a candidate fits: all of `tr`, except that linear candidates on a
 * large set fit the stride sample (TRAIN_LINEAR_SELECT_ROWS), drawn once into
 * `lin_rows` and shared by every linear candidate. */
static vg_code candidate_rows(const subset *tr, int linear, subset *lin_rows,
                              const subset **fit, vg_error *err)
{
    *fit = tr;
    if (!linear || tr->n <= TRAIN_LINEAR_SELECT_ROWS)
        return VG_OK;
    vg_code rc = lin_rows->x ? VG_OK
                             : subset_stride(tr, TRAIN_LINEAR_SELECT_ROWS,
                                             lin_rows, err);
    if (rc == VG_OK)
        *fit = lin_rows;
    return rc;
}

/* One candidate's record in the stored metrics: its parameters, how it did
 * on the holdout ({log loss, AUC}), the rows it saw and what it cost ({wall,
 * CPU} seconds), so a reader can see why the chosen one won. */
static json_t *candidate_json(const booster_params *p, int best,
                              const double score[2], size_t rows,
                              const double took[2])
{
    json_t *cj = booster_params_json(p);
    json_object_set_new(cj, "kind",
                        json_string(p->linear ? "linear" : "trees"));
    json_object_set_new(cj, "best_rounds", json_integer(best));
    json_object_set_new(cj, "holdout_logloss", json_real(score[0]));
    json_object_set_new(cj, "holdout_auc", json_real(score[1]));
    json_object_set_new(cj, "rows", json_integer((json_int_t)rows));
    json_object_set_new(cj, "seconds", json_real(took[0]));
    json_object_set_new(cj, "cpu_seconds", json_real(took[1]));
    return cj;
}

/* After the kind is kept: the chosen model's raw scores on `ho` (into `raw`)
 * fit its calibration, and the baseline gets its own map on the same rows,
 * so both are judged on data neither was trained on. */
static vg_code calibrate_choice(const vg_log *lg, const feat_spec *spec,
                                const subset *ho, double *raw, const double *yw,
                                selection *out, vg_error *err)
{
    log_info(lg, "chosen: %s (held-out log loss trees %.5f, linear %.5f)",
             out->params.linear ? "linear" : "trees", out->kind_logloss[0],
             out->kind_logloss[1]);
    vg_code rc = booster_predict(out->b, ho->x, ho->n, ho->ncols, raw, err);
    if (rc == VG_OK && (rc = calib_choose(raw, yw, yw + ho->n, ho->n, &out->cal,
                                          err)) != VG_OK)
        vg_wrap(err, "calibration: ");
    int col = feat_spec_find(spec, "usage.days_since_last_activity");
    if (rc == VG_OK && col >= 0)
        rc = baseline_fit(col, ho, &out->base_cal, err);
    return rc;
}

/* Try the grid — trees and the linear model — on `tr` with early stopping on
 * `ho`; keep the lowest held-out log loss of each kind, then the better kind
 * (keep_kind); calibrate it (and the baseline) on `ho`. */
static vg_code select_fit(const vg_config *cfg, const vg_log *lg,
                          const feat_spec *spec, const subset *tr,
                          const subset *ho, selection *out, vg_error *err)
{
    booster_params grid[8], kp[2];
    booster *kb[2] = {NULL, NULL};
    int kr[2] = {0, 0};
    subset lin_rows = {0};
    int ncand = candidate_grid(cfg, (double)tr->n, subset_positives(tr), grid);
    double *raw = malloc((ho->n + 1) * sizeof *raw), *yw = NULL;
    memset(kp, 0, sizeof kp);
    selection_start(out);
    vg_code rc = raw ? subset_yw(ho, &yw, err)
                     : vg_fail(err, VG_ENOMEM, "out of memory");
    for (int i = 0; rc == VG_OK && i < ncand; i++) {
        booster *b = NULL;
        int best = 0, k = grid[i].linear;
        const subset *fit = tr;
        if ((rc = candidate_rows(tr, k, &lin_rows, &fit, err)) != VG_OK)
            break;
        double t0 = now_s(), c0 = cpu_s();
        rc = booster_train(&grid[i], fit->x, fit->y, fit->w, fit->n, ho->x,
                           ho->y, ho->w, ho->n, fit->ncols, &b, &best, err);
        double t1 = now_s(), c1 = cpu_s();
        if (rc == VG_OK)
            rc = booster_predict(b, ho->x, ho->n, ho->ncols, raw, err);
        if (rc != VG_OK) {
            booster_free(b);
            break;
        }
        double ll = metrics_logloss(raw, yw, yw + ho->n, ho->n);
        double auc = metrics_roc_auc(raw, yw, yw + ho->n, ho->n);
        candidate_log(lg, i, &grid[i], best, ll, auc);
        double score[2] = {ll, auc}, took[2] = {t1 - t0, c1 - c0};
        json_array_append_new(
            out->candidates,
            candidate_json(&grid[i], best, score, fit->n, took));
        if (ll < out->kind_logloss[k]) {
            booster_free(kb[k]);
            kb[k] = b;
            kp[k] = grid[i];
            kr[k] = best;
            out->kind_logloss[k] = ll;
        } else {
            booster_free(b);
        }
    }
    if (rc == VG_OK) {
        keep_kind(out, kb, kp, kr);
        rc = calibrate_choice(lg, spec, ho, raw, yw, out, err);
    }
    out->params.max_rounds = out->rounds;
    out->params.early_stopping_rounds = 0;
    free(raw);
    free(yw);
    booster_free(kb[0]);
    booster_free(kb[1]);
    subset_free(&lin_rows);
    if (rc != VG_OK)
        selection_free(out);
    return rc;
}

static const char *selection_kind(const selection *s)
{
    return s->params.linear ? "linear" : "trees";
}

/* How the kind was chosen, for the plan and the stored metrics. */
static json_t *kind_json(const selection *s)
{
    json_t *j = json_pack("{s:s, s:s}", "chosen", selection_kind(s), "rule",
                          "lower held-out log loss on the purged choice "
                          "rows; the linear model when within 0.1%");
    for (int k = 0; k < 2; k++)
        json_object_set_new(j, k ? "linear_logloss" : "trees_logloss",
                            isfinite(s->kind_logloss[k])
                                ? json_real(s->kind_logloss[k])
                                : json_null());
    return j;
}

/* Raw (uncalibrated) probabilities of b on s; *raw malloc'd. */
static vg_code predict_raw(booster *b, const subset *s, double **raw,
                           vg_error *err)
{
    *raw = malloc((s->n + 1) * sizeof **raw);
    if (!*raw)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return booster_predict(b, s->x, s->n, s->ncols, *raw, err);
}

/* ---- one training, stage by stage ---------------------------------------- */

typedef struct fit_state {
    train_opts o;
    int *dates, nd;
    feat_request req;
    feat_spec *spec;
    feat_matrix *m;
    json_t *stats, *plan_json;
    json_t *families; /* which optional families were kept, and why */
    json_t *step;     /* which observation step was kept, and why */
    json_t *bag_json; /* train.bag: how many models, and what it did */
    int bag;          /* models averaged per candidate (1: no bagging) */
    struct {          /* train.step_choice "blend", when it blended */
        int on;
        int *keep; /* per date: kept by the about monthly candidate (>= 0) */
        booster_params params; /* that candidate's settings and rounds */
        int rounds;
    } blend;
    double positives;
    train_plan plan;
    selection sel;
    booster *final_b;
    calib *final_cal, *base_cal;
    subset va;            /* time: the validation rows (t_0) */
    double *prob, *y, *w; /* calibrated validation predictions */
    size_t nva;
    metrics_summary ms, mb;
    int have_baseline;
    double t_start, t_feat, t_fit;
} fit_state;

static void fit_state_free(fit_state *st)
{
    free(st->dates);
    feat_spec_free(st->spec);
    feat_matrix_free(st->m);
    json_decref(st->stats);
    json_decref(st->plan_json);
    json_decref(st->families);
    json_decref(st->step);
    json_decref(st->bag_json);
    free(st->blend.keep);
    selection_free(&st->sel);
    booster_free(st->final_b);
    calib_free(st->final_cal);
    calib_free(st->base_cal);
    subset_free(&st->va);
    free(st->prob);
    free(st->y);
    free(st->w);
    memset(st, 0, sizeof *st);
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
                     "latest observation date %s (as-of %s minus the "
                     "horizon) is not after the first signup (%s)",
                     horizon, t0s, ds,
                     PQgetisnull(r, 0, 0) ? "none" : PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Observation dates, the feature matrix with labels, and the class checks. */
static vg_code load_rows(db_conn *db, const vg_config *cfg, const vg_log *lg,
                         fit_state *st, vg_error *err)
{
    const train_opts *o = &st->o;
    st->nd = train_observation_dates(
        o->as_of, o->horizon_days, o->lookback_days, o->step_days, &st->dates);
    if (st->nd <= 0)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    vg_code rc =
        check_history(db, cfg, st->dates[0], o->as_of, o->horizon_days, err);
    if (rc == VG_OK)
        rc = feat_spec_discover(db, cfg, o->as_of, &st->spec, err);
    if (rc != VG_OK)
        return rc;
    st->req = (feat_request){st->dates,
                             st->nd,
                             o->horizon_days,
                             cfg->train_max_rows,
                             0,
                             (unsigned)cfg->train_seed,
                             o->quiet,
                             NULL};
    if ((rc = feat_build(db, cfg, st->spec, &st->req, lg, &st->m, st->stats,
                         err)) != VG_OK)
        return rc;
    st->t_feat = now_s();
    const feat_matrix *m = st->m;
    log_info(lg,
             "features: %zu rows x %zu columns over %d observation dates in "
             "%.1f s",
             m->nrows, m->ncols, st->nd, st->t_feat - st->t_start);
    if (m->nrows == 0)
        return vg_fail(err, VG_EDATA,
                       "no customer was active on any observation date");
    for (size_t r = 0; r < m->nrows; r++)
        st->positives += m->label[r];
    if (st->positives == 0)
        return vg_fail(err, VG_EDATA,
                       "no customer churned within %d days of any observation "
                       "date (%zu rows): a model needs both classes; check "
                       "that canceled_at is mapped",
                       o->horizon_days, m->nrows);
    if (st->positives == (double)m->nrows)
        return vg_fail(err, VG_EDATA,
                       "every row churned: a model needs both classes");
    if ((long)m->nrows < cfg->train_min_rows ||
        st->positives < cfg->train_min_positives)
        return vg_fail(err, VG_EDATA,
                       "too few rows to train: %zu rows with %.0f churned "
                       "(need %d and %d; see train.min_rows and "
                       "train.min_positives, or lengthen --lookback)",
                       m->nrows, st->positives, cfg->train_min_rows,
                       cfg->train_min_positives);
    return VG_OK;
}

static vg_code alloc_predictions(fit_state *st, size_t n, vg_error *err)
{
    st->prob = malloc((n + 1) * sizeof *st->prob);
    st->y = malloc((n + 1) * sizeof *st->y);
    st->w = malloc((n + 1) * sizeof *st->w);
    if (!st->prob || !st->y || !st->w)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

/* Calibrated probabilities of raw[] into st->prob from index `at`. */
static void put_predictions(fit_state *st, size_t at, const double *raw,
                            const calib *cal, const subset *s)
{
    for (size_t i = 0; i < s->n; i++) {
        st->prob[at + i] = calib_apply(cal, raw[i]);
        st->y[at + i] = s->y[i];
        st->w[at + i] = s->w[i];
    }
}

static vg_code not_enough_churn(const fit_state *st, const subset *tr,
                                const subset *ho, const subset *va,
                                vg_error *err)
{
    char d0[DATE_BUF];
    date_format(st->dates[0], d0);
    return vg_fail(err, VG_EDATA,
                   "not enough churn to split by time with a %d-day purge "
                   "gap (fit %.0f, choice %.0f, validation %.0f churned "
                   "rows; validation date %s): lengthen --lookback",
                   st->o.horizon_days, subset_positives(tr),
                   subset_positives(ho), subset_positives(va), d0);
}

/* ---- the optional families -----------------------------------------------
 * With features.families_choice "auto", each optional family of the spec is
 * tried out in turn: the whole select stage (grid, both kinds, early
 * stopping) is fitted again on the same purged rows without the family's
 * columns, and the family is dropped when the held-out log loss is lower
 * without it (within TRAIN_FAMILY_TIE it stays: it was configured, and on
 * a tie it costs nothing). The matrix is not read again: the family's
 * columns are left out of the rows already read, and the model stores the
 * smaller spec, which `score` then lays out. */
#define TRAIN_FAMILY_TIE 0.001

/* For each column of `to`, its column in `from` (matched by name). */
static vg_code column_map(const feat_spec *from, const feat_spec *to, int **map,
                          vg_error *err)
{
    size_t n = feat_spec_ncols(to);
    *map = malloc((n + 1) * sizeof **map);
    if (!*map)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t j = 0; j < n; j++) {
        const char *name = feat_spec_info(to, j)->name;
        if (((*map)[j] = feat_spec_find(from, name)) < 0)
            return vg_fail(err, VG_EINTERNAL,
                           "feature %s is missing from the full spec", name);
    }
    return VG_OK;
}

/* Rows of s with only the columns map[0..ncols) (in that order). */
static vg_code subset_project(const subset *s, const int *map, size_t ncols,
                              subset *out, vg_error *err)
{
    memset(out, 0, sizeof *out);
    out->ncols = ncols;
    out->x = malloc((s->n + 1) * ncols * sizeof *out->x);
    out->y = malloc((s->n + 1) * sizeof *out->y);
    out->w = malloc((s->n + 1) * sizeof *out->w);
    if (!out->x || !out->y || !out->w) {
        subset_free(out);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    for (size_t r = 0; r < s->n; r++)
        for (size_t j = 0; j < ncols; j++)
            out->x[r * ncols + j] = s->x[r * s->ncols + (size_t)map[j]];
    memcpy(out->y, s->y, s->n * sizeof *out->y);
    memcpy(out->w, s->w, s->n * sizeof *out->w);
    out->n = s->n;
    out->first_day = s->first_day;
    out->last_day = s->last_day;
    return VG_OK;
}

/* The matrix keeps only the columns map[0..ncols), in place: row r's
 * columns move to lower addresses than any value still to be read. */
static void matrix_project(feat_matrix *m, const int *map, size_t ncols)
{
    for (size_t r = 0; r < m->nrows; r++)
        for (size_t j = 0; j < ncols; j++)
            m->x[r * ncols + j] = m->x[r * m->ncols + (size_t)map[j]];
    m->ncols = ncols;
}

/* Held-out log loss of a against b on the same rows, paired: the weighted
 * mean of the per-row differences (a - b) and its standard error. */
static vg_code paired_logloss(booster *a, const subset *ha, booster *b,
                              const subset *hb, double *diff, double *se,
                              vg_error *err)
{
    double *pa = NULL, *pb = NULL;
    vg_code rc = predict_raw(a, ha, &pa, err);
    if (rc == VG_OK)
        rc = predict_raw(b, hb, &pb, err);
    double sw = 0, sd = 0, sw2 = 0;
    for (size_t i = 0; rc == VG_OK && i < ha->n; i++) {
        double y = ha->y[i], w = ha->w[i];
        double d = metrics_logloss(&pa[i], &y, NULL, 1) -
                   metrics_logloss(&pb[i], &y, NULL, 1);
        sw += w;
        sd += w * d;
        pa[i] = d; /* kept for the spread */
    }
    *diff = sw > 0 ? sd / sw : NAN;
    for (size_t i = 0; rc == VG_OK && i < ha->n; i++) {
        double w = ha->w[i], e = pa[i] - *diff;
        sw2 += w * w * e * e;
    }
    *se = sw > 0 ? sqrt(sw2) / sw : NAN;
    free(pa);
    free(pb);
    return rc;
}

/* Decides whether `family` goes — only when the select stage without it
 * (`s2`, `nc` columns) beats the current one by more than TRAIN_FAMILY_TIE —
 * and records the evidence (paired = {difference, standard error}) in the log
 * and in `tried`, so the stored metrics say why each family stayed. Returns
 * 1 to drop. */
static int family_verdict(const vg_log *lg, const fit_state *st,
                          const char *family, const selection *s2, size_t nc,
                          const double paired[2], double cpu, json_t *tried)
{
    double with = st->sel.holdout_logloss, without = s2->holdout_logloss;
    double diff = paired[0], se = paired[1];
    int drop = without < with * (1 - TRAIN_FAMILY_TIE);
    log_info(lg,
             "family %s: held-out log loss %.5f with it, %.5f without "
             "(paired difference %+.5f, standard error %.5f): %s",
             family, with, without, diff, se, drop ? "dropped" : "kept");
    json_array_append_new(
        tried,
        json_pack("{s:s, s:b, s:f, s:f, s:f, s:f, s:i, s:i, s:s, s:s, s:i, "
                  "s:f}",
                  "family", family, "kept", !drop, "logloss_with", with,
                  "logloss_without", without, "paired_difference", diff,
                  "paired_se", se, "columns_with",
                  (int)feat_spec_ncols(st->spec), "columns_without", (int)nc,
                  "kind_with", selection_kind(&st->sel), "kind_without",
                  selection_kind(s2), "rounds_without", s2->rounds,
                  "cpu_seconds", cpu));
    return drop;
}

/* One family tried out: the select stage without it on the same rows.
 * On a drop, st->spec, st->sel, *tr, *ho and st->va become the smaller
 * ones (st->m is projected once, by the caller). */
static vg_code try_without(const vg_config *cfg, const vg_log *lg,
                           fit_state *st, const char *family, subset *tr,
                           subset *ho, json_t *tried, vg_error *err)
{
    feat_spec *red = NULL;
    int *map = NULL;
    subset tr2 = {0}, ho2 = {0}, va2 = {0};
    selection s2;
    memset(&s2, 0, sizeof s2);
    double diff = NAN, se = NAN, c0 = cpu_s();
    vg_code rc = feat_spec_without_family(st->spec, family, &red, err);
    if (rc == VG_OK)
        rc = column_map(st->spec, red, &map, err);
    size_t nc = red ? feat_spec_ncols(red) : 0;
    if (rc == VG_OK)
        rc = subset_project(tr, map, nc, &tr2, err);
    if (rc == VG_OK)
        rc = subset_project(ho, map, nc, &ho2, err);
    if (rc == VG_OK) {
        log_info(lg,
                 "the select stage without family %s (%zu columns):", family,
                 nc);
        rc = select_fit(cfg, lg, red, &tr2, &ho2, &s2, err);
    }
    if (rc == VG_OK)
        rc = paired_logloss(st->sel.b, ho, s2.b, &ho2, &diff, &se, err);
    if (rc != VG_OK)
        goto cleanup;
    double paired[2] = {diff, se};
    if (!family_verdict(lg, st, family, &s2, nc, paired, cpu_s() - c0, tried))
        goto cleanup;
    if ((rc = subset_project(&st->va, map, nc, &va2, err)) != VG_OK)
        goto cleanup;
    /* the caller projects st->m with the composed map: keep it there */
    selection_free(&st->sel);
    st->sel = s2;
    memset(&s2, 0, sizeof s2);
    feat_spec_free(st->spec);
    st->spec = red;
    red = NULL;
    subset_free(tr);
    subset_free(ho);
    subset_free(&st->va);
    *tr = tr2;
    *ho = ho2;
    st->va = va2;
    memset(&tr2, 0, sizeof tr2);
    memset(&ho2, 0, sizeof ho2);
cleanup:
    selection_free(&s2);
    subset_free(&tr2);
    subset_free(&ho2);
    feat_spec_free(red);
    free(map);
    return rc;
}

/* For each column of `to`, its index among the names `from` (a JSON array
 * of the full spec's column names). */
static vg_code column_map_names(const json_t *from, const feat_spec *to,
                                int **map, vg_error *err)
{
    size_t n = feat_spec_ncols(to);
    *map = malloc((n + 1) * sizeof **map);
    if (!*map)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t j = 0, k = 0; j < n; j++) {
        const char *name = feat_spec_info(to, j)->name;
        while (k < json_array_size(from) &&
               strcmp(json_string_value(json_array_get(from, k)), name) != 0)
            k++; /* the smaller spec keeps the full one's order */
        if (k == json_array_size(from))
            return vg_fail(err, VG_EINTERNAL,
                           "feature %s is missing from the full spec", name);
        (*map)[j] = (int)k++;
    }
    return VG_OK;
}

/* The families of the spec, and which ones train keeps; with "auto" and
 * time validation (tr, ho non-NULL), each tried out on the select stage's
 * rows. */
static vg_code choose_families(const vg_config *cfg, const vg_log *lg,
                               fit_state *st, subset *tr, subset *ho,
                               vg_error *err)
{
    int *map = NULL;
    json_t *full = feat_spec_to_json(st->spec), *tried = json_array(),
           *kept = json_array(), *dropped = json_array();
    int n = feat_spec_nfamilies(st->spec);
    const char *names[32];
    vg_code rc = VG_OK;
    if (!full || !tried || !kept || !dropped || n > 32)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    for (int i = 0; rc == VG_OK && i < n; i++)
        names[i] = feat_spec_family(st->spec, i);
    for (int i = 0; rc == VG_OK && cfg->feat_families_auto && tr && i < n; i++)
        rc = try_without(cfg, lg, st, names[i], tr, ho, tried, err);
    const json_t *cols = json_object_get(full, "columns");
    if (rc == VG_OK && feat_spec_ncols(st->spec) < json_array_size(cols) &&
        (rc = column_map_names(cols, st->spec, &map, err)) == VG_OK)
        matrix_project(st->m, map, feat_spec_ncols(st->spec));
    for (int i = 0; rc == VG_OK && i < n; i++) {
        int has = 0;
        for (int k = 0; k < feat_spec_nfamilies(st->spec); k++)
            has |= strcmp(feat_spec_family(st->spec, k), names[i]) == 0;
        json_array_append_new(has ? kept : dropped, json_string(names[i]));
    }
    if (rc == VG_OK)
        st->families = json_pack(
            "{s:s, s:O, s:O, s:O, s:s}", "choice",
            cfg->feat_families_auto ? "auto" : "always", "kept", kept,
            "dropped", dropped, "tried", tried, "rule",
            !cfg->feat_families_auto ? "every family listed is kept"
            : tr ? "each family in turn: dropped when the select stage's "
                   "purged held-out log loss is lower without it (by more "
                   "than 0.1%)"
                 : "kept: too few observation dates for a purged choice "
                   "(cross-validation)");
    json_decref(full);
    json_decref(tried);
    json_decref(kept);
    json_decref(dropped);
    free(map);
    return rc;
}

/* ---- the observation step ------------------------------------------------
 * Neighbouring weekly dates repeat most customers with nearly the same
 * features and label, so the trees see each churner four or five times and
 * fit the fitted dates' mechanism closely. Where that mechanism still holds
 * at the scoring date this costs nothing; where it has changed since (the
 * demo's price world after its price window) about monthly dates did better
 * and elsewhere slightly worse (docs/BENCHMARKS.md, "Seventh session").
 * With train.step_choice "auto", train decides per company: the select
 * stage is fitted a second time on an about monthly subset of the same
 * dates and judged on the same holdout rows (t_s), and the subset is kept
 * when its held-out log loss is lower by more than TRAIN_STEP_TIE (on a
 * tie, every date: more rows). The subset is t_0, t_s and about every
 * f-th of the select stage's fitted dates (f about TRAIN_SPARSE_DAYS /
 * step, spread from the first fitted date to the oldest): its own plan has
 * the same t_s and a select fit
 * within the weekly one's, so both candidates' fitted rows lie at least H
 * before the rows that judge them, and no feature is read again. */
#define TRAIN_STEP_TIE 0.001
#define TRAIN_SPARSE_DAYS 30

/* keep[k]: date k's index among the sparse dates, or -1. Returns their
 * count. The select stage's fitted dates F..nd-1 are thinned to about one
 * in f, spread evenly from F to the oldest (both kept: the oldest date is
 * as much history as the weekly candidate sees). */
static int sparse_dates(const train_plan *p, int nd, int f, int *keep)
{
    int from = p->select_fit_from, span = nd - 1 - from;
    int cnt = span > 0 ? (span + f - 1) / f + 1 : 1, n = 0;
    for (int k = 0; k < nd; k++)
        keep[k] = -1;
    keep[0] = n++;
    keep[p->select_holdout] = n++;
    for (int j = 0; j < cnt; j++)
        keep[from + (cnt > 1 ? (j * span + (cnt - 1) / 2) / (cnt - 1) : 0)] =
            n++;
    return n;
}

/* The matrix keeps only the rows of dates k with keep[k] >= 0, in place and
 * in order, date_index renumbered to keep[k]. */
static void matrix_keep_dates(feat_matrix *m, const int *keep)
{
    size_t o = 0;
    for (size_t r = 0; r < m->nrows; r++) {
        int k = keep[m->date_index[r]];
        if (k < 0) {
            free(m->ids[r]);
            continue;
        }
        if (o != r) {
            memmove(&m->x[o * m->ncols], &m->x[r * m->ncols],
                    m->ncols * sizeof *m->x);
            m->ids[o] = m->ids[r];
            m->day[o] = m->day[r];
            if (m->label)
                m->label[o] = m->label[r];
            if (m->weight)
                m->weight[o] = m->weight[r];
            if (m->mrr)
                m->mrr[o] = m->mrr[r];
        }
        m->date_index[o++] = k;
    }
    m->nrows = o;
}

static json_t *step_candidate_json(int every, int step, int nd,
                                   const subset *tr, const subset *ho,
                                   const selection *s)
{
    return json_pack("{s:i, s:i, s:i, s:o, s:o, s:f, s:s, s:i}", "every_nth",
                     every, "days_apart", every * step, "observation_dates", nd,
                     "fit", subset_json(tr), "holdout", subset_json(ho),
                     "holdout_logloss", s->holdout_logloss, "kind",
                     selection_kind(s), "rounds", s->rounds);
}

/* The step not tried: why, for the summary. */
static const char *const step_choice_name[] = {"fixed", "auto", "monthly",
                                               "blend"};

static vg_code step_not_tried(fit_state *st, int choice, const char *why,
                              vg_error *err)
{
    st->step =
        json_pack("{s:s, s:i, s:i, s:i, s:s}", "choice",
                  step_choice_name[choice], "step_days", st->o.step_days,
                  "every_nth", 1, "observation_dates", st->nd, "rule", why);
    return st->step ? VG_OK : vg_fail(err, VG_ENOMEM, "out of memory");
}

/* The sparse dates won: the matrix, dates, plan, request and selection
 * become theirs (st->va, the rows of t_0, is unchanged). */
static void adopt_sparse(fit_state *st, const int *keep, int **sd, int n,
                         const train_plan *sp, selection *s2, subset *tr,
                         subset *tr2)
{
    matrix_keep_dates(st->m, keep);
    free(st->dates);
    st->dates = *sd;
    *sd = NULL;
    st->nd = n;
    st->req.dates = st->dates;
    st->req.ndates = n;
    st->plan = *sp;
    selection_free(&st->sel);
    st->sel = *s2;
    memset(s2, 0, sizeof *s2);
    subset_free(tr);
    *tr = *tr2;
    memset(tr2, 0, sizeof *tr2);
    st->positives = 0;
    for (size_t r = 0; r < st->m->nrows; r++)
        st->positives += st->m->label[r];
}

/* What choose_step decided, with both candidates, for the summary. */
static json_t *step_summary(const fit_state *st, int forced, int won, int f,
                            int n, const subset *tr, const subset *tr2,
                            const subset *ho, const selection *s2, double diff,
                            double se, double cpu)
{
    int step = st->o.step_days;
    json_t *cands = json_array();
    json_array_append_new(
        cands, step_candidate_json(1, step, st->nd, tr, ho, &st->sel));
    json_array_append_new(cands, step_candidate_json(f, step, n, tr2, ho, s2));
    return json_pack(
        "{s:s, s:i, s:i, s:i, s:o, s:f, s:f, s:f, s:s}", "choice",
        forced ? "monthly" : "auto", "step_days", step, "every_nth",
        won ? f : 1, "observation_dates", won ? n : st->nd, "candidates", cands,
        "paired_difference", diff, "paired_se", se, "cpu_seconds", cpu, "rule",
        forced ? "about monthly dates (the same t_0 and t_s, the select "
                 "stage's fitted dates thinned), whatever the losses"
               : "every observation date, or about monthly ones (the same "
                 "t_0 and t_s, the select stage's fitted dates thinned): "
                 "the about monthly ones when the select stage's purged "
                 "held-out log loss is lower with them (by more than 0.1%)");
}

/* The select stage fitted again on the about monthly subset of the dates
 * (every f-th of its fitted dates, t_0 and t_s kept), judged on the same
 * holdout `ho`. */
typedef struct sparse_fit {
    int *keep, *sd;  /* per date its index among the subset, or -1; its dates */
    int n, f;        /* dates in the subset; every f-th */
    train_plan sp;   /* the subset's own plan */
    subset tr;       /* its select-stage fitted rows */
    selection s;     /* its select stage */
    double diff, se; /* paired held-out log loss: subset - every date */
    double c0;       /* CPU time at the start */
} sparse_fit;

static void sparse_fit_free(sparse_fit *x)
{
    free(x->keep);
    free(x->sd);
    subset_free(&x->tr);
    selection_free(&x->s);
    memset(x, 0, sizeof *x);
}

/* Fits x->s; when the subset cannot be tried, *why says why and x->s.b
 * stays NULL. */
static vg_code sparse_fit_run(const vg_config *cfg, const vg_log *lg,
                              const fit_state *st, const subset *ho,
                              sparse_fit *x, const char **why, vg_error *err)
{
    int step = st->o.step_days;
    memset(x, 0, sizeof *x);
    x->c0 = cpu_s();
    x->diff = x->se = NAN;
    x->f = (TRAIN_SPARSE_DAYS + step / 2) / step;
    *why = NULL;
    if (x->f < 2) {
        *why = "not tried: the step is already about monthly";
        return VG_OK;
    }
    if (st->plan.grouped_select) {
        *why = "not tried: too few observation dates for a purged choice "
               "between steps";
        return VG_OK;
    }
    x->keep = malloc((size_t)st->nd * sizeof *x->keep);
    x->sd = malloc((size_t)st->nd * sizeof *x->sd);
    if (!x->keep || !x->sd)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    x->n = sparse_dates(&st->plan, st->nd, x->f, x->keep);
    for (int k = 0; k < st->nd; k++)
        if (x->keep[k] >= 0)
            x->sd[x->keep[k]] = st->dates[k];
    train_plan_make(x->sd, x->n, st->o.horizon_days, st->plan.seed, &x->sp);
    x->sp.half_life = st->plan.half_life;
    if (x->sp.select_holdout != 1 || x->sp.select_fit_from != 2)
        return vg_fail(err, VG_EINTERNAL,
                       "the about monthly dates do not keep the select "
                       "stage's holdout");
    vg_code rc = subset_take_kept(st->m, &st->plan, TRAIN_STAGE_SELECT,
                                  TRAIN_ROLE_FIT, x->keep, &x->tr, err);
    if (rc != VG_OK)
        return rc;
    if (subset_positives(&x->tr) == 0) {
        *why = "not tried: no churn on the fitted rows of the about monthly "
               "dates";
        return VG_OK;
    }
    log_info(lg,
             "the select stage on %d observation dates (every %d-th, about "
             "monthly):",
             x->n, x->f);
    rc = select_fit(cfg, lg, st->spec, &x->tr, ho, &x->s, err);
    if (rc == VG_OK)
        rc = paired_logloss(x->s.b, ho, st->sel.b, ho, &x->diff, &x->se, err);
    return rc;
}

/* With train.step_choice "auto" and time validation: every observation date
 * or the about monthly subset, chosen on the select stage's holdout `ho`.
 * "blend" is decided after the families (blend_step). */
static vg_code choose_step(const vg_config *cfg, const vg_log *lg,
                           fit_state *st, subset *tr, const subset *ho,
                           vg_error *err)
{
    if (cfg->train_step_choice == CFG_STEP_FIXED)
        return step_not_tried(st, CFG_STEP_FIXED, "every observation date",
                              err);
    if (cfg->train_step_choice == CFG_STEP_BLEND)
        return VG_OK;
    sparse_fit x;
    const char *why = NULL;
    vg_code rc = sparse_fit_run(cfg, lg, st, ho, &x, &why, err);
    if (rc != VG_OK || why) {
        if (rc == VG_OK)
            rc = step_not_tried(st, cfg->train_step_choice, why, err);
        sparse_fit_free(&x);
        return rc;
    }
    double every = st->sel.holdout_logloss, sparse = x.s.holdout_logloss;
    int forced = cfg->train_step_choice == CFG_STEP_MONTHLY,
        won = forced || sparse < every * (1 - TRAIN_STEP_TIE);
    log_info(lg,
             "observation step: held-out log loss %.5f on every date, %.5f "
             "on every %d-th (paired difference %+.5f, standard error "
             "%.5f): %s",
             every, sparse, x.f, x.diff, x.se,
             won ? "about monthly dates kept" : "every date kept");
    st->step = step_summary(st, forced, won, x.f, x.n, tr, &x.tr, ho, &x.s,
                            x.diff, x.se, cpu_s() - x.c0);
    if (!st->step)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    else if (won)
        adopt_sparse(st, x.keep, &x.sd, x.n, &x.sp, &x.s, tr, &x.tr);
    sparse_fit_free(&x);
    return rc;
}

/* The blend's summary: both candidates, their losses and the blend's. */
static json_t *blend_summary(const fit_state *st, const sparse_fit *x,
                             const subset *tr, const subset *ho,
                             const selection *every, double blend_ll,
                             double diff, double se)
{
    int step = st->o.step_days;
    json_t *cands = json_array();
    json_array_append_new(cands,
                          step_candidate_json(1, step, st->nd, tr, ho, every));
    json_array_append_new(
        cands, step_candidate_json(x->f, step, x->n, &x->tr, ho, &x->s));
    json_t *p = booster_params_json(&x->s.params);
    return json_pack(
        "{s:s, s:i, s:s, s:i, s:i, s:o, s:f, s:f, s:f, s:f, s:f, s:f, s:o, "
        "s:i, s:f, s:s}",
        "choice", "blend", "step_days", step, "model", "blend", "every_nth",
        x->f, "observation_dates", x->n, "candidates", cands,
        "paired_difference", x->diff, "paired_se", x->se, "blend_logloss",
        blend_ll, "blend_paired_difference", diff, "blend_paired_se", se,
        "every_date_logloss", every->holdout_logloss, "monthly_xgboost", p,
        "monthly_rounds", x->s.rounds, "cpu_seconds", cpu_s() - x->c0, "rule",
        "both: a model on every observation date and one on the about "
        "monthly ones (the same t_0 and t_s), scored by the mean of their "
        "margins; calibrated on the blend");
}

/* With train.step_choice "blend" and time validation: the about monthly
 * candidate is fitted on the select stage's rows (after the families, so
 * on the same columns) and the select model becomes the blend of both —
 * trees only; a linear candidate keeps every date. The validate and final
 * stages then fit both and blend them the same way (st->blend). */
static vg_code blend_step(const vg_config *cfg, const vg_log *lg, fit_state *st,
                          const subset *tr, const subset *ho, vg_error *err)
{
    if (cfg->train_step_choice != CFG_STEP_BLEND)
        return VG_OK;
    sparse_fit x;
    const char *why = NULL;
    booster *bb = NULL;
    calib *cal = NULL;
    double *raw = NULL, *yw = NULL, diff = NAN, se = NAN;
    vg_code rc = sparse_fit_run(cfg, lg, st, ho, &x, &why, err);
    if (rc == VG_OK && !why && (st->sel.params.linear || x.s.params.linear))
        why = "not blended: a linear model was chosen (every observation "
              "date kept)";
    if (rc != VG_OK || why) {
        if (rc == VG_OK)
            rc = step_not_tried(st, CFG_STEP_BLEND, why, err);
        goto cleanup;
    }
    if ((rc = booster_blend(st->sel.b, x.s.b, &bb, err)) != VG_OK ||
        (rc = predict_raw(bb, ho, &raw, err)) != VG_OK ||
        (rc = subset_yw(ho, &yw, err)) != VG_OK ||
        (rc = paired_logloss(bb, ho, st->sel.b, ho, &diff, &se, err)) != VG_OK)
        goto cleanup;
    if ((rc = calib_choose(raw, yw, yw + ho->n, ho->n, &cal, err)) != VG_OK) {
        vg_wrap(err, "calibration of the blend: ");
        goto cleanup;
    }
    double ll = metrics_logloss(raw, yw, yw + ho->n, ho->n);
    log_info(lg,
             "observation step: held-out log loss %.5f on every date, %.5f "
             "on every %d-th, %.5f blended (paired difference to every date "
             "%+.5f, standard error %.5f): the blend is the model",
             st->sel.holdout_logloss, x.s.holdout_logloss, x.f, ll, diff, se);
    if (!(st->step = blend_summary(st, &x, tr, ho, &st->sel, ll, diff, se))) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    booster_free(st->sel.b);
    st->sel.b = bb;
    bb = NULL;
    calib_free(st->sel.cal);
    st->sel.cal = cal;
    cal = NULL;
    st->blend.on = 1;
    st->blend.keep = x.keep;
    x.keep = NULL;
    st->blend.params = x.s.params;
    st->blend.rounds = x.s.rounds;
cleanup:
    booster_free(bb);
    calib_free(cal);
    free(raw);
    free(yw);
    sparse_fit_free(&x);
    return rc;
}

/* ---- bagging by seeds ----------------------------------------------------
 * With train.bag K > 1, the models whose figures are reported and the one
 * that scores are each the mean of K tree models' margins: the same rows,
 * settings and rounds, seeds that differ, so each one subsamples other rows
 * and columns (subsample, colsample_bytree); what one draw fits by chance
 * the others mostly do not, and the mean keeps what they share. The search,
 * the kind, the families and the step are chosen with one seed: bagging
 * every candidate would multiply the search's cost by K to compare
 * settings that the seeds do not change. The chosen select model is then
 * bagged on its own rows, so that the calibration fitted on t_s — the map
 * the estimate on t_0 is calibrated with — is the bag's, as are the
 * validate model (the estimate, the final calibration's rows) and the final
 * one. A linear model is not bagged: its fit draws nothing. */
#define TRAIN_BAG_SEED_STRIDE 1000003UL

typedef struct bag {
    booster *b[BOOSTER_BLEND_MAX];
    double w[BOOSTER_BLEND_MAX];
    int n;
} bag;

static void bag_free(bag *g)
{
    for (int i = 0; i < g->n; i++)
        booster_free(g->b[i]);
    g->n = 0;
}

/* Seed k's settings: p's seed moved by k strides (k = 0: p itself). */
static unsigned long bag_seed(const booster_params *p, int k)
{
    return p->seed + (unsigned long)k * TRAIN_BAG_SEED_STRIDE;
}

/* Seeds from..to-1 of p fitted on the rows (x, y, w, n) without early
 * stopping (p holds the chosen rounds) into g, each weighing `weight`. */
static vg_code bag_fit_seeds(bag *g, const booster_params *p, const float *x,
                             const float *y, const float *w, size_t n,
                             size_t ncols, int from, int to, double weight,
                             vg_error *err)
{
    for (int k = from; k < to; k++) {
        booster_params q = *p;
        int rounds = 0;
        q.seed = bag_seed(p, k);
        if (g->n == BOOSTER_BLEND_MAX)
            return vg_fail(err, VG_EINTERNAL, "too many models in a bag");
        vg_code rc = booster_train(&q, x, y, w, n, NULL, NULL, NULL, 0, ncols,
                                   &g->b[g->n], &rounds, err);
        if (rc != VG_OK)
            return rc;
        g->w[g->n++] = weight;
    }
    return VG_OK;
}

/* g's models as one: the only one itself, else their blend; g is emptied. */
static vg_code bag_finish(bag *g, booster **out, vg_error *err)
{
    *out = NULL;
    if (g->n == 1) {
        *out = g->b[0];
        g->n = 0;
        return VG_OK;
    }
    vg_code rc = booster_blend_n(g->b, g->w, g->n, out, err);
    bag_free(g);
    return rc;
}

/* s->b (seed 0; with the blend, already the mean of both candidates) joined
 * by seeds 1..k-1 of its settings on tr and, with the blend, of p2 on tr2;
 * every candidate's seeds weigh the same. s->b and s->cal become the bag's,
 * recalibrated on ho. *info: the bag's held-out log loss against the one
 * seed's, paired on ho (new reference). */
static vg_code bag_selection(int k, selection *s, const subset *tr,
                             const booster_params *p2, const subset *tr2,
                             const subset *ho, json_t **info, vg_error *err)
{
    bag g;
    memset(&g, 0, sizeof g);
    booster *bb = NULL;
    calib *cal = NULL;
    double *raw = NULL, *yw = NULL, diff = NAN, se = NAN;
    int m = tr2 ? 2 : 1;
    g.b[0] = s->b; /* borrowed: taken out again before g is freed */
    g.w[0] = 1.0 / k;
    g.n = 1;
    vg_code rc = bag_fit_seeds(&g, &s->params, tr->x, tr->y, tr->w, tr->n,
                               tr->ncols, 1, k, 1.0 / (m * k), err);
    if (rc == VG_OK && tr2)
        rc = bag_fit_seeds(&g, p2, tr2->x, tr2->y, tr2->w, tr2->n, tr2->ncols,
                           1, k, 1.0 / (m * k), err);
    if (rc == VG_OK)
        rc = booster_blend_n(g.b, g.w, g.n, &bb, err);
    g.b[0] = NULL;
    if (rc == VG_OK)
        rc = paired_logloss(bb, ho, s->b, ho, &diff, &se, err);
    if (rc == VG_OK && (rc = predict_raw(bb, ho, &raw, err)) == VG_OK &&
        (rc = subset_yw(ho, &yw, err)) == VG_OK &&
        (rc = calib_choose(raw, yw, yw + ho->n, ho->n, &cal, err)) != VG_OK)
        vg_wrap(err, "calibration of the bag: ");
    if (rc == VG_OK) {
        *info = json_pack("{s:f, s:f, s:f}", "bag_logloss",
                          metrics_logloss(raw, yw, yw + ho->n, ho->n),
                          "paired_difference", diff, "paired_se", se);
        booster_free(s->b);
        s->b = bb;
        bb = NULL;
        calib_free(s->cal);
        s->cal = cal;
        cal = NULL;
    }
    bag_free(&g);
    booster_free(bb);
    calib_free(cal);
    free(raw);
    free(yw);
    return rc;
}

/* What train.bag did, for the summary, params and metrics. */
static vg_code bag_record(fit_state *st, const vg_config *cfg, int k,
                          const char *rule, json_t *select, double cpu,
                          vg_error *err)
{
    json_t *seeds = json_array();
    for (int i = 0; seeds && i < k; i++)
        json_array_append_new(
            seeds, json_integer((json_int_t)bag_seed(&st->sel.params, i)));
    st->bag = k;
    st->bag_json =
        json_pack("{s:i, s:i, s:o, s:s, s:o, s:i, s:f}", "boosters", k,
                  "requested", cfg->train_bag, "seeds", seeds, "rule", rule,
                  "select", select ? select : json_null(), "rounds_each",
                  st->sel.rounds, "cpu_seconds", cpu);
    return st->bag_json ? VG_OK : vg_fail(err, VG_ENOMEM, "out of memory");
}

/* With time validation, after the step: the select model bagged (with the
 * blend, both candidates' seeds) on the select stage's rows. */
static vg_code bag_step(const vg_config *cfg, const vg_log *lg, fit_state *st,
                        const subset *tr, const subset *ho, vg_error *err)
{
    subset tr2 = {0};
    json_t *info = NULL;
    double c0 = cpu_s();
    int k = st->sel.params.linear ? 1 : cfg->train_bag;
    if (k == 1)
        return bag_record(st, cfg, 1,
                          cfg->train_bag == 1
                              ? "one model (train.bag 1)"
                              : "not bagged: a linear model was chosen (its "
                                "fit draws nothing)",
                          NULL, cpu_s() - c0, err);
    vg_code rc = VG_OK;
    if (st->blend.on)
        rc = subset_take_kept(st->m, &st->plan, TRAIN_STAGE_SELECT,
                              TRAIN_ROLE_FIT, st->blend.keep, &tr2, err);
    if (rc == VG_OK)
        rc = bag_selection(k, &st->sel, tr,
                           st->blend.on ? &st->blend.params : NULL,
                           st->blend.on ? &tr2 : NULL, ho, &info, err);
    if (rc == VG_OK) {
        log_info(lg,
                 "bag of %d seeds: held-out log loss %.5f (paired difference "
                 "to one seed %+.5f, standard error %.5f)",
                 k, json_number_value(json_object_get(info, "bag_logloss")),
                 json_number_value(json_object_get(info, "paired_difference")),
                 json_number_value(json_object_get(info, "paired_se")));
        rc = bag_record(st, cfg, k,
                        "the mean of the margins of models fitted with "
                        "different seeds, in the select stage (its "
                        "calibration), the validate stage (the estimate) and "
                        "the final model",
                        info, cpu_s() - c0, err);
        info = NULL;
    }
    json_decref(info);
    subset_free(&tr2);
    return rc;
}

/* Select stage: settings and rounds, chosen on t_s. */
static vg_code stage_select(const vg_config *cfg, const vg_log *lg,
                            fit_state *st, vg_error *err)
{
    subset tr = {0}, ho = {0};
    vg_code rc;
    if ((rc = subset_take(st->m, &st->plan, TRAIN_STAGE_SELECT, TRAIN_ROLE_FIT,
                          &tr, err)) != VG_OK ||
        (rc = subset_take(st->m, &st->plan, TRAIN_STAGE_SELECT,
                          TRAIN_ROLE_HOLDOUT, &ho, err)) != VG_OK ||
        (rc = subset_take(st->m, &st->plan, TRAIN_STAGE_VALIDATE,
                          TRAIN_ROLE_HOLDOUT, &st->va, err)) != VG_OK)
        goto cleanup;
    if (subset_positives(&tr) == 0 || subset_positives(&ho) == 0 ||
        subset_positives(&st->va) == 0) {
        rc = not_enough_churn(st, &tr, &ho, &st->va, err);
        goto cleanup;
    }
    if ((rc = select_fit(cfg, lg, st->spec, &tr, &ho, &st->sel, err)) !=
            VG_OK ||
        (rc = choose_step(cfg, lg, st, &tr, &ho, err)) != VG_OK ||
        (rc = choose_families(cfg, lg, st, &tr, &ho, err)) != VG_OK ||
        (rc = blend_step(cfg, lg, st, &tr, &ho, err)) != VG_OK ||
        (rc = bag_step(cfg, lg, st, &tr, &ho, err)) != VG_OK)
        goto cleanup;
    json_object_set_new(st->plan_json, "select",
                        json_pack("{s:o, s:o, s:O, s:s, s:o, s:O, s:O}", "fit",
                                  subset_json(&tr), "holdout", subset_json(&ho),
                                  "candidates", st->sel.candidates, "split",
                                  st->plan.grouped_select ? "customer" : "time",
                                  "kind", kind_json(&st->sel), "families",
                                  st->families, "step", st->step));
cleanup:
    subset_free(&tr);
    subset_free(&ho);
    return rc;
}

/* The stage's model on its fitted rows (x, y, w, n): st->bag seeds of the
 * chosen settings and, with the blend, as many of the about monthly
 * candidate on its dates' rows of the stage — the mean of all their margins
 * (one model: itself). *bfit describes the about monthly rows (new
 * reference; NULL without the blend). */
static vg_code stage_model(fit_state *st, train_stage stage, const float *x,
                           const float *y, const float *w, size_t n,
                           booster **out, json_t **bfit, vg_error *err)
{
    subset tr2 = {0};
    bag g;
    memset(&g, 0, sizeof g);
    int k = st->bag > 0 ? st->bag : 1, m = st->blend.on ? 2 : 1;
    *bfit = NULL;
    vg_code rc = bag_fit_seeds(&g, &st->sel.params, x, y, w, n, st->m->ncols, 0,
                               k, 1.0 / (m * k), err);
    if (rc == VG_OK && st->blend.on) {
        rc = subset_take_kept(st->m, &st->plan, stage, TRAIN_ROLE_FIT,
                              st->blend.keep, &tr2, err);
        if (rc == VG_OK && tr2.n == 0)
            rc = vg_fail(err, VG_EINTERNAL,
                         "the blend's about monthly dates have no rows");
        if (rc == VG_OK)
            rc = bag_fit_seeds(&g, &st->blend.params, tr2.x, tr2.y, tr2.w,
                               tr2.n, tr2.ncols, 0, k, 1.0 / (m * k), err);
        if (rc == VG_OK)
            *bfit = subset_json(&tr2);
    }
    if (rc == VG_OK)
        rc = bag_finish(&g, out, err);
    bag_free(&g);
    subset_free(&tr2);
    if (rc != VG_OK) {
        json_decref(*bfit);
        *bfit = NULL;
    }
    return rc;
}

/* Validate stage: the chosen settings refitted on t_k <= t_0 - H, calibrated
 * with the select stage's map, measured on t_0 (with the blend: both
 * candidates refitted and blended). Its out-of-sample raw predictions on
 * t_0 calibrate the final model. */
static vg_code stage_validate(const vg_config *cfg, fit_state *st,
                              vg_error *err)
{
    subset tr = {0};
    booster *b = NULL;
    double *raw = NULL, *yw = NULL;
    const subset *va = &st->va;
    vg_code rc = subset_take(st->m, &st->plan, TRAIN_STAGE_VALIDATE,
                             TRAIN_ROLE_FIT, &tr, err);
    double t0 = now_s(), c0 = cpu_s();
    json_t *bfit = NULL;
    if (rc == VG_OK)
        rc = stage_model(st, TRAIN_STAGE_VALIDATE, tr.x, tr.y, tr.w, tr.n, &b,
                         &bfit, err);
    double t1 = now_s(), c1 = cpu_s();
    if (rc == VG_OK)
        rc = predict_raw(b, va, &raw, err);
    if (rc == VG_OK)
        rc = alloc_predictions(st, va->n, err);
    if (rc == VG_OK)
        rc = subset_yw(va, &yw, err);
    if (rc != VG_OK)
        goto cleanup;
    put_predictions(st, 0, raw, st->sel.cal, va);
    st->nva = va->n;
    metrics_summarize(st->prob, st->y, st->w, st->nva, &st->ms);
    if ((rc = calib_choose(raw, yw, yw + va->n, va->n, &st->final_cal, err)) !=
        VG_OK) {
        vg_wrap(err, "calibration: ");
        goto cleanup;
    }
    int col = feat_spec_find(st->spec, "usage.days_since_last_activity");
    if (col >= 0 && st->sel.base_cal &&
        (rc = baseline_measure(col, st->sel.base_cal, va, &st->mb, err)) ==
            VG_OK &&
        (rc = baseline_fit(col, va, &st->base_cal, err)) == VG_OK)
        st->have_baseline = 1;
    if (rc != VG_OK)
        goto cleanup;
    json_t *vj =
        json_pack("{s:o, s:o, s:f, s:f}", "fit", subset_json(&tr), "holdout",
                  subset_json(va), "seconds", t1 - t0, "cpu_seconds", c1 - c0);
    if (bfit)
        json_object_set(vj, "blend_fit", bfit);
    json_object_set_new(st->plan_json, "validate", vj);
    (void)cfg;
cleanup:
    json_decref(bfit);
    subset_free(&tr);
    booster_free(b);
    free(raw);
    free(yw);
    return rc;
}

/* Final stage: every labelled row, the chosen settings and rounds (with the
 * blend, the about monthly candidate on its dates too, and their blend). */
static vg_code stage_final(fit_state *st, vg_error *err)
{
    const feat_matrix *m = st->m;
    double t0 = now_s(), c0 = cpu_s();
    json_t *bfit = NULL;
    float *w = NULL;
    vg_code rc = VG_OK;
    if (st->plan.half_life > 0) {
        if (!(w = malloc((m->nrows + 1) * sizeof *w)))
            return vg_fail(err, VG_ENOMEM, "out of memory");
        for (size_t r = 0; r < m->nrows; r++)
            w[r] = m->weight ? m->weight[r] : 1.0f;
        recency_weigh(st->plan.half_life, m->day, w, m->nrows);
    }
    rc = stage_model(st, TRAIN_STAGE_FINAL, m->x, m->label, w ? w : m->weight,
                     m->nrows, &st->final_b, &bfit, err);
    free(w);
    double t1 = now_s(), c1 = cpu_s();
    if (rc != VG_OK)
        return rc;
    char a[DATE_BUF], b[DATE_BUF];
    date_format(st->dates[st->nd - 1], a);
    date_format(st->dates[0], b);
    json_t *fj = json_pack(
        "{s:s, s:s, s:I, s:f, s:s, s:f, s:f}", "first_date", a, "last_date", b,
        "rows", (json_int_t)m->nrows, "churned", st->positives, "calibration",
        "fitted on the validate stage's out-of-sample predictions on the "
        "validation date",
        "seconds", t1 - t0, "cpu_seconds", c1 - c0);
    if (bfit)
        json_object_set_new(fj, "blend_fit", bfit);
    json_object_set_new(st->plan_json, "final", fj);
    return VG_OK;
}

/* Cross-validation: a fold's (or the final) selection bagged on its rows
 * with train.bag seeds (trees only; *info NULL when not bagged); the CPU
 * it took is added to *cpu. */
static vg_code cv_bag(const vg_config *cfg, selection *s, const subset *tr,
                      const subset *ho, json_t **info, double *cpu,
                      vg_error *err)
{
    json_t *j = NULL;
    double c0 = cpu_s();
    if (info)
        *info = NULL;
    if (cfg->train_bag == 1 || s->params.linear)
        return VG_OK;
    vg_code rc = bag_selection(cfg->train_bag, s, tr, NULL, NULL, ho, &j, err);
    *cpu += cpu_s() - c0;
    if (rc == VG_OK && info)
        *info = j;
    else
        json_decref(j);
    return rc;
}

/* Cross-validation's final selection bagged, and what bagging did (the
 * folds' bagging took bag_cpu CPU-seconds before it). */
static vg_code cv_bag_final(const vg_config *cfg, fit_state *st,
                            const subset *tr, const subset *ho, double bag_cpu,
                            vg_error *err)
{
    json_t *info = NULL;
    vg_code rc = cv_bag(cfg, &st->sel, tr, ho, &info, &bag_cpu, err);
    if (rc != VG_OK)
        return rc;
    return bag_record(st, cfg, info ? cfg->train_bag : 1,
                      info ? "cross-validation: each fold's model and the "
                             "final one the mean of the margins of models "
                             "fitted with different seeds"
                      : cfg->train_bag == 1
                          ? "one model (train.bag 1)"
                          : "not bagged: a linear model was chosen (its fit "
                            "draws nothing)",
                      info, bag_cpu, err);
}

/* One fold of fit_cv: select on the fold's fit and holdout rows, bag, and
 * put the calibrated predictions of its validate rows after the earlier
 * folds' — the rows of every fold together make the out-of-fold metrics. */
static vg_code cv_fold(const vg_config *cfg, const vg_log *lg, fit_state *st,
                       int f, double *bag_cpu, vg_error *err)
{
    subset tr = {0}, ho = {0}, va = {0};
    selection s;
    memset(&s, 0, sizeof s);
    double *raw = NULL;
    vg_code rc;
    st->plan.fold = f;
    if ((rc = subset_take(st->m, &st->plan, TRAIN_STAGE_SELECT, TRAIN_ROLE_FIT,
                          &tr, err)) != VG_OK ||
        (rc = subset_take(st->m, &st->plan, TRAIN_STAGE_SELECT,
                          TRAIN_ROLE_HOLDOUT, &ho, err)) != VG_OK ||
        (rc = subset_take(st->m, &st->plan, TRAIN_STAGE_VALIDATE,
                          TRAIN_ROLE_HOLDOUT, &va, err)) != VG_OK)
        goto cleanup;
    if (subset_positives(&tr) == 0 || subset_positives(&ho) == 0) {
        rc = vg_fail(err, VG_EDATA,
                     "cross-validation fold %d has no churned customers: "
                     "too few positives for 5-fold CV",
                     f);
        goto cleanup;
    }
    if ((rc = select_fit(cfg, lg, st->spec, &tr, &ho, &s, err)) != VG_OK ||
        (rc = cv_bag(cfg, &s, &tr, &ho, NULL, bag_cpu, err)) != VG_OK ||
        (rc = predict_raw(s.b, &va, &raw, err)) != VG_OK)
        goto cleanup;
    put_predictions(st, st->nva, raw, s.cal, &va);
    st->nva += va.n;
cleanup:
    free(raw);
    selection_free(&s);
    subset_free(&tr);
    subset_free(&ho);
    subset_free(&va);
    return rc;
}

/* Too few dates to purge by time: 5-fold CV grouped by customer (a customer's
 * rows of every date stay in one fold, so no label window is shared). The
 * final model fits four folds and makes its choices on the fifth. */
static vg_code fit_cv(const vg_config *cfg, const vg_log *lg, fit_state *st,
                      vg_error *err)
{
    subset tr = {0}, ho = {0};
    double bag_cpu = 0;
    vg_code rc = alloc_predictions(st, st->m->nrows, err);
    for (int f = 0; rc == VG_OK && f < 5; f++)
        rc = cv_fold(cfg, lg, st, f, &bag_cpu, err);
    if (rc == VG_OK) {
        st->plan.fold = 4;
        rc = subset_take(st->m, &st->plan, TRAIN_STAGE_FINAL, TRAIN_ROLE_FIT,
                         &tr, err);
        if (rc == VG_OK)
            rc = subset_take(st->m, &st->plan, TRAIN_STAGE_FINAL,
                             TRAIN_ROLE_HOLDOUT, &ho, err);
        if (rc == VG_OK)
            rc = select_fit(cfg, lg, st->spec, &tr, &ho, &st->sel, err);
        if (rc == VG_OK)
            rc = cv_bag_final(cfg, st, &tr, &ho, bag_cpu, err);
    }
    if (rc == VG_OK) {
        metrics_summarize(st->prob, st->y, st->w, st->nva, &st->ms);
        /* the final model is the selection's own: trees, map, baseline */
        st->final_b = st->sel.b;
        st->final_cal = st->sel.cal;
        st->base_cal = st->sel.base_cal;
        st->sel.b = NULL;
        st->sel.cal = NULL;
        st->sel.base_cal = NULL;
        json_object_set_new(
            st->plan_json, "cv",
            json_pack("{s:i, s:s, s:o, s:o, s:O, s:o}", "folds", 5,
                      "grouped_by", "customer", "final_fit", subset_json(&tr),
                      "final_holdout", subset_json(&ho), "candidates",
                      st->sel.candidates, "kind", kind_json(&st->sel)));
    }
    subset_free(&tr);
    subset_free(&ho);
    return rc;
}

/* Whether indicator columns a and b are levels of one attribute: names
 * "<attribute>=<level>" with the same attribute. */
static int same_attribute(const feat_info *a, const feat_info *b)
{
    const char *ea = strchr(a->name, '='), *eb = strchr(b->name, '=');
    return ea && eb && ea - a->name == eb - b->name &&
           strncmp(a->name, b->name, (size_t)(ea - a->name)) == 0;
}

/* Tells the model which columns are one categorical attribute's levels, so
 * its reasons name the attribute once and a linear model reads a level it
 * never saw as the mean (booster_set_groups). */
static vg_code set_indicator_runs(const feat_spec *spec, booster *b,
                                  vg_error *err)
{
    size_t nc = feat_spec_ncols(spec), ng = 0;
    booster_group *g = malloc((nc / 2 + 1) * sizeof *g);
    if (!g)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t j = 0; j < nc;) {
        const feat_info *fi = feat_spec_info(spec, j);
        size_t w = 1;
        while (fi->is_indicator && j + w < nc &&
               feat_spec_info(spec, j + w)->is_indicator &&
               same_attribute(fi, feat_spec_info(spec, j + w)))
            w++;
        if (fi->is_indicator && w >= 2)
            g[ng++] = (booster_group){j, w};
        j += w;
    }
    vg_code rc = booster_set_groups(b, g, ng, err);
    free(g);
    return rc;
}

/* Everything up to a model in memory. */
static vg_code fit_everything(db_conn *db, const vg_config *cfg,
                              const vg_log *lg, const train_opts *o,
                              fit_state *st, vg_error *err)
{
    memset(st, 0, sizeof *st);
    st->o = *o;
    st->t_start = now_s();
    st->stats = json_object();
    st->plan_json = json_object();
    vg_code rc = load_rows(db, cfg, lg, st, err);
    if (rc != VG_OK)
        return rc;
    train_plan_make(st->dates, st->nd, o->horizon_days,
                    (unsigned)cfg->train_seed, &st->plan);
    st->plan.half_life = cfg->train_recency_half_life;
    json_object_set_new(st->plan_json, "recency_half_life_days",
                        json_integer(st->plan.half_life));
    json_object_set_new(st->plan_json, "purge_gap_days",
                        json_integer(o->horizon_days));
    if (!st->plan.purged) {
        if (st->nd > 1)
            log_warn(lg,
                     "%d observation dates are too few to validate by time "
                     "with a %d-day purge gap: cross-validating by customer "
                     "(lengthen --lookback for time validation)",
                     st->nd, o->horizon_days);
        rc = choose_families(cfg, lg, st, NULL, NULL, err);
        if (rc == VG_OK)
            rc = step_not_tried(st, cfg->train_step_choice,
                                cfg->train_step_choice != CFG_STEP_FIXED
                                    ? "not tried: too few observation dates "
                                      "for a purged choice (cross-validation)"
                                    : "every observation date",
                                err);
        if (rc == VG_OK)
            rc = fit_cv(cfg, lg, st, err);
    } else if ((rc = stage_select(cfg, lg, st, err)) == VG_OK &&
               (rc = stage_validate(cfg, st, err)) == VG_OK) {
        rc = stage_final(st, err);
    }
    if (rc == VG_OK)
        rc = set_indicator_runs(st->spec, st->final_b, err);
    st->t_fit = now_s();
    return rc;
}

/* ---- champion, summary, storage ------------------------------------------ */

static json_t *calibration_json(const double *prob, const double *y,
                                const double *w, size_t n)
{
    metrics_calib_bin bins[10];
    metrics_calibration_quantiles(prob, y, w, n, 10, bins);
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
/* Whether two feature specs have the same columns: only then can the
 * champion be scored on the matrix already built for the new model. */
static int same_columns(const feat_spec *x, const feat_spec *y)
{
    json_t *a = feat_spec_to_json(x), *b = feat_spec_to_json(y);
    int same = json_equal(json_object_get(a, "columns"),
                          json_object_get(b, "columns"));
    json_decref(a);
    json_decref(b);
    return same;
}

/* A stored model's log loss on `v`, through its own calibration: the same
 * measure the new model is judged by, so the two compare fairly. */
static vg_code stored_logloss(const stored_model *sm, const subset *v,
                              double *ll, vg_error *err)
{
    double *prob = NULL, *yw = NULL;
    vg_code rc;
    if ((rc = predict_raw(sm->b, v, &prob, err)) != VG_OK ||
        (rc = subset_yw(v, &yw, err)) != VG_OK)
        goto cleanup;
    for (size_t i = 0; i < v->n; i++)
        prob[i] = calib_apply(sm->cal, prob[i]);
    *ll = metrics_logloss(prob, yw, yw + v->n, v->n);
cleanup:
    free(prob);
    free(yw);
    return rc;
}

/* A database error while reading the champion: nobody knows whether the
 * new model is better, so the run fails rather than promote it. */
static int champion_unknown(vg_code rc)
{
    return rc == VG_EDB || rc == VG_EDBDOWN || rc == VG_ENOMEM;
}

static vg_code champion_fail(vg_code rc, vg_error *e2, vg_error *err)
{
    for (char *p = e2->msg; *p; p++) /* libpq's text may span lines */
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return vg_fail(err, rc,
                   "the current champion cannot be read (%s); nothing was "
                   "promoted: run train again once the database answers",
                   e2->msg);
}

static vg_code champion_logloss(db_conn *db, const vg_config *cfg,
                                const vg_log *lg, const fit_state *st,
                                double *ll, long long *champ_id, int *overlap,
                                vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *cspec = NULL;
    feat_matrix *cm = NULL;
    subset cva = {0};
    *ll = NAN;
    *champ_id = 0;
    vg_error e2;
    vg_code rc = store_load(db, 0, st->o.horizon_days, &sm, &e2);
    if (rc == VG_ENOMODEL)
        return VG_OK;
    if (champion_unknown(rc))
        return champion_fail(rc, &e2, err);
    if (rc != VG_OK) {
        log_warn(lg,
                 "the current champion cannot be loaded (%s); the new model "
                 "replaces it",
                 e2.msg);
        return VG_OK;
    }
    rc = VG_OK;
    if (sm->horizon_days != st->o.horizon_days)
        goto cleanup; /* a champion for another horizon is not a rival */
    *champ_id = sm->model_id;
    /* A champion trained as of a day after t_0 fitted labels from t_0's
     * window: its loss there is in-sample, not a fair rival's. */
    *overlap = sm->as_of > st->dates[0];
    if (*overlap)
        goto cleanup;
    if (feat_spec_from_json(sm->features, &cspec, &e2) != VG_OK) {
        log_warn(lg, "champion %lld: %s; the new model replaces it",
                 sm->model_id, e2.msg);
        goto cleanup;
    }
    const subset *v = &st->va;
    if (!same_columns(st->spec, cspec)) {
        log_info(lg, "the champion uses other features: extracting them for "
                     "the comparison");
        if ((rc = feat_build(db, cfg, cspec, &st->req, lg, &cm, NULL, err)) !=
                VG_OK ||
            (rc = subset_take(cm, &st->plan, TRAIN_STAGE_VALIDATE,
                              TRAIN_ROLE_HOLDOUT, &cva, err)) != VG_OK)
            goto cleanup;
        v = &cva;
    }
    rc = stored_logloss(sm, v, ll, err);
cleanup:
    subset_free(&cva);
    feat_matrix_free(cm);
    feat_spec_free(cspec);
    store_model_free(sm);
    return rc;
}

typedef struct decision {
    int promote;
    long long champ_id;
    double champ_ll;
    char text[256];
} decision;

/* A new model becomes champion when its log loss on the validation rows is
 * not worse than the champion's on the same rows. CV has no shared rows: the
 * new model wins only when there is no champion for this horizon. */
static vg_code decide(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      const fit_state *st, decision *d, vg_error *err)
{
    int H = st->o.horizon_days;
    memset(d, 0, sizeof *d);
    d->champ_ll = NAN;
    int overlap = 0;
    if (st->plan.purged) {
        vg_code rc = champion_logloss(db, cfg, lg, st, &d->champ_ll,
                                      &d->champ_id, &overlap, err);
        if (rc != VG_OK)
            return rc;
    } else {
        stored_model *sm = NULL;
        vg_error e2;
        vg_code lr = store_load(db, 0, H, &sm, &e2);
        if (lr == VG_OK && sm->horizon_days == H)
            d->champ_id = sm->model_id;
        store_model_free(sm);
        if (champion_unknown(lr))
            return champion_fail(lr, &e2, err);
    }
    d->promote = d->champ_id == 0 ||
                 (!isnan(d->champ_ll) && st->ms.logloss <= d->champ_ll + 1e-12);
    if (overlap) {
        /* Then the guard is the baseline on the same rows. */
        d->promote = !st->have_baseline || st->ms.logloss <= st->mb.logloss;
        snprintf(d->text, sizeof d->text,
                 "%s (model %lld was trained on labels of these validation "
                 "rows; log loss %.5f vs the baseline's %.5f)",
                 d->promote ? "champion" : "not promoted", d->champ_id,
                 st->ms.logloss, st->mb.logloss);
    } else if (d->champ_id == 0)
        snprintf(d->text, sizeof d->text,
                 "champion (there was none for a %d-day horizon)", H);
    else if (isnan(d->champ_ll))
        snprintf(d->text, sizeof d->text,
                 "kept model %lld (cross-validated models are not compared; "
                 "promote by training with time validation)",
                 d->champ_id);
    else if (d->promote)
        snprintf(d->text, sizeof d->text,
                 "champion (log loss %.5f vs %.5f of model %lld)",
                 st->ms.logloss, d->champ_ll, d->champ_id);
    else
        snprintf(d->text, sizeof d->text,
                 "not promoted (log loss %.5f vs %.5f of champion %lld)",
                 st->ms.logloss, d->champ_ll, d->champ_id);
    return VG_OK;
}

static json_t *model_metrics_json(const fit_state *st)
{
    json_t *metrics = metrics_summary_json(&st->ms);
    json_object_set_new(metrics, "model_kind",
                        json_string(selection_kind(&st->sel)));
    json_object_set_new(metrics, "calibration_table",
                        calibration_json(st->prob, st->y, st->w, st->nva));
    return metrics;
}

/* Trees the stored model uses: the chosen rounds, or with the blend both
 * candidates' (its best round count is every tree; store_load and older
 * vigil take params.best_rounds as the rounds to use). */
static int model_rounds(const fit_state *st)
{
    return (st->sel.rounds + (st->blend.on ? st->blend.rounds : 0)) *
           (st->bag > 0 ? st->bag : 1);
}

/* The params column: how the stored model was made. */
static json_t *params_json(const fit_state *st)
{
    char d0[DATE_BUF], dn[DATE_BUF];
    date_format(st->dates[0], d0);
    date_format(st->dates[st->nd - 1], dn);
    json_t *p = json_pack(
        "{s:o, s:i, s:o, s:i, s:i, s:i, s:i, s:s, s:s, s:O}", "xgboost",
        booster_params_json(&st->sel.params), "best_rounds", model_rounds(st),
        "calibration", calib_to_json(st->final_cal), "horizon_days",
        st->o.horizon_days, "lookback_days", st->o.lookback_days, "step_days",
        st->o.step_days, "observation_dates", st->nd, "first_date", dn,
        "last_date", d0, "validation_plan", st->plan_json);
    json_object_set(p, "sampling", json_object_get(st->stats, "sampling"));
    json_object_set_new(p, "model_kind", json_string(selection_kind(&st->sel)));
    json_object_set(p, "families", st->families);
    json_object_set(p, "observation_step", st->step);
    json_object_set(p, "bag", st->bag_json);
    return p;
}

/* The summary every caller prints; model_id and champion added by train_run.
 */
static json_t *summary_json(const fit_state *st)
{
    char asof[DATE_BUF], d0[DATE_BUF];
    date_format(st->o.as_of, asof);
    date_format(st->dates[0], d0);
    json_t *s = json_pack(
        "{s:s, s:I, s:I, s:I, s:s, s:s, s:o, s:o, s:O, s:i, s:i, s:O, s:s, "
        "s:O, s:O}",
        "as_of", asof, "rows", (json_int_t)st->m->nrows, "positives",
        (json_int_t)st->positives, "features", (json_int_t)st->m->ncols,
        "validation", st->plan.purged ? "time" : "cv", "validation_date",
        st->plan.purged ? d0 : "", "metrics", model_metrics_json(st),
        "baseline",
        st->have_baseline ? metrics_summary_json(&st->mb) : json_null(),
        "validation_plan", st->plan_json, "observation_dates", st->nd,
        "best_rounds", model_rounds(st), "skipped", st->stats, "model_kind",
        selection_kind(&st->sel), "families", st->families, "observation_step",
        st->step);
    if (s)
        json_object_set(s, "bag", st->bag_json);
    return s;
}

/* Each column's median over the customers of the latest observation date
 * (never sampled): the "typical customer" score's drivers compare with, the
 * same for every scoring run of this model however it reads its customers.
 * null where no customer had a value. */
static json_t *typical_json(const fit_state *st)
{
    const feat_matrix *m = st->m;
    float *v = malloc((m->nrows + 1) * sizeof *v);
    json_t *a = json_array();
    for (size_t j = 0; v && a && j < m->ncols; j++) {
        size_t n = 0;
        for (size_t r = 0; r < m->nrows; r++) {
            float x = m->x[r * m->ncols + j];
            if (m->date_index[r] == st->req.keep_all_date && !isnan(x))
                v[n++] = x;
        }
        if (json_array_append_new(a, n ? json_real(median_float_inplace(v, n))
                                       : json_null()))
            break;
    }
    if (!v || !a || json_array_size(a) != m->ncols) {
        json_decref(a);
        a = NULL;
    }
    free(v);
    return a;
}

static vg_code store_model(db_conn *db, const fit_state *st, const decision *d,
                           long long *model_id, vg_error *err)
{
    json_t *features = feat_spec_to_json(st->spec), *params = params_json(st);
    json_t *typical = features ? typical_json(st) : NULL;
    if (typical) /* without it, score falls back to its first chunk */
        json_object_set_new(features, "typical", typical);
    char d0[DATE_BUF] = "";
    if (st->plan.purged)
        date_format(st->dates[0], d0);
    json_t *mjs = json_pack(
        "{s:o, s:o, s:s, s:s, s:s, s:I, s:o, s:s}", "model",
        model_metrics_json(st), "baseline",
        st->have_baseline ? metrics_summary_json(&st->mb) : json_null(),
        "validation", st->plan.purged ? "time" : "cv", "validation_date", d0,
        "baseline_feature", "usage.days_since_last_activity", "validation_rows",
        (json_int_t)st->nva, "champion_logloss",
        isnan(d->champ_ll) ? json_null() : json_real(d->champ_ll), "model_kind",
        selection_kind(&st->sel));
    json_object_set(mjs, "families", st->families);
    json_object_set(mjs, "observation_step", st->step);
    json_object_set(mjs, "bag", st->bag_json);
    vg_code rc = db_begin(db, err);
    if (rc == VG_OK)
        rc = store_insert(db, st->o.as_of, st->o.horizon_days, features, params,
                          mjs, st->final_b, model_id, err);
    if (rc == VG_OK && d->promote)
        rc = store_promote(db, *model_id, st->o.horizon_days, err);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    json_decref(features);
    json_decref(params);
    json_decref(mjs);
    return rc;
}

vg_code train_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  const train_opts *o, json_t **summary, vg_error *err)
{
    fit_state st;
    decision d;
    long long model_id = 0;
    *summary = NULL;
    vg_code rc = fit_everything(db, cfg, lg, o, &st, err);
    if (rc == VG_OK)
        rc = decide(db, cfg, lg, &st, &d, err);
    if (rc == VG_OK)
        rc = store_model(db, &st, &d, &model_id, err);
    if (rc == VG_OK) {
        double t_end = now_s();
        json_t *s = summary_json(&st);
        json_object_set_new(s, "model_id", json_integer(model_id));
        json_object_set_new(
            s, "champion",
            json_pack("{s:s, s:b, s:o}", "decision", d.text, "is_champion",
                      d.promote, "previous_model_id",
                      d.champ_id ? json_integer(d.champ_id) : json_null()));
        json_object_set_new(
            s, "seconds",
            json_pack("{s:f, s:f, s:f, s:f}", "features",
                      st.t_feat - st.t_start, "fit", st.t_fit - st.t_feat,
                      "store", t_end - st.t_fit, "total", t_end - st.t_start));
        *summary = s;
    }
    fit_state_free(&st);
    return rc;
}

/* ---- in memory, for the backtest ----------------------------------------- */

void train_model_free(train_model *t)
{
    feat_spec_free(t->spec);
    booster_free(t->b);
    calib_free(t->cal);
    calib_free(t->base_cal);
    json_decref(t->summary);
    memset(t, 0, sizeof *t);
}

vg_code train_fit(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  const train_opts *o, train_model *out, vg_error *err)
{
    fit_state st;
    memset(out, 0, sizeof *out);
    vg_code rc = fit_everything(db, cfg, lg, o, &st, err);
    if (rc == VG_OK) {
        out->summary = summary_json(&st);
        out->estimate = st.ms;
        out->spec = st.spec;
        out->b = st.final_b;
        out->cal = st.final_cal;
        out->base_cal = st.base_cal;
        st.spec = NULL;
        st.final_b = NULL;
        st.final_cal = NULL;
        st.base_cal = NULL;
    }
    fit_state_free(&st);
    return rc;
}

vg_code train_evaluate(db_conn *db, const vg_config *cfg, const vg_log *lg,
                       const train_model *t, int as_of, int horizon, int quiet,
                       metrics_summary *model, metrics_summary *base,
                       vg_error *err)
{
    feat_matrix *m = NULL;
    double *p = NULL, *y = NULL;
    feat_request req = {&as_of, 1, horizon, 0, -1, 0, quiet, NULL};
    memset(base, 0, sizeof *base);
    vg_code rc = feat_build(db, cfg, t->spec, &req, lg, &m, NULL, err);
    if (rc != VG_OK)
        return rc;
    p = malloc((m->nrows + 1) * sizeof *p);
    y = malloc((m->nrows + 1) * sizeof *y);
    if (!p || !y) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = booster_predict(t->b, m->x, m->nrows, m->ncols, p, err)) != VG_OK)
        goto cleanup;
    for (size_t i = 0; i < m->nrows; i++) {
        /* exactly as score writes churn_risk */
        double risk = calib_apply(t->cal, p[i]);
        p[i] = !(risk >= 0) ? 0 : risk > 1 ? 1 : risk;
        y[i] = m->label[i];
    }
    metrics_summarize(p, y, NULL, m->nrows, model);
    int col = feat_spec_find(t->spec, "usage.days_since_last_activity");
    if (col >= 0 && t->base_cal) {
        for (size_t i = 0; i < m->nrows; i++)
            p[i] = calib_apply(t->base_cal,
                               train_silence(&m->x[i * m->ncols], col));
        metrics_summarize(p, y, NULL, m->nrows, base);
    } else {
        metrics_summarize(NULL, NULL, NULL, 0, base);
    }
cleanup:
    free(p);
    free(y);
    feat_matrix_free(m);
    return rc;
}

vg_code train_data_end(db_conn *db, const vg_config *cfg, int *day,
                       vg_error *err)
{
    char *qc = db_qualify(db, cfg->source_schema, "customers"),
         *qt = db_qualify(db, cfg->source_schema, "tickets");
    char sql[1024];
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    /* Signups, cancellations and tickets, not events: devices with skewed
     * clocks write events dated days or decades ahead. */
    if (!qc || !qt)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    else if (snprintf(sql, sizeof sql,
                      "SELECT (greatest((SELECT max(created_at) FROM %s "
                      "WHERE created_at <= now()), (SELECT max(canceled_at) "
                      "FROM %s WHERE canceled_at <= now()), (SELECT "
                      "max(created_at) FROM %s WHERE created_at <= now())) "
                      "AT TIME ZONE 'UTC')::date - date '1970-01-01' + 1",
                      qc, qc, qt) >= (int)sizeof sql)
        rc = vg_fail(err, VG_ECONFIG, "source.schema '%s' is too long",
                     cfg->source_schema);
    if (rc == VG_OK && (rc = db_exec(db, sql, 0, NULL, &r, err)) != VG_OK)
        vg_wrap(err,
                "reading the latest source rows in %s: ", cfg->source_schema);
    if (rc == VG_OK) {
        if (PQgetisnull(r, 0, 0))
            rc = vg_fail(err, VG_EDATA, "no rows in %s.customers",
                         cfg->source_schema);
        else
            *day = atoi(PQgetvalue(r, 0, 0));
    }
    PQclear(r);
    free(qc);
    free(qt);
    return rc;
}
