/* test_db_copy_bin.c — COPY's binary format (core/db.h db_copy_bin_*), what
 * `score` writes vigil.scores with: every value the server stores is the one
 * the text format stored, for the columns' types at their edges (dates
 * before 2000 and far after, negative and extreme integers, doubles whose
 * text is 17 digits, texts holding the text format's special characters
 * and UTF-8, JSON with escapes), and a row the table refuses stops the
 * COPY with the server's error. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "core/date.h"
#include "core/db.h"
#include "testdb.h"

typedef struct row {
    const char *day, *id;
    long long i8;
    double f8;
    int i2;
    const char *json;
} row;

static const row rows[] = {
    {"2026-11-01", "C000001", 1, 0.03513912638402873, 81, "[]"},
    {"1999-12-31", "tab\there", -1, 0.1, 0, "[{\"a\": 1}]"},
    {"2000-01-01", "back\\slash\\N", 9223372036854775807LL, 1.0, 100,
     "{\"text\": \"quote \\\" and \\\\ and \\u00e9\", \"n\": "
     "0.49659999999999999}"},
    {"1970-01-01", "nl\nand\rcr", -9223372036854775807LL - 1, -0.0, -32768,
     "{\"k\": [1, 2.5e-7, null, true, \"\xc3\xa9t\xc3\xa9\"]}"},
    {"2999-12-31", "\\N", 42, 5e-324, 32767, "\"just a string\""},
    {"1900-03-01", "", 0, 1.7976931348623157e308, 7, "{}"},
};
#define NROWS (sizeof rows / sizeof rows[0])

static const char *cols = "d, id, i8, f8, i2, j";

/* The rows COPYed into table t in the text format or the binary one. */
static int copy_rows(db_conn *db, const char *t, int binary)
{
    char sql[128];
    snprintf(sql, sizeof sql, "COPY %s (%s) FROM STDIN%s", t, cols,
             binary ? " (FORMAT binary)" : "");
    db_copy_in *c = NULL;
    vg_error err = {0};
    if (db_copy_in_begin(db, sql, &c, &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    strbuf b = {0};
    if (binary)
        db_copy_bin_header(&b);
    for (size_t i = 0; i < NROWS; i++) {
        int day = 0;
        CHECK(date_parse(rows[i].day, &day) == 0);
        if (binary) {
            db_copy_bin_row(&b, 6);
            db_copy_bin_date(&b, day);
            db_copy_bin_text(&b, rows[i].id);
            db_copy_bin_int8(&b, rows[i].i8);
            db_copy_bin_float8(&b, rows[i].f8);
            db_copy_bin_int2(&b, rows[i].i2);
            db_copy_bin_jsonb(&b, rows[i].json);
            continue;
        }
        char num[64];
        strbuf_puts(&b, rows[i].day);
        strbuf_putc(&b, '\t');
        db_copy_escape(&b, rows[i].id);
        snprintf(num, sizeof num, "\t%lld\t%.17g\t%d\t", rows[i].i8, rows[i].f8,
                 rows[i].i2);
        strbuf_puts(&b, num);
        db_copy_escape(&b, rows[i].json);
        strbuf_putc(&b, '\n');
    }
    if (binary)
        db_copy_bin_trailer(&b);
    CHECK(!b.failed);
    vg_code rc = db_copy_in_put(c, b.s, b.len, &err);
    strbuf_free(&b);
    vg_code rc2 = db_copy_in_end(c, rc != VG_OK, &err);
    if (rc == VG_OK && rc2 != VG_OK)
        fprintf(stderr, "%s: %s\n", t, err.msg);
    return rc == VG_OK && rc2 == VG_OK ? 0 : -1;
}

static const char *dsn;

static void binary_stores_what_text_stores(void)
{
    db_conn *db = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(db_connect(dsn, &db, &err), VG_OK);
    if (!db)
        return;
    CHECK_INT_EQ(copy_rows(db, "t_text", 0), 0);
    CHECK_INT_EQ(copy_rows(db, "t_bin", 1), 0);
    db_close(db);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM t_bin"), "6");
    /* every row and value the same, compared as values and as bytes */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM (TABLE t_text "
                                   "EXCEPT TABLE t_bin) x"),
                 "0");
    CHECK_STR_EQ(
        testdb_value(dsn,
                     "SELECT count(*) FROM t_text a JOIN t_bin b USING (id) "
                     "WHERE float8send(a.f8) = float8send(b.f8) AND "
                     "a.j::text = b.j::text AND a.d = b.d AND a.i8 = b.i8 AND "
                     "a.i2 = b.i2"),
        "6");
    CHECK_STR_EQ(testdb_value(dsn,
                              "SELECT d || ' ' || i8 || ' ' || i2 FROM t_bin "
                              "WHERE id = E'nl\\nand\\rcr'"),
                 "1970-01-01 -9223372036854775808 -32768");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT j->>'text' FROM t_bin WHERE id = "
                                   "E'back\\\\slash\\\\N'"),
                 "quote \" and \\ and \xc3\xa9");
    CHECK_STR_EQ(
        testdb_value(dsn, "SELECT float8send(f8) = float8send('-0'::float8) "
                          "FROM t_bin WHERE i2 = -32768"),
        "t");
}

static void refused_row_stops_the_copy(void)
{
    db_conn *db = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(db_connect(dsn, &db, &err), VG_OK);
    if (!db)
        return;
    /* i2 > 100 breaks the CHECK of t_checked */
    CHECK_INT_EQ(copy_rows(db, "t_checked", 1), -1);
    db_close(db);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM t_checked"), "0");
}

int main(void)
{
    dsn = testdb_fresh("vigil_test_copy_bin");
    testdb_exec(dsn, "CREATE TABLE t_text (d date, id text, i8 bigint, "
                     "f8 double precision, i2 smallint, j jsonb);"
                     "CREATE TABLE t_bin (LIKE t_text);"
                     "CREATE TABLE t_checked (LIKE t_text, "
                     "CHECK (i2 BETWEEN -32768 AND 100));");
    static const check_case cases[] = {
        CHECK_CASE(binary_stores_what_text_stores),
        CHECK_CASE(refused_row_stops_the_copy),
    };
    return check_run("db_copy_bin", cases, sizeof cases / sizeof cases[0]);
}
