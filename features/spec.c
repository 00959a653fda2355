/* spec.c — which columns a model has: discovery from the source tables,
 * naming and wording of every feature, and the JSON kept with the model. */
#include "spec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

const int feat_windows[FEAT_NWIN] = {7, 30, 90};
const char *const feat_priorities[4] = {"low", "normal", "high", "urgent"};
const char *const feat_family_names[FEAT_NFAM] = {
    "long_windows",  "type_trends", "recency", "users",
    "ticket_trends", "tenure",      "lifetime"};

/* Columns the contract gives a meaning; every other customers column is an
 * attribute feature. plan and language are categorical attributes. */
static const char *const contract_columns[] = {
    "customer_id", "name", "created_at", "canceled_at", "mrr", "seats"};

void feat_spec_free(feat_spec *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ntypes; i++)
        free(s->types[i]);
    free(s->types);
    for (int i = 0; i < s->nattrs; i++) {
        free(s->attrs[i].column);
        free(s->attrs[i].prefix);
        for (int j = 0; j < s->attrs[i].nlevels; j++)
            free(s->attrs[i].levels[j]);
        free(s->attrs[i].levels);
    }
    free(s->attrs);
    for (int i = 0; i < s->ntopics; i++)
        free(s->topic_labels[i]);
    free(s->topic_labels);
    free(s->topic_ids);
    for (size_t i = 0; i < s->ncols; i++) {
        free(s->names[i]);
        free(s->phrases[i]);
    }
    free(s->names);
    free(s->phrases);
    free(s->info);
    free(s->c.ev_type);
    free(s->c.ev_type_prev30);
    free(s->c.ev_type_ratio);
    free(s->c.type_since);
    free(s->c.ev_type_life);
    free(s);
}

size_t feat_spec_ncols(const feat_spec *s)
{
    return s->ncols;
}

const feat_info *feat_spec_info(const feat_spec *s, size_t col)
{
    return col < s->ncols ? &s->info[col] : NULL;
}

