/* calib.c — Platt scaling (Newton on a 2-parameter logistic model) and
 * weighted isotonic regression (pool adjacent violators) for probabilities. */
#include "model/calib.h"

#include <gsl/gsl_sort_double.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/metrics.h"

/* Raw probabilities are clipped before the logit so a 0 or 1 from the model
 * gives a large finite log-odds (about +-27.6) rather than infinity. */
#define CALIB_RAW_EPS 1e-12
/* Bound on stored isotonic points: enough resolution for any reliability
 * plot, small enough to keep the JSON in a model row tiny. */
#define CALIB_MAX_POINTS 200
/* Documents written by a later version may carry more points; refuse only
 * what is clearly not a calibrator. */
#define CALIB_MAX_JSON_POINTS 100000
#define CALIB_MAX_NEWTON 100
#define CALIB_MIN_CHOOSE_ROWS 20

struct calib {
    calib_kind kind;
    double a, b; /* Platt */
    size_t npts; /* isotonic: x strictly increasing, y non-decreasing */
    double *x, *y;
};

/* Running sums of one isotonic block; means are sums / w. */
typedef struct {
    double sx, sy, w;
} calib_block;

static double calib_logit(double p)
{
    p = fmin(fmax(p, CALIB_RAW_EPS), 1.0 - CALIB_RAW_EPS);
    return log(p) - log1p(-p);
}

static double calib_sigmoid(double f)
{
    if (f >= 0.0)
        return 1.0 / (1.0 + exp(-f));
    double e = exp(f);
    return e / (1.0 + e);
}

/* log(1 + exp(z)) without overflow. */
static double calib_softplus(double z)
{
    return fmax(z, 0.0) + log1p(exp(-fabs(z)));
}

const char *calib_kind_name(calib_kind kind)
{
    return kind == CALIB_ISOTONIC ? "isotonic" : "platt";
}

calib_kind calib_get_kind(const calib *c)
{
    return c->kind;
}

void calib_free(calib *c)
{
    if (!c)
        return;
    free(c->x);
    free(c->y);
    free(c);
}

/* Shared input check; also returns the class weights the fits need. */
static vg_code calib_check(const double *raw, const double *label,
                           const double *w, size_t n, double *pos_w,
                           double *neg_w, vg_error *err)
{
    double pw = 0.0, nw = 0.0;

    if (n == 0)
        return vg_fail(err, VG_EDATA, "calibration: no rows");
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0;
        if (!isfinite(raw[i]) || isnan(label[i]) || !isfinite(wi) || wi < 0.0)
            return vg_fail(err, VG_EDATA,
                           "calibration: row %zu has a non-finite value or "
                           "a negative weight",
                           i);
        if (label[i] >= 0.5)
            pw += wi;
        else
            nw += wi;
    }
    if (pw <= 0.0 || nw <= 0.0)
        return vg_fail(err, VG_EDATA,
                       "calibration: needs both classes (positive weight "
                       "%g, negative weight %g)",
                       pw, nw);
    *pos_w = pw;
    *neg_w = nw;
    return VG_OK;
}

/* Negative log-likelihood of smoothed targets under sigmoid(a*f + b). */
static double calib_platt_loss(const double *f, const double *label,
                               const double *w, size_t n, double tp, double tn,
                               double a, double b)
{
    double loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        double z = a * f[i] + b, t = label[i] >= 0.5 ? tp : tn;
        loss += (w ? w[i] : 1.0) *
                (t * calib_softplus(-z) + (1.0 - t) * calib_softplus(z));
    }
    return loss;
}

/* The gradient g = {d/da, d/db} and Hessian h = {aa, ab, bb} of Platt's
 * loss at (a, b), for one Newton step of calib_fit_platt. */
static void calib_platt_derivs(const double *f, const double *label,
                               const double *w, size_t n, double tp, double tn,
                               double a, double b, double g[2], double h[3])
{
    double g1 = 0.0, g2 = 0.0, h11 = 0.0, h12 = 0.0, h22 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double wi = w ? w[i] : 1.0, t = label[i] >= 0.5 ? tp : tn;
        double p = calib_sigmoid(a * f[i] + b), d = wi * (p - t);
        double hi = wi * p * (1.0 - p);
        g1 += d * f[i];
        g2 += d;
        h11 += hi * f[i] * f[i];
        h12 += hi * f[i];
        h22 += hi;
    }
    g[0] = g1;
    g[1] = g2;
    h[0] = h11;
    h[1] = h12;
    h[2] = h22;
}

