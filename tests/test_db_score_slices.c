/* test_db_score_slices.c — `score` reads its customers in hash slices
 * (score.slices) on a session of its own while it writes on another: every
 * score, health, tier and driver, and every skipped-row count, is the same
 * whether it reads them in one slice or in several; a model stored before
 * "typical" values existed still scores. */
#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2025-06-01"

static const char *dsn;
static char md5_one[64];
static char *skipped_one;
static long long scored_one;

static const char *scores_md5(const char *what)
{
    static char buf[64];
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT md5(string_agg(%s, ',' ORDER BY customer_id)) "
             "FROM vigil.scores WHERE as_of = '" D "'",
             what);
    snprintf(buf, sizeof buf, "%s", testdb_value(dsn, sql));
    return buf;
}

#define EVERYTHING                                                             \
    "customer_id || ':' || churn_risk || ':' || health || ':' || tier || "     \
    "':' || drivers::text"

/* Score D with score.slices = n and features.stream_read = how; the --json
 * summary (caller frees). */
static json_t *score_read(int n, const char *how)
{
    char path[64], args[256];
    cli_config(path, sizeof path, "slices",
               "{\"score\": {\"slices\": %d}, \"features\": "
               "{\"stream_read\": \"%s\"}}\n",
               n, how);
    snprintf(args, sizeof args,
             "--config %s --quiet score --as-of " D " --json", path);
    cli_result *r = cli_run(dsn, args);
    remove(path);
    CHECK_INT_EQ(r->status, 0);
    return r->status == 0 ? cli_json(r) : NULL;
}

/* The summary's skipped-row counts as text, for comparing runs. The
 * history summary's counters say whether a run built the week's summary or
 * reused it: work done, not rows skipped, and different by design between
 * the first run and the next. */
static char *skipped_rows(json_t *j)
{
    json_t *sk = json_deep_copy(json_object_get(j, "skipped"));
    json_object_del(sk, "history_summaries_built");
    json_object_del(sk, "history_summaries_reused");
    char *text = json_dumps(sk, JSON_SORT_KEYS);
    json_decref(sk);
    return text;
}

static json_t *score_with(int n)
{
    return score_read(n, "auto");
}

static void demo_and_model(void)
{
    cli_result *r =
        cli_run(dsn, "--quiet demo --customers 1200 --seed 11 --end " D);
    CHECK_INT_EQ(r->status, 0);
    r = cli_run(dsn, "--quiet --log-level warn train --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    /* train keeps the typical customer with the model, one value a column */
    CHECK_STR_EQ(testdb_value(dsn, "SELECT jsonb_array_length(features->"
                                   "'typical') = jsonb_array_length(features->"
                                   "'columns') FROM vigil.models"),
                 "t");
}

static void one_slice(void)
{
    json_t *j = score_with(1);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "slices")), 1);
    /* one server: a COPY per query, on sessions of their own */
    CHECK_STR_EQ(json_string_value(json_object_get(j, "read")), "copy");
    scored_one = json_integer_value(json_object_get(j, "scored"));
    CHECK(scored_one > 500);
    skipped_one = skipped_rows(j);
    /* the demo's dirty rows are there to be counted */
    CHECK(json_integer_value(json_object_get(
              json_object_get(json_object_get(j, "skipped"), "usage_events"),
              "unknown_customer")) > 0);
    snprintf(md5_one, sizeof md5_one, "%s", scores_md5(EVERYTHING));
    json_decref(j);
}

/* n slices, read as `how` says, give every row and every count of the
 * one-slice run. */
static void same_as_one_read(int n, const char *how)
{
    json_t *j = score_read(n, how);
    CHECK(j != NULL);
    if (!j)
        return;
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "slices")), n);
    CHECK_INT_EQ(json_integer_value(json_object_get(j, "scored")), scored_one);
    char *sk = skipped_rows(j);
    CHECK_STR_EQ(sk, skipped_one);
    free(sk);
    CHECK_STR_EQ(scores_md5(EVERYTHING), md5_one);
    if (strcmp(how, "auto") != 0)
        CHECK_STR_EQ(json_string_value(json_object_get(j, "read")), how);
    json_decref(j);
}

static void same_as_one(int n)
{
    same_as_one_read(n, "auto");
}

/* Cursors on the reading session, as before COPY and as on a sharded
 * source: the same scores, drivers and counts. */
static void cursors_same_scores(void)
{
    same_as_one_read(1, "cursor");
    same_as_one_read(3, "cursor");
}

static void three_slices_same_scores(void)
{
    same_as_one(3);
}

static void more_slices_than_chunks_same_scores(void)
{
    same_as_one(16);
}

