/* drivers.c — wording of drivers: compare a value with the customer's own
 * previous window when there is one, else with the typical customer; round
 * by unit; keep only the reasons that are warning signs; group by theme. */
#include "drivers.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "score/score.h"

/* ---- numbers ---------------------------------------------------------------
 */

/* s (len bytes) into buf[0..n), cut to fit like snprintf's "%s". */
static void put_cut(char *buf, size_t n, const char *s, size_t len)
{
    if (n == 0)
        return;
    if (len >= n)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
}

/* a, then the number v as "%.0f" prints it, then b, cut to buf[0..n): the
 * common shapes without printf ("45 days", "in 3 hours"). */
static void put_0f(char *buf, size_t n, const char *a, double v, const char *b)
{
    char t[FMT_NUM_BUF + 64];
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb > 64) {
        snprintf(buf, n, "%s%.0f%s", a, v, b);
        return;
    }
    memcpy(t, a, la);
    size_t k = la + fmt_0f(v, t + la);
    memcpy(t + k, b, lb);
    put_cut(buf, n, t, k + lb);
}

/* An integer with thousands separators: 12345 -> "12,345". */
static void fmt_int(double v, char *buf, size_t n)
{
    char digits[FMT_NUM_BUF];
    size_t len = fmt_0f(fabs(v), digits), k = 0;
    if (len > 63)
        len = 63; /* as the 64-byte buffer this had cut it */
    char out[96];
    if (v < 0 && round(v) != 0)
        out[k++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            out[k++] = ',';
        out[k++] = digits[i];
    }
    put_cut(buf, n, out, k);
}

/* A plain quantity: whole numbers and values of 10 or more without decimals,
 * small fractions with two significant digits. */
static void fmt_num(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "unknown");
    else if (fabs(v - round(v)) < 1e-6 || fabs(v) >= 10)
        fmt_int(v, buf, n);
    else
        snprintf(buf, n, "%.2g", v);
}

/* One decimal, dropped when it is zero: 2.0 -> "2", 2.46 -> "2.5". */
static void fmt_1dp(double v, char *buf, size_t n)
{
    double r = round(v * 10) / 10;
    if (fabs(r - round(r)) < 1e-9)
        put_0f(buf, n, "", r, "");
    else
        snprintf(buf, n, "%.1f", r);
}

/* A span of days: "less than a day", "1 day", "45 days", "5 months",
 * "2.5 years". */
static void fmt_span(double days, char *buf, size_t n)
{
    char y[32];
    if (days < 1)
        snprintf(buf, n, "less than a day");
    else if (days < 1.5)
        snprintf(buf, n, "1 day");
    else if (days < 60)
        put_0f(buf, n, "", round(days), " days");
    else if (days < 730) {
        put_0f(buf, n, "", round(days / 30.44), " months");
    } else {
        fmt_1dp(days / 365.25, y, sizeof y);
        snprintf(buf, n, "%s years", y);
    }
}

