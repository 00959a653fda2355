/* test_config_defaults.c — each default is written twice: in a key table's
 * documentation (what `vigil config-keys` and docs/CONFIG.md show) and in the
 * code that fills the struct (cfg_defaults, deliver_config_defaults). A file
 * setting every key to its documented default must change nothing, so the two
 * cannot drift apart; each key is also tried alone to name the one that
 * does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/cfg.h"
#include "deliver/config.h"

/* Sets the dotted path `name` of `root` to v (stolen). */
static void set_path(json_t *root, const char *name, json_t *v)
{
    char part[CFG_STR];
    const char *p = name, *dot;
    json_t *o = root;
    while ((dot = strchr(p, '.')) != NULL) {
        snprintf(part, sizeof part, "%.*s", (int)(dot - p), p);
        json_t *next = json_object_get(o, part);
        if (!next) {
            next = json_object();
            json_object_set_new(o, part, next);
        }
        o = next;
        p = dot + 1;
    }
    json_object_set_new(o, p, v);
}

/* The key rows of a table printer: "| `name` | `default` | help |". Calls
 * fn for each key whose documented default is a JSON value (a default
 * written as prose, e.g. "–", has nothing to compare). Returns the keys
 * seen. */
static int each_key(void (*print)(FILE *), void (*fn)(const char *, json_t *),
                    int *compared)
{
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        perror("open_memstream");
        exit(1);
    }
    print(mem);
    fclose(mem);
    int seen = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[CFG_STR], dflt[CFG_STR];
        if (sscanf(line, "| `%255[^`]` | `%255[^`]` |", name, dflt) != 2)
            continue;
        seen++;
        json_t *v = json_loads(dflt, JSON_DECODE_ANY, NULL);
        if (!v)
            continue;
        (*compared)++;
        fn(name, v);
    }
    free(text);
    return seen;
}

/* ---- the core table --------------------------------------------------- */

static json_t *core_all;

static int core_same(json_t *root, const char *what)
{
    vg_config want, got;
    vg_error err;
    cfg_defaults(&want);
    cfg_defaults(&got);
    char *s = json_dumps(root, JSON_COMPACT);
    int ok = s && cfg_load_string(&got, s, "defaults.json", &err) == VG_OK;
    if (s && !ok)
        fprintf(stderr, "%s: %s\n", what, err.msg);
    free(s);
    memcpy(got.path, want.path, sizeof got.path); /* where it came from */
    return ok && memcmp(&want, &got, sizeof want) == 0;
}

static void core_key(const char *name, json_t *v)
{
    json_t *one = json_object();
    set_path(one, name, json_deep_copy(v));
    if (!core_same(one, name)) {
        fprintf(stderr, "%s: the documented default is not cfg_defaults'\n",
                name);
        CHECK(0);
    }
    json_decref(one);
    set_path(core_all, name, v);
}

static void core_printer(FILE *out)
{
    cfg_print_keys(out);
}

static void core_defaults_match_their_docs(void)
{
    int compared = 0;
    core_all = json_object();
    int seen = each_key(core_printer, core_key, &compared);
    CHECK(seen > 40);
    CHECK(compared > seen * 3 / 4); /* most defaults are JSON values */
    CHECK(core_same(core_all, "every key at once"));
    json_decref(core_all);
}

/* ---- deliver/'s table --------------------------------------------------- */

static json_t *deliver_all;

static int deliver_same(json_t *root, const char *what)
{
    deliver_config want, got;
    vg_error err;
    deliver_config_defaults(&want);
    deliver_config_defaults(&got);
    int ok =
        deliver_config_from_json(&got, root, "defaults.json", &err) == VG_OK;
    if (!ok)
        fprintf(stderr, "%s: %s\n", what, err.msg);
    return ok && memcmp(&want, &got, sizeof want) == 0;
}

static void deliver_key(const char *name, json_t *v)
{
    json_t *one = json_object();
    set_path(one, name, json_deep_copy(v));
    if (!deliver_same(one, name)) {
        fprintf(stderr,
                "%s: the documented default is not deliver_config_defaults'\n",
                name);
        CHECK(0);
    }
    json_decref(one);
    set_path(deliver_all, name, v);
}

static void deliver_defaults_match_their_docs(void)
{
    int compared = 0;
    deliver_all = json_object();
    int seen = each_key(deliver_print_keys, deliver_key, &compared);
    CHECK(seen >= 10);
    CHECK(compared > seen / 2);
    CHECK(deliver_same(deliver_all, "every key at once"));
    json_decref(deliver_all);
}

int main(void)
{
    static const check_case cases[] = {
        CHECK_CASE(core_defaults_match_their_docs),
        CHECK_CASE(deliver_defaults_match_their_docs),
    };
    return check_run("config_defaults", cases, sizeof cases / sizeof cases[0]);
}
