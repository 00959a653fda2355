/* cfg.c — the key table and the JSON walk that checks a config against it.
 * Parse first, then validate ranges, so the error names the offending key. */
#include "cfg.h"

#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(f) offsetof(vg_config, f)
static const cfg_key keys[] = {
    {"source.schema", CFG_STRING, OFF(source_schema), 0, 0, "\"public\"",
     "schema holding customers, usage_events, tickets", NULL, 0},
    {"log.level", CFG_LEVEL, OFF(log_level), 0, 0, "\"info\"",
     "debug, info, warn, error or off", NULL, 0},
    {"log.format", CFG_CHOICE, OFF(log_json), 0, 0, "\"text\"",
     "text or json (one object per line)", "text|json", 0},
    {"features.max_event_types", CFG_INT, OFF(feat_max_event_types), 1, 64,
     "12", "most frequent event types that get their own features", NULL, 0},
    {"features.max_topics", CFG_INT, OFF(feat_max_topics), 0, 100, "8",
     "ticket topics (vigil topics) whose share of a customer's tickets "
     "becomes a feature; 0: none",
     NULL, 0},
    {"features.max_categories", CFG_INT, OFF(feat_max_categories), 1, 200, "20",
     "levels kept per categorical customer column (the rest are 'other')", NULL,
     0},
    {"features.work_mem", CFG_STRING, OFF(feat_work_mem), 0, 0, "\"512MB\"",
     "PostgreSQL work_mem for vigil's aggregation queries (hash tables stay in "
     "memory)",
     NULL, 0},
    {"features.stream_read", CFG_CHOICE, OFF(feat_stream_read), 0, 0,
     "\"auto\"",
     "how score and features --out read their queries: copy (COPY on a "
     "session per query, one shared snapshot, parallel plans allowed), "
     "cursor (cursors on one session), auto (copy, or cursor on a sharded "
     "source)",
     "auto|copy|cursor", 0},
    {"features.exclude", CFG_STRLIST, OFF(feat_exclude), 0, 0, "[]",
     "customer columns never used as features (e.g. ones updated at "
     "cancellation)",
     NULL, OFF(feat_exclude_n)},
    {"features.history_cache", CFG_BOOL, OFF(feat_history_cache), 0, 0, "true",
     "family lifetime: keep a weekly summary of the events before the "
     "windows in vigil.usage_history instead of reading the whole history "
     "on every run",
     NULL, 0},
    {"features.families", CFG_STRLIST, OFF(feat_families), 0, 0,
     CFG_FEAT_FAMILIES_DEFAULT,
     "optional feature families computed besides the core ones (README, "
     "\"Features\"); [] keeps the core only",
     CFG_FEAT_FAMILIES, OFF(feat_families_n)},
    {"features.families_choice", CFG_CHOICE, OFF(feat_families_auto), 0, 0,
     CFG_FEAT_FAMILIES_CHOICE_DEFAULT,
     "always: train keeps every family of features.families; auto: train "
     "keeps each one only where the model's purged held-out log loss is "
     "lower with it",
     "always|auto", 0},
    {"train.horizon_days", CFG_INT, OFF(train_horizon_days), 1, 730, "30",
     "churn horizon H in days", NULL, 0},
    {"train.lookback_days", CFG_INT, OFF(train_lookback_days), 0, 3650, "180",
     "span of observation dates before D - H", NULL, 0},
    {"train.step_days", CFG_INT, OFF(train_step_days), 1, 365, "7",
     "days between observation dates", NULL, 0},
    {"train.step_choice", CFG_CHOICE, OFF(train_step_choice), 0, 0,
     CFG_TRAIN_STEP_CHOICE_DEFAULT,
     "fixed: train on every observation date; auto: train also tries about "
     "monthly dates and keeps the step with the lower purged held-out log "
     "loss; monthly: always the about monthly dates; blend: both, scoring "
     "with the mean of their margins",
     "fixed|auto|monthly|blend", 0},
    {"train.recency_half_life_days", CFG_INT, OFF(train_recency_half_life), 0,
     3650, "0",
     "observation dates weigh half as much per this many days before the "
     "newest fitted one (0: every date the same)",
     NULL, 0},
    {"train.bag", CFG_INT, OFF(train_bag), 1, 8, "1",
     "tree models fitted with different seeds (their rows and columns "
     "subsampled differently) and scored by the mean of their margins, in "
     "the validate and final stages and for the select stage's calibration",
     NULL, 0},
    {"train.max_rows", CFG_INT, OFF(train_max_rows), 1000, 50000000, "250000",
     "cap on training rows; negatives are sampled with weights above it", NULL,
     0},
    {"train.min_rows", CFG_INT, OFF(train_min_rows), 10, 100000000, "200",
     "fewer labelled rows than this is an error", NULL, 0},
    {"train.min_positives", CFG_INT, OFF(train_min_positives), 1, 100000000,
     "10", "fewer churned rows than this is an error", NULL, 0},
    {"train.search", CFG_BOOL, OFF(train_search), 0, 0, "true",
     "try a few regularisation settings and keep the best on held-out rows",
     NULL, 0},
    {"train.nthread", CFG_INT, OFF(train_nthread), 1, 256, "2",
     "XGBoost threads", NULL, 0},
    {"train.seed", CFG_INT, OFF(train_seed), 0, 2147483647, "42",
     "seed for sampling and XGBoost", NULL, 0},
    {"score.drivers", CFG_INT, OFF(score_drivers), 0, 10, "3",
     "reasons written per customer", NULL, 0},
    {"score.slices", CFG_INT, OFF(score_slices), 1, 256, "1",
     "hash slices of the customers read one after the other, so PostgreSQL "
     "aggregates one while vigil scores the previous",
     NULL, 0},
    {"score.tiers.watch", CFG_DOUBLE, OFF(tier_watch), 0, 1, "0.10",
     "churn_risk from which a customer is 'watch'", NULL, 0},
    {"score.tiers.at_risk", CFG_DOUBLE, OFF(tier_at_risk), 0, 1, "0.25",
     "churn_risk from which a customer is 'at_risk'", NULL, 0},
    {"score.tiers.critical", CFG_DOUBLE, OFF(tier_critical), 0, 1, "0.50",
     "churn_risk from which a customer is 'critical'", NULL, 0},
    {"topics.window_days", CFG_INT, OFF(topics_window_days), 7, 730, "90",
     "days of tickets before the as-of date that topics are fitted on", NULL,
     0},
    {"topics.refit_days", CFG_INT, OFF(topics_refit_days), 1, 365, "7",
     "re-cluster when the latest topic model is this many days old (new "
     "tickets are assigned to it in between)",
     NULL, 0},
    {"topics.k", CFG_INT, OFF(topics_k), 0, 500, "0",
     "fixed number of topics; 0 chooses it in [k_min, k_max]", NULL, 0},
    {"topics.k_min", CFG_INT, OFF(topics_k_min), 2, 500, "8",
     "fewest topics when choosing automatically", NULL, 0},
    {"topics.k_max", CFG_INT, OFF(topics_k_max), 2, 500, "40",
     "most topics when choosing automatically", NULL, 0},
    {"topics.outlier_budget", CFG_DOUBLE, OFF(topics_outlier_budget), 0, 0.9,
     "0.10", "largest share of tickets left without a topic", NULL, 0},
    {"topics.match_threshold", CFG_DOUBLE, OFF(topics_match_threshold), 0.05,
     0.99, "0.5", "centroid cosine from which a refitted topic keeps its id",
     NULL, 0},
    {"topics.keep_models_days", CFG_INT, OFF(topics_keep_models_days), 1, 3650,
     "90", "days of stored topic models kept (replays within them are exact)",
     NULL, 0},
    {"topics.seed", CFG_INT, OFF(topics_seed), 0, 2147483647, "42",
     "seed of the clustering", NULL, 0},
    {"topics.threads", CFG_INT, OFF(topics_threads), 1, 64, "2",
     "threads for tokenising and clustering", NULL, 0},
    {"trend.window_days", CFG_INT, OFF(trend_window_days), 1, 14, "3",
     "recent days a trend alert tests", NULL, 0},
    {"trend.baseline_days", CFG_INT, OFF(trend_baseline_days), 7, 180, "28",
     "trailing days the expected count comes from", NULL, 0},
    {"trend.min_count", CFG_INT, OFF(trend_min_count), 1, 100000, "6",
     "fewest tickets in the window for an alert", NULL, 0},
    {"trend.min_ratio", CFG_DOUBLE, OFF(trend_min_ratio), 1, 100, "1.5",
     "smallest observed/expected ratio for an alert", NULL, 0},
    {"trend.fdr", CFG_DOUBLE, OFF(trend_fdr), 0.000001, 0.5, "0.01",
     "false-discovery rate across topics (Benjamini-Hochberg)", NULL, 0},
    {"trend.resolve_ratio", CFG_DOUBLE, OFF(trend_resolve_ratio), 1, 100, "1.2",
     "an alert resolves when the window's observed/expected falls below", NULL,
     0},
    {"trend.new_days", CFG_INT, OFF(trend_new_days), 1, 90, "14",
     "a topic first seen this recently with no history alerts as 'new'", NULL,
     0},
    {"trend.min_customers", CFG_INT, OFF(trend_min_customers), 1, 100000, "5",
     "fewest distinct customers behind a new-issue alert (bursting "
     "words)",
     NULL, 0},
    {"trend.max_p", CFG_DOUBLE, OFF(trend_max_p), 1e-30, 1, "1e-06",
     "largest p-value that raises an alert (open ones are followed "
     "regardless)",
     NULL, 0},
    {"trend.topic_max_p", CFG_DOUBLE, OFF(trend_topic_max_p), 1e-30, 1,
     "0.0001",
     "largest p-value that raises a topic alert (a spike of an existing "
     "topic or of sibling topics; the larger of this and trend.max_p)",
     NULL, 0},
    {"topics.backfill_days", CFG_INT, OFF(topics_backfill_days), 0, 365, "60",
     "days of alert history the first topics run builds (0: none)", NULL, 0},
    {"schedule.timezone", CFG_STRING, OFF(sched_timezone), 0, 0, "\"UTC\"",
     "time zone of the cron schedules", NULL, 0},
    {"schedule.daily", CFG_STRNULL, OFF(sched_daily), 0, 0, "\"0 3 * * *\"",
     "cron schedule of the daily job (null: never)", NULL, 0},
    {"schedule.topics", CFG_STRNULL, OFF(sched_topics), 0, 0, "\"0 * * * *\"",
     "cron schedule of incremental topics (null: never)", NULL, 0},
    {"schedule.train", CFG_STRNULL, OFF(sched_train), 0, 0, "\"0 4 * * 0\"",
     "cron schedule of training (null: never)", NULL, 0},
    {"schedule.deliver", CFG_STRNULL, OFF(sched_deliver), 0, 0, "null",
     "cron schedule of `vigil deliver` (webhook and Request Tracker), e.g. "
     "\"* * * * *\" once notify.webhook.url or rt.url is set (null: never)",
     NULL, 0},
    {"schedule.catch_up", CFG_CHOICE, OFF(sched_catch_up), 0, 0, "\"latest\"",
     "after downtime, run a job's latest missed scheduled time once "
     "(\"latest\") or not at all (\"none\")",
     "none|latest", 0},
    {"schedule.catch_up_days", CFG_INT, OFF(sched_catch_up_days), 1, 366, "7",
     "how far back serve looks for a missed or abandoned scheduled run", NULL,
     0},
    {"serve.stop_timeout", CFG_INT, OFF(serve_stop_timeout), 0, 3600, "30",
     "seconds a running job gets after SIGTERM before it is killed", NULL, 0},
    {"serve.max_retries", CFG_INT, OFF(serve_max_retries), 0, 100, "5",
     "retries (1 s, 2 s, 4 s ... up to 5 min apart) of a job that failed on "
     "an unavailable database",
     NULL, 0},
    {"serve.sweep_seconds", CFG_INT, OFF(serve_sweep_seconds), 1, 3600, "15",
     "how often serve looks for runs whose process died", NULL, 0},
    {"db.statement_timeout", CFG_INT, OFF(db_statement_timeout), 0, 604800,
     "1800",
     "seconds any one statement of a job may run before PostgreSQL cancels "
     "it (0: no limit); train has its own",
     NULL, 0},
    {"db.train_statement_timeout", CFG_INT, OFF(db_train_statement_timeout), 0,
     604800, "21600",
     "seconds any one statement of train may run (0: no limit)", NULL, 0},
    {"http.listen", CFG_STRING, OFF(http_listen), 0, 0, "\"127.0.0.1:8470\"",
     "address of serve's HTTP listener", NULL, 0},
    {"http.token", CFG_STRNULL, OFF(http_token), 0, 0, "null",
     "bearer token required by the HTTP endpoints", NULL, 0},
};
#undef OFF
#define NKEYS (sizeof keys / sizeof keys[0])

