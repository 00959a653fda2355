/* burst.c — bursting terms grouped into issues; see burst.h for the rules
 * and why an issue does not wait for a cluster of its own. */
#include "topics/burst.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topics/trend.h"

#define MIN_SHARED 3
#define MAX_SHARE 0.5
/* An issue this many times above its baseline is new in all but name
 * (a new error message among a few old look-alikes). */
#define NEW_LIFT 10.0

void burst_opts_default(burst_opts *o)
{
    o->window_days = 3;
    o->min_tickets = 6;
    o->min_customers = 5;
    o->min_ratio = 1.5;
    o->fdr = 0.01;
    o->link = 0.5;
    o->new_only = 1;
}

void burst_group_clear(burst_group *g)
{
    free(g->terms);
    free(g->term_lift);
    free(g->docs);
    memset(g, 0, sizeof *g);
}

void burst_groups_free(burst_group *g, size_t n)
{
    for (size_t i = 0; g && i < n; i++)
        burst_group_clear(&g[i]);
    free(g);
}

/* Baseline tickets that still leave something new: max(2, 10% of the
 * window's). */
static double little_of(int observed)
{
    return observed * 0.1 > 2 ? observed * 0.1 : 2;
}

/* Day totals split into the baseline and the window. */
typedef struct volume {
    int nb;              /* first window day */
    double base, window; /* tickets */
} volume;

static volume volume_of(const burst_opts *o, const burst_doc *docs, size_t n,
                        int ndays)
{
    volume v = {ndays - o->window_days, 0, 0};
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < 0 || docs[i].day >= ndays)
            continue;
        if (docs[i].day >= v.nb)
            v.window++;
        else
            v.base++;
    }
    return v;
}

/* Expected window tickets of something seen b times in the baseline and o
 * times in the window, relative to every other ticket (as trend.h). */
static double expected_of(const volume *v, double b, double o, double *rate)
{
    double share = (b + 0.5) / (v->base - b + 1.0);
    if (rate)
        *rate = share;
    return share * (v->window - o);
}

static int has_term(const burst_doc *d, uint32_t t)
{
    size_t lo = 0, hi = d->nterms;
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (d->terms[m] < t)
            lo = m + 1;
        else
            hi = m;
    }
    return lo < d->nterms && d->terms[lo] == t;
}

/* A ticket is part of the issue when it has one of its strong terms (if
 * it has any: a ticket about the old, known problem that shares only its
 * ordinary words stays out), else two of its terms (or its only one). */
static int is_member(const burst_doc *d, const uint32_t *terms,
                     const double *lift, size_t nterms)
{
    int hits = 0, strong = 0;
    for (size_t j = 0; j < nterms; j++) {
        int s = lift[j] >= BURST_STRONG_LIFT;
        strong |= s;
        if (has_term(d, terms[j])) {
            if (s)
                return 1;
            hits++;
        }
    }
    return !strong && (hits >= 2 || (nterms == 1 && hits == 1));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int distinct_customers(const burst_doc *docs, const size_t *idx,
                              size_t n, uint32_t *scratch)
{
    for (size_t i = 0; i < n; i++)
        scratch[i] = docs[idx[i]].customer;
    qsort(scratch, n, sizeof *scratch, cmp_u32);
    int c = 0;
    for (size_t i = 0; i < n; i++)
        c += i == 0 || scratch[i] != scratch[i - 1];
    return c;
}

/* Tickets, baseline, customers and expectation of the issue made of terms
 * (lift given per term), by the membership rule. */
static vg_code group_stats(const burst_opts *o, const burst_doc *docs, size_t n,
                           int ndays, burst_group *g, double phi, vg_error *err)
{
    volume v = volume_of(o, docs, n, ndays);
    size_t cap = 16;
    g->docs = malloc(cap * sizeof *g->docs);
    if (!g->docs)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    g->ndocs = 0;
    g->baseline = 0;
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < 0 || docs[i].day >= ndays ||
            !is_member(&docs[i], g->terms, g->term_lift, g->nterms))
            continue;
        if (docs[i].day < v.nb) {
            g->baseline++;
            continue;
        }
        if (g->ndocs == cap) {
            cap *= 2;
            size_t *d = realloc(g->docs, cap * sizeof *d);
            if (!d)
                return vg_fail(err, VG_ENOMEM, "burst: out of memory");
            g->docs = d;
        }
        g->docs[g->ndocs++] = i;
    }
    uint32_t *scratch = malloc((g->ndocs + 1) * sizeof *scratch);
    if (!scratch)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    g->customers = distinct_customers(docs, g->docs, g->ndocs, scratch);
    free(scratch);
    g->observed = (int)g->ndocs;
    g->expected = expected_of(&v, g->baseline, g->observed, &g->rate);
    g->p_value = trend_tail(g->observed, g->expected, phi);
    g->dispersion = phi;
    g->is_new = g->baseline <= little_of(g->observed);
    return VG_OK;
}

