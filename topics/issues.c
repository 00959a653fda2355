/* issues.c — one alert per new issue, found from its bursting words: the
 * tickets of the baseline and window read from PostgreSQL, tokenised with
 * error codes and versions kept, tested in topics/burst.c, and each issue's
 * alert kept from day to day by its tickets and key terms. */
#include "topics/issues.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/util.h"
#include "topics/burst.h"
#include "topics/text.h"
#include "topics/trend.h"

#define SUBJECT_CAP 300
#define BODY_CAP 3000 /* the first lines say what broke */
#define SAMPLES 5
#define KEY_TERMS 12
#define LABEL_PHRASES 3

/* ---- a small support vocabulary across en/de/fr/es ------------------------
 * Words a support team uses for the same thing in four languages become one
 * extra term ("~export"), so an issue written in several languages bursts
 * in a shared term and its language groups link into one issue. Prefixes of
 * case-folded words; only the few dozen notions tickets are about. */
static const struct {
    const char *concept;
    const char *prefixes;
} vocab[] = {
    {"~login", "login logon anmeld einlogg connexion sesión sesion acceso "
               "acceder"},
    {"~password", "password passwort kennwort contraseña"},
    {"~export", "export"},
    {"~import", "import"},
    {"~invoice", "invoice rechnung factur"},
    {"~payment", "payment zahlung paiement pago"},
    {"~refund", "refund erstatt rembours reembols"},
    {"~slow", "slow langsam lent lento lenta"},
    {"~certificate", "certificat zertifikat"},
    {"~encoding", "encoding kodierung encodage codificac umlaut accent acent "
                  "charact caract zeichen"},
    {"~webhook", "webhook"},
    {"~permission", "permission berechtigung permiso droits"},
    {"~invite", "invit einladung"},
    {"~notification", "notif benachrichtig"},
    {"~report", "report bericht rapport informe"},
    {"~timezone", "timezone zeitzone fuseau horari"},
    {"~cancel", "cancel kündig résili"},
    {"~crash", "crash absturz abstürz bloque"},
    {"~upgrade", "upgrade"},
    {"~sync", "sync synchron"},
};

/* Month and weekday names burst with the calendar, not with a problem
 * ("since September 1"); numbers and dates are masked for the same reason. */
static const char calendar[] =
    " january february march april may june july august september october "
    "november december monday tuesday wednesday thursday friday saturday "
    "sunday januar februar märz mai juni juli oktober dezember montag "
    "dienstag mittwoch donnerstag freitag samstag sonntag janvier février "
    "mars avril juin juillet août septembre octobre novembre décembre lundi "
    "mardi mercredi jeudi vendredi samedi dimanche enero febrero marzo abril "
    "mayo junio julio agosto septiembre setiembre octubre noviembre "
    "diciembre lunes martes miércoles jueves viernes sábado domingo ";

static int is_calendar(const char *word)
{
    char w[48];
    size_t n = strlen(word);
    if (n + 3 > sizeof w)
        return 0;
    w[0] = ' ';
    memcpy(w + 1, word, n);
    w[n + 1] = ' ';
    w[n + 2] = '\0';
    return strstr(calendar, w) != NULL;
}

static int concept_index(const char *word)
{
    for (size_t i = 0; i < sizeof vocab / sizeof vocab[0]; i++) {
        const char *p = vocab[i].prefixes;
        while (*p) {
            size_t n = strcspn(p, " ");
            if (n && strncmp(word, p, n) == 0)
                return (int)i;
            p += n;
            p += *p == ' ';
        }
    }
    return -1;
}

const char *issues_concept(const char *word)
{
    int i = concept_index(word);
    return i >= 0 ? vocab[i].concept : NULL;
}

/* issues_shared_term: the fewest tickets on each side, the share of
 * each side's tickets that must carry the term, and how many times more
 * often than the other tickets of those days. */
#define SHARED_MIN_TICKETS 5
#define SHARED_MIN_SHARE 0.5
#define SHARED_MIN_LIFT 3.0

/* ---- the tickets ----------------------------------------------------------
 */

/* What a case-folded word is for issues, worked out once per day and word
 * (a month's tickets repeat the same few thousand words). */
enum { W_WORTHY = 1, W_CALENDAR = 2 };
typedef struct word_info {
    uint8_t flags;
    int8_t concept; /* index into vocab, -1: none */
} word_info;

typedef struct doc_meta {
    char *ticket_id, *subject;
    long long topic_id; /* 0: none */
    char lang[4];
    size_t off, n; /* terms in issue_day.terms */
} doc_meta;

/* One ticket's words as add_terms found them: the (key, readable form)
 * pairs in the order it gave them ids, so replaying them gives the same
 * ids as tokenising again; valid for the same subject, body and language. */
typedef struct cached_doc {
    char *pairs; /* key \0 surface \0, ...; NULL: nothing kept */
    size_t len;
    size_t subject_len, body_len;
    char given_lang[8], lang[4];
    long used; /* the day (cache generation) that last read it */
} cached_doc;

struct issue_cache {
    strmap *ids; /* ticket_id -> index into docs */
    cached_doc *docs;
    size_t cap;
    long day;
};

struct issue_day {
    int ndays;
    issue_cache *cache;
    cached_doc *rec; /* the entry add_terms records into, or NULL */
    strbuf pairs;
    text_pipe *pipe;
    text_toklist *toks;
    strmap *terms_map, *customers;
    strmap *ticket_ix; /* ticket_id -> slot in doc_of */
    size_t *doc_of;    /* index into docs of each ticket id */
    strmap *words;     /* case-folded words seen, with winfo */
    word_info *winfo;
    size_t wcap;
    char **surface; /* per term id: its readable form (first seen) */
    size_t nsurface, surfcap;
    doc_meta *meta;
    burst_doc *docs;
    size_t n, cap;
    uint32_t *terms;
    size_t nterms, tcap;
    uint32_t *scratch;
    size_t scap;
    /* issue alerts raised or updated today and their window tickets */
    long long *alert;
    burst_group *group;
    size_t nalerts;
};

vg_code issue_cache_new(issue_cache **out, vg_error *err)
{
    issue_cache *c = calloc(1, sizeof *c);
    if (c)
        c->ids = strmap_new(16384);
    if (!c || !c->ids) {
        free(c);
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    }
    *out = c;
    return VG_OK;
}

void issue_cache_free(issue_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < strmap_size(c->ids); i++)
        free(c->docs[i].pairs);
    free(c->docs);
    strmap_free(c->ids);
    free(c);
}

/* The entry of a ticket (created empty when new); NULL on OOM. */
static cached_doc *cache_entry(issue_cache *c, const char *ticket_id)
{
    /* Room first: a key in the map always has an entry. */
    if (strmap_size(c->ids) >= c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8192;
        cached_doc *v = realloc(c->docs, cap * sizeof *v);
        if (!v)
            return NULL;
        c->docs = v;
        c->cap = cap;
    }
    int added = 0;
    long i = strmap_put(c->ids, ticket_id, &added);
    if (i < 0)
        return NULL;
    if (added)
        memset(&c->docs[i], 0, sizeof c->docs[i]);
    return &c->docs[i];
}

/* Tickets today did not read: the days only move forward, so the window
 * has moved past them. */
static void cache_evict(issue_cache *c)
{
    for (size_t i = 0; i < strmap_size(c->ids); i++)
        if (c->docs[i].pairs && c->docs[i].used < c->day) {
            free(c->docs[i].pairs);
            c->docs[i].pairs = NULL;
        }
}

