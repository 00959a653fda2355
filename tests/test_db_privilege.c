/* test_db_privilege.c — least privilege: a role that may only read the
 * source relations and owns a pre-created schema vigil (no CREATE on the
 * database, not a superuser) runs everything, `init` included. An empty
 * http.token is refused at start. */
#include <sys/stat.h>

#include "cli.h"
#include "testdb.h"

#define AS_OF "2025-06-01"

int main(void)
{
    const char *dsn0 = testdb_fresh("vt_privilege");
    char dsn[1100], lp[1200], admin[1200];
    snprintf(dsn, sizeof dsn, "%s", dsn0);
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
    CHECK_STR_EQ(testdb_value(admin,
                              "SELECT has_database_privilege('vt_lp', "
                              "current_database(), 'CREATE')::text || "
                              "(SELECT rolsuper::text FROM pg_roles WHERE "
                              "rolname = 'vt_lp') || has_table_privilege("
                              "'vt_lp', 'public.customers', 'INSERT')::text"),
                 "falsefalsefalse");
    snprintf(lp, sizeof lp, "%s user=vt_lp", dsn);
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
    /* --out on a device writes into it: renaming a file over /dev/null
     * (as root) would replace the device for every later process */
    struct stat st;
    CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    CHECK_STR_EQ(testdb_value(lp, "SELECT count(*) FROM vigil.job_runs "
                                  "WHERE status <> 'ok'"),
                 "0");
    /* the role never wrote outside its schema */
    CHECK_STR_EQ(testdb_value(admin,
                              "SELECT count(*) FROM pg_class c JOIN "
                              "pg_roles r ON r.oid = c.relowner WHERE "
                              "r.rolname = 'vt_lp' AND "
                              "c.relnamespace NOT IN ('vigil'::regnamespace, "
                              "'pg_toast'::regnamespace) "
                              "AND c.relpersistence <> 't'"),
                 "0");

    /* an empty token would switch authentication off: refused */
    char cfg[64], args[128];
    snprintf(cfg, sizeof cfg, "/tmp/vigil-priv-%d.json", (int)getpid());
    FILE *f = fopen(cfg, "w");
    fputs("{\"http\": {\"token\": \"\"}}", f);
    fclose(f);
    snprintf(args, sizeof args, "--config %s serve", cfg);
    cli_result *r = cli_run(lp, args);
    CHECK_INT_EQ(r->status, 3);
    CHECK(strstr(r->err, "http.token") && strstr(r->err, cfg));
    remove(cfg);
    testdb_exec(admin, "DROP SCHEMA vigil CASCADE; DROP OWNED BY vt_lp; "
                       "DROP ROLE vt_lp");
    return check_done("db_privilege");
}
