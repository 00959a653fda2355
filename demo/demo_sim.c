/* demo_sim.c — the hidden life of one demo customer: attributes, a daily
 * engagement state, support tickets and the churn decision that follows it. */
#include "demo/demo_internal.h"

#include <stdio.h>
#include <string.h>

/* Independent random streams per customer, so e.g. generating ticket text
 * never shifts the draws that decide churn. */
enum { ST_ATTR = 1, ST_SIM, ST_TICKET, ST_DIRTY, ST_WORLD };
/* Injected issue k draws from stream ST_ISSUE + k: the company without it is
 * the same company, byte for byte, apart from the affected customers. */
#define ST_ISSUE 64

/* Rate constants, calibrated so a customer averages ~100 usage events and ~2
 * tickets over the default 450-day history and ~2.5% of active customers
 * churn per month (see tests/test_db_demo.c for the checked ranges). */
#define K_EVENTS 0.108
#define K_TICKETS 0.00258
#define H_BASE 0.00016       /* daily churn hazard nobody could predict */
#define H_DECLINE 0.0115     /* ... at full disengagement */
#define H_COLLAPSE 0.0047    /* ... while usage has collapsed */
#define H_FRUSTRATION 0.0054 /* ... at saturated support frustration */

/* Each world moves the weight between causes; the population, usage and
 * tickets are generated the same way. The extra mechanisms draw from their
 * own random stream, so the default world is unchanged. */
static const demo_world worlds[] = {
    /* name        base decl coll frus stall onb  price champ seas tickets */
    {"saas", 1, 1, 1, 1, 0.12, 0, 0, 0, 0, 1},
    {"onboarding", 1, 0.5, 1, 1, 0.35, 1, 0, 0, 0, 1},
    {"support", 1, 0.4, 0.5, 3, 0.12, 0, 0, 0, 0, 1},
    {"price", 1, 0.4, 0.5, 0.5, 0.12, 0, 1, 0, 0, 1},
    {"champion", 1, 0.5, 0.5, 1, 0.12, 0, 0, 1, 0, 1},
    {"seasonal", 3, 0.5, 1, 1, 0.12, 0, 0, 0, 4, 1},
    {"silent", 1, 1.6, 1, 0.3, 0.12, 0, 0, 0, 0, 0},
};

const demo_world *demo_world_find(const char *name)
{
    for (size_t i = 0; i < sizeof worlds / sizeof worlds[0]; i++)
        if (!strcmp(worlds[i].name, name))
            return &worlds[i];
    return NULL;
}

#define H_ONBOARDING 0.01 /* daily hazard of a stalled young account */
#define H_PRICE 0.004     /* ... for 60 days after a price increase */
#define H_CHAMPION 0.008  /* ... right after the main user left */

/* Hazard of the world's extra mechanisms on day t (0 in the default world).
 * Price increases land on two fixed days for customers paying list price
 * (no discount: mrr per seat reveals it); a champion leaves once, cutting
 * usage; budgets are cut around the turn of the year. */
typedef struct world_state {
    int full_price, champion_day;
} world_state;

static double world_hazard(const demo_ctx *x, const world_state *w,
                           const demo_cust *c, int t, double stallf,
                           double *usage)
{
    const demo_world *W = x->world;
    double h = 0;
    int age = t - c->created_day;
    if (W->onboarding > 0 && stallf < 1 && age < 120)
        h += W->onboarding * H_ONBOARDING * (1 - stallf);
    if (W->price > 0 && w->full_price) {
        int p1 = x->end_day - 150, p2 = x->end_day - 330;
        if ((t >= p1 && t < p1 + 60) || (t >= p2 && t < p2 + 60))
            h += W->price * H_PRICE;
    }
    if (W->champion > 0 && w->champion_day >= 0 && t >= w->champion_day) {
        *usage *= 0.55;
        h += W->champion * H_CHAMPION * exp(-(t - w->champion_day) / 45.0);
    }
    if (W->seasonal > 0) {
        double doy = fmod(t + 0.5, 365.2425); /* 0 = 1 January */
        h += W->seasonal * H_BASE *
             exp(3 * cos(6.283185307179586 * (doy + 15) / 365.2425) - 3);
    }
    return h;
}

static const double industry_weight[] = {22, 12, 12, 9, 8, 7, 8, 7, 10, 5};
/* Churn propensity per industry: retail and nonprofits churn more, regulated
 * industries less, which gives the attribute features something to find. */
static const double industry_hazard[] = {1.0, 1.35, 0.9,  0.75, 0.8,
                                         1.2, 1.0,  1.15, 1.0,  1.3};
static const double plan_hazard[DEMO_NPLAN] = {1.45, 1.0, 0.7, 0.45};

static const char *const name_adj[] = {
    "Blue",   "Silver",  "Nordic",   "Apex",      "Bright",   "Clear",
    "Swift",  "Quantum", "Urban",    "Green",     "Iron",     "Golden",
    "Alpine", "Coastal", "Summit",   "Pioneer",   "Vertex",   "Lumen",
    "Cobalt", "Crimson", "Sterling", "Evergreen", "Northern", "Pacific",
    "Atlas",  "Nova",    "Orbit",    "Prime",     "Redwood",  "Solar",
    NULL};
static const char *const name_noun[] = {
    "Harbor",   "Analytics", "Works",    "Logic",    "Labs",      "Systems",
    "Dynamics", "Ventures",  "Partners", "Foods",    "Logistics", "Health",
    "Media",    "Retail",    "Robotics", "Finance",  "Energy",    "Studio",
    "Networks", "Supply",    "Clinics",  "Learning", "Motors",    "Textiles",
    "Capital",  "Insights",  "Cloud",    "Data",     "Design",    "Freight",
    NULL};
static const char *const suffix_en[] = {"Inc.",  "LLC", "Ltd", "Co.",
                                        "Group", "",    "",    NULL};
static const char *const suffix_de[] = {"GmbH",          "GmbH", "AG", "KG",
                                        "GmbH & Co. KG", "",     NULL};
static const char *const suffix_fr[] = {"SAS", "SARL", "SA", "", NULL};
static const char *const suffix_es[] = {"S.L.",  "S.A.", "S.A. de C.V.",
                                        "Ltda.", "",     NULL};
