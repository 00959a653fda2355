/* main.c — the `vigil` command line: global options, then one subcommand.
 * Each command is a row in a table; each parses its own options and prints
 * either a readable summary or (--json) exactly one JSON object. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "core/err.h"
#include "core/jobrun.h"
#include "core/log.h"
#include "core/migrate.h"
#include "demo/demo.h"
#include "features/feat.h"
#include "score/score.h"
#include "train/train.h"

#define VIGIL_VERSION "0.1.0"

#include "service/cli.h"
#include "service/commands.h"
#include "outreach/playbook.h"

/* ---- init ------------------------------------------------------------------
 */

static int run_init(cli *c, int argc, char **argv, vg_error *err)
{
    int json = 0;
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'j')
            json = 1;
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil init --help`");
    }
    db_conn *db = NULL;
    vg_code rc = cli_no_operands("init", argc, argv, err);
    if (rc == VG_OK)
        rc = cli_connect(c, &db, 0, err);
    int from = 0, to = 0;
    if (rc == VG_OK)
        rc = migrate_run(db, &from, &to, err);
    if (rc == VG_OK) {
        if (json) {
            json_t *j =
                json_pack("{s:i, s:i}", "from_version", from, "version", to);
            rc = cli_print_json(j, err);
            json_decref(j);
        } else if (from == to) {
            printf("schema vigil is up to date (version %d)\n", to);
        } else {
            printf("schema vigil upgraded from version %d to %d\n", from, to);
        }
    }
    db_close(db);
    return rc;
}

static const command cmd_init = {
    .name = "init",
    .fn = run_init,
    .summary = "create or upgrade schema vigil",
    .usage = "usage: vigil [global options] init [--json]\n\n"
             "Create schema vigil or upgrade it to this version's migrations. "
             "Safe to "
             "run\n"
             "again, and concurrently.\n",
};

/* ---- demo ------------------------------------------------------------------
 */

/* demo's options into d; --issue values into specs (DEMO_MAX_ISSUES). */
/* --dirty-share: the share of rows made dirty on purpose, at most 0.2 so
 * the demo stays a company worth scoring. */
static vg_code demo_dirty_share(const char *arg, double *out, vg_error *err)
{
    char *end;
    *out = strtod(arg, &end);
    if (end == arg || *end || !(*out >= 0) || *out > 0.2)
        return vg_fail(err, VG_EUSAGE,
                       "--dirty-share must be a number from 0 to 0.2 "
                       "(got '%s')",
                       arg);
    return VG_OK;
}

/* One option of `vigil demo`, already recognised by getopt_long. */
static vg_code demo_set_option(demo_opts *d, const char **specs, int *json,
                               int o, char *arg, vg_error *err)
{
    int v = 0;
    vg_code rc = VG_OK;
    switch (o) {
    case 'n':
        rc = cli_parse_int_opt("--customers", arg, 1, DEMO_MAX_CUSTOMERS, &v,
                               err);
        d->customers = v;
        break;
    case 's':
        rc = cli_parse_int_opt("--seed", arg, 0, 2147483647, &v, err);
        d->seed = (unsigned long)v;
        break;
    case 'e':
        if (date_parse(arg, &d->end_day) != 0)
            rc = vg_fail(err, VG_EUSAGE,
                         "--end '%s' is not a date: use YYYY-MM-DD", arg);
        break;
    case 'h':
        rc = cli_parse_int_opt("--history-days", arg, 120, 3650,
                               &d->history_days, err);
        break;
    case 'w':
        d->world = arg;
        break;
    case 'i':
        if (d->n_issue_specs >= DEMO_MAX_ISSUES)
            rc = vg_fail(err, VG_EUSAGE, "--issue: at most %d issues",
                         DEMO_MAX_ISSUES);
        else
            specs[d->n_issue_specs++] = arg;
        break;
    case 'r':
        rc = cli_parse_int_opt("--random-issues", arg, 0, DEMO_MAX_ISSUES,
                               &d->random_issues, err);
        break;
    case 'P':
        d->no_planted = 1;
        break;
    case 'l':
        rc = demo_parse_languages(arg, d->lang_weight, err);
        break;
    case 'd':
        rc = demo_dirty_share(arg, &d->dirty_share, err);
        break;
    case 'j':
        *json = 1;
        break;
    default:
        rc = vg_fail(err, VG_EUSAGE, "see `vigil demo --help`");
    }
    return rc;
}

static vg_code demo_parse(int argc, char **argv, demo_opts *d,
                          const char **specs, int *json, vg_error *err)
{
    static const struct option opts[] = {
        {"customers", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},
        {"end", required_argument, 0, 'e'},
        {"history-days", required_argument, 0, 'h'},
        {"dirty-share", required_argument, 0, 'd'},
        {"world", required_argument, 0, 'w'},
        {"issue", required_argument, 0, 'i'},
        {"random-issues", required_argument, 0, 'r'},
        {"no-planted-issues", no_argument, 0, 'P'},
        {"languages", required_argument, 0, 'l'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        vg_code rc = demo_set_option(d, specs, json, o, optarg, err);
        if (rc != VG_OK)
            return rc;
    }
    return cli_no_operands("demo", argc, argv, err);
}

/* What was loaded, for people or (json) as one JSON object. */
static vg_code demo_print(const demo_opts *d, const demo_stats *st, int json,
                          vg_error *err)
{
    char e[DATE_BUF];
    date_format(d->end_day, e);
    if (!json) {
        printf("demo company loaded into schema %s (data up to %s): %ld "
               "customers, %ld events, %ld tickets, %ld churned; %ld dirty "
               "events and %ld dirty tickets injected\n",
               d->schema, e, st->customers, st->events, st->tickets,
               st->churned, st->dirty_events, st->dirty_tickets);
        return VG_OK;
    }
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "schema", d->schema, "end",
        e, "customers", (json_int_t)st->customers, "events",
        (json_int_t)st->events, "tickets", (json_int_t)st->tickets, "churned",
        (json_int_t)st->churned, "dirty_events", (json_int_t)st->dirty_events,
        "dirty_tickets", (json_int_t)st->dirty_tickets);
    vg_code rc = cli_print_json(j, err);
    json_decref(j);
    return rc;
}

/* Family lifetime's summaries of the replaced events must go. The demo
 * itself is loaded either way: a role that may not touch vigil's tables
 * gets a warning that says what the owner has to run. */
static void forget_history(cli *c, db_conn *db, const char *schema)
{
    vg_error e;
    vg_error_clear(&e);
    if (feat_history_forget(db, schema, &e) != VG_OK)
        log_warn(&c->log,
                 "could not forget the lifetime summaries of schema %s (%s); "
                 "as vigil's owner run: DELETE FROM vigil.usage_history_cuts "
                 "WHERE source_schema = '%s'",
                 schema, e.msg, schema);
}

static int run_demo(cli *c, int argc, char **argv, vg_error *err)
{
    demo_opts d;
    demo_opts_default(&d);
    d.end_day = date_today();
    d.schema = c->cfg.source_schema;
    d.quiet = c->quiet;
    int json = 0;
    const char *specs[DEMO_MAX_ISSUES];
    d.issue_specs = specs;
    vg_code rc = demo_parse(argc, argv, &d, specs, &json, err);
    if (rc == VG_OK) /* a typo in --world is reported before connecting */
        rc = demo_opts_check(&d, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    demo_stats st;
    memset(&st, 0, sizeof st);
    rc = db_connect(c->dsn, &db, err);
    if (rc == VG_OK)
        rc = demo_generate(db, &d, &st, err);
    if (rc == VG_OK) /* the summaries of the replaced events */
        forget_history(c, db, d.schema);
    if (rc == VG_OK)
        rc = demo_print(&d, &st, json, err);
    db_close(db);
    return rc;
}

static const command cmd_demo = {
    .name = "demo",
    .fn = run_demo,
    .summary = "load the realistic demo company into source.schema",
    .usage =
        "usage: vigil [global options] demo [--customers N] [--seed S] [--end "
        "YYYY-MM-DD]\n"
        "                                  [--history-days N] [--dirty-share "
        "X] "
        "[--world NAME] [--json]\n"
        "                                  [--issue SPEC]... [--random-issues "
        "N] [--no-planted-issues]\n"
        "                                  [--languages en=W,de=W,fr=W,es=W]"
        "\n\n"
        "Drop and re-create customers, usage_events and tickets in "
        "source.schema "
        "(default\n"
        "public) with a deterministic B2B SaaS company: N customers (default "
        "2000), data\n"
        "up to the day before --end (default today), a small share of dirty "
        "rows, "
        "and its\n"
        "ground truth in schema vigil_demo_truth. Never point it at real "
        "data.\n"
        "--world picks what drives churn (" DEMO_WORLDS "):\n"
        "the default saas mixes disengagement, usage collapse and support "
        "friction;\n"
        "the others shift the weight to failed onboarding, support friction, "
        "price\n"
        "increases, the main user leaving, year-end budgets or a silent "
        "fade.\n"
        "Issues: besides the planted SSO outage and broken CSV export (drop "
        "them with\n"
        "--no-planted-issues), --issue injects one more (repeatable, up to "
        "12 with\n"
        "--random-issues N drawn from the seed). SPEC is comma-separated "
        "key=value:\n"
        "  name=KEY (required)  onset=YYYY-MM-DD or -DAYS before --end "
        "(default -20)\n"
        "  shape=step|ramp|burst  days=N (default 14)  langs=all or e.g. "
        "en:fr\n"
        "  size=TICKETS (default 40)  customers=N (default 2 x size)\n"
        "  spike=TOPIC factor=F: more tickets of an existing topic, F times "
        "its\n"
        "  volume at the peak, instead of a new issue with words of its own\n"
        "  feature=NAME code=ERR-1: the product name and error code tickets "
        "quote\n"
        "e.g. --issue "
        "'name=kiosk,onset=2026-10-05,shape=ramp,size=40,langs=de'.\n"
        "The truth is in vigil_demo_truth.emerging_issues and "
        "ticket_topics.\n"
        "--languages sets the customers' language mix (default "
        "en=55,de=20,fr=13,es=12).\n",
};

/* ---- features --------------------------------------------------------------
 */

typedef struct features_args {
    int as_of;
    const char *out; /* --out FILE or "-"; NULL: count only */
    int json, pg_only, explain;
} features_args;

static vg_code features_parse(int argc, char **argv, features_args *a,
                              vg_error *err)
{
    const char *as_of_s = NULL;
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"out", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"pg-only", no_argument, 0, 'p'},
                                         {"explain", no_argument, 0, 'e'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            as_of_s = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'p':
            a->pg_only = 1;
            break;
        case 'e':
            a->explain = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil features --help`");
        }
    }
    if (a->out != NULL && (a->pg_only || a->explain))
        return vg_fail(err, VG_EUSAGE,
                       "--out writes the matrix, which --pg-only and "
                       "--explain do not compute: use one of them");
    if (a->pg_only && a->explain)
        return vg_fail(err, VG_EUSAGE,
                       "--pg-only and --explain do not go together: use one");
    vg_code rc = cli_no_operands("features", argc, argv, err);
    return rc == VG_OK ? cli_parse_as_of(as_of_s, &a->as_of, err) : rc;
}

