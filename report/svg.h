/* svg.h — the report's three inline SVG charts, drawn from plain arrays.
 * They know nothing of the database; every label passes through html_text. */
#ifndef VG_SVG_H
#define VG_SVG_H

#include <stddef.h>

#include "report/html.h"

/* The smallest of 1, 2, 2.5, 5 times a power of ten that is >= v; 1 for
 * v <= 0 or not finite. Axis ends land on it. */
double svg_nice_max(double v);

/* One bar per date (bar_labels[i]), each split into nseries segments by the
 * share of values[i * nseries + s] in the bar's total; a bar whose total is 0
 * stays empty. colors are CSS colors the program chose. Segments carry class
 * "seg-<series name>" and a tooltip with the count and share. */
void svg_stacked_bars(html_buf *b, const char *title, size_t nbars,
                      const char *const *bar_labels, size_t nseries,
                      const char *const *series_names,
                      const char *const *colors, const double *values);

/* Reliability diagram: points (pred[i], obs[i]) joined in order, sized by
 * rows[i], over the diagonal y = x. Both axes run from 0 to the same nice
 * maximum so the diagonal stays at 45 degrees. Non-finite points are left
 * out. */
void svg_calibration(html_buf *b, const char *title, size_t n,
                     const double *pred, const double *obs, const double *rows);

/* Daily counts as small bars from first_day (a day number), ndays long;
 * days with mark[i] set get a shaded band behind them (an alert's window).
 * mark may be NULL. Scaled to its own maximum; the first and last dates
 * are written under the bars. */
void svg_day_bars(html_buf *b, const char *title, int first_day, size_t ndays,
                  const double *counts, const unsigned char *mark);

/* One horizontal bar split by share of values[s] (negative as 0), with a
 * legend giving each series' value_labels[s] (may be NULL) and share: what
 * one date's composition looks like (a stacked-bar chart of one date reads
 * as a single block). The svg has class "chart <cls>"; segments
 * "seg-<series name>". */
void svg_share_bar(html_buf *b, const char *cls, const char *title,
                   size_t nseries, const char *const *series_names,
                   const char *const *colors, const double *values,
                   const char *const *value_labels);

#endif