static const char *const *const suffixes[DEMO_NLANG] = {suffix_en, suffix_de,
                                                        suffix_fr, suffix_es};

static const char *const first_en[] = {
    "James", "Mary",  "John",    "Linda",  "Michael", "Sarah", "David",
    "Emily", "Chris", "Jessica", "Daniel", "Laura",   "Kevin", "Megan",
    "Ryan",  "Priya", "Wei",     "Aisha",  NULL};
static const char *const last_en[] = {"Smith",  "Johnson", "Brown",  "Taylor",
                                      "Miller", "Davis",   "Wilson", "Clark",
                                      "Walker", "Young",   "Patel",  "Nguyen",
                                      "Chen",   "O'Brien", NULL};
static const char *const first_de[] = {"Lukas",  "Anna",   "Jonas",  "Laura",
                                       "Felix",  "Julia",  "Tobias", "Katrin",
                                       "Jürgen", "Sabine", "Stefan", "Miriam",
                                       "Jörg",   "Lena",   NULL};
static const char *const last_de[] = {
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
    "Becker", "Schulz",  "Hoffmann",  "Köhler",  "Weiß",  "Groß",  NULL};
static const char *const first_fr[] = {
    "Camille", "Louis", "Léa",     "Hugo",   "Chloé",    "Julien", "Manon",
    "Théo",    "Inès",  "Nicolas", "Amélie", "François", NULL};
static const char *const last_fr[] = {
    "Martin", "Bernard", "Dubois", "Thomas",   "Robert", "Richard", "Petit",
    "Durand", "Lefèvre", "Moreau", "Fournier", "Girard", NULL};
static const char *const first_es[] = {
    "Lucía",  "Mateo",  "Sofía",  "Santiago", "Valentina",
    "Diego",  "Camila", "Javier", "Martina",  "Alejandro",
    "Carmen", "José",   NULL};
static const char *const last_es[] = {
    "García",   "Rodríguez", "González", "Fernández", "López",
    "Martínez", "Sánchez",   "Pérez",    "Gómez",     "Díaz",
    "Muñoz",    "Hernández", NULL};
static const char *const *const firsts[DEMO_NLANG] = {first_en, first_de,
                                                      first_fr, first_es};
static const char *const *const lasts[DEMO_NLANG] = {last_en, last_de, last_fr,
                                                     last_es};

/* Per topic: severity (0..2, drives priority), median days to resolve, and the
 * base weight among ordinary tickets. */
static const struct {
    int severity;
    double resolve_days, weight;
} topic_info[DEMO_NTOPIC] = {
    [TP_LOGIN_SSO] = {1, 1.0, 6},    [TP_BILLING] = {0, 0.6, 9},
    [TP_CSV_EXPORT] = {0, 1.2, 5},   [TP_API_LIMIT] = {1, 3.0, 3},
    [TP_INTEGRATION] = {1, 3.5, 6},  [TP_SLOW_DASHBOARD] = {1, 3.0, 4},
    [TP_PASSWORD] = {0, 0.2, 8},     [TP_INVITES] = {0, 0.3, 6},
    [TP_PERMISSIONS] = {0, 0.6, 6},  [TP_IMPORT] = {1, 1.5, 4},
    [TP_REPORT_ERROR] = {1, 2.0, 6}, [TP_MOBILE_CRASH] = {1, 4.0, 3},
    [TP_WEBHOOK] = {1, 3.0, 2},      [TP_GDPR] = {1, 5.0, 1.5},
    [TP_UPGRADE] = {0, 0.4, 3},      [TP_CANCEL] = {1, 1.0, 0.4},
    [TP_FEATURE] = {0, 2.0, 7},      [TP_NOTIFICATIONS] = {0, 1.5, 4},
    [TP_TIMEZONE] = {0, 3.0, 2.5},   [TP_PERFORMANCE] = {2, 4.0, 3},
    [TP_CSV_BROKEN] = {1, 12.0, 0},  [TP_SSO_OUTAGE] = {2, 2.0, 0},
};

static const double prio_weight[3][4] = {
    {45, 45, 8, 2}, {20, 50, 22, 8}, {5, 35, 38, 22}};
static const double resp_hours[4] = {16, 5, 1.5, 0.4};

/* A second of the UTC day at which someone working local office hours in the
 * customer's time zone would act. */
static int business_second(demo_rng *r, int tz_offset)
{
    double local = 13.0 * 3600 + demo_rng_fastnorm(r) * 2.6 * 3600;
    if (local < 6 * 3600)
        local = 6 * 3600 + demo_rng_unif(r) * 3600;
    if (local > 23 * 3600)
        local = 22 * 3600 + demo_rng_unif(r) * 3600;
    long s = (long)local - tz_offset;
    s %= 86400;
    if (s < 0)
        s += 86400;
    return (int)s;
}

/* Timestamp on `day` at business hours, forced inside the open interval
 * (lo, hi) when the draw falls outside it; -1 when the interval is empty. */
static int64_t stamp_on_day(demo_rng *r, int day, int tz, int64_t lo,
                            int64_t hi)
{
    int64_t d0 = (int64_t)day * 86400, d1 = d0 + 86400;
    if (lo < d0 - 1)
        lo = d0 - 1;
    if (hi > d1)
        hi = d1;
    if (hi - lo < 2)
        return -1;
    int64_t ts = d0 + business_second(r, tz);
    if (ts <= lo || ts >= hi)
        ts = lo + 1 + (int64_t)(demo_rng_unif(r) * (double)(hi - lo - 1));
    return ts;
}

static double log_uniform(demo_rng *r, double lo, double hi)
{
    return exp(log(lo) + demo_rng_unif(r) * (log(hi) - log(lo)));
}

/* The customer's language, and from it where it sits and its time zone:
 * business hours (and so every timestamp) follow the customer's clock. */
