/* cluster.c — spherical k-means over sparse unit rows, automatic k by
 * silhouette, outliers, c-TF-IDF labels and old/new topic matching. */
#include "topics/cluster.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/* Similarities are computed KB centroids at a time (a fixed-size inner loop
 * the compiler vectorises); k is padded to a multiple of KB with zero
 * centroids that argmax never looks at. */
#define KB 8
#define MAXT 16
/* Centroid sums and the objective are accumulated in fixed point, so the
 * result is bit-identical whatever the number of threads and the order in
 * which their partial sums are combined. */
#define SUM_SCALE                                                              \
    68719476736.0              /* 2^36: rows are unit vectors, so a sum over   \
                                  up to ~10^8 rows stays below 2^63 */
#define OBJ_SCALE 4294967296.0 /* 2^32 */

struct topic_model {
    int k, kp; /* kp: k rounded up to KB */
    size_t dim;
    float *cent; /* column-major: cent[col * kp + c], so one sparse entry
                    touches kp adjacent floats */
    double threshold, objective, silhouette;
};

static int pad_k(int k)
{
    return (k + KB - 1) / KB * KB;
}

void topic_kmeans_opts_default(topic_kmeans_opts *o)
{
    o->k = 0;
    o->k_min = 2;
    o->k_max = 30;
    o->restarts = 3;
    o->max_iter = 30;
    o->seed = 42;
    o->outlier_budget = 0.10;
    o->min_similarity = 0.10;
    o->select_sample = 20000;
    o->silhouette_sample = 1000;
    o->threads = 2;
}

void topic_model_free(topic_model *m)
{
    if (!m)
        return;
    free(m->cent);
    free(m);
}

int topic_model_k(const topic_model *m)
{
    return m->k;
}
double topic_model_threshold(const topic_model *m)
{
    return m->threshold;
}
double topic_model_objective(const topic_model *m)
{
    return m->objective;
}
double topic_model_silhouette(const topic_model *m)
{
    return m->silhouette;
}

void topic_model_centroid(const topic_model *m, int c, float *out)
{
    for (size_t j = 0; j < m->dim; j++)
        out[j] = m->cent[j * (size_t)m->kp + (size_t)c];
}

/* Similarities of row r to the kp (padded) centroids into s[0..kp). The
 * same code scores rows in the fit and in topic_model_assign(), so a row
 * gets the same similarity from both. */
typedef float v4f __attribute__((vector_size(16)));

static void row_sims(const topic_csr *X, size_t r, const float *cent, int kp,
                     float *s)
{
    size_t e0 = X->rowptr[r], e1 = X->rowptr[r + 1];
    const uint32_t *col = X->col;
    const float *val = X->val;
    for (int b = 0; b < kp; b += KB) {
        v4f a0 = {0, 0, 0, 0}, a1 = {0, 0, 0, 0};
        const float *cb = cent + b;
        for (size_t e = e0; e < e1; e++) {
            const float *cc = cb + (size_t)col[e] * (size_t)kp;
            float v = val[e];
            v4f vv = {v, v, v, v}, c0, c1;
            memcpy(&c0, cc, sizeof c0);
            memcpy(&c1, cc + 4, sizeof c1);
            a0 += vv * c0;
            a1 += vv * c1;
        }
        memcpy(s + b, &a0, sizeof a0);
        memcpy(s + b + 4, &a1, sizeof a1);
    }
}

static int argmax(const float *s, int k)
{
    int b = 0;
    for (int c = 1; c < k; c++)
        if (s[c] > s[b])
            b = c;
    return b;
}

/* Deterministic generator for seeding (splitmix64 through hash_mix). */
static double rng_unit(uint64_t *st)
{
    *st += 0x9e3779b97f4a7c15ULL;
    return hash_unit(hash_mix(*st));
}

/* ---- a small parallel for ------------------------------------------------
 * [0, n) is cut into nt contiguous parts; part t runs fn(ctx, t, lo, hi),
 * part 0 on the calling thread. Every part writes only its own rows and its
 * own per-thread slots, so the split never changes a result. */
typedef void (*par_fn)(void *ctx, int tid, size_t lo, size_t hi);

typedef struct par_arg {
    par_fn fn;
    void *ctx;
    int tid;
    size_t lo, hi;
} par_arg;

static void *par_main(void *a)
{
    par_arg *p = a;
    p->fn(p->ctx, p->tid, p->lo, p->hi);
    return NULL;
}

/* Returns the number of parts used. */
static int par_for(int nt, size_t n, par_fn fn, void *ctx)
{
    if (nt > MAXT)
        nt = MAXT;
    if (nt < 1 || n < 4096)
        nt = 1; /* not worth a thread */
    par_arg a[MAXT];
    pthread_t th[MAXT];
    int ok[MAXT];
    for (int t = 0; t < nt; t++) {
        a[t] = (par_arg){fn, ctx, t, n * (size_t)t / (size_t)nt,
                         n * (size_t)(t + 1) / (size_t)nt};
        ok[t] = 0;
    }
    for (int t = 1; t < nt; t++)
        ok[t] = pthread_create(&th[t], NULL, par_main, &a[t]) == 0;
    fn(ctx, 0, a[0].lo, a[0].hi);
    for (int t = 1; t < nt; t++) {
        if (ok[t])
            pthread_join(th[t], NULL);
        else
            fn(ctx, t, a[t].lo, a[t].hi); /* no thread: run it here */
    }
    return nt;
}

typedef struct km_ws {
    int nt;
    int64_t *sum[MAXT]; /* k * dim each, by cluster: sum[c * dim + col] */
    float *s[MAXT];     /* kp each */
    size_t changed[MAXT];
    int64_t obj[MAXT];
    double *dist, *tmp, *tmp2; /* n each */
    float *dense;              /* dim */
    double *nrm;               /* kp */
} km_ws;

typedef struct km_job {
    const topic_csr *X;
    const size_t *ord;
    const float *cent;
    const float *dense;
    const double *din; /* seeding: distances so far ... */
    double *dout;      /* ... and with one more centre */
    int k, kp, first;
    size_t dim;
    int *asg;
    double *best;
    km_ws *ws;
} km_job;

