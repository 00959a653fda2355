/* doctor.c — `vigil check`: the contract's columns, what each one feeds, and
 * the catalog and aggregate queries that compare a mapping against them.
 * Every relation is read with one aggregate (plus one anti-join for unknown
 * customers), so a check costs about one scan of each relation. */
#include "doctor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/freshness.h"

typedef enum { K_ID, K_TEXT, K_TIME, K_NUM, K_BOOL } col_kind;

typedef struct contract_col {
    int rel;          /* index into rels[] */
    const char *name; /* column name, fixed by the contract */
    col_kind kind;
    int not_null;      /* a null makes the row unusable (counted, skipped) */
    const char *type;  /* the type to give it, for messages */
    const char *feeds; /* what vigil loses without it */
} contract_col;

static const char *const rels[3] = {"customers", "usage_events", "tickets"};
/* The timestamp whose range describes each relation's history. */
static const char *const rel_time[3] = {"created_at", "occurred_at",
                                        "created_at"};

static const contract_col cols[] = {
    {0, "customer_id", K_ID, 1, "text", "every customer's identity"},
    {0, "name", K_TEXT, 0, "text",
     "customer names in tasks, the queue and the report"},
    {0, "created_at", K_TIME, 1, "timestamptz",
     "who is a customer on a date, and tenure"},
    {0, "canceled_at", K_TIME, 0, "timestamptz",
     "churn labels: without cancellations there is nothing to learn"},
    {0, "plan", K_TEXT, 0, "text", "the plan feature and the report"},
    {0, "mrr", K_NUM, 0, "numeric",
     "the MRR feature, task priority (risk x MRR) and MRR at risk"},
    {0, "seats", K_NUM, 0, "integer", "paid seats and seat utilisation"},
    {0, "language", K_TEXT, 0, "text",
     "routing tasks to specialists who speak the customer's language"},
    {1, "customer_id", K_ID, 1, "text", "linking activity to customers"},
    {1, "occurred_at", K_TIME, 1, "timestamptz", "every usage feature"},
    {1, "event_type", K_TEXT, 1, "text",
     "per-activity features (logins, reports, API calls ...)"},
    {1, "user_id", K_ID, 0, "text", "active users and seat utilisation"},
    {1, "quantity", K_NUM, 0, "double precision",
     "weighting events (null counts as 1)"},
    {2, "ticket_id", K_ID, 1, "text", "telling tickets apart"},
    {2, "customer_id", K_ID, 0, "text",
     "every ticket feature (a ticket without a customer is skipped)"},
    {2, "created_at", K_TIME, 1, "timestamptz", "every ticket feature"},
    {2, "first_response_at", K_TIME, 0, "timestamptz",
     "first-response times and tickets awaiting a response"},
    {2, "resolved_at", K_TIME, 0, "timestamptz",
     "resolution times and open tickets; csat, reopens and escalations "
     "count only once a ticket is resolved"},
    {2, "status", K_TEXT, 0, "text",
     "nothing (open tickets come from resolved_at)"},
    {2, "priority", K_TEXT, 0, "text", "ticket counts by priority"},
    {2, "channel", K_TEXT, 0, "text", "nothing yet"},
    {2, "subject", K_TEXT, 0, "text",
     "ticket topics and trend alerts (with body)"},
    {2, "body", K_TEXT, 0, "text",
     "ticket topics and trend alerts (with subject)"},
    {2, "csat", K_NUM, 0, "smallint",
     "satisfaction features and the low-CSAT playbook"},
    {2, "reopens", K_NUM, 0, "integer", "reopen counts"},
    {2, "escalated", K_BOOL, 0, "boolean", "escalation counts"},
};
#define NCOLS (sizeof cols / sizeof cols[0])

/* Dirty-row rules: counted (and skipped or repaired by the jobs). */
typedef struct dirty_rule {
    int rel;
    const char *name;
    const char *expr;     /* an aggregate over the relation */
    const char *needs[2]; /* columns that must be usable */
} dirty_rule;

