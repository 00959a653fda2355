/* burst.h — new issues found from words, not clusters: terms (words,
 * phrases, error codes, versions, product names) whose ticket counts burst
 * against their own baseline, grouped into issues by co-occurrence. Pure
 * functions over term ids, so every rule is unit-tested without SQL. */
#ifndef VG_BURST_H
#define VG_BURST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct burst_opts {
    int window_days;   /* recent days tested (trend.window_days, 3) */
    int min_tickets;   /* fewest window tickets of an issue (trend.min_count) */
    int min_customers; /* fewest distinct customers (trend.min_customers) */
    double min_ratio;  /* smallest observed / expected (trend.min_ratio) */
    double fdr;        /* Benjamini-Hochberg level across terms (trend.fdr) */
    double link;       /* share of the rarer term's tickets the two must
                          share to be one issue (default 0.5) */
    int new_only;      /* 1 (default): only issues with (almost) no
                          baseline or 10 times above it; a known problem
                          growing is the topic alerts' job, whose counts
                          are steadier than any one word's */
} burst_opts;

void burst_opts_default(burst_opts *o);

/* One ticket: its day (0 = oldest; the last window_days are the window),
 * its customer (any number; equal numbers are one customer) and its
 * distinct term ids, ascending. */
typedef struct burst_doc {
    int day;
    uint32_t customer;
    const uint32_t *terms;
    size_t nterms;
} burst_doc;

/* One issue: its bursting terms, strongest first, and its tickets. */
typedef struct burst_group {
    size_t nterms;
    uint32_t *terms;
    double *term_lift; /* observed / expected of each term */
    size_t ndocs;
    size_t *docs; /* window tickets of the issue (indices into docs) */
    int observed; /* = ndocs */
    int baseline; /* baseline tickets the same rule picks */
    int customers;
    double expected, p_value, rate;
    double dispersion; /* variance / mean of the tail (1 = Poisson) */
    int is_new;        /* baseline <= max(2, 10% of observed) */
} burst_group;

/* Finds the issues of the window among docs[0..n) over ndays days:
 *  1. every term in >= min_tickets window tickets is tested like a topic
 *     (topics/trend.h: its share of tickets against all tickets, negative
 *     binomial tail, Benjamini-Hochberg at fdr, min_ratio);
 *  2. significant terms used by >= min_customers customers are linked when
 *     their window tickets overlap (|A and B| / min(|A|, |B|) >= link, at
 *     least 3 shared) and each connected set is one issue;
 *  3. an issue's tickets are the window tickets with one of its strong
 *     terms (lift >= 6: a word hardly seen before), or, when it has none,
 *     two of its terms — its never-seen terms alone (almost no tickets
 *     before the baseline's last window_days) when they hold at least half
 *     of those tickets, and it is new when one of them is in most of its
 *     tickets; the same rule over the baseline days gives its
 *     expectation, and the issue needs min_tickets, min_customers and
 *     min_ratio again, a Bonferroni-corrected tail across issues, and with
 *     new_only a baseline of at most max(2, 10% of its window tickets) or
 *     10 times fewer tickets than the window's.
 * Groups are ordered by p-value (ties: first term id). *groups is malloc'ed
 * (burst_groups_free); none found is not an error. */
vg_code burst_find(const burst_opts *o, const burst_doc *docs, size_t n,
                   int ndays, burst_group **groups, size_t *ngroups,
                   vg_error *err);

/* A term this many times above its baseline was hardly used before: one of
 * them puts a ticket into its issue (burst_find step 3). */
#define BURST_STRONG_LIFT 6.0

/* The figures of an issue given by its terms (an open alert's key terms, to
 * see whether it still holds): window tickets, baseline and expectation by
 * the rule of burst_find step 3, with lifts computed from docs. anchored
 * (may be NULL) flags terms that count as strong whatever their lift today:
 * an issue's own words, strong when it was raised, stop being rare once its
 * earlier tickets are the baseline, and its ordinary words alone would then
 * pick ordinary tickets. */
vg_code burst_eval(const burst_opts *o, const burst_doc *docs, size_t n,
                   int ndays, const uint32_t *terms, const int *anchored,
                   size_t nterms, burst_group *out, vg_error *err);

/* The tickets from day `from` (0 = oldest) to the end, by the
 * membership rule of burst_find step 3: *idx (malloc'ed indices into docs)
 * and how many other tickets those days hold (*others), for figures over
 * an alert's whole window. */
vg_code burst_members(const burst_group *g, const burst_doc *docs, size_t n,
                      int ndays, int from, size_t **idx, size_t *nidx,
                      double *others, vg_error *err);

void burst_group_clear(burst_group *g);
void burst_groups_free(burst_group *g, size_t n);

#endif
