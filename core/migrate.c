/* migrate.c — applies the embedded migrations in order, recording each in
 * vigil.schema_migrations; an advisory lock serialises concurrent inits. */
#include "migrate.h"

#include <stdio.h>
#include <stdlib.h>

/* Any constant works; it only has to be the same for every vigil process. */
#define MIGRATE_LOCK_KEY "7411001"

static int latest_version(void)
{
    int v = 0;
    for (int i = 0; i < migration_count; i++)
        if (migration_list[i].version > v)
            v = migration_list[i].version;
    return v;
}

vg_code migrate_version(db_conn *db, int *version, vg_error *err)
{
    PGresult *r = NULL;
    *version = 0;
    /* Two statements: PostgreSQL resolves every relation a statement names
     * before running it, so one CASE cannot skip a missing table. */
    vg_code rc =
        db_exec(db, "SELECT to_regclass('vigil.schema_migrations') IS NOT NULL",
                0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    int exists = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (!exists)
        return VG_OK;
    rc = db_exec(db,
                 "SELECT coalesce(max(version), 0) FROM "
                 "vigil.schema_migrations",
                 0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    *version = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    return VG_OK;
}

vg_code migrate_run(db_conn *db, int *from, int *to, vg_error *err)
{
    vg_code rc =
        db_run(db, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err);
    if (rc != VG_OK)
        return rc;
    int have = 0;
    rc = db_run(db,
                /* CREATE SCHEMA IF NOT EXISTS checks CREATE on the database
                 * even when the schema exists: a role that owns a
                 * pre-created schema vigil needs no more. */
                "DO $$BEGIN IF to_regnamespace('vigil') IS NULL THEN "
                "CREATE SCHEMA vigil; END IF; END$$;"
                "CREATE TABLE IF NOT EXISTS vigil.schema_migrations ("
                " version int PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())",
                err);
    if (rc == VG_OK)
        rc = migrate_version(db, &have, err);
    if (from)
        *from = have;
    for (int i = 0; rc == VG_OK && i < migration_count; i++) {
        const migration_t *m = &migration_list[i];
        if (m->version <= have)
            continue;
        const db_param params[2] = {DB_INT(m->version), DB_TEXT(m->name)};
        rc = db_begin(db, err);
        if (rc == VG_OK)
            rc = db_run(db, m->sql, err);
        if (rc == VG_OK)
            rc = db_exec_params(
                db,
                "INSERT INTO vigil.schema_migrations (version, name) "
                "VALUES ($1, $2)",
                2, params, NULL, err);
        if (rc == VG_OK)
            rc = db_commit(db, err);
        if (rc != VG_OK) {
            db_rollback(db);
            vg_wrap(err, "migration %s: ", m->name);
        }
    }
    if (to) {
        int now = have;
        /* only to report the version reached: on failure `now` keeps the
         * version read at the start, and the error is rc's */
        if (rc == VG_OK)
            migrate_version(db, &now, NULL);
        *to = now;
    }
    /* Ignored on purpose: an unlock fails only with the connection, and a
     * session's advisory locks end with it. */
    PGresult *r =
        PQexec(db_pg(db), "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
    PQclear(r);
    return rc;
}

vg_code migrate_require(db_conn *db, vg_error *err)
{
    int v = 0;
    vg_code rc = migrate_version(db, &v, err);
    if (rc != VG_OK)
        return rc;
    if (v == 0)
        return vg_fail(err, VG_EDB,
                       "this database has no schema vigil yet: run `vigil "
                       "init` first (it creates it; `vigil check` tells "
                       "whether your source mapping is ready)");
    if (v < latest_version())
        return vg_fail(err, VG_EDB,
                       "schema vigil is at version %d, this vigil needs %d: "
                       "run `vigil init` first",
                       v, latest_version());
    return VG_OK;
}
