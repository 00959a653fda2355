/* score.c — the daily scoring job: champion model, features as of D,
 * calibrated risk, health, tier, drivers; one transaction replaces D's rows.
 *
 * Drivers use approximate contributions (Saabas, XGBoost's prediction type
 * 3, computed by model/booster.c from the trees): they sum to the margin
 * exactly like SHAP values and rank features the same way in practice, at
 * ~100x the speed of exact SHAP (TOOLCHAIN.md: exact SHAP needs minutes per
 * million rows). Features arrive in chunks from a reading thread on its own
 * session; rows are processed in fixed-size batches, so memory does not
 * grow with the customers. */
#include "score.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/date.h"
#include "core/freshness.h"
#include "drivers.h"
#include "features/feat.h"
#include "core/util.h"
#include "model/store.h"

/* Rows per XGBoost batch, and per hand-over to the COPY's writing thread
 * (which holds up to three batches' rows at once). */
#define SCORE_BATCH 4096
/* Customers per chunk of the feature stream: with the batch, what bounds
 * memory whatever the number of customers. */
#define SCORE_CHUNK 32768
/* The columns each COPYed row of vigil.scores has (writer_start's list) */
#define SCORE_COPY_FIELDS 7

int score_health(double risk)
{
    if (!(risk >= 0))
        risk = 0;
    if (risk > 1)
        risk = 1;
    return (int)lround(100.0 * (1.0 - sqrt(risk)));
}

#define TIER_NAME_(name) name,
static const char *const tier_names[SCORE_NTIERS] = {SCORE_TIERS(TIER_NAME_, )};

const char *score_tier_name(int rank)
{
    return rank >= 0 && rank < SCORE_NTIERS ? tier_names[rank] : "?";
}

int score_tier_rank(const char *name)
{
    for (int i = 0; name && i < SCORE_NTIERS; i++)
        if (strcmp(name, tier_names[i]) == 0)
            return i;
    return -1;
}

void score_tier_words(const char *tier, char *buf, size_t n)
{
    snprintf(buf, n, "%s", tier ? tier : "unscored");
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = ' ';
}

/* The rank of a churn risk by the config's cut-offs. */
static int tier_rank_of(const vg_config *cfg, double risk)
{
    if (risk >= cfg->tier_critical)
        return 3;
    if (risk >= cfg->tier_at_risk)
        return 2;
    if (risk >= cfg->tier_watch)
        return 1;
    return 0;
}

const char *score_tier(const vg_config *cfg, double risk)
{
    return tier_names[tier_rank_of(cfg, risk)];
}

