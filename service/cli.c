/* cli.c — helpers shared by the `vigil` commands: option parsing, JSON
 * output, and the vigil.job_runs row around every job. */
#include "service/cli.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/date.h"
#include "core/freshness.h"
#include "features/doctor.h"
#include "core/jobrun.h"
#include "core/migrate.h"
#include "service/jobsig.h"

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

vg_code cli_print_json(const json_t *j, vg_error *err)
{
    /* A NULL result is a json_pack that met a NULL string or ran out of
     * memory: never printed as if nothing were wrong. */
    if (!j)
        return vg_fail(err, VG_EINTERNAL,
                       "the JSON result could not be built (the work itself "
                       "is done); please report the command");
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (!s)
        return vg_fail(err, VG_ENOMEM,
                       "out of memory printing the JSON result (the work "
                       "itself is done)");
    puts(s);
    free(s);
    return VG_OK;
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

vg_code cli_no_operands(const char *cmd, int argc, char **argv, vg_error *err)
{
    if (optind < argc)
        return vg_fail(err, VG_EUSAGE,
                       "unexpected argument '%s' (see `vigil %s --help`)",
                       argv[optind], cmd);
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

/* Jobs whose body judges the date itself, before it commits anything:
 * score (and daily, which scores first) read every event of the window for
 * the date's features, and judge the date by the activity that reading
 * counted instead of a scan of their own (cli_date_guard_fn). */
static int guard_deferred(const char *job)
{
    return strcmp(job, "score") == 0 || strcmp(job, "daily") == 0;
}

/* The guard rail against a wrong date, in the one place every job passes
 * (inside its ledger row, so a refused scheduled run says why). Jobs that
 * read no source data as of a date (deliver) are not checked. A missing
 * source relation or column is kept in *missing, not raised here: the job
 * may fail for a reason that comes first (no model), and if it fails on
 * the source, *missing says what to create instead of the bare SQL. The
 * date after today is refused here for every job (no query); the scan of
 * the source waits for the body of a deferring job (cli_date_guard). */
static vg_code date_guard(cli *c, db_conn *db, const char *job, int as_of,
                          vg_error *missing, vg_error *err)
{
    static const char *const dated[] = {"train", "score", "topics", "outreach",
                                        "daily"};
    for (size_t i = 0; i < sizeof dated / sizeof dated[0]; i++) {
        if (strcmp(job, dated[i]))
            continue;
        vg_code rc = doctor_require(db, &c->cfg, missing, err);
        if (rc != VG_OK)
            return rc;
        if (missing->code != VG_OK)
            return VG_OK; /* nothing to judge the date by */
        if (c->force)
            return VG_OK;
        int today = date_today();
        if (as_of > today || !guard_deferred(job))
            return fresh_check(db, c->cfg.source_schema, job, as_of, today,
                               err);
        c->guard_pending = 1;
        c->guard_job = job;
        c->guard_as_of = as_of;
        return VG_OK;
    }
    return VG_OK;
}

vg_code cli_date_guard(cli *c, db_conn *db, vg_error *err)
{
    if (!c->guard_pending)
        return VG_OK;
    c->guard_pending = 0;
    double t0 = cli_now_s();
    vg_code rc = fresh_check(db, c->cfg.source_schema, c->guard_job,
                             c->guard_as_of, date_today(), err);
    c->guard_seconds += cli_now_s() - t0;
    return rc;
}

vg_code cli_date_guard_fn(void *arg, db_conn *db, const fresh_days *days,
                          vg_error *err)
{
    cli *c = arg;
    if (!c->guard_pending)
        return VG_OK;
    c->guard_pending = 0;
    double t0 = cli_now_s();
    vg_code rc = fresh_judge(db, c->cfg.source_schema, c->guard_job,
                             c->guard_as_of, date_today(), days, err);
    c->guard_seconds += cli_now_s() - t0;
    return rc;
}

/* What a command-line run does first: close the rows of runs whose
 * process died (their session lock is gone), so the ledger never shows a
 * dead run as running. serve sweeps for its own children. */
static void sweep_abandoned(cli *c, db_conn *db)
{
    int closed = 0;
    vg_error e;
    vg_error_clear(&e);
    if (jobrun_sweep(db, NULL, 0, &closed, &e) != VG_OK)
        log_warn(&c->log, "could not close abandoned runs: %s", e.msg);
    else if (closed > 0)
        log_info(&c->log, "closed %d abandoned run(s) in vigil.job_runs",
                 closed);
}

/* score and daily both replace a date's scores: one at a time per date. */
static const char *exclusive_work(const char *job)
{
    return strcmp(job, "score") == 0 || strcmp(job, "daily") == 0 ? "score"
                                                                  : NULL;
}

/* Claim the run's row in vigil.job_runs (or adopt the one serve claimed)
 * and, for score and daily, the date's exclusive lock. On failure nothing
 * is held. */
static vg_code claim_run(cli *c, db_conn *db, const char *job, const char *d,
                         long long *run_id, vg_error *err)
{
    const char *excl = exclusive_work(job);
    *run_id = c->run_id;
    if (*run_id <= 0)
        sweep_abandoned(c, db);
    vg_code rc = excl ? jobrun_exclusive(db, excl, d, err) : VG_OK;
    if (rc != VG_OK)
        return rc;
    rc = *run_id > 0 ? jobrun_attach(db, *run_id, job, d, err)
                     : jobrun_start(db, job, d, c->scheduled_for, run_id, err);
    if (rc != VG_OK && excl)
        jobrun_exclusive_end(db, excl, d);
    return rc;
}

/* The body stopped before its own freshness check (no model, say): a date
 * the guard refuses is what the run reports, as when it ran first. */
static vg_code late_guard(cli *c, db_conn *db, vg_code rc, json_t **summary,
                          vg_error *err)
{
    vg_error ge;
    vg_error_clear(&ge);
    vg_code grc = cli_date_guard(c, db, &ge);
    if (grc == VG_OK)
        return rc;
    if (rc == VG_OK) { /* a body that wrote without it: a bug */
        json_decref(*summary);
        *summary = NULL;
    }
    *err = ge;
    return grc;
}

/* Session settings, the freshness guard, the body. Returns the signal that
 * arrived meanwhile (0 if none) in *got and the guard's own time in *tg. */
static vg_code run_body(cli *c, db_conn *db, const char *job, int as_of,
                        long long run_id, cli_job_body body, void *arg,
                        json_t **summary, vg_error *missing, int *got,
                        double *tg, vg_error *err)
{
    /* serve stops its children itself and records their end */
    jobsig *sig = c->run_id <= 0 ? jobsig_start(db) : NULL;
    vg_code rc =
        db_set_job(db, job, run_id,
                   strcmp(job, "train") == 0 ? c->cfg.db_train_statement_timeout
                                             : c->cfg.db_statement_timeout,
                   err);
    c->guard_pending = 0;
    c->guard_seconds = 0;
    double t0 = cli_now_s();
    if (rc == VG_OK)
        rc = date_guard(c, db, job, as_of, missing, err);
    *tg = cli_now_s() - t0;
    if (rc == VG_OK)
        rc = jobrun_tag(db, run_id, err);
    if (rc == VG_OK)
        rc = body(c, db, arg, summary, err);
    *got = jobsig_stop(sig);
    if (c->guard_pending && !*got)
        rc = late_guard(c, db, rc, summary, err);
    c->guard_pending = 0;
    return rc;
}

/* What the run ended as, given the signal that arrived and the guard's note
 * of a missing relation. */
static const char *settle_run(cli *c, db_conn *db, int got,
                              const vg_error *missing, json_t **summary,
                              vg_code *rc, vg_error *err)
{
    if (got && *rc == VG_OK) {
        log_warn(&c->log,
                 "%s arrived after the run's work was committed: "
                 "recorded as done",
                 got == SIGINT ? "SIGINT" : "SIGTERM");
        return "ok";
    }
    if (got) {
        /* Whatever error the interruption gave the body, the run was
         * canceled and its transaction rolled back. */
        db_rollback(db);
        json_decref(*summary);
        *summary = NULL;
        *rc = vg_fail(err, VG_ECANCELED,
                      "canceled by %s; nothing of this run was kept",
                      got == SIGINT ? "SIGINT (Ctrl-C)" : "SIGTERM");
        return "canceled";
    }
    if ((*rc == VG_EDB || *rc == VG_EDATA) && missing->code != VG_OK) {
        *err = *missing; /* what to create, rather than the SQL error */
        *rc = missing->code;
    }
    return *rc == VG_OK ? "ok" : "failed";
}

/* Time, peak memory and (for a job that reports its phases) the freshness
 * check's share: a scan of the events before the job's own work, or
 * (score) the verdict from what its reading counted. */
static void decorate_summary(cli *c, json_t *summary, double elapsed, double tg)
{
    if (!summary)
        return;
    json_object_set_new(summary, "elapsed_seconds", json_real(elapsed));
    json_t *ph = json_object_get(summary, "phase_seconds");
    if (json_is_object(ph))
        json_object_set_new(ph, "freshness_check",
                            json_real(tg + c->guard_seconds));
    json_object_set_new(summary, "cli_peak_rss_mb",
                        json_real(cli_peak_rss_mb()));
}

vg_code cli_run_job(cli *c, db_conn *db, const char *job, int as_of,
                    cli_job_body body, void *arg, json_t **summary,
                    vg_error *err)
{
    char d[DATE_BUF];
    date_format(as_of, d);
    long long run_id = 0;
    vg_code rc = claim_run(c, db, job, d, &run_id, err);
    if (rc != VG_OK)
        return rc;
    c->log.job = job;
    double t0 = cli_now_s(), tg = 0;
    int got = 0;
    vg_error missing;
    vg_error_clear(&missing);
    rc = run_body(c, db, job, as_of, run_id, body, arg, summary, &missing, &got,
                  &tg, err);
    const char *status = settle_run(c, db, got, &missing, summary, &rc, err);
    jobrun_tag(db, 0, NULL);
    decorate_summary(c, *summary, cli_now_s() - t0, tg);
    vg_error e2;
    vg_error_clear(&e2);
    if (jobrun_finish(db, run_id, status, *summary,
                      rc == VG_OK ? NULL : err->msg, &e2) != VG_OK)
        log_warn(&c->log, "could not record the run in vigil.job_runs: %s",
                 e2.msg);
    if (c->run_id <= 0) /* serve holds the lease of the runs it claimed */
        jobrun_release(db, run_id);
    if (exclusive_work(job))
        jobrun_exclusive_end(db, exclusive_work(job), d);
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
            rc = cli_print_json(summary, err);
        else
            print(db, summary);
    }
    json_decref(summary);
    db_close(db);
    return rc;
}
