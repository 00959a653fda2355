/* cfg.c — the key table and the JSON walk that checks a config against it.
 * Parse first, then validate ranges, so the error names the offending key. */
#include "cfg.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef enum {
    K_INT,
    K_DOUBLE,
    K_STRING,
    K_BOOL,
    K_LEVEL,
    K_FORMAT,
    K_STRLIST,
    K_STRNULL,
    K_CATCHUP /* "latest" or "none" into an int */
} key_type;

typedef struct cfg_key {
    const char *name; /* dotted path */
    key_type type;
    size_t offset;
    double min, max;  /* numeric range */
    const char *dflt; /* for documentation */
    const char *help;
} cfg_key;

#define OFF(f) offsetof(vg_config, f)
static const cfg_key keys[] = {
    {"source.schema", K_STRING, OFF(source_schema), 0, 0, "\"public\"",
     "schema holding customers, usage_events, tickets"},
    {"log.level", K_LEVEL, OFF(log_level), 0, 0, "\"info\"",
     "debug, info, warn, error or off"},
    {"log.format", K_FORMAT, OFF(log_json), 0, 0, "\"text\"",
     "text or json (one object per line)"},
    {"features.max_event_types", K_INT, OFF(feat_max_event_types), 1, 64, "12",
     "most frequent event types that get their own features"},
    {"features.max_topics", K_INT, OFF(feat_max_topics), 0, 100, "8",
     "ticket topics (vigil topics) whose share of a customer's tickets "
     "becomes a feature; 0: none"},
    {"features.max_categories", K_INT, OFF(feat_max_categories), 1, 200, "20",
     "levels kept per categorical customer column (the rest are 'other')"},
    {"features.work_mem", K_STRING, OFF(feat_work_mem), 0, 0, "\"512MB\"",
     "PostgreSQL work_mem for vigil's aggregation queries (hash tables stay in "
     "memory)"},
    {"features.exclude", K_STRLIST, OFF(feat_exclude), 0, 0, "[]",
     "customer columns never used as features (e.g. ones updated at "
     "cancellation)"},
    {"train.horizon_days", K_INT, OFF(train_horizon_days), 1, 730, "30",
     "churn horizon H in days"},
    {"train.lookback_days", K_INT, OFF(train_lookback_days), 0, 3650, "180",
     "span of observation dates before D - H"},
    {"train.step_days", K_INT, OFF(train_step_days), 1, 365, "7",
     "days between observation dates"},
    {"train.max_rows", K_INT, OFF(train_max_rows), 1000, 50000000, "250000",
     "cap on training rows; negatives are sampled with weights above it"},
    {"train.min_rows", K_INT, OFF(train_min_rows), 10, 100000000, "200",
     "fewer labelled rows than this is an error"},
    {"train.min_positives", K_INT, OFF(train_min_positives), 1, 100000000, "10",
     "fewer churned rows than this is an error"},
    {"train.search", K_BOOL, OFF(train_search), 0, 0, "true",
     "try a few regularisation settings and keep the best on held-out rows"},
    {"train.nthread", K_INT, OFF(train_nthread), 1, 256, "2",
     "XGBoost threads"},
    {"train.seed", K_INT, OFF(train_seed), 0, 2147483647, "42",
     "seed for sampling and XGBoost"},
    {"score.drivers", K_INT, OFF(score_drivers), 0, 10, "3",
     "reasons written per customer"},
    {"score.tiers.watch", K_DOUBLE, OFF(tier_watch), 0, 1, "0.10",
     "churn_risk from which a customer is 'watch'"},
    {"score.tiers.at_risk", K_DOUBLE, OFF(tier_at_risk), 0, 1, "0.25",
     "churn_risk from which a customer is 'at_risk'"},
    {"score.tiers.critical", K_DOUBLE, OFF(tier_critical), 0, 1, "0.50",
     "churn_risk from which a customer is 'critical'"},
    {"topics.window_days", K_INT, OFF(topics_window_days), 7, 730, "90",
     "days of tickets before the as-of date that topics are fitted on"},
    {"topics.refit_days", K_INT, OFF(topics_refit_days), 1, 365, "1",
     "re-cluster when the latest topic model is this many days old"},
    {"topics.k", K_INT, OFF(topics_k), 0, 500, "0",
     "fixed number of topics; 0 chooses it in [k_min, k_max]"},
    {"topics.k_min", K_INT, OFF(topics_k_min), 2, 500, "8",
     "fewest topics when choosing automatically"},
    {"topics.k_max", K_INT, OFF(topics_k_max), 2, 500, "40",
     "most topics when choosing automatically"},
    {"topics.outlier_budget", K_DOUBLE, OFF(topics_outlier_budget), 0, 0.9,
     "0.10", "largest share of tickets left without a topic"},
    {"topics.match_threshold", K_DOUBLE, OFF(topics_match_threshold), 0.05,
     0.99, "0.5", "centroid cosine from which a refitted topic keeps its id"},
    {"topics.keep_models_days", K_INT, OFF(topics_keep_models_days), 1, 3650,
     "90", "days of stored topic models kept (replays within them are exact)"},
    {"topics.seed", K_INT, OFF(topics_seed), 0, 2147483647, "42",
     "seed of the clustering"},
    {"topics.threads", K_INT, OFF(topics_threads), 1, 64, "2",
     "threads for tokenising and clustering"},
    {"trend.window_days", K_INT, OFF(trend_window_days), 1, 14, "3",
     "recent days a trend alert tests"},
    {"trend.baseline_days", K_INT, OFF(trend_baseline_days), 7, 180, "28",
     "trailing days the expected count comes from"},
    {"trend.min_count", K_INT, OFF(trend_min_count), 1, 100000, "6",
     "fewest tickets in the window for an alert"},
    {"trend.min_ratio", K_DOUBLE, OFF(trend_min_ratio), 1, 100, "1.5",
     "smallest observed/expected ratio for an alert"},
    {"trend.fdr", K_DOUBLE, OFF(trend_fdr), 0.000001, 0.5, "0.01",
     "false-discovery rate across topics (Benjamini-Hochberg)"},
    {"trend.resolve_ratio", K_DOUBLE, OFF(trend_resolve_ratio), 1, 100, "1.2",
     "an alert resolves when the window's observed/expected falls below"},
    {"trend.new_days", K_INT, OFF(trend_new_days), 1, 90, "14",
     "a topic first seen this recently with no history alerts as 'new'"},
    {"trend.min_customers", K_INT, OFF(trend_min_customers), 1, 100000, "5",
     "fewest distinct customers behind a new-issue alert (bursting words)"},
    {"topics.backfill_days", K_INT, OFF(topics_backfill_days), 0, 365, "60",
     "days of alert history the first topics run builds (0: none)"},
    {"schedule.timezone", K_STRING, OFF(sched_timezone), 0, 0, "\"UTC\"",
     "time zone of the cron schedules"},
    {"schedule.daily", K_STRNULL, OFF(sched_daily), 0, 0, "\"0 3 * * *\"",
     "cron schedule of the daily job (null: never)"},
    {"schedule.topics", K_STRNULL, OFF(sched_topics), 0, 0, "\"0 * * * *\"",
     "cron schedule of incremental topics (null: never)"},
    {"schedule.train", K_STRNULL, OFF(sched_train), 0, 0, "\"0 4 * * 0\"",
     "cron schedule of training (null: never)"},
    {"schedule.deliver", K_STRNULL, OFF(sched_deliver), 0, 0, "null",
     "cron schedule of `vigil deliver` (webhook and Request Tracker), e.g. "
     "\"* * * * *\" once notify.webhook.url or rt.url is set (null: never)"},
    {"schedule.catch_up", K_CATCHUP, OFF(sched_catch_up), 0, 0, "\"latest\"",
     "after downtime, run a job's latest missed scheduled time once "
     "(\"latest\") or not at all (\"none\")"},
    {"schedule.catch_up_days", K_INT, OFF(sched_catch_up_days), 1, 366, "7",
     "how far back serve looks for a missed or abandoned scheduled run"},
    {"serve.stop_timeout", K_INT, OFF(serve_stop_timeout), 0, 3600, "30",
     "seconds a running job gets after SIGTERM before it is killed"},
    {"serve.max_retries", K_INT, OFF(serve_max_retries), 0, 100, "5",
     "retries (1 s, 2 s, 4 s ... up to 5 min apart) of a job that failed on "
     "an unavailable database"},
    {"serve.sweep_seconds", K_INT, OFF(serve_sweep_seconds), 1, 3600, "15",
     "how often serve looks for runs whose process died"},
    {"http.listen", K_STRING, OFF(http_listen), 0, 0, "\"127.0.0.1:8470\"",
     "address of serve's HTTP listener"},
    {"http.token", K_STRNULL, OFF(http_token), 0, 0, "null",
     "bearer token required by the HTTP endpoints"},
};
#undef OFF
#define NKEYS (sizeof keys / sizeof keys[0])