vg_code burst_members(const burst_group *g, const burst_doc *docs, size_t n,
                      int ndays, int from, size_t **idx, size_t *nidx,
                      double *others, vg_error *err)
{
    *idx = malloc((n + 1) * sizeof **idx);
    *nidx = 0;
    *others = 0;
    if (!*idx)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < from || docs[i].day >= ndays)
            continue;
        if (is_member(&docs[i], g->terms, g->term_lift, g->nterms))
            (*idx)[(*nidx)++] = i;
        else
            *others += 1;
    }
    return VG_OK;
}

vg_code burst_eval(const burst_opts *o, const burst_doc *docs, size_t n,
                   int ndays, const uint32_t *terms, const int *anchored,
                   size_t nterms, burst_group *out, vg_error *err)
{
    memset(out, 0, sizeof *out);
    volume v = volume_of(o, docs, n, ndays);
    out->terms = malloc((nterms + 1) * sizeof *out->terms);
    out->term_lift = calloc(nterms + 1, sizeof *out->term_lift);
    if (!out->terms || !out->term_lift) {
        burst_group_clear(out);
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    }
    memcpy(out->terms, terms, nterms * sizeof *terms);
    out->nterms = nterms;
    for (size_t j = 0; j < nterms; j++) {
        double b = 0, w = 0;
        for (size_t i = 0; i < n; i++)
            if (docs[i].day >= 0 && docs[i].day < ndays &&
                has_term(&docs[i], terms[j]))
                *(docs[i].day >= v.nb ? &w : &b) += 1;
        double e = expected_of(&v, b, w, NULL);
        out->term_lift[j] = e > 0 ? w / e : 0;
        if (anchored && anchored[j] && out->term_lift[j] < BURST_STRONG_LIFT)
            out->term_lift[j] = BURST_STRONG_LIFT;
    }
    vg_code rc = group_stats(o, docs, n, ndays, out, 1.0, err);
    if (rc != VG_OK)
        burst_group_clear(out);
    return rc;
}

/* ---- burst_find ---------------------------------------------------------- */

typedef struct term_scan {
    uint32_t nvocab;
    uint32_t *win; /* window tickets per term */
    int32_t *cand; /* candidate index per term, -1 = none */
    uint32_t *cand_term;
    size_t ncand;
    int *counts; /* ncand x ndays */
    int *totals; /* ndays */
    int ndays;
    int old_end; /* days before this are "before the issue": the baseline
                    less its last window_days (an issue's first, slow
                    tickets) */
    trend_result *res;
} term_scan;

static void term_scan_free(term_scan *s)
{
    free(s->win);
    free(s->cand);
    free(s->cand_term);
    free(s->counts);
    free(s->totals);
    free(s->res);
}

/* Step 1: daily ticket counts of every term seen in min_tickets window
 * tickets, tested as trend.h tests topics. */
