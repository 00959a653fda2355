/* db.h — the one wrapper around a libpq connection that every stage uses.
 * It owns the PGconn, turns libpq failures into vg_error messages, and streams
 * COPY in both directions so no stage ever holds a whole table in memory. */
#ifndef VG_DB_H
#define VG_DB_H

#include <libpq-fe.h>
#include <signal.h>
#include <stddef.h>

#include "err.h"
#include "util.h"

typedef struct db_conn db_conn;

/* Connect using, in order: dsn (if non-NULL and non-empty), $VIGIL_DSN,
 * $DATABASE_URL, else libpq's own PG* variables. The returned handle is owned
 * by the caller and released with db_close(). Never logs the DSN (secrets).
 * Unless the DSN or $PGCONNECT_TIMEOUT says otherwise, connecting gives up
 * after DB_CONNECT_TIMEOUT_S seconds, and TCP keepalives notice a dead peer
 * within about a minute. */
#define DB_CONNECT_TIMEOUT_S "10"
vg_code db_connect(const char *dsn, db_conn **out, vg_error *err);
void db_close(db_conn *db);
/* A second session to the same server with the same connection parameters,
 * job name, statement timeout and stop flag as db: for reading on one
 * session while another writes. The caller owns *out (db_close). */
vg_code db_connect_again(db_conn *db, db_conn **out, vg_error *err);
/* Name the session after a run (application_name vigil/<job>/<run_id>, seen
 * in pg_stat_activity) and bound every statement of it (statement_timeout,
 * seconds; 0 = none). */
vg_code db_set_job(db_conn *db, const char *job, long long run_id,
                   int statement_timeout_s, vg_error *err);
/* While *flag is non-zero (a signal arrived), every new statement or COPY
 * fails with VG_ECANCELED instead of starting. NULL stops checking. */
void db_set_stop(db_conn *db, const volatile sig_atomic_t *flag);
/* Whether the flag of db_set_stop is up: for a thread waiting on something
 * other than a statement. */
int db_stop_requested(const db_conn *db);
PGconn *db_pg(db_conn *db);

/* Run a statement with text parameters (values may be NULL for SQL NULL).
 * On success *res (if res non-NULL) owns a PGresult the caller must PQclear. */
vg_code db_exec(db_conn *db, const char *sql, int nparams,
                const char *const *params, PGresult **res, vg_error *err);

/* ---- Typed parameters -----------------------------------------------------
 * Callers pass numbers as numbers and bytes as bytes; db_exec_params converts
 * them in this one place. Integers travel as decimal text with no declared
 * type, so PostgreSQL infers each parameter's type from the statement exactly
 * as it would for a text value ($1::int, date + $1, ...); doubles as %.17g
 * text (exact); bytes in binary (no escaping, no size blow-up). */
typedef enum {
    DB_P_NULL,
    DB_P_TEXT,
    DB_P_INT,
    DB_P_FLOAT,
    DB_P_BYTES
} db_param_kind;

typedef struct db_param {
    db_param_kind kind;
    const char *s; /* DB_P_TEXT (NULL means SQL NULL), DB_P_BYTES */
    size_t len;    /* DB_P_BYTES */
    long long i;   /* DB_P_INT */
    double f;      /* DB_P_FLOAT */
} db_param;

#define DB_NULL ((db_param){.kind = DB_P_NULL})
#define DB_TEXT(v) ((db_param){.kind = DB_P_TEXT, .s = (v)})
#define DB_INT(v) ((db_param){.kind = DB_P_INT, .i = (long long)(v)})
#define DB_FLOAT(v) ((db_param){.kind = DB_P_FLOAT, .f = (double)(v)})
#define DB_BYTES(p, n)                                                         \
    ((db_param){.kind = DB_P_BYTES, .s = (const char *)(p), .len = (n)})

/* As db_exec, with typed parameters; results in text format. */
vg_code db_exec_params(db_conn *db, const char *sql, int nparams,
                       const db_param *params, PGresult **res, vg_error *err);
/* As db_exec_params, with every result column in binary format (bytea
 * arrives as raw bytes; ::text columns still arrive as their text). */
vg_code db_exec_params_binary(db_conn *db, const char *sql, int nparams,
                              const db_param *params, PGresult **res,
                              vg_error *err);

/* As db_exec, for statements whose result is not needed. */
vg_code db_run(db_conn *db, const char *sql, vg_error *err);

vg_code db_begin(db_conn *db, vg_error *err);
vg_code db_commit(db_conn *db, vg_error *err);
/* Best effort; never fails the caller (used on cleanup paths). */
void db_rollback(db_conn *db);

