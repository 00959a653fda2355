/* db.c — libpq wrapper: connection, statements, COPY streaming.
 * COPY is the only bulk path in vigil: rows stream through a fixed buffer. */
#include "db.h"

#include "util.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct db_conn {
    PGconn *pg;
    int copy_sink;
    const volatile sig_atomic_t *stop; /* set: no new statement starts */
};

void db_set_stop(db_conn *db, const volatile sig_atomic_t *flag)
{
    db->stop = flag;
}

/* VG_ECANCELED once the job was asked to stop: its next statement (often
 * its COMMIT) never starts, so a canceled job keeps nothing. */
static vg_code stopped(db_conn *db, vg_error *err)
{
    if (db->stop && *db->stop)
        return vg_fail(err, VG_ECANCELED, "canceled by a signal");
    return VG_OK;
}

int db_stop_requested(const db_conn *db)
{
    return db->stop && *db->stop;
}

void db_set_copy_sink(db_conn *db, int on)
{
    db->copy_sink = on;
}

static void trim_newline(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

/* VG_EDBDOWN when retrying later may succeed: the connection is gone, or the
 * SQLSTATE is connection_exception (class 08), admin/crash shutdown or
 * cannot_connect_now (57P01-57P03); VG_EDB otherwise. serve retries those. */
static vg_code classify(db_conn *db, const PGresult *r)
{
    if (!db->pg || PQstatus(db->pg) != CONNECTION_OK)
        return VG_EDBDOWN;
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (st && (strncmp(st, "08", 2) == 0 || strcmp(st, "57P01") == 0 ||
               strcmp(st, "57P02") == 0 || strcmp(st, "57P03") == 0))
        return VG_EDBDOWN;
    return VG_EDB;
}

static vg_code pg_fail(db_conn *db, vg_error *err, const char *what)
{
    char msg[VG_ERRMSG_MAX];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(db->pg));
    trim_newline(msg);
    return vg_fail(err, classify(db, NULL), "%s: %s", what, msg);
}

static vg_code res_fail(db_conn *db, PGresult *r, vg_error *err,
                        const char *what)
{
    char msg[VG_ERRMSG_MAX];
    /* The primary message only: the statement context PostgreSQL appends
     * spans lines, and errors here are one line. */
    const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
    if (primary)
        snprintf(msg, sizeof msg, "%s%s%s%s", primary, detail ? " (" : "",
                 detail ? detail : "", detail ? ")" : "");
    else
        snprintf(msg, sizeof msg, "%s", PQresultErrorMessage(r));
    for (char *p = msg; *p; p++)
        if (*p == '\n')
            *p = ' ';
    trim_newline(msg);
    const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    if (st && strcmp(st, "57014") == 0 && strstr(msg, "statement timeout"))
        return vg_fail(err, classify(db, r),
                       "%s: %s (raise db.statement_timeout, or "
                       "db.train_statement_timeout for train, in the config)",
                       what, msg);
    return vg_fail(err, classify(db, r), "%s: %s", what, msg);
}

static vg_code connect_finish(db_conn *db, db_conn **out, vg_error *err);

vg_code db_connect(const char *dsn, db_conn **out, vg_error *err)
{
    *out = NULL;
    const char *use = dsn;
    if (!use || !*use)
        use = getenv("VIGIL_DSN");
    if (!use || !*use)
        use = getenv("DATABASE_URL");
    if (!use)
        use = "";
    db_conn *db = calloc(1, sizeof *db);
    if (!db)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    /* Defaults a DSN or the PG* variables override: a database that accepts
     * TCP and never answers must not hang a job, and a peer that vanished
     * mid-query must be noticed. The DSN comes last so its words win. */
    const char *kw[8], *val[8];
    int nk = 0;
    if (!getenv("PGCONNECT_TIMEOUT")) {
        kw[nk] = "connect_timeout";
        val[nk++] = DB_CONNECT_TIMEOUT_S;
    }
    kw[nk] = "keepalives_idle";
    val[nk++] = "30";
    kw[nk] = "keepalives_interval";
    val[nk++] = "10";
    kw[nk] = "keepalives_count";
    val[nk++] = "3";
    kw[nk] = "fallback_application_name";
    val[nk++] = "vigil";
    kw[nk] = "dbname";
    val[nk++] = use;
    kw[nk] = NULL;
    val[nk] = NULL;
    db->pg = PQconnectdbParams(kw, val, 1);
    return connect_finish(db, out, err);
}

