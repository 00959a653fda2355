/* fuzz_text.c — libFuzzer entry point for the ticket text normaliser and
 * tokeniser (topics/text.c): the first byte picks the language hint, the
 * rest splits at the first NUL into subject and body. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "topics/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static text_pipe *pipe_once(void)
{
    static text_pipe *p; /* one pipeline for the whole run, as in topics */
    if (!p) {
        vg_error err;
        if (text_pipe_new(NULL, &p, &err) != VG_OK)
            abort();
    }
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const langs[] = {NULL, "en",   "de",    "fr",
                                        "es", "auto", "de_AT", "xx"};
    if (size == 0)
        return 0;
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    const char *subject = buf;
    size_t sl = strlen(buf);
    const char *body = sl + 1 < size ? buf + sl + 1 : "";
    /* One token list for the whole run, reused as topics reuses it: a fresh
     * one per input spent most of the time growing its buffers. */
    static text_toklist *t;
    if (!t && !(t = text_toklist_new()))
        abort();
    vg_error err;
    if (text_tokens(pipe_once(), subject, body, langs[data[0] & 7], t, &err) ==
        VG_OK) {
        for (size_t i = 0; i < text_toklist_size(t); i++) {
            (void)text_toklist_get(t, i);
            (void)text_toklist_surface(t, i);
        }
    }
    (void)text_normalize(pipe_once(), body, data[0] & 8);
    free(buf);
    return 0;
}
