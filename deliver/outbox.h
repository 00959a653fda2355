/* outbox.h — deliveries of tasks and trend alerts to the outside: a webhook
 * (JSON or Slack-shaped) and Request Tracker 5 tickets. Rows of
 * vigil.deliveries are queued in the transaction that creates the task and
 * sent later with retries, backoff and an idempotency key. */
#ifndef VG_DELIVER_OUTBOX_H
#define VG_DELIVER_OUTBOX_H

#include "core/db.h"
#include "core/log.h"
#include "deliver/config.h"

/* Queue what is not queued yet, inside the caller's transaction: every open
 * or assigned task for each configured target, open trend alerts for the
 * webhook (notify.alerts), and the closing of RT tickets whose task vigil
 * closed. Idempotent (unique idempotency keys). *queued counts new rows.
 * A target seen for the first time (vigil.delivery_targets) gets only tasks
 * and alerts newer than the ones that existed then, and this transaction's
 * new tasks: configuring a webhook does not flood it with the backlog. */
vg_code deliver_enqueue(db_conn *db, const deliver_config *dc, long *queued,
                        vg_error *err);

typedef struct deliver_stats {
    long attempted, delivered, retried, gave_up, pending;
    long rt_checked, rt_done, rt_dismissed;
} deliver_stats;

/* Send due deliveries of the configured targets, one row per transaction
 * (FOR UPDATE SKIP LOCKED, so several senders share the work and a crash
 * re-sends with the same key). At most `limit` attempts (0: no limit). With
 * wait_s > 0, keep going until nothing is pending or wait_s has passed,
 * sleeping until the next retry is due. */
vg_code deliver_send(db_conn *db, const deliver_config *dc, const vg_log *lg,
                     long limit, double wait_s, deliver_stats *st,
                     vg_error *err);

/* Read the status of every open task's RT ticket: resolved in RT -> done
 * (outcome from rt.outcome_field, else "resolved_in_rt"), rejected or
 * deleted -> dismissed. */
vg_code deliver_rt_sync(db_conn *db, const deliver_config *dc, const vg_log *lg,
                        deliver_stats *st, vg_error *err);

/* Make given-up deliveries due again (after fixing a URL or a password). */
vg_code deliver_retry_failed(db_conn *db, long *n, vg_error *err);

#endif