/* Newton's method with backtracking (Lin, Lin & Weng 2007, "A note on Platt's
 * probabilistic outputs"). The 2x2 system is solved in closed form: GSL's
 * solvers would report a singular matrix through its default error handler,
 * which aborts, and switching that handler off is process-wide state. */
static vg_code calib_fit_platt(const double *raw, const double *label,
                               const double *w, size_t n, double pos_w,
                               double neg_w, calib *c, vg_error *err)
{
    vg_code rc = VG_OK;
    double *f = malloc(n * sizeof *f);
    /* Platt's targets: the MAP estimate under a uniform prior on each
     * class's rate, so perfectly separated data still has a finite fit. */
    double tp = (pos_w + 1.0) / (pos_w + 2.0), tn = 1.0 / (neg_w + 2.0);
    double total = pos_w + neg_w, a = 1.0, b = 0.0, loss;

    if (!f) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++)
        f[i] = calib_logit(raw[i]);
    /* Start at the identity map: the raw score already is a probability. */
    loss = calib_platt_loss(f, label, w, n, tp, tn, a, b);
    for (int it = 0; it < CALIB_MAX_NEWTON; it++) {
        double g[2], hs[3];
        calib_platt_derivs(f, label, w, n, tp, tn, a, b, g, hs);
        double g1 = g[0], g2 = g[1], h11 = hs[0], h12 = hs[1], h22 = hs[2];
        if (fabs(g1) <= 1e-10 * total && fabs(g2) <= 1e-10 * total)
            break;
        /* A tiny ridge keeps the system solvable when every f is equal. */
        h11 += 1e-12 * total;
        h22 += 1e-12 * total;
        double det = h11 * h22 - h12 * h12;
        if (!(det > 0.0))
            break;
        double da = -(h22 * g1 - h12 * g2) / det;
        double db = -(h11 * g2 - h12 * g1) / det;
        double slope = g1 * da + g2 * db, step = 1.0, next = loss;
        /* -slope/2 is the decrease Newton expects. Below ~1e-12 per unit of
         * weight it is lost in the rounding of a sum over n rows, and the
         * line search would only chase noise. */
        if (!(-slope > 2e-12 * total))
            break;
        while (step >= 1e-10) {
            next = calib_platt_loss(f, label, w, n, tp, tn, a + step * da,
                                    b + step * db);
            if (next <= loss + 1e-4 * step * slope)
                break;
            step *= 0.5;
        }
        if (step < 1e-10)
            break; /* no further decrease representable: converged */
        a += step * da;
        b += step * db;
        loss = next;
    }
    if (!isfinite(a) || !isfinite(b)) {
        rc = vg_fail(err, VG_EDATA, "calibration: Platt fit diverged");
        goto cleanup;
    }
    c->a = a;
    c->b = b;

cleanup:
    free(f);
    return rc;
}

/* Merges adjacent PAV blocks into at most CALIB_MAX_POINTS groups of about
 * equal weight (merging neighbours keeps the means monotone) and stores one
 * (mean raw, mean label) point per group. */
