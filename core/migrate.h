/* migrate.h — versioned, idempotent migrations of schema vigil.
 * The SQL files in sql/migrations are compiled in (sql/embed.cmake). */
#ifndef VG_MIGRATE_H
#define VG_MIGRATE_H

#include "db.h"

typedef struct migration_t {
    int version;
    const char *name;
    const char *sql;
} migration_t;

extern const migration_t migration_list[];
extern const int migration_count;

/* Bring schema vigil to the newest version. Each migration runs in its own
 * transaction under an advisory lock, so two concurrent `vigil init` calls
 * are safe. from and to receive the versions before and after. */
vg_code migrate_run(db_conn *db, int *from, int *to, vg_error *err);
/* Current version (0 when schema vigil does not exist yet). */
vg_code migrate_version(db_conn *db, int *version, vg_error *err);
/* Fail with a hint to run `vigil init` when the schema is missing or old. */
vg_code migrate_require(db_conn *db, vg_error *err);

#endif
