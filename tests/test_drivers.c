/* test_drivers.c — the wording of reasons (pure functions): column names
 * as words, units rounded for people, a direction, only warning signs shown
 * as risks, themes with a next step, and what changed since the previous
 * score. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "features/spec.h"
#include "score/drivers.h"

static feat_info worded(const char *name, const char *phrase, int prev,
                        double cap)
{
    feat_info fi = {.name = name,
                    .phrase = phrase,
                    .prev = prev,
                    .cap = cap,
                    .same_fact = -1,
                    .since_signup = -1};
    feat_word(&fi);
    return fi;
}

static void check_humanise(void)
{
    char h[64];
    feat_humanise("employee_count", h, sizeof h);
    CHECK_STR_EQ(h, "employee count");
    feat_humanise("renewal_date", h, sizeof h);
    CHECK_STR_EQ(h, "renewal date");
    feat_humanise("contract_end_at", h, sizeof h);
    CHECK_STR_EQ(h, "contract end");
    feat_humanise("numberOfSeats", h, sizeof h);
    CHECK_STR_EQ(h, "number of seats");
    feat_humanise("__odd__name_", h, sizeof h);
    CHECK_STR_EQ(h, "odd name");
}

static void check_units(void)
{
    char v[96];
    feat_info ago =
        worded("tickets.days_since_last_ticket", "last support ticket", -1, 0);
    CHECK_INT_EQ(ago.unit, FEAT_UNIT_DAYS_AGO);
    drivers_format_value(&ago, 0.45, v, sizeof v);
    CHECK_STR_EQ(v, "within the last day");
    drivers_format_value(&ago, 12.4, v, sizeof v);
    CHECK_STR_EQ(v, "12 days ago");
    drivers_format_value(&ago, 400, v, sizeof v);
    CHECK_STR_EQ(v, "13 months ago");

    feat_info frt = worded("tickets.median_first_response_hours_90d",
                           "median time to a first reply (90 days)", -1, 0);
    CHECK_INT_EQ(frt.unit, FEAT_UNIT_HOURS);
    drivers_format_value(&frt, 0.4, v, sizeof v);
    CHECK_STR_EQ(v, "under an hour");
    drivers_format_value(&frt, 1.1, v, sizeof v);
    CHECK_STR_EQ(v, "1 hour");
    drivers_format_value(&frt, 6.2, v, sizeof v);
    CHECK_STR_EQ(v, "6 hours");
    drivers_format_value(&frt, 100, v, sizeof v);
    CHECK_STR_EQ(v, "4 days");

    feat_info seats =
        worded("usage.seat_utilisation_30d", "share of paid seats used", -1, 0);
    drivers_format_value(&seats, 0.254, v, sizeof v);
    CHECK_STR_EQ(v, "25%");
    feat_info mrr = worded("account.mrr", "monthly recurring revenue", -1, 0);
    drivers_format_value(&mrr, 12500.4, v, sizeof v);
    CHECK_STR_EQ(v, "12,500 a month");
    feat_info csat = worded("tickets.csat_mean_90d",
                            "average satisfaction rating (90 days)", -1, 0);
    drivers_format_value(&csat, 2.46, v, sizeof v);
    CHECK_STR_EQ(v, "2.5 of 5");
    drivers_format_value(&csat, 2, v, sizeof v);
    CHECK_STR_EQ(v, "2 of 5");
    feat_info tenure =
        worded("account.tenure_days", "time as a customer", -1, 0);
    CHECK_STR_EQ(tenure.theme, "onboarding");
    CHECK_INT_EQ(tenure.profile, 1);
    CHECK_STR_EQ(drivers_theme_for(&tenure, 40), "onboarding");
    CHECK_STR_EQ(drivers_theme_for(&tenure, 800), "commercial");
    drivers_format_value(&tenure, 45.3, v, sizeof v);
    CHECK_STR_EQ(v, "45 days");
    drivers_format_value(&tenure, 1000, v, sizeof v);
    CHECK_STR_EQ(v, "2.7 years");
    feat_info slope =
        worded("usage.trend_slope_12w", "weekly activity trend", -1, 0);
    drivers_format_value(&slope, -3.4, v, sizeof v);
    CHECK_STR_EQ(v, "falling by 3 events a week, each week");
    feat_info tickets = worded("tickets.count_30d",
                               "support tickets in the last 30 days", -1, 0);
    drivers_format_value(&tickets, 2.0, v, sizeof v);
    CHECK_STR_EQ(v, "2");
    drivers_format_value(&tickets, NAN, v, sizeof v);
    CHECK_STR_EQ(v, "none on record");
}

static void check_texts(void)
{
    char t[512];
    feat_info act = worded("usage.active_days_30d",
                           "active days in the last 30 days", 5, 0);
    CHECK_STR_EQ(act.theme, "adoption");
    drivers_text(&act, 3, 18, 20, t, sizeof t);
    CHECK_STR_EQ(t, "active days in the last 30 days fell from 18 to 3");
    CHECK_STR_EQ(drivers_direction(&act, 3, 18, 20), "worse");
    drivers_text(&act, 18, 3, NAN, t, sizeof t);
    CHECK_STR_EQ(t, "active days in the last 30 days rose from 3 to 18");
    CHECK_STR_EQ(drivers_direction(&act, 18, 3, NAN), "better");
    drivers_text(&act, 4.2, 4, NAN, t, sizeof t);
    CHECK_STR_EQ(t, "active days in the last 30 days stayed at 4");
    CHECK_STR_EQ(drivers_direction(&act, 4.2, 4, NAN), "typical");

    feat_info tick = worded("tickets.count_30d",
                            "support tickets in the last 30 days", -1, 0);
    CHECK_STR_EQ(tick.theme, "support_friction");
    drivers_text(&tick, 6, NAN, 0, t, sizeof t);
    CHECK_STR_EQ(
        t, "support tickets in the last 30 days: 6 (typical customer: 0)");
    CHECK_STR_EQ(drivers_direction(&tick, 6, NAN, 0), "worse");

    /* the examples: no fractions of days, fast support is better */
    feat_info ago =
        worded("tickets.days_since_last_ticket", "last support ticket", -1, 0);
    drivers_text(&ago, 0.45, NAN, 12, t, sizeof t);
    CHECK_STR_EQ(t, "last support ticket: within the last day (typical "
                    "customer: 12 days ago)");
    feat_info frt = worded("tickets.median_first_response_hours_90d",
                           "median time to a first reply (90 days)", -1, 0);
    drivers_text(&frt, 1.1, NAN, 6.2, t, sizeof t);
    CHECK_STR_EQ(t, "median time to a first reply (90 days): 1 hour "
                    "(typical customer: 6 hours)");
    CHECK_STR_EQ(drivers_direction(&frt, 1.1, NAN, 6.2), "better");
    CHECK_STR_EQ(drivers_direction(&frt, 30, NAN, 6.2), "worse");
    /* within a tenth of the reference is no warning sign, though the
     * rounded values differ ("41 hours", typical "40 hours"); the words
     * of a change stay exact ("fell from 20 to 19") */
    CHECK_STR_EQ(drivers_direction(&frt, 41, NAN, 40), "typical");
    CHECK_STR_EQ(drivers_direction(&frt, 45, NAN, 40), "worse");
    CHECK_STR_EQ(drivers_direction(&act, 19, 20, NAN), "typical");
    drivers_text(&act, 19, 20, NAN, t, sizeof t);
    CHECK_STR_EQ(t, "active days in the last 30 days fell from 20 to 19");

    feat_info renew = {.name = "attr.renewal_date_days_from_as_of",
                       .phrase = "renewal date",
                       .prev = -1,
                       .unit = FEAT_UNIT_DAYS_UNTIL,
                       .same_fact = -1,
                       .since_signup = -1};
    feat_word(&renew);
    CHECK_INT_EQ(renew.profile, 1);
    drivers_text(&renew, 18, NAN, 120, t, sizeof t);
    CHECK_STR_EQ(t, "renewal date: in 18 days");
    drivers_text(&renew, -3, NAN, 120, t, sizeof t);
    CHECK_STR_EQ(t, "renewal date: 3 days ago");

    feat_info ind = {.name = "account.plan=starter",
                     .phrase = "plan is starter",
                     .prev = -1,
                     .is_indicator = 1,
                     .same_fact = -1,
                     .since_signup = -1};
    feat_word(&ind);
    drivers_text(&ind, 1, NAN, NAN, t, sizeof t);
    CHECK_STR_EQ(t, "plan is starter");
    drivers_text(&ind, 0, NAN, NAN, t, sizeof t);
    CHECK_STR_EQ(t, "plan is not starter");
    CHECK_STR_EQ(drivers_direction(&ind, 1, NAN, 0), "fact");

    feat_info capped = worded("usage.days_since_last_activity",
                              "last product activity", -1, 91);
    drivers_text(&capped, 91, NAN, 7, t, sizeof t);
    CHECK_STR_EQ(t, "last product activity: over 90 days ago (typical "
                    "customer: 7 days ago)");
    CHECK_STR_EQ(drivers_direction(&capped, 91, NAN, 7), "worse");
    feat_info share =
        worded("usage.seat_utilisation_30d", "share of paid seats used", -1, 0);
    drivers_text(&share, 0.25, NAN, 0.5, t, sizeof t);
    CHECK_STR_EQ(t, "share of paid seats used: 25% (typical customer: 50%)");
    CHECK(strlen(drivers_action("adoption")) > 20);
    CHECK_STR_EQ(drivers_theme_title("support_friction"), "Support friction");
    CHECK_STR_EQ(drivers_theme_title("nonsense"), "Other");
}