/* Quote an identifier with libpq's escaping. Caller frees with free(). */
char *db_quote_ident(db_conn *db, const char *ident);
/* "schema"."table" quoted; caller frees. */
char *db_qualify(db_conn *db, const char *schema, const char *table);

/* ---- COPY out: stream a query's rows, one callback per row ----------------
 * `query` is the body of COPY (...) TO STDOUT; parameters are not allowed by
 * PostgreSQL inside COPY, so callers must embed only values they produced
 * themselves (dates, numbers) and quote everything else. Fields arrive
 * decoded (escapes undone); fields[i] is NULL for SQL NULL. The callback
 * returns VG_OK to continue or an error code to stop (the COPY is drained). */
typedef vg_code (*db_row_fn)(void *ctx, int nfields, char **fields,
                             vg_error *err);
vg_code db_copy_out(db_conn *db, const char *query, db_row_fn fn, void *ctx,
                    size_t *rows_out, vg_error *err);

/* The same, pulled row by row by the caller: several ordered queries, each
 * on a session of its own, can then be merged like sorted files. The rows
 * are produced by the server while the caller reads (its parallel plan, if
 * any, included). db_copy_reader_next gives the next row's decoded fields
 * (valid until the next call), *fields NULL at the end; _end cancels a
 * query not read to its end, and frees the reader. */
typedef struct db_copy_reader db_copy_reader;
vg_code db_copy_reader_begin(db_conn *db, const char *query,
                             db_copy_reader **out, vg_error *err);
vg_code db_copy_reader_next(db_copy_reader *rd, int *nfields, char ***fields,
                            vg_error *err);
void db_copy_reader_end(db_copy_reader *rd);

/* Benchmarking aid: while set, db_copy_out runs COPY (query) TO '/dev/null'
 * on the server and calls no callback, and a db_copy_reader reads no rows
 * (sessions from db_connect_again inherit it), so a caller's time is
 * PostgreSQL's alone. Needs a role allowed to write server files (superuser or
 * pg_write_server_files). */
void db_set_copy_sink(db_conn *db, int on);

/* ---- COPY in: build rows in a buffer, flushed in large chunks -------------
 */
typedef struct db_copy_in db_copy_in;
/* `copy_sql` is e.g. "COPY t (a,b) FROM STDIN". */
vg_code db_copy_in_begin(db_conn *db, const char *copy_sql, db_copy_in **out,
                         vg_error *err);
/* Append one field; NULL writes \N. Text is escaped for COPY text format. */
void db_copy_field(db_copy_in *c, const char *value);
void db_copy_field_fmt(db_copy_in *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void db_copy_field_null(db_copy_in *c);
/* The COPY text form of one field appended to b (NULL: \N): what
 * db_copy_field writes, for rows built away from the connection. */
void db_copy_escape(strbuf *b, const char *value);
/* COPY's binary format, for rows built away from the connection (COPY ...
 * WITH (FORMAT binary)): the server takes each field's bytes as they come
 * instead of splitting and unescaping text lines, a fifth of its CPU for a
 * row of vigil.scores. The header starts the data, the trailer ends it;
 * each row is db_copy_bin_row(b, n) and then exactly n fields, each in its
 * column's type. Failures (memory) are left in b->failed. */
void db_copy_bin_header(strbuf *b);
void db_copy_bin_trailer(strbuf *b);
void db_copy_bin_row(strbuf *b, int nfields);
void db_copy_bin_int2(strbuf *b, int v);
void db_copy_bin_int8(strbuf *b, long long v);
void db_copy_bin_float8(strbuf *b, double v);
/* day: days since 1970-01-01 (core/date.h) */
void db_copy_bin_date(strbuf *b, int day);
/* text (not NULL); jsonb takes its text form too */
void db_copy_bin_text(strbuf *b, const char *s);
void db_copy_bin_jsonb(strbuf *b, const char *json);
/* Send rows already in COPY form (text: each ending in a newline; binary:
 * whole rows, after the header), after whatever the handle buffered; n
 * fits an int. */
vg_code db_copy_in_put(db_copy_in *c, const char *rows, size_t n,
                       vg_error *err);
/* End the current row; flushes to the server when the buffer is large. */
vg_code db_copy_row_end(db_copy_in *c, vg_error *err);
/* Finish (or, with abort non-zero, cancel) the COPY and free the handle. */
vg_code db_copy_in_end(db_copy_in *c, int abort, vg_error *err);

#endif