static vg_code calib_store_points(const calib_block *blk, size_t nblk, calib *c,
                                  vg_error *err)
{
    vg_code rc = VG_OK;
    size_t cap = nblk < CALIB_MAX_POINTS ? nblk : CALIB_MAX_POINTS, m = 0;
    calib_block *grp = malloc(cap * sizeof *grp);
    double total = 0.0, before = 0.0;
    long cur = -1;

    c->x = malloc(cap * sizeof *c->x);
    c->y = malloc(cap * sizeof *c->y);
    if (!grp || !c->x || !c->y) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    for (size_t k = 0; k < nblk; k++)
        total += blk[k].w;
    for (size_t k = 0; k < nblk; k++) {
        /* The group is where the block's weight midpoint falls: monotone in
         * k, so groups are contiguous and there are at most cap of them. */
        long g = (long)((before + 0.5 * blk[k].w) / total * (double)cap);
        if (g >= (long)cap)
            g = (long)cap - 1;
        before += blk[k].w;
        if (g != cur) {
            grp[m++] = (calib_block){0.0, 0.0, 0.0};
            cur = g;
        }
        grp[m - 1].sx += blk[k].sx;
        grp[m - 1].sy += blk[k].sy;
        grp[m - 1].w += blk[k].w;
    }
    c->npts = 0;
    for (size_t k = 0; k < m; k++) {
        size_t j = c->npts;
        grp[j] = grp[k];
        /* Rounding could make neighbouring mean raws touch: fold such a
         * group into its predecessor so x stays strictly increasing. */
        while (j > 0 && grp[j].sx / grp[j].w <= grp[j - 1].sx / grp[j - 1].w) {
            grp[j - 1].sx += grp[j].sx;
            grp[j - 1].sy += grp[j].sy;
            grp[j - 1].w += grp[j].w;
            j--;
        }
        c->npts = j + 1;
    }
    for (size_t k = 0; k < c->npts; k++) {
        c->x[k] = grp[k].sx / grp[k].w;
        c->y[k] = grp[k].sy / grp[k].w;
        /* Division can undo an exact tie by an ulp; keep y monotone. */
        if (k > 0 && c->y[k] < c->y[k - 1])
            c->y[k] = c->y[k - 1];
    }

cleanup:
    free(grp);
    return rc;
}

static vg_code calib_fit_isotonic(const double *raw, const double *label,
                                  const double *w, size_t n, calib *c,
                                  vg_error *err)
{
    vg_code rc = VG_OK;
    size_t *order = malloc(n * sizeof *order), nblk = 0;
    calib_block *blk = malloc(n * sizeof *blk);

    if (!order || !blk) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    gsl_sort_index(order, raw, 1, n);
    for (size_t r = 0; r < n;) {
        /* Equal raw values must get one value: pool them into one point
         * before PAV sees them. */
        double v = raw[order[r]];
        calib_block g = {0.0, 0.0, 0.0};
        for (; r < n && raw[order[r]] == v; r++) {
            size_t i = order[r];
            double wi = w ? w[i] : 1.0;
            g.sx += wi * raw[i];
            g.sy += label[i] >= 0.5 ? wi : 0.0;
            g.w += wi;
        }
        if (g.w <= 0.0)
            continue;
        blk[nblk++] = g;
        /* Pool while the previous block's mean exceeds the new one's
         * (cross-multiplied: both weights are positive). */
        while (nblk >= 2 && blk[nblk - 2].sy * blk[nblk - 1].w >
                                blk[nblk - 1].sy * blk[nblk - 2].w) {
            blk[nblk - 2].sx += blk[nblk - 1].sx;
            blk[nblk - 2].sy += blk[nblk - 1].sy;
            blk[nblk - 2].w += blk[nblk - 1].w;
            nblk--;
        }
    }
    rc = calib_store_points(blk, nblk, c, err);

cleanup:
    free(order);
    free(blk);
    return rc;
}

vg_code calib_fit(calib_kind kind, const double *raw, const double *label,
                  const double *w, size_t n, calib **out, vg_error *err)
{
    vg_code rc;
    double pos_w = 0.0, neg_w = 0.0;
    calib *c = NULL;

    rc = calib_check(raw, label, w, n, &pos_w, &neg_w, err);
    if (rc != VG_OK)
        goto cleanup;
    c = calloc(1, sizeof *c);
    if (!c) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    c->kind = kind;
    if (kind == CALIB_PLATT)
        rc = calib_fit_platt(raw, label, w, n, pos_w, neg_w, c, err);
    else if (kind == CALIB_ISOTONIC)
        rc = calib_fit_isotonic(raw, label, w, n, c, err);
    else
        rc = vg_fail(err, VG_EINTERNAL, "calibration: unknown kind %d",
                     (int)kind);
    if (rc != VG_OK)
        goto cleanup;
    *out = c;
    c = NULL;

cleanup:
    calib_free(c);
    return rc;
}

