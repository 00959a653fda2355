/* cmd_outreach.c — the `outreach`, `tasks` and `deliver` commands: the queue
 * run, the task lifecycle for specialists, and pushing tasks out. */
#include "service/cmd_outreach.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "deliver/http.h"
#include "deliver/outbox.h"
#include "outreach/playbook.h"
#include "outreach/queue.h"
#include "outreach/tasks.h"

static long long jnum(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* ---- outreach --------------------------------------------------------------
 */

typedef struct outreach_arg {
    int as_of;
} outreach_arg;

static vg_code outreach_body(cli *c, db_conn *db, void *arg, json_t **summary,
                             vg_error *err)
{
    outreach_arg *a = arg;
    return outreach_run(db, &c->cfg, c->oc, &c->dc, &c->log, a->as_of, summary,
                        err);
}

static void print_outreach(db_conn *db, const json_t *s)
{
    printf("outreach as of %s: %lld tasks created, %lld refreshed, %lld "
           "held back by cooldown, %lld auto-closed; %lld assigned, %lld "
           "unassigned; %lld open in the queue\n",
           json_string_value(json_object_get(s, "as_of")), jnum(s, "created"),
           jnum(s, "updated"), jnum(s, "cooldown"), jnum(s, "auto_closed"),
           jnum(s, "assigned"), jnum(s, "unassigned"), jnum(s, "open"));
}

int cmd_outreach(cli *c, int argc, char **argv, vg_error *err)
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
            return vg_fail(err, VG_EUSAGE, "see `vigil outreach --help`");
    }
    outreach_arg a = {0};
    vg_code rc = cli_parse_as_of(as_of_s, &a.as_of, err);
    if (rc == VG_OK)
        rc = cli_job_command(c, "outreach", a.as_of, outreach_body, &a, json,
                             print_outreach, err);
    return rc;
}

/* ---- tasks -----------------------------------------------------------------
 */

static void print_task_line(json_t *t)
{
    const char *who = json_string_value(json_object_get(t, "assignee"));
    const char *why = json_string_value(json_object_get(t, "unassigned"));
    const char *outcome = json_string_value(json_object_get(t, "outcome"));
    const char *summary = json_string_value(json_object_get(t, "summary"));
    printf("%6lld  %-9s %-10s %9.1f  %-16s %-10s %s", jnum(t, "task_id"),
           json_string_value(json_object_get(t, "status")), who ? who : "-",
           json_number_value(json_object_get(t, "priority")),
           json_string_value(json_object_get(t, "playbook")),
           json_string_value(json_object_get(t, "customer_id")),
           summary ? summary : "");
    if (outcome)
        printf(" -> %s", outcome);
    else if (why)
        printf("  [unassigned: %s]", why);
    printf("\n");
}

static vg_code parse_id(const char *s, long long *id, vg_error *err)
{
    char *end = NULL;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || v <= 0)
        return vg_fail(err, VG_EUSAGE,
                       "a task id (a positive number) is "
                       "needed; see `vigil tasks --help`");
    *id = v;
    return VG_OK;
}

static void print_report(json_t *res)
{
    const char *name;
    json_t *v;
    printf("%-18s %6s %6s %8s %6s %9s %11s %6s %12s %12s\n", "playbook",
           "tasks", "open", "assigned", "done", "dismissed", "auto_closed",
           "saved", "mrr_saved", "mrr_churned");
    json_object_foreach(res, name, v)
    {
        printf("%-18s %6lld %6lld %8lld %6lld %9lld %11lld %6lld %12.2f "
               "%12.2f\n",
               name, jnum(v, "tasks"), jnum(v, "open"), jnum(v, "assigned"),
               jnum(v, "done"), jnum(v, "dismissed"), jnum(v, "auto_closed"),
               jnum(json_object_get(v, "outcomes"), "saved"),
               json_number_value(json_object_get(v, "mrr_saved")),
               json_number_value(json_object_get(v, "mrr_churned")));
    }
}