void issue_day_free(issue_day *d)
{
    if (!d)
        return;
    strbuf_free(&d->pairs);
    text_pipe_free(d->pipe);
    text_toklist_free(d->toks);
    strmap_free(d->terms_map);
    strmap_free(d->customers);
    strmap_free(d->ticket_ix);
    free(d->doc_of);
    strmap_free(d->words);
    free(d->winfo);
    for (size_t i = 0; i < d->nsurface; i++)
        free(d->surface[i]);
    free(d->surface);
    for (size_t i = 0; i < d->n; i++) {
        free(d->meta[i].ticket_id);
        free(d->meta[i].subject);
    }
    free(d->meta);
    free(d->docs);
    free(d->terms);
    free(d->scratch);
    free(d->alert);
    burst_groups_free(d->group, d->nalerts);
    free(d);
}

/* Term id of s (added when new, with its readable form). -1: OOM. */
static long term_id(issue_day *d, const char *s, const char *surface)
{
    int added = 0;
    long id = strmap_put(d->terms_map, s, &added);
    if (id < 0 || !added)
        return id;
    if (d->nsurface == d->surfcap) {
        size_t cap = d->surfcap ? d->surfcap * 2 : 4096;
        char **v = realloc(d->surface, cap * sizeof *v);
        if (!v)
            return -1;
        d->surface = v;
        d->surfcap = cap;
    }
    d->surface[d->nsurface] = strdup(surface ? surface : s);
    if (!d->surface[d->nsurface])
        return -1;
    d->nsurface++;
    return id;
}

static int word_of(issue_day *d, const char *w, word_info *out)
{
    int added = 0;
    long id = strmap_put(d->words, w, &added);
    if (id < 0)
        return -1;
    if ((size_t)id >= d->wcap) {
        size_t cap = d->wcap ? d->wcap * 2 : 4096;
        word_info *v = realloc(d->winfo, cap * sizeof *v);
        if (!v)
            return -1;
        d->winfo = v;
        d->wcap = cap;
    }
    if (added) {
        word_info x = {0, (int8_t)concept_index(w)};
        if (text_pipe_label_worthy(d->pipe, w))
            x.flags |= W_WORTHY;
        if (is_calendar(w))
            x.flags |= W_CALENDAR;
        d->winfo[id] = x;
    }
    *out = d->winfo[id];
    return 0;
}

static int push_term(issue_day *d, uint32_t t)
{
    if (d->nterms == d->tcap) {
        size_t cap = d->tcap ? d->tcap * 2 : 65536;
        uint32_t *v = realloc(d->terms, cap * sizeof *v);
        if (!v)
            return -1;
        d->terms = v;
        d->tcap = cap;
    }
    d->terms[d->nterms++] = t;
    return 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Term key (readable form surface) of the current ticket: its id appended
 * to d->terms, and the pair to the ticket's cache entry when recording. */
static int add_term(issue_day *d, const char *key, const char *surface)
{
    long id = term_id(d, key, surface);
    if (id < 0 || push_term(d, (uint32_t)id))
        return -1;
    if (d->rec) {
        strbuf_append(&d->pairs, key, strlen(key) + 1);
        strbuf_append(&d->pairs, surface, strlen(surface) + 1);
    }
    return 0;
}

static int finish_terms(issue_day *d, doc_meta *m);

/* The tokens of the current ticket as term ids (+ concepts), sorted and
 * distinct, appended to d->terms. Bigram surfaces are rebuilt from the two
 * unigrams before them ("csv export" rather than the stems). */
static int add_terms(issue_day *d, doc_meta *m)
{
    const text_toklist *t = d->toks;
    const char *prev = NULL, *cur = NULL;
    word_info pw = {0, -1}, cw = {0, -1}; /* of prev and cur */
    m->off = d->nterms;
    char both[256];
    for (size_t i = 0; i < text_toklist_size(t); i++) {
        const char *tok = text_toklist_get(t, i), *surf = NULL;
        int bigram = text_toklist_is_bigram(t, i);
        word_info wi = {0, -1};
        if (bigram) {
            if (prev && cur) {
                snprintf(both, sizeof both, "%s %s", prev, cur);
                surf = both;
                /* A phrase is worthy when both its words are. */
                wi.flags = (uint8_t)((pw.flags & cw.flags & W_WORTHY) |
                                     ((pw.flags | cw.flags) & W_CALENDAR));
            }
        } else {
            surf = text_toklist_surface(t, i);
            prev = cur;
            cur = surf;
            pw = cw;
            cw = (word_info){0, -1};
            if (surf && word_of(d, surf, &cw) != 0)
                return -1;
            wi = cw;
        }
        /* Masks ("<num>"), filler of any language ("seit" in a German
         * ticket is not about the issue) and calendar words name no
         * issue. */
        if (strchr(tok, '<') || !surf || !(wi.flags & W_WORTHY) ||
            (wi.flags & W_CALENDAR))
            continue;
        if (!bigram && wi.concept >= 0) {
            const char *c = vocab[wi.concept].concept;
            if (add_term(d, c, c))
                return -1;
        }
        if (add_term(d, tok, surf))
            return -1;
    }
    return finish_terms(d, m);
}

/* The ticket's terms, sorted and distinct. */
static int finish_terms(issue_day *d, doc_meta *m)
{
    uint32_t *v = d->terms + m->off;
    size_t n = d->nterms - m->off, w = 0;
    qsort(v, n, sizeof *v, cmp_u32);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] != v[w - 1])
            v[w++] = v[i];
    d->nterms = m->off + w;
    m->n = w;
    return 0;
}

/* Replays a cached ticket's pairs; -1 on OOM. */
static int replay_terms(issue_day *d, doc_meta *m, const cached_doc *c)
{
    memcpy(m->lang, c->lang, sizeof m->lang);
    m->off = d->nterms;
    for (const char *p = c->pairs; p < c->pairs + c->len;) {
        const char *key = p, *surf = p + strlen(p) + 1;
        p = surf + strlen(surf) + 1;
        long id = term_id(d, key, surf);
        if (id < 0 || push_term(d, (uint32_t)id))
            return -1;
    }
    return finish_terms(d, m);
}

/* Keeps what add_terms recorded for the ticket in its cache entry. */
static int keep_terms(issue_day *d, cached_doc *c, const doc_meta *m,
                      size_t subject_len, size_t body_len, const char *lang)
{
    if (d->pairs.failed)
        return -1;
    char *copy = malloc(d->pairs.len + 1);
    if (!copy)
        return -1;
    memcpy(copy, strbuf_str(&d->pairs), d->pairs.len + 1);
    free(c->pairs);
    c->pairs = copy;
    c->len = d->pairs.len;
    c->subject_len = subject_len;
    c->body_len = body_len;
    snprintf(c->given_lang, sizeof c->given_lang, "%s", lang);
    memcpy(c->lang, m->lang, sizeof c->lang);
    c->used = d->cache->day;
    return 0;
}

/* The ticket's terms: replayed from the cache when an earlier day of the
 * same run tokenised the same text (a backfill reads each ticket on up to
 * 31 days), else tokenised, and recorded when there is a cache. */
static vg_code ticket_terms(issue_day *d, doc_meta *m, char **f, vg_error *err)
{
    const char *lang = f[5] && *f[5] ? f[5] : NULL;
    size_t sl = f[3] ? strlen(f[3]) : 0, bl = f[4] ? strlen(f[4]) : 0;
    cached_doc *c = NULL;
    if (d->cache && !(c = cache_entry(d->cache, m->ticket_id)))
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    if (c && c->pairs && c->subject_len == sl && c->body_len == bl &&
        strcmp(c->given_lang, lang ? lang : "") == 0) {
        c->used = d->cache->day;
        return replay_terms(d, m, c) == 0
                   ? VG_OK
                   : vg_fail(err, VG_ENOMEM, "issues: out of memory");
    }
    vg_code rc = text_tokens(d->pipe, f[3], f[4], lang, d->toks, err);
    if (rc != VG_OK)
        return rc;
    snprintf(m->lang, sizeof m->lang, "%s", text_toklist_lang(d->toks));
    if (c && strlen(lang ? lang : "") < sizeof c->given_lang) {
        d->rec = c;
        strbuf_reset(&d->pairs);
    }
    int bad = add_terms(d, m) != 0 ||
              (d->rec && keep_terms(d, c, m, sl, bl, lang ? lang : "") != 0);
    d->rec = NULL;
    return bad ? vg_fail(err, VG_ENOMEM, "issues: out of memory") : VG_OK;
}