/* Median of every column over the scored population, NaN ignored. */
static vg_code column_medians(const feat_matrix *m, double *out, vg_error *err)
{
    float *tmp = malloc((m->nrows + 1) * sizeof *tmp);
    if (!tmp)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    for (size_t j = 0; j < m->ncols; j++) {
        size_t n = 0;
        for (size_t r = 0; r < m->nrows; r++) {
            float v = m->x[r * m->ncols + j];
            if (!isnan(v))
                tmp[n++] = v;
        }
        if (n == 0) {
            out[j] = NAN;
            continue;
        }
        out[j] = median_float_inplace(tmp, n);
    }
    free(tmp);
    return VG_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of the calling thread: what each phase costs, which the
 * machine's load distorts less than its wall time. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One thread's share of a batch: contributions (when they come from the
 * model's own trees), calibrate, then word the drivers. */
typedef struct word_job {
    const vg_config *cfg;
    const feat_spec *spec;
    const calib *cal;
    booster *b;     /* computes its rows' contributions first, or NULL */
    const float *x; /* batch rows */
    float *contrib; /* batch contributions, ncols+1 per row */
    const double *typical;
    size_t nc;
    double *prob; /* in: raw probabilities; out: calibrated risk */
    char **drs;   /* out: drivers JSON per row (caller frees) */
    size_t from, to;
    int failed;
    double t_contrib;         /* seconds in the contributions */
    double c_contrib, c_word; /* this thread's CPU seconds in each */
} word_job;

static void *word_rows(void *arg)
{
    word_job *j = arg;
    double c0 = cpu_s();
    if (j->b) {
        double t0 = now_s();
        vg_error e;
        if (booster_contribs(j->b, &j->x[j->from * j->nc], j->to - j->from,
                             j->nc, 0, &j->contrib[j->from * (j->nc + 1)],
                             &e) != VG_OK)
            j->failed = 1;
        j->t_contrib = now_s() - t0;
        double c1 = cpu_s();
        j->c_contrib = c1 - c0;
        c0 = c1;
        if (j->failed)
            return NULL;
    }
    for (size_t i = j->from; i < j->to; i++) {
        double risk = calib_apply(j->cal, j->prob[i]);
        if (!(risk >= 0))
            risk = 0;
        if (risk > 1)
            risk = 1;
        j->prob[i] = risk;
        strbuf b = {0};
        if (drivers_write_row(j->spec, &j->x[i * j->nc],
                              &j->contrib[i * (j->nc + 1)], j->nc, j->typical,
                              j->cfg->score_drivers, &b) == 0)
            j->drs[i] = b.s; /* the text changes owner */
        else
            strbuf_free(&b);
        if (!j->drs[i])
            j->failed = 1;
    }
    j->c_word = cpu_s() - c0;
    return NULL;
}

/* The model to score with: the champion (model_id <= 0) or model_id. A
 * champion trained after the date would use the future and is refused; an
 * explicit model is only warned about (a replay, not a backtest). */
static vg_code load_model(db_conn *db, const vg_config *cfg, const vg_log *lg,
                          int as_of, long long model_id, stored_model **out,
                          vg_error *err)
{
    stored_model *sm = NULL;
    vg_code rc = store_load(db, model_id, cfg->train_horizon_days, &sm, err);
    if (rc != VG_OK)
        return rc;
    if (sm->as_of > as_of) {
        char md[DATE_BUF], d[DATE_BUF];
        date_format(sm->as_of, md);
        date_format(as_of, d);
        if (model_id <= 0) {
            rc = vg_fail(err, VG_ENOMODEL,
                         "the champion (model %lld) was trained as of %s, "
                         "after %s: scoring %s with "
                         "it would use the future. Run `vigil train --as-of "
                         "%s` first, or pass --model",
                         sm->model_id, md, d, d, d);
            store_model_free(sm);
            return rc;
        }
        log_warn(lg,
                 "model %lld was trained as of %s, after %s: this is not a "
                 "faithful backtest",
                 sm->model_id, md, d);
    }
    *out = sm;
    return VG_OK;
}

/* One scoring run's state: the model, the current chunk of features,
 * per-batch buffers and what the run adds up over its chunks. */
typedef struct scoring {
    const vg_config *cfg;
    const stored_model *sm;
    const feat_spec *spec;
    const feat_matrix *m;     /* the current chunk */
    const char *d;            /* the as-of date, YYYY-MM-DD */
    int day;                  /* the same, in days since 1970-01-01 */
    const score_guard *guard; /* NULL: none */
    double *prob;    /* per batch row: raw probability, then calibrated risk */
    double *typical; /* per column: the first chunk's median */
    int have_typical;
    float *contrib; /* per batch row: ncols+1 contributions */
    char **drs;     /* per batch row: drivers JSON */
    long tiers[SCORE_NTIERS];
    size_t scored;
    double risk_sum;
    /* seconds spent per phase, for --json: where a run's time goes */
    double t_read, t_predict, t_contrib, t_word, t_copy;
    /* CPU seconds per phase: the reading thread's (parse, merge), the
     * main thread's share of the prediction (XGBoost's own threads not
     * counted), both wording threads' contributions and wording, and the
     * COPY's formatting plus its writing thread */
    double c_read, c_predict, c_contrib, c_word, c_copy;
    /* before the first chunk: model, reading sessions, DELETE; and the
     * COMMIT */
    double t_setup, t_delete, t_commit;
    int nslices;
    const char *read_mode; /* feat_stream_read_mode of the slices */
    struct writer *w;      /* sends the COPY rows into vigil.scores */
    strbuf rows;           /* the batch's rows in COPY binary form */
} scoring;

static vg_code scoring_alloc(scoring *S, vg_error *err)
{
    size_t nc = feat_spec_ncols(S->spec);
    S->prob = malloc((size_t)SCORE_BATCH * sizeof *S->prob);
    S->typical = malloc((nc + 1) * sizeof *S->typical);
    S->contrib = malloc((size_t)SCORE_BATCH * (nc + 1) * sizeof *S->contrib);
    S->drs = calloc(SCORE_BATCH, sizeof *S->drs);
    if (!S->prob || !S->typical || !S->contrib || !S->drs)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    return VG_OK;
}

static void scoring_free(scoring *S)
{
    free(S->prob);
    free(S->typical);
    free(S->contrib);
    for (size_t i = 0; S->drs && i < SCORE_BATCH; i++)
        free(S->drs[i]);
    free(S->drs);
    strbuf_free(&S->rows);
}

/* Predict rows [start, start+n) and word their drivers. Wording (JSON)
 * costs as much as the predictions: two threads share the batch. */
static vg_code predict_batch(scoring *S, size_t start, size_t n, vg_error *err)
{
    size_t nc = S->m->ncols;
    const float *x = &S->m->x[start * nc];
    double t0 = now_s(), c0 = cpu_s();
    vg_code rc = booster_predict(S->sm->b, x, n, nc, S->prob, err);
    double t1 = now_s(), c1 = cpu_s();
    /* Contributions from the model's own trees are read-only work per row:
     * the two wording threads compute their own rows' (the first call
     * checks them against XGBoost's, single-threaded). */
    int own = booster_contribs_own(S->sm->b);
    if (rc == VG_OK && !own)
        rc = booster_contribs(S->sm->b, x, n, nc, 0, S->contrib, err);
    double t2 = now_s();
    S->c_predict += c1 - c0;
    S->c_contrib += cpu_s() - c1;
    S->t_predict += t1 - t0;
    S->t_contrib += t2 - t1;
    if (rc != VG_OK)
        return rc;
    word_job jobs[2];
    pthread_t th;
    for (int w = 0; w < 2; w++)
        jobs[w] = (word_job){S->cfg,
                             S->spec,
                             S->sm->cal,
                             own ? S->sm->b : NULL,
                             x,
                             S->contrib,
                             S->typical,
                             nc,
                             S->prob,
                             S->drs,
                             w == 0 ? 0 : n / 2,
                             w == 0 ? n / 2 : n,
                             0,
                             0,
                             0,
                             0};
    int threaded = pthread_create(&th, NULL, word_rows, &jobs[1]) == 0;
    word_rows(&jobs[0]);
    if (threaded)
        pthread_join(th, NULL);
    else
        word_rows(&jobs[1]);
    /* the main thread's share of the contributions counts as theirs */
    S->t_contrib += jobs[0].t_contrib;
    S->t_word += now_s() - t2 - jobs[0].t_contrib;
    for (int w = 0; w < 2; w++) {
        S->c_contrib += jobs[w].c_contrib;
        S->c_word += jobs[w].c_word;
    }
    if (jobs[0].failed || jobs[1].failed)
        return vg_fail(err, VG_ENOMEM,
                       "out of memory wording drivers or computing "
                       "contributions");
    return VG_OK;
}

/* The writing side of the COPY into vigil.scores: a thread that sends
 * one batch's rows while the main thread predicts and words the next.
 * PostgreSQL parses, checks and indexes each row (~30 us, more than
 * vigil's own work on it); sent from the main thread, that time was spent
 * with vigil idle, and after the aggregation's last row it was most of
 * what was left of a run. The connection is the writer's alone from the
 * COPY's start to its end. */
typedef struct writer {
    db_copy_in *cp;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    strbuf slot; /* rows handed over, not yet taken */
    int full, finish, busy;
    vg_code rc;
    vg_error err;
    double cpu; /* the thread's CPU seconds, once it has ended */
    pthread_t th;
    int running; /* th was started (and must be stopped) */
} writer;

static void *writer_main(void *arg)
{
    writer *W = arg;
    strbuf mine = {0};
    pthread_mutex_lock(&W->mu);
    for (;;) {
        while (!W->full && !W->finish)
            pthread_cond_wait(&W->cv, &W->mu);
        if (!W->full)
            break;
        strbuf t = W->slot;
        W->slot = mine;
        mine = t;
        W->full = 0;
        W->busy = 1;
        pthread_cond_broadcast(&W->cv);
        pthread_mutex_unlock(&W->mu);
        vg_error e = {0};
        vg_code rc = db_copy_in_put(W->cp, mine.s, mine.len, &e);
        strbuf_reset(&mine);
        pthread_mutex_lock(&W->mu);
        W->busy = 0;
        if (rc != VG_OK && W->rc == VG_OK) {
            W->rc = rc;
            W->err = e;
        }
        pthread_cond_broadcast(&W->cv);
    }
    W->cpu = cpu_s();
    pthread_mutex_unlock(&W->mu);
    strbuf_free(&mine);
    return NULL;
}

/* Hand the rows in *b over (b is left empty), waiting while the previous
 * batch is still untaken; the writer's error once it failed. */
static vg_code writer_put(writer *W, strbuf *b, vg_error *err)
{
    if (b->failed)
        return vg_fail(err, VG_ENOMEM, "out of memory buffering COPY data");
    pthread_mutex_lock(&W->mu);
    while (W->full && W->rc == VG_OK)
        pthread_cond_wait(&W->cv, &W->mu);
    vg_code rc = W->rc;
    if (rc == VG_OK) {
        strbuf t = W->slot;
        W->slot = *b;
        *b = t;
        W->full = 1;
        pthread_cond_broadcast(&W->cv);
    } else {
        *err = W->err;
    }
    pthread_mutex_unlock(&W->mu);
    strbuf_reset(b);
    return rc;
}

/* Wait until everything handed over was sent (or failed), then stop the
 * thread; its error, if any. */
static vg_code writer_finish(writer *W, vg_error *err)
{
    pthread_mutex_lock(&W->mu);
    while ((W->full || W->busy) && W->rc == VG_OK)
        pthread_cond_wait(&W->cv, &W->mu);
    W->finish = 1;
    W->full = 0; /* after a failure nothing more is sent */
    pthread_cond_broadcast(&W->cv);
    pthread_mutex_unlock(&W->mu);
    pthread_join(W->th, NULL);
    if (W->rc != VG_OK)
        *err = W->err;
    return W->rc;
}

/* Rows [start, start+n) in COPY's binary form, handed to the writer: the
 * server's text parsing of each row (splitting the line, unescaping the
 * drivers' kilobyte, reading the numbers) was a fifth of its CPU for the
 * COPY. The values are the text form's: the risk's own double (its 17
 * digits read back to the same bits), the health's integer, the drivers'
 * JSON text (jsonb's binary input parses the same text). */
static vg_code copy_batch(scoring *S, size_t start, size_t n, vg_error *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t r = start + i;
        double risk = S->prob[i];
        int t = tier_rank_of(S->cfg, risk);
        S->tiers[t]++;
        S->risk_sum += risk;
        S->scored++;
        strbuf *b = &S->rows;
        db_copy_bin_row(b, SCORE_COPY_FIELDS);
        db_copy_bin_date(b, S->day);
        db_copy_bin_text(b, S->m->ids[r]);
        db_copy_bin_int8(b, S->sm->model_id);
        db_copy_bin_float8(b, risk);
        db_copy_bin_int2(b, score_health(risk));
        db_copy_bin_text(b, tier_names[t]);
        db_copy_bin_jsonb(b, S->drs[i]);
        free(S->drs[i]);
        S->drs[i] = NULL;
    }
    return writer_put(S->w, &S->rows, err);
}

/* The model's "typical customer" (train stores each column's median over
 * its latest observation date): the same whichever slice or chunk comes
 * first. 0 when the model predates it. */
static int typical_from_model(scoring *S)
{
    json_t *a = json_object_get(S->sm->features, "typical");
    size_t nc = feat_spec_ncols(S->spec);
    if (!json_is_array(a) || json_array_size(a) != nc)
        return 0;
    for (size_t j = 0; j < nc; j++) {
        json_t *v = json_array_get(a, j);
        S->typical[j] = json_is_number(v) ? json_number_value(v) : NAN;
    }
    return 1;
}

/* Predict, word and COPY one chunk of customers, batch by batch. The
 * "typical" values are the model's, or for a model from before it stored
 * them the first chunk's medians. */
static vg_code score_chunk(scoring *S, vg_error *err)
{
    vg_code rc = VG_OK;
    if (!S->have_typical) {
        if ((rc = column_medians(S->m, S->typical, err)) != VG_OK)
            return rc;
        S->have_typical = 1;
    }
    for (size_t start = 0; rc == VG_OK && start < S->m->nrows;
         start += SCORE_BATCH) {
        size_t n = S->m->nrows - start < SCORE_BATCH ? S->m->nrows - start
                                                     : SCORE_BATCH;
        rc = predict_batch(S, start, n, err);
        double t0 = now_s(), c0 = cpu_s();
        if (rc == VG_OK)
            rc = copy_batch(S, start, n, err);
        S->t_copy += now_s() - t0;
        S->c_copy += cpu_s() - c0;
    }
    return rc;
}

/* The reading side of a run: a session and a thread of its own build the
 * feature chunks, slice by slice, and hand them over one at a time. A hash
 * aggregate returns nothing until it has read all its input, so one stream
 * would keep the writing side idle for the whole aggregation; with slices,
 * PostgreSQL aggregates slice k+1 while the writing side predicts, words
 * and COPYs slice k. One REPEATABLE READ snapshot serves every slice, so
 * each customer is in exactly one. */
typedef struct reader {
    db_conn *db;
    const vg_config *cfg;
    const feat_spec *spec;
    const vg_log *lg;
    int as_of, quiet, nslices;
    json_t *stats; /* the slices' skipped-row counts, added up */
    /* the source's activity per day before as_of (feat_stream_activity),
     * the slices' added up: what the date's freshness is judged by */
    long act[FRESH_WINDOW_DAYS];
    int act_from, act_read;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    feat_matrix *slot; /* the chunk handed over; NULL when taken */
    feat_stream *fs;   /* the slice being read, for reader_stop to cancel */
    const char *read_mode;
    int done, stop;
    vg_code rc;
    vg_error err;
    double cpu; /* the thread's CPU seconds, once it is done */
} reader;

/* Hand a chunk over, waiting while the previous one is still untaken;
 * 0 (and the chunk freed) when the writing side stopped. */
static int reader_put(reader *R, feat_matrix *m)
{
    pthread_mutex_lock(&R->mu);
    while (R->slot && !R->stop)
        pthread_cond_wait(&R->cv, &R->mu);
    int ok = !R->stop;
    if (ok)
        R->slot = m;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
    if (!ok)
        feat_matrix_free(m);
    return ok;
}

/* Make the stream being read cancelable by reader_stop (NULL: no longer);
 * 0 when the writing side already stopped. */
static int reader_publish(reader *R, feat_stream *fs)
{
    pthread_mutex_lock(&R->mu);
    R->fs = fs;
    int ok = !R->stop;
    pthread_mutex_unlock(&R->mu);
    return ok;
}

static vg_code read_slice(reader *R, int k, vg_error *err)
{
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    json_t *st = json_object();
    if (!st)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    feat_request req = {&R->as_of, 1, 0, 0, -1, 0, R->quiet, NULL};
    vg_code rc =
        feat_stream_open_slice(R->db, R->cfg, R->spec, &req, k, R->nslices,
                               R->lg, SCORE_CHUNK, st, &fs, err);
    if (rc == VG_OK)
        R->read_mode = feat_stream_read_mode(fs); /* a static string */
    if (rc == VG_OK && !reader_publish(R, fs))
        rc = vg_fail(err, VG_ECANCELED, "scoring stopped");
    while (rc == VG_OK && (rc = feat_stream_next(fs, &m, err)) == VG_OK && m)
        if (!reader_put(R, m))
            rc = vg_fail(err, VG_ECANCELED, "scoring stopped");
    reader_publish(R, NULL);
    if (rc == VG_OK) {
        int from, n;
        const long *a = feat_stream_activity(fs, &from, &n);
        for (int i = 0; i < n && i < FRESH_WINDOW_DAYS; i++)
            R->act[i] += a[i];
        R->act_from = from;
        R->act_read = k == R->nslices - 1;
    }
    feat_stream_close(fs);
    if (rc == VG_OK)
        json_add_counts(R->stats, st);
    json_decref(st);
    return rc;
}

static void *reader_main(void *arg)
{
    reader *R = arg;
    vg_error err = {0};
    vg_code rc =
        db_run(R->db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", &err);
    for (int k = 0; rc == VG_OK && k < R->nslices; k++)
        rc = read_slice(R, k, &err);
    db_rollback(R->db); /* read only: nothing to keep */
    pthread_mutex_lock(&R->mu);
    R->cpu = cpu_s();
    R->rc = rc;
    R->err = err;
    R->done = 1;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
    return NULL;
}

/* The next chunk, NULL once the reader has finished (R->rc says how) or
 * the job was asked to stop (db's flag: the reader's long FETCH must not
 * delay a canceled run). */
static feat_matrix *reader_take(reader *R, const db_conn *db)
{
    pthread_mutex_lock(&R->mu);
    while (!R->slot && !R->done && !db_stop_requested(db)) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&R->cv, &R->mu, &until);
    }
    feat_matrix *m = R->slot;
    R->slot = NULL;
    pthread_cond_broadcast(&R->cv);
    pthread_mutex_unlock(&R->mu);
    return m;
}