double calib_apply(const calib *c, double raw)
{
    size_t lo = 0, hi;

    if (isnan(raw))
        return NAN;
    if (c->kind == CALIB_PLATT)
        return calib_sigmoid(c->a * calib_logit(raw) + c->b);
    hi = c->npts - 1;
    if (raw <= c->x[0])
        return c->y[0];
    if (raw >= c->x[hi])
        return c->y[hi];
    /* Invariant: x[lo] < raw < x[hi]; bisect down to adjacent points. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->x[mid] <= raw)
            lo = mid;
        else
            hi = mid;
    }
    return c->y[lo] +
           (c->y[hi] - c->y[lo]) * (raw - c->x[lo]) / (c->x[hi] - c->x[lo]);
}

json_t *calib_to_json(const calib *c)
{
    json_t *obj = json_object(), *xs = NULL, *ys = NULL;
    int bad = !obj;

    if (bad)
        goto cleanup;
    bad |=
        json_object_set_new(obj, "kind", json_string(calib_kind_name(c->kind)));
    if (c->kind == CALIB_PLATT) {
        bad |= json_object_set_new(obj, "a", json_real(c->a));
        bad |= json_object_set_new(obj, "b", json_real(c->b));
        goto cleanup;
    }
    xs = json_array();
    ys = json_array();
    bad |= !xs || !ys;
    for (size_t k = 0; !bad && k < c->npts; k++) {
        bad |= json_array_append_new(xs, json_real(c->x[k]));
        bad |= json_array_append_new(ys, json_real(c->y[k]));
    }
    if (!bad) {
        bad |= json_object_set(obj, "x", xs);
        bad |= json_object_set(obj, "y", ys);
    }

cleanup:
    json_decref(xs);
    json_decref(ys);
    if (bad) {
        json_decref(obj);
        obj = NULL;
    }
    return obj;
}

static int calib_json_num(const json_t *j, double *v)
{
    if (!json_is_number(j))
        return -1;
    *v = json_number_value(j);
    return isfinite(*v) ? 0 : -1;
}

vg_code calib_from_json(const json_t *j, calib **out, vg_error *err)
{
    vg_code rc = VG_OK;
    calib *c = NULL;
    const char *kind = json_string_value(json_object_get(j, "kind"));

    c = calloc(1, sizeof *c);
    if (!c) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    if (kind && strcmp(kind, "platt") == 0) {
        c->kind = CALIB_PLATT;
        if (calib_json_num(json_object_get(j, "a"), &c->a) ||
            calib_json_num(json_object_get(j, "b"), &c->b)) {
            rc = vg_fail(err, VG_EMODEL,
                         "calibration JSON: Platt needs finite a and b");
            goto cleanup;
        }
    } else if (kind && strcmp(kind, "isotonic") == 0) {
        const json_t *xs = json_object_get(j, "x"),
                     *ys = json_object_get(j, "y");
        size_t m = json_array_size(xs);
        c->kind = CALIB_ISOTONIC;
        if (!json_is_array(xs) || !json_is_array(ys) || m == 0 ||
            m != json_array_size(ys) || m > CALIB_MAX_JSON_POINTS) {
            rc = vg_fail(err, VG_EMODEL,
                         "calibration JSON: isotonic needs equal, non-empty "
                         "x and y arrays");
            goto cleanup;
        }
        c->x = malloc(m * sizeof *c->x);
        c->y = malloc(m * sizeof *c->y);
        if (!c->x || !c->y) {
            rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
            goto cleanup;
        }
        for (size_t k = 0; k < m; k++) {
            /* Apply's bisection and monotonicity rely on these orders. */
            if (calib_json_num(json_array_get(xs, k), &c->x[k]) ||
                calib_json_num(json_array_get(ys, k), &c->y[k]) ||
                c->y[k] < 0.0 || c->y[k] > 1.0 ||
                (k > 0 && (c->x[k] <= c->x[k - 1] || c->y[k] < c->y[k - 1]))) {
                rc = vg_fail(err, VG_EMODEL,
                             "calibration JSON: isotonic point %zu is not "
                             "finite, in [0,1] and in increasing order",
                             k);
                goto cleanup;
            }
        }
        c->npts = m;
    } else {
        rc = vg_fail(err, VG_EMODEL,
                     "calibration JSON: kind must be \"platt\" or "
                     "\"isotonic\"");
        goto cleanup;
    }
    *out = c;
    c = NULL;

