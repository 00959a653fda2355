/* cmd_daily.c — `vigil daily`: score, topics and outreach for one date in
 * order, as one job (one vigil.job_runs row, which `serve` claims for it). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "outreach/playbook.h"
#include "outreach/queue.h"
#include "score/score.h"
#include "service/cli.h"
#include "service/commands.h"
#include "topics/engine.h"

typedef struct daily_arg {
    int as_of, replay;
} daily_arg;

/* Each step commits on its own: scores stay written when topics fails, and
 * a re-run replaces each step's results for the date. A missing champion
 * model skips scoring (a new installation has none until the weekly train)
 * instead of blocking topics and outreach. */
static vg_code daily_body(cli *c, db_conn *db, void *arg, json_t **summary,
                          vg_error *err)
{
    daily_arg *a = arg;
    json_t *out = json_object(), *s = NULL;
    const score_guard guard = {cli_date_guard_fn, c};
    vg_code rc =
        score_run(db, &c->cfg, &c->log, a->as_of, 0, c->quiet, &guard, &s, err);
    if (rc == VG_ENOMODEL) {
        log_warn(&c->log, "daily: scoring skipped: %s", err->msg);
        json_object_set_new(out, "score",
                            json_pack("{s:s}", "skipped", err->msg));
        vg_error_clear(err);
        /* scoring stopped before its date guard: the guard now, before
         * topics and outreach write */
        rc = cli_date_guard(c, db, err);
    } else if (rc == VG_OK) {
        json_object_set_new(out, "score", s);
        s = NULL;
    }
    if (rc == VG_OK) {
        topics_opts t;
        memset(&t, 0, sizeof t);
        t.as_of = a->as_of;
        t.replay = a->replay;
        /* A catch-up run for a missed day must not fail on (or rewrite) the
         * newer topics an hourly run already wrote. */
        t.skip_if_later = !a->replay;
        t.quiet = c->quiet;
        rc = topics_run(db, &c->cfg, &c->log, &t, &s, err);
        if (rc == VG_OK) {
            json_object_set_new(out, "topics", s);
            s = NULL;
        }
    }
    if (rc == VG_OK) {
        rc = outreach_run(db, &c->cfg, c->oc, &c->dc, &c->log, a->as_of, &s,
                          err);
        if (rc == VG_OK) {
            json_object_set_new(out, "outreach", s);
            s = NULL;
        }
    }
    json_decref(s);
    char day[DATE_BUF];
    date_format(a->as_of, day);
    json_object_set_new(out, "as_of", json_string(day));
    *summary = out;
    return rc;
}

static long long jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static void print_daily(db_conn *db, const json_t *summary)
{
    json_t *sc = json_object_get(summary, "score"),
           *tp = json_object_get(summary, "topics"),
           *ou = json_object_get(summary, "outreach");
    printf("daily run as of %s\n",
           json_string_value(json_object_get(summary, "as_of")));
    /* a string: why the step was skipped (an object: dirty rows) */
    if (json_is_string(json_object_get(sc, "skipped")))
        printf("  score:    skipped (%s)\n",
               json_string_value(json_object_get(sc, "skipped")));
    else
        printf("  score:    %lld customers scored\n", jint(sc, "scored"));
    if (json_is_string(json_object_get(tp, "skipped")))
        printf("  topics:   skipped (%s)\n",
               json_string_value(json_object_get(tp, "skipped")));
    else
        printf("  topics:   %lld topics, %lld open trend alerts\n",
               jint(tp, "topics"), jint(tp, "alerts"));
    printf("  outreach: %lld tasks created, %lld assigned\n",
           jint(ou, "created"), jint(ou, "assigned"));
}

static int run_daily(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0;
    daily_arg a = {0, 0};
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"replay", no_argument, 0, 'p'},
                                         {"json", no_argument, 0, 'j'},
                                         CLI_FORCE_OPTION,
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'a')
            as_of_s = optarg;
        else if (o == 'p')
            a.replay = 1;
        else if (o == 'F')
            c->force = 1;
        else if (o == 'j')
            json = 1;
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil daily --help`");
    }
    vg_code rc = cli_no_operands("daily", argc, argv, err);
    if (rc == VG_OK)
        rc = cli_parse_as_of(as_of_s, &a.as_of, err);
    if (rc != VG_OK)
        return rc;
    return cli_job_command(c, "daily", a.as_of, daily_body, &a, json,
                           print_daily, err);
}

const command cmd_daily = {
    .name = "daily",
    .fn = run_daily,
    .summary = "score, topics and outreach in order for a date",
    .usage =
        "usage: vigil [global options] daily [--as-of D] [--replay] [--force] "
        "[--json]\n\n"
        "Run score, topics and outreach for D (default today, UTC) in that "
        "order, "
        "as one\n"
        "job in vigil.job_runs. Each step replaces its own results for D in "
        "its "
        "own\n"
        "transaction. Without a champion model scoring is skipped (with a "
        "warning) and\n"
        "topics and outreach still run; when topics already ran for a later "
        "date (a\n"
        "catch-up after downtime) the topics step is skipped, unless --replay "
        "rewrites\n"
        "it (see `vigil topics --help`). The JSON summary nests each step's "
        "summary under \"score\", "
        "\"topics\"\n"
        "and \"outreach\".\n" CLI_FORCE_HELP,
};
