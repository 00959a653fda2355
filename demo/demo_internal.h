/* demo_internal.h — what the demo generator's files share: the PRNG, the
 * calendar, the simulated customer with its tickets, and the text buffer. */
#ifndef VG_DEMO_INTERNAL_H
#define VG_DEMO_INTERNAL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"
#include "demo/demo.h"

/* ---- PRNG ----------------------------------------------------------------
 * splitmix64: one word of state, so every (seed, customer, stream) triple gets
 * its own independent stream and a customer's data never depends on the order
 * (or the number of passes) in which customers are generated. */
typedef struct demo_rng {
    uint64_t s;
} demo_rng;

static inline uint64_t demo_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void demo_rng_seed(demo_rng *r, uint64_t seed, uint64_t a,
                                 uint64_t b)
{
    uint64_t h = demo_mix64(seed ^ 0x6a09e667f3bcc909ULL);
    h = demo_mix64(h ^ (a * 0x9e3779b97f4a7c15ULL));
    h = demo_mix64(h ^ (b * 0xd1b54a32d192ed03ULL + 0x3c6ef372fe94f82bULL));
    r->s = h;
}

static inline uint64_t demo_rng_u64(demo_rng *r)
{
    r->s += 0x9e3779b97f4a7c15ULL;
    return demo_mix64(r->s);
}

