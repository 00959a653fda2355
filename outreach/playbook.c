/* playbook.c — parsing and checking the outreach part of the config file.
 * Every error names the file and the full key path, down to array indices. */
#include "outreach/playbook.h"

#include "core/cfg.h"
#include "score/score.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Tier names for messages: "healthy, watch, ..." */
#define TIER_ITEM_(name) name

static const char *const placeholders[] = {
    "customer_id", "customer_name", "plan",    "mrr",
    "churn_risk",  "health",        "tier",    "drivers",
    "language",    "playbook",      "trigger", "as_of"};
#define NPLACEHOLDERS (sizeof placeholders / sizeof placeholders[0])

const char *outreach_trigger_name(outreach_trigger t)
{
    switch (t) {
    case OUTREACH_TIER_ENTERED:
        return "tier_entered";
    case OUTREACH_HEALTH_DROP:
        return "health_drop";
    case OUTREACH_TREND_ALERT:
        return "trend_alert";
    case OUTREACH_STALE_TICKET:
        return "stale_ticket";
    case OUTREACH_LOW_CSAT:
        return "low_csat";
    case OUTREACH_DATE_WITHIN:
        return "date_within";
    }
    return "?";
}

const char *outreach_placeholders(void)
{
    return "{customer_id} {customer_name} {plan} {mrr} {churn_risk} {health} "
           "{tier} {drivers} {language} {playbook} {trigger} {as_of}";
}

static void pb_task(outreach_playbook *p, const char *title, int due,
                    double weight, int cooldown)
{
    snprintf(p->title, sizeof p->title, "%s", title);
    snprintf(p->body, sizeof p->body,
             "%s: {trigger}.\nCustomer {customer_name} ({customer_id}), plan "
             "{plan}, MRR {mrr}, language {language}.\nChurn risk "
             "{churn_risk}, health {health} ({tier}).\nWhy: {drivers}",
             title);
    p->due_in_hours = due;
    p->weight = weight;
    p->cooldown_days = cooldown;
}

/* The defaults every trigger needs when a key is left out. */
static void pb_trigger_defaults(outreach_playbook *p)
{
    p->tiers_mask = (1 << 2) | (1 << 3);
    p->points = 20;
    p->days = 14;
    p->hours = 48;
    p->max_age_days = 60;
    p->escalated = 1;
    p->npriorities = 1;
    snprintf(p->priorities[0], OUTREACH_NAME, "urgent");
    p->max_csat = 2;
    p->due_in_hours = 72;
    p->weight = 1.0;
    p->cooldown_days = 30;
}

void outreach_config_defaults(outreach_config *oc)
{
    memset(oc, 0, sizeof *oc);
    oc->defaulted = 1;

    static const struct {
        const char *name;
        outreach_trigger t;
        const char *title;
        int due;
        double weight;
        int cooldown;
    } d[] = {
        {"risk_tier", OUTREACH_TIER_ENTERED, "Call {customer_name}: now {tier}",
         72, 1.0, 30},
        {"health_drop", OUTREACH_HEALTH_DROP,
         "Check in with {customer_name}: health dropped", 72, 0.8, 21},
        {"trend_alert", OUTREACH_TREND_ALERT,
         "Reach out to {customer_name} about a known issue", 48, 0.6, 14},
        {"stale_escalation", OUTREACH_STALE_TICKET,
         "Unblock {customer_name}: escalated ticket waiting", 8, 1.2, 7},
        {"low_csat", OUTREACH_LOW_CSAT,
         "Follow up with {customer_name} after a poor rating", 48, 1.0, 30},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        outreach_playbook *p = &oc->playbooks[oc->nplaybooks++];
        pb_trigger_defaults(p);
        snprintf(p->name, sizeof p->name, "%s", d[i].name);
        p->trigger = d[i].t;
        pb_task(p, d[i].title, d[i].due, d[i].weight, d[i].cooldown);
    }
}

/* ---- typed getters: each names the full key path in its message ---------- */

typedef struct ctx {
    const char *origin;
    vg_error *err;
} ctx;

static vg_code bad(ctx *c, const char *path, const char *what)
{
    return vg_fail(c->err, VG_ECONFIG, "%s: key '%s' %s", c->origin, path,
                   what);
}

/* Key paths are short; a truncated one would still name the place. */
static void join(char *out, size_t n, const char *base, const char *key)
{
    int k = snprintf(out, n, "%s%s%s", base, *base ? "." : "", key);
    if (k < 0)
        out[0] = '\0';
}

