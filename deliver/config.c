/* config.c — the delivery key table and the checks a table cannot express
 * (URL schemes, rt.user with rt.url). */
#include "deliver/config.h"

#include <stddef.h>
#include <string.h>

#define OFF(f) offsetof(deliver_config, f)
static const cfg_key keys[] = {
    {"notify.webhook.url", CFG_STRNULL, OFF(webhook_url), 0, 0, "null",
     "POST every new task (and open trend alert) here; null: no webhook", NULL,
     0},
    {"notify.webhook.format", CFG_CHOICE, OFF(webhook_slack), 0, 0, "\"json\"",
     "json (the task object) or slack ({\"text\": ...})", "json|slack", 0},
    {"notify.webhook.max_attempts", CFG_INT, OFF(max_attempts), 1, 100, "8",
     "attempts before a delivery is given up (error kept)", NULL, 0},
    {"notify.webhook.backoff_seconds", CFG_DOUBLE, OFF(backoff_seconds), 0,
     86400, "30", "delay before the first retry; doubles per attempt", NULL, 0},
    {"notify.webhook.max_backoff_seconds", CFG_DOUBLE, OFF(max_backoff_seconds),
     0, 7 * 86400, "3600", "cap on the delay", NULL, 0},
    {"notify.webhook.timeout_seconds", CFG_DOUBLE, OFF(timeout_seconds), 0.1,
     600, "10", "per request", NULL, 0},
    {"notify.alerts", CFG_BOOL, OFF(alerts), 0, 0, "true",
     "deliver open trend alerts too", NULL, 0},
    {"rt.url", CFG_STRNULL, OFF(rt_url), 0, 0, "null",
     "Request Tracker 5 base URL; null: no RT tickets", NULL, 0},
    {"rt.user", CFG_STRNULL, OFF(rt_user), 0, 0, "–",
     "RT user (basic auth); required with rt.url", NULL, 0},
    {"rt.password", CFG_STRNULL, OFF(rt_password), 0, 0, "null",
     "RT password (never logged)", NULL, 0},
    {"rt.queue", CFG_STRING, OFF(rt_queue), 0, 0, "\"General\"",
     "RT queue the tickets go to", NULL, 0},
    {"rt.task_field", CFG_STRING, OFF(rt_task_field), 0, 0, "\"VigilTaskId\"",
     "RT ticket custom field carrying vigil's task id", NULL, 0},
    {"rt.outcome_field", CFG_STRNULL, OFF(rt_outcome_field), 0, 0,
     "\"VigilOutcome\"",
     "RT custom field read as the outcome when a ticket is resolved", NULL, 0},
};
#undef OFF
#define NKEYS (sizeof keys / sizeof keys[0])

void deliver_config_defaults(deliver_config *dc)
{
    memset(dc, 0, sizeof *dc);
    dc->max_attempts = 8;
    dc->backoff_seconds = 30;
    dc->max_backoff_seconds = 3600;
    dc->timeout_seconds = 10;
    dc->alerts = 1;
    snprintf(dc->rt_queue, sizeof dc->rt_queue, "General");
    snprintf(dc->rt_task_field, sizeof dc->rt_task_field, "VigilTaskId");
    snprintf(dc->rt_outcome_field, sizeof dc->rt_outcome_field, "VigilOutcome");
}

static int is_http_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

static vg_code validate(deliver_config *dc, const char *origin, vg_error *err)
{
    if (dc->webhook_url[0] && !is_http_url(dc->webhook_url))
        return vg_fail(err, VG_ECONFIG,
                       "%s: key 'notify.webhook.url' must start with http:// "
                       "or https://",
                       origin);
    /* Trailing slashes would double up in every request path. */
    size_t n = strlen(dc->rt_url);
    while (n > 0 && dc->rt_url[n - 1] == '/')
        dc->rt_url[--n] = '\0';
    if (dc->rt_url[0] && !is_http_url(dc->rt_url))
        return vg_fail(err, VG_ECONFIG,
                       "%s: key 'rt.url' must start with http:// or https://",
                       origin);
    if (dc->rt_url[0] && !dc->rt_user[0])
        return vg_fail(err, VG_ECONFIG,
                       "%s: key 'rt.user' is required when rt.url is set",
                       origin);
    return VG_OK;
}

vg_code deliver_config_from_json(deliver_config *dc, json_t *root,
                                 const char *origin, vg_error *err)
{
    deliver_config_defaults(dc);
    vg_code rc = cfg_table_apply(keys, NKEYS, dc, root, origin, err);
    return rc == VG_OK ? validate(dc, origin, err) : rc;
}

vg_code deliver_config_load(deliver_config *dc, const char *path, vg_error *err)
{
    deliver_config_defaults(dc);
    if (!path || !*path)
        return VG_OK;
    json_t *root;
    vg_code rc = cfg_read_file(path, &root, err);
    if (rc != VG_OK)
        return rc;
    rc = deliver_config_from_json(dc, root, path, err);
    json_decref(root);
    return rc;
}

int deliver_configured(const deliver_config *dc)
{
    return dc->webhook_url[0] || dc->rt_url[0];
}

void deliver_print_keys(FILE *out)
{
    cfg_table_print(keys, NKEYS, out);
}