/* Uniform in [0, 1). */
static inline double demo_rng_unif(demo_rng *r)
{
    return (double)(demo_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi]; the modulo bias is far below anything the
 * demo could show. */
static inline long demo_rng_range(demo_rng *r, long lo, long hi)
{
    if (hi <= lo)
        return lo;
    return lo + (long)(demo_rng_u64(r) % (uint64_t)(hi - lo + 1));
}

static inline int demo_rng_chance(demo_rng *r, double p)
{
    return demo_rng_unif(r) < p;
}

/* Approximate standard normal from one draw (Irwin-Hall of four 16-bit
 * uniforms): the daily random walk needs hundreds of millions of these and
 * does not care about tails beyond 3.5 sigma. */
static inline double demo_rng_fastnorm(demo_rng *r)
{
    uint64_t u = demo_rng_u64(r);
    double s = (double)(u & 0xffff) + (double)((u >> 16) & 0xffff) +
               (double)((u >> 32) & 0xffff) + (double)(u >> 48);
    return (s / 65536.0 - 2.0) * 1.7320508075688772;
}

/* Exact standard normal (Box-Muller), for the few per-customer draws. */
static inline double demo_rng_normal(demo_rng *r)
{
    double u1 = 1.0 - demo_rng_unif(r), u2 = demo_rng_unif(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int demo_rng_poisson(demo_rng *r, double lambda);
/* Index drawn with probability w[i] / sum(w). */
int demo_rng_pick(demo_rng *r, const double *w, int n);
/* Pick one of a NULL-terminated list of strings. */
const char *demo_rng_word(demo_rng *r, const char *const *list);

/* ---- calendar (UTC, proleptic Gregorian) --------------------------------- */
void demo_civil(int day, int *y, int *m, int *d);
int demo_day_from_civil(int y, int m, int d);
/* 0 = Monday ... 6 = Sunday. */
static inline int demo_weekday(int day)
{
    int w = (day + 3) % 7;
    return w < 0 ? w + 7 : w;
}
/* "YYYY-MM-DD HH:MM:SS+00" (23 bytes incl. NUL); returns the length. */
int demo_fmt_ts(char *buf, int64_t secs);
/* "YYYY-MM-DD" (11 bytes incl. NUL). */
int demo_fmt_date(char *buf, int day);
/* Next anniversary of `day` on or after `min_day` (Feb 29 becomes Feb 28). */
int demo_anniversary(int day, int min_day);

/* ---- enumerations -------------------------------------------------------- */
enum { DEMO_EN, DEMO_DE, DEMO_FR, DEMO_ES, DEMO_NLANG };
enum { PLAN_STARTER, PLAN_TEAM, PLAN_BUSINESS, PLAN_ENTERPRISE, DEMO_NPLAN };
enum { REG_NA, REG_EMEA, REG_LATAM, REG_APAC };
#define DEMO_NINDUSTRY 10

/* Ticket topics; the key strings are the truth recorded per ticket. The last
 * two are the emerging product issues. */
enum {
    TP_LOGIN_SSO,
    TP_BILLING,
    TP_CSV_EXPORT,
    TP_API_LIMIT,
    TP_INTEGRATION,
    TP_SLOW_DASHBOARD,
    TP_PASSWORD,
    TP_INVITES,
    TP_PERMISSIONS,
    TP_IMPORT,
    TP_REPORT_ERROR,
    TP_MOBILE_CRASH,
    TP_WEBHOOK,
    TP_GDPR,
    TP_UPGRADE,
    TP_CANCEL,
    TP_FEATURE,
    TP_NOTIFICATIONS,
    TP_TIMEZONE,
    TP_PERFORMANCE,
    TP_CSV_BROKEN,
    TP_SSO_OUTAGE,
    DEMO_NTOPIC
};
#define DEMO_NBASE_TOPIC TP_CSV_BROKEN
/* The topic of a ticket of an injected new issue: its text comes from the
 * issue's own generated vocabulary (demo_issues.c), not the phrasebook. */
#define TP_INJECTED DEMO_NTOPIC

enum { PRIO_LOW, PRIO_NORMAL, PRIO_HIGH, PRIO_URGENT };
enum { ST_OPEN, ST_PENDING, ST_SOLVED, ST_CLOSED };

/* Dirty usage-event kinds, each an extra row next to a clean one. */
enum {
    DE_UNKNOWN_CUSTOMER,
    DE_NULL_CUSTOMER,
    DE_NULL_OCCURRED_AT,
    DE_NULL_EVENT_TYPE,
    DE_NEGATIVE_QUANTITY,
    DE_FUTURE_TIMESTAMP,
    DE_DUPLICATE,
    DEMO_NDIRTY_EV
};
/* Dirty ticket kinds, each an extra ticket of the customer. */
enum {
    DT_NULL_CUSTOMER,
    DT_UNKNOWN_CUSTOMER,
    DT_EMPTY_BODY,
    DT_CSAT_RANGE,
    DT_RESOLVED_BEFORE_CREATED,
    DT_HUGE_BODY,
    DEMO_NDIRTY_TK
};

enum {
    CAUSE_NONE,
    CAUSE_BUDGET,
    CAUSE_DISENGAGEMENT,
    CAUSE_COLLAPSE,
    CAUSE_ONBOARDING,
    CAUSE_SUPPORT,
    DEMO_NCAUSE
};

extern const char *const demo_lang_code[DEMO_NLANG];
extern const char *const demo_plan_name[DEMO_NPLAN];
extern const char *const demo_region_name[4];
extern const char *const demo_industry_name[DEMO_NINDUSTRY];
extern const char *const demo_topic_key[DEMO_NTOPIC];
extern const char *const demo_priority_name[4];
extern const char *const demo_status_name[4];
extern const char *const demo_channel_name[5];
extern const char *const demo_dirty_ev_name[DEMO_NDIRTY_EV];
extern const char *const demo_dirty_tk_name[DEMO_NDIRTY_TK];
extern const char *const demo_cause_name[DEMO_NCAUSE];

/* ---- injected issues (demo_issues.c) ------------------------------------- */
enum { ISH_STEP, ISH_RAMP, ISH_BURST };

typedef struct demo_issue {
    char name[40];   /* the truth key of its tickets */
    int onset, days; /* first day and duration (days) */
    int shape;       /* ISH_* */
    int lang_mask;   /* bit per DEMO_EN..DEMO_ES: who writes about it */
    int spike_of;    /* a base topic it multiplies, or -1: a new issue */
    double size;     /* new issue: expected tickets over its duration */
    long customers;  /* new issue: expected affected customers */
    double factor;   /* spike: the topic's volume at the peak, multiplied */
    int slot;        /* vocabulary slot: distinct per issue of a run */
    char feature[32], code[16]; /* product name and error code it shows */
    /* derived by demo_issues_prepare */
    double p_affected; /* chance a customer writing a listed language is hit */
    double per_day;    /* tickets per affected customer at shape weight 1 */
} demo_issue;

/* Parses one --issue spec into *is (slot and derived fields unset). */
vg_code demo_issue_parse(const char *spec, int end_day, int history_days,
                         demo_issue *is, vg_error *err);
/* Fills is with a random issue i of the seed (new or a spike). */
void demo_issue_random(uint64_t seed, int i, int end_day, demo_issue *is);
/* Assigns vocabulary slots, feature names, codes and the derived rates. */
void demo_issues_prepare(demo_issue *is, int n, uint64_t seed, long customers,
                         const double lang_share[DEMO_NLANG]);
/* Weight of day d (0-based since onset) in the issue's shape; the weights
 * of days 0..days-1 sum to days (so 1 is the mean). */
double demo_issue_weight(const demo_issue *is, int d);
/* A human description of the issue for the truth table. */
void demo_issue_describe(const demo_issue *is, char *out, size_t cap);
/* Subject and body templates for a ticket of new issue is in language L:
 * {feat} {obj} {sym} {ecode} plus the phrasebook's placeholders. */
const char *demo_issue_subject(const demo_issue *is, int L, int k);
const char *demo_issue_body(const demo_issue *is, int L, int k);
/* The issue's object and symptom phrases in language L. */
const char *demo_issue_object(const demo_issue *is, int L);
const char *demo_issue_symptom(const demo_issue *is, int L);
const char *demo_issue_shape_name(int shape);
/* Number of vocabulary slots (issues that cannot share words). */
int demo_issue_slots(void);

/* ---- simulated customer -------------------------------------------------- */

/* Tickets per customer are capped so a ticket's id can be a bijection of
 * (customer, sequence) and never collide. */
#define DEMO_MAX_TICKETS 250

typedef struct demo_ticket {
    int64_t created, first_response, resolved; /* unix seconds, -1 = NULL */
    int seq;                                   /* per-customer, < 256 */
    int day;                                   /* day of created */
    signed char topic, lang, priority, channel, status;
    signed char csat;      /* -1 = NULL; 0 and 9 only in dirty rows */
    signed char reopens;   /* -1 = NULL (the helpdesk's way to say 0) */
    signed char escalated; /* -1 = NULL (meaning false) */
    signed char dirty;     /* DT_* or -1 */
    signed char issue;     /* index of an injected issue (ctx) or -1 */
} demo_ticket;

typedef struct demo_cust {
    long idx; /* 1-based */
    char id[16];
    char name[96];
    char contact_first[32], contact_last[32];
    int plan, lang, region, industry;
    int seats, n_users, employees, is_enterprise;
    long mrr_cents;
    int has_api, has_integration, has_sso, annual;
    int csv_affected, sso_affected;
    int tz_offset; /* seconds east of UTC, to place business hours */
    int created_day, canceled_day, renewal_day; /* canceled_day -1 = none */
    int64_t created_ts, canceled_ts;            /* canceled_ts -1 = none */
    int cause;
    int decision_day, cancel_plan_day; /* -1 = never; the plan may be >= end */
    int collapse_day;                  /* -1 = none before end */
    int first_day, end_day; /* days with usage: [first_day, end_day) */
    double ev_base;         /* expected events on a healthy weekday */
    float *ev_rate; /* expected events per weekday, index day - window start;
                       points into the context's buffer */
    int ntickets;
    demo_ticket *tickets; /* the context's buffer */
} demo_cust;

#define DEMO_NFORCED (2 * DEMO_NDIRTY_EV)

/* Everything one run needs; owned by demo_generate. */
/* A "world": which mechanisms drive churn and how strongly, so models and
 * settings can be measured on companies that differ in kind (README,
 * "Demo worlds"). Multipliers of 1 and zeros are the default company. */
typedef struct demo_world {
    const char *name;
    double base, decline, collapse, frustration; /* hazard multipliers */
    double stall_share;    /* new customers whose onboarding stalls */
    double onboarding;     /* extra hazard of a stalled young account */
    double price;          /* hazard after price increases (full price) */
    double champion;       /* hazard after the main user leaves */
    double seasonal;       /* year-end budget peak of the base hazard */
    double ticket_decline; /* tickets rise with disengagement (1) or not */
} demo_world;

/* NULL when there is no world of that name. */
const demo_world *demo_world_find(const char *name);

typedef struct demo_ctx {
    const demo_world *world;
    uint64_t seed;
    long n;
    int end_day, history_days, window_start;
    double dirty_share;
    int csv_onset, sso_onset, sso_days;
    int no_planted;              /* no sso_outage / csv_export_broken */
    double lang_cut[DEMO_NLANG]; /* cumulative language shares */
    demo_issue issues[DEMO_MAX_ISSUES];
    int nissues;
    long huge_a, huge_b;       /* customers owning the multi-megabyte bodies */
    long forced[DEMO_NFORCED]; /* first active customers; each carries one
                                  dirty row of a kind, so every kind shows */
    int n_forced;
    float *ev_rate;
    demo_ticket *tickets;
} demo_ctx;

/* Simulates customer `idx` (1-based) completely: attributes, engagement,
 * tickets (clean and dirty), churn. Deterministic in (ctx, idx); reuses
 * the context's buffers, so only one customer is alive at a time. */
void demo_sim_customer(const demo_ctx *x, long idx, demo_cust *c);
/* Fills huge_a/huge_b and forced[] (needs the buffers and every other
 * field); call once before the first demo_sim_customer. */
void demo_prepare(demo_ctx *x);
/* Position of idx in x->forced, or -1. */
int demo_forced_rank(const demo_ctx *x, long idx);
void demo_ticket_id(const demo_ctx *x, long idx, int seq, char *buf);
/* An id that never matches a real customer ("C" + 7 digits). */
void demo_unknown_customer_id(demo_rng *r, char *buf);

/* ---- usage events -------------------------------------------------------- */
typedef struct demo_event_counts {
    long rows;                  /* every row written, dirty ones included */
    long dirty[DEMO_NDIRTY_EV]; /* injected rows by kind */
} demo_event_counts;

/* Streams customer c's events (and their dirty variants) into an open
 * COPY of usage_events (customer_id, occurred_at, event_type, user_id,
 * quantity). */
vg_code demo_emit_events(const demo_ctx *x, const demo_cust *c, db_copy_in *cp,
                         demo_event_counts *counts, vg_error *err);

/* ---- text ---------------------------------------------------------------- */
/* Per topic and language: NULL-terminated subjects and bodies with
 * {placeholders} (see demo_text.c for the names). */
typedef struct demo_phrase {
    const char *subject[4];
    const char *body[4];
} demo_phrase;
extern const demo_phrase demo_phrasebook[DEMO_NTOPIC][DEMO_NLANG];

/* Subject and body of a ticket, deterministic in (ctx seed, customer, seq). */
void demo_ticket_text(const demo_ctx *x, const demo_cust *c,
                      const demo_ticket *t, strbuf *subject, strbuf *body);

#endif