static vg_code set_strlist(char *obj, const cfg_key *k, json_t *v,
                           const char *origin, vg_error *err);

/* A list key's default, from the table's own documented default (one
 * truth for the code and the README). */
static void default_strlist(vg_config *c, const char *name)
{
    for (size_t i = 0; i < NKEYS; i++) {
        if (strcmp(keys[i].name, name) != 0)
            continue;
        json_t *v = json_loads(keys[i].dflt, 0, NULL);
        vg_error err;
        if (v)
            (void)set_strlist((char *)c, &keys[i], v, "defaults", &err);
        json_decref(v);
    }
}

void cfg_defaults(vg_config *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->source_schema, CFG_STR, "public");
    c->log_level = LOG_LVL_INFO;
    c->feat_max_event_types = 12;
    c->feat_max_categories = 20;
    c->feat_max_topics = 8;
    snprintf(c->feat_work_mem, CFG_STR, "512MB");
    default_strlist(c, "features.families");
    c->feat_history_cache = 1;
    c->train_horizon_days = 30;
    c->train_lookback_days = 180;
    c->train_step_days = 7;
    c->train_bag = 1;
    c->train_max_rows = 250000;
    c->train_min_rows = 200;
    c->train_min_positives = 10;
    c->train_search = 1;
    c->train_nthread = 2;
    c->train_seed = 42;
    c->score_drivers = 3;
    c->score_slices = 1;
    c->tier_watch = 0.10;
    c->tier_at_risk = 0.25;
    c->tier_critical = 0.50;
    c->topics_window_days = 90;
    c->topics_refit_days = 7;
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
    c->trend_max_p = 1e-6;
    c->trend_topic_max_p = 1e-4;
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
    c->db_statement_timeout = 1800;
    c->db_train_statement_timeout = 21600;
}

