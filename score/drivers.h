/* drivers.h — turning feature contributions into reasons a specialist reads
 * and acts on. Pure functions: no database, so wording is unit-tested
 * directly.
 *
 * A reason is shown as a risk only when it pushes the risk up (positive
 * contribution) AND its value is on the warning side of the reference (the
 * customer's previous window, else the typical customer) for measures that
 * have such a side: fast support or many active days are never listed as
 * risks, whatever a tree's interactions say. Profile facts (plan, size,
 * tenure, attributes) have no warning side; they are shown as facts and
 * marked kind "profile" so readers keep them apart from behaviour. */
#ifndef VG_DRIVERS_H
#define VG_DRIVERS_H

#include <jansson.h>
#include <stddef.h>

#include "core/util.h"
#include "features/feat.h"

/* A value in the feature's unit, rounded for people: "3", "6 hours",
 * "under an hour", "12 days ago", "in 18 days", "35%", "1,250 a month",
 * "2.5 of 5". */
void drivers_format_value(const feat_info *fi, double v, char *buf, size_t n);

/* Human wording of one feature value: "active days in the last 30 days fell
 * from 18 to 3", "support tickets in the last 30 days: 6 (typical customer:
 * 0)". prev is the same measure one window earlier (NAN if none), typical
 * the population median (NAN if unknown). Writes at most n bytes. */
void drivers_text(const feat_info *fi, double value, double prev,
                  double typical, char *buf, size_t n);

/* "worse" | "better" | "typical" than the reference (prev, else typical),
 * or "fact" when the measure has no warning side or nothing to compare. */
const char *drivers_direction(const feat_info *fi, double value, double prev,
                              double typical);

/* The suggested next step for a theme, and its title ("Support friction").
 * Unknown themes get a generic step. */
const char *drivers_action(const char *theme);
const char *drivers_theme_title(const char *theme);

/* A customer in their first DRIVERS_ONBOARDING_DAYS is onboarding. */
#define DRIVERS_ONBOARDING_DAYS 180

/* The theme a value belongs to: fi->theme, except that tenure past the
 * onboarding months is commercial. */
const char *drivers_theme_for(const feat_info *fi, double value);

/* The top `k` reasons of one row, strongest risk-raising contribution first,
 * as the contract's drivers array, each {"feature", "value", "effect",
 * "text", "theme", "kind" (behaviour|profile), "direction", "action"}.
 * contrib has ncols+1 entries (bias last). */
json_t *drivers_for_row(const feat_spec *spec, const float *x,
                        const float *contrib, size_t ncols,
                        const double *typical, int k);

/* The same array as JSON text appended to `out` (what `score` stores):
 * 0, or -1 when out of memory or a value is not finite. */
int drivers_write_row(const feat_spec *spec, const float *x,
                      const float *contrib, size_t ncols, const double *typical,
                      int k, strbuf *out);

/* Reasons grouped by theme for reading: behaviour themes first (strongest
 * first), then profile facts; each {"theme", "title", "kind", "action",
 * "reasons": [text, ...]}. Accepts drivers stored by older versions (no
 * theme: grouped under "other"). Caller owns the result. */
json_t *drivers_by_theme(const json_t *drivers);

/* What changed between a customer's previous score and this one:
 * {"previous_as_of", "risk_before", "risk_now", "tier_before", "tier_now",
 *  "new": [texts], "gone": [texts], "text"}; text reads like
 * "risk up from 12% to 41% since 2026-11-29 (watch to at risk); new: ...;
 * no longer: ...". prev_drivers NULL means no previous score: NULL. */
json_t *drivers_changes(const char *prev_as_of, double prev_risk,
                        const char *prev_tier, const json_t *prev_drivers,
                        double risk, const char *tier, const json_t *drivers);

#endif
