/* metrics.h — weighted binary-classification metrics for model evaluation.
 * Pure functions over plain arrays: no allocation escapes, no I/O, no state. */
#ifndef VG_METRICS_H
#define VG_METRICS_H

#include <jansson.h>
#include <stddef.h>

/* Conventions shared by every function below:
 * - score/prob[i], label[i] (1 = positive, 0 = negative; a label >= 0.5 counts
 *   as positive where a class is needed) and weight[i] describe row i;
 *   weight NULL means every weight is 1. A weight of 2 is the same as
 *   duplicating the row. Weights must be >= 0.
 * - The result is NAN when the metric is undefined (no rows, zero total
 *   weight, a single class for the rank metrics), when any input is NaN, or
 *   when memory for the sort cannot be had.
 * - Cost is O(n log n) for the rank metrics, O(n) for the others. */

/* Area under the ROC curve: the weighted probability that a random positive
 * scores above a random negative, ties counting one half (Mann-Whitney). */
double metrics_roc_auc(const double *score, const double *label,
                       const double *weight, size_t n);

/* Average precision: sum over distinct score thresholds (highest first) of
 * (recall gained) x (precision at that threshold); tied scores form one
 * threshold. NAN without positives. */
double metrics_pr_auc(const double *score, const double *label,
                      const double *weight, size_t n);

/* Weighted mean squared error of the probability. */
double metrics_brier(const double *prob, const double *label,
                     const double *weight, size_t n);

/* Weighted mean negative log-likelihood, probabilities clipped to
 * [1e-15, 1 - 1e-15] so a confident mistake costs ~34.5, not infinity. */
double metrics_logloss(const double *prob, const double *label,
                       const double *weight, size_t n);

/* Positive rate among the highest-scored 10% of the total weight divided by
 * the overall positive rate. The boundary is exact: when the 10% mark falls
 * inside a row or a group of tied scores, that group contributes the matching
 * fraction of its weight at its own (average) positive rate, so the result
 * depends neither on row order within ties nor on duplication vs weight. */
double metrics_lift_top_decile(const double *score, const double *label,
                               const double *weight, size_t n);

typedef struct {
    double lo, hi;    /* smallest and largest probability in the group */
    double mean_pred; /* weighted mean probability in the bin, NAN if empty */
    double observed;  /* weighted positive rate in the bin, NAN if empty */
    double weight;    /* total weight in the bin */
    long count;       /* rows in the bin */
} metrics_calib_bin;

/* Reliability table over `bins` groups of equal weight, riskiest last: churn
 * is rare, so equal-width bins put nearly every customer in the first one
 * and say nothing about where the model ranks them. Rows with the same
 * probability stay in one group; lo and hi are the group's smallest and
 * largest probability. Rows with a NaN probability are skipped. out must
 * hold `bins` entries; every entry is written (empty ones with count 0 and
 * NAN means). Returns the number of non-empty groups, or -1 when bins < 1,
 * out is NULL or memory runs out. */
int metrics_calibration_quantiles(const double *prob, const double *label,
                                  const double *weight, size_t n, int bins,
                                  metrics_calib_bin *out);

typedef struct {
    double auc, pr_auc, brier, logloss, lift10, base_rate;
    double n;         /* total weight (the row count when unweighted) */
    double positives; /* total positive weight */
} metrics_summary;

/* All of the above at once; undefined entries are NAN. */
void metrics_summarize(const double *prob, const double *label,
                       const double *weight, size_t n, metrics_summary *out);

/* {"auc", "pr_auc", "brier", "logloss", "lift_top_decile", "base_rate",
 *  "rows", "positives"}; NAN becomes JSON null because JSON has no NaN.
 * Returns a new reference, or NULL when out of memory. */
json_t *metrics_summary_json(const metrics_summary *m);

#endif