/* COPY row: ticket_id, customer_id, days before as_of, subject, body,
 * language, topic_id. */
static vg_code on_ticket(void *ctx, int nf, char **f, vg_error *err)
{
    issue_day *d = ctx;
    if (nf != 7)
        return vg_fail(err, VG_EINTERNAL, "issues: unexpected ticket row");
    int ago = atoi(f[2]);
    if (ago < 1 || ago > d->ndays)
        return VG_OK;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        doc_meta *m = realloc(d->meta, cap * sizeof *m);
        if (!m)
            return vg_fail(err, VG_ENOMEM, "issues: out of memory");
        d->meta = m;
        burst_doc *b = realloc(d->docs, cap * sizeof *b);
        if (!b)
            return vg_fail(err, VG_ENOMEM, "issues: out of memory");
        d->docs = b;
        d->cap = cap;
    }
    doc_meta *m = &d->meta[d->n];
    memset(m, 0, sizeof *m);
    m->ticket_id = strdup(f[0]);
    m->subject = strdup(f[3] ? f[3] : "");
    d->n++; /* owned from here on, freed with the day */
    if (!m->ticket_id || !m->subject)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    m->topic_id = f[6] ? atoll(f[6]) : 0;
    /* A ticket without a customer is its own customer. */
    long cust = strmap_put(d->customers, f[1] ? f[1] : f[0], NULL);
    if (cust < 0)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    vg_code rc = ticket_terms(d, m, f, err);
    if (rc != VG_OK)
        return rc;
    d->docs[d->n - 1] = (burst_doc){d->ndays - ago, (uint32_t)cust, NULL, m->n};
    return VG_OK;
}

static vg_code read_tickets(db_conn *db, issue_day *d, int as_of,
                            const char *tickets, const char *customers,
                            vg_error *err)
{
    char day[DATE_BUF], start[DATE_BUF];
    date_format(as_of, day);
    date_format(as_of - d->ndays, start);
    size_t cap = 1024 + strlen(tickets) + strlen(customers);
    char *q = malloc(cap);
    if (!q)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    /* The dates are ours and the names quoted: no value comes from input. */
    snprintf(q, cap,
             "SELECT t.ticket_id, t.customer_id, DATE '%s' - (t.created_at "
             "AT TIME ZONE 'UTC')::date, left(t.subject, %d), "
             "left(t.body, %d), c.language, tt.topic_id "
             "FROM %s t LEFT JOIN %s c ON c.customer_id = t.customer_id "
             "LEFT JOIN vigil.ticket_topics tt ON tt.ticket_id = t.ticket_id "
             "WHERE t.created_at >= '%s 00:00:00+00'::timestamptz "
             "AND t.created_at < '%s 00:00:00+00'::timestamptz "
             "AND t.ticket_id IS NOT NULL ORDER BY t.ticket_id",
             day, SUBJECT_CAP, BODY_CAP, tickets, customers, start, day);
    vg_code rc = db_copy_out(db, q, on_ticket, d, NULL, err);
    free(q);
    if (rc != VG_OK)
        return rc;
    for (size_t i = 0; i < d->n; i++)
        d->docs[i].terms = d->terms + d->meta[i].off;
    d->ticket_ix = strmap_new(d->n + 16);
    d->doc_of = malloc((d->n + 1) * sizeof *d->doc_of);
    if (!d->ticket_ix || !d->doc_of)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    for (size_t i = 0; i < d->n; i++) {
        long k = strmap_put(d->ticket_ix, d->meta[i].ticket_id, NULL);
        if (k < 0)
            return vg_fail(err, VG_ENOMEM, "issues: out of memory");
        d->doc_of[k] = i;
    }
    return VG_OK;
}

static vg_code day_new(int ndays, issue_day **out, vg_error *err)
{
    issue_day *d = calloc(1, sizeof *d);
    if (!d)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    d->ndays = ndays;
    text_opts to;
    text_opts_default(&to);
    to.keep_codes = 1;
    to.max_subject_bytes = SUBJECT_CAP;
    to.max_body_bytes = BODY_CAP;
    vg_code rc = text_pipe_new(&to, &d->pipe, err);
    if (rc == VG_OK) {
        d->toks = text_toklist_new();
        d->terms_map = strmap_new(65536);
        d->customers = strmap_new(4096);
        d->words = strmap_new(65536);
        if (!d->toks || !d->terms_map || !d->customers || !d->words)
            rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
    }
    if (rc != VG_OK) {
        issue_day_free(d);
        return rc;
    }
    *out = d;
    return VG_OK;
}

/* ---- labels ----------------------------------------------------------------
 */

/* Whether phrase a shares a word with phrase b (space-separated stems). */
static int shares_word(const char *a, const char *b)
{
    while (*a) {
        size_t n = strcspn(a, " ");
        const char *s = b;
        while (*s) {
            size_t m = strcspn(s, " ");
            if (m == n && strncmp(a, s, n) == 0)
                return 1;
            s += m;
            s += *s == ' ';
        }
        a += n;
        a += *a == ' ';
    }
    return 0;
}

/* The ticket of the issue with most of its terms (first in id order). */
static size_t representative(const issue_day *d, const burst_group *g)
{
    if (g->ndocs == 0)
        return SIZE_MAX;
    size_t best = g->docs[0];
    int best_hits = -1;
    for (size_t k = 0; k < g->ndocs; k++) {
        const burst_doc *doc = &d->docs[g->docs[k]];
        int hits = 0;
        for (size_t j = 0; j < g->nterms; j++)
            for (size_t i = 0; i < doc->nterms; i++)
                hits += doc->terms[i] == g->terms[j];
        if (hits > best_hits) {
            best_hits = hits;
            best = g->docs[k];
        }
    }
    return best;
}

typedef struct scored_term {
    double score;
    uint32_t term;
} scored_term;

static int cmp_scored(const void *a, const void *b)
{
    const scored_term *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->term < y->term ? -1 : x->term > y->term;
}

/* The issue's most distinctive terms, best first: used by at least a fifth
 * of its tickets (two at least), scored by how much more often than across
 * all the tickets read (count x log of count over expectation, a
 * log-likelihood ratio's leading term). Support-vocabulary terms and words a
 * label should not show are left out. *out is malloc'ed. */