void drivers_format_value(const feat_info *fi, double v, char *buf, size_t n)
{
    char a[64];
    if (isnan(v)) {
        snprintf(buf, n, "none on record");
        return;
    }
    switch (fi->unit) {
    case FEAT_UNIT_COUNT:
        fmt_int(round(v), buf, n);
        return;
    case FEAT_UNIT_DAYS_AGO:
        if (fi->cap > 0 && v >= fi->cap)
            snprintf(buf, n, "over %.0f days ago", fi->cap - 1);
        else if (v < 1)
            snprintf(buf, n, "within the last day");
        else {
            fmt_span(v, a, sizeof a);
            snprintf(buf, n, "%s ago", a);
        }
        return;
    case FEAT_UNIT_DURATION:
        fmt_span(v, buf, n);
        return;
    case FEAT_UNIT_DAYS_UNTIL:
        if (fabs(v) < 0.5)
            snprintf(buf, n, "today");
        else {
            fmt_span(fabs(v), a, sizeof a);
            snprintf(buf, n, v > 0 ? "in %s" : "%s ago", a);
        }
        return;
    case FEAT_UNIT_HOURS:
        if (v < 1)
            snprintf(buf, n, "under an hour");
        else if (v < 1.5)
            snprintf(buf, n, "1 hour");
        else if (v < 48)
            put_0f(buf, n, "", round(v), " hours");
        else
            put_0f(buf, n, "", round(v / 24), " days");
        return;
    case FEAT_UNIT_SHARE:
        if (v > 0 && v < 0.005)
            snprintf(buf, n, "under 1%%");
        else
            put_0f(buf, n, "", round(v * 100), "%");
        return;
    case FEAT_UNIT_MONEY:
        fmt_int(round(v), a, sizeof a);
        snprintf(buf, n, "%s a month", a);
        return;
    case FEAT_UNIT_RATING:
        fmt_1dp(v, a, sizeof a);
        snprintf(buf, n, "%s of 5", a);
        return;
    case FEAT_UNIT_SLOPE:
        if (fabs(v) < 0.5)
            snprintf(buf, n, "flat");
        else {
            fmt_int(round(fabs(v)), a, sizeof a);
            snprintf(buf, n, "%s by %s events a week, each week",
                     v < 0 ? "falling" : "rising", a);
        }
        return;
    case FEAT_UNIT_YESNO:
        snprintf(buf, n, "%s", v >= 0.5 ? "yes" : "no");
        return;
    case FEAT_UNIT_NUMBER:
    default:
        fmt_num(v, buf, n);
        return;
    }
}

/* ---- one reason ------------------------------------------------------------
 */

static int same_value(const feat_info *fi, double a, double b)
{
    if (fi->cap > 0 && a >= fi->cap && b >= fi->cap)
        return 1;
    /* equal once rounded for people: "6 hours" vs "6 hours" is no news */
    char x[96], y[96];
    drivers_format_value(fi, a, x, sizeof x);
    drivers_format_value(fi, b, y, sizeof y);
    return strcmp(x, y) == 0;
}

/* Within this share of the reference a value is no warning sign: a
 * specialist does not call "41 hours (typical customer: 40 hours)" or
 * "active days fell from 20 to 19" a reason to call a customer. */
#define DRIVERS_NEAR 0.10

const char *drivers_direction(const feat_info *fi, double value, double prev,
                              double typical)
{
    double ref = !isnan(prev) ? prev : typical;
    if (fi->is_indicator || fi->worse == FEAT_WORSE_UNKNOWN || isnan(value) ||
        isnan(ref))
        return "fact";
    if (same_value(fi, value, ref) ||
        fabs(value - ref) <= DRIVERS_NEAR * fabs(ref))
        return "typical";
    return (value - ref) * (double)fi->worse > 0 ? "worse" : "better";
}

void drivers_text(const feat_info *fi, double value, double prev,
                  double typical, char *buf, size_t n)
{
    char a[96], b[96];
    if (fi->is_indicator) {
        const char *is = strstr(fi->phrase, " is ");
        if (value >= 0.5 || !is)
            snprintf(buf, n, "%s", fi->phrase);
        else
            snprintf(buf, n, "%.*s is not %s", (int)(is - fi->phrase),
                     fi->phrase, is + 4);
        return;
    }
    drivers_format_value(fi, value, a, sizeof a);
    if (isnan(value)) {
        snprintf(buf, n, "%s: %s", fi->phrase, a);
        return;
    }
    if (!isnan(prev)) {
        drivers_format_value(fi, prev, b, sizeof b);
        if (same_value(fi, value, prev))
            snprintf(buf, n, "%s stayed at %s", fi->phrase, a);
        else if (value < prev)
            snprintf(buf, n, "%s fell from %s to %s", fi->phrase, b, a);
        else
            snprintf(buf, n, "%s rose from %s to %s", fi->phrase, b, a);
        return;
    }
    /* A date's "typical" distance is no comparison anyone makes. */
    if (!isnan(typical) && fi->unit != FEAT_UNIT_DAYS_UNTIL) {
        drivers_format_value(fi, typical, b, sizeof b);
        snprintf(buf, n, "%s: %s (typical customer: %s)", fi->phrase, a, b);
        return;
    }
    snprintf(buf, n, "%s: %s", fi->phrase, a);
}

