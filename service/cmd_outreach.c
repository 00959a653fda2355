/* cmd_outreach.c — the `outreach`, `tasks` and `deliver` commands: the queue
 * run, the task lifecycle for specialists, and pushing tasks out. */
#include "service/commands.h"

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
#include "score/drivers.h"

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

static int run_outreach(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0;
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"json", no_argument, 0, 'j'},
                                         CLI_FORCE_OPTION,
                                         {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'a')
            as_of_s = optarg;
        else if (o == 'F')
            c->force = 1;
        else if (o == 'j')
            json = 1;
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil outreach --help`");
    }
    outreach_arg a = {0};
    vg_code rc = cli_no_operands("outreach", argc, argv, err);
    if (rc == VG_OK)
        rc = cli_parse_as_of(as_of_s, &a.as_of, err);
    if (rc == VG_OK)
        rc = cli_job_command(c, "outreach", a.as_of, outreach_body, &a, json,
                             print_outreach, err);
    return rc;
}

/* ---- tasks -----------------------------------------------------------------
 */

static const char *jstr(const json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

/* "2026-12-07T09:00:00+00:00" -> "2026-12-07" */
static void day_of(const char *ts, char *out, size_t n)
{
    snprintf(out, n, "%.10s", ts && *ts ? ts : "-");
}

static void print_task_line(json_t *t)
{
    const char *why = jstr(t, "unassigned", NULL);
    const char *outcome = jstr(t, "outcome", NULL);
    char due[16], name[25];
    day_of(jstr(t, "due_at", NULL), due, sizeof due);
    snprintf(name, sizeof name, "%s", jstr(t, "customer_name", ""));
    /* a cut name must not end mid-character */
    size_t len = strlen(name);
    if (len == sizeof name - 1) {
        while (len > 0 && ((unsigned char)name[len - 1] & 0xC0) == 0x80)
            len--;
        if (len > 0 && ((unsigned char)name[len - 1] & 0x80))
            len--;
        name[len] = '\0';
    }
    printf("%6lld  %-9s %-10s %-10s %-24s %10.0f  %-16s %-10s %s",
           jnum(t, "task_id"), jstr(t, "status", "?"), jstr(t, "assignee", "-"),
           jstr(t, "customer_id", "?"), name,
           json_number_value(json_object_get(t, "mrr")),
           jstr(t, "playbook", "?"), due, jstr(t, "summary", ""));
    if (jnum(t, "customer_active_tasks") > 1)
        printf(" (+%lld more for this customer)",
               jnum(t, "customer_active_tasks") - 1);
    if (outcome)
        printf(" -> %s", outcome);
    else if (why)
        printf("  [unassigned: %s]", why);
    printf("\n");
}

/* One CSV field, quoted when it holds a comma, quote or line break. */
static void csv_field(const char *v, int last)
{
    if (!v)
        v = "";
    if (strpbrk(v, ",\"\r\n")) {
        putchar('"');
        for (const char *p = v; *p; p++) {
            if (*p == '"')
                putchar('"');
            putchar(*p);
        }
        putchar('"');
    } else {
        fputs(v, stdout);
    }
    putchar(last ? '\n' : ',');
}

static void print_tasks_csv(json_t *res)
{
    static const char *const cols[] = {
        "task_id",       "status",     "assignee",  "customer_id",
        "customer_name", "mrr",        "playbook",  "priority",
        "churn_risk",    "created_at", "due_at",    "language",
        "summary",       "outcome",    "closed_at", "unassigned"};
    size_t nc = sizeof cols / sizeof *cols, i;
    for (size_t c = 0; c < nc; c++)
        csv_field(cols[c], c + 1 == nc);
    json_t *t;
    json_array_foreach(res, i, t)
    {
        for (size_t c = 0; c < nc; c++) {
            json_t *v = json_object_get(t, cols[c]);
            char num[64];
            const char *s = json_string_value(v);
            if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld",
                         (long long)json_integer_value(v));
                s = num;
            } else if (json_is_real(v)) {
                snprintf(num, sizeof num, "%.6g", json_real_value(v));
                s = num;
            }
            csv_field(s, c + 1 == nc);
        }
    }
}

static void print_task_full(json_t *t)
{
    char due[16];
    day_of(jstr(t, "due_at", NULL), due, sizeof due);
    printf("task %lld  %s  playbook %s  priority %.1f  due %s\n",
           jnum(t, "task_id"), jstr(t, "status", "?"), jstr(t, "playbook", "?"),
           json_number_value(json_object_get(t, "priority")), due);
    printf("customer %s (%s)  MRR %.0f  churn risk %.0f%%  language %s\n",
           jstr(t, "customer_id", "?"), jstr(t, "customer_name", "no name"),
           json_number_value(json_object_get(t, "mrr")),
           100 * json_number_value(json_object_get(t, "churn_risk")),
           jstr(t, "language", "unknown"));
    printf("assignee %s", jstr(t, "assignee", "nobody"));
    if (jstr(t, "unassigned", NULL))
        printf(" (unassigned: %s)", jstr(t, "unassigned", ""));
    if (jstr(t, "outcome", NULL))
        printf("; closed %.10s as %s%s%s", jstr(t, "closed_at", ""),
               jstr(t, "outcome", ""),
               jstr(t, "outcome_note", NULL) ? ": " : "",
               jstr(t, "outcome_note", ""));
    printf("\n\n%s\n", jstr(t, "title", ""));
    printf("why now: %s\n", jstr(t, "summary", ""));
    json_t *reason = json_object_get(t, "reason");
    json_t *groups = drivers_by_theme(json_object_get(reason, "drivers"));
    size_t i, k;
    json_t *g, *e;
    if (json_array_size(groups) > 0)
        printf("\nreasons (score of %s):\n",
               jstr(reason, "score_as_of", "the latest score date"));
    json_array_foreach(groups, i, g)
    {
        printf("  %s%s\n", jstr(g, "title", "?"),
               !strcmp(jstr(g, "kind", ""), "profile") ? " (account profile)"
                                                       : "");
        json_array_foreach(json_object_get(g, "reasons"), k, e)
            printf("    - %s\n", json_string_value(e));
        printf("    next step: %s\n", jstr(g, "action", ""));
    }
    json_decref(groups);
    json_t *others = json_object_get(t, "other_active_tasks");
    if (json_array_size(others) > 0)
        printf("\nthe customer's other active tasks (same owner):\n");
    json_array_foreach(others, i, e) printf(
        "  %6lld  %-9s %-16s %s\n", jnum(e, "task_id"), jstr(e, "status", "?"),
        jstr(e, "playbook", "?"), jstr(e, "summary", ""));
    if (*jstr(t, "body", ""))
        printf("\n%s\n", jstr(t, "body", ""));
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

static void print_report(json_t *res, int horizon)
{
    const char *name;
    json_t *v;
    long long claimed = 0, confirmed = 0, lost = 0, pending = 0;
    double m_claimed = 0, m_confirmed = 0, m_lost = 0, m_pending = 0;
    printf("%-18s %6s %6s %8s %6s %9s %11s %8s %10s %12s %12s\n", "playbook",
           "tasks", "open", "assigned", "done", "dismissed", "auto_closed",
           "saved", "confirmed", "mrr_saved", "mrr_churned");
    json_object_foreach(res, name, v)
    {
        printf("%-18s %6lld %6lld %8lld %6lld %9lld %11lld %8lld %10lld "
               "%12.2f %12.2f\n",
               name, jnum(v, "tasks"), jnum(v, "open"), jnum(v, "assigned"),
               jnum(v, "done"), jnum(v, "dismissed"), jnum(v, "auto_closed"),
               jnum(v, "saved_claimed"), jnum(v, "saved_confirmed"),
               json_number_value(json_object_get(v, "mrr_saved")),
               json_number_value(json_object_get(v, "mrr_churned")));
        claimed += jnum(v, "saved_claimed");
        confirmed += jnum(v, "saved_confirmed");
        lost += jnum(v, "saved_lost");
        pending += jnum(v, "saved_pending");
        m_claimed += json_number_value(json_object_get(v, "mrr_saved"));
        m_confirmed +=
            json_number_value(json_object_get(v, "mrr_saved_confirmed"));
        m_lost += json_number_value(json_object_get(v, "mrr_saved_lost"));
        m_pending += json_number_value(json_object_get(v, "mrr_saved_pending"));
    }
    printf("\nsaved as claimed by specialists: %lld tasks, MRR %.0f\n"
           "  confirmed (still a customer %d days after the task closed): "
           "%lld, MRR %.0f\n"
           "  lost (canceled within %d days): %lld, MRR %.0f\n"
           "  too early to tell: %lld, MRR %.0f\n",
           claimed, m_claimed, horizon, confirmed, m_confirmed, horizon, lost,
           m_lost, pending, m_pending);
}

typedef struct tasks_args {
    const char *action, *id_s, *specialist, *outcome, *note, *at, *format;
    const char *as_of_s;
    tasks_filter f;
    int json, force;
} tasks_args;

/* One option of `vigil tasks`, already recognised by getopt_long. */
static vg_code tasks_set_option(tasks_args *a, int o, const char *arg,
                                vg_error *err)
{
    int lim = 0;
    vg_code rc = VG_OK;
    switch (o) {
    case 's':
        a->f.status = arg;
        break;
    case 'A':
        a->f.assignee = arg;
        break;
    case 'p':
        a->f.playbook = arg;
        break;
    case 'c':
        a->f.customer = arg;
        break;
    case 'l':
        rc = cli_parse_int_opt("--limit", arg, 1, 1000000, &lim, err);
        a->f.limit = lim;
        break;
    case 'S':
        a->specialist = arg;
        break;
    case 'o':
        a->outcome = arg;
        break;
    case 'n':
        a->note = arg;
        break;
    case 't':
        a->at = arg;
        break;
    case 'F':
        a->format = arg;
        break;
    case 'a':
        a->as_of_s = arg;
        break;
    case 'f':
        a->force = 1;
        break;
    case 'j':
        a->json = 1;
        break;
    default:
        rc = vg_fail(err, VG_EUSAGE, "see `vigil tasks --help`");
    }
    return rc;
}

/* The values getopt cannot check: --status and --format take a word from a
 * fixed list. */
static vg_code tasks_check(const tasks_args *a, vg_error *err)
{
    const char *st = a->f.status;
    if (st && strcmp(st, "open") && strcmp(st, "assigned") &&
        strcmp(st, "done") && strcmp(st, "dismissed") && strcmp(st, "active") &&
        strcmp(st, "all"))
        return vg_fail(err, VG_EUSAGE,
                       "--status must be open, assigned, done, dismissed, "
                       "active or all");
    if (a->format && strcmp(a->format, "table") && strcmp(a->format, "csv"))
        return vg_fail(err, VG_EUSAGE, "--format must be table or csv");
    return VG_OK;
}

static vg_code tasks_parse(int argc, char **argv, tasks_args *a, vg_error *err)
{
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
        {"format", required_argument, 0, 'F'},
        {"as-of", required_argument, 0, 'a'},
        {"force", no_argument, 0, 'f'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    int o;
    a->action = argv[1];
    /* Options follow the action: parse argv from the action on. 0 makes
     * glibc start over: main's scan stopped at the first non-option ('+'),
     * and that ordering mode would stop here at the task id. */
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 0;
    while ((o = getopt_long(sub_argc, sub_argv, "", opts, NULL)) != -1) {
        vg_code rc = tasks_set_option(a, o, optarg, err);
        if (rc != VG_OK)
            return rc;
    }
    a->id_s = optind < sub_argc ? sub_argv[optind] : NULL;
    /* list and report take no task id; the other actions one */
    int first_extra =
        optind + (strcmp(a->action, "list") && strcmp(a->action, "report"));
    if (first_extra < sub_argc)
        return vg_fail(err, VG_EUSAGE,
                       "unexpected argument '%s' (see `vigil tasks --help`)",
                       sub_argv[first_extra]);
    return tasks_check(a, err);
}

/* list: the rows, a total and a notice when the limit cut the list. */
static vg_code tasks_print_list(db_conn *db, const tasks_args *a, json_t *res,
                                vg_error *err)
{
    long total = 0;
    vg_code rc = tasks_count(db, &a->f, &total, err);
    if (rc != VG_OK)
        return rc;
    size_t shown = json_array_size(res);
    if (a->json) {
        json_t *w = json_pack("{s:O, s:I, s:I, s:b}", "tasks", res, "count",
                              (json_int_t)shown, "total", (json_int_t)total,
                              "more", (long)shown < total);
        rc = cli_print_json(w, err);
        json_decref(w);
        return rc;
    }
    if (a->format && !strcmp(a->format, "csv")) {
        print_tasks_csv(res);
        if ((long)shown < total)
            fprintf(stderr,
                    "vigil tasks: %zu of %ld tasks written; --limit %ld "
                    "writes them all\n",
                    shown, total, total);
        return VG_OK;
    }
    printf("%6s  %-9s %-10s %-10s %-24s %10s  %-16s %-10s %s\n", "task",
           "status", "assignee", "customer", "name", "MRR", "playbook", "due",
           "why");
    size_t i;
    json_t *t;
    json_array_foreach(res, i, t) print_task_line(t);
    printf("%zu of %ld %s task%s", shown, total,
           a->f.status ? a->f.status : "active", total == 1 ? "" : "s");
    if ((long)shown < total)
        printf(" — %ld more not shown (raise --limit, filter with "
               "--assignee/--playbook/--customer, or --format csv --limit "
               "%ld)",
               total - (long)shown, total);
    printf("\n");
    return VG_OK;
}

/* What each action needs beyond its options: a known action, a task id
 * (all but list and report), an as-of date (report), --specialist (claim)
 * and --outcome (done). Checked before connecting. */
static vg_code tasks_check_action(const tasks_args *a, long long *id,
                                  int *as_of, vg_error *err)
{
    const char *action = a->action;
    vg_code rc = VG_OK;
    if (!strcmp(action, "list"))
        return VG_OK;
    if (!strcmp(action, "report"))
        return cli_parse_as_of(a->as_of_s, as_of, err);
    if (strcmp(action, "claim") && strcmp(action, "done") &&
        strcmp(action, "dismiss") && strcmp(action, "show"))
        return vg_fail(err, VG_EUSAGE,
                       "unknown action '%s': list, show, claim, done, "
                       "dismiss or report",
                       action);
    if ((rc = parse_id(a->id_s, id, err)) != VG_OK)
        return rc;
    if (!strcmp(action, "claim") && !a->specialist)
        return vg_fail(err, VG_EUSAGE, "claim needs --specialist ID");
    if (!strcmp(action, "done") && !a->outcome)
        return vg_fail(err, VG_EUSAGE, "done needs --outcome, one of: %s",
                       tasks_outcomes());
    return VG_OK;
}

static vg_code tasks_do(db_conn *db, const cli *c, const tasks_args *a,
                        long long id, int as_of, json_t **res, vg_error *err)
{
    const char *action = a->action;
    if (!strcmp(action, "list"))
        return tasks_list(db, &a->f, res, err);
    if (!strcmp(action, "report"))
        return tasks_report(db, &c->cfg, as_of, res, err);
    if (!strcmp(action, "show"))
        return tasks_show(db, id, res, err);
    if (!strcmp(action, "claim"))
        return tasks_claim(db, id, a->specialist, a->force, res, err);
    return tasks_close(db, id, !strcmp(action, "done") ? "done" : "dismissed",
                       a->outcome ? a->outcome : "not_needed", a->note, a->at,
                       res, err);
}

static vg_code tasks_print(db_conn *db, const cli *c, const tasks_args *a,
                           json_t *res, vg_error *err)
{
    const char *warning = jstr(res, "warning", NULL);
    if (warning)
        fprintf(stderr, "vigil tasks: warning: %s\n", warning);
    if (!strcmp(a->action, "list"))
        return tasks_print_list(db, a, res, err);
    if (a->json)
        return cli_print_json(res, err);
    if (!strcmp(a->action, "report"))
        print_report(res, c->cfg.train_horizon_days);
    else if (!strcmp(a->action, "show"))
        print_task_full(res);
    else
        print_task_line(res);
    return VG_OK;
}

static int run_tasks(cli *c, int argc, char **argv, vg_error *err)
{
    if (argc < 2)
        return vg_fail(err, VG_EUSAGE,
                       "which action? list, show, claim, done, dismiss or "
                       "report (see `vigil tasks --help`)");
    tasks_args a;
    memset(&a, 0, sizeof a);
    long long id = 0;
    int as_of = 0;
    vg_code rc = tasks_parse(argc, argv, &a, err);
    if (rc == VG_OK)
        rc = tasks_check_action(&a, &id, &as_of, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *res = NULL;
    rc = cli_connect(c, &db, 1, err);
    if (rc == VG_OK)
        rc = tasks_do(db, c, &a, id, as_of, &res, err);
    if (rc == VG_OK)
        rc = tasks_print(db, c, &a, res, err);
    json_decref(res);
    db_close(db);
    return rc;
}

/* deliver's --wait: seconds to wait for answers, up to a day. */
static vg_code parse_wait(const char *arg, double *wait, vg_error *err)
{
    char *end;
    *wait = strtod(arg, &end);
    if (end == arg || *end || !(*wait >= 0 && *wait <= 86400))
        return vg_fail(err, VG_EUSAGE,
                       "--wait must be seconds from 0 to 86400 (got "
                       "'%s')",
                       arg);
    return VG_OK;
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

static int run_deliver(cli *c, int argc, char **argv, vg_error *err)
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
        case 'w':
            rc = parse_wait(optarg, &a.wait, err);
            break;
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
    if ((rc = cli_no_operands("deliver", argc, argv, err)) != VG_OK)
        return rc;
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

const command cmd_outreach = {
    .name = "outreach",
    .fn = run_outreach,
    .summary = "queue proactive outreach tasks as of a date",
    .usage =
        "usage: vigil [global options] outreach [--as-of D] [--force] "
        "[--json]\n\n"
        "Run the outreach playbooks (config outreach.playbooks, or the five "
        "defaults) as\n"
        "of D (default today, UTC): a task per customer and playbook whose "
        "trigger fired,\n"
        "refreshed (never duplicated) while it holds, held back for the "
        "playbook's\n"
        "cooldown after it was done or dismissed, closed by itself when nobody "
        "took it\n"
        "and the trigger stopped holding. Open tasks are then assigned to "
        "active\n"
        "specialists (language, skills, lowest load/daily_capacity) and queued "
        "for\n"
        "delivery (notify.webhook.url, rt.url). One transaction; concurrent "
        "runs "
        "wait.\n" CLI_FORCE_HELP,
};

const command cmd_tasks = {
    .name = "tasks",
    .fn = run_tasks,
    .summary = "list, claim, close outreach tasks; outcome report",
    .usage =
        "usage: vigil [global options] tasks list [--status "
        "open|assigned|done|dismissed|active|all]\n"
        "                 [--assignee ID] [--playbook NAME] [--customer ID] "
        "[--limit N]\n"
        "                 [--format table|csv] [--json]\n"
        "       vigil tasks show ID [--json]\n"
        "       vigil tasks claim ID --specialist ID [--force] [--json]\n"
        "       vigil tasks done ID --outcome OUTCOME [--note TEXT] [--at "
        "TIME] "
        "[--json]\n"
        "       vigil tasks dismiss ID [--outcome OUTCOME] [--note TEXT] [--at "
        "TIME] [--json]\n"
        "       vigil tasks report [--as-of D] [--json]\n\n"
        "The outreach queue from the command line. list shows the active queue "
        "(open and\n"
        "assigned) by priority with the customer's name, MRR, playbook and due "
        "date, how\n"
        "many tasks matched and whether --limit (default 100) cut the list; "
        "--format csv\n"
        "writes the rows for a spreadsheet. show prints one task: why now, the "
        "reasons by\n"
        "theme with a next step each, and the customer's other active tasks "
        "(one "
        "specialist\n"
        "owns all of a customer's tasks). claim takes a task (--force takes it "
        "from another\n"
        "specialist; a warning names a language the specialist does not "
        "speak); "
        "done and\n"
        "dismiss close it with an outcome: saved, churned, no_answer, "
        "not_needed,\n"
        "declined or other (dismiss defaults to not_needed); --at records when "
        "(default now;\n"
        "cooldowns count from it). report shows per playbook how tasks ended; "
        "a "
        "\"saved\" is\n"
        "confirmed only when the customer is still a customer "
        "train.horizon_days "
        "after the\n"
        "task closed (as of D, default today), and reported apart from what "
        "specialists\n"
        "claimed.\n",
};

const command cmd_deliver = {
    .name = "deliver",
    .fn = run_deliver,
    .summary = "push tasks to the webhook and Request Tracker",
    .usage =
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
        "are retried with exponential backoff up to "
        "notify.webhook.max_attempts; "
        "--wait\n"
        "keeps going until nothing is pending or SECONDS passed. Then reads RT "
        "back: a\n"
        "ticket resolved in RT makes its task done (--no-sync skips this). "
        "--retry-failed\n"
        "makes given-up deliveries due again.\n",
};