static vg_code test_terms(const burst_opts *o, const burst_doc *docs, size_t n,
                          int ndays, term_scan *s, vg_error *err)
{
    int nb = ndays - o->window_days;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < docs[i].nterms; j++)
            if (docs[i].terms[j] + 1 > s->nvocab)
                s->nvocab = docs[i].terms[j] + 1;
    s->win = calloc((size_t)s->nvocab + 1, sizeof *s->win);
    s->cand = malloc(((size_t)s->nvocab + 1) * sizeof *s->cand);
    s->totals = calloc((size_t)ndays + 1, sizeof *s->totals);
    s->ndays = ndays;
    s->old_end = nb - o->window_days > 0 ? nb - o->window_days : 0;
    if (!s->win || !s->cand || !s->totals)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < 0 || docs[i].day >= ndays)
            continue;
        s->totals[docs[i].day]++;
        if (docs[i].day >= nb)
            for (size_t j = 0; j < docs[i].nterms; j++)
                s->win[docs[i].terms[j]]++;
    }
    /* Words in most tickets ("problem", a greeting the tool adds) say
     * nothing about an issue, and their rate against all OTHER tickets is
     * unstable: they are left out, as clustering's vocabulary does. */
    double nwin = 0;
    for (int d = nb; d < ndays; d++)
        nwin += s->totals[d];
    for (uint32_t t = 0; t < s->nvocab; t++) {
        s->cand[t] = -1;
        if (s->win[t] >= (uint32_t)o->min_tickets &&
            s->win[t] <= MAX_SHARE * nwin)
            s->cand[t] = (int32_t)s->ncand++;
    }
    s->cand_term = malloc((s->ncand + 1) * sizeof *s->cand_term);
    s->counts = calloc(s->ncand * (size_t)ndays + 1, sizeof *s->counts);
    s->res = calloc(s->ncand + 1, sizeof *s->res);
    if (!s->cand_term || !s->counts || !s->res)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    for (uint32_t t = 0; t < s->nvocab; t++)
        if (s->cand[t] >= 0)
            s->cand_term[s->cand[t]] = t;
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < 0 || docs[i].day >= ndays)
            continue;
        for (size_t j = 0; j < docs[i].nterms; j++) {
            int32_t c = s->cand[docs[i].terms[j]];
            if (c >= 0)
                s->counts[(size_t)c * (size_t)ndays + (size_t)docs[i].day]++;
        }
    }
    trend_opts to;
    trend_opts_default(&to);
    to.window_days = o->window_days;
    to.baseline_days = nb;
    to.min_count = o->min_tickets;
    to.min_ratio = o->min_ratio;
    to.fdr = o->fdr;
    return trend_test(&to, s->counts, s->totals, s->ncand, (size_t)ndays, NULL,
                      s->res, err);
}

/* Window tickets of each significant term, ascending (CSR by term). */
typedef struct sig_terms {
    size_t n;
    size_t *cand;   /* candidate index of each */
    size_t *rowptr; /* n + 1 */
    size_t *docs;
} sig_terms;

static void sig_terms_free(sig_terms *g)
{
    free(g->cand);
    free(g->rowptr);
    free(g->docs);
}

static vg_code collect_sig(const burst_opts *o, const burst_doc *docs, size_t n,
                           int ndays, const term_scan *s, sig_terms *g,
                           vg_error *err)
{
    int nb = ndays - o->window_days;
    int32_t *pos = malloc((s->ncand + 1) * sizeof *pos);
    g->cand = malloc((s->ncand + 1) * sizeof *g->cand);
    g->rowptr = calloc(s->ncand + 2, sizeof *g->rowptr);
    if (!pos || !g->cand || !g->rowptr) {
        free(pos);
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    }
    for (size_t c = 0; c < s->ncand; c++) {
        pos[c] = -1;
        if (s->res[c].significant) {
            pos[c] = (int32_t)g->n;
            g->cand[g->n++] = c;
        }
    }
    for (size_t k = 0; k < g->n; k++)
        g->rowptr[k + 1] = g->rowptr[k] + s->win[s->cand_term[g->cand[k]]];
    g->docs = malloc((g->rowptr[g->n] + 1) * sizeof *g->docs);
    size_t *fill = calloc(g->n + 1, sizeof *fill);
    if (!g->docs || !fill) {
        free(pos);
        free(fill);
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        if (docs[i].day < nb || docs[i].day >= ndays)
            continue;
        for (size_t j = 0; j < docs[i].nterms; j++) {
            int32_t c = s->cand[docs[i].terms[j]];
            if (c >= 0 && pos[c] >= 0) {
                size_t k = (size_t)pos[c];
                g->docs[g->rowptr[k] + fill[k]++] = i;
            }
        }
    }
    free(pos);
    free(fill);
    return VG_OK;
}

static size_t uf_find(size_t *p, size_t x)
{
    while (p[x] != x)
        x = p[x] = p[p[x]];
    return x;
}

static size_t shared(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    size_t i = 0, j = 0, k = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            k++;
            i++;
            j++;
        }
    }
    return k;
}