/* The matrix as the feature stream reads it, chunk by chunk, written as CSV
 * to f (or only counted when f is NULL): a million customers never sit in
 * memory at once. */
static vg_code features_stream(cli *c, db_conn *db, const feat_spec *spec,
                               int as_of, FILE *f, json_t *stats, size_t *nrows,
                               vg_error *err)
{
    feat_request req = {&as_of, 1, 0, 0, -1, 0, c->quiet, NULL};
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    *nrows = 0;
    vg_code rc = db_begin(db, err);
    int in_tx = rc == VG_OK;
    if (rc == VG_OK)
        rc = feat_stream_open(db, &c->cfg, spec, &req, &c->log, 65536, stats,
                              &fs, err);
    if (rc == VG_OK && f)
        feat_write_csv_header(spec, feat_spec_ncols(spec), f);
    while (rc == VG_OK && (rc = feat_stream_next(fs, &m, err)) == VG_OK && m) {
        if (f)
            rc = feat_write_csv_rows(m, f, err);
        *nrows += m->nrows;
        feat_matrix_free(m);
        m = NULL;
    }
    feat_stream_close(fs);
    if (in_tx)
        db_rollback(db); /* read only: nothing to keep */
    return rc;
}

/* `features [--out]`: the streamed matrix, to a file, stdout or nowhere. */
static vg_code features_matrix(cli *c, db_conn *db, const feat_spec *spec,
                               const features_args *a, json_t *stats,
                               size_t *nrows, vg_error *err)
{
    FILE *f = NULL;
    if (a->out)
        f = strcmp(a->out, "-") == 0 ? stdout : fopen(a->out, "w");
    if (a->out && !f)
        return vg_fail(err, VG_EIO, "cannot write %s: %s", a->out,
                       strerror(errno));
    vg_code rc = features_stream(c, db, spec, a->as_of, f, stats, nrows, err);
    if (f && f != stdout && fclose(f) != 0 && rc == VG_OK)
        rc = vg_fail(err, VG_EIO, "writing %s failed", a->out);
    return rc;
}

