/* tasks.h — the life of an outreach task after the queue made it: list,
 * claim, done, dismiss with an outcome, and the report of what each
 * playbook's tasks came to. Every change is one conditional UPDATE, so two
 * specialists acting at once cannot both win. */
#ifndef VG_OUTREACH_TASKS_H
#define VG_OUTREACH_TASKS_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"

typedef struct tasks_filter {
    const char *status;   /* open|assigned|done|dismissed|active (open or
                             assigned)|all; NULL: active */
    const char *assignee; /* NULL: anyone */
    const char *playbook;
    const char *customer;
    long limit;          /* 0: 100 */
    const char *made_by; /* YYYY-MM-DD: only tasks made on or before it */
} tasks_filter;

/* *out (caller owns) is a JSON array of tasks, highest priority first
 * (status "all": newest first), each with the customer's name, language,
 * MRR, due date and how many active tasks the customer has. */
vg_code tasks_list(db_conn *db, const tasks_filter *f, json_t **out,
                   vg_error *err);
/* How many tasks the filter matches, without the limit. */
vg_code tasks_count(db_conn *db, const tasks_filter *f, long *total,
                    vg_error *err);
/* One task with its whole reason, body and the customer's other active
 * tasks ("other_active_tasks"). VG_EUSAGE naming the id if there is none. */
vg_code tasks_show(db_conn *db, long long task_id, json_t **task,
                   vg_error *err);

/* The specialist takes the task: it must be open, or assigned to them, or
 * (force) assigned to someone else; the specialist must exist and be active.
 * *task (caller owns, may be NULL) is the task afterwards, with "warning"
 * set when the specialist does not speak the customer's language. */
vg_code tasks_claim(db_conn *db, long long task_id, const char *specialist,
                    int force, json_t **task, vg_error *err);

/* Close an open or assigned task: status "done" or "dismissed", an outcome
 * from tasks_outcomes(), an optional note and time (NULL: now). */
vg_code tasks_close(db_conn *db, long long task_id, const char *status,
                    const char *outcome, const char *note, const char *at,
                    json_t **task, vg_error *err);

/* The outcomes a person may record, space-separated. */
const char *tasks_outcomes(void);
int tasks_outcome_valid(const char *outcome);

/* Per playbook: tasks, open, assigned, done, dismissed, auto_closed, each
 * outcome's count, MRR of saved and of churned customers; and "saved" as
 * claimed against what happened by day as_of: saved_confirmed (still a
 * customer train.horizon_days after the task closed), saved_lost (canceled
 * before that), saved_pending (too early to say), each with its MRR. */
vg_code tasks_report(db_conn *db, const vg_config *cfg, int as_of, json_t **out,
                     vg_error *err);

#endif
