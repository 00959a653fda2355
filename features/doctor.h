/* doctor.h — `vigil check`: does a company's mapping (source.schema's
 * customers, usage_events and tickets) meet the contract well enough to run?
 * It reads the catalog and a few aggregates, never a job's code path, so it
 * can explain a problem that would otherwise surface as a bare SQL error at
 * 03:00. Lives in features/ because the contract's columns are what the
 * feature build reads. */
#ifndef VG_DOCTOR_H
#define VG_DOCTOR_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"

/* Severity of one finding, in the order they rank. */
typedef enum {
    DOCTOR_NOTE,  /* worth knowing, costs nothing or little */
    DOCTOR_WARN,  /* vigil runs, but with less to go on */
    DOCTOR_ERROR, /* a job would fail or learn nothing */
} doctor_level;

/* Inspect cfg->source_schema as of as_of (labels use cfg's horizon and
 * lookback). *report is one JSON object: schema, as_of, relations (rows,
 * date range, columns with type and null share, dirty-row counts), labels,
 * latest_data, findings [{level, relation, column, message}], counts per
 * level and verdict ("ready", "ready_with_warnings", "not_ready"); *worst is
 * the highest level found (DOCTOR_NOTE when nothing). Fails only when the
 * database itself fails; a relation that cannot be read is a finding. */
vg_code doctor_run(db_conn *db, const vg_config *cfg, int as_of,
                   json_t **report, doctor_level *worst, vg_error *err);

/* The cheap part of the check, for every job before it reads the source:
 * the three relations exist with the columns no row can do without, and
 * customer and ticket ids are text.
 * - Something missing: VG_OK, with *missing set to VG_EDATA and what to
 *   create ("create a view crm.tickets with columns ...", "crm.tickets has
 *   no column created_at ..."); the caller may let the job fail first for a
 *   reason that comes before it (no model), then say this.
 * - An id of another type: VG_EDATA in *err with the cast to write. Every
 *   job refuses it: train and score would work and topics and outreach
 *   fail later, on the first join with vigil's own tables.
 * - Otherwise VG_OK with *missing cleared, or the database's error. */
vg_code doctor_require(db_conn *db, const vg_config *cfg, vg_error *missing,
                       vg_error *err);

#endif
