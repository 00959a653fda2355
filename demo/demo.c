/* demo.c — `vigil demo`: checks options, recreates the tables in one
 * transaction, streams every simulated customer through COPY table by table. */
#include "demo/demo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "demo/demo_internal.h"

/* Table comment that marks a table as ours to drop. */
#define DEMO_MARKER "vigil demo data"
#define TRUTH "vigil_demo_truth"

void demo_opts_default(demo_opts *o)
{
    memset(o, 0, sizeof *o);
    o->schema = "public";
    o->customers = 2000;
    o->seed = 42;
    o->end_day = 20240; /* 2025-06-01 */
    o->history_days = 450;
    o->dirty_share = 0.002;
}

/* The injected issues: at most DEMO_MAX_ISSUES, every --issue spec valid,
 * no two (random ones included) with one name. */
static vg_code issues_check(const demo_opts *o, vg_error *err)
{
    demo_issue is[DEMO_MAX_ISSUES];
    int n = 0;
    if (o->n_issue_specs < 0 || o->random_issues < 0 ||
        o->n_issue_specs + o->random_issues > DEMO_MAX_ISSUES)
        return vg_fail(err, VG_EUSAGE,
                       "at most %d injected issues (--issue and "
                       "--random-issues together)",
                       DEMO_MAX_ISSUES);
    for (int i = 0; i < o->n_issue_specs; i++) {
        vg_code rc = demo_issue_parse(o->issue_specs[i], o->end_day,
                                      o->history_days, &is[n++], err);
        if (rc != VG_OK)
            return rc;
    }
    for (int i = 0; i < o->random_issues; i++)
        demo_issue_random(o->seed, i, o->end_day, &is[n++]);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(is[i].name, is[j].name))
                return vg_fail(err, VG_EUSAGE,
                               "two injected issues are named '%s'",
                               is[i].name);
    return VG_OK;
}

vg_code demo_opts_check(const demo_opts *o, vg_error *err)
{
    if (!o->schema || !*o->schema)
        return vg_fail(err, VG_EUSAGE, "empty schema name");
    if (!demo_world_find(o->world ? o->world : "saas"))
        return vg_fail(err, VG_EUSAGE, "unknown world '%s' (one of %s)",
                       o->world, DEMO_WORLDS);
    if (!strcmp(o->schema, TRUTH) || !strcmp(o->schema, "vigil") ||
        !strncmp(o->schema, "pg_", 3) ||
        !strcmp(o->schema, "information_schema"))
        return vg_fail(err, VG_EUSAGE,
                       "schema \"%s\" is reserved; choose another", o->schema);
    if (o->customers < 1 || o->customers > DEMO_MAX_CUSTOMERS)
        return vg_fail(err, VG_EUSAGE, "customers must be between 1 and %d",
                       DEMO_MAX_CUSTOMERS);
    if (o->history_days < 30 || o->history_days > 3650)
        return vg_fail(err, VG_EUSAGE,
                       "history must be between 30 and 3650 days");
    if (o->end_day < demo_day_from_civil(1980, 1, 1) ||
        o->end_day > demo_day_from_civil(2200, 1, 1))
        return vg_fail(err, VG_EUSAGE,
                       "end date must be between 1980 and 2200");
    /* Signups reach back up to three years (or a year before a longer
     * window); all of it must stay after 1970, where timestamps are >= 0. */
    if (o->end_day - o->history_days - 4 * 365 < 0)
        return vg_fail(err, VG_EUSAGE,
                       "end date too early for %d days of history",
                       o->history_days);
    if (!(o->dirty_share >= 0 && o->dirty_share <= 0.2))
        return vg_fail(err, VG_EUSAGE, "dirty share must be between 0 and 0.2");
    return issues_check(o, err);
}