/* The server writes --pg-only's rows to its own /dev/null, which only a
 * role with pg_write_server_files may do; say so before any query runs. */
static vg_code pg_only_allowed(db_conn *db, vg_error *err)
{
    PGresult *res = NULL;
    vg_code rc = db_exec(
        db,
        "SELECT pg_has_role(current_user, 'pg_write_server_files', 'USAGE')", 0,
        NULL, &res, err);
    if (rc == VG_OK && strcmp(PQgetvalue(res, 0, 0), "t") != 0)
        rc = vg_fail(err, VG_EUSAGE,
                     "--pg-only has the server write to its own /dev/null, "
                     "which needs the pg_write_server_files role: run as a "
                     "role that has it (GRANT pg_write_server_files TO ...)");
    PQclear(res);
    return rc;
}

/* `features --pg-only`: PostgreSQL alone on the queries `score` reads, the
 * way it reads them (ordered, each on a session of its own, all at once, to
 * the server's /dev/null). When the stream would use cursors (a sharded
 * source) the matrix's queries run one after the other instead. */
static vg_code features_pg_only(cli *c, db_conn *db, const feat_spec *spec,
                                int as_of, json_t *stats, vg_error *err)
{
    feat_request req = {&as_of, 1, 0, 0, -1, 0, c->quiet, NULL};
    feat_stream *fs = NULL;
    feat_matrix *m = NULL;
    int streamed = 0;
    vg_code rc = pg_only_allowed(db, err);
    if (rc != VG_OK)
        return rc;
    db_set_copy_sink(db, 1);
    rc = db_run(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    int in_tx = rc == VG_OK;
    if (rc == VG_OK)
        rc = feat_stream_open(db, &c->cfg, spec, &req, &c->log, 32768, stats,
                              &fs, err);
    if (rc == VG_OK && strcmp(feat_stream_read_mode(fs), "copy") == 0) {
        streamed = 1;
        while ((rc = feat_stream_next(fs, &m, err)) == VG_OK && m)
            feat_matrix_free(m); /* never: the rows went to /dev/null */
    }
    feat_stream_close(fs);
    if (in_tx)
        db_rollback(db);
    if (rc == VG_OK && !streamed) {
        rc = feat_build(db, &c->cfg, spec, &req, &c->log, &m, stats, err);
        feat_matrix_free(m);
    }
    json_object_set_new(stats, "pg_only", json_true());
    /* score's queries at once, or the matrix's one after another */
    json_object_set_new(stats, "read",
                        json_string(streamed ? "copy" : "sequential"));
    return rc;
}

/* `features --explain`: the plan of each aggregation query. */
static vg_code features_explain(cli *c, db_conn *db, const feat_spec *spec,
                                const features_args *a, vg_error *err)
{
    int as_of = a->as_of;
    feat_request req = {&as_of, 1, 0, 0, -1, 0, c->quiet, NULL};
    feat_matrix *m = NULL;
    json_t *stats = json_object();
    req.explain = json_object();
    vg_code rc = feat_build(db, &c->cfg, spec, &req, &c->log, &m, stats, err);
    feat_matrix_free(m);
    json_decref(stats);
    if (rc == VG_OK && a->json) {
        rc = cli_print_json(req.explain, err);
    } else if (rc == VG_OK) {
        const char *name;
        json_t *plan;
        json_object_foreach(req.explain, name, plan)
        {
            printf("---- %s query\n%s", name, json_string_value(plan));
        }
    }
    json_decref(req.explain);
    return rc;
}

static int run_features(cli *c, int argc, char **argv, vg_error *err)
{
    features_args a = {0};
    vg_code rc = features_parse(argc, argv, &a, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    feat_spec *spec = NULL;
    json_t *stats = json_object();
    size_t nrows = 0;
    if ((rc = db_connect(c->dsn, &db, err)) != VG_OK)
        goto cleanup;
    if ((rc = feat_spec_discover(db, &c->cfg, a.as_of, &spec, err)) != VG_OK)
        goto cleanup;
    if (a.explain) {
        rc = features_explain(c, db, spec, &a, err);
        goto cleanup;
    }
    double t0 = cli_now_s();
    rc = a.pg_only ? features_pg_only(c, db, spec, a.as_of, stats, err)
                   : features_matrix(c, db, spec, &a, stats, &nrows, err);
    if (rc != VG_OK)
        goto cleanup;
    char d[DATE_BUF];
    date_format(a.as_of, d);
    json_object_set_new(stats, "as_of", json_string(d));
    json_object_set_new(stats, "customers", json_integer((json_int_t)nrows));
    json_object_set_new(stats, "features",
                        json_integer((json_int_t)feat_spec_ncols(spec)));
    json_object_set_new(stats, "elapsed_seconds", json_real(cli_now_s() - t0));
    json_object_set_new(stats, "cli_peak_rss_mb", json_real(cli_peak_rss_mb()));
    if (a.json)
        rc = cli_print_json(stats, err);
    else if (a.pg_only)
        printf("PostgreSQL alone: the feature queries for %s took %.2f s\n", d,
               json_real_value(json_object_get(stats, "elapsed_seconds")));
    else if (!a.out)
        printf("%zu customers active on %s, %zu features (use --out FILE.csv "
               "to write them)\n",
               nrows, d, feat_spec_ncols(spec));
    else if (strcmp(a.out, "-") != 0)
        printf("%zu customers active on %s, %zu features, written to %s\n",
               nrows, d, feat_spec_ncols(spec), a.out);
cleanup:
    json_decref(stats);
    feat_spec_free(spec);
    db_close(db);
    return rc;
}

static const command cmd_features = {
    .name = "features",
    .fn = run_features,
    .summary = "compute the feature matrix as of a date",
    .usage =
        "usage: vigil [global options] features [--as-of YYYY-MM-DD] [--out "
        "FILE.csv|-] [--json]\n"
        "                                      [--pg-only] [--explain]\n\n"
        "Compute every active customer's features from rows strictly before "
        "the "
        "as-of\n"
        "date (default today, UTC) and report skipped rows. --out writes the "
        "matrix as\n"
        "CSV (- for stdout). --pg-only (benchmarking) runs the queries "
        "score reads, as it\n"
        "reads them (all at once, each on a session of its own), with COPY "
        "... TO\n"
        "'/dev/null' on the server and reports PostgreSQL's time alone "
        "(needs a role\n"
        "that may write server files). --explain prints the plan "
        "of each\n"
        "aggregation query instead of running it (EXPLAIN VERBOSE): on a "
        "sharded "
        "source,\n"
        "\"Relations: Aggregate on\" lines show the aggregation running on the "
        "shards.\n",
};

/* ---- train -----------------------------------------------------------------
 */

static vg_code train_body(cli *c, db_conn *db, void *arg, json_t **summary,
                          vg_error *err)
{
    return train_run(db, &c->cfg, &c->log, arg, summary, err);
}

/* Which optional feature families the model uses; with the automatic
 * choice, the held-out log loss with and without each one. */
static void print_families(const json_t *f)
{
    json_t *tried = json_object_get(f, "tried"), *v;
    size_t i;
    if (!json_is_object(f) ||
        (json_array_size(json_object_get(f, "kept")) +
         json_array_size(json_object_get(f, "dropped"))) == 0)
        return;
    printf("  feature families (%s):",
           json_string_value(json_object_get(f, "choice")));
    json_array_foreach(json_object_get(f, "kept"), i, v)
        printf(" %s kept", json_string_value(v));
    json_array_foreach(json_object_get(f, "dropped"), i, v)
        printf(" %s dropped", json_string_value(v));
    printf("\n");
    json_array_foreach(tried, i, v)
        printf("    %s: held-out log loss %.5f with it, %.5f without\n",
               json_string_value(json_object_get(v, "family")),
               json_number_value(json_object_get(v, "logloss_with")),
               json_number_value(json_object_get(v, "logloss_without")));
}

/* With the automatic step choice: which observation dates the model was
 * fitted on, and the held-out log loss of each candidate. */
static void print_step(const json_t *st)
{
    json_t *c = json_object_get(st, "candidates"), *v;
    size_t i;
    if (json_array_size(c) == 0)
        return;
    printf("  observation dates (auto): %s kept (%d dates)\n",
           json_integer_value(json_object_get(st, "every_nth")) > 1
               ? "about monthly"
               : "every one",
           (int)json_integer_value(json_object_get(st, "observation_dates")));
    json_array_foreach(c, i, v)
        printf("    %d dates about %d days apart: held-out log loss %.5f\n",
               (int)json_integer_value(json_object_get(v, "observation_dates")),
               (int)json_integer_value(json_object_get(v, "days_apart")),
               json_number_value(json_object_get(v, "holdout_logloss")));
}

static void print_train(db_conn *db, const json_t *s)
{
    json_t *m = json_object_get(s, "metrics"),
           *b = json_object_get(s, "baseline");
    printf("model %lld trained as of %s: %lld rows (%lld churned), %lld "
           "features, validation: %s\n",
           (long long)json_integer_value(json_object_get(s, "model_id")),
           json_string_value(json_object_get(s, "as_of")),
           (long long)json_integer_value(json_object_get(s, "rows")),
           (long long)json_integer_value(json_object_get(s, "positives")),
           (long long)json_integer_value(json_object_get(s, "features")),
           json_string_value(json_object_get(s, "validation")));
    const char *kind = json_string_value(json_object_get(s, "model_kind"));
    printf("  kind: %s\n",
           kind && !strcmp(kind, "linear")
               ? "linear (regularised, XGBoost gblinear): it matched or beat "
                 "the trees on the held-out rows"
               : "trees (XGBoost): better than the linear model on the "
                 "held-out rows");
    print_step(json_object_get(s, "observation_step"));
    print_families(json_object_get(s, "families"));
    printf("  %-10s %8s %8s %8s %8s %8s\n", "", "ROC AUC", "PR AUC", "Brier",
           "log loss", "lift@10%");
    const json_t *rows[2] = {m, b};
    const char *names[2] = {"model", "baseline"};
    for (int i = 0; i < 2; i++) {
        if (!rows[i])
            continue;
        printf("  %-10s %8.3f %8.3f %8.4f %8.4f %8.2f\n", names[i],
               json_number_value(json_object_get(rows[i], "auc")),
               json_number_value(json_object_get(rows[i], "pr_auc")),
               json_number_value(json_object_get(rows[i], "brier")),
               json_number_value(json_object_get(rows[i], "logloss")),
               json_number_value(json_object_get(rows[i], "lift_top_decile")));
    }
    json_t *ch = json_object_get(s, "champion");
    printf("  champion: %s\n",
           json_string_value(json_object_get(ch, "decision")));
}

static int run_train(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0;
    train_opts t = {0, c->cfg.train_horizon_days, c->cfg.train_lookback_days,
                    c->cfg.train_step_days, c->quiet};
    static const struct option opts[] = {
        {"as-of", required_argument, 0, 'a'},
        {"horizon", required_argument, 0, 'H'},
        {"lookback", required_argument, 0, 'l'},
        {"step", required_argument, 0, 's'},
        {"json", no_argument, 0, 'j'},
        CLI_FORCE_OPTION,
        {0, 0, 0, 0}};
    int o;
    vg_code rc = VG_OK;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            as_of_s = optarg;
            break;
        case 'H':
            rc = cli_parse_int_opt("--horizon", optarg, 1, 730, &t.horizon_days,
                                   err);
            break;
        case 'l':
            rc = cli_parse_int_opt("--lookback", optarg, 0, 3650,
                                   &t.lookback_days, err);
            break;
        case 's':
            rc = cli_parse_int_opt("--step", optarg, 1, 365, &t.step_days, err);
            break;
        case 'F':
            c->force = 1;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil train --help`");
        }
        if (rc != VG_OK)
            return rc;
    }
    if ((rc = cli_no_operands("train", argc, argv, err)) != VG_OK ||
        (rc = cli_parse_as_of(as_of_s, &t.as_of, err)) != VG_OK)
        return rc;
    return cli_job_command(c, "train", t.as_of, train_body, &t, json,
                           print_train, err);
}

static const command cmd_train = {
    .name = "train",
    .fn = run_train,
    .summary = "train a churn model as of a date",
    .usage =
        "usage: vigil [global options] train [--as-of D] [--horizon DAYS] "
        "[--lookback DAYS]\n"
        "                                   [--step DAYS] [--force] "
        "[--json]\n\n"
        "Label customers at observation dates D-H-k*step (k = 0, 1, ... "
        "within the\n"
        "lookback). Settings and rounds are chosen on rows at least H days "
        "after the\n"
        "rows the trees were fitted on (purged validation); the reported "
        "metrics come\n"
        "from the newest date D-H, held out the same way; the stored model is "
        "refitted\n"
        "on every date and calibrated on predictions its trees never saw. "
        "It becomes\n"
        "champion when it is not worse than the current one on the same "
        "rows.\n" CLI_FORCE_HELP,
};

/* ---- score -----------------------------------------------------------------
 */

typedef struct score_arg {
    int as_of;
    long long model_id;
} score_arg;

static vg_code score_body(cli *c, db_conn *db, void *arg, json_t **summary,
                          vg_error *err)
{
    score_arg *a = arg;
    const score_guard guard = {cli_date_guard_fn, c};
    return score_run(db, &c->cfg, &c->log, a->as_of, a->model_id, c->quiet,
                     &guard, summary, err);
}

static void print_score(db_conn *db, const json_t *s)
{
    json_t *tiers = json_object_get(s, "tiers");
    printf("scored %lld customers as of %s with model %lld\n",
           (long long)json_integer_value(json_object_get(s, "scored")),
           json_string_value(json_object_get(s, "as_of")),
           (long long)json_integer_value(json_object_get(s, "model_id")));
    for (int i = 0; i < SCORE_NTIERS; i++)
        printf("  %-9s %6lld\n", score_tier_name(i),
               (long long)json_integer_value(
                   json_object_get(tiers, score_tier_name(i))));
    /* The riskiest customers and why: what a specialist looks at first. */
    json_t *rows = NULL;
    if (score_riskiest(db, json_string_value(json_object_get(s, "as_of")), 10,
                       &rows, NULL) == VG_OK &&
        json_array_size(rows) > 0)
        printf("riskiest customers:\n");
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
    {
        printf("  %-10s risk %.3f  health %3lld  %-8s %s\n",
               json_string_value(json_object_get(row, "customer_id")),
               json_real_value(json_object_get(row, "churn_risk")),
               (long long)json_integer_value(json_object_get(row, "health")),
               json_string_value(json_object_get(row, "tier")),
               json_string_value(json_object_get(row, "reasons")));
    }
    json_decref(rows);
}

static int run_score(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0, model = 0;
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"model", required_argument, 0, 'm'},
                                         {"json", no_argument, 0, 'j'},
                                         CLI_FORCE_OPTION,
                                         {0, 0, 0, 0}};
    int o;
    vg_code rc = VG_OK;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'a':
            as_of_s = optarg;
            break;
        case 'm':
            rc = cli_parse_int_opt("--model", optarg, 1, 2147483647, &model,
                                   err);
            break;
        case 'F':
            c->force = 1;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil score --help`");
        }
        if (rc != VG_OK)
            return rc;
    }
    score_arg a = {0, model};
    if ((rc = cli_no_operands("score", argc, argv, err)) != VG_OK ||
        (rc = cli_parse_as_of(as_of_s, &a.as_of, err)) != VG_OK)
        return rc;
    return cli_job_command(c, "score", a.as_of, score_body, &a, json,
                           print_score, err);
}