/* Fails on any key of obj not listed in allowed (NULL-terminated). */
static vg_code only_keys(ctx *c, json_t *obj, const char *base,
                         const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok) {
            char path[512];
            join(path, sizeof path, base, k);
            size_t n = 0;
            while (allowed[n])
                n++;
            const char *near = cfg_closest(k, allowed, n);
            return vg_fail(c->err, VG_ECONFIG,
                           "%s: unknown key '%s'%s%s%s (see README, section "
                           "Outreach)",
                           c->origin, path, near ? ": did you mean '" : "",
                           near ? near : "", near ? "'?" : "");
        }
    }
    return VG_OK;
}

static vg_code get_int(ctx *c, json_t *obj, const char *base, const char *key,
                       int lo, int hi, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VG_OK;
    char path[512], msg[128];
    join(path, sizeof path, base, key);
    if (!json_is_integer(v) || json_integer_value(v) < lo ||
        json_integer_value(v) > hi) {
        snprintf(msg, sizeof msg, "must be a whole number from %d to %d", lo,
                 hi);
        return bad(c, path, msg);
    }
    *out = (int)json_integer_value(v);
    return VG_OK;
}

static vg_code get_num(ctx *c, json_t *obj, const char *base, const char *key,
                       double lo, double hi, double *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VG_OK;
    char path[512], msg[128];
    join(path, sizeof path, base, key);
    double x = json_is_number(v) ? json_number_value(v) : NAN;
    if (!(x >= lo && x <= hi)) {
        snprintf(msg, sizeof msg, "must be a number from %g to %g", lo, hi);
        return bad(c, path, msg);
    }
    *out = x;
    return VG_OK;
}

static vg_code get_bool(ctx *c, json_t *obj, const char *base, const char *key,
                        int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VG_OK;
    char path[512];
    join(path, sizeof path, base, key);
    if (!json_is_boolean(v))
        return bad(c, path, "must be true or false");
    *out = json_is_true(v);
    return VG_OK;
}

/* allow_empty: "" and null are accepted (e.g. to switch a target off). */
static vg_code get_str(ctx *c, json_t *obj, const char *base, const char *key,
                       char *out, size_t n, int allow_empty)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VG_OK;
    char path[512], msg[128];
    join(path, sizeof path, base, key);
    if (json_is_null(v) && allow_empty) {
        out[0] = '\0';
        return VG_OK;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) >= n ||
        (!allow_empty && !*json_string_value(v))) {
        snprintf(msg, sizeof msg, "must be a %sstring under %zu bytes",
                 allow_empty ? "" : "non-empty ", n);
        return bad(c, path, msg);
    }
    snprintf(out, n, "%s", json_string_value(v));
    return VG_OK;
}

static vg_code get_list(ctx *c, json_t *obj, const char *base, const char *key,
                        char (*out)[OUTREACH_NAME], int *n)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return VG_OK;
    char path[512];
    join(path, sizeof path, base, key);
    if (!json_is_array(v) || json_array_size(v) > OUTREACH_MAX_LIST)
        return bad(c, path,
                   "must be an array of at most 8 non-empty strings under 64 "
                   "bytes");
    size_t i;
    json_t *e;
    *n = 0;
    json_array_foreach(v, i, e)
    {
        if (!json_is_string(e) || !*json_string_value(e) ||
            strlen(json_string_value(e)) >= OUTREACH_NAME) {
            char ipath[600];
            snprintf(ipath, sizeof ipath, "%s[%zu]", path, i);
            return bad(c, ipath, "must be a non-empty string under 64 bytes");
        }
        snprintf(out[(*n)++], OUTREACH_NAME, "%s", json_string_value(e));
    }
    return VG_OK;
}

/* Every {name} in a template must be a known placeholder. */
static vg_code check_template(ctx *c, const char *path, const char *s)
{
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{')) {
        const char *q = strchr(p, '}');
        if (!q)
            return bad(c, path, "has a '{' without a closing '}'");
        int ok = 0;
        for (size_t i = 0; i < NPLACEHOLDERS; i++)
            ok |= (size_t)(q - p - 1) == strlen(placeholders[i]) &&
                  strncmp(p + 1, placeholders[i], (size_t)(q - p - 1)) == 0;
        if (!ok) {
            char msg[512];
            snprintf(msg, sizeof msg,
                     "uses unknown placeholder '%.*s'; known: %s",
                     (int)(q - p + 1), p, outreach_placeholders());
            return bad(c, path, msg);
        }
    }
    return VG_OK;
}

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) ||
              *s == '_' || *s == '-'))
            return 0;
    return 1;
}

