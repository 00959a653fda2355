/* serve.c — the scheduler: a libev loop with a timer per job (cron_next),
 * jobs run as child processes that own their transactions, the job_runs
 * ledger as the single-flight arbiter between instances, and signals. */
#define _GNU_SOURCE /* memfd_create, close_range */
#include "service/serve.h"

#include <errno.h>
#include <jansson.h>
#include <ev.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/cfg.h"
#include "core/date.h"
#include "core/db.h"
#include "core/jobrun.h"
#include "core/migrate.h"
#include "service/httpd.h"
#include "deliver/config.h"
#include "outreach/playbook.h"
#include "outreach/queue.h"
#include "core/cron.h"
#include "core/tz.h"

extern char **environ;

/* ---- the jobs serve knows ---------------------------------------------- */

typedef struct job_def {
    const char *name;    /* job name in vigil.job_runs and in logs */
    size_t sched_off;    /* offsetof(vg_config, ...) of its cron schedule */
    const char *key;     /* that schedule's config key, for messages */
    const char *args[4]; /* `vigil` command line; --as-of D --json follow */
} job_def;

/* Adding a job is one row (plus its schedule key in core/cfg.c). */
static const job_def job_defs[] = {
    {"daily", offsetof(vg_config, sched_daily), "schedule.daily", {"daily"}},
    {"topics",
     offsetof(vg_config, sched_topics),
     "schedule.topics",
     {"topics"}},
    {"train", offsetof(vg_config, sched_train), "schedule.train", {"train"}},
    {"deliver",
     offsetof(vg_config, sched_deliver),
     "schedule.deliver",
     {"deliver"}},
};
#define NJOBS (sizeof job_defs / sizeof job_defs[0])

#define EX_TEMPFAIL_STATUS 75 /* a job child's "database unavailable" */
#define RETRY_CAP_S 300
#define CONFIG_MAX_BYTES (1 << 20)

/* ---- configuration generations ----------------------------------------- */

/* Everything derived from one configuration file; SIGHUP builds a new one
 * and swaps it in only when all of it is valid. */
typedef struct serve_conf {
    vg_config cfg;
    int memfd; /* the validated text, handed to job children; -1: defaults */
    tz_zone *zone;
    cron_expr *expr[NJOBS]; /* NULL: job not scheduled */
    outreach_config *oc;    /* the playbooks, for their column check */
} serve_conf;

static void conf_free(serve_conf *c)
{
    if (c->memfd >= 0)
        close(c->memfd);
    c->memfd = -1;
    tz_free(c->zone);
    c->zone = NULL;
    free(c->oc);
    c->oc = NULL;
    for (size_t i = 0; i < NJOBS; i++) {
        cron_free(c->expr[i]);
        c->expr[i] = NULL;
    }
}

static vg_code read_file(const char *path, char **out, vg_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return vg_fail(err, VG_ECONFIG, "%s: cannot read: %s", path,
                       strerror(errno));
    char *buf = malloc(CONFIG_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, CONFIG_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!buf)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    if (bad || n > CONFIG_MAX_BYTES) {
        free(buf);
        return vg_fail(err, VG_ECONFIG, "%s: %s", path,
                       bad ? "read error" : "larger than 1 MB");
    }
    buf[n] = '\0';
    *out = buf;
    return VG_OK;
}

/* Load and validate everything serve needs from `path` (NULL: defaults).
 * Messages name the file and the key. */
static vg_code conf_load(const char *path, serve_conf *c, vg_error *err)
{
    memset(c, 0, sizeof *c);
    c->memfd = -1;
    cfg_defaults(&c->cfg);
    const char *origin = path ? path : "built-in defaults";
    char *text = NULL;
    vg_code rc = VG_OK;
    if (path) {
        if ((rc = read_file(path, &text, err)) != VG_OK)
            goto cleanup;
        /* Parse the bytes we hand to children, so they run exactly the
         * configuration that was validated here. */
        if ((rc = cfg_load_string(&c->cfg, text, path, err)) != VG_OK)
            goto cleanup;
        snprintf(c->cfg.path, CFG_STR, "%s", path);
        /* The outreach, notify and rt sections are checked by their module
         * only when a job reads them: check them now, so a mistake stops
         * the service (or a reload) instead of failing every daily run. */
        json_t *root = json_loads(text, 0, NULL);
        outreach_config *oc = malloc(sizeof *oc);
        deliver_config dc;
        rc = root && oc ? outreach_config_from_json(oc, root, path, err)
                        : vg_fail(err, VG_ENOMEM, "out of memory");
        if (rc == VG_OK)
            rc = deliver_config_from_json(&dc, root, path, err);
        json_decref(root);
        c->oc = oc;
        if (rc != VG_OK)
            goto cleanup;
    }
    if ((rc = tz_load(c->cfg.sched_timezone, &c->zone, err)) != VG_OK) {
        vg_wrap(err, "%s: key 'schedule.timezone': ", origin);
        goto cleanup;
    }
    for (size_t i = 0; i < NJOBS; i++) {
        const char *s = (const char *)&c->cfg + job_defs[i].sched_off;
        if (!*s)
            continue;
        if ((rc = cron_parse(s, &c->expr[i], err)) != VG_OK) {
            vg_wrap(err, "%s: key '%s': ", origin, job_defs[i].key);
            goto cleanup;
        }
    }
    if ((rc = http_check_listen(c->cfg.http_listen, err)) != VG_OK) {
        vg_wrap(err, "%s: key 'http.listen': ", origin);
        goto cleanup;
    }
    if (text) {
        c->memfd = memfd_create("vigil-config", MFD_CLOEXEC);
        size_t n = strlen(text);
        if (c->memfd < 0 || write(c->memfd, text, n) != (ssize_t)n) {
            rc = vg_fail(err, VG_EIO, "cannot keep a copy of %s: %s", path,
                         strerror(errno));
            goto cleanup;
        }
    }
cleanup:
    free(text);
    if (rc != VG_OK)
        conf_free(c);
    return rc;
}

