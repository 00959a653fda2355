/* fuzz_playbook.c — libFuzzer entry point for the outreach playbook parser:
 * any bytes as the config file's JSON, read by outreach_config_from_json. */
#include <jansson.h>
#include <stdint.h>

#include "outreach/playbook.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *root = json_loadb((const char *)data, size, 0, &je);
    if (!root)
        return 0;
    /* One config for the whole run, as the CLI has one: a fresh 110 KB
     * allocation per input made this target spend most of its time in the
     * allocator and page faults. The defaults reset it each time. */
    static outreach_config oc;
    vg_error err;
    outreach_config_defaults(&oc);
    (void)outreach_config_from_json(&oc, root, "fuzz.json", &err);
    json_decref(root);
    return 0;
}
