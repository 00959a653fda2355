/* cron.h — five-field cron expressions and their next fire time in a zone.
 * Parsing follows Vixie cron/cronie; next-time maths walks the local calendar
 * field by field and maps wall times to UTC through core/tz.h. */
#ifndef VG_CRON_H
#define VG_CRON_H

#include <stdint.h>

#include "core/err.h"
#include "core/tz.h"

typedef struct cron_expr cron_expr;

/* Parse "minute hour day-of-month month day-of-week", or (an extension, as
 * in Quartz and Spring) six fields "second minute hour day-of-month month
 * day-of-week" with second 0-59 in the same syntax as minute; five-field
 * expressions fire at second 0. Seconds let tests schedule runs seconds apart.
 *   minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or JAN-DEC,
 *   day-of-week 0-7 or SUN-SAT (0 and 7 are Sunday); names ignore case.
 * Each field is a comma list of `*`, `a`, `a-b`, each optionally `/step`
 * (`a/step` means a to the field's maximum). Also @yearly, @annually,
 * @monthly, @weekly, @daily, @midnight, @hourly. Fields are separated by
 * spaces or tabs.
 * Day rule (crontab(5)): when both day-of-month and day-of-week are
 * restricted — neither field starts with `*` — a day matches if EITHER
 * matches; otherwise both must (so "0 0 1 * MON" is the 1st and every Monday,
 * while "0 0 * * MON" is only Mondays).
 * On success *out is a new expression the caller frees with cron_free().
 * On failure returns VG_ECONFIG (or VG_ENOMEM), *out is NULL and the message
 * quotes the expression, the field and the bad token, e.g.
 * "cron '0 25 * * *': hour 25 is out of range 0-23". */
vg_code cron_parse(const char *text, cron_expr **out, vg_error *err);

void cron_free(cron_expr *expr);

/* The text it was parsed from, whitespace-trimmed. */
const char *cron_text(const cron_expr *expr);

/* The first UTC second > after_utc at which the expression fires in `zone`
 * (NULL means UTC). Results always fall on a local minute boundary, except
 * for DST gaps (six-field expressions: on their local second):
 *   - a matching wall time inside a spring-forward gap fires once, at the
 *     first instant after the gap (cronie runs such jobs instead of skipping
 *     them), so "30 2 * * *" in Europe/Berlin on 2026-03-29 fires at 03:00
 *     CEST (01:00 UTC);
 *   - a wall time repeated by fall-back fires only at its first occurrence.
 * Returns -1 when nothing matches within about eight years (impossible dates
 * such as "0 0 30 2 *"; eight so Feb 29 across 2100 is still found), for
 * a NULL expression, or when after_utc is beyond +-10^12 s. */
int64_t cron_next(const cron_expr *expr, const tz_zone *zone,
                  int64_t after_utc);

#endif
