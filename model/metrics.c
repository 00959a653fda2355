/* metrics.c — weighted AUC, average precision, Brier, logloss, lift and the
 * reliability table used to judge models and calibrations. */
#include "model/metrics.h"

#include <math.h>
#include <stdlib.h>

#define METRICS_EPS 1e-15

/* One row reduced to what the rank metrics need: its score and its weight
 * split by class, so a tie group is summed without looking at labels again. */
typedef struct {
    double s, pos, neg;
} metrics_row;

static int metrics_row_cmp(const void *a, const void *b)
{
    double x = ((const metrics_row *)a)->s, y = ((const metrics_row *)b)->s;
    return (x > y) - (x < y);
}

static double metrics_w(const double *weight, size_t i)
{
    return weight ? weight[i] : 1.0;
}

/* Copies and sorts rows by ascending score (copying keeps the comparator free
 * of context, so no qsort_r or file-level state). Returns NULL for NaN inputs,
 * negative weights or no memory; pos and neg receive the class totals. */
static metrics_row *metrics_sorted(const double *score, const double *label,
                                   const double *weight, size_t n, double *pos,
                                   double *neg)
{
    metrics_row *rows = NULL;
    double p = 0.0, q = 0.0;

    if (n == 0)
        goto cleanup;
    rows = malloc(n * sizeof *rows);
    if (!rows)
        goto cleanup;
    for (size_t i = 0; i < n; i++) {
        double w = metrics_w(weight, i);
        if (isnan(score[i]) || isnan(label[i]) || isnan(w) || w < 0.0) {
            free(rows);
            rows = NULL;
            goto cleanup;
        }
        rows[i].s = score[i];
        rows[i].pos = label[i] >= 0.5 ? w : 0.0;
        rows[i].neg = label[i] >= 0.5 ? 0.0 : w;
        p += rows[i].pos;
        q += rows[i].neg;
    }
    qsort(rows, n, sizeof *rows, metrics_row_cmp);
    *pos = p;
    *neg = q;

cleanup:
    return rows;
}

double metrics_roc_auc(const double *score, const double *label,
                       const double *weight, size_t n)
{
    double pos = 0.0, neg = 0.0, num = 0.0, neg_below = 0.0;
    double auc = NAN;
    metrics_row *rows = metrics_sorted(score, label, weight, n, &pos, &neg);

    if (!rows || pos <= 0.0 || neg <= 0.0)
        goto cleanup;
    /* Ascending scan over tie groups: every positive beats the negatives
     * below its group and half-beats the negatives inside it. */
    for (size_t i = 0; i < n;) {
        double gp = 0.0, gn = 0.0;
        size_t j = i;
        while (j < n && rows[j].s == rows[i].s) {
            gp += rows[j].pos;
            gn += rows[j].neg;
            j++;
        }
        num += gp * (neg_below + 0.5 * gn);
        neg_below += gn;
        i = j;
    }
    auc = num / (pos * neg);

cleanup:
    free(rows);
    return auc;
}

double metrics_pr_auc(const double *score, const double *label,
                      const double *weight, size_t n)
{
    double pos = 0.0, neg = 0.0, tp = 0.0, fp = 0.0, ap = 0.0;
    double res = NAN;
    metrics_row *rows = metrics_sorted(score, label, weight, n, &pos, &neg);

    if (!rows || pos <= 0.0)
        goto cleanup;
    /* Descending: each distinct threshold admits one whole tie group. */
    for (size_t i = n; i > 0;) {
        double gp = 0.0, gn = 0.0, s = rows[i - 1].s;
        while (i > 0 && rows[i - 1].s == s) {
            gp += rows[i - 1].pos;
            gn += rows[i - 1].neg;
            i--;
        }
        tp += gp;
        fp += gn;
        if (gp > 0.0)
            ap += (gp / pos) * (tp / (tp + fp));
    }
    res = ap;

cleanup:
    free(rows);
    return res;
}

double metrics_brier(const double *prob, const double *label,
                     const double *weight, size_t n)
{
    double sw = 0.0, se = 0.0;

    for (size_t i = 0; i < n; i++) {
        double w = metrics_w(weight, i), d = prob[i] - label[i];
        if (w < 0.0)
            return NAN;
        sw += w;
        se += w * d * d;
    }
    return sw > 0.0 ? se / sw : NAN;
}

double metrics_logloss(const double *prob, const double *label,
                       const double *weight, size_t n)
{
    double sw = 0.0, sl = 0.0;

    for (size_t i = 0; i < n; i++) {
        double w = metrics_w(weight, i), p = prob[i], y = label[i];
        /* fmin/fmax would silently turn a NaN probability into a clip. */
        if (isnan(p) || isnan(y) || isnan(w) || w < 0.0)
            return NAN;
        p = fmin(fmax(p, METRICS_EPS), 1.0 - METRICS_EPS);
        sw += w;
        sl -= w * (y * log(p) + (1.0 - y) * log1p(-p));
    }
    return sw > 0.0 ? sl / sw : NAN;
}