static const command cmd_score = {
    .name = "score",
    .fn = run_score,
    .summary = "score every active customer as of a date",
    .usage =
        "usage: vigil [global options] score [--as-of D] [--model ID] "
        "[--force] "
        "[--json]\n\n"
        "Score every customer active at D with the champion model (or --model "
        "ID):\n"
        "churn_risk, health, tier and drivers, replacing D's rows in "
        "vigil.scores.\n" CLI_FORCE_HELP,
};

static int run_config_keys(cli *c, int argc, char **argv, vg_error *err)
{
    static const struct option opts[] = {{0, 0, 0, 0}};
    if (getopt_long(argc, argv, "", opts, NULL) != -1)
        return vg_fail(err, VG_EUSAGE, "see `vigil config-keys --help`");
    if (cli_no_operands("config-keys", argc, argv, err) != VG_OK)
        return VG_EUSAGE;
    cfg_print_keys(stdout);
    outreach_print_keys(stdout);
    deliver_print_keys(stdout);
    return VG_OK;
}

static const command cmd_config_keys = {
    .name = "config-keys",
    .fn = run_config_keys,
    .summary = "print every configuration key as a Markdown table",
    .usage = "usage: vigil config-keys\n",
};

/* The order of `vigil --help`. */
static const command *const commands[] = {
    &cmd_init,     &cmd_demo,        &cmd_features,    &cmd_train, &cmd_score,
    &cmd_backtest, &cmd_topics,      &cmd_outreach,    &cmd_tasks, &cmd_deliver,
    &cmd_customer, &cmd_specialists, &cmd_daily,       &cmd_serve, &cmd_report,
    &cmd_runs,     &cmd_check,       &cmd_config_keys,
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out,
            "usage: vigil [--dsn DSN] [--config FILE] [--log-level L] "
            "[--log-format text|json]\n"
            "             [--quiet] COMMAND [options]\n\n"
            "--quiet turns off progress and informational logs (progress is "
            "shown only on\n"
            "a terminal anyway). --version prints the version.\n\n"
            "vigil scores churn risk from your PostgreSQL data. Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fprintf(out, "\nThe DSN comes from --dsn, else VIGIL_DSN, else "
                 "DATABASE_URL, else libpq's PG*\n"
                 "variables. `vigil COMMAND --help` describes a command. Exit "
                 "status: 0 success,\n"
                 "2 usage, 3 config, 4 database, 5 not enough data, 6 no "
                 "model, 7 file, 8 out of\nmemory, 9 model, 10 canceled, 11 "
                 "a run for that date is in progress, 12 check\nfound "
                 "warnings only, 1 anything else.\n");
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