void cfg_defaults(vg_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->source_schema, CFG_STR, "public");
    c->log_level = LOG_LVL_INFO;
    c->feat_max_event_types = 12;
    c->feat_max_categories = 20;
    c->feat_max_topics = 8;
    snprintf(c->feat_work_mem, CFG_STR, "512MB");
    c->train_horizon_days = 30;
    c->train_lookback_days = 180;
    c->train_step_days = 7;
    c->train_max_rows = 250000;
    c->train_min_rows = 200;
    c->train_min_positives = 10;
    c->train_search = 1;
    c->train_nthread = 2;
    c->train_seed = 42;
    c->score_drivers = 3;
    c->tier_watch = 0.10;
    c->tier_at_risk = 0.25;
    c->tier_critical = 0.50;
    c->topics_window_days = 90;
    c->topics_refit_days = 1;
    c->topics_k_min = 8;
    c->topics_k_max = 40;
    c->topics_outlier_budget = 0.10;
    c->topics_match_threshold = 0.5;
    c->topics_seed = 42;
    c->topics_keep_models_days = 90;
    c->topics_threads = 2;
    c->trend_window_days = 3;
    c->trend_baseline_days = 28;
    c->trend_min_count = 6;
    c->trend_min_ratio = 1.5;
    c->trend_fdr = 0.01;
    c->trend_resolve_ratio = 1.2;
    c->trend_new_days = 14;
    c->trend_min_customers = 5;
    c->topics_backfill_days = 60;
    snprintf(c->sched_timezone, CFG_STR, "UTC");
    snprintf(c->sched_daily, CFG_STR, "0 3 * * *");
    snprintf(c->sched_topics, CFG_STR, "0 * * * *");
    snprintf(c->sched_train, CFG_STR, "0 4 * * 0");
    snprintf(c->http_listen, CFG_STR, "127.0.0.1:8470");
    c->sched_catch_up = 1;
    c->sched_catch_up_days = 7;
    c->serve_stop_timeout = 30;
    c->serve_max_retries = 5;
    c->serve_sweep_seconds = 15;
}

