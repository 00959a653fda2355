/* drivers.h — turning feature contributions into reasons a specialist reads.
 * Pure functions: no database, so wording is unit-tested directly. */
#ifndef VG_DRIVERS_H
#define VG_DRIVERS_H

#include <jansson.h>
#include <stddef.h>

#include "features/feat.h"

/* Human wording of one feature value: "active days in the last 30 days fell
 * from 18 to 3", "support tickets in the last 30 days: 6 (typical: 0)".
 * prev is the same measure one window earlier (NAN if none), typical the
 * population median (NAN if unknown). Writes at most n bytes. */
void drivers_text(const feat_info *fi, double value, double prev,
                  double typical, char *buf, size_t n);

/* The top `k` reasons of one row, strongest risk-raising contribution first,
 * as the contract's drivers array. contrib has ncols+1 entries (bias last). */
json_t *drivers_for_row(const feat_spec *spec, const float *x,
                        const float *contrib, size_t ncols,
                        const double *typical, int k);

#endif
