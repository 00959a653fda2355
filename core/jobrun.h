/* jobrun.h — the vigil.job_runs ledger: one row per run of a job.
 * Rows are written outside the job's own transaction so a failed job is
 * still recorded after its work rolls back. */
#ifndef VG_JOBRUN_H
#define VG_JOBRUN_H

#include <jansson.h>

#include "db.h"

/* Insert a 'running' row; scheduled_for may be NULL (command-line run). */
vg_code jobrun_start(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, long long *run_id,
                     vg_error *err);
/* Close the row with status ok|failed|canceled, stats (may be NULL, not
 * stolen) and an error text (may be NULL). */
vg_code jobrun_finish(db_conn *db, long long run_id, const char *status,
                      const json_t *stats, const char *error, vg_error *err);

#endif
