/* train.h — building a churn model as of a date: observation dates, labels,
 * time-based validation, XGBoost, calibration, champion decision. */
#ifndef VG_TRAIN_H
#define VG_TRAIN_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"

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

#endif
