/* cmd_topics.c — `vigil topics`: ticket topics and trend alerts as of a date,
 * with a readable summary of the open alerts or one JSON object. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "service/cli.h"
#include "service/commands.h"
#include "topics/engine.h"

static vg_code topics_body(cli *c, db_conn *db, void *arg, json_t **summary,
                           vg_error *err)
{
    return topics_run(db, &c->cfg, &c->log, arg, summary, err);
}

static void print_topics(db_conn *db, const json_t *s)
{
    printf("topics as of %s: %lld topics (%s), %lld tickets assigned, %lld "
           "without a topic\n",
           json_string_value(json_object_get(s, "as_of")),
           (long long)json_integer_value(json_object_get(s, "topics")),
           json_is_true(json_object_get(s, "refit")) ? "refitted"
                                                     : "incremental",
           (long long)json_integer_value(json_object_get(s, "assigned")),
           (long long)json_integer_value(json_object_get(s, "unassigned")));
    printf(
        "trend alerts: %lld open (%lld raised, %lld updated, %lld resolved "
        "today)\n",
        (long long)json_integer_value(json_object_get(s, "alerts")),
        (long long)json_integer_value(json_object_get(s, "alerts_raised")),
        (long long)json_integer_value(json_object_get(s, "alerts_updated")),
        (long long)json_integer_value(json_object_get(s, "alerts_resolved")));
    const json_t *bf = json_object_get(s, "backfill");
    if (bf)
        printf(
            "alert history built for %lld days from %s: %lld alerts "
            "raised, %lld resolved\n",
            (long long)json_integer_value(json_object_get(bf, "days")),
            json_string_value(json_object_get(bf, "from")),
            (long long)json_integer_value(json_object_get(bf, "alerts_raised")),
            (long long)json_integer_value(
                json_object_get(bf, "alerts_resolved")));
    PGresult *r = NULL;
    if (db_exec(db,
                "SELECT a.kind, coalesce(a.label, ''), a.observed, "
                " round(a.expected::numeric, 1), a.p_value, "
                " CASE WHEN a.source = 'terms' THEN a.detected_at::date "
                " ELSE a.window_start END, "
                " a.customers, a.mrr_at_risk, "
                " array_to_string(a.sample_ticket_ids[1:3], ', '), "
                " coalesce(' (' || array_to_string(a.languages, ', ') || "
                " ')', '') "
                "FROM vigil.trend_alerts a WHERE a.status = 'open' "
                "ORDER BY a.p_value, a.alert_id LIMIT 10",
                0, NULL, &r, NULL) == VG_OK) {
        for (int i = 0; i < PQntuples(r); i++)
            printf(
                "  [%s] \"%s\" since %s: %s tickets (%s expected, p = %.2g), "
                "%s customers%s, MRR %s; e.g. %s\n",
                PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 5),
                PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                atof(PQgetvalue(r, i, 4)), PQgetvalue(r, i, 6),
                PQgetvalue(r, i, 9), PQgetvalue(r, i, 7), PQgetvalue(r, i, 8));
    }
    PQclear(r);
}

static int run_topics(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0;
    topics_opts t;
    memset(&t, 0, sizeof t);
    t.quiet = c->quiet;
    static const struct option opts[] = {
        {"as-of", required_argument, 0, 'a'},
        {"k", required_argument, 0, 'k'},
        {"refit", no_argument, 0, 'r'},
        {"incremental", no_argument, 0, 'i'},
        {"replay", no_argument, 0, 'p'},
        {"backfill", required_argument, 0, 'b'},
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
        case 'k':
            rc = cli_parse_int_opt("--k", optarg, 1, 500, &t.k, err);
            break;
        case 'r':
            t.refit = 1;
            break;
        case 'i':
            t.incremental = 1;
            break;
        case 'p':
            t.replay = 1;
            break;
        case 'F':
            c->force = 1;
            break;
        case 'b':
            rc = cli_parse_int_opt("--backfill", optarg, 1, 365, &t.backfill,
                                   err);
            break;
        case 'j':
            json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil topics --help`");
        }
        if (rc != VG_OK)
            return rc;
    }
    if (t.incremental && (t.refit || t.k || t.backfill))
        return vg_fail(err, VG_EUSAGE,
                       "--incremental cannot be combined "
                       "with --refit, --k or --backfill");
    if ((rc = cli_no_operands("topics", argc, argv, err)) != VG_OK ||
        (rc = cli_parse_as_of(as_of_s, &t.as_of, err)) != VG_OK)
        return rc;
    return cli_job_command(c, "topics", t.as_of, topics_body, &t, json,
                           print_topics, err);
}

const command cmd_topics = {
    .name = "topics",
    .fn = run_topics,
    .summary = "ticket topics and trend alerts as of a date",
    .usage =
        "usage: vigil [global options] topics [--as-of D] [--k N] [--refit | "
        "--incremental]\n"
        "                                    [--replay] [--backfill DAYS] "
        "[--force] [--json]\n\n"
        "Find recurring ticket topics among tickets created before D (default "
        "today, UTC)\n"
        "and raise, update or resolve trend alerts for D. A full re-clustering "
        "of "
        "the last\n"
        "topics.window_days of tickets runs when the latest topic model is "
        "topics.refit_days\n"
        "old (or with --refit, or --k N to fix the number of topics); topics "
        "keep "
        "their\n"
        "ids across refits. Otherwise (or with --incremental) tickets without "
        "a "
        "topic are\n"
        "assigned to the latest model. Running a date earlier than the latest "
        "run is\n"
        "refused unless --replay, which rewrites that date and drops later "
        "results: replay\n"
        "a range by running each day in order.\n\n"
        "Alerts come from topics that grow and from new issues found by their "
        "words (error\n"
        "codes, versions, phrases never seen before), one alert per issue. The "
        "first run\n"
        "on an installation (or --backfill DAYS) first builds the alert "
        "history "
        "of the\n"
        "topics.backfill_days (60) days before D, so the feed starts with "
        "history.\n" CLI_FORCE_HELP,
};