/* Stop the reader: its running queries are canceled (the stream's own
 * sessions too), its chunk dropped. */
static void reader_stop(reader *R)
{
    pthread_mutex_lock(&R->mu);
    R->stop = 1;
    feat_matrix_free(R->slot);
    R->slot = NULL;
    pthread_cond_broadcast(&R->cv);
    int done = R->done;
    if (R->fs)
        feat_stream_cancel(R->fs);
    pthread_mutex_unlock(&R->mu);
    PGcancel *c = done ? NULL : PQgetCancel(db_pg(R->db));
    char buf[256];
    if (c)
        PQcancel(c, buf, sizeof buf);
    PQfreeCancel(c);
}

/* Score every chunk the reader hands over, each written before the next is
 * taken, so memory holds at most three chunks whatever the customers. */
static vg_code score_chunks(db_conn *db, const vg_log *lg, scoring *S,
                            reader *R, vg_error *err)
{
    vg_code rc = VG_OK;
    double t0 = now_s();
    feat_matrix *m;
    while ((m = reader_take(R, db)) != NULL) {
        S->t_read += now_s() - t0;
        S->m = m;
        rc = score_chunk(S, err);
        S->m = NULL;
        feat_matrix_free(m);
        if (rc != VG_OK)
            return rc;
        log_debug(lg, "scored %zu customers so far", S->scored);
        t0 = now_s();
    }
    S->t_read += now_s() - t0;
    if (db_stop_requested(db))
        return vg_fail(err, VG_ECANCELED, "canceled by a signal");
    if (R->rc != VG_OK) {
        *err = R->err;
        return R->rc;
    }
    return VG_OK;
}