static int ranked_terms(const issue_day *d, const burst_group *g,
                        uint32_t **out, size_t *nout)
{
    size_t V = d->nsurface;
    uint32_t *all = calloc(V + 1, sizeof *all), *in = calloc(V + 1, sizeof *in);
    scored_term *st = NULL;
    *out = NULL;
    *nout = 0;
    if (!all || !in)
        goto fail;
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < d->docs[i].nterms; j++)
            all[d->docs[i].terms[j]]++;
    for (size_t k = 0; k < g->ndocs; k++) {
        const burst_doc *doc = &d->docs[g->docs[k]];
        for (size_t j = 0; j < doc->nterms; j++)
            in[doc->terms[j]]++;
    }
    size_t floor_n = g->ndocs / 5 > 2 ? g->ndocs / 5 : 2, n = 0;
    st = malloc((V + 1) * sizeof *st);
    if (!st)
        goto fail;
    for (uint32_t t = 0; t < V; t++) {
        if (in[t] < floor_n || strmap_key(d->terms_map, (long)t)[0] == '~' ||
            !text_pipe_label_worthy(d->pipe, d->surface[t]))
            continue;
        double e = (double)all[t] * (double)g->ndocs / (double)d->n;
        double gain = log((in[t] + 0.5) / (e + 0.5));
        if (gain > 0)
            st[n++] = (scored_term){in[t] * gain, t};
    }
    qsort(st, n, sizeof *st, cmp_scored);
    *out = malloc((n + 1) * sizeof **out);
    if (!*out)
        goto fail;
    for (size_t i = 0; i < n; i++)
        (*out)[i] = st[i].term;
    *nout = n;
    free(all);
    free(in);
    free(st);
    return 0;
fail:
    free(all);
    free(in);
    free(st);
    return -1;
}

/* Up to LABEL_PHRASES phrases from the ranked terms, a bigram first when
 * one is among the five best, each adding words the others lack. */
static size_t pick_phrases(const issue_day *d, const uint32_t *ranked,
                           size_t nr, uint32_t *picked)
{
    size_t np = 0;
    for (int pass = 0; pass < 2 && np < LABEL_PHRASES; pass++)
        for (size_t j = 0; j < nr && np < LABEL_PHRASES; j++) {
            uint32_t t = ranked[j];
            const char *key = strmap_key(d->terms_map, (long)t);
            int bigram = strchr(key, ' ') != NULL;
            if (pass == 0 && (!bigram || j >= 5 || np > 0))
                continue;
            int clash = 0;
            for (size_t p = 0; p < np && !clash; p++)
                clash =
                    picked[p] == t ||
                    shares_word(strmap_key(d->terms_map, (long)picked[p]), key);
            if (!clash)
                picked[np++] = t;
        }
    return np;
}

static char *make_label(const issue_day *d, const burst_group *g,
                        const uint32_t *ranked, size_t nr)
{
    uint32_t picked[LABEL_PHRASES];
    size_t np = pick_phrases(d, ranked, nr, picked);
    size_t rep = representative(d, g);
    const char *subject = rep == SIZE_MAX ? "" : d->meta[rep].subject;
    size_t len = strlen(subject) + 16;
    for (size_t p = 0; p < np; p++)
        len += strlen(d->surface[picked[p]]) + 2;
    char *s = malloc(len);
    if (!s)
        return NULL;
    size_t w = 0;
    s[0] = '\0';
    for (size_t p = 0; p < np; p++)
        w += (size_t)snprintf(s + w, len - w, "%s%s", p ? ", " : "",
                              d->surface[picked[p]]);
    if (subject[0])
        snprintf(s + w, len - w, "%s\"%s\"", np ? " — " : "", subject);
    return s;
}

/* ---- persistence -----------------------------------------------------------
 */

/* Appends one quoted, escaped element to a Postgres array literal being
 * built ("{" already there). */
static int array_add(strbuf *b, const char *s)
{
    strbuf_puts(b, b->len > 1 ? ",\"" : "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            strbuf_putc(b, '\\');
        strbuf_putc(b, *s);
    }
    return strbuf_putc(b, '"');
}

/* The arrays one alert row carries. */
typedef struct alert_arrays {
    strbuf key, terms, langs, topics, tickets, samples, strong;
} alert_arrays;

static void arrays_free(alert_arrays *a)
{
    strbuf_free(&a->key);
    strbuf_free(&a->terms);
    strbuf_free(&a->langs);
    strbuf_free(&a->topics);
    strbuf_free(&a->tickets);
    strbuf_free(&a->samples);
    strbuf_free(&a->strong);
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

/* Topics holding at least a fifth of the issue's tickets. */
static int add_topics(const issue_day *d, const burst_group *g, strbuf *out)
{
    long long *t = malloc((g->ndocs + 1) * sizeof *t);
    if (!t)
        return -1;
    size_t n = 0;
    for (size_t k = 0; k < g->ndocs; k++)
        if (d->meta[g->docs[k]].topic_id)
            t[n++] = d->meta[g->docs[k]].topic_id;
    qsort(t, n, sizeof *t, cmp_ll);
    int rc = strbuf_putc(out, '{');
    for (size_t i = 0, first = 1; rc == 0 && i < n;) {
        size_t j = i;
        while (j < n && t[j] == t[i])
            j++;
        if ((j - i) * 5 >= g->ndocs) {
            rc = strbuf_printf(out, "%s%lld", first ? "" : ",", t[i]);
            first = 0;
        }
        i = j;
    }
    free(t);
    return rc || strbuf_putc(out, '}');
}

static int build_arrays(const issue_day *d, const burst_group *g,
                        const uint32_t *ranked, size_t nr,
                        const char *const *old_keys, size_t nold,
                        alert_arrays *a)
{
    int bad = strbuf_putc(&a->key, '{') || strbuf_putc(&a->terms, '{') ||
              strbuf_putc(&a->langs, '{') || strbuf_putc(&a->tickets, '{') ||
              strbuf_putc(&a->samples, '{');
    size_t nk = 0;
    for (size_t i = 0; i < nold && nk < KEY_TERMS && !bad; i++, nk++)
        bad = array_add(&a->key, old_keys[i]);
    for (size_t j = 0; j < g->nterms && nk < KEY_TERMS && !bad; j++) {
        const char *k = strmap_key(d->terms_map, (long)g->terms[j]);
        int dup = 0;
        for (size_t i = 0; i < nold; i++)
            dup |= strcmp(old_keys[i], k) == 0;
        if (!dup) {
            bad = array_add(&a->key, k);
            nk++;
        }
    }
    /* The issue's own distinctive words identify it on later days too. */
    for (size_t j = 0; j < nr && j < 4 && nk < KEY_TERMS && !bad; j++) {
        const char *k = strmap_key(d->terms_map, (long)ranked[j]);
        int dup = 0;
        for (size_t i = 0; i < nold; i++)
            dup |= strcmp(old_keys[i], k) == 0;
        for (size_t i = 0; i < g->nterms; i++)
            dup |= g->terms[i] == ranked[j];
        if (!dup) {
            bad = array_add(&a->key, k);
            nk++;
        }
    }
    for (size_t j = 0; j < nr && j < 10 && !bad; j++)
        bad = array_add(&a->terms, d->surface[ranked[j]]);
    static const char *const langs[] = {"de", "en", "es", "fr"};
    for (int l = 0; l < 4 && !bad; l++)
        for (size_t k = 0; k < g->ndocs; k++)
            if (strcmp(d->meta[g->docs[k]].lang, langs[l]) == 0) {
                bad = array_add(&a->langs, langs[l]);
                break;
            }
    for (size_t k = 0; k < g->ndocs && !bad; k++)
        bad = array_add(&a->tickets, d->meta[g->docs[k]].ticket_id);
    size_t rep = representative(d, g);
    bad = bad ||
          (rep != SIZE_MAX && array_add(&a->samples, d->meta[rep].ticket_id));
    for (size_t k = 0, ns = 1; k < g->ndocs && ns < SAMPLES && !bad; k++)
        if (g->docs[k] != rep) {
            bad = array_add(&a->samples, d->meta[g->docs[k]].ticket_id);
            ns++;
        }
    return bad || strbuf_putc(&a->key, '}') || strbuf_putc(&a->terms, '}') ||
           strbuf_putc(&a->langs, '}') || strbuf_putc(&a->tickets, '}') ||
           strbuf_putc(&a->samples, '}') || add_topics(d, g, &a->topics);
}

/* An open alert of source 'terms'. */
typedef struct open_alert {
    long long id;
    int window_start;
    char kind[16];
    char **keys;
    size_t nkeys;
    char **tickets;
    size_t ntickets;
    char **strong; /* its words strong on some day (strong_terms) */
    size_t nstrong;
    int matched;
} open_alert;

static void open_alerts_free(open_alert *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        for (size_t j = 0; j < a[i].nkeys; j++)
            free(a[i].keys[j]);
        for (size_t j = 0; j < a[i].ntickets; j++)
            free(a[i].tickets[j]);
        for (size_t j = 0; j < a[i].nstrong; j++)
            free(a[i].strong[j]);
        free(a[i].keys);
        free(a[i].tickets);
        free(a[i].strong);
    }
    free(a);
}

