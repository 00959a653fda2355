/* build.c — the as-of extraction itself: customers, then usage buckets and
 * tickets streamed from PostgreSQL with COPY into one dense float matrix.
 *
 * Why buckets: the observation dates of training (and the single date of
 * scoring) define a sorted list of boundaries t - 90 .. t - 0 for every date t.
 * PostgreSQL assigns each event to the interval between two boundaries
 * (width_bucket) and aggregates per (customer, interval) in one scan; every
 * feature window of every date is a union of whole intervals, so C only adds
 * interval sums. One pass over the events serves any number of dates, and the
 * matrix — not the events — is what occupies memory. Distinct users cannot be
 * summed across intervals, so a second aggregate per (customer, user) returns
 * the set of intervals each user was active in, as bitmasks. */
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "core/freshness.h"
#include "core/util.h"
#include "spec.h"

/* Windows every date needs, as [t - from, t - to) in days. The first three
 * are feat_windows; then the previous 30 days; then 12 weekly windows for the
 * activity trend. With the long_windows family, the last 180 and 365 days,
 * and pieces of at most 50 days that only add boundaries: an interval's
 * active days are a 64-bit mask of its days, so no interval may be longer. */
#define NWEEKS 12
#define W_PREV30 3
#define W_WEEK0 4
#define W_LONG0 (W_WEEK0 + NWEEKS)
#define W_PIECE0 (W_LONG0 + 2)
#define NPIECES 6
#define NWINDOWS (W_PIECE0 + NPIECES)
#define POS_SHARE 0.4
static const int long_days[2] = {180, 365};
/* Multiples of 7 where possible: they coincide with other dates' weekly
 * boundaries when observation dates are a week apart. */
static const int piece_from[NPIECES + 1] = {90, 133, 180, 224, 273, 322, 365};
static void window_range(int w, int *from, int *to)
{
    if (w < FEAT_NWIN) {
        *from = feat_windows[w];
        *to = 0;
    } else if (w == W_PREV30) {
        *from = 60;
        *to = 30;
    } else if (w < W_LONG0) {
        int j = w - W_WEEK0;
        *from = 7 * j + 7;
        *to = 7 * j;
    } else if (w < W_PIECE0) {
        *from = long_days[w - W_LONG0];
        *to = 0;
    } else {
        *from = piece_from[w - W_PIECE0 + 1];
        *to = piece_from[w - W_PIECE0];
    }
}

typedef struct cust {
    double created, canceled; /* fractional UTC days; canceled NAN if none or
                                 not yet visible */
    long first_row;
    int nrows;
} cust;

/* The last id a query's rows looked up, and its index: the aggregated rows
 * come grouped by customer, about a dozen in a row for one id, so most
 * look-ups are a comparison instead of a hash. */
typedef struct id_memo {
    char id[64];
    size_t len;
    long ci;
    int valid;
} id_memo;

typedef struct build {
    feat_stream *st; /* streaming: queries become cursors read in chunks */
    db_conn *db;
    const vg_config *cfg;
    const feat_spec *s;
    const feat_request *req;
    const vg_log *lg;
    json_t *stats;
    progress prog;

    strmap *ids;
    id_memo memo_usage, memo_users; /* valid while ids is */
    cust *cs;
    size_t ncust, capcust;
    int nstatic;
    int *static_cols;    /* matrix columns filled from the customers row */
    int *static_is_date; /* value is a day number: store value - t */
    float *static_vals;  /* ncust x nstatic */
    double visible_limit;
    int sampled; /* only some customers have rows: restrict the queries */
    int sharded; /* usage_events has foreign partitions (postgres_fdw) */

    /* boundaries */
    int *bounds; /* sorted unique days */
    int nb;
    uint32_t *contrib; /* (nb+1) x ndates window bitmask */
    int nwords;        /* 64-bit words of interval bitmasks */
    uint64_t *winmask; /* ndates x 2 (7d, 30d) x nwords */

    int slice, nslices; /* streaming one hash slice of the customers */
    /* Streaming: activity per day of [act_from, act_from + act_n) — per
     * day, customers with a usable event plus tickets opened — for the
     * freshness verdict of a job that reads the source anyway
     * (feat_stream_activity); NULL when not counted. */
    long *act;
    int act_from, act_n;
    int hist_cut; /* lifetime: the history before this day is read
                     from vigil.usage_history, -1: live or none */

    feat_matrix *m;
    double *last_act;  /* per row */
    float *weeks;      /* per row x NWEEKS */
    double *type_last; /* per row x ntypes (family recency), else NULL */
    int nwindows;      /* windows in use: NWINDOWS or W_LONG0 */
    int nuw;           /* user windows per date: 7d, 30d (, prev 30d) */

    /* counters */
    long c_null_id, c_null_created, c_dup, c_cancel_before, c_bad_mrr,
        c_bad_seats;
    long e_null_cust, e_unknown, e_null_time, e_null_type, e_bad_qty, e_future,
        e_after;
    long t_null_cust, t_unknown, t_null_created, t_bad_csat, t_bad_resolved,
        t_bad_response, t_dup, t_after;
    /* hostile values a column's type allows (±infinity, 1e300, '', 1900) */
    long c_empty_id, c_inf_created, c_old_created, e_inf_time, t_inf_time,
        x_nonfinite;
} build;

static vg_code run_query(build *B, const char *name, const char *sql,
                         db_row_fn fn, void *ctx, size_t *rows, vg_error *err);
/* The condition of one hash slice of the customers (feat_request.slice), on
 * a row's customer_id. Built-ins only and the slice as initplan parameters,
 * so a sharded source still runs it on its shards. */
static const char *slice_filter(const build *B)
{
    return B->nslices > 1
               ? " AND (CASE WHEN customer_id IS NULL THEN 0 ELSE "
                 "(hashtext(customer_id::text) & 2147483647) % (SELECT "
                 "current_setting('vigil.nslices')::int) END) = (SELECT "
                 "current_setting('vigil.slice')::int)"
               : "";
}
/* Streaming reads every query in customer-id order (byte order, as strcmp
 * and the rows of the matrix): the chunks then merge like sorted files. */
static const char *stream_order(const build *B)
{
    return B->st ? " ORDER BY customer_id::text COLLATE \"C\"" : "";
}
/* What the per-customer aggregations group by. Streamed from one server,
 * the customer id in byte order: a sorted (parallel) aggregation then
 * already delivers stream_order's order, where grouping by the column's own
 * collation needs a second, single-process sort of every aggregated row.
 * On a sharded source the partition key itself, which alone lets the
 * aggregation run on the shards. */
static const char *group_key(const build *B)
{
    return B->st && !B->sharded ? "customer_id::text COLLATE \"C\""
                                : "customer_id";
}
/* The id column of those aggregations: the group key as text. */
static const char *group_id(const build *B)
{
    return B->st && !B->sharded ? "customer_id::text COLLATE \"C\""
                                : "customer_id::text";
}

void feat_matrix_free(feat_matrix *m)
{
    if (!m)
        return;
    if (m->ids)
        for (size_t i = 0; i < m->nrows; i++)
            free(m->ids[i]);
    free(m->ids);
    free(m->x);
    free(m->day);
    free(m->date_index);
    free(m->label);
    free(m->weight);
    free(m->mrr);
    free(m);
}

static double parse_num(const char *f)
{
    if (!f)
        return NAN;
    /* Most fields are small non-negative integers (counts, sums of null
     * quantities): read those directly, strtod is a visible cost here. */
    const char *p = f;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9' && p - f < 15)
        v = v * 10 + (uint64_t)(*p++ - '0');
    if (*p == '\0' && p != f)
        return (double)v;
    double d;
    if (parse_decimal(f, &d))
        return d;
    char *end;
    d = strtod(f, &end);
    return end == f ? NAN : d;
}

/* A decimal integer as PostgreSQL writes an int8 (an optional '-', then
 * digits), what strtoll gives for it; strtoll itself for anything else. */
static long long parse_int(const char *f)
{
    int neg = *f == '-';
    const char *p = f + neg;
    uint64_t v = 0;
    int n = 0;
    while (*p >= '0' && *p <= '9' && n < 19) {
        v = v * 10 + (uint64_t)(*p++ - '0');
        n++;
    }
    if (*p != '\0' || n == 0 || v > (uint64_t)LLONG_MAX + neg)
        return strtoll(f, NULL, 10); /* and its saturation */
    return neg ? (long long)(0 - v) : (long long)v;
}

/* The index of customer `id` in this chunk's map (-1: not a customer). */
static long lookup_id(build *B, id_memo *c, const char *id)
{
    size_t n = strlen(id);
    if (c->valid && n == c->len && memcmp(id, c->id, n) == 0)
        return c->ci;
    long ci = strmap_get(B->ids, id);
    c->valid = n < sizeof c->id;
    if (c->valid) {
        memcpy(c->id, id, n + 1);
        c->len = n;
        c->ci = ci;
    }
    return ci;
}

/* ---- customers
 * --------------------------------------------------------------- */

/* A source number as a feature: one beyond float's range or infinite (a
 * numeric of 1e300, a date at infinity) becomes missing, and is counted. */
static float feat_float(build *B, double v)
{
    if (isinf(v) || (!isnan(v) && fabs(v) > FLT_MAX)) {
        B->x_nonfinite++;
        return NAN;
    }
    return (float)v;
}

/* The dirty-row accounting for a customer row: returns 0 (counted under its
 * reason) when the row names nobody or has no usable creation time. */
static int customer_usable(build *B, char **f, double *created)
{
    if (!f[0]) {
        B->c_null_id++;
        return 0;
    }
    if (!*f[0]) {
        B->c_empty_id++; /* names nobody a specialist could call */
        return 0;
    }
    *created = parse_num(f[1]);
    if (isnan(*created)) {
        B->c_null_created++;
        return 0;
    }
    if (isinf(*created)) {
        B->c_inf_created++;
        return 0;
    }
    if (*created < 0)
        B->c_old_created++; /* before 1970: kept, but flagged in the stats */
    return 1;
}

/* Room for customer idx in the per-customer arrays. */
static vg_code customer_grow(build *B, long idx, vg_error *err)
{
    if ((size_t)idx < B->capcust)
        return VG_OK;
    size_t nc = B->capcust ? B->capcust * 2 : 1024;
    cust *ncs = realloc(B->cs, nc * sizeof *ncs);
    float *nsv =
        realloc(B->static_vals,
                nc * (size_t)(B->nstatic ? B->nstatic : 1) * sizeof *nsv);
    if (ncs)
        B->cs = ncs;
    if (nsv)
        B->static_vals = nsv;
    if (!ncs || !nsv)
        return vg_fail(err, VG_ENOMEM, "out of memory reading customers");
    B->capcust = nc;
    return VG_OK;
}

/* A negative MRR or seat count is counted and read as unknown. */
static double non_negative(const char *v, long *bad)
{
    double x = parse_num(v);
    if (!isnan(x) && x < 0) {
        (*bad)++;
        return NAN;
    }
    return x;
}

/* The features that do not change with the date: MRR, seats, attributes
 * (a categorical one one-hot, its last level "other"). */
static void customer_statics(build *B, long idx, char **f)
{
    const feat_spec *s = B->s;
    float *sv = &B->static_vals[(size_t)idx * (size_t)B->nstatic];
    int k = 0;
    sv[k++] = feat_float(B, non_negative(f[3], &B->c_bad_mrr));
    sv[k++] = feat_float(B, non_negative(f[4], &B->c_bad_seats));
    for (int a = 0; a < s->nattrs; a++) {
        const attr_def *ad = &s->attrs[a];
        const char *v = f[5 + a];
        if (ad->kind != ATTR_CATEGORICAL) {
            sv[k++] = feat_float(B, parse_num(v));
            continue;
        }
        int hit = -1;
        for (int l = 0; v && l < ad->nlevels; l++)
            if (strcmp(v, ad->levels[l]) == 0)
                hit = l;
        for (int l = 0; l <= ad->nlevels; l++)
            sv[k + l] = v ? 0.0f : NAN;
        if (v)
            sv[k + (hit >= 0 ? hit : ad->nlevels)] = 1.0f;
        k += ad->nlevels + 1;
    }
}

static vg_code on_customer(void *ctx, int nf, char **f, vg_error *err)
{
    build *B = ctx;
    if (nf < 5 + B->s->nattrs)
        return vg_fail(err, VG_EINTERNAL,
                       "customers: unexpected column count %d", nf);
    double created = NAN;
    if (!customer_usable(B, f, &created))
        return VG_OK;
    int added = 0;
    long idx = strmap_put(B->ids, f[0], &added);
    if (idx < 0)
        return vg_fail(err, VG_ENOMEM, "out of memory reading customers");
    if (!added) {
        B->c_dup++; /* a view may repeat an id; the first row wins */
        return VG_OK;
    }
    vg_code rc = customer_grow(B, idx, err);
    if (rc != VG_OK)
        return rc;
    B->ncust = (size_t)idx + 1;
    cust *c = &B->cs[idx];
    c->created = created;
    c->canceled = parse_num(f[2]);
    if (!isnan(c->canceled) && c->canceled >= B->visible_limit)
        c->canceled = NAN; /* not known yet at the latest date asked for */
    if (!isnan(c->canceled) && c->canceled < c->created) {
        B->c_cancel_before++;
        c->canceled = c->created; /* never active: counted, not guessed */
    }
    c->first_row = -1;
    c->nrows = 0;
    customer_statics(B, idx, f);
    return VG_OK;
}

/* The static column map: mrr, seats, then the attributes' columns in order
 * (a categorical attribute one per level and one for "other"). */
