/* store.c — reads and writes vigil.models rows through core/db (so errors are
 * classified like everywhere else); the booster travels as hex text. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

/* bytea travels as its hex text form ("\\x0a1b..."), so every statement
 * goes through db_exec and its error classification. */
static char *hex_encode(const unsigned char *buf, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    char *s = malloc(2 * len + 3);
    if (!s)
        return NULL;
    s[0] = '\\';
    s[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        s[2 + 2 * i] = digits[buf[i] >> 4];
        s[3 + 2 * i] = digits[buf[i] & 15];
    }
    s[2 + 2 * len] = '\0';
    return s;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* encode(bytea, 'hex') back to bytes; NULL when s is not hex. */
static unsigned char *hex_decode(const char *s, size_t *len)
{
    size_t n = strlen(s);
    *len = 0;
    if (n % 2)
        return NULL;
    unsigned char *b = malloc(n / 2 + 1);
    if (!b)
        return NULL;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0) {
            free(b);
            return NULL;
        }
        b[*len] = (unsigned char)(hi << 4 | lo);
        (*len)++;
    }
    return b;
}

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
    char *fj = NULL, *pj = NULL, *mj = NULL, *hex = NULL;
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
    char d[DATE_BUF], h[16];
    date_format(as_of, d);
    snprintf(h, sizeof h, "%d", horizon);
    if (!(hex = hex_encode(buf, len))) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    const char *values[6] = {d, h, fj, pj, mj, hex};
    rc = db_exec(db,
                 "INSERT INTO vigil.models (as_of, horizon_days, features, "
                 "params, metrics, booster) "
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
    free(hex);
    return rc;
}

vg_code store_promote(db_conn *db, long long model_id, int horizon,
                      vg_error *err)
{
    char id[32], h[16];
    snprintf(id, sizeof id, "%lld", model_id);
    snprintf(h, sizeof h, "%d", horizon);
    const char *p[2] = {id, h};
    vg_code rc = db_exec(db,
                         "UPDATE vigil.models SET is_champion = false "
                         "WHERE is_champion AND horizon_days = $2::int AND "
                         "model_id <> $1::bigint",
                         2, p, NULL, err);
    if (rc == VG_OK)
        rc = db_exec(db,
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

vg_code store_load(db_conn *db, long long model_id, int horizon,
                   stored_model **out, vg_error *err)
{
    *out = NULL;
    char id[32], h[16];
    snprintf(id, sizeof id, "%lld", model_id);
    snprintf(h, sizeof h, "%d", horizon);
    const char *p[2] = {id, h};
    PGresult *r = NULL;
    stored_model *m = NULL;
    unsigned char *bytes = NULL;
    size_t nbytes = 0;
    vg_code rc = db_exec(db,
                         "SELECT model_id, as_of - date '1970-01-01', "
                         "horizon_days, features::text, params::text, "
                         "metrics::text, encode(booster, 'hex') "
                         "FROM vigil.models "
                         "WHERE CASE WHEN $1::bigint > 0 THEN model_id = "
                         "$1::bigint ELSE is_champion END "
                         "ORDER BY (horizon_days = $2::int) DESC, "
                         "created_at DESC, model_id DESC LIMIT 1",
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
    m->model_id = atoll(PQgetvalue(r, 0, 0));
    m->as_of = atoi(PQgetvalue(r, 0, 1));
    m->horizon_days = atoi(PQgetvalue(r, 0, 2));
    m->features = parse_json(PQgetvalue(r, 0, 3));
    m->params = parse_json(PQgetvalue(r, 0, 4));
    m->metrics = parse_json(PQgetvalue(r, 0, 5));
    if (!m->features || !m->params || !m->metrics) {
        rc = vg_fail(err, VG_EMODEL, "model %lld: stored JSON is unreadable",
                     m->model_id);
        goto cleanup;
    }
    if (!(bytes = hex_decode(PQgetvalue(r, 0, 6), &nbytes))) {
        rc = vg_fail(err, VG_EMODEL, "model %lld: stored booster is unreadable",
                     m->model_id);
        goto cleanup;
    }
    int best =
        (int)json_integer_value(json_object_get(m->params, "best_rounds"));
    rc = booster_load(bytes, nbytes, best, &m->b, err);
    if (rc != VG_OK) {
        vg_wrap(err, "model %lld: ", m->model_id);
        goto cleanup;
    }
    rc = calib_from_json(json_object_get(m->params, "calibration"), &m->cal,
                         err);
    if (rc != VG_OK)
        vg_wrap(err, "model %lld calibration: ", m->model_id);
cleanup:
    PQclear(r);
    free(bytes);
    if (rc == VG_OK)
        *out = m;
    else
        store_model_free(m);
    return rc;
}