/* A laid-out spec with two attributes; reasons picked from contributions. */
static void check_rows(void)
{
    feat_spec *s = calloc(1, sizeof *s);
    s->attrs = calloc(2, sizeof *s->attrs);
    s->attrs[0].column = strdup("employee_count");
    s->attrs[0].prefix = strdup("attr.employee_count");
    s->attrs[0].kind = ATTR_NUMERIC;
    s->attrs[1].column = strdup("renewal_date");
    s->attrs[1].prefix = strdup("attr.renewal_date");
    s->attrs[1].kind = ATTR_DATE;
    s->nattrs = 2;
    vg_error err;
    CHECK(feat_spec_layout(s, &err) == VG_OK);
    size_t nc = feat_spec_ncols(s);
    int frt = feat_spec_find(s, "tickets.median_first_response_hours_90d");
    int cnt = feat_spec_find(s, "tickets.count_30d");
    int emp = feat_spec_find(s, "attr.employee_count");
    int ren = feat_spec_find(s, "attr.renewal_date_days_from_as_of");
    int act = feat_spec_find(s, "usage.active_days_30d");
    CHECK(frt >= 0 && cnt >= 0 && emp >= 0 && ren >= 0 && act >= 0);
    CHECK_STR_EQ(feat_spec_info(s, (size_t)emp)->phrase, "employee count");
    float *x = calloc(nc, sizeof *x), *contrib = calloc(nc + 1, sizeof *x);
    double *typ = calloc(nc, sizeof *typ);
    for (size_t j = 0; j < nc; j++)
        typ[j] = NAN;
    x[frt] = 1.1f, typ[frt] = 6.2, contrib[frt] = 0.9f; /* fast: not a risk */
    x[cnt] = 6, typ[cnt] = 0, contrib[cnt] = 0.5f;
    x[emp] = 11, typ[emp] = 54, contrib[emp] = 0.3f;
    x[ren] = 18, contrib[ren] = 0.2f;
    x[act] = 20, typ[act] = 20, contrib[act] = -0.4f; /* lowers risk */
    json_t *d = drivers_for_row(s, x, contrib, nc, typ, 5);
    CHECK_INT_EQ(json_array_size(d), 3);
    const char *f0 =
        json_string_value(json_object_get(json_array_get(d, 0), "feature"));
    CHECK_STR_EQ(f0, "tickets.count_30d");
    json_t *e1 = json_array_get(d, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(e1, "text")),
                 "employee count: 11 (typical customer: 54)");
    CHECK_STR_EQ(json_string_value(json_object_get(e1, "kind")), "profile");
    CHECK_STR_EQ(json_string_value(json_object_get(e1, "direction")), "fact");
    json_t *e0 = json_array_get(d, 0);
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "direction")), "worse");
    CHECK_STR_EQ(json_string_value(json_object_get(e0, "theme")),
                 "support_friction");
    CHECK(json_string_value(json_object_get(e0, "action")) != NULL);
    CHECK(json_is_number(json_object_get(e0, "effect")));
    /* k caps the list */
    json_t *d1 = drivers_for_row(s, x, contrib, nc, typ, 1);
    CHECK_INT_EQ(json_array_size(d1), 1);

    /* themes: behaviour first, then profile, each with a next step */
    json_t *g = drivers_by_theme(d);
    CHECK_INT_EQ(json_array_size(g), 2);
    CHECK_STR_EQ(
        json_string_value(json_object_get(json_array_get(g, 0), "theme")),
        "support_friction");
    json_t *g1 = json_array_get(g, 1);
    CHECK_STR_EQ(json_string_value(json_object_get(g1, "kind")), "profile");
    CHECK_INT_EQ(json_array_size(json_object_get(g1, "reasons")), 2);

    /* what changed since the previous score */
    json_t *prev =
        json_pack("[{s:s, s:s}, {s:s, s:s}]", "feature", "attr.employee_count",
                  "text", "employee count: 11 (typical customer: 54)",
                  "feature", "usage.active_days_30d", "text",
                  "active days in the last 30 days fell from 18 to 3");
    json_t *ch =
        drivers_changes("2026-11-29", 0.12, "watch", prev, 0.414, "at_risk", d);
    CHECK_STR_EQ(
        json_string_value(json_object_get(ch, "text")),
        "risk up from 12% to 41% since 2026-11-29 (watch to at risk); new: "
        "support tickets in the last 30 days: 6 (typical customer: 0); "
        "renewal date: in 18 days; no longer: active days in the last 30 "
        "days fell from 18 to 3");
    CHECK_INT_EQ(json_array_size(json_object_get(ch, "new")), 2);
    CHECK_INT_EQ(json_array_size(json_object_get(ch, "gone")), 1);
    json_t *same =
        drivers_changes("2026-11-29", 0.2, "watch", d, 0.2, "watch", d);
    CHECK_STR_EQ(json_string_value(json_object_get(same, "text")),
                 "risk unchanged at 20% since 2026-11-29");
    CHECK(drivers_changes(NULL, 0, NULL, NULL, 0.2, "watch", d) == NULL);
    json_decref(same);
    json_decref(ch);
    json_decref(prev);
    json_decref(g);
    json_decref(d1);
    json_decref(d);
    free(x);
    free(contrib);
    free(typ);
    feat_spec_free(s);
}