static void pick_locale(const demo_ctx *x, demo_cust *c, demo_rng *r)
{
    double u = demo_rng_unif(r);
    c->lang = u < x->lang_cut[DEMO_EN]   ? DEMO_EN
              : u < x->lang_cut[DEMO_DE] ? DEMO_DE
              : u < x->lang_cut[DEMO_FR] ? DEMO_FR
                                         : DEMO_ES;
    u = demo_rng_unif(r);
    static const int tz_na[] = {-5, -6, -7, -8}, tz_latam[] = {-3, -5, -6};
    switch (c->lang) {
    case DEMO_EN:
        c->region = u < 0.6 ? REG_NA : u < 0.85 ? REG_EMEA : REG_APAC;
        break;
    case DEMO_DE:
        c->region = REG_EMEA;
        break;
    case DEMO_FR:
        c->region = u < 0.9 ? REG_EMEA : REG_NA;
        break;
    default:
        c->region = u < 0.75 ? REG_LATAM : REG_EMEA;
        break;
    }
    switch (c->region) {
    case REG_NA:
        c->tz_offset = tz_na[demo_rng_range(r, 0, 3)] * 3600;
        break;
    case REG_EMEA:
        c->tz_offset = (c->lang == DEMO_EN ? 0 : 3600);
        break;
    case REG_LATAM:
        c->tz_offset = tz_latam[demo_rng_range(r, 0, 2)] * 3600;
        break;
    default:
        c->tz_offset = (int)demo_rng_range(r, 0, 3) == 0
                           ? 19800
                           : (int)demo_rng_range(r, 8, 10) * 3600;
        break;
    }
}

/* Plan, seats, head count and what the customer pays: the plan sets the
 * scale of all of them, and a discount (or a negotiated enterprise price)
 * moves the price off list, which the price world relies on. */
static void pick_plan(demo_cust *c, demo_rng *r)
{
    double u = demo_rng_unif(r);
    c->plan = u < 0.42   ? PLAN_STARTER
              : u < 0.72 ? PLAN_TEAM
              : u < 0.91 ? PLAN_BUSINESS
                         : PLAN_ENTERPRISE;
    double list; /* list price per month, whole currency units */
    switch (c->plan) {
    case PLAN_STARTER:
        c->seats = (int)demo_rng_range(r, 1, 5);
        list = 49 + (c->seats - 1) * 25;
        c->employees = (int)log_uniform(r, 2, 60);
        break;
    case PLAN_TEAM:
        c->seats = (int)demo_rng_range(r, 5, 25);
        list = c->seats * 39;
        c->employees = (int)log_uniform(r, 10, 400);
        break;
    case PLAN_BUSINESS:
        c->seats = (int)log_uniform(r, 20, 150);
        list = c->seats * 45;
        c->employees = (int)log_uniform(r, 50, 3000);
        break;
    default:
        c->seats = (int)log_uniform(r, 100, 1500);
        list = 5000 + (c->seats - 100) * (15000.0 / 1400.0);
        c->employees = (int)log_uniform(r, 500, 50000);
        break;
    }
    if (c->employees < c->seats)
        c->employees = c->seats + (int)demo_rng_range(r, 0, c->seats);
    int discount = demo_rng_chance(r, c->plan >= PLAN_BUSINESS ? 0.6 : 0.25)
                       ? (int)demo_rng_range(r, 1, 5) * 5
                       : 0;
    c->mrr_cents = (long)(list * (100 - discount) + 0.5);
    if (c->plan == PLAN_ENTERPRISE) /* negotiated, never a round number */
        c->mrr_cents += demo_rng_range(r, 1, 99);
    if (c->mrr_cents > 2000000)
        c->mrr_cents = 2000000 - demo_rng_range(r, 0, 9999);
    c->is_enterprise = c->plan == PLAN_ENTERPRISE || c->employees >= 1000;
}

/* Which product parts the customer uses (bigger plans use more of them,
 * which shapes its tickets) and how many of its seats are in use. */
static void pick_usage(demo_cust *c, demo_rng *r)
{
    static const double p_api[] = {0.05, 0.25, 0.55, 0.8},
                        p_int[] = {0.2, 0.45, 0.7, 0.9},
                        p_sso[] = {0, 0.05, 0.35, 0.75},
                        p_annual[] = {0.1, 0.25, 0.5, 1.0};
    c->has_api = demo_rng_chance(r, p_api[c->plan]);
    c->has_integration = demo_rng_chance(r, p_int[c->plan]);
    c->has_sso = demo_rng_chance(r, p_sso[c->plan]);
    c->annual = demo_rng_chance(r, p_annual[c->plan]);
    double adoption = 0.35 + 0.6 * demo_rng_unif(r);
    c->n_users = (int)(c->seats * adoption + 0.5);
    if (c->n_users < 1)
        c->n_users = 1;
}

/* 40% signed up before the window (up to three years before its end; a
 * few of them leave before the window opens); the rest at a rate growing
 * ~80% across the window, as a growing company's would. */
static void pick_signup(const demo_ctx *x, demo_cust *c, demo_rng *r)
{
    int e = x->end_day, w = x->window_start;
    if (demo_rng_chance(r, 0.4)) {
        int lo = e - 3 * 365;
        if (lo > w - 60)
            lo = w - 365;
        c->created_day = (int)demo_rng_range(r, lo, w - 1);
    } else {
        const double g = 0.5877866649; /* ln 1.8 */
        double s = log(1 + demo_rng_unif(r) * (exp(g) - 1)) / g;
        c->created_day = w + (int)(s * x->history_days);
        if (c->created_day >= e)
            c->created_day = e - 1;
    }
    c->created_ts =
        (int64_t)c->created_day * 86400 + business_second(r, c->tz_offset);
    c->renewal_day = demo_anniversary(c->created_day, e);
}

/* Company and contact names in the customer's language, so outreach and
 * ticket text read like that country's. */
static void pick_names(demo_cust *c, demo_rng *r)
{
    int L = c->lang;
    const char *noun = demo_rng_word(r, name_noun);
    snprintf(c->name, sizeof c->name, "%s %s", demo_rng_word(r, name_adj),
             noun);
    if (demo_rng_chance(r, 0.35)) { /* widens 900 names to ~30000 */
        const char *more = demo_rng_word(r, name_noun);
        size_t n = strlen(c->name);
        if (more != noun)
            snprintf(c->name + n, sizeof c->name - n, " %s", more);
    }
    const char *suf = demo_rng_word(r, suffixes[L]);
    if (*suf) {
        size_t n = strlen(c->name);
        snprintf(c->name + n, sizeof c->name - n, " %s", suf);
    }
    snprintf(c->contact_first, sizeof c->contact_first, "%s",
             demo_rng_word(r, firsts[L]));
    snprintf(c->contact_last, sizeof c->contact_last, "%s",
             demo_rng_word(r, lasts[L]));
}

