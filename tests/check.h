/* check.h — the few assertion macros vigil's test programs share.
 * Each failed check prints what it compared and where, and the program exits
 * non-zero at the end; CTest runs one program per test file. */
#ifndef VG_TEST_CHECK_H
#define VG_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
    do {                                                                       \
        check_count++;                                                         \
        if (!(cond)) {                                                         \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__,   \
                    #cond);                                                    \
        }                                                                      \
    } while (0)

#define CHECK_INT_EQ(a, b)                                                     \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        check_count++;                                                         \
        if (va_ != vb_) {                                                      \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n",          \
                    __FILE__, __LINE__, #a, #b, va_, vb_);                     \
        }                                                                      \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                  \
    do {                                                                       \
        double va_ = (double)(a), vb_ = (double)(b);                           \
        check_count++;                                                         \
        if (!(fabs(va_ - vb_) <= (tol))) {                                     \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g vs %.9g (tol %g)\n", \
                    __FILE__, __LINE__, #a, #b, va_, vb_, (double)(tol));      \
        }                                                                      \
    } while (0)

#define CHECK_STR_EQ(a, b)                                                     \
    do {                                                                       \
        const char *va_ = (a), *vb_ = (b);                                     \
        check_count++;                                                         \
        if (!va_ || !vb_ || strcmp(va_, vb_) != 0) {                           \
            check_failures++;                                                  \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" vs \"%s\"\n",      \
                    __FILE__, __LINE__, #a, #b, va_ ? va_ : "(null)",          \
                    vb_ ? vb_ : "(null)");                                     \
        }                                                                      \
    } while (0)

/* Ends main(): prints a summary and returns the exit status. */
static inline int check_done(const char *name)
{
    fprintf(stderr, "%s: %d checks, %d failed\n", name, check_count,
            check_failures);
    if (check_count == 0) {
        fprintf(stderr, "%s: no checks ran\n", name);
        return 1;
    }
    return check_failures ? 1 : 0;
}

/* ---- named cases ----------------------------------------------------------
 * A test program lists its cases, each a name and a function; check_run runs
 * every one in order (a failed case does not stop the others), names each
 * case that failed or checked nothing, and returns the exit status: 1 when
 * any check failed (also in set-up outside a case) or any case was empty. Cases
 * of one program may build on each other's state: they run in list order. */
typedef struct check_case {
    const char *name;
    void (*fn)(void);
} check_case;

#define CHECK_CASE(fn)                                                         \
    {                                                                          \
#fn, fn                                                                \
    }

static inline int check_run(const char *program, const check_case *cases,
                            size_t n)
{
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        int failures = check_failures, count = check_count;
        cases[i].fn();
        if (check_failures > failures) {
            failed++;
            fprintf(stderr, "%s: case %s FAILED (%d of %d checks)\n", program,
                    cases[i].name, check_failures - failures,
                    check_count - count);
        } else if (check_count == count) {
            failed++;
            fprintf(stderr, "%s: case %s ran no checks\n", program,
                    cases[i].name);
        } else {
            fprintf(stderr, "%s: case %s ok (%d checks)\n", program,
                    cases[i].name, check_count - count);
        }
    }
    fprintf(stderr, "%s: %zu cases, %d failed; %d checks, %d failed\n", program,
            n, failed, check_count, check_failures);
    /* check_failures also counts checks made outside any case (set-up) */
    return failed || check_failures || n == 0 ? 1 : 0;
}

/* The whole file at `path`, NUL-terminated (the caller frees); its size in
 * *len when len is not NULL. NULL when it cannot be read. */
static inline char *check_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    char *s =
        n >= 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
    size_t k = s ? fread(s, 1, (size_t)n, f) : 0;
    fclose(f);
    if (s)
        s[k] = '\0';
    if (len)
        *len = k;
    return s;
}

/* The DSN of the throwaway test database (scripts/test.sh sets it). A test
 * that needs PostgreSQL fails — never skips — when it is missing. */
static inline const char *check_test_dsn(void)
{
    const char *dsn = getenv("VIGIL_TEST_DSN");
    if (!dsn || !*dsn) {
        fprintf(stderr, "VIGIL_TEST_DSN is not set: run the suite through "
                        "scripts/test.sh, which starts a private PostgreSQL\n");
        exit(1);
    }
    return dsn;
}

#endif