static const cfg_key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

/* Is `prefix` a section (a proper prefix of some key at a dot boundary)? */
static int is_section(const char *prefix)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; i < NKEYS; i++)
        if (strncmp(keys[i].name, prefix, n) == 0 && keys[i].name[n] == '.')
            return 1;
    return 0;
}

static vg_code set_key(vg_config *c, const cfg_key *k, json_t *v,
                       const char *origin, vg_error *err)
{
    char *base = (char *)c + k->offset;
    switch (k->type) {
    case K_INT: {
        if (!json_is_integer(v))
            return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be an integer",
                           origin, k->name);
        json_int_t x = json_integer_value(v);
        if (x < k->min || x > k->max)
            return vg_fail(
                err, VG_ECONFIG,
                "%s: key '%s' must be between %.0f and %.0f (got %lld)", origin,
                k->name, k->min, k->max, (long long)x);
        *(int *)base = (int)x;
        return VG_OK;
    }
    case K_DOUBLE: {
        if (!json_is_number(v))
            return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be a number",
                           origin, k->name);
        double x = json_number_value(v);
        if (!(x >= k->min && x <= k->max))
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' must be between %g and %g (got %g)",
                           origin, k->name, k->min, k->max, x);
        *(double *)base = x;
        return VG_OK;
    }
    case K_BOOL:
        if (!json_is_boolean(v))
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' must be true or false", origin,
                           k->name);
        *(int *)base = json_is_true(v);
        return VG_OK;
    case K_STRNULL:
        if (json_is_null(v)) {
            base[0] = '\0';
            return VG_OK;
        }
        /* fall through */
    case K_STRING: {
        if (!json_is_string(v))
            return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be a string",
                           origin, k->name);
        const char *s = json_string_value(v);
        if (strlen(s) >= CFG_STR || (k->type == K_STRING && !*s))
            return vg_fail(
                err, VG_ECONFIG,
                "%s: key '%s' must be a non-empty string under %d bytes",
                origin, k->name, CFG_STR);
        snprintf(base, CFG_STR, "%s", s);
        return VG_OK;
    }
    case K_LEVEL: {
        log_level lvl;
        if (!json_is_string(v) ||
            log_level_parse(json_string_value(v), &lvl) != 0)
            return vg_fail(
                err, VG_ECONFIG,
                "%s: key '%s' must be one of debug, info, warn, error, off",
                origin, k->name);
        *(log_level *)base = lvl;
        return VG_OK;
    }
    case K_FORMAT: {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "text") != 0 && strcmp(s, "json") != 0)
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' must be \"text\" or \"json\"", origin,
                           k->name);
        *(int *)base = strcmp(s, "json") == 0;
        return VG_OK;
    }
    case K_CATCHUP: {
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        if (strcmp(s, "latest") != 0 && strcmp(s, "none") != 0)
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' must be \"latest\" or \"none\"",
                           origin, k->name);
        *(int *)base = strcmp(s, "latest") == 0;
        return VG_OK;
    }
    case K_STRLIST: {
        if (!json_is_array(v) || json_array_size(v) > CFG_MAX_LIST)
            return vg_fail(
                err, VG_ECONFIG,
                "%s: key '%s' must be an array of at most %d strings", origin,
                k->name, CFG_MAX_LIST);
        size_t i;
        json_t *e;
        c->feat_exclude_n = 0;
        json_array_foreach(v, i, e)
        {
            if (!json_is_string(e) || strlen(json_string_value(e)) >= CFG_STR)
                return vg_fail(err, VG_ECONFIG,
                               "%s: key '%s' item %zu must be a string", origin,
                               k->name, i);
            snprintf(c->feat_exclude[c->feat_exclude_n++], CFG_STR, "%s",
                     json_string_value(e));
        }
        return VG_OK;
    }
    }
    return vg_fail(err, VG_EINTERNAL, "config key type");
}

