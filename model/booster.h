/* booster.h — the gradient-boosted tree model: XGBoost training with early
 * stopping, probabilities, per-feature contributions and byte serialization. */
#ifndef VG_BOOSTER_H
#define VG_BOOSTER_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

/* Opaque; owns the XGBoost BoosterHandle. Not safe for concurrent use: XGBoost
 * hands predictions back in a buffer owned by the handle. */
typedef struct booster booster;

typedef struct booster_params {
    int max_depth;
    double eta, min_child_weight, subsample, colsample_bytree, lambda, alpha,
        gamma;
    int max_rounds;
    int early_stopping_rounds; /* 0 = never stop early (best still kept) */
    /* A round improves on the best only when it lowers the held-out log
     * loss by more than this fraction of it (0: any decrease). */
    double min_gain;
    int nthread;        /* 0 = every core */
    unsigned long seed; /* XGBoost takes int64: reduced modulo 2^63 */
    /* 1: a regularised linear model (XGBoost's gblinear, shotgun updater on
     * one thread: deterministic; nthread is ignored) instead of trees. Its
     * inputs are transformed inside the booster — log1p for wide non-negative
     * columns, standardised, clipped to
     * +-5, missing as the mean — and the transform travels with the saved
     * model, so prediction, contributions and storage are the same calls.
     * Uses eta, lambda, alpha (per row: XGBoost scales them by the weight
     * sum), rounds and early stopping; the tree fields are ignored. */
    int linear;
} booster_params;

/* depth 4, eta 0.1, min_child_weight 5, subsample 0.8, colsample 0.8,
 * lambda 1, alpha 0, gamma 0, 400 rounds, early stop 30 (min_gain 0),
 * 2 threads, seed 42. */
void booster_params_default(booster_params *p);

/* The linear model's defaults: eta 0.5, lambda 0.001, alpha 0, 100 rounds,
 * early stop 5 with min_gain 1e-4, seed 42. */
void booster_params_default_linear(booster_params *p);

/* Every field under its own name, plus the fixed "objective" and
 * "tree_method", for the model record. New reference or NULL (no memory). */
json_t *booster_params_json(const booster_params *p);

/* Train binary:logistic (tree_method hist, deterministic for a given seed and
 * input) on a dense row-major float matrix (NaN = missing) with per-row
 * weights (NULL = 1). Each round the weighted logloss on the validation
 * matrix is evaluated; training stops after early_stopping_rounds rounds
 * without a strict improvement, and *best_rounds receives the number of
 * rounds up to and including the best one, which prediction then uses.
 * Without validation rows (x_valid NULL or n_valid 0) all max_rounds are
 * trained and used. Labels must be 0 or 1. The inputs are not kept. */
vg_code booster_train(const booster_params *p, const float *x_train,
                      const float *y_train, const float *w_train,
                      size_t n_train, const float *x_valid,
                      const float *y_valid, const float *w_valid,
                      size_t n_valid, size_t ncols, booster **out,
                      int *best_rounds, vg_error *err);

/* Probabilities (before calibration) from the first best_rounds rounds.
 * ncols must match training. Rows are processed in blocks, so memory stays
 * bounded for any nrows. */
vg_code booster_predict(booster *b, const float *x, size_t nrows, size_t ncols,
                        double *prob_out, vg_error *err);

/* Per-feature contributions to the margin (log-odds): approximate (Saabas,
 * XGBoost prediction type 3) when exact is 0, exact TreeSHAP (type 2, about
 * 100x slower) otherwise; for a linear model weight x transformed input
 * (exact either way). out is nrows x (ncols + 1), row-major; the last
 * column is the bias, and each row sums to logit(probability). */
vg_code booster_contribs(booster *b, const float *x, size_t nrows, size_t ncols,
                         int exact, float *out, vg_error *err);
/* 1 once approximate contributions come from the model's own trees (after
 * the first call, which checks them against XGBoost's), else 0. */
int booster_contribs_own(const booster *b);
/* The same, always computed by XGBoost itself (booster_contribs computes
 * the approximate ones from the trees; tests compare the two). */
vg_code booster_contribs_xgboost(booster *b, const float *x, size_t nrows,
                                 size_t ncols, int exact, float *out,
                                 vg_error *err);

/* The model as UBJSON bytes (for a bytea column); *buf is malloc'd and owned
 * by the caller. The best round count travels inside as an attribute. */
vg_code booster_save(booster *b, unsigned char **buf, size_t *len,
                     vg_error *err);

/* Inverse of booster_save. best_rounds > 0 overrides the stored best round
 * count (it must not exceed the rounds in the model); 0 uses the stored one,
 * or every round if the model has none. */
vg_code booster_load(const unsigned char *buf, size_t len, int best_rounds,
                     booster **out, vg_error *err);

/* Rounds used for prediction, and rounds held in the model (the latter
 * exceeds the former by the early-stopping patience, or less). */
int booster_best_rounds(const booster *b);
int booster_total_rounds(const booster *b);
size_t booster_num_features(const booster *b);
/* 1 for a linear model (gblinear), 0 for trees. */
int booster_is_linear(const booster *b);

/* A run of columns that are one categorical attribute's indicators (its
 * one-hot levels and "other"): [first, first + width). */
typedef struct booster_group {
    size_t first, width;
} booster_group;

/* Declares the model's indicator runs (sorted, disjoint, within its
 * columns, width >= 2; else VG_EDATA). They travel with the saved model
 * (an attribute old vigil ignores; a model without one has no runs) and
 * change two things:
 * - contributions (both calls above): per row, a run's contributions are
 *   summed onto its column that is on (value >= 0.5), the others become 0,
 *   so a reason names the attribute once, with the customer's own level
 *   ("country is Spain", not also "country is not France"); rows stay
 *   summing to the margin. A row with no column on (missing) is unchanged.
 * - a linear model's inputs: a level its fitting rows never had (all 0
 *   there, so it has no weight) moves the whole run to the mean, as a
 *   missing value does, instead of reading as "none of the known levels". */
vg_code booster_set_groups(booster *b, const booster_group *g, size_t ng,
                           vg_error *err);
size_t booster_ngroups(const booster *b);

/* The blend of two tree models on the same columns: one model whose margin
 * is the mean of theirs (each one's used trees with halved leaf values, the
 * intercept halfway in log-odds), so it is saved, loaded, scored and
 * explained like any other. Its best round count is every tree. VG_EINTERNAL
 * for a linear model. The indicator runs are not carried over (set them on
 * the blend). */
vg_code booster_blend(booster *a, booster *b, booster **out, vg_error *err);

/* Most models one blend takes. */
#define BOOSTER_BLEND_MAX 32

/* The same for n tree models (1..BOOSTER_BLEND_MAX) with weights w summing
 * to 1 (NULL: 1/n each): the margin is sum w[i] x margin_i — model i's used
 * trees with leaf values times w[i], the intercept the weighted mean of
 * theirs in log-odds. booster_blend(a, b) is {a, b} with NULL. */
vg_code booster_blend_n(booster *const *bs, const double *w, int n,
                        booster **out, vg_error *err);

void booster_free(booster *b);

#endif