/* ---- state --------------------------------------------------------------- */

typedef struct serve serve;

typedef struct job {
    const job_def *def;
    serve *sv;
    ev_timer fire;   /* wakes at the next scheduled time (at most 60 s) */
    ev_timer retry;  /* backoff before the next attempt */
    int64_t next_at; /* next scheduled time (UTC s), 0: not scheduled */
    int64_t due;     /* scheduled time reached but not yet claimed */
    int due_fresh;   /* may claim it when it has no attempt yet */
    /* the attempt in progress */
    pid_t pid;
    long long run_id;
    int64_t run_for;
    int attempt;
    int leased; /* our control connection holds its lease */
    int canceled;
    double started;
    ev_child child;
    ev_io err_io;
    int err_fd;
    char line[1024]; /* partial stderr line */
    size_t line_len;
    char last[1024]; /* last complete stderr line: the child's error */
    /* an outcome not yet written (database down); pid is 0 then */
    int pending;
    char p_status[16];
    char p_error[1200];
    int p_retry_in; /* -1: no retry */
} job;

struct serve {
    struct ev_loop *loop;
    const serve_opts *o;
    vg_log log;
    serve_conf conf;
    const char *exe;
    job jobs[NJOBS];
    db_conn *db; /* control connection: claims, leases, sweeps */
    int db_down; /* 1 while the database is out of reach */
    double db_backoff;
    int caught_up; /* the startup catch-up has run */
    ev_timer tick; /* sweep, reconnect, catch-up */
    ev_timer stop_kill;
    ev_signal sig_term, sig_int, sig_hup;
    int stopping;
    http_server *http;
    char listen[CFG_STR];
    pthread_mutex_t mu; /* guards snap, read by the HTTP thread */
    json_t *snap;
};

static void fmt_iso(int64_t t, char out[32])
{
    int64_t day = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t s = t - day * 86400;
    int y, m, d;
    date_to_ymd((int)day, &y, &m, &d);
    snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d,
             (int)(s / 3600), (int)(s % 3600 / 60), (int)(s % 60));
}

static int64_t now_s(void)
{
    return (int64_t)ev_time();
}

static int nchildren(const serve *sv)
{
    int n = 0;
    for (size_t i = 0; i < NJOBS; i++)
        n += sv->jobs[i].pid > 0;
    return n;
}

/* /healthz reads this copy of the scheduler's state from another thread. */
static void publish(serve *sv)
{
    json_t *s = json_object();
    for (size_t i = 0; i < NJOBS; i++) {
        job *j = &sv->jobs[i];
        char iso[32];
        json_t *o = json_object();
        const cron_expr *e = sv->conf.expr[i];
        json_object_set_new(o, "schedule",
                            e ? json_string(cron_text(e)) : json_null());
        if (j->next_at > 0)
            fmt_iso(j->next_at, iso);
        json_object_set_new(o, "next_run",
                            j->next_at > 0 ? json_string(iso) : json_null());
        json_t *run = json_null();
        if (j->pid > 0) {
            fmt_iso(j->run_for, iso);
            run = json_pack("{s:I, s:i, s:s, s:i}", "run_id",
                            (json_int_t)j->run_id, "attempt", j->attempt,
                            "scheduled_for", iso, "pid", (int)j->pid);
        }
        json_object_set_new(o, "running_here", run);
        json_object_set_new(s, j->def->name, o);
    }
    pthread_mutex_lock(&sv->mu);
    json_decref(sv->snap);
    sv->snap = s;
    pthread_mutex_unlock(&sv->mu);
}

static void status_cb(void *ctx, json_t *jobs)
{
    serve *sv = ctx;
    pthread_mutex_lock(&sv->mu);
    json_t *copy = json_deep_copy(sv->snap);
    pthread_mutex_unlock(&sv->mu);
    json_object_update(jobs, copy);
    json_decref(copy);
}