/* One row of a spec with family lifetime (and event types), every value
 * 0 with no effect and no typical value until a case sets them. */
typedef struct row_fixture {
    feat_spec *s;
    size_t nc;
    float *x, *contrib;
    double *typ;
} row_fixture;

static row_fixture fixture_open(const char *event_type)
{
    row_fixture f = {calloc(1, sizeof *f.s), 0, NULL, NULL, NULL};
    f.s->families = FEAT_FAM_LIFETIME;
    if (event_type) {
        f.s->ntypes = 1;
        f.s->types = calloc(1, sizeof *f.s->types);
        f.s->types[0] = strdup(event_type);
    }
    vg_error err;
    CHECK(feat_spec_layout(f.s, &err) == VG_OK);
    f.nc = feat_spec_ncols(f.s);
    f.x = calloc(f.nc, sizeof *f.x);
    f.contrib = calloc(f.nc + 1, sizeof *f.contrib);
    f.typ = calloc(f.nc, sizeof *f.typ);
    for (size_t j = 0; j < f.nc; j++)
        f.typ[j] = NAN;
    return f;
}

static void fixture_close(row_fixture *f)
{
    free(f->x);
    free(f->contrib);
    free(f->typ);
    feat_spec_free(f->s);
}

/* The column named `name`, which the case needs: a failed check if absent
 * (and column 0, so the case goes on without writing out of bounds). */