/* ---- themes ----------------------------------------------------------------
 */

typedef struct theme_def {
    const char *theme, *title, *action;
} theme_def;

static const theme_def themes[] = {
    {"adoption", "Adoption",
     "Book a usage review: show the workflows they use less and offer a "
     "training session for their team."},
    {"support_friction", "Support friction",
     "Review their open and recent tickets with the support lead and agree a "
     "fix date with the customer."},
    {"satisfaction", "Satisfaction",
     "Call about their low-rated tickets: acknowledge what went wrong and say "
     "what changes."},
    {"onboarding", "Onboarding",
     "Check their onboarding: confirm setup is complete and book a kickoff or "
     "training call."},
    {"commercial", "Commercial",
     "Prepare the renewal conversation: recap the value they got and check "
     "plan and seat fit."},
};

static const theme_def *theme_find(const char *theme)
{
    for (size_t i = 0; theme && i < sizeof themes / sizeof *themes; i++)
        if (strcmp(themes[i].theme, theme) == 0)
            return &themes[i];
    return NULL;
}

const char *drivers_action(const char *theme)
{
    const theme_def *t = theme_find(theme);
    return t ? t->action
             : "Review the account with its owner and decide on a check-in.";
}

const char *drivers_theme_title(const char *theme)
{
    const theme_def *t = theme_find(theme);
    return t ? t->title : "Other";
}

const char *drivers_theme_for(const feat_info *fi, double value)
{
    const char *theme = fi->theme ? fi->theme : "other";
    /* Onboarding is about the first months; a long tenure is an account
     * fact the renewal conversation uses. */
    if (!strcmp(theme, "onboarding") && fi->unit == FEAT_UNIT_DURATION &&
        value >= DRIVERS_ONBOARDING_DAYS)
        return "commercial";
    return theme;
}

/* ---- a row's reasons -------------------------------------------------------
 */

#define DRIVERS_MAX 16

/* Does this value say "never" (fi->never_scope): a recency that counts
 * from the signup and equals the tenure, or a whole-history count of 0? */
static int says_never(const feat_info *fi, const float *x, double v)
{
    if (fi->since_signup >= 0)
        return !isnan(v) && fabs(v - x[fi->since_signup]) < 1e-3;
    return fi->never_scope != FEAT_NEVER_NONE && v == 0;
}

/* The columns of a row's reasons, strongest first, into picked[0..k)
 * (k <= DRIVERS_MAX); their count, -1 when out of memory. */
static int pick_reasons(const feat_spec *spec, const float *x,
                        const float *contrib, size_t ncols,
                        const double *typical, int k, size_t *picked)
{
    /* k is small (<= 10). Candidates are visited from the strongest
     * effect down (ties: the lower column first), each judged once: a
     * candidate's direction formats its values for people, which costs
     * more than the rest of the row, so judging every candidate again for
     * each of the k picks was most of a score run's wording time. */
    int np = 0;
    if (k > DRIVERS_MAX)
        k = DRIVERS_MAX;
    /* candidates visited (picked or not): one flag per column */
    unsigned char seen_small[256];
    unsigned char *seen =
        ncols <= sizeof seen_small ? seen_small : calloc(ncols, 1);
    if (!seen)
        return -1;
    if (seen == seen_small)
        memset(seen, 0, ncols);
    int never_said = 0;
    while (np < k) {
        long best = -1;
        for (size_t j = 0; j < ncols; j++) {
            /* effects are written to 4 decimals: one that rounds to 0 is
             * no reason (a categorical attribute's summed levels can
             * nearly cancel) */
            if (!(contrib[j] >= 0.00005f) || seen[j] ||
                (best >= 0 && !(contrib[j] > contrib[best])))
                continue;
            best = (long)j;
        }
        if (best < 0)
            break;
        size_t j = (size_t)best;
        seen[j] = 1;
        const feat_info *fi = feat_spec_info(spec, j);
        int never = says_never(fi, x, x[j]);
        if (never && never_said)
            continue; /* "never active" is one reason, however measured */
        double prev = fi->prev >= 0 ? x[fi->prev] : NAN;
        const char *dir =
            drivers_direction(fi, x[j], prev, typical ? typical[j] : NAN);
        /* better or typical: the model's interaction, not advice */
        if (strcmp(dir, "worse") == 0 || strcmp(dir, "fact") == 0) {
            picked[np++] = j;
            never_said |= never && fi->never_scope == FEAT_NEVER_ACTIVE;
            /* the same fact in other words is not a second reason */
            if (fi->same_fact >= 0 && (size_t)fi->same_fact < ncols)
                seen[fi->same_fact] = 1;
        }
    }
    if (seen != seen_small)
        free(seen);
    return np;
}

