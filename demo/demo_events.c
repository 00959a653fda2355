/* demo_events.c — streams one customer's usage events (sessions, machine
 * traffic, injected dirty rows) into a COPY; nothing is kept past the row. */
#include "demo/demo_internal.h"

#include <stdio.h>
#include <string.h>

enum { ST_EVENTS = 5 };

enum {
    EV_LOGIN,
    EV_DASHBOARD,
    EV_REPORT,
    EV_EXPORT,
    EV_API,
    EV_INVITE,
    EV_SYNC,
    EV_NTYPES
};
static const char *const ev_name[EV_NTYPES] = {
    "login",    "dashboard_view", "report_run",      "export",
    "api_call", "invite_user",    "integration_sync"};

typedef struct ev_row {
    int64_t ts;
    int type;
    int user; /* 0 = NULL */
    long quantity;
    int has_quantity;
} ev_row;

typedef struct ev_state {
    const demo_ctx *x;
    const demo_cust *c;
    db_copy_in *cp;
    demo_rng r;
    demo_event_counts *counts;
    int forced; /* dirty kind this customer must carry, or -1 */
} ev_state;

static vg_code write_row(ev_state *s, const char *cust, const ev_row *e,
                         int null_ts, int null_type, vg_error *err)
{
    char ts[32], user[32], qty[24];
    db_copy_field(s->cp, cust);
    if (null_ts) {
        db_copy_field_null(s->cp);
    } else {
        demo_fmt_ts(ts, e->ts);
        db_copy_field(s->cp, ts);
    }
    db_copy_field(s->cp, null_type ? NULL : ev_name[e->type]);
    if (e->user) {
        snprintf(user, sizeof user, "%s-u%d", s->c->id, e->user);
        db_copy_field(s->cp, user);
    } else {
        db_copy_field_null(s->cp);
    }
    if (e->has_quantity) {
        snprintf(qty, sizeof qty, "%ld", e->quantity);
        db_copy_field(s->cp, qty);
    } else {
        db_copy_field_null(s->cp);
    }
    s->counts->rows++;
    return db_copy_row_end(s->cp, err);
}

/* One dirty variant of a clean event, written right after it. */
static vg_code write_dirty(ev_state *s, const ev_row *e, int kind,
                           vg_error *err)
{
    ev_row d = *e;
    char unknown[16];
    const char *cust = s->c->id;
    int null_ts = 0, null_type = 0;
    switch (kind) {
    case DE_UNKNOWN_CUSTOMER:
        demo_unknown_customer_id(&s->r, unknown);
        cust = unknown;
        break;
    case DE_NULL_CUSTOMER:
        cust = NULL;
        break;
    case DE_NULL_OCCURRED_AT:
        null_ts = 1;
        break;
    case DE_NULL_EVENT_TYPE:
        null_type = 1;
        break;
    case DE_NEGATIVE_QUANTITY:
        d.type = EV_API;
        d.has_quantity = 1;
        d.quantity = -demo_rng_range(&s->r, 1, 500);
        break;
    case DE_FUTURE_TIMESTAMP: {
        /* Clock-skewed devices (days ahead) and placeholder dates (2099). */
        int sod = (int)(e->ts % 86400);
        int day = demo_rng_chance(&s->r, 0.5)
                      ? demo_day_from_civil(2099, 1, 1) +
                            (int)demo_rng_range(&s->r, 0, 364)
                      : s->x->end_day + (int)demo_rng_range(&s->r, 1, 90);
        d.ts = (int64_t)day * 86400 + sod;
        break;
    }
    default: /* DE_DUPLICATE: the same row again */
        break;
    }
    s->counts->dirty[kind]++;
    return write_row(s, cust, &d, null_ts, null_type, err);
}

static vg_code emit(ev_state *s, const ev_row *e, vg_error *err)
{
    vg_code rc = write_row(s, s->c->id, e, 0, 0, err);
    if (rc != VG_OK)
        return rc;
    /* Small runs still get every kind: the first active customers each
     * carry one. */
    if (s->forced >= 0) {
        int kind = s->forced;
        s->forced = -1;
        rc = write_dirty(s, e, kind, err);
        if (rc != VG_OK)
            return rc;
    }
    if (demo_rng_chance(&s->r, s->x->dirty_share))
        rc = write_dirty(
            s, e, (int)demo_rng_range(&s->r, 0, DEMO_NDIRTY_EV - 1), err);
    return rc;
}

/* Seconds into the UTC day during the customer's office hours. */
static int office_second(demo_rng *r, int tz)
{
    double local = 13.0 * 3600 + demo_rng_fastnorm(r) * 2.8 * 3600;
    long s = ((long)local - tz) % 86400;
    return (int)(s < 0 ? s + 86400 : s);
}

/* The people's sessions of one day: a login (mostly), then actions a few
 * minutes apart, each session kept inside the day and the customer's life. */