/* Splits "{a,b,"c d"}" as PostgreSQL prints a text[] (quotes, escapes). */
int issues_split_array(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    if (!s || *s != '{')
        return 0;
    s++;
    while (*s && *s != '}') {
        char tmp[512];
        size_t w = 0;
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1])
                    s++;
                if (w + 1 < sizeof tmp)
                    tmp[w++] = *s;
            }
            s += *s == '"';
        } else
            for (; *s && *s != ',' && *s != '}'; s++)
                if (w + 1 < sizeof tmp)
                    tmp[w++] = *s;
        tmp[w] = '\0';
        s += *s == ',';
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **v = realloc(*out, cap * sizeof *v);
            if (!v)
                return -1;
            *out = v;
        }
        if (!((*out)[*n] = strdup(tmp)))
            return -1;
        (*n)++;
    }
    return 0;
}

static vg_code load_open(db_conn *db, open_alert **out, size_t *n,
                         vg_error *err)
{
    PGresult *r = NULL;
    *out = NULL;
    *n = 0;
    vg_code rc = db_exec(db,
                         "SELECT alert_id, window_start - DATE '1970-01-01', "
                         "kind, coalesce(key_terms, '{}'), "
                         "coalesce(ticket_ids, '{}'), "
                         "coalesce(strong_terms, '{}') FROM vigil.trend_alerts "
                         "WHERE status = 'open' AND source = 'terms' "
                         "ORDER BY alert_id",
                         0, NULL, &r, err);
    if (rc != VG_OK)
        return rc;
    int rows = PQntuples(r);
    open_alert *a = calloc((size_t)rows + 1, sizeof *a);
    if (!a) {
        PQclear(r);
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    }
    *out = a;
    for (int i = 0; i < rows; i++) {
        a[i].id = atoll(PQgetvalue(r, i, 0));
        a[i].window_start = atoi(PQgetvalue(r, i, 1));
        snprintf(a[i].kind, sizeof a[i].kind, "%s", PQgetvalue(r, i, 2));
        *n = (size_t)i + 1;
        if (issues_split_array(PQgetvalue(r, i, 3), &a[i].keys, &a[i].nkeys) ||
            issues_split_array(PQgetvalue(r, i, 4), &a[i].tickets,
                               &a[i].ntickets) ||
            issues_split_array(PQgetvalue(r, i, 5), &a[i].strong,
                               &a[i].nstrong)) {
            PQclear(r);
            return vg_fail(err, VG_ENOMEM, "issues: out of memory");
        }
    }
    PQclear(r);
    return VG_OK;
}

/* The words of an open alert's tickets: in at least 40% of those read
 * today and in at most 5% of all tickets (its own vocabulary, "saml",
 * "sso", not the language's), plus its key words. *ids is malloc'ed. */
static int alert_words(const issue_day *d, const open_alert *a, uint32_t **ids,
                       size_t *n)
{
    size_t V = d->nsurface, found = 0;
    uint32_t *in = calloc(V + 1, sizeof *in), *df = calloc(V + 1, sizeof *df);
    *ids = malloc((V + KEY_TERMS + 1) * sizeof **ids);
    *n = 0;
    if (!in || !df || !*ids) {
        free(in);
        free(df);
        return -1;
    }
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; j < d->docs[i].nterms; j++)
            df[d->docs[i].terms[j]]++;
    for (size_t t = 0; t < a->ntickets; t++) {
        long k = d->ticket_ix ? strmap_get(d->ticket_ix, a->tickets[t]) : -1;
        if (k < 0)
            continue;
        const burst_doc *doc = &d->docs[d->doc_of[k]];
        found++;
        for (size_t j = 0; j < doc->nterms; j++)
            in[doc->terms[j]]++;
    }
    for (uint32_t t = 0; found && t < V; t++)
        if (10 * in[t] >= 4 * found && 20 * df[t] <= d->n &&
            strmap_key(d->terms_map, (long)t)[0] != '~')
            (*ids)[(*n)++] = t;
    for (size_t i = 0; i < a->nkeys; i++) {
        long id =
            a->keys[i][0] == '~' ? -1 : strmap_get(d->terms_map, a->keys[i]);
        int listed = id >= 0 && 10 * in[id] >= 4 * found && 20 * df[id] <= d->n;
        if (id >= 0 && !listed)
            (*ids)[(*n)++] = (uint32_t)id;
    }
    free(in);
    free(df);
    return 0;
}

/* Whether most of g's tickets use two of the open alert's words: the same
 * outage written another way in one language ("Okta devuelve ... SAML")
 * bursts in its own phrases days later, yet says what the alert says.
 * Out of memory it says no: the issue gets an alert of its own. */
static int written_alike(const issue_day *d, const burst_group *g,
                         const open_alert *a)
{
    uint32_t *ids = NULL;
    size_t n = 0;
    if (alert_words(d, a, &ids, &n))
        return 0;
    size_t alike = 0;
    for (size_t k = 0; n >= 2 && k < g->ndocs; k++) {
        const burst_doc *doc = &d->docs[g->docs[k]];
        int hits = 0;
        for (size_t i = 0; i < n && hits < 2; i++)
            for (size_t j = 0; j < doc->nterms; j++)
                if (doc->terms[j] == ids[i]) {
                    hits++;
                    break;
                }
        alike += hits >= 2;
    }
    free(ids);
    return g->ndocs && 2 * alike > g->ndocs;
}

/* Whether today's issue g is the open alert a: a third of the smaller
 * ticket list shared (windows overlap from day to day), two key terms
 * other than shared support words, or its tickets written alike. */
static int same_issue(const issue_day *d, const burst_group *g,
                      const open_alert *a)
{
    size_t shared = 0, keys = 0;
    for (size_t k = 0; k < g->ndocs; k++)
        for (size_t i = 0; i < a->ntickets; i++)
            if (strcmp(d->meta[g->docs[k]].ticket_id, a->tickets[i]) == 0) {
                shared++;
                break;
            }
    size_t lo = g->ndocs < a->ntickets ? g->ndocs : a->ntickets;
    if (lo && shared * 3 >= lo && shared >= 2)
        return 1;
    for (size_t j = 0; j < g->nterms && j < KEY_TERMS; j++) {
        const char *k = strmap_key(d->terms_map, (long)g->terms[j]);
        if (k[0] == '~')
            continue;
        for (size_t i = 0; i < a->nkeys; i++)
            keys += strcmp(k, a->keys[i]) == 0;
    }
    return keys >= 2 || written_alike(d, g, a);
}

