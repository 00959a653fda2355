/* fuzz_tz.c — libFuzzer entry point for the time-zone reader (core/tz.c):
 * the first 8 bytes are an instant, the rest a TZif file. The zone is then
 * queried around that instant and the promises of core/tz.h are checked;
 * the same bytes as a zone name go through the name check (against a
 * directory that does not exist, so no file is ever opened). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_local(const tz_zone *z, int64_t local)
{
    int64_t out[2];
    int n = tz_local_to_utc(z, local, out);
    if (n < 0 || n > 2)
        abort();
    if (n == 2 && out[0] >= out[1])
        abort(); /* the earlier instant first */
}

static void query(const tz_zone *z, int64_t t)
{
    /* Instants within ±10,000 years: beyond, tz.c clamps on purpose. */
    const int64_t span = 315569520000LL;
    t = t % span;
    long off = tz_offset_at(z, t);
    if (off < -89999 || off > 93599)
        abort(); /* RFC 8536's range, checked at load */
    int64_t next = tz_next_transition(z, t);
    if (next <= t)
        abort(); /* "the first instant > utc_seconds" */
    check_local(z, t + off);
    if (next != INT64_MAX) {
        check_local(z, next + tz_offset_at(z, next));
        check_local(z, next + off); /* the wall time just skipped or repeated */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    int64_t t = 0;
    for (int i = 0; i < 8; i++)
        t = (int64_t)((uint64_t)t << 8 | data[i]);
    vg_error err;
    tz_zone *z = NULL;
    if (tz_from_tzif("fuzz", data + 8, size - 8, &z, &err) == VG_OK) {
        query(z, t);
        tz_free(z);
    }

    char name[300];
    size_t n = size - 8 < sizeof name - 1 ? size - 8 : sizeof name - 1;
    memcpy(name, data + 8, n);
    name[n] = '\0';
    if (tz_load_dir("/nonexistent/vigil-fuzz", name, &z, &err) == VG_OK) {
        query(z, t); /* only the built-in UTC aliases load from nowhere */
        tz_free(z);
    }
    return 0;
}
