/* cfg.h — vigil's configuration: one JSON file parsed into a plain struct.
 * Every key is listed once in cfg.c's table (name, type, default, range), so
 * an unknown key or a wrong type is an error that names the key and file. */
#ifndef VG_CFG_H
#define VG_CFG_H

#include "err.h"
#include "log.h"

#define CFG_STR 256
#define CFG_MAX_LIST 32

typedef struct vg_config {
    char path[CFG_STR]; /* file it came from, "" for defaults */

    /* source.* — where the company's three relations live */
    char source_schema[CFG_STR];

    /* log.* */
    log_level log_level;
    int log_json;

    /* features.* */
    int feat_max_event_types;    /* most frequent event types kept */
    int feat_max_categories;     /* levels kept per categorical column */
    int feat_max_topics;         /* ticket topics that become features */
    char feat_work_mem[CFG_STR]; /* PostgreSQL work_mem for the aggregations */
    int feat_exclude_n;          /* customer columns never used */
    char feat_exclude[CFG_MAX_LIST][CFG_STR];

    /* train.* */
    int train_horizon_days;
    int train_lookback_days;
    int train_step_days;
    int train_max_rows; /* cap on rows XGBoost sees */
    int train_min_rows;
    int train_min_positives;
    int train_search; /* small hyper-parameter search */
    int train_nthread;
    int train_seed;

    /* score.* */
    int score_drivers; /* reasons kept per customer */
    double tier_watch, tier_at_risk, tier_critical; /* churn_risk cut-offs */

    /* topics.* — the topic engine */
    int topics_window_days, topics_refit_days, topics_k, topics_k_min,
        topics_k_max, topics_seed, topics_threads, topics_keep_models_days;
    double topics_outlier_budget, topics_match_threshold;

    /* trend.* — trend alerts */
    int trend_window_days, trend_baseline_days, trend_min_count, trend_new_days;
    double trend_min_ratio, trend_fdr, trend_resolve_ratio;
    int trend_min_customers, topics_backfill_days;

    /* schedule.* and http.* (used by `serve`) */
    char sched_timezone[CFG_STR];
    char sched_daily[CFG_STR];
    char sched_topics[CFG_STR];
    char sched_train[CFG_STR];
    char sched_deliver[CFG_STR]; /* "" = not scheduled (the default) */
    char http_listen[CFG_STR];
    char http_token[CFG_STR];
    /* serve's catch-up, retries and shutdown */
    int sched_catch_up;      /* 1 "latest", 0 "none" */
    int sched_catch_up_days; /* how far back a missed run is looked for */
    int serve_stop_timeout;  /* seconds a job gets to stop on SIGTERM */
    int serve_max_retries;   /* retries after transient database errors */
    int serve_sweep_seconds; /* how often abandoned runs are looked for */
} vg_config;

void cfg_defaults(vg_config *c);
/* Load `path` over the defaults. Unknown keys, wrong types and values out of
 * range fail with VG_ECONFIG and a message naming the key and the file. */
vg_code cfg_load(vg_config *c, const char *path, vg_error *err);
/* Same, from a JSON text (tests; `origin` names it in messages). */
vg_code cfg_load_string(vg_config *c, const char *json, const char *origin,
                        vg_error *err);
/* Markdown table of every key, its type, default and meaning (for docs). */
void cfg_print_keys(FILE *out);

#endif
