/* lininput.c — see lininput.h. A linear model sees counts, days and money
 * whose scales differ by orders of magnitude and whose distributions are
 * skewed: on the raw scale its weights would follow the largest customers
 * only, and one outlier (a customer with 100x the usual events) could own a
 * weight. log1p, standardising and clipping give every column a comparable
 * say. */
#include "model/lininput.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Standardised inputs are clipped here. */
#define LININPUT_CLIP 5.0
/* A non-negative column whose maximum exceeds this is log1p'd. */
#define LININPUT_WIDE 20.0

typedef struct lin_col {
    int log;
    double mu, sd;
} lin_col;

struct lininput {
    lin_col *col;
};

static lininput *lininput_alloc(size_t ncols)
{
    lininput *tf = malloc(sizeof *tf);
    if (!tf)
        return NULL;
    tf->col = calloc(ncols ? ncols : 1, sizeof *tf->col);
    if (!tf->col) {
        free(tf);
        return NULL;
    }
    return tf;
}

/* One column's transform: whether to log, then mean and deviation of the
 * (logged) finite values. */
static lin_col lininput_fit_col(const float *x, size_t n, size_t ncols,
                                size_t j)
{
    lin_col c = {0, 0, 1.0};
    double lo = INFINITY, hi = -INFINITY, s = 0, ss = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++) {
        double v = x[i * ncols + j];
        if (isnan(v))
            continue;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    c.log = lo >= 0 && hi > LININPUT_WIDE;
    for (size_t i = 0; i < n; i++) {
        double v = x[i * ncols + j];
        if (isnan(v) || isinf(v))
            continue;
        v = c.log ? log1p(v) : v;
        s += v;
        ss += v * v;
        cnt++;
    }
    double mu = cnt ? s / (double)cnt : 0;
    double var = cnt ? ss / (double)cnt - mu * mu : 0;
    c.mu = mu;
    c.sd = var > 1e-12 && isfinite(var) ? sqrt(var) : 1.0;
    return c;
}

lininput *lininput_fit(const float *x, size_t n, size_t ncols)
{
    lininput *tf = lininput_alloc(ncols);
    for (size_t j = 0; tf && j < ncols; j++)
        tf->col[j] = lininput_fit_col(x, n, ncols, j);
    return tf;
}

void lininput_apply(const lininput *tf, const float *x, size_t n, size_t ncols,
                    float *z)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ncols; j++) {
            const lin_col *c = &tf->col[j];
            double v = x[i * ncols + j];
            if (isnan(v)) {
                z[i * ncols + j] = 0.0f;
                continue;
            }
            v = ((c->log ? log1p(v > 0 ? v : 0) : v) - c->mu) / c->sd;
            v = v > LININPUT_CLIP    ? LININPUT_CLIP
                : v < -LININPUT_CLIP ? -LININPUT_CLIP
                                     : v;
            z[i * ncols + j] = (float)v;
        }
}

char *lininput_format(const lininput *tf, size_t ncols)
{
    size_t cap = ncols * 64 + 1, at = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    s[0] = '\0';
    /* %.17g: a double survives the round trip through text exactly. */
    for (size_t j = 0; j < ncols; j++)
        at +=
            (size_t)snprintf(s + at, cap - at, "%s%d %.17g %.17g", j ? " " : "",
                             tf->col[j].log, tf->col[j].mu, tf->col[j].sd);
    return s;
}

lininput *lininput_parse(const char *s, size_t ncols)
{
    lininput *tf = lininput_alloc(ncols);
    char *end = NULL;
    for (size_t j = 0; tf && j < ncols; j++) {
        lin_col *c = &tf->col[j];
        long lg = strtol(s, &end, 10);
        if (end == s || (lg != 0 && lg != 1))
            goto bad;
        c->log = (int)lg;
        s = end;
        c->mu = strtod(s, &end);
        if (end == s)
            goto bad;
        s = end;
        c->sd = strtod(s, &end);
        if (end == s || !(c->sd > 0) || !isfinite(c->mu))
            goto bad;
        s = end;
    }
    return tf;
bad:
    lininput_free(tf);
    return NULL;
}

int lininput_unseen(const lininput *tf, size_t j)
{
    /* What lininput_fit_col leaves for such a column, and only for it among
     * 0/1 columns (their variance is at most 1/4). */
    const lin_col *c = &tf->col[j];
    return !c->log && c->mu == 0.0 && c->sd == 1.0;
}

void lininput_free(lininput *tf)
{
    if (!tf)
        return;
    free(tf->col);
    free(tf);
}