int cmd_tasks(cli *c, int argc, char **argv, vg_error *err)
{
    if (argc < 2)
        return vg_fail(err, VG_EUSAGE,
                       "which action? list, claim, done, dismiss or report "
                       "(see `vigil tasks --help`)");
    const char *action = argv[1];
    tasks_filter f = {NULL, NULL, NULL, NULL, 0};
    const char *specialist = NULL, *outcome = NULL, *note = NULL, *at = NULL;
    int json = 0, force = 0;
    static const struct option opts[] = {
        {"status", required_argument, 0, 's'},
        {"assignee", required_argument, 0, 'A'},
        {"playbook", required_argument, 0, 'p'},
        {"customer", required_argument, 0, 'c'},
        {"limit", required_argument, 0, 'l'},
        {"specialist", required_argument, 0, 'S'},
        {"outcome", required_argument, 0, 'o'},
        {"note", required_argument, 0, 'n'},
        {"at", required_argument, 0, 't'},
        {"force", no_argument, 0, 'f'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    int o, lim = 0;
    vg_code rc = VG_OK;
    /* Options follow the action: parse argv from the action on. */
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    /* 0 makes glibc start over: main's scan stopped at the first non-option
     * ('+'), and that ordering mode would stop here at the task id. */
    optind = 0;
    while ((o = getopt_long(sub_argc, sub_argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 's':
            f.status = optarg;
            break;
        case 'A':
            f.assignee = optarg;
            break;
        case 'p':
            f.playbook = optarg;
            break;
        case 'c':
            f.customer = optarg;
            break;
        case 'l':
            rc = cli_parse_int_opt("--limit", optarg, 1, 1000000, &lim, err);
            f.limit = lim;
            break;
        case 'S':
            specialist = optarg;
            break;
        case 'o':
            outcome = optarg;
            break;
        case 'n':
            note = optarg;
            break;
        case 't':
            at = optarg;
            break;
        case 'f':
            force = 1;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil tasks --help`");
        }
        if (rc != VG_OK)
            return rc;
    }
    const char *id_s = optind < sub_argc ? sub_argv[optind] : NULL;
    if (f.status && strcmp(f.status, "open") && strcmp(f.status, "assigned") &&
        strcmp(f.status, "done") && strcmp(f.status, "dismissed") &&
        strcmp(f.status, "active"))
        return vg_fail(err, VG_EUSAGE,
                       "--status must be open, assigned, done, dismissed or "
                       "active");
    long long id = 0;
    int is_list = !strcmp(action, "list"),
        is_report = !strcmp(action, "report");
    if (!is_list && !is_report) {
        if (strcmp(action, "claim") && strcmp(action, "done") &&
            strcmp(action, "dismiss"))
            return vg_fail(err, VG_EUSAGE,
                           "unknown action '%s': list, claim, done, dismiss "
                           "or report",
                           action);
        if ((rc = parse_id(id_s, &id, err)) != VG_OK)
            return rc;
        if (!strcmp(action, "claim") && !specialist)
            return vg_fail(err, VG_EUSAGE, "claim needs --specialist ID");
        if (!strcmp(action, "done") && !outcome)
            return vg_fail(err, VG_EUSAGE, "done needs --outcome, one of: %s",
                           tasks_outcomes());
    }
    db_conn *db = NULL;
    json_t *res = NULL;
    rc = cli_connect(c, &db, 1, err);
    if (rc != VG_OK)
        goto cleanup;
    if (is_list)
        rc = tasks_list(db, &f, &res, err);
    else if (is_report)
        rc = tasks_report(db, &res, err);
    else if (!strcmp(action, "claim"))
        rc = tasks_claim(db, id, specialist, force, &res, err);
    else
        rc = tasks_close(db, id, !strcmp(action, "done") ? "done" : "dismissed",
                         outcome ? outcome : "not_needed", note, at, &res, err);
    if (rc != VG_OK)
        goto cleanup;
    if (json && json_is_array(res)) {
        /* exactly one JSON object on stdout, as every command */
        json_t *w = json_pack("{s:O, s:I}", "tasks", res, "count",
                              (json_int_t)json_array_size(res));
        cli_print_json(w);
        json_decref(w);
    } else if (json) {
        cli_print_json(res);
    } else if (is_list) {
        size_t i;
        json_t *t;
        printf("%6s  %-9s %-10s %9s  %-16s %-10s %s\n", "task", "status",
               "assignee", "priority", "playbook", "customer", "why");
        json_array_foreach(res, i, t) print_task_line(t);
    } else if (is_report) {
        print_report(res);
    } else {
        print_task_line(res);
    }
cleanup:
    json_decref(res);
    db_close(db);
    return rc;
}

/* ---- deliver ---------------------------------------------------------------
 */

typedef struct deliver_arg {
    long limit;
    double wait;
    int sync, retry_failed;
} deliver_arg;

static vg_code deliver_body(cli *c, db_conn *db, void *arg, json_t **summary,
                            vg_error *err)
{
    deliver_arg *a = arg;
    deliver_stats st;
    memset(&st, 0, sizeof st);
    long queued = 0, reset = 0;
    vg_code rc = VG_OK;
    if (a->retry_failed)
        rc = deliver_retry_failed(db, &reset, err);
    if (rc == VG_OK)
        rc = db_begin(db, err);
    if (rc == VG_OK)
        rc = deliver_enqueue(db, &c->dc, &queued, err);
    if (rc == VG_OK)
        rc = db_commit(db, err);
    else
        db_rollback(db);
    if (rc == VG_OK)
        rc = deliver_send(db, &c->dc, &c->log, a->limit, a->wait, &st, err);
    if (rc == VG_OK && a->sync && c->dc.rt_url[0])
        rc = deliver_rt_sync(db, &c->dc, &c->log, &st, err);
    if (rc != VG_OK)
        return rc;
    *summary = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b}",
        "queued", (json_int_t)queued, "attempted", (json_int_t)st.attempted,
        "delivered", (json_int_t)st.delivered, "retried",
        (json_int_t)st.retried, "gave_up", (json_int_t)st.gave_up, "pending",
        (json_int_t)st.pending, "retried_failed", (json_int_t)reset,
        "rt_checked", (json_int_t)st.rt_checked, "rt_done",
        (json_int_t)st.rt_done, "rt_dismissed", (json_int_t)st.rt_dismissed,
        "webhook", c->dc.webhook_url[0] != 0, "rt", c->dc.rt_url[0] != 0);
    return VG_OK;
}

static void print_deliver(db_conn *db, const json_t *s)
{
    printf("deliveries: %lld queued, %lld attempted, %lld delivered, %lld "
           "to retry, %lld given up, %lld pending; RT: %lld checked, %lld "
           "done, %lld dismissed\n",
           jnum(s, "queued"), jnum(s, "attempted"), jnum(s, "delivered"),
           jnum(s, "retried"), jnum(s, "gave_up"), jnum(s, "pending"),
           jnum(s, "rt_checked"), jnum(s, "rt_done"), jnum(s, "rt_dismissed"));
}

int cmd_deliver(cli *c, int argc, char **argv, vg_error *err)
{
    deliver_arg a = {0, 0, 1, 0};
    int json = 0, lim = 0;
    /* --as-of only dates the ledger row (serve passes it to every job);
     * deliveries themselves are not tied to a date. */
    int as_of = date_today();
    static const struct option opts[] = {{"limit", required_argument, 0, 'l'},
                                         {"as-of", required_argument, 0, 'a'},
                                         {"wait", required_argument, 0, 'w'},
                                         {"no-sync", no_argument, 0, 'n'},
                                         {"retry-failed", no_argument, 0, 'r'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int o;
    vg_code rc = VG_OK;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'l':
            rc = cli_parse_int_opt("--limit", optarg, 1, 100000000, &lim, err);
            a.limit = lim;
            break;
        case 'w': {
            char *end;
            a.wait = strtod(optarg, &end);
            if (end == optarg || *end || !(a.wait >= 0 && a.wait <= 86400))
                rc = vg_fail(err, VG_EUSAGE,
                             "--wait must be seconds from 0 to 86400 (got "
                             "'%s')",
                             optarg);
            break;
        }
        case 'a':
            rc = cli_parse_as_of(optarg, &as_of, err);
            break;
        case 'n':
            a.sync = 0;
            break;
        case 'r':
            a.retry_failed = 1;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return vg_fail(err, VG_EUSAGE, "see `vigil deliver --help`");
        }
        if (rc != VG_OK)
            return rc;
    }
    if (!deliver_configured(&c->dc))
        rc = vg_fail(err, VG_ECONFIG,
                     "%s: nothing to deliver to: set notify.webhook.url or "
                     "rt.url",
                     c->config_path ? c->config_path : "(no config file)");
    if (rc == VG_OK) {
        deliver_http_global_init();
        rc = cli_job_command(c, "deliver", as_of, deliver_body, &a, json,
                             print_deliver, err);
        deliver_http_global_cleanup();
    }
    return rc;
}

/* ---- --help ----------------------------------------------------------------
 */

const char cmd_outreach_usage[] =
    "usage: vigil [global options] outreach [--as-of D] [--json]\n\n"
    "Run the outreach playbooks (config outreach.playbooks, or the five "
    "defaults) as\n"
    "of D (default today, UTC): a task per customer and playbook whose "
    "trigger fired,\n"
    "refreshed (never duplicated) while it holds, held back for the "
    "playbook's\n"
    "cooldown after it was done or dismissed, closed by itself when nobody "
    "took it\n"
    "and the trigger stopped holding. Open tasks are then assigned to active\n"
    "specialists (language, skills, lowest load/daily_capacity) and queued "
    "for\n"
    "delivery (notify.webhook.url, rt.url). One transaction; concurrent runs "
    "wait.\n";

const char cmd_tasks_usage[] =
    "usage: vigil [global options] tasks list [--status "
    "open|assigned|done|dismissed|active]\n"
    "                 [--assignee ID] [--playbook NAME] [--customer ID] "
    "[--limit N] [--json]\n"
    "       vigil tasks claim ID --specialist ID [--force] [--json]\n"
    "       vigil tasks done ID --outcome OUTCOME [--note TEXT] [--at TIME] "
    "[--json]\n"
    "       vigil tasks dismiss ID [--outcome OUTCOME] [--note TEXT] [--at "
    "TIME] [--json]\n"
    "       vigil tasks report [--json]\n\n"
    "The outreach queue from the command line. list shows the active queue "
    "(open and\n"
    "assigned) by priority; claim takes a task (--force takes it from another "
    "specialist);\n"
    "done and dismiss close it with an outcome: saved, churned, no_answer, "
    "not_needed,\n"
    "declined or other (dismiss defaults to not_needed); --at records when "
    "(default now;\n"
    "cooldowns count from it). report shows per playbook how tasks ended and "
    "the MRR\n"
    "of saved and churned customers.\n";

const char cmd_deliver_usage[] =
    "usage: vigil [global options] deliver [--as-of D] [--limit N] [--wait "
    "SECONDS] "
    "[--no-sync]\n"
    "                                     [--retry-failed] [--json]\n\n"
    "Push queued deliveries: each task (and open trend alert) to "
    "notify.webhook.url\n"
    "with an Idempotency-Key header, and each task as a Request Tracker "
    "ticket in\n"
    "rt.queue (found again by its task-id custom field, never duplicated). "
    "Failures\n"
    "are retried with exponential backoff up to notify.webhook.max_attempts; "
    "--wait\n"
    "keeps going until nothing is pending or SECONDS passed. Then reads RT "
    "back: a\n"
    "ticket resolved in RT makes its task done (--no-sync skips this). "
    "--retry-failed\n"
    "makes given-up deliveries due again.\n";
