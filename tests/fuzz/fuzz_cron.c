/* fuzz_cron.c — libFuzzer entry point for the cron parser, next-time search
 * and TZif reader; compiled only with -DVIGIL_LIBFUZZER (see below). */
#ifdef VIGIL_LIBFUZZER
/* clang -DVIGIL_LIBFUZZER -fsanitize=fuzzer,address,undefined -I. \
 *     tests/fuzz/fuzz_cron.c core/cron.c core/tz.c core/err.c core/date.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cron.h"
#include "core/tz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the target so one corpus covers both parsers. */
    if (size == 0)
        return 0;
    vg_error err;
    if (data[0] & 1) {
        tz_zone *z = NULL;
        if (tz_from_tzif("fuzz", data + 1, size - 1, &z, &err) == VG_OK) {
            int64_t out[2];
            int64_t t = 1790000000; /* 2026 */
            (void)tz_offset_at(z, t);
            (void)tz_next_transition(z, t);
            (void)tz_local_to_utc(z, t, out);
            tz_free(z);
        }
        return 0;
    }
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    cron_expr *e = NULL;
    if (cron_parse(text, &e, &err) == VG_OK) {
        int64_t next = cron_next(e, NULL, 1790000000);
        if (next != -1 && next <= 1790000000)
            abort(); /* cron_next must move forward */
        cron_free(e);
    }
    free(text);
    return 0;
}
#else
/* Keeps this translation unit non-empty (ISO C) in normal builds. */
typedef int fuzz_cron_unused;
#endif
