/* tfidf.c — term counting, vocabulary pruning and sublinear TF-IDF rows.
 * Everything is sparse: documents as (term id, count) runs, rows as CSR. */
#include "topics/tfidf.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

struct topic_corpus {
    strmap *terms;   /* every term seen -> id */
    uint32_t *df;    /* by term id */
    uint64_t *total; /* by term id */
    size_t tcap;
    strmap *surf;      /* "stem\x1fword" -> id */
    uint32_t *surfcnt; /* by surface id */
    size_t scap;
    size_t *rowptr; /* ndocs + 1 */
    size_t ndocs, rcap;
    uint32_t *ids, *cnt; /* entries */
    size_t nent, ecap;
    uint32_t *scratch; /* term ids of one document */
    size_t sccap;
};

struct topic_vocab {
    strmap *terms; /* index = column */
    char **surface;
    uint32_t *df;
    double *idf;
    unsigned char *bigram;
    size_t n, ndocs;
};

void topic_csr_free(topic_csr *m)
{
    if (!m)
        return;
    free(m->rowptr);
    free(m->col);
    free(m->val);
    memset(m, 0, sizeof *m);
}

void topic_vocab_opts_default(topic_vocab_opts *o)
{
    o->min_df = 2;
    o->min_df_ratio = 0.00005;
    o->max_df_ratio = 0.5;
    o->max_terms = 50000;
}

/* Grows *p (elements of size sz) to hold at least need; -1 on OOM. */
static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * sz);
    if (!q)
        return -1;
    *p = q;
    *cap = nc;
    return 0;
}

/* Id of a term in the corpus, adding it (with zeroed counts) when new;
 * -1 when memory runs out. */
static long corpus_term(topic_corpus *c, const char *term)
{
    int added = 0;
    long id = strmap_put(c->terms, term, &added);
    if (id < 0 || !added)
        return id;
    size_t cap = c->tcap;
    if (grow((void **)&c->df, &cap, (size_t)id + 1, sizeof *c->df))
        return -1;
    cap = c->tcap;
    if (grow((void **)&c->total, &cap, (size_t)id + 1, sizeof *c->total))
        return -1;
    c->tcap = cap;
    c->df[id] = 0;
    c->total[id] = 0;
    return id;
}

vg_code topic_corpus_new(topic_corpus **out, vg_error *err)
{
    *out = NULL;
    topic_corpus *c = calloc(1, sizeof *c);
    if (!c)
        goto oom;
    c->terms = strmap_new(1024);
    c->surf = strmap_new(1024);
    c->rowptr = calloc(1, sizeof *c->rowptr);
    c->rcap = 1;
    if (!c->terms || !c->surf || !c->rowptr)
        goto oom;
    *out = c;
    return VG_OK;
oom:
    topic_corpus_free(c);
    return vg_fail(err, VG_ENOMEM, "topics: out of memory");
}

void topic_corpus_free(topic_corpus *c)
{
    if (!c)
        return;
    strmap_free(c->terms);
    strmap_free(c->surf);
    free(c->df);
    free(c->total);
    free(c->surfcnt);
    free(c->rowptr);
    free(c->ids);
    free(c->cnt);
    free(c->scratch);
    free(c);
}

