/* engine.h — `vigil topics`: fits or extends the ticket topics as of a date,
 * keeps topic ids stable across runs, and maintains the trend alerts. */
#ifndef VG_ENGINE_H
#define VG_ENGINE_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"

typedef struct topics_opts {
    int as_of;         /* day number: only tickets created before it are read */
    int k;             /* > 0: refit with exactly k topics */
    int refit;         /* refit even if the latest model is recent enough */
    int incremental;   /* never refit: assign new tickets to the latest model */
    int replay;        /* allow rewriting results of later dates */
    int skip_if_later; /* later results exist: do nothing, say so in the
                          summary ("skipped") instead of failing (daily's
                          catch-up runs after downtime) */
    int quiet;
    int backfill; /* > 0: first build the alert history of the days
                     [as_of - backfill, as_of); 0: do so for
                     topics.backfill_days when nothing has run yet;
                     -1: never */
} topics_opts;

/* One run, in one transaction (concurrent runs queue on an advisory lock):
 *  1. a full re-clustering of the tickets of the last topics.window_days
 *     when the latest model is topics.refit_days old (or --refit/--k), its
 *     topics matched to the previous model's by centroid cosine so ids carry
 *     over (splits, merges, new and gone topics recorded in topic_links);
 *     otherwise tickets without a topic are assigned to the latest model;
 *  2. trend alerts for the as-of date (topics/trend.h), one per ongoing event.
 * A date earlier than the latest run's is refused unless replay is set, which
 * first removes everything runs at that date or later produced, so a replay
 * day by day reproduces what each day said. With a backfill (o->backfill,
 * or the first run ever on an installation with history) the past days run
 * first, each in its own transaction, so the alert feed has history:
 * "backfill": {"days", "from", "alerts_raised", "alerts_resolved"} in the
 * summary. *summary is owned by the caller: {"as_of", "topics",
 * "assigned", "alerts", ...}. */
vg_code topics_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                   const topics_opts *o, json_t **summary, vg_error *err);

#endif