/* Assignment step on ord[lo..hi) plus this part's centroid sums. */
static void assign_part(void *ctx, int tid, size_t lo, size_t hi)
{
    km_job *j = ctx;
    km_ws *ws = j->ws;
    const topic_csr *X = j->X;
    float *s = ws->s[tid];
    int64_t *sum = ws->sum[tid];
    size_t changed = 0;
    int64_t obj = 0;
    memset(sum, 0, (size_t)j->k * j->dim * sizeof *sum);
    for (size_t q = lo; q < hi; q++) {
        size_t r = j->ord[q];
        row_sims(X, r, j->cent, j->kp, s);
        int a = argmax(s, j->k);
        if (j->first || a != j->asg[q])
            changed++;
        j->asg[q] = a;
        j->best[q] = s[a];
        obj += (int64_t)((double)s[a] * OBJ_SCALE);
        int64_t *row = sum + (size_t)a * j->dim;
        size_t e1 = X->rowptr[r + 1];
        for (size_t e = X->rowptr[r]; e < e1; e++)
            row[X->col[e]] += (int64_t)((double)X->val[e] * SUM_SCALE);
    }
    ws->changed[tid] = changed;
    ws->obj[tid] = obj;
}

/* k-means++ step: dout = min(din, distance of ord[lo..hi) to the
 * candidate centre in dense). */
static void seed_part(void *ctx, int tid, size_t lo, size_t hi)
{
    km_job *j = ctx;
    const topic_csr *X = j->X;
    (void)tid;
    for (size_t q = lo; q < hi; q++) {
        size_t r = j->ord[q];
        double dot = 0;
        for (size_t e = X->rowptr[r]; e < X->rowptr[r + 1]; e++)
            dot += (double)X->val[e] * j->dense[X->col[e]];
        double d = 1.0 - dot;
        if (d < 0)
            d = 0;
        j->dout[q] = d < j->din[q] ? d : j->din[q];
    }
}

/* Distances of the first n rows to the nearest centre so far plus row
 * ord[pick], into out; returns their sum (summed in row order). */
static double seed_try(km_job *job, size_t n, size_t pick, const double *in,
                       double *out)
{
    const topic_csr *X = job->X;
    km_ws *ws = job->ws;
    size_t r = job->ord[pick];
    for (size_t e = X->rowptr[r]; e < X->rowptr[r + 1]; e++)
        ws->dense[X->col[e]] = X->val[e];
    job->din = in;
    job->dout = out;
    par_for(ws->nt, n, seed_part, job);
    for (size_t e = X->rowptr[r]; e < X->rowptr[r + 1]; e++)
        ws->dense[X->col[e]] = 0;
    double total = 0;
    for (size_t q = 0; q < n; q++)
        total += out[q];
    return total;
}

/* Puts row r of X into centroid column c (cent is dim x kp, column-major). */
static void put_centre(const topic_csr *X, size_t r, int kp, int c, float *cent)
{
    for (size_t e = X->rowptr[r]; e < X->rowptr[r + 1]; e++)
        cent[(size_t)X->col[e] * (size_t)kp + (size_t)c] = X->val[e];
}

/* A row drawn with probability proportional to its distance: the first
 * of the nseed rows where the running sum passes target. */
static size_t draw_by_distance(const double *dist, size_t nseed, double target)
{
    double cum = 0;
    for (size_t j = 0; j < nseed; j++) {
        cum += dist[j];
        if (cum > target && dist[j] > 0)
            return j;
    }
    return nseed - 1;
}

/* Greedy k-means++ (as scikit-learn's) on the chord distance 2(1 - cos),
 * drawn along the first nseed rows of ord: each step draws 2 + ln(k)
 * candidates by distance and keeps the one that leaves the least total
 * distance. Fills cent (job->cent, zeroed first). */
static void seed_centres(km_job *job, size_t nseed, uint64_t seed, float *cent)
{
    const topic_csr *X = job->X;
    km_ws *ws = job->ws;
    int k = job->k;
    memset(cent, 0, job->dim * (size_t)job->kp * sizeof *cent);
    uint64_t st = hash_mix(seed ^ 0x5eedULL);
    int trials = 2 + (int)log((double)k);
    double *dist = ws->dist, *tmp = ws->tmp, *bt = ws->tmp2;
    for (size_t j = 0; j < nseed; j++)
        dist[j] = 1.0;
    size_t pick = (size_t)(rng_unit(&st) * (double)nseed);
    if (pick >= nseed)
        pick = nseed - 1;
    double total = seed_try(job, nseed, pick, dist, tmp);
    double *sw = dist;
    dist = tmp;
    tmp = sw;
    for (int c = 0;; c++) {
        put_centre(X, job->ord[pick], job->kp, c, cent);
        if (c + 1 == k)
            break;
        if (total <= 1e-12) {
            pick = (pick + 1) % nseed; /* all remaining rows coincide */
            continue;
        }
        double bestpot = INFINITY;
        size_t bestpick = pick;
        for (int l = 0; l < trials; l++) {
            size_t p = draw_by_distance(dist, nseed, rng_unit(&st) * total);
            double pot = seed_try(job, nseed, p, dist, tmp);
            if (pot < bestpot) {
                bestpot = pot;
                bestpick = p;
                sw = bt;
                bt = tmp;
                tmp = sw;
            }
        }
        pick = bestpick;
        total = bestpot;
        sw = dist;
        dist = bt;
        bt = sw;
    }
}

/* Restarts every empty cluster (ws->nrm[c] == 0) at the worst-fitting
 * document, so k clusters survive. */
static void restart_empty(const km_job *job, size_t n, int64_t *sum)
{
    const topic_csr *X = job->X;
    km_ws *ws = job->ws;
    double *best = job->best;
    for (int c = 0; c < job->k; c++) {
        if (ws->nrm[c] > 0)
            continue;
        size_t w = 0;
        for (size_t j = 1; j < n; j++)
            if (best[j] < best[w])
                w = j;
        best[w] = 2.0; /* not picked twice */
        size_t r = job->ord[w];
        int64_t *row = sum + (size_t)c * job->dim;
        for (size_t e = X->rowptr[r]; e < X->rowptr[r + 1]; e++)
            row[X->col[e]] = (int64_t)((double)X->val[e] * SUM_SCALE);
        ws->nrm[c] = 1.0;
    }
}