size_t topic_corpus_size(const topic_corpus *c)
{
    return c->ndocs;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Counts one surface form `s` of term `t` (the word as written, for the
 * labels). Surface counts are per unigram only, which keeps them small; a
 * pair too long for the key is not counted. Returns -1 out of memory. */
static int count_surface(topic_corpus *c, const char *t, const char *s)
{
    char key[256];
    size_t lt = strlen(t), ls = strlen(s);
    if (lt + ls + 2 > sizeof key)
        return 0;
    memcpy(key, t, lt);
    key[lt] = '\x1f';
    memcpy(key + lt + 1, s, ls + 1);
    int added = 0;
    long sid = strmap_put(c->surf, key, &added);
    if (sid < 0)
        return -1;
    if (added) {
        if (grow((void **)&c->surfcnt, &c->scap, (size_t)sid + 1,
                 sizeof *c->surfcnt))
            return -1;
        c->surfcnt[sid] = 0;
    }
    c->surfcnt[sid]++;
    return 0;
}

/* qsort's callback per comparison dominates on the short arrays of one
 * ticket: those are insertion-sorted inline. */
static void sort_u32(uint32_t *a, size_t n)
{
    if (n > 48) {
        qsort(a, n, sizeof *a, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > v; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

vg_code topic_corpus_add(topic_corpus *c, const text_toklist *toks,
                         vg_error *err)
{
    size_t n = text_toklist_size(toks);
    if (grow((void **)&c->scratch, &c->sccap, n + 1, sizeof *c->scratch))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        long id = corpus_term(c, text_toklist_get(toks, i));
        if (id < 0)
            goto oom;
        c->scratch[i] = (uint32_t)id;
        const char *s = text_toklist_surface(toks, i);
        if (s && count_surface(c, text_toklist_get(toks, i), s))
            goto oom;
    }
    sort_u32(c->scratch, n);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += i == 0 || c->scratch[i] != c->scratch[i - 1];
    size_t cap = c->ecap;
    if (grow((void **)&c->ids, &cap, c->nent + distinct, sizeof *c->ids))
        goto oom;
    cap = c->ecap;
    if (grow((void **)&c->cnt, &cap, c->nent + distinct, sizeof *c->cnt))
        goto oom;
    c->ecap = cap;
    if (grow((void **)&c->rowptr, &c->rcap, c->ndocs + 2, sizeof *c->rowptr))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = c->scratch[i];
        c->total[id]++;
        if (i == 0 || id != c->scratch[i - 1]) {
            c->df[id]++;
            c->ids[c->nent] = id;
            c->cnt[c->nent] = 1;
            c->nent++;
        } else {
            c->cnt[c->nent - 1]++;
        }
    }
    c->ndocs++;
    c->rowptr[c->ndocs] = c->nent;
    return VG_OK;
oom:
    return vg_fail(err, VG_ENOMEM, "topics: out of memory");
}

/* Appends every document of src to c, in order. */
static vg_code corpus_append(topic_corpus *c, const topic_corpus *src,
                             vg_error *err)
{
    size_t nt = strmap_size(src->terms), ns = strmap_size(src->surf);
    uint32_t *map = malloc((nt + 1) * sizeof *map);
    if (!map)
        goto oom;
    for (size_t t = 0; t < nt; t++) {
        long id = corpus_term(c, strmap_key(src->terms, (long)t));
        if (id < 0)
            goto oom;
        c->df[id] += src->df[t];
        c->total[id] += src->total[t];
        map[t] = (uint32_t)id;
    }
    for (size_t t = 0; t < ns; t++) {
        int added = 0;
        long sid = strmap_put(c->surf, strmap_key(src->surf, (long)t), &added);
        if (sid < 0)
            goto oom;
        if (added) {
            if (grow((void **)&c->surfcnt, &c->scap, (size_t)sid + 1,
                     sizeof *c->surfcnt))
                goto oom;
            c->surfcnt[sid] = 0;
        }
        c->surfcnt[sid] += src->surfcnt[t];
    }
    size_t cap = c->ecap;
    if (grow((void **)&c->ids, &cap, c->nent + src->nent, sizeof *c->ids))
        goto oom;
    cap = c->ecap;
    if (grow((void **)&c->cnt, &cap, c->nent + src->nent, sizeof *c->cnt))
        goto oom;
    c->ecap = cap;
    if (grow((void **)&c->rowptr, &c->rcap, c->ndocs + src->ndocs + 1,
             sizeof *c->rowptr))
        goto oom;
    for (size_t e = 0; e < src->nent; e++) {
        c->ids[c->nent + e] = map[src->ids[e]];
        c->cnt[c->nent + e] = src->cnt[e];
    }
    for (size_t d = 1; d <= src->ndocs; d++)
        c->rowptr[c->ndocs + d] = c->nent + src->rowptr[d];
    c->nent += src->nent;
    c->ndocs += src->ndocs;
    free(map);
    return VG_OK;
oom:
    free(map);
    return vg_fail(err, VG_ENOMEM, "topics: out of memory");
}

typedef struct add_job {
    text_pipe *pipe;
    const topic_doc *docs;
    size_t n;
    topic_corpus *out;
    vg_code rc;
    vg_error err;
} add_job;

static void *add_slice(void *arg)
{
    add_job *j = arg;
    text_toklist *t = text_toklist_new();
    if (!t) {
        j->rc = vg_fail(&j->err, VG_ENOMEM, "topics: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < j->n && j->rc == VG_OK; i++) {
        const topic_doc *d = &j->docs[i];
        j->rc = text_tokens(j->pipe, d->subject, d->body, d->lang, t, &j->err);
        if (j->rc == VG_OK)
            j->rc = topic_corpus_add(j->out, t, &j->err);
    }
    text_toklist_free(t);
    return NULL;
}

vg_code topic_corpus_add_docs(topic_corpus *c, text_pipe *const *pipes,
                              int npipes, const topic_doc *docs, size_t n,
                              vg_error *err)
{
    if (npipes < 1)
        npipes = 1;
    if ((size_t)npipes > n / 64 + 1) /* small batches: not worth a thread */
        npipes = (int)(n / 64 + 1);
    if (npipes == 1) {
        add_job j = {pipes[0], docs, n, c, VG_OK, {0}};
        add_slice(&j);
        if (j.rc != VG_OK)
            return vg_fail(err, j.rc, "%s", j.err.msg);
        return VG_OK;
    }
    add_job *jobs = calloc((size_t)npipes, sizeof *jobs);
    pthread_t *th = calloc((size_t)npipes, sizeof *th);
    char *started = calloc((size_t)npipes, 1);
    vg_code rc = VG_OK;
    if (!jobs || !th || !started) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
        goto cleanup;
    }
    for (int i = 0; i < npipes; i++) {
        size_t a = n * (size_t)i / (size_t)npipes,
               b = n * (size_t)(i + 1) / (size_t)npipes;
        jobs[i].pipe = pipes[i];
        jobs[i].docs = docs + a;
        jobs[i].n = b - a;
        jobs[i].rc = topic_corpus_new(&jobs[i].out, &jobs[i].err);
    }
    for (int i = 0; i < npipes; i++) {
        if (jobs[i].rc != VG_OK)
            continue;
        if (i > 0 && pthread_create(&th[i], NULL, add_slice, &jobs[i]) == 0)
            started[i] = 1;
    }
    /* Slice 0, and any slice whose thread did not start, run here. */
    for (int i = 0; i < npipes; i++)
        if (!started[i] && jobs[i].rc == VG_OK)
            add_slice(&jobs[i]);
    for (int i = 0; i < npipes; i++)
        if (started[i])
            pthread_join(th[i], NULL);
    for (int i = 0; i < npipes && rc == VG_OK; i++) {
        if (jobs[i].rc != VG_OK)
            rc = vg_fail(err, jobs[i].rc, "%s", jobs[i].err.msg);
        else
            rc = corpus_append(c, jobs[i].out, err);
    }
cleanup:
    if (jobs)
        for (int i = 0; i < npipes; i++)
            topic_corpus_free(jobs[i].out);
    free(jobs);
    free(th);
    free(started);
    return rc;
}

/* ---- vocabulary -------------------------------------------------------- */

typedef struct cand {
    const char *term;
    uint64_t total;
    uint32_t id;
} cand;

static int cmp_freq(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return strcmp(x->term, y->term);
}

static int cmp_term(const void *a, const void *b)
{
    return strcmp(((const cand *)a)->term, ((const cand *)b)->term);
}

void topic_vocab_free(topic_vocab *v)
{
    if (!v)
        return;
    if (v->surface)
        for (size_t i = 0; i < v->n; i++)
            free(v->surface[i]);
    free(v->surface);
    strmap_free(v->terms);
    free(v->df);
    free(v->idf);
    free(v->bigram);
    free(v);
}

/* Room for n terms in v; non-zero when out of memory. */
static int vocab_alloc(topic_vocab *v, size_t n)
{
    v->terms = strmap_new(n + 1);
    v->surface = calloc(n + 1, sizeof *v->surface);
    v->df = malloc((n + 1) * sizeof *v->df);
    v->idf = malloc((n + 1) * sizeof *v->idf);
    v->bigram = malloc(n + 1);
    return !v->terms || !v->surface || !v->df || !v->idf || !v->bigram;
}

/* Column i: the term (in sorted order), its document frequency, smoothed
 * idf over v->ndocs, and its readable form; non-zero when out of memory. */
static int vocab_add(topic_vocab *v, size_t i, const char *term, uint32_t df,
                     const char *surface)
{
    if (strmap_put(v->terms, term, NULL) < 0)
        return -1;
    v->n = i + 1;
    v->df[i] = df;
    v->idf[i] = log((1.0 + (double)v->ndocs) / (1.0 + (double)df)) + 1.0;
    v->bigram[i] = strchr(term, ' ') != NULL;
    v->surface[i] = strdup(surface);
    return v->surface[i] == NULL;
}

vg_code topic_vocab_restore(const char *const *terms,
                            const char *const *surface, const uint32_t *df,
                            size_t n, size_t ndocs, topic_vocab **out,
                            vg_error *err)
{
    *out = NULL;
    topic_vocab *v = calloc(1, sizeof *v);
    if (!v || vocab_alloc(v, n))
        goto oom;
    v->ndocs = ndocs;
    for (size_t i = 0; i < n; i++) {
        if (i && strcmp(terms[i - 1], terms[i]) >= 0) {
            topic_vocab_free(v);
            return vg_fail(err, VG_EDATA,
                           "topics: stored vocabulary is not sorted at term "
                           "%zu ('%s')",
                           i, terms[i]);
        }
        if (vocab_add(v, i, terms[i], df[i],
                      surface && surface[i] ? surface[i] : terms[i]))
            goto oom;
    }
    *out = v;
    return VG_OK;
oom:
    topic_vocab_free(v);
    return vg_fail(err, VG_ENOMEM, "topics: out of memory");
}

/* The terms kept, into cs, sorted by term: those in at least o->min_df
 * documents (raised to min_df_ratio of them) and at most max_df_ratio, the
 * o->max_terms most frequent of them. Returns how many. */
static size_t pick_terms(const topic_corpus *c, topic_vocab_opts *o, cand *cs)
{
    size_t nt = strmap_size(c->terms);
    double maxdf = o->max_df_ratio * (double)c->ndocs;
    if (o->min_df_ratio > 0) {
        double r = floor(o->min_df_ratio * (double)c->ndocs);
        if (r > (double)o->min_df)
            o->min_df = (size_t)r;
    }
    size_t nc = 0;
    for (size_t t = 0; t < nt; t++)
        if (c->df[t] >= o->min_df && (double)c->df[t] <= maxdf + 1e-9)
            cs[nc++] =
                (cand){strmap_key(c->terms, (long)t), c->total[t], (uint32_t)t};
    qsort(cs, nc, sizeof *cs, cmp_freq);
    if (o->max_terms && nc > o->max_terms)
        nc = o->max_terms;
    qsort(cs, nc, sizeof *cs, cmp_term);
    return nc;
}

/* Most frequent word per stem (best[term] a surface id, -1 for none); ties
 * by the word so it is order-free. */
static void best_surfaces(const topic_corpus *c, long *best)
{
    size_t nt = strmap_size(c->terms), nsurf = strmap_size(c->surf);
    for (size_t t = 0; t < nt; t++)
        best[t] = -1;
    for (size_t s = 0; s < nsurf; s++) {
        const char *key = strmap_key(c->surf, (long)s);
        const char *sep = strchr(key, '\x1f');
        char stem[256];
        size_t ls = (size_t)(sep - key);
        memcpy(stem, key, ls);
        stem[ls] = '\0';
        long t = strmap_get(c->terms, stem);
        if (t < 0)
            continue;
        long b = best[t];
        if (b < 0 || c->surfcnt[s] > c->surfcnt[b] ||
            (c->surfcnt[s] == c->surfcnt[b] &&
             strcmp(key, strmap_key(c->surf, b)) < 0))
            best[t] = (long)s;
    }
}

/* A term's readable form into buf (512 bytes): the best word of each of
 * its (one or two) stems, the stem itself where no word was seen. */
static void readable(const topic_corpus *c, const long *best, const char *term,
                     char buf[512])
{
    size_t w = 0;
    const char *part = term;
    for (int k = 0; k < 2 && part; k++) {
        const char *e = strchr(part, ' ');
        size_t lp = e ? (size_t)(e - part) : strlen(part);
        char stem[256];
        if (lp >= sizeof stem)
            lp = sizeof stem - 1;
        memcpy(stem, part, lp);
        stem[lp] = '\0';
        long t = strmap_get(c->terms, stem);
        const char *word = stem;
        size_t lw = lp;
        if (t >= 0 && best[t] >= 0) {
            word = strchr(strmap_key(c->surf, best[t]), '\x1f') + 1;
            lw = strlen(word);
        }
        if (w + lw + 2 < 512) {
            if (w)
                buf[w++] = ' ';
            memcpy(buf + w, word, lw);
            w += lw;
        }
        part = e ? e + 1 : NULL;
    }
    buf[w] = '\0';
}

vg_code topic_vocab_build(const topic_corpus *c, const topic_vocab_opts *opts,
                          topic_vocab **out, vg_error *err)
{
    vg_code rc = VG_OK;
    topic_vocab_opts o;
    if (opts)
        o = *opts;
    else
        topic_vocab_opts_default(&o);
    *out = NULL;
    size_t nt = strmap_size(c->terms);
    cand *cs = malloc((nt + 1) * sizeof *cs);
    long *best = malloc((nt + 1) * sizeof *best); /* best surface id per term */
    topic_vocab *v = calloc(1, sizeof *v);
    if (!cs || !best || !v)
        goto oom;
    size_t nc = pick_terms(c, &o, cs);
    best_surfaces(c, best);
    if (vocab_alloc(v, nc))
        goto oom;
    v->ndocs = c->ndocs;
    for (size_t i = 0; i < nc; i++) {
        char buf[512];
        readable(c, best, cs[i].term, buf);
        if (vocab_add(v, i, cs[i].term, c->df[cs[i].id], buf))
            goto oom;
    }
    *out = v;
    v = NULL;
    goto cleanup;
oom:
    rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
cleanup:
    topic_vocab_free(v);
    free(cs);
    free(best);
    return rc;
}

size_t topic_vocab_size(const topic_vocab *v)
{
    return v ? v->n : 0;
}

long topic_vocab_find(const topic_vocab *v, const char *term)
{
    return strmap_get(v->terms, term);
}

const char *topic_vocab_term(const topic_vocab *v, size_t col)
{
    return strmap_key(v->terms, (long)col);
}

const char *topic_vocab_surface(const topic_vocab *v, size_t col)
{
    return v->surface[col];
}

size_t topic_vocab_df(const topic_vocab *v, size_t col)
{
    return v->df[col];
}

double topic_vocab_idf(const topic_vocab *v, size_t col)
{
    return v->idf[col];
}

int topic_vocab_is_bigram(const topic_vocab *v, size_t col)
{
    return v->bigram[col];
}

/* ---- rows -------------------------------------------------------------- */

typedef struct ent {
    uint32_t col;
    uint32_t cnt;
} ent;

static int cmp_ent(const void *a, const void *b)
{
    uint32_t x = ((const ent *)a)->col, y = ((const ent *)b)->col;
    return (x > y) - (x < y);
}

/* Appends one row from (col, count) pairs with distinct cols. */
static int csr_push(topic_csr *m, size_t *cap, ent *e, size_t n,
                    const topic_vocab *v, int tfidf)
{
    size_t need = m->rowptr[m->nrows] + n;
    if (need > *cap) {
        size_t nc = *cap ? *cap : 1024;
        while (nc < need)
            nc *= 2;
        uint32_t *col = realloc(m->col, nc * sizeof *col);
        if (!col)
            return -1;
        m->col = col;
        float *val = realloc(m->val, nc * sizeof *val);
        if (!val)
            return -1;
        m->val = val;
        *cap = nc;
    }
    if (n > 48) {
        qsort(e, n, sizeof *e, cmp_ent);
    } else {
        for (size_t i = 1; i < n; i++) {
            ent x = e[i];
            size_t j = i;
            for (; j > 0 && e[j - 1].col > x.col; j--)
                e[j] = e[j - 1];
            e[j] = x;
        }
    }
    size_t base = m->rowptr[m->nrows];
    double norm = 0;
    for (size_t i = 0; i < n; i++) {
        double w = e[i].cnt;
        if (tfidf)
            w = (1.0 + log(w)) * v->idf[e[i].col];
        norm += w * w;
        m->col[base + i] = e[i].col;
        m->val[base + i] = (float)w;
    }
    if (tfidf && norm > 0) {
        double inv = 1.0 / sqrt(norm);
        for (size_t i = 0; i < n; i++)
            m->val[base + i] = (float)(m->val[base + i] * inv);
    }
    m->nrows++;
    m->rowptr[m->nrows] = base + n;
    return 0;
}

static vg_code corpus_rows(const topic_corpus *c, const topic_vocab *v,
                           int tfidf, topic_csr *out, vg_error *err)
{
    vg_code rc = VG_OK;
    size_t nt = strmap_size(c->terms), cap = 0;
    long *map = malloc((nt + 1) * sizeof *map);
    ent *e = NULL;
    size_t ecap = 0;
    memset(out, 0, sizeof *out);
    out->rowptr = calloc(c->ndocs + 1, sizeof *out->rowptr);
    if (!map || !out->rowptr)
        goto oom;
    out->ncols = v->n;
    for (size_t t = 0; t < nt; t++)
        map[t] = strmap_get(v->terms, strmap_key(c->terms, (long)t));
    for (size_t d = 0; d < c->ndocs; d++) {
        size_t a = c->rowptr[d], b = c->rowptr[d + 1], n = 0;
        if (grow((void **)&e, &ecap, b - a + 1, sizeof *e))
            goto oom;
        for (size_t k = a; k < b; k++)
            if (map[c->ids[k]] >= 0)
                e[n++] = (ent){(uint32_t)map[c->ids[k]], c->cnt[k]};
        if (csr_push(out, &cap, e, n, v, tfidf) != 0)
            goto oom;
    }
    goto cleanup;
oom:
    topic_csr_free(out);
    rc = vg_fail(err, VG_ENOMEM, "topics: out of memory");
cleanup:
    free(map);
    free(e);
    return rc;
}

vg_code topic_tfidf(const topic_corpus *c, const topic_vocab *v, topic_csr *out,
                    vg_error *err)
{
    return corpus_rows(c, v, 1, out, err);
}

vg_code topic_counts(const topic_corpus *c, const topic_vocab *v,
                     topic_csr *out, vg_error *err)
{
    return corpus_rows(c, v, 0, out, err);
}