/* Step 2: terms of enough customers, linked by shared tickets. */
static vg_code link_terms(const burst_opts *o, const burst_doc *docs,
                          const sig_terms *g, size_t *parent, int *ok,
                          vg_error *err)
{
    size_t maxd = 0;
    for (size_t k = 0; k < g->n; k++) {
        size_t d = g->rowptr[k + 1] - g->rowptr[k];
        maxd = d > maxd ? d : maxd;
    }
    uint32_t *scratch = malloc((maxd + 1) * sizeof *scratch);
    if (!scratch)
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    for (size_t k = 0; k < g->n; k++) {
        parent[k] = k;
        size_t d = g->rowptr[k + 1] - g->rowptr[k];
        ok[k] = distinct_customers(docs, g->docs + g->rowptr[k], d, scratch) >=
                o->min_customers;
    }
    free(scratch);
    for (size_t a = 0; a < g->n; a++) {
        if (!ok[a])
            continue;
        size_t na = g->rowptr[a + 1] - g->rowptr[a];
        for (size_t b = a + 1; b < g->n; b++) {
            if (!ok[b])
                continue;
            size_t nb = g->rowptr[b + 1] - g->rowptr[b];
            size_t s =
                shared(g->docs + g->rowptr[a], na, g->docs + g->rowptr[b], nb);
            /* Most of the rarer term's tickets shared: the issue's own
             * words join the wider word of its kind ("saml") that links
             * its phrasings and languages. (A new word two unrelated
             * issues share joins them too: see README, limits.) */
            size_t lo = na < nb ? na : nb;
            if (s >= MIN_SHARED && (double)s >= o->link * (double)lo) {
                size_t x = uf_find(parent, a), y = uf_find(parent, b);
                if (x != y)
                    parent[x > y ? x : y] = x < y ? x : y;
            }
        }
    }
    return VG_OK;
}

typedef struct rank_term {
    double p;
    uint32_t term;
    double lift;
} rank_term;

static int cmp_rank(const void *a, const void *b)
{
    const rank_term *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->term < y->term ? -1 : x->term > y->term;
}

static int cmp_group(const void *a, const void *b)
{
    const burst_group *x = a, *y = b;
    if (x->p_value != y->p_value)
        return x->p_value < y->p_value ? -1 : 1;
    return x->terms[0] < y->terms[0] ? -1 : x->terms[0] > y->terms[0];
}

/* A tested term with (almost) no tickets before the issue: none to speak
 * of in the baseline but its last window_days, where a new issue's first
 * slow tickets may be (a step of two tickets a day is detectable only
 * once it has been going for a few days). */
static int is_core(const term_scan *s, uint32_t t)
{
    if (t >= s->nvocab || s->cand[t] < 0)
        return 0;
    const int *c = s->counts + (size_t)s->cand[t] * (size_t)s->ndays;
    int old = 0;
    for (int d = 0; d < s->old_end; d++)
        old += c[d];
    return old <= little_of(s->res[s->cand[t]].observed);
}

/* An issue's words that were (almost) never used before its window say
 * what is new about it; a word it merely uses far more often than before
 * ("registros", a product's own module) also has tickets in the baseline.
 * When the never-seen words hold at least half of the window
 * tickets, they alone are its strong words: the tickets are theirs,
 * and its baseline is theirs too (a new issue is not a spike of the
 * look-alikes a common word drags in). Else g stays as it is. */
static vg_code prefer_core(const burst_opts *o, const burst_doc *docs, size_t n,
                           int ndays, const term_scan *s, burst_group *g,
                           double phi, vg_error *err)
{
    int ncore = 0;
    for (size_t j = 0; j < g->nterms; j++)
        ncore += is_core(s, g->terms[j]);
    if (ncore == 0)
        return VG_OK;
    burst_group c = {0};
    c.terms = malloc((g->nterms + 1) * sizeof *c.terms);
    c.term_lift = malloc((g->nterms + 1) * sizeof *c.term_lift);
    if (!c.terms || !c.term_lift) {
        burst_group_clear(&c);
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    }
    c.nterms = g->nterms;
    int strong = 0;
    for (size_t j = 0; j < g->nterms; j++) {
        c.terms[j] = g->terms[j];
        c.term_lift[j] = g->term_lift[j];
        if (!is_core(s, c.terms[j]) && c.term_lift[j] >= BURST_STRONG_LIFT)
            c.term_lift[j] = BURST_STRONG_LIFT / 2; /* a plain word now */
        strong |= c.term_lift[j] >= BURST_STRONG_LIFT;
    }
    vg_code rc = strong ? group_stats(o, docs, n, ndays, &c, phi, err) : VG_OK;
    if (rc == VG_OK && strong && c.observed >= o->min_tickets &&
        2 * c.observed >= g->observed) {
        /* New when a never-seen word is in most of its tickets, though a
         * few of its other rare words ("minuscule") were used before. */
        for (size_t j = 0; j < c.nterms && !c.is_new; j++) {
            if (!is_core(s, c.terms[j]))
                continue;
            size_t in = 0;
            for (size_t k = 0; k < c.ndocs; k++)
                in += has_term(&docs[c.docs[k]], c.terms[j]);
            c.is_new = 2 * in >= c.ndocs;
        }
        burst_group_clear(g);
        *g = c;
        return VG_OK;
    }
    burst_group_clear(&c);
    return rc;
}