/* Update step: the nt parts' centroid sums added up (in integers, so the
 * result does not depend on the number of threads) and normalised into
 * unit centroids. */
static void update_centres(km_job *job, size_t n, int nt, float *cent)
{
    km_ws *ws = job->ws;
    size_t dim = job->dim;
    int k = job->k;
    int64_t *sum = ws->sum[0];
    for (int t = 1; t < nt; t++)
        for (size_t x = 0; x < dim * (size_t)k; x++)
            sum[x] += ws->sum[t][x];
    for (int c = 0; c < k; c++) {
        double nr = 0;
        const int64_t *row = sum + (size_t)c * dim;
        for (size_t x = 0; x < dim; x++) {
            double v = (double)row[x] / SUM_SCALE;
            nr += v * v;
        }
        ws->nrm[c] = nr;
    }
    restart_empty(job, n, sum);
    for (int c = 0; c < k; c++)
        ws->nrm[c] = ws->nrm[c] > 0 ? 1.0 / sqrt(ws->nrm[c]) : 0;
    for (size_t x = 0; x < dim; x++)
        for (int c = 0; c < k; c++)
            cent[x * (size_t)job->kp + (size_t)c] =
                (float)((double)sum[(size_t)c * dim + x] / SUM_SCALE *
                        ws->nrm[c]);
}

/* One spherical k-means run over rows ord[0..n) (canonical order).
 * Starts from init (dim * pad_k(k), column-major) when given, else from
 * k-means++ drawn along the first nseed rows. cent (dim * pad_k(k)) receives
 * unit centroids, asg[j] the cluster of ord[j], best[j] its similarity. It
 * stops when no more than 1 in 1000 rows changed cluster (none, below 1000
 * rows). Returns the summed similarity. */
static double kmeans_run(const topic_csr *X, const size_t *ord, size_t n, int k,
                         uint64_t seed, int max_iter, const float *init,
                         size_t nseed, float *cent, int *asg, double *best,
                         km_ws *ws)
{
    size_t dim = X->ncols;
    int kp = pad_k(k);
    km_job job = {.X = X,
                  .ord = ord,
                  .cent = cent,
                  .dense = ws->dense,
                  .k = k,
                  .kp = kp,
                  .first = 1,
                  .dim = dim,
                  .asg = asg,
                  .best = best,
                  .ws = ws};
    if (init)
        memcpy(cent, init, dim * (size_t)kp * sizeof *cent);
    else
        seed_centres(&job, nseed == 0 || nseed > n ? n : nseed, seed, cent);
    int64_t obj = 0;
    for (int it = 0; it < max_iter; it++) {
        job.first = it == 0;
        int nt = par_for(ws->nt, n, assign_part, &job);
        size_t changed = 0;
        obj = 0;
        for (int t = 0; t < nt; t++) {
            changed += ws->changed[t];
            obj += ws->obj[t];
        }
        if (it > 0 && changed * 1000 <= n)
            break;
        if (it + 1 == max_iter)
            break;
        update_centres(&job, n, nt, cent);
    }
    return (double)obj / OBJ_SCALE;
}
/* Mean cosine silhouette of the first m rows of ord given sims among them
 * (m x m) and their clusters. */
static double silhouette(const float *S, size_t m, const int *asg, int k,
                         double *acc, size_t *cnt)
{
    double total = 0;
    for (int c = 0; c < k; c++)
        cnt[c] = 0;
    for (size_t i = 0; i < m; i++)
        cnt[asg[i]]++;
    for (size_t i = 0; i < m; i++) {
        for (int c = 0; c < k; c++)
            acc[c] = 0;
        for (size_t j = 0; j < m; j++)
            if (j != i)
                acc[asg[j]] += 1.0 - S[i * m + j];
        int own = asg[i];
        if (cnt[own] <= 1)
            continue; /* a singleton scores 0 */
        double a = acc[own] / (double)(cnt[own] - 1), b = INFINITY;
        for (int c = 0; c < k; c++)
            if (c != own && cnt[c] > 0 && acc[c] / (double)cnt[c] < b)
                b = acc[c] / (double)cnt[c];
        if (!isfinite(b))
            continue;
        double d = a > b ? a : b;
        total += d > 0 ? (b - a) / d : 0;
    }
    return m ? total / (double)m : 0;
}

typedef struct ordkey {
    uint64_t h;
    const char *id;
    size_t row;
} ordkey;