vg_code demo_parse_languages(const char *s, double w[4], vg_error *err)
{
    double v[4] = {0, 0, 0, 0}, sum = 0;
    char buf[128];
    if (strlen(s) >= sizeof buf)
        return vg_fail(err, VG_EUSAGE, "--languages: too long");
    snprintf(buf, sizeof buf, "%s", s);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '='), *end = NULL;
        int L = -1;
        for (int i = 0; eq && i < DEMO_NLANG; i++)
            if ((size_t)(eq - kv) == strlen(demo_lang_code[i]) &&
                !strncmp(kv, demo_lang_code[i], (size_t)(eq - kv)))
                L = i;
        double x = eq ? strtod(eq + 1, &end) : -1;
        if (L < 0 || end == eq + 1 || (end && *end) || !(x >= 0 && x <= 1e6))
            return vg_fail(err, VG_EUSAGE,
                           "--languages: '%s' is not LANG=WEIGHT with LANG "
                           "one of en, de, fr, es (e.g. "
                           "en=40,de=30,fr=15,es=15)",
                           kv);
        v[L] = x;
    }
    for (int i = 0; i < DEMO_NLANG; i++)
        sum += v[i];
    if (!(sum > 0))
        return vg_fail(err, VG_EUSAGE,
                       "--languages: at least one weight must be above 0");
    for (int i = 0; i < DEMO_NLANG; i++)
        w[i] = v[i] / sum;
    return VG_OK;
}

/* Languages and injected issues of the run, into the context. */
static vg_code setup_issues(const demo_opts *o, demo_ctx *x, vg_error *err)
{
    static const double def_cut[DEMO_NLANG] = {0.55, 0.75, 0.88, 1.0};
    double share[DEMO_NLANG], sum = 0;
    for (int i = 0; i < DEMO_NLANG; i++)
        sum += o->lang_weight[i];
    for (int i = 0; i < DEMO_NLANG; i++) {
        /* the default keeps the exact cut points the company always had */
        x->lang_cut[i] =
            sum > 0 ? (i ? x->lang_cut[i - 1] : 0) + o->lang_weight[i] / sum
                    : def_cut[i];
        share[i] = x->lang_cut[i] - (i ? x->lang_cut[i - 1] : 0);
    }
    x->lang_cut[DEMO_NLANG - 1] = 1.0;
    x->no_planted = o->no_planted;
    /* demo_opts_check has checked the specs, their number and names */
    x->nissues = 0;
    for (int i = 0; i < o->n_issue_specs; i++) {
        vg_code rc =
            demo_issue_parse(o->issue_specs[i], o->end_day, o->history_days,
                             &x->issues[x->nissues++], err);
        if (rc != VG_OK)
            return rc;
    }
    for (int i = 0; i < o->random_issues; i++)
        demo_issue_random(o->seed, i, o->end_day, &x->issues[x->nissues++]);
    demo_issues_prepare(x->issues, x->nissues, o->seed, o->customers, share);
    return VG_OK;
}

/* Quoted names of everything the run touches. */
typedef struct names {
    char *schema, *customers, *events, *tickets;
} names;

static void names_free(names *n)
{
    free(n->schema);
    free(n->customers);
    free(n->events);
    free(n->tickets);
}

/* Refuse to drop a table we did not create: the schema may be a real one. */
static vg_code guard_existing(db_conn *db, const char *schema, vg_error *err)
{
    const char *params[1] = {schema};
    PGresult *res = NULL;
    vg_code rc =
        db_exec(db,
                "SELECT c.relname, c.relkind::text, "
                "coalesce(obj_description(c.oid, 'pg_class'), '') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = $1 "
                "AND c.relname IN ('customers', 'usage_events', 'tickets') "
                "ORDER BY 1",
                1, params, &res, err);
    if (rc != VG_OK)
        goto cleanup;
    for (int i = 0; i < PQntuples(res); i++) {
        const char *kind = PQgetvalue(res, i, 1);
        const char *comment = PQgetvalue(res, i, 2);
        if (strcmp(kind, "r") != 0 ||
            strncmp(comment, DEMO_MARKER, strlen(DEMO_MARKER)) != 0) {
            rc = vg_fail(err, VG_EUSAGE,
                         "demo: refusing to replace %s.%s: it was not created "
                         "by vigil demo (drop it yourself if it is disposable, "
                         "or choose another source.schema)",
                         schema, PQgetvalue(res, i, 0));
            goto cleanup;
        }
    }
cleanup:
    PQclear(res);
    return rc;
}

