/* feat.h — as-of feature extraction: from the source tables to a dense matrix.
 * One code path serves a single scoring date and the many observation dates of
 * training, so train and score can never disagree about what a feature means.
 */
#ifndef VG_FEAT_H
#define VG_FEAT_H

#include <jansson.h>
#include <stdio.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/log.h"

/* The list of columns a model uses: computed features plus the customer
 * attribute columns and categorical levels found when it was trained.
 * Opaque; stored with the model as JSON. */
typedef struct feat_spec feat_spec;

/* How a value is written for a person (score/drivers.c rounds by unit). */
typedef enum feat_unit {
    FEAT_UNIT_NUMBER,     /* a plain quantity, rounded */
    FEAT_UNIT_COUNT,      /* whole things: tickets, days, users */
    FEAT_UNIT_DAYS_AGO,   /* days since something: "today", "12 days ago" */
    FEAT_UNIT_DURATION,   /* days as a span: "45 days", "2.5 years" */
    FEAT_UNIT_DAYS_UNTIL, /* a date as days from the as-of date */
    FEAT_UNIT_HOURS,      /* "under an hour", "6 hours", "3 days" */
    FEAT_UNIT_SHARE,      /* 0..1 written as a percentage */
    FEAT_UNIT_MONEY,      /* "1,250 a month" */
    FEAT_UNIT_RATING,     /* satisfaction 1..5: "2.5 of 5" */
    FEAT_UNIT_SLOPE,      /* events per week, per week */
    FEAT_UNIT_YESNO       /* a boolean attribute */
} feat_unit;

/* Which way a value is a warning sign, independent of any one model. */
typedef enum feat_worse {
    FEAT_WORSE_UNKNOWN = 0, /* profile facts: neither side is "bad" */
    FEAT_WORSE_HIGHER = 1,  /* more tickets, more days without activity */
    FEAT_WORSE_LOWER = -1   /* fewer active days, lower satisfaction */
} feat_worse;

/* How a feature is worded for a specialist (score/drivers.c). The theme,
 * unit, direction and kind come from features/spec.c's wording table: a
 * new feature family is worded by adding a row there. */
typedef struct feat_info {
    const char *name;   /* "usage.active_days_30d" */
    const char *phrase; /* "active days in the last 30 days" */
    int prev; /* column holding the same measure one window earlier, or -1 */
    int is_indicator; /* one-hot level of a categorical column */
    double cap; /* values are capped here (meaning "at least this"); 0 none */
    feat_unit unit;
    feat_worse worse;
    int profile;       /* a fact about the account, not its behaviour */
    const char *theme; /* adoption | support_friction | satisfaction |
                          onboarding | commercial */
    /* Another column stating the same fact over another span (the capped
     * and the whole-history "last product activity"), or -1: a customer's
     * reasons name a fact once, not once per column that measures it. */
    int same_fact;
    /* For a recency that counts from the signup when nothing happened
     * since: the tenure column, else -1. Equal to the tenure, the value
     * means "never", which a reason must say: "3 weeks ago" reads as a
     * customer who once used the product. */
    int since_signup;
    /* What "never" means for this column (a recency equal to the tenure,
     * or a whole-history count of 0): FEAT_NEVER_ACTIVE, the customer never
     * used the product; FEAT_NEVER_TYPE, never one event type, which the
     * first implies. A customer's reasons say "never active" once. */
    int never_scope;
} feat_info;

enum { FEAT_NEVER_NONE = 0, FEAT_NEVER_ACTIVE = 1, FEAT_NEVER_TYPE = 2 };

/* Apply the wording table to fi (by fi->name): unit, direction, theme. */
void feat_word(feat_info *fi);
/* A column name as words: "employee_count" -> "employee count",
 * "renewal_date" -> "renewal date", "contract_end_at" -> "contract end". */
void feat_humanise(const char *column, char *out, size_t n);

/* Discover event types, customer attribute columns and categorical levels from
 * rows strictly before as_of_day (so discovery itself cannot leak). */
vg_code feat_spec_discover(db_conn *db, const vg_config *cfg, int as_of_day,
                           feat_spec **out, vg_error *err);
size_t feat_spec_ncols(const feat_spec *s);
const feat_info *feat_spec_info(const feat_spec *s, size_t col);
/* Column index by name, -1 when absent. */
int feat_spec_find(const feat_spec *s, const char *name);
json_t *feat_spec_to_json(const feat_spec *s);
vg_code feat_spec_from_json(const json_t *j, feat_spec **out, vg_error *err);
void feat_spec_free(feat_spec *s);
/* The optional families (config key features.families) a spec computes:
 * how many, and the i-th one's name in a fixed order. */
int feat_spec_nfamilies(const feat_spec *s);
const char *feat_spec_family(const feat_spec *s, int i);
/* A copy of s without one of its families: the other columns keep their
 * names (and order), the family's are left out. Match columns by name
 * (feat_spec_find) to carry a matrix over. */
