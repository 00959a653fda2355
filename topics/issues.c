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

const char *issues_concept(const char *word)
{
    for (size_t i = 0; i < sizeof vocab / sizeof vocab[0]; i++) {
        const char *p = vocab[i].prefixes;
        while (*p) {
            size_t n = strcspn(p, " ");
            if (n && strncmp(word, p, n) == 0)
            return vocab[i].concept;
            p += n;
            p += *p == ' ';
        }
    }
    return NULL;
}

/* ---- the tickets ----------------------------------------------------------
 */

typedef struct doc_meta {
    char *ticket_id, *subject;
    long long topic_id; /* 0: none */
    char lang[4];
    size_t off, n; /* terms in issue_day.terms */
} doc_meta;

struct issue_day {
    int ndays;
    text_pipe *pipe;
    text_toklist *toks;
    strmap *terms_map, *customers;
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

void issue_day_free(issue_day *d)
{
    if (!d)
        return;
    text_pipe_free(d->pipe);
    text_toklist_free(d->toks);
    strmap_free(d->terms_map);
    strmap_free(d->customers);
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

/* The tokens of the current ticket as term ids (+ concepts), sorted and
 * distinct, appended to d->terms. Bigram surfaces are rebuilt from the two
 * unigrams before them ("csv export" rather than the stems). */
static int add_terms(issue_day *d, doc_meta *m)
{
    const text_toklist *t = d->toks;
    const char *prev = NULL, *cur = NULL;
    m->off = d->nterms;
    char both[256];
    for (size_t i = 0; i < text_toklist_size(t); i++) {
        const char *tok = text_toklist_get(t, i), *surf = NULL;
        int bigram = text_toklist_is_bigram(t, i);
        if (bigram) {
            if (prev && cur) {
                snprintf(both, sizeof both, "%s %s", prev, cur);
                surf = both;
            }
        } else {
            surf = text_toklist_surface(t, i);
            prev = cur;
            cur = surf;
        }
        /* Masks ("<num>"), filler of any language ("seit" in a German
         * ticket is not about the issue) and calendar words name no
         * issue. */
        if (strchr(tok, '<') || !surf || !text_label_worthy(surf) ||
            (!bigram && is_calendar(surf)) ||
            (bigram && (is_calendar(prev) || is_calendar(cur))))
            continue;
        if (!bigram) {
            const char *c = surf ? issues_concept(surf) : NULL;
            long cid = c ? term_id(d, c, c) : 0;
            if (cid < 0 || (c && push_term(d, (uint32_t)cid)))
                return -1;
        }
        long id = term_id(d, tok, surf);
        if (id < 0 || push_term(d, (uint32_t)id))
            return -1;
    }
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
    vg_code rc = text_tokens(d->pipe, f[3], f[4], f[5] && *f[5] ? f[5] : NULL,
                             d->toks, err);
    if (rc != VG_OK)
        return rc;
    snprintf(m->lang, sizeof m->lang, "%s", text_toklist_lang(d->toks));
    /* A ticket without a customer is its own customer. */
    long cust = strmap_put(d->customers, f[1] ? f[1] : f[0], NULL);
    if (cust < 0 || add_terms(d, m) != 0)
        return vg_fail(err, VG_ENOMEM, "issues: out of memory");
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
        if (!d->toks || !d->terms_map || !d->customers)
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
            !text_label_worthy(d->surface[t]))
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
    strbuf key, terms, langs, topics, tickets, samples;
} alert_arrays;

static void arrays_free(alert_arrays *a)
{
    strbuf_free(&a->key);
    strbuf_free(&a->terms);
    strbuf_free(&a->langs);
    strbuf_free(&a->topics);
    strbuf_free(&a->tickets);
    strbuf_free(&a->samples);
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
    int matched;
} open_alert;

static void open_alerts_free(open_alert *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        for (size_t j = 0; j < a[i].nkeys; j++)
            free(a[i].keys[j]);
        for (size_t j = 0; j < a[i].ntickets; j++)
            free(a[i].tickets[j]);
        free(a[i].keys);
        free(a[i].tickets);
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
                         "coalesce(ticket_ids, '{}') FROM vigil.trend_alerts "
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
                               &a[i].ntickets)) {
            PQclear(r);
            return vg_fail(err, VG_ENOMEM, "issues: out of memory");
        }
    }
    PQclear(r);
    return VG_OK;
}