static vg_code create_tables(db_conn *db, const names *n, const demo_opts *o,
                             vg_error *err)
{
    char end[16], sql[4096];
    demo_fmt_date(end, o->end_day);
    /* No NOT NULL, key or check on events and tickets: the dirty rows must
     * load, exactly as they would from a careless upstream export. */
    snprintf(
        sql, sizeof sql,
        "CREATE SCHEMA IF NOT EXISTS %s;"
        "DROP TABLE IF EXISTS %s, %s, %s;"
        "CREATE TABLE %s (customer_id text PRIMARY KEY, name text,"
        " created_at timestamptz NOT NULL, canceled_at timestamptz,"
        " plan text, mrr numeric(12,2), seats integer, language text,"
        " industry text, region text, is_enterprise boolean,"
        " employee_count integer, renewal_date date);"
        "CREATE TABLE %s (customer_id text, occurred_at timestamptz,"
        " event_type text, user_id text, quantity double precision);"
        "CREATE TABLE %s (ticket_id text, customer_id text,"
        " created_at timestamptz, first_response_at timestamptz,"
        " resolved_at timestamptz, status text, priority text, channel text,"
        " subject text, body text, csat smallint, reopens integer,"
        " escalated boolean);"
        "COMMENT ON TABLE %s IS '" DEMO_MARKER " (seed %lu, %ld customers, "
        "up to %s)';"
        "COMMENT ON TABLE %s IS '" DEMO_MARKER "';"
        "COMMENT ON TABLE %s IS '" DEMO_MARKER "';",
        n->schema, n->customers, n->events, n->tickets, n->customers, n->events,
        n->tickets, n->customers, o->seed, o->customers, end, n->events,
        n->tickets);
    vg_code rc = db_run(db, sql, err);
    if (rc != VG_OK)
        return rc;
    return db_run(
        db,
        "DROP SCHEMA IF EXISTS " TRUTH " CASCADE;"
        "CREATE SCHEMA " TRUTH ";"
        "COMMENT ON SCHEMA " TRUTH " IS 'what vigil demo hid in the data, to "
        "score vigil against';"
        "CREATE TABLE " TRUTH ".customer_truth (customer_id text PRIMARY KEY,"
        " churned boolean, churn_cause text, decided_on date,"
        " cancels_on date, collapse_on date, csv_affected boolean,"
        " sso_affected boolean);"
        "CREATE TABLE " TRUTH ".ticket_topics (ticket_id text PRIMARY KEY,"
        " topic text, language text);"
        "CREATE TABLE " TRUTH ".emerging_issues (topic text, onset date,"
        " description text, ends date, customers integer,"
        " kind text, shape text, languages text, spike_of text,"
        " tickets integer);"
        "CREATE TABLE " TRUTH ".dirty_rows (tbl text, kind text, count int);",
        err);
}

/* State shared by the passes over all customers. */
typedef struct run {
    db_conn *db;
    const demo_opts *o;
    demo_ctx x;
    demo_cust c;
    progress prog;
    strbuf subject, body;
    demo_event_counts ev;
    long tk_rows, tk_dirty[DEMO_NDIRTY_TK];
    long churned, csv_customers, sso_customers;
    /* per injected issue, then csv (DEMO_MAX_ISSUES) and sso (+1): tickets
     * and customers who wrote one */
    long issue_tickets[DEMO_MAX_ISSUES + 2], issue_writers[DEMO_MAX_ISSUES + 2];
} run;

