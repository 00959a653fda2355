/* drivers.c — wording of drivers: compare a value with the customer's own
 * previous window when there is one, else with the typical customer. */
#include "drivers.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fmt_num(double v, char *buf, size_t n)
{
    if (isnan(v))
        snprintf(buf, n, "unknown");
    else if (fabs(v - round(v)) < 1e-6 && fabs(v) < 1e12)
        snprintf(buf, n, "%.0f", v);
    else if (fabs(v) >= 10)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%.2g", v);
}

void drivers_text(const feat_info *fi, double value, double prev,
                  double typical, char *buf, size_t n)
{
    char a[32], b[32];
    if (fi->is_indicator) {
        const char *is = strstr(fi->phrase, " is ");
        if (value >= 0.5 || !is)
            snprintf(buf, n, "%s", fi->phrase);
        else
            snprintf(buf, n, "%.*s is not %s", (int)(is - fi->phrase),
                     fi->phrase, is + 4);
        return;
    }
    if (isnan(value)) {
        snprintf(buf, n, "%s: none on record", fi->phrase);
        return;
    }
    fmt_num(value, a, sizeof a);
    if (fi->cap > 0 && value >= fi->cap)
        snprintf(a, sizeof a, "over %.0f", fi->cap - 1);
    if (!isnan(prev)) {
        fmt_num(prev, b, sizeof b);
        if (value < prev)
            snprintf(buf, n, "%s fell from %s to %s", fi->phrase, b, a);
        else if (value > prev)
            snprintf(buf, n, "%s rose from %s to %s", fi->phrase, b, a);
        else
            snprintf(buf, n, "%s stayed at %s", fi->phrase, a);
        return;
    }
    if (!isnan(typical)) {
        fmt_num(typical, b, sizeof b);
        snprintf(buf, n, "%s: %s (typical customer: %s)", fi->phrase, a, b);
        return;
    }
    snprintf(buf, n, "%s: %s", fi->phrase, a);
}

json_t *drivers_for_row(const feat_spec *spec, const float *x,
                        const float *contrib, size_t ncols,
                        const double *typical, int k)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    /* k is small (<= 10): repeated selection beats sorting every row. */
    size_t picked[16];
    int np = 0;
    if (k > 16)
        k = 16;
    for (int i = 0; i < k; i++) {
        long best = -1;
        for (size_t j = 0; j < ncols; j++) {
            if (!(contrib[j] > 0))
                continue;
            int dup = 0;
            for (int q = 0; q < np; q++)
                dup |= picked[q] == j;
            if (dup)
                continue;
            if (best < 0 || contrib[j] > contrib[best])
                best = (long)j;
        }
        if (best < 0)
            break;
        picked[np] = (size_t)best;
        np++;
    }
    for (int i = 0; i < np; i++) {
        size_t j = picked[i];
        const feat_info *fi = feat_spec_info(spec, j);
        double v = x[j];
        double prev = fi->prev >= 0 ? x[fi->prev] : NAN;
        char text[512];
        drivers_text(fi, v, prev, typical ? typical[j] : NAN, text,
                     sizeof text);
        json_t *val = isnan(v) ? json_string("unknown")
                               : json_real(round(v * 1000) / 1000);
        if (!val) {
            json_decref(arr);
            return NULL;
        }
        /* NULL when out of memory or when a text is not UTF-8 (a name from
         * the source cut mid-character): that driver is left out rather than
         * failing the whole score. */
        json_t *o = json_pack("{s:s, s:o, s:f, s:s}", "feature", fi->name,
                              "value", val, "effect",
                              round(contrib[j] * 10000) / 10000, "text", text);
        if (o && json_array_append_new(arr, o) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}