static size_t col(const row_fixture *f, const char *name)
{
    int j = feat_spec_find(f->s, name);
    CHECK(j >= 0);
    return j >= 0 ? (size_t)j : 0;
}

/* Field `key` of the row's i-th reason (k reasons asked for), and how many
 * reasons there were. */
static const char *reason(const row_fixture *f, int k, size_t i,
                          const char *key, size_t *n, json_t **keep)
{
    json_decref(*keep);
    *keep = drivers_for_row(f->s, f->x, f->contrib, f->nc, f->typ, k);
    *n = json_array_size(*keep);
    return json_string_value(json_object_get(json_array_get(*keep, i), key));
}

/* "Last product activity" is measured twice with family lifetime: capped
 * at 91 days over the windows, and over the whole history. When both push
 * the risk up they are one fact, so it is one reason, and the next reason
 * takes the freed place. */
static void check_same_fact(void)
{
    row_fixture f = fixture_open(NULL);
    size_t since = col(&f, "usage.days_since_last_activity");
    size_t life = col(&f, "usage.days_since_last_activity_lifetime");
    size_t cnt = col(&f, "tickets.count_30d");
    f.x[since] = 60, f.typ[since] = 5, f.contrib[since] = 0.6f;
    f.x[life] = 60, f.typ[life] = 5, f.contrib[life] = 0.5f;
    f.x[cnt] = 6, f.typ[cnt] = 0, f.contrib[cnt] = 0.2f;
    json_t *d = NULL;
    size_t n;
    CHECK_STR_EQ(reason(&f, 2, 0, "feature", &n, &d),
                 "usage.days_since_last_activity");
    CHECK_STR_EQ(reason(&f, 2, 1, "feature", &n, &d), "tickets.count_30d");
    CHECK_INT_EQ(n, 2);
    /* the stronger of the two is the one kept */
    f.contrib[life] = 0.9f;
    CHECK_STR_EQ(reason(&f, 3, 0, "feature", &n, &d),
                 "usage.days_since_last_activity_lifetime");
    CHECK_INT_EQ(n, 2);
    json_decref(d);
    fixture_close(&f);
    /* without the family the capped column stands alone */
    feat_spec *core = calloc(1, sizeof *core);
    vg_error err;
    CHECK(feat_spec_layout(core, &err) == VG_OK);
    int cs = feat_spec_find(core, "usage.days_since_last_activity");
    CHECK(cs >= 0 && feat_spec_info(core, (size_t)cs)->same_fact == -1);
    feat_spec_free(core);
}