/* Cut b back to `len` bytes: a reason that cannot be written whole is left
 * out whole. */
static void truncate_to(strbuf *b, size_t len)
{
    if (b->s && len <= b->len) {
        b->len = len;
        b->s[len] = '\0';
    }
}

/* s as a JSON string; 0 when s is NULL or not UTF-8 (JSON refuses it). */
static int put_string(strbuf *b, const char *s)
{
    if (!s)
        return 0;
    const unsigned char *p = (const unsigned char *)s, *run = p;
    strbuf_putc(b, '"');
    while (*p) {
        unsigned c = *p;
        if (c >= 0x80) {
            uint32_t cp;
            size_t n = utf8_decode(p, SIZE_MAX, &cp);
            if (cp == 0xFFFD && n == 1)
                return 0;
            p += n;
            continue;
        }
        if (c != '"' && c != '\\' && c >= 0x20) {
            p++;
            continue;
        }
        strbuf_append(b, (const char *)run, (size_t)(p - run));
        if (c == '"' || c == '\\') {
            strbuf_putc(b, '\\');
            strbuf_putc(b, (char)c);
        } else if (c == '\n') {
            strbuf_puts(b, "\\n");
        } else if (c == '\t') {
            strbuf_puts(b, "\\t");
        } else {
            strbuf_printf(b, "\\u%04x", c);
        }
        run = ++p;
    }
    strbuf_append(b, (const char *)run, (size_t)(p - run));
    strbuf_putc(b, '"');
    return 1;
}

/* A real the way jansson writes one (17 significant digits, always a dot
 * or an exponent, no '+' or leading zeros in the exponent): the stored
 * jsonb numbers stay what they were. 0 when not finite. */
static int put_real(strbuf *b, double v)
{
    if (!isfinite(v))
        return 0;
    char buf[FMT_NUM_BUF + 2];
    size_t len = fmt_g17(v, buf);
    char *e = memchr(buf, 'e', len);
    if (!e && !memchr(buf, '.', len)) {
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf) + 1);
            len -= (size_t)(end - start);
        }
    }
    strbuf_append(b, buf, len);
    return 1;
}

/* A recency that equals the tenure counts from the signup: nothing ever
 * happened. "last product activity" becomes "no product activity since
 * signing up 3 weeks ago" (and 'last "export" event' 'no "export" event
 * ...'); the whole-history qualifier says nothing then. 0 when the reason
 * is not such a one. */
static int never_text(const feat_info *fi, const float *x, double v, double typ,
                      char *buf, size_t n)
{
    if (fi->since_signup < 0 || !says_never(fi, x, v) ||
        strncmp(fi->phrase, "last ", 5) != 0)
        return 0;
    const char *what = fi->phrase + 5, *cut = strstr(what, " (whole history)");
    int len = cut ? (int)(cut - what) : (int)strlen(what);
    char a[96], b[96];
    drivers_format_value(fi, v, a, sizeof a);
    if (isnan(typ)) {
        snprintf(buf, n, "no %.*s since signing up %s", len, what, a);
        return 1;
    }
    drivers_format_value(fi, typ, b, sizeof b);
    snprintf(buf, n, "no %.*s since signing up %s (typical customer: %s)", len,
             what, a, b);
    return 1;
}

