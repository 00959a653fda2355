/* trend.c — expected counts, negative binomial tails and Benjamini-Hochberg
 * for trend alerts; see trend.h for the model and why it is shaped this way. */
#include "topics/trend.h"

#include <gsl/gsl_cdf.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define PRIOR_DF 10.0

void trend_opts_default(trend_opts *o)
{
    o->window_days = 3;
    o->baseline_days = 28;
    o->min_count = 6;
    o->min_ratio = 1.5;
    o->fdr = 0.01;
    o->resolve_ratio = 1.2;
    o->new_days = 14;
}

const char *trend_kind_name(trend_kind k)
{
    switch (k) {
    case TREND_NEW:
        return "new";
    case TREND_EMERGING:
        return "emerging";
    case TREND_SPIKE:
        return "spike";
    default:
        return "none";
    }
}

double trend_tail(int k, double mu, double phi)
{
    if (k <= 0)
        return 1.0;
    if (!(mu > 0))
        return 0.0;
    if (!(phi > 1.0 + 1e-9))
        return gsl_cdf_poisson_Q((unsigned)(k - 1), mu);
    /* NB with mean mu and variance phi*mu: size r = mu / (phi - 1),
     * success probability p = r / (r + mu) = 1 / phi. */
    double r = mu / (phi - 1.0);
    return gsl_cdf_negative_binomial_Q((unsigned)(k - 1), 1.0 / phi, r);
}

void trend_sum_rows(const int *counts, size_t ndays, const size_t *start,
                    const size_t *member, size_t ngroups, int *out)
{
    memset(out, 0, ngroups * ndays * sizeof *out);
    for (size_t g = 0; g < ngroups; g++)
        for (size_t m = start[g]; m < start[g + 1]; m++)
            for (size_t d = 0; d < ndays; d++)
                out[g * ndays + d] += counts[member[m] * ndays + d];
}

/* The scan of the last 1..w days (trend.h): the smallest tail of the sum
 * of the last k days against share x the other tickets of those days,
 * times w; *days and *lift of that k. */
static double scan_tail(const int *c, const int *totals, size_t ndays, size_t w,
                        double share, double phi, int *days, double *lift)
{
    double best = 1.0 / (double)w, o = 0, tot = 0;
    *days = (int)w;
    *lift = 0;
    /* Nothing seen (no day with other tickets, or no tail below 1): p 1. */
    for (size_t k = 1; k <= w; k++) {
        o += c[ndays - k];
        tot += totals[ndays - k];
        /* Days with no other ticket say nothing of a change of mix. */
        if (tot - o <= 0)
            continue;
        double e = share * (tot - o);
        double p = trend_tail((int)o, e, phi);
        if (p < best) {
            best = p;
            *days = (int)k;
            *lift = e > 0 ? o / e : INFINITY;
        }
    }
    best *= (double)w;
    return best < 1.0 ? best : 1.0;
}

typedef struct pidx {
    double p;
    size_t i;
} pidx;