/* A recency counts from the signup when nothing happened since: equal to
 * the tenure it means "never", and the reason says so (with or without
 * the whole-history qualifier); the whole history's zero counts say the
 * same and are not a second reason; one event since makes it a last
 * activity again. */
static void never_active_says_so(void)
{
    row_fixture f = fixture_open("export");
    size_t since = col(&f, "usage.days_since_last_activity");
    size_t life = col(&f, "usage.days_since_last_activity_lifetime");
    size_t ten = col(&f, "account.tenure_days");
    f.x[ten] = 40, f.x[since] = 40, f.x[life] = 40;
    f.typ[since] = f.typ[life] = 5;
    f.contrib[since] = 0.6f;
    json_t *d = NULL;
    size_t n;
    const char *never = "no product activity since signing up 40 days ago "
                        "(typical customer: 5 days ago)";
    CHECK_STR_EQ(reason(&f, 1, 0, "text", &n, &d), never);
    f.contrib[since] = 0, f.contrib[life] = 0.6f;
    CHECK_STR_EQ(reason(&f, 1, 0, "text", &n, &d), never);
    /* never active, measured by zero counts too: one reason */
    size_t total = col(&f, "usage.events_total_lifetime");
    size_t exports = col(&f, "usage.events_export_lifetime");
    size_t cnt = col(&f, "tickets.count_30d");
    f.typ[total] = 57, f.contrib[total] = 0.5f;
    f.typ[exports] = 9, f.contrib[exports] = 0.4f;
    f.x[cnt] = 6, f.typ[cnt] = 0, f.contrib[cnt] = 0.2f;
    CHECK_STR_EQ(reason(&f, 3, 1, "feature", &n, &d), "tickets.count_30d");
    CHECK_INT_EQ(n, 2);
    f.contrib[total] = f.contrib[cnt] = f.contrib[exports] = 0;
    f.x[life] = 12;
    CHECK_STR_EQ(reason(&f, 1, 0, "text", &n, &d),
                 "last product activity (whole history): 12 days ago "
                 "(typical customer: 5 days ago)");
    json_decref(d);
    fixture_close(&f);
}

