/* test_db_privilege.c — least privilege: a role that may only read the
 * source relations and owns a pre-created schema vigil (no CREATE on the
 * database, not a superuser) runs everything, `init` included. An empty
 * http.token is refused at start. */
#include <sys/stat.h>

#include "cli.h"
#include "testdb.h"

#define AS_OF "2025-06-01"

/* The owner's DSN, the administrator's and the least-privileged role's. */
static char dsn[1100], lp[1200], admin[1200];

/* The role may not create in the database, is no superuser and cannot
 * write the source tables. */
static void role_is_no_administrator(void)
{
    CHECK_STR_EQ(testdb_value(admin,
                              "SELECT has_database_privilege('vt_lp', "
                              "current_database(), 'CREATE')::text || "
                              "(SELECT rolsuper::text FROM pg_roles WHERE "
                              "rolname = 'vt_lp') || has_table_privilege("
                              "'vt_lp', 'public.customers', 'INSERT')::text"),
                 "falsefalsefalse");
}

static void every_job_runs_as_the_role(void)
{
    const char *steps[] = {
        "--quiet init",
        "--quiet init", /* idempotent */
        "--quiet train --as-of " AS_OF " --lookback 28 --step 14",
        "--quiet score --as-of " AS_OF,
        "--quiet topics --as-of " AS_OF,
        "--quiet outreach --as-of " AS_OF,
        "--quiet daily --as-of 2025-06-02 --force", /* data end 05-31 */
        "--quiet features --as-of " AS_OF " --out /dev/null",
        "--quiet report --as-of 2025-06-02 --out /dev/null",
    };
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        CHECK_INT_EQ(cli_run(lp, steps[i])->status, 0);
}

/* --out on a device writes into it: renaming a file over /dev/null (as
 * root) would replace the device for every later process. */
static void out_on_a_device_writes_into_it(void)
{
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
}

/* --pg-only has the server write files: without pg_write_server_files the
 * role is told what it lacks before any query runs (usage error, 2). */
static void pg_only_names_the_missing_role(void)
{
    cli_result *r = cli_run(lp, "features --as-of " AS_OF " --pg-only");
    CHECK_INT_EQ(r->status, 2);
    CHECK(strstr(r->err, "pg_write_server_files") != NULL);
}

static void no_job_failed(void)
{
    CHECK_STR_EQ(testdb_value(lp, "SELECT count(*) FROM vigil.job_runs "
                                  "WHERE status <> 'ok'"),
                 "0");
}

/* The role never wrote outside its schema. */
static void role_never_writes_outside_its_schema(void)
{
    CHECK_STR_EQ(testdb_value(admin,
                              "SELECT count(*) FROM pg_class c JOIN "
                              "pg_roles r ON r.oid = c.relowner WHERE "
                              "r.rolname = 'vt_lp' AND "
                              "c.relnamespace NOT IN ('vigil'::regnamespace, "
                              "'pg_toast'::regnamespace) "
                              "AND c.relpersistence <> 't'"),
                 "0");
}

/* An empty token would switch authentication off: refused. */
static void empty_token_refused(void)
{
    char cfg[64], args[128];
    cli_config(cfg, sizeof cfg, "priv", "%s", "{\"http\": {\"token\": \"\"}}");
    snprintf(args, sizeof args, "--config %s serve", cfg);
    cli_result *r = cli_run(lp, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "http.token") && strstr(r->err, cfg));
    remove(cfg);
}

int main(void)
{
    snprintf(dsn, sizeof dsn, "%s", testdb_fresh("vt_privilege"));
    /* the source data, loaded by the database owner */
    CHECK_INT_EQ(cli_run(dsn, "--quiet demo --customers 200 --end " AS_OF
                              " --history-days 200 --seed 11")
                     ->status,
                 0);
    /* set up by an administrator (the throwaway server trusts local
     * connections, so the test may act as postgres) */
    snprintf(admin, sizeof admin, "%s user=postgres", dsn);
    testdb_exec(admin,
                "DROP SCHEMA IF EXISTS vigil CASCADE;"
                "DO $$BEGIN IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname "
                "= 'vt_lp') THEN EXECUTE 'DROP OWNED BY vt_lp'; DROP ROLE "
                "vt_lp; END IF; END$$;"
                "CREATE ROLE vt_lp LOGIN;"
                "CREATE SCHEMA vigil AUTHORIZATION vt_lp;"
                "GRANT USAGE ON SCHEMA public TO vt_lp;"
                "GRANT SELECT ON ALL TABLES IN SCHEMA public TO vt_lp;");

    snprintf(lp, sizeof lp, "%s user=vt_lp", dsn);

    static const check_case cases[] = {
        CHECK_CASE(role_is_no_administrator),
        CHECK_CASE(every_job_runs_as_the_role),
        CHECK_CASE(out_on_a_device_writes_into_it),
        CHECK_CASE(pg_only_names_the_missing_role),
        CHECK_CASE(no_job_failed),
        CHECK_CASE(role_never_writes_outside_its_schema),
        CHECK_CASE(empty_token_refused),
    };
    int rc = check_run("db_privilege", cases, sizeof cases / sizeof cases[0]);
    testdb_exec(admin, "DROP SCHEMA vigil CASCADE; DROP OWNED BY vt_lp; "
                       "DROP ROLE vt_lp");
    return rc;
}
