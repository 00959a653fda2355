/* alerts.c — the trend-alert feed: counts per topic and day pushed into SQL,
 * tested in C (topics/trend.c), and one alert row per ongoing event. */
#include "topics/alerts.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/util.h"
#include "topics/issues.h"
#include "topics/trend.h"

#define SAMPLES 5
#define LEAD_TERMS 3    /* a topic's terms that say what it is about */
#define LEAD_CONCEPTS 4 /* support notions kept from them */
/* One alert per issue (same_issue): an alert resolved this many days ago
 * may still take in a topic of its issue; the days of counts its window
 * must leave before it; how surely the topic rose on its days. */
#define RECENT_DAYS 7
#define MIN_PRE_DAYS 7
#define SAME_DAYS_P 1e-3
#define STR_(x) #x
#define STR(x) STR_(x)

vg_code topics_alerts_rewind(db_conn *db, const char *from, vg_error *err)
{
    const char *p[1] = {from};
    static const char *const steps[] = {
        "DELETE FROM vigil.trend_alert_days WHERE as_of >= $1::date",
        "DELETE FROM vigil.trend_alerts WHERE detected_at >= ($1 || ' "
        "00:00:00+00')::timestamptz",
        /* Alerts raised earlier go back to their last earlier day. */
        "UPDATE vigil.trend_alerts a SET kind = d.kind, status = d.status, "
        " window_start = d.window_start, window_end = d.window_end, "
        " observed = d.observed, expected = d.expected, p_value = d.p_value, "
        " customers = d.customers, mrr_at_risk = d.mrr_at_risk, "
        " sample_ticket_ids = d.sample_ticket_ids, updated_on = d.as_of, "
        " label = coalesce(d.label, a.label), key_terms = d.key_terms, "
        " languages = d.languages, topic_ids = d.topic_ids, "
        " ticket_ids = d.ticket_ids, strong_terms = d.strong_terms, "
        " topic_id = coalesce(d.topic_id, a.topic_id), "
        " resolved_on = CASE WHEN d.status = 'resolved' THEN d.as_of END "
        "FROM (SELECT DISTINCT ON (alert_id) * FROM vigil.trend_alert_days "
        "      ORDER BY alert_id, as_of DESC) d "
        "WHERE d.alert_id = a.alert_id AND a.updated_on >= $1::date"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        vg_code rc = db_exec(db, steps[i], 1, p, NULL, err);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

typedef struct topic_row {
    long long id;
    int age;
    long long open_alert; /* 0 = none */
    int window_start;     /* of the open alert */
    char kind[16];        /* of the open alert */
    long long part_of;    /* open alert listing it among its topic_ids */
    char **words;         /* its terms' words, support notions for words
                             of the built-in vocabulary ("~login") */
    size_t nwords;
    const char *concepts[LEAD_CONCEPTS]; /* support notions of its first
                                            LEAD_TERMS terms (static) */
    char *members; /* the open alert's topics, a bigint[] literal with
                      this topic first ("{7}": itself alone) */
    long unit;     /* row of the open alert's topics summed (-1: none) */
} topic_row;

/* The window's figures for one alert, from SQL. */
typedef struct window_stats {
    int observed, others, customers;
    char mrr[64];
    char *samples; /* text[] literal, PQ-owned copy */
} window_stats;

/* Where the alert statements read the window's tickets with their topics
 * (columns ticket_id, customer_id, created_at, subject, topic_id,
 * similarity): a temporary copy of the days the day's alerts look at,
 * made once a run (`win`, from `from` on), or, for a window reaching
 * further back, the tickets joined to their topics (`full`). Each alert
 * statement used to scan the whole tickets table and ticket_topics: at
 * 100,000 customers 0.4-0.9 s apiece, two or three per open alert. */
typedef struct win_src {
    const char *win;
    char *full;
    char from[DATE_BUF];
} win_src;

static const char *win_for(const win_src *s, const char *ws)
{
    return s->from[0] && strcmp(ws, s->from) >= 0 ? s->win : s->full;
}

/* The copy covers the trend test's days and every window an open topic
 * alert (or one resolved lately, which may be opened again) still has. */
static vg_code win_make(db_conn *db, const char *tickets, const char *start,
                        const char *day, win_src *s, vg_error *err)
{
    size_t cap = 256 + strlen(tickets);
    s->win = "pg_temp.vigil_win";
    s->full = malloc(cap);
    if (!s->full)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    snprintf(s->full, cap,
             "(SELECT t.ticket_id, t.customer_id, t.created_at, t.subject, "
             "tt.topic_id, tt.similarity FROM %s t LEFT JOIN "
             "vigil.ticket_topics tt ON tt.ticket_id = t.ticket_id)",
             tickets);
    PGresult *r = NULL;
    const db_param p[2] = {DB_TEXT(start), DB_TEXT(day)};
    vg_code rc = db_exec_params(
        db,
        "SELECT least($1::date, (SELECT min(window_start) FROM "
        " vigil.trend_alerts WHERE source = 'topic' AND (status = 'open' "
        " OR resolved_on >= $2::date - 14)))::text",
        2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    char from[DATE_BUF];
    snprintf(from, sizeof from, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    rc = db_run(db,
                "CREATE TEMP TABLE IF NOT EXISTS vigil_win (ticket_id text, "
                "customer_id text, created_at timestamptz, subject text, "
                "topic_id bigint, similarity real) ON COMMIT DROP",
                err);
    if (rc == VG_OK)
        rc = db_run(db, "TRUNCATE pg_temp.vigil_win", err);
    if (rc != VG_OK)
        return rc;
    size_t qcap = 256 + strlen(s->full);
    char *sql = malloc(qcap);
    if (!sql)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    snprintf(sql, qcap,
             "INSERT INTO pg_temp.vigil_win SELECT * FROM %s v "
             "WHERE v.created_at >= ($1 || ' 00:00:00+00')::timestamptz "
             "AND v.created_at < ($2 || ' 00:00:00+00')::timestamptz",
             s->full);
    const db_param q[2] = {DB_TEXT(from), DB_TEXT(day)};
    rc = db_exec_params(db, sql, 2, q, NULL, err);
    free(sql);
    if (rc == VG_OK)
        rc = db_run(db, "ANALYZE pg_temp.vigil_win", err);
    if (rc == VG_OK)
        snprintf(s->from, sizeof s->from, "%s", from);
    return rc;
}

static vg_code window_figures(db_conn *db, const char *tickets,
                              const char *customers, const char *topics,
                              const char *ws, const char *day, window_stats *w,
                              vg_error *err)
{
    char sql[2048];
    snprintf(
        sql, sizeof sql,
        "WITH w AS (SELECT t.ticket_id, t.customer_id, t.topic_id, "
        "  t.similarity FROM %s t "
        "  WHERE t.created_at >= ($2 || ' 00:00:00+00')::timestamptz "
        "  AND t.created_at < ($3 || ' 00:00:00+00')::timestamptz) "
        "SELECT (SELECT count(*) FROM w WHERE topic_id = ANY($1::bigint[])), "
        " (SELECT count(*) FROM w WHERE topic_id IS NULL OR NOT topic_id = "
        "  ANY($1::bigint[])), "
        " (SELECT count(DISTINCT c.customer_id) FROM %s c WHERE "
        "  c.customer_id IN (SELECT customer_id FROM w "
        "  WHERE topic_id = ANY($1::bigint[]))), "
        " (SELECT coalesce(sum(greatest(c.mrr, 0)), 0) FROM %s c WHERE "
        "  c.customer_id IN (SELECT customer_id FROM w "
        "  WHERE topic_id = ANY($1::bigint[])) "
        "  AND c.created_at < ($3 || ' 00:00:00+00')::timestamptz "
        "  AND (c.canceled_at IS NULL OR "
        "       c.canceled_at >= ($3 || ' 00:00:00+00')::timestamptz)), "
        " (SELECT coalesce(array_agg(ticket_id ORDER BY similarity DESC, "
        "  ticket_id), '{}') FROM (SELECT ticket_id, similarity FROM w "
        "  WHERE topic_id = ANY($1::bigint[]) ORDER BY similarity DESC, "
        "  ticket_id LIMIT %d) s)",
        tickets, customers, customers, SAMPLES);
    const db_param p[3] = {DB_TEXT(topics), DB_TEXT(ws), DB_TEXT(day)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(db, sql, 3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    /* A SELECT of scalar subqueries without FROM: exactly one row. */
    w->observed = atoi(PQgetvalue(r, 0, 0));
    w->others = atoi(PQgetvalue(r, 0, 1));
    w->customers = atoi(PQgetvalue(r, 0, 2));
    snprintf(w->mrr, sizeof w->mrr, "%s", PQgetvalue(r, 0, 3));
    w->samples = strdup(PQgetvalue(r, 0, 4));
    PQclear(r);
    if (!w->samples)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    return VG_OK;
}

/* Raises (alert == 0) or updates an alert over [ws, as_of). */
/* Languages, label (the topic's and a representative ticket's subject),
 * the tickets of its topics in its window as assigned today (ticket_ids:
 * a later re-clustering moves tickets between topics, and a replay's
 * judge must see what the alert saw) and, for an alert that took in
 * sibling topics, customers and MRR over all of them. */
/* Where alert's tickets are read (win_for) by its stored window start:
 * for callers that have not just written it. */
static vg_code stored_window(db_conn *db, const win_src *src, long long alert,
                             const char **tickets, vg_error *err)
{
    PGresult *r0 = NULL;
    const db_param p0[1] = {DB_INT(alert)};
    vg_code rc0 = db_exec_params(db,
                                 "SELECT coalesce(window_start::text, '') "
                                 "FROM vigil.trend_alerts WHERE alert_id = $1",
                                 1, p0, &r0, err);
    if (rc0 != VG_OK)
        return rc0;
    *tickets = win_for(src, PQntuples(r0) == 1 ? PQgetvalue(r0, 0, 0) : "");
    PQclear(r0);
    return VG_OK;
}

/* ws is the alert's window start when the caller has just written it
 * (saves a round trip per alert), NULL to read it. */
static vg_code refresh_alert(db_conn *db, const win_src *src,
                             const char *customers, long long alert,
                             const char *ws, const char *day, vg_error *err)
{
    const char *tickets = ws ? win_for(src, ws) : NULL;
    if (!ws) {
        vg_code rc0 = stored_window(db, src, alert, &tickets, err);
        if (rc0 != VG_OK)
            return rc0;
    }
    size_t cap = 3000 + 2 * strlen(tickets) + 2 * strlen(customers);
    char *sql = malloc(cap);
    if (!sql)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    snprintf(
        sql, cap,
        "WITH a AS (SELECT * FROM vigil.trend_alerts WHERE alert_id = "
        " $1::bigint), "
        "w AS (SELECT t.ticket_id, t.customer_id FROM a, %s t "
        " WHERE (t.topic_id = a.topic_id OR t.topic_id = "
        " ANY(coalesce(a.topic_ids, '{}'))) "
        " AND t.created_at >= (a.window_start::text || ' "
        " 00:00:00+00')::timestamptz "
        " AND t.created_at < ($2 || ' 00:00:00+00')::timestamptz) "
        "UPDATE vigil.trend_alerts x SET "
        " languages = (SELECT array_agg(DISTINCT c.language ORDER BY "
        "  c.language) FROM %s c WHERE c.customer_id IN (SELECT customer_id "
        "  FROM w) AND c.language IS NOT NULL), "
        " customers = CASE WHEN cardinality(x.topic_ids) > 0 THEN (SELECT "
        "  count(DISTINCT customer_id) FROM w) ELSE x.customers END, "
        " mrr_at_risk = CASE WHEN cardinality(x.topic_ids) > 0 THEN (SELECT "
        "  coalesce(sum(greatest(c.mrr, 0)), 0) FROM %s c WHERE "
        "  c.customer_id IN (SELECT customer_id FROM w) AND c.created_at < "
        "  ($2 || ' 00:00:00+00')::timestamptz AND (c.canceled_at IS NULL "
        "  OR c.canceled_at >= ($2 || ' 00:00:00+00')::timestamptz)) ELSE "
        "  x.mrr_at_risk END, "
        " ticket_ids = (SELECT coalesce(array_agg(ticket_id ORDER BY "
        "  ticket_id), '{}') FROM w), "
        " label = (SELECT tp.label FROM vigil.topics tp WHERE tp.topic_id = "
        "  x.topic_id) || coalesce(' — \"' || (SELECT left(t.subject, 120) "
        "  FROM %s t WHERE t.ticket_id = x.sample_ticket_ids[1]) || '\"', '') "
        "WHERE x.alert_id = $1::bigint AND x.source = 'topic'",
        tickets, customers, customers, tickets);
    const db_param p[2] = {DB_INT(alert), DB_TEXT(day)};
    vg_code rc = db_exec_params(db, sql, 2, p, NULL, err);
    free(sql);
    return rc;
}

static vg_code add_topic(db_conn *db, long long alert, long long topic,
                         vg_error *err);

/* A kind is set when the alert is raised; sustained growth later upgrades
 * a new topic or a spike to 'emerging', nothing else changes it. */
static const char *alert_kind(const topic_row *t, const trend_result *tr)
{
    const char *kind = trend_kind_name(tr->kind);
    if (t->kind[0])
        kind = tr->significant && tr->kind == TREND_EMERGING ? "emerging"
                                                             : t->kind;
    return kind;
}

/* The alert's details as JSON text: today's test and the daily counts it
 * saw; NULL when out of memory. */
static char *alert_details(const trend_result *tr, const int *daily, int ndays)
{
    json_t *det =
        json_pack("{s:{s:i, s:f, s:f}, s:f, s:i, s:[]}", "recent", "observed",
                  tr->observed, "expected", tr->expected, "p_value",
                  tr->p_value, "dispersion", tr->dispersion, "baseline_tickets",
                  tr->baseline, "daily_counts");
    /* A failed json_pack leaves det NULL: every call below accepts NULL and
     * json_dumps then returns NULL, reported as out of memory. */
    json_t *arr = json_object_get(det, "daily_counts");
    for (int i = 0; i < ndays; i++)
        json_array_append_new(arr, json_integer(daily[i]));
    char *ds = json_dumps(det, JSON_COMPACT);
    json_decref(det);
    return ds;
}

/* Raises topic t's alert from the 12 parameters of upsert_alert, listing
 * the topics join[0..njoin) besides t; *al is its id. */
static vg_code insert_alert(db_conn *db, const db_param pr[12],
                            const topic_row *t, const long long *join,
                            size_t njoin, long long *al, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        db,
        "INSERT INTO vigil.trend_alerts (topic_id, detected_at, "
        " window_start, window_end, observed, expected, p_value, "
        " customers, mrr_at_risk, sample_ticket_ids, status, kind, "
        " details, updated_on, label, terms) "
        "SELECT $1, ($12 || ' 00:00:00+00')::timestamptz, $2::date, "
        " $3::date, $4, $5, $6, $7, $8::numeric, $9::text[], 'open', $10, "
        " $11::jsonb, $12::date, t.label, t.surface_terms "
        "FROM vigil.topics t WHERE t.topic_id = $1 RETURNING alert_id",
        12, pr, &r, err);
    /* The topic row may be gone (a concurrent clean-up): say so
     * rather than read a row that is not there. */
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EDATA,
                     "alerts: topic %lld has no row in vigil.topics; "
                     "rerun `vigil topics --refit`",
                     t->id);
    if (rc == VG_OK)
        *al = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    for (size_t k = 0; rc == VG_OK && k < njoin; k++)
        rc = add_topic(db, *al, join[k], err);
    return rc;
}

/* Updates an open alert (its id in pr[0]) from the 12 parameters of
 * upsert_alert and its topic's current label and terms; *written says
 * whether the row was there to update. */
static vg_code update_alert(db_conn *db, const db_param pr[12], int *written,
                            vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        db,
        "UPDATE vigil.trend_alerts a SET window_start = $2::date, "
        " window_end = $3::date, observed = $4, expected = $5, "
        " p_value = $6, customers = $7, mrr_at_risk = $8::numeric, "
        " sample_ticket_ids = $9::text[], kind = $10, details = "
        " $11::jsonb, updated_on = $12::date, label = t.label, "
        " terms = t.surface_terms "
        "FROM vigil.topics t WHERE a.alert_id = $1 "
        " AND t.topic_id = a.topic_id RETURNING a.alert_id",
        12, pr, &r, err);
    *written = rc == VG_OK && PQntuples(r) == 1;
    PQclear(r);
    return rc;
}

/* Raises (t->open_alert == 0) or updates the alert of topic t and the
 * topics of t->members over [ws_day, as_of); a raised alert lists the
 * topics join[0..njoin) besides t (siblings summed). */
static vg_code upsert_alert(db_conn *db, const win_src *src,
                            const char *customers, const topic_row *t,
                            const trend_result *tr, const int *daily, int ndays,
                            int ws_day, int as_of, const long long *join,
                            size_t njoin, long long *alert_id, vg_error *err)
{
    char ws[DATE_BUF], we[DATE_BUF], day[DATE_BUF];
    date_format(ws_day, ws);
    date_format(as_of - 1, we);
    date_format(as_of, day);
    window_stats w = {0};
    vg_code rc = window_figures(db, win_for(src, ws), customers, t->members, ws,
                                day, &w, err);
    if (rc != VG_OK)
        return rc;
    double expected = tr->rate * w.others;
    double p = trend_tail(w.observed, expected, tr->dispersion);
    /* Today's scan may see more than the whole window (a one-day burst in
     * a long window): the alert says the strongest evidence of the day. */
    if (tr->p_value < p)
        p = tr->p_value;
    const char *kind = alert_kind(t, tr);
    char *ds = alert_details(tr, daily, ndays);
    char ex[32], pv[32];
    /* Rounded as stored before (6 places), not the exact double. */
    snprintf(ex, sizeof ex, "%.6f", expected);
    snprintf(pv, sizeof pv, "%.6g", p);
    long long al = t->open_alert;
    db_param pr[12] = {DB_INT(t->id),       DB_TEXT(ws),    DB_TEXT(we),
                       DB_INT(w.observed),  DB_TEXT(ex),    DB_TEXT(pv),
                       DB_INT(w.customers), DB_TEXT(w.mrr), DB_TEXT(w.samples),
                       DB_TEXT(kind),       DB_TEXT(ds),    DB_TEXT(day)};
    int written = 0; /* the row's window start is now ws */
    if (!ds) {
        rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    } else if (t->open_alert == 0) {
        rc = insert_alert(db, pr, t, join, njoin, &al, err);
        written = 1;
    } else {
        pr[0] = DB_INT(al);
        rc = update_alert(db, pr, &written, err);
    }
    if (rc == VG_OK)
        rc = refresh_alert(db, src, customers, al, written ? ws : NULL, day,
                           err);
    if (rc == VG_OK)
        rc = issues_save_day(db, al, day, err);
    if (rc == VG_OK)
        *alert_id = al;
    free(ds);
    free(w.samples);
    return rc;
}

/* Daily counts of the model's topics over the baseline and the window. */
typedef struct topic_table {
    size_t nt;
    int nd;        /* baseline_days + window_days */
    topic_row *tp; /* sorted by topic id */
    int *counts;   /* nt x nd, oldest day first */
    int *totals;   /* nd: every ticket, assigned or not */
    int *age;      /* nt */
    trend_result *res;
    /* Units: sums of topics tested as one (rows nt + u of counts, age and
     * res after add_units): an open alert's topics, or the topics sharing
     * a support notion ("~password" in any language). */
    size_t nu;
    size_t *ustart;    /* nu + 1 offsets into umember */
    size_t *umember;   /* topic indices */
    long long *ualert; /* the open alert it follows, 0: a notion's topics */
} topic_table;

static void table_free(topic_table *T)
{
    for (size_t i = 0; T->tp && i < T->nt; i++) {
        for (size_t j = 0; j < T->tp[i].nwords; j++)
            free(T->tp[i].words[j]);
        free(T->tp[i].words);
        free(T->tp[i].members);
    }
    free(T->tp);
    free(T->counts);
    free(T->totals);
    free(T->age);
    free(T->res);
    free(T->ustart);
    free(T->umember);
    free(T->ualert);
}

/* The support notions of a topic's first terms ("reset password" ->
 * "~password"), each once: what the topic is about, in any language. */
static int lead_concepts(topic_row *t, const char *terms)
{
    char **v = NULL;
    size_t n = 0, k = 0;
    int rc = issues_split_array(terms, &v, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char *save = NULL;
        for (char *w = strtok_r(v[i], " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
            const char *c = issues_concept(w);
            int seen = !c;
            for (size_t j = 0; j < k && !seen; j++)
                seen = strcmp(t->concepts[j], c) == 0;
            if (!seen && k < LEAD_CONCEPTS)
                t->concepts[k++] = c;
        }
    }
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return rc;
}

/* One row per topic of the model: id, age in days, its open alert (id,
 * window start, kind), the distinct words of its surface terms, the open
 * alert that follows it among other topics, its lead surface terms, and its
 * id with its alert's topic ids ("{id,...}"). */
static vg_code query_topics(db_conn *db, long long model_id, const char *day,
                            PGresult **r, vg_error *err)
{
    const db_param p[2] = {DB_INT(model_id), DB_TEXT(day)};
    return db_exec_params(
        db,
        "SELECT c.topic_id, $2::date - coalesce(t.first_seen, "
        " $2::date), a.alert_id, "
        " a.window_start - DATE '1970-01-01', a.kind, "
        " (SELECT coalesce(array_agg(DISTINCT w), '{}') "
        "  FROM unnest(t.surface_terms) s, "
        "  regexp_split_to_table(s, ' ') w), "
        " (SELECT min(m.alert_id) FROM vigil.trend_alerts m "
        "  WHERE m.status = 'open' AND c.topic_id = "
        "  ANY(m.topic_ids)), "
        " coalesce(t.surface_terms[1:" STR(
            LEAD_TERMS) "], "
                        "  '{}'), "
                        " '{' || concat_ws(',', c.topic_id, "
                        "  nullif(array_to_string(a.topic_ids, ','), '')) "
                        "  || '}' "
                        "FROM vigil.topic_centroids c JOIN vigil.topics t "
                        " USING (topic_id) "
                        "LEFT JOIN vigil.trend_alerts a ON a.topic_id = "
                        " c.topic_id AND a.status = 'open' "
                        "WHERE c.model_id = $1 ORDER BY c.topic_id",
        2, p, r, err);
}

/* Replaces each of t's words that names a support notion by the notion, so
 * that topics in other languages share it. Returns -1 when out of memory. */
static int words_to_concepts(topic_row *t)
{
    for (size_t j = 0; j < t->nwords; j++) {
        const char *c = issues_concept(t->words[j]);
        if (!c)
            continue;
        char *w = strdup(c);
        if (!w)
            return -1;
        free(t->words[j]);
        t->words[j] = w;
    }
    return 0;
}

/* Topic i of T from row i of query_topics' result. Returns -1 when out of
 * memory. */
static int read_topic(topic_table *T, const PGresult *r, size_t i)
{
    topic_row *t = &T->tp[i];
    int row = (int)i;
    t->id = atoll(PQgetvalue(r, row, 0));
    t->age = T->age[i] = atoi(PQgetvalue(r, row, 1));
    if (!PQgetisnull(r, row, 2)) {
        t->open_alert = atoll(PQgetvalue(r, row, 2));
        t->window_start = atoi(PQgetvalue(r, row, 3));
        snprintf(t->kind, sizeof t->kind, "%s", PQgetvalue(r, row, 4));
    }
    if (!PQgetisnull(r, row, 6))
        t->part_of = atoll(PQgetvalue(r, row, 6));
    t->unit = -1;
    if (!(t->members = strdup(PQgetvalue(r, row, 8))) ||
        lead_concepts(t, PQgetvalue(r, row, 7)) ||
        issues_split_array(PQgetvalue(r, row, 5), &t->words, &t->nwords))
        return -1;
    return words_to_concepts(t);
}

/* The model's topics, their age and their open alert. */
static vg_code load_topics(db_conn *db, long long model_id, const char *day,
                           topic_table *T, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = query_topics(db, model_id, day, &r, err);
    if (rc != VG_OK)
        return rc;
    size_t nt = (size_t)PQntuples(r);
    T->nt = nt;
    T->tp = calloc(nt + 1, sizeof *T->tp);
    T->counts = calloc(nt * (size_t)T->nd + 1, sizeof *T->counts);
    T->totals = calloc((size_t)T->nd, sizeof *T->totals);
    T->age = calloc(nt + 1, sizeof *T->age);
    T->res = calloc(nt + 1, sizeof *T->res);
    int bad = !T->tp || !T->counts || !T->totals || !T->age || !T->res;
    for (size_t i = 0; !bad && i < nt; i++)
        bad = read_topic(T, r, i) != 0;
    PQclear(r);
    if (bad)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    return VG_OK;
}

/* Sibling topics: the same problem in another language or a split of it.
 * Their words (support notions standing in for translations) overlap: at
 * least two shared, a third of the smaller set. */
static int siblings(const topic_row *a, const topic_row *b)
{
    size_t shared = 0;
    for (size_t i = 0; i < a->nwords; i++)
        for (size_t j = 0; j < b->nwords; j++)
            if (strcmp(a->words[i], b->words[j]) == 0) {
                shared++;
                break;
            }
    size_t lo = a->nwords < b->nwords ? a->nwords : b->nwords;
    return shared >= 2 && shared * 3 >= lo;
}

static long topic_index(const topic_table *T, long long id)
{
    size_t lo = 0, hi = T->nt;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (T->tp[m].id < id)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < T->nt && T->tp[lo].id == id ? (long)lo : -1;
}

/* Ticket counts per day (all tickets) and per topic and day, aggregated in
 * PostgreSQL. Row: (topic or NULL for the total, days before as_of, n). */
static vg_code load_counts(db_conn *db, const char *tickets, const char *start,
                           const char *day, long long model_id, topic_table *T,
                           vg_error *err)
{
    char sql[1536];
    snprintf(sql, sizeof sql,
             "WITH w AS (SELECT t.topic_id, $2::date - (t.created_at AT "
             " TIME ZONE 'UTC')::date AS ago FROM %s t "
             " WHERE t.created_at >= ($1 || ' 00:00:00+00')::timestamptz "
             " AND t.created_at < ($2 || ' 00:00:00+00')::timestamptz) "
             "SELECT NULL::bigint, ago, count(*) FROM w GROUP BY ago "
             "UNION ALL "
             "SELECT w.topic_id, w.ago, count(*) FROM w "
             " WHERE w.topic_id IN (SELECT topic_id FROM "
             " vigil.topic_centroids WHERE model_id = $3) GROUP BY 1, 2",
             tickets);
    const db_param p[3] = {DB_TEXT(start), DB_TEXT(day), DB_INT(model_id)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(db, sql, 3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    const int nd = T->nd;
    for (int i = 0; i < PQntuples(r); i++) {
        int ago = atoi(PQgetvalue(r, i, 1)), n = atoi(PQgetvalue(r, i, 2));
        if (ago < 1 || ago > nd)
            continue;
        if (PQgetisnull(r, i, 0)) {
            T->totals[nd - ago] = n;
            continue;
        }
        long k = topic_index(T, atoll(PQgetvalue(r, i, 0)));
        if (k >= 0)
            T->counts[(size_t)k * (size_t)nd + (size_t)(nd - ago)] = n;
    }
    PQclear(r);
    return VG_OK;
}

/* Appends unit u's members (topic indices, n of them) to T. -1 on OOM. */
static int unit_push(topic_table *T, const size_t *idx, size_t n,
                     long long alert, size_t *cap)
{
    size_t have = T->nu ? T->ustart[T->nu] : 0;
    if (have + n > *cap) {
        size_t c = (have + n) * 2 + 16;
        size_t *m = realloc(T->umember, c * sizeof *m);
        if (!m)
            return -1;
        T->umember = m;
        *cap = c;
    }
    size_t *st = realloc(T->ustart, (T->nu + 2) * sizeof *st);
    long long *al = realloc(T->ualert, (T->nu + 1) * sizeof *al);
    if (st)
        T->ustart = st;
    if (al)
        T->ualert = al;
    if (!st || !al)
        return -1;
    if (T->nu == 0)
        T->ustart[0] = 0;
    memcpy(T->umember + have, idx, n * sizeof *idx);
    T->ualert[T->nu] = alert;
    T->ustart[++T->nu] = have + n;
    return 0;
}

/* add_units' first kind: each open alert over several topics (its
 * `members` text array, duplicates and unknown ids left out), so the alert
 * keeps being followed on the sum it was raised for. `idx` has room for
 * every topic. Returns -1 out of memory. */
static int alert_units(topic_table *T, size_t *idx, size_t *cap)
{
    for (size_t i = 0; i < T->nt; i++) {
        topic_row *t = &T->tp[i];
        size_t n = 0;
        for (const char *p = t->members + 1; t->open_alert && *p;) {
            long k = topic_index(T, atoll(p));
            int dup = k < 0;
            for (size_t j = 0; j < n && !dup; j++)
                dup = idx[j] == (size_t)k;
            if (!dup)
                idx[n++] = (size_t)k;
            p += strcspn(p, ",}");
            p += *p != '\0';
        }
        if (n < 2)
            continue;
        t->unit = (long)(T->nt + T->nu);
        if (unit_push(T, idx, n, t->open_alert, cap))
            return -1;
    }
    return 0;
}

/* add_units' second kind: each support notion that leads two or more
 * topics, once, from the first topic that leads with it. Returns -1 out of
 * memory. */
static int concept_units(topic_table *T, size_t *idx, size_t *cap)
{
    for (size_t i = 0; i < T->nt; i++)
        for (size_t c = 0; c < LEAD_CONCEPTS; c++) {
            const char *cn = T->tp[i].concepts[c];
            int first = cn != NULL;
            /* Each notion once: from the first topic that leads with it. */
            for (size_t j = 0; j < i && first; j++)
                for (size_t k = 0; k < LEAD_CONCEPTS && first; k++)
                    first = !(T->tp[j].concepts[k] &&
                              strcmp(T->tp[j].concepts[k], cn) == 0);
            size_t n = 0;
            for (size_t j = i; first && j < T->nt; j++)
                for (size_t k = 0; k < LEAD_CONCEPTS; k++)
                    if (T->tp[j].concepts[k] &&
                        strcmp(T->tp[j].concepts[k], cn) == 0) {
                        idx[n++] = j;
                        break;
                    }
            if (n >= 2 && unit_push(T, idx, n, 0, cap))
                return -1;
        }
    return 0;
}

/* The units to test besides the topics: each open alert over several
 * topics (followed on their sum) and each support notion that leads two or
 * more topics (one problem split over languages or sub-topics: its spike
 * is tested on the sum, against the sum's baseline). Their summed rows are
 * appended to counts; their age is 'old' (a spike, not a new topic). */
static vg_code add_units(topic_table *T, vg_error *err)
{
    size_t cap = 0, *idx = malloc((T->nt + 1) * sizeof *idx);
    if (!idx)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    int bad = alert_units(T, idx, &cap) || concept_units(T, idx, &cap);
    free(idx);
    if (bad)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    if (T->nu == 0)
        return VG_OK;
    size_t rows = T->nt + T->nu, nd = (size_t)T->nd;
    int *counts = realloc(T->counts, rows * nd * sizeof *counts);
    if (counts)
        T->counts = counts;
    int *age = realloc(T->age, rows * sizeof *age);
    if (age)
        T->age = age;
    trend_result *res = realloc(T->res, rows * sizeof *res);
    if (res)
        T->res = res;
    if (!counts || !age || !res)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    trend_sum_rows(T->counts, nd, T->ustart, T->umember, T->nu,
                   T->counts + T->nt * nd);
    for (size_t u = 0; u < T->nu; u++)
        T->age[T->nt + u] = 1 << 30;
    return VG_OK;
}

/* Adds a topic to the issue alert that explains its rise. */
static vg_code add_topic(db_conn *db, long long alert, long long topic,
                         vg_error *err)
{
    const db_param p[2] = {DB_INT(alert), DB_INT(topic)};
    return db_exec_params(
        db,
        "UPDATE vigil.trend_alerts SET topic_ids = "
        " array_append(coalesce(topic_ids, '{}'), $2::bigint) "
        "WHERE alert_id = $1::bigint AND NOT ($2::bigint = "
        " ANY(coalesce(topic_ids, '{}')))",
        2, p, NULL, err);
}

/* A topic alert of the last days (open, or resolved lately): a topic
 * rising on its days and about what its tickets are about is its issue
 * (same_issue). */
typedef struct recent_alert {
    long long id, lead;
    int ws;     /* window_start, days since the epoch */
    int open;   /* else resolved lately */
    char **ids; /* its tickets, as it last recorded them */
    size_t nids;
} recent_alert;

typedef struct alert_ctx {
    db_conn *db;
    const vg_log *lg;
    const trend_opts *o;
    const char *tickets, *customers;
    win_src src; /* the window's tickets with their topics */
    int as_of;
    double max_p; /* trend.max_p and trend.topic_max_p, the larger */
    const issue_day *issues;
    int raised, updated, resolved, deferred;
    recent_alert *recent; /* loaded when first needed, dropped after a
                             raise (recent_free) */
    size_t nrecent;
    int have_recent;
} alert_ctx;

static void recent_free(alert_ctx *x)
{
    for (size_t i = 0; i < x->nrecent; i++) {
        for (size_t k = 0; k < x->recent[i].nids; k++)
            free(x->recent[i].ids[k]);
        free(x->recent[i].ids);
    }
    free(x->recent);
    x->recent = NULL;
    x->nrecent = 0;
    x->have_recent = 0;
}

/* Topic alerts open, or resolved in the last RECENT_DAYS, whose window
 * began at least MIN_PRE_DAYS into the day's counts (so a topic's rise
 * since then can be told from its level before). */
static vg_code load_recent(alert_ctx *x, int nd, vg_error *err)
{
    char day[DATE_BUF];
    date_format(x->as_of, day);
    const db_param p[3] = {DB_TEXT(day), DB_INT(RECENT_DAYS),
                           DB_INT(nd - MIN_PRE_DAYS)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        x->db,
        "SELECT alert_id, topic_id, window_start - DATE '1970-01-01', "
        " (status = 'open')::int, coalesce(ticket_ids, '{}') "
        "FROM vigil.trend_alerts WHERE source = 'topic' AND topic_id IS NOT "
        " NULL AND (status = 'open' OR resolved_on >= $1::date - $2::int) "
        " AND window_start >= $1::date - $3::int ORDER BY alert_id",
        3, p, &r, err);
    if (rc != VG_OK)
        return rc;
    size_t n = (size_t)PQntuples(r);
    x->recent = calloc(n + 1, sizeof *x->recent);
    if (!x->recent)
        rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    for (size_t i = 0; rc == VG_OK && i < n; i++) {
        recent_alert *a = &x->recent[i];
        x->nrecent = i + 1;
        a->id = atoll(PQgetvalue(r, (int)i, 0));
        a->lead = atoll(PQgetvalue(r, (int)i, 1));
        a->ws = atoi(PQgetvalue(r, (int)i, 2));
        a->open = atoi(PQgetvalue(r, (int)i, 3));
        if (issues_split_array(PQgetvalue(r, (int)i, 4), &a->ids, &a->nids))
            rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    }
    PQclear(r);
    x->have_recent = rc == VG_OK;
    return rc;
}

/* A topic with an open alert: still elevated (update it) or resolved. An
 * alert over several topics is judged on their sum. */
static vg_code follow_topic(alert_ctx *x, topic_table *T, size_t i,
                            vg_error *err)
{
    topic_row *t = &T->tp[i];
    size_t row = t->unit >= 0 ? (size_t)t->unit : i;
    const trend_result *r = &T->res[row];
    if (r->elevated || r->significant) {
        x->updated++;
        return upsert_alert(
            x->db, &x->src, x->customers, t, r, T->counts + row * (size_t)T->nd,
            T->nd, t->window_start, x->as_of, NULL, 0, &t->open_alert, err);
    }
    x->resolved++;
    long long id = t->open_alert;
    t->open_alert = 0;
    return issues_resolve(x->db, id, x->as_of, err);
}

/* Joins topic j into alert `into` (part of it from now on). */
static vg_code join_topic(alert_ctx *x, topic_table *T, size_t j,
                          long long into, vg_error *err)
{
    char day[DATE_BUF];
    date_format(x->as_of, day);
    T->tp[j].part_of = into;
    vg_code rc = add_topic(x->db, into, T->tp[j].id, err);
    if (rc == VG_OK)
        rc = refresh_alert(x->db, &x->src, x->customers, into, NULL, day, err);
    return rc == VG_OK ? issues_save_day(x->db, into, day, err) : rc;
}

/* Whether topic i rose on the days from index from on (against its share
 * of the days before): it moved with an alert that began then. */
static int rose_since(const topic_table *T, size_t i, int from)
{
    const int *c = T->counts + i * (size_t)T->nd;
    double cb = 0, tb = 0, cd = 0, td = 0;
    for (int d = 0; d < T->nd; d++) {
        if (d < from) {
            cb += c[d];
            tb += T->totals[d];
        } else {
            cd += c[d];
            td += T->totals[d];
        }
    }
    double e = (cb + 0.5) / (tb - cb + 1.0) * (td - cd);
    return td - cd > 0 &&
           trend_tail((int)cd, e, T->res[i].dispersion) <= SAME_DAYS_P;
}

/* A recent topic alert that topic i's rise belongs to (one alert per
 * issue; *lead: its lead topic's row): i rose on the alert's days (rose_since
 * its window start) and most of i's tickets of those days and most of the
 * alert's tickets say the same thing, which few other tickets of those days say
 * (issues_shared_term: a word, error code or support notion — an English
 * topic about duplicate charges and a four-language invoice topic share
 * "~invoice" in nearly every ticket, a billing problem split over two
 * topics). *into: the alert (0: none), *reopen: it was resolved. */
static vg_code same_issue(alert_ctx *x, const topic_table *T, size_t i,
                          long long *into, int *reopen, size_t *lead,
                          vg_error *err)
{
    *into = 0;
    *reopen = 0;
    vg_code rc = x->have_recent ? VG_OK : load_recent(x, T->nd, err);
    for (size_t k = 0; rc == VG_OK && k < x->nrecent && !*into; k++) {
        const recent_alert *a = &x->recent[k];
        long j = topic_index(T, a->lead);
        int from = a->ws - (x->as_of - T->nd);
        /* An open alert's lead is followed (in the model, its alert). A
         * resolved one's lead leads it again when it is in the model and
         * free (no newer open alert of its own); when a re-clustering
         * took it away (or it is topic i), topic i leads it from now on. */
        int gone = j < 0 || (size_t)j == i;
        if ((a->open && (gone || T->tp[j].open_alert != a->id)) ||
            (!a->open && !gone && T->tp[j].open_alert) || from < MIN_PRE_DAYS ||
            from >= T->nd || !rose_since(T, i, from))
            continue;
        int oom = 0;
        const char *term = issues_shared_term(x->issues, a->ids, a->nids,
                                              T->tp[i].id, from, &oom);
        if (oom)
            rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
        if (!term)
            continue;
        *into = a->id;
        *reopen = !a->open;
        *lead = gone ? i : (size_t)j;
        log_info(x->lg,
                 "trend alert %lld takes in topic %lld: the same issue "
                 "(\"%s\" in most tickets of both, rising on the same days)",
                 a->id, T->tp[i].id, term);
    }
    return rc;
}

/* Opens resolved alert `into` again with topic i in it: its issue is back
 * (or never left, only moved to another topic). Its window keeps its
 * start; today's figures are those of its topics together (their rates
 * summed); from tomorrow it is followed on their sum (add_units). */
static vg_code reopen_alert(alert_ctx *x, topic_table *T, size_t i, size_t lead,
                            long long into, vg_error *err)
{
    const db_param p[3] = {DB_INT(into), DB_INT(T->tp[i].id),
                           DB_TEXT(lead == i ? "t" : "f")};
    PGresult *r = NULL;
    /* Topic i as the new lead ($3): the old lead is listed among the
     * topics (the right-hand sides read the row as it was). */
    vg_code rc = db_exec_params(
        x->db,
        "UPDATE vigil.trend_alerts SET status = 'open', resolved_on = NULL, "
        " topic_ids = CASE WHEN $3::boolean THEN array_remove(array_append("
        "  coalesce(topic_ids, '{}'), topic_id), $2::bigint) ELSE "
        "  array_append(coalesce(topic_ids, '{}'), $2::bigint) END, "
        " topic_id = CASE WHEN $3::boolean THEN $2::bigint ELSE topic_id END "
        "WHERE alert_id = $1::bigint AND status = 'resolved' "
        "RETURNING window_start - DATE '1970-01-01', kind, '{' || "
        " concat_ws(',', topic_id, array_to_string(topic_ids, ',')) || '}'",
        3, p, &r, err);
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EINTERNAL, "alerts: alert %lld is not resolved",
                     into);
    topic_row *l = &T->tp[lead];
    char *members = rc == VG_OK ? strdup(PQgetvalue(r, 0, 2)) : NULL;
    if (rc == VG_OK && !members)
        rc = vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    if (rc == VG_OK) {
        l->open_alert = into;
        l->window_start = atoi(PQgetvalue(r, 0, 0));
        snprintf(l->kind, sizeof l->kind, "%s", PQgetvalue(r, 0, 1));
        free(l->members);
        l->members = members;
        if (lead != i)
            T->tp[i].part_of = into;
    }
    PQclear(r);
    if (rc != VG_OK)
        return rc;
    trend_result tr = T->res[i];
    tr.rate = T->res[i].rate + (lead != i ? T->res[lead].rate : 0);
    for (const char *q = l->members + 1; *q;) {
        long k = topic_index(T, atoll(q));
        if (k >= 0 && (size_t)k != lead && (size_t)k != i)
            tr.rate += T->res[k].rate;
        q += strcspn(q, ",}");
        q += *q != '\0';
    }
    long long id = into;
    return upsert_alert(x->db, &x->src, x->customers, l, &tr,
                        T->counts + i * (size_t)T->nd, T->nd, l->window_start,
                        x->as_of, NULL, 0, &id, err);
}

/* A significant topic without an alert: part of an issue alert of today
 * that holds at least half of its excess tickets, or of a sibling topic's
 * open alert (listed there: one alert per issue), else a new alert. */
static vg_code raise_topic(alert_ctx *x, topic_table *T, size_t i,
                           vg_error *err)
{
    topic_row *t = &T->tp[i];
    const trend_result *r = &T->res[i];
    int held = 0;
    long long into = issues_explain(x->issues, t->id, &held);
    if (!(into && held >= 0.5 * (r->observed - r->expected))) {
        into = 0;
        into = t->part_of; /* a sibling already, on an earlier day */
        for (size_t j = 0; j < T->nt && !into; j++)
            if (j != i && (T->tp[j].open_alert || T->tp[j].part_of) &&
                siblings(t, &T->tp[j]))
                into = T->tp[j].open_alert ? T->tp[j].open_alert
                                           : T->tp[j].part_of;
    }
    int reopen = 0;
    size_t lead = 0;
    vg_code rc = VG_OK;
    if (!into)
        rc = same_issue(x, T, i, &into, &reopen, &lead, err);
    /* Opening a resolved alert again is raising one: trend.topic_max_p. */
    if (rc != VG_OK || ((!into || reopen) && r->p_value > x->max_p))
        return rc; /* not strong enough to raise (trend.topic_max_p) */
    if (into) {
        x->deferred++;
        recent_free(x); /* it changed: read it again when needed */
        return reopen ? reopen_alert(x, T, i, lead, into, err)
                      : join_topic(x, T, i, into, err);
    }
    x->raised++;
    log_info(x->lg,
             "trend alert (%s): topic %lld, %d tickets in %d days, %.1f "
             "expected, p = %.2g",
             trend_kind_name(r->kind), t->id, r->observed, x->o->window_days,
             r->expected, r->p_value);
    /* Today's new alert is a recent alert for the topics after it. */
    recent_free(x);
    return upsert_alert(x->db, &x->src, x->customers, t, r,
                        T->counts + i * (size_t)T->nd, T->nd,
                        x->as_of - x->o->window_days, x->as_of, NULL, 0,
                        &t->open_alert, err);
}

/* The issue that explains a sum of topics (units), if one issue holds
 * at least half the sum's excess tickets: then the sum is that issue's, not
 * a new alert. Also moves *lead to the member with the most tickets. */
static long long unit_issue(alert_ctx *x, const topic_table *T, const size_t *m,
                            size_t n, const trend_result *r, size_t *lead)
{
    int held = 0, sum = 0;
    long long into = 0;
    for (size_t k = 0; k < n; k++) {
        long long a = issues_explain(x->issues, T->tp[m[k]].id, &held);
        if (a && (!into || a == into)) {
            into = a;
            sum += held;
        }
        if (T->res[m[k]].observed > T->res[*lead].observed)
            *lead = m[k];
    }
    return into && sum >= 0.5 * (r->observed - r->expected) ? into : 0;
}

/* The sum's members for its alert: the other topics' ids in *join (for the
 * alert's rows) and all ids, the lead first, as the lead's `members` text
 * array. Returns -1 out of memory, with nothing allocated. */
static int unit_members(topic_table *T, const size_t *m, size_t n, size_t lead,
                        long long **join_out, size_t *nj_out)
{
    topic_row *t = &T->tp[lead];
    long long *join = malloc((n + 1) * sizeof *join);
    strbuf ids = {0};
    int bad = !join || strbuf_printf(&ids, "{%lld", t->id);
    size_t nj = 0;
    for (size_t k = 0; !bad && k < n; k++)
        if (m[k] != lead) {
            join[nj++] = T->tp[m[k]].id;
            bad = strbuf_printf(&ids, ",%lld", T->tp[m[k]].id);
        }
    if (bad || strbuf_putc(&ids, '}')) {
        free(join);
        strbuf_free(&ids);
        return -1;
    }
    free(t->members);
    t->members = ids.s; /* the buffer now belongs to the topic row */
    *join_out = join;
    *nj_out = nj;
    return 0;
}

/* A significant sum of topics sharing a support notion, none of them in
 * an alert yet: part of today's issue alert that holds half of its excess,
 * else one alert led by its busiest topic and listing the others. */
static vg_code raise_unit(alert_ctx *x, topic_table *T, size_t u, vg_error *err)
{
    const size_t *m = T->umember + T->ustart[u];
    size_t n = T->ustart[u + 1] - T->ustart[u], lead = m[0];
    const trend_result *r = &T->res[T->nt + u];
    for (size_t k = 0; k < n; k++)
        if (T->tp[m[k]].open_alert || T->tp[m[k]].part_of)
            return VG_OK; /* part of an alert already: one per issue */
    long long into = unit_issue(x, T, m, n, r, &lead);
    /* A recent topic alert of the same issue (same_issue, by any of the
     * sum's topics) takes them all in. */
    int reopen = 0;
    size_t by = 0, l = 0;
    vg_code rc = VG_OK;
    for (size_t k = 0; rc == VG_OK && !into && k < n; k++) {
        by = m[k];
        rc = same_issue(x, T, by, &into, &reopen, &l, err);
    }
    if (rc != VG_OK || ((!into || reopen) && r->p_value > x->max_p))
        return rc;
    if (into) {
        x->deferred++;
        recent_free(x); /* it changed: read it again when needed */
        if (reopen)
            rc = reopen_alert(x, T, by, l, into, err);
        for (size_t k = 0; rc == VG_OK && k < n; k++)
            if (!(reopen && (m[k] == by || m[k] == l)))
                rc = join_topic(x, T, m[k], into, err);
        return rc;
    }
    topic_row *t = &T->tp[lead];
    long long *join = NULL;
    size_t nj = 0;
    if (unit_members(T, m, n, lead, &join, &nj) != 0)
        return vg_fail(err, VG_ENOMEM, "alerts: out of memory");
    x->raised++;
    recent_free(x);
    log_info(x->lg,
             "trend alert (%s): %zu sibling topics led by %lld, %d tickets "
             "in %d days, %.1f expected, p = %.2g",
             trend_kind_name(r->kind), n, t->id, r->observed, x->o->window_days,
             r->expected, r->p_value);
    rc = upsert_alert(x->db, &x->src, x->customers, t, r,
                      T->counts + (T->nt + u) * (size_t)T->nd, T->nd,
                      x->as_of - x->o->window_days, x->as_of, join, nj,
                      &t->open_alert, err);
    for (size_t k = 0; rc == VG_OK && k < n; k++)
        if (m[k] != lead)
            T->tp[m[k]].part_of = t->open_alert;
    free(join);
    return rc;
}

typedef struct by_p {
    double p;
    size_t i;
} by_p;

static int cmp_by_p(const void *a, const void *b)
{
    const by_p *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Open alerts first (so siblings can join them), then new ones, topics
 * and sums of sibling topics together, most significant first, so the
 * clearest view of an issue leads its alert. */
static vg_code act_on_topics(alert_ctx *x, topic_table *T, vg_error *err)
{
    vg_code rc = VG_OK;
    for (size_t i = 0; rc == VG_OK && i < T->nt; i++)
        if (T->tp[i].open_alert)
            rc = follow_topic(x, T, i, err);
    by_p *order = malloc((T->nt + T->nu + 1) * sizeof *order);
    if (!order)
        return rc == VG_OK ? vg_fail(err, VG_ENOMEM, "alerts: out of memory")
                           : rc;
    size_t n = 0;
    for (size_t i = 0; i < T->nt; i++)
        if (!T->tp[i].open_alert && T->res[i].significant)
            order[n++] = (by_p){T->res[i].p_value, i};
    for (size_t u = 0; u < T->nu; u++)
        if (!T->ualert[u] && T->res[T->nt + u].significant)
            order[n++] = (by_p){T->res[T->nt + u].p_value, T->nt + u};
    qsort(order, n, sizeof *order, cmp_by_p);
    for (size_t k = 0; rc == VG_OK && k < n; k++)
        rc = order[k].i < T->nt ? raise_topic(x, T, order[k].i, err)
                                : raise_unit(x, T, order[k].i - T->nt, err);
    free(order);
    return rc;
}
/* Open topic alerts whose topic left the model (merged or gone) resolve. */
static vg_code resolve_orphans(alert_ctx *x, long long model_id, vg_error *err)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(model_id)};
    vg_code rc =
        db_exec_params(x->db,
                       "SELECT alert_id FROM vigil.trend_alerts WHERE "
                       "status = 'open' AND source = 'topic' AND topic_id "
                       "NOT IN (SELECT topic_id FROM vigil.topic_centroids "
                       "WHERE model_id = $1)",
                       1, p, &r, err);
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++) {
        rc = issues_resolve(x->db, atoll(PQgetvalue(r, i, 0)), x->as_of, err);
        x->resolved++;
    }
    PQclear(r);
    return rc;
}

static vg_code summary(alert_ctx *x, const issue_counts *ic, json_t **stats,
                       vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(x->db,
                         "SELECT count(*), count(*) FILTER (WHERE source = "
                         "'terms') FROM vigil.trend_alerts WHERE status = "
                         "'open'",
                         0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    *stats = json_pack(
        "{s:i, s:i, s:i, s:i, s:i, s:i}", "alerts", atoi(PQgetvalue(r, 0, 0)),
        "issue_alerts", atoi(PQgetvalue(r, 0, 1)), "alerts_raised",
        x->raised + ic->raised, "alerts_updated", x->updated + ic->updated,
        "alerts_resolved", x->resolved + ic->resolved, "topics_in_issues",
        x->deferred);
    PQclear(r);
    return *stats ? VG_OK : vg_fail(err, VG_ENOMEM, "alerts: out of memory");
}

vg_code topics_alerts(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      int as_of, long long model_id, const char *tickets,
                      const char *customers, issue_cache *cache, json_t **stats,
                      vg_error *err)
{
    *stats = NULL;
    trend_opts o = {cfg->trend_window_days, cfg->trend_baseline_days,
                    cfg->trend_min_count,   cfg->trend_min_ratio,
                    cfg->trend_fdr,         cfg->trend_resolve_ratio,
                    cfg->trend_new_days};
    topic_table T = {0};
    T.nd = o.window_days + o.baseline_days;
    char day[DATE_BUF], start[DATE_BUF];
    date_format(as_of, day);
    date_format(as_of - T.nd, start);
    alert_ctx x = {.db = db,
                   .lg = lg,
                   .o = &o,
                   .tickets = tickets,
                   .customers = customers,
                   .as_of = as_of,
                   .max_p = cfg->trend_topic_max_p > cfg->trend_max_p
                                ? cfg->trend_topic_max_p
                                : cfg->trend_max_p};
    issue_day *issues = NULL;
    issue_counts ic = {0};
    vg_code rc = topics_alerts_rewind(db, day, err);
    if (rc == VG_OK)
        rc = issues_alerts(db, cfg, lg, as_of, tickets, customers, cache,
                           &issues, &ic, err);
    x.issues = issues;
    if (rc == VG_OK)
        rc = load_topics(db, model_id, day, &T, err);
    if (rc == VG_OK)
        rc = win_make(db, tickets, start, day, &x.src, err);
    if (rc == VG_OK)
        rc = load_counts(db, win_for(&x.src, start), start, day, model_id, &T,
                         err);
    if (rc == VG_OK)
        rc = add_units(&T, err);
    if (rc == VG_OK)
        rc = trend_test(&o, T.counts, T.totals, T.nt + T.nu, (size_t)T.nd,
                        T.age, T.res, err);
    if (rc == VG_OK)
        rc = act_on_topics(&x, &T, err);
    if (rc == VG_OK)
        rc = resolve_orphans(&x, model_id, err);
    if (rc == VG_OK)
        rc = summary(&x, &ic, stats, err);
    recent_free(&x);
    free(x.src.full);
    issue_day_free(issues);
    table_free(&T);
    return rc;
}