vg_code issues_save_day(db_conn *db, long long alert, const char *day,
                        vg_error *err)
{
    const db_param p[2] = {DB_INT(alert), DB_TEXT(day)};
    return db_exec_params(
        db,
        "INSERT INTO vigil.trend_alert_days (alert_id, as_of, kind, status, "
        " window_start, window_end, observed, expected, p_value, customers, "
        " mrr_at_risk, sample_ticket_ids, label, key_terms, languages, "
        " topic_ids, ticket_ids, strong_terms, topic_id) "
        "SELECT alert_id, $2::date, kind, status, window_start, window_end, "
        " observed, expected, p_value, customers, mrr_at_risk, "
        " sample_ticket_ids, label, key_terms, languages, topic_ids, "
        " ticket_ids, strong_terms, topic_id FROM vigil.trend_alerts WHERE "
        " alert_id = $1 "
        "ON CONFLICT (alert_id, as_of) DO UPDATE SET kind = EXCLUDED.kind, "
        " status = EXCLUDED.status, window_start = EXCLUDED.window_start, "
        " window_end = EXCLUDED.window_end, observed = EXCLUDED.observed, "
        " expected = EXCLUDED.expected, p_value = EXCLUDED.p_value, "
        " customers = EXCLUDED.customers, mrr_at_risk = EXCLUDED.mrr_at_risk, "
        " sample_ticket_ids = EXCLUDED.sample_ticket_ids, "
        " label = EXCLUDED.label, key_terms = EXCLUDED.key_terms, "
        " languages = EXCLUDED.languages, topic_ids = EXCLUDED.topic_ids, "
        " ticket_ids = EXCLUDED.ticket_ids, "
        " strong_terms = EXCLUDED.strong_terms, topic_id = EXCLUDED.topic_id",
        2, p, NULL, err);
}

/* The issue of g's terms with the open alert's strong words added, those
 * counting as strong whatever their lift today (burst_eval): the tickets
 * of an alert's later days are picked by the words that made it, not by
 * its ordinary ones once its own tickets are the baseline. */
static vg_code anchored(const issue_day *d, const burst_opts *bo,
                        const burst_group *g, const open_alert *a,
                        burst_group *out, vg_error *err)
{
    size_t cap = g->nterms + a->nstrong + 1, n = g->nterms;
    uint32_t *ids = malloc(cap * sizeof *ids);
    int *flag = calloc(cap, sizeof *flag);
    vg_code rc = VG_OK;
    if (!ids || !flag) {
        rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
        goto cleanup;
    }
    memcpy(ids, g->terms, n * sizeof *ids);
    for (size_t i = 0; i < a->nstrong; i++) {
        long id = strmap_get(d->terms_map, a->strong[i]);
        if (id < 0)
            continue; /* not in today's tickets */
        size_t j = 0;
        while (j < n && ids[j] != (uint32_t)id)
            j++;
        if (j == n)
            ids[n++] = (uint32_t)id;
        flag[j] = 1;
    }
    rc = burst_eval(bo, d->docs, d->n, d->ndays, ids, flag, n, out, err);
    if (rc == VG_OK && g->dispersion > out->dispersion)
        out->dispersion = g->dispersion;
cleanup:
    free(ids);
    free(flag);
    return rc;
}

/* The alert's strong words: those of the open alert, then g's terms strong
 * today, most significant first, up to KEY_TERMS in all (a long-running
 * issue picks up rare words of a few of its tickets; they must not come to
 * define it). */
static int strong_array(const issue_day *d, const burst_group *g,
                        const open_alert *a, strbuf *out)
{
    int bad = strbuf_putc(out, '{');
    size_t k = a ? a->nstrong : 0;
    for (size_t i = 0; a && i < a->nstrong && !bad; i++)
        bad = array_add(out, a->strong[i]);
    for (size_t j = 0; j < g->nterms && k < KEY_TERMS && !bad; j++) {
        if (g->term_lift[j] < BURST_STRONG_LIFT)
            continue;
        const char *key = strmap_key(d->terms_map, (long)g->terms[j]);
        int dup = 0;
        for (size_t i = 0; a && i < a->nstrong && !dup; i++)
            dup = strcmp(a->strong[i], key) == 0;
        if (!dup) {
            bad = array_add(out, key);
            k++;
        }
    }
    return bad || strbuf_putc(out, '}');
}

/* The SQL that raises (update 0) or updates an issue's alert: $7 (all its
 * tickets) gives customers and MRR at risk; samples are $16. NULL when out
 * of memory. */
static char *upsert_sql(int update, const char *tickets, const char *customers)
{
    size_t cap = 3072 + 2 * strlen(tickets) + strlen(customers);
    char *sql = malloc(cap);
    if (!sql)
        return NULL;
    snprintf(sql, cap,
             "WITH cu AS (SELECT DISTINCT t.customer_id FROM %s t "
             " WHERE t.ticket_id = ANY($7::text[]) AND t.customer_id IS NOT "
             " NULL), "
             "fig AS (SELECT (SELECT count(*) FROM cu) AS n, "
             " (SELECT coalesce(sum(greatest(c.mrr, 0)), 0) FROM %s c "
             "  WHERE c.customer_id IN (SELECT customer_id FROM cu) "
             "  AND c.created_at < ($8 || ' 00:00:00+00')::timestamptz "
             "  AND (c.canceled_at IS NULL OR c.canceled_at >= "
             "  ($8 || ' 00:00:00+00')::timestamptz)) AS mrr) "
             "%s",
             tickets, customers,
             update
                 ? "UPDATE vigil.trend_alerts SET window_start = $2::date, "
                   " window_end = $3::date, observed = $4, expected = $5, "
                   " p_value = $6, ticket_ids = $7::text[], updated_on = "
                   " $8::date, kind = $9, label = $10, terms = $11::text[], "
                   " key_terms = $12::text[], languages = $13::text[], "
                   " topic_ids = $14::bigint[], details = $15::jsonb, "
                   " sample_ticket_ids = $16::text[], customers = fig.n, "
                   " mrr_at_risk = fig.mrr, strong_terms = $17::text[] "
                   "FROM fig WHERE alert_id = $1::bigint RETURNING alert_id"
                 : "INSERT INTO vigil.trend_alerts (source, topic_id, "
                   " detected_at, window_start, window_end, observed, "
                   " expected, p_value, ticket_ids, updated_on, status, kind, "
                   " label, terms, key_terms, languages, topic_ids, details, "
                   " sample_ticket_ids, customers, mrr_at_risk, strong_terms) "
                   "SELECT 'terms', NULL, ($8 || ' 00:00:00+00')::timestamptz, "
                   " $2::date, $3::date, $4, $5, $6, $7::text[], $8::date, "
                   " 'open', $9, $10, $11::text[], $12::text[], $13::text[], "
                   " $14::bigint[], $15::jsonb, $16::text[], fig.n, fig.mrr, "
                   " $17::text[] FROM fig WHERE $1::bigint = 0 "
                   "RETURNING alert_id");
    return sql;
}

/* An alert's window start and end, and the day it is written for. */
typedef struct alert_dates {
    char ws[DATE_BUF], we[DATE_BUF], day[DATE_BUF];
} alert_dates;

/* Writes the alert row of group g (raised when a is NULL, else a's row
 * updated) and its day's copy; *id is its alert id. */