static const dirty_rule rules[] = {
    {0,
     "duplicate_id",
     "count(customer_id) - count(DISTINCT customer_id::text)",
     {"customer_id", NULL}},
    {0,
     "canceled_before_created",
     "count(*) FILTER (WHERE canceled_at < created_at)",
     {"canceled_at", "created_at"}},
    {0, "negative_mrr", "count(*) FILTER (WHERE mrr < 0)", {"mrr", NULL}},
    {0, "negative_seats", "count(*) FILTER (WHERE seats < 0)", {"seats", NULL}},
    {0,
     "future_created_at",
     "count(*) FILTER (WHERE created_at > now())",
     {"created_at", NULL}},
    {1,
     "negative_quantity",
     "count(*) FILTER (WHERE quantity < 0)",
     {"quantity", NULL}},
    {1,
     "future_timestamp",
     "count(*) FILTER (WHERE occurred_at > now())",
     {"occurred_at", NULL}},
    {2,
     "duplicate_id",
     "count(ticket_id) - count(DISTINCT ticket_id::text)",
     {"ticket_id", NULL}},
    {2,
     "csat_out_of_range",
     "count(*) FILTER (WHERE csat::float8 NOT BETWEEN 1 AND 5)",
     {"csat", NULL}},
    {2,
     "resolved_before_created",
     "count(*) FILTER (WHERE resolved_at < created_at)",
     {"resolved_at", "created_at"}},
    {2,
     "responded_before_created",
     "count(*) FILTER (WHERE first_response_at < created_at)",
     {"first_response_at", "created_at"}},
    {2,
     "future_timestamp",
     "count(*) FILTER (WHERE created_at > now())",
     {"created_at", NULL}},
    {2,
     "no_text",
     "count(*) FILTER (WHERE coalesce(subject::text, '') = '' AND "
     "coalesce(body::text, '') = '')",
     {"subject", "body"}},
};
#define NRULES (sizeof rules / sizeof rules[0])

typedef struct doctor {
    db_conn *db;
    const vg_config *cfg;
    int as_of;
    json_t *report, *findings, *relations;
    int counts[3];
    /* per contract column: its SQL type ("" missing) and whether usable */
    char type[NCOLS][64];
    int usable[NCOLS];
    int rel_exists[3];
    long long rows[3];
} doctor;

