/* spec.h — internal layout of a feat_spec, shared by spec.c and build.c only.
 * Callers outside features/ see the opaque type in feat.h. */
#ifndef VG_FEAT_SPEC_H
#define VG_FEAT_SPEC_H

#include "feat.h"

#define FEAT_NWIN 3 /* 7, 30, 90 days */
/* days_since_last_activity (and family recency's days since each type) is
 * capped here: only the 90-day window before the date counts. Events older
 * than that can be read for other reasons (an earlier date of the same
 * request, the lifetime history, the history cache's week); they are
 * ignored, so a row's value does not depend on what else was read. */
#define FEAT_DAYS_SINCE_WINDOW 90.0
#define FEAT_DAYS_SINCE_CAP 91.0

typedef enum {
    ATTR_NUMERIC,
    ATTR_BOOLEAN,
    ATTR_DATE,
    ATTR_CATEGORICAL
} attr_kind;

typedef struct attr_def {
    char *column; /* source column name */
    char *prefix; /* "account.plan" or "attr.industry" */
    attr_kind kind;
    int nlevels;
    char **levels; /* categorical only */
    int col;       /* first matrix column */
} attr_def;

/* Optional feature families (config key features.families), one bit each;
 * a model's spec keeps the set it was trained with. The order is that of
 * feat_family_names. */
enum {
    FEAT_FAM_LONG = 1 << 0,        /* events and active days, 180/365 days */
    FEAT_FAM_TYPE_TRENDS = 1 << 1, /* per type: 30 days vs the 30 before */
    FEAT_FAM_RECENCY = 1 << 2,     /* per type: days since the last one */
    FEAT_FAM_USERS = 1 << 3,       /* active users: 30 days vs the 30 before */
    FEAT_FAM_TICKET_TRENDS = 1 << 4, /* tickets and ratings, 30 vs before */
    FEAT_FAM_TENURE = 1 << 5,   /* days to the yearly/monthly anniversary */
    FEAT_FAM_LIFETIME = 1 << 6, /* whole history: totals, uncapped recency */
    FEAT_NFAM = 7
};
extern const char *const feat_family_names[FEAT_NFAM];

/* Matrix column of every computed feature, -1 when not present. */
typedef struct feat_cols {
    int ev_total[FEAT_NWIN], ev_total_prev30;
    int act_days[FEAT_NWIN], act_days_prev30;
    int users7, users30, seat_util30;
    int slope12w, ratio30, days_since_activity;
    int *ev_type; /* ntypes x FEAT_NWIN */
    int tenure, mrr, seats;
    int t_count30, t_count90, t_prio90[4], t_open, t_awaiting;
    int t_frt_med, t_res_med, t_reopens, t_escal, t_csat_mean, t_csat_min,
        t_csat_n, t_days_since;
    int t_topic0; /* first of ntopics topic-share columns, -1 if none */
    /* optional families; -1 (or NULL) when the family is off */
    int ev_total_long[2], act_days_long[2]; /* 180, 365 days */
    int *ev_type_prev30, *ev_type_ratio;    /* ntypes each */
    int *type_since;                        /* ntypes */
    int users_prev30, users_ratio;
    int t_count_prev30, t_csat_mean30, t_csat_change;
    int anniv_year, anniv_month;
    int life_total, life_count, life_rate, life_since;
    int *ev_type_life; /* ntypes */
} feat_cols;

struct feat_spec {
    unsigned families; /* FEAT_FAM_* bits */
    int ntypes;
    char **types;
    int nattrs;
    attr_def *attrs;
    int ntopics;          /* topics whose share of tickets is a feature */
    long long *topic_ids; /* vigil.topics ids (stable across refits) */
    char **topic_labels;  /* their labels when chosen, for the phrases */
    size_t ncols;
    feat_info *info;
    char **names;   /* owned strings behind info[].name */
    char **phrases; /* owned strings behind info[].phrase */
    feat_cols c;
};

extern const int feat_windows[FEAT_NWIN];
extern const char *const feat_priorities[4];

/* Build names, phrases and column indices from types and attrs. */
vg_code feat_spec_layout(feat_spec *s, vg_error *err);

#endif
