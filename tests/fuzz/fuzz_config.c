/* fuzz_config.c — libFuzzer entry point for the config loader: any bytes as
 * the JSON file, checked against the key table (scripts/fuzz.sh builds it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    vg_config c;
    cfg_defaults(&c);
    vg_error err;
    (void)cfg_load_string(&c, text, "fuzz.json", &err);
    free(text);
    return 0;
}
