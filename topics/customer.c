/* customer.c — a customer's tickets and topics, aggregated in PostgreSQL. */
#include "topics/customer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

/* Whether `topics` has run here (its tables exist): the customer's tickets
 * are listed with or without their topics. */
static vg_code topic_tables_exist(db_conn *db, int *have, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT to_regclass('vigil.ticket_topics') IS NOT "
                         "NULL AND to_regclass('vigil.topics') IS NOT NULL",
                         0, NULL, &r, err);
    /* A SELECT without FROM: exactly one row. */
    *have = rc == VG_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

vg_code topics_customer_tickets(db_conn *db, const vg_config *cfg,
                                const char *customer_id, int as_of, int n,
                                json_t **out, vg_error *err)
{
    char d[DATE_BUF];
    date_format(as_of, d);
    *out = NULL;
    PGresult *r = NULL;
    int have = 0;
    vg_code rc = topic_tables_exist(db, &have, err);
    if (rc != VG_OK)
        return rc;
    char *tickets = db_qualify(db, cfg->source_schema, "tickets");
    size_t sz = 4096 + (tickets ? strlen(tickets) : 0);
    char *sql = malloc(sz);
    if (!tickets || !sql) {
        free(tickets);
        free(sql);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    const char *topic_join =
        have ? "LEFT JOIN vigil.ticket_topics tt ON tt.ticket_id = "
               "tk.ticket_id::text LEFT JOIN vigil.topics tp ON tp.topic_id = "
               "tt.topic_id"
             : "LEFT JOIN (SELECT NULL::bigint AS topic_id, NULL::text AS "
               "label) tp ON false";
    snprintf(
        sql, sz,
        "WITH t AS (SELECT tk.ticket_id::text AS ticket_id, tk.created_at, "
        " left(tk.subject::text, 200) AS subject, tk.status::text AS status, "
        " tk.priority::text AS priority, tk.channel::text AS channel, "
        " tk.csat::int AS csat, coalesce(tk.escalated::boolean, false) AS "
        " escalated, tp.topic_id, tp.label AS topic "
        " FROM %s tk %s WHERE tk.customer_id::text = $1 AND tk.created_at < "
        " $2::date::timestamptz) "
        "SELECT json_build_object('tickets', (SELECT coalesce(json_agg(x), "
        " '[]') FROM (SELECT * FROM t ORDER BY created_at DESC, ticket_id "
        " LIMIT $3::int) x), "
        " 'topics', (SELECT coalesce(json_agg(y ORDER BY y.tickets DESC, "
        " y.topic_id), '[]') FROM (SELECT topic_id, topic, count(*) AS "
        " tickets FROM t WHERE topic_id IS NOT NULL AND created_at >= "
        " ($2::date - 90)::timestamptz GROUP BY 1, 2) y), "
        " 'tickets_90d', (SELECT count(*) FROM t WHERE created_at >= "
        " ($2::date - 90)::timestamptz))::text",
        tickets, topic_join);
    const db_param p[3] = {DB_TEXT(customer_id), DB_TEXT(d), DB_INT(n)};
    rc = db_exec_params(db, sql, 3, p, &r, err);
    if (rc == VG_OK) {
        /* One row: the outer SELECT has no FROM. */
        *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        if (!*out)
            rc = vg_fail(err, VG_EINTERNAL, "customer tickets: unreadable");
    } else {
        vg_wrap(err, "reading %s.tickets: ", cfg->source_schema);
    }
    PQclear(r);
    free(sql);
    free(tickets);
    return rc;
}