/* ---- the control connection ---------------------------------------------- */

static void schedule_tick(serve *sv, double after);

/* The control connection, reconnecting when needed. NULL while the database
 * is out of reach; the tick timer tries again with backoff. */
static db_conn *sv_db(serve *sv)
{
    if (sv->db && PQstatus(db_pg(sv->db)) == CONNECTION_OK)
        return sv->db;
    db_close(sv->db);
    sv->db = NULL;
    vg_error err;
    vg_error_clear(&err);
    if (db_connect(sv->o->dsn, &sv->db, &err) != VG_OK) {
        /* Every attempt is logged: they are at most one per backoff step
         * (1 s doubling to 30 s), and a silent service looks hung. */
        double next = sv->db_backoff < 1 ? 1 : sv->db_backoff * 2;
        log_warn(&sv->log, "database unavailable, retrying in %.0f s: %s",
                 next > 30 ? 30 : next, err.msg);
        sv->db_down = 1;
        return NULL;
    }
    if (sv->db_down)
        log_info(&sv->log, "database reachable again");
    sv->db_down = 0;
    sv->db_backoff = 0;
    /* Leases live in the session: take back those of runs still going. */
    for (size_t i = 0; i < NJOBS; i++) {
        job *j = &sv->jobs[i];
        j->leased = 0;
        if (j->pid <= 0 || j->run_id <= 0)
            continue;
        int got = jobrun_relock(sv->db, j->run_id);
        j->leased = got == 1;
        if (got == 0)
            log_warn(&sv->log,
                     "%s: lost the lease of run %lld while disconnected; "
                     "another instance may redo it",
                     j->def->name, j->run_id);
    }
    return sv->db;
}

/* After a failed statement: drop a broken connection and come back soon. */
static void db_trouble(serve *sv, vg_code rc, const char *what,
                       const vg_error *err)
{
    log_warn(&sv->log, "%s: %s", what, err->msg);
    if (rc == VG_EDBDOWN ||
        (sv->db && PQstatus(db_pg(sv->db)) != CONNECTION_OK)) {
        db_close(sv->db);
        sv->db = NULL;
        sv->db_down = 1;
        schedule_tick(sv, 1.0);
    }
}

/* ---- running a job ------------------------------------------------------- */

static void kick(job *j);

static const char *level_name(log_level l)
{
    static const char *const names[] = {"debug", "info", "warn", "error",
                                        "off"};
    return l <= LOG_LVL_OFF ? names[l] : "info";
}

static void err_read(struct ev_loop *loop, ev_io *w, int revents)
{
    job *j = w->data;
    char buf[4096];
    for (;;) {
        ssize_t n = read(j->err_fd, buf, sizeof buf);
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                ev_io_stop(loop, w);
                close(j->err_fd);
                j->err_fd = -1;
            }
            return;
        }
        /* Pass the child's log lines through; keep the last one, which is
         * the one-line reason when it fails. */
        fwrite(buf, 1, (size_t)n, j->sv->log.out ? j->sv->log.out : stderr);
        fflush(j->sv->log.out ? j->sv->log.out : stderr);
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == '\n') {
                if (j->line_len > 0) {
                    memcpy(j->last, j->line, j->line_len);
                    j->last[j->line_len] = '\0';
                }
                j->line_len = 0;
            } else if (j->line_len + 1 < sizeof j->line) {
                j->line[j->line_len++] = buf[i];
            }
        }
    }
}

/* Write a finished attempt's outcome; keeps it pending while the database
 * is down. Returns 1 once written. */
static int flush_pending(job *j)
{
    serve *sv = j->sv;
    if (!j->pending)
        return 1;
    db_conn *db = sv_db(sv);
    if (!db)
        return 0;
    vg_error err;
    vg_error_clear(&err);
    vg_code rc =
        jobrun_close(db, j->run_id, j->p_status,
                     j->p_error[0] ? j->p_error : NULL, j->p_retry_in, &err);
    if (rc != VG_OK) {
        db_trouble(sv, rc, "recording a run in vigil.job_runs", &err);
        return 0;
    }
    if (j->leased)
        jobrun_release(db, j->run_id);
    j->leased = 0;
    j->pending = 0;
    if (j->p_retry_in >= 0 && !sv->stopping) {
        j->due = 0;
        ev_timer_set(&j->retry, j->p_retry_in, 0);
        ev_timer_start(sv->loop, &j->retry);
    }
    j->run_id = 0;
    return 1;
}

/* The pending verdict on a finished run from its wait status: ok,
 * canceled, failed and to be retried (a database that was unavailable, with
 * attempts left: exponential back-off up to RETRY_CAP_S), or failed for
 * good; logged once here. */
