/* report.h — `vigil report`: one self-contained HTML page (inline CSS and SVG,
 * no scripts, no external resources) summarising vigil's results as of a date.
 */
#ifndef VG_REPORT_H
#define VG_REPORT_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/err.h"
#include "core/log.h"

typedef struct report_opts {
    int as_of;            /* day number: nothing after this day is shown */
    const char *out_path; /* the HTML file, replaced atomically */
    int score_dates;      /* tier history: the last N score dates <= as_of */
    int top_customers;    /* rows in the riskiest-customers table */
    int trend_days;       /* topic trends: daily counts over the days before */
    int top_topics;       /* topics charted (plus any with an open alert) */
} report_opts;

/* Fills the defaults: 12 score dates, 20 customers, 30 days, 8 topics. */
void report_opts_default(report_opts *o);

/* Reads vigil's tables and the source tables in one read-only snapshot and
 * writes the page to a temporary file next to out_path, renamed over it at
 * the end, so a reader never sees half a report. A section whose data is
 * missing (no model, no scores, no topics, a source table that cannot be
 * read) shows a note naming the command to run and the report still
 * succeeds. Strings from the database are escaped. Only scores with
 * as_of <= D, models trained as of <= D, tickets created before D and alerts
 * detected by D are read; the source customers' name, plan and mrr and the
 * alert rows are current state (an alert's window is cut at D).
 * VG_EIO when the file cannot be written (the message names the path); on
 * success *summary (owned by the caller) describes the sections:
 * {"as_of","out","bytes","model_id","scores_as_of","sections":{name:
 * "data"|"empty"|"error"},"rows":{name: count}}. */
vg_code report_write(db_conn *db, const vg_config *cfg, const vg_log *lg,
                     const report_opts *o, json_t **summary, vg_error *err);

#endif