/* The customer's attributes, all from its ST_ATTR stream in a fixed order
 * (each part draws after the one before it). */
static void attributes(const demo_ctx *x, demo_cust *c, demo_rng *r)
{
    pick_locale(x, c, r);
    pick_plan(c, r);
    c->industry = demo_rng_pick(r, industry_weight, DEMO_NINDUSTRY);
    pick_usage(c, r);
    pick_signup(x, c, r);
    pick_names(c, r);

    /* Exports are what broke; German customers export to Excel with umlauts,
     * which is why the bug hits them first. */
    c->csv_affected = demo_rng_chance(r, c->lang == DEMO_DE ? 0.55 : 0.06);
    c->sso_affected = c->has_sso && demo_rng_chance(r, 0.6);
    if (x->no_planted) /* drawn all the same, so nothing else moves */
        c->csv_affected = c->sso_affected = 0;
}

/* Context of the day a ticket is raised in; shifts topic, mood and urgency. */
typedef struct day_state {
    int day, age;
    double decline; /* 0 healthy .. 1 fully disengaged */
    int near_collapse, onboarding, leaving;
} day_state;

/* Weights of the base topics for an ordinary ticket of c on s->day. */
static void topic_weights(const demo_cust *c, const day_state *s,
                          double w[DEMO_NBASE_TOPIC])
{
    for (int i = 0; i < DEMO_NBASE_TOPIC; i++)
        w[i] = topic_info[i].weight;
    if (!c->has_api) {
        w[TP_API_LIMIT] *= 0.1;
        w[TP_WEBHOOK] *= 0.2;
    } else {
        w[TP_API_LIMIT] *= 2.5;
        w[TP_WEBHOOK] *= 2.5;
    }
    if (!c->has_integration)
        w[TP_INTEGRATION] *= 0.15;
    if (c->has_sso)
        w[TP_LOGIN_SSO] *= 2;
    if (c->plan <= PLAN_TEAM)
        w[TP_UPGRADE] *= 2;
    if (s->onboarding) {
        w[TP_IMPORT] *= 4;
        w[TP_INVITES] *= 3;
        w[TP_INTEGRATION] *= 2;
        w[TP_PERMISSIONS] *= 2;
        w[TP_PASSWORD] *= 1.5;
    }
    if (s->near_collapse) {
        w[TP_INTEGRATION] *= 5;
        w[TP_LOGIN_SSO] *= 3;
        w[TP_PERFORMANCE] *= 4;
        w[TP_SLOW_DASHBOARD] *= 3;
        w[TP_REPORT_ERROR] *= 2;
    }
    if (s->leaving) {
        w[TP_CANCEL] *= 8;
        w[TP_BILLING] *= 3;
        w[TP_GDPR] *= 3;
    }
    w[TP_BILLING] *= 1 + 0.8 * s->decline;
    w[TP_FEATURE] *= 1 + 0.8 * s->decline;
    w[TP_CANCEL] *= 1 + 4 * s->decline;
}

static int pick_topic(const demo_cust *c, const day_state *s, demo_rng *r)
{
    double w[DEMO_NBASE_TOPIC];
    topic_weights(c, s, w);
    return demo_rng_pick(r, w, DEMO_NBASE_TOPIC);
}

/* What the helpdesk made of one ticket, gathered while it is simulated. */
typedef struct ticket_fate {
    double bad;      /* what it adds to the customer's frustration */
    double resp_h;   /* hours to the first response; 0 when never answered */
    double res_days; /* days to resolution; 1e6 for a bug never fixed */
    int reopens, escalated, auto_closed;
    int64_t resp, resolved; /* timestamps; -1 for none */
} ticket_fate;

/* Severity of a topic; an injected new issue is a product bug and counts as
 * a middling one. */
static int topic_severity(int topic)
{
    return topic < DEMO_NTOPIC ? topic_info[topic].severity : 1;
}

/* Takes the next ticket slot of c for s->day and draws its time, topic (when
 * topic < 0), language, priority and channel; NULL when there is no room or
 * no moment left on the day (before creation or after cancelation). */
static demo_ticket *open_ticket(const demo_ctx *x, demo_cust *c, demo_rng *r,
                                const day_state *s, int topic)
{
    if (c->ntickets >= DEMO_MAX_TICKETS)
        return NULL;
    int64_t hi =
        c->canceled_ts >= 0 ? c->canceled_ts : (int64_t)x->end_day * 86400;
    int64_t created = stamp_on_day(r, s->day, c->tz_offset, c->created_ts, hi);
    if (created < 0)
        return NULL;
    demo_ticket *t = &c->tickets[c->ntickets];
    memset(t, 0, sizeof *t);
    t->seq = c->ntickets++;
    t->day = s->day;
    t->created = created;
    t->dirty = -1;
    t->issue = -1;
    if (topic < 0)
        topic = pick_topic(c, s, r);
    t->topic = (signed char)topic;
    t->lang = (signed char)c->lang;
    if (c->lang != DEMO_EN && demo_rng_chance(r, 0.18))
        t->lang = DEMO_EN;

    int prio = demo_rng_pick(r, prio_weight[topic_severity(topic)], 4);
    if (c->is_enterprise && prio < PRIO_URGENT && demo_rng_chance(r, 0.2))
        prio++;
    t->priority = (signed char)prio;
    double chw[5] = {55, 24, 9 + 10 * c->is_enterprise, 3, 9};
    t->channel = (signed char)demo_rng_pick(r, chw, 5);
    return t;
}

/* First response: lognormal around the priority's target; a weekend ticket
 * waits for Monday; a few are never answered. */
static void first_response(ticket_fate *tf, demo_rng *r, const day_state *s,
                           const demo_ticket *t)
{
    int prio = t->priority;
    double never = prio == PRIO_LOW ? 0.08 : prio == PRIO_NORMAL ? 0.03 : 0.01;
    tf->resp = -1;
    tf->resp_h = 0;
    if (!demo_rng_chance(r, never)) {
        tf->resp_h = resp_hours[prio] * exp(0.9 * demo_rng_normal(r));
        int wd = demo_weekday(s->day);
        if (wd >= 5 && prio < PRIO_URGENT)
            tf->resp_h += (7 - wd) * 24 - 12 + 10 * demo_rng_unif(r);
        tf->resp = t->created + 60 + (int64_t)(tf->resp_h * 3600);
    } else {
        tf->bad += 0.7;
    }
    if (tf->resp_h > 24)
        tf->bad += 0.5;
}

