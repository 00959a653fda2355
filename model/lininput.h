/* lininput.h — the input transform of vigil's linear model: per column,
 * log1p when the column is wide and non-negative, then standardised and
 * clipped. Fitted on the training rows, stored with the model as text, and
 * applied to every matrix the model later sees, so training and scoring
 * transform alike. Pure: no XGBoost, no I/O. */
#ifndef VG_LININPUT_H
#define VG_LININPUT_H

#include <stddef.h>

/* Opaque and immutable after fitting or parsing. */
typedef struct lininput lininput;

/* Fits the transform of ncols columns on n rows (row-major; NaN = missing,
 * ignored). A column is log1p'd when its observed minimum is >= 0 and its
 * maximum > 20. NULL only when out of memory. */
lininput *lininput_fit(const float *x, size_t n, size_t ncols);

/* z = clip((f(x) - mu) / sd, -5, 5) for n rows; a missing value becomes 0
 * (the mean). x and z are n x ncols, row-major, and may not overlap. */
void lininput_apply(const lininput *tf, const float *x, size_t n, size_t ncols,
                    float *z);

/* The transform as text ("log mu sd" per column, space-separated), exact
 * to the last bit of mu and sd; malloc'd, NULL when out of memory. */
char *lininput_format(const lininput *tf, size_t ncols);

/* Reads lininput_format's text back; NULL for text that is not ncols
 * well-formed columns (a damaged model) or out of memory. */
lininput *lininput_parse(const char *s, size_t ncols);

/* 1 when column j was 0 or missing on every fitting row (so the model can
 * have learnt nothing from it: for an indicator, a level never seen). */
int lininput_unseen(const lininput *tf, size_t j);

void lininput_free(lininput *tf);

#endif
