/* jobrun.h — the vigil.job_runs ledger: one row per run (attempt) of a job.
 * Rows are written outside the job's own transaction so a failed job is
 * still recorded after its work rolls back. */
#ifndef VG_JOBRUN_H
#define VG_JOBRUN_H

#include <jansson.h>
#include <stddef.h>

#include "db.h"

/* Leases: whoever runs a row holds a session advisory lock derived from its
 * run id (the two-int4 key space: run_id >> 31, run_id & 0x7fffffff) for as
 * long as the run lasts. A 'running' row whose lock nobody holds belongs to
 * a process that died; jobrun_sweep() closes it. */

/* Insert a 'running' row and take its lease, in one statement so nobody sees
 * the row before the lock is held; scheduled_for may be NULL (command-line
 * run). */
vg_code jobrun_start(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, long long *run_id,
                     vg_error *err);
/* For a job child of `serve`: adopt the row serve claimed (whose lease serve
 * holds). Fails when the row is no longer running (closed, or taken over
 * after serve lost it); `job` only names it in that message. Records as_of. */
vg_code jobrun_attach(db_conn *db, long long run_id, const char *job,
                      const char *as_of, vg_error *err);
/* Close a running row with status ok|failed|canceled, stats (may be NULL, not
 * stolen) and an error text (may be NULL). Fails when the row is no longer
 * running (someone else closed it). */
vg_code jobrun_finish(db_conn *db, long long run_id, const char *status,
                      const json_t *stats, const char *error, vg_error *err);
/* One run at a time of a kind of work for one date (`what` names it: score
 * and daily both write a date's scores): a session lock keyed on (what,
 * as_of). VG_EBUSY, naming the run in progress, when another session holds
 * it; release with jobrun_exclusive_end (a closed connection drops it). */
vg_code jobrun_exclusive(db_conn *db, const char *what, const char *as_of,
                         vg_error *err);
void jobrun_exclusive_end(db_conn *db, const char *what, const char *as_of);

/* Drop the lease taken by jobrun_start/jobrun_claim/jobrun_relock; call it
 * only while holding it (PostgreSQL warns otherwise). Best effort: a closed
 * connection drops it anyway. */
void jobrun_release(db_conn *db, long long run_id);

/* Tag what this session writes from now on with run_id (0: stop tagging):
 * the run_id columns of vigil's result tables default to the session
 * setting vigil.run_id (migration 006), which is what `vigil runs undo`
 * removes by. */
vg_code jobrun_tag(db_conn *db, long long run_id, vg_error *err);

/* ---- for `serve` ----------------------------------------------------------
 * A scheduled time (job, scheduled_for) "needs a run" when none of its
 * attempts is running or ok, fewer than max_attempts were made, and either
 * there is no attempt yet (only if allow_fresh) or the latest attempt was
 * canceled, abandoned, or failed with a retry due (stats.retry_at <= now).
 * A failure without retry_at is final: it is reported, not redone. */

/* Claim the next attempt of a scheduled time if it needs a run, taking its
 * lease. *run_id is 0 when there is nothing to do (another instance has it,
 * it succeeded, or it failed for good). */
vg_code jobrun_claim(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, int allow_fresh,
                     int max_attempts, long long *run_id, int *attempt,
                     vg_error *err);
/* serve's own close after its child exited: status ok|failed|canceled, an
 * error (kept if the child already wrote one) and, for a failure to retry,
 * retry_in_s >= 0: stats.retry_at becomes the database's clock plus that
 * many seconds (< 0: no retry). Touches only a running row, or a failed one
 * when retrying (the child may have closed it). */
vg_code jobrun_close(db_conn *db, long long run_id, const char *status,
                     const char *error, int retry_in_s, vg_error *err);
/* Close every running row whose lease nobody holds, except the caller's own
 * runs (own[0..nown)), as failed 'abandoned: ...'. *closed counts them. */
vg_code jobrun_sweep(db_conn *db, const long long *own, size_t nown,
                     int *closed, vg_error *err);
/* Take the lease of a run again (after a reconnect). 1 if held now, 0 if
 * someone else holds it, -1 on a database error. */
int jobrun_relock(db_conn *db, long long run_id);

#endif