static void judge_exit(job *j, int st, double secs)
{
    serve *sv = j->sv;
    int max_attempts = 1 + sv->conf.cfg.serve_max_retries;
    j->p_retry_in = -1;
    j->p_error[0] = '\0';
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        snprintf(j->p_status, sizeof j->p_status, "ok");
        log_info(&sv->log, "%s: run %lld ok in %.1f s", j->def->name, j->run_id,
                 secs);
    } else if (j->canceled) {
        snprintf(j->p_status, sizeof j->p_status, "canceled");
        snprintf(j->p_error, sizeof j->p_error,
                 "canceled: the service was stopping");
        log_warn(&sv->log, "%s: run %lld canceled after %.1f s", j->def->name,
                 j->run_id, secs);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) == EX_TEMPFAIL_STATUS &&
               j->attempt < max_attempts) {
        int delay = 1 << (j->attempt - 1 < 16 ? j->attempt - 1 : 16);
        if (delay > RETRY_CAP_S)
            delay = RETRY_CAP_S;
        snprintf(j->p_status, sizeof j->p_status, "failed");
        snprintf(j->p_error, sizeof j->p_error,
                 "database unavailable (attempt %d of %d, retried): %s",
                 j->attempt, max_attempts, j->last);
        j->p_retry_in = delay;
        log_warn(&sv->log,
                 "%s: run %lld hit an unavailable database; "
                 "retrying in %d s (attempt %d of %d)",
                 j->def->name, j->run_id, delay, j->attempt + 1, max_attempts);
    } else {
        snprintf(j->p_status, sizeof j->p_status, "failed");
        if (WIFSIGNALED(st))
            snprintf(j->p_error, sizeof j->p_error, "killed by signal %d",
                     WTERMSIG(st));
        else if (WEXITSTATUS(st) == EX_TEMPFAIL_STATUS)
            snprintf(j->p_error, sizeof j->p_error,
                     "database unavailable, gave up after %d attempts: %s",
                     j->attempt, j->last);
        else
            snprintf(j->p_error, sizeof j->p_error, "%s",
                     j->last[0] ? j->last : "failed");
        log_error(&sv->log, "%s: run %lld failed after %.1f s: %s",
                  j->def->name, j->run_id, secs, j->p_error);
    }
}

static void child_exit(struct ev_loop *loop, ev_child *w, int revents)
{
    job *j = w->data;
    serve *sv = j->sv;
    ev_child_stop(loop, w);
    if (j->err_fd >= 0)
        err_read(loop, &j->err_io, 0);
    if (j->err_fd >= 0) {
        ev_io_stop(loop, &j->err_io);
        close(j->err_fd);
        j->err_fd = -1;
    }
    judge_exit(j, w->rstatus, ev_time() - j->started);
    j->pid = 0;
    j->pending = 1;
    flush_pending(j);
    publish(sv);
    if (sv->stopping) {
        if (nchildren(sv) == 0)
            ev_break(loop, EVBREAK_ALL);
        return;
    }
    kick(j);
}

/* fork + exec of vigil itself. The child dies with us (PDEATHSIG), so a
 * killed service leaves no job behind, and its transaction rolls back. */
/* The job's command line: the service's own binary with its logging, the
 * claimed run and scheduled time, the job's arguments and its date. The
 * strings live in the caller's buffers (id, when, asof). */
static void job_argv(const job *j, const char *id, const char *when,
                     const char *asof, const char *argv[32])
{
    const serve *sv = j->sv;
    int n = 0;
    argv[n++] = sv->exe;
    argv[n++] = "--log-level";
    argv[n++] = level_name(sv->log.level);
    argv[n++] = "--log-format";
    argv[n++] = sv->log.json ? "json" : "text";
    if (sv->conf.memfd >= 0) {
        argv[n++] = "--config";
        argv[n++] = "/proc/self/fd/3";
    }
    argv[n++] = "--run-id";
    argv[n++] = id;
    argv[n++] = "--scheduled-for";
    argv[n++] = when;
    for (int k = 0; k < 4 && j->def->args[k]; k++)
        argv[n++] = j->def->args[k];
    argv[n++] = "--as-of";
    argv[n++] = asof;
    argv[n++] = "--json";
    argv[n] = NULL;
}

/* The job's environment, built before fork (only async-signal-safe calls
 * after it): the service's own, with the DSN it was given (the environment,
 * not argv, which `ps` shows) and without VIGIL_CONFIG (the configuration
 * travels as fd 3). *envp and *dsn_env are the caller's to free. */
