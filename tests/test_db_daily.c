/* test_db_daily.c — `vigil daily` runs score, topics and outreach for one
 * date as one job; without a model it still runs topics and outreach. */
#include <jansson.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

#define D "2026-10-01"

static const char *dsn;

/* No champion yet: scoring is skipped with the reason, the rest runs;
 * one ledger row for the whole run. */
static void no_champion_skips_scoring(void)
{
    cli_result *r = cli_run(dsn, "--quiet daily --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    if (j) {
        json_t *s = json_object_get(j, "score");
        CHECK(json_string_value(json_object_get(s, "skipped")) &&
              strstr(json_string_value(json_object_get(s, "skipped")),
                     "vigil train"));
        CHECK(json_integer_value(
                  json_object_get(json_object_get(j, "topics"), "topics")) > 0);
        CHECK(json_object_get(json_object_get(j, "outreach"), "created") !=
              NULL);
        CHECK(json_is_string(json_object_get(j, "as_of")));
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT string_agg(job || ':' || status, "
                                   "',' ORDER BY run_id) FROM vigil.job_runs"),
                 "daily:ok");
}

/* With a model, all three steps write their results for D. */
static void with_a_model_every_step_writes(void)
{
    CHECK_INT_EQ(cli_run(dsn, "--quiet train --as-of " D)->status, 0);
    cli_result *r = cli_run(dsn, "--quiet daily --as-of " D " --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    if (j) {
        CHECK(json_integer_value(json_object_get(json_object_get(j, "score"),
                                                 "scored")) > 100);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) > 100 FROM vigil.scores "
                                   "WHERE as_of = '" D "'"),
                 "t");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.topic_models "
                                   "WHERE as_of = '" D "'"),
                 "1");
}

/* Readable output names every step. */
static void readable_output_names_every_step(void)
{
    cli_result *r = cli_run(dsn, "--quiet daily --as-of " D);
    CHECK_INT_EQ(r->status, 0);
    CHECK(strstr(r->out, "score:") && strstr(r->out, "topics:") &&
          strstr(r->out, "outreach:"));
}

/* A catch-up for an earlier date leaves the newer topics alone... */
static void catch_up_leaves_newer_topics_alone(void)
{
    char before[64];
    snprintf(before, sizeof before, "%s",
             testdb_value(dsn, "SELECT count(*) || ':' || max(as_of) FROM "
                               "vigil.topic_models"));
    cli_result *r = cli_run(dsn, "--quiet daily --as-of 2026-09-30 --json");
    CHECK_INT_EQ(r->status, 0);
    json_t *j = cli_json(r);
    CHECK(j != NULL);
    if (j) {
        CHECK(json_string_value(json_object_get(json_object_get(j, "topics"),
                                                "skipped")) != NULL);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) || ':' || max(as_of) "
                                   "FROM vigil.topic_models"),
                 before);
}

/* ... and --replay rewrites from that date on. */
static void replay_rewrites_from_that_date(void)
{
    cli_result *r = cli_run(dsn, "--quiet daily --as-of 2026-09-30 --replay");
    CHECK_INT_EQ(r->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT max(as_of) FROM "
                                   "vigil.topic_models"),
                 "2026-09-30");
}

int main(void)
{
    dsn = testdb_fresh("vt_daily");
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);
    CHECK_INT_EQ(
        cli_run(dsn, "--quiet demo --customers 400 --seed 3 --end " D)->status,
        0);

    static const check_case cases[] = {
        CHECK_CASE(no_champion_skips_scoring),
        CHECK_CASE(with_a_model_every_step_writes),
        CHECK_CASE(readable_output_names_every_step),
        CHECK_CASE(catch_up_leaves_newer_topics_alone),
        CHECK_CASE(replay_rewrites_from_that_date),
    };
    int rc = check_run("db_daily", cases, sizeof cases / sizeof cases[0]);
    return rc;
}
