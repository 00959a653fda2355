/* cmd_check.c — `vigil check`, the doctor: prints what features/doctor.c
 * found about the source mapping, most severe first, and a one-line
 * verdict. Exit status follows the worst finding: 0 ready, 12 warnings
 * only, 5 errors. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "core/date.h"
#include "features/doctor.h"
#include "service/cli.h"
#include "service/commands.h"

static long long jint(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static void print_relation(const char *name, const json_t *jr)
{
    if (!json_is_true(json_object_get(jr, "exists"))) {
        printf("  %-13s missing\n", name);
        return;
    }
    const char *from = json_string_value(json_object_get(jr, "from")),
               *to = json_string_value(json_object_get(jr, "to"));
    printf("  %-13s %s, %lld rows", name,
           json_string_value(json_object_get(jr, "kind")), jint(jr, "rows"));
    if (from && to)
        printf(", %s to %s", from, to);
    printf("\n");
    const char *col;
    json_t *c;
    int bad = 0;
    json_object_foreach(json_object_get(jr, "columns"), col, c)
    {
        const char *st = json_string_value(json_object_get(c, "status"));
        if (strcmp(st, "ok"))
            printf("%s%s %s", bad++ ? ", " : "                columns: ", col,
                   st);
    }
    if (bad)
        printf("\n");
}

static void print_report(const json_t *rep)
{
    printf("vigil check: source schema %s, as of %s\n",
           json_string_value(json_object_get(rep, "schema")),
           json_string_value(json_object_get(rep, "as_of")));
    const char *name;
    json_t *jr;
    json_object_foreach(json_object_get(rep, "relations"), name, jr)
        print_relation(name, jr);
    json_t *lab = json_object_get(rep, "labels");
    if (lab)
        printf("  churn labels  %lld customers canceled between %s and %s "
               "(train's span), %lld active on %s\n",
               jint(lab, "canceled_in_training_window"),
               json_string_value(json_object_get(lab, "window_from")),
               json_string_value(json_object_get(lab, "window_to")),
               jint(lab, "active_on_as_of"),
               json_string_value(json_object_get(rep, "as_of")));
    const char *latest = json_string_value(json_object_get(rep, "latest_data"));
    if (latest)
        printf("  latest data   %s\n", latest);
    static const char *const levels[3] = {"error", "warning", "note"};
    static const char *const shown[3] = {"ERROR", "WARN ", "note "};
    for (int l = 0; l < 3; l++) {
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(rep, "findings"), i, f)
        {
            if (strcmp(json_string_value(json_object_get(f, "level")),
                       levels[l]))
                continue;
            const char *rel = json_string_value(json_object_get(f, "relation"));
            const char *msg = json_string_value(json_object_get(f, "message"));
            /* Messages that name no relation themselves get it in front. */
            if (rel && !strstr(msg, rel))
                printf("%s %s: %s\n", shown[l], rel, msg);
            else
                printf("%s %s\n", shown[l], msg);
        }
    }
}

static void verdict_line(const json_t *rep, char *buf, size_t n)
{
    long long e = jint(rep, "errors"), w = jint(rep, "warnings"),
              no = jint(rep, "notes");
    if (e)
        snprintf(buf, n,
                 "not ready: %lld error%s, %lld warning%s, %lld note%s; fix "
                 "the errors and run `vigil check` again",
                 e, e == 1 ? "" : "s", w, w == 1 ? "" : "s", no,
                 no == 1 ? "" : "s");
    else if (w)
        snprintf(buf, n,
                 "ready with warnings: %lld warning%s, %lld note%s; vigil will "
                 "run with less to go on",
                 w, w == 1 ? "" : "s", no, no == 1 ? "" : "s");
    else
        snprintf(buf, n, "ready: %lld note%s; next: vigil init, vigil train",
                 no, no == 1 ? "" : "s");
}

static int run_check(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0;
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'a')
            as_of_s = optarg;
        else if (o == 'j')
            json = 1;
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil check --help`");
    }
    int as_of;
    vg_code rc = cli_no_operands("check", argc, argv, err);
    if (rc == VG_OK)
        rc = cli_parse_as_of(as_of_s, &as_of, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *rep = NULL;
    doctor_level worst = DOCTOR_NOTE;
    /* No schema vigil needed: the check comes before `vigil init`. */
    if ((rc = cli_connect(c, &db, 0, err)) == VG_OK)
        rc = doctor_run(db, &c->cfg, as_of, &rep, &worst, err);
    db_close(db);
    if (rc != VG_OK)
        return rc;
    char verdict[512];
    verdict_line(rep, verdict, sizeof verdict);
    if (json) {
        rc = cli_print_json(rep, err);
    } else {
        print_report(rep);
        printf("verdict: %s\n", verdict);
    }
    json_decref(rep);
    if (rc != VG_OK)
        return rc;
    if (worst == DOCTOR_ERROR)
        return vg_fail(err, VG_EDATA, "%s", verdict);
    if (worst == DOCTOR_WARN)
        return vg_fail(err, VG_EWARN, "%s", verdict);
    return VG_OK;
}

const command cmd_check = {
    .name = "check",
    .fn = run_check,
    .summary = "check the source mapping before the first run",
    .usage =
        "usage: vigil [global options] check [--as-of D] [--json]\n\n"
        "Check the source mapping (customers, usage_events and tickets in "
        "source.schema)\n"
        "before the first run, without writing anything: relations and columns "
        "present\n"
        "with usable types, row counts, date ranges, null and dirty-row "
        "shares, "
        "churn\n"
        "labels in the span `vigil train` would learn from (as of D, default "
        "today), how\n"
        "recent the data is, and what each missing or empty optional column "
        "costs. Ends\n"
        "with a one-line verdict. Exit status: 0 ready, 12 ready with "
        "warnings, "
        "5 not\n"
        "ready (errors), 4 database unreachable. Needs no `vigil init`.\n",
};