static vg_code job_envp(const serve *sv, char ***envp, char **dsn_env,
                        vg_error *err)
{
    size_t ne = 0;
    while (environ[ne])
        ne++;
    *dsn_env = NULL;
    *envp = calloc(ne + 2, sizeof **envp);
    if (!*envp)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (!(sv->o->dsn && strncmp(environ[i], "VIGIL_DSN=", 10) == 0) &&
            strncmp(environ[i], "VIGIL_CONFIG=", 13) != 0)
            (*envp)[k++] = environ[i];
    if (sv->o->dsn) {
        size_t len = strlen(sv->o->dsn) + 11;
        *dsn_env = malloc(len);
        if (!*dsn_env)
            return vg_fail(err, VG_ENOMEM, "out of memory");
        snprintf(*dsn_env, len, "VIGIL_DSN=%s", sv->o->dsn);
        (*envp)[k++] = *dsn_env;
    }
    (*envp)[k] = NULL;
    return VG_OK;
}

/* In the child, between fork and exec: die with the service, default
 * signals, stdin/stdout on /dev/null, stderr into the service's pipe, the
 * configuration on fd 3 and nothing else open. Never returns. */
_Noreturn static void job_exec(pid_t parent, int devnull, int err_fd, int memfd,
                               const char *const *argv, char **envp)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127); /* the service died before prctl */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(err_fd, 2);
    if (memfd == 3)
        fcntl(3, F_SETFD, 0);
    else if (memfd >= 0)
        dup2(memfd, 3);
    close_range(memfd >= 0 ? 4 : 3, ~0U, 0);
    execve(argv[0], (char *const *)argv, envp);
    _exit(127);
}

/* The started child: its stderr lines and its exit, on the loop. */
static void job_watch(job *j, pid_t pid, int err_fd)
{
    j->pid = pid;
    j->err_fd = err_fd;
    fcntl(j->err_fd, F_SETFL, fcntl(j->err_fd, F_GETFL) | O_NONBLOCK);
    j->line_len = 0;
    j->last[0] = '\0';
    j->canceled = 0;
    j->started = ev_time();
    ev_io_set(&j->err_io, j->err_fd, EV_READ);
    ev_io_start(j->sv->loop, &j->err_io);
    ev_child_set(&j->child, pid, 0);
    ev_child_start(j->sv->loop, &j->child);
}

static vg_code spawn(job *j, vg_error *err)
{
    serve *sv = j->sv;
    char id[32], when[32], asof[DATE_BUF];
    snprintf(id, sizeof id, "%lld", j->run_id);
    fmt_iso(j->run_for, when);
    date_format((int)(j->run_for >= 0 ? j->run_for / 86400
                                      : -((-j->run_for + 86399) / 86400)),
                asof);
    const char *argv[32];
    job_argv(j, id, when, asof, argv);
    char **envp = NULL, *dsn_env = NULL;
    int pfd[2] = {-1, -1};
    int devnull = -1;
    vg_code rc = job_envp(sv, &envp, &dsn_env, err);
    if (rc != VG_OK)
        goto cleanup;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull < 0 || pipe2(pfd, O_CLOEXEC) != 0) {
        rc = vg_fail(err, VG_EIO, "cannot start %s: %s", j->def->name,
                     strerror(errno));
        goto cleanup;
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        rc = vg_fail(err, VG_EIO, "cannot start %s: fork: %s", j->def->name,
                     strerror(errno));
        goto cleanup;
    }
    if (pid == 0)
        job_exec(parent, devnull, pfd[1], sv->conf.memfd, argv, envp);
    job_watch(j, pid, pfd[0]);
    pfd[0] = -1;
cleanup:
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (devnull >= 0)
        close(devnull);
    free(dsn_env);
    free(envp);
    return rc;
}

/* Claim the job's due scheduled time and start it, unless it is busy, the
 * database is down (the tick comes back), or another instance has it. */
static void kick(job *j)
{
    serve *sv = j->sv;
    if (sv->stopping || j->pid > 0 || j->pending || !j->due ||
        ev_is_active(&j->retry))
        return;
    db_conn *db = sv_db(sv);
    if (!db) {
        schedule_tick(sv, 1.0);
        return;
    }
    char when[32], asof[DATE_BUF];
    fmt_iso(j->due, when);
    date_format(
        (int)(j->due >= 0 ? j->due / 86400 : -((-j->due + 86399) / 86400)),
        asof);
    long long run_id = 0;
    int attempt = 0;
    vg_error err;
    vg_error_clear(&err);
    vg_code rc = jobrun_claim(db, j->def->name, asof, when, j->due_fresh,
                              1 + sv->conf.cfg.serve_max_retries, &run_id,
                              &attempt, &err);
    if (rc != VG_OK) {
        db_trouble(sv, rc, "claiming a run", &err);
        return; /* due is kept: the tick retries */
    }
    int64_t t = j->due;
    j->due = 0;
    if (run_id == 0) {
        log_debug(&sv->log,
                  "%s: the %s run needs nothing (done, running or failed for "
                  "good, here or on another instance)",
                  j->def->name, when);
        return;
    }
    j->run_id = run_id;
    j->run_for = t;
    j->attempt = attempt;
    j->leased = 1;
    rc = spawn(j, &err);
    if (rc != VG_OK) {
        log_error(&sv->log, "%s: %s", j->def->name, err.msg);
        j->pending = 1;
        snprintf(j->p_status, sizeof j->p_status, "failed");
        snprintf(j->p_error, sizeof j->p_error, "%s", err.msg);
        j->p_retry_in = -1;
        flush_pending(j);
        return;
    }
    log_info(&sv->log, "%s: running the %s run (run %lld, attempt %d, pid %d)",
             j->def->name, when, run_id, attempt, (int)j->pid);
    publish(sv);
}