vg_code feat_spec_without_family(const feat_spec *s, const char *family,
                                 feat_spec **out, vg_error *err);

typedef struct feat_matrix {
    size_t nrows, ncols;
    float *x;        /* nrows x ncols, row-major, NaN = missing */
    char **ids;      /* customer_id per row */
    int *day;        /* observation (as-of) day per row */
    int *date_index; /* index into feat_request.dates per row */
    float
        *label; /* 1 churned within the horizon, 0 not; NULL when unlabelled */
    float *weight; /* sampling weight; NULL when nothing was sampled */
    double *mrr;   /* the customer's MRR (NaN if unknown), for reporting */
} feat_matrix;

typedef struct feat_request {
    const int *dates; /* observation days */
    int ndates;
    int horizon_days; /* > 0: attach churn labels (and require them known) */
    long max_rows; /* 0 = keep every row; else sample negatives with weights */
    int keep_all_date; /* date index never sampled (validation), -1 for none */
    unsigned seed;
    int quiet; /* no terminal progress */
    /* Non-NULL: the aggregation queries are not run but EXPLAINed (VERBOSE)
     * into this object, one plan text per query ("usage", "users",
     * "tickets"); the matrix comes back without their values. */
    json_t *explain;
} feat_request;

/* Forget family lifetime's weekly summaries of `schema`'s events
 * (vigil.usage_history): for whoever replaced that schema's data, as
 * `vigil demo` does. A summary is never refreshed on its own (it is keyed by
 * schema and week, not by the data), so it would describe the old events.
 * Nothing to do when vigil's schema is not there yet. */
vg_code feat_history_forget(db_conn *db, const char *schema, vg_error *err);

/* Build the matrix for every customer active on each requested date.
 * Counts of skipped or repaired source rows are added to `stats` (a JSON
 * object, may be NULL). The caller owns *out (feat_matrix_free). */
vg_code feat_build(db_conn *db, const vg_config *cfg, const feat_spec *spec,
                   const feat_request *req, const vg_log *lg, feat_matrix **out,
                   json_t *stats, vg_error *err);
void feat_matrix_free(feat_matrix *m);

/* The same matrix for one date, unsampled, in chunks of about `chunk`
 * customers, so memory does not grow with the number of customers: every
 * query is ordered by customer_id, read as it arrives and merged. Each
 * query runs as a COPY on a session of its own that imports the snapshot
 * of db's transaction (so PostgreSQL may give it parallel workers), or, as
 * configured (features.stream_read) and on a sharded source, as a cursor
 * on db read block by block. Must run inside a transaction (the snapshot
 * and the cursors live in it; the caller commits or rolls back).
 * feat_stream_next gives the next chunk's rows in customer-id order, *out NULL
 * at the end; skipped-row counts go into `stats` once the last chunk is read.
 * The rows are those of feat_build. */
typedef struct feat_stream feat_stream;
vg_code feat_stream_open(db_conn *db, const vg_config *cfg,
                         const feat_spec *spec, const feat_request *req,
                         const vg_log *lg, size_t chunk, json_t *stats,
                         feat_stream **out, vg_error *err);
/* The same for one hash slice of the customers: those whose id hashes to
 * `slice` of `nslices` (a NULL id is in slice 0). Every query filters on
 * it, so a run can read one slice while it scores the previous one; the
 * slices of one snapshot partition the customers. */
vg_code feat_stream_open_slice(db_conn *db, const vg_config *cfg,
                               const feat_spec *spec, const feat_request *req,
                               int slice, int nslices, const vg_log *lg,
                               size_t chunk, json_t *stats, feat_stream **out,
                               vg_error *err);
vg_code feat_stream_next(feat_stream *st, feat_matrix **out, vg_error *err);
/* The source's activity per day over the FRESH_WINDOW_DAYS days before
 * the stream's date (core/freshness.h): per day, customers with a usable
 * usage event that day (the active-days mask the usage query computes
 * anyway) plus tickets opened that day, every customer id counted, known or
 * not. Complete once feat_stream_next has returned the end; for a slice,
 * that slice's share. *n days from day *from; owned by the stream. */
const long *feat_stream_activity(const feat_stream *st, int *from, int *n);
/* "copy" or "cursor": how this stream reads its queries. */
const char *feat_stream_read_mode(const feat_stream *st);
/* From another thread: cancel the queries a feat_stream_next may be waiting
 * on, so it returns (with an error) soon. */
void feat_stream_cancel(feat_stream *st);
void feat_stream_close(feat_stream *st);

/* CSV in pieces, for the stream: the header once (customer_id, as_of, then
 * one column per feature), then the rows of each chunk. */
void feat_write_csv_header(const feat_spec *s, size_t ncols, FILE *out);
vg_code feat_write_csv_rows(const feat_matrix *m, FILE *out, vg_error *err);

#endif