static vg_code map_statics(build *B, vg_error *err)
{
    const feat_spec *s = B->s;
    B->nstatic = 2;
    for (int a = 0; a < s->nattrs; a++)
        B->nstatic +=
            s->attrs[a].kind == ATTR_CATEGORICAL ? s->attrs[a].nlevels + 1 : 1;
    B->static_cols = calloc((size_t)B->nstatic, sizeof *B->static_cols);
    B->static_is_date = calloc((size_t)B->nstatic, sizeof *B->static_is_date);
    if (!B->static_cols || !B->static_is_date)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    int k = 0;
    B->static_cols[k++] = s->c.mrr;
    B->static_cols[k++] = s->c.seats;
    for (int a = 0; a < s->nattrs; a++) {
        const attr_def *ad = &s->attrs[a];
        int n = ad->kind == ATTR_CATEGORICAL ? ad->nlevels + 1 : 1;
        for (int l = 0; l < n; l++) {
            B->static_is_date[k] = ad->kind == ATTR_DATE;
            B->static_cols[k++] = ad->col + l;
        }
    }
    return VG_OK;
}

/* The customers query: the contract's columns, then each attribute cast to
 * what on_customer parses. */
static void customers_sql(build *B, const char *customers, strbuf *sql)
{
    const feat_spec *s = B->s;
    strbuf_puts(
        sql,
        "SELECT customer_id::text, date_part('epoch', created_at) / 86400, "
        "date_part('epoch', canceled_at) / 86400, mrr::text, seats::float8");
    for (int a = 0; a < s->nattrs; a++) {
        char *col = db_quote_ident(B->db, s->attrs[a].column);
        if (!col) {
            sql->failed = 1;
            return;
        }
        switch (s->attrs[a].kind) {
        case ATTR_NUMERIC: /* as text: numeric may exceed float8's range */
            strbuf_printf(sql, ", %s::text", col);
            break;
        case ATTR_BOOLEAN:
            strbuf_printf(sql, ", %s::int", col);
            break;
        case ATTR_DATE:
            strbuf_printf(sql, ", date_part('epoch', %s::timestamptz) / 86400",
                          col);
            break;
        case ATTR_CATEGORICAL:
            strbuf_printf(sql, ", %s::text", col);
            break;
        }
        free(col);
    }
    strbuf_printf(sql, " FROM %s WHERE true%s%s", customers, slice_filter(B),
                  stream_order(B));
}

static vg_code read_customers(build *B, vg_error *err)
{
    vg_code rc = map_statics(B, err);
    if (rc != VG_OK)
        return rc;
    char *customers = db_qualify(B->db, B->cfg->source_schema, "customers");
    if (!customers)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    strbuf sql = {0};
    customers_sql(B, customers, &sql);
    if (sql.failed) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    } else {
        rc = run_query(B, "customers", sql.s, on_customer, B, NULL, err);
        if (rc != VG_OK)
            vg_wrap(err, "reading %s.customers: ", B->cfg->source_schema);
    }
    strbuf_free(&sql);
    free(customers);
    return rc;
}

/* ---- rows
 * -------------------------------------------------------------------- */

static int cmp_ids(const void *a, const void *b, void *ctx)
{
    const strmap *ids = ctx;
    return strcmp(strmap_key(ids, *(const long *)a),
                  strmap_key(ids, *(const long *)b));
}