/* ---- time ---------------------------------------------------------------- */

/* The latest scheduled time in (now - horizon, now], 0 if none. Searches a
 * short window first so every-second schedules stay cheap. */
static int64_t latest_fire(const cron_expr *e, const tz_zone *z, int64_t now,
                           int64_t horizon)
{
    static const int64_t windows[] = {3600, 86400, 0};
    for (size_t w = 0; w < sizeof windows / sizeof *windows; w++) {
        int64_t span =
            windows[w] && windows[w] < horizon ? windows[w] : horizon;
        int64_t last = 0;
        for (int64_t t = cron_next(e, z, now - span); t > 0 && t <= now;
             t = cron_next(e, z, t))
            last = t;
        if (last || span == horizon)
            return last;
    }
    return 0;
}

/* libev timers are monotonic; wake at most every 60 s and compare with the
 * wall clock, so clock steps cannot make a run late by much. */
static void arm_fire(job *j)
{
    serve *sv = j->sv;
    ev_timer_stop(sv->loop, &j->fire);
    if (j->next_at <= 0)
        return;
    double d = (double)j->next_at - ev_time();
    if (d < 0)
        d = 0;
    if (d > 60)
        d = 60;
    ev_timer_set(&j->fire, d, 0);
    ev_timer_start(sv->loop, &j->fire);
}

static void schedule_job(job *j)
{
    size_t i = (size_t)(j - j->sv->jobs);
    const cron_expr *e = j->sv->conf.expr[i];
    j->next_at = e ? cron_next(e, j->sv->conf.zone, now_s()) : 0;
    if (j->next_at < 0)
        j->next_at = 0;
    arm_fire(j);
}

static void fire_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    job *j = w->data;
    serve *sv = j->sv;
    size_t i = (size_t)(j - sv->jobs);
    const cron_expr *e = sv->conf.expr[i];
    if (!e || j->next_at <= 0)
        return;
    double now = ev_time();
    if ((double)j->next_at > now) {
        arm_fire(j);
        return;
    }
    /* Coalesce: however many times passed (suspend, busy job), only the
     * latest is due. */
    int64_t t = j->next_at, n;
    int skipped = 0;
    while ((n = cron_next(e, sv->conf.zone, t)) > 0 && (double)n <= now) {
        t = n;
        skipped++;
    }
    if (skipped)
        log_warn(&sv->log,
                 "%s: %d scheduled times passed at once; running "
                 "only the latest",
                 j->def->name, skipped);
    if (j->due && (j->pid > 0 || j->pending || ev_is_active(&j->retry)))
        log_info(&sv->log,
                 "%s: still busy; the new scheduled time replaces "
                 "the one waiting",
                 j->def->name);
    j->due = t;
    j->due_fresh = 1;
    j->next_at = n > 0 ? n : 0;
    arm_fire(j);
    publish(sv);
    kick(j);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    job *j = w->data;
    j->due = j->run_for;
    j->due_fresh = 0;
    kick(j);
}

/* ---- the tick: reconnect, sweep, catch up -------------------------------- */

static void schedule_tick(serve *sv, double after)
{
    if (sv->stopping)
        return;
    ev_timer_stop(sv->loop, &sv->tick);
    ev_timer_set(&sv->tick, after, (double)sv->conf.cfg.serve_sweep_seconds);
    ev_timer_start(sv->loop, &sv->tick);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    serve *sv = w->data;
    db_conn *db = sv_db(sv);
    if (!db) {
        sv->db_backoff = sv->db_backoff < 1 ? 1 : sv->db_backoff * 2;
        if (sv->db_backoff > 30)
            sv->db_backoff = 30;
        schedule_tick(sv, sv->db_backoff);
        return;
    }
    for (size_t i = 0; i < NJOBS; i++)
        flush_pending(&sv->jobs[i]);
    /* Runs whose process died (kill -9, lost machine) hold no lease. */
    long long own[NJOBS];
    size_t nown = 0;
    for (size_t i = 0; i < NJOBS; i++)
        if (sv->jobs[i].run_id > 0)
            own[nown++] = sv->jobs[i].run_id;
    int closed = 0;
    vg_error err;
    vg_error_clear(&err);
    vg_code rc = jobrun_sweep(db, own, nown, &closed, &err);
    if (rc != VG_OK) {
        db_trouble(sv, rc, "looking for abandoned runs", &err);
        return;
    }
    if (closed)
        log_warn(&sv->log,
                 "closed %d run(s) abandoned by a process that died; their "
                 "scheduled times run again",
                 closed);
    /* Catch up each job's latest scheduled time: at startup also one that
     * never started (schedule.catch_up "latest"); later only those that need
     * a redo (abandoned, canceled, retry due). */
    int64_t now = now_s();
    int64_t horizon = (int64_t)sv->conf.cfg.sched_catch_up_days * 86400;
    for (size_t i = 0; i < NJOBS; i++) {
        job *j = &sv->jobs[i];
        const cron_expr *e = sv->conf.expr[i];
        if (!e)
            continue;
        if (!j->due && j->pid <= 0 && !j->pending && !ev_is_active(&j->retry)) {
            int64_t t = latest_fire(e, sv->conf.zone, now, horizon);
            if (!t)
                continue;
            j->due = t;
            j->due_fresh = !sv->caught_up && sv->conf.cfg.sched_catch_up;
        }
        kick(j); /* also a due left waiting while the database was down */
    }
    sv->caught_up = 1;
}

