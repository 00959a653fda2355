/* alerts.h — trend alerts as of a date: daily counts per topic from
 * PostgreSQL, the tests of topics/trend.h, and each alert's lifecycle. */
#ifndef VG_ALERTS_H
#define VG_ALERTS_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"
#include "topics/issues.h"

/* Inside the caller's transaction, after the tickets before as_of have their
 * topics (model_id's): first forgets what earlier runs for as_of or later
 * wrote, then per topic of the model raises a new alert (significant, none
 * open), updates the open one (still elevated: observed, expected, p-value,
 * customers, MRR and samples over its whole window, which grows to as_of - 1)
 * or resolves it (back to normal, or its topic left the model). tickets and
 * customers are quoted, qualified names. *stats: {"alerts" (open after the
 * run), "alerts_raised", "alerts_updated", "alerts_resolved"}. cache (may
 * be NULL) keeps the words of tickets across the days of one process. */
vg_code topics_alerts(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      int as_of, long long model_id, const char *tickets,
                      const char *customers, issue_cache *cache, json_t **stats,
                      vg_error *err);

/* Removes alert history written by runs for dates >= from (YYYY-MM-DD) and
 * restores each earlier alert to what its last earlier day said. */
vg_code topics_alerts_rewind(db_conn *db, const char *from, vg_error *err);

#endif