/* The model row, locked FOR KEY SHARE until the COMMIT, in place of a
 * foreign key checked on every row (migration 012): a model delete waits
 * for this run and then sees its scores (and is refused), and a model
 * deleted before the lock was granted stops the run before it writes. */
static vg_code lock_model(db_conn *db, long long model_id, vg_error *err)
{
    PGresult *r = NULL;
    const db_param p[1] = {DB_INT(model_id)};
    vg_code rc = db_exec_params(db,
                                "SELECT 1 FROM vigil.models WHERE model_id = "
                                "$1 FOR KEY SHARE",
                                1, p, &r, err);
    if (rc == VG_OK && PQntuples(r) == 0)
        rc = vg_fail(err, VG_ENOMODEL,
                     "model %lld was deleted while this run was starting "
                     "(`vigil runs undo` of its training?): nothing was "
                     "written; score again, with the champion or --model",
                     model_id);
    PQclear(r);
    return rc;
}

/* Replace the date's rows in vigil.scores in one transaction: the old rows
 * go, then the chunks the reader builds on its own session are predicted,
 * worded and COPYed one by one; readers of vigil.scores see one run whole. */
/* Start the COPY into vigil.scores on db and the thread that feeds it. */
static vg_code writer_start(db_conn *db, writer *W, vg_error *err)
{
    vg_code rc = db_copy_in_begin(db,
                                  "COPY vigil.scores (as_of, customer_id, "
                                  "model_id, churn_risk, health, tier, "
                                  "drivers) FROM STDIN (FORMAT binary)",
                                  &W->cp, err);
    if (rc != VG_OK)
        return rc;
    strbuf h = {0};
    db_copy_bin_header(&h);
    rc = h.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                  : db_copy_in_put(W->cp, h.s, h.len, err);
    strbuf_free(&h);
    if (rc != VG_OK)
        return rc;
    if (pthread_create(&W->th, NULL, writer_main, W) != 0)
        return vg_fail(err, VG_ENOMEM, "cannot start the writing thread");
    W->running = 1;
    return VG_OK;
}

