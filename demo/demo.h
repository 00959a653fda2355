/* demo.h — `vigil demo`: a deterministic, realistic B2B SaaS company loaded
 * into the source tables, with its hidden truth in schema vigil_demo_truth. */
#ifndef VG_DEMO_H
#define VG_DEMO_H

#include "core/db.h"
#include "core/err.h"

typedef struct demo_opts {
    const char *schema; /* source schema to (re)create the three tables in;
                           default "public" */
    long customers;     /* 1..DEMO_MAX_CUSTOMERS; default 2000 */
    unsigned long seed; /* default 42 */
    int end_day;        /* days since 1970-01-01 (UTC) of the first day NOT
                           generated: all normal data is < end_day; the default
                           is a fixed date (2025-06-01) so a bare call is
                           reproducible, the CLI normally passes today */
    int history_days;   /* days of usage history before end_day; default 450 */
    double dirty_share; /* share of dirty rows injected; default 0.002 */
    int quiet;          /* no progress output */
    const char *world;  /* churn mechanisms (DEMO_WORLDS); NULL: "saas" */
    /* Injected issues (README, "Injected issues"): specs like
     * "name=webhooks,onset=2026-10-05,shape=ramp,size=40,langs=en:fr",
     * random_issues more drawn from the seed, and no_planted drops the two
     * planted ones (sso_outage, csv_export_broken). */
    const char *const *issue_specs;
    int n_issue_specs;
    int random_issues;
    int no_planted;
    /* Language mix of customers, weights en de fr es (normalised); all zero:
     * the default 55/20/13/12. */
    double lang_weight[4];
} demo_opts;

/* The largest company `demo` makes: it streams customer by customer, so
 * memory does not grow with it; customer ids C000001..C10000000. */
#define DEMO_MAX_CUSTOMERS 10000000

/* At most this many injected issues per run (specs plus random ones). */
#define DEMO_MAX_ISSUES 12

/* The worlds `demo --world` accepts, for help and error texts. */
#define DEMO_WORLDS                                                            \
    "saas, onboarding, support, price, champion, seasonal, silent"

void demo_opts_default(demo_opts *o);

/* Parses "en=40,de=30,fr=15,es=15" (weights; missing languages 0) into w,
 * normalised to sum 1. */
vg_code demo_parse_languages(const char *s, double w[4], vg_error *err);

/* The checks demo_generate makes of o before it touches the database (a
 * known world, a schema it may replace, sizes and dates in range), for a
 * caller that wants to refuse bad options before connecting. */
vg_code demo_opts_check(const demo_opts *o, vg_error *err);

typedef struct demo_stats {
    long customers, events, tickets, churned, dirty_events, dirty_tickets;
} demo_stats;

/* Drops and re-creates schema.customers, schema.usage_events, schema.tickets
 * and schema vigil_demo_truth, loads them in one transaction, then ANALYZEs.
 * Refuses to replace a source table it did not create itself (its marker is
 * the table comment), so pointing it at a real schema cannot destroy data.
 * `st` may be NULL. The same opts always produce byte-identical tables. */
vg_code demo_generate(db_conn *db, const demo_opts *o, demo_stats *st,
                      vg_error *err);

#endif