static vg_code write_alert(db_conn *db, const burst_group *g,
                           const open_alert *a, const alert_arrays *arr,
                           const char *label, const alert_dates *dt,
                           const char *tickets, const char *customers,
                           long long *id, vg_error *err)
{
    char ex[32], pv[32], det[160];
    /* Rounded as stored before (6 places), not the exact double. */
    snprintf(ex, sizeof ex, "%.6f", g->expected);
    snprintf(pv, sizeof pv, "%.6g", g->p_value);
    snprintf(det, sizeof det,
             "{\"baseline_tickets\": %d, \"rate\": %.9g, \"terms_tested\": "
             "%zu}",
             g->baseline, g->rate, g->nterms);
    long long aid = a ? a->id : 0;
    const char *kind = a ? a->kind : g->is_new ? "new" : "spike";
    const db_param p[17] = {DB_INT(aid),
                            DB_TEXT(dt->ws),
                            DB_TEXT(dt->we),
                            DB_INT(g->observed),
                            DB_TEXT(ex),
                            DB_TEXT(pv),
                            DB_TEXT(strbuf_str(&arr->tickets)),
                            DB_TEXT(dt->day),
                            DB_TEXT(kind),
                            DB_TEXT(label),
                            DB_TEXT(strbuf_str(&arr->terms)),
                            DB_TEXT(strbuf_str(&arr->key)),
                            DB_TEXT(strbuf_str(&arr->langs)),
                            DB_TEXT(strbuf_str(&arr->topics)),
                            DB_TEXT(det),
                            DB_TEXT(strbuf_str(&arr->samples)),
                            DB_TEXT(strbuf_str(&arr->strong))};
    char *sql = upsert_sql(a != NULL, tickets, customers);
    if (!sql)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    PGresult *r = NULL;
    vg_code rc = db_exec_params(db, sql, 17, p, &r, err);
    free(sql);
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EINTERNAL, "issues: alert %lld vanished", aid);
    if (rc == VG_OK)
        *id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (rc == VG_OK)
        rc = issues_save_day(db, *id, dt->day, err);
    return rc;
}

/* What an open alert's update describes, and what that owns. */
typedef struct alert_window {
    burst_group anch; /* g with the alert's strong words (anchored) */
    burst_group span; /* ... over the whole window; borrows anch's or g's
                         terms, its docs are idx */
    size_t *idx, nidx;
} alert_window;

/* The group to describe: a new alert describes g as it burst; an open
 * alert's tickets are picked by the words that made it and counted over
 * its whole window, from day `from` of the days read. */
static vg_code window_group(const issue_day *d, const burst_opts *bo,
                            const burst_group *g, const open_alert *a, int from,
                            alert_window *w, const burst_group **out,
                            vg_error *err)
{
    vg_code rc;
    *out = g;
    if (a && a->nstrong) {
        if ((rc = anchored(d, bo, g, a, &w->anch, err)) != VG_OK)
            return rc;
        g = &w->anch;
    }
    double others = 0;
    rc = burst_members(g, d->docs, d->n, d->ndays, from, &w->idx, &w->nidx,
                       &others, err);
    if (rc != VG_OK)
        return rc;
    w->span = *g;
    w->span.docs = w->idx;
    w->span.ndocs = w->nidx;
    w->span.observed = (int)w->nidx;
    w->span.expected = g->rate * others;
    w->span.p_value =
        trend_tail(w->span.observed, w->span.expected, g->dispersion);
    if (a)
        *out = &w->span;
    return VG_OK;
}

/* Raises (a == NULL) or updates the alert of issue g as of day. Customers
 * and MRR at risk come from the issue's tickets, in SQL. */
static vg_code upsert(db_conn *db, const issue_day *d, const burst_group *g,
                      const open_alert *a, int as_of, const burst_opts *bo,
                      const char *tickets, const char *customers, long long *id,
                      vg_error *err)
{
    alert_dates dt;
    /* An update covers the alert's whole window, from its first detection
     * (as far back as the tickets read reach) to as_of - 1. */
    int first = as_of - d->ndays, ws_day = as_of - bo->window_days;
    if (a)
        ws_day = a->window_start > first ? a->window_start : first;
    date_format(ws_day, dt.ws);
    date_format(as_of - 1, dt.we);
    date_format(as_of, dt.day);
    alert_arrays arr = {0};
    alert_window w = {0};
    uint32_t *ranked = NULL;
    size_t nr = 0;
    char *label = NULL;
    vg_code rc = VG_OK;
    if (strong_array(d, g, a, &arr.strong)) {
        rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
        goto cleanup;
    }
    if ((rc = window_group(d, bo, g, a, ws_day - first, &w, &g, err)) != VG_OK)
        goto cleanup;
    if (ranked_terms(d, g, &ranked, &nr) ||
        !(label = make_label(d, g, ranked, nr)) ||
        build_arrays(d, g, ranked, nr, a ? (const char *const *)a->keys : NULL,
                     a ? a->nkeys : 0, &arr)) {
        rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
        goto cleanup;
    }
    rc = write_alert(db, g, a, &arr, label, &dt, tickets, customers, id, err);
cleanup:
    free(label);
    free(ranked);
    free(w.idx);
    burst_group_clear(&w.anch);
    arrays_free(&arr);
    return rc;
}

vg_code issues_resolve(db_conn *db, long long alert, int as_of, vg_error *err)
{
    char day[DATE_BUF];
    date_format(as_of, day);
    const db_param p[2] = {DB_INT(alert), DB_TEXT(day)};
    vg_code rc =
        db_exec_params(db,
                       "UPDATE vigil.trend_alerts SET status = 'resolved', "
                       "resolved_on = $2::date, updated_on = $2::date "
                       "WHERE alert_id = $1",
                       2, p, NULL, err);
    return rc == VG_OK ? issues_save_day(db, alert, day, err) : rc;
}

/* ---- the day's issues ------------------------------------------------------
 */

static int remember(issue_day *d, long long alert, burst_group *g)
{
    long long *a = realloc(d->alert, (d->nalerts + 1) * sizeof *a);
    if (!a)
        return -1;
    d->alert = a;
    burst_group *v = realloc(d->group, (d->nalerts + 1) * sizeof *v);
    if (!v)
        return -1;
    d->group = v;
    d->alert[d->nalerts] = alert;
    d->group[d->nalerts++] = *g;
    memset(g, 0, sizeof *g); /* now owned by d */
    return 0;
}

/* An open alert no issue of today matched: still elevated over its key
 * terms (a few tickets above a baseline that stays quiet), or resolved. */
static vg_code follow_up(db_conn *db, issue_day *d, const burst_opts *bo,
                         double resolve_ratio, open_alert *a, int as_of,
                         const char *tickets, const char *customers,
                         issue_counts *c, vg_error *err)
{
    uint32_t *ids = malloc((a->nkeys + 1) * sizeof *ids);
    if (!ids)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < a->nkeys; i++) {
        long id = strmap_get(d->terms_map, a->keys[i]);
        if (id >= 0)
            ids[n++] = (uint32_t)id;
    }
    burst_group g = {0}, keys = {0};
    keys.terms = ids;
    keys.nterms = n;
    vg_code rc = anchored(d, bo, &keys, a, &g, err);
    free(ids);
    if (rc != VG_OK)
        return rc;
    double lift = g.expected > 0 ? g.observed / g.expected : INFINITY;
    long long id = a->id;
    if (g.observed >= 2 && lift >= resolve_ratio) {
        rc = upsert(db, d, &g, a, as_of, bo, tickets, customers, &id, err);
        c->updated++;
        if (rc == VG_OK && remember(d, id, &g))
            rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
    } else {
        rc = issues_resolve(db, a->id, as_of, err);
        c->resolved++;
    }
    burst_group_clear(&g);
    return rc;
}

static void burst_options(const vg_config *cfg, burst_opts *bo)
{
    burst_opts_default(bo);
    bo->window_days = cfg->trend_window_days;
    bo->min_tickets = cfg->trend_min_count;
    bo->min_customers = cfg->trend_min_customers;
    bo->min_ratio = cfg->trend_min_ratio;
    bo->fdr = cfg->trend_fdr;
}

/* Whether most of g's tickets belong to issues already alerted today: a
 * word several issues share bursts with them and is none of its own. */