/* Which issue slot of run.issue_* a ticket counts for, or -1. */
static int issue_slot(const demo_ticket *t)
{
    if (t->issue >= 0)
        return t->issue;
    if (t->topic == TP_CSV_BROKEN)
        return DEMO_MAX_ISSUES;
    if (t->topic == TP_SSO_OUTAGE)
        return DEMO_MAX_ISSUES + 1;
    return -1;
}

static void count_issues(run *r)
{
    int seen[DEMO_MAX_ISSUES + 2] = {0};
    for (int i = 0; i < r->c.ntickets; i++) {
        const demo_ticket *t = &r->c.tickets[i];
        int k = issue_slot(t);
        if (k < 0 || t->dirty >= 0)
            continue;
        r->issue_tickets[k]++;
        if (!seen[k]++)
            r->issue_writers[k]++;
    }
}

typedef vg_code (*cust_fn)(run *r, db_copy_in *cp, vg_error *err);

static void fmt_ts_or_null(db_copy_in *cp, int64_t ts)
{
    char buf[32];
    if (ts < 0) {
        db_copy_field_null(cp);
        return;
    }
    demo_fmt_ts(buf, ts);
    db_copy_field(cp, buf);
}

static void fmt_day_or_null(db_copy_in *cp, int day)
{
    char buf[16];
    if (day < 0) {
        db_copy_field_null(cp);
        return;
    }
    demo_fmt_date(buf, day);
    db_copy_field(cp, buf);
}

static vg_code row_customer(run *r, db_copy_in *cp, vg_error *err)
{
    const demo_cust *c = &r->c;
    char buf[32];
    db_copy_field(cp, c->id);
    db_copy_field(cp, c->name);
    fmt_ts_or_null(cp, c->created_ts);
    fmt_ts_or_null(cp, c->canceled_ts);
    db_copy_field(cp, demo_plan_name[c->plan]);
    snprintf(buf, sizeof buf, "%ld.%02ld", c->mrr_cents / 100,
             c->mrr_cents % 100);
    db_copy_field(cp, buf);
    snprintf(buf, sizeof buf, "%d", c->seats);
    db_copy_field(cp, buf);
    db_copy_field(cp, demo_lang_code[c->lang]);
    db_copy_field(cp, demo_industry_name[c->industry]);
    db_copy_field(cp, demo_region_name[c->region]);
    db_copy_field(cp, c->is_enterprise ? "t" : "f");
    snprintf(buf, sizeof buf, "%d", c->employees);
    db_copy_field(cp, buf);
    fmt_day_or_null(cp, c->renewal_day);
    if (c->canceled_ts >= 0)
        r->churned++;
    r->csv_customers += c->csv_affected;
    r->sso_customers += c->sso_affected;
    count_issues(r);
    return db_copy_row_end(cp, err);
}

static vg_code row_customer_truth(run *r, db_copy_in *cp, vg_error *err)
{
    const demo_cust *c = &r->c;
    db_copy_field(cp, c->id);
    db_copy_field(cp, c->canceled_ts >= 0 ? "t" : "f");
    db_copy_field(cp, demo_cause_name[c->cause]);
    fmt_day_or_null(cp, c->decision_day);
    fmt_day_or_null(cp, c->cancel_plan_day);
    fmt_day_or_null(cp, c->collapse_day);
    db_copy_field(cp, c->csv_affected ? "t" : "f");
    db_copy_field(cp, c->sso_affected ? "t" : "f");
    return db_copy_row_end(cp, err);
}

static vg_code rows_events(run *r, db_copy_in *cp, vg_error *err)
{
    return demo_emit_events(&r->x, &r->c, cp, &r->ev, err);
}

