/* testdb.h — a fresh database per test program on the throwaway server, so
 * test programs run in parallel without seeing each other's rows. */
#ifndef VG_TEST_DB_H
#define VG_TEST_DB_H

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Drop and create database `name`; returns a DSN for it (static buffer). */
static inline const char *testdb_fresh(const char *name)
{
    static char dsn[1024];
    const char *base = check_test_dsn();
    PGconn *c = PQconnectdb(base);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "testdb: cannot connect: %s", PQerrorMessage(c));
        exit(1);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
    PQclear(PQexec(c, sql));
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        fprintf(stderr, "testdb: %s", PQresultErrorMessage(r));
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
    snprintf(dsn, sizeof dsn, "%s dbname=%s", base, name);
    return dsn;
}

/* Run SQL on a DSN and return the first value of the first row (static). */
static inline const char *testdb_value(const char *dsn, const char *sql)
{
    static char buf[4096];
    PGconn *c = PQconnectdb(dsn);
    PGresult *r = PQexec(c, sql);
    buf[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
        !PQgetisnull(r, 0, 0))
        snprintf(buf, sizeof buf, "%s", PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
             PQresultStatus(r) != PGRES_COMMAND_OK)
        fprintf(stderr, "testdb: %s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
    return buf;
}

/* Run SQL (several statements allowed); exits the test on failure. */
static inline void testdb_exec(const char *dsn, const char *sql)
{
    PGconn *c = PQconnectdb(dsn);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "testdb: %s\n  in: %.200s\n", PQresultErrorMessage(r),
                sql);
        exit(1);
    }
    PQclear(r);
    PQfinish(c);
}

#endif