/* The trigger's "type": one of the trigger names, and the defaults that
 * depend on it (a renewal window is not a health window). */
static vg_code trigger_type(ctx *c, json_t *t, const char *base,
                            outreach_playbook *p)
{
    static const outreach_trigger all[] = {
        OUTREACH_TIER_ENTERED, OUTREACH_HEALTH_DROP, OUTREACH_TREND_ALERT,
        OUTREACH_STALE_TICKET, OUTREACH_LOW_CSAT,    OUTREACH_DATE_WITHIN};
    char path[512], type[32] = "";
    vg_code rc = get_str(c, t, base, "type", type, sizeof type, 0);
    if (rc != VG_OK)
        return rc;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(type, outreach_trigger_name(all[i])) == 0) {
            p->trigger = all[i];
            if (p->trigger == OUTREACH_DATE_WITHIN)
                p->days = 30;
            return VG_OK;
        }
    join(path, sizeof path, base, "type");
    return bad(c, path,
               "must be one of tier_entered, health_drop, trend_alert, "
               "stale_ticket, low_csat, date_within");
}

/* "tiers": at least one tier name, kept as a mask of tier ranks. */
static vg_code trigger_tiers(ctx *c, json_t *t, const char *base,
                             outreach_playbook *p)
{
    char tiers[OUTREACH_MAX_LIST][OUTREACH_NAME], path[512];
    int ntiers = -1;
    vg_code rc = get_list(c, t, base, "tiers", tiers, &ntiers);
    if (rc != VG_OK || ntiers < 0)
        return rc;
    join(path, sizeof path, base, "tiers");
    if (ntiers == 0)
        return bad(c, path, "must name at least one tier");
    p->tiers_mask = 0;
    for (int i = 0; i < ntiers; i++) {
        int r = score_tier_rank(tiers[i]);
        if (r < 0)
            return bad(c, path,
                       "items must be one of: " SCORE_TIERS(TIER_ITEM_, ", "));
        p->tiers_mask |= 1 << r;
    }
    return VG_OK;
}

/* The trigger's numbers, flags and lists, each within its range. */
static vg_code trigger_values(ctx *c, json_t *t, const char *base,
                              outreach_playbook *p)
{
    vg_code rc;
    if ((rc = get_int(c, t, base, "points", 1, 100, &p->points)) != VG_OK ||
        (rc = get_int(c, t, base, "days", 1, 3650, &p->days)) != VG_OK ||
        (rc = get_int(c, t, base, "hours", 1, 24 * 365, &p->hours)) != VG_OK ||
        (rc = get_int(c, t, base, "max_age_days", 1, 3650, &p->max_age_days)) !=
            VG_OK ||
        (rc = get_bool(c, t, base, "escalated", &p->escalated)) != VG_OK ||
        (rc = get_list(c, t, base, "priorities", p->priorities,
                       &p->npriorities)) != VG_OK ||
        (rc = get_int(c, t, base, "max_csat", 1, 5, &p->max_csat)) != VG_OK)
        return rc;
    return get_str(c, t, base, "column", p->column, sizeof p->column, 0);
}

static vg_code parse_trigger(ctx *c, json_t *t, const char *base,
                             outreach_playbook *p)
{
    static const char *const allowed[] = {
        "type",     "tiers",        "points",    "days",
        "hours",    "max_age_days", "escalated", "priorities",
        "max_csat", "column",       NULL};
    char path[512];
    if (!json_is_object(t))
        return bad(c, base, "must be an object with a \"type\"");
    vg_code rc = only_keys(c, t, base, allowed);
    if (rc == VG_OK)
        rc = trigger_type(c, t, base, p);
    if (rc == VG_OK)
        rc = trigger_tiers(c, t, base, p);
    if (rc == VG_OK)
        rc = trigger_values(c, t, base, p);
    if (rc != VG_OK)
        return rc;
    if (p->trigger == OUTREACH_DATE_WITHIN && !p->column[0]) {
        join(path, sizeof path, base, "column");
        return bad(c, path, "is required by a date_within trigger");
    }
    if (p->trigger == OUTREACH_STALE_TICKET && !p->escalated &&
        p->npriorities == 0)
        return bad(c, base,
                   "selects no ticket: set \"escalated\": true or "
                   "\"priorities\"");
    return VG_OK;
}

