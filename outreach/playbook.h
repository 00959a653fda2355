/* playbook.h — the outreach configuration: playbooks (trigger, task template,
 * cooldown). `outreach.*` is read here, not in core/cfg.c, because playbooks
 * are a list of objects; errors name the key. Delivery targets (`notify.*`,
 * `rt.*`) belong to deliver/config.h. */
#ifndef VG_OUTREACH_PLAYBOOK_H
#define VG_OUTREACH_PLAYBOOK_H

#include <jansson.h>
#include <stdio.h>

#include "core/err.h"

#define OUTREACH_MAX_PLAYBOOKS 32
#define OUTREACH_MAX_LIST 8
#define OUTREACH_NAME 64

typedef enum {
    OUTREACH_TIER_ENTERED, /* the score of D is in `tiers`, the previous not */
    OUTREACH_HEALTH_DROP,  /* max(health over [D-days, D)) - health(D) >= n */
    OUTREACH_TREND_ALERT,  /* a ticket in an open alert (topic and window, or
                              an issue alert's tickets); once per alert */
    OUTREACH_STALE_TICKET, /* escalated/urgent ticket unresolved > hours */
    OUTREACH_LOW_CSAT,     /* a ticket resolved in [D-days, D) rated <= max */
    OUTREACH_DATE_WITHIN   /* customers.<column> falls in [D, D+days] */
} outreach_trigger;

typedef struct outreach_playbook {
    char name[OUTREACH_NAME];
    outreach_trigger trigger;
    /* trigger parameters; which are used depends on `trigger` */
    int tiers_mask;   /* bit i: tier of rank i (healthy 0 .. critical 3) */
    int points;       /* health_drop */
    int days;         /* health_drop, low_csat, date_within */
    int hours;        /* stale_ticket */
    int max_age_days; /* stale_ticket: older tickets are ignored (abandoned) */
    int escalated;    /* stale_ticket: escalated tickets qualify */
    int npriorities;  /* stale_ticket: ticket priorities that qualify */
    char priorities[OUTREACH_MAX_LIST][OUTREACH_NAME];
    int max_csat;                   /* low_csat */
    char column[OUTREACH_NAME * 2]; /* date_within: a customers column */
    /* the task */
    char title[256];
    char body[2048];
    int nskills;
    char skills[OUTREACH_MAX_LIST][OUTREACH_NAME];
    int due_in_hours;
    double weight;
    int cooldown_days;
} outreach_playbook;

typedef struct outreach_config {
    int nplaybooks;
    int defaulted; /* 1 when no outreach.playbooks key: the defaults apply */
    outreach_playbook playbooks[OUTREACH_MAX_PLAYBOOKS];
} outreach_config;

/* Defaults: the five default playbooks. */
void outreach_config_defaults(outreach_config *oc);
/* Read `outreach.*` from a parsed config over the defaults (service/cli.c
 * reads the file once for every section). Other keys are ignored
 * (core/cfg.c checks them). Mistakes fail with VG_ECONFIG naming `origin`
 * (the file) and the key, e.g.
 * "vigil.json: key 'outreach.playbooks[2].trigger.days' must be ...". */
vg_code outreach_config_from_json(outreach_config *oc, json_t *root,
                                  const char *origin, vg_error *err);

const char *outreach_trigger_name(outreach_trigger t);
/* The placeholders a title or body may use, space-separated (for docs). */
const char *outreach_placeholders(void);
/* Markdown rows of the keys read here (appended to `vigil config-keys`). */
void outreach_print_keys(FILE *out);

#endif