/* Stop the writer's thread and end its COPY, abandoned when rc (the run's
 * result so far, its error in err) is a failure. The first error wins: the
 * run's, then the thread's, then the COPY's end. */
static vg_code writer_end(writer *W, vg_code rc, vg_error *err)
{
    vg_error e2 = {0};
    vg_code rc2;
    if (W->running && (rc2 = writer_finish(W, &e2)) != VG_OK && rc == VG_OK) {
        rc = rc2;
        *err = e2;
    }
    if (W->cp && rc == VG_OK) {
        strbuf t = {0};
        db_copy_bin_trailer(&t);
        rc = t.failed ? vg_fail(err, VG_ENOMEM, "out of memory")
                      : db_copy_in_put(W->cp, t.s, t.len, err);
        strbuf_free(&t);
    }
    if (W->cp && (rc2 = db_copy_in_end(W->cp, rc != VG_OK, &e2)) != VG_OK &&
        rc == VG_OK) {
        rc = rc2;
        *err = e2;
    }
    return rc;
}

/* Opens the date's transaction: the model row locked (lock_model: a model
 * delete waits for this run) and the date's old scores deleted, all undone
 * by the rollback if the date is refused later. */
static vg_code clear_date(db_conn *db, scoring *S, vg_error *err)
{
    vg_code rc = db_begin(db, err);
    if (rc == VG_OK)
        rc = lock_model(db, S->sm->model_id, err);
    const char *p[1] = {S->d};
    double t0 = now_s();
    if (rc == VG_OK)
        rc = db_exec(db, "DELETE FROM vigil.scores WHERE as_of = $1::date", 1,
                     p, NULL, err);
    S->t_delete = now_s() - t0;
    return rc;
}

