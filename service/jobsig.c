/* jobsig.c — the signal watcher of command-line jobs (see jobsig.h). */
#include "service/jobsig.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

struct jobsig {
    db_conn *db;
    PGcancel *cancel;
    sigset_t set, old;
    pthread_t th;
    volatile sig_atomic_t flag; /* the signal that arrived, 0 until then */
    volatile sig_atomic_t done; /* set before the SIGUSR1 that ends watch */
};

static void *watch(void *arg)
{
    jobsig *w = arg;
    for (;;) {
        int sig = 0;
        if (sigwait(&w->set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            if (w->done)
                return NULL;
            continue;
        }
        if (w->flag) /* the second one: stop waiting for a clean end */
            _exit(128 + sig);
        w->flag = sig;
        char buf[256];
        PQcancel(w->cancel, buf, sizeof buf);
    }
    return NULL;
}

jobsig *jobsig_start(db_conn *db)
{
    jobsig *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->db = db;
    w->cancel = PQgetCancel(db_pg(db));
    sigemptyset(&w->set);
    sigaddset(&w->set, SIGTERM);
    sigaddset(&w->set, SIGINT);
    sigaddset(&w->set, SIGUSR1); /* only jobsig_stop sends it, to end watch */
    if (!w->cancel || pthread_sigmask(SIG_BLOCK, &w->set, &w->old) != 0) {
        if (w->cancel)
            PQfreeCancel(w->cancel);
        free(w);
        return NULL;
    }
    if (pthread_create(&w->th, NULL, watch, w) != 0) {
        pthread_sigmask(SIG_SETMASK, &w->old, NULL);
        PQfreeCancel(w->cancel);
        free(w);
        return NULL;
    }
    db_set_stop(db, &w->flag);
    return w;
}

int jobsig_stop(jobsig *w)
{
    if (!w)
        return 0;
    /* Not pthread_cancel: unwinding a thread blocked in sigwait upsets
     * AddressSanitizer; a signal to that thread alone ends it cleanly. */
    w->done = 1;
    pthread_kill(w->th, SIGUSR1);
    pthread_join(w->th, NULL);
    db_set_stop(w->db, NULL);
    int sig = w->flag;
    PQfreeCancel(w->cancel);
    /* A signal that arrived after the watcher stopped is still pending: it
     * acts (default action) once unblocked, after the ledger is written. */
    pthread_sigmask(SIG_SETMASK, &w->old, NULL);
    free(w);
    return sig;
}