static const cfg_key *find_key(const cfg_key *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

/* Is `prefix` a section (a proper prefix of some key at a dot boundary)? */
static int is_section(const cfg_key *t, size_t n, const char *prefix)
{
    size_t len = strlen(prefix);
    for (size_t i = 0; i < n; i++)
        if (strncmp(t[i].name, prefix, len) == 0 && t[i].name[len] == '.')
            return 1;
    return 0;
}

/* Edit distance (insertions, deletions, substitutions, adjacent swaps),
 * capped: anything above `cap` is reported as cap + 1. The loader asks this
 * for every key of the table on every unknown key, so only the band of cells
 * within `cap` of the diagonal is filled (the others already exceed cap), and
 * the search stops at the first row that is all above cap. */
static size_t edit_distance(const char *a, const char *b, size_t cap)
{
    size_t na = strlen(a), nb = strlen(b);
    if (na > 64 || nb > 64 || (na > nb ? na - nb : nb - na) > cap)
        return cap + 1;
    const size_t inf = cap + 1;
    size_t d[65][65];
#define ED_AT(i, j) ((i) > (j) + cap || (j) > (i) + cap ? inf : d[i][j])
    for (size_t i = 0; i <= na; i++) {
        size_t lo = i > cap ? i - cap : 0;
        size_t hi = i + cap < nb ? i + cap : nb;
        size_t row_min = inf;
        for (size_t j = lo; j <= hi; j++) {
            size_t best;
            if (i == 0 || j == 0) {
                best = i + j;
            } else {
                best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
                if (ED_AT(i - 1, j) + 1 < best)
                    best = ED_AT(i - 1, j) + 1;
                if (ED_AT(i, j - 1) + 1 < best)
                    best = ED_AT(i, j - 1) + 1;
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
                    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < best)
                    best = d[i - 2][j - 2] + 1;
            }
            d[i][j] = best < inf ? best : inf;
            if (d[i][j] < row_min)
                row_min = d[i][j];
        }
        if (row_min > cap)
            return inf;
    }
#undef ED_AT
    return d[na][nb];
}