/* The session settings every connection starts with; frees db on failure. */
static vg_code connect_finish(db_conn *db, db_conn **out, vg_error *err)
{
    if (!db->pg || PQstatus(db->pg) != CONNECTION_OK) {
        vg_code rc =
            db->pg ? pg_fail(db, err, "cannot connect to PostgreSQL")
                   : vg_fail(err, VG_EDBDOWN, "cannot connect to PostgreSQL");
        size_t n = strlen(err ? err->msg : "");
        if (err && n + 80 < sizeof err->msg)
            snprintf(err->msg + n, sizeof err->msg - n,
                     " (give --dsn, VIGIL_DSN, DATABASE_URL or PG* variables; "
                     "scripts/pg.sh start runs a private server)");
        db_close(db);
        return rc;
    }
    /* Times are UTC everywhere in vigil: as-of dates are UTC days, so a
     * session left in another zone would shift every day boundary. */
    PGresult *r = PQexec(
        db->pg, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
    if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
        vg_code rc = r ? res_fail(db, r, err, "setting the session to UTC")
                       : pg_fail(db, err, "setting the session to UTC");
        PQclear(r);
        db_close(db);
        return rc;
    }
    PQclear(r);
    *out = db;
    return VG_OK;
}

vg_code db_set_job(db_conn *db, const char *job, long long run_id,
                   int statement_timeout_s, vg_error *err)
{
    char name[64];
    snprintf(name, sizeof name, "vigil/%s/%lld", job, run_id);
    const db_param p[2] = {DB_TEXT(name),
                           DB_INT((long long)statement_timeout_s * 1000)};
    return db_exec_params(db,
                          "SELECT set_config('application_name', $1, false), "
                          "set_config('statement_timeout', $2, false)",
                          2, p, NULL, err);
}

vg_code db_connect_again(db_conn *db, db_conn **out, vg_error *err)
{
    *out = NULL;
    PQconninfoOption *opts = PQconninfo(db->pg);
    PGresult *r = NULL;
    const char *kw[64], *val[64];
    int nk = 0;
    for (PQconninfoOption *o = opts; o && o->keyword && nk < 63; o++)
        if (o->val && *o->val) {
            kw[nk] = o->keyword;
            val[nk++] = o->val;
        }
    kw[nk] = NULL;
    val[nk] = NULL;
    db_conn *again = calloc(1, sizeof *again);
    vg_code rc = VG_OK;
    if (!opts || !again) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        free(again);
        goto cleanup;
    }
    again->pg = PQconnectdbParams(kw, val, 0);
    again->stop = db->stop;
    again->copy_sink = db->copy_sink;
    if ((rc = connect_finish(again, out, err)) != VG_OK)
        goto cleanup;
    /* the job's name and statement timeout, as the first session has them */
    rc = db_exec(db,
                 "SELECT current_setting('application_name'), "
                 "current_setting('statement_timeout')",
                 0, NULL, &r, err);
    if (rc == VG_OK) {
        const char *p[2] = {PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)};
        rc = db_exec(*out,
                     "SELECT set_config('application_name', $1, false), "
                     "set_config('statement_timeout', $2, false)",
                     2, p, NULL, err);
    }
    if (rc != VG_OK) {
        db_close(*out);
        *out = NULL;
    }
cleanup:
    PQclear(r);
    PQconninfoFree(opts);
    return rc;
}

void db_close(db_conn *db)
{
    if (!db)
        return;
    if (db->pg)
        PQfinish(db->pg);
    free(db);
}

PGconn *db_pg(db_conn *db)
{
    return db->pg;
}

/* Takes ownership of r (from PQexec*): keeps it in *res on success. */
static vg_code exec_finish(db_conn *db, PGresult *r, PGresult **res,
                           vg_error *err)
{
    if (!r)
        return pg_fail(db, err, "query failed");
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        vg_code rc = res_fail(db, r, err, "query failed");
        PQclear(r);
        return rc;
    }
    if (res)
        *res = r;
    else
        PQclear(r);
    return VG_OK;
}

