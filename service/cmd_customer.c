/* cmd_customer.c — `vigil customer ID`: one customer as a specialist looks
 * at them before a call. The queries live in the stages (score/, topics/,
 * outreach/); this file only asks and prints. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "outreach/tasks.h"
#include "score/score.h"
#include "service/commands.h"
#include "topics/customer.h"

static const char *js(const json_t *o, const char *k, const char *dflt)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : dflt;
}

static double jn(const json_t *o, const char *k)
{
    return json_number_value(json_object_get(o, k));
}

static void print_profile(const json_t *all)
{
    const json_t *c = json_object_get(all, "customer");
    printf("customer %s", js(all, "customer_id", "?"));
    if (!json_is_object(c)) {
        printf(" (not in the source customers)\n");
        return;
    }
    printf(" — %s\n", js(c, "name", "no name on record"));
    /* Not active and no cancellation before the date: it came later. */
    const char *canceled = js(c, "canceled_at", NULL);
    const char *status = json_is_true(json_object_get(c, "active")) ? ""
                         : canceled ? ", canceled "
                                    : ", which is after this date";
    printf("  plan %s, MRR %.0f, language %s, customer since %.10s%s%.10s\n",
           js(c, "plan", "unknown"), jn(c, "mrr"), js(c, "language", "unknown"),
           js(c, "created_at", "?"), status, canceled ? canceled : "");
}

static void print_scores(const json_t *scores)
{
    size_t i, k, m;
    json_t *s, *g, *e;
    if (json_array_size(scores) == 0) {
        printf("\nno scores on or before this date: run `vigil score`\n");
        return;
    }
    json_t *now = json_array_get(scores, 0);
    char tw[32];
    score_tier_words(js(now, "tier", "?"), tw, sizeof tw);
    printf("\nchurn risk %.0f%% (%s, health %lld) on %s\n",
           100 * jn(now, "churn_risk"), tw,
           (long long)json_integer_value(json_object_get(now, "health")),
           js(now, "as_of", "?"));
    const json_t *ch = json_object_get(now, "changes");
    if (ch)
        printf("  since the previous score: %s\n", js(ch, "text", ""));
    json_array_foreach(json_object_get(now, "themes"), k, g)
    {
        printf("  %s%s\n", js(g, "title", "?"),
               !strcmp(js(g, "kind", ""), "profile") ? " (account profile)"
                                                     : "");
        json_array_foreach(json_object_get(g, "reasons"), m, e)
            printf("    - %s\n", json_string_value(e));
        printf("    next step: %s\n", js(g, "action", ""));
    }
    printf("\nscore history (newest first):\n");
    json_array_foreach(scores, i, s)
    {
        score_tier_words(js(s, "tier", "?"), tw, sizeof tw);
        const json_t *c = json_object_get(s, "changes");
        printf("  %s  risk %3.0f%%  health %3lld  %-9s %s\n",
               js(s, "as_of", "?"), 100 * jn(s, "churn_risk"),
               (long long)json_integer_value(json_object_get(s, "health")), tw,
               c ? js(c, "text", "") : "first score");
    }
}

static void print_tickets(const json_t *t)
{
    size_t i;
    json_t *e;
    long long n =
        (long long)json_integer_value(json_object_get(t, "tickets_90d"));
    printf("\nsupport: %lld ticket%s in the 90 days before this date\n", n,
           n == 1 ? "" : "s");
    json_t *topics = json_object_get(t, "topics");
    if (json_array_size(topics) > 0) {
        printf("  topics:");
        json_array_foreach(topics, i, e) printf(
            "%s %s (%lld)", i ? "," : "", js(e, "topic", "unlabelled"),
            (long long)json_integer_value(json_object_get(e, "tickets")));
        printf("\n");
    }
    json_array_foreach(json_object_get(t, "tickets"), i, e)
    {
        char csat[16] = "";
        if (json_is_integer(json_object_get(e, "csat")))
            snprintf(csat, sizeof csat, " rated %lld/5",
                     (long long)json_integer_value(json_object_get(e, "csat")));
        printf(
            "  %.10s  %-10s %-8s %-7s %s%s%s%s%s\n", js(e, "created_at", "?"),
            js(e, "ticket_id", "?"), js(e, "status", "-"),
            js(e, "priority", "-"), js(e, "subject", ""), csat,
            json_is_true(json_object_get(e, "escalated")) ? " escalated" : "",
            json_is_string(json_object_get(e, "topic")) ? " — topic: " : "",
            js(e, "topic", ""));
    }
}