static vg_code rows_tickets(run *r, db_copy_in *cp, vg_error *err)
{
    const demo_cust *c = &r->c;
    vg_code rc = VG_OK;
    for (int i = 0; i < c->ntickets && rc == VG_OK; i++) {
        const demo_ticket *t = &c->tickets[i];
        char id[16], unknown[16], num[8];
        demo_ticket_id(&r->x, c->idx, t->seq, id);
        demo_ticket_text(&r->x, c, t, &r->subject, &r->body);
        if (r->subject.failed || r->body.failed)
            return vg_fail(err, VG_ENOMEM, "demo: out of memory");
        db_copy_field(cp, id);
        if (t->dirty == DT_NULL_CUSTOMER) {
            db_copy_field_null(cp);
        } else if (t->dirty == DT_UNKNOWN_CUSTOMER) {
            demo_rng ur;
            demo_rng_seed(&ur, r->x.seed, (uint64_t)c->idx, 1000 + t->seq);
            demo_unknown_customer_id(&ur, unknown);
            db_copy_field(cp, unknown);
        } else {
            db_copy_field(cp, c->id);
        }
        fmt_ts_or_null(cp, t->created);
        fmt_ts_or_null(cp, t->first_response);
        fmt_ts_or_null(cp, t->resolved);
        db_copy_field(cp, demo_status_name[t->status]);
        db_copy_field(cp, demo_priority_name[t->priority]);
        db_copy_field(cp, demo_channel_name[t->channel]);
        db_copy_field(cp, r->subject.s ? r->subject.s : "");
        db_copy_field(cp, r->body.s ? r->body.s : "");
        if (t->csat < 0) {
            db_copy_field_null(cp);
        } else {
            snprintf(num, sizeof num, "%d", t->csat);
            db_copy_field(cp, num);
        }
        if (t->reopens < 0) {
            db_copy_field_null(cp);
        } else {
            snprintf(num, sizeof num, "%d", t->reopens);
            db_copy_field(cp, num);
        }
        db_copy_field(cp, t->escalated < 0 ? NULL : t->escalated ? "t" : "f");
        r->tk_rows++;
        if (t->dirty >= 0)
            r->tk_dirty[(int)t->dirty]++;
        rc = db_copy_row_end(cp, err);
    }
    return rc;
}

static vg_code rows_ticket_topics(run *r, db_copy_in *cp, vg_error *err)
{
    const demo_cust *c = &r->c;
    vg_code rc = VG_OK;
    for (int i = 0; i < c->ntickets && rc == VG_OK; i++) {
        const demo_ticket *t = &c->tickets[i];
        char id[16];
        demo_ticket_id(&r->x, c->idx, t->seq, id);
        db_copy_field(cp, id);
        db_copy_field(cp, t->issue >= 0 ? r->x.issues[(int)t->issue].name
                                        : demo_topic_key[(int)t->topic]);
        db_copy_field(cp, demo_lang_code[(int)t->lang]);
        rc = db_copy_row_end(cp, err);
    }
    return rc;
}

/* One pass: simulate every customer again and write its rows of one table. */
static vg_code pass(run *r, int step, const char *label, const char *copy_sql,
                    cust_fn fn, vg_error *err)
{
    db_copy_in *cp = NULL;
    vg_code rc = db_copy_in_begin(r->db, copy_sql, &cp, err);
    if (rc != VG_OK)
        goto cleanup;
    for (long i = 1; i <= r->o->customers && rc == VG_OK; i++) {
        demo_sim_customer(&r->x, i, &r->c);
        rc = fn(r, cp, err);
        if ((i & 255) == 0)
            progress_update(&r->prog, "demo [%d/5] %s: %ld/%ld customers", step,
                            label, i, r->o->customers);
    }
cleanup:
    if (cp) {
        vg_code end = db_copy_in_end(cp, rc != VG_OK, err);
        if (rc == VG_OK)
            rc = end;
    }
    if (rc != VG_OK)
        vg_wrap(err, "demo: loading %s: ", label);
    return rc;
}

/* The tail of an emerging_issues row: kind, shape, languages, spike_of,
 * tickets written. */