/* Whether today's issue g is the open alert a: a third of the smaller
 * ticket list shared (windows overlap from day to day), or two key terms
 * other than shared support words. */
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
    return keys >= 2;
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
        " topic_ids, ticket_ids) "
        "SELECT alert_id, $2::date, kind, status, window_start, window_end, "
        " observed, expected, p_value, customers, mrr_at_risk, "
        " sample_ticket_ids, label, key_terms, languages, topic_ids, "
        " ticket_ids FROM vigil.trend_alerts WHERE alert_id = $1 "
        "ON CONFLICT (alert_id, as_of) DO UPDATE SET kind = EXCLUDED.kind, "
        " status = EXCLUDED.status, window_start = EXCLUDED.window_start, "
        " window_end = EXCLUDED.window_end, observed = EXCLUDED.observed, "
        " expected = EXCLUDED.expected, p_value = EXCLUDED.p_value, "
        " customers = EXCLUDED.customers, mrr_at_risk = EXCLUDED.mrr_at_risk, "
        " sample_ticket_ids = EXCLUDED.sample_ticket_ids, "
        " label = EXCLUDED.label, key_terms = EXCLUDED.key_terms, "
        " languages = EXCLUDED.languages, topic_ids = EXCLUDED.topic_ids, "
        " ticket_ids = EXCLUDED.ticket_ids",
        2, p, NULL, err);
}

/* Raises (a == NULL) or updates the alert of issue g as of day. Customers
 * and MRR at risk come from the issue's tickets, in SQL. */