const char *cfg_closest(const char *word, const char *const *candidates,
                        size_t n)
{
    /* A third of the word, at most 3: "horizn_days" finds "horizon_days",
     * "k" finds nothing. */
    size_t cap = strlen(word) / 3, best = (size_t)-1;
    const char *pick = NULL;
    if (cap > 3)
        cap = 3;
    for (size_t i = 0; i < n; i++) {
        size_t dist = edit_distance(word, candidates[i], cap);
        if (dist <= cap && dist < best) {
            best = dist;
            pick = candidates[i];
        }
    }
    return pick;
}

/* The key or section of table t nearest to `path` (a misspelt key), or
 * NULL. Sections are compared at the same depth as path. */
static const char *closest_key(const cfg_key *t, size_t n, const char *path,
                               char *buf, size_t bufn)
{
    size_t depth = 0;
    for (const char *p = path; *p; p++)
        depth += *p == '.';
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    static const char *const delegated[] = {"outreach", "notify", "rt"};
    for (size_t i = 0; i < n + 3; i++) {
        /* candidate: the key cut to path's depth (a key or a section) */
        const char *name = i < n ? t[i].name : delegated[i - n];
        if (i >= n && depth > 0)
            continue;
        char cand[256];
        size_t len = 0, dots = 0;
        while (name[len] && len < sizeof cand - 1 &&
               !(name[len] == '.' && dots++ == depth))
            len++;
        memcpy(cand, name, len);
        cand[len] = '\0';
        const char *one[1] = {cand};
        if (cfg_closest(path, one, 1)) {
            size_t dd = edit_distance(path, cand, 3);
            if (dd < best_d) {
                best_d = dd;
                snprintf(buf, bufn, "%s", cand);
                best = buf;
            }
        }
    }
    return best;
}

