/* test_db_sharded.c — a source hash-partitioned by customer_id over two
 * postgres_fdw shards (databases of the test server, reached over a real
 * postgres_fdw connection): the feature aggregations run on the shards (their
 * plans say "Relations: Aggregate on", no raw-row Foreign Scan, no aggregate
 * on the coordinator), and the matrix is the one a single server computes
 * from the same rows. scripts/test-sharded.sh does the same end to end
 * (train, score, three clusters) at a size CI has no time for. */
#include <math.h>

#include "check.h"
#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "features/feat.h"
#include "featcheck.h"
#include "testdb.h"

#define TABLES                                                                 \
    "CREATE TABLE public.customers (customer_id text, name text, created_at "  \
    "timestamptz, canceled_at timestamptz, plan text, mrr numeric, seats "     \
    "integer, language text, segment text)%s;"                                 \
    "CREATE TABLE public.usage_events (customer_id text, occurred_at "         \
    "timestamptz, event_type text, user_id text, quantity double "             \
    "precision)%s;"                                                            \
    "CREATE TABLE public.tickets (ticket_id text, customer_id text, "          \
    "created_at timestamptz, first_response_at timestamptz, resolved_at "      \
    "timestamptz, status text, priority text, channel text, subject text, "    \
    "body text, csat smallint, reopens integer, escalated boolean)%s;"

/* 240 customers, ~25k events over 150 days with every kind of dirty row the
 * extraction counts, and tickets: the same statements fill the single server
 * and, through the coordinator's partitioned tables, the shards. */
static const char *data =
    "INSERT INTO public.customers SELECT 'c' || lpad(i::text, 4, '0'), 'n', "
    " timestamptz '2024-01-01 00:00:00+00' + (i % 150) * interval '1 day', "
    " CASE WHEN i % 9 = 0 THEN timestamptz '2024-05-20 00:00:00+00' + (i % "
    "20) * interval '1 day' END, "
    " (ARRAY['team','starter','enterprise'])[1 + i % 3], 50 + i * 3, 1 + i % "
    "12, "
    " (ARRAY['en','de'])[1 + i % 2], CASE WHEN i % 5 > 0 THEN 'smb' END "
    "FROM generate_series(1, 240) i;"
    "INSERT INTO public.usage_events SELECT 'c' || lpad(i::text, 4, '0'), "
    " timestamptz '2024-01-05 00:00:00+00' + d * interval '1 day' + (i * 37 % "
    "86400) * interval '1 second', "
    " (ARRAY['login','report_run','api_call','export'])[1 + (i * d) % 4], "
    " 'u' || ((i + d) % 5), CASE WHEN d % 3 = 0 THEN (i % 4)::float8 END "
    "FROM generate_series(1, 240) i, generate_series(0, 150) d "
    "WHERE (i * 7 + d * 13) % 10 < 1 + i % 9;"
    "INSERT INTO public.usage_events VALUES"
    " ('nobody', '2024-05-30 08:00:00+00', 'login', 'z', NULL),"
    " (NULL, '2024-05-30 08:00:00+00', 'login', 'z', NULL),"
    " ('c0001', NULL, 'login', 'u1', NULL),"
    " ('c0001', '2024-05-30 08:00:00+00', NULL, 'u1', NULL),"
    " ('c0002', '2024-05-30 08:00:00+00', 'api_call', 'u1', -5),"
    " ('c0003', '2024-05-30 08:00:00+00', 'api_call', 'u1', 'NaN'),"
    " ('c0004', '2099-01-01 00:00:00+00', 'login', 'u1', NULL);"
    "INSERT INTO public.tickets SELECT 't' || i || '-' || k, 'c' || "
    "lpad(i::text, 4, '0'), "
    " timestamptz '2024-03-01 10:00:00+00' + (i * k % 90) * interval '1 day', "
    " timestamptz '2024-03-01 12:00:00+00' + (i * k % 90) * interval '1 day', "
    " CASE WHEN k % 2 = 0 THEN timestamptz '2024-03-03 10:00:00+00' + (i * k "
    "% 90) * interval '1 day' END, 'open', "
    " (ARRAY['low','normal','high','urgent'])[1 + (i + k) % 4], 'email', 's', "
    "'b', "
    " CASE WHEN k % 2 = 0 THEN 1 + (i + k) % 5 END, k % 2, (i + k) % 7 = 0 "
    "FROM generate_series(1, 240) i, generate_series(1, 3) k WHERE (i + k) % "
    "4 = 0;";

/* The coordinator: postgres_fdw servers for the two shard databases of this
 * same test server, parents partitioned by hash of customer_id, one foreign
 * partition per shard. */