static int cmp_ordkey(const void *a, const void *b)
{
    const ordkey *x = a, *y = b;
    if (x->h != y->h)
        return x->h < y->h ? -1 : 1;
    int c = strcmp(x->id, y->id);
    if (c)
        return c;
    return (x->row > y->row) - (x->row < y->row);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What every k-means run of one topic_kmeans call shares: the rows, the
 * scratch of one run, and the sizes. Owned by topic_kmeans. */
typedef struct km_fit {
    topic_csr Y;  /* non-empty rows of X in canonical order */
    size_t *iden; /* 0..n-1: Y is already in order */
    size_t n, ms; /* rows; rows of the selection sample (a prefix) */
    km_ws ws;
    float *cent;  /* dim * pad_k(kmax): one run's centroids */
    int *asg;     /* n: one run's clusters */
    double *best; /* n: one run's similarities */
} km_fit;

/* Marks every row unassigned and puts the non-empty ones in canonical order
 * (hash of id, id, row) so the result does not depend on input order.
 * Returns how many rows take part. */
static size_t canon_order(const topic_csr *X, const char *const *ids,
                          ordkey *keys, char (*numid)[24], size_t *ord,
                          int *assign, float *sim)
{
    size_t n = 0;
    for (size_t r = 0; r < X->nrows; r++) {
        assign[r] = -1;
        if (sim)
            sim[r] = 0;
        if (X->rowptr[r + 1] == X->rowptr[r])
            continue; /* empty rows never join a topic */
        const char *id = ids ? ids[r] : NULL;
        if (!id) {
            snprintf(numid[r], sizeof numid[r], "%zu", r);
            id = numid[r];
        }
        keys[n++] = (ordkey){hash_str(id, 0x70b1c5ULL), id, r};
    }
    qsort(keys, n, sizeof *keys, cmp_ordkey);
    for (size_t j = 0; j < n; j++)
        ord[j] = keys[j].row;
    return n;
}

/* The non-empty rows copied in canonical order: every pass then streams
 * through memory, and the sample is the first ms rows. The caller owns Y and
 * *iden and frees them even when this fails. Returns -1 when out of memory. */
static int copy_canon(const topic_csr *X, const size_t *ord, size_t n,
                      topic_csr *Y, size_t **iden)
{
    Y->nrows = n;
    Y->ncols = X->ncols;
    Y->rowptr = malloc((n + 1) * sizeof *Y->rowptr);
    *iden = malloc(n * sizeof **iden);
    size_t nnz = 0;
    for (size_t j = 0; j < n; j++)
        nnz += X->rowptr[ord[j] + 1] - X->rowptr[ord[j]];
    Y->col = malloc((nnz + 1) * sizeof *Y->col);
    Y->val = malloc((nnz + 1) * sizeof *Y->val);
    if (!Y->rowptr || !*iden || !Y->col || !Y->val)
        return -1;
    Y->rowptr[0] = 0;
    for (size_t j = 0; j < n; j++) {
        size_t a = X->rowptr[ord[j]], len = X->rowptr[ord[j] + 1] - a;
        memcpy(Y->col + Y->rowptr[j], X->col + a, len * sizeof *Y->col);
        memcpy(Y->val + Y->rowptr[j], X->val + a, len * sizeof *Y->val);
        Y->rowptr[j + 1] = Y->rowptr[j] + len;
        (*iden)[j] = j;
    }
    return 0;
}

/* Scratch for kmeans_run, sized for the largest k tried so no run
 * reallocates. Freed by ws_free even when this fails (-1). */
static int ws_alloc(km_ws *ws, int threads, size_t n, size_t dim, int kmax)
{
    size_t kpmax = (size_t)pad_k(kmax);
    ws->nt = threads < 1 ? 1 : threads > MAXT ? MAXT : threads;
    if (n < 4096)
        ws->nt = 1; /* par_for would not use more */
    for (int t = 0; t < ws->nt; t++) {
        ws->sum[t] = malloc(dim * (size_t)kmax * sizeof *ws->sum[t]);
        ws->s[t] = malloc(kpmax * sizeof *ws->s[t]);
        if (!ws->sum[t] || !ws->s[t])
            return -1;
    }
    ws->dist = malloc(n * sizeof *ws->dist);
    ws->tmp = malloc(n * sizeof *ws->tmp);
    ws->tmp2 = malloc(n * sizeof *ws->tmp2);
    ws->dense = calloc(dim, sizeof *ws->dense);
    ws->nrm = malloc(kpmax * sizeof *ws->nrm);
    if (!ws->dist || !ws->tmp || !ws->tmp2 || !ws->dense || !ws->nrm)
        return -1;
    return 0;
}

static void ws_free(km_ws *ws)
{
    for (int t = 0; t < MAXT; t++) {
        free(ws->sum[t]);
        free(ws->s[t]);
    }
    free(ws->dist);
    free(ws->tmp);
    free(ws->tmp2);
    free(ws->dense);
    free(ws->nrm);
}

/* Pairwise similarities of the first ss rows (ss x ss), computed once for
 * every k the silhouette search tries. dense is zeroed scratch of dim floats
 * and is left zeroed. */
static void sim_matrix(const topic_csr *Y, size_t ss, float *dense, float *S)
{
    for (size_t i = 0; i < ss; i++) {
        for (size_t e = Y->rowptr[i]; e < Y->rowptr[i + 1]; e++)
            dense[Y->col[e]] = Y->val[e];
        for (size_t j = 0; j < ss; j++) {
            double dot = 0;
            for (size_t e = Y->rowptr[j]; e < Y->rowptr[j + 1]; e++)
                dot += (double)Y->val[e] * dense[Y->col[e]];
            S[i * ss + j] = (float)dot;
        }
        for (size_t e = Y->rowptr[i]; e < Y->rowptr[i + 1]; e++)
            dense[Y->col[e]] = 0;
    }
}

/* The coarse grid of k: every value when the range is small, else 12 spread
 * evenly, so a wide [k_min, k_max] costs a bounded number of runs. */
static int k_grid(int kmin, int kmax, int *grid)
{
    int ng = 0, span = kmax - kmin + 1;
    if (span <= 12) {
        for (int v = kmin; v <= kmax; v++)
            grid[ng++] = v;
    } else {
        for (int g = 0; g < 12; g++) {
            int v = kmin + (int)lround((double)g * (span - 1) / 11.0);
            if (!ng || grid[ng - 1] != v)
                grid[ng++] = v;
        }
    }
    return ng;
}

/* Chooses k when the caller left it open: the best mean silhouette on the
 * first ss rows of the sample, over the coarse grid and then up to 8 values
 * between the best grid point's neighbours. Ties go to the smaller k, which
 * keeps the choice independent of the order k are tried. Sets *k, and *silh
 * when it searched. */
static vg_code select_k(km_fit *f, const topic_kmeans_opts *o, int kmax, int *k,
                        double *silh, vg_error *err)
{
    vg_code rc = VG_OK;
    float *S = NULL;
    double *acc = NULL;
    size_t *cnt = NULL, ms = f->ms;
    int kmin = o->k_min < 2 ? 2 : o->k_min;
    size_t ss = ms < o->silhouette_sample ? ms : o->silhouette_sample;
    if (kmax > (int)ss - 1)
        kmax = (int)ss - 1;
    if (kmin > kmax) {
        *k = kmax < 1 ? 1 : kmax;
        return VG_OK;
    }
    S = malloc(ss * ss * sizeof *S);
    acc = malloc(((size_t)kmax + 1) * sizeof *acc);
    cnt = malloc(((size_t)kmax + 1) * sizeof *cnt);
    if (!S || !acc || !cnt) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in k-means");
        goto cleanup;
    }
    sim_matrix(&f->Y, ss, f->ws.dense, S);
    int grid[32], span = kmax - kmin + 1, ng = k_grid(kmin, kmax, grid);
    double bests = -INFINITY;
    int bestk = kmin, bestg = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int g = 0; g < ng; g++) {
            int kk = grid[g];
            if (kk < 0)
                continue;
            kmeans_run(&f->Y, f->iden, ms, kk, o->seed, o->max_iter, NULL, ms,
                       f->cent, f->asg, f->best, &f->ws);
            double sc = silhouette(S, ss, f->asg, kk, acc, cnt);
            if (sc > bests + 1e-12 ||
                (fabs(sc - bests) <= 1e-12 && kk < bestk)) {
                bests = sc;
                bestk = kk;
                bestg = g;
            }
        }
        if (pass == 1 || span <= 12)
            break;
        /* Refine between the best grid point's neighbours. */
        int lo = bestg > 0 ? grid[bestg - 1] + 1 : kmin;
        int hi = bestg + 1 < ng ? grid[bestg + 1] - 1 : kmax;
        int step = (hi - lo + 1 + 7) / 8, center = bestk;
        ng = 0;
        for (int v = lo; v <= hi && ng<8; v += step> 0 ? step : 1)
            if (v != center)
                grid[ng++] = v;
    }
    *k = bestk;
    *silh = bests;
