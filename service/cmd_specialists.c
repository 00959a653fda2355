/* cmd_specialists.c — `vigil specialists add|list|update|deactivate`: the
 * support team the queue assigns to, without SQL. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "outreach/specialists.h"
#include "service/commands.h"

static const char *jstr(const json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? v : "";
}

/* A list column: its items comma-separated, "-" when there are none. */
static void join_array(const json_t *a, char *buf, size_t n)
{
    join_json_strings(a, ",", buf, n);
    if (!buf[0])
        snprintf(buf, n, "-");
}

static void print_one(const json_t *s)
{
    char langs[256], skills[256];
    join_array(json_object_get(s, "languages"), langs, sizeof langs);
    join_array(json_object_get(s, "skills"), skills, sizeof skills);
    printf("%-12s %-20s %-28s %-10s %-20s %4lld/%-4lld %s\n",
           jstr(s, "specialist_id"), jstr(s, "name"), jstr(s, "email"), langs,
           skills,
           (long long)json_integer_value(json_object_get(s, "assigned")),
           (long long)json_integer_value(json_object_get(s, "daily_capacity")),
           json_is_true(json_object_get(s, "active")) ? "active" : "inactive");
}

static void print_header(void)
{
    printf("%-12s %-20s %-28s %-10s %-20s %9s %s\n", "id", "name", "email",
           "languages", "skills", "load/cap", "status");
}

typedef struct spec_args {
    const char *action, *id;
    specialist_fields f;
    int json, all, is_list, is_add, is_deact;
} spec_args;

/* One option of `vigil specialists`, already recognised by getopt_long. */
static vg_code spec_set_option(spec_args *a, int o, const char *arg,
                               vg_error *err)
{
    int cap = 0;
    vg_code rc = VG_OK;
    switch (o) {
    case 'n':
        a->f.name = arg;
        break;
    case 'e':
        a->f.email = arg;
        break;
    case 'l':
        a->f.languages = arg;
        break;
    case 's':
        a->f.skills = arg;
        break;
    case 'c':
        rc = cli_parse_int_opt("--capacity", arg, 0, 100000, &cap, err);
        a->f.capacity = cap;
        break;
    case 'a':
        a->f.active = 1;
        break;
    case 'A':
        a->all = 1;
        break;
    case 'j':
        a->json = 1;
        break;
    default:
        rc = vg_fail(err, VG_EUSAGE, "see `vigil specialists --help`");
    }
    return rc;
}

static vg_code spec_parse(int argc, char **argv, spec_args *a, vg_error *err)
{
    if (argc < 2)
        return vg_fail(err, VG_EUSAGE,
                       "which action? add, list, update or deactivate (see "
                       "`vigil specialists --help`)");
    a->action = argv[1];
    a->f = (specialist_fields){NULL, NULL, NULL, NULL, -1, -1};
    static const struct option opts[] = {
        {"name", required_argument, 0, 'n'},
        {"email", required_argument, 0, 'e'},
        {"languages", required_argument, 0, 'l'},
        {"skills", required_argument, 0, 's'},
        {"capacity", required_argument, 0, 'c'},
        {"active", no_argument, 0, 'a'},
        {"all", no_argument, 0, 'A'},
        {"json", no_argument, 0, 'j'},
        {0, 0, 0, 0}};
    int o;
    optind = 0; /* options follow the action (see cmd_tasks) */
    while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
        vg_code rc = spec_set_option(a, o, optarg, err);
        if (rc != VG_OK)
            return rc;
    }
    a->id = optind < argc - 1 ? argv[1 + optind] : NULL;
    a->is_list = !strcmp(a->action, "list");
    /* list takes no specialist id; the other actions one */
    int first_extra = optind + !a->is_list;
    if (first_extra < argc - 1)
        return vg_fail(
            err, VG_EUSAGE,
            "unexpected argument '%s' (see `vigil specialists --help`)",
            argv[1 + first_extra]);
    a->is_add = !strcmp(a->action, "add");
    a->is_deact = !strcmp(a->action, "deactivate");
    if (!a->is_list && !a->is_add && !a->is_deact &&
        strcmp(a->action, "update") != 0)
        return vg_fail(err, VG_EUSAGE,
                       "unknown action '%s': add, list, update or deactivate",
                       a->action);
    if (!a->is_list && (!a->id || !*a->id))
        return vg_fail(err, VG_EUSAGE,
                       "%s needs a specialist id: vigil specialists %s ID ...",
                       a->action, a->action);
    if (a->is_deact)
        a->f.active = 0;
    return VG_OK;
}

/* The table for people: the list, or the one specialist changed. */
static void spec_print(const spec_args *a, json_t *res)
{
    print_header();
    if (!a->is_list) {
        print_one(res);
        long long released =
            json_integer_value(json_object_get(res, "released_tasks"));
        if (released > 0)
            printf("%lld assigned task%s went back to the queue\n", released,
                   released == 1 ? "" : "s");
        return;
    }
    size_t i;
    json_t *s;
    json_array_foreach(res, i, s) print_one(s);
    if (json_array_size(res) == 0)
        printf("no %sspecialists yet: add one with `vigil specialists "
               "add ID --name N --email E --languages en`\n",
               a->all ? "" : "active ");
}

static int run_specialists(cli *c, int argc, char **argv, vg_error *err)
{
    spec_args a = {0};
    vg_code rc = spec_parse(argc, argv, &a, err);
    if (rc != VG_OK)
        return rc;
    db_conn *db = NULL;
    json_t *res = NULL;
    if ((rc = cli_connect(c, &db, 1, err)) != VG_OK)
        goto cleanup;
    if (a.is_list)
        rc = specialists_list(db, a.all, &res, err);
    else if (a.is_add)
        rc = specialists_add(db, a.id, &a.f, &res, err);
    else
        rc = specialists_update(db, a.id, &a.f, &res, err);
    if (rc != VG_OK)
        goto cleanup;
    if (a.json && a.is_list) {
        json_t *w = json_pack("{s:O, s:I}", "specialists", res, "count",
                              (json_int_t)json_array_size(res));
        rc = cli_print_json(w, err);
        json_decref(w);
    } else if (a.json) {
        rc = cli_print_json(res, err);
    } else {
        spec_print(&a, res);
    }
cleanup:
    json_decref(res);
    db_close(db);
    return rc;
}

const command cmd_specialists = {
    .name = "specialists",
    .fn = run_specialists,
    .summary = "add, list, update, deactivate the support team",
    .usage =
        "usage: vigil [global options] specialists add ID --name N --email E "
        "--languages en,de\n"
        "                                 [--skills a,b] [--capacity N] "
        "[--json]\n"
        "       vigil specialists list [--all] [--json]\n"
        "       vigil specialists update ID [--name N] [--email E] "
        "[--languages "
        "L]\n"
        "                                 [--skills a,b] [--capacity N] "
        "[--active] [--json]\n"
        "       vigil specialists deactivate ID [--json]\n\n"
        "The support team the outreach queue assigns tasks to "
        "(vigil.specialists).\n"
        "Languages (ISO 639-1 codes) must include the customer's language for "
        "a "
        "task to be\n"
        "assigned; skills must cover the playbook's task.skills; --capacity is "
        "how many\n"
        "tasks a person holds at once (default 10). list shows the active team "
        "with each\n"
        "one's load (--all includes inactive people). deactivate keeps the "
        "history and\n"
        "puts the person's assigned tasks back in the queue; update --active "
        "brings them\n"
        "back. --skills '' clears the skills.\n",
};
