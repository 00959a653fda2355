/* engine.c — the topics job: streams tickets out of PostgreSQL, refits or
 * extends the topic model, keeps ids stable, and hands over to the alerts. */
#include "topics/engine.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/util.h"
#include "topics/alerts.h"
#include "topics/issues.h"
#include "topics/cluster.h"
#include "topics/text.h"
#include "topics/tfidf.h"

#define SUBJECT_CAP 1000
#define BODY_CAP 20000 /* bytes of a body read; the rest is never sent */
#define BATCH 4096     /* tickets tokenised at once, then their text freed */
#define TOP_TERMS 10
#define SAMPLES 5

/* ---- small growable helpers ---------------------------------------------- */

typedef struct strvec {
    char **v;
    size_t n, cap;
} strvec;

static int sv_push(strvec *sv, const char *s)
{
    if (sv->n == sv->cap) {
        size_t cap = sv->cap ? sv->cap * 2 : 1024;
        char **v = realloc(sv->v, cap * sizeof *v);
        if (!v)
            return -1;
        sv->v = v;
        sv->cap = cap;
    }
    sv->v[sv->n] = strdup(s ? s : "");
    if (!sv->v[sv->n])
        return -1;
    sv->n++;
    return 0;
}

static void sv_free(strvec *sv)
{
    for (size_t i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    memset(sv, 0, sizeof *sv);
}

/* "{1,2,3}" -> numbers; returns count or -1. */
static long parse_array(const char *s, double **out)
{
    size_t cap = 64, n = 0;
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return -1;
    const char *p = s;
    while (*p) {
        if (*p == '{' || *p == '}' || *p == ',' || *p == ' ') {
            p++;
            continue;
        }
        char *end;
        double x = strtod(p, &end);
        if (end == p) {
            free(v);
            return -1;
        }
        if (n == cap) {
            cap *= 2;
            double *w = realloc(v, cap * sizeof *w);
            if (!w) {
                free(v);
                return -1;
            }
            v = w;
        }
        v[n++] = x;
        p = end;
    }
    *out = v;
    return (long)n;
}

/* ---- the run's state -------------------------------------------------------
 */

typedef struct run {
    db_conn *db;
    const vg_config *cfg;
    const vg_log *lg;
    const topics_opts *o;
    char day[DATE_BUF];  /* as-of date */
    char from[DATE_BUF]; /* first day of the ticket window */
    char *tickets, *customers;
    /* tokenising */
    text_pipe **pipes;
    int npipes;
    topic_corpus *corpus;
    strvec ids;
    strvec bsub, bbody, blang; /* the current batch's text */
    long empty, truncated, unknown_customer;
    long null_id, dup_id, bad_utf8; /* skipped, skipped, repaired */
    progress prog;
    /* the model in use */
    long long model_id;
    int refit;
    char skipped[160]; /* why nothing ran (skip_if_later), "" otherwise */
    long assigned, unassigned;
    json_t *links;
} run;

static vg_code flush_batch(run *R, vg_error *err)
{
    size_t n = R->bsub.n;
    if (n == 0)
        return VG_OK;
    topic_doc *docs = calloc(n, sizeof *docs);
    if (!docs)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    for (size_t i = 0; i < n; i++)
        docs[i] = (topic_doc){R->bsub.v[i], R->bbody.v[i],
                              R->blang.v[i][0] ? R->blang.v[i] : NULL};
    vg_code rc =
        topic_corpus_add_docs(R->corpus, R->pipes, R->npipes, docs, n, err);
    free(docs);
    sv_free(&R->bsub);
    sv_free(&R->bbody);
    sv_free(&R->blang);
    progress_update(&R->prog, "topics: %zu tickets read", R->ids.n);
    return rc;
}

/* 1 when s (NULL counts) is well-formed UTF-8; the tokeniser repairs bad
 * bytes anyway, this only counts them. */
static int utf8_ok(const char *s)
{
    if (!s)
        return 1;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = utf8_decode((const unsigned char *)s + i, n - i, &c);
        if (c == 0xFFFD && k == 1)
            return 0;
        i += k;
    }
    return 1;
}

/* COPY row: ticket_id, subject, body, language, truncated, known customer,
 * other rows with the same ticket id */
static vg_code on_ticket(void *ctx, int nf, char **f, vg_error *err)
{
    run *R = ctx;
    if (nf != 7)
        return vg_fail(err, VG_EINTERNAL, "topics: unexpected ticket row");
    /* One row per ticket id (views need not have a key): the others are
     * counted; a null or empty id names no ticket, so all its rows go. */
    long dups = f[6] ? atol(f[6]) : 0;
    if (!f[0] || !*f[0]) {
        R->null_id += dups + 1;
        return VG_OK;
    }
    R->dup_id += dups;
    if (!utf8_ok(f[1]) || !utf8_ok(f[2]))
        R->bad_utf8++;
    if (sv_push(&R->ids, f[0]) || sv_push(&R->bsub, f[1]) ||
        sv_push(&R->bbody, f[2]) || sv_push(&R->blang, f[3]))
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    if ((!f[1] || !*f[1]) && (!f[2] || !*f[2]))
        R->empty++;
    if (f[4] && f[4][0] == 't')
        R->truncated++;
    if (f[5] && f[5][0] == 'f')
        R->unknown_customer++;
    if (R->bsub.n >= BATCH)
        return flush_batch(R, err);
    return VG_OK;
}

/* Streams the window's tickets (all, or only those without a topic yet) in
 * ticket_id order into R->ids and R->corpus. Dates are ours; identifiers are
 * quoted; bodies are cut in SQL so a 10 MB body never crosses the wire. */
static vg_code read_tickets(run *R, int only_new, vg_error *err)
{
    strbuf q = {0};
    vg_code rc = VG_OK;
    if (strbuf_printf(
            &q,
            "SELECT DISTINCT ON (t.ticket_id) t.ticket_id, "
            "left(t.subject, %d), left(t.body, %d), "
            "c.language, octet_length(t.body) > %d, "
            "t.customer_id IS NULL OR c.customer_id IS NOT NULL, "
            "count(*) OVER (PARTITION BY t.ticket_id) - 1 "
            "FROM %s t LEFT JOIN (SELECT DISTINCT ON (customer_id) "
            "customer_id, language FROM %s ORDER BY customer_id, "
            "created_at DESC) c ON c.customer_id = t.customer_id "
            "%s"
            "WHERE t.created_at >= '%s 00:00:00+00'::timestamptz "
            "AND t.created_at < '%s 00:00:00+00'::timestamptz "
            "%s ORDER BY t.ticket_id, t.created_at DESC",
            SUBJECT_CAP, BODY_CAP, BODY_CAP, R->tickets, R->customers,
            only_new ? "LEFT JOIN vigil.ticket_topics x ON x.ticket_id = "
                       "t.ticket_id "
                     : "",
            R->from, R->day, only_new ? "AND x.ticket_id IS NULL" : "") != 0) {
        strbuf_free(&q);
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    }
    rc = db_copy_out(R->db, q.s, on_ticket, R, NULL, err);
    if (rc == VG_OK)
        rc = flush_batch(R, err);
    strbuf_free(&q);
    return rc;
}

/* ---- persistence -----------------------------------------------------------
 */

typedef struct loaded {
    long long model_id;
    int as_of;
    topic_vocab *vocab;
    int k;
    long long *topic_ids;
    float *cent; /* k x dim over vocab's columns */
    double threshold;
} loaded;

static void loaded_free(loaded *L)
{
    topic_vocab_free(L->vocab);
    free(L->topic_ids);
    free(L->cent);
    memset(L, 0, sizeof *L);
}