cleanup:
    free(S);
    free(acc);
    free(cnt);
    return rc;
}

/* Keeps the best of the restarts (seeds seed + 7919 * r). When the selection
 * sample is smaller than the data, the restarts run on the sample and the
 * best one's centroids seed a single run on every document: one full run
 * instead of several. initc is scratch like cent. Fills cent
 * (dim * pad_k(k)), asg and sims (n each); returns the summed similarity. */
static double fit_restarts(km_fit *f, const topic_kmeans_opts *o, int k,
                           float *initc, float *cent, int *asg, double *sims)
{
    double bestobj = -INFINITY;
    int restarts = o->restarts < 1 ? 1 : o->restarts, kp = pad_k(k);
    size_t n = f->n, ms = f->ms, ccount = f->Y.ncols * (size_t)kp;
    if (restarts > 1 && ms < n) {
        for (int rs = 0; rs < restarts; rs++) {
            double obj = kmeans_run(&f->Y, f->iden, ms, k,
                                    o->seed + (uint64_t)rs * 7919, o->max_iter,
                                    NULL, ms, f->cent, f->asg, f->best, &f->ws);
            if (obj > bestobj) {
                bestobj = obj;
                memcpy(initc, f->cent, ccount * sizeof *f->cent);
            }
        }
        return kmeans_run(&f->Y, f->iden, n, k, o->seed, o->max_iter, initc, ms,
                          cent, asg, sims, &f->ws);
    }
    for (int rs = 0; rs < restarts; rs++) {
        double obj =
            kmeans_run(&f->Y, f->iden, n, k, o->seed + (uint64_t)rs * 7919,
                       o->max_iter, NULL, ms, f->cent, f->asg, f->best, &f->ws);
        if (obj > bestobj) {
            bestobj = obj;
            memcpy(cent, f->cent, ccount * sizeof *f->cent);
            memcpy(asg, f->asg, n * sizeof *f->asg);
            memcpy(sims, f->best, n * sizeof *f->best);
        }
    }
    return bestobj;
}

/* Renumbers m's topics by size, largest first, ties by the earliest member in
 * canonical order, so topic numbers do not depend on seeds or input order.
 * Rewrites m->cent and asg[0..n); tmp is scratch of dim * kp floats. */
static vg_code renumber_by_size(topic_model *m, size_t n, int *asg, float *tmp,
                                vg_error *err)
{
    vg_code rc = VG_OK;
    int k = m->k, kp = m->kp;
    size_t *size = calloc((size_t)k, sizeof *size);
    int *first = malloc((size_t)k * sizeof *first);
    int *perm = malloc((size_t)k * sizeof *perm);
    int *rank = malloc((size_t)k * sizeof *rank);
    if (!size || !first || !perm || !rank) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in k-means");
        goto cleanup;
    }
    for (int c = 0; c < k; c++)
        first[c] = -1;
    for (size_t j = 0; j < n; j++) {
        size[asg[j]]++;
        if (first[asg[j]] < 0)
            first[asg[j]] = (int)j;
    }
    for (int c = 0; c < k; c++)
        perm[c] = c;
    /* insertion sort: k is small */
    for (int i = 1; i < k; i++) {
        int v = perm[i], j = i;
        while (j > 0) {
            int u = perm[j - 1];
            unsigned fu = (unsigned)first[u], fv = (unsigned)first[v];
            if (size[u] > size[v] || (size[u] == size[v] && fu <= fv))
                break;
            perm[j] = u;
            j--;
        }
        perm[j] = v;
    }
    for (int c = 0; c < k; c++)
        rank[perm[c]] = c;
    memcpy(tmp, m->cent, m->dim * (size_t)kp * sizeof *tmp);
    for (size_t t = 0; t < m->dim; t++)
        for (int c = 0; c < k; c++)
            m->cent[t * (size_t)kp + (size_t)rank[c]] =
                tmp[t * (size_t)kp + (size_t)c];
    for (size_t j = 0; j < n; j++)
        asg[j] = rank[asg[j]];
cleanup:
    free(size);
    free(first);
    free(perm);
    free(rank);
    return rc;
}

/* Outliers: below min_similarity, but never more than the budget, so a
 * poorly fitting model cannot drop most tickets. sorted is scratch of n. */