static vg_code upsert(db_conn *db, const issue_day *d, const burst_group *g,
                      const open_alert *a, int as_of, int window_days,
                      const char *tickets, const char *customers, long long *id,
                      vg_error *err)
{
    char ws[DATE_BUF], we[DATE_BUF], day[DATE_BUF];
    /* An update covers the alert's whole window, from its first detection
     * (as far back as the tickets read reach) to as_of - 1. */
    int first = as_of - d->ndays, ws_day = as_of - window_days;
    if (a)
        ws_day = a->window_start > first ? a->window_start : first;
    date_format(ws_day, ws);
    date_format(as_of - 1, we);
    date_format(as_of, day);
    alert_arrays arr = {0};
    uint32_t *ranked = NULL;
    size_t nr = 0, *idx = NULL, nidx = 0;
    char *label = NULL;
    double others = 0;
    vg_code rc = burst_members(g, d->docs, d->n, d->ndays, ws_day - first, &idx,
                               &nidx, &others, err);
    if (rc != VG_OK)
        return rc;
    burst_group span = *g; /* borrows g's terms; only idx is ours */
    span.docs = idx;
    span.ndocs = nidx;
    span.observed = (int)nidx;
    span.expected = g->rate * others;
    span.p_value = trend_tail(span.observed, span.expected, g->dispersion);
    if (a)
        g = &span;
    if (ranked_terms(d, g, &ranked, &nr) ||
        !(label = make_label(d, g, ranked, nr)) ||
        build_arrays(d, g, ranked, nr, a ? (const char *const *)a->keys : NULL,
                     a ? a->nkeys : 0, &arr)) {
        rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
        goto cleanup;
    }
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
    const db_param p[16] = {DB_INT(aid),
                            DB_TEXT(ws),
                            DB_TEXT(we),
                            DB_INT(g->observed),
                            DB_TEXT(ex),
                            DB_TEXT(pv),
                            DB_TEXT(strbuf_str(&arr.tickets)),
                            DB_TEXT(day),
                            DB_TEXT(kind),
                            DB_TEXT(label),
                            DB_TEXT(strbuf_str(&arr.terms)),
                            DB_TEXT(strbuf_str(&arr.key)),
                            DB_TEXT(strbuf_str(&arr.langs)),
                            DB_TEXT(strbuf_str(&arr.topics)),
                            DB_TEXT(det),
                            DB_TEXT(strbuf_str(&arr.samples))};
    size_t cap = 3072 + 2 * strlen(tickets) + strlen(customers);
    char *sql = malloc(cap);
    if (!sql) {
        rc = vg_fail(err, VG_ENOMEM, "issues: out of memory");
        goto cleanup;
    }
    /* $7 (all tickets) gives customers and MRR; samples are $16. */
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
             a ? "UPDATE vigil.trend_alerts SET window_start = $2::date, "
                 " window_end = $3::date, observed = $4, expected = $5, "
                 " p_value = $6, ticket_ids = $7::text[], updated_on = "
                 " $8::date, kind = $9, label = $10, terms = $11::text[], "
                 " key_terms = $12::text[], languages = $13::text[], "
                 " topic_ids = $14::bigint[], details = $15::jsonb, "
                 " sample_ticket_ids = $16::text[], customers = fig.n, "
                 " mrr_at_risk = fig.mrr FROM fig WHERE alert_id = "
                 " $1::bigint RETURNING alert_id"
               : "INSERT INTO vigil.trend_alerts (source, topic_id, "
                 " detected_at, window_start, window_end, observed, "
                 " expected, p_value, ticket_ids, updated_on, status, kind, "
                 " label, terms, key_terms, languages, topic_ids, details, "
                 " sample_ticket_ids, customers, mrr_at_risk) "
                 "SELECT 'terms', NULL, ($8 || ' 00:00:00+00')::timestamptz, "
                 " $2::date, $3::date, $4, $5, $6, $7::text[], $8::date, "
                 " 'open', $9, $10, $11::text[], $12::text[], $13::text[], "
                 " $14::bigint[], $15::jsonb, $16::text[], fig.n, fig.mrr "
                 "FROM fig WHERE $1::bigint = 0 RETURNING alert_id");
    PGresult *r = NULL;
    rc = db_exec_params(db, sql, 16, p, &r, err);
    free(sql);
    if (rc == VG_OK && PQntuples(r) != 1)
        rc = vg_fail(err, VG_EINTERNAL, "issues: alert %lld vanished", aid);
    if (rc == VG_OK)
        *id = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (rc == VG_OK)
        rc = issues_save_day(db, *id, day, err);
cleanup:
    free(label);
    free(ranked);
    free(idx);
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
    burst_group g = {0};
    vg_code rc = burst_eval(bo, d->docs, d->n, d->ndays, ids, n, &g, err);
    free(ids);
    if (rc != VG_OK)
        return rc;
    double lift = g.expected > 0 ? g.observed / g.expected : INFINITY;
    long long id = a->id;
    if (g.observed >= 2 && lift >= resolve_ratio) {
        rc = upsert(db, d, &g, a, as_of, bo->window_days, tickets, customers,
                    &id, err);
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
                            const burst_opts *bo, burst_group *groups,
                            size_t ng, open_alert *open, size_t nopen,
                            int as_of, const char *tickets,
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
        if (seen || covered(d, &groups[i]))
            continue;
        long long id = 0;
        rc = upsert(db, d, &groups[i], a, as_of, bo->window_days, tickets,
                    customers, &id, err);
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
                      issue_day **day, issue_counts *counts, vg_error *err)
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
    if ((rc = read_tickets(db, d, as_of, tickets, customers, err)) != VG_OK ||
        (rc = burst_find(&bo, d->docs, d->n, d->ndays, &groups, &ng, err)) !=
            VG_OK ||
        (rc = load_open(db, &open, &nopen, err)) != VG_OK)
        goto cleanup;
    rc = match_issues(db, lg, d, &bo, groups, ng, open, nopen, as_of, tickets,
                      customers, counts, err);
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
