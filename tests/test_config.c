/* test_config.c — configuration parsing: defaults, every error names the key
 * and the file, ranges and cross-key rules are enforced. */
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "core/cfg.h"
#include "deliver/config.h"

static vg_code load(vg_config *c, const char *json, vg_error *err)
{
    cfg_defaults(c);
    return cfg_load_string(c, json, "test.json", err);
}

static void test_defaults(void)
{
    vg_config c;
    vg_error err;

    CHECK(load(&c, "{}", &err) == VG_OK);
    CHECK_STR_EQ(c.source_schema, "public");
    CHECK_INT_EQ(c.train_horizon_days, 30);
    CHECK_INT_EQ(c.train_lookback_days, 180);
    CHECK_INT_EQ(c.train_step_days, 7);
    CHECK_STR_EQ(c.sched_daily, "0 3 * * *");
    CHECK_STR_EQ(c.http_listen, "127.0.0.1:8470");
    CHECK_STR_EQ(c.http_token, "");
}

static void test_overrides(void)
{
    vg_config c;
    vg_error err;

    CHECK(load(&c,
               "{\"source\": {\"schema\": \"crm\"}, \"train\": "
               "{\"horizon_days\": 60, \"search\": false},"
               " \"score\": {\"tiers\": {\"watch\": 0.2, \"at_risk\": 0.3, "
               "\"critical\": 0.9}},"
               " \"log\": {\"level\": \"debug\", \"format\": \"json\"},"
               " \"features\": {\"exclude\": [\"status\", \"churn_reason\"]}, "
               "\"http\": {\"token\": \"s3cret\"}}",
               &err) == VG_OK);
    CHECK_STR_EQ(c.source_schema, "crm");
    CHECK_INT_EQ(c.train_horizon_days, 60);
    CHECK_INT_EQ(c.train_search, 0);
    CHECK_NEAR(c.tier_critical, 0.9, 1e-12);
    CHECK_INT_EQ(c.log_level, LOG_LVL_DEBUG);
    CHECK_INT_EQ(c.log_json, 1);
    CHECK_INT_EQ(c.feat_exclude_n, 2);
    CHECK_STR_EQ(c.feat_exclude[1], "churn_reason");
    CHECK_STR_EQ(c.http_token, "s3cret");
}