static void truth_tail_fields(db_copy_in *cp, const char *kind,
                              const char *shape, int lang_mask,
                              const char *spike_of, long tickets)
{
    char langs[32] = "";
    for (int L = 0; L < DEMO_NLANG; L++)
        if (lang_mask & (1 << L)) {
            size_t k = strlen(langs);
            snprintf(langs + k, sizeof langs - k, "%s%s", k ? "," : "",
                     demo_lang_code[L]);
        }
    db_copy_field(cp, kind);
    db_copy_field(cp, shape);
    db_copy_field(cp, langs);
    if (spike_of)
        db_copy_field(cp, spike_of);
    else
        db_copy_field_null(cp);
    db_copy_field_fmt(cp, "%ld", tickets);
}

static vg_code emerging_rows(run *r, db_copy_in *cp, vg_error *err)
{
    const demo_ctx *x = &r->x;
    char a[16], b[16], desc[512];
    vg_code rc = VG_OK;
    const int all = (1 << DEMO_NLANG) - 1;
    if (!x->no_planted) {
        demo_fmt_date(a, x->csv_onset);
        db_copy_field(cp, demo_topic_key[TP_CSV_BROKEN]);
        db_copy_field(cp, a);
        db_copy_field(cp, "CSV export fails or garbles umlauts and accents "
                          "(UTF-8 written as Latin-1); mostly German "
                          "customers; tickets grow daily after onset, "
                          "unfixed at the end");
        db_copy_field_null(cp);
        db_copy_field_fmt(cp, "%ld", r->csv_customers);
        truth_tail_fields(cp, "new", "ramp", all, NULL,
                          r->issue_tickets[DEMO_MAX_ISSUES]);
        if ((rc = db_copy_row_end(cp, err)) != VG_OK)
            return rc;
        demo_fmt_date(a, x->sso_onset);
        demo_fmt_date(b, x->sso_onset + x->sso_days);
        db_copy_field(cp, demo_topic_key[TP_SSO_OUTAGE]);
        db_copy_field(cp, a);
        db_copy_field(cp, "SAML SSO logins fail after a certificate "
                          "rotation; SSO customers only; a burst decaying "
                          "over the outage");
        db_copy_field(cp, b);
        db_copy_field_fmt(cp, "%ld", r->sso_customers);
        truth_tail_fields(cp, "spike", "burst", all,
                          demo_topic_key[TP_LOGIN_SSO],
                          r->issue_tickets[DEMO_MAX_ISSUES + 1]);
        if ((rc = db_copy_row_end(cp, err)) != VG_OK)
            return rc;
    }
    for (int k = 0; k < x->nissues && rc == VG_OK; k++) {
        const demo_issue *is = &x->issues[k];
        demo_fmt_date(a, is->onset);
        demo_fmt_date(b, is->onset + is->days);
        demo_issue_describe(is, desc, sizeof desc);
        db_copy_field(cp, is->name);
        db_copy_field(cp, a);
        db_copy_field(cp, desc);
        db_copy_field(cp, b);
        /* customers: those who wrote about it (the planted rows count the
         * affected, a property the sso and csv issues always had) */
        db_copy_field_fmt(cp, "%ld", r->issue_writers[k]);
        truth_tail_fields(cp, is->spike_of >= 0 ? "spike" : "new",
                          demo_issue_shape_name(is->shape), is->lang_mask,
                          is->spike_of >= 0 ? demo_topic_key[is->spike_of]
                                            : NULL,
                          r->issue_tickets[k]);
        rc = db_copy_row_end(cp, err);
    }
    return rc;
}