/* ---- signals ------------------------------------------------------------- */

static void stop_kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    serve *sv = w->data;
    for (size_t i = 0; i < NJOBS; i++)
        if (sv->jobs[i].pid > 0) {
            log_warn(&sv->log, "%s: still running after %d s; killing it",
                     sv->jobs[i].def->name, sv->conf.cfg.serve_stop_timeout);
            kill(sv->jobs[i].pid, SIGKILL);
        }
}

static void stop_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    serve *sv = w->data;
    if (sv->stopping) { /* a second signal: no more waiting */
        stop_kill_cb(loop, &sv->stop_kill, 0);
        return;
    }
    sv->stopping = 1;
    log_info(&sv->log, "signal %d: stopping", w->signum);
    ev_timer_stop(loop, &sv->tick);
    for (size_t i = 0; i < NJOBS; i++) {
        job *j = &sv->jobs[i];
        ev_timer_stop(loop, &j->fire);
        ev_timer_stop(loop, &j->retry);
        if (j->pid > 0) {
            /* The job's transaction rolls back when its process ends. */
            j->canceled = 1;
            kill(j->pid, SIGTERM);
        }
    }
    if (nchildren(sv) == 0) {
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    ev_timer_set(&sv->stop_kill, sv->conf.cfg.serve_stop_timeout, 0);
    ev_timer_start(loop, &sv->stop_kill);
}

static vg_code start_http(serve *sv, const char *listen, const char *token,
                          http_server **out, vg_error *err)
{
    http_opts ho = {listen, token, sv->o->dsn, sv->log, status_cb, sv};
    /* The HTTP thread must not take the loop's signals: block them while it
     * is created so it inherits the mask. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    vg_code rc = http_start(&ho, out, err);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == VG_OK) {
        const char *colon = strrchr(listen, ':');
        log_info(&sv->log, "listening on http://%.*s:%d (port %d)%s",
                 (int)(colon - listen), listen, http_port(*out),
                 http_port(*out), token[0] ? ", bearer token required" : "");
        snprintf(sv->listen, sizeof sv->listen, "%s", listen);
    }
    return rc;
}

/* The playbooks' source columns, on the control connection when it is up
 * (never a new connection attempt: a down database is waited for, and the
 * outreach job checks again when it runs). */
static vg_code conf_check_columns(serve *sv, const serve_conf *c, vg_error *err)
{
    db_conn *db = sv->db;
    if (!c->oc || !db || PQstatus(db_pg(db)) != CONNECTION_OK)
        return VG_OK;
    vg_code rc = outreach_check_columns(db, &c->cfg, c->oc, err);
    if (rc == VG_ECONFIG)
        vg_wrap(err, "%s: ", c->cfg.path);
    return rc;
}

static void hup_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
    serve *sv = w->data;
    if (!sv->o->config_path) {
        log_warn(&sv->log, "SIGHUP: no configuration file to reload");
        return;
    }
    serve_conf nc;
    vg_error err;
    vg_error_clear(&err);
    vg_code rc = conf_load(sv->o->config_path, &nc, &err);
    if (rc == VG_OK && (rc = conf_check_columns(sv, &nc, &err)) != VG_OK)
        conf_free(&nc);
    if (rc != VG_OK) {
        log_error(&sv->log,
                  "SIGHUP: configuration rejected, keeping the running one: "
                  "%s",
                  err.msg);
        return;
    }
    if (strcmp(nc.cfg.http_listen, sv->listen) != 0) {
        http_server *h = NULL;
        if (start_http(sv, nc.cfg.http_listen, nc.cfg.http_token, &h, &err) !=
            VG_OK) {
            log_error(&sv->log,
                      "SIGHUP: %s: key 'http.listen': %s; keeping the "
                      "running configuration",
                      sv->o->config_path, err.msg);
            conf_free(&nc);
            return;
        }
        http_stop(sv->http);
        sv->http = h;
    } else {
        http_set_token(sv->http, nc.cfg.http_token);
    }
    conf_free(&sv->conf);
    sv->conf = nc;
    for (size_t i = 0; i < NJOBS; i++)
        schedule_job(&sv->jobs[i]);
    schedule_tick(sv, (double)sv->conf.cfg.serve_sweep_seconds);
    publish(sv);
    log_info(&sv->log, "configuration reloaded from %s", sv->o->config_path);
}