/* A string key (CFG_STRING, or CFG_STRNULL when not null): a string that
 * fits CFG_STR, non-empty unless the key may be empty. */
static vg_code set_string(char *base, const cfg_key *k, json_t *v,
                          const char *origin, vg_error *err)
{
    if (!json_is_string(v))
        return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be a string", origin,
                       k->name);
    const char *s = json_string_value(v);
    if (strlen(s) >= CFG_STR || (k->type == CFG_STRING && !*s))
        return vg_fail(err, VG_ECONFIG,
                       "%s: key '%s' must be a non-empty string under %d bytes",
                       origin, k->name, CFG_STR);
    /* An empty token would silently turn authentication off. */
    if (!*s && strcmp(k->name, "http.token") == 0)
        return vg_fail(err, VG_ECONFIG,
                       "%s: key 'http.token' is empty: set a secret "
                       "(e.g. from `openssl rand -hex 32`), or null to "
                       "serve without authentication",
                       origin);
    snprintf(base, CFG_STR, "%s", s);
    return VG_OK;
}

/* Index of `s` in "a|b|c", or -1. */
static int choice_index(const char *choices, const char *s)
{
    size_t n = strlen(s);
    int i = 0;
    for (const char *p = choices; *p; i++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, s, n) == 0)
            return i;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static vg_code set_number(char *base, const cfg_key *k, json_t *v,
                          const char *origin, vg_error *err)
{
    if (k->type == CFG_INT) {
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
    if (!json_is_number(v))
        return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be a number", origin,
                       k->name);
    double x = json_number_value(v);
    if (!(x >= k->min && x <= k->max))
        return vg_fail(err, VG_ECONFIG,
                       "%s: key '%s' must be between %g and %g (got %g)",
                       origin, k->name, k->min, k->max, x);
    *(double *)base = x;
    return VG_OK;
}

