/* queue.h — `vigil outreach`: playbook triggers as of a date become outreach
 * tasks (deduplicated, cooled down, auto-closed) assigned to specialists.
 * One transaction per run, serialised by an advisory lock. */
#ifndef VG_OUTREACH_QUEUE_H
#define VG_OUTREACH_QUEUE_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"
#include "deliver/config.h"
#include "outreach/playbook.h"

/* Run every playbook of `oc` as of day `as_of` (rows strictly before as_of
 * 00:00 UTC, scores of as_of and earlier), then assign open tasks and queue
 * their deliveries, all in one transaction: a failure or a crash leaves the
 * queue as it was. *summary (caller owns) holds as_of, created, updated,
 * skipped_duplicates, cooldown, auto_closed, assigned, unassigned, open and
 * per-playbook counts. */
vg_code outreach_run(db_conn *db, const vg_config *cfg,
                     const outreach_config *oc, const deliver_config *dc,
                     const vg_log *lg, int as_of, json_t **summary,
                     vg_error *err);

/* The source columns the playbooks name (date_within's customers column)
 * exist with a usable type; VG_ECONFIG naming the key otherwise. `serve`
 * checks this at start and on reload, so a typo does not wait for 03:00. */
vg_code outreach_check_columns(db_conn *db, const vg_config *cfg,
                               const outreach_config *oc, vg_error *err);

/* Assign every open task (priority desc, task_id) to the active specialist
 * speaking the customer's language, holding the required skills, with the
 * lowest load/daily_capacity (ties: specialist_id); tasks nobody can take
 * get reason.unassigned. A customer has one owner: a task of a customer
 * whose other task someone already holds goes to that person (if active
 * and speaking the language) without counting against their capacity.
 * Runs inside the caller's transaction. `stamp` is the assignment time
 * (SQL timestamptz text). */
vg_code outreach_assign(db_conn *db, const char *stamp, long *assigned,
                        long *unassigned, vg_error *err);

#endif