vg_code db_exec(db_conn *db, const char *sql, int nparams,
                const char *const *params, PGresult **res, vg_error *err)
{
    if (res)
        *res = NULL;
    if (stopped(db, err) != VG_OK)
        return VG_ECANCELED;
    PGresult *r = nparams > 0 ? PQexecParams(db->pg, sql, nparams, NULL, params,
                                             NULL, NULL, 0)
                              : PQexec(db->pg, sql);
    return exec_finish(db, r, res, err);
}

/* Room for the text of one converted number: "%lld" or "%.17g". */
#define NUM_TEXT 32
/* Statements with at most this many parameters convert on the stack. */
#define STACK_PARAMS 16

/* libpq's arrays for PQexecParams from typed parameters: numbers as text
 * in nums, bytes in binary format with their length. */
static vg_code bind_params(const db_param *params, size_t n, const char **vals,
                           int *lens, int *fmts, char (*nums)[NUM_TEXT],
                           vg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const db_param *p = &params[i];
        lens[i] = 0;
        fmts[i] = 0;
        switch (p->kind) {
        case DB_P_NULL:
            vals[i] = NULL;
            break;
        case DB_P_TEXT:
            vals[i] = p->s;
            break;
        case DB_P_INT:
            snprintf(nums[i], NUM_TEXT, "%lld", p->i);
            vals[i] = nums[i];
            break;
        case DB_P_FLOAT:
            snprintf(nums[i], NUM_TEXT, "%.17g", p->f);
            vals[i] = nums[i];
            break;
        case DB_P_BYTES:
            if (p->len > INT_MAX)
                return vg_fail(err, VG_EINTERNAL,
                               "parameter %zu is too large (%zu bytes)", i + 1,
                               p->len);
            vals[i] = p->s;
            lens[i] = (int)p->len;
            fmts[i] = 1;
            break;
        }
    }
    return VG_OK;
}

static vg_code exec_typed(db_conn *db, const char *sql, int nparams,
                          const db_param *params, int result_format,
                          PGresult **res, vg_error *err)
{
    if (res)
        *res = NULL;
    if (stopped(db, err) != VG_OK)
        return VG_ECANCELED;
    const char *vals_s[STACK_PARAMS];
    int lens_s[STACK_PARAMS], fmts_s[STACK_PARAMS];
    char nums_s[STACK_PARAMS][NUM_TEXT];
    const char **vals = vals_s;
    int *lens = lens_s, *fmts = fmts_s;
    char(*nums)[NUM_TEXT] = nums_s;
    size_t n = nparams > 0 ? (size_t)nparams : 0;
    if (n > STACK_PARAMS) {
        vals = malloc(n * sizeof *vals);
        lens = malloc(n * sizeof *lens);
        fmts = malloc(n * sizeof *fmts);
        nums = malloc(n * sizeof *nums);
    }
    vg_code rc = VG_OK;
    if (!vals || !lens || !fmts || !nums) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = bind_params(params, n, vals, lens, fmts, nums, err)) != VG_OK)
        goto cleanup;
    PGresult *r = PQexecParams(db->pg, sql, nparams, NULL, vals, lens, fmts,
                               result_format);
    rc = exec_finish(db, r, res, err);
cleanup:
    if (n > STACK_PARAMS) {
        free(vals);
        free(lens);
        free(fmts);
        free(nums);
    }
    return rc;
}

vg_code db_exec_params(db_conn *db, const char *sql, int nparams,
                       const db_param *params, PGresult **res, vg_error *err)
{
    return exec_typed(db, sql, nparams, params, 0, res, err);
}

vg_code db_exec_params_binary(db_conn *db, const char *sql, int nparams,
                              const db_param *params, PGresult **res,
                              vg_error *err)
{
    return exec_typed(db, sql, nparams, params, 1, res, err);
}

vg_code db_run(db_conn *db, const char *sql, vg_error *err)
{
    return db_exec(db, sql, 0, NULL, NULL, err);
}

vg_code db_begin(db_conn *db, vg_error *err)
{
    return db_run(db, "BEGIN", err);
}

