/* rt.h — the Request Tracker 5 connector over its REST 2 API: one RT ticket
 * per outreach task (found again by a custom field holding the task id, so a
 * retried create never duplicates), status changes, and reading back. */
#ifndef VG_DELIVER_RT_H
#define VG_DELIVER_RT_H

#include <stddef.h>

#include "core/err.h"
#include "deliver/config.h"

/* What one exchange with a remote system came to. */
typedef struct deliver_attempt {
    int ok;          /* done: nothing left to do */
    long status;     /* last HTTP status, 0 when none arrived */
    char error[512]; /* why not ok */
    char external_id[64];
} deliver_attempt;

/* Find the ticket whose rt.task_field is task_id, or create it in rt.queue
 * with subject and content; a->external_id is the ticket id. */
vg_code deliver_rt_ensure_ticket(const deliver_config *dc, long long task_id,
                                 const char *subject, const char *content,
                                 deliver_attempt *a, vg_error *err);
/* Set the ticket's Status and read it back: RT answers 200 to a refused
 * change, so only the ticket's own state tells. */
vg_code deliver_rt_set_status(const deliver_config *dc, const char *ticket_id,
                              const char *status, deliver_attempt *a,
                              vg_error *err);
/* Read Status and the rt.outcome_field value ("" when unset). */
vg_code deliver_rt_get_ticket(const deliver_config *dc, const char *ticket_id,
                              char *status, size_t status_n, char *outcome,
                              size_t outcome_n, deliver_attempt *a,
                              vg_error *err);

#endif