/* Top-level sections another module reads and checks itself, because they
 * hold lists of objects the key table cannot describe: outreach/playbook.c
 * owns `outreach`, `notify` and `rt`. */
static int is_delegated(const char *path)
{
    static const char *const owned[] = {"outreach", "notify", "rt"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcmp(path, owned[i]) == 0)
            return 1;
    return 0;
}

static vg_code walk(vg_config *c, json_t *obj, const char *prefix,
                    const char *origin, vg_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        const cfg_key *k = find_key(path);
        vg_code rc;
        if (k)
            rc = set_key(c, k, v, origin, err);
        else if (!*prefix && is_delegated(path))
            rc = VG_OK;
        else if (is_section(path) && json_is_object(v))
            rc = walk(c, v, path, origin, err);
        else if (is_section(path))
            rc = vg_fail(err, VG_ECONFIG, "%s: key '%s' must be an object",
                         origin, path);
        else
            rc = vg_fail(
                err, VG_ECONFIG,
                "%s: unknown key '%s' (see README, section Configuration)",
                origin, path);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

static vg_code validate(const vg_config *c, const char *origin, vg_error *err)
{
    if (!(c->tier_watch <= c->tier_at_risk &&
          c->tier_at_risk <= c->tier_critical))
        return vg_fail(err, VG_ECONFIG,
                       "%s: keys 'score.tiers.watch' <= 'score.tiers.at_risk' "
                       "<= 'score.tiers.critical' must hold",
                       origin);
    return VG_OK;
}

static vg_code load_json(vg_config *c, json_t *root, const char *origin,
                         vg_error *err)
{
    if (!json_is_object(root))
        return vg_fail(err, VG_ECONFIG,
                       "%s: the configuration must be a JSON object", origin);
    vg_code rc = walk(c, root, "", origin, err);
    if (rc == VG_OK)
        rc = validate(c, origin, err);
    return rc;
}

vg_code cfg_load(vg_config *c, const char *path, vg_error *err)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return vg_fail(err, VG_ECONFIG, "%s:%d:%d: %s", path, je.line,
                       je.column, je.text);
    vg_code rc = load_json(c, root, path, err);
    json_decref(root);
    if (rc == VG_OK)
        snprintf(c->path, CFG_STR, "%s", path);
    return rc;
}

vg_code cfg_load_string(vg_config *c, const char *text, const char *origin,
                        vg_error *err)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return vg_fail(err, VG_ECONFIG, "%s:%d:%d: %s", origin, je.line,
                       je.column, je.text);
    vg_code rc = load_json(c, root, origin, err);
    json_decref(root);
    return rc;
}

void cfg_print_keys(FILE *out)
{
    fprintf(out, "| key | default | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(out, "| `%s` | `%s` | %s |\n", keys[i].name, keys[i].dflt,
                keys[i].help);
}