/* Resolution: product bugs wait for a fix (the CSV bug is not fixed by the
 * end of the data), the SSO outage ends after sso_days. */
static void resolution(ticket_fate *tf, const demo_ctx *x, const demo_cust *c,
                       demo_rng *r, const day_state *s, const demo_ticket *t)
{
    int topic = t->topic, sev = topic_severity(topic);
    tf->res_days =
        (topic < DEMO_NTOPIC ? topic_info[topic].resolve_days : 6.0) *
        exp(0.9 * demo_rng_normal(r));
    tf->reopens = 0;
    if (demo_rng_chance(r, 0.07 + 0.08 * sev))
        tf->reopens = demo_rng_chance(r, 0.2) ? 2 : 1;
    tf->res_days *= 1 + tf->reopens * (0.5 + demo_rng_unif(r));
    tf->escalated = demo_rng_chance(
        r, 0.03 + 0.12 * (t->priority == PRIO_URGENT) + 0.04 * sev +
               0.04 * c->is_enterprise + 0.1 * (tf->res_days > 7));
    if (topic == TP_CSV_BROKEN && demo_rng_chance(r, 0.75))
        tf->res_days = 1e6;
    if (topic == TP_SSO_OUTAGE)
        tf->res_days =
            (x->sso_onset + x->sso_days - s->day) + demo_rng_unif(r) * 2;
    tf->resolved = -1;
    tf->auto_closed = 0;
    if (tf->resp >= 0) {
        double sec = tf->res_days * 86400;
        if (sec < 1e9) {
            tf->resolved = t->created + 300 + (int64_t)sec;
            if (tf->resolved <= tf->resp)
                tf->resolved =
                    tf->resp + 60 + (int64_t)(demo_rng_unif(r) * 3600);
        }
    } else if (demo_rng_chance(r, 0.7)) {
        /* Unanswered tickets are mostly closed by the helpdesk's janitor. */
        tf->resolved = t->created + demo_rng_range(r, 14, 30) * 86400;
        tf->auto_closed = 1;
    }
    if (tf->res_days > 7)
        tf->bad += 0.5;
    tf->bad += 0.5 * tf->reopens + 0.6 * tf->escalated;
}

/* Writes the fate into t as the export shows it: nothing after the end of
 * the data, and a zero reopen or escalation count often left blank (-1). */
static void record_fate(demo_ticket *t, const ticket_fate *tf, demo_rng *r,
                        int64_t end_ts)
{
    t->first_response = tf->resp >= end_ts ? -1 : tf->resp;
    t->resolved = tf->resolved >= end_ts ? -1 : tf->resolved;
    t->reopens = (signed char)tf->reopens;
    if (tf->reopens == 0 && demo_rng_chance(r, 0.3))
        t->reopens = -1;
    t->escalated = (signed char)tf->escalated;
    if (!tf->escalated && demo_rng_chance(r, 0.3))
        t->escalated = -1;
}

/* Satisfaction: asked after resolution, answered by under half; unhappy
 * customers answer more often. */
static void ask_csat(demo_ticket *t, ticket_fate *tf, demo_rng *r,
                     const day_state *s)
{
    t->csat = -1;
    if (t->resolved < 0 || tf->auto_closed)
        return;
    double mood = 4.4 - 1.4 * s->decline - 0.6 * (tf->resp_h > 24) -
                  0.7 * tf->reopens - 0.6 * tf->escalated -
                  0.5 * (tf->res_days > 5) - 0.5 * (t->topic >= TP_CSV_BROKEN) -
                  0.6 * s->leaving + 0.9 * demo_rng_normal(r);
    int score = (int)floor(mood + 0.5);
    score = score < 1 ? 1 : score > 5 ? 5 : score;
    if (demo_rng_chance(r, score <= 2 ? 0.6 : 0.4)) {
        t->csat = (signed char)score;
        if (score <= 2)
            tf->bad += score == 1 ? 1.5 : 1.0;
    }
}

/* Adds one ticket raised on s->day; returns its "badness" (how much it adds
 * to the customer's frustration) or -1 when there was no room for it. */
static double add_ticket(const demo_ctx *x, demo_cust *c, demo_rng *r,
                         const day_state *s, int topic)
{
    demo_ticket *t = open_ticket(x, c, r, s, topic);
    if (!t)
        return -1;
    int64_t end_ts = (int64_t)x->end_day * 86400;
    ticket_fate tf = {0};
    first_response(&tf, r, s, t);
    resolution(&tf, x, c, r, s, t);
    record_fate(t, &tf, r, end_ts);
    ask_csat(t, &tf, r, s);
    if (t->resolved >= 0)
        t->status = (end_ts - t->resolved > 4 * 86400) ? ST_CLOSED : ST_SOLVED;
    else if (t->first_response < 0)
        t->status = ST_OPEN;
    else
        t->status = demo_rng_chance(r, 0.6) ? ST_PENDING : ST_OPEN;
    return tf.bad;
}

/* Raises a ticket; one from before the window only leaves its mark on the
 * customer's frustration, since the helpdesk export starts with the window. */
static void raise_ticket(const demo_ctx *x, demo_cust *c, demo_rng *r,
                         const day_state *s, int topic, double *frust)
{
    double bad = add_ticket(x, c, r, s, topic);
    if (bad < 0)
        return;
    *frust += bad;
    if (s->day < x->window_start)
        c->ntickets--;
}

/* A ticket of injected issue k; its language is one the issue is written
 * in (an affected customer writes one of them). */
static void raise_issue_ticket(const demo_ctx *x, demo_cust *c, demo_rng *r,
                               const day_state *s, int k, double *frust)
{
    const demo_issue *is = &x->issues[k];
    int topic = is->spike_of >= 0 ? is->spike_of : TP_INJECTED;
    int before = c->ntickets;
    raise_ticket(x, c, r, s, topic, frust);
    if (c->ntickets == before)
        return;
    demo_ticket *t = &c->tickets[c->ntickets - 1];
    t->issue = (signed char)k;
    if (!(is->lang_mask & (1 << t->lang)))
        t->lang = (signed char)c->lang;
}