static void finding(doctor *d, doctor_level lvl, int rel, const char *col,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void finding(doctor *d, doctor_level lvl, int rel, const char *col,
                    const char *fmt, ...)
{
    static const char *const names[3] = {"note", "warning", "error"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->counts[lvl]++;
    json_array_append_new(
        d->findings,
        json_pack("{s:s, s:s?, s:s?, s:s}", "level", names[lvl], "relation",
                  rel >= 0 ? rels[rel] : NULL, "column", col, "message", msg));
}

static int col_index(int rel, const char *name)
{
    for (size_t i = 0; i < NCOLS; i++)
        if (cols[i].rel == rel && !strcmp(cols[i].name, name))
            return (int)i;
    return -1;
}

static int in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static const char *const numeric_types[] = {
    "smallint", "integer",          "bigint", "numeric",
    "real",     "double precision", NULL};
static const char *const text_types[] = {"text", "character varying",
                                         "character", NULL};

static int id_type_ok(const char *column, const char *t)
{
    return !strcmp(column, "user_id") || in_list(t, text_types) ||
           !strcmp(t, "USER-DEFINED");
}

/* Is a column of SQL type `t` usable as kind k? Adds a note for types that
 * work with a caveat. */
static int type_usable(doctor *d, size_t i, const char *t)
{
    const contract_col *c = &cols[i];
    switch (c->kind) {
    case K_ID:
        /* Customer and ticket ids are compared across the three relations
         * and with vigil's own tables (text): an integer id in one view
         * fails the first join with it (topics, outreach), long after train
         * and score worked. A user id is only counted: any type. */
        return id_type_ok(c->name, t);
    case K_TEXT:
        return in_list(t, text_types) || !strcmp(t, "USER-DEFINED") ||
               (strcmp(c->name, "subject") && strcmp(c->name, "body"));
    case K_NUM:
        return in_list(t, numeric_types);
    case K_BOOL:
        return !strcmp(t, "boolean") || !strcmp(t, "integer") ||
               !strcmp(t, "smallint");
    case K_TIME:
        if (!strcmp(t, "timestamp without time zone"))
            finding(d, DOCTOR_NOTE, c->rel, c->name,
                    "%s.%s is a timestamp without time zone: vigil reads it "
                    "as UTC",
                    rels[c->rel], c->name);
        else if (!strcmp(t, "date"))
            finding(d, DOCTOR_NOTE, c->rel, c->name,
                    "%s.%s is a date: vigil reads it as midnight UTC",
                    rels[c->rel], c->name);
        return !strcmp(t, "timestamp with time zone") ||
               !strcmp(t, "timestamp without time zone") || !strcmp(t, "date");
    }
    return 0;
}

/* The contract's column list of a relation, for "create a view" messages. */
static void column_list(int rel, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < NCOLS && len < n; i++)
        if (cols[i].rel == rel)
            len +=
                (size_t)snprintf(buf + len, n - len, "%s%s %s", len ? ", " : "",
                                 cols[i].name, cols[i].type);
}

/* What to do when a company has no such data at all: vigil can run
 * without a helpdesk or without product events (an empty view), not
 * without customers. */
static const char *no_data_hint(int rel)
{
    static const char *const hint[3] = {
        "",
        "; no product events at all? an empty view will do (docs/MAPPING.md, "
        "\"Without a helpdesk or product events\")",
        "; no helpdesk? an empty view will do (docs/MAPPING.md, \"Without a "
        "helpdesk or product events\")"};
    return hint[rel];
}

/* A missing relation: where else a relation of that name exists, if
 * anywhere, is the likeliest fix. */
static vg_code missing_relation(doctor *d, int rel, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[2] = {rels[rel], d->cfg->source_schema};
    /* Something by that name that information_schema does not show: a
     * materialized view, or a relation this role may not read. */
    vg_code rc = db_exec(d->db,
                         "SELECT to_regclass(quote_ident($2) || '.' || "
                         "quote_ident($1)) IS NOT NULL",
                         2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    int hidden = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    if (hidden) {
        finding(d, DOCTOR_ERROR, rel, NULL,
                "%s.%s exists but vigil cannot see its columns: it is a "
                "materialized view (wrap it: CREATE VIEW ... AS SELECT * "
                "FROM it) or this role lacks SELECT on it (GRANT SELECT)",
                d->cfg->source_schema, rels[rel]);
        return VG_OK;
    }
    rc = db_exec(
        d->db,
        "SELECT string_agg(table_schema, ', ' ORDER BY table_schema) FROM "
        "information_schema.tables WHERE table_name = $1 AND table_schema "
        "NOT IN ('pg_catalog', 'information_schema') AND table_schema <> $2",
        2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    char list[1024], elsewhere[512] = "";
    column_list(rel, list, sizeof list);
    if (!PQgetisnull(r, 0, 0))
        snprintf(elsewhere, sizeof elsewhere,
                 " (schema %s has a %s: if that is the one, set source.schema)",
                 PQgetvalue(r, 0, 0), rels[rel]);
    finding(d, DOCTOR_ERROR, rel, NULL,
            "there is no relation %s.%s: create a view %s.%s with columns %s "
            "(docs/MAPPING.md shows how)%s%s",
            d->cfg->source_schema, rels[rel], d->cfg->source_schema, rels[rel],
            list, elsewhere, no_data_hint(rel));
    PQclear(r);
    return VG_OK;
}

/* Which contract columns exist, with which types. */
static vg_code read_columns(doctor *d, int rel, json_t *jr, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[2] = {d->cfg->source_schema, rels[rel]};
    vg_code rc = db_exec(d->db,
                         "SELECT c.column_name, c.data_type, coalesce(("
                         " SELECT t.table_type FROM information_schema.tables "
                         " t WHERE t.table_schema = c.table_schema AND "
                         " t.table_name = c.table_name), '') "
                         "FROM information_schema.columns c WHERE "
                         "c.table_schema = $1 AND c.table_name = $2",
                         2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    d->rel_exists[rel] = PQntuples(r) > 0;
    if (!d->rel_exists[rel]) {
        PQclear(r);
        json_object_set_new(jr, "exists", json_false());
        return missing_relation(d, rel, err);
    }
    json_object_set_new(jr, "exists", json_true());
    json_object_set_new(
        jr, "kind",
        json_string(strcmp(PQgetvalue(r, 0, 2), "VIEW") ? "table" : "view"));
    for (int k = 0; k < PQntuples(r); k++) {
        int i = col_index(rel, PQgetvalue(r, k, 0));
        if (i >= 0)
            snprintf(d->type[i], sizeof d->type[i], "%s", PQgetvalue(r, k, 1));
    }
    PQclear(r);
    return VG_OK;
}

/* Classify each contract column of rel: ok, missing or unusable. */
static void judge_columns(doctor *d, int rel, json_t *jcols)
{
    for (size_t i = 0; i < NCOLS; i++) {
        const contract_col *c = &cols[i];
        if (c->rel != rel)
            continue;
        const char *status = "ok";
        if (!d->type[i][0]) {
            status = "missing";
            if (c->not_null)
                finding(d, DOCTOR_ERROR, rel, c->name,
                        "%s.%s has no column %s: map it in the view (%s %s); "
                        "vigil needs it for %s",
                        d->cfg->source_schema, rels[rel], c->name, c->name,
                        c->type, c->feeds);
            else
                finding(d, DOCTOR_ERROR, rel, c->name,
                        "%s.%s has no column %s: add it to the view, as "
                        "NULL::%s AS %s if you have no such data (that costs "
                        "%s)",
                        d->cfg->source_schema, rels[rel], c->name, c->type,
                        c->name, c->feeds);
        } else if (!(d->usable[i] = type_usable(d, i, d->type[i]))) {
            status = "unusable";
            finding(d, DOCTOR_ERROR, rel, c->name,
                    "%s.%s.%s is %s, which vigil cannot read as %s: cast it "
                    "in the view (%s::%s AS %s)",
                    d->cfg->source_schema, rels[rel], c->name, d->type[i],
                    c->type, c->name, c->type, c->name);
        }
        json_object_set_new(jcols, c->name,
                            json_pack("{s:s, s:s?}", "status", status, "type",
                                      d->type[i][0] ? d->type[i] : NULL));
    }
}

#define SQL_CAP 8192

/* One aggregate over the relation: rows, nulls per usable column, the date
 * range of its main timestamp, and the dirty-row rules that apply. */
/* A dirty-row rule counts on this relation when the columns it reads are
 * there. */
static int rule_applies(const doctor *d, int rel, const dirty_rule *u)
{
    return u->rel == rel && d->usable[col_index(rel, u->needs[0])] &&
           (!u->needs[1] || d->usable[col_index(rel, u->needs[1])]);
}

/* One scan of the relation: rows, each usable column's NULLs, the time
 * column's range, each dirty-row rule's count, in that order. */
static void stats_sql(const doctor *d, int rel, const char *rq, char *sql)
{
    int t = col_index(rel, rel_time[rel]);
    size_t len = (size_t)snprintf(sql, SQL_CAP, "SELECT count(*)");
    for (size_t i = 0; i < NCOLS; i++)
        if (cols[i].rel == rel && d->usable[i])
            len += (size_t)snprintf(sql + len, SQL_CAP - len,
                                    ", count(*) FILTER (WHERE %s IS NULL)",
                                    cols[i].name);
    if (d->usable[t])
        len += (size_t)snprintf(
            sql + len, SQL_CAP - len,
            ", (min(%s::timestamptz))::date::text, (max(%s::timestamptz) "
            "FILTER (WHERE %s <= now()))::date::text",
            rel_time[rel], rel_time[rel], rel_time[rel]);
    for (size_t k = 0; k < NRULES; k++)
        if (rule_applies(d, rel, &rules[k]))
            len += (size_t)snprintf(sql + len, SQL_CAP - len, ", %s",
                                    rules[k].expr);
    snprintf(sql + len, SQL_CAP - len, " FROM %s", rq);
}

/* The NULL share of each usable column from field *f on; a required
 * column's NULLs are skipped rows, an optional one that is always empty
 * costs the features it feeds. */
static void report_nulls(doctor *d, int rel, long long n, PGresult *r, int *f,
                         json_t *jcols)
{
    for (size_t i = 0; i < NCOLS; i++) {
        if (cols[i].rel != rel || !d->usable[i])
            continue;
        long long nulls = atoll(PQgetvalue(r, 0, (*f)++));
        double share = n ? (double)nulls / (double)n : 0;
        json_object_set_new(json_object_get(jcols, cols[i].name), "null_share",
                            json_real(share));
        if (!n || !nulls)
            continue;
        if (cols[i].not_null)
            finding(d, share > 0.05 ? DOCTOR_WARN : DOCTOR_NOTE, rel,
                    cols[i].name,
                    "%lld rows (%.2g%%) have no %s and will be skipped", nulls,
                    100 * share, cols[i].name);
        else if (nulls == n)
            finding(d, !strcmp(cols[i].name, "mrr") ? DOCTOR_WARN : DOCTOR_NOTE,
                    rel, cols[i].name,
                    "%s is empty in every row: that costs %s", cols[i].name,
                    cols[i].feeds);
    }
}

/* Each dirty-row rule's count from field *f on. */
static void report_dirty(doctor *d, int rel, long long n, PGresult *r, int *f,
                         json_t *jr)
{
    json_t *dirty = json_object();
    for (size_t k = 0; k < NRULES; k++) {
        const dirty_rule *u = &rules[k];
        if (!rule_applies(d, rel, u))
            continue;
        long long c = atoll(PQgetvalue(r, 0, (*f)++));
        json_object_set_new(dirty, u->name, json_integer(c));
        if (c > 0)
            finding(d, n && c * 20 > n ? DOCTOR_WARN : DOCTOR_NOTE, rel, NULL,
                    "%lld rows (%.2g%%) are dirty: %s (counted and skipped or "
                    "repaired by every job)",
                    c, n ? 100.0 * (double)c / (double)n : 0.0, u->name);
    }
    json_object_set_new(jr, "dirty", dirty);
}

static vg_code read_stats(doctor *d, int rel, json_t *jr, json_t *jcols,
                          vg_error *err)
{
    char *sql = malloc(SQL_CAP), *rq = NULL;
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    if (!sql || !(rq = db_qualify(d->db, d->cfg->source_schema, rels[rel]))) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    stats_sql(d, rel, rq, sql);
    vg_error e2;
    if (db_exec(d->db, sql, 0, NULL, &r, &e2) != VG_OK) {
        if (e2.code == VG_EDBDOWN)
            rc = vg_fail(err, e2.code, "%s", e2.msg);
        else
            finding(d, DOCTOR_ERROR, rel, NULL, "%s.%s cannot be read: %s",
                    d->cfg->source_schema, rels[rel], e2.msg);
        goto cleanup;
    }
    int f = 0;
    long long n = d->rows[rel] = atoll(PQgetvalue(r, 0, f++));
    json_object_set_new(jr, "rows", json_integer(n));
    if (n == 0)
        finding(d, rel == 0 ? DOCTOR_ERROR : DOCTOR_WARN, rel, NULL,
                "%s.%s has no rows%s", d->cfg->source_schema, rels[rel],
                rel == 0   ? ": there is nobody to score"
                : rel == 1 ? ": the model learns from the accounts and "
                             "tickets alone (fine if there are no product "
                             "events)"
                           : ": the model learns from the accounts and usage "
                             "alone (fine if there is no helpdesk)");
    report_nulls(d, rel, n, r, &f, jcols);
    if (d->usable[col_index(rel, rel_time[rel])]) {
        json_object_set_new(jr, "from",
                            PQgetisnull(r, 0, f)
                                ? json_null()
                                : json_string(PQgetvalue(r, 0, f)));
        json_object_set_new(jr, "to",
                            PQgetisnull(r, 0, f + 1)
                                ? json_null()
                                : json_string(PQgetvalue(r, 0, f + 1)));
        f += 2;
    }
    report_dirty(d, rel, n, r, &f, jr);
cleanup:
    PQclear(r);
    free(rq);
    free(sql);
    return rc;
}

/* Events and tickets whose customer_id is not in customers. */
static vg_code unknown_customers(doctor *d, int rel, json_t *jr, vg_error *err)
{
    int a = col_index(rel, "customer_id"), b = col_index(0, "customer_id");
    if (!d->usable[a] || !d->usable[b] || !d->rows[rel])
        return VG_OK;
    char *rq = db_qualify(d->db, d->cfg->source_schema, rels[rel]);
    char *cq = db_qualify(d->db, d->cfg->source_schema, "customers");
    char sql[2048];
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    if (!rq || !cq) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM %s x WHERE x.customer_id IS NOT NULL AND "
             "NOT EXISTS (SELECT 1 FROM %s c WHERE c.customer_id::text = "
             "x.customer_id::text)",
             rq, cq);
    vg_error e2;
    if (db_exec(d->db, sql, 0, NULL, &r, &e2) != VG_OK) {
        finding(d, DOCTOR_ERROR, rel, "customer_id",
                "matching %s to customers failed: %s", rels[rel], e2.msg);
        goto cleanup;
    }
    long long c = atoll(PQgetvalue(r, 0, 0)), n = d->rows[rel];
    json_object_set_new(json_object_get(jr, "dirty"), "unknown_customer",
                        json_integer(c));
    if (c > 0)
        finding(d, c * 20 > n ? DOCTOR_WARN : DOCTOR_NOTE, rel, "customer_id",
                "%lld rows (%.2g%%) name a customer_id that is not in "
                "customers (skipped)%s",
                c, 100.0 * (double)c / (double)n,
                c == n ? ": are the ids the same kind in both views?" : "");
cleanup:
    PQclear(r);
    free(rq);
    free(cq);
    return rc;
}

/* Churn labels: cancellations inside the span train reads, and customers
 * active on the as-of date. */
static vg_code read_labels(doctor *d, vg_error *err)
{
    if (!d->usable[col_index(0, "canceled_at")] ||
        !d->usable[col_index(0, "created_at")] || !d->rows[0])
        return VG_OK;
    const vg_config *cfg = d->cfg;
    int lo_day = d->as_of - cfg->train_horizon_days - cfg->train_lookback_days;
    char asof[DATE_BUF], lo[DATE_BUF], sql[1024];
    date_format(d->as_of, asof);
    date_format(lo_day, lo);
    char *cq = db_qualify(d->db, cfg->source_schema, "customers");
    if (!cq)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE canceled_at < $1::date), "
             " count(*) FILTER (WHERE canceled_at >= $2::date AND canceled_at "
             "  < $1::date AND canceled_at >= created_at), "
             " count(*) FILTER (WHERE created_at < $1::date AND (canceled_at "
             "  IS NULL OR canceled_at >= $1::date)) FROM %s",
             cq);
    free(cq);
    const char *p[2] = {asof, lo};
    PGresult *r = NULL;
    vg_error e2;
    if (db_exec(d->db, sql, 2, p, &r, &e2) != VG_OK)
        return VG_OK; /* read_stats already reported an unreadable relation */
    long long all = atoll(PQgetvalue(r, 0, 0)),
              window = atoll(PQgetvalue(r, 0, 1)),
              active = atoll(PQgetvalue(r, 0, 2));
    PQclear(r);
    json_object_set_new(
        d->report, "labels",
        json_pack("{s:I, s:I, s:s, s:s, s:I, s:i}", "canceled_before_as_of",
                  (json_int_t)all, "canceled_in_training_window",
                  (json_int_t)window, "window_from", lo, "window_to", asof,
                  "active_on_as_of", (json_int_t)active, "horizon_days",
                  cfg->train_horizon_days));
    if (active == 0)
        finding(d, DOCTOR_ERROR, 0, NULL,
                "no customer is active on %s (created before it and not "
                "canceled before it): there is nobody to score",
                asof);
    if (all == 0)
        finding(d, DOCTOR_ERROR, 0, "canceled_at",
                "no customer has a canceled_at before %s: vigil has no churn "
                "to learn from; map canceled_at to the moment a customer "
                "left (contract end, cancellation, or last paid day)",
                asof);
    else if (window < cfg->train_min_positives)
        finding(d, DOCTOR_ERROR, 0, "canceled_at",
                "only %lld customers canceled between %s and %s, the span "
                "`vigil train` learns from; it needs %d "
                "(train.min_positives): a longer train.lookback_days helps",
                window, lo, asof, cfg->train_min_positives);
    else if (window < 50)
        finding(d, DOCTOR_WARN, 0, "canceled_at",
                "only %lld customers canceled between %s and %s: the model "
                "will be rough (50 or more is better; a longer "
                "train.lookback_days helps)",
                window, lo, asof);
    return VG_OK;
}

static vg_code read_freshness(doctor *d, vg_error *err)
{
    if (!d->usable[col_index(1, "occurred_at")] ||
        !d->usable[col_index(2, "created_at")])
        return VG_OK;
    int latest = -1;
    vg_error e2;
    if (fresh_latest_day(d->db, d->cfg->source_schema, d->as_of, &latest,
                         &e2) != VG_OK)
        return VG_OK; /* an unreadable relation was reported already */
    char l[DATE_BUF], a[DATE_BUF];
    date_format(d->as_of, a);
    if (latest < 0) {
        json_object_set_new(d->report, "latest_data", json_null());
        return VG_OK;
    }
    date_format(latest, l);
    json_object_set_new(d->report, "latest_data", json_string(l));
    /* The same rule the jobs apply (run as if today were the as-of date). */
    vg_error e3;
    if (fresh_check(d->db, d->cfg->source_schema, "daily", d->as_of, d->as_of,
                    &e3) == VG_EDATA)
        finding(d, DOCTOR_WARN, -1, NULL,
                "jobs for %s will be refused until the data is loaded: %s", a,
                e3.msg);
    return VG_OK;
}

vg_code doctor_require(db_conn *db, const vg_config *cfg, vg_error *missing,
                       vg_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {cfg->source_schema};
    vg_error_clear(missing);
    vg_code rc = db_exec(db,
                         "SELECT table_name, column_name, data_type FROM "
                         "information_schema.columns WHERE table_schema = $1 "
                         "AND table_name IN ('customers', 'usage_events', "
                         "'tickets')",
                         1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    int have_rel[3] = {0, 0, 0}, have_col[NCOLS];
    memset(have_col, 0, sizeof have_col);
    for (int k = 0; k < PQntuples(r); k++)
        for (int rel = 0; rel < 3; rel++) {
            if (strcmp(PQgetvalue(r, k, 0), rels[rel]))
                continue;
            have_rel[rel] = 1;
            int i = col_index(rel, PQgetvalue(r, k, 1));
            if (i < 0)
                continue;
            have_col[i] = 1;
            if (cols[i].kind == K_ID &&
                !id_type_ok(cols[i].name, PQgetvalue(r, k, 2))) {
                rc = vg_fail(err, VG_EDATA,
                             "%s.%s.%s is %s: vigil compares ids as text; "
                             "cast it in the view (%s::text AS %s)",
                             cfg->source_schema, rels[rel], cols[i].name,
                             PQgetvalue(r, k, 2), cols[i].name, cols[i].name);
                PQclear(r);
                return rc;
            }
        }
    PQclear(r);
    for (int rel = 0; rel < 3; rel++) {
        if (have_rel[rel])
            continue;
        char list[1024];
        column_list(rel, list, sizeof list);
        vg_fail(missing, VG_EDATA,
                "there is no relation %s.%s: create a view %s.%s with "
                "columns %s (docs/MAPPING.md shows how; `vigil check` "
                "checks a mapping)%s",
                cfg->source_schema, rels[rel], cfg->source_schema, rels[rel],
                list, no_data_hint(rel));
        return VG_OK;
    }
    /* Only the columns no row can do without: a job that never reads an
     * optional one (outreach and channel) must not fail for it. */
    for (size_t i = 0; i < NCOLS; i++)
        if (cols[i].not_null && !have_col[i]) {
            vg_fail(missing, VG_EDATA,
                    "%s.%s has no column %s (%s): map it in the view; vigil "
                    "needs it for %s (`vigil check` lists every gap)",
                    cfg->source_schema, rels[cols[i].rel], cols[i].name,
                    cols[i].type, cols[i].feeds);
            return VG_OK;
        }
    return VG_OK;
}

vg_code doctor_run(db_conn *db, const vg_config *cfg, int as_of,
                   json_t **report, doctor_level *worst, vg_error *err)
{
    doctor *d = calloc(1, sizeof *d);
    if (!d)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    d->db = db;
    d->cfg = cfg;
    d->as_of = as_of;
    d->report = json_object();
    d->findings = json_array();
    d->relations = json_object();
    char asof[DATE_BUF];
    date_format(as_of, asof);
    vg_code rc = db_run(db, "SET TimeZone = 'UTC'", err);
    for (int rel = 0; rc == VG_OK && rel < 3; rel++) {
        json_t *jr = json_object(), *jcols = json_object();
        json_object_set_new(d->relations, rels[rel], jr);
        rc = read_columns(d, rel, jr, err);
        if (rc != VG_OK || !d->rel_exists[rel]) {
            json_decref(jcols);
            continue;
        }
        json_object_set_new(jr, "columns", jcols);
        judge_columns(d, rel, jcols);
        rc = read_stats(d, rel, jr, jcols, err);
        if (rc == VG_OK && rel > 0)
            rc = unknown_customers(d, rel, jr, err);
    }
    if (rc == VG_OK)
        rc = read_labels(d, err);
    if (rc == VG_OK)
        rc = read_freshness(d, err);
    *worst = d->counts[DOCTOR_ERROR]  ? DOCTOR_ERROR
             : d->counts[DOCTOR_WARN] ? DOCTOR_WARN
                                      : DOCTOR_NOTE;
    json_object_set_new(d->report, "schema", json_string(cfg->source_schema));
    json_object_set_new(d->report, "as_of", json_string(asof));
    json_object_set_new(d->report, "relations", d->relations);
    json_object_set_new(d->report, "findings", d->findings);
    json_object_set_new(d->report, "errors",
                        json_integer(d->counts[DOCTOR_ERROR]));
    json_object_set_new(d->report, "warnings",
                        json_integer(d->counts[DOCTOR_WARN]));
    json_object_set_new(d->report, "notes",
                        json_integer(d->counts[DOCTOR_NOTE]));
    json_object_set_new(d->report, "verdict",
                        json_string(*worst == DOCTOR_ERROR ? "not_ready"
                                    : *worst == DOCTOR_WARN
                                        ? "ready_with_warnings"
                                        : "ready"));
    if (rc == VG_OK)
        *report = d->report;
    else
        json_decref(d->report);
    free(d);
    return rc;
}
