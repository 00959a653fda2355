/* specialists.c — vigil.specialists from the command line. Lists arrive as
 * comma-separated text and become text[] in PostgreSQL (string_to_array),
 * so no array literal is ever built by hand. */
#include "outreach/specialists.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_JSON                                                              \
    "json_build_object('specialist_id', s.specialist_id, 'name', s.name, "     \
    "'email', s.email, 'languages', s.languages, 'skills', s.skills, "         \
    "'daily_capacity', s.daily_capacity, 'active', s.active, 'assigned', "     \
    "(SELECT count(*) FROM vigil.outreach_tasks t WHERE t.assignee = "         \
    "s.specialist_id AND t.status = 'assigned'))"

int specialists_list_invalid(const char *csv, char *why, size_t n)
{
    size_t item = 0;
    for (const char *p = csv;; p++) {
        if (*p == ',' || *p == '\0') {
            if (item == 0) {
                snprintf(why, n, "'%s' has an empty item", csv);
                return 1;
            }
            if (*p == '\0')
                return 0;
            item = 0;
            continue;
        }
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_') {
            snprintf(why, n,
                     "'%s': items are letters, digits, '-' or '_' separated "
                     "by commas",
                     csv);
            return 1;
        }
        item++;
    }
}

static vg_code check_fields(const specialist_fields *f, vg_error *err)
{
    char why[256];
    if (f->languages && specialists_list_invalid(f->languages, why, sizeof why))
        return vg_fail(err, VG_EUSAGE, "--languages %s (e.g. en,de)", why);
    if (f->skills && *f->skills &&
        specialists_list_invalid(f->skills, why, sizeof why))
        return vg_fail(err, VG_EUSAGE, "--skills %s (e.g. billing,api)", why);
    if (f->email && !strchr(f->email, '@'))
        return vg_fail(err, VG_EUSAGE, "--email '%s' is not an e-mail address",
                       f->email);
    if (f->name && !*f->name)
        return vg_fail(err, VG_EUSAGE, "--name must not be empty");
    return VG_OK;
}

static vg_code one_row(PGresult *r, json_t **out, vg_error *err)
{
    *out = NULL;
    if (PQntuples(r) == 1)
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    if (!*out)
        return vg_fail(err, VG_EINTERNAL, "specialists: unreadable result");
    return VG_OK;
}

vg_code specialists_add(db_conn *db, const char *id, const specialist_fields *f,
                        json_t **out, vg_error *err)
{
    *out = NULL;
    if (!id || !*id)
        return vg_fail(err, VG_EUSAGE,
                       "a specialist id is needed: vigil specialists add ID "
                       "--name N --email E --languages en,de");
    vg_code rc = check_fields(f, err);
    if (rc != VG_OK)
        return rc;
    if (!f->name || !f->email || !f->languages)
        return vg_fail(err, VG_EUSAGE,
                       "add needs --name, --email and --languages (the "
                       "languages route tasks: ISO 639-1 codes like en,de)");
    const db_param p[6] = {DB_TEXT(id),
                           DB_TEXT(f->name),
                           DB_TEXT(f->email),
                           DB_TEXT(f->languages),
                           DB_TEXT(f->skills ? f->skills : ""),
                           DB_INT(f->capacity)};
    PGresult *r = NULL;
    rc = db_exec_params(
        db,
        "WITH s AS (INSERT INTO vigil.specialists AS s (specialist_id, "
        " name, email, languages, skills, daily_capacity, active) "
        " VALUES ($1, $2, $3, string_to_array(lower($4), ','), "
        " coalesce(string_to_array(nullif($5, ''), ','), '{}'), "
        " CASE WHEN $6::int < 0 THEN 10 ELSE $6::int END, true) "
        " ON CONFLICT (specialist_id) DO NOTHING RETURNING *) "
        "SELECT " SPEC_JSON "::text FROM s",
        6, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "specialist '%s' already exists: change it with `vigil "
                     "specialists update %s ...`",
                     id, id);
    else if (rc == VG_OK)
        rc = one_row(r, out, err);
    PQclear(r);
    return rc;
}

vg_code specialists_update(db_conn *db, const char *id,
                           const specialist_fields *f, json_t **out,
                           vg_error *err)
{
    *out = NULL;
    vg_code rc = check_fields(f, err);
    if (rc != VG_OK)
        return rc;
    const db_param p[7] = {DB_TEXT(id),        DB_TEXT(f->name),
                           DB_TEXT(f->email),  DB_TEXT(f->languages),
                           DB_TEXT(f->skills), DB_INT(f->capacity),
                           DB_INT(f->active)};
    PGresult *r = NULL;
    if ((rc = db_begin(db, err)) != VG_OK)
        return rc;
    rc = db_exec_params(
        db,
        "WITH s AS (UPDATE vigil.specialists SET "
        " name = coalesce($2, name), email = coalesce($3, email), "
        " languages = coalesce(string_to_array(lower($4), ','), languages), "
        " skills = CASE WHEN $5::text IS NULL THEN skills ELSE "
        "  coalesce(string_to_array(nullif($5, ''), ','), '{}') END, "
        " daily_capacity = CASE WHEN $6::int < 0 THEN daily_capacity ELSE "
        "  $6::int END, "
        " active = CASE WHEN $7::int < 0 THEN active ELSE $7::int = 1 END "
        " WHERE specialist_id = $1 RETURNING *) "
        "SELECT " SPEC_JSON "::text FROM s",
        7, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "no specialist '%s': see `vigil specialists list`", id);
    else if (rc == VG_OK)
        rc = one_row(r, out, err);
    PQclear(r);
    r = NULL;
    /* Someone who left holds nothing: their tasks go back to the queue now
     * rather than at the next outreach run. */
    if (rc == VG_OK && f->active == 0)
        rc = db_exec_params(
            db,
            "WITH t AS (UPDATE vigil.outreach_tasks SET status = "
            " 'open', assignee = NULL, assigned_at = NULL, "
            " updated_at = now(), reason = (coalesce(reason, '{}') - "
            " 'assignment') || jsonb_build_object('released_from', "
            " assignee) WHERE assignee = $1 AND status = 'assigned' "
            " RETURNING 1) SELECT count(*) FROM t",
            1, p, &r, err);
    if (rc == VG_OK && r)
        json_object_set_new(*out, "released_tasks",
                            json_integer(atoll(PQgetvalue(r, 0, 0))));
    PQclear(r);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    if (rc != VG_OK) {
        db_rollback(db);
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

vg_code specialists_list(db_conn *db, int include_inactive, json_t **out,
                         vg_error *err)
{
    const char *p[1] = {include_inactive ? "t" : "f"};
    PGresult *r = NULL;
    *out = NULL;
    vg_code rc = db_exec(db,
                         "SELECT coalesce(json_agg(" SPEC_JSON
                         " ORDER BY s.specialist_id), '[]')::text FROM "
                         "vigil.specialists s WHERE s.active OR $1::boolean",
                         1, p, &r, err);
    if (rc == VG_OK)
        rc = one_row(r, out, err);
    PQclear(r);
    return rc;
}