/* The options before the command. Returns -1 to go on, else the exit
 * status (0 after --help or --version, 2 on a usage error). */
static int global_options(cli *c, int argc, char **argv, const char **level,
                          const char **format)
{
    static const struct option gopts[] = {
        {"dsn", required_argument, 0, 'd'},
        {"config", required_argument, 0, 'c'},
        {"log-level", required_argument, 0, 'L'},
        {"log-format", required_argument, 0, 'F'},
        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},
        {"version", no_argument, 0, 'V'},
        /* internal: `serve` passes the scheduled time to the job it runs */
        {"scheduled-for", required_argument, 0, 'S'},
        /* internal: `serve` passes the job_runs row it claimed */
        {"run-id", required_argument, 0, 'R'},
        {0, 0, 0, 0}};
    int o;
    /* '+' stops at the first non-option: the command name. */
    while ((o = getopt_long(argc, argv, "+hq", gopts, NULL)) != -1) {
        switch (o) {
        case 'd':
            c->dsn = optarg;
            break;
        case 'c':
            c->config_path = optarg;
            break;
        case 'L':
            *level = optarg;
            break;
        case 'F':
            *format = optarg;
            break;
        case 'q':
            c->quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("vigil %s\n", VIGIL_VERSION);
            return 0;
        case 'S':
            c->scheduled_for = optarg;
            break;
        case 'R':
            c->run_id = atoll(optarg);
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

/* The log's level and format: the config's, then --quiet, then the
 * options. Returns 0, or 2 after a usage error. */
static int log_options(cli *c, const char *level, const char *format)
{
    c->log.level = c->cfg.log_level;
    if (c->quiet && c->log.level < LOG_LVL_WARN)
        c->log.level = LOG_LVL_WARN; /* --quiet: only what needs attention */
    c->log.json = c->cfg.log_json;
    if (level && log_level_parse(level, &c->log.level) != 0) {
        fprintf(stderr,
                "vigil: --log-level must be debug, info, warn, error or off\n");
        return 2;
    }
    if (format && strcmp(format, "text") && strcmp(format, "json")) {
        fprintf(stderr, "vigil: --log-format must be text or json\n");
        return 2;
    }
    if (format)
        c->log.json = !strcmp(format, "json");
    return 0;
}

/* XGBoost's OpenMP threads spin while they wait by default (policy
 * "active"): between prediction batches and boosting rounds they burn the
 * cores PostgreSQL is aggregating on — 14% of score's CPU at a million
 * customers, 3-4x the CPU of a backtest on a busy machine
 * (docs/BENCHMARKS.md, issue 9 and 13, sixth session). libgomp reads the
 * policy once, when it is loaded, before main, so setting it here would
 * change nothing for this process: vigil sets it and executes itself again,
 * once (the variable, now set, ends the loop). A policy already in the
 * environment is the operator's choice and kept. */
static void openmp_threads_sleep(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") != NULL ||
        setenv("OMP_WAIT_POLICY", "passive", 0) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* No /proc (or the binary was replaced): run on as we are; spinning
     * costs CPU, never results. */
}

int main(int argc, char **argv)
{
    openmp_threads_sleep(argv);
    cli c;
    memset(&c, 0, sizeof c);
    cfg_defaults(&c.cfg);
    log_init(&c.log);
    vg_error err;
    vg_error_clear(&err);
    const char *level = NULL, *format = NULL;
    int status = global_options(&c, argc, argv, &level, &format);
    if (status >= 0)
        return status;
    const char *name = argv[optind];
    const command *cmd = NULL;
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i]->name, name))
            cmd = commands[i];
    if (!cmd) {
        fprintf(stderr, "vigil: unknown command '%s' (see `vigil --help`)\n",
                name);
        return 2;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (wants_help(sub_argc, sub_argv)) {
        fputs(cmd->usage ? cmd->usage : "This command is not available yet.\n",
              stdout);
        return 0;
    }
    if (!c.config_path)
        c.config_path = getenv("VIGIL_CONFIG");
    if (cli_load_config(&c, &err) != VG_OK) {
        fprintf(stderr, "vigil: %s\n", err.msg);
        cli_release(&c);
        return vg_code_exit_status(err.code);
    }
    if ((status = log_options(&c, level, format)) != 0) {
        cli_release(&c);
        return status;
    }
    optind = 1; /* getopt restarts for the command's own options */
    vg_code rc = cmd->fn(&c, sub_argc, sub_argv, &err);
    cli_release(&c);
    if (rc != VG_OK) {
        fprintf(stderr, "vigil %s: %s\n", name,
                err.msg[0] ? err.msg : vg_code_name(rc));
        if (c.run_id > 0 && rc == VG_EDBDOWN)
            return 75; /* EX_TEMPFAIL: serve retries the job */
        return vg_code_exit_status(rc);
    }
    return 0;
}
