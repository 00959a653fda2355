/* err.c — filling and describing vg_error values.
 * Kept tiny on purpose: every module depends on it. */
#include "err.h"

#include <stdio.h>
#include <string.h>

vg_code vg_fail(vg_error *err, vg_code code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

vg_code vg_wrap(vg_error *err, const char *fmt, ...)
{
    if (!err)
        return VG_EINTERNAL;
    char prefix[VG_ERRMSG_MAX], old[VG_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n >= sizeof err->msg)
        n = sizeof err->msg - 1;
    memcpy(err->msg, prefix, n);
    size_t rest = strlen(old);
    if (rest > sizeof err->msg - 1 - n)
        rest = sizeof err->msg - 1 - n;
    memcpy(err->msg + n, old, rest);
    err->msg[n + rest] = '\0';
    return err->code;
}

void vg_error_clear(vg_error *err)
{
    if (err) {
        err->code = VG_OK;
        err->msg[0] = '\0';
    }
}

const char *vg_code_name(vg_code code)
{
    switch (code) {
#define VG_ERR_NAME(name, status, desc)                                        \
    case VG_##name:                                                            \
        return desc;
        VG_ERR_MAP(VG_ERR_NAME)
#undef VG_ERR_NAME
    }
    return "unknown error";
}

int vg_code_exit_status(vg_code code)
{
    switch (code) {
#define VG_ERR_STATUS(name, status, desc)                                      \
    case VG_##name:                                                            \
        return status;
        VG_ERR_MAP(VG_ERR_STATUS)
#undef VG_ERR_STATUS
    }
    return 1;
}