/* The COPY writer's whole life: started when all before went well (`rc`),
 * fed by score_chunks, and always ended, so a failure anywhere ends its COPY
 * and stops the reader (when `started`) instead of leaving either waiting. */
static vg_code write_chunks(db_conn *db, const vg_log *lg, scoring *S,
                            reader *R, int started, vg_code rc, vg_error *err)
{
    writer W = {0};
    pthread_mutex_init(&W.mu, NULL);
    pthread_cond_init(&W.cv, NULL);
    if (rc == VG_OK)
        rc = writer_start(db, &W, err);
    S->w = &W;
    if (rc == VG_OK)
        rc = score_chunks(db, lg, S, R, err);
    if (rc != VG_OK && started)
        reader_stop(R);
    double t0 = now_s();
    rc = writer_end(&W, rc, err);
    S->t_copy += now_s() - t0;
    S->w = NULL;
    strbuf_free(&W.slot);
    pthread_cond_destroy(&W.cv);
    pthread_mutex_destroy(&W.mu);
    S->c_copy += W.cpu;
    return rc;
}

/* The freshness guard's verdict on the date, from the activity the reading
 * counted (all of it read by now); no guard: nothing to judge. */
static vg_code judge_reading(db_conn *db, scoring *S, reader *R, vg_error *err)
{
    if (!S->guard || !S->guard->fn)
        return VG_OK;
    if (!R->act_read)
        return vg_fail(err, VG_EINTERNAL, "the features were not all read");
    fresh_days days = {R->act_from, FRESH_WINDOW_DAYS, R->act};
    return S->guard->fn(S->guard->arg, db, &days, err);
}