int feat_spec_find(const feat_spec *s, const char *name)
{
    for (size_t i = 0; i < s->ncols; i++)
        if (strcmp(s->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* ---- wording ---------------------------------------------------------------
 * How each feature family reads for a specialist: its unit, which side is a
 * warning sign, its theme and whether it is a profile fact. The first row
 * whose name prefix matches wins, so specific rows come before general ones.
 * New feature families add their row here (and nowhere else). */

typedef struct feat_wording {
    const char *prefix;
    feat_unit unit;
    feat_worse worse;
    int profile;
    const char *theme;
} feat_wording;

static const feat_wording wording[] = {
    {"usage.events_per_30d_", FEAT_UNIT_NUMBER, FEAT_WORSE_LOWER, 0,
     "adoption"},
    {"usage.days_since_last_activity", FEAT_UNIT_DAYS_AGO, FEAT_WORSE_HIGHER, 0,
     "adoption"},
    {"usage.days_since_", FEAT_UNIT_DAYS_AGO, FEAT_WORSE_HIGHER, 0, "adoption"},
    {"usage.seat_utilisation_", FEAT_UNIT_SHARE, FEAT_WORSE_LOWER, 0,
     "adoption"},
    {"usage.ratio_", FEAT_UNIT_SHARE, FEAT_WORSE_LOWER, 0, "adoption"},
    {"usage.trend_slope_", FEAT_UNIT_SLOPE, FEAT_WORSE_LOWER, 0, "adoption"},
    {"usage.", FEAT_UNIT_COUNT, FEAT_WORSE_LOWER, 0, "adoption"},
    {"account.tenure_days", FEAT_UNIT_DURATION, FEAT_WORSE_UNKNOWN, 1,
     "onboarding"},
    {"account.mrr", FEAT_UNIT_MONEY, FEAT_WORSE_UNKNOWN, 1, "commercial"},
    {"account.seats", FEAT_UNIT_COUNT, FEAT_WORSE_UNKNOWN, 1, "commercial"},
    {"account.days_to_", FEAT_UNIT_DAYS_UNTIL, FEAT_WORSE_UNKNOWN, 1,
     "commercial"},
    {"account.", FEAT_UNIT_NUMBER, FEAT_WORSE_UNKNOWN, 1, "commercial"},
    {"tickets.median_", FEAT_UNIT_HOURS, FEAT_WORSE_HIGHER, 0,
     "support_friction"},
    {"tickets.csat_change_", FEAT_UNIT_NUMBER, FEAT_WORSE_LOWER, 0,
     "satisfaction"},
    {"tickets.csat_count_", FEAT_UNIT_COUNT, FEAT_WORSE_UNKNOWN, 0,
     "satisfaction"},
    {"tickets.csat_", FEAT_UNIT_RATING, FEAT_WORSE_LOWER, 0, "satisfaction"},
    {"tickets.days_since_last_ticket", FEAT_UNIT_DAYS_AGO, FEAT_WORSE_UNKNOWN,
     0, "support_friction"},
    {"tickets.topic_share_", FEAT_UNIT_SHARE, FEAT_WORSE_HIGHER, 0,
     "support_friction"},
    {"tickets.", FEAT_UNIT_COUNT, FEAT_WORSE_HIGHER, 0, "support_friction"},
    {"attr.", FEAT_UNIT_NUMBER, FEAT_WORSE_UNKNOWN, 1, "commercial"},
};

void feat_word(feat_info *fi)
{
    for (size_t i = 0; i < sizeof wording / sizeof *wording; i++) {
        const feat_wording *w = &wording[i];
        if (strncmp(fi->name, w->prefix, strlen(w->prefix)) != 0)
            continue;
        /* a unit set by the layout (dates, booleans) is more specific */
        if (fi->unit == FEAT_UNIT_NUMBER)
            fi->unit = w->unit;
        fi->worse = w->worse;
        fi->profile = w->profile;
        fi->theme = w->theme;
        break;
    }
    if (!fi->theme) {
        fi->theme = "commercial";
        fi->profile = 1;
    }
    if (fi->is_indicator)
        fi->unit = FEAT_UNIT_YESNO;
}

void feat_humanise(const char *column, char *out, size_t n)
{
    size_t k = 0, len = strlen(column);
    /* "renewal_date" reads "renewal date"; "contract_end_at" "contract end" */
    if (len > 3 && strcmp(column + len - 3, "_at") == 0)
        len -= 3;
    for (size_t i = 0; i < len && k + 1 < n; i++) {
        char ch = column[i];
        if (ch == '_' || ch == '-' || ch == '.')
            ch = ' ';
        /* camelCase: a space before an upper-case letter after a lower one */
        if (ch >= 'A' && ch <= 'Z' && i > 0 && column[i - 1] >= 'a' &&
            column[i - 1] <= 'z' && k + 2 < n) {
            out[k++] = ' ';
            ch = (char)(ch - 'A' + 'a');
        }
        if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
            continue;
        out[k++] = ch;
    }
    while (k > 0 && out[k - 1] == ' ')
        k--;
    if (n)
        out[k < n ? k : n - 1] = '\0';
}

/* ---- layout ----------------------------------------------------------------
 */

typedef struct layout {
    feat_spec *s;
    size_t cap;
    int oom;
} layout;

static int add_col(layout *L, const char *phrase_fmt, const char *name_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The phrase format may use the same %s arguments as the name (first one). */
static int add_col(layout *L, const char *phrase, const char *name_fmt, ...)
{
    feat_spec *s = L->s;
    if (L->oom)
        return -1;
    if (s->ncols == L->cap) {
        size_t nc = L->cap ? L->cap * 2 : 64;
        char **nn = realloc(s->names, nc * sizeof *nn);
        if (nn)
            s->names = nn;
        char **np = realloc(s->phrases, nc * sizeof *np);
        if (np)
            s->phrases = np;
        feat_info *ni = realloc(s->info, nc * sizeof *ni);
        if (ni)
            s->info = ni;
        if (!nn || !np || !ni) {
            L->oom = 1;
            return -1;
        }
        L->cap = nc;
    }
    char name[512];
    va_list ap;
    va_start(ap, name_fmt);
    vsnprintf(name, sizeof name, name_fmt, ap);
    va_end(ap);
    size_t i = s->ncols++;
    s->names[i] = strdup(name);
    s->phrases[i] = strdup(phrase);
    if (!s->names[i] || !s->phrases[i])
        L->oom = 1;
    s->info[i] = (feat_info){.prev = -1,
                             .unit = FEAT_UNIT_NUMBER,
                             .worse = FEAT_WORSE_UNKNOWN,
                             .same_fact = -1,
                             .since_signup = -1};
    return (int)i;
}

/* Family long_windows: the half and the whole year before t. */
static void layout_long(layout *L)
{
    static const int days[2] = {180, 365};
    feat_cols *c = &L->s->c;
    char phrase[128];
    for (int w = 0; w < 2; w++) {
        snprintf(phrase, sizeof phrase, "product events in the last %d days",
                 days[w]);
        c->ev_total_long[w] =
            add_col(L, phrase, "usage.events_total_%dd", days[w]);
    }
    for (int w = 0; w < 2; w++) {
        snprintf(phrase, sizeof phrase, "active days in the last %d days",
                 days[w]);
        c->act_days_long[w] =
            add_col(L, phrase, "usage.active_days_%dd", days[w]);
    }
}

/* Families type_trends and recency for event type t. */
static void layout_type(layout *L, int t)
{
    feat_spec *s = L->s;
    feat_cols *c = &s->c;
    char human[256], phrase[512];
    feat_humanise(s->types[t], human, sizeof human);
    if (s->families & FEAT_FAM_TYPE_TRENDS) {
        snprintf(phrase, sizeof phrase,
                 "\"%s\" events in the 30 days before that", human);
        c->ev_type_prev30[t] =
            add_col(L, phrase, "usage.events_%s_prev30d", s->types[t]);
        snprintf(phrase, sizeof phrase,
                 "\"%s\" events in the last 30 days compared with the 30 "
                 "days before",
                 human);
        c->ev_type_ratio[t] =
            add_col(L, phrase, "usage.ratio_%s_30d_prev30d", s->types[t]);
    }
    if (s->families & FEAT_FAM_RECENCY) {
        snprintf(phrase, sizeof phrase, "last \"%s\" event", human);
        c->type_since[t] =
            add_col(L, phrase, "usage.days_since_%s", s->types[t]);
    }
    if (s->families & FEAT_FAM_LIFETIME) {
        snprintf(phrase, sizeof phrase, "\"%s\" events since signing up",
                 human);
        c->ev_type_life[t] =
            add_col(L, phrase, "usage.events_%s_lifetime", s->types[t]);
    }
}

/* Family lifetime: the whole history before t, not only the last 90 days.
 * Recency is not capped here: a customer silent for 150 days is not one
 * silent for 95 (purchase logs, yearly products). */
static void layout_lifetime(layout *L)
{
    feat_cols *c = &L->s->c;
    c->life_since = add_col(L, "last product activity (whole history)",
                            "usage.days_since_last_activity_lifetime");
    c->life_total = add_col(L, "product events since signing up",
                            "usage.events_total_lifetime");
    c->life_count = add_col(L, "recorded product events since signing up",
                            "usage.event_rows_lifetime");
    c->life_rate = add_col(L, "product events per 30 days since signing up",
                           "usage.events_per_30d_lifetime");
}

/* Columns that exist only with a family, or per event type, start at -1
 * (absent); the per-type index arrays are sized for this spec's types. */
static vg_code layout_reset(feat_spec *s, vg_error *err)
{
    feat_cols *c = &s->c;
    s->ncols = 0;
    free(c->ev_type);
    free(c->ev_type_prev30);
    free(c->ev_type_ratio);
    free(c->type_since);
    free(c->ev_type_life);
    size_t nt = (size_t)(s->ntypes ? s->ntypes : 1);
    c->ev_type = calloc(nt * FEAT_NWIN, sizeof *c->ev_type);
    c->ev_type_prev30 = malloc(nt * sizeof *c->ev_type_prev30);
    c->ev_type_ratio = malloc(nt * sizeof *c->ev_type_ratio);
    c->type_since = malloc(nt * sizeof *c->type_since);
    c->ev_type_life = malloc(nt * sizeof *c->ev_type_life);
    if (!c->ev_type || !c->ev_type_prev30 || !c->ev_type_ratio ||
        !c->type_since || !c->ev_type_life)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t t = 0; t < nt; t++)
        c->ev_type_prev30[t] = c->ev_type_ratio[t] = c->type_since[t] =
            c->ev_type_life[t] = -1;
    c->life_total = c->life_count = c->life_rate = c->life_since = -1;
    c->ev_total_long[0] = c->ev_total_long[1] = -1;
    c->act_days_long[0] = c->act_days_long[1] = -1;
    c->users_prev30 = c->users_ratio = -1;
    c->t_count_prev30 = c->t_csat_mean30 = c->t_csat_change = -1;
    c->anniv_year = c->anniv_month = -1;
    return VG_OK;
}

/* The core usage columns, then the usage families, then per event type. */
static void layout_usage(layout *L)
{
    feat_spec *s = L->s;
    feat_cols *c = &s->c;
    char phrase[512];
    for (int w = 0; w < FEAT_NWIN; w++) {
        snprintf(phrase, sizeof phrase, "product events in the last %d days",
                 feat_windows[w]);
        c->ev_total[w] =
            add_col(L, phrase, "usage.events_total_%dd", feat_windows[w]);
    }
    c->ev_total_prev30 = add_col(L, "product events in the 30 days before that",
                                 "usage.events_total_prev30d");
    for (int w = 0; w < FEAT_NWIN; w++) {
        snprintf(phrase, sizeof phrase, "active days in the last %d days",
                 feat_windows[w]);
        c->act_days[w] =
            add_col(L, phrase, "usage.active_days_%dd", feat_windows[w]);
    }
    c->act_days_prev30 = add_col(L, "active days in the 30 days before that",
                                 "usage.active_days_prev30d");
    c->users7 = add_col(L, "active users in the last 7 days", "usage.users_7d");
    c->users30 =
        add_col(L, "active users in the last 30 days", "usage.users_30d");
    c->seat_util30 = add_col(L, "share of paid seats used in the last 30 days",
                             "usage.seat_utilisation_30d");
    c->slope12w = add_col(L, "weekly activity trend over 12 weeks",
                          "usage.trend_slope_12w");
    c->ratio30 = add_col(
        L, "activity in the last 30 days compared with the 30 days before",
        "usage.ratio_30d_prev30d");
    c->days_since_activity =
        add_col(L, "last product activity", "usage.days_since_last_activity");
    if (s->families & FEAT_FAM_LONG)
        layout_long(L);
    if (s->families & FEAT_FAM_LIFETIME)
        layout_lifetime(L);
    if (s->families & FEAT_FAM_USERS) {
        c->users_prev30 = add_col(L, "active users in the 30 days before that",
                                  "usage.users_prev30d");
        c->users_ratio = add_col(L,
                                 "active users in the last 30 days compared "
                                 "with the 30 days before",
                                 "usage.ratio_users_30d_prev30d");
    }
    for (int t = 0; t < s->ntypes; t++)
        for (int w = 0; w < FEAT_NWIN; w++) {
            char human[256];
            feat_humanise(s->types[t], human, sizeof human);
            snprintf(phrase, sizeof phrase, "\"%s\" events in the last %d days",
                     human, feat_windows[w]);
            c->ev_type[t * FEAT_NWIN + w] = add_col(
                L, phrase, "usage.events_%s_%dd", s->types[t], feat_windows[w]);
        }
    for (int t = 0; t < s->ntypes; t++)
        layout_type(L, t);
}

static void layout_account(layout *L)
{
    feat_cols *c = &L->s->c;
    c->tenure = add_col(L, "time as a customer", "account.tenure_days");
    c->mrr = add_col(L, "monthly recurring revenue", "account.mrr");
    c->seats = add_col(L, "paid seats", "account.seats");
    if (L->s->families & FEAT_FAM_TENURE) {
        c->anniv_year = add_col(L, "next yearly anniversary of the signup",
                                "account.days_to_anniversary");
        c->anniv_month = add_col(L, "next monthly anniversary of the signup",
                                 "account.days_to_monthly_anniversary");
    }
}

/* Ticket columns: the core ones, family ticket_trends, then one share per
 * known topic. */
static void layout_tickets(layout *L)
{
    feat_spec *s = L->s;
    feat_cols *c = &s->c;
    char phrase[512];
    c->t_count30 =
        add_col(L, "support tickets in the last 30 days", "tickets.count_30d");
    c->t_count90 =
        add_col(L, "support tickets in the last 90 days", "tickets.count_90d");
    for (int p = 0; p < 4; p++) {
        snprintf(phrase, sizeof phrase,
                 "%s-priority tickets in the last 90 days", feat_priorities[p]);
        c->t_prio90[p] =
            add_col(L, phrase, "tickets.%s_90d", feat_priorities[p]);
    }
    c->t_open = add_col(L, "open support tickets", "tickets.open");
    c->t_awaiting = add_col(L, "tickets still waiting for a first response",
                            "tickets.awaiting_response");
    c->t_frt_med = add_col(L, "median time to a first reply (90 days)",
                           "tickets.median_first_response_hours_90d");
    c->t_res_med = add_col(L, "median time to resolve a ticket (90 days)",
                           "tickets.median_resolution_hours_90d");
    c->t_reopens =
        add_col(L, "ticket reopens (90 days)", "tickets.reopens_90d");
    c->t_escal =
        add_col(L, "escalated tickets (90 days)", "tickets.escalations_90d");
    c->t_csat_mean = add_col(L, "average satisfaction rating (90 days)",
                             "tickets.csat_mean_90d");
    c->t_csat_min = add_col(L, "lowest satisfaction rating (90 days)",
                            "tickets.csat_min_90d");
    c->t_csat_n =
        add_col(L, "rated tickets (90 days)", "tickets.csat_count_90d");
    c->t_days_since =
        add_col(L, "last support ticket", "tickets.days_since_last_ticket");
    if (s->families & FEAT_FAM_TICKET_TRENDS) {
        c->t_count_prev30 = add_col(L, "support tickets in the 30 days before",
                                    "tickets.count_prev30d");
        c->t_csat_mean30 = add_col(L, "average satisfaction rating (30 days)",
                                   "tickets.csat_mean_30d");
        c->t_csat_change =
            add_col(L,
                    "change in average satisfaction: last 30 days against the "
                    "60 before",
                    "tickets.csat_change_30d");
    }
    c->t_topic0 = -1;
    for (int t = 0; t < s->ntopics; t++) {
        snprintf(phrase, sizeof phrase,
                 "share of support tickets about \"%s\" (90 days)",
                 s->topic_labels[t]);
        int col =
            add_col(L, phrase, "tickets.topic_share_%lld_90d", s->topic_ids[t]);
        if (t == 0)
            c->t_topic0 = col;
    }
}

/* One column per numeric, boolean or date attribute of customers; one
 * indicator per kept level of a categorical one, plus "other". */
static void layout_attr(layout *L, attr_def *ad)
{
    feat_spec *s = L->s;
    char human[256], phrase[512];
    int col;
    feat_humanise(ad->column, human, sizeof human);
    switch (ad->kind) {
    case ATTR_NUMERIC:
    case ATTR_BOOLEAN:
        ad->col = add_col(L, human, "%s", ad->prefix);
        if (ad->col >= 0 && ad->kind == ATTR_BOOLEAN)
            s->info[ad->col].unit = FEAT_UNIT_YESNO;
        break;
    case ATTR_DATE:
        ad->col = add_col(L, human, "%s_days_from_as_of", ad->prefix);
        if (ad->col >= 0)
            s->info[ad->col].unit = FEAT_UNIT_DAYS_UNTIL;
        break;
    case ATTR_CATEGORICAL:
        ad->col = (int)s->ncols;
        for (int l = 0; l < ad->nlevels; l++) {
            snprintf(phrase, sizeof phrase, "%s is %s", human, ad->levels[l]);
            col = add_col(L, phrase, "%s=%s", ad->prefix, ad->levels[l]);
            if (col >= 0)
                s->info[col].is_indicator = 1;
        }
        snprintf(phrase, sizeof phrase, "%s is a less common value", human);
        col = add_col(L, phrase, "%s=other", ad->prefix);
        if (col >= 0)
            s->info[col].is_indicator = 1;
        break;
    }
}

/* Column col says "never" (scope) when it equals the tenure (a recency
 * counting from the signup) or, for a count, when it is 0. */
static void link_never(feat_spec *s, int col, int recency, int scope)
{
    s->info[col].never_scope = scope;
    if (recency)
        s->info[col].since_signup = s->c.tenure;
}

/* What the reasons need beside each column: its words, the column it is
 * compared with ("30 days before that"), and the cap of a capped recency. */
static void layout_link(feat_spec *s)
{
    feat_cols *c = &s->c;
    for (size_t i = 0; i < s->ncols; i++) {
        s->info[i].name = s->names[i];
        s->info[i].phrase = s->phrases[i];
        feat_word(&s->info[i]);
    }
    s->info[c->ev_total[1]].prev = c->ev_total_prev30;
    s->info[c->act_days[1]].prev = c->act_days_prev30;
    s->info[c->days_since_activity].cap = FEAT_DAYS_SINCE_CAP;
    link_never(s, c->days_since_activity, 1, FEAT_NEVER_ACTIVE);
    if (c->life_since >= 0) {
        s->info[c->days_since_activity].same_fact = c->life_since;
        s->info[c->life_since].same_fact = c->days_since_activity;
        link_never(s, c->life_since, 1, FEAT_NEVER_ACTIVE);
        link_never(s, c->life_total, 0, FEAT_NEVER_ACTIVE);
        link_never(s, c->life_count, 0, FEAT_NEVER_ACTIVE);
        link_never(s, c->life_rate, 0, FEAT_NEVER_ACTIVE);
    }
    s->info[c->users30].prev = c->users_prev30;
    s->info[c->t_count30].prev = c->t_count_prev30;
    for (int t = 0; t < s->ntypes; t++) {
        s->info[c->ev_type[t * FEAT_NWIN + 1]].prev = c->ev_type_prev30[t];
        if (c->type_since[t] >= 0) {
            s->info[c->type_since[t]].cap = FEAT_DAYS_SINCE_CAP;
            link_never(s, c->type_since[t], 1, FEAT_NEVER_TYPE);
        }
        if (c->ev_type_life[t] >= 0)
            link_never(s, c->ev_type_life[t], 0, FEAT_NEVER_TYPE);
    }
}

/* The column order is part of a trained model (its feature names), so the
 * steps below run in a fixed order: usage, account, tickets, attributes. */
vg_code feat_spec_layout(feat_spec *s, vg_error *err)
{
    layout L = {s, 0, 0};
    vg_code rc = layout_reset(s, err);
    if (rc != VG_OK)
        return rc;
    layout_usage(&L);
    layout_account(&L);
    layout_tickets(&L);
    for (int a = 0; a < s->nattrs; a++)
        layout_attr(&L, &s->attrs[a]);
    if (L.oom)
        return vg_fail(err, VG_ENOMEM, "out of memory laying out features");
    layout_link(s);
    return VG_OK;
}

/* ---- discovery
 * --------------------------------------------------------------- */

static int is_excluded(const vg_config *cfg, const char *col)
{
    for (size_t i = 0; i < sizeof contract_columns / sizeof *contract_columns;
         i++)
        if (strcmp(col, contract_columns[i]) == 0)
            return 1;
    for (int i = 0; i < cfg->feat_exclude_n; i++)
        if (strcmp(col, cfg->feat_exclude[i]) == 0)
            return 1;
    return 0;
}

static vg_code discover_types(db_conn *db, const vg_config *cfg,
                              const char *asof, feat_spec *s, vg_error *err)
{
    char *events = db_qualify(db, cfg->source_schema, "usage_events");
    const db_param p[2] = {DB_TEXT(asof), DB_INT(cfg->feat_max_event_types)};
    char sql[1024];
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    if (!events)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    /* A block sample finds every type that matters in a fraction of the
     * time; the full scan is the fallback for small or skewed tables, and
     * the only way for a view (TABLESAMPLE needs a table). */
    const char *rp[1] = {events};
    rc = db_exec(db,
                 "SELECT 1 FROM pg_class WHERE oid = to_regclass($1) "
                 "AND relkind IN ('r', 'm')",
                 1, rp, &r, err);
    int first = (rc == VG_OK && PQntuples(r) == 1) ? 0 : 1;
    for (int pass = first; pass < 2 && rc == VG_OK; pass++) {
        snprintf(sql, sizeof sql,
                 "SELECT event_type FROM %s %s WHERE event_type IS NOT NULL "
                 "AND occurred_at < $1::date AND occurred_at >= $1::date - 90 "
                 "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT $2::int",
                 events,
                 pass == 0 ? "TABLESAMPLE SYSTEM (3) REPEATABLE (7)" : "");
        PQclear(r);
        r = NULL;
        rc = db_exec_params(db, sql, 2, p, &r, err);
        if (rc == VG_OK && PQntuples(r) >= 2)
            break;
    }
    if (rc != VG_OK) {
        vg_wrap(err, "reading %s.usage_events: ", cfg->source_schema);
        goto cleanup;
    }
    s->ntypes = PQntuples(r);
    s->types = calloc((size_t)s->ntypes + 1, sizeof *s->types);
    if (!s->types) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < s->ntypes; i++)
        s->types[i] = strdup(PQgetvalue(r, i, 0));
    /* Sorted by name so the column order does not depend on counts. */
    for (int i = 1; i < s->ntypes; i++)
        for (int j = i; j > 0 && strcmp(s->types[j - 1], s->types[j]) > 0;
             j--) {
            char *t = s->types[j];
            s->types[j] = s->types[j - 1];
            s->types[j - 1] = t;
        }
cleanup:
    PQclear(r);
    free(events);
    return rc;
}

static vg_code discover_levels(db_conn *db, const vg_config *cfg,
                               const char *customers, const char *asof,
                               attr_def *ad, vg_error *err)
{
    char *col = db_quote_ident(db, ad->column);
    const db_param p[2] = {DB_TEXT(asof), DB_INT(cfg->feat_max_categories)};
    size_t n = strlen(col) * 3 + strlen(customers) + 256;
    char *sql = malloc(n);
    PGresult *r = NULL;
    vg_code rc = VG_OK;
    if (!col || !sql) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(sql, n,
             "SELECT %s::text FROM %s WHERE %s IS NOT NULL AND created_at < "
             "$1::date "
             "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT $2::int",
             col, customers, col);
    rc = db_exec_params(db, sql, 2, p, &r, err);
    if (rc != VG_OK)
        goto cleanup;
    ad->nlevels = PQntuples(r);
    ad->levels = calloc((size_t)ad->nlevels + 1, sizeof *ad->levels);
    if (!ad->levels) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < ad->nlevels; i++)
        ad->levels[i] = strdup(PQgetvalue(r, i, 0));
cleanup:
    PQclear(r);
    free(sql);
    free(col);
    return rc;
}

/* The topics with the most tickets of the 90 days before as_of, counted by
 * each ticket's FIRST topic from a `vigil topics` run for a date <= as_of:
 * later runs re-assign tickets with models that saw later tickets. None when
 * the topic engine never ran (or features.max_topics is 0). */
static vg_code discover_topics(db_conn *db, const vg_config *cfg,
                               const char *asof, feat_spec *s, vg_error *err)
{
    if (cfg->feat_max_topics <= 0)
        return VG_OK;
    PGresult *r = NULL;
    vg_code rc = db_exec(db,
                         "SELECT to_regclass('vigil.ticket_topics') IS NOT "
                         "NULL AND EXISTS (SELECT 1 FROM "
                         "information_schema.columns WHERE table_schema = "
                         "'vigil' AND table_name = 'ticket_topics' AND "
                         "column_name = 'first_topic_id')",
                         0, NULL, &r, err);
    int have = rc == VG_OK && PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    r = NULL;
    if (rc != VG_OK || !have)
        return rc;
    char *tickets = db_qualify(db, cfg->source_schema, "tickets");
    char sql[1024];
    if (!tickets)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    snprintf(sql, sizeof sql,
             "SELECT tt.first_topic_id, coalesce(tp.label, '') "
             "FROM vigil.ticket_topics tt JOIN %s t ON t.ticket_id = "
             "tt.ticket_id LEFT JOIN vigil.topics tp ON tp.topic_id = "
             "tt.first_topic_id "
             "WHERE tt.first_topic_id IS NOT NULL AND tt.first_assigned_on <= "
             "$1::date AND t.created_at >= ($1::date - 90)::timestamp AT TIME "
             "ZONE 'UTC' AND t.created_at < $1::date::timestamp AT TIME ZONE "
             "'UTC' GROUP BY 1, 2 ORDER BY count(*) DESC, 1 LIMIT $2::int",
             tickets);
    const db_param p[2] = {DB_TEXT(asof), DB_INT(cfg->feat_max_topics)};
    rc = db_exec_params(db, sql, 2, p, &r, err);
    free(tickets);
    if (rc != VG_OK)
        return rc;
    int n = PQntuples(r);
    s->topic_ids = calloc((size_t)n + 1, sizeof *s->topic_ids);
    s->topic_labels = calloc((size_t)n + 1, sizeof *s->topic_labels);
    if (!s->topic_ids || !s->topic_labels)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    for (int i = 0; rc == VG_OK && i < n; i++) {
        s->topic_ids[i] = atoll(PQgetvalue(r, i, 0));
        s->topic_labels[i] = strdup(PQgetvalue(r, i, 1));
        if (!s->topic_labels[i])
            rc = vg_fail(err, VG_ENOMEM, "out of memory");
        else
            s->ntopics++;
    }
    PQclear(r);
    return rc;
}

/* The family bit of a name, 0 when unknown. */
static unsigned family_bit(const char *name)
{
    for (int i = 0; i < FEAT_NFAM; i++)
        if (strcmp(name, feat_family_names[i]) == 0)
            return 1u << i;
    return 0;
}

static vg_code parse_families(const vg_config *cfg, feat_spec *s, vg_error *err)
{
    for (int i = 0; i < cfg->feat_families_n; i++) {
        unsigned bit = family_bit(cfg->feat_families[i]);
        if (!bit)
            return vg_fail(err, VG_ECONFIG,
                           "config key 'features.families': unknown family "
                           "'%s'",
                           cfg->feat_families[i]);
        s->families |= bit;
    }
    return VG_OK;
}

/* What a customers column becomes, from its SQL type; 0 when it is not a
 * feature (arrays, json, ...). */
static int attr_kind_of(const char *type, attr_kind *kind)
{
    if (!strcmp(type, "smallint") || !strcmp(type, "integer") ||
        !strcmp(type, "bigint") || !strcmp(type, "numeric") ||
        !strcmp(type, "real") || !strcmp(type, "double precision"))
        *kind = ATTR_NUMERIC;
    else if (!strcmp(type, "boolean"))
        *kind = ATTR_BOOLEAN;
    else if (!strcmp(type, "date") || !strncmp(type, "timestamp", 9))
        *kind = ATTR_DATE;
    else if (!strcmp(type, "text") || !strcmp(type, "character varying") ||
             !strcmp(type, "character"))
        *kind = ATTR_CATEGORICAL;
    else
        return 0;
    return 1;
}

/* One customers column as an attribute: its name, feature prefix and, for a
 * categorical one, its levels as of the date. */
static vg_code add_attr(db_conn *db, const vg_config *cfg,
                        const char *customers, const char *asof,
                        const char *col, attr_kind kind, feat_spec *s,
                        vg_error *err)
{
    attr_def *ad = &s->attrs[s->nattrs++];
    ad->column = strdup(col);
    size_t n = strlen(col) + 16;
    ad->prefix = malloc(n);
    if (!ad->column || !ad->prefix)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    int account = !strcmp(col, "plan") || !strcmp(col, "language");
    snprintf(ad->prefix, n, "%s.%s", account ? "account" : "attr", col);
    ad->kind = kind;
    if (kind == ATTR_CATEGORICAL)
        return discover_levels(db, cfg, customers, asof, ad, err);
    return VG_OK;
}

/* The attributes: every column of the customers relation that is not
 * excluded and has a type a feature can come from. */
static vg_code discover_attrs(db_conn *db, const vg_config *cfg,
                              const char *customers, const char *asof,
                              feat_spec *s, vg_error *err)
{
    PGresult *r = NULL;
    /* information_schema sees tables and views alike. */
    const char *p[1] = {cfg->source_schema};
    vg_code rc =
        db_exec(db,
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = $1 AND table_name = 'customers' ORDER BY "
                "ordinal_position",
                1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    if (PQntuples(r) == 0) {
        rc = vg_fail(
            err, VG_EDATA,
            "no relation %s.customers: map your data to the contract's tables "
            "or set source.schema in the config",
            cfg->source_schema);
        goto cleanup;
    }
    s->attrs = calloc((size_t)PQntuples(r), sizeof *s->attrs);
    if (!s->attrs) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    for (int i = 0; i < PQntuples(r) && rc == VG_OK; i++) {
        const char *col = PQgetvalue(r, i, 0);
        attr_kind kind;
        if (!is_excluded(cfg, col) && attr_kind_of(PQgetvalue(r, i, 1), &kind))
            rc = add_attr(db, cfg, customers, asof, col, kind, s, err);
    }
cleanup:
    PQclear(r);
    return rc;
}

vg_code feat_spec_discover(db_conn *db, const vg_config *cfg, int as_of_day,
                           feat_spec **out, vg_error *err)
{
    char asof[DATE_BUF];
    date_format(as_of_day, asof);
    feat_spec *s = calloc(1, sizeof *s);
    char *customers = db_qualify(db, cfg->source_schema, "customers");
    vg_code rc = VG_OK;
    *out = NULL;
    if (!s || !customers) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    if ((rc = parse_families(cfg, s, err)) != VG_OK ||
        (rc = discover_types(db, cfg, asof, s, err)) != VG_OK ||
        (rc = discover_attrs(db, cfg, customers, asof, s, err)) != VG_OK ||
        (rc = discover_topics(db, cfg, asof, s, err)) != VG_OK)
        goto cleanup;
    rc = feat_spec_layout(s, err);
cleanup:
    free(customers);
    if (rc == VG_OK)
        *out = s;
    else
        feat_spec_free(s);
    return rc;
}

/* ---- JSON ---------------------------------------------------------------- */

static const char *const kind_names[] = {"numeric", "boolean", "date",
                                         "categorical"};

json_t *feat_spec_to_json(const feat_spec *s)
{
    json_t *types = json_array(), *attrs = json_array(), *cols = json_array();
    for (int i = 0; i < s->ntypes; i++)
        json_array_append_new(types, json_string(s->types[i]));
    for (int i = 0; i < s->nattrs; i++) {
        json_t *lv = json_array();
        for (int l = 0; l < s->attrs[i].nlevels; l++)
            json_array_append_new(lv, json_string(s->attrs[i].levels[l]));
        json_array_append_new(attrs, json_pack("{s:s, s:s, s:s, s:o}", "column",
                                               s->attrs[i].column, "prefix",
                                               s->attrs[i].prefix, "kind",
                                               kind_names[s->attrs[i].kind],
                                               "levels", lv));
    }
    for (size_t i = 0; i < s->ncols; i++)
        json_array_append_new(cols, json_string(s->names[i]));
    json_t *topics = json_array();
    for (int i = 0; i < s->ntopics; i++)
        json_array_append_new(topics, json_pack("{s:I, s:s}", "id",
                                                (json_int_t)s->topic_ids[i],
                                                "label", s->topic_labels[i]));
    json_t *fams = json_array();
    for (int i = 0; i < FEAT_NFAM; i++)
        if (s->families & (1u << i))
            json_array_append_new(fams, json_string(feat_family_names[i]));
    return json_pack("{s:i, s:o, s:o, s:o, s:o, s:o}", "version", 1,
                     "event_types", types, "attributes", attrs, "columns", cols,
                     "topics", topics, "families", fams);
}

/* A stored model's lists, read back one at a time. Each fails with
 * VG_EMODEL on a shape this vigil never writes (a hand-edited or corrupt
 * row), so the message says to retrain rather than crash. */
static vg_code read_types(feat_spec *s, const json_t *types, vg_error *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v)
    {
        if (!json_is_string(v))
            return vg_fail(err, VG_EMODEL, "model feature list is malformed");
        s->types[s->ntypes] = strdup(json_string_value(v));
        if (!s->types[s->ntypes++])
            return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    return VG_OK;
}

static vg_code read_attr(attr_def *ad, const json_t *v, vg_error *err)
{
    const char *column = NULL, *prefix = NULL, *kind = NULL;
    json_t *lv = NULL, *lvv;
    size_t l;
    if (json_unpack((json_t *)v, "{s:s, s:s, s:s, s:o}", "column", &column,
                    "prefix", &prefix, "kind", &kind, "levels", &lv) != 0 ||
        !json_is_array(lv))
        return vg_fail(err, VG_EMODEL, "model attribute list is malformed");
    ad->column = strdup(column);
    ad->prefix = strdup(prefix);
    ad->kind = ATTR_NUMERIC;
    for (int k = 0; k < 4; k++)
        if (!strcmp(kind, kind_names[k]))
            ad->kind = (attr_kind)k;
    ad->levels = calloc(json_array_size(lv) + 1, sizeof *ad->levels);
    if (!ad->column || !ad->prefix || !ad->levels)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    json_array_foreach(lv, l, lvv)
    {
        ad->levels[ad->nlevels] =
            strdup(json_is_string(lvv) ? json_string_value(lvv) : "");
        if (!ad->levels[ad->nlevels++])
            return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    return VG_OK;
}

/* Models stored before feature families have none. */
static vg_code read_families(feat_spec *s, const json_t *fams, vg_error *err)
{
    size_t i;
    json_t *v;
    json_array_foreach(fams, i, v)
    {
        unsigned bit = json_is_string(v) ? family_bit(json_string_value(v)) : 0;
        if (!bit)
            return vg_fail(err, VG_EMODEL,
                           "model uses feature family '%s', which this vigil "
                           "does not compute: retrain with `vigil train`",
                           json_is_string(v) ? json_string_value(v) : "?");
        s->families |= bit;
    }
    return VG_OK;
}

/* Models stored before topic features have no "topics": none. */
static vg_code read_topics(feat_spec *s, const json_t *topics, vg_error *err)
{
    size_t i;
    json_t *v;
    if (!json_is_array(topics) || json_array_size(topics) == 0)
        return VG_OK;
    s->topic_ids = calloc(json_array_size(topics), sizeof *s->topic_ids);
    s->topic_labels = calloc(json_array_size(topics), sizeof *s->topic_labels);
    if (!s->topic_ids || !s->topic_labels)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    json_array_foreach(topics, i, v)
    {
        json_int_t id = 0;
        const char *label = NULL;
        if (json_unpack(v, "{s:I, s:s}", "id", &id, "label", &label) != 0)
            return vg_fail(err, VG_EMODEL, "model topic list is malformed");
        s->topic_ids[s->ntopics] = (long long)id;
        s->topic_labels[s->ntopics] = strdup(label);
        if (!s->topic_labels[s->ntopics++])
            return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    return VG_OK;
}

/* The stored names must match the layout this vigil produces: a model
 * trained by an older or newer vigil with other columns is refused. */
static vg_code check_columns(const feat_spec *s, const json_t *cols,
                             vg_error *err)
{
    size_t i;
    json_t *v;
    if (json_array_size(cols) != s->ncols)
        return vg_fail(err, VG_EMODEL,
                       "model has %zu features, this vigil lays out %zu: "
                       "retrain with `vigil train`",
                       json_array_size(cols), s->ncols);
    json_array_foreach(cols, i, v)
    {
        if (!json_is_string(v) ||
            strcmp(json_string_value(v), s->names[i]) != 0)
            return vg_fail(err, VG_EMODEL,
                           "model feature %zu is '%s', expected '%s': retrain "
                           "with `vigil train`",
                           i, json_is_string(v) ? json_string_value(v) : "?",
                           s->names[i]);
    }
    return VG_OK;
}

/* The spec a JSON object describes; with `check`, its stored column names
 * must be those this vigil lays out (a stored model); without, they are
 * laid out anew (a copy with other families). */
static vg_code spec_parse(const json_t *j, int check, feat_spec **out,
                          vg_error *err)
{
    *out = NULL;
    json_t *types = json_object_get(j, "event_types");
    json_t *attrs = json_object_get(j, "attributes");
    json_t *cols = json_object_get(j, "columns");
    if (!json_is_array(types) || !json_is_array(attrs) || !json_is_array(cols))
        return vg_fail(err, VG_EMODEL, "model feature list is malformed");
    feat_spec *s = calloc(1, sizeof *s);
    vg_code rc = VG_OK;
    size_t i;
    json_t *v;
    if (!s)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    s->types = calloc(json_array_size(types) + 1, sizeof *s->types);
    s->attrs = calloc(json_array_size(attrs) + 1, sizeof *s->attrs);
    if (!s->types || !s->attrs) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    rc = read_types(s, types, err);
    json_array_foreach(attrs, i, v)
    {
        if (rc != VG_OK)
            break;
        rc = read_attr(&s->attrs[s->nattrs++], v, err);
    }
    if (rc == VG_OK)
        rc = read_families(s, json_object_get(j, "families"), err);
    if (rc == VG_OK)
        rc = read_topics(s, json_object_get(j, "topics"), err);
    if (rc == VG_OK)
        rc = feat_spec_layout(s, err);
    if (rc == VG_OK && check)
        rc = check_columns(s, cols, err);
cleanup:
    if (rc == VG_OK)
        *out = s;
    else
        feat_spec_free(s);
    return rc;
}

vg_code feat_spec_from_json(const json_t *j, feat_spec **out, vg_error *err)
{
    return spec_parse(j, 1, out, err);
}

int feat_spec_nfamilies(const feat_spec *s)
{
    int n = 0;
    for (int i = 0; i < FEAT_NFAM; i++)
        n += (s->families & (1u << i)) != 0;
    return n;
}

const char *feat_spec_family(const feat_spec *s, int i)
{
    for (int f = 0; f < FEAT_NFAM; f++)
        if ((s->families & (1u << f)) && i-- == 0)
            return feat_family_names[f];
    return NULL;
}

/* Through the JSON a model is stored as: the copy is laid out by the same
 * code that lays out a stored model for `score`, so what train keeps is
 * what score computes. */
vg_code feat_spec_without_family(const feat_spec *s, const char *family,
                                 feat_spec **out, vg_error *err)
{
    unsigned bit = family_bit(family);
    *out = NULL;
    if (!bit || !(s->families & bit))
        return vg_fail(err, VG_EINTERNAL,
                       "feature family '%s' is not in the spec", family);
    json_t *j = feat_spec_to_json(s), *fams = json_array();
    if (!j || !fams) {
        json_decref(j);
        json_decref(fams);
        return vg_fail(err, VG_ENOMEM, "out of memory");
    }
    for (int i = 0; i < FEAT_NFAM; i++)
        if ((s->families & ~bit) & (1u << i))
            json_array_append_new(fams, json_string(feat_family_names[i]));
    json_object_set_new(j, "families", fams);
    vg_code rc = spec_parse(j, 0, out, err);
    json_decref(j);
    return rc;
}