static void test_unknown_keys(void)
{
    vg_config c;
    vg_error err;

    /* unknown keys, at the top and nested: the message names key and file */
    CHECK(load(&c, "{\"trian\": {}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "'trian'") && strstr(err.msg, "test.json"));
    CHECK(load(&c, "{\"train\": {\"horizn_days\": 3}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "'train.horizn_days'") != NULL);
    /* a misspelt key gets the nearest real one; a stranger gets none */
    CHECK(strstr(err.msg, "did you mean 'train.horizon_days'?") != NULL);
    CHECK(load(&c, "{\"trian\": {}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "did you mean 'train'?") != NULL);
    CHECK(load(&c, "{\"notfy\": {}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "did you mean 'notify'?") != NULL);
    CHECK(load(&c, "{\"score\": {\"tiers\": {\"critcal\": 0.5}}}", &err) ==
          VG_ECONFIG);
    CHECK(strstr(err.msg, "did you mean 'score.tiers.critical'?") != NULL);
    CHECK(load(&c, "{\"zebra\": 1}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "did you mean") == NULL);
}

static void test_wrong_types(void)
{
    vg_config c;
    vg_error err;

    /* wrong types */
    CHECK(load(&c, "{\"train\": {\"horizon_days\": \"30\"}}", &err) ==
          VG_ECONFIG);
    CHECK(strstr(err.msg, "'train.horizon_days'") &&
          strstr(err.msg, "integer"));
    CHECK(load(&c, "{\"train\": 5}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "'train'") != NULL);
    CHECK(load(&c, "{\"train\": {\"search\": 1}}", &err) == VG_ECONFIG);
    CHECK(load(&c, "{\"log\": {\"level\": \"loud\"}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "'log.level'") != NULL);
    CHECK(load(&c, "{\"source\": {\"schema\": \"\"}}", &err) == VG_ECONFIG);
    CHECK(load(&c, "{\"features\": {\"exclude\": [1]}}", &err) == VG_ECONFIG);
}

static void test_families(void)
{
    vg_config c;
    vg_error err;

    /* feature families: only known names, each once */
    CHECK(load(&c, "{\"features\": {\"families\": [\"users\", \"tenure\"]}}",
               &err) == VG_OK);
    CHECK_INT_EQ(c.feat_families_n, 2);
    CHECK_STR_EQ(c.feat_families[1], "tenure");
    CHECK(load(&c, "{\"features\": {\"families\": []}}", &err) == VG_OK);
    CHECK_INT_EQ(c.feat_families_n, 0);
    CHECK(load(&c, "{\"features\": {\"families\": [\"usrs\"]}}", &err) ==
          VG_ECONFIG);
    CHECK(strstr(err.msg, "'features.families'") && strstr(err.msg, "usrs") &&
          strstr(err.msg, "test.json"));
    CHECK(load(&c, "{\"features\": {\"families\": [\"users\", \"users\"]}}",
               &err) == VG_ECONFIG);
    /* the families' choice: always or auto, a mistake names key and file */
    CHECK(load(&c, "{\"features\": {\"families_choice\": \"auto\"}}", &err) ==
          VG_OK);
    CHECK_INT_EQ(c.feat_families_auto, 1);
    CHECK(load(&c, "{\"features\": {\"families_choice\": \"always\"}}", &err) ==
          VG_OK);
    CHECK_INT_EQ(c.feat_families_auto, 0);
    CHECK(load(&c, "{\"features\": {\"families_choice\": \"sometimes\"}}",
               &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "'features.families_choice'") &&
          strstr(err.msg, "test.json"));
}

static void test_ranges_and_syntax(void)
{
    vg_config c;
    vg_error err;

    /* ranges and cross-key rules */
    CHECK(load(&c, "{\"train\": {\"horizon_days\": 0}}", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "between") != NULL);
    CHECK(load(&c, "{\"score\": {\"tiers\": {\"watch\": 0.6}}}", &err) ==
          VG_ECONFIG);
    CHECK(strstr(err.msg, "score.tiers.watch") != NULL);
    /* malformed JSON and a non-object */
    CHECK(load(&c, "{\"train\": ", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "test.json:") != NULL);
    CHECK(load(&c, "[1]", &err) == VG_ECONFIG);
    CHECK(load(&c, "{\"train\": {\"step_days\": 7, \"step_days\": 8}}", &err) ==
          VG_ECONFIG);
}

static void test_from_file(void)
{
    vg_config c;
    vg_error err;

    /* from a file: a missing file names the path */
    cfg_defaults(&c);
    CHECK(cfg_load(&c, "/nonexistent/vigil.json", &err) == VG_ECONFIG);
    CHECK(strstr(err.msg, "/nonexistent/vigil.json") != NULL);
    char path[] = "/tmp/vigil-cfg-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    check_write_file(path, "{\"train\": {\"lookback_days\": 90}}");
    cfg_defaults(&c);
    CHECK(cfg_load(&c, path, &err) == VG_OK);
    CHECK_INT_EQ(c.train_lookback_days, 90);
    CHECK_STR_EQ(c.path, path);
    unlink(path);
}

static void test_deliver_keys(void)
{
    vg_error err;

    /* deliver/'s own key table: defaults, types, choices, cross-key rules */
    deliver_config dc;
    json_t *j = json_loads("{\"notify\": {\"webhook\": {\"url\": "
                           "\"https://hooks.example/x\", \"format\": "
                           "\"slack\"}}, \"rt\": {\"url\": "
                           "\"http://rt.local/\", \"user\": \"root\"}, "
                           "\"train\": {\"step_days\": 3}}",
                           0, NULL);
    CHECK(deliver_config_from_json(&dc, j, "d.json", &err) == VG_OK);
    CHECK_INT_EQ(dc.webhook_slack, 1);
    CHECK_INT_EQ(dc.max_attempts, 8);
    CHECK_STR_EQ(dc.rt_url, "http://rt.local");
    CHECK_STR_EQ(dc.rt_queue, "General");
    json_decref(j);
    static const char *const bad[][2] = {
        {"{\"notify\": {\"webhook\": {\"urll\": null}}}",
         "'notify.webhook.urll'"},
        {"{\"notify\": {\"webhook\": {\"format\": \"xml\"}}}", "json|slack"},
        {"{\"notify\": {\"webhook\": {\"max_attempts\": 0}}}",
         "'notify.webhook.max_attempts'"},
        {"{\"notify\": {\"webhook\": {\"url\": \"ftp://x\"}}}",
         "'notify.webhook.url'"},
        {"{\"rt\": {\"url\": \"http://rt.local\"}}", "'rt.user'"},
        {"{\"rt\": 3}", "'rt' must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i][0], 0, NULL);
        vg_error_clear(&err);
        CHECK(deliver_config_from_json(&dc, j, "d.json", &err) == VG_ECONFIG);
        CHECK(strstr(err.msg, bad[i][1]) != NULL);
        CHECK(strstr(err.msg, "d.json") != NULL);
        json_decref(j);
    }
}

static void test_every_command_checks_every_section(void)
{
    /* Every command checks every section of the file before it does
     * anything: a bad playbook or delivery key stops `score` too (exit 3,
     * naming the key and the file), and a missing file says so. */
    char bpath[] = "/tmp/vigil-cfg-XXXXXX";
    int fd = mkstemp(bpath);
    CHECK(fd >= 0);
    close(fd);
    check_write_file(bpath, "{\"outreach\": {\"playbooks\": [{\"name\": "
                            "\"x\", \"trigger\": {\"kind\": \"nope\"}}]}}");
    char args[256];
    snprintf(args, sizeof args, "--config %s score", bpath);
    cli_result *r = cli_run("host=/nonexistent", args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, bpath) != NULL && strstr(r->err, "outreach") != NULL);
    check_write_file(bpath, "{\"rt\": {\"url\": \"http://rt.local\"}}");
    r = cli_run("host=/nonexistent", args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "'rt.user'") != NULL);
    unlink(bpath);
    r = cli_run("host=/nonexistent", "--config /nonexistent/nope.json score");
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "cannot read the configuration file") != NULL);
}

int main(void)
{
    static const check_case cases[] = {
        CHECK_CASE(test_defaults),
        CHECK_CASE(test_overrides),
        CHECK_CASE(test_unknown_keys),
        CHECK_CASE(test_wrong_types),
        CHECK_CASE(test_families),
        CHECK_CASE(test_ranges_and_syntax),
        CHECK_CASE(test_from_file),
        CHECK_CASE(test_deliver_keys),
        CHECK_CASE(test_every_command_checks_every_section),
    };
    return check_run("config", cases, sizeof cases / sizeof cases[0]);
}
