/* fuzz_http.c — libFuzzer entry point for what serve parses from the
 * network and its config: the listen address, and query strings split as
 * libmicrohttpd hands them over (name=value pairs joined by '&'), each value
 * through the routes' validators (limit, since). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"
#include "service/httpd.h"
#include "service/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (!q)
        return 0;
    memcpy(q, data, size);
    q[size] = '\0';
    vg_error err;
    (void)http_check_listen(q, &err);
    char *save = NULL;
    for (char *pair = strtok_r(q, "&", &save); pair;
         pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        int limit, day;
        if (routes_parse_limit(v, &limit) == 0 && (limit < 1 || limit > 1000))
            abort(); /* the validator's promise */
        (void)date_parse(v, &day);
    }
    free(q);
    return 0;
}
