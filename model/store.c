/* store.c — reads and writes vigil.models rows through core/db (so errors are
 * classified like everywhere else); the booster travels as binary bytea. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

void store_model_free(stored_model *m)
{
    if (!m)
        return;
    json_decref(m->features);
    json_decref(m->params);
    json_decref(m->metrics);
    booster_free(m->b);
    calib_free(m->cal);
    free(m);
}

vg_code store_insert(db_conn *db, int as_of, int horizon,
                     const json_t *features, const json_t *params,
                     const json_t *metrics, booster *b, long long *model_id,
                     vg_error *err)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    char *fj = NULL, *pj = NULL, *mj = NULL;
    PGresult *r = NULL;
    vg_code rc = booster_save(b, &buf, &len, err);
    if (rc != VG_OK)
        return rc;
    fj = json_dumps(features, JSON_COMPACT);
    pj = json_dumps(params, JSON_COMPACT);
    mj = json_dumps(metrics, JSON_COMPACT);
    if (!fj || !pj || !mj) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    char d[DATE_BUF];
    date_format(as_of, d);
    const db_param values[6] = {DB_TEXT(d),  DB_INT(horizon),
                                DB_TEXT(fj), DB_TEXT(pj),
                                DB_TEXT(mj), DB_BYTES(buf, len)};
    rc = db_exec_params(db,
                        "INSERT INTO vigil.models (as_of, horizon_days, "
                        "features, params, metrics, booster) "
                        "VALUES ($1::date, $2::int, $3::jsonb, $4::jsonb, "
                        "$5::jsonb, $6::bytea) RETURNING model_id",
                        6, values, &r, err);
    if (rc != VG_OK) {
        vg_wrap(err, "storing the model: ");
        goto cleanup;
    }
    *model_id = atoll(PQgetvalue(r, 0, 0));
cleanup:
    PQclear(r);
    free(buf);
    free(fj);
    free(pj);
    free(mj);
    return rc;
}

vg_code store_promote(db_conn *db, long long model_id, int horizon,
                      vg_error *err)
{
    const db_param p[2] = {DB_INT(model_id), DB_INT(horizon)};
    vg_code rc =
        db_exec_params(db,
                       "UPDATE vigil.models SET is_champion = false "
                       "WHERE is_champion AND horizon_days = $2::int AND "
                       "model_id <> $1::bigint",
                       2, p, NULL, err);
    if (rc == VG_OK)
        rc = db_exec_params(db,
                            "UPDATE vigil.models SET is_champion = true WHERE "
                            "model_id = $1::bigint",
                            1, p, NULL, err);
    return rc;
}

static json_t *parse_json(const char *s)
{
    json_error_t je;
    return json_loads(s, 0, &je);
}

/* Fills `m` from store_load's row: the metadata, the JSON columns, the
 * booster (cut at its best round) and its calibration. Each failure names the
 * model, since a caller may load several. */
static vg_code store_model_from_row(const PGresult *r, stored_model *m,
                                    vg_error *err)
{
    m->model_id = atoll(PQgetvalue(r, 0, 0));
    m->as_of = atoi(PQgetvalue(r, 0, 1));
    m->horizon_days = atoi(PQgetvalue(r, 0, 2));
    m->features = parse_json(PQgetvalue(r, 0, 3));
    m->params = parse_json(PQgetvalue(r, 0, 4));
    m->metrics = parse_json(PQgetvalue(r, 0, 5));
    if (!m->features || !m->params || !m->metrics)
        return vg_fail(err, VG_EMODEL, "model %lld: stored JSON is unreadable",
                       m->model_id);
    int best =
        (int)json_integer_value(json_object_get(m->params, "best_rounds"));
    vg_code rc = booster_load((const unsigned char *)PQgetvalue(r, 0, 6),
                              (size_t)PQgetlength(r, 0, 6), best, &m->b, err);
    if (rc != VG_OK) {
        vg_wrap(err, "model %lld: ", m->model_id);
        return rc;
    }
    rc = calib_from_json(json_object_get(m->params, "calibration"), &m->cal,
                         err);
    if (rc != VG_OK)
        vg_wrap(err, "model %lld calibration: ", m->model_id);
    return rc;
}

vg_code store_load(db_conn *db, long long model_id, int horizon,
                   stored_model **out, vg_error *err)
{
    *out = NULL;
    const db_param p[2] = {DB_INT(model_id), DB_INT(horizon)};
    PGresult *r = NULL;
    stored_model *m = NULL;
    /* Binary results so the booster arrives as raw bytes; the other columns
     * are ::text, which arrives as text. */
    vg_code rc = db_exec_params_binary(
        db,
        "SELECT model_id::text, (as_of - date '1970-01-01')::text, "
        "horizon_days::text, features::text, params::text, metrics::text, "
        "booster FROM vigil.models "
        "WHERE CASE WHEN $1::bigint > 0 THEN model_id = $1::bigint "
        "ELSE is_champion END "
        "ORDER BY (horizon_days = $2::int) DESC, created_at DESC, "
        "model_id DESC LIMIT 1",
        2, p, &r, err);
    if (rc != VG_OK) {
        vg_wrap(err, "loading the model: ");
        goto cleanup;
    }
    if (PQntuples(r) == 0) {
        rc = model_id > 0
                 ? vg_fail(err, VG_ENOMODEL, "no model %lld in vigil.models",
                           model_id)
                 : vg_fail(err, VG_ENOMODEL,
                           "no champion model yet: run `vigil train` first");
        goto cleanup;
    }
    m = calloc(1, sizeof *m);
    if (!m) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    rc = store_model_from_row(r, m, err);
cleanup:
    PQclear(r);
    if (rc == VG_OK)
        *out = m;
    else
        store_model_free(m);
    return rc;
}