static vg_code load_truth_tail(run *r, vg_error *err)
{
    char sql[1024];
    db_copy_in *cp = NULL;
    vg_code rc = db_copy_in_begin(
        r->db,
        "COPY " TRUTH ".emerging_issues (topic, onset, description, ends,"
        " customers, kind, shape, languages, spike_of, tickets) FROM STDIN",
        &cp, err);
    if (rc != VG_OK)
        goto cleanup;
    if ((rc = emerging_rows(r, cp, err)) != VG_OK)
        goto cleanup;
    rc = db_copy_in_end(cp, 0, err);
    cp = NULL;
    if (rc != VG_OK)
        goto cleanup;

    rc = db_copy_in_begin(
        r->db, "COPY " TRUTH ".dirty_rows (tbl, kind, count) FROM STDIN", &cp,
        err);
    if (rc != VG_OK)
        goto cleanup;
    for (int k = 0; k < DEMO_NDIRTY_EV && rc == VG_OK; k++) {
        db_copy_field(cp, "usage_events");
        db_copy_field(cp, demo_dirty_ev_name[k]);
        db_copy_field_fmt(cp, "%ld", r->ev.dirty[k]);
        rc = db_copy_row_end(cp, err);
    }
    for (int k = 0; k < DEMO_NDIRTY_TK && rc == VG_OK; k++) {
        db_copy_field(cp, "tickets");
        db_copy_field(cp, demo_dirty_tk_name[k]);
        db_copy_field_fmt(cp, "%ld", r->tk_dirty[k]);
        rc = db_copy_row_end(cp, err);
    }
    if (rc != VG_OK)
        goto cleanup;
    rc = db_copy_in_end(cp, 0, err);
    cp = NULL;
    if (rc != VG_OK)
        goto cleanup;
    snprintf(sql, sizeof sql,
             "CREATE INDEX ON " TRUTH ".ticket_topics (topic);"
             "CREATE INDEX ON " TRUTH ".customer_truth (churn_cause);");
    rc = db_run(r->db, sql, err);
cleanup:
    if (cp)
        db_copy_in_end(cp, 1, NULL);
    return rc;
}

/* The run's state: the simulation's context from the options, its
 * buffers, and the quoted table names. run_free frees it even half made. */
static vg_code run_new(db_conn *db, const demo_opts *o, run **out, names *n,
                       vg_error *err)
{
    run *r = *out = calloc(1, sizeof *r);
    if (!r)
        return vg_fail(err, VG_ENOMEM, "demo: out of memory");
    r->db = db;
    r->o = o;
    demo_ctx *x = &r->x;
    x->world = demo_world_find(o->world ? o->world : "saas");
    x->seed = o->seed;
    x->n = o->customers;
    x->end_day = o->end_day;
    x->history_days = o->history_days;
    x->window_start = o->end_day - o->history_days;
    x->dirty_share = o->dirty_share;
    x->csv_onset = o->end_day - 21;
    x->sso_onset = o->end_day - 60;
    x->sso_days = 10;
    vg_code rc = setup_issues(o, x, err);
    if (rc != VG_OK)
        return rc;
    x->ev_rate = calloc((size_t)o->history_days, sizeof *x->ev_rate);
    x->tickets = calloc(DEMO_MAX_TICKETS, sizeof *x->tickets);
    n->schema = db_quote_ident(db, o->schema);
    n->customers = db_qualify(db, o->schema, "customers");
    n->events = db_qualify(db, o->schema, "usage_events");
    n->tickets = db_qualify(db, o->schema, "tickets");
    if (!x->ev_rate || !x->tickets || !n->schema || !n->customers ||
        !n->events || !n->tickets)
        return vg_fail(err, VG_ENOMEM, "demo: out of memory");
    progress_init(&r->prog, o->quiet);
    return VG_OK;
}

static void run_free(run *r)
{
    if (!r)
        return;
    progress_done(&r->prog);
    free(r->x.ev_rate);
    free(r->x.tickets);
    strbuf_free(&r->subject);
    strbuf_free(&r->body);
    free(r);
}

/* Every table's rows, one COPY pass over the customers each. FREEZE: the
 * tables are new in this transaction, so rows can be written frozen and
 * nobody pays for hint bits later. */