static int cmp_pidx(const void *a, const void *b)
{
    const pidx *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

vg_code trend_bh(const double *p, size_t n, double *q, vg_error *err)
{
    if (n == 0)
        return VG_OK;
    pidx *s = malloc(n * sizeof *s);
    if (!s)
        return vg_fail(err, VG_ENOMEM, "trend: out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = (pidx){p[i], i};
    qsort(s, n, sizeof *s, cmp_pidx);
    double run = 1.0;
    for (size_t r = n; r-- > 0;) {
        double v = s[r].p * (double)n / (double)(r + 1);
        if (v < run)
            run = v;
        q[s[r].i] = run;
    }
    free(s);
    return VG_OK;
}

/* What trend_test works with: the window, all tickets' totals, and per
 * topic its working values. */
typedef struct trend_ws {
    size_t w, nb; /* window days; baseline days before it */
    double tot_base, tot_win, tot_prev; /* ... and the window before */
    double phi;                         /* the common dispersion */
    double *x2s;        /* per topic: baseline chi-square, -1 when too small */
    double *ratio;      /* scratch for the median, then the previous window's
                           observed / expected */
    double *lift;       /* the scan's lift */
    double *p, *q;      /* p- and q-values of the nt topics tested, */
    size_t *tested, nt; /* ... which are these */
} trend_ws;

static double sum_days(const int *c, size_t from, size_t to)
{
    double s = 0;
    for (size_t d = from; d < to; d++)
        s += c[d];
    return s;
}

/* Overdispersion from the baseline: per topic with volume, Pearson
 * chi-square over its degrees of freedom; the median across topics. */
static void common_dispersion(const int *counts, const int *totals,
                              size_t ntopics, size_t ndays, trend_ws *s)
{
    size_t nb = s->nb, nr = 0;
    for (size_t t = 0; t < ntopics; t++) {
        const int *c = counts + t * ndays;
        s->x2s[t] = -1;
        double b = sum_days(c, 0, nb);
        if (b < 20 || s->tot_base <= 0 || nb < 2)
            continue;
        double share = b / s->tot_base, x2 = 0;
        for (size_t d = 0; d < nb; d++) {
            double e = share * totals[d];
            if (e > 0)
                x2 += (c[d] - e) * (c[d] - e) / e;
        }
        s->x2s[t] = x2;
        s->ratio[nr++] = x2 / (double)(nb - 1);
    }
    s->phi = nr ? median_inplace(s->ratio, nr) : 1.0;
    if (!(s->phi >= 1.0))
        s->phi = 1.0;
}

/* Topic t's counts c against the other tickets: its result but for
 * significance and kind; a topic seen in the window joins the tested. */
static void test_topic(const trend_opts *opts, const int *c, const int *totals,
                       size_t ndays, size_t t, trend_ws *s, trend_result *r)
{
    size_t nb = s->nb, w = s->w;
    memset(r, 0, sizeof *r);
    double b = sum_days(c, 0, nb), o = sum_days(c, nb, ndays),
           prev = sum_days(c, nb >= w ? nb - w : 0, nb);
    /* The topic's rate relative to every OTHER ticket, so its own spike
     * does not inflate the volume it is compared with; half a ticket of
     * prior keeps a topic with no history finite. */
    double share = (b + 0.5) / (s->tot_base - b + 1.0);
    r->observed = (int)o;
    r->baseline = (int)b;
    r->expected = share * (s->tot_win - o);
    r->rate = share;
    /* A topic noisier than most keeps its own dispersion, shrunk
     * towards the common one (PRIOR_DF pseudo-days of it); never below
     * the common one, so a calm-looking baseline cannot make a topic
     * more alarm-prone than the rest. */
    double phit = s->phi;
    if (s->x2s[t] >= 0) {
        double own =
            (s->x2s[t] + PRIOR_DF * s->phi) / ((double)(nb - 1) + PRIOR_DF);
        phit = own > s->phi ? own : s->phi;
    }
    r->dispersion = phit;
    r->p_value =
        scan_tail(c, totals, ndays, w, share, phit, &r->scan_days, &s->lift[t]);
    r->elevated =
        r->expected > 0 && o / r->expected >= opts->resolve_ratio && o > 0;
    if (o > 0) {
        s->p[s->nt] = r->p_value;
        s->tested[s->nt++] = t;
    }
    /* Previous window's ratio, for 'emerging'. */
    double eprev = share * (s->tot_prev - prev);
    s->ratio[t] = eprev > 0 ? prev / eprev : 0;
}

/* The tested topics that pass the false discovery rate, the minimum count
 * and the minimum lift: significant, and new, emerging or a spike. */
static void classify(const trend_opts *opts, const int *age_days,
                     const trend_ws *s, trend_result *out)
{
    for (size_t i = 0; i < s->nt; i++) {
        size_t t = s->tested[i];
        trend_result *r = &out[t];
        double whole = r->expected > 0 ? r->observed / r->expected : INFINITY;
        if (s->q[i] > opts->fdr || r->observed < opts->min_count ||
            s->lift[t] < opts->min_ratio)
            continue;
        r->significant = 1;
        int age = age_days ? age_days[t] : 1 << 30;
        double little = r->observed * 0.1 > 2 ? r->observed * 0.1 : 2;
        if (age < opts->new_days && r->baseline <= little)
            r->kind = TREND_NEW;
        else if (s->ratio[t] >= opts->resolve_ratio && whole > s->ratio[t])
            r->kind = TREND_EMERGING;
        else
            r->kind = TREND_SPIKE;
    }
}

vg_code trend_test(const trend_opts *opts, const int *counts, const int *totals,
                   size_t ntopics, size_t ndays, const int *age_days,
                   trend_result *out, vg_error *err)
{
    const size_t w = (size_t)opts->window_days;
    if (w == 0 || ndays <= w)
        return vg_fail(err, VG_EINTERNAL,
                       "trend: %zu days cannot hold a %zu-day window and a "
                       "baseline",
                       ndays, w);
    trend_ws s = {.w = w, .nb = ndays - w};
    vg_code rc = VG_OK;
    s.ratio = malloc((ntopics + 1) * sizeof *s.ratio);
    s.p = calloc(ntopics + 1, sizeof *s.p);
    s.q = malloc((ntopics + 1) * sizeof *s.q);
    s.tested = malloc((ntopics + 1) * sizeof *s.tested);
    s.x2s = malloc((ntopics + 1) * sizeof *s.x2s);
    s.lift = malloc((ntopics + 1) * sizeof *s.lift);
    if (!s.ratio || !s.p || !s.q || !s.tested || !s.x2s || !s.lift) {
        rc = vg_fail(err, VG_ENOMEM, "trend: out of memory");
        goto cleanup;
    }
    s.tot_base = sum_days(totals, 0, s.nb);
    s.tot_win = sum_days(totals, s.nb, ndays);
    s.tot_prev = sum_days(totals, s.nb >= w ? s.nb - w : 0, s.nb);
    common_dispersion(counts, totals, ntopics, ndays, &s);
    for (size_t t = 0; t < ntopics; t++)
        test_topic(opts, counts + t * ndays, totals, ndays, t, &s, &out[t]);
    if ((rc = trend_bh(s.p, s.nt, s.q, err)) != VG_OK)
        goto cleanup;
    classify(opts, age_days, &s, out);
cleanup:
    free(s.ratio);
    free(s.p);
    free(s.q);
    free(s.tested);
    free(s.x2s);
    free(s.lift);
    return rc;
}