static int covered(const issue_day *d, const burst_group *g)
{
    size_t in = 0;
    for (size_t k = 0; k < g->ndocs; k++) {
        int found = 0;
        for (size_t a = 0; a < d->nalerts && !found; a++)
            for (size_t j = 0; j < d->group[a].ndocs && !found; j++)
                found = d->group[a].docs[j] == g->docs[k];
        in += found;
    }
    return g->ndocs && in * 2 >= g->ndocs;
}

/* Today's issues against the open alerts: the same issue updates its
 * alert, a new one raises one, a second issue matching an alert already
 * updated today is part of it. */
static vg_code match_issues(db_conn *db, const vg_log *lg, issue_day *d,
                            const burst_opts *bo, double max_p,
                            burst_group *groups, size_t ng, open_alert *open,
                            size_t nopen, int as_of, const char *tickets,
                            const char *customers, issue_counts *c,
                            vg_error *err)
{
    vg_code rc = VG_OK;
    for (size_t i = 0; rc == VG_OK && i < ng; i++) {
        open_alert *a = NULL;
        int seen = 0;
        for (size_t j = 0; j < nopen && !a && !seen; j++)
            if (same_issue(d, &groups[i], &open[j])) {
                seen = open[j].matched;
                a = seen ? NULL : &open[j];
            }
        /* A new alert needs trend.max_p; an open one is followed. */
        if (seen || covered(d, &groups[i]) || (!a && groups[i].p_value > max_p))
            continue;
        long long id = 0;
        rc = upsert(db, d, &groups[i], a, as_of, bo, tickets, customers, &id,
                    err);
        if (rc != VG_OK)
            break;
        if (a) {
            a->matched = 1;
            c->updated++;
        } else {
            c->raised++;
            log_info(lg,
                     "issue alert (%s): %d tickets from %d customers in %d "
                     "days, %.1f expected, p = %.2g",
                     groups[i].is_new ? "new" : "spike", groups[i].observed,
                     groups[i].customers, bo->window_days, groups[i].expected,
                     groups[i].p_value);
        }
        if (remember(d, id, &groups[i]))
            rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
    }
    return rc;
}

vg_code issues_alerts(db_conn *db, const vg_config *cfg, const vg_log *lg,
                      int as_of, const char *tickets, const char *customers,
                      issue_cache *cache, issue_day **day, issue_counts *counts,
                      vg_error *err)
{
    *day = NULL;
    memset(counts, 0, sizeof *counts);
    burst_opts bo;
    burst_options(cfg, &bo);
    issue_day *d = NULL;
    burst_group *groups = NULL;
    size_t ng = 0, nopen = 0;
    open_alert *open = NULL;
    vg_code rc =
        day_new(cfg->trend_baseline_days + cfg->trend_window_days, &d, err);
    if (rc != VG_OK)
        return rc;
    d->cache = cache;
    if (cache)
        cache->day++;
    if ((rc = read_tickets(db, d, as_of, tickets, customers, err)) == VG_OK &&
        cache)
        cache_evict(cache);
    if (rc != VG_OK ||
        (rc = burst_find(&bo, d->docs, d->n, d->ndays, &groups, &ng, err)) !=
            VG_OK ||
        (rc = load_open(db, &open, &nopen, err)) != VG_OK)
        goto cleanup;
    rc = match_issues(db, lg, d, &bo, cfg->trend_max_p, groups, ng, open, nopen,
                      as_of, tickets, customers, counts, err);
    for (size_t j = 0; rc == VG_OK && j < nopen; j++)
        if (!open[j].matched)
            rc = follow_up(db, d, &bo, cfg->trend_resolve_ratio, &open[j],
                           as_of, tickets, customers, counts, err);
cleanup:
    burst_groups_free(groups, ng);
    open_alerts_free(open, nopen);
    if (rc != VG_OK) {
        issue_day_free(d);
        return rc;
    }
    *day = d;
    return VG_OK;
}

long long issues_explain(const issue_day *d, long long topic_id, int *tickets)
{
    long long best = 0;
    *tickets = 0;
    for (size_t i = 0; d && i < d->nalerts; i++) {
        int n = 0;
        for (size_t k = 0; k < d->group[i].ndocs; k++)
            n += d->meta[d->group[i].docs[k]].topic_id == topic_id;
        if (n > *tickets) {
            *tickets = n;
            best = d->alert[i];
        }
    }
    return best;
}

/* Marks the tickets of an alert (ids) 1 and topic_id's tickets of day
 * from_day on, not among them, 2; counts each set's tickets per readable
 * form of a term (sid: its index; a product name stems differently in
 * each language but reads the same) and the rest of those days' tickets
 * (0). last: per form, the last ticket counted (each ticket counts once). */
static void shared_counts(const issue_day *d, char *const *ids, size_t nids,
                          long long topic_id, int from_day, const long *sid,
                          uint8_t *set, uint32_t *cnt, size_t *last, size_t *n)
{
    for (size_t k = 0; k < nids; k++) {
        long s = strmap_get(d->ticket_ix, ids[k]);
        if (s >= 0)
            set[d->doc_of[s]] = 1;
    }
    for (size_t k = 0; k < d->n; k++) {
        if (d->docs[k].day < from_day)
            continue;
        if (!set[k] && d->meta[k].topic_id == topic_id)
            set[k] = 2;
        n[set[k]]++;
        for (size_t j = 0; j < d->meta[k].n; j++) {
            size_t f = (size_t)sid[d->terms[d->meta[k].off + j]];
            if (last[f] == k + 1)
                continue;
            last[f] = k + 1;
            cnt[f * 3 + set[k]]++;
        }
    }
}

const char *issues_shared_term(const issue_day *d, char *const *ids,
                               size_t nids, long long topic_id, int from_day,
                               int *oom)
{
    *oom = 0;
    if (!d || !d->ticket_ix || d->n == 0)
        return NULL;
    uint8_t *set = calloc(d->n, 1);
    long *sid = malloc((d->nsurface + 1) * sizeof *sid);
    strmap *forms = strmap_new(d->nsurface + 16);
    uint32_t *cnt = calloc(d->nsurface * 3 + 1, sizeof *cnt);
    size_t *last = calloc(d->nsurface + 1, sizeof *last);
    size_t n[3] = {0, 0, 0};
    const char *best = NULL;
    double best_share = 0;
    int bad = !set || !sid || !forms || !cnt || !last;
    for (size_t t = 0; !bad && t < d->nsurface; t++)
        bad = (sid[t] = strmap_put(forms, d->surface[t], NULL)) < 0;
    if (bad) {
        *oom = 1;
        goto cleanup;
    }
    shared_counts(d, ids, nids, topic_id, from_day, sid, set, cnt, last, n);
    /* Too few tickets on either side say nothing of what they share. */
    if (n[1] < SHARED_MIN_TICKETS || n[2] < SHARED_MIN_TICKETS)
        goto cleanup;
    for (size_t f = 0; f < strmap_size(forms); f++) {
        double a = (double)cnt[f * 3 + 1] / (double)n[1];
        double b = (double)cnt[f * 3 + 2] / (double)n[2];
        double o = n[0] ? (double)cnt[f * 3] / (double)n[0] : 0;
        double lo = a < b ? a : b;
        /* Most tickets of both say it, few others do: what they are
         * about, not how support tickets are written. */
        if (lo >= SHARED_MIN_SHARE && o * SHARED_MIN_LIFT <= lo &&
            lo > best_share) {
            best_share = lo;
            best = strmap_key(forms, (long)f);
        }
    }
    /* The form's key belongs to the map freed below: return the term's
     * own copy. */
    for (size_t t = 0; best && t < d->nsurface; t++)
        if (strcmp(d->surface[t], best) == 0) {
            best = d->surface[t];
            break;
        }
cleanup:
    free(set);
    free(sid);
    strmap_free(forms);
    free(cnt);
    free(last);
    return best;
}