static void model_without_typical_still_scores(void)
{
    /* a model stored before train kept "typical": the first chunk's medians
     * stand in, so only the drivers' wording may change, never a risk */
    testdb_exec(dsn, "UPDATE vigil.models SET features = features - 'typical'");
    char risks_one[64];
    snprintf(risks_one, sizeof risks_one, "%s",
             scores_md5("customer_id || ':' || churn_risk || ':' || tier"));
    json_t *j = score_with(3);
    CHECK(j != NULL);
    CHECK_STR_EQ(scores_md5("customer_id || ':' || churn_risk || ':' || tier"),
                 risks_one);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.scores WHERE "
                                   "as_of = '" D "' AND tier IN "
                                   "('at_risk','critical') AND "
                                   "jsonb_array_length(drivers) = 0"),
                 "0");
    json_decref(j);
}

/* A model with family lifetime reads the history summary on a side
 * session of its own: with cursors and several slices, closing one slice's
 * stream must not send CLOSE for that side session's reader on the reading
 * session (the transaction aborted and score exited 4 before). */
static void lifetime_cursor_slices_same_scores(void)
{
    char path[64], args[256], md5_copy[64];
    cli_config(path, sizeof path, "slices_life", "%s",
               "{\"features\": {\"families\": [\"lifetime\"]}}\n");
    snprintf(args, sizeof args,
             "--config %s --quiet --log-level warn train --as-of " D, path);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    static const struct {
        int slices;
        const char *how;
    } runs[] = {{1, "copy"}, {3, "cursor"}, {3, "copy"}};
    for (size_t k = 0; k < sizeof runs / sizeof runs[0]; k++) {
        cli_config(path, sizeof path, "slices_life",
                   "{\"features\": {\"families\": [\"lifetime\"], "
                   "\"stream_read\": \"%s\"}, \"score\": {\"slices\": %d}}\n",
                   runs[k].how, runs[k].slices);
        snprintf(args, sizeof args,
                 "--config %s --quiet score --as-of " D " --json", path);
        cli_result *r = cli_run(dsn, args);
        if (r->status != 0)
            fprintf(stderr, "%d slices, %s: %s\n", runs[k].slices, runs[k].how,
                    r->err);
        CHECK_INT_EQ(r->status, 0);
        if (k == 0)
            snprintf(md5_copy, sizeof md5_copy, "%s", scores_md5(EVERYTHING));
        else
            CHECK_STR_EQ(scores_md5(EVERYTHING), md5_copy);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT features->'families' ? 'lifetime' "
                                   "FROM vigil.models ORDER BY model_id DESC "
                                   "LIMIT 1"),
                 "t");
    remove(path);
}

/* `features --as-of D --out FILE` with a config of its own; the CSV
 * (caller frees). */
static char *features_csv(const char *config)
{
    char cpath[64], out[64], args[256];
    cli_config(cpath, sizeof cpath, "slices_feat", "%s", config);
    snprintf(out, sizeof out, "/tmp/vt-slices-%d.csv", (int)getpid());
    snprintf(args, sizeof args,
             "--config %s --quiet features --as-of " D " --out %s", cpath, out);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    char *csv = check_read_file(out, NULL);
    remove(out);
    remove(cpath);
    return csv;
}

/* `vigil demo` replaces the company: the week's lifetime summaries of the
 * old events (built by the cases above) must not be read as the new
 * company's. The matrix from the summary equals the one read live. */
static void a_new_demo_forgets_the_history_summaries(void)
{
    CHECK(atoi(testdb_value(dsn, "SELECT count(*) FROM "
                                 "vigil.usage_history_cuts")) > 0);
    cli_result *r =
        cli_run(dsn, "--quiet demo --customers 400 --seed 12 --end " D);
    CHECK_INT_EQ(r->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.usage_history"),
                 "0");
    char *cached = features_csv("{\"features\": {\"families\": "
                                "[\"lifetime\"]}}\n");
    char *live = features_csv("{\"features\": {\"families\": "
                              "[\"lifetime\"], \"history_cache\": false}}\n");
    CHECK(cached && live && strlen(cached) > 1000);
    CHECK(cached && live && strcmp(cached, live) == 0);
    free(cached);
    free(live);
}

int main(void)
{
    dsn = testdb_fresh("vt_score_slices");
    cli_result *r = cli_run(dsn, "--quiet init");
    CHECK_INT_EQ(r->status, 0);
    static const check_case cases[] = {
        CHECK_CASE(demo_and_model),
        CHECK_CASE(one_slice),
        CHECK_CASE(three_slices_same_scores),
        CHECK_CASE(cursors_same_scores),
        CHECK_CASE(more_slices_than_chunks_same_scores),
        CHECK_CASE(model_without_typical_still_scores),
        CHECK_CASE(lifetime_cursor_slices_same_scores),
        CHECK_CASE(a_new_demo_forgets_the_history_summaries),
    };
    int rc = check_run("db_score_slices", cases, sizeof cases / sizeof *cases);
    free(skipped_one);
    return rc;
}
