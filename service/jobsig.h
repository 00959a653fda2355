/* jobsig.h — SIGTERM and SIGINT during a command-line job: the job is
 * canceled, not killed, so its transaction rolls back and its vigil.job_runs
 * row says `canceled`. A watcher thread takes the signals (blocked in every
 * other thread), cancels the statement in flight and sets the flag the
 * database layer checks before each new statement. A second signal ends the
 * process at once (the next job's start closes its row as abandoned). */
#ifndef VG_JOBSIG_H
#define VG_JOBSIG_H

#include "core/db.h"

typedef struct jobsig jobsig;

/* Start watching for db's job; NULL when the watcher cannot be set up (the
 * job then runs with the default signal actions). */
jobsig *jobsig_start(db_conn *db);
/* Stop watching (db no longer checks the flag); returns the signal that
 * arrived (SIGTERM, SIGINT) or 0. Frees w; NULL is allowed. */
int jobsig_stop(jobsig *w);

#endif