/* qsort_r is a GNU extension; a tiny merge sort keeps us portable C11. */
static void sort_idx(long *v, size_t n, long *tmp, const strmap *ids)
{
    if (n < 2)
        return;
    size_t h = n / 2;
    sort_idx(v, h, tmp, ids);
    sort_idx(v + h, n - h, tmp, ids);
    /* already in order (a stream's customers arrive sorted): the merge
     * would change nothing */
    if (cmp_ids(&v[h - 1], &v[h], (void *)ids) <= 0)
        return;
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp_ids(&v[i], &v[j], (void *)ids) <= 0 ? v[i++] : v[j++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int is_active(const cust *c, int t)
{
    return c->created < t && (isnan(c->canceled) || c->canceled >= t);
}

static int is_churn(const cust *c, int t, int h)
{
    return !isnan(c->canceled) && c->canceled >= t && c->canceled < t + h;
}

/* Sampling, when the rows would exceed req->max_rows (training only).
 * Positive rows are always kept. Customers who never churn on any date are
 * sampled whole, with rate r: PostgreSQL then aggregates only the sampled
 * customers' events, which is what makes many observation dates cheap.
 * Negative rows of churners are sampled row by row with the same rate,
 * except on req->keep_all_date. Every sampled row weighs 1/r, so each
 * negative row is represented with its true weight in expectation. */
static int churns_ever(const build *B, const cust *c)
{
    for (int k = 0; k < B->req->ndates; k++)
        if (is_active(c, B->req->dates[k]) &&
            is_churn(c, B->req->dates[k], B->req->horizon_days))
            return 1;
    return 0;
}

static int keep_row(const build *B, const char *id, int churner, int k, int y,
                    double rate, double pos_rate, double *w)
{
    *w = 1.0;
    uint64_t seed = (uint64_t)B->req->seed * 1000003u;
    if (k == B->req->keep_all_date && (y || churner))
        return 1;
    if (y) {
        if (pos_rate >= 1.0)
            return 1;
        *w = 1.0 / pos_rate;
        return hash_unit(hash_str(id, ~seed + (uint64_t)B->req->dates[k])) <
               pos_rate;
    }
    if (rate >= 1.0)
        return 1;
    uint64_t h = churner ? hash_str(id, seed + (uint64_t)B->req->dates[k])
                         : hash_str(id, seed);
    *w = 1.0 / rate;
    return hash_unit(h) < rate;
}

/* The sampling rates for the negative rows (*rate) and the positive ones
 * (*pos_rate): 1 unless the rows would exceed req->max_rows. *positives
 * counts every positive row. */
static void sampling_rates(build *B, double *rate, double *pos_rate,
                           long *positives)
{
    const feat_request *req = B->req;
    int H = req->horizon_days;
    long pos = 0, pos_keep = 0, keep = 0, sampled = 0;
    for (size_t i = 0; i < B->ncust; i++) {
        const cust *c = &B->cs[i];
        int churner = H > 0 && churns_ever(B, c);
        for (int k = 0; k < req->ndates; k++) {
            int t = req->dates[k];
            if (!is_active(c, t))
                continue;
            if (H > 0 && is_churn(c, t, H) && k == req->keep_all_date)
                pos_keep++;
            else if (H > 0 && is_churn(c, t, H))
                pos++;
            else if (churner && k == req->keep_all_date)
                keep++;
            else
                sampled++;
        }
    }
    *positives = pos + pos_keep;
    *rate = *pos_rate = 1.0;
    if (req->max_rows <= 0 ||
        pos + pos_keep + keep + sampled <= req->max_rows || sampled == 0)
        return;
    /* Positives may fill at most POS_SHARE of the rows, so the negatives
     * that the weights stand for are not left to a handful of customers. */
    double pos_budget = POS_SHARE * (double)req->max_rows;
    if ((double)pos > pos_budget)
        *pos_rate = pos_budget / (double)pos;
    *rate = ((double)req->max_rows - pos * *pos_rate - (double)pos_keep -
             (double)keep) /
            (double)sampled;
    if (*rate < 0.01)
        *rate = 0.01; /* below this the weights get too noisy to learn */
    if (*rate > 1)
        *rate = 1;
}

/* The matrix's arrays and the build's per-row state for n rows, with what
 * can be unknown set to NaN. */
static vg_code alloc_rows(build *B, feat_matrix *m, size_t n, vg_error *err)
{
    size_t cap = n ? n : 1, ncols = feat_spec_ncols(B->s);
    int H = B->req->horizon_days;
    m->nrows = n;
    m->ncols = ncols;
    m->x = malloc(cap * ncols * sizeof *m->x);
    m->ids = calloc(cap, sizeof *m->ids);
    m->day = malloc(cap * sizeof *m->day);
    m->date_index = malloc(cap * sizeof *m->date_index);
    m->mrr = malloc(cap * sizeof *m->mrr);
    if (H > 0)
        m->label = malloc(cap * sizeof *m->label);
    if (B->sampled)
        m->weight = malloc(cap * sizeof *m->weight);
    B->last_act = malloc(cap * sizeof *B->last_act);
    B->weeks = calloc(cap * NWEEKS, sizeof *B->weeks);
    int ntl = (B->s->families & FEAT_FAM_RECENCY) ? B->s->ntypes : 0;
    if (ntl > 0)
        B->type_last = malloc(cap * (size_t)ntl * sizeof *B->type_last);
    if (!m->x || !m->ids || !m->day || !m->date_index || !m->mrr ||
        (H > 0 && !m->label) || (B->sampled && !m->weight) || !B->last_act ||
        !B->weeks || (ntl > 0 && !B->type_last))
        return vg_fail(err, VG_ENOMEM,
                       "out of memory for %zu rows x %zu features", n, ncols);
    /* Counts start at zero (no activity is a true zero); what can be
     * unknown is set to NaN explicitly where it is computed. */
    memset(m->x, 0, cap * ncols * sizeof *m->x);
    const feat_cols *fc = &B->s->c;
    for (size_t r = 0; r < cap; r++) {
        float *x = &m->x[r * ncols];
        x[fc->t_frt_med] = x[fc->t_res_med] = x[fc->t_csat_mean] = NAN;
        x[fc->t_csat_min] = x[fc->t_days_since] = NAN;
        /* A share of no tickets is unknown, not zero. */
        for (int t = 0; fc->t_topic0 >= 0 && t < B->s->ntopics; t++)
            x[fc->t_topic0 + t] = NAN;
        B->last_act[r] = NAN;
        for (int t = 0; t < ntl; t++)
            B->type_last[r * (size_t)ntl + (size_t)t] = NAN;
        if (fc->t_csat_mean30 >= 0)
            x[fc->t_csat_mean30] = x[fc->t_csat_change] = NAN;
    }
    return VG_OK;
}

/* Row n of the matrix: customer ci at date index k (day t), its label y
 * and weight w, and what is known of it without reading events. */
static vg_code fill_row(build *B, size_t n, long ci, int k, int y, double w,
                        vg_error *err)
{
    feat_matrix *m = B->m;
    cust *c = &B->cs[ci];
    int t = B->req->dates[k];
    if (c->nrows == 0)
        c->first_row = (long)n;
    c->nrows++;
    if (!(m->ids[n] = strdup(strmap_key(B->ids, ci))))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    m->day[n] = t;
    m->date_index[n] = k;
    if (m->label)
        m->label[n] = (float)y;
    if (m->weight)
        m->weight[n] = (float)w;
    float *row = &m->x[n * m->ncols];
    const float *sv = &B->static_vals[(size_t)ci * (size_t)B->nstatic];
    for (int j = 0; j < B->nstatic; j++)
        row[B->static_cols[j]] =
            B->static_is_date[j] ? sv[j] - (float)t : sv[j];
    row[B->s->c.tenure] = (float)(t - c->created);
    m->mrr[n] = sv[0];
    return VG_OK;
}

/* The matrix's rows: every kept (customer, date), customers in id order,
 * counted in a first pass and filled in a second. */
static vg_code plan_rows(build *B, vg_error *err)
{
    const feat_request *req = B->req;
    int H = req->horizon_days;
    double rate, pos_rate;
    long positives;
    sampling_rates(B, &rate, &pos_rate, &positives);
    B->sampled = rate < 1.0 || pos_rate < 1.0;
    long *order = malloc((B->ncust ? B->ncust : 1) * sizeof *order);
    long *tmp = malloc((B->ncust ? B->ncust : 1) * sizeof *tmp);
    feat_matrix *m = calloc(1, sizeof *m);
    vg_code rc = VG_OK;
    if (!order || !tmp || !m) {
        free(m);
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    B->m = m;
    for (size_t i = 0; i < B->ncust; i++)
        order[i] = (long)i;
    /* Rows in customer-id order: the same data gives the same matrix whatever
     * the physical order of the customers table. */
    sort_idx(order, B->ncust, tmp, B->ids);
    size_t n = 0;
    for (int pass = 0; pass < 2 && rc == VG_OK; pass++) {
        n = 0;
        for (size_t oi = 0; oi < B->ncust && rc == VG_OK; oi++) {
            long ci = order[oi];
            cust *c = &B->cs[ci];
            const char *id = strmap_key(B->ids, ci);
            c->nrows = 0;
            int churner = H > 0 && B->sampled && churns_ever(B, c);
            for (int k = 0; k < req->ndates && rc == VG_OK; k++) {
                int t = req->dates[k];
                if (!is_active(c, t))
                    continue;
                int y = H > 0 && is_churn(c, t, H);
                double w;
                if (!keep_row(B, id, churner, k, y, rate, pos_rate, &w))
                    continue;
                if (pass == 1)
                    rc = fill_row(B, n, ci, k, y, w, err);
                n++;
            }
        }
        if (pass == 0 && rc == VG_OK)
            rc = alloc_rows(B, m, n, err);
    }
    if (rc == VG_OK && B->stats && H > 0)
        json_object_set_new(B->stats, "sampling",
                            json_pack("{s:I, s:I, s:f, s:f}", "positives",
                                      (json_int_t)positives, "rows",
                                      (json_int_t)n, "negative_sampling_rate",
                                      rate, "positive_sampling_rate",
                                      pos_rate));
cleanup:
    free(order);
    free(tmp);
    return rc;
}

/* ---- boundaries
 * ---------------------------------------------------------------- */

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Index of the interval [bounds[i-1], bounds[i]) as width_bucket numbers it. */
static int bucket_of(const build *B, int day)
{
    int lo = 0, hi = B->nb; /* first bound > day */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (B->bounds[mid] <= day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static vg_code make_bounds(build *B, vg_error *err)
{
    const feat_request *req = B->req;
    B->nwindows = (B->s->families & FEAT_FAM_LONG) ? NWINDOWS : W_LONG0;
    B->nuw = (B->s->families & FEAT_FAM_USERS) ? 3 : 2;
    size_t cap = (size_t)req->ndates * (NWINDOWS * 2);
    B->bounds = malloc(cap * sizeof *B->bounds);
    if (!B->bounds)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    int n = 0;
    for (int k = 0; k < req->ndates; k++)
        for (int w = 0; w < B->nwindows; w++) {
            int from, to;
            window_range(w, &from, &to);
            B->bounds[n++] = req->dates[k] - from;
            B->bounds[n++] = req->dates[k] - to;
        }
    qsort(B->bounds, (size_t)n, sizeof *B->bounds, cmp_int);
    int u = 0;
    for (int i = 0; i < n; i++)
        if (u == 0 || B->bounds[u - 1] != B->bounds[i])
            B->bounds[u++] = B->bounds[i];
    B->nb = u;
    B->nwords = (u + 1 + 63) / 64;
    B->contrib =
        calloc((size_t)(u + 1) * (size_t)req->ndates, sizeof *B->contrib);
    B->winmask =
        calloc((size_t)req->ndates * (size_t)B->nuw * (size_t)B->nwords,
               sizeof *B->winmask);
    if (!B->contrib || !B->winmask)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (int k = 0; k < req->ndates; k++) {
        int t = req->dates[k];
        for (int w = 0; w < B->nwindows; w++) {
            int from, to;
            window_range(w, &from, &to);
            /* intervals b with bounds[b-1] >= t-from and bounds[b] <= t-to */
            int b0 = bucket_of(B, t - from), b1 = bucket_of(B, t - to);
            for (int b = b0; b < b1; b++) {
                B->contrib[(size_t)b * (size_t)req->ndates + (size_t)k] |= 1u
                                                                           << w;
                int uw = w == 0                        ? 0
                         : w == 1                      ? 1
                         : w == W_PREV30 && B->nuw > 2 ? 2
                                                       : -1;
                if (uw >= 0)
                    B->winmask[((size_t)k * (size_t)B->nuw + (size_t)uw) *
                                   (size_t)B->nwords +
                               (size_t)(b / 64)] |= 1ull << (b % 64);
            }
        }
    }
    return VG_OK;
}

/* Publish a value to the session so COPY queries (which take no parameters)
 * read it with current_setting(): values still never enter SQL text. */
static vg_code stream_remember(feat_stream *st, const char *name,
                               const char *value, vg_error *err);
static vg_code set_param(build *B, const char *name, const char *value,
                         vg_error *err)
{
    const char *p[2] = {name, value};
    vg_code rc =
        db_exec(B->db, "SELECT set_config($1, $2, false)", 2, p, NULL, err);
    if (rc == VG_OK && B->st)
        rc = stream_remember(B->st, name, value, err);
    return rc;
}

/* Every day from the first boundary to the last, for the active-days
 * bitmask: width_bucket over them numbers an event's day without date_part
 * (which a foreign server is not sent: its 'epoch' argument is collatable). */
static vg_code publish_days(build *B, vg_error *err)
{
    int from = B->bounds[0], to = B->bounds[B->nb - 1];
    strbuf s = {0};
    strbuf_puts(&s, "{");
    for (int day = from; day <= to; day++) {
        char d[DATE_BUF];
        date_format(day, d);
        strbuf_printf(&s, "%s\"%s 00:00:00+00\"", day > from ? "," : "", d);
    }
    strbuf_puts(&s, "}");
    vg_code rc = s.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                          : set_param(B, "vigil.days", s.s, err);
    strbuf_free(&s);
    return rc;
}

/* Whether the source's usage_events has foreign partitions (postgres_fdw
 * shards under a partitioned table on this coordinator). */
static vg_code has_foreign_partitions(build *B, int *out, vg_error *err)
{
    char *events = db_qualify(B->db, B->cfg->source_schema, "usage_events");
    PGresult *r = NULL;
    *out = 0;
    if (!events)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    const char *p[1] = {events};
    vg_code rc = db_exec(
        B->db,
        "SELECT EXISTS (SELECT 1 FROM pg_partition_tree(to_regclass($1)) t "
        "JOIN pg_class c ON c.oid = t.relid WHERE c.relkind = 'f')",
        1, p, &r, err);
    if (rc == VG_OK)
        *out = PQgetvalue(r, 0, 0)[0] == 't';
    PQclear(r);
    free(events);
    return rc;
}

/* On a source hash-partitioned by customer_id over foreign servers
 * (postgres_fdw), these let PostgreSQL run each per-customer aggregate on the
 * shards, all shards at once, so only aggregated rows travel. Off by default
 * because planning costs more; on a plain table they change nothing. */
static vg_code allow_pushdown(build *B, vg_error *err)
{
    static const char *on[] = {"enable_partitionwise_aggregate",
                               "enable_partitionwise_join",
                               "enable_async_append"};
    for (size_t i = 0; i < sizeof on / sizeof *on; i++) {
        vg_code rc = set_param(B, on[i], "on", err);
        if (rc != VG_OK)
            return rc;
    }
    int sharded = 0;
    vg_code rc = has_foreign_partitions(B, &sharded, err);
    B->sharded = sharded;
    if (rc != VG_OK || !sharded || B->sampled)
        return rc;
    /* The planner cannot tell how much GROUP BY (customer, interval) reduces
     * the events (it estimates one group per row, from occurred_at's
     * distinct values), so as soon as a WHERE narrows the scan it prefers to
     * fetch raw rows and aggregate on the coordinator. The pushed-down plan
     * has no local hash or sort, so ruling those out picks it. Not with
     * sampling: the semi-join with the coordinator's temporary table keeps
     * that aggregation local, where it needs its hash table. */
    if ((rc = set_param(B, "enable_hashagg", "off", err)) == VG_OK)
        rc = set_param(B, "enable_sort", "off", err);
    return rc;
}

/* Where the usage query starts and family lifetime's history ends: the
 * first boundary, or with the history cache the Monday at or before it
 * (epoch day 4 was one), so every run of a week shares one summary; the
 * days between the cut and the first boundary then fall into interval 0 of
 * the usage query, which no window uses and lifetime adds up. */
static int history_split(build *B)
{
    B->hist_cut = -1;
    if (!(B->s->families & FEAT_FAM_LIFETIME) || !B->cfg->feat_history_cache ||
        B->req->explain)
        return B->bounds[0];
    int d = B->bounds[0] - 4;
    B->hist_cut = 4 + (d >= 0 ? d - d % 7 : d - ((d % 7) + 7) % 7);
    return B->hist_cut;
}

static vg_code publish_params(build *B, vg_error *err)
{
    size_t cap = (size_t)B->nb * 32 + 16;
    char *s = malloc(cap);
    vg_code rc = VG_OK;
    if (!s)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    size_t len = 0;
    s[len++] = '{';
    for (int i = 0; i < B->nb; i++) {
        char d[DATE_BUF];
        date_format(B->bounds[i], d);
        len += (size_t)snprintf(s + len, cap - len, "%s\"%s 00:00:00+00\"",
                                i ? "," : "", d);
    }
    snprintf(s + len, cap - len, "}");
    rc = set_param(B, "vigil.bounds", s, err);
    free(s);
    if (rc == VG_OK)
        rc = publish_days(B, err);
    if (rc == VG_OK)
        rc = allow_pushdown(B, err);
    if (rc != VG_OK)
        return rc;
    /* The per-interval hash tables are large; spilling them to disk doubles
     * the time. JIT compilation costs more than it saves on these queries. */
    if ((rc = set_param(B, "work_mem", B->cfg->feat_work_mem, err)) != VG_OK)
        return vg_wrap(err, "config key 'features.work_mem': ");
    if ((rc = set_param(B, "jit", "off", err)) != VG_OK)
        return rc;
    int mint = B->req->dates[0];
    for (int k = 1; k < B->req->ndates; k++)
        if (B->req->dates[k] < mint)
            mint = B->req->dates[k];
    char d[DATE_BUF], from[DATE_BUF + 16];
    date_format(history_split(B), d);
    /* UTC like the boundaries, whatever the session's TimeZone */
    snprintf(from, sizeof from, "%s 00:00:00+00", d);
    if ((rc = set_param(B, "vigil.from", from, err)) != VG_OK)
        return rc;
    /* the widest window users are counted over */
    date_format(mint - (B->nuw > 2 ? 60 : 30), d);
    if ((rc = set_param(B, "vigil.users_from", d, err)) != VG_OK)
        return rc;
    json_t *types = json_array();
    for (int i = 0; i < B->s->ntypes; i++)
        json_array_append_new(types, json_string(B->s->types[i]));
    /* A JSON array converts to text[] without any quoting rules of our own. */
    char *tj = json_dumps(types, JSON_COMPACT);
    json_decref(types);
    if (!tj)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    rc = set_param(B, "vigil.types", tj, err);
    free(tj);
    return rc;
}

/* The sampled customers, as a temporary table the queries semi-join. */
static vg_code publish_sample(build *B, vg_error *err)
{
    db_copy_in *cp = NULL;
    vg_code rc =
        db_run(B->db,
               "DROP TABLE IF EXISTS pg_temp.vigil_sample;"
               "CREATE TEMP TABLE vigil_sample (customer_id text PRIMARY KEY)",
               err);
    if (rc == VG_OK)
        rc = db_copy_in_begin(B->db, "COPY pg_temp.vigil_sample FROM STDIN",
                              &cp, err);
    for (size_t i = 0; rc == VG_OK && i < B->ncust; i++) {
        if (B->cs[i].nrows == 0)
            continue;
        db_copy_field(cp, strmap_key(B->ids, (long)i));
        rc = db_copy_row_end(cp, err);
    }
    if (cp) {
        vg_code rc2 = db_copy_in_end(cp, rc != VG_OK, err);
        if (rc == VG_OK)
            rc = rc2;
    }
    if (rc == VG_OK)
        rc = db_run(B->db, "ANALYZE pg_temp.vigil_sample", err);
    return rc;
}

/* ---- usage
 * ------------------------------------------------------------------- */

/* Columns of the usage query, in order. */
enum {
    U_CUST,
    U_B,
    U_N,
    U_NULLTYPE,
    U_BADQ,
    U_FUTURE,
    U_INFTIME,
    U_TOTAL,
    U_DAYS,
    U_LAST,
    U_TYPE0
};

/* One usage row's active days (bit d % 64 of the days' numbering from the
 * first boundary, see usage_inner; an interval is shorter than 64 days, so
 * each bit is one day of it) added to the activity per day: one customer
 * per day, whoever it is (unknown and inactive ones too: it is the source's
 * activity, as the freshness check's own scan counted it). */
static void count_active_days(build *B, int b, uint64_t mask)
{
    int s = B->bounds[b - 1], e = B->bounds[b];
    int ds = (s - B->bounds[0] + 1) % 64;
    while (mask) {
        int j = __builtin_ctzll(mask);
        mask &= mask - 1;
        int day = s + (j - ds + 64) % 64;
        if (day < e && day >= B->act_from && day < B->act_from + B->act_n)
            B->act[day - B->act_from]++;
    }
}

/* One usage row's figures (one customer, one interval), parsed once and
 * then added to every observation row of the customer. */
typedef struct usage_iv {
    int b;         /* interval index */
    uint64_t days; /* active-day bitmap */
    int ndays;     /* its popcount */
    double total;  /* events */
    double last;   /* last event's day */
    double nok;    /* usable events (family lifetime) */
    double tq[64]; /* events per type */
    double tl[64]; /* last event per type (family recency) */
} usage_iv;

/* The dirty-row accounting: a row is usable when it has a time inside the
 * windows, a customer the build knows, and events. Returns the customer's
 * index, or -1 with the row counted under its reason. */
static long usage_customer(build *B, char **f, usage_iv *iv)
{
    long n = (long)parse_int(f[U_N]);
    if (!f[U_B]) {
        B->e_null_time += n;
        return -1;
    }
    iv->b = (int)parse_int(f[U_B]);
    B->e_inf_time += (long)parse_int(f[U_INFTIME]);
    iv->days = f[U_DAYS] ? (uint64_t)parse_int(f[U_DAYS]) : 0;
    if (B->act && iv->b >= 1 && iv->b < B->nb && f[U_DAYS])
        count_active_days(B, iv->b, iv->days);
    if (iv->b >= B->nb) {
        B->e_after += n;
        B->e_future += (long)parse_int(f[U_FUTURE]);
        return -1;
    }
    B->e_null_type += (long)parse_int(f[U_NULLTYPE]);
    B->e_bad_qty += (long)parse_int(f[U_BADQ]);
    if (!f[U_CUST]) {
        B->e_null_cust += n;
        return -1;
    }
    long ci = lookup_id(B, &B->memo_usage, f[U_CUST]);
    if (ci < 0)
        B->e_unknown += n;
    /* no total: only skipped rows in this interval */
    return ci < 0 || !f[U_TOTAL] || B->cs[ci].nrows == 0 ? -1 : ci;
}

static void usage_parse(const feat_spec *s, int nf, char **f, usage_iv *iv)
{
    int recency = (s->families & FEAT_FAM_RECENCY) != 0;
    int lifetime = (s->families & FEAT_FAM_LIFETIME) != 0;
    iv->total = parse_num(f[U_TOTAL]);
    iv->ndays = __builtin_popcountll(iv->days);
    iv->last = parse_num(f[U_LAST]);
    iv->nok = lifetime ? parse_num(f[nf - 1]) : 0;
    for (int t = 0; t < s->ntypes && t < 64; t++) {
        iv->tq[t] = f[U_TYPE0 + t] ? parse_num(f[U_TYPE0 + t]) : 0;
        iv->tl[t] = recency ? parse_num(f[U_TYPE0 + s->ntypes + t]) : NAN;
    }
}

/* An interval that ends before the row's date (it starts before it):
 * recency and the lifetime sums, which do not depend on the windows. */
static void usage_before(build *B, long row, float *x, const usage_iv *iv)
{
    const feat_spec *s = B->s;
    const feat_cols *c = &s->c;
    if (isnan(B->last_act[row]) || iv->last > B->last_act[row])
        B->last_act[row] = iv->last;
    for (int t = 0; (s->families & FEAT_FAM_RECENCY) && t < s->ntypes; t++) {
        double *tlr =
            &B->type_last[(size_t)row * (size_t)s->ntypes + (size_t)t];
        if (!isnan(iv->tl[t]) && (isnan(*tlr) || iv->tl[t] > *tlr))
            *tlr = iv->tl[t];
    }
    if (s->families & FEAT_FAM_LIFETIME) {
        x[c->life_total] += (float)iv->total;
        x[c->life_count] += (float)iv->nok;
        for (int t = 0; t < s->ntypes; t++)
            x[c->ev_type_life[t]] += (float)iv->tq[t];
    }
}

/* The windows (bitmask wm) the interval falls in, for one row. */
static void usage_windows(build *B, long row, float *x, uint32_t wm,
                          const usage_iv *iv)
{
    const feat_spec *s = B->s;
    const feat_cols *c = &s->c;
    for (int w = 0; w < FEAT_NWIN; w++) {
        if (!(wm & (1u << w)))
            continue;
        x[c->ev_total[w]] += (float)iv->total;
        x[c->act_days[w]] += (float)iv->ndays;
        for (int t = 0; t < s->ntypes; t++)
            x[c->ev_type[t * FEAT_NWIN + w]] += (float)iv->tq[t];
    }
    if (wm & (1u << W_PREV30)) {
        x[c->ev_total_prev30] += (float)iv->total;
        x[c->act_days_prev30] += (float)iv->ndays;
        for (int t = 0; c->ev_type_prev30[0] >= 0 && t < s->ntypes; t++)
            x[c->ev_type_prev30[t]] += (float)iv->tq[t];
    }
    for (int w = 0; c->ev_total_long[0] >= 0 && w < 2; w++)
        if (wm & (1u << (W_LONG0 + w))) {
            x[c->ev_total_long[w]] += (float)iv->total;
            x[c->act_days_long[w]] += (float)iv->ndays;
        }
    for (int j = 0; j < NWEEKS; j++)
        if (wm & (1u << (W_WEEK0 + j)))
            B->weeks[(size_t)row * NWEEKS + (size_t)j] += (float)iv->total;
}

static vg_code on_usage(void *ctx, int nf, char **f, vg_error *err)
{
    build *B = ctx;
    const feat_spec *s = B->s;
    int recency = (s->families & FEAT_FAM_RECENCY) != 0;
    int lifetime = (s->families & FEAT_FAM_LIFETIME) != 0;
    if (nf != U_TYPE0 + s->ntypes * (1 + recency) + lifetime || s->ntypes > 64)
        return vg_fail(err, VG_EINTERNAL, "usage: unexpected column count %d",
                       nf);
    usage_iv iv;
    long ci = usage_customer(B, f, &iv);
    if (ci < 0)
        return VG_OK;
    usage_parse(s, nf, f, &iv);
    const cust *cu = &B->cs[ci];
    for (int r = 0; r < cu->nrows; r++) {
        long row = cu->first_row + r;
        int k = B->m->date_index[row];
        uint32_t wm =
            B->contrib[(size_t)iv.b * (size_t)B->req->ndates + (size_t)k];
        float *x = &B->m->x[(size_t)row * B->m->ncols];
        /* An interval ends at or before t exactly when it starts before t. */
        if (iv.b == 0 || B->bounds[iv.b - 1] < B->m->day[row])
            usage_before(B, row, x, &iv);
        if (wm)
            usage_windows(B, row, x, wm, &iv);
    }
    return VG_OK;
}

/* The per-event expressions both usage queries share. Only events from the
 * first boundary on are read: nothing older feeds a window, except events at
 * -infinity (counted). ok: the row can be used; bad_q: a negative, NaN,
 * infinite or implausible (> 1e12, whose sums would overflow) quantity (null
 * means 1); b: the
 * interval between two boundaries; d: the day since the first boundary (for
 * the active-days bitmask).
 *
 * The shape is the one a sharded source can aggregate on its shards
 * (postgres_fdw foreign partitions with partitionwise aggregation, or Citus):
 * the subquery is pulled up, so the GROUP BY starts with the partition key
 * itself (casts only in the select list); every per-row expression is built
 * from immutable built-ins without a collatable argument (no date_part, no
 * coalesce, no now()), and session values arrive as initplan parameters
 * (SELECT current_setting(...)), which postgres_fdw ships with the query. */
static const char *usage_inner =
    "SELECT customer_id, user_id, occurred_at, event_type, "
    " width_bucket(occurred_at, (SELECT "
    "current_setting('vigil.bounds')::timestamptz[])) AS b, "
    " width_bucket(occurred_at, (SELECT "
    "current_setting('vigil.days')::timestamptz[])) AS d, "
    " CASE WHEN quantity IS NULL THEN 1 ELSE quantity END AS q, "
    " (quantity < 0 OR quantity = 'NaN'::float8 OR quantity > 1e12) AS bad_q, "
    " event_type IS NOT NULL AND isfinite(occurred_at) AND (quantity IS NULL "
    "OR NOT (quantity < 0 OR quantity = 'NaN'::float8 OR quantity > 1e12)) "
    "AS ok "
    "FROM %s WHERE (occurred_at >= (SELECT current_setting('%s')::timestamptz) "
    "OR occurred_at IS NULL OR occurred_at = '-infinity') %s%s";

/* With sampling, only the sampled customers' events are aggregated. (On a
 * sharded source this semi-join with the coordinator's temporary table keeps
 * the training aggregation on the coordinator; scoring never samples.) */
static const char *sampled_filter =
    "AND customer_id::text IN (SELECT customer_id FROM pg_temp.vigil_sample)";

/* With req->explain, the plan PostgreSQL would use for `sql` instead of its
 * rows: how a sharded source's aggregation can be checked (test-sharded.sh,
 * `vigil features --explain`). */
static vg_code explain_query(build *B, const char *name, const char *sql,
                             vg_error *err)
{
    strbuf q = {0}, plan = {0};
    PGresult *r = NULL;
    strbuf_printf(&q, "EXPLAIN (VERBOSE, COSTS OFF) %s", sql);
    vg_code rc = q.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                          : db_exec(B->db, q.s, 0, NULL, &r, err);
    for (int i = 0; rc == VG_OK && i < PQntuples(r); i++)
        strbuf_printf(&plan, "%s\n", PQgetvalue(r, i, 0));
    if (rc == VG_OK && plan.failed)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK)
        json_object_set_new(B->req->explain, name,
                            json_string(plan.s ? plan.s : ""));
    PQclear(r);
    strbuf_free(&q);
    strbuf_free(&plan);
    return rc;
}

static vg_code read_usage(build *B, vg_error *err)
{
    char *events = db_qualify(B->db, B->cfg->source_schema, "usage_events");
    size_t cap = 8192 + (size_t)B->s->ntypes * 256 + (size_t)B->nwords * 128;
    char *inner = malloc(4096), *sql = malloc(cap);
    vg_code rc = VG_OK;
    if (!events || !inner || !sql) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    /* What lies before the first boundary is family lifetime's, read by
     * the cheaper history query (read_history). */
    snprintf(inner, 4096, usage_inner, events, "vigil.from",
             B->sampled ? sampled_filter : "", slice_filter(B));
    /* Everything at or after the last boundary (after the as-of date) is
     * only counted, in a single group, not per customer. */
    size_t len = (size_t)snprintf(
        sql, cap,
        "SELECT %s, b, count(*), "
        " count(*) FILTER (WHERE event_type IS NULL), "
        " count(*) FILTER (WHERE bad_q), count(*) FILTER (WHERE occurred_at > "
        "(SELECT now())), count(*) FILTER (WHERE NOT isfinite(occurred_at)), "
        " sum(q) FILTER (WHERE ok), "
        " bit_or(1::int8 << (d %% 64)) FILTER (WHERE ok AND b < %d), "
        " date_part('epoch', max(occurred_at) FILTER (WHERE ok)) / 86400",
        group_id(B), B->nb);
    for (int t = 0; t < B->s->ntypes; t++)
        len += (size_t)snprintf(
            sql + len, cap - len,
            ", sum(q) FILTER (WHERE ok AND event_type::text = (SELECT "
            "current_setting('vigil.types')::json->>%d))",
            t);
    for (int t = 0; (B->s->families & FEAT_FAM_RECENCY) && t < B->s->ntypes;
         t++)
        len += (size_t)snprintf(
            sql + len, cap - len,
            ", date_part('epoch', max(occurred_at) FILTER (WHERE ok AND "
            "event_type::text = (SELECT current_setting('vigil.types')::json->>"
            "%d))) / 86400",
            t);
    if (B->s->families & FEAT_FAM_LIFETIME)
        len += (size_t)snprintf(sql + len, cap - len,
                                ", count(*) FILTER (WHERE ok)");
    /* Grouped by the customer itself, even for the events after the last
     * boundary (counted only): a group that is not the partition key would
     * keep the aggregation on a sharded source's coordinator. */
    snprintf(sql + len, cap - len, " FROM (%s) e GROUP BY %s, b%s", inner,
             group_key(B), stream_order(B));
    size_t rows = 0;
    log_debug(B->lg, "usage query: %s", sql);
    rc = run_query(B, "usage", sql, on_usage, B, &rows, err);
    if (rc != VG_OK)
        vg_wrap(err, "reading %s.usage_events: ", B->cfg->source_schema);
cleanup:
    free(events);
    free(inner);
    free(sql);
    return rc;
}

static vg_code on_users(void *ctx, int nf, char **f, vg_error *err)
{
    build *B = ctx;
    if (nf != 1 + B->nwords)
        return vg_fail(err, VG_EINTERNAL, "users: unexpected column count %d",
                       nf);
    long ci = f[0] ? lookup_id(B, &B->memo_users, f[0]) : -1;
    if (ci < 0)
        return VG_OK; /* already counted by the usage query */
    const cust *cu = &B->cs[ci];
    uint64_t mask[64];
    int nw = B->nwords < 64 ? B->nwords : 64;
    for (int w = 0; w < nw; w++)
        mask[w] = f[1 + w] ? (uint64_t)parse_int(f[1 + w]) : 0;
    const feat_cols *c = &B->s->c;
    size_t ncols = B->m->ncols;
    for (int r = 0; r < cu->nrows; r++) {
        long row = cu->first_row + r;
        int k = B->m->date_index[row];
        for (int uw = 0; uw < B->nuw; uw++) {
            const uint64_t *wm =
                &B->winmask[((size_t)k * (size_t)B->nuw + (size_t)uw) *
                            (size_t)B->nwords];
            int hit = 0;
            for (int w = 0; w < nw && !hit; w++)
                hit = (wm[w] & mask[w]) != 0;
            int col = uw == 0   ? c->users7
                      : uw == 1 ? c->users30
                                : c->users_prev30;
            if (hit)
                B->m->x[(size_t)row * ncols + (size_t)col] += 1.0f;
        }
    }
    return VG_OK;
}

static vg_code read_users(build *B, vg_error *err)
{
    if (B->nwords > 64)
        return vg_fail(err, VG_EUSAGE,
                       "too many observation dates (%d): widen --step or "
                       "shorten --lookback",
                       B->req->ndates);
    char *events = db_qualify(B->db, B->cfg->source_schema, "usage_events");
    size_t cap = 8192 + (size_t)B->nwords * 128;
    char *inner = malloc(4096), *sql = malloc(cap);
    vg_code rc = VG_OK;
    if (!events || !inner || !sql) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    snprintf(inner, 4096, usage_inner, events, "vigil.users_from",
             B->sampled ? sampled_filter : "", slice_filter(B));
    size_t len = (size_t)snprintf(sql, cap, "SELECT %s", group_id(B));
    for (int w = 0; w < B->nwords; w++)
        len += (size_t)snprintf(sql + len, cap - len,
                                ", bit_or(CASE WHEN b / 64 = %d THEN 1::int8 "
                                "<< (b %% 64) ELSE 0 END)",
                                w);
    snprintf(
        sql + len, cap - len,
        " FROM (%s) e WHERE user_id IS NOT NULL AND customer_id IS NOT NULL "
        "AND ok AND b BETWEEN 1 AND %d "
        "GROUP BY %s, user_id%s",
        inner, B->nb - 1, group_key(B), stream_order(B));
    log_debug(B->lg, "users query: %s", sql);
    rc = run_query(B, "users", sql, on_users, B, NULL, err);
    if (rc != VG_OK)
        vg_wrap(err, "reading %s.usage_events users: ", B->cfg->source_schema);
cleanup:
    free(events);
    free(inner);
    free(sql);
    return rc;
}

/* ---- history (family lifetime)
 * ------------------------------------------------------------- */

/* One customer's history row, live or from the summary alike: usable rows,
 * quantity, the last one's day, then the quantity of each of the spec's
 * event types (NULL: none of that type). The events before the first
 * boundary lie before every row's date (the first boundary is the earliest
 * date minus the longest window), so they count for every row of the
 * customer. */
static vg_code on_history(void *ctx, int nf, char **f, vg_error *err)
{
    build *B = ctx;
    const feat_spec *s = B->s;
    const feat_cols *c = &s->c;
    if (nf != 4 + s->ntypes)
        return vg_fail(err, VG_EINTERNAL, "history: unexpected column count %d",
                       nf);
    long ci = f[0] ? strmap_get(B->ids, f[0]) : -1;
    if (ci < 0)
        return VG_OK; /* unknown ids are counted by the usage query */
    const cust *cu = &B->cs[ci];
    double rows = parse_num(f[1]), total = parse_num(f[2]),
           last = parse_num(f[3]);
    size_t ncols = B->m->ncols;
    for (int r = 0; r < cu->nrows; r++) {
        long row = cu->first_row + r;
        float *x = &B->m->x[(size_t)row * ncols];
        x[c->life_total] += (float)total;
        x[c->life_count] += (float)rows;
        for (int t = 0; t < s->ntypes; t++)
            if (f[4 + t])
                x[c->ev_type_life[t]] += (float)parse_num(f[4 + t]);
        if (isnan(B->last_act[row]) || last > B->last_act[row])
            B->last_act[row] = last;
    }
    return VG_OK;
}

/* Family lifetime's events: those before vigil.from, with the usage
 * query's rule for a usable row (its `ok`), and each one's quantity. Read
 * without the usage query's per-interval expressions (no buckets, no day
 * masks). %s: the relation. */
static const char *history_where =
    "FROM %s WHERE occurred_at < (SELECT "
    "current_setting('vigil.from')::timestamptz) "
    "AND occurred_at > '-infinity' AND customer_id IS NOT NULL "
    "AND event_type IS NOT NULL AND (quantity IS NULL OR NOT (quantity < 0 "
    "OR quantity = 'NaN'::float8 OR quantity > 1e12)) ";
#define HISTORY_Q "sum(CASE WHEN quantity IS NULL THEN 1 ELSE quantity END)"
#define HISTORY_LAST "date_part('epoch', max(occurred_at)) / 86400"

vg_code feat_history_forget(db_conn *db, const char *schema, vg_error *err)
{
    PGresult *r = NULL;
    const char *p[1] = {schema};
    vg_code rc = db_exec(db,
                         "SELECT to_regclass('vigil.usage_history_cuts') IS "
                         "NOT NULL",
                         0, NULL, &r, err);
    if (rc == VG_OK && PQgetvalue(r, 0, 0)[0] == 't') /* rows cascade */
        rc = db_exec(db,
                     "DELETE FROM vigil.usage_history_cuts WHERE "
                     "source_schema = $1",
                     1, p, NULL, err);
    PQclear(r);
    return rc;
}

/* The summary of the week's cut, built unless it exists (one builder at a
 * time: a transaction-level advisory lock), on the side session `hs`. Only
 * the four summaries used last are kept. */
static vg_code ensure_history(build *B, db_conn *hs, int *built, vg_error *err)
{
    char *events = db_qualify(hs, B->cfg->source_schema, "usage_events");
    strbuf q = {0};
    PGresult *r = NULL;
    char cut[DATE_BUF];
    date_format(B->hist_cut, cut);
    const char *p[2] = {B->cfg->source_schema, cut};
    *built = 0;
    vg_code rc = events ? db_run(hs, "BEGIN", err)
                        : vg_fail(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK)
        rc = db_run(hs,
                    "SELECT pg_advisory_xact_lock(hashtext('vigil.usage_"
                    "history'))",
                    err);
    if (rc == VG_OK)
        rc = db_exec(hs,
                     "UPDATE vigil.usage_history_cuts SET used_at = now() "
                     "WHERE source_schema = $1 AND cut = $2::date "
                     "RETURNING 1",
                     2, p, &r, err);
    if (rc != VG_OK || PQntuples(r) > 0)
        goto cleanup;
    /* every event type, not only the spec's: the next spec may differ */
    strbuf_printf(&q, "INSERT INTO vigil.usage_history SELECT $1, $2::date, "
                      "customer_id, sum(n), sum(q), max(last), "
                      "array_agg(event_type), array_agg(q) FROM (SELECT "
                      "customer_id::text AS customer_id, event_type::text AS "
                      "event_type, count(*) AS n, " HISTORY_Q
                      " AS q, " HISTORY_LAST " AS last ");
    strbuf_printf(&q, history_where, events);
    strbuf_printf(&q, "GROUP BY customer_id, event_type) h GROUP BY "
                      "customer_id");
    rc = q.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                  : db_exec(hs,
                            "INSERT INTO vigil.usage_history_cuts "
                            "(source_schema, cut) VALUES ($1, $2::date)",
                            2, p, NULL, err);
    if (rc == VG_OK)
        rc = db_exec(hs, q.s, 2, p, NULL, err);
    if (rc == VG_OK)
        rc =
            db_run(hs,
                   "DELETE FROM vigil.usage_history_cuts WHERE (source_schema, "
                   "cut) NOT IN (SELECT source_schema, cut FROM "
                   "vigil.usage_history_cuts ORDER BY used_at DESC LIMIT 4)",
                   err);
    *built = rc == VG_OK;
cleanup:
    PQclear(r);
    if (rc == VG_OK)
        rc = db_commit(hs, err);
    else
        db_rollback(hs);
    free(events);
    strbuf_free(&q);
    return rc;
}

static vg_code history_settings(build *B, db_conn *hs, vg_error *err);
static vg_code history_cursor(build *B, db_conn *hs, const char *sql,
                              vg_error *err);

/* The history from the summary of the cut (built first if missing), read
 * on a session of its own: outside the caller's snapshot, which may predate
 * the summary — it holds only events before the cut, which a later snapshot
 * would not change either, except for rows inserted with old times (see
 * README, "features.history_cache"). */
static vg_code read_history_cached(build *B, int *fallback, vg_error *err)
{
    db_conn *hs = NULL;
    strbuf q = {0};
    int built = 0;
    *fallback = 0;
    vg_code rc = db_connect_again(B->db, &hs, err);
    if (rc == VG_OK)
        rc = history_settings(B, hs, err);
    if (rc == VG_OK)
        rc = ensure_history(B, hs, &built, err);
    if (rc != VG_OK) {
        /* a read-only role or replica: read the history live instead */
        log_warn(B->lg,
                 "history summary unavailable (%s); reading the whole "
                 "history of usage_events instead",
                 err->msg);
        *fallback = 1;
        db_close(hs);
        return VG_OK;
    }
    if (B->stats)
        json_object_set_new(B->stats,
                            built ? "history_summaries_built"
                                  : "history_summaries_reused",
                            json_integer(1));
    /* one row per customer: the quantity of each of the spec's types is
     * picked out of the arrays here, so only customers are sorted */
    strbuf_printf(&q, "SELECT customer_id, event_rows, quantity, last_day");
    for (int t = 0; t < B->s->ntypes; t++)
        strbuf_printf(&q,
                      ", quantities[array_position(event_types, (SELECT "
                      "current_setting('vigil.types')::json->>%d))]",
                      t);
    strbuf_printf(&q,
                  " FROM vigil.usage_history WHERE source_schema = (SELECT "
                  "current_setting('vigil.hist_schema')) AND cut = (SELECT "
                  "current_setting('vigil.hist_cut')::date) %s%s",
                  slice_filter(B),
                  B->st ? " ORDER BY customer_id COLLATE \"C\"" : "");
    if (q.failed)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK && B->st) {
        rc = history_cursor(B, hs, q.s, err);
        hs = NULL; /* the cursor's now */
    } else if (rc == VG_OK) {
        rc = db_copy_out(hs, q.s, on_history, B, NULL, err);
    }
    db_close(hs);
    strbuf_free(&q);
    return rc;
}

/* Family lifetime: the events before vigil.from, from the week's summary
 * (features.history_cache) or read live. */
static vg_code read_history(build *B, vg_error *err)
{
    if (!(B->s->families & FEAT_FAM_LIFETIME))
        return VG_OK;
    int fallback = 1;
    vg_code rc = VG_OK;
    if (B->hist_cut >= 0)
        rc = read_history_cached(B, &fallback, err);
    if (rc != VG_OK || !fallback)
        goto done;
    char *events = db_qualify(B->db, B->cfg->source_schema, "usage_events");
    strbuf q = {0};
    /* the summary's shape, one row per customer, the spec's types picked
     * with filters as in the usage query (so a sharded source still
     * aggregates on its shards) */
    if (events) {
        strbuf_printf(&q, "SELECT %s, count(*), " HISTORY_Q ", " HISTORY_LAST,
                      group_id(B));
        for (int t = 0; t < B->s->ntypes; t++)
            strbuf_printf(&q,
                          ", " HISTORY_Q " FILTER (WHERE event_type::text = "
                          "(SELECT current_setting('vigil.types')::json->>%d))",
                          t);
        strbuf_printf(&q, " ");
        strbuf_printf(&q, history_where, events);
        strbuf_printf(&q, "%s%s GROUP BY %s%s",
                      B->sampled ? sampled_filter : "", slice_filter(B),
                      group_key(B), stream_order(B));
    }
    if (!events || q.failed)
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK) {
        log_debug(B->lg, "history query: %s", q.s);
        rc = run_query(B, "history", q.s, on_history, B, NULL, err);
    }
    free(events);
    strbuf_free(&q);
done:
    if (rc != VG_OK)
        vg_wrap(err, "reading the history of %s.usage_events: ",
                B->cfg->source_schema);
    return rc;
}

/* ---- tickets
 * ------------------------------------------------------------------- */

typedef struct tk {
    double created, first_resp, resolved; /* days, NAN if none */
    int prio;                             /* 0..3, -1 unknown */
    double csat;                          /* NAN if none */
    double reopens;
    int escalated;
    int topic;          /* index into the spec's topics, -1 none/outlier */
    double topic_known; /* day the topic became known (its first topics run),
                           NAN if the ticket never had a topics run */
} tk;

typedef struct tk_acc {
    build *B;
    char *cur; /* current customer id */
    long cur_ci;
    tk *v;
    size_t n, cap;
    double *tmp;
    size_t tmpcap;
} tk_acc;

/* One ordered query of a stream, with the row under the read head: a
 * cursor read FETCH by FETCH, or a COPY on a session of its own. */
typedef struct stream_cursor {
    char name[32];
    db_row_fn fn;
    void *ctx;
    PGresult *r; /* cursor: the current block */
    int row, done;
    db_conn *side;      /* COPY: the query's own session */
    PGcancel *cancel;   /* COPY: stops it from another thread */
    db_copy_reader *rd; /* COPY: its rows */
    char **cf;          /* COPY: the current row's fields, NULL if none */
    int ncf;
} stream_cursor;

enum { SC_CUSTOMERS, SC_USAGE, SC_USERS, SC_TICKETS, SC_HISTORY, SC_N };

struct feat_stream {
    build B;
    stream_cursor c[SC_N];
    int ncursors;
    tk_acc tk; /* the tickets' accumulator lives across chunks */
    char **fields;
    int nfields;
    size_t chunk; /* customers per chunk */
    long ncust;   /* customers read so far */
    int finished;
    /* COPY reading: each query on a session of its own, all importing
     * this snapshot of the caller's transaction, so the merged rows are of
     * one state of the source; the session settings the queries read
     * (set_param) are replayed on each. */
    int use_copy;
    char snapshot[64];
    char **set_name, **set_value;
    int nset;
    PGcancel *cancel; /* cursors: stops the reading session's FETCH */
};

/* One row's ticket tallies that are not features themselves: the CSAT sums
 * become means, the topic counts shares, the response times a median. */
typedef struct tk_row {
    double last;                      /* latest ticket before t */
    double csat_sum, csat_min;        /* resolved in the last 90 days */
    double csat30_sum, csat_prev_sum; /* family ticket_trends */
    int csat_n, csat30_n, csat_prev_n;
    int topic_n; /* tickets whose topic was known at t */
    size_t nfrt; /* first-response times in A->tmp */
} tk_row;

static void csat_add(tk_row *R, double csat, int in30)
{
    R->csat_sum += csat;
    R->csat_n++;
    if (in30) {
        R->csat30_sum += csat;
        R->csat30_n++;
    } else {
        R->csat_prev_sum += csat;
        R->csat_prev_n++;
    }
    if (isnan(R->csat_min) || csat < R->csat_min)
        R->csat_min = csat;
}

/* One ticket created before the row's date t. */
static void ticket_add(tk_acc *A, float *x, double t, const tk *k, tk_row *R)
{
    const feat_cols *c = &A->B->s->c;
    if (isnan(R->last) || k->created > R->last)
        R->last = k->created;
    int in90 = k->created >= t - 90, in30 = k->created >= t - 30;
    int resolved_before = !isnan(k->resolved) && k->resolved < t;
    int responded_before = !isnan(k->first_resp) && k->first_resp < t;
    if (!resolved_before)
        x[c->t_open] += 1;
    if (!responded_before && !resolved_before)
        x[c->t_awaiting] += 1;
    if (in90) {
        x[c->t_count90] += 1;
        /* Topics count only once a topics run for a date <= t gave them: a
         * later run read tickets t must not see. */
        if (c->t_topic0 >= 0 && k->topic_known <= t) {
            R->topic_n++;
            if (k->topic >= 0)
                x[c->t_topic0 + k->topic] += 1;
        }
        if (k->prio >= 0)
            x[c->t_prio90[k->prio]] += 1;
        if (responded_before)
            A->tmp[R->nfrt++] = (k->first_resp - k->created) * 24;
    }
    if (in30)
        x[c->t_count30] += 1;
    else if (c->t_count_prev30 >= 0 && k->created >= t - 60)
        x[c->t_count_prev30] += 1;
    /* Ratings, reopens and escalations carry no timestamp of their own:
     * they count once the ticket is resolved, never earlier. */
    if (resolved_before && k->resolved >= t - 90) {
        x[c->t_reopens] += (float)k->reopens;
        x[c->t_escal] += (float)k->escalated;
        if (!isnan(k->csat))
            csat_add(R, k->csat, k->resolved >= t - 30);
    }
}

/* The features that need every ticket of the row first. */
static void ticket_finish(tk_acc *A, float *x, double t, const tk_row *R)
{
    const feat_cols *c = &A->B->s->c;
    x[c->t_frt_med] = (float)median_inplace(A->tmp, R->nfrt);
    size_t nres = 0;
    for (size_t i = 0; i < A->n; i++) {
        const tk *k = &A->v[i];
        if (k->created < t && !isnan(k->resolved) && k->resolved < t &&
            k->resolved >= t - 90)
            A->tmp[nres++] = (k->resolved - k->created) * 24;
    }
    x[c->t_res_med] = (float)median_inplace(A->tmp, nres);
    x[c->t_csat_n] = (float)R->csat_n;
    x[c->t_csat_mean] = R->csat_n ? (float)(R->csat_sum / R->csat_n) : NAN;
    x[c->t_csat_min] = (float)R->csat_min;
    x[c->t_days_since] = isnan(R->last) ? NAN : (float)(t - R->last);
    if (c->t_csat_mean30 >= 0) {
        double m30 = R->csat30_n ? R->csat30_sum / R->csat30_n : NAN;
        double mprev = R->csat_prev_n ? R->csat_prev_sum / R->csat_prev_n : NAN;
        x[c->t_csat_mean30] = (float)m30;
        x[c->t_csat_change] = (float)(m30 - mprev); /* NaN if either is */
    }
    for (int i = 0; c->t_topic0 >= 0 && i < A->B->s->ntopics; i++)
        x[c->t_topic0 + i] =
            R->topic_n ? x[c->t_topic0 + i] / (float)R->topic_n : NAN;
}

static vg_code flush_customer(tk_acc *A, vg_error *err)
{
    build *B = A->B;
    if (A->cur_ci < 0 || A->n == 0)
        return VG_OK;
    const cust *cu = &B->cs[A->cur_ci];
    const feat_cols *c = &B->s->c;
    if (A->tmpcap < A->n) {
        double *nt = realloc(A->tmp, A->n * 2 * sizeof *nt);
        if (!nt)
            return vg_fail(err, VG_ENOMEM, "out of memory");
        A->tmp = nt;
        A->tmpcap = A->n * 2;
    }
    for (int r = 0; r < cu->nrows; r++) {
        long row = cu->first_row + r;
        double t = B->m->day[row];
        float *x = &B->m->x[(size_t)row * B->m->ncols];
        tk_row R = {.last = NAN, .csat_min = NAN};
        for (int i = 0; c->t_topic0 >= 0 && i < B->s->ntopics; i++)
            x[c->t_topic0 + i] = 0; /* counted below, then divided */
        for (size_t i = 0; i < A->n; i++)
            if (A->v[i].created < t)
                ticket_add(A, x, t, &A->v[i], &R);
        ticket_finish(A, x, t, &R);
    }
    return VG_OK;
}

static int prio_index(const char *p)
{
    for (int i = 0; p && i < 4; i++)
        if (strcmp(p, feat_priorities[i]) == 0)
            return i;
    return -1;
}

/* A ticket row as the features read it. Repairs (counted in the stats
 * query): impossible values become unknown. */
static void ticket_parse(const feat_spec *s, char **f, tk *k)
{
    k->created = parse_num(f[1]);
    k->first_resp = parse_num(f[2]);
    k->resolved = parse_num(f[3]);
    k->prio = prio_index(f[4]);
    k->csat = parse_num(f[5]);
    k->reopens = f[6] ? parse_num(f[6]) : 0;
    k->escalated = f[7] && (f[7][0] == 't');
    k->topic = -1;
    k->topic_known = f[9] ? parse_num(f[9]) : NAN;
    if (f[8]) {
        long long id = atoll(f[8]);
        for (int i = 0; i < s->ntopics; i++)
            if (s->topic_ids[i] == id)
                k->topic = i;
    }
    if (!isnan(k->csat) && (k->csat < 1 || k->csat > 5))
        k->csat = NAN;
    if (!isnan(k->resolved) && k->resolved < k->created)
        k->resolved = NAN;
    if (!isnan(k->first_resp) && k->first_resp < k->created)
        k->first_resp = NAN;
    if (isnan(k->reopens) || k->reopens < 0)
        k->reopens = 0;
}

/* Tickets arrive ordered by customer: a new customer's first ticket
 * finishes the previous customer's rows. */
static vg_code ticket_customer(tk_acc *A, const char *id, vg_error *err)
{
    build *B = A->B;
    if (A->cur && strcmp(A->cur, id) == 0) {
        if (A->cur_ci < 0)
            B->t_unknown++;
        return VG_OK;
    }
    vg_code rc = flush_customer(A, err);
    if (rc != VG_OK)
        return rc;
    free(A->cur);
    A->cur = strdup(id);
    if (!A->cur)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    A->cur_ci = strmap_get(B->ids, id);
    A->n = 0;
    if (A->cur_ci < 0)
        B->t_unknown++;
    return VG_OK;
}

static vg_code on_ticket(void *ctx, int nf, char **f, vg_error *err)
{
    tk_acc *A = ctx;
    build *B = A->B;
    if (nf != 10)
        return vg_fail(err, VG_EINTERNAL, "tickets: unexpected column count %d",
                       nf);
    if (B->act && f[1]) {
        double c = floor(parse_num(f[1]));
        if (c >= B->act_from && c < B->act_from + B->act_n)
            B->act[(int)c - B->act_from]++;
    }
    if (!f[0]) {
        B->t_null_cust++;
        return VG_OK;
    }
    vg_code rc = ticket_customer(A, f[0], err);
    if (rc != VG_OK)
        return rc;
    if (A->cur_ci < 0 || B->cs[A->cur_ci].nrows == 0)
        return VG_OK;
    if (A->n == A->cap) {
        size_t nc = A->cap ? A->cap * 2 : 64;
        tk *nv = realloc(A->v, nc * sizeof *nv);
        if (!nv)
            return vg_fail(err, VG_ENOMEM, "out of memory");
        A->v = nv;
        A->cap = nc;
    }
    ticket_parse(B->s, f, &A->v[A->n++]);
    return VG_OK;
}

/* The latest observation date asked for. */
static int latest_date(const feat_request *req)
{
    int maxt = req->dates[0];
    for (int k = 1; k < req->ndates; k++)
        if (req->dates[k] > maxt)
            maxt = req->dates[k];
    return maxt;
}

/* Dirty-row counts come from one small aggregate; tickets are few. */
static vg_code ticket_dirty_counts(build *B, const char *tickets,
                                   const char *maxd, vg_error *err)
{
    char sql[2048];
    PGresult *r = NULL;
    const char *p[1] = {maxd};
    snprintf(sql, sizeof sql,
             "SELECT count(*) FILTER (WHERE created_at IS NULL), "
             " count(*) FILTER (WHERE csat IS NOT NULL AND csat NOT BETWEEN 1 "
             "AND 5 AND created_at < $1::date), "
             " count(*) FILTER (WHERE resolved_at < created_at AND created_at "
             "< $1::date), "
             " count(*) FILTER (WHERE first_response_at < created_at AND "
             "created_at < $1::date), "
             " count(*) - count(DISTINCT ticket_id), count(*) FILTER (WHERE "
             "created_at >= $1::date), "
             " count(*) FILTER (WHERE created_at < $1::date AND NOT ("
             "isfinite(created_at) AND coalesce(isfinite(first_response_at), "
             "true) AND coalesce(isfinite(resolved_at), true))) "
             "FROM %s WHERE true%s",
             tickets, slice_filter(B));
    vg_code rc = db_exec(B->db, sql, 1, p, &r, err);
    if (rc != VG_OK)
        return rc;
    B->t_null_created = atol(PQgetvalue(r, 0, 0));
    B->t_bad_csat = atol(PQgetvalue(r, 0, 1));
    B->t_bad_resolved = atol(PQgetvalue(r, 0, 2));
    B->t_bad_response = atol(PQgetvalue(r, 0, 3));
    B->t_dup = atol(PQgetvalue(r, 0, 4));
    B->t_after = atol(PQgetvalue(r, 0, 5));
    B->t_inf_time = atol(PQgetvalue(r, 0, 6));
    PQclear(r);
    return VG_OK;
}

/* DISTINCT ON drops repeated ticket ids (a view may repeat them). Each
 * ticket's first topic and the day it became known come along when the spec
 * has topic features. */
static void ticket_sql(const build *B, const char *tickets, char *sql,
                       size_t size)
{
    const int topics = B->s->c.t_topic0 >= 0;
    snprintf(
        sql, size,
        "SELECT customer_id, c, f, r, priority, csat, reopens, escalated, "
        " %s FROM ("
        " SELECT DISTINCT ON (ticket_id) ticket_id, customer_id::text COLLATE "
        "\"C\" AS customer_id, "
        "  date_part('epoch', created_at) / 86400 AS c, date_part('epoch', "
        "CASE WHEN isfinite(first_response_at) THEN first_response_at END) "
        "/ 86400 AS f, date_part('epoch', CASE WHEN isfinite(resolved_at) "
        "THEN resolved_at END) / 86400 AS r, lower(priority::text) "
        "AS priority, csat::float8 AS csat, "
        "  reopens::float8 AS reopens, escalated::bool AS escalated "
        " FROM %s WHERE created_at < (SELECT "
        "current_setting('vigil.until')::date) AND isfinite(created_at)%s "
        " ORDER BY ticket_id, created_at) t %s"
        "ORDER BY customer_id, c",
        topics ? "tt.first_topic_id, (tt.first_assigned_on - DATE "
                 "'1970-01-01')::float8"
               : "NULL::bigint, NULL::float8",
        tickets, slice_filter(B),
        topics ? "LEFT JOIN vigil.ticket_topics tt ON tt.ticket_id = "
                 "t.ticket_id "
               : "");
}

static vg_code read_tickets(build *B, vg_error *err)
{
    char *tickets = db_qualify(B->db, B->cfg->source_schema, "tickets");
    char sql[4096];
    tk_acc local = {B, NULL, -1, NULL, 0, 0, NULL, 0};
    tk_acc *stream_tk = B->st ? &B->st->tk : NULL;
    vg_code rc = VG_OK;
    if (!tickets)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    char maxd[DATE_BUF];
    date_format(latest_date(B->req), maxd);
    rc = ticket_dirty_counts(B, tickets, maxd, err);
    if (rc == VG_OK)
        rc = set_param(B, "vigil.until", maxd, err);
    if (rc != VG_OK)
        goto cleanup;
    ticket_sql(B, tickets, sql, sizeof sql);
    if (stream_tk) {
        *stream_tk = local; /* read later, chunk by chunk */
        rc = run_query(B, "tickets", sql, on_ticket, stream_tk, NULL, err);
    } else {
        rc = run_query(B, "tickets", sql, on_ticket, &local, NULL, err);
        if (rc == VG_OK)
            rc = flush_customer(&local, err);
    }
cleanup:
    if (rc != VG_OK)
        vg_wrap(err, "reading %s.tickets: ", B->cfg->source_schema);
    free(local.cur);
    free(local.v);
    free(local.tmp);
    free(tickets);
    return rc;
}

/* ---- derived features
 * --------------------------------------------------------- */

/* (now + 1) / (before + 1), unknown for accounts younger than both
 * windows together: their "before" is not a real zero. */
static float ratio_or_nan(double now, double before, double tenure)
{
    return tenure >= 60 ? (float)((now + 1.0) / (before + 1.0)) : NAN;
}

/* The optional families' derived values of row r (x) at day t. */
static void finish_families(build *B, size_t r, float *x, double t,
                            double tenure)
{
    const feat_spec *s = B->s;
    const feat_cols *c = &s->c;
    if (c->users_ratio >= 0)
        x[c->users_ratio] =
            ratio_or_nan(x[c->users30], x[c->users_prev30], tenure);
    for (int k = 0; c->ev_type_ratio[0] >= 0 && k < s->ntypes; k++)
        x[c->ev_type_ratio[k]] = ratio_or_nan(x[c->ev_type[k * FEAT_NWIN + 1]],
                                              x[c->ev_type_prev30[k]], tenure);
    /* Days since the last event of each type, else since signup, capped
     * like days_since_last_activity (the same reasons). */
    for (int k = 0; B->type_last && k < s->ntypes; k++) {
        double seen = t - tenure,
               tl = B->type_last[r * (size_t)s->ntypes + (size_t)k];
        if (!isnan(tl) && tl > seen && tl >= t - FEAT_DAYS_SINCE_WINDOW)
            seen = tl;
        x[c->type_since[k]] = (float)fmin(t - seen, FEAT_DAYS_SINCE_CAP);
    }
    /* Family lifetime: the last event of the whole history (else the
     * signup), uncapped, and the events per 30 days of tenure (at least 30
     * days, so a week-old account is not extrapolated). */
    if (c->life_since >= 0) {
        double seen = t - tenure;
        if (!isnan(B->last_act[r]) && B->last_act[r] > seen)
            seen = B->last_act[r];
        x[c->life_since] = (float)(t - seen);
        x[c->life_rate] = (float)(x[c->life_total] * 30.0 / fmax(tenure, 30.0));
    }
    /* Renewals and billing fall on anniversaries of the signup. */
    if (c->anniv_year >= 0 && !isnan(tenure)) {
        x[c->anniv_year] = (float)(365.25 - fmod(tenure, 365.25));
        x[c->anniv_month] = (float)(30.4375 - fmod(tenure, 30.4375));
    }
}

static void finish_rows(build *B)
{
    feat_matrix *m = B->m;
    const feat_cols *c = &B->s->c;
    for (size_t r = 0; r < m->nrows; r++) {
        float *x = &m->x[r * m->ncols];
        double t = m->day[r];
        double seats = x[c->seats];
        x[c->seat_util30] = (seats > 0) ? (float)(x[c->users30] / seats) : NAN;
        double tenure = x[c->tenure];
        /* Days since the customer was last seen — last event, else signup —
         * capped at 91: only the 90-day window counts (spec.h), and beyond
         * it the exact number adds nothing a model or a specialist can use. */
        double seen = t - tenure, last = B->last_act[r];
        if (!isnan(last) && last > seen && last >= t - FEAT_DAYS_SINCE_WINDOW)
            seen = last;
        x[c->days_since_activity] = (float)fmin(t - seen, FEAT_DAYS_SINCE_CAP);
        x[c->ratio30] = tenure >= 60 ? (float)((x[c->ev_total[1]] + 1.0) /
                                               (x[c->ev_total_prev30] + 1.0))
                                     : NAN;
        finish_families(B, r, x, t, tenure);
        /* Least-squares slope over the whole weeks the customer existed. */
        int nw = (int)(tenure / 7);
        if (nw > NWEEKS)
            nw = NWEEKS;
        if (nw >= 3) {
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            for (int j = 0; j < nw; j++) {
                double xx = -j, yy = B->weeks[r * NWEEKS + (size_t)j];
                sx += xx;
                sy += yy;
                sxx += xx * xx;
                sxy += xx * yy;
            }
            double den = nw * sxx - sx * sx;
            x[c->slope12w] = (float)((nw * sxy - sx * sy) / den);
        } else {
            x[c->slope12w] = NAN;
        }
    }
}

/* The last guard before a model: XGBoost rejects infinities, so any value
 * that overflowed float (a numeric attribute of 1e300, a date at infinity)
 * becomes missing, and is counted. */
static void clear_nonfinite(build *B)
{
    feat_matrix *m = B->m;
    size_t n = m->nrows * m->ncols;
    for (size_t i = 0; i < n; i++)
        if (isinf(m->x[i])) {
            m->x[i] = NAN;
            B->x_nonfinite++;
        }
}

static void put_stats(build *B)
{
    if (!B->stats)
        return;
    json_object_set_new(
        B->stats, "customers",
        json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "read", (json_int_t)B->ncust,
            "null_customer_id", (json_int_t)B->c_null_id, "null_created_at",
            (json_int_t)B->c_null_created, "duplicate_id", (json_int_t)B->c_dup,
            "canceled_before_created", (json_int_t)B->c_cancel_before,
            "negative_mrr", (json_int_t)B->c_bad_mrr, "negative_seats",
            (json_int_t)B->c_bad_seats));
    json_t *c = json_object_get(B->stats, "customers");
    json_object_set_new(c, "empty_customer_id", json_integer(B->c_empty_id));
    json_object_set_new(c, "infinite_created_at",
                        json_integer(B->c_inf_created));
    json_object_set_new(c, "created_before_1970",
                        json_integer(B->c_old_created));
    json_object_set_new(c, "non_finite_values_cleared",
                        json_integer(B->x_nonfinite));
    json_object_set_new(
        B->stats, "usage_events",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "null_customer_id",
                  (json_int_t)B->e_null_cust, "unknown_customer",
                  (json_int_t)B->e_unknown, "null_occurred_at",
                  (json_int_t)B->e_null_time, "null_event_type",
                  (json_int_t)B->e_null_type, "bad_quantity",
                  (json_int_t)B->e_bad_qty, "future_timestamp",
                  (json_int_t)B->e_future, "after_as_of",
                  (json_int_t)B->e_after));
    json_object_set_new(json_object_get(B->stats, "usage_events"),
                        "infinite_occurred_at", json_integer(B->e_inf_time));
    json_object_set_new(
        B->stats, "tickets",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                  "null_customer_id", (json_int_t)B->t_null_cust,
                  "unknown_customer", (json_int_t)B->t_unknown,
                  "null_created_at", (json_int_t)B->t_null_created,
                  "csat_out_of_range", (json_int_t)B->t_bad_csat,
                  "resolved_before_created", (json_int_t)B->t_bad_resolved,
                  "responded_before_created", (json_int_t)B->t_bad_response,
                  "duplicate_id", (json_int_t)B->t_dup, "after_as_of",
                  (json_int_t)B->t_after));
    json_object_set_new(json_object_get(B->stats, "tickets"),
                        "infinite_timestamp", json_integer(B->t_inf_time));
}

