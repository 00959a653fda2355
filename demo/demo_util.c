/* demo_util.c — the demo generator's small tools: random draws, the UTC
 * calendar and the shared name tables. */
#include "demo/demo_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const demo_lang_code[DEMO_NLANG] = {"en", "de", "fr", "es"};
const char *const demo_plan_name[DEMO_NPLAN] = {"starter", "team", "business",
                                                "enterprise"};
const char *const demo_region_name[4] = {"NA", "EMEA", "LATAM", "APAC"};
const char *const demo_industry_name[DEMO_NINDUSTRY] = {
    "Software",           "Retail",     "Manufacturing",
    "Financial Services", "Healthcare", "Education",
    "Logistics",          "Media",      "Professional Services",
    "Nonprofit"};
const char *const demo_topic_key[DEMO_NTOPIC] = {
    "login_sso",        "billing_invoice",  "csv_export",
    "api_rate_limit",   "integration_sync", "slow_dashboard",
    "password_reset",   "user_invites",     "permissions",
    "data_import",      "report_errors",    "mobile_app_crash",
    "webhook_failures", "gdpr_deletion",    "plan_upgrade",
    "cancellation",     "feature_request",  "notifications_email",
    "timezone_bugs",    "performance",      "csv_export_broken",
    "sso_outage"};
const char *const demo_priority_name[4] = {"low", "normal", "high", "urgent"};
const char *const demo_status_name[4] = {"open", "pending", "solved", "closed"};
const char *const demo_channel_name[5] = {"email", "chat", "phone", "social",
                                          "web"};
const char *const demo_dirty_ev_name[DEMO_NDIRTY_EV] = {
    "unknown_customer_id", "null_customer_id",  "null_occurred_at",
    "null_event_type",     "negative_quantity", "future_timestamp",
    "exact_duplicate"};
const char *const demo_dirty_tk_name[DEMO_NDIRTY_TK] = {
    "null_customer_id",  "unknown_customer_id",     "empty_body",
    "csat_out_of_range", "resolved_before_created", "huge_body"};
const char *const demo_cause_name[DEMO_NCAUSE] = {NULL,
                                                  "budget",
                                                  "disengagement",
                                                  "collapse",
                                                  "failed_onboarding",
                                                  "support_frustration"};

int demo_rng_poisson(demo_rng *r, double lambda)
{
    if (!(lambda > 0))
        return 0;
    if (lambda > 40) {
        /* Normal approximation: exact sampling costs O(lambda) draws and the
         * shape is indistinguishable at this size. */
        double v = lambda + sqrt(lambda) * demo_rng_fastnorm(r) + 0.5;
        return v < 0 ? 0 : (int)v;
    }
    /* Most calls are daily ticket rates of a few per mille: a cubic series is
     * exact to 1e-5 there and saves the exp() that dominated the profile. */
    double limit = lambda < 0.1 ? 1 - lambda * (1 - lambda * (0.5 - lambda / 6))
                                : exp(-lambda);
    double p = demo_rng_unif(r);
    int k = 0;
    while (p > limit) {
        k++;
        p *= demo_rng_unif(r);
    }
    return k;
}

int demo_rng_pick(demo_rng *r, const double *w, int n)
{
    double total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    double u = demo_rng_unif(r) * total;
    for (int i = 0; i < n; i++) {
        if (u < w[i])
            return i;
        u -= w[i];
    }
    /* Rounding can leave u just past the last bucket. */
    for (int i = n - 1; i >= 0; i--)
        if (w[i] > 0)
            return i;
    return 0;
}

const char *demo_rng_word(demo_rng *r, const char *const *list)
{
    long n = 0;
    while (list[n])
        n++;
    return list[demo_rng_range(r, 0, n - 1)];
}

/* Howard Hinnant's days_from_civil / civil_from_days: exact, branch-light and
 * independent of the C library's time zone handling. */
void demo_civil(int day, int *y, int *m, int *d)
{
    long z = (long)day + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long yy = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long dd = doy - (153 * mp + 2) / 5 + 1;
    long mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

int demo_day_from_civil(int y, int m, int d)
{
    long yy = y - (m <= 2);
    long era = (yy >= 0 ? yy : yy - 399) / 400;
    long yoe = yy - era * 400;
    long doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int)(era * 146097 + doe - 719468);
}

static char *put2(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

static char *put_date(char *p, int day)
{
    int y, m, d;
    demo_civil(day, &y, &m, &d);
    p[0] = (char)('0' + y / 1000 % 10);
    p[1] = (char)('0' + y / 100 % 10);
    p[2] = (char)('0' + y / 10 % 10);
    p[3] = (char)('0' + y % 10);
    p[4] = '-';
    p = put2(p + 5, m);
    *p++ = '-';
    return put2(p, d);
}

/* Hand-rolled because it runs for every one of tens of millions of events and
 * snprintf would dominate the generator's time. */
int demo_fmt_ts(char *buf, int64_t secs)
{
    int64_t day = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
    int sod = (int)(secs - day * 86400);
    char *p = put_date(buf, (int)day);
    *p++ = ' ';
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    memcpy(p, "+00", 4);
    return (int)(p + 3 - buf);
}

int demo_fmt_date(char *buf, int day)
{
    char *p = put_date(buf, day);
    *p = '\0';
    return (int)(p - buf);
}

int demo_anniversary(int day, int min_day)
{
    int y, m, d, my, mm, md;
    demo_civil(day, &y, &m, &d);
    demo_civil(min_day, &my, &mm, &md);
    if (m == 2 && d == 29)
        d = 28;
    for (int yy = my - 1;; yy++) {
        int a = demo_day_from_civil(yy, m, d);
        if (a >= min_day && a > day)
            return a;
    }
}