static vg_code write_scores(db_conn *db, const vg_log *lg, scoring *S,
                            int as_of, int quiet, json_t *stats, vg_error *err)
{
    reader R = {.cfg = S->cfg,
                .spec = S->spec,
                .lg = lg,
                .as_of = as_of,
                .quiet = quiet,
                .nslices = S->nslices,
                .stats = stats};
    pthread_t th;
    int started = 0;
    pthread_mutex_init(&R.mu, NULL);
    pthread_cond_init(&R.cv, NULL);
    double t0 = now_s();
    vg_code rc = db_connect_again(db, &R.db, err);
    S->t_setup += now_s() - t0;
    if (rc != VG_OK)
        goto cleanup;
    /* The reader first: PostgreSQL aggregates while the old rows go. The
     * guard judges the date by what the reading counted, once it has read
     * everything, before the COMMIT: a refused date rolls back, so it
     * deletes and writes nothing. */
    if (pthread_create(&th, NULL, reader_main, &R) != 0)
        rc = vg_fail(err, VG_ENOMEM, "cannot start the reading thread");
    else
        started = 1;
    if (rc == VG_OK)
        rc = clear_date(db, S, err);
    rc = write_chunks(db, lg, S, &R, started, rc, err);
    if (started)
        pthread_join(th, NULL);
    S->c_read = R.cpu;
    if (rc == VG_OK)
        rc = judge_reading(db, S, &R, err);
    if (rc != VG_OK) {
        db_rollback(db); /* the rollback reports nothing */
        goto cleanup;
    }
    S->read_mode = R.read_mode;
    log_debug(lg, "predictions and drivers written; committing");
    t0 = now_s();
    rc = db_commit(db, err);
    S->t_commit = now_s() - t0;
    if (rc != VG_OK)
        db_rollback(db);
cleanup:
    feat_matrix_free(R.slot);
    db_close(R.db);
    pthread_cond_destroy(&R.cv);
    pthread_mutex_destroy(&R.mu);
    return rc;
}