/* One reason as a JSON object; 0 when one of its texts is not UTF-8 or its
 * effect not finite (left out, as a JSON encoder would refuse it), -1 when
 * its value is not finite. */
static int put_reason(strbuf *b, const feat_spec *spec, const float *x,
                      const float *contrib, const double *typical, size_t j)
{
    const feat_info *fi = feat_spec_info(spec, j);
    double v = x[j];
    double prev = fi->prev >= 0 ? x[fi->prev] : NAN;
    double typ = typical ? typical[j] : NAN;
    char text[512];
    if (!never_text(fi, x, v, typ, text, sizeof text))
        drivers_text(fi, v, prev, typ, text, sizeof text);
    const char *theme = drivers_theme_for(fi, v);
    if (!isnan(v) && !isfinite(round(v * 1000) / 1000))
        return -1;
    /* Keys in the order jsonb stores them (shorter first, then bytewise):
     * the server's sort of each object's keys then finds them sorted. The
     * stored value is the same in any order. */
    strbuf_puts(b, fi->profile ? "{\"kind\":\"profile\",\"text\":"
                               : "{\"kind\":\"behaviour\",\"text\":");
    if (!put_string(b, text))
        return 0;
    strbuf_puts(b, ",\"theme\":");
    if (!put_string(b, theme))
        return 0;
    strbuf_puts(b, ",\"value\":");
    if (isnan(v))
        strbuf_puts(b, "\"unknown\"");
    else
        put_real(b, round(v * 1000) / 1000);
    strbuf_puts(b, ",\"action\":");
    if (!put_string(b, drivers_action(theme)))
        return 0;
    strbuf_puts(b, ",\"effect\":");
    if (!put_real(b, round(contrib[j] * 10000) / 10000))
        return 0;
    strbuf_puts(b, ",\"feature\":");
    if (!put_string(b, fi->name))
        return 0;
    strbuf_puts(b, ",\"direction\":");
    put_string(b, drivers_direction(fi, v, prev, typ));
    strbuf_putc(b, '}');
    return 1;
}

/* Written directly rather than through JSON objects: building and dumping
 * them was a third of a score run's CPU in the vigil process. */
int drivers_write_row(const feat_spec *spec, const float *x,
                      const float *contrib, size_t ncols, const double *typical,
                      int k, strbuf *out)
{
    size_t picked[DRIVERS_MAX];
    int np = pick_reasons(spec, x, contrib, ncols, typical, k, picked);
    if (np < 0)
        return -1;
    strbuf_putc(out, '[');
    int written = 0;
    for (int i = 0; i < np; i++) {
        size_t mark = out->len;
        if (written)
            strbuf_putc(out, ',');
        int r = put_reason(out, spec, x, contrib, typical, picked[i]);
        if (r < 0)
            return -1;
        if (r == 0)
            truncate_to(out, mark);
        else
            written++;
    }
    strbuf_putc(out, ']');
    return out->failed ? -1 : 0;
}

json_t *drivers_for_row(const feat_spec *spec, const float *x,
                        const float *contrib, size_t ncols,
                        const double *typical, int k)
{
    strbuf b = {0};
    json_t *arr = NULL;
    if (drivers_write_row(spec, x, contrib, ncols, typical, k, &b) == 0)
        arr = json_loads(strbuf_str(&b), 0, NULL);
    strbuf_free(&b);
    return arr;
}

/* ---- reading ---------------------------------------------------------------
 */

