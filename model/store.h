/* store.h — models in vigil.models: insert, promote to champion, load.
 * A stored model is the booster plus the JSON that explains how to feed it
 * (features), how it was made (params, incl. calibration) and how good it is.
 */
#ifndef VG_STORE_H
#define VG_STORE_H

#include <jansson.h>

#include "core/db.h"
#include "model/booster.h"
#include "model/calib.h"

typedef struct stored_model {
    long long model_id;
    int as_of; /* day */
    int horizon_days;
    json_t *features; /* as stored */
    json_t *params;
    json_t *metrics;
    booster *b;
    calib *cal;
} stored_model;

/* Insert a model (not champion). The booster is saved as UBJSON bytes. */
vg_code store_insert(db_conn *db, int as_of, int horizon,
                     const json_t *features, const json_t *params,
                     const json_t *metrics, booster *b, long long *model_id,
                     vg_error *err);
/* Make model_id the only champion of its horizon (inside the caller's
 * transaction if one is open). */
vg_code store_promote(db_conn *db, long long model_id, int horizon,
                      vg_error *err);
/* Load model_id, or (model_id <= 0) the champion for `horizon`, falling back
 * to the newest champion of any horizon. VG_ENOMODEL when there is none. */
vg_code store_load(db_conn *db, long long model_id, int horizon,
                   stored_model **out, vg_error *err);
void store_model_free(stored_model *m);

#endif