/* The contract's score summary, plus what was skipped (stats, borrowed). */
static json_t *score_summary(const scoring *S, json_t *stats)
{
    double mean = S->scored ? S->risk_sum / (double)S->scored : 0;
    json_t *tiers = json_object();
    for (int t = 0; tiers && t < SCORE_NTIERS; t++)
        if (json_object_set_new(tiers, tier_names[t],
                                json_integer((json_int_t)S->tiers[t])) != 0) {
            json_decref(tiers);
            tiers = NULL;
        }
    if (!tiers)
        return NULL;
    json_t *t = json_pack(
        "{s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "setup", S->t_setup,
        "delete_previous", S->t_delete, "read_features", S->t_read, "predict",
        S->t_predict, "contributions", S->t_contrib, "drivers_wording",
        S->t_word, "copy_out", S->t_copy, "commit", S->t_commit);
    json_t *c =
        json_pack("{s:f, s:f, s:f, s:f, s:f}", "read_features", S->c_read,
                  "predict", S->c_predict, "contributions", S->c_contrib,
                  "drivers_wording", S->c_word, "copy_out", S->c_copy);
    if (!t || !c) {
        json_decref(tiers);
        json_decref(t);
        json_decref(c);
        return NULL;
    }
    return json_pack(
        "{s:s, s:I, s:I, s:o, s:f, s:s, s:O, s:o, s:o, s:i, s:s}", "as_of",
        S->d, "scored", (json_int_t)S->scored, "model_id",
        (json_int_t)S->sm->model_id, "tiers", tiers, "mean_churn_risk", mean,
        "drivers_method", "xgboost approximate contributions (Saabas)",
        "skipped", stats, "phase_seconds", t, "phase_cpu_seconds", c, "slices",
        S->nslices, "read", S->read_mode ? S->read_mode : "none");
}

vg_code score_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  int as_of, long long model_id, int quiet,
                  const score_guard *guard, json_t **summary, vg_error *err)
{
    stored_model *sm = NULL;
    feat_spec *spec = NULL;
    char d[DATE_BUF];
    date_format(as_of, d);
    scoring S = {.cfg = cfg,
                 .d = d,
                 .day = as_of,
                 .guard = guard,
                 .nslices = cfg->score_slices > 0 ? cfg->score_slices : 1};
    *summary = NULL;
    json_t *stats = json_object();
    if (!stats)
        return vg_fail(err, VG_ENOMEM, "out of memory");

    double t0 = now_s();
    vg_code rc = load_model(db, cfg, lg, as_of, model_id, &sm, err);
    if (rc == VG_OK)
        rc = feat_spec_from_json(sm->features, &spec, err);
    if (rc != VG_OK)
        goto cleanup;
    S.sm = sm;
    S.spec = spec;
    if ((rc = scoring_alloc(&S, err)) != VG_OK)
        goto cleanup;
    S.have_typical = typical_from_model(&S);
    S.t_setup = now_s() - t0;
    if ((rc = write_scores(db, lg, &S, as_of, quiet, stats, err)) != VG_OK)
        goto cleanup;
    *summary = score_summary(&S, stats);
    if (!*summary) {
        rc = vg_fail(err, VG_ENOMEM, "out of memory");
        goto cleanup;
    }
    log_debug(lg, "scored %zu customers as of %s with model %lld", S.scored, d,
              sm->model_id);
cleanup:
    scoring_free(&S);
    json_decref(stats);
    feat_spec_free(spec);
    store_model_free(sm);
    return rc;
}

vg_code score_riskiest(db_conn *db, const char *as_of, int n, json_t **rows,
                       vg_error *err)
{
    const db_param p[2] = {DB_TEXT(as_of), DB_INT(n)};
    PGresult *r = NULL;
    *rows = NULL;
    vg_code rc = db_exec_params(
        db,
        "SELECT customer_id, churn_risk, health, tier, "
        " coalesce((SELECT string_agg(d->>'text', '; ') FROM "
        "  (SELECT jsonb_array_elements(drivers) d) x), '') "
        "FROM vigil.scores WHERE as_of = $1::date ORDER BY churn_risk "
        "DESC, customer_id LIMIT $2::int",
        2, p, &r, err);
    if (rc != VG_OK)
        return rc;
    json_t *out = json_array();
    for (int i = 0; out && i < PQntuples(r); i++) {
        json_t *row = json_pack(
            "{s:s, s:f, s:i, s:s, s:s}", "customer_id", PQgetvalue(r, i, 0),
            "churn_risk", atof(PQgetvalue(r, i, 1)), "health",
            atoi(PQgetvalue(r, i, 2)), "tier", PQgetvalue(r, i, 3), "reasons",
            PQgetvalue(r, i, 4));
        if (!row || json_array_append_new(out, row) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    PQclear(r);
    if (!out)
        return vg_fail(err, VG_ENOMEM,
                       "out of memory or text that is not "
                       "UTF-8 in vigil.scores");
    *rows = out;
    return VG_OK;
}