vg_code db_commit(db_conn *db, vg_error *err)
{
    /* Test-only fault hook: hold every transaction open this long before it
     * commits, so tests can kill or disconnect a job at a known point. */
    const char *delay = getenv("VIGIL_TEST_COMMIT_DELAY_MS");
    if (delay && atol(delay) > 0) {
        long ms = atol(delay);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    return db_run(db, "COMMIT", err);
}

void db_rollback(db_conn *db)
{
    if (PQtransactionStatus(db->pg) == PQTRANS_IDLE)
        return; /* nothing to undo (PostgreSQL would warn) */
    /* The result is deliberately ignored: a ROLLBACK fails only when the
     * connection is gone, and then the server has ended the transaction. */
    PGresult *r = PQexec(db->pg, "ROLLBACK");
    PQclear(r);
}

char *db_quote_ident(db_conn *db, const char *ident)
{
    char *q = PQescapeIdentifier(db->pg, ident, strlen(ident));
    if (!q)
        return NULL;
    char *copy = strdup(q); /* callers free() with the C allocator */
    PQfreemem(q);
    return copy;
}

char *db_qualify(db_conn *db, const char *schema, const char *table)
{
    char *s = db_quote_ident(db, schema);
    char *t = db_quote_ident(db, table);
    char *out = NULL;
    if (s && t) {
        size_t n = strlen(s) + strlen(t) + 2;
        out = malloc(n);
        if (out)
            snprintf(out, n, "%s.%s", s, t);
    }
    free(s);
    free(t);
    return out;
}

/* ---- COPY out ------------------------------------------------------------ */

/* Decode one COPY text field in place; returns NULL for \N. */
static char *decode_field(char *s)
{
    if (s[0] == '\\' && s[1] == 'N' && s[2] == '\0')
        return NULL;
    char *r = s, *w = s;
    while (*r) {
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        switch (*r) {
        case 'n':
            *w++ = '\n';
            r++;
            break;
        case 't':
            *w++ = '\t';
            r++;
            break;
        case 'r':
            *w++ = '\r';
            r++;
            break;
        case 'b':
            *w++ = '\b';
            r++;
            break;
        case 'f':
            *w++ = '\f';
            r++;
            break;
        case 'v':
            *w++ = '\v';
            r++;
            break;
        case '\0':
            break;
        default:
            if (*r >= '0' && *r <= '7') {
                int v = 0, k = 0;
                while (k < 3 && *r >= '0' && *r <= '7') {
                    v = v * 8 + (*r - '0');
                    r++;
                    k++;
                }
                *w++ = (char)v;
            } else {
                *w++ = *r++;
            }
        }
    }
    *w = '\0';
    return s;
}

/* Split one COPY text line (its newline dropped) into decoded fields in
 * *fields, grown as needed; the number of fields, or -1 out of memory.
 * One pass: a field without a backslash (nearly all: numbers and ids) is
 * only cut off, not copied through the decoder. */
static int split_line(char *line, int len, char ***fields, size_t *cap)
{
    if (len > 0 && line[len - 1] == '\n')
        line[len - 1] = '\0';
    size_t nf = 0;
    char *p = line;
    for (;;) {
        if (nf == *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            char **nfields = realloc(*fields, ncap * sizeof **fields);
            if (!nfields)
                return -1;
            *fields = nfields;
            *cap = ncap;
        }
        char *f = p;
        while (*p && *p != '\t' && *p != '\\')
            p++;
        if (*p == '\\') { /* escapes or \N: the decoder's */
            char *tab = strchr(p, '\t');
            if (tab)
                *tab = '\0';
            (*fields)[nf++] = decode_field(f);
            if (!tab)
                return (int)nf;
            p = tab + 1;
            continue;
        }
        int last = *p == '\0';
        *p = '\0';
        (*fields)[nf++] = f;
        if (last)
            return (int)nf;
        p++;
    }
}

/* Start COPY (query) TO STDOUT; the rows follow with PQgetCopyData. */
static vg_code copy_out_start(db_conn *db, const char *query, vg_error *err)
{
    vg_code rc = stopped(db, err);
    if (rc != VG_OK)
        return rc;
    size_t sqllen = strlen(query) + 48;
    char *sql = malloc(sqllen);
    if (!sql)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(sql, sqllen, "COPY (%s) TO STDOUT", query);
    PGresult *r = PQexec(db->pg, sql);
    free(sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_OUT)
        rc = r ? res_fail(db, r, err, "query failed")
               : pg_fail(db, err, "query failed");
    PQclear(r);
    return rc;
}

/* Read the COPY's final status; required before the connection is
 * reusable. Keeps an earlier error (rc) over the status. */
static vg_code copy_out_finish(db_conn *db, vg_code rc, vg_error *err)
{
    PGresult *fin;
    while ((fin = PQgetResult(db->pg)) != NULL) {
        if (PQresultStatus(fin) != PGRES_COMMAND_OK && rc == VG_OK)
            rc = res_fail(db, fin, err, "query failed");
        PQclear(fin);
    }
    return rc;
}

vg_code db_copy_out(db_conn *db, const char *query, db_row_fn fn, void *ctx,
                    size_t *rows_out, vg_error *err)
{
    vg_code rc = VG_OK;
    size_t rows = 0, cap = 0;
    char **fields = NULL;
    if (db->copy_sink) {
        size_t sqllen = strlen(query) + 48;
        char *sql = malloc(sqllen);
        if (!sql) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
            goto cleanup;
        }
        snprintf(sql, sqllen, "COPY (%s) TO '/dev/null'", query);
        rc = db_run(db, sql, err);
        free(sql);
        goto cleanup;
    }
    if ((rc = copy_out_start(db, query, err)) != VG_OK)
        goto cleanup;
    for (;;) {
        char *line = NULL;
        int len = PQgetCopyData(db->pg, &line, 0);
        if (len == -1)
            break;
        if (len < 0) {
            if (rc == VG_OK)
                rc = pg_fail(db, err, "reading query results");
            break;
        }
        if (rc != VG_OK) { /* drain after a callback error */
            PQfreemem(line);
            continue;
        }
        int nf = split_line(line, len, &fields, &cap);
        if (nf < 0) {
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
        } else {
            rc = fn(ctx, nf, fields, err);
            rows++;
        }
        PQfreemem(line);
    }
    rc = copy_out_finish(db, rc, err);
cleanup:
    if (rows_out)
        *rows_out = rows;
    free(fields);
    return rc;
}

