/* trend.h — the statistics behind trend alerts: expected daily ticket counts
 * per topic from a trailing baseline, a count test, and false-discovery
 * control. Pure functions over count tables, so every rule is unit-tested
 * without SQL. */
#ifndef VG_TREND_H
#define VG_TREND_H

#include <stddef.h>

#include "core/err.h"

typedef struct trend_opts {
    int window_days;      /* recent days tested (default 3) */
    int baseline_days;    /* days before the window giving the expectation */
    int min_count;        /* fewest tickets in the window for an alert */
    double min_ratio;     /* smallest observed / expected for an alert */
    double fdr;           /* Benjamini-Hochberg level across topics */
    double resolve_ratio; /* an open alert resolves below this ratio */
    int new_days;         /* a topic this young without history is 'new' */
} trend_opts;

void trend_opts_default(trend_opts *o);

typedef enum { TREND_NONE, TREND_NEW, TREND_EMERGING, TREND_SPIKE } trend_kind;

const char *trend_kind_name(trend_kind k); /* "new", "emerging", "spike" */

typedef struct trend_result {
    int observed;      /* tickets of the topic in the window */
    double expected;   /* what its baseline share of the window's volume
                          predicts */
    double p_value;    /* the scan's p-value: the smallest tail over the
                          last 1..window_days days, times window_days
                          (Bonferroni over the nested windows) */
    double rate;       /* expected tickets of the topic per ticket of the
                          others (expected / other tickets in the window) */
    double dispersion; /* variance / mean used (1 = Poisson) */
    int baseline;      /* tickets of the topic in the baseline days */
    int scan_days;     /* the last days whose sum gave p_value */
    int significant;   /* passes FDR, min_count and min_ratio */
    int elevated;      /* observed / expected >= resolve_ratio: an open
                          alert stays open */
    trend_kind kind;   /* for significant topics */
} trend_result;

/* counts: ntopics rows of ndays daily ticket counts, oldest day first;
 * totals: ndays counts of ALL tickets (assigned or not) those days.
 * ndays = baseline_days + window_days (the last window_days are tested).
 * age_days[t]: days since topic t was first seen (may be NULL: old).
 * Expected window count of topic t = rate_t * (total(window) - observed_t),
 * where rate_t = baseline tickets of t / baseline tickets of every other
 * topic (plus half a ticket of prior): a quiet holiday or a busy launch day
 * moves every topic's expectation and only a change of mix is a trend, and a
 * topic's own spike does not raise the volume it is measured against. Weekday
 * patterns of the volume carry over the same way. Overdispersion (day-to-day
 * noise beyond Poisson) is estimated across topics from the baseline days'
 * Pearson residuals (median of the per-topic ratios, at least 1); a topic
 * noisier than that keeps its own ratio, shrunk towards the common one. The
 * tail is negative binomial with that variance/mean ratio (Poisson when 1).
 * The recent days are scanned: the sum of the last k days (k = 1 ..
 * window_days) against its own expectation, one-sided; the smallest tail,
 * times window_days, is the p-value — a one-day burst is not diluted by two
 * ordinary days and a two-day doubling is not by a third, and the
 * Bonferroni factor pays for looking three times. min_ratio applies to the
 * scanned days, min_count to the whole window. p-values of all topics with any
 * window ticket are adjusted together (Benjamini-Hochberg at opts->fdr). Kinds:
 * 'new' when the topic is younger than new_days and had at most max(2, 10% of
 * observed) baseline tickets; 'emerging' when the window's ratio is higher than
 * the previous window's and that one was already elevated (growth sustained
 * over two windows); else 'spike'. */
vg_code trend_test(const trend_opts *opts, const int *counts, const int *totals,
                   size_t ntopics, size_t ndays, const int *age_days,
                   trend_result *out, vg_error *err);

/* Sibling topics summed: row g of out (ngroups rows of ndays) is the sum of
 * the counts rows member[start[g]] .. member[start[g + 1] - 1] (indices
 * into counts, ntopics rows of ndays). One problem split over topics — one
 * per language, or a split of it — is tested as one count appended to the
 * topics' (trend_test over ntopics + ngroups rows): a doubling of four
 * small topics is one doubling of their sum, with four times the tickets
 * behind it. */
void trend_sum_rows(const int *counts, size_t ndays, const size_t *start,
                    const size_t *member, size_t ngroups, int *out);

/* Upper tail P(X >= k) of a count with mean mu and variance phi * mu
 * (Poisson for phi <= 1, else negative binomial). 1 for k <= 0. */
double trend_tail(int k, double mu, double phi);

/* Benjamini-Hochberg: q[i] = adjusted p-value of p[i] (monotone, <= 1). */
vg_code trend_bh(const double *p, size_t n, double *q, vg_error *err);

#endif
