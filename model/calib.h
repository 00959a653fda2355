/* calib.h — maps a model's raw probability to a calibrated one (Platt scaling
 * or isotonic regression), with JSON persistence so scoring can reload it. */
#ifndef VG_CALIB_H
#define VG_CALIB_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

typedef enum { CALIB_PLATT, CALIB_ISOTONIC } calib_kind;

/* Opaque and immutable after fitting, so one calibrator may be applied from
 * several threads at once. */
typedef struct calib calib;

/* Fits on n rows of (raw probability, 0/1 label, weight; w NULL = all 1).
 * Platt: p = sigmoid(a * logit(raw) + b) by weighted maximum likelihood with
 * Platt's smoothed targets ((N+ + 1)/(N+ + 2) and 1/(N- + 2)), which keeps
 * separable data finite. Isotonic: weighted pool-adjacent-violators on raw,
 * kept as at most 200 (mean raw, mean label) points.
 * VG_EDATA for no rows, a non-finite raw, a NaN label, a negative or
 * non-finite weight, or a single class (counted by weight). */
vg_code calib_fit(calib_kind kind, const double *raw, const double *label,
                  const double *w, size_t n, calib **out, vg_error *err);

/* Calibrated probability; monotone non-decreasing in raw. NaN gives NaN.
 * Isotonic interpolates linearly between its points and is flat outside. */
double calib_apply(const calib *c, double raw);

calib_kind calib_get_kind(const calib *c);
const char *calib_kind_name(calib_kind kind); /* "platt" / "isotonic" */

/* {"kind":"platt","a":..,"b":..} or {"kind":"isotonic","x":[..],"y":[..]};
 * doubles survive json_dumps/json_loads exactly (17 significant digits).
 * Returns a new reference, or NULL when out of memory. */
json_t *calib_to_json(const calib *c);
/* VG_EMODEL when the document is not one calib_to_json() could write. */
vg_code calib_from_json(const json_t *j, calib **out, vg_error *err);

/* Picks Platt or isotonic by cross-fitting on two deterministic halves
 * (even and odd row indexes): each kind is fitted on one half and scored by
 * weighted logloss on the other, both ways; the lower total wins (Platt on a
 * tie) and is then refitted on all n rows. If a half lacks a class the
 * comparison means nothing and Platt, the steadier of the two, is used.
 * VG_EDATA for n < 20 or a single class. */
vg_code calib_choose(const double *raw, const double *label, const double *w,
                     size_t n, calib **out, vg_error *err);

void calib_free(calib *c);

#endif
