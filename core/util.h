/* util.h — small shared helpers: a string→index hash map, the growable
 * string buffer, a UTF-8 decoder, joining a JSON array's strings,
 * deterministic hashing. Nothing here knows about vigil's data. */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- strbuf: the one growable string buffer ------------------------------
 * Zero-initialised (`strbuf b = {0};`) it is empty and owns nothing; the text
 * is always NUL-terminated once anything was appended. Out of memory is sticky:
 * appends after a failure do nothing and `failed` stays set, so a writer
 * checks once at the end instead of after every call. One owner: free with
 * strbuf_free(). */
typedef struct strbuf {
    char *s;
    size_t len, cap;
    int failed;
} strbuf;

/* Room for `extra` more bytes plus the NUL. Each of these returns 0, or -1
 * once the buffer has failed (callers may ignore it and check at the end). */
int strbuf_reserve(strbuf *b, size_t extra);
int strbuf_append(strbuf *b, const char *s, size_t n);
/* NULL appends nothing. */
int strbuf_puts(strbuf *b, const char *s);
int strbuf_putc(strbuf *b, char c);
int strbuf_printf(strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The text so far, "" when nothing was appended (never NULL). */
const char *strbuf_str(const strbuf *b);
/* Empty the text, keeping the memory and the failure flag. */
void strbuf_reset(strbuf *b);
void strbuf_free(strbuf *b);

/* ---- UTF-8 ----------------------------------------------------------------
 * Decodes one code point from s[0..n); returns the bytes used (>= 1 when
 * n >= 1). Invalid, overlong, surrogate or truncated sequences give U+FFFD
 * and consume one byte, so a bad byte never swallows the good text after it
 * (a real U+FFFD consumes three). On NUL-terminated text n may be SIZE_MAX:
 * the NUL is never a continuation byte. */
size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Writes c (<= 0x10FFFF) as 1..4 bytes at o; returns the count. */
size_t utf8_encode(uint32_t c, char *o);
/* Ends s before its first byte that does not start a valid sequence (as
 * left by cutting text to a fixed buffer mid-character), so JSON encoders,
 * which refuse invalid UTF-8, accept it. Returns the new length. */
size_t utf8_cut_invalid(char *s);

/* The strings of JSON array `arr` joined by `sep` into buf[0..n) (n >= 1),
 * for a line of text; "" for an empty or missing array, non-strings as "".
 * Cut at the last element that fits whole: a list is never shown half a
 * word. */
void join_json_strings(const json_t *arr, const char *sep, char *buf, size_t n);

/* Add every count of `from` into `into`: integers add up, objects recurse
 * (the skipped-row counts of several reads summed into one). */
void json_add_counts(json_t *into, json_t *from);

/* Open-addressing map from strings (copied in) to dense indices 0..n-1. */
typedef struct strmap strmap;
strmap *strmap_new(size_t expected);
void strmap_free(strmap *m);
/* Index of key, or -1. */
long strmap_get(const strmap *m, const char *key);
/* Index of key, inserting it with the next index when absent; -1 on OOM.
 * *added is set to 1 when the key was new. */
long strmap_put(strmap *m, const char *key, int *added);
size_t strmap_size(const strmap *m);
/* The key stored for an index (owned by the map). */
const char *strmap_key(const strmap *m, long index);

uint64_t hash_str(const char *s, uint64_t seed);
uint64_t hash_mix(uint64_t x);
/* Uniform double in [0,1) from a 64-bit hash. */
double hash_unit(uint64_t h);

/* k-th smallest (0-based) of v[0..n-1], n > 0; reorders v so that every
 * element before index k is <= the result. */
float select_kth_float(float *v, size_t n, size_t k);
/* Median of v[0..n-1] without NaNs (reorders v); NAN for n == 0. */
double median_float_inplace(float *v, size_t n);

/* Median of v[0..n-1] (reorders v); NAN for n == 0. */
double median_inplace(double *v, size_t n);

/* ---- numbers as text -------------------------------------------------------
 * The same characters as snprintf's "%.17g" and "%.0f" (round half to even,
 * as glibc does), without printf: scoring writes millions of numbers and
 * printf's exact decimal conversion was a visible share of its CPU. Exact
 * integer arithmetic on the common ranges, snprintf itself on the rest.
 * buf holds FMT_NUM_BUF bytes; the length written is returned. */
#define FMT_NUM_BUF 320 /* "%.0f" of DBL_MAX has 309 digits */
size_t fmt_g17(double v, char *buf);
size_t fmt_0f(double v, char *buf);

/* A decimal as PostgreSQL writes a float8 or numeric without exponent
 * ("-20393.541666666668", "12.50"): 1 and the double strtod gives for it
 * in *out, or 0 when s has another form or more than 19 digits, or when
 * one rounding in extended precision cannot be proven to give strtod's
 * result (then the caller uses strtod). Reading the features parses ten
 * million of these per million customers. */
int parse_decimal(const char *s, double *out);

#endif