typedef struct vocab_rows {
    strvec term, surface;
    uint32_t *df;
    size_t n, cap;
} vocab_rows;

static vg_code on_vocab(void *ctx, int nf, char **f, vg_error *err)
{
    vocab_rows *v = ctx;
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 4096;
        uint32_t *d = realloc(v->df, v->cap * sizeof *d);
        if (!d)
            return vg_fail(err, VG_ENOMEM, "topics: out of memory");
        v->df = d;
    }
    if (sv_push(&v->term, f[0]) || sv_push(&v->surface, f[1]))
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    v->df[v->n++] = (uint32_t)strtoul(f[2], NULL, 10);
    return VG_OK;
}

/* The row of the latest model fitted for a date <= R->day into L (model_id,
 * as_of, threshold) and *ndocs; L->model_id stays 0 when there is none. */
static vg_code load_model_row(run *R, loaded *L, size_t *ndocs, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {R->day};
    vg_code rc = db_exec(R->db,
                         "SELECT model_id, as_of - DATE '1970-01-01', "
                         "n_docs, threshold FROM vigil.topic_models "
                         "WHERE as_of <= $1::date ORDER BY as_of DESC LIMIT 1",
                         1, p, &r, err);
    if (rc == VG_OK && PQntuples(r) > 0) {
        L->model_id = atoll(PQgetvalue(r, 0, 0));
        L->as_of = atoi(PQgetvalue(r, 0, 1));
        *ndocs = (size_t)atol(PQgetvalue(r, 0, 2));
        L->threshold = atof(PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    return rc;
}

/* L's vocabulary, in column order, as the model's fit left it. */
static vg_code load_vocab(run *R, loaded *L, size_t ndocs, vg_error *err)
{
    vocab_rows vr = {0};
    char q[256];
    snprintf(q, sizeof q,
             "SELECT term, surface, df FROM vigil.topic_vocab WHERE model_id "
             "= %lld ORDER BY col",
             L->model_id);
    vg_code rc = db_copy_out(R->db, q, on_vocab, &vr, NULL, err);
    if (rc == VG_OK)
        rc = topic_vocab_restore((const char *const *)vr.term.v,
                                 (const char *const *)vr.surface.v, vr.df, vr.n,
                                 ndocs, &L->vocab, err);
    sv_free(&vr.term);
    sv_free(&vr.surface);
    free(vr.df);
    return rc;
}

/* Centroid i of L (dim columns) from its sparse cols/vals arrays; columns
 * outside the vocabulary are dropped. */
static vg_code put_centroid(loaded *L, int i, size_t dim, const char *cols_s,
                            const char *vals_s, vg_error *err)
{
    double *cols = NULL, *vals = NULL;
    long nc = parse_array(cols_s, &cols);
    long nv = parse_array(vals_s, &vals);
    vg_code rc = VG_OK;
    if (nc < 0 || nv != nc)
        rc = vg_fail(err, VG_EDATA,
                     "topics: centroid of topic %lld in model %lld is "
                     "damaged",
                     L->topic_ids[i], L->model_id);
    for (long j = 0; rc == VG_OK && j < nc; j++)
        if (cols[j] >= 0 && (size_t)cols[j] < dim)
            L->cent[(size_t)i * dim + (size_t)cols[j]] = (float)vals[j];
    free(cols);
    free(vals);
    return rc;
}

/* L's topic ids and dense centroids over its vocabulary's columns. */
static vg_code load_centroids(run *R, loaded *L, vg_error *err)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(L->model_id)};
    vg_code rc =
        db_exec_params(R->db,
                       "SELECT topic_id, cols, vals FROM vigil.topic_centroids "
                       "WHERE model_id = $1 ORDER BY topic_id",
                       1, p, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    size_t dim = topic_vocab_size(L->vocab);
    L->k = PQntuples(r);
    L->topic_ids = calloc((size_t)L->k + 1, sizeof *L->topic_ids);
    L->cent = calloc((size_t)L->k * dim + 1, sizeof *L->cent);
    if (!L->topic_ids || !L->cent) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    for (int i = 0; rc == VG_OK && i < L->k; i++) {
        L->topic_ids[i] = atoll(PQgetvalue(r, i, 0));
        rc = put_centroid(L, i, dim, PQgetvalue(r, i, 1), PQgetvalue(r, i, 2),
                          err);
    }
cleanup:
    PQclear(r);
    return rc;
}

/* The latest model fitted for a date <= as_of, or model_id 0 when none. */
static vg_code load_model(run *R, loaded *L, vg_error *err)
{
    memset(L, 0, sizeof *L);
    size_t ndocs = 0;
    vg_code rc = load_model_row(R, L, &ndocs, err);
    if (rc != VG_OK || L->model_id == 0)
        return rc;
    if ((rc = load_vocab(R, L, ndocs, err)) != VG_OK ||
        (rc = load_centroids(R, L, err)) != VG_OK)
        loaded_free(L);
    return rc;
}

/* Removes what runs for dates >= from produced, so that date can be run again
 * as it would have been then (and restores alerts to their earlier state). */
static vg_code rewind_from(run *R, const char *from, vg_error *err)
{
    const char *p[1] = {from};
    vg_code rc0 = topics_alerts_rewind(R->db, from, err);
    /* Statistics first: after a backfill they still describe the tables
     * before its last days; PostgreSQL then expects one row from each side
     * of the restoring join below and nests the loops (75 s at 20,000
     * customers instead of a fraction of a second). */
    if (rc0 == VG_OK)
        rc0 = db_run(R->db,
                     "ANALYZE vigil.ticket_topics, vigil.ticket_topic_history",
                     err);
    if (rc0 != VG_OK)
        return rc0;
    static const char *const steps[] = {
        /* A ticket a later re-clustering moved goes back to the topic it
         * had on the day before that date (the day's run counted it
         * there: its first topic may be of a model long replaced). */
        "UPDATE vigil.ticket_topics tt SET topic_id = h.topic_id, "
        " similarity = h.similarity, model_id = h.model_id, "
        " assigned_on = h.assigned_on "
        "FROM vigil.ticket_topic_history h "
        "WHERE h.replaced_on >= $1::date AND h.assigned_on < $1::date "
        " AND tt.ticket_id = h.ticket_id AND tt.assigned_on >= $1::date",
        /* Rows from before that history was kept: the first topic. */
        "UPDATE vigil.ticket_topics SET topic_id = first_topic_id, "
        " assigned_on = first_assigned_on, model_id = NULL "
        "WHERE assigned_on >= $1::date AND first_assigned_on < $1::date",
        "DELETE FROM vigil.ticket_topics WHERE assigned_on >= $1::date",
        "DELETE FROM vigil.ticket_topic_history WHERE replaced_on >= $1::date",
        "DELETE FROM vigil.topic_models WHERE as_of >= $1::date",
        "UPDATE vigil.topics SET status = 'active', merged_into = NULL "
        "WHERE merged_into IN (SELECT topic_id FROM vigil.topics "
        "                      WHERE first_seen >= $1::date)",
        "DELETE FROM vigil.topics WHERE first_seen >= $1::date",
        /* Topics of the model now latest are active again, with that
         * model's labels (a later re-clustering relabelled them). */
        "UPDATE vigil.topics t SET status = 'active', merged_into = NULL, "
        " label = coalesce(c.label, t.label), "
        " terms = coalesce(c.terms, t.terms), "
        " surface_terms = coalesce(c.surface_terms, t.surface_terms), "
        " sample_ticket_ids = coalesce(c.sample_ticket_ids, "
        "  t.sample_ticket_ids), "
        " size = CASE WHEN c.label IS NULL THEN t.size ELSE c.size END "
        "FROM vigil.topic_centroids c WHERE c.topic_id = t.topic_id "
        " AND c.model_id = (SELECT model_id FROM vigil.topic_models "
        " WHERE as_of < $1::date ORDER BY as_of DESC LIMIT 1)"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        vg_code rc = db_exec(R->db, steps[i], 1, p, NULL, err);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

/* Ends a COPY begun with db_copy_in_begin: committed when rc is VG_OK,
 * aborted otherwise; returns the first failure. */
static vg_code copy_end(db_copy_in **ci, vg_code rc, vg_error *err)
{
    if (*ci) {
        vg_code rc2 = db_copy_in_end(*ci, rc != VG_OK, err);
        rc = rc == VG_OK ? rc2 : rc;
        *ci = NULL;
    }
    return rc;
}

/* Writes the ticket -> topic rows (topic -1 = none) through a temporary table
 * and one upsert. */
static vg_code write_assignments(run *R, const int *assign, const float *sim,
                                 const long long *ids_of_topic, vg_error *err)
{
    vg_code rc = db_run(R->db,
                        "CREATE TEMP TABLE IF NOT EXISTS vigil_tt_new "
                        "(ticket_id text, topic_id bigint, similarity real) "
                        "ON COMMIT DROP",
                        err);
    if (rc == VG_OK)
        rc = db_run(R->db, "TRUNCATE vigil_tt_new", err);
    db_copy_in *ci = NULL;
    if (rc == VG_OK)
        rc = db_copy_in_begin(
            R->db,
            "COPY vigil_tt_new (ticket_id, topic_id, similarity) FROM "
            "STDIN",
            &ci, err);
    for (size_t i = 0; rc == VG_OK && i < R->ids.n; i++) {
        db_copy_field(ci, R->ids.v[i]);
        if (assign[i] >= 0) {
            db_copy_field_fmt(ci, "%lld", ids_of_topic[assign[i]]);
            R->assigned++;
        } else {
            db_copy_field_null(ci);
            R->unassigned++;
        }
        db_copy_field_fmt(ci, "%.6g", (double)sim[i]);
        rc = db_copy_row_end(ci, err);
    }
    if ((rc = copy_end(&ci, rc, err)) != VG_OK)
        return rc;
    const db_param p[2] = {DB_INT(R->model_id), DB_TEXT(R->day)};
    /* What a re-clustering replaces is kept for replays of earlier days. */
    rc = db_exec_params(
        R->db,
        "INSERT INTO vigil.ticket_topic_history (ticket_id, topic_id, "
        " similarity, model_id, assigned_on, replaced_on) "
        "SELECT tt.ticket_id, tt.topic_id, tt.similarity, tt.model_id, "
        " tt.assigned_on, $1::date FROM vigil.ticket_topics tt "
        "JOIN vigil_tt_new n ON n.ticket_id = tt.ticket_id "
        "WHERE tt.assigned_on < $1::date",
        1, p + 1, NULL, err);
    if (rc != VG_OK)
        return rc;
    return db_exec_params(
        R->db,
        "INSERT INTO vigil.ticket_topics (ticket_id, topic_id, similarity, "
        " model_id, assigned_on, first_topic_id, first_assigned_on) "
        "SELECT ticket_id, topic_id, similarity, $1::bigint, $2::date, "
        " topic_id, $2::date FROM vigil_tt_new "
        "ON CONFLICT (ticket_id) DO UPDATE SET topic_id = EXCLUDED.topic_id, "
        " similarity = EXCLUDED.similarity, model_id = EXCLUDED.model_id, "
        " assigned_on = EXCLUDED.assigned_on",
        2, p, NULL, err);
}

/* ---- refit -----------------------------------------------------------------
 */

static vg_code insert_topic(run *R, long long *id, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {R->day};
    vg_code rc = db_exec(R->db,
                         "INSERT INTO vigil.topics (first_seen, last_seen) "
                         "VALUES ($1::date, $1::date) RETURNING topic_id",
                         1, p, &r, err);
    if (rc == VG_OK)
        *id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

static const char *link_name(topic_link_kind k)
{
    static const char *const n[] = {"match", "split", "merge", "new", "gone"};
    return n[k];
}

/* How the new model's k topics relate to prev's: by centroid similarity
 * when there is a previous model, otherwise every topic is new. */
static vg_code link_topics(run *R, const loaded *prev, const topic_vocab *v,
                           const topic_model *m, topic_link **links,
                           size_t *nlinks, vg_error *err)
{
    int k = topic_model_k(m);
    size_t dim = topic_vocab_size(v);
    if (!(prev->model_id && prev->k > 0 && k > 0)) {
        *links = calloc((size_t)k + 1, sizeof **links);
        if (!*links)
            return vg_fail(err, VG_ENOMEM, "topics: out of memory");
        for (int c = 0; c < k; c++)
            (*links)[(*nlinks)++] = (topic_link){TOPIC_LINK_NEW, -1, c, 0};
        return VG_OK;
    }
    vg_code rc = VG_OK;
    float *new_c = malloc((size_t)k * dim * sizeof *new_c + 1);
    float *old_c = calloc((size_t)prev->k * dim + 1, sizeof *old_c);
    if (!new_c || !old_c) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    for (int c = 0; c < k; c++)
        topic_model_centroid(m, c, new_c + (size_t)c * dim);
    /* Old centroids projected onto the new vocabulary's columns. */
    size_t odim = topic_vocab_size(prev->vocab);
    for (size_t j = 0; j < odim; j++) {
        long col = topic_vocab_find(v, topic_vocab_term(prev->vocab, j));
        if (col < 0)
            continue;
        for (int o = 0; o < prev->k; o++)
            old_c[(size_t)o * dim + (size_t)col] =
                prev->cent[(size_t)o * odim + j];
    }
    rc = topic_match(old_c, prev->k, new_c, k, dim,
                     R->cfg->topics_match_threshold, links, nlinks, err);
cleanup:
    free(new_c);
    free(old_c);
    return rc;
}

/* Records link l of the new model (ids already given) and marks a merged or
 * gone old topic; counts the link's kind in R->links. */
static vg_code write_link(run *R, const loaded *prev, const topic_link *l,
                          const long long *ids, vg_error *err)
{
    long long old_id = l->old_topic >= 0 ? prev->topic_ids[l->old_topic] : 0,
              new_id = l->new_topic >= 0 ? ids[l->new_topic] : 0;
    char s[32];
    snprintf(s, sizeof s, "%.4f", l->sim);
    const db_param p[5] = {DB_INT(R->model_id), DB_TEXT(link_name(l->kind)),
                           old_id ? DB_INT(old_id) : DB_NULL,
                           new_id ? DB_INT(new_id) : DB_NULL, DB_TEXT(s)};
    vg_code rc = db_exec_params(R->db,
                                "INSERT INTO vigil.topic_links (model_id, "
                                "kind, old_topic_id, new_topic_id, similarity) "
                                "VALUES ($1, $2, $3, $4, $5)",
                                5, p, NULL, err);
    if (rc == VG_OK && l->kind == TOPIC_LINK_MERGE) {
        const db_param q[2] = {DB_INT(old_id), DB_INT(new_id)};
        rc = db_exec_params(R->db,
                            "UPDATE vigil.topics SET status = 'merged', "
                            "merged_into = $2, updated_at = now() "
                            "WHERE topic_id = $1",
                            2, q, NULL, err);
    } else if (rc == VG_OK && l->kind == TOPIC_LINK_GONE) {
        const db_param q[1] = {DB_INT(old_id)};
        rc = db_exec_params(R->db,
                            "UPDATE vigil.topics SET status = 'gone', "
                            "updated_at = now() WHERE topic_id = $1",
                            1, q, NULL, err);
    }
    json_t *cnt = json_object_get(R->links, link_name(l->kind));
    json_object_set_new(R->links, link_name(l->kind),
                        json_integer(json_integer_value(cnt) + 1));
    return rc;
}

/* Gives each new topic an id: a match keeps the old id, a split or a new
 * topic gets a fresh one; merged and gone old topics are marked. */
static vg_code assign_ids(run *R, const loaded *prev, const topic_vocab *v,
                          const topic_model *m, long long *ids, vg_error *err)
{
    int k = topic_model_k(m);
    topic_link *links = NULL;
    size_t nlinks = 0;
    for (int c = 0; c < k; c++)
        ids[c] = 0;
    vg_code rc = link_topics(R, prev, v, m, &links, &nlinks, err);
    if (rc != VG_OK)
        goto cleanup;
    /* Matches first (they fix ids), then fresh ids, then merges/gone. */
    for (size_t i = 0; i < nlinks; i++)
        if (links[i].kind == TOPIC_LINK_MATCH)
            ids[links[i].new_topic] = prev->topic_ids[links[i].old_topic];
    for (size_t i = 0; rc == VG_OK && i < nlinks; i++)
        if ((links[i].kind == TOPIC_LINK_SPLIT ||
             links[i].kind == TOPIC_LINK_NEW) &&
            ids[links[i].new_topic] == 0)
            rc = insert_topic(R, &ids[links[i].new_topic], err);
    for (size_t i = 0; rc == VG_OK && i < nlinks; i++)
        rc = write_link(R, prev, &links[i], ids, err);
cleanup:
    free(links);
    return rc;
}

/* A Postgres text[] literal of strings (quoted, escaped). */
static int text_array(strbuf *b, const char *const *s, size_t n)
{
    if (strbuf_printf(b, "{"))
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (strbuf_printf(b, "%s\"", i ? "," : ""))
            return -1;
        for (const char *c = s[i]; *c; c++)
            if (strbuf_printf(b, (*c == '"' || *c == '\\') ? "\\%c" : "%c", *c))
                return -1;
        if (strbuf_printf(b, "\""))
            return -1;
    }
    return strbuf_printf(b, "}");
}

/* Row numbers of the best few tickets per topic (highest similarity first,
 * SIZE_MAX where a topic has fewer), as its representative samples; NULL
 * when out of memory. */
static size_t *best_samples(const run *R, int k, const int *assign,
                            const float *sim)
{
    size_t *best = malloc(((size_t)k * SAMPLES + 1) * sizeof *best);
    if (!best)
        return NULL;
    for (size_t i = 0; i < (size_t)k * SAMPLES; i++)
        best[i] = SIZE_MAX;
    for (size_t i = 0; i < R->ids.n; i++) {
        if (assign[i] < 0)
            continue;
        size_t *s = best + (size_t)assign[i] * SAMPLES;
        for (int j = 0; j < SAMPLES; j++) {
            if (s[j] == SIZE_MAX || sim[i] > sim[s[j]]) {
                memmove(s + j + 1, s + j,
                        (SAMPLES - 1 - (size_t)j) * sizeof *s);
                s[j] = i;
                break;
            }
        }
    }
    return best;
}

/* The model's vocabulary, so a later day can assign tickets to it. */
static vg_code copy_vocab(run *R, const topic_vocab *v, vg_error *err)
{
    db_copy_in *ci = NULL;
    vg_code rc = db_copy_in_begin(R->db,
                                  "COPY vigil.topic_vocab (model_id, col, "
                                  "term, surface, df) FROM STDIN",
                                  &ci, err);
    for (size_t j = 0; rc == VG_OK && j < topic_vocab_size(v); j++) {
        db_copy_field_fmt(ci, "%lld", R->model_id);
        db_copy_field_fmt(ci, "%zu", j);
        db_copy_field(ci, topic_vocab_term(v, j));
        db_copy_field(ci, topic_vocab_surface(v, j));
        db_copy_field_fmt(ci, "%zu", topic_vocab_df(v, j));
        rc = db_copy_row_end(ci, err);
    }
    return copy_end(&ci, rc, err);
}

/* A centroid's non-zero entries as two Postgres array literals (columns
 * and values): centroids are sparse over a large vocabulary. Non-zero when
 * out of memory. */
static int sparse_arrays(const float *c, size_t dim, strbuf *cols, strbuf *vals)
{
    int bad = strbuf_printf(cols, "{") || strbuf_printf(vals, "{");
    int first = 1;
    for (size_t j = 0; j < dim && !bad; j++) {
        if (c[j] == 0)
            continue;
        bad = strbuf_printf(cols, "%s%zu", first ? "" : ",", j) ||
              strbuf_printf(vals, "%s%.9g", first ? "" : ",", (double)c[j]);
        first = 0;
    }
    return bad || strbuf_printf(cols, "}") || strbuf_printf(vals, "}");
}

/* The model's centroids, from which later days assign new tickets. */
static vg_code copy_centroids(run *R, size_t dim, const topic_model *m,
                              const long long *ids, const topic_terms *terms,
                              vg_error *err)
{
    db_copy_in *ci = NULL;
    float *c = malloc(dim * sizeof *c + 1);
    if (!c)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    vg_code rc = db_copy_in_begin(R->db,
                                  "COPY vigil.topic_centroids (model_id, "
                                  "topic_id, size, cols, vals) FROM STDIN",
                                  &ci, err);
    for (int t = 0; rc == VG_OK && t < topic_model_k(m); t++) {
        topic_model_centroid(m, t, c);
        strbuf cols = {0}, vals = {0};
        if (sparse_arrays(c, dim, &cols, &vals)) {
            strbuf_free(&cols);
            strbuf_free(&vals);
            rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
            break;
        }
        db_copy_field_fmt(ci, "%lld", R->model_id);
        db_copy_field_fmt(ci, "%lld", ids[t]);
        db_copy_field_fmt(ci, "%zu", terms[t].size);
        db_copy_field(ci, cols.s);
        db_copy_field(ci, vals.s);
        strbuf_free(&cols);
        strbuf_free(&vals);
        rc = db_copy_row_end(ci, err);
    }
    free(c);
    return copy_end(&ci, rc, err);
}

/* What a person reads about topic `id`: label, terms (stems and readable
 * words), size and sample tickets (best, SAMPLES row numbers), on both its
 * centroid row and the topic itself. */
static vg_code describe_topic(run *R, const topic_vocab *v, long long id,
                              const topic_terms *tt, const size_t *best,
                              vg_error *err)
{
    const char *tv[TOP_TERMS], *sv[TOP_TERMS], *smp[SAMPLES];
    size_t nt = tt->n < TOP_TERMS ? tt->n : TOP_TERMS, ns = 0;
    for (size_t j = 0; j < nt; j++) {
        tv[j] = topic_vocab_term(v, tt->col[j]);
        sv[j] = topic_vocab_surface(v, tt->col[j]);
    }
    for (int j = 0; j < SAMPLES; j++)
        if (best[j] != SIZE_MAX)
            smp[ns++] = R->ids.v[best[j]];
    strbuf a1 = {0}, a2 = {0}, a3 = {0};
    vg_code rc;
    if (text_array(&a1, tv, nt) || text_array(&a2, sv, nt) ||
        text_array(&a3, smp, ns)) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    const db_param p[8] = {
        DB_INT(id),       DB_TEXT(tt->label ? tt->label : ""),
        DB_TEXT(a1.s),    DB_TEXT(a2.s),
        DB_INT(tt->size), DB_TEXT(a3.s),
        DB_TEXT(R->day),  DB_INT(R->model_id)};
    rc = db_exec_params(
        R->db,
        "WITH c AS (UPDATE vigil.topic_centroids SET label = $2, "
        "terms = $3, surface_terms = $4, sample_ticket_ids = $6 "
        "WHERE model_id = $8 AND topic_id = $1) "
        "UPDATE vigil.topics SET label = $2, terms = $3, "
        "surface_terms = $4, size = $5, sample_ticket_ids = $6, "
        "status = 'active', merged_into = NULL, last_seen = $7, "
        "updated_at = now() WHERE topic_id = $1",
        8, p, NULL, err);
cleanup:
    strbuf_free(&a1);
    strbuf_free(&a2);
    strbuf_free(&a3);
    return rc;
}

/* A refitted model in full: vocabulary, centroids, and each topic's
 * description (ids[t] is topic t's stable id). */
static vg_code write_model(run *R, const topic_vocab *v, const topic_model *m,
                           const long long *ids, const topic_terms *terms,
                           const int *assign, const float *sim, vg_error *err)
{
    int k = topic_model_k(m);
    size_t *best = best_samples(R, k, assign, sim);
    if (!best)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    vg_code rc = copy_vocab(R, v, err);
    if (rc == VG_OK)
        rc = copy_centroids(R, topic_vocab_size(v), m, ids, terms, err);
    for (int t = 0; rc == VG_OK && t < k; t++)
        rc = describe_topic(R, v, ids[t], &terms[t], best + (size_t)t * SAMPLES,
                            err);
    free(best);
    return rc;
}

/* Tickets no topic explains may be an issue too new to win its own cluster
 * when k is chosen (a few dozen tickets among thousands) — exactly the early
 * signal trend alerts exist for. So the outliers are clustered on their own,
 * and groups that are big enough (trend.min_count, at least 5) and cohesive
 * (mean cosine to their centroid >= RESIDUAL_COHESION) join the model as
 * extra topics; then every ticket is assigned again. Noise stays noise:
 * unrelated outliers do not form cohesive groups. */
#define RESIDUAL_COHESION 0.3

/* The outliers' own clustering and the centroids that grow from it. */
typedef struct outliers {
    size_t n;         /* outliers with words */
    int min_size;     /* smallest group kept */
    size_t *idx;      /* outlier j is row idx[j] of the tickets */
    const char **sid; /* ... with this ticket id */
    topic_csr Y;      /* ... and these rows */
    topic_model *sm;  /* their clustering */
    int *sa;          /* outlier j's group, */
    float *ss;        /* ... and similarity to it */
    size_t k0, kk;    /* the model's topics; rows of comb in use */
    size_t dim;       /* columns of the vocabulary */
    float *comb;      /* the model's centroids, then the kept groups' */
    size_t *cs;       /* each group's size */
} outliers;

static void outliers_free(outliers *S)
{
    topic_csr_free(&S->Y);
    topic_model_free(S->sm);
    free(S->idx);
    free(S->sid);
    free(S->sa);
    free(S->ss);
    free(S->comb);
    free(S->cs);
}

/* The outliers' rows of X as a matrix of their own, in ticket order. */
static vg_code outlier_rows(run *R, const topic_csr *X, const int *assign,
                            outliers *S, vg_error *err)
{
    size_t n = X->nrows, nout = S->n, nnz = 0;
    S->idx = malloc(nout * sizeof *S->idx);
    S->sid = malloc(nout * sizeof *S->sid);
    S->sa = malloc(nout * sizeof *S->sa);
    S->ss = malloc(nout * sizeof *S->ss);
    S->Y.rowptr = calloc(nout + 1, sizeof *S->Y.rowptr);
    if (!S->idx || !S->sid || !S->sa || !S->ss || !S->Y.rowptr)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    for (size_t i = 0, j = 0; i < n; i++)
        if (assign[i] < 0 && X->rowptr[i + 1] > X->rowptr[i]) {
            S->idx[j] = i;
            S->sid[j++] = R->ids.v[i];
            nnz += X->rowptr[i + 1] - X->rowptr[i];
        }
    topic_csr *Y = &S->Y;
    Y->nrows = nout;
    Y->ncols = X->ncols;
    Y->col = malloc((nnz + 1) * sizeof *Y->col);
    Y->val = malloc((nnz + 1) * sizeof *Y->val);
    if (!Y->col || !Y->val)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    for (size_t j = 0, w = 0; j < nout; j++) {
        for (size_t e = X->rowptr[S->idx[j]]; e < X->rowptr[S->idx[j] + 1];
             e++) {
            Y->col[w] = X->col[e];
            Y->val[w++] = X->val[e];
        }
        Y->rowptr[j + 1] = w;
    }
    return VG_OK;
}

/* Clusters the outliers into 2..8 groups of at least min_size; S->sm
 * stays NULL when there are too few outliers for two groups. */
static vg_code cluster_outliers(run *R, outliers *S, vg_error *err)
{
    topic_kmeans_opts ko;
    topic_kmeans_opts_default(&ko);
    ko.k_min = 2;
    ko.k_max = (int)(S->n / (size_t)S->min_size);
    ko.k_max = ko.k_max > 8 ? 8 : ko.k_max;
    ko.outlier_budget = 0.9;
    ko.seed = (uint64_t)R->cfg->topics_seed;
    ko.threads = R->cfg->topics_threads;
    if (ko.k_max < 2)
        return VG_OK;
    return topic_kmeans(&S->Y, S->sid, &ko, &S->sm, S->sa, S->ss, err);
}

/* Adds the group centroid `row` (weighted by its size) to the first kept
 * group it is alike: the automatic k happened to split one issue. Returns
 * whether it was pooled. */
static int pool_group(outliers *S, const float *row, size_t size)
{
    size_t dim = S->dim;
    float *comb = S->comb;
    for (size_t e = S->k0; e < S->kk; e++) {
        double dot = 0, ne = 0;
        for (size_t t = 0; t < dim; t++) {
            dot += (double)comb[e * dim + t] * row[t];
            ne += (double)comb[e * dim + t] * comb[e * dim + t];
        }
        if (ne > 0 && dot / sqrt(ne) >= RESIDUAL_COHESION) {
            /* Unnormalised sums weigh groups by size; the model
             * normalises centroids when it is built. */
            for (size_t t = 0; t < dim; t++)
                comb[e * dim + t] += (float)size * row[t];
            return 1;
        }
    }
    return 0;
}

/* The model's centroids followed by the groups big and cohesive enough to
 * be topics (alike groups pooled); S->kk counts the rows. */
static vg_code keep_groups(const topic_model *m, outliers *S, vg_error *err)
{
    int ks = topic_model_k(S->sm);
    size_t dim = S->dim;
    S->comb = malloc(((S->k0 + (size_t)ks) * dim + 1) * sizeof *S->comb);
    S->cs = calloc((size_t)ks + 1, sizeof *S->cs);
    if (!S->comb || !S->cs)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    for (size_t c = 0; c < S->k0; c++)
        topic_model_centroid(m, (int)c, S->comb + c * dim);
    S->kk = S->k0;
    for (int c = 0; c < ks; c++) {
        double tot = 0;
        for (size_t j = 0; j < S->n; j++)
            if (S->sa[j] == c) {
                S->cs[c]++;
                tot += S->ss[j];
            }
        if (S->cs[c] < (size_t)S->min_size ||
            tot / (double)S->cs[c] < RESIDUAL_COHESION)
            continue;
        float *row = S->comb + S->kk * dim;
        topic_model_centroid(S->sm, c, row);
        if (!pool_group(S, row, S->cs[c])) {
            for (size_t t = 0; t < dim; t++)
                row[t] *= (float)S->cs[c];
            S->kk++;
        }
    }
    return VG_OK;
}

static vg_code add_residual_topics(run *R, const topic_csr *X, topic_model **m,
                                   int *assign, float *sim, int *added,
                                   vg_error *err)
{
    *added = 0;
    outliers S = {0};
    S.min_size = R->cfg->trend_min_count > 5 ? R->cfg->trend_min_count : 5;
    for (size_t i = 0; i < X->nrows; i++)
        S.n += assign[i] < 0 && X->rowptr[i + 1] > X->rowptr[i];
    if (S.n < (size_t)S.min_size * 2)
        return VG_OK;
    S.k0 = (size_t)topic_model_k(*m);
    S.dim = X->ncols;
    topic_model *nm = NULL;
    vg_code rc = outlier_rows(R, X, assign, &S, err);
    if (rc == VG_OK)
        rc = cluster_outliers(R, &S, err);
    if (rc != VG_OK || !S.sm)
        goto cleanup;
    if ((rc = keep_groups(*m, &S, err)) != VG_OK || S.kk == S.k0)
        goto cleanup;
    rc = topic_model_from_centroids(S.comb, (int)S.kk, S.dim,
                                    topic_model_threshold(*m), &nm, err);
    if (rc == VG_OK)
        rc = topic_model_assign(nm, X, assign, sim, err);
    if (rc != VG_OK)
        goto cleanup;
    topic_model_free(*m);
    *m = nm;
    nm = NULL;
    *added = (int)(S.kk - S.k0);
cleanup:
    topic_model_free(nm);
    outliers_free(&S);
    return rc;
}

/* A model is a vocabulary of tens of thousands of rows: keep those of the
 * last topics.keep_models_days (replays within that span stay exact; an
 * older replay starts without a previous model, so its topics get new ids). */
static vg_code prune_models(run *R, json_t *sum, vg_error *err)
{
    const db_param p[2] = {DB_TEXT(R->day),
                           DB_INT(R->cfg->topics_keep_models_days)};
    PGresult *r = NULL;
    vg_code rc =
        db_exec_params(R->db,
                       "WITH d AS (DELETE FROM vigil.topic_models WHERE "
                       "as_of < $1::date - $2::int RETURNING 1) "
                       "SELECT count(*) FROM d",
                       2, p, &r, err);
    if (rc == VG_OK)
        json_object_set_new(sum, "models_pruned",
                            json_integer(atol(PQgetvalue(r, 0, 0))));
    PQclear(r);
    /* Replaced assignments are only needed for the replays that stay
     * exact: dates within the models kept. */
    if (rc == VG_OK)
        rc = db_exec_params(R->db,
                            "DELETE FROM vigil.ticket_topic_history WHERE "
                            "replaced_on < $1::date - $2::int",
                            2, p, NULL, err);
    return rc;
}

/* k-means options from the settings; --k overrides topics.k. */
static void kmeans_opts(const run *R, topic_kmeans_opts *ko)
{
    const vg_config *cfg = R->cfg;
    topic_kmeans_opts_default(ko);
    ko->k = R->o->k > 0 ? R->o->k : cfg->topics_k;
    ko->k_min = cfg->topics_k_min;
    ko->k_max = cfg->topics_k_max;
    ko->outlier_budget = cfg->topics_outlier_budget;
    ko->seed = (uint64_t)cfg->topics_seed;
    ko->threads = cfg->topics_threads;
}

/* The model row, first: links and centroids refer to it (R->model_id). Its
 * params are the options it was fitted with. */
static vg_code insert_model(run *R, const topic_kmeans_opts *ko,
                            const topic_model *m, vg_error *err)
{
    const vg_config *cfg = R->cfg;
    json_t *params = json_pack(
        "{s:i, s:i, s:i, s:f, s:i, s:f}", "k", ko->k, "k_min", ko->k_min,
        "k_max", ko->k_max, "outlier_budget", ko->outlier_budget, "seed",
        cfg->topics_seed, "match_threshold", cfg->topics_match_threshold);
    char *ps = json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(params);
    char th[32];
    snprintf(th, sizeof th, "%.9g", topic_model_threshold(m));
    const db_param p[4] = {DB_TEXT(R->day), DB_INT(R->ids.n), DB_TEXT(th),
                           DB_TEXT(ps)};
    PGresult *r = NULL;
    vg_code rc = db_exec_params(
        R->db,
        "INSERT INTO vigil.topic_models (as_of, n_docs, threshold, "
        "params) VALUES ($1::date, $2, $3, $4::jsonb) "
        "RETURNING model_id",
        4, p, &r, err);
    free(ps);
    if (rc == VG_OK)
        R->model_id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return rc;
}

/* Clusters the window's tickets (rows of X) into *m, then adds residual
 * topics for groups among the outliers; assign and sim hold a row each. */
static vg_code fit_model(run *R, const topic_csr *X,
                         const topic_kmeans_opts *ko, topic_model **m,
                         int *assign, float *sim, double *sil, int *residual,
                         vg_error *err)
{
    vg_code rc =
        topic_kmeans(X, (const char *const *)R->ids.v, ko, m, assign, sim, err);
    if (rc != VG_OK)
        return rc;
    *sil = topic_model_silhouette(*m);
    return add_residual_topics(R, X, m, assign, sim, residual, err);
}

static vg_code refit(run *R, const loaded *prev, json_t *sum, vg_error *err)
{
    topic_vocab *v = NULL;
    topic_model *m = NULL;
    topic_csr X = {0}, C = {0};
    topic_terms *terms = NULL;
    int *assign = NULL, k = 0, residual = 0;
    float *sim = NULL;
    long long *ids = NULL;
    double sil = NAN;
    vg_code rc = read_tickets(R, 0, err);
    if (rc != VG_OK)
        goto cleanup;
    progress_update(&R->prog, "topics: clustering %zu tickets", R->ids.n);
    if ((rc = topic_vocab_build(R->corpus, NULL, &v, err)) != VG_OK ||
        (rc = topic_tfidf(R->corpus, v, &X, err)) != VG_OK)
        goto cleanup;
    assign = malloc((R->ids.n + 1) * sizeof *assign);
    sim = malloc((R->ids.n + 1) * sizeof *sim);
    if (!assign || !sim) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    topic_kmeans_opts ko;
    kmeans_opts(R, &ko);
    if ((rc = fit_model(R, &X, &ko, &m, assign, sim, &sil, &residual, err)) !=
        VG_OK)
        goto cleanup;
    k = topic_model_k(m);
    if ((rc = topic_counts(R->corpus, v, &C, err)) != VG_OK ||
        (rc = topic_ctfidf(&C, v, assign, k, TOP_TERMS, &terms, err)) !=
            VG_OK ||
        (rc = insert_model(R, &ko, m, err)) != VG_OK)
        goto cleanup;
    ids = calloc((size_t)k + 1, sizeof *ids);
    if (!ids) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    if ((rc = assign_ids(R, prev, v, m, ids, err)) != VG_OK ||
        (rc = write_model(R, v, m, ids, terms, assign, sim, err)) != VG_OK ||
        (rc = write_assignments(R, assign, sim, ids, err)) != VG_OK ||
        (rc = prune_models(R, sum, err)) != VG_OK)
        goto cleanup;
    json_object_set_new(sum, "k", json_integer(k));
    json_object_set_new(sum, "vocabulary",
                        json_integer((json_int_t)topic_vocab_size(v)));
    json_object_set_new(sum, "residual_topics", json_integer(residual));
    if (isfinite(sil))
        json_object_set_new(sum, "silhouette", json_real(sil));
cleanup:
    if (terms)
        topic_terms_free(terms, k);
    topic_csr_free(&X);
    topic_csr_free(&C);
    topic_model_free(m);
    topic_vocab_free(v);
    free(assign);
    free(sim);
    free(ids);
    return rc;
}

/* Tickets of the window without a topic, assigned to the latest model. */
static vg_code extend(run *R, const loaded *L, vg_error *err)
{
    topic_model *m = NULL;
    topic_csr X = {0};
    int *assign = NULL;
    float *sim = NULL;
    vg_code rc = read_tickets(R, 1, err);
    if (rc != VG_OK || R->ids.n == 0)
        return rc;
    rc = topic_model_from_centroids(L->cent, L->k, topic_vocab_size(L->vocab),
                                    L->threshold, &m, err);
    if (rc == VG_OK)
        rc = topic_tfidf(R->corpus, L->vocab, &X, err);
    if (rc != VG_OK)
        goto cleanup;
    assign = malloc((R->ids.n + 1) * sizeof *assign);
    sim = malloc((R->ids.n + 1) * sizeof *sim);
    if (!assign || !sim) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    if ((rc = topic_model_assign(m, &X, assign, sim, err)) != VG_OK)
        goto cleanup;
    rc = write_assignments(R, assign, sim, L->topic_ids, err);
cleanup:
    free(assign);
    free(sim);
    topic_csr_free(&X);
    topic_model_free(m);
    return rc;
}

/* ---- the job ---------------------------------------------------------------
 */

static vg_code check_later(run *R, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {R->day};
    vg_code rc = db_exec(
        R->db,
        "SELECT latest::text, latest > $1::date FROM (SELECT greatest("
        " (SELECT max(as_of) FROM vigil.topic_models), "
        " (SELECT max(as_of) FROM vigil.trend_alert_days), "
        " (SELECT max(assigned_on) FROM vigil.ticket_topics)) AS latest) x",
        1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    int later = !PQgetisnull(r, 0, 1) && PQgetvalue(r, 0, 1)[0] == 't';
    if (later && R->o->skip_if_later) {
        snprintf(R->skipped, sizeof R->skipped,
                 "topics already ran for %s, after %s: the newer results stand",
                 PQgetvalue(r, 0, 0), R->day);
    } else if (later && !R->o->replay)
        rc = vg_fail(err, VG_EUSAGE,
                     "topics already ran for %s, after %s: running %s now "
                     "would rewrite the later topics and alerts. Pass "
                     "--replay to do that (e.g. to replay history day by day)",
                     PQgetvalue(r, 0, 0), R->day, R->day);
    else if (later) {
        char next[DATE_BUF];
        date_format(R->o->as_of + 1, next);
        rc = rewind_from(R, next, err);
    }
    PQclear(r);
    return rc;
}

/* Settings that cannot work together, refused before anything is read. */
static vg_code check_settings(const vg_config *cfg, vg_error *err)
{
    if (cfg->topics_k_min > cfg->topics_k_max)
        return vg_fail(err, VG_ECONFIG,
                       "topics.k_min (%d) is above topics.k_max (%d)%s%s",
                       cfg->topics_k_min, cfg->topics_k_max,
                       cfg->path[0] ? " in " : "", cfg->path);
    /* Trend baselines count tickets by topic: days outside the fitted
     * window have none, and every topic would look like it just spiked. */
    if (cfg->topics_window_days <
        cfg->trend_baseline_days + cfg->trend_window_days)
        return vg_fail(err, VG_ECONFIG,
                       "topics.window_days (%d) must cover "
                       "trend.baseline_days + trend.window_days (%d + %d)%s%s",
                       cfg->topics_window_days, cfg->trend_baseline_days,
                       cfg->trend_window_days, cfg->path[0] ? " in " : "",
                       cfg->path);
    return VG_OK;
}

/* The run's state for one day: names, dates, one text pipe per thread and
 * an empty corpus. run_close frees what this made, even after a failure. */
static vg_code run_open(run *R, db_conn *db, const vg_config *cfg,
                        const vg_log *lg, const topics_opts *o, vg_error *err)
{
    memset(R, 0, sizeof *R);
    R->db = db;
    R->cfg = cfg;
    R->lg = lg;
    R->o = o;
    R->links = json_object();
    date_format(o->as_of, R->day);
    date_format(o->as_of - cfg->topics_window_days, R->from);
    progress_init(&R->prog, o->quiet);
    R->tickets = db_qualify(db, cfg->source_schema, "tickets");
    R->customers = db_qualify(db, cfg->source_schema, "customers");
    R->npipes = cfg->topics_threads > 0 ? cfg->topics_threads : 1;
    R->pipes = calloc((size_t)R->npipes, sizeof *R->pipes);
    if (!R->tickets || !R->customers || !R->pipes || !R->links)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    vg_code rc = VG_OK;
    for (int i = 0; rc == VG_OK && i < R->npipes; i++)
        rc = text_pipe_new(NULL, &R->pipes[i], err);
    if (rc == VG_OK)
        rc = topic_corpus_new(&R->corpus, err);
    return rc;
}

static void run_close(run *R)
{
    progress_done(&R->prog);
    json_decref(R->links);
    if (R->pipes)
        for (int i = 0; i < R->npipes; i++)
            text_pipe_free(R->pipes[i]);
    free(R->pipes);
    topic_corpus_free(R->corpus);
    sv_free(&R->ids);
    sv_free(&R->bsub);
    sv_free(&R->bbody);
    sv_free(&R->blang);
    free(R->tickets);
    free(R->customers);
}

/* The day's topics: a full re-clustering when the latest model is
 * topics.refit_days old (or one is asked for), otherwise the window's new
 * tickets assigned to the latest model. */
static vg_code fit_day(run *R, loaded *L, json_t *sum, vg_error *err)
{
    const topics_opts *o = R->o;
    vg_code rc = load_model(R, L, err);
    if (rc != VG_OK)
        return rc;
    int stale =
        !L->model_id || o->as_of - L->as_of >= R->cfg->topics_refit_days;
    R->refit = !o->incremental && (o->refit || o->k > 0 || stale);
    if (o->incremental && !L->model_id)
        return vg_fail(err, VG_EDATA,
                       "no topic model on or before %s yet: run `vigil topics "
                       "--as-of %s` without --incremental first",
                       R->day, R->day);
    if (!R->refit) {
        R->model_id = L->model_id;
        return extend(R, L, err);
    }
    if (L->model_id && L->as_of == o->as_of) {
        /* Refitting a date again: start from the model before it. */
        loaded_free(L);
        if ((rc = rewind_from(R, R->day, err)) != VG_OK ||
            (rc = load_model(R, L, err)) != VG_OK)
            return rc;
    }
    /* A day of a history backfill (backfill < 0) refits every week: its
     * line would repeat ten times before the day the user asked for. */
    if (o->backfill < 0)
        log_debug(R->lg, "refitting on tickets from %s to %s", R->from, R->day);
    else
        log_info(R->lg, "refitting on tickets from %s to %s", R->from, R->day);
    return refit(R, L, sum, err);
}

/* The summary of a day that ran: what was read, assigned and skipped, the
 * model, and the alerts' own summary merged in. */
static void day_summary(run *R, json_t *sum, json_t *alerts)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(R->model_id)};
    long topics = 0;
    if (db_exec_params(
            R->db,
            "SELECT count(*) FROM vigil.topic_centroids WHERE model_id = "
            "$1",
            1, p, &r, NULL) == VG_OK)
        topics = atol(PQgetvalue(r, 0, 0));
    PQclear(r);
    json_object_set_new(sum, "as_of", json_string(R->day));
    json_object_set_new(sum, "topics", json_integer(topics));
    json_object_set_new(sum, "assigned", json_integer(R->assigned));
    json_object_set_new(sum, "unassigned", json_integer(R->unassigned));
    json_object_set_new(sum, "tickets_read",
                        json_integer((json_int_t)R->ids.n));
    json_object_set_new(sum, "refit", json_boolean(R->refit));
    json_object_set_new(sum, "model_id", json_integer(R->model_id));
    json_object_set_new(sum, "window_start", json_string(R->from));
    if (R->refit)
        json_object_set(sum, "links", R->links);
    json_object_set_new(
        sum, "dirty",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "empty_text",
                  (json_int_t)R->empty, "body_truncated",
                  (json_int_t)R->truncated, "unknown_customer",
                  (json_int_t)R->unknown_customer, "null_or_empty_ticket_id",
                  (json_int_t)R->null_id, "duplicate_ticket_id",
                  (json_int_t)R->dup_id, "invalid_utf8",
                  (json_int_t)R->bad_utf8));
    json_object_update(sum, alerts);
}

/* One day in one transaction: topics, then trend alerts, then commit. */
static vg_code run_day(db_conn *db, const vg_config *cfg, const vg_log *lg,
                       const topics_opts *o, issue_cache *cache,
                       json_t **summary, vg_error *err)
{
    *summary = NULL;
    vg_code rc = check_settings(cfg, err);
    if (rc != VG_OK)
        return rc;
    run R;
    loaded L = {0};
    json_t *sum = json_object();
    rc = run_open(&R, db, cfg, lg, o, err);
    if (rc == VG_OK && !sum)
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
    if (rc != VG_OK)
        goto cleanup;

    if ((rc = db_begin(db, err)) != VG_OK)
        goto cleanup;
    /* Concurrent topics runs queue here instead of interleaving. */
    if ((rc = db_run(db,
                     "SELECT pg_advisory_xact_lock(hashtext('vigil.topics'))",
                     err)) != VG_OK ||
        (rc = check_later(&R, err)) != VG_OK)
        goto rollback;
    if (R.skipped[0]) {
        log_warn(lg, "%s", R.skipped);
        db_rollback(db);
        json_object_set_new(sum, "as_of", json_string(R.day));
        json_object_set_new(sum, "skipped", json_string(R.skipped));
        *summary = sum;
        sum = NULL;
        goto cleanup;
    }
    if ((rc = fit_day(&R, &L, sum, err)) != VG_OK)
        goto rollback;
    progress_update(&R.prog, "topics: trend alerts");
    json_t *alerts = NULL;
    rc = topics_alerts(db, cfg, lg, o->as_of, R.model_id, R.tickets,
                       R.customers, cache, &alerts, err);
    if (rc != VG_OK)
        goto rollback;
    if ((rc = db_commit(db, err)) != VG_OK) {
        json_decref(alerts);
        goto cleanup;
    }
    progress_done(&R.prog);
    day_summary(&R, sum, alerts);
    json_decref(alerts);
    *summary = sum;
    sum = NULL;
    goto cleanup;
rollback:
    db_rollback(db);
cleanup:
    loaded_free(&L);
    json_decref(sum);
    run_close(&R);
    return rc;
}

/* ---- backfill ---------------------------------------------------------------
 */

/* Whether nothing has run yet: no model and no alert history. */
static vg_code first_run(db_conn *db, int *first, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT NOT EXISTS (SELECT 1 FROM vigil.topic_models) "
                         "AND NOT EXISTS (SELECT 1 FROM "
                         "vigil.trend_alert_days)",
                         0, NULL, &r, err);
    if (rc == VG_OK)
        *first = PQntuples(r) == 1 && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    return rc;
}