static vg_code parse_playbook(ctx *c, json_t *o, const char *base,
                              outreach_playbook *p)
{
    static const char *const allowed[] = {"name", "trigger", "task",
                                          "cooldown_days", NULL};
    static const char *const task_keys[] = {"title",        "body",   "skills",
                                            "due_in_hours", "weight", NULL};
    char path[512], tbase[512];
    memset(p, 0, sizeof *p);
    pb_trigger_defaults(p);
    if (!json_is_object(o))
        return bad(c, base, "must be an object");
    vg_code rc = only_keys(c, o, base, allowed);
    if (rc == VG_OK)
        rc = get_str(c, o, base, "name", p->name, sizeof p->name, 0);
    if (rc != VG_OK)
        return rc;
    join(path, sizeof path, base, "name");
    if (!valid_name(p->name))
        return bad(c, path,
                   "is required: lower-case letters, digits, '_' or '-'");
    join(tbase, sizeof tbase, base, "trigger");
    if (!json_object_get(o, "trigger"))
        return bad(c, tbase, "is required");
    if ((rc = parse_trigger(c, json_object_get(o, "trigger"), tbase, p)) !=
        VG_OK)
        return rc;
    pb_task(p, "Contact {customer_name} ({playbook})", p->due_in_hours,
            p->weight, p->cooldown_days);
    if ((rc = get_int(c, o, base, "cooldown_days", 0, 3650,
                      &p->cooldown_days)) != VG_OK)
        return rc;
    json_t *task = json_object_get(o, "task");
    join(tbase, sizeof tbase, base, "task");
    if (task) {
        if (!json_is_object(task))
            return bad(c, tbase, "must be an object");
        if ((rc = only_keys(c, task, tbase, task_keys)) != VG_OK ||
            (rc = get_str(c, task, tbase, "title", p->title, sizeof p->title,
                          0)) != VG_OK ||
            (rc = get_str(c, task, tbase, "body", p->body, sizeof p->body,
                          0)) != VG_OK ||
            (rc = get_list(c, task, tbase, "skills", p->skills, &p->nskills)) !=
                VG_OK ||
            (rc = get_int(c, task, tbase, "due_in_hours", 1, 24 * 365,
                          &p->due_in_hours)) != VG_OK ||
            (rc = get_num(c, task, tbase, "weight", 0, 1000, &p->weight)) !=
                VG_OK)
            return rc;
    }
    join(path, sizeof path, tbase, "title");
    if ((rc = check_template(c, path, p->title)) != VG_OK)
        return rc;
    join(path, sizeof path, tbase, "body");
    return check_template(c, path, p->body);
}

static vg_code parse_outreach(ctx *c, outreach_config *oc, json_t *o)
{
    static const char *const allowed[] = {"playbooks", NULL};
    if (!json_is_object(o))
        return bad(c, "outreach", "must be an object");
    vg_code rc = only_keys(c, o, "outreach", allowed);
    json_t *pbs = json_object_get(o, "playbooks");
    if (rc != VG_OK || !pbs)
        return rc;
    if (!json_is_array(pbs) || json_array_size(pbs) > OUTREACH_MAX_PLAYBOOKS)
        return bad(c, "outreach.playbooks",
                   "must be an array of at most 32 playbook objects");
    oc->defaulted = 0;
    oc->nplaybooks = 0;
    size_t i;
    json_t *e;
    json_array_foreach(pbs, i, e)
    {
        char base[64];
        snprintf(base, sizeof base, "outreach.playbooks[%zu]", i);
        outreach_playbook *p = &oc->playbooks[oc->nplaybooks];
        if ((rc = parse_playbook(c, e, base, p)) != VG_OK)
            return rc;
        for (int k = 0; k < oc->nplaybooks; k++)
            if (strcmp(oc->playbooks[k].name, p->name) == 0) {
                char path[96];
                snprintf(path, sizeof path, "%s.name", base);
                return bad(c, path, "repeats the name of an earlier playbook");
            }
        oc->nplaybooks++;
    }
    return VG_OK;
}

vg_code outreach_config_from_json(outreach_config *oc, json_t *root,
                                  const char *origin, vg_error *err)
{
    ctx c = {origin, err};
    outreach_config_defaults(oc);
    if (!json_is_object(root))
        return vg_fail(err, VG_ECONFIG,
                       "%s: the configuration must be a JSON object", origin);
    vg_code rc = VG_OK;
    json_t *v;
    if ((v = json_object_get(root, "outreach")))
        rc = parse_outreach(&c, oc, v);
    return rc;
}

void outreach_print_keys(FILE *out)
{
    static const char *const rows[][3] = {
        {"outreach.playbooks", "the five default playbooks",
         "array of playbooks: name, trigger, task, cooldown_days (README, "
         "Outreach)"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        fprintf(out, "| `%s` | `%s` | %s |\n", rows[i][0], rows[i][1],
                rows[i][2]);
}