static vg_code emit_sessions(ev_state *s, int day, double base, vg_error *err)
{
    const demo_ctx *x = s->x;
    const demo_cust *c = s->c;
    demo_rng *r = &s->r;
    const int64_t lo = c->created_ts;
    const int64_t hi = c->canceled_ts >= 0 ? c->canceled_ts : INT64_MAX;
    int64_t d0 = (int64_t)day * 86400, d1 = d0 + 86400;
    int age = day - c->created_day;
    /* Fewer distinct people show up when engagement sags. */
    double share = base / c->ev_base;
    share = share > 1 ? 1 : share;
    int active = (int)(c->n_users * pow(share, 0.7) + 0.5);
    active = active < 1 ? 1 : active;
    /* Human actions inside a session, by type (login is always first). */
    double action_w[EV_NTYPES] = {0, 48, 24, 12, 0, 3, 0};
    action_w[EV_INVITE] = age < 45 ? 15 : 2;
    action_w[EV_EXPORT] = c->csv_affected && day >= x->csv_onset ? 3 : 12;

    vg_code rc = VG_OK;
    int weekend = demo_weekday(day) >= 5;
    int sessions =
        demo_rng_poisson(r, base * (weekend ? 0.22 : 1.0) * 0.78 / 2.4);
    for (int k = 0; k < sessions && rc == VG_OK; k++) {
        double u = demo_rng_unif(r);
        ev_row e = {.user = 1 + (int)(active * u * u)};
        e.ts = d0 + office_second(r, c->tz_offset);
        int first = 1;
        do {
            e.type = first && demo_rng_chance(r, 0.8)
                         ? EV_LOGIN
                         : demo_rng_pick(r, action_w, EV_NTYPES);
            if (!first)
                e.ts += demo_rng_range(r, 15, 900);
            first = 0;
            if (e.ts > lo && e.ts < hi && e.ts < d1 && e.ts >= d0)
                rc = emit(s, &e, err);
        } while (rc == VG_OK && demo_rng_chance(r, 0.615));
    }
    return rc;
}

/* Machine traffic of one day, at any hour: API calls (with a quantity) or
 * integration syncs (type EV_SYNC). */
static vg_code emit_machine(ev_state *s, int day, double base, int type,
                            vg_error *err)
{
    const demo_cust *c = s->c;
    demo_rng *r = &s->r;
    const int64_t lo = c->created_ts;
    const int64_t hi = c->canceled_ts >= 0 ? c->canceled_ts : INT64_MAX;
    int64_t d0 = (int64_t)day * 86400;
    int weekend = demo_weekday(day) >= 5, api = type == EV_API;
    double quiet = api ? 0.6 : 0.7, rate = api ? 0.22 : 0.12;
    int n = demo_rng_poisson(r, base * (weekend ? quiet : 1.0) * rate);
    vg_code rc = VG_OK;
    for (int k = 0; k < n && rc == VG_OK; k++) {
        ev_row e = {.type = type};
        if (api) {
            e.user = 1 + (int)demo_rng_range(r, 0, 1);
            e.has_quantity = 1;
        }
        e.ts = d0 + demo_rng_range(r, 0, 86399);
        if (api)
            e.quantity = (long)exp(demo_rng_unif(r) * log(1000.0));
        if (e.ts > lo && e.ts < hi)
            rc = emit(s, &e, err);
    }
    return rc;
}

vg_code demo_emit_events(const demo_ctx *x, const demo_cust *c, db_copy_in *cp,
                         demo_event_counts *counts, vg_error *err)
{
    ev_state s = {.x = x, .c = c, .cp = cp, .counts = counts};
    int rank = demo_forced_rank(x, c->idx);
    s.forced = rank >= 0 ? rank % DEMO_NDIRTY_EV : -1;
    demo_rng_seed(&s.r, x->seed, (uint64_t)c->idx, ST_EVENTS);
    vg_code rc = VG_OK;
    const int W = x->window_start;

    for (int day = c->first_day; day < c->end_day && rc == VG_OK; day++) {
        double base = c->ev_rate[day - W];
        if (base <= 0)
            continue;
        rc = emit_sessions(&s, day, base, err);
        if (c->has_api && rc == VG_OK)
            rc = emit_machine(&s, day, base, EV_API, err);
        if (c->has_integration && rc == VG_OK)
            rc = emit_machine(&s, day, base, EV_SYNC, err);
    }
    if (rc != VG_OK)
        return rc;
    /* A customer too quiet to have any event still carries its forced dirty
     * row, attached to a synthetic login right after signup. */
    if (s.forced >= 0) {
        const int64_t hi = c->canceled_ts >= 0 ? c->canceled_ts : INT64_MAX;
        int64_t w0 = (int64_t)W * 86400;
        ev_row e = {.type = EV_LOGIN,
                    .user = 1,
                    .ts = (c->created_ts > w0 ? c->created_ts : w0) + 60};
        if (e.ts < hi && e.ts < (int64_t)x->end_day * 86400)
            rc = emit(&s, &e, err);
    }
    return rc;
}