/* What score stores: the drivers as JSON text, numbers written the way
 * jansson writes them (jsonb keeps a number's digits, so stored scores do
 * not change), and a reason whose name is not UTF-8 left out whole. */
static void check_row_text(void)
{
    feat_spec *s = calloc(1, sizeof *s);
    s->attrs = calloc(1, sizeof *s->attrs);
    s->attrs[0].column = strdup("seats\xc3"); /* cut mid-character */
    s->attrs[0].prefix = strdup("attr.seats\xc3");
    s->attrs[0].kind = ATTR_NUMERIC;
    s->nattrs = 1;
    vg_error err;
    CHECK(feat_spec_layout(s, &err) == VG_OK);
    size_t nc = feat_spec_ncols(s);
    int cnt = feat_spec_find(s, "tickets.count_30d");
    int bad = feat_spec_find(s, "attr.seats\xc3");
    int mrr = feat_spec_find(s, "account.mrr");
    CHECK(cnt >= 0 && bad >= 0 && mrr >= 0);
    float *x = calloc(nc, sizeof *x), *contrib = calloc(nc + 1, sizeof *x);
    for (size_t j = 0; j < nc; j++)
        x[j] = NAN;
    x[cnt] = 6, contrib[cnt] = 0.5f;
    x[bad] = 3, contrib[bad] = 0.4f;
    x[mrr] = 1e21f, contrib[mrr] = 0.123456f;
    strbuf b = {0};
    CHECK(drivers_write_row(s, x, contrib, nc, NULL, 5, &b) == 0);
    const char *t = strbuf_str(&b);
    json_t *d = json_loads(t, 0, NULL);
    CHECK_INT_EQ(json_array_size(d), 2); /* the non-UTF-8 one left out */
    CHECK(strstr(t, "\"value\":6.0,") != NULL);
    CHECK(strstr(t, "\"effect\":0.5,") != NULL);
    /* keys in jsonb's order (shorter first, then bytewise), which the
     * server's sort then finds sorted */
    const char *k0 = strstr(t, "{\"kind\":"), *k1 = strstr(t, ",\"text\":"),
               *k2 = strstr(t, ",\"theme\":"), *k3 = strstr(t, ",\"value\":"),
               *k4 = strstr(t, ",\"action\":"), *k5 = strstr(t, ",\"effect\":"),
               *k6 = strstr(t, ",\"feature\":"),
               *k7 = strstr(t, ",\"direction\":");
    CHECK(k0 && k0 < k1 && k1 < k2 && k2 < k3 && k3 < k4 && k4 < k5 &&
          k5 < k6 && k6 < k7);
    /* the same digits as jansson's own dump of the same doubles */
    double v = round((double)x[mrr] * 1000) / 1000;
    double e = round((double)contrib[mrr] * 10000) / 10000;
    json_t *refs[2] = {json_pack("{s:f}", "value", v),
                       json_pack("{s:f}", "effect", e)};
    for (int i = 0; i < 2; i++) {
        char *rs = json_dumps(refs[i], JSON_COMPACT);
        char want[128];
        snprintf(want, sizeof want, "%.*s,", (int)strlen(rs) - 2, rs + 1);
        if (i == 0)
            CHECK(strstr(rs, "e21") != NULL && strstr(rs, "e+") == NULL);
        CHECK(strstr(t, want) != NULL);
        free(rs);
        json_decref(refs[i]);
    }
    json_decref(d);
    strbuf_free(&b);
    free(x);
    free(contrib);
    feat_spec_free(s);
}

int main(void)
{
    check_humanise();
    check_units();
    check_texts();
    check_rows();
    check_same_fact();
    never_active_says_so();
    check_row_text();
    return check_done("drivers");
}