/* Tickets of the injected issues on day s->day; lam is the customer's rate
 * of ordinary tickets that day (a spike multiplies its topic's share). */
static void issue_tickets(const demo_ctx *x, demo_cust *c, demo_rng *ri,
                          const int *hit, const day_state *s, double lam,
                          double wd, double *frust)
{
    for (int k = 0; k < x->nissues; k++) {
        const demo_issue *is = &x->issues[k];
        double w = demo_issue_weight(is, s->day - is->onset);
        if (!hit[k] || w <= 0)
            continue;
        double rate;
        if (is->spike_of >= 0) {
            double tw[DEMO_NBASE_TOPIC], sum = 0;
            topic_weights(c, s, tw);
            for (int i = 0; i < DEMO_NBASE_TOPIC; i++)
                sum += tw[i];
            rate = (is->factor - 1) * w * lam * tw[is->spike_of] / sum;
        } else {
            /* wd averages 0.871 over a week */
            rate = is->per_day * w * wd / 0.871;
        }
        int n = demo_rng_poisson(&ri[k], rate);
        for (int i = 0; i < n; i++)
            raise_issue_ticket(x, c, &ri[k], s, k, frust);
    }
}

/* Geometric waiting time (days) with daily probability p. */
static int geometric(demo_rng *r, double p)
{
    double u = demo_rng_unif(r);
    double k = floor(log(1 - u) / log(1 - p));
    return k > 1e6 ? 1000000 : (int)k;
}

static void dirty_tickets(const demo_ctx *x, demo_cust *c)
{
    if (c->end_day <= c->first_day)
        return; /* gone before the window: nothing of it is in the data */
    demo_rng r;
    demo_rng_seed(&r, x->seed, (uint64_t)c->idx, ST_DIRTY);
    int clean = c->ntickets;
    int kinds[16], nk = 0;
    for (int i = 0; i < clean && nk < 8; i++)
        if (demo_rng_chance(&r, x->dirty_share))
            kinds[nk++] = (int)demo_rng_range(&r, 0, DT_HUGE_BODY - 1);
    /* A handful of every kind even in tiny runs. */
    int rank = demo_forced_rank(x, c->idx);
    if (rank >= 0 && rank < 2 * DT_HUGE_BODY)
        kinds[nk++] = rank % DT_HUGE_BODY;
    if (c->idx == x->huge_a || c->idx == x->huge_b)
        kinds[nk++] = DT_HUGE_BODY;
    for (int i = 0; i < nk; i++) {
        day_state s = {0};
        s.day = (int)demo_rng_range(&r, c->first_day, c->end_day - 1);
        s.age = s.day - c->created_day;
        int topic = kinds[i] == DT_HUGE_BODY ? TP_IMPORT : -1;
        if (add_ticket(x, c, &r, &s, topic) < 0)
            continue;
        demo_ticket *t = &c->tickets[c->ntickets - 1];
        t->dirty = (signed char)kinds[i];
        if (kinds[i] == DT_CSAT_RANGE)
            t->csat = demo_rng_chance(&r, 0.5) ? 0 : 9;
        if (kinds[i] == DT_RESOLVED_BEFORE_CREATED) {
            t->resolved = t->created - demo_rng_range(&r, 3600, 30 * 86400);
            t->status = ST_CLOSED;
        }
    }
}

/* One customer's simulation: its streams, the traits drawn once before its
 * first day, and the state carried from day to day. */
typedef struct sim {
    const demo_ctx *x;
    demo_cust *c;
    demo_rng r;  /* ST_SIM: traits, engagement, ticket counts, churn */
    demo_rng rt; /* ST_TICKET: the details of each ticket */
    demo_rng ri[DEMO_MAX_ISSUES]; /* ST_ISSUE + k */
    int hit[DEMO_MAX_ISSUES];     /* the customer is hit by injected issue k */
    int start;                    /* first simulated day */
    double tscale, fragility;
    /* Engagement: log-level xs follows a mean-reverting walk towards a mean
     * mu0 that drifts (down for most of the customers who will leave). */
    double mu0, drift, xs;
    int stalled; /* onboarding stalls at stall_level */
    double stall_level;
    int cd; /* usage collapses on day cd (maybe after the end) ... */
    double coll_depth, coll_tau;
    int coll_perm; /* ... for good, or recovering over coll_tau days */
    world_state ws;
    double h_decline, h_collapse, h_frustration;
    double ema, frust; /* 30-day engagement average; support frustration */
    int cancel_ticket_day;
} sim;

/* A clean customer with its attributes: every field the simulation does not
 * set starts as "never" (-1) or zero. */
static void sim_reset(const demo_ctx *x, long idx, demo_cust *c)
{
    memset(c, 0, sizeof *c);
    c->idx = idx;
    snprintf(c->id, sizeof c->id, "C%06ld", idx);
    c->ev_rate = x->ev_rate;
    c->tickets = x->tickets;
    c->canceled_day = c->decision_day = c->cancel_plan_day = -1;
    c->collapse_day = -1;
    c->canceled_ts = -1;

    demo_rng r;
    demo_rng_seed(&r, x->seed, (uint64_t)idx, ST_ATTR);
    attributes(x, c, &r);
}

/* The traits drawn once from ST_SIM before the first day, in this order:
 * how busy and how fragile the customer is, its engagement walk, a stalled
 * onboarding, and when its usage collapses. */
