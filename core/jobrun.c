/* jobrun.c — inserts and closes vigil.job_runs rows with bound parameters.
 * Called in autocommit mode: callers run it outside their transaction. */
#include "jobrun.h"

#include <stdio.h>
#include <stdlib.h>

vg_code jobrun_start(db_conn *db, const char *job, const char *as_of,
                     const char *scheduled_for, long long *run_id,
                     vg_error *err)
{
    const char *p[3] = {job, as_of, scheduled_for};
    PGresult *r = NULL;
    vg_code rc =
        db_exec(db,
                "INSERT INTO vigil.job_runs (job, as_of, scheduled_for) "
                "VALUES ($1, $2::date, $3::timestamptz) RETURNING run_id",
                3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    *run_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return VG_OK;
}

vg_code jobrun_finish(db_conn *db, long long run_id, const char *status,
                      const json_t *stats, const char *error, vg_error *err)
{
    char id[32];
    snprintf(id, sizeof id, "%lld", run_id);
    char *js = stats ? json_dumps(stats, JSON_COMPACT) : NULL;
    const char *p[4] = {id, status, js, error};
    vg_code rc =
        db_exec(db,
                "UPDATE vigil.job_runs SET finished_at = clock_timestamp(), "
                "status = $2, stats = $3::jsonb, error = $4 WHERE run_id = $1",
                4, p, NULL, err);
    free(js);
    return rc;
}
