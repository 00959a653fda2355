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

/* The contract's three source relations in `schema` (created if missing,
 * the tables replaced), typed as CONTRACT.md says. Only customers has its key
 * and NOT NULL signup: usage_events and tickets take dirty rows, as a
 * careless export would. `customer_extra` appends attribute columns, e.g.
 * ", renewal_date date" (NULL or "" for none). Exits the test on failure. */
static inline void testdb_source_tables(const char *dsn, const char *schema,
                                        const char *customer_extra)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "SET client_min_messages = warning;"
             "CREATE SCHEMA IF NOT EXISTS %s;"
             "DROP TABLE IF EXISTS %s.customers, %s.usage_events, "
             " %s.tickets;"
             "CREATE TABLE %s.customers (customer_id text PRIMARY KEY, "
             " name text, created_at timestamptz NOT NULL, "
             " canceled_at timestamptz, plan text, mrr numeric, "
             " seats integer, language text%s);"
             "CREATE TABLE %s.usage_events (customer_id text, "
             " occurred_at timestamptz, event_type text, user_id text, "
             " quantity double precision);"
             "CREATE TABLE %s.tickets (ticket_id text, customer_id text, "
             " created_at timestamptz, first_response_at timestamptz, "
             " resolved_at timestamptz, status text, priority text, "
             " channel text, subject text, body text, csat smallint, "
             " reopens integer, escalated boolean);",
             schema, schema, schema, schema, schema,
             customer_extra ? customer_extra : "", schema, schema);
    testdb_exec(dsn, sql);
}

#endif