/* Step 3: one candidate issue per connected set, kept when it holds. */
static vg_code build_group(const burst_opts *o, const burst_doc *docs, size_t n,
                           int ndays, const term_scan *s, const sig_terms *g,
                           const size_t *members, size_t nm, burst_group *out,
                           vg_error *err)
{
    memset(out, 0, sizeof *out);
    rank_term *rt = malloc((nm + 1) * sizeof *rt);
    out->terms = malloc((nm + 1) * sizeof *out->terms);
    out->term_lift = malloc((nm + 1) * sizeof *out->term_lift);
    if (!rt || !out->terms || !out->term_lift) {
        free(rt);
        return vg_fail(err, VG_ENOMEM, "burst: out of memory");
    }
    double phi = 1.0;
    for (size_t j = 0; j < nm; j++) {
        const trend_result *r = &s->res[g->cand[members[j]]];
        rt[j] =
            (rank_term){r->p_value, s->cand_term[g->cand[members[j]]],
                        r->expected > 0 ? r->observed / r->expected : INFINITY};
        if (j == 0 || r->dispersion < phi)
            phi = r->dispersion;
    }
    qsort(rt, nm, sizeof *rt, cmp_rank);
    for (size_t j = 0; j < nm; j++) {
        out->terms[j] = rt[j].term;
        out->term_lift[j] = rt[j].lift;
    }
    out->nterms = nm;
    free(rt);
    vg_code rc = group_stats(o, docs, n, ndays, out, phi, err);
    return rc == VG_OK ? prefer_core(o, docs, n, ndays, s, out, phi, err) : rc;
}

static int group_holds(const burst_opts *o, const burst_group *g, size_t ncomp,
                       const volume *v)
{
    if (g->observed > MAX_SHARE * v->window)
        return 0; /* half of all tickets is not one issue */
    double lift = g->expected > 0 ? g->observed / g->expected : INFINITY;
    return g->observed >= o->min_tickets && g->customers >= o->min_customers &&
           lift >= o->min_ratio && g->p_value * (double)ncomp <= o->fdr &&
           (g->is_new || lift >= NEW_LIFT || !o->new_only);
}

/* A word two issues share ("error" in an English and a Spanish one) bursts
 * with both and forms a group of its own made of their tickets: a group
 * sharing tickets with two others that cover half of it is no issue of
 * its own. (Member lists are ascending.) */
static size_t drop_hubs(burst_group *g, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t covered = 0, first = SIZE_MAX;
        int apart = 0; /* two of them that share nothing themselves */
        for (size_t j = 0; j < n; j++) {
            if (j == i)
                continue;
            size_t s = shared(g[i].docs, g[i].ndocs, g[j].docs, g[j].ndocs);
            if (s < MIN_SHARED)
                continue;
            covered += s;
            if (first == SIZE_MAX)
                first = j;
            else if (shared(g[first].docs, g[first].ndocs, g[j].docs,
                            g[j].ndocs) < MIN_SHARED)
                apart = 1;
        }
        if (apart && covered * 2 >= g[i].ndocs) {
            burst_group_clear(&g[i]);
            continue;
        }
        if (w != i) {
            g[w] = g[i];
            memset(&g[i], 0, sizeof g[i]);
        }
        w++;
    }
    return w;
}

/* Groups of one issue whose words vary from ticket to ticket (each ticket
 * uses a few of them) link weakly word by word, yet share their tickets: a
 * third of the smaller group's tickets shared makes them one issue. */