static void print_tasks(const json_t *tasks)
{
    size_t i;
    json_t *t;
    if (json_array_size(tasks) == 0) {
        printf("\noutreach: no tasks\n");
        return;
    }
    printf("\noutreach tasks (newest first):\n");
    json_array_foreach(tasks, i, t)
    {
        printf("  %6lld  %.10s  %-9s %-16s %-10s %s",
               (long long)json_integer_value(json_object_get(t, "task_id")),
               js(t, "created_at", "?"), js(t, "status", "?"),
               js(t, "playbook", "?"), js(t, "assignee", "-"),
               js(t, "summary", ""));
        if (json_is_string(json_object_get(t, "outcome")))
            printf(" -> %s on %.10s", js(t, "outcome", ""),
                   js(t, "closed_at", ""));
        printf("\n");
    }
}

static vg_code gather(db_conn *db, const vg_config *cfg, const char *id,
                      int as_of, int n, json_t **out, vg_error *err)
{
    json_t *tickets = NULL, *tasks = NULL;
    vg_code rc = score_customer(db, cfg, id, as_of, n, out, err);
    if (rc == VG_OK)
        rc = topics_customer_tickets(db, cfg, id, as_of, n, &tickets, err);
    char d[DATE_BUF];
    date_format(as_of, d);
    tasks_filter f = {"all", NULL, NULL, id, n, d};
    if (rc == VG_OK)
        rc = tasks_list(db, &f, &tasks, err);
    if (rc == VG_OK) {
        json_object_set_new(*out, "tickets",
                            json_incref(json_object_get(tickets, "tickets")));
        json_object_set_new(*out, "topics",
                            json_incref(json_object_get(tickets, "topics")));
        json_object_set_new(
            *out, "tickets_90d",
            json_incref(json_object_get(tickets, "tickets_90d")));
        json_object_set_new(*out, "tasks", tasks);
        tasks = NULL;
    }
    json_decref(tickets);
    json_decref(tasks);
    return rc;
}

static int run_customer(cli *c, int argc, char **argv, vg_error *err)
{
    const char *as_of_s = NULL;
    int json = 0, n = 10;
    static const struct option opts[] = {{"as-of", required_argument, 0, 'a'},
                                         {"limit", required_argument, 0, 'l'},
                                         {"json", no_argument, 0, 'j'},
                                         {0, 0, 0, 0}};
    int o;
    vg_code rc = VG_OK;
    optind = 0; /* options may follow the id */
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (o == 'a')
            as_of_s = optarg;
        else if (o == 'j')
            json = 1;
        else if (o == 'l')
            rc = cli_parse_int_opt("--limit", optarg, 1, 1000, &n, err);
        else
            return vg_fail(err, VG_EUSAGE, "see `vigil customer --help`");
        if (rc != VG_OK)
            return rc;
    }
    const char *id = optind < argc ? argv[optind] : NULL;
    if (!id || !*id)
        return vg_fail(
            err, VG_EUSAGE,
            "which customer? vigil customer ID [--as-of D] [--json]");
    if (optind + 1 < argc)
        return vg_fail(err, VG_EUSAGE,
                       "unexpected argument '%s': one customer at a time "
                       "(see `vigil customer --help`)",
                       argv[optind + 1]);
    int as_of = 0;
    if ((rc = cli_parse_as_of(as_of_s, &as_of, err)) != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *all = NULL;
    if ((rc = cli_connect(c, &db, 1, err)) != VG_OK)
        goto cleanup;
    if ((rc = gather(db, &c->cfg, id, as_of, n, &all, err)) != VG_OK)
        goto cleanup;
    if (json) {
        rc = cli_print_json(all, err);
    } else {
        print_profile(all);
        print_scores(json_object_get(all, "scores"));
        json_t *t = json_pack("{s:O, s:O, s:O}", "tickets",
                              json_object_get(all, "tickets"), "topics",
                              json_object_get(all, "topics"), "tickets_90d",
                              json_object_get(all, "tickets_90d"));
        print_tickets(t);
        json_decref(t);
        print_tasks(json_object_get(all, "tasks"));
    }
cleanup:
    json_decref(all);
    db_close(db);
    return rc;
}

const command cmd_customer = {
    .name = "customer",
    .fn = run_customer,
    .summary = "one customer: risk, reasons, tickets, tasks",
    .usage =
        "usage: vigil [global options] customer ID [--as-of D] [--limit N] "
        "[--json]\n\n"
        "One customer as of D (default today, UTC): name, plan, MRR; the "
        "latest "
        "churn\n"
        "risk with its reasons grouped by theme (adoption, support friction, "
        "satisfaction,\n"
        "onboarding, commercial; account profile facts apart), a next step for "
        "each, and\n"
        "what changed since the previous score; the score history; the latest "
        "tickets\n"
        "with their topics; outreach tasks and their outcomes. --limit "
        "(default "
        "10) caps\n"
        "each list. Nothing after D is shown except tasks' later outcomes.\n",
};