static double outlier_threshold(const topic_kmeans_opts *o, const double *sims,
                                double *sorted, size_t n)
{
    memcpy(sorted, sims, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    double budget = o->outlier_budget < 0 ? 0 : o->outlier_budget;
    size_t q = (size_t)floor(budget * (double)n);
    double thr = o->min_similarity;
    if (q < n && sorted[q] < thr)
        thr = sorted[q];
    if (q >= n && sorted[n - 1] < thr)
        thr = sorted[n - 1] + 1e-9;
    return thr;
}

/* Fits f->n non-empty rows of X (canonical order ord) into m: chooses k
 * unless o->k fixes it, keeps the best restart, numbers the topics by size
 * and sets the outlier threshold; bestasg and bestsim (f->n each) receive
 * each row's topic and similarity. f's copy of the rows and its scratch are
 * allocated here; the caller frees them, even when this fails. */
static vg_code fit_canon(km_fit *f, const topic_csr *X, const size_t *ord,
                         const topic_kmeans_opts *o, int kmax, topic_model *m,
                         int *bestasg, double *bestsim, vg_error *err)
{
    size_t n = f->n, dim = X->ncols;
    vg_code rc = VG_OK;
    float *initc = NULL;
    if (copy_canon(X, ord, n, &f->Y, &f->iden) ||
        ws_alloc(&f->ws, o->threads, n, dim, kmax))
        goto oom;
    size_t kpmax = (size_t)pad_k(kmax);
    f->cent = malloc(dim * kpmax * sizeof *f->cent);
    initc = malloc(dim * kpmax * sizeof *initc);
    m->cent = malloc(dim * kpmax * sizeof *m->cent);
    if (!f->cent || !initc || !m->cent)
        goto oom;
    f->ms = o->select_sample && o->select_sample < n ? o->select_sample : n;
    int k = kmax;
    if (o->k <= 0 &&
        (rc = select_k(f, o, kmax, &k, &m->silhouette, err)) != VG_OK)
        goto cleanup;
    double obj = fit_restarts(f, o, k, initc, m->cent, bestasg, bestsim);
    m->k = k;
    m->kp = pad_k(k);
    m->objective = obj / (double)n;
    if ((rc = renumber_by_size(m, n, bestasg, f->cent, err)) != VG_OK)
        goto cleanup;
    m->threshold = outlier_threshold(o, bestsim, f->best, n);
    goto cleanup;
oom:
    rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in k-means");
cleanup:
    free(initc);
    return rc;
}

/* Hands the fit's topics and similarities (canonical order) back to the
 * caller's rows; a row below the outlier threshold stays unassigned. */
static void put_rows(const topic_model *m, const size_t *ord, size_t n,
                     const int *bestasg, const double *bestsim, int *assign,
                     float *sim)
{
    for (size_t j = 0; j < n; j++) {
        size_t r = ord[j];
        assign[r] = bestsim[j] < m->threshold ? -1 : bestasg[j];
        if (sim)
            sim[r] = (float)bestsim[j];
    }
}

vg_code topic_kmeans(const topic_csr *X, const char *const *ids,
                     const topic_kmeans_opts *opts, topic_model **model,
                     int *assign, float *sim, vg_error *err)
{
    vg_code rc = VG_OK;
    topic_kmeans_opts o;
    if (opts)
        o = *opts;
    else
        topic_kmeans_opts_default(&o);
    *model = NULL;
    size_t nrows = X->nrows, dim = X->ncols;
    km_fit f = {0};
    ordkey *keys = malloc((nrows + 1) * sizeof *keys);
    size_t *ord = malloc((nrows + 1) * sizeof *ord);
    char(*numid)[24] = ids ? NULL : malloc((nrows + 1) * sizeof *numid);
    f.asg = malloc((nrows + 1) * sizeof *f.asg);
    int *bestasg = malloc((nrows + 1) * sizeof *bestasg);
    f.best = malloc((nrows + 1) * sizeof *f.best);
    double *bestsim = malloc((nrows + 1) * sizeof *bestsim);
    topic_model *m = calloc(1, sizeof *m);
    if (!keys || !ord || (!ids && !numid) || !f.asg || !bestasg || !f.best ||
        !bestsim || !m)
        goto oom;
    m->dim = dim;
    m->silhouette = NAN;
    f.n = canon_order(X, ids, keys, numid, ord, assign, sim);
    int kmax = o.k > 0 ? o.k : o.k_max;
    if (kmax < 1)
        kmax = 1;
    if ((size_t)kmax > f.n)
        kmax = (int)f.n;
    if (f.n == 0 || dim == 0) {
        m->k = 0;
        m->cent = calloc(1, sizeof *m->cent);
        if (!m->cent)
            goto oom;
    } else {
        rc = fit_canon(&f, X, ord, &o, kmax, m, bestasg, bestsim, err);
        if (rc != VG_OK)
            goto cleanup;
        put_rows(m, ord, f.n, bestasg, bestsim, assign, sim);
    }
    *model = m;
    m = NULL;
    goto cleanup;
oom:
    rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in k-means");
cleanup:
    topic_model_free(m);
    free(keys);
    free(ord);
    free(numid);
    free(f.asg);
    free(bestasg);
    free(f.best);
    free(bestsim);
    free(f.cent);
    ws_free(&f.ws);
    topic_csr_free(&f.Y);
    free(f.iden);
    return rc;
}

vg_code topic_model_from_centroids(const float *centroids, int k, size_t dim,
                                   double threshold, topic_model **out,
                                   vg_error *err)
{
    *out = NULL;
    topic_model *m = calloc(1, sizeof *m);
    if (!m)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    m->k = k < 0 ? 0 : k;
    m->kp = pad_k(m->k);
    m->dim = dim;
    m->threshold = threshold;
    m->objective = NAN;
    m->silhouette = NAN;
    m->cent = calloc(dim * (size_t)m->kp + 1, sizeof *m->cent);
    if (!m->cent) {
        topic_model_free(m);
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    }
    for (int c = 0; c < m->k; c++) {
        const float *row = centroids + (size_t)c * dim;
        double nrm = 0;
        for (size_t j = 0; j < dim; j++)
            nrm += (double)row[j] * row[j];
        nrm = nrm > 0 ? 1.0 / sqrt(nrm) : 0;
        for (size_t j = 0; j < dim; j++)
            m->cent[j * (size_t)m->kp + (size_t)c] = (float)(row[j] * nrm);
    }
    *out = m;
    return VG_OK;
}

vg_code topic_model_assign(const topic_model *m, const topic_csr *X,
                           int *assign, float *sim, vg_error *err)
{
    if (X->nrows && X->ncols != m->dim)
        return vg_fail(err, VG_EINTERNAL,
                       "topics: rows have %zu columns, the model %zu", X->ncols,
                       m->dim);
    float *s = malloc(((size_t)m->kp + 1) * sizeof *s);
    if (!s)
        return vg_fail(err, VG_ENOMEM, "topics: out of memory");
    for (size_t r = 0; r < X->nrows; r++) {
        assign[r] = -1;
        if (sim)
            sim[r] = 0;
        if (m->k == 0 || X->rowptr[r + 1] == X->rowptr[r])
            continue;
        row_sims(X, r, m->cent, m->kp, s);
        int a = argmax(s, m->k);
        if (sim)
            sim[r] = (float)s[a];
        if (s[a] >= m->threshold)
            assign[r] = a;
    }
    free(s);
    return VG_OK;
}

/* ---- c-TF-IDF labels ---------------------------------------------------- */

void topic_terms_free(topic_terms *t, int k)
{
    if (!t)
        return;
    for (int c = 0; c < k; c++) {
        free(t[c].col);
        free(t[c].score);
        free(t[c].label);
    }
    free(t);
}

typedef struct scored {
    double s;
    uint32_t col;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    const scored *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

/* c-TF-IDF's sums, each topic's documents as one: per topic its size, its
 * term counts (tf, topic-major) and words; per term its count over all
 * topics (f). Returns the words of all topics; unassigned rows count nowhere.
 */
static double class_sums(const topic_csr *counts, const int *assign, int k,
                         topic_terms *t, double *tf, double *f, double *words)
{
    size_t dim = counts->ncols;
    double all = 0;
    for (size_t r = 0; r < counts->nrows; r++) {
        int c = assign[r];
        if (c < 0 || c >= k)
            continue;
        t[c].size++;
        for (size_t e = counts->rowptr[r]; e < counts->rowptr[r + 1]; e++) {
            double x = counts->val[e];
            tf[(size_t)c * dim + counts->col[e]] += x;
            f[counts->col[e]] += x;
            words[c] += x;
            all += x;
        }
    }
    return all;
}

/* Whether unigram u is one of the words of bigram b (stems). */
static int bigram_has(const char *b, const char *u)
{
    size_t lu = strlen(u);
    const char *sp = strchr(b, ' ');
    if (!sp)
        return strcmp(b, u) == 0;
    return ((size_t)(sp - b) == lu && memcmp(b, u, lu) == 0) ||
           strcmp(sp + 1, u) == 0;
}

static char *make_label(const topic_vocab *v, const topic_terms *t)
{
    uint32_t pick[3];
    int np = 0, limit = 3;
    size_t cand = t->n;
    /* A bigram scoring at least half the best term leads the label. */
    for (size_t i = 0; i < cand; i++)
        if (topic_vocab_is_bigram(v, t->col[i]) &&
            text_label_worthy(topic_vocab_surface(v, t->col[i])) &&
            t->score[i] >= 0.5 * t->score[0]) {
            pick[np++] = t->col[i];
            limit = 2;
            break;
        }
    for (size_t i = 0; i < cand && np < limit; i++) {
        const char *ti = topic_vocab_term(v, t->col[i]);
        int clash = !text_label_worthy(topic_vocab_surface(v, t->col[i]));
        for (int p = 0; p < np; p++) {
            const char *tp = topic_vocab_term(v, pick[p]);
            if (pick[p] == t->col[i] || bigram_has(tp, ti) ||
                bigram_has(ti, tp))
                clash = 1;
            if (topic_vocab_is_bigram(v, t->col[i]) &&
                topic_vocab_is_bigram(v, pick[p])) {
                const char *sp = strchr(ti, ' ');
                char first[128];
                size_t lf = (size_t)(sp - ti);
                if (lf < sizeof first) {
                    memcpy(first, ti, lf);
                    first[lf] = '\0';
                    if (bigram_has(tp, first) || bigram_has(tp, sp + 1))
                        clash = 1;
                }
            }
        }
        if (!clash)
            pick[np++] = t->col[i];
    }
    size_t len = 1;
    for (int p = 0; p < np; p++)
        len += strlen(topic_vocab_surface(v, pick[p])) + 2;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int p = 0; p < np; p++) {
        if (p)
            strcat(s, ", ");
        strcat(s, topic_vocab_surface(v, pick[p]));
    }
    return s;
}

vg_code topic_ctfidf(const topic_csr *counts, const topic_vocab *v,
                     const int *assign, int k, size_t top_n, topic_terms **out,
                     vg_error *err)
{
    vg_code rc = VG_OK;
    size_t dim = counts->ncols;
    *out = NULL;
    topic_terms *t = calloc((size_t)k + 1, sizeof *t);
    double *tf = calloc(dim * (size_t)k + 1, sizeof *tf);
    double *f = calloc(dim + 1, sizeof *f);
    double *words = calloc((size_t)k + 1, sizeof *words);
    scored *sc = malloc((dim + 1) * sizeof *sc);
    if (!t || !tf || !f || !words || !sc)
        goto oom;
    double all = class_sums(counts, assign, k, t, tf, f, words);
    double A = k > 0 ? all / k : 0;
    for (int c = 0; c < k; c++) {
        size_t n = 0;
        for (size_t j = 0; j < dim; j++) {
            double x = tf[(size_t)c * dim + j];
            if (x > 0)
                sc[n++] =
                    (scored){x / words[c] * log(1.0 + A / f[j]), (uint32_t)j};
        }
        qsort(sc, n, sizeof *sc, cmp_scored);
        if (n > top_n)
            n = top_n;
        t[c].col = malloc((n + 1) * sizeof *t[c].col);
        t[c].score = malloc((n + 1) * sizeof *t[c].score);
        if (!t[c].col || !t[c].score)
            goto oom;
        for (size_t i = 0; i < n; i++) {
            t[c].col[i] = sc[i].col;
            t[c].score[i] = sc[i].s;
        }
        t[c].n = n;
        t[c].label = make_label(v, &t[c]);
        if (!t[c].label)
            goto oom;
    }
    *out = t;
    t = NULL;
    goto cleanup;
oom:
    rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in labels");
cleanup:
    topic_terms_free(t, k);
    free(tf);
    free(f);
    free(words);
    free(sc);
    return rc;
}

/* ---- identity matching -------------------------------------------------- */

typedef struct pairsim {
    double s;
    int o, n;
} pairsim;

static int cmp_pair(const void *a, const void *b)
{
    const pairsim *x = a, *y = b;
    if (x->s != y->s)
        return x->s > y->s ? -1 : 1;
    if (x->o != y->o)
        return x->o - y->o;
    return x->n - y->n;
}

static double cosine(const float *a, const float *b, size_t dim)
{
    double d = 0, na = 0, nb = 0;
    for (size_t j = 0; j < dim; j++) {
        d += (double)a[j] * b[j];
        na += (double)a[j] * a[j];
        nb += (double)b[j] * b[j];
    }
    return na > 0 && nb > 0 ? d / sqrt(na * nb) : 0;
}

/* Fills S (ko x kn) with the cosine of every old and new centroid and ps
 * with the pairs at or above threshold, most similar first (cmp_pair);
 * returns how many pairs. */
static size_t similar_pairs(const float *old_c, size_t ko, const float *new_c,
                            size_t kn, size_t dim, double threshold, double *S,
                            pairsim *ps)
{
    size_t np = 0;
    for (size_t o = 0; o < ko; o++)
        for (size_t n = 0; n < kn; n++) {
            double s = cosine(old_c + o * dim, new_c + n * dim, dim);
            S[o * kn + n] = s;
            if (s >= threshold)
                ps[np++] = (pairsim){s, (int)o, (int)n};
        }
    qsort(ps, np, sizeof *ps, cmp_pair);
    return np;
}

/* Index of the largest of count values v[0], v[stride], ... that is at
 * least threshold (the first on ties), or -1. */
static int best_partner(const double *v, size_t count, size_t stride,
                        double threshold)
{
    int b = -1;
    for (size_t i = 0; i < count; i++)
        if (v[i * stride] >= threshold &&
            (b < 0 || v[i * stride] > v[(size_t)b * stride]))
            b = (int)i;
    return b;
}

/* After the one-to-one matches: an unmatched topic close to an already
 * matched one on the other side is the extra half of a split (new) or a
 * merge (old). om and nm hold the partner, -1 for none; a half is marked
 * -2. Returns nl with the links appended to L. */
static size_t split_merge(const double *S, size_t ko, size_t kn,
                          double threshold, int *om, int *nm, topic_link *L,
                          size_t nl)
{
    for (size_t n = 0; n < kn; n++) {
        if (nm[n] >= 0)
            continue;
        int bo = best_partner(S + n, ko, kn, threshold);
        if (bo >= 0) {
            L[nl++] = (topic_link){TOPIC_LINK_SPLIT, bo, (int)n,
                                   S[(size_t)bo * kn + n]};
            nm[n] = -2;
        }
    }
    for (size_t o = 0; o < ko; o++) {
        if (om[o] >= 0)
            continue;
        int bn = best_partner(S + o * kn, kn, 1, threshold);
        if (bn >= 0) {
            L[nl++] = (topic_link){TOPIC_LINK_MERGE, (int)o, bn,
                                   S[o * kn + (size_t)bn]};
            om[o] = -2;
        }
    }
    return nl;
}

vg_code topic_match(const float *old_c, int k_old, const float *new_c,
                    int k_new, size_t dim, double threshold, topic_link **links,
                    size_t *nlinks, vg_error *err)
{
    vg_code rc = VG_OK;
    size_t ko = k_old > 0 ? (size_t)k_old : 0,
           kn = k_new > 0 ? (size_t)k_new : 0;
    *links = NULL;
    *nlinks = 0;
    double *S = malloc((ko * kn + 1) * sizeof *S);
    pairsim *ps = malloc((ko * kn + 1) * sizeof *ps);
    int *om = malloc((ko + 1) * sizeof *om),
        *nm = malloc((kn + 1) * sizeof *nm);
    topic_link *L = malloc((ko + kn + 1) * sizeof *L);
    size_t nl = 0;
    if (!S || !ps || !om || !nm || !L) {
        rc = vg_fail(err, VG_ENOMEM, "topics: out of memory in matching");
        goto cleanup;
    }
    size_t np = similar_pairs(old_c, ko, new_c, kn, dim, threshold, S, ps);
    for (size_t o = 0; o < ko; o++)
        om[o] = -1;
    for (size_t n = 0; n < kn; n++)
        nm[n] = -1;
    /* Greedy: the most similar pair of two still unmatched topics first. */
    for (size_t i = 0; i < np; i++)
        if (om[ps[i].o] < 0 && nm[ps[i].n] < 0) {
            om[ps[i].o] = ps[i].n;
            nm[ps[i].n] = ps[i].o;
            L[nl++] = (topic_link){TOPIC_LINK_MATCH, ps[i].o, ps[i].n, ps[i].s};
        }
    nl = split_merge(S, ko, kn, threshold, om, nm, L, nl);
    for (size_t n = 0; n < kn; n++)
        if (nm[n] == -1)
            L[nl++] = (topic_link){TOPIC_LINK_NEW, -1, (int)n, 0};
    for (size_t o = 0; o < ko; o++)
        if (om[o] == -1)
            L[nl++] = (topic_link){TOPIC_LINK_GONE, (int)o, -1, 0};
    *links = L;
    *nlinks = nl;
    L = NULL;
cleanup:
    free(S);
    free(ps);
    free(om);
    free(nm);
    free(L);
    return rc;
}