static void sim_traits(sim *m)
{
    const demo_ctx *x = m->x;
    demo_cust *c = m->c;
    const demo_world *wo = x->world;
    double level = exp(0.45 * demo_rng_normal(&m->r));
    c->ev_base = K_EVENTS * pow(c->n_users, 0.55) * level;
    m->tscale = pow(c->n_users, 0.3);
    m->fragility = plan_hazard[c->plan] * industry_hazard[c->industry] *
                   exp(0.35 * demo_rng_normal(&m->r));

    const double theta = 0.06, sigma = 0.09;
    m->mu0 = 0.15 * demo_rng_normal(&m->r);
    m->drift = -0.0005 + 0.0012 * demo_rng_normal(&m->r);
    m->xs = m->mu0 + sigma / sqrt(2 * theta) * demo_rng_normal(&m->r);
    m->stalled =
        c->created_day >= m->start && demo_rng_chance(&m->r, wo->stall_share);
    m->ws = (world_state){0, -1};
    {
        demo_rng rw;
        demo_rng_seed(&rw, x->seed, (uint64_t)c->idx, ST_WORLD);
        double per_seat = c->mrr_cents / 100.0 / (c->seats > 0 ? c->seats : 1);
        m->ws.full_price = c->plan != PLAN_ENTERPRISE && per_seat >= 39;
        if (wo->champion > 0 && c->n_users >= 3)
            m->ws.champion_day = m->start + geometric(&rw, 0.0015);
    }
    m->stall_level = 0.1 + 0.35 * demo_rng_unif(&m->r);
    m->cd = m->start + geometric(&m->r, 0.00045);
    m->coll_depth = 0.02 + 0.18 * demo_rng_unif(&m->r);
    m->coll_perm = demo_rng_chance(&m->r, 0.55);
    m->coll_tau = 10 + 50 * demo_rng_unif(&m->r);
    if (m->cd < x->end_day)
        c->collapse_day = m->cd;

    /* Fragile customers (small plans, churny industries) react more to
     * every cause; the base hazard scales fully, the others dampened. */
    m->h_decline = wo->decline * H_DECLINE * pow(m->fragility, 0.7);
    m->h_collapse = wo->collapse * H_COLLAPSE * sqrt(m->fragility);
    m->h_frustration = wo->frustration * H_FRUSTRATION * sqrt(m->fragility);
}

/* Whether each injected issue hits this customer, from the issue's own
 * stream, so adding an issue moves nothing else. */
static void sim_issue_hits(sim *m)
{
    const demo_ctx *x = m->x;
    for (int k = 0; k < x->nissues; k++) {
        const demo_issue *is = &x->issues[k];
        demo_rng_seed(&m->ri[k], x->seed, (uint64_t)m->c->idx,
                      ST_ISSUE + (uint64_t)k);
        m->hit[k] =
            (is->lang_mask & (1 << m->c->lang)) &&
            (is->spike_of >= 0 || demo_rng_chance(&m->ri[k], is->p_affected));
    }
}

/* Engagement on day t: one step of the walk, dampened by a stalled
 * onboarding, a usage collapse, the planted issues and the world; sets the
 * day's expected events and returns the world's extra hazard. *coll is the
 * collapse factor (the churn hazard reads it). */
static double sim_engagement(sim *m, int t, double *coll)
{
    const demo_ctx *x = m->x;
    demo_cust *c = m->c;
    const double theta = 0.06, sigma = 0.09;
    int age = t - c->created_day;
    double mu = m->mu0 + m->drift * (t - m->start);
    mu = mu < -2.5 ? -2.5 : mu > 0.6 ? 0.6 : mu;
    m->xs += theta * (mu - m->xs) + sigma * demo_rng_fastnorm(&m->r);
    double stallf = 1;
    if (m->stalled && age >= 10) {
        stallf = 1 - (age - 10) / 15.0;
        if (stallf < m->stall_level)
            stallf = m->stall_level;
    }
    *coll = 1;
    if (t >= m->cd)
        *coll = m->coll_perm
                    ? m->coll_depth
                    : m->coll_depth + (1 - m->coll_depth) *
                                          (1 - exp(-(t - m->cd) / m->coll_tau));
    double issue = 1;
    if (c->csv_affected && t >= x->csv_onset)
        issue *= 0.9;
    if (c->sso_affected && t >= x->sso_onset && t < x->sso_onset + x->sso_days)
        issue *= 0.45;
    double usage = 1;
    double h_world = world_hazard(x, &m->ws, c, t, stallf, &usage);
    double rel = exp(m->xs) * stallf * *coll * issue * usage;
    m->ema += (rel - m->ema) / 30;
    double ramp = age < 28 ? 0.25 + 0.75 * age / 28.0 : 1;
    double intent = 1;
    if (c->decision_day >= 0)
        intent = 0.08 + 0.92 * exp(-(t - c->decision_day) / 18.0);
    if (t >= x->window_start)
        c->ev_rate[t - x->window_start] =
            (float)(c->ev_base * rel * ramp * intent);
    return h_world;
}

/* The tickets of day s->day: ordinary ones at a rate that rises with
 * disengagement, a collapse, onboarding and a decision to leave; then the
 * planted issues', the injected issues' and a planned cancel request. */
static void sim_tickets(sim *m, const day_state *s)
{
    const demo_ctx *x = m->x;
    demo_cust *c = m->c;
    int t = s->day;
    const int csv0 = x->csv_onset, sso0 = x->sso_onset,
              sso1 = x->sso_onset + x->sso_days;
    double wd = demo_weekday(t) >= 5 ? 0.25 : 1.12;
    double lam =
        K_TICKETS * m->tscale * wd *
        (1 + 2 * x->world->ticket_decline * s->decline + 5 * s->near_collapse +
         1.2 * s->onboarding + 2.5 * s->leaving);
    int n = demo_rng_poisson(&m->r, lam);
    for (int i = 0; i < n; i++)
        raise_ticket(x, c, &m->rt, s, -1, &m->frust);
    if (c->csv_affected && t >= csv0) {
        double g = (t - csv0 + 1) / 21.0;
        n = demo_rng_poisson(&m->r, 0.010 * (g > 1 ? 1 : g) * wd);
        for (int i = 0; i < n; i++)
            raise_ticket(x, c, &m->rt, s, TP_CSV_BROKEN, &m->frust);
    }
    if (c->sso_affected && t >= sso0 && t < sso1) {
        n = demo_rng_poisson(&m->r, 0.03 * exp(-(t - sso0) / 4.0));
        for (int i = 0; i < n; i++)
            raise_ticket(x, c, &m->rt, s, TP_SSO_OUTAGE, &m->frust);
    }
    if (x->nissues > 0 && t >= x->window_start)
        issue_tickets(x, c, m->ri, m->hit, s, lam, wd, &m->frust);
    if (t == m->cancel_ticket_day)
        raise_ticket(x, c, &m->rt, s, TP_CANCEL, &m->frust);
    m->frust *= 0.98851; /* half-life of 60 days */
}

/* The recorded cause of a decision drawn from hazard part k (0 base,
 * 1 decline, 2 collapse, 3 frustration, 4 the world's mechanism). */