cleanup:
    calib_free(c);
    return rc;
}

/* Weighted logloss of kind fitted on one half and applied to the other. */
static vg_code calib_holdout(calib_kind kind, const double *fr,
                             const double *fl, const double *fw, size_t fn,
                             const double *er, const double *el,
                             const double *ew, size_t en, double *prob,
                             double *loss, vg_error *err)
{
    calib *c = NULL;
    vg_code rc = calib_fit(kind, fr, fl, fw, fn, &c, err);

    if (rc != VG_OK)
        goto cleanup;
    for (size_t i = 0; i < en; i++)
        prob[i] = calib_apply(c, er[i]);
    *loss = metrics_logloss(prob, el, ew, en);

cleanup:
    calib_free(c);
    return rc;
}

static int calib_two_classes(const double *label, const double *w, size_t n)
{
    double pw = 0.0, nw = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (label[i] >= 0.5)
            pw += w ? w[i] : 1.0;
        else
            nw += w ? w[i] : 1.0;
    }
    return pw > 0.0 && nw > 0.0;
}

vg_code calib_choose(const double *raw, const double *label, const double *w,
                     size_t n, calib **out, vg_error *err)
{
    vg_code rc;
    double pos_w, neg_w, *buf = NULL;
    double score[2] = {0.0, 0.0}; /* held-out loss, indexed by calib_kind */
    calib_kind best = CALIB_PLATT;
    size_t ne = (n + 1) / 2, no = n / 2;

    if (n < CALIB_MIN_CHOOSE_ROWS) {
        rc = vg_fail(err, VG_EDATA,
                     "calibration: %zu rows, need at least %d to choose", n,
                     CALIB_MIN_CHOOSE_ROWS);
        goto cleanup;
    }
    rc = calib_check(raw, label, w, n, &pos_w, &neg_w, err);
    if (rc != VG_OK)
        goto cleanup;
    /* Halves laid out as [even raw | odd raw | even label | odd label |
     * even w | odd w | scratch probabilities], one allocation. */
    buf = malloc(7 * ne * sizeof *buf);
    if (!buf) {
        rc = vg_fail(err, VG_ENOMEM, "calibration: out of memory");
        goto cleanup;
    }
    double *r[2] = {buf, buf + ne}, *l[2] = {buf + 2 * ne, buf + 3 * ne};
    double *wt[2] = {buf + 4 * ne, buf + 5 * ne}, *prob = buf + 6 * ne;
    size_t cnt[2] = {ne, no};
    for (size_t i = 0; i < n; i++) {
        r[i % 2][i / 2] = raw[i];
        l[i % 2][i / 2] = label[i];
        wt[i % 2][i / 2] = w ? w[i] : 1.0;
    }
    if (calib_two_classes(l[0], wt[0], ne) &&
        calib_two_classes(l[1], wt[1], no)) {
        for (int k = CALIB_PLATT; k <= CALIB_ISOTONIC; k++) {
            for (int h = 0; h < 2; h++) {
                double loss = NAN, hw = 0.0;
                rc = calib_holdout((calib_kind)k, r[h], l[h], wt[h], cnt[h],
                                   r[1 - h], l[1 - h], wt[1 - h], cnt[1 - h],
                                   prob, &loss, err);
                if (rc != VG_OK)
                    goto cleanup;
                for (size_t i = 0; i < cnt[1 - h]; i++)
                    hw += wt[1 - h][i];
                /* Weight by the scored half so the total is a mean over
                 * all rows. */
                score[k] += loss * hw;
            }
        }
        if (score[CALIB_ISOTONIC] < score[CALIB_PLATT])
            best = CALIB_ISOTONIC;
    }
    rc = calib_fit(best, raw, label, w, n, out, err);

cleanup:
    free(buf);
    return rc;
}
