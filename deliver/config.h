/* config.h — delivery settings: the webhook (`notify.*`) and Request
 * Tracker 5 (`rt.*`). They have their own key table in config.c, checked
 * with core/cfg's machinery, so defaults, ranges and docs live in one place.
 * service/ loads them for every command; outreach/ never reads them. */
#ifndef VG_DELIVER_CONFIG_H
#define VG_DELIVER_CONFIG_H

#include <jansson.h>
#include <stdio.h>

#include "core/cfg.h"
#include "core/err.h"

typedef struct deliver_config {
    /* notify.webhook.* — empty url: no webhook deliveries are queued */
    char webhook_url[CFG_STR];
    int webhook_slack; /* notify.webhook.format: 0 "json", 1 "slack" */
    int max_attempts;
    double backoff_seconds; /* first retry delay; doubles per attempt */
    double max_backoff_seconds;
    double timeout_seconds;
    int alerts; /* notify.alerts: also deliver open trend alerts */
    /* rt.* — empty url: no Request Tracker tickets */
    char rt_url[CFG_STR];
    char rt_user[CFG_STR];
    char rt_password[CFG_STR]; /* never logged or printed */
    char rt_queue[CFG_STR];
    char rt_task_field[CFG_STR];    /* ticket custom field holding task id */
    char rt_outcome_field[CFG_STR]; /* optional field read as the outcome */
} deliver_config;

/* Defaults: no webhook, no RT. */
void deliver_config_defaults(deliver_config *dc);
/* Read `notify.*` and `rt.*` from a parsed config over the defaults; other
 * sections are ignored. Mistakes fail with VG_ECONFIG naming the key and
 * `origin` (the file). */
vg_code deliver_config_from_json(deliver_config *dc, json_t *root,
                                 const char *origin, vg_error *err);
/* Same from the file at `path` (NULL or "": defaults only). */
vg_code deliver_config_load(deliver_config *dc, const char *path,
                            vg_error *err);
/* Is any target (webhook or RT) configured? */
int deliver_configured(const deliver_config *dc);
/* Markdown rows of the keys (for `vigil config-keys`). */
void deliver_print_keys(FILE *out);

#endif
