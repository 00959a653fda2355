/* quality.c — NMI and ARI from one contingency table.
 * Kept in the library (not the benchmarks) so they are unit-tested. */
#include "quality.h"

#include <math.h>
#include <stdlib.h>

typedef struct table {
    double *joint, *pa, *pb;
} table;

static int table_build(const int *a, const int *b, size_t n, int ka, int kb,
                       table *t)
{
    t->joint = calloc((size_t)ka * (size_t)kb + 1, sizeof *t->joint);
    t->pa = calloc((size_t)ka + 1, sizeof *t->pa);
    t->pb = calloc((size_t)kb + 1, sizeof *t->pb);
    if (!t->joint || !t->pa || !t->pb)
        return -1;
    for (size_t i = 0; i < n; i++) {
        t->joint[(size_t)a[i] * (size_t)kb + (size_t)b[i]] += 1;
        t->pa[a[i]] += 1;
        t->pb[b[i]] += 1;
    }
    return 0;
}

static void table_free(table *t)
{
    free(t->joint);
    free(t->pa);
    free(t->pb);
}

double topic_nmi(const int *a, const int *b, size_t n, int ka, int kb)
{
    table t;
    double r = NAN;
    if (n == 0 || table_build(a, b, n, ka, kb, &t) != 0)
        goto cleanup;
    double mi = 0, ha = 0, hb = 0, N = (double)n;
    for (int i = 0; i < ka; i++)
        if (t.pa[i] > 0)
            ha -= t.pa[i] / N * log(t.pa[i] / N);
    for (int j = 0; j < kb; j++)
        if (t.pb[j] > 0)
            hb -= t.pb[j] / N * log(t.pb[j] / N);
    for (int i = 0; i < ka; i++)
        for (int j = 0; j < kb; j++) {
            double x = t.joint[(size_t)i * (size_t)kb + (size_t)j];
            if (x > 0)
                mi += x / N * log(x * N / (t.pa[i] * t.pb[j]));
        }
    double d = (ha + hb) / 2;
    /* scikit-learn: identical single-cluster labelings score 1, a single
     * cluster against anything else 0 */
    if (ha == 0 && hb == 0)
        r = 1.0;
    else
        r = d > 0 ? fmax(mi, 0) / d : 0.0;
cleanup:
    if (n > 0)
        table_free(&t);
    return r;
}

static double comb2(double x)
{
    return x * (x - 1) / 2;
}

double topic_ari(const int *a, const int *b, size_t n, int ka, int kb)
{
    table t;
    double r = NAN;
    if (n == 0 || table_build(a, b, n, ka, kb, &t) != 0)
        goto cleanup;
    double sij = 0, sa = 0, sb = 0;
    for (size_t i = 0; i < (size_t)ka * (size_t)kb; i++)
        sij += comb2(t.joint[i]);
    for (int i = 0; i < ka; i++)
        sa += comb2(t.pa[i]);
    for (int j = 0; j < kb; j++)
        sb += comb2(t.pb[j]);
    double expected = sa * sb / comb2((double)n), mx = (sa + sb) / 2;
    r = mx - expected != 0 ? (sij - expected) / (mx - expected) : 1.0;
cleanup:
    if (n > 0)
        table_free(&t);
    return r;
}
