/* specialists.h — the support team the outreach queue assigns to: add,
 * update, deactivate and list vigil.specialists without SQL. */
#ifndef VG_OUTREACH_SPECIALISTS_H
#define VG_OUTREACH_SPECIALISTS_H

#include <jansson.h>

#include "core/db.h"

/* What to write; NULL fields (and capacity < 0) are left as they are on
 * update and take the table's defaults on add. languages and skills are
 * comma-separated ("en,de"); languages are stored lower-case. */
typedef struct specialist_fields {
    const char *name, *email, *languages, *skills;
    int capacity; /* -1: unchanged / default */
    int active;   /* -1: unchanged; 0 or 1 */
} specialist_fields;

/* A new specialist (VG_EUSAGE if the id exists or a value is invalid). */
vg_code specialists_add(db_conn *db, const char *id, const specialist_fields *f,
                        json_t **out, vg_error *err);
/* Change an existing one (VG_EUSAGE naming the id if there is none). */
vg_code specialists_update(db_conn *db, const char *id,
                           const specialist_fields *f, json_t **out,
                           vg_error *err);
/* Every specialist with their open load: [{specialist_id, name, email,
 * languages, skills, daily_capacity, active, assigned}], by id. */
vg_code specialists_list(db_conn *db, int include_inactive, json_t **out,
                         vg_error *err);

/* Checks a comma-separated list: items of letters, digits, '-', '_' only,
 * no empty item. Returns 0 if fine, else fills why (n bytes). */
int specialists_list_invalid(const char *csv, char *why, size_t n);

#endif
