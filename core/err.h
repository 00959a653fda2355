/* err.h — vigil's error codes and the error object every fallible call fills.
 * A function that can fail returns a vg_code and writes a one-line reason into
 * the caller's vg_error; the CLI maps the code to the process exit status. */
#ifndef VG_ERR_H
#define VG_ERR_H

#include <stdarg.h>

/* One list, so names, exit codes and descriptions never drift apart.
 * X(name, exit status, description) */
#define VG_ERR_MAP(X)                                                          \
    X(OK, 0, "success")                                                        \
    X(EINTERNAL, 1, "internal error")                                          \
    X(EUSAGE, 2, "bad command line")                                           \
    X(ECONFIG, 3, "bad configuration")                                         \
    X(EDB, 4, "database error")                                                \
    X(EDATA, 5, "not enough usable data")                                      \
    X(ENOMODEL, 6, "no champion model")                                        \
    X(EIO, 7, "file error")                                                    \
    X(ENOMEM, 8, "out of memory")                                              \
    X(EMODEL, 9, "model error")                                                \
    X(ECANCELED, 10, "canceled")                                               \
    X(EBUSY, 11, "another run is in progress")                                 \
    /* `vigil check` found warnings only: vigil runs, with less to go on. */   \
    X(EWARN, 12, "finished with warnings")                                     \
    /* A lost or refused connection, or a server shutting down: worth          \
     * retrying. Exits like any database error (4) except in serve's job       \
     * children, which exit 75 (EX_TEMPFAIL) so serve retries them. */         \
    X(EDBDOWN, 4, "database unavailable")

typedef enum {
#define VG_ERR_ENUM(name, status, desc) VG_##name,
    VG_ERR_MAP(VG_ERR_ENUM)
#undef VG_ERR_ENUM
} vg_code;

#define VG_ERRMSG_MAX 1024

typedef struct vg_error {
    vg_code code;
    char msg[VG_ERRMSG_MAX];
} vg_error;

/* Record an error and return its code, so callers can write
 * `return vg_fail(err, VG_EDB, "...%s", x);`. A NULL err is allowed. */
vg_code vg_fail(vg_error *err, vg_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing message with context ("training: " + old message). */
vg_code vg_wrap(vg_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void vg_error_clear(vg_error *err);
const char *vg_code_name(vg_code code);
int vg_code_exit_status(vg_code code);

#endif
