/* demo.h — `vigil demo`: a deterministic, realistic B2B SaaS company loaded
 * into the source tables, with its hidden truth in schema vigil_demo_truth. */
#ifndef VG_DEMO_H
#define VG_DEMO_H

#include "core/db.h"
#include "core/err.h"

typedef struct demo_opts {
    const char *schema; /* source schema to (re)create the three tables in;
                           default "public" */
    long customers;     /* number of customers, 1..1000000; default 2000 */
    unsigned long seed; /* default 42 */
    int end_day;        /* days since 1970-01-01 (UTC) of the first day NOT
                           generated: all normal data is < end_day; the default
                           is a fixed date (2025-06-01) so a bare call is
                           reproducible, the CLI normally passes today */
    int history_days;   /* days of usage history before end_day; default 450 */
    double dirty_share; /* share of dirty rows injected; default 0.002 */
    int quiet;          /* no progress output */
    const char *world;  /* churn mechanisms (DEMO_WORLDS); NULL: "saas" */
} demo_opts;

/* The worlds `demo --world` accepts, for help and error texts. */
#define DEMO_WORLDS                                                            \
    "saas, onboarding, support, price, champion, seasonal, silent"

void demo_opts_default(demo_opts *o);

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
