/* cfg.h — vigil's configuration: one JSON file parsed into a plain struct.
 * Every key is listed once in cfg.c's table (name, type, default, range), so
 * an unknown key or a wrong type is an error that names the key and file. */
#ifndef VG_CFG_H
#define VG_CFG_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"
#include "log.h"

#define CFG_STR 256
#define CFG_MAX_LIST 32
/* The optional feature families (features/spec.c computes them) and the ones
 * on by default: only those that helped across the demo worlds and the real
 * data in bench/churn_ablation.sh and bench/churn_real.sh, hurting none by
 * more than the paired noise (docs/BENCHMARKS.md, "Feature families:
 * ablation", "Sixth session"): lifetime alone so far. */
#define CFG_FEAT_FAMILIES                                                      \
    "long_windows|type_trends|recency|users|ticket_trends|tenure|lifetime"
#define CFG_FEAT_FAMILIES_DEFAULT "[\"lifetime\"]"
/* features.families_choice: "always" keeps every family listed; "auto" lets
 * train keep each one only where the select stage's purged held-out loss
 * is lower with it. "always" by default: "auto" lost on average on the
 * demo worlds at 3,000 customers and was level at 10,000, for ~30 % more
 * train CPU (docs/BENCHMARKS.md, "Seventh session"). */
#define CFG_FEAT_FAMILIES_CHOICE_DEFAULT "\"always\""
/* train.step_choice: "fixed" trains on every observation date; "auto" lets
 * train choose between them and an about monthly subset of them on the
 * select stage's purged holdout; "monthly" always takes the subset
 * (docs/BENCHMARKS.md, "Eighth session"); "blend" fits both and scores
 * with the mean of their margins ("Ninth session"). */
#define CFG_TRAIN_STEP_CHOICE_DEFAULT "\"fixed\""
/* train.step_choice, in the order of its choices */
enum { CFG_STEP_FIXED, CFG_STEP_AUTO, CFG_STEP_MONTHLY, CFG_STEP_BLEND };
/* features.stream_read, in the order of its choices */
enum { CFG_STREAM_READ_AUTO, CFG_STREAM_READ_COPY, CFG_STREAM_READ_CURSOR };

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
    int feat_stream_read; /* CFG_STREAM_READ_*: how streams read the queries */
    int feat_exclude_n;   /* customer columns never used */
    char feat_exclude[CFG_MAX_LIST][CFG_STR];
    int feat_history_cache; /* lifetime: reuse vigil.usage_history */
    int feat_families_n;    /* optional feature families switched on */
    char feat_families[CFG_MAX_LIST][CFG_STR];
    int feat_families_auto; /* families_choice: 0 always, 1 auto */

    /* train.* */
    int train_horizon_days;
    int train_lookback_days;
    int train_step_days;
    int train_step_choice;       /* CFG_STEP_* */
    int train_recency_half_life; /* days; 0 = every date weighs the same */
    int train_bag;      /* tree models averaged, each with its own seed */
    int train_max_rows; /* cap on rows XGBoost sees */
    int train_min_rows;
    int train_min_positives;
    int train_search; /* small hyper-parameter search */
    int train_nthread;
    int train_seed;

    /* score.* */
    int score_drivers; /* reasons kept per customer */
    int score_slices;  /* customer hash slices read in turn (overlap) */
    double tier_watch, tier_at_risk, tier_critical; /* churn_risk cut-offs */

    /* topics.* — the topic engine */
    int topics_window_days, topics_refit_days, topics_k, topics_k_min,
        topics_k_max, topics_seed, topics_threads, topics_keep_models_days;
    double topics_outlier_budget, topics_match_threshold;

    /* trend.* — trend alerts */
    int trend_window_days, trend_baseline_days, trend_min_count, trend_new_days;
    double trend_min_ratio, trend_fdr, trend_resolve_ratio;
    int trend_min_customers, topics_backfill_days;
    double trend_max_p, trend_topic_max_p;

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
    /* statement_timeout of a job's session, seconds (0: none) */
    int db_statement_timeout, db_train_statement_timeout;
} vg_config;

/* A key table: each key's name, type, place, range, default and meaning,
 * written once. core's table covers vg_config; a module above core that owns
 * a section of the file (deliver/ owns `notify` and `rt`) declares a table
 * of its own over its own struct and loads it with cfg_table_apply, so every
 * key gets the same checks, messages and documentation. */
typedef enum {
    CFG_INT,     /* int, within [min, max] */
    CFG_DOUBLE,  /* double, within [min, max] */
    CFG_STRING,  /* non-empty char[CFG_STR] */
    CFG_STRNULL, /* char[CFG_STR]; JSON null reads as "" */
    CFG_BOOL,    /* int 0/1 */
    CFG_LEVEL,   /* log_level */
    CFG_CHOICE,  /* one of `choices` ("a|b|c") into an int index */
    CFG_STRLIST  /* char[CFG_MAX_LIST][CFG_STR], count at count_offset */
} cfg_type;

typedef struct cfg_key {
    const char *name; /* dotted path, e.g. "notify.webhook.url" */
    cfg_type type;
    size_t offset; /* of the field in the table's struct */
    double min, max;
    const char *dflt; /* for documentation */
    const char *help;
    const char *choices; /* CFG_CHOICE; CFG_STRLIST: allowed items, or NULL */
    size_t count_offset; /* CFG_STRLIST */
} cfg_key;

void cfg_defaults(vg_config *c);
/* Load `path` over the defaults. Unknown keys, wrong types and values out of
 * range fail with VG_ECONFIG and a message naming the key and the file. */
vg_code cfg_load(vg_config *c, const char *path, vg_error *err);
/* Same, from a JSON text (tests; `origin` names it in messages). */
vg_code cfg_load_string(vg_config *c, const char *json, const char *origin,
                        vg_error *err);
/* Apply table `t` (n keys) to the struct at `obj` from a parsed file: keys
 * under the table's sections are checked and set, other top-level sections
 * are left to their owners. Errors name the key and `origin` (the file). */
vg_code cfg_table_apply(const cfg_key *t, size_t n, void *obj, json_t *root,
                        const char *origin, vg_error *err);
/* Parse a config file into *root (the caller decrefs it). A missing or
 * unreadable file and a JSON syntax error fail with VG_ECONFIG naming it. */
vg_code cfg_read_file(const char *path, json_t **root, vg_error *err);
/* The candidate nearest to a misspelt `word` (a few edits away, adjacent
 * swaps included), or NULL: for "did you mean" in config errors. */
const char *cfg_closest(const char *word, const char *const *candidates,
                        size_t n);
/* Markdown rows (no header) of a table's keys. */
void cfg_table_print(const cfg_key *t, size_t n, FILE *out);
/* Markdown table of every key, its type, default and meaning (for docs). */
void cfg_print_keys(FILE *out);

#endif