static void free_build(build *B)
{
    feat_matrix_free(B->m);
    strmap_free(B->ids);
    free(B->cs);
    free(B->static_cols);
    free(B->static_is_date);
    free(B->static_vals);
    free(B->bounds);
    free(B->contrib);
    free(B->winmask);
    free(B->last_act);
    free(B->weeks);
    free(B->type_last);
    free(B->act);
}

/* What every build starts from (B zeroed): its inputs, the progress line,
 * the id map, and the latest day a cancellation may be known at. */
static vg_code build_init(build *B, db_conn *db, const vg_config *cfg,
                          const feat_spec *spec, const feat_request *req,
                          const vg_log *lg, json_t *stats, vg_error *err)
{
    B->db = db;
    B->cfg = cfg;
    B->s = spec;
    B->req = req;
    B->lg = lg;
    B->stats = stats;
    progress_init(&B->prog, req->quiet);
    B->visible_limit =
        latest_date(req) + (req->horizon_days > 0 ? req->horizon_days : 0);
    if (!(B->ids = strmap_new(1024)))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

vg_code feat_build(db_conn *db, const vg_config *cfg, const feat_spec *spec,
                   const feat_request *req, const vg_log *lg, feat_matrix **out,
                   json_t *stats, vg_error *err)
{
    build B;
    memset(&B, 0, sizeof B);
    *out = NULL;
    if (req->ndates <= 0)
        return vg_fail(err, VG_EUSAGE, "no observation dates");
    vg_code rc = build_init(&B, db, cfg, spec, req, lg, stats, err);
    if (rc != VG_OK)
        goto cleanup;
    progress_update(&B.prog, "features: reading customers");
    if ((rc = read_customers(&B, err)) != VG_OK)
        goto cleanup;
    if ((rc = plan_rows(&B, err)) != VG_OK)
        goto cleanup;
    log_debug(lg, "features: %zu customers, %zu rows, %d dates", B.ncust,
              B.m->nrows, req->ndates);
    if (B.sampled && (rc = publish_sample(&B, err)) != VG_OK)
        goto cleanup;
    if ((rc = make_bounds(&B, err)) != VG_OK ||
        (rc = publish_params(&B, err)) != VG_OK)
        goto cleanup;
    progress_update(&B.prog, "features: aggregating usage events (%zu rows)",
                    B.m->nrows);
    if ((rc = read_usage(&B, err)) != VG_OK)
        goto cleanup;
    progress_update(&B.prog, "features: counting active users");
    if ((rc = read_users(&B, err)) != VG_OK)
        goto cleanup;
    progress_update(&B.prog, "features: reading tickets");
    log_debug(lg, "features: reading tickets");
    if ((rc = read_tickets(&B, err)) != VG_OK ||
        (rc = read_history(&B, err)) != VG_OK)
        goto cleanup;
    finish_rows(&B);
    clear_nonfinite(&B);
    put_stats(&B);
    *out = B.m;
    B.m = NULL;
cleanup:
    progress_done(&B.prog);
    free_build(&B);
    return rc;
}

void feat_write_csv_header(const feat_spec *s, size_t ncols, FILE *out)
{
    fprintf(out, "customer_id,as_of");
    for (size_t j = 0; j < ncols; j++) {
        const char *name = feat_spec_info(s, j)->name;
        int quote = strpbrk(name, ",\"\n") != NULL;
        if (quote) {
            fputs(",\"", out);
            for (const char *p = name; *p; p++) {
                if (*p == '"')
                    fputc('"', out);
                fputc(*p, out);
            }
            fputc('"', out);
        } else {
            fprintf(out, ",%s", name);
        }
    }
    fputc('\n', out);
}

vg_code feat_write_csv_rows(const feat_matrix *m, FILE *out, vg_error *err)
{
    for (size_t r = 0; r < m->nrows; r++) {
        char d[DATE_BUF];
        date_format(m->day[r], d);
        const char *id = m->ids[r];
        if (strpbrk(id, ",\"\n")) {
            fputc('"', out);
            for (const char *p = id; *p; p++) {
                if (*p == '"')
                    fputc('"', out);
                fputc(*p, out);
            }
            fputc('"', out);
        } else {
            fputs(id, out);
        }
        fprintf(out, ",%s", d);
        for (size_t j = 0; j < m->ncols; j++) {
            float v = m->x[r * m->ncols + j];
            if (isnan(v))
                fputs(",", out);
            else
                fprintf(out, ",%.9g", v);
        }
        fputc('\n', out);
    }
    if (ferror(out))
        return vg_fail(err, VG_EIO, "writing the CSV failed");
    return VG_OK;
}

/* ---- streaming
 * ----------------------------------------------------------------- */

static vg_code stream_remember(feat_stream *st, const char *name,
                               const char *value, vg_error *err)
{
    char **nn = realloc(st->set_name, (size_t)(st->nset + 1) * sizeof *nn);
    if (nn)
        st->set_name = nn;
    char **nv = realloc(st->set_value, (size_t)(st->nset + 1) * sizeof *nv);
    if (nv)
        st->set_value = nv;
    if (!nn || !nv)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    st->set_name[st->nset] = strdup(name);
    st->set_value[st->nset] = strdup(value);
    st->nset++; /* freed at close even when half-made */
    if (!st->set_name[st->nset - 1] || !st->set_value[st->nset - 1])
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

/* A query's own session, in the snapshot of the caller's transaction and
 * with the stream's settings, running COPY (sql) TO STDOUT. PostgreSQL
 * plans a cursor without parallel workers but a COPY with them, and one
 * session holds one COPY at a time: hence a session per query. */
static vg_code side_copy_start(feat_stream *st, stream_cursor *c,
                               const char *sql, vg_error *err)
{
    char q[128];
    snprintf(q, sizeof q, "SET TRANSACTION SNAPSHOT '%s'", st->snapshot);
    vg_code rc = db_connect_again(st->B.db, &c->side, err);
    if (rc == VG_OK)
        rc = db_run(c->side, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                    err);
    if (rc == VG_OK)
        rc = db_run(c->side, q, err);
    for (int i = 0; rc == VG_OK && i < st->nset; i++) {
        const char *p[2] = {st->set_name[i], st->set_value[i]};
        rc = db_exec(c->side, "SELECT set_config($1, $2, false)", 2, p, NULL,
                     err);
    }
    if (rc == VG_OK && !(c->cancel = PQgetCancel(db_pg(c->side))))
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    if (rc == VG_OK)
        rc = db_copy_reader_begin(c->side, sql, &c->rd, err);
    return rc;
}

/* The session settings the history's own session needs: the stream's (the
 * slice among them), or this build's cut and source schema. */
static vg_code history_settings(build *B, db_conn *hs, vg_error *err)
{
    char cut[DATE_BUF], from[DATE_BUF + 16];
    date_format(B->hist_cut, cut);
    snprintf(from, sizeof from, "%s 00:00:00+00", cut);
    const char *p[6] = {"vigil.hist_cut",    cut,
                        "vigil.hist_schema", B->cfg->source_schema,
                        "vigil.from",        from};
    vg_code rc = VG_OK;
    for (int i = 0; rc == VG_OK && i < 3; i++)
        rc = db_exec(hs, "SELECT set_config($1, $2, false)", 2, &p[2 * i], NULL,
                     err);
    if (rc == VG_OK && !B->st) { /* a stream's settings include it */
        PGresult *r = NULL;
        rc = db_exec(B->db, "SELECT current_setting('vigil.types')", 0, NULL,
                     &r, err);
        const char *tp[2] = {"vigil.types",
                             rc == VG_OK ? PQgetvalue(r, 0, 0) : ""};
        if (rc == VG_OK)
            rc = db_exec(hs, "SELECT set_config($1, $2, false)", 2, tp, NULL,
                         err);
        PQclear(r);
    }
    for (int i = 0; rc == VG_OK && B->st && i < B->st->nset; i++) {
        const char *q[2] = {B->st->set_name[i], B->st->set_value[i]};
        rc = db_exec(hs, "SELECT set_config($1, $2, false)", 2, q, NULL, err);
    }
    return rc;
}

/* The history summary's cursor: its session `hs` (set up, outside the
 * snapshot) becomes the cursor's. */
static vg_code history_cursor(build *B, db_conn *hs, const char *sql,
                              vg_error *err)
{
    feat_stream *st = B->st;
    if (st->ncursors >= SC_N) {
        db_close(hs);
        return vg_fail(err, VG_EINTERNAL, "too many stream cursors");
    }
    stream_cursor *c = &st->c[st->ncursors++];
    snprintf(c->name, sizeof c->name, "vigil_feat_history");
    c->fn = on_history;
    c->ctx = B;
    c->side = hs;
    if (!(c->cancel = PQgetCancel(db_pg(hs))))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return db_copy_reader_begin(hs, sql, &c->rd, err);
}

/* The caller's snapshot, for the side sessions to import. */
static vg_code export_snapshot(feat_stream *st, vg_error *err)
{
    PGresult *r = NULL;
    vg_code rc =
        db_exec(st->B.db, "SELECT pg_export_snapshot()", 0, NULL, &r, err);
    if (rc == VG_OK) {
        const char *id = PQgetvalue(r, 0, 0);
        /* embedded in SET TRANSACTION SNAPSHOT (no parameters there) */
        if (strlen(id) >= sizeof st->snapshot ||
            strspn(id, "0123456789ABCDEFabcdef-") != strlen(id))
            rc = vg_fail(err, VG_EINTERNAL, "unexpected snapshot id");
        else
            snprintf(st->snapshot, sizeof st->snapshot, "%s", id);
    }
    PQclear(r);
    return rc;
}

/* Where every query goes: its plan (explain), a cursor the stream reads in
 * chunks, or one COPY into the matrix. */
static vg_code run_query(build *B, const char *name, const char *sql,
                         db_row_fn fn, void *ctx, size_t *rows, vg_error *err)
{
    if (B->req->explain)
        return explain_query(B, name, sql, err);
    if (!B->st)
        return db_copy_out(B->db, sql, fn, ctx, rows, err);
    feat_stream *st = B->st;
    if (st->ncursors >= SC_N)
        return vg_fail(err, VG_EINTERNAL, "too many stream cursors");
    stream_cursor *c = &st->c[st->ncursors];
    snprintf(c->name, sizeof c->name, "vigil_feat_%d", st->ncursors);
    c->fn = fn;
    c->ctx = ctx;
    if (st->use_copy) {
        vg_code rc = side_copy_start(st, c, sql, err);
        if (rc == VG_OK)
            st->ncursors++;
        return rc;
    }
    strbuf q = {0};
    strbuf_printf(&q, "DECLARE %s NO SCROLL CURSOR FOR %s", c->name, sql);
    vg_code rc = q.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                          : db_run(B->db, q.s, err);
    strbuf_free(&q);
    if (rc == VG_OK)
        st->ncursors++;
    return rc;
}

/* The row under the cursor's read head, fetching the next block when the
 * current one is used up; 0 at the end. */
#define STREAM_FETCH "20000"
static vg_code cursor_peek(feat_stream *st, stream_cursor *c, int *has,
                           vg_error *err)
{
    *has = 0;
    if (c->rd) {
        if (!c->cf && !c->done) {
            vg_code rc = db_copy_reader_next(c->rd, &c->ncf, &c->cf, err);
            if (rc != VG_OK)
                return rc;
            c->done = !c->cf;
        }
        *has = c->cf != NULL;
        return VG_OK;
    }
    if (c->r && c->row < PQntuples(c->r)) {
        *has = 1;
        return VG_OK;
    }
    if (c->done)
        return VG_OK;
    PQclear(c->r);
    c->r = NULL;
    c->row = 0;
    char q[64];
    snprintf(q, sizeof q, "FETCH FORWARD " STREAM_FETCH " FROM %s", c->name);
    vg_code rc = db_exec(st->B.db, q, 0, NULL, &c->r, err);
    if (rc != VG_OK)
        return rc;
    if (PQntuples(c->r) == 0) {
        c->done = 1;
        return VG_OK;
    }
    int nf = PQnfields(c->r);
    if (nf > st->nfields) {
        char **nfs = realloc(st->fields, (size_t)nf * sizeof *nfs);
        if (!nfs)
            return vg_fail(err, VG_ENOMEM, "out of memory");
        st->fields = nfs;
        st->nfields = nf;
    }
    *has = 1;
    return VG_OK;
}

static const char *cursor_id(const stream_cursor *c)
{
    if (c->rd)
        return c->cf[0];
    return PQgetisnull(c->r, c->row, 0) ? NULL : PQgetvalue(c->r, c->row, 0);
}

/* Hand the row under the read head to the query's row callback. */
static vg_code cursor_take(feat_stream *st, stream_cursor *c, vg_error *err)
{
    if (c->rd) {
        char **f = c->cf;
        c->cf = NULL; /* taken: the next peek reads the next row */
        return c->fn(c->ctx, c->ncf, f, err);
    }
    int nf = PQnfields(c->r);
    for (int j = 0; j < nf; j++)
        st->fields[j] =
            PQgetisnull(c->r, c->row, j) ? NULL : PQgetvalue(c->r, c->row, j);
    c->row++;
    return c->fn(c->ctx, nf, st->fields, err);
}

/* The next customers: `chunk` of them, never splitting one id (a view may
 * repeat it); *last is the chunk's last id (caller frees), NULL when the
 * customers are exhausted and this is the final chunk. */
static vg_code take_customers(feat_stream *st, char **last, vg_error *err)
{
    stream_cursor *c = &st->c[SC_CUSTOMERS];
    size_t taken = 0;
    *last = NULL;
    for (;;) {
        int has;
        vg_code rc = cursor_peek(st, c, &has, err);
        if (rc != VG_OK)
            return rc;
        if (!has) {
            free(*last);
            *last = NULL; /* final chunk: the other cursors are drained */
            return VG_OK;
        }
        const char *id = cursor_id(c);
        if (taken >= st->chunk && id && *last && strcmp(id, *last) != 0)
            return VG_OK;
        if (id && (!*last || strcmp(id, *last) != 0)) {
            free(*last);
            if (!(*last = strdup(id)))
                return vg_fail(err, VG_ENOMEM, "out of memory");
        }
        if ((rc = cursor_take(st, c, err)) != VG_OK)
            return rc;
        taken++;
    }
}

/* Rows of one cursor up to and including customer `last` (every row when
 * last is NULL). Ids sort byte-wise and NULL last, like the customers. */
static vg_code take_upto(feat_stream *st, stream_cursor *c, const char *last,
                         vg_error *err)
{
    for (;;) {
        int has;
        vg_code rc = cursor_peek(st, c, &has, err);
        if (rc != VG_OK || !has)
            return rc;
        const char *id = cursor_id(c);
        if (last && (!id || strcmp(id, last) > 0))
            return VG_OK;
        if ((rc = cursor_take(st, c, err)) != VG_OK)
            return rc;
    }
}

/* Forget the previous chunk's customers (counters stay). */
static vg_code reset_chunk(build *B, vg_error *err)
{
    feat_matrix_free(B->m);
    B->m = NULL;
    free(B->last_act);
    B->last_act = NULL;
    free(B->weeks);
    B->weeks = NULL;
    free(B->type_last);
    B->type_last = NULL;
    strmap_free(B->ids);
    B->memo_usage.valid = B->memo_users.valid = 0;
    B->ncust = 0;
    if (!(B->ids = strmap_new(B->st ? B->st->chunk : 1024)))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

/* The slice this stream reads, published to the session so the queries
 * keep only its customers. */
static vg_code set_slice_params(build *B, int slice, int nslices, vg_error *err)
{
    char v[16];
    snprintf(v, sizeof v, "%d", nslices);
    vg_code rc = set_param(B, "vigil.nslices", v, err);
    snprintf(v, sizeof v, "%d", slice);
    if (rc == VG_OK)
        rc = set_param(B, "vigil.slice", v, err);
    return rc;
}

/* The per-day activity counts of the FRESH_WINDOW_DAYS before `day`, which
 * the freshness guard judges the date by. The windows reach at least this
 * far back (feat_windows). */
static vg_code activity_days(build *B, int day, vg_error *err)
{
    B->act_n = FRESH_WINDOW_DAYS;
    B->act_from = day - FRESH_WINDOW_DAYS;
    if (B->bounds[0] > B->act_from)
        return vg_fail(err, VG_EINTERNAL, "windows shorter than %d days",
                       FRESH_WINDOW_DAYS);
    if (!(B->act = calloc((size_t)B->act_n, sizeof *B->act)))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

/* COPY on side sessions (parallel plans) unless configured otherwise or
 * the source is sharded: a coordinator's sessions would each open their
 * own remote transactions on the shards, which share no snapshot, while one
 * session's cursors see every shard in one remote transaction each. */
static vg_code choose_read(feat_stream *st, vg_error *err)
{
    int mode = st->B.cfg->feat_stream_read, sharded = 0;
    vg_code rc = VG_OK;
    if (mode == CFG_STREAM_READ_AUTO)
        rc = has_foreign_partitions(&st->B, &sharded, err);
    st->use_copy = rc == VG_OK && (mode == CFG_STREAM_READ_COPY ||
                                   (mode == CFG_STREAM_READ_AUTO && !sharded));
    if (rc == VG_OK && st->use_copy)
        rc = export_snapshot(st, err);
    if (rc == VG_OK && !st->use_copy &&
        !(st->cancel = PQgetCancel(db_pg(st->B.db))))
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
    return rc;
}

const long *feat_stream_activity(const feat_stream *st, int *from, int *n)
{
    *from = st->B.act_from;
    *n = st->B.act_n;
    return st->B.act;
}

const char *feat_stream_read_mode(const feat_stream *st)
{
    return st->use_copy ? "copy" : "cursor";
}

void feat_stream_cancel(feat_stream *st)
{
    char buf[256];
    if (st->cancel)
        PQcancel(st->cancel, buf, sizeof buf);
    for (int k = 0; k < SC_N; k++)
        if (st->c[k].cancel)
            PQcancel(st->c[k].cancel, buf, sizeof buf);
}

vg_code feat_stream_open(db_conn *db, const vg_config *cfg,
                         const feat_spec *spec, const feat_request *req,
                         const vg_log *lg, size_t chunk, json_t *stats,
                         feat_stream **out, vg_error *err)
{
    return feat_stream_open_slice(db, cfg, spec, req, 0, 1, lg, chunk, stats,
                                  out, err);
}

vg_code feat_stream_open_slice(db_conn *db, const vg_config *cfg,
                               const feat_spec *spec, const feat_request *req,
                               int slice, int nslices, const vg_log *lg,
                               size_t chunk, json_t *stats, feat_stream **out,
                               vg_error *err)
{
    *out = NULL;
    if (req->ndates != 1 || req->max_rows > 0 || req->explain)
        return vg_fail(err, VG_EINTERNAL,
                       "a feature stream reads one date, unsampled");
    feat_stream *st = calloc(1, sizeof *st);
    if (!st)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    build *B = &st->B;
    B->st = st;
    B->slice = slice;
    B->nslices = nslices;
    st->chunk = chunk ? chunk : 1;
    st->tk.B = B;
    st->tk.cur_ci = -1;
    vg_code rc = build_init(B, db, cfg, spec, req, lg, stats, err);
    if (rc == VG_OK && nslices > 1)
        rc = set_slice_params(B, slice, nslices, err);
    if (rc == VG_OK)
        rc = choose_read(st, err);
    /* Cursors are planned for all their rows, like the COPY they replace. */
    if (rc == VG_OK && !st->use_copy)
        rc = set_param(B, "cursor_tuple_fraction", "1", err);
    if (rc == VG_OK)
        rc = read_customers(B, err);
    if (rc == VG_OK)
        rc = make_bounds(B, err);
    if (rc == VG_OK)
        rc = activity_days(B, req->dates[0], err);
    if (rc == VG_OK)
        rc = publish_params(B, err);
    if (rc == VG_OK)
        rc = read_usage(B, err);
    if (rc == VG_OK)
        rc = read_users(B, err);
    if (rc == VG_OK)
        rc = read_tickets(B, err);
    if (rc == VG_OK) /* last: the history cursor, when there is one */
        rc = read_history(B, err);
    if (rc != VG_OK) {
        feat_stream_close(st);
        return rc;
    }
    *out = st;
    return VG_OK;
}

vg_code feat_stream_next(feat_stream *st, feat_matrix **out, vg_error *err)
{
    build *B = &st->B;
    char *last = NULL;
    vg_code rc = VG_OK;
    *out = NULL;
    while (!st->finished && !*out) {
        if ((rc = reset_chunk(B, err)) != VG_OK ||
            (rc = take_customers(st, &last, err)) != VG_OK ||
            (rc = plan_rows(B, err)) != VG_OK)
            break;
        st->ncust += (long)B->ncust;
        progress_update(&B->prog, "features: %ld customers read", st->ncust);
        for (int k = SC_USAGE; k < st->ncursors && rc == VG_OK; k++)
            rc = take_upto(st, &st->c[k], last, err);
        /* the last customer's tickets: no later row can belong to it */
        if (rc == VG_OK)
            rc = flush_customer(&st->tk, err);
        free(st->tk.cur);
        st->tk.cur = NULL;
        st->tk.cur_ci = -1;
        st->tk.n = 0;
        if (rc != VG_OK)
            break;
        finish_rows(B);
        if (!last) {
            st->finished = 1;
            B->ncust = (size_t)st->ncust; /* what put_stats reports */
            put_stats(B);
        }
        if (B->m->nrows > 0) {
            *out = B->m;
            B->m = NULL;
        }
        free(last);
        last = NULL;
    }
    free(last);
    return rc;
}

void feat_stream_close(feat_stream *st)
{
    if (!st)
        return;
    /* Closed, so the next stream of the transaction (another slice) can
     * use the names; in a failed transaction this fails and changes nothing.
     * A reader on a side session of its own (the history summary's COPY)
     * is no cursor of the reading session: a CLOSE for it there would fail
     * and abort the transaction the next slice reads in. */
    for (int k = 0; k < st->ncursors && !st->use_copy; k++) {
        char q[64];
        vg_error ignored;
        if (st->c[k].side)
            continue;
        snprintf(q, sizeof q, "CLOSE %s", st->c[k].name);
        db_run(st->B.db, q, &ignored);
    }
    for (int k = 0; k < SC_N; k++) {
        stream_cursor *c = &st->c[k];
        PQclear(c->r);
        db_copy_reader_end(c->rd); /* cancels a query not read to its end */
        PQfreeCancel(c->cancel);
        db_close(c->side);
    }
    PQfreeCancel(st->cancel);
    for (int i = 0; i < st->nset; i++) {
        free(st->set_name[i]);
        free(st->set_value[i]);
    }
    free(st->set_name);
    free(st->set_value);
    free(st->fields);
    free(st->tk.cur);
    free(st->tk.v);
    free(st->tk.tmp);
    progress_done(&st->B.prog);
    free_build(&st->B);
    free(st);
}