static void make_coordinator(const char *coord)
{
    PQconninfoOption *opts = PQconninfoParse(check_test_dsn(), NULL);
    const char *host = "", *port = "5432", *user = "vigil_app";
    for (PQconninfoOption *o = opts; o && o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
        else if (!strcmp(o->keyword, "user"))
            user = o->val;
    }
    char sql[8192];
    /* The extension, the servers and a password-less user mapping need the
     * cluster's superuser (vigil's role is not one); the tables are the
     * test role's, as a DBA would set it up. */
    char admin[1024];
    snprintf(admin, sizeof admin, "%s user=postgres", coord);
    testdb_exec(admin, "CREATE EXTENSION postgres_fdw");
    for (int i = 0; i < 2; i++) {
        snprintf(sql, sizeof sql,
                 "CREATE SERVER s%d FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
                 "(host '%s', port '%s', dbname 'vt_sharded_s%d', "
                 "async_capable 'true', fetch_size '10000', batch_size "
                 "'500');"
                 "CREATE USER MAPPING FOR \"%s\" SERVER s%d OPTIONS "
                 "(user '%s', password_required 'false');"
                 "GRANT USAGE ON FOREIGN SERVER s%d TO \"%s\"",
                 i, host, port, i, user, i, user, i, user);
        testdb_exec(admin, sql);
    }
    const char *part = " PARTITION BY HASH (customer_id)";
    snprintf(sql, sizeof sql, TABLES, part, part, part);
    testdb_exec(coord, sql);
    const char *tables[3] = {"customers", "usage_events", "tickets"};
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 2; i++) {
            snprintf(sql, sizeof sql,
                     "CREATE FOREIGN TABLE public.%s_s%d PARTITION OF "
                     "public.%s FOR VALUES WITH (MODULUS 2, REMAINDER %d) "
                     "SERVER s%d OPTIONS (table_name '%s')",
                     tables[t], i, tables[t], i, i, tables[t]);
            testdb_exec(coord, sql);
        }
    PQconninfoFree(opts);
}

static feat_matrix *build(db_conn *db, const vg_config *cfg,
                          const feat_spec *spec, int day, json_t *explain,
                          json_t *stats)
{
    feat_request req = {&day, 1, 0, 0, -1, 1, 1, explain};
    return build_or_die(db, cfg, spec, &req, stats);
}

