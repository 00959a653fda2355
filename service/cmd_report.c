/* cmd_report.c — `vigil report`: parses the options, writes the page with
 * report/report.h and prints a one-line summary or the --json object. */
#include "service/commands.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"

static void print_report(json_t *s)
{
    json_t *sec = json_object_get(s, "sections");
    json_t *rows = json_object_get(s, "rows");
    printf("report as of %s written to %s (%lld bytes)",
           json_string_value(json_object_get(s, "as_of")),
           json_string_value(json_object_get(s, "out")),
           (long long)json_integer_value(json_object_get(s, "bytes")));
    printf(": %lld score dates, %lld customers, %lld topics, %lld open "
           "alerts\n",
           (long long)json_integer_value(json_object_get(rows, "tiers")),
           (long long)json_integer_value(json_object_get(rows, "customers")),
           (long long)json_integer_value(json_object_get(rows, "topics")),
           (long long)json_integer_value(json_object_get(rows, "alerts")));
    const char *key;
    json_t *v;
    json_object_foreach(sec, key, v)
    {
        const char *state = json_string_value(v);
        if (state && strcmp(state, "data"))
            printf("  section %s: %s\n", key,
                   strcmp(state, "error") ? "no data yet (the report says "
                                            "what to run)"
                                          : "could not be read (see the "
                                            "warning above)");
    }
}

/* One option of `vigil report`, already recognised by getopt_long. */
static vg_code report_set_option(report_opts *o, const char **as_of_s,
                                 int *json, int opt, const char *arg,
                                 vg_error *err)
{
    switch (opt) {
    case 'a':
        *as_of_s = arg;
        return VG_OK;
    case 'o':
        o->out_path = arg;
        return VG_OK;
    case 'j':
        *json = 1;
        return VG_OK;
    case 'n':
        return cli_parse_int_opt("--dates", arg, 1, 366, &o->score_dates, err);
    case 't':
        return cli_parse_int_opt("--top", arg, 1, 1000, &o->top_customers, err);
    case 'd':
        return cli_parse_int_opt("--days", arg, 1, 366, &o->trend_days, err);
    case 'k':
        return cli_parse_int_opt("--topics", arg, 1, 100, &o->top_topics, err);
    default:
        return vg_fail(err, VG_EUSAGE, "see `vigil report --help`");
    }
}

static vg_code report_parse(int argc, char **argv, report_opts *o, int *json,
                            vg_error *err)
{
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"out", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"dates", required_argument, 0, 'n'},
                                         {"top", required_argument, 0, 't'},
                                         {"days", required_argument, 0, 'd'},
                                         {"topics", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    const char *as_of_s = NULL;
    int opt;
    vg_code rc = VG_OK;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1)
        if ((rc = report_set_option(o, &as_of_s, json, opt, optarg, err)) !=
            VG_OK)
            return rc;
    if ((rc = cli_no_operands("report", argc, argv, err)) != VG_OK)
        return rc;
    if (!o->out_path || !*o->out_path)
        return vg_fail(
            err, VG_EUSAGE,
            "--out FILE.html is required: where to write the report");
    return cli_parse_as_of(as_of_s, &o->as_of, err);
}

static int run_report(cli *c, int argc, char **argv, vg_error *err)
{
    int json = 0;
    report_opts o;
    report_opts_default(&o);
    vg_code rc = report_parse(argc, argv, &o, &json, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *summary = NULL;
    double t0 = cli_now_s();
    rc = cli_connect(c, &db, 1, err);
    if (rc == VG_OK)
        rc = report_write(db, &c->cfg, &c->log, &o, &summary, err);
    if (rc == VG_OK) {
        json_object_set_new(summary, "elapsed_seconds",
                            json_real(cli_now_s() - t0));
        if (json)
            rc = cli_print_json(summary, err);
        else
            print_report(summary);
    }
    json_decref(summary);
    db_close(db);
    return rc;
}

const command cmd_report = {
    .name = "report",
    .fn = run_report,
    .summary = "write the self-contained HTML report as of a date",
    .usage =
        "usage: vigil [global options] report [--as-of D] --out FILE.html "
        "[--json]\n"
        "                                    [--dates N] [--top N] [--days N] "
        "[--topics N]\n\n"
        "Write one self-contained HTML page (inline CSS and SVG, no scripts, "
        "no "
        "external\n"
        "resources) as of D (default today, UTC): the model and its validation "
        "metrics,\n"
        "the tier distribution over the last --dates score dates (default 12), "
        "the\n"
        "calibration curve, the --top riskiest customers and why (default 20), "
        "daily\n"
        "tickets of the --topics busiest topics over the --days before D "
        "(defaults 8\n"
        "and 30) and the open trend alerts. Nothing dated after D is shown. A "
        "section\n"
        "without data says which command to run. FILE is replaced "
        "atomically.\n",
};