struct db_copy_reader {
    db_conn *db;
    int started; /* the server's COPY response was read */
    char *line;  /* the current row's text, fields point into it */
    char **fields;
    size_t cap;
    int done;
};

/* Only sent: the server announces the COPY in the same buffer as its first
 * rows, i.e. after an aggregation has finished, so waiting here would run
 * the queries of a stream one after the other instead of all at once. */
vg_code db_copy_reader_begin(db_conn *db, const char *query,
                             db_copy_reader **out, vg_error *err)
{
    *out = NULL;
    vg_code rc = stopped(db, err);
    if (rc != VG_OK)
        return rc;
    db_copy_reader *rd = calloc(1, sizeof *rd);
    size_t sqllen = strlen(query) + 48;
    char *sql = malloc(sqllen);
    if (!rd || !sql) {
        free(rd);
        free(sql);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    snprintf(sql, sqllen, "COPY (%s) TO %s", query,
             db->copy_sink ? "'/dev/null'" : "STDOUT");
    if (!PQsendQuery(db->pg, sql)) {
        rc = pg_fail(db, err, "query failed");
        free(rd);
    } else {
        rd->db = db;
        *out = rd;
    }
    free(sql);
    return rc;
}

/* The server's answer to the COPY: PGRES_COPY_OUT, or its error. */
static vg_code copy_reader_start(db_copy_reader *rd, vg_error *err)
{
    rd->started = 1;
    PGresult *r = PQgetResult(rd->db->pg);
    vg_code rc = VG_OK;
    if (rd->db->copy_sink && r && PQresultStatus(r) == PGRES_COMMAND_OK) {
        PQclear(r); /* to the server's /dev/null: no rows come back */
        rd->done = 1;
        return copy_out_finish(rd->db, VG_OK, err);
    }
    if (!r || PQresultStatus(r) != PGRES_COPY_OUT) {
        rc = r ? res_fail(rd->db, r, err, "query failed")
               : pg_fail(rd->db, err, "query failed");
        rd->done = 1;
    }
    PQclear(r);
    if (rc != VG_OK) /* the rest of the results, so the session is reusable */
        while ((r = PQgetResult(rd->db->pg)) != NULL)
            PQclear(r);
    return rc;
}

vg_code db_copy_reader_next(db_copy_reader *rd, int *nfields, char ***fields,
                            vg_error *err)
{
    *nfields = 0;
    *fields = NULL;
    PQfreemem(rd->line);
    rd->line = NULL;
    if (!rd->started) {
        vg_code rc = copy_reader_start(rd, err);
        if (rc != VG_OK)
            return rc;
    }
    if (rd->done)
        return VG_OK;
    int len = PQgetCopyData(rd->db->pg, &rd->line, 0);
    if (len < 0) {
        rd->line = NULL;
        rd->done = 1;
        vg_code rc =
            len == -1 ? VG_OK : pg_fail(rd->db, err, "reading query results");
        return copy_out_finish(rd->db, rc, err);
    }
    int nf = split_line(rd->line, len, &rd->fields, &rd->cap);
    if (nf < 0)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    *nfields = nf;
    *fields = rd->fields;
    return VG_OK;
}

static void cancel_query(db_conn *db)
{
    PGcancel *c = PQgetCancel(db->pg);
    char buf[256];
    if (c)
        PQcancel(c, buf, sizeof buf);
    PQfreeCancel(c);
}

void db_copy_reader_end(db_copy_reader *rd)
{
    if (!rd)
        return;
    PQfreemem(rd->line);
    if (!rd->done) {
        /* Stopped early: cancel the query and drain what is in flight so
         * the session is reusable (or at least closable) at once. */
        cancel_query(rd->db);
        PGresult *r = rd->started ? NULL : PQgetResult(rd->db->pg);
        PQclear(r);
        char *line;
        int len;
        while ((len = PQgetCopyData(rd->db->pg, &line, 0)) >= 0)
            PQfreemem(line);
        vg_error ignored;
        copy_out_finish(rd->db, VG_OK, &ignored);
    }
    free(rd->fields);
    free(rd);
}

/* ---- COPY in ------------------------------------------------------------- */

#define COPY_FLUSH_BYTES (1 << 20)

struct db_copy_in {
    db_conn *db;
    strbuf buf; /* out of memory while buffering is sticky in buf.failed */
    int fields_in_row;
};

vg_code db_copy_in_begin(db_conn *db, const char *copy_sql, db_copy_in **out,
                         vg_error *err)
{
    *out = NULL;
    if (stopped(db, err) != VG_OK)
        return VG_ECANCELED;
    PGresult *r = PQexec(db->pg, copy_sql);
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        vg_code rc = r ? res_fail(db, r, err, "COPY failed")
                       : pg_fail(db, err, "COPY failed");
        PQclear(r);
        return rc;
    }
    PQclear(r);
    db_copy_in *c = calloc(1, sizeof *c);
    if (!c) {
        PQputCopyEnd(db->pg, "out of memory");
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    c->db = db;
    *out = c;
    return VG_OK;
}

static void field_sep(db_copy_in *c)
{
    if (c->fields_in_row++ > 0)
        strbuf_putc(&c->buf, '\t');
}

void db_copy_escape(strbuf *b, const char *v)
{
    if (!v) {
        strbuf_append(b, "\\N", 2);
        return;
    }
    size_t n = strlen(v);
    if (strbuf_reserve(b, 2 * n) != 0)
        return;
    char *w = b->s + b->len;
    /* runs without a character to escape are copied whole (a score's
     * drivers are a kilobyte of JSON with few backslashes) */
    for (;;) {
        size_t run = strcspn(v, "\\\n\r\t");
        memcpy(w, v, run);
        w += run;
        v += run;
        if (!*v)
            break;
        *w++ = '\\';
        switch (*v++) {
        case '\\':
            *w++ = '\\';
            break;
        case '\n':
            *w++ = 'n';
            break;
        case '\r':
            *w++ = 'r';
            break;
        default:
            *w++ = 't';
        }
    }
    *w = '\0';
    b->len = (size_t)(w - b->s);
}

/* Binary COPY: every integer in network byte order. */
static void put_be(strbuf *b, uint64_t v, int bytes)
{
    char t[8];
    for (int i = 0; i < bytes; i++)
        t[i] = (char)(v >> (8 * (bytes - 1 - i)));
    strbuf_append(b, t, (size_t)bytes);
}

void db_copy_bin_header(strbuf *b)
{
    /* signature, flags (no OIDs), header extension length */
    strbuf_append(b, "PGCOPY\n\377\r\n\0", 11);
    put_be(b, 0, 4);
    put_be(b, 0, 4);
}

void db_copy_bin_trailer(strbuf *b)
{
    put_be(b, 0xffff, 2); /* a field count of -1 */
}

void db_copy_bin_row(strbuf *b, int nfields)
{
    put_be(b, (uint64_t)nfields, 2);
}

void db_copy_bin_int2(strbuf *b, int v)
{
    put_be(b, 2, 4);
    put_be(b, (uint16_t)v, 2);
}

void db_copy_bin_int8(strbuf *b, long long v)
{
    put_be(b, 8, 4);
    put_be(b, (uint64_t)v, 8);
}

void db_copy_bin_float8(strbuf *b, double v)
{
    /* the double's own bits: the value the server stores is this one, as
     * it was from the 17 significant digits of the text form */
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    put_be(b, 8, 4);
    put_be(b, u, 8);
}

void db_copy_bin_date(strbuf *b, int day)
{
    /* PostgreSQL counts days from 2000-01-01, 10,957 days after 1970's */
    put_be(b, 4, 4);
    put_be(b, (uint32_t)(day - 10957), 4);
}

static void bin_bytes(strbuf *b, const char *prefix, size_t np, const char *s)
{
    size_t n = strlen(s);
    if (n + np > INT32_MAX) {
        b->failed = 1;
        return;
    }
    put_be(b, n + np, 4);
    strbuf_append(b, prefix, np);
    strbuf_append(b, s, n);
}

void db_copy_bin_text(strbuf *b, const char *s)
{
    bin_bytes(b, "", 0, s);
}

void db_copy_bin_jsonb(strbuf *b, const char *json)
{
    bin_bytes(b, "\1", 1, json); /* jsonb's binary form: version 1, text */
}

void db_copy_field(db_copy_in *c, const char *v)
{
    field_sep(c);
    db_copy_escape(&c->buf, v);
}

void db_copy_field_null(db_copy_in *c)
{
    db_copy_field(c, NULL);
}

void db_copy_field_fmt(db_copy_in *c, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        c->buf.failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        db_copy_field(c, small);
        return;
    }
    strbuf big = {0};
    va_start(ap, fmt);
    strbuf_vprintf(&big, fmt, ap);
    va_end(ap);
    if (big.failed)
        c->buf.failed = 1;
    else
        db_copy_field(c, big.s);
    strbuf_free(&big);
}