static vg_code set_strlist(char *obj, const cfg_key *k, json_t *v,
                           const char *origin, vg_error *err)
{
    if (!json_is_array(v) || json_array_size(v) > CFG_MAX_LIST)
        return vg_fail(err, VG_ECONFIG,
                       "%s: key '%s' must be an array of at most %d strings",
                       origin, k->name, CFG_MAX_LIST);
    char(*items)[CFG_STR] = (char(*)[CFG_STR])(obj + k->offset);
    int *count = (int *)(obj + k->count_offset);
    size_t i;
    json_t *e;
    *count = 0;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || strlen(json_string_value(e)) >= CFG_STR)
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' item %zu must be a string under %d "
                           "bytes",
                           origin, k->name, i, CFG_STR);
        const char *item = json_string_value(e);
        if (k->choices && choice_index(k->choices, item) < 0)
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' item '%s' is not one of %s", origin,
                           k->name, item, k->choices);
        for (int j = 0; j < *count; j++)
            if (strcmp(items[j], item) == 0)
                return vg_fail(err, VG_ECONFIG, "%s: key '%s' lists '%s' twice",
                               origin, k->name, item);
        snprintf(items[(*count)++], CFG_STR, "%s", item);
    }
    return VG_OK;
}

static vg_code set_key(char *obj, const cfg_key *k, json_t *v,
                       const char *origin, vg_error *err)
{
    char *base = obj + k->offset;
    switch (k->type) {
    case CFG_INT:
    case CFG_DOUBLE:
        return set_number(base, k, v, origin, err);
    case CFG_BOOL:
        if (!json_is_boolean(v))
            return vg_fail(err, VG_ECONFIG,
                           "%s: key '%s' must be true or false", origin,
                           k->name);
        *(int *)base = json_is_true(v);
        return VG_OK;
    case CFG_STRNULL:
        if (json_is_null(v)) {
            base[0] = '\0';
            return VG_OK;
        }
        /* fall through */
    case CFG_STRING:
        return set_string(base, k, v, origin, err);
    case CFG_LEVEL: {
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
    case CFG_CHOICE: {
        int i = json_is_string(v)
                    ? choice_index(k->choices, json_string_value(v))
                    : -1;
        if (i < 0)
            return vg_fail(err, VG_ECONFIG, "%s: key '%s' must be one of %s",
                           origin, k->name, k->choices);
        *(int *)base = i;
        return VG_OK;
    }
    case CFG_STRLIST:
        return set_strlist(obj, k, v, origin, err);
    }
    return vg_fail(err, VG_EINTERNAL, "config key type");
}

/* Top-level sections that modules above core read with tables or parsers
 * of their own: deliver/ owns `notify` and `rt`, outreach/ owns `outreach`.
 * service/ loads all of them for every command, so a mistake anywhere in
 * the file stops any command. */
static int is_delegated(const char *path)
{
    static const char *const owned[] = {"outreach", "notify", "rt"};
    for (size_t i = 0; i < sizeof owned / sizeof owned[0]; i++)
        if (strcmp(path, owned[i]) == 0)
            return 1;
    return 0;
}

static vg_code unknown_key(const cfg_key *t, size_t n, const char *path,
                           const char *origin, vg_error *err)
{
    char near[256];
    if (closest_key(t, n, path, near, sizeof near))
        return vg_fail(err, VG_ECONFIG,
                       "%s: unknown key '%s': did you mean '%s'? (see README, "
                       "section Configuration)",
                       origin, path, near);
    return vg_fail(err, VG_ECONFIG,
                   "%s: unknown key '%s' (see README, section Configuration)",
                   origin, path);
}

/* Walk `obj` (at `prefix`) against table `t`. Top-level names outside the
 * table are skipped when `skip_other` (a module's table reads only its own
 * sections) and otherwise must be delegated sections. */
static vg_code walk(const cfg_key *t, size_t n, char *base, json_t *obj,
                    const char *prefix, int skip_other, const char *origin,
                    vg_error *err)
{
    const char *name;
    json_t *v;
    json_object_foreach(obj, name, v)
    {
        char path[512];
        snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "." : "", name);
        const cfg_key *k = find_key(t, n, path);
        vg_code rc;
        if (k)
            rc = set_key(base, k, v, origin, err);
        else if (is_section(t, n, path) && json_is_object(v))
            rc = walk(t, n, base, v, path, 0, origin, err);
        else if (is_section(t, n, path))
            rc = vg_fail(err, VG_ECONFIG, "%s: key '%s' must be an object",
                         origin, path);
        else if (!*prefix && (skip_other || is_delegated(path)))
            rc = VG_OK;
        else
            rc = unknown_key(t, n, path, origin, err);
        if (rc != VG_OK)
            return rc;
    }
    return VG_OK;
}