static vg_code copy_all(run *r, const names *n, vg_error *err)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "COPY %s (customer_id, name, created_at, canceled_at, plan, mrr,"
             " seats, language, industry, region, is_enterprise,"
             " employee_count, renewal_date) FROM STDIN WITH (FREEZE)",
             n->customers);
    vg_code rc = pass(r, 1, "customers", sql, row_customer, err);
    if (rc != VG_OK)
        return rc;
    if ((rc = pass(r, 2, "customer truth",
                   "COPY " TRUTH ".customer_truth FROM STDIN WITH (FREEZE)",
                   row_customer_truth, err)) != VG_OK)
        return rc;
    snprintf(sql, sizeof sql,
             "COPY %s (customer_id, occurred_at, event_type, user_id,"
             " quantity) FROM STDIN WITH (FREEZE)",
             n->events);
    if ((rc = pass(r, 3, "usage_events", sql, rows_events, err)) != VG_OK)
        return rc;
    snprintf(sql, sizeof sql,
             "COPY %s (ticket_id, customer_id, created_at, first_response_at,"
             " resolved_at, status, priority, channel, subject, body, csat,"
             " reopens, escalated) FROM STDIN WITH (FREEZE)",
             n->tickets);
    if ((rc = pass(r, 4, "tickets", sql, rows_tickets, err)) != VG_OK)
        return rc;
    if ((rc = pass(r, 5, "ticket truth",
                   "COPY " TRUTH ".ticket_topics FROM STDIN WITH (FREEZE)",
                   rows_ticket_topics, err)) != VG_OK)
        return rc;
    if ((rc = load_truth_tail(r, err)) != VG_OK)
        vg_wrap(err, "demo: loading " TRUTH ": ");
    return rc;
}

/* The company in one transaction: nothing of a failed run is left, and an
 * existing schema that is not the demo's is refused before anything is
 * dropped. */
static vg_code write_company(run *r, const names *n, vg_error *err)
{
    db_conn *db = r->db;
    vg_code rc = db_begin(db, err);
    if (rc != VG_OK)
        return rc;
    if ((rc = guard_existing(db, r->o->schema, err)) != VG_OK)
        goto rollback;
    if ((rc = create_tables(db, n, r->o, err)) != VG_OK) {
        vg_wrap(err, "demo: creating tables: ");
        goto rollback;
    }
    if ((rc = copy_all(r, n, err)) != VG_OK)
        goto rollback;
    progress_update(&r->prog, "demo: committing");
    if ((rc = db_commit(db, err)) != VG_OK) {
        vg_wrap(err, "demo: ");
        goto rollback;
    }
    return VG_OK;
rollback:
    db_rollback(db);
    return rc;
}

static void fill_stats(const run *r, demo_stats *st)
{
    memset(st, 0, sizeof *st);
    st->customers = r->o->customers;
    st->events = r->ev.rows;
    st->tickets = r->tk_rows;
    st->churned = r->churned;
    for (int k = 0; k < DEMO_NDIRTY_EV; k++)
        st->dirty_events += r->ev.dirty[k];
    for (int k = 0; k < DEMO_NDIRTY_TK; k++)
        st->dirty_tickets += r->tk_dirty[k];
}

vg_code demo_generate(db_conn *db, const demo_opts *o, demo_stats *st,
                      vg_error *err)
{
    names n = {0};
    run *r = NULL;
    char sql[1024];
    vg_code rc = demo_opts_check(o, err);
    if (rc != VG_OK)
        goto cleanup;
    if ((rc = run_new(db, o, &r, &n, err)) != VG_OK)
        goto cleanup;
    demo_prepare(&r->x);
    if ((rc = write_company(r, &n, err)) != VG_OK)
        goto cleanup;

    progress_update(&r->prog, "demo: analyzing");
    snprintf(sql, sizeof sql,
             "ANALYZE %s; ANALYZE %s; ANALYZE %s; ANALYZE " TRUTH
             ".customer_truth; ANALYZE " TRUTH ".ticket_topics;",
             n.customers, n.events, n.tickets);
    if ((rc = db_run(db, sql, err)) != VG_OK) {
        vg_wrap(err, "demo: analyzing: ");
        goto cleanup;
    }
    if (st)
        fill_stats(r, st);
cleanup:
    run_free(r);
    names_free(&n);
    return rc;
}