/* Every day of [as_of - days, as_of) in order, as the daily runs would
 * have seen it: a full re-clustering on the first day and then every
 * topics.refit_days (every BACKFILL_REFIT days at least, so a configured
 * daily refit does not make the first run slow), new tickets assigned to
 * the latest model in between (issue alerts need no clusters; topic alerts
 * get topics up to a week old). With the default cadence this is what the
 * daily runs from the first day on would have done. Each day commits on its
 * own. */
#define BACKFILL_REFIT 7
static vg_code backfill(db_conn *db, const vg_config *cfg, const vg_log *lg,
                        const topics_opts *o, int days, issue_cache *cache,
                        json_t **out, vg_error *err)
{
    progress prog;
    progress_init(&prog, o->quiet);
    long raised = 0, resolved = 0;
    vg_code rc = VG_OK;
    int first = o->as_of - days;
    int cadence = cfg->topics_refit_days > BACKFILL_REFIT
                      ? cfg->topics_refit_days
                      : BACKFILL_REFIT;
    for (int d = first; rc == VG_OK && d < o->as_of; d++) {
        topics_opts day = *o;
        day.as_of = d;
        day.k = 0;
        day.replay = 1;
        day.skip_if_later = 0;
        day.quiet = 1;
        day.backfill = -1;
        day.refit = (d - first) % cadence == 0;
        day.incremental = !day.refit;
        char ds[DATE_BUF];
        date_format(d, ds);
        progress_update(&prog, "topics: building history, %s (%d of %d)", ds,
                        d - first + 1, days);
        json_t *s = NULL;
        rc = run_day(db, cfg, lg, &day, cache, &s, err);
        raised += (long)json_integer_value(json_object_get(s, "alerts_raised"));
        resolved +=
            (long)json_integer_value(json_object_get(s, "alerts_resolved"));
        json_decref(s);
    }
    progress_done(&prog);
    if (rc != VG_OK)
        return rc;
    char from[DATE_BUF];
    date_format(first, from);
    log_info(lg,
             "topics history built from %s: %ld alerts raised, %ld "
             "resolved",
             from, raised, resolved);
    *out = json_pack("{s:i, s:s, s:i, s:i}", "days", days, "from", from,
                     "alerts_raised", (json_int_t)raised, "alerts_resolved",
                     (json_int_t)resolved);
    return *out ? VG_OK : vg_fail(err, VG_ENOMEM, "topics: out of memory");
}

vg_code topics_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                   const topics_opts *o, json_t **summary, vg_error *err)
{
    *summary = NULL;
    int days = o->backfill > 0 ? o->backfill : 0;
    vg_code rc = VG_OK;
    if (o->backfill == 0 && cfg->topics_backfill_days > 0 && !o->incremental) {
        int first = 0;
        if ((rc = first_run(db, &first, err)) != VG_OK)
            return rc;
        days = first ? cfg->topics_backfill_days : 0;
    }
    json_t *bf = NULL;
    issue_cache *cache = NULL;
    if (days > 0 && (rc = issue_cache_new(&cache, err)) == VG_OK)
        rc = backfill(db, cfg, lg, o, days, cache, &bf, err);
    /* After building history the run for as_of re-clusters: the first
     * run leaves a model of its own date, and its summary (dirty rows
     * included) covers the whole window, as a first run always did. */
    topics_opts last = *o;
    if (days > 0 && !o->incremental)
        last.refit = 1;
    if (rc == VG_OK)
        rc = run_day(db, cfg, lg, &last, cache, summary, err);
    if (rc == VG_OK && bf)
        json_object_set_new(*summary, "backfill", bf);
    else
        json_decref(bf);
    issue_cache_free(cache);
    return rc;
}