static int count_lines(const char *plan, const char *needle)
{
    int n = 0;
    for (const char *p = plan; p && (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* A plan node that aggregates on the coordinator starts its line (after
 * the indentation and "->  ") with one of these. */
static int local_aggregates(const char *plan)
{
    int n = 0;
    for (const char *line = plan; line && *line;) {
        const char *p = line;
        while (*p == ' ')
            p++;
        if (!strncmp(p, "->  ", 4))
            p += 4;
        static const char *kinds[] = {
            "HashAggregate", "GroupAggregate", "MixedAggregate", "Aggregate",
            "Finalize ",     "Partial ",       "WindowAgg"};
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
            if (!strncmp(p, kinds[k], strlen(kinds[k])))
                n++;
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return n;
}

/* The single server, the coordinator over the two shards, and what the
 * cases build on them (they run in order). */
static char *one, *coord;
static char shard[2][1024];
static db_conn *dbo, *dbc;
static vg_config cfg;
static int D;
static feat_spec *spec;
static json_t *st_one, *st_coord;
static feat_matrix *mo, *mc;

/* The rows really are on the shards, split by customer. */
static void rows_are_split_over_the_shards(void)
{
    long s0 = atol(testdb_value(shard[0], "SELECT count(*) FROM usage_events"));
    long s1 = atol(testdb_value(shard[1], "SELECT count(*) FROM usage_events"));
    CHECK(s0 > 1000 && s1 > 1000);
    CHECK_INT_EQ(s0 + s1,
                 atol(testdb_value(one, "SELECT count(*) FROM usage_events")));
    CHECK_INT_EQ(0, atol(testdb_value(coord, "SELECT count(*) FROM ONLY "
                                             "public.usage_events")));
}

/* Identical matrices and identical dirty-row counts; streamed from the
 * coordinator in chunks: still the same. */
static void same_matrix_and_dirty_counts(void)
{
    mo = build(dbo, &cfg, spec, D, NULL, st_one);
    mc = build(dbc, &cfg, spec, D, NULL, st_coord);
    CHECK(mo->nrows > 150);
    CHECK(same_matrix(mo, mc));
    CHECK(json_equal(st_one, st_coord));
    CHECK(stream_same(dbc, &cfg, spec, D, 50, mo, st_one));
    /* in hash slices (score.slices) from the coordinator: the same rows */
    CHECK(slices_same(dbc, &cfg, spec, D, 3, mo, st_one));
    /* COPY per query forced on the coordinator (auto reads a sharded
     * source through cursors): the same rows */
    vg_config copy = cfg;
    copy.feat_stream_read = CFG_STREAM_READ_COPY;
    CHECK(stream_same(dbc, &copy, spec, D, 50, mo, st_one));
    if (!json_equal(st_one, st_coord)) {
        char *a = json_dumps(st_one, JSON_COMPACT),
             *b = json_dumps(st_coord, JSON_COMPACT);
        fprintf(stderr, "stats differ:\n  %s\n  %s\n", a, b);
        free(a);
        free(b);
    }
}

/* Some of the features are not trivially zero: the data reached them. */
static void features_reach_the_data(void)
{
    int c7 = feat_spec_find(spec, "usage.events_login_30d");
    CHECK(c7 >= 0);
    double total = 0;
    for (size_t r = 0; c7 >= 0 && r < mc->nrows; r++)
        total += mc->x[r * mc->ncols + (size_t)c7];
    CHECK(total > 100);
}

/* The plans: every per-customer aggregation on the shards. */
static void aggregation_runs_on_the_shards(void)
{
    json_t *plans = json_object();
    feat_matrix *me = build(dbc, &cfg, spec, D, plans, NULL);
    const char *names[3] = {"usage", "users", "history"};
    for (int q = 0; q < 3; q++) {
        const char *plan = json_string_value(json_object_get(plans, names[q]));
        CHECK(plan != NULL);
        if (!plan)
            continue;
        CHECK_INT_EQ(2, count_lines(plan, "Relations: Aggregate on"));
        CHECK_INT_EQ(0, count_lines(plan, "Foreign Scan on"));
        CHECK_INT_EQ(0, local_aggregates(plan));
        /* what each shard is sent is itself an aggregate */
        CHECK_INT_EQ(2, count_lines(plan, "GROUP BY"));
        if (count_lines(plan, "Relations: Aggregate on") != 2 ||
            local_aggregates(plan) != 0)
            fprintf(stderr, "---- %s plan:\n%s", names[q], plan);
    }
    json_decref(plans);
    feat_matrix_free(me);
}

/* The same request on the single server aggregates there, of course: the
 * explain mode itself is not what makes the difference. */
static void single_server_aggregates_locally(void)
{
    json_t *plans_one = json_object();
    feat_matrix *meo = build(dbo, &cfg, spec, D, plans_one, NULL);
    CHECK(local_aggregates(
              json_string_value(json_object_get(plans_one, "usage"))) > 0);
    json_decref(plans_one);
    feat_matrix_free(meo);
}

int main(void)
{
    one = strdup(testdb_fresh("vt_sharded_one"));
    for (int i = 0; i < 2; i++) {
        char name[32];
        snprintf(name, sizeof name, "vt_sharded_s%d", i);
        snprintf(shard[i], sizeof shard[i], "%s", testdb_fresh(name));
    }
    coord = strdup(testdb_fresh("vt_sharded"));
    char sql[4096];
    snprintf(sql, sizeof sql, TABLES, "", "", "");
    testdb_exec(one, sql);
    for (int i = 0; i < 2; i++)
        testdb_exec(shard[i], sql);
    make_coordinator(coord);
    testdb_exec(one, data);
    testdb_exec(coord, data);
    testdb_exec(one, "ANALYZE");
    for (int i = 0; i < 2; i++)
        testdb_exec(shard[i], "ANALYZE");
    testdb_exec(coord, "ANALYZE public.customers, public.usage_events, "
                       "public.tickets");

    dbo = connect_or_die(one);
    dbc = connect_or_die(coord);
    cfg_defaults(&cfg);
    /* every optional feature family, whatever the defaults: their
     * aggregates must run on the shards too */
    vg_error err;
    if (cfg_load_string(&cfg,
                        "{\"features\": {\"families\": [\"long_windows\", "
                        "\"type_trends\", \"recency\", \"users\", "
                        "\"ticket_trends\", \"tenure\", \"lifetime\"]}}",
                        "test", &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    date_parse("2024-06-01", &D);
    spec = discover_or_die(dbo, &cfg, D);
    st_one = json_object();
    st_coord = json_object();

    static const check_case cases[] = {
        CHECK_CASE(rows_are_split_over_the_shards),
        CHECK_CASE(same_matrix_and_dirty_counts),
        CHECK_CASE(features_reach_the_data),
        CHECK_CASE(aggregation_runs_on_the_shards),
        CHECK_CASE(single_server_aggregates_locally),
    };
    int rc = check_run("db_sharded", cases, sizeof cases / sizeof cases[0]);
    json_decref(st_one);
    json_decref(st_coord);
    feat_matrix_free(mo);
    feat_matrix_free(mc);
    feat_spec_free(spec);
    db_close(dbo);
    db_close(dbc);
    free(one);
    free(coord);
    return rc;
}
