/* cli.h — what every `vigil` command shares: the parsed global options, the
 * command table's shape and small helpers (options, JSON output, job runs). */
#ifndef VG_CLI_H
#define VG_CLI_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/err.h"
#include "core/freshness.h"
#include "core/log.h"
#include "deliver/config.h"
#include "outreach/playbook.h"

typedef struct cli {
    const char *dsn;
    const char *config_path;
    vg_config cfg;
    /* The file's other sections, loaded with cfg by cli_load_config for
     * every command, so a mistake anywhere in the file stops any command. */
    outreach_config *oc; /* owned; freed by cli_release */
    deliver_config dc;
    vg_log log;
    int quiet;
    /* Set by `serve` for the child that runs a scheduled job (hidden global
     * option --scheduled-for): the ledger row records it. NULL otherwise. */
    const char *scheduled_for;
    /* Set by `serve` for its job children (hidden global option --run-id):
     * the vigil.job_runs row serve claimed, which cli_run_job adopts instead
     * of inserting one. Such a child exits 75 (EX_TEMPFAIL) when the
     * database was unavailable, so serve retries it. 0 otherwise. */
    long long run_id;
    /* --force of a job command: run even for a date after today or after
     * the newest source data (core/freshness.h). */
    int force;
    /* The date guard's freshness check, when the job's body has it judged
     * itself (score, daily: from what their reading counted, see
     * cli_date_guard_fn): pending until it ran; its wall time, for
     * phase_seconds. */
    int guard_pending;
    const char *guard_job;
    int guard_as_of;
    double guard_seconds;
} cli;

typedef int (*cmd_fn)(cli *c, int argc, char **argv, vg_error *err);

typedef struct command {
    const char *name;
    cmd_fn fn;
    const char *summary;
    const char *usage; /* full --help text */
} command;

/* Load every section of c->config_path (NULL: defaults) into c->cfg,
 * c->oc and c->dc. Fails with VG_ECONFIG naming the key and the file. */
vg_code cli_load_config(cli *c, vg_error *err);
/* Free what cli_load_config allocated. Safe to call twice. */
void cli_release(cli *c);

/* Prints j compactly with sorted keys and a newline on stdout: the one JSON
 * object of --json. A NULL j (a json_pack that failed: VG_EINTERNAL) or a
 * failed dump (VG_ENOMEM) prints nothing and fails, so the exit status
 * says it. */
vg_code cli_print_json(const json_t *j, vg_error *err);
double cli_now_s(void);
/* Peak resident memory of this process so far, for summaries and benchmarks. */
double cli_peak_rss_mb(void);
/* --as-of (NULL: today, UTC) into a day number. */
vg_code cli_parse_as_of(const char *s, int *day, vg_error *err);
/* After getopt_long: an operand left over (a typo, a value without its
 * option) is a usage error naming it, not something silently ignored. */
vg_code cli_no_operands(const char *cmd, int argc, char **argv, vg_error *err);
vg_code cli_parse_int_opt(const char *name, const char *s, int lo, int hi,
                          int *out, vg_error *err);
/* Connects; need_schema also checks that `vigil init` has run. */
vg_code cli_connect(cli *c, db_conn **db, int need_schema, vg_error *err);

/* A job body runs inside a vigil.job_runs row: a new one holding its lease,
 * or (c->run_id set) the row serve claimed. A command that runs several job
 * bodies under serve (e.g. `daily`) should wrap them in one cli_run_job. */
typedef vg_code (*cli_job_body)(cli *c, db_conn *db, void *arg,
                                json_t **summary, vg_error *err);
vg_code cli_run_job(cli *c, db_conn *db, const char *job, int as_of,
                    cli_job_body body, void *arg, json_t **summary,
                    vg_error *err);

/* The freshness check of core/freshness.h for the running job, when
 * cli_run_job left it to the body (score and daily): the body has it judged
 * through score_run's guard (cli_date_guard_fn, from what its reading
 * counted) before it commits anything, or calls this (a scan of the source)
 * when it did not score. Does nothing once the check ran, under --force,
 * or for other jobs. When the body fails without a verdict, cli_run_job
 * runs this then and a refusal is what the run reports. */
vg_code cli_date_guard(cli *c, db_conn *db, vg_error *err);
/* The same verdict in score_run's guard shape (arg is the cli), judged by
 * the activity per day score's own reading counted (fresh_judge): no scan
 * of its own. */
vg_code cli_date_guard_fn(void *arg, db_conn *db, const fresh_days *days,
                          vg_error *err);

/* Prints a job's summary for people (db is still open, for extra detail). */
typedef void (*cli_print_fn)(db_conn *db, const json_t *summary);

/* The option every job command (train, score, topics, outreach, daily)
 * accepts, for its getopt table and its --help text. */
#define CLI_FORCE_OPTION                                                       \
    {                                                                          \
        "force", no_argument, 0, 'F'                                           \
    }
#define CLI_FORCE_HELP                                                         \
    "--force runs even for a date after today or further after the newest "    \
    "source\ndata than its usual quiet spells (refused otherwise: such "       \
    "results look\ncurrent but describe nothing).\n"

/* What every job command does once its options are parsed: connect (schema
 * required), run body inside a vigil.job_runs row, print the summary as one
 * JSON object (json) or with print, clean up. */
vg_code cli_job_command(cli *c, const char *job, int as_of, cli_job_body body,
                        void *arg, int json, cli_print_fn print, vg_error *err);

#endif