/* ---- entry --------------------------------------------------------------- */

/* Each job's timers and child watchers, and its first firing time from its
 * schedule (logged, so an operator sees when it will next run). */
static void init_jobs(serve *sv)
{
    for (size_t i = 0; i < NJOBS; i++) {
        job *j = &sv->jobs[i];
        j->def = &job_defs[i];
        j->sv = sv;
        j->err_fd = -1;
        ev_timer_init(&j->fire, fire_cb, 0, 0);
        j->fire.data = j;
        ev_timer_init(&j->retry, retry_cb, 0, 0);
        j->retry.data = j;
        ev_init(&j->child, child_exit);
        j->child.data = j;
        ev_init(&j->err_io, err_read);
        j->err_io.data = j;
        schedule_job(j);
        if (sv->conf.expr[i]) {
            char iso[32];
            fmt_iso(j->next_at, iso);
            log_info(&sv->log, "%s: schedule '%s' (%s), next run %s",
                     j->def->name, cron_text(sv->conf.expr[i]),
                     tz_name(sv->conf.zone), iso);
        }
    }
}

/* The loop's own watchers: the tick (reconnect, sweep, catch up), the timer
 * that kills children still running after a stop, and the signals (TERM and
 * INT stop, HUP reloads the config). */
static void init_watchers(serve *sv)
{
    ev_timer_init(&sv->tick, tick_cb, 0, 0);
    sv->tick.data = sv;
    schedule_tick(sv, 0);
    ev_timer_init(&sv->stop_kill, stop_kill_cb, 0, 0);
    sv->stop_kill.data = sv;
    ev_signal_init(&sv->sig_term, stop_cb, SIGTERM);
    ev_signal_init(&sv->sig_int, stop_cb, SIGINT);
    ev_signal_init(&sv->sig_hup, hup_cb, SIGHUP);
    sv->sig_term.data = sv->sig_int.data = sv->sig_hup.data = sv;
    ev_signal_start(sv->loop, &sv->sig_term);
    ev_signal_start(sv->loop, &sv->sig_int);
    ev_signal_start(sv->loop, &sv->sig_hup);
}

vg_code serve_run(const serve_opts *o, vg_error *err)
{
    serve *sv = calloc(1, sizeof *sv);
    if (!sv)
        return vg_fail(err, VG_ENOMEM, "out of memory");
    vg_code rc = VG_OK;
    sv->o = o;
    sv->log = o->log;
    sv->exe = o->exe ? o->exe : "/proc/self/exe";
    sv->conf.memfd = -1;
    pthread_mutex_init(&sv->mu, NULL);
    if ((rc = conf_load(o->config_path, &sv->conf, err)) != VG_OK)
        goto cleanup;

    /* A database that is reachable must have the schema; one that is down
     * is waited for (the tick reconnects). */
    db_conn *db = sv_db(sv);
    if (db && (rc = migrate_require(db, err)) != VG_OK)
        goto cleanup;
    if ((rc = conf_check_columns(sv, &sv->conf, err)) != VG_OK)
        goto cleanup;

    sv->loop = ev_default_loop(0);
    if (!sv->loop) {
        rc = vg_fail(err, VG_EINTERNAL, "cannot initialise libev");
        goto cleanup;
    }
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, NULL);

    if ((rc = start_http(sv, sv->conf.cfg.http_listen, sv->conf.cfg.http_token,
                         &sv->http, err)) != VG_OK)
        goto cleanup;

    init_jobs(sv);
    init_watchers(sv);
    publish(sv);
    log_info(&sv->log, "vigil serve started (pid %d)", (int)getpid());

    ev_run(sv->loop, 0);

    /* Record what we can of the canceled runs; rows we cannot close are
     * swept as abandoned by the next instance. */
    for (size_t i = 0; i < NJOBS; i++)
        flush_pending(&sv->jobs[i]);
    log_info(&sv->log, "vigil serve stopped");
cleanup:
    if (sv->loop) {
        ev_signal_stop(sv->loop, &sv->sig_term);
        ev_signal_stop(sv->loop, &sv->sig_int);
        ev_signal_stop(sv->loop, &sv->sig_hup);
        ev_loop_destroy(sv->loop);
    }
    http_stop(sv->http);
    db_close(sv->db);
    conf_free(&sv->conf);
    json_decref(sv->snap);
    pthread_mutex_destroy(&sv->mu);
    free(sv);
    return rc;
}
