/* tasks.h — the life of an outreach task after the queue made it: list,
 * claim, done, dismiss with an outcome, and the report of what each
 * playbook's tasks came to. Every change is one conditional UPDATE, so two
 * specialists acting at once cannot both win. */
#ifndef VG_OUTREACH_TASKS_H
#define VG_OUTREACH_TASKS_H

#include <jansson.h>

#include "core/db.h"

typedef struct tasks_filter {
    const char *status;   /* open|assigned|done|dismissed|active (open or
                             assigned); NULL: active */
    const char *assignee; /* NULL: anyone */
    const char *playbook;
    const char *customer;
    long limit; /* 0: 100 */
} tasks_filter;

/* *out (caller owns) is a JSON array of tasks, highest priority first. */
vg_code tasks_list(db_conn *db, const tasks_filter *f, json_t **out,
                   vg_error *err);

/* The specialist takes the task: it must be open, or assigned to them, or
 * (force) assigned to someone else; the specialist must exist and be active.
 * *task (caller owns, may be NULL) is the task afterwards. */
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
 * outcome's count, MRR of saved and of churned customers. */
vg_code tasks_report(db_conn *db, json_t **out, vg_error *err);

#endif
