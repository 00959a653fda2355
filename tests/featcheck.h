/* featcheck.h — comparing feature matrices in tests: the same rows and
 * values (NaN equals NaN), whole or streamed in chunks. Shared by the tests
 * of single-server and sharded extraction. */
#ifndef VG_TEST_FEATCHECK_H
#define VG_TEST_FEATCHECK_H

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/util.h"
#include "features/feat.h"

/* A core/db connection, or the test ends with the reason. */
static inline db_conn *connect_or_die(const char *dsn)
{
    db_conn *db = NULL;
    vg_error err;
    if (db_connect(dsn, &db, &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    return db;
}

/* The spec discovered at `day`, or the test ends with the reason. */
static inline feat_spec *discover_or_die(db_conn *db, const vg_config *cfg,
                                         int day)
{
    feat_spec *spec = NULL;
    vg_error err;
    if (feat_spec_discover(db, cfg, day, &spec, &err) != VG_OK) {
        fprintf(stderr, "feat_spec_discover: %s\n", err.msg);
        exit(1);
    }
    return spec;
}

/* feat_build's matrix for `req`, or the test ends with the reason. */
static inline feat_matrix *build_or_die(db_conn *db, const vg_config *cfg,
                                        const feat_spec *spec,
                                        const feat_request *req, json_t *stats)
{
    feat_matrix *m = NULL;
    vg_error err;
    if (feat_build(db, cfg, spec, req, NULL, &m, stats, &err) != VG_OK) {
        fprintf(stderr, "feat_build: %s\n", err.msg);
        exit(1);
    }
    return m;
}

/* The streamed matrix (chunks of `chunk` customers, inside a transaction)
 * is the whole one, row for row, with the same skipped-row counts. */
static inline int stream_same(db_conn *db, const vg_config *cfg,
                              const feat_spec *spec, int day, size_t chunk,
                              const feat_matrix *whole, const json_t *stats)
{
    feat_request req = {&day, 1, 0, 0, -1, 1, 1, NULL};
    json_t *st = json_object();
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    vg_error err;
    int ok = 1, chunks = 0;
    size_t row = 0;
    if (db_begin(db, &err) != VG_OK ||
        feat_stream_open(db, cfg, spec, &req, NULL, chunk, st, &fs, &err) !=
            VG_OK) {
        fprintf(stderr, "stream: %s\n", err.msg);
        ok = 0;
    }
    while (ok) {
        if (feat_stream_next(fs, &m, &err) != VG_OK) {
            fprintf(stderr, "stream: %s\n", err.msg);
            ok = 0;
            break;
        }
        if (!m)
            break;
        chunks++;
        for (size_t r = 0; r < m->nrows && ok; r++, row++) {
            if (row >= whole->nrows || strcmp(m->ids[r], whole->ids[row]) ||
                m->day[r] != whole->day[row] || m->ncols != whole->ncols) {
                fprintf(stderr, "stream: row %zu differs\n", row);
                ok = 0;
                break;
            }
            for (size_t j = 0; j < m->ncols; j++) {
                float x = m->x[r * m->ncols + j];
                float y = whole->x[row * whole->ncols + j];
                if (!(x == y || (isnan(x) && isnan(y)))) {
                    fprintf(stderr, "stream: %s col %zu: %g vs %g\n", m->ids[r],
                            j, x, y);
                    ok = 0;
                }
            }
        }
        feat_matrix_free(m);
        m = NULL;
    }
    if (ok && row != whole->nrows) {
        fprintf(stderr, "stream: %zu rows, whole %zu\n", row, whole->nrows);
        ok = 0;
    }
    if (ok && stats && !json_equal(st, stats)) {
        char *a = json_dumps(st, JSON_COMPACT),
             *b = json_dumps(stats, JSON_COMPACT);
        fprintf(stderr, "stream stats differ:\n  %s\n  %s\n", a, b);
        free(a);
        free(b);
        ok = 0;
    }
    if (ok && chunk == 1 && chunks < 2)
        ok = 0; /* one customer per chunk must give several chunks */
    feat_stream_close(fs);
    db_rollback(db);
    json_decref(st);
    return ok;
}

static inline int cmp_id_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The hash slices 0..nslices-1 of the stream (each its own stream, in one
 * transaction) hold every row of the whole matrix exactly once, with its
 * values, and their skipped-row counts add up to the whole's. */
static inline int slices_same(db_conn *db, const vg_config *cfg,
                              const feat_spec *spec, int day, int nslices,
                              const feat_matrix *whole, const json_t *stats)
{
    feat_request req = {&day, 1, 0, 0, -1, 1, 1, NULL};
    json_t *sum = json_object();
    char **seen = calloc(whole->nrows + 1, sizeof *seen);
    size_t nseen = 0;
    vg_error err;
    int ok = seen && sum && db_begin(db, &err) == VG_OK;
    for (int k = 0; ok && k < nslices; k++) {
        json_t *st = json_object();
        feat_stream *fs = NULL;
        feat_matrix *m = NULL;
        ok = feat_stream_open_slice(db, cfg, spec, &req, k, nslices, NULL, 7,
                                    st, &fs, &err) == VG_OK;
        while (ok && (ok = feat_stream_next(fs, &m, &err) == VG_OK) && m) {
            for (size_t r = 0; ok && r < m->nrows; r++) {
                size_t w = 0;
                while (w < whole->nrows && strcmp(whole->ids[w], m->ids[r]))
                    w++;
                ok = w < whole->nrows && nseen < whole->nrows;
                for (size_t j = 0; ok && j < m->ncols; j++) {
                    float x = m->x[r * m->ncols + j];
                    float y = whole->x[w * whole->ncols + j];
                    ok = x == y || (isnan(x) && isnan(y));
                }
                if (ok)
                    seen[nseen++] = whole->ids[w];
                else
                    fprintf(stderr, "slice %d: row %s differs\n", k, m->ids[r]);
            }
            feat_matrix_free(m);
            m = NULL;
        }
        if (!ok)
            fprintf(stderr, "slice %d: %s\n", k, err.msg);
        feat_stream_close(fs);
        json_add_counts(sum, st);
        json_decref(st);
    }
    db_rollback(db);
    /* each customer once */
    if (ok) {
        qsort(seen, nseen, sizeof *seen, cmp_id_ptr);
        for (size_t i = 1; ok && i < nseen; i++)
            ok = strcmp(seen[i - 1], seen[i]) != 0;
        ok = ok && nseen == whole->nrows;
    }
    if (ok && stats && !json_equal(sum, stats)) {
        char *a = json_dumps(sum, JSON_COMPACT),
             *b = json_dumps(stats, JSON_COMPACT);
        fprintf(stderr, "slices' stats differ:\n  %s\n  %s\n", a, b);
        free(a);
        free(b);
        ok = 0;
    }
    free(seen);
    json_decref(sum);
    return ok;
}

/* Same rows, same values (NaN equals NaN). */
static inline int same_matrix(const feat_matrix *a, const feat_matrix *b)
{
    if (a->nrows != b->nrows || a->ncols != b->ncols)
        return 0;
    for (size_t r = 0; r < a->nrows; r++) {
        if (strcmp(a->ids[r], b->ids[r]) || a->day[r] != b->day[r])
            return 0;
        for (size_t j = 0; j < a->ncols; j++) {
            float x = a->x[r * a->ncols + j], y = b->x[r * b->ncols + j];
            if (!(x == y || (isnan(x) && isnan(y)))) {
                fprintf(stderr, "differs: row %s col %zu: %g vs %g\n",
                        a->ids[r], j, x, y);
                return 0;
            }
        }
    }
    return 1;
}

#endif
