/* train.h — building a churn model as of a date: observation dates, labels,
 * purged time validation, XGBoost, calibration, refit, champion decision;
 * and the backtest that replays all of it for past dates. */
#ifndef VG_TRAIN_H
#define VG_TRAIN_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"
#include "features/feat.h"
#include "model/booster.h"
#include "model/calib.h"
#include "model/metrics.h"

typedef struct train_opts {
    int as_of; /* day D: the model is for use from D on */
    int horizon_days;
    int lookback_days;
    int step_days;
    int quiet;
} train_opts;

/* Train, validate, store in vigil.models and decide the champion. On success
 * *summary (caller owns) is the contract's train summary plus details. */
vg_code train_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  const train_opts *opts, json_t **summary, vg_error *err);

/* Observation dates t_k = D - H - k*step while t_k >= D - H - lookback,
 * newest first. Returns the count; *dates is malloc'd (caller frees). */
int train_observation_dates(int as_of, int horizon, int lookback, int step,
                            int **dates);

/* ---- the validation plan ---------------------------------------------------
 * Rows of neighbouring observation dates share label windows (a customer who
 * cancels on day X is a positive at every date in the H days before X), so
 * no row that chooses or measures a model may lie within H days after a row
 * that fits it. Three stages, by date index k (0 = newest, t_0 = D - H):
 *   select:   fit on t_k <= t_s - H, early stopping, search and the
 *             validation model's calibration on t_s, the newest date
 *             <= t_0 - H;
 *   validate: the chosen settings and rounds refitted on t_k <= t_0 - H,
 *             measured on t_0 (never used for any choice): the estimate;
 *   final:    refitted on every date; calibrated on the validate stage's
 *             out-of-sample predictions on t_0.
 * With too few dates for a select stage (fewer than 2H/step + 1), its
 * choices are made on a fifth of the customers of the validate stage's fit
 * (`grouped_select`: other customers, so no shared label window); with no
 * date at least H before t_0 either, 5-fold cross-validation grouped by
 * customer (`purged` 0). */
typedef enum {
    TRAIN_STAGE_SELECT,
    TRAIN_STAGE_VALIDATE,
    TRAIN_STAGE_FINAL
} train_stage;
typedef enum {
    TRAIN_ROLE_OUT,     /* not used by the stage */
    TRAIN_ROLE_FIT,     /* the trees are fitted on it */
    TRAIN_ROLE_HOLDOUT, /* choices (select) or measurement (validate) */
} train_role;

typedef struct train_plan {
    int purged;          /* 1: by time with purge gaps; 0: grouped CV */
    int grouped_select;  /* select stage split by customer, not by time */
    int horizon;         /* purge gap in days */
    int select_holdout;  /* date index of t_s */
    int select_fit_from; /* first date index fitted in the select stage */
    int fold;            /* CV: fold validated (select holds out fold+1) */
    unsigned seed;
    int half_life; /* recency weighting of fitted rows, days (0: none) */
} train_plan;

/* Plan for `dates` (newest first). Falls back to CV when purging leaves no
 * date to fit the select stage on. */
void train_plan_make(const int *dates, int nd, int horizon, unsigned seed,
                     train_plan *p);
/* The role of matrix row r in stage s. */
train_role train_row_role(const train_plan *p, const feat_matrix *m, size_t r,
                          train_stage s);

/* ---- a trained model kept in memory (backtest) ----------------------------
 */
typedef struct train_model {
    feat_spec *spec;
    booster *b;
    calib *cal;               /* raw probability -> churn risk */
    calib *base_cal;          /* the baseline: silence -> probability */
    metrics_summary estimate; /* the validate stage's own measurement */
    json_t *summary;          /* the train summary (no model_id) */
} train_model;

/* Everything train_run does except storing: no write to vigil.models. */
vg_code train_fit(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  const train_opts *opts, train_model *out, vg_error *err);
void train_model_free(train_model *t);

/* The baseline's input: 1 - exp(-days since last activity / 30), never
 * active counting as the longest silence. */
double train_silence(const float *row, int col);

/* Realised quality of `t` on the customers active at `as_of`, against the
 * churn in [as_of, as_of + horizon): the model and the baseline. */
vg_code train_evaluate(db_conn *db, const vg_config *cfg, const vg_log *lg,
                       const train_model *t, int as_of, int horizon, int quiet,
                       metrics_summary *model, metrics_summary *base,
                       vg_error *err);

/* The first day with no source rows at all: one day after the latest
 * signup, cancellation, event or ticket. Labels for a horizon that ends after
 * it are not known yet. */
vg_code train_data_end(db_conn *db, const vg_config *cfg, int *day,
                       vg_error *err);

#endif
