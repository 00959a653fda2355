/* flattrees.h — a tree model's trees as flat arrays, for approximate
 * (Saabas) per-feature contributions computed without XGBoost. Why: asking
 * XGBoost for contributions copies every batch into a DMatrix and allocates
 * per row; it was the largest share of a scoring run's own time. The numbers
 * are XGBoost's own, bit for bit: the walk repeats its order of float
 * operations (CPUPredictor::PredictContribution with RegTree::
 * CalculateContributionsApprox). The booster still checks that on the first
 * rows of each model and asks XGBoost from then on if they ever differ.
 * Pure: reads the model's JSON text, no XGBoost calls. */
#ifndef VG_FLATTREES_H
#define VG_FLATTREES_H

#include <stddef.h>

/* Opaque and immutable once built: safe to share between threads. */
typedef struct flattrees flattrees;

/* The first `rounds` trees of a binary:logistic gbtree model from its JSON
 * form (XGBoost's model format "json", len bytes), splitting on columns
 * 0..ncols-1. NULL when the model is anything else — another objective or
 * booster, several parallel trees, a categorical split, fewer trees than
 * rounds — or memory runs out: the caller then asks XGBoost. */
flattrees *flattrees_from_json(const char *json, size_t len, size_t rounds,
                               size_t ncols);

/* Contributions of one row x (ncols values, NaN = missing) into out
 * (ncols + 1 values: one per column, then the bias), in the margin's units
 * (log-odds). */
void flattrees_contribs_row(const flattrees *t, const float *x, size_t ncols,
                            float *out);

void flattrees_free(flattrees *t);

#endif