double metrics_lift_top_decile(const double *score, const double *label,
                               const double *weight, size_t n)
{
    double pos = 0.0, neg = 0.0, total, target, taken = 0.0, pos_taken = 0.0;
    double lift = NAN;
    metrics_row *rows = metrics_sorted(score, label, weight, n, &pos, &neg);

    if (!rows || pos <= 0.0)
        goto cleanup;
    total = pos + neg;
    target = 0.1 * total;
    for (size_t i = n; i > 0 && taken < target;) {
        double gp = 0.0, gn = 0.0, gw, s = rows[i - 1].s;
        while (i > 0 && rows[i - 1].s == s) {
            gp += rows[i - 1].pos;
            gn += rows[i - 1].neg;
            i--;
        }
        gw = gp + gn;
        if (gw <= 0.0)
            continue;
        if (taken + gw <= target) {
            taken += gw;
            pos_taken += gp;
        } else {
            /* Ties straddle the cut: take the needed share of the group at
             * the group's average positive rate. */
            pos_taken += gp * ((target - taken) / gw);
            taken = target;
        }
    }
    lift = (pos_taken / taken) / (pos / total);

cleanup:
    free(rows);
    return lift;
}

typedef struct {
    double p, y, w;
} calib_row;

static int cmp_calib_row(const void *a, const void *b)
{
    double x = ((const calib_row *)a)->p, y = ((const calib_row *)b)->p;
    return (x > y) - (x < y);
}

int metrics_calibration_quantiles(const double *prob, const double *label,
                                  const double *weight, size_t n, int bins,
                                  metrics_calib_bin *out)
{
    if (bins < 1 || !out)
        return -1;
    calib_row *r = malloc((n ? n : 1) * sizeof *r);
    if (!r)
        return -1;
    size_t m = 0;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(prob[i]))
            continue;
        r[m] = (calib_row){prob[i], label[i], metrics_w(weight, i)};
        total += r[m++].w;
    }
    qsort(r, m, sizeof *r, cmp_calib_row);
    for (int k = 0; k < bins; k++)
        out[k] = (metrics_calib_bin){NAN, NAN, 0.0, 0.0, 0.0, 0};
    double before = 0.0;
    for (size_t i = 0; i < m;) {
        /* a run of tied probabilities goes to the group its start falls in */
        int k = total > 0 ? (int)(before / total * bins) : 0;
        if (k >= bins)
            k = bins - 1;
        size_t j = i;
        for (; j < m && r[j].p == r[i].p; j++) {
            metrics_calib_bin *b = &out[k];
            if (b->count == 0)
                b->lo = r[j].p;
            b->hi = r[j].p;
            b->mean_pred += r[j].w * r[j].p;
            b->observed += r[j].w * r[j].y;
            b->weight += r[j].w;
            b->count++;
            before += r[j].w;
        }
        i = j;
    }
    free(r);
    int nonempty = 0;
    for (int k = 0; k < bins; k++) {
        if (out[k].count > 0 && out[k].weight > 0.0) {
            out[k].mean_pred /= out[k].weight;
            out[k].observed /= out[k].weight;
        } else {
            out[k].mean_pred = NAN;
            out[k].observed = NAN;
        }
        nonempty += out[k].count > 0;
    }
    return nonempty;
}

void metrics_summarize(const double *prob, const double *label,
                       const double *weight, size_t n, metrics_summary *out)
{
    double total = 0.0, pos = 0.0;

    for (size_t i = 0; i < n; i++) {
        double w = metrics_w(weight, i);
        total += w;
        if (label[i] >= 0.5)
            pos += w;
    }
    out->auc = metrics_roc_auc(prob, label, weight, n);
    out->pr_auc = metrics_pr_auc(prob, label, weight, n);
    out->brier = metrics_brier(prob, label, weight, n);
    out->logloss = metrics_logloss(prob, label, weight, n);
    out->lift10 = metrics_lift_top_decile(prob, label, weight, n);
    out->base_rate = total > 0.0 ? pos / total : NAN;
    out->n = total;
    out->positives = pos;
}

/* JSON has no NaN or infinity, and json_real() refuses them: use null. */
static int metrics_set_num(json_t *obj, const char *key, double v)
{
    return json_object_set_new(obj, key,
                               isfinite(v) ? json_real(v) : json_null());
}

json_t *metrics_summary_json(const metrics_summary *m)
{
    json_t *obj = json_object();

    if (!obj)
        return NULL;
    if (metrics_set_num(obj, "auc", m->auc) ||
        metrics_set_num(obj, "pr_auc", m->pr_auc) ||
        metrics_set_num(obj, "brier", m->brier) ||
        metrics_set_num(obj, "logloss", m->logloss) ||
        metrics_set_num(obj, "lift_top_decile", m->lift10) ||
        metrics_set_num(obj, "base_rate", m->base_rate) ||
        metrics_set_num(obj, "rows", m->n) ||
        metrics_set_num(obj, "positives", m->positives)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