static vg_code flush(db_copy_in *c, vg_error *err)
{
    if (c->buf.len == 0)
        return VG_OK;
    if (PQputCopyData(c->db->pg, c->buf.s, (int)c->buf.len) != 1)
        return pg_fail(c->db, err, "COPY failed");
    strbuf_reset(&c->buf);
    return VG_OK;
}

vg_code db_copy_row_end(db_copy_in *c, vg_error *err)
{
    strbuf_putc(&c->buf, '\n');
    c->fields_in_row = 0;
    if (c->buf.failed)
        return vg_fail(err, VG_ENOMEM, "out of memory buffering COPY data");
    if (c->buf.len >= COPY_FLUSH_BYTES)
        return flush(c, err);
    return VG_OK;
}

vg_code db_copy_in_put(db_copy_in *c, const char *rows, size_t n, vg_error *err)
{
    vg_code rc = flush(c, err);
    if (rc == VG_OK && n > 0 && PQputCopyData(c->db->pg, rows, (int)n) != 1)
        rc = pg_fail(c->db, err, "COPY failed");
    return rc;
}

vg_code db_copy_in_end(db_copy_in *c, int abort, vg_error *err)
{
    if (!c)
        return VG_OK;
    vg_code rc = VG_OK;
    if (!abort && c->buf.failed)
        rc = vg_fail(err, VG_ENOMEM, "out of memory buffering COPY data");
    if (!abort && rc == VG_OK)
        rc = flush(c, err);
    int end_ok = PQputCopyEnd(
        c->db->pg, (abort || rc != VG_OK) ? "aborted by vigil" : NULL);
    if (end_ok != 1 && rc == VG_OK)
        rc = pg_fail(c->db, err, "COPY failed");
    PGresult *r;
    while ((r = PQgetResult(c->db->pg)) != NULL) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == VG_OK && !abort)
            rc = res_fail(c->db, r, err, "COPY failed");
        PQclear(r);
    }
    strbuf_free(&c->buf);
    free(c);
    return rc;
}