json_t *drivers_by_theme(const json_t *drivers)
{
    json_t *out = json_array();
    if (!out)
        return NULL;
    /* two passes: behaviour, then profile; themes in order of first
     * (strongest) appearance */
    for (int pass = 0; pass < 2; pass++) {
        const char *want = pass == 0 ? "behaviour" : "profile";
        size_t i;
        json_t *d;
        json_array_foreach(drivers, i, d)
        {
            const char *kind = json_string_value(json_object_get(d, "kind"));
            const char *theme = json_string_value(json_object_get(d, "theme"));
            const char *text = json_string_value(json_object_get(d, "text"));
            if (!kind)
                kind = "behaviour";
            if (!theme)
                theme = "other";
            if (strcmp(kind, want) != 0 || !text)
                continue;
            json_t *g = NULL;
            size_t gi;
            json_t *e;
            json_array_foreach(out, gi, e)
            {
                if (!strcmp(json_string_value(json_object_get(e, "theme")),
                            theme) &&
                    !strcmp(json_string_value(json_object_get(e, "kind")),
                            kind))
                    g = e;
            }
            if (!g) {
                g = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "theme", theme,
                              "title", drivers_theme_title(theme), "kind", kind,
                              "action", drivers_action(theme), "reasons");
                if (!g || json_array_append_new(out, g) != 0) {
                    json_decref(out);
                    return NULL;
                }
            }
            json_array_append_new(json_object_get(g, "reasons"),
                                  json_string(text));
        }
    }
    return out;
}

static int has_feature(const json_t *drivers, const char *feature)
{
    size_t i;
    json_t *d;
    json_array_foreach(drivers, i, d)
    {
        const char *f = json_string_value(json_object_get(d, "feature"));
        if (f && feature && strcmp(f, feature) == 0)
            return 1;
    }
    return 0;
}

/* texts of a's reasons whose feature b does not have */
static json_t *missing_from(const json_t *a, const json_t *b)
{
    json_t *out = json_array();
    size_t i;
    json_t *d;
    json_array_foreach(a, i, d)
    {
        const char *f = json_string_value(json_object_get(d, "feature"));
        const char *t = json_string_value(json_object_get(d, "text"));
        if (out && t && !has_feature(b, f))
            json_array_append_new(out, json_string(t));
    }
    return out;
}

json_t *drivers_changes(const char *prev_as_of, double prev_risk,
                        const char *prev_tier, const json_t *prev_drivers,
                        double risk, const char *tier, const json_t *drivers)
{
    if (!prev_drivers)
        return NULL;
    json_t *added = missing_from(drivers, prev_drivers);
    json_t *gone = missing_from(prev_drivers, drivers);
    char text[2048], tb[32], ta[32], list[900];
    score_tier_words(prev_tier, tb, sizeof tb);
    score_tier_words(tier, ta, sizeof ta);
    long pb = lround(prev_risk * 100), pa = lround(risk * 100);
    const char *since = prev_as_of ? prev_as_of : "the previous score";
    int k = pa == pb ? snprintf(text, sizeof text,
                                "risk unchanged at %ld%% since %s", pa, since)
                     : snprintf(text, sizeof text,
                                "risk %s from %ld%% to %ld%% since %s",
                                pa > pb ? "up" : "down", pb, pa, since);
    if (k > 0 && strcmp(tb, ta) != 0)
        k += snprintf(text + k, sizeof text - (size_t)k, " (%s to %s)", tb, ta);
    if (k > 0 && json_array_size(added) > 0 && (size_t)k < sizeof text) {
        join_json_strings(added, "; ", list, sizeof list);
        k += snprintf(text + k, sizeof text - (size_t)k, "; new: %s", list);
    }
    if (k > 0 && json_array_size(gone) > 0 && (size_t)k < sizeof text) {
        join_json_strings(gone, "; ", list, sizeof list);
        snprintf(text + k, sizeof text - (size_t)k, "; no longer: %s", list);
    }
    return json_pack("{s:s?, s:f, s:f, s:s?, s:s?, s:o, s:o, s:s}",
                     "previous_as_of", prev_as_of, "risk_before", prev_risk,
                     "risk_now", risk, "tier_before", prev_tier, "tier_now",
                     tier, "new", added ? added : json_array(), "gone",
                     gone ? gone : json_array(), "text", text);
}