static vg_code merge_overlapping(const burst_opts *o, const burst_doc *docs,
                                 size_t n, int ndays, const term_scan *ts,
                                 burst_group *g, size_t *ng, const volume *vol,
                                 size_t ncomp, vg_error *err)
{
    for (size_t i = 0; i < *ng; i++)
        for (size_t j = i + 1; j < *ng; j++) {
            size_t s = shared(g[i].docs, g[i].ndocs, g[j].docs, g[j].ndocs);
            size_t lo = g[i].ndocs < g[j].ndocs ? g[i].ndocs : g[j].ndocs;
            if (s < MIN_SHARED || s * 3 < lo)
                continue;
            size_t nt = g[i].nterms + g[j].nterms;
            uint32_t *t = realloc(g[i].terms, (nt + 1) * sizeof *t);
            if (!t)
                return vg_fail(err, VG_ENOMEM, "burst: out of memory");
            g[i].terms = t;
            double *l = realloc(g[i].term_lift, (nt + 1) * sizeof *l);
            if (!l)
                return vg_fail(err, VG_ENOMEM, "burst: out of memory");
            g[i].term_lift = l;
            memcpy(t + g[i].nterms, g[j].terms, g[j].nterms * sizeof *t);
            memcpy(l + g[i].nterms, g[j].term_lift, g[j].nterms * sizeof *l);
            g[i].nterms = nt;
            double phi = g[i].dispersion < g[j].dispersion ? g[i].dispersion
                                                           : g[j].dispersion;
            free(g[i].docs);
            g[i].docs = NULL;
            burst_group_clear(&g[j]);
            g[j] = g[*ng - 1];
            memset(&g[*ng - 1], 0, sizeof g[*ng - 1]);
            (*ng)--;
            vg_code rc = group_stats(o, docs, n, ndays, &g[i], phi, err);
            if (rc == VG_OK)
                rc = prefer_core(o, docs, n, ndays, ts, &g[i], phi, err);
            if (rc != VG_OK)
                return rc;
            if (!group_holds(o, &g[i], ncomp, vol)) {
                burst_group_clear(&g[i]);
                g[i] = g[*ng - 1];
                memset(&g[*ng - 1], 0, sizeof g[*ng - 1]);
                (*ng)--;
            }
            i = SIZE_MAX; /* start over: the merged group may link more */
            break;
        }
    return VG_OK;
}

vg_code burst_find(const burst_opts *o, const burst_doc *docs, size_t n,
                   int ndays, burst_group **groups, size_t *ngroups,
                   vg_error *err)
{
    *groups = NULL;
    *ngroups = 0;
    if (o->window_days <= 0 || ndays <= o->window_days)
        return vg_fail(err, VG_EINTERNAL,
                       "burst: %d days cannot hold a %d-day window and a "
                       "baseline",
                       ndays, o->window_days);
    term_scan s = {0};
    sig_terms g = {0};
    size_t *parent = NULL, *members = NULL;
    int *ok = NULL;
    burst_group *out = NULL;
    size_t nout = 0;
    vg_code rc = test_terms(o, docs, n, ndays, &s, err);
    if (rc == VG_OK)
        rc = collect_sig(o, docs, n, ndays, &s, &g, err);
    if (rc != VG_OK)
        goto cleanup;
    parent = malloc((g.n + 1) * sizeof *parent);
    members = malloc((g.n + 1) * sizeof *members);
    ok = malloc((g.n + 1) * sizeof *ok);
    out = calloc(g.n + 1, sizeof *out);
    if (!parent || !members || !ok || !out) {
        rc = vg_fail(err, VG_ENOMEM, "burst: out of memory");
        goto cleanup;
    }
    if ((rc = link_terms(o, docs, &g, parent, ok, err)) != VG_OK)
        goto cleanup;
    volume vol = volume_of(o, docs, n, ndays);
    size_t ncomp = 0;
    for (size_t k = 0; k < g.n; k++)
        ncomp += ok[k] && uf_find(parent, k) == k;
    for (size_t root = 0; rc == VG_OK && root < g.n; root++) {
        if (!ok[root] || uf_find(parent, root) != root)
            continue;
        size_t nm = 0;
        for (size_t k = 0; k < g.n; k++)
            if (ok[k] && uf_find(parent, k) == root)
                members[nm++] = k;
        rc = build_group(o, docs, n, ndays, &s, &g, members, nm, &out[nout],
                         err);
        if (rc == VG_OK && group_holds(o, &out[nout], ncomp, &vol))
            nout++;
        else
            burst_group_clear(&out[nout]);
    }
    if (rc != VG_OK)
        goto cleanup;
    nout = drop_hubs(out, nout);
    if ((rc = merge_overlapping(o, docs, n, ndays, &s, out, &nout, &vol, ncomp,
                                err)) != VG_OK)
        goto cleanup;
    if (nout > 1)
        qsort(out, nout, sizeof *out, cmp_group);
    *groups = out;
    *ngroups = nout;
    out = NULL;
    nout = 0;
cleanup:
    burst_groups_free(out, nout);
    term_scan_free(&s);
    sig_terms_free(&g);
    free(parent);
    free(members);
    free(ok);
    return rc;
}