vg_code cfg_table_apply(const cfg_key *t, size_t n, void *obj, json_t *root,
                        const char *origin, vg_error *err)
{
    if (!json_is_object(root))
        return vg_fail(err, VG_ECONFIG,
                       "%s: the configuration must be a JSON object", origin);
    return walk(t, n, obj, root, "", 1, origin, err);
}

vg_code cfg_read_file(const char *path, json_t **root, vg_error *err)
{
    json_error_t je;
    *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (*root)
        return VG_OK;
    if (je.line < 0)
        return vg_fail(err, VG_ECONFIG,
                       "%s: cannot read the configuration file (%s); pass "
                       "--config with an existing JSON file",
                       path, je.text);
    return vg_fail(err, VG_ECONFIG, "%s:%d:%d: %s", path, je.line, je.column,
                   je.text);
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
    vg_code rc = walk(keys, NKEYS, (char *)c, root, "", 0, origin, err);
    if (rc == VG_OK)
        rc = validate(c, origin, err);
    return rc;
}

vg_code cfg_load(vg_config *c, const char *path, vg_error *err)
{
    json_t *root;
    vg_code rc = cfg_read_file(path, &root, err);
    if (rc != VG_OK)
        return rc;
    rc = load_json(c, root, path, err);
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

void cfg_table_print(const cfg_key *t, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++)
        fprintf(out, "| `%s` | `%s` | %s |\n", t[i].name, t[i].dflt, t[i].help);
}

void cfg_print_keys(FILE *out)
{
    fprintf(out, "| key | default | meaning |\n|---|---|---|\n");
    cfg_table_print(keys, NKEYS, out);
}
