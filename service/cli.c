/* cli.c — helpers shared by the `vigil` commands: option parsing, JSON
 * output, and the vigil.job_runs row around every job. */
#include "service/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/date.h"
#include "core/jobrun.h"
#include "core/migrate.h"

vg_code cli_load_config(cli *c, vg_error *err)
{
    vg_code rc = VG_OK;
    json_t *root = NULL;
    deliver_config_defaults(&c->dc);
    if (!c->oc && !(c->oc = malloc(sizeof *c->oc)))
        return vg_fail(err, VG_ENOMEM, "out of memory");
    outreach_config_defaults(c->oc);
    if (!c->config_path)
        return VG_OK;
    if ((rc = cfg_load(&c->cfg, c->config_path, err)) != VG_OK ||
        (rc = cfg_read_file(c->config_path, &root, err)) != VG_OK)
        goto cleanup;
    if ((rc = outreach_config_from_json(c->oc, root, c->config_path, err)) ==
        VG_OK)
        rc = deliver_config_from_json(&c->dc, root, c->config_path, err);
cleanup:
    json_decref(root);
    return rc;
}

void cli_release(cli *c)
{
    free(c->oc);
    c->oc = NULL;
}

void cli_print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (s) {
        puts(s);
        free(s);
    }
}

double cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Peak resident memory of this process so far, for summaries and benchmarks. */
double cli_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

/* Parse --as-of (default today, UTC). */
vg_code cli_parse_as_of(const char *s, int *day, vg_error *err)
{
    if (!s) {
        *day = date_today();
        return VG_OK;
    }
    if (date_parse(s, day) != 0)
        return vg_fail(err, VG_EUSAGE,
                       "--as-of '%s' is not a date: use YYYY-MM-DD", s);
    return VG_OK;
}

vg_code cli_parse_int_opt(const char *name, const char *s, int lo, int hi,
                          int *out, vg_error *err)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return vg_fail(err, VG_EUSAGE,
                       "%s must be a whole number from %d to %d (got '%s')",
                       name, lo, hi, s);
    *out = (int)v;
    return VG_OK;
}

vg_code cli_connect(cli *c, db_conn **db, int need_schema, vg_error *err)
{
    vg_code rc = db_connect(c->dsn, db, err);
    if (rc == VG_OK && need_schema)
        rc = migrate_require(*db, err);
    return rc;
}

vg_code cli_run_job(cli *c, db_conn *db, const char *job, int as_of,
                    cli_job_body body, void *arg, json_t **summary,
                    vg_error *err)
{
    char d[DATE_BUF];
    date_format(as_of, d);
    long long run_id = c->run_id;
    vg_code rc = run_id > 0
                     ? jobrun_attach(db, run_id, job, d, err)
                     : jobrun_start(db, job, d, c->scheduled_for, &run_id, err);
    if (rc != VG_OK)
        return rc;
    c->log.job = job;
    double t0 = cli_now_s();
    rc =
        db_set_job(db, job, run_id,
                   strcmp(job, "train") == 0 ? c->cfg.db_train_statement_timeout
                                             : c->cfg.db_statement_timeout,
                   err);
    if (rc == VG_OK)
        rc = body(c, db, arg, summary, err);
    if (*summary) {
        json_object_set_new(*summary, "elapsed_seconds",
                            json_real(cli_now_s() - t0));
        json_object_set_new(*summary, "cli_peak_rss_mb",
                            json_real(cli_peak_rss_mb()));
    }
    vg_error e2;
    vg_error_clear(&e2);
    if (jobrun_finish(db, run_id, rc == VG_OK ? "ok" : "failed", *summary,
                      rc == VG_OK ? NULL : err->msg, &e2) != VG_OK)
        log_warn(&c->log, "could not record the run in vigil.job_runs: %s",
                 e2.msg);
    if (c->run_id <= 0) /* serve holds the lease of the runs it claimed */
        jobrun_release(db, run_id);
    c->log.job = NULL;
    if (*summary)
        json_object_set_new(*summary, "run_id", json_integer(run_id));
    return rc;
}

vg_code cli_job_command(cli *c, const char *job, int as_of, cli_job_body body,
                        void *arg, int json, cli_print_fn print, vg_error *err)
{
    db_conn *db = NULL;
    json_t *summary = NULL;
    vg_code rc = cli_connect(c, &db, 1, err);
    if (rc == VG_OK)
        rc = cli_run_job(c, db, job, as_of, body, arg, &summary, err);
    if (rc == VG_OK) {
        if (json)
            cli_print_json(summary);
        else
            print(db, summary);
    }
    json_decref(summary);
    db_close(db);
    return rc;
}