static int churn_cause(const sim *m, int k, int t, int age)
{
    const demo_world *wo = m->x->world;
    return k == 4                    ? (wo->onboarding > 0 ? CAUSE_ONBOARDING
                                        : wo->champion > 0 ? CAUSE_DISENGAGEMENT
                                                           : CAUSE_BUDGET)
           : k == 0                  ? CAUSE_BUDGET
           : k == 2                  ? CAUSE_COLLAPSE
           : k == 3                  ? CAUSE_SUPPORT
           : m->stalled && age < 180 ? CAUSE_ONBOARDING
           : t > m->cd               ? CAUSE_COLLAPSE
                                     : CAUSE_DISENGAGEMENT;
}

/* After a decision on day t: the cancellation follows later (on the renewal
 * date for annual contracts), maybe announced by a cancel ticket first. */
static void plan_cancel(sim *m, int t)
{
    demo_cust *c = m->c;
    int cancel;
    if (c->annual) /* contracts end on the renewal date */
        cancel = demo_anniversary(c->created_day, t + 14);
    else
        cancel = t + (int)demo_rng_range(&m->r, 10, 40);
    c->cancel_plan_day = cancel;
    if (demo_rng_chance(&m->r, 0.3))
        m->cancel_ticket_day =
            t + (int)demo_rng_range(&m->r, 0,
                                    cancel - t > 30 ? 30 : cancel - t - 1);
    if (cancel < m->x->end_day) {
        c->canceled_day = cancel;
        c->canceled_ts =
            (int64_t)cancel * 86400 + business_second(&m->r, c->tz_offset);
        if (c->canceled_ts <= c->created_ts)
            c->canceled_ts = c->created_ts + 3600;
    }
}

/* Churn: a hazard made of separable causes, so the cause of each decision
 * can be recorded; the cancellation itself follows later. */
static void sim_churn(sim *m, const day_state *s, double coll, double h_world)
{
    demo_cust *c = m->c;
    int t = s->day;
    if (c->decision_day >= 0 || s->age < 14)
        return;
    double h[5];
    h[0] = m->x->world->base * H_BASE * m->fragility;
    h[1] = m->h_decline * s->decline * s->decline;
    h[2] = (t > m->cd && coll < 0.5) ? m->h_collapse : 0;
    h[3] = m->h_frustration * (m->frust > 3 ? 1 : m->frust / 3);
    h[4] = h_world * m->fragility;
    if (demo_rng_unif(&m->r) < h[0] + h[1] + h[2] + h[3] + h[4]) {
        int k = demo_rng_pick(&m->r, h, h[4] > 0 ? 5 : 4);
        c->cause = churn_cause(m, k, t, s->age);
        c->decision_day = t;
        plan_cancel(m, t);
    }
}

void demo_sim_customer(const demo_ctx *x, long idx, demo_cust *c)
{
    sim_reset(x, idx, c);
    sim m = {.x = x, .c = c};
    demo_rng_seed(&m.r, x->seed, (uint64_t)idx, ST_SIM);
    demo_rng_seed(&m.rt, x->seed, (uint64_t)idx, ST_TICKET);
    const int E = x->end_day, W = x->window_start;
    c->first_day = c->created_day > W ? c->created_day : W;
    c->end_day = E;
    /* Older customers are simulated from a year before the window, unseen,
     * so the window opens on a settled population (some already declining,
     * some already gone) instead of everyone starting healthy. */
    m.start = c->created_day > W - 365 ? c->created_day : W - 365;
    sim_traits(&m);
    m.ema = 1.0;
    m.frust = 0;
    m.cancel_ticket_day = -1;
    sim_issue_hits(&m);
    for (int t = m.start; t < E; t++) {
        double coll;
        double h_world = sim_engagement(&m, t, &coll);
        day_state s = {.day = t, .age = t - c->created_day};
        s.decline = (0.85 - m.ema) / 0.85;
        s.decline = s.decline < 0 ? 0 : s.decline > 1 ? 1 : s.decline;
        s.near_collapse = t >= m.cd - 7 && t <= m.cd + 14;
        s.onboarding = s.age < 45;
        s.leaving = c->decision_day >= 0;
        sim_tickets(&m, &s);
        sim_churn(&m, &s, coll, h_world);
        if (c->canceled_day >= 0 && t >= c->canceled_day) {
            c->end_day = t + 1;
            break;
        }
    }
    dirty_tickets(x, c);
}

int demo_forced_rank(const demo_ctx *x, long idx)
{
    for (int i = 0; i < x->n_forced; i++)
        if (x->forced[i] == idx)
            return i;
    return -1;
}

/* Customers with at least one day in the window: only they can carry dirty
 * rows that look like real ones. */
static long next_active(demo_ctx *x, long from, long except)
{
    demo_cust c;
    for (long idx = from; idx <= x->n; idx++) {
        demo_sim_customer(x, idx, &c);
        if (c.end_day > c.first_day && idx != except)
            return idx;
    }
    return -1;
}

void demo_prepare(demo_ctx *x)
{
    x->n_forced = 0;
    x->huge_a = x->huge_b = -1;
    long idx = 1;
    while (x->n_forced < DEMO_NFORCED) {
        idx = next_active(x, idx, -1);
        if (idx < 0)
            break;
        x->forced[x->n_forced++] = idx++;
    }
    x->huge_a = next_active(x, x->n / 3 + 1, -1);
    x->huge_b = next_active(x, 2 * x->n / 3 + 1, x->huge_a);
}

void demo_ticket_id(const demo_ctx *x, long idx, int seq, char *buf)
{
    /* A keyed bijection of (customer, seq) on 32 bits: ids look random, like
     * a helpdesk's, yet can never collide. */
    uint32_t v = (uint32_t)((idx - 1) * 256 + seq);
    uint32_t k = (uint32_t)demo_mix64(x->seed);
    v ^= k;
    v *= 0x9E3779B1u;
    v ^= v >> 15;
    v *= 0x85EBCA77u;
    v ^= v >> 13;
    v += k >> 7;
    snprintf(buf, 16, "T%010u", v);
}

/* Above every real id (customers are C000001..C10000000 at most), so a
 * dirty row's customer is unknown at any size. */
void demo_unknown_customer_id(demo_rng *r, char *buf)
{
    snprintf(buf, 16, "C%08ld", demo_rng_range(r, 90000000, 99999999));
}
