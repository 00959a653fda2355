/* util.c — string hash map and small numeric helpers used by several stages.
 * The map stores its keys in one growing arena so 1M ids cost 1M small copies.
 */
#include "util.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A slot keeps part of the key's hash beside the index, so a probe that
 * lands on another key is rejected without touching that key's string. */
typedef struct slot {
    uint32_t hash;
    int32_t idx; /* index+1, 0 = empty */
} slot;

struct strmap {
    slot *slots;
    size_t nslots;
    char **keys; /* by index */
    size_t n, cap;
};

uint64_t hash_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t hash_str(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ULL ^ hash_mix(seed);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return hash_mix(h);
}

double hash_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

strmap *strmap_new(size_t expected)
{
    strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nslots = 64;
    while (m->nslots < expected * 2)
        m->nslots *= 2;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void strmap_free(strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        free(m->keys[i]);
    free(m->keys);
    free(m->slots);
    free(m);
}

static size_t find_slot(const strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->nslots - 1;
    size_t i = (size_t)h & mask;
    uint32_t tag = (uint32_t)(h >> 32);
    while (m->slots[i].idx && (m->slots[i].hash != tag ||
                               strcmp(m->keys[m->slots[i].idx - 1], key) != 0))
        i = (i + 1) & mask;
    return i;
}

long strmap_get(const strmap *m, const char *key)
{
    return (long)m->slots[find_slot(m, key, hash_str(key, 0))].idx - 1;
}

static int grow(strmap *m)
{
    size_t ns = m->nslots * 2;
    slot *slots = calloc(ns, sizeof *slots);
    if (!slots)
        return -1;
    free(m->slots);
    m->slots = slots;
    m->nslots = ns;
    for (size_t k = 0; k < m->n; k++) {
        uint64_t h = hash_str(m->keys[k], 0);
        size_t i = find_slot(m, m->keys[k], h);
        m->slots[i].hash = (uint32_t)(h >> 32);
        m->slots[i].idx = (int32_t)k + 1;
    }
    return 0;
}

long strmap_put(strmap *m, const char *key, int *added)
{
    if (added)
        *added = 0;
    uint64_t h = hash_str(key, 0);
    size_t i = find_slot(m, key, h);
    if (m->slots[i].idx)
        return (long)m->slots[i].idx - 1;
    if (m->n >= INT32_MAX - 1)
        return -1;
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        char **nk = realloc(m->keys, nc * sizeof *nk);
        if (!nk)
            return -1;
        m->keys = nk;
        m->cap = nc;
    }
    char *copy = strdup(key);
    if (!copy)
        return -1;
    m->keys[m->n] = copy;
    m->slots[i].hash = (uint32_t)(h >> 32);
    m->slots[i].idx = (int32_t)m->n + 1;
    m->n++;
    if (m->n * 2 > m->nslots && grow(m) != 0)
        return -1;
    if (added)
        *added = 1;
    return (long)m->n - 1;
}

size_t strmap_size(const strmap *m)
{
    return m->n;
}

const char *strmap_key(const strmap *m, long index)
{
    return (index >= 0 && (size_t)index < m->n) ? m->keys[index] : NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median_inplace(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Hoare's selection: O(n) on average; sorting every column of the scoring
 * matrix was a visible share of scoring time. */
float select_kth_float(float *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

double median_float_inplace(float *v, size_t n)
{
    if (n == 0)
        return NAN;
    double hi = select_kth_float(v, n, n / 2);
    /* the lower half now holds the n/2 smallest: its maximum is next */
    return n % 2 ? hi : 0.5 * (hi + select_kth_float(v, n / 2, n / 2 - 1));
}

/* ---- strbuf -------------------------------------------------------------- */

int strbuf_reserve(strbuf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return -1;
    }
    b->s = s;
    b->cap = cap;
    return 0;
}

int strbuf_append(strbuf *b, const char *s, size_t n)
{
    if (strbuf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

int strbuf_puts(strbuf *b, const char *s)
{
    if (!s)
        return b->failed ? -1 : 0;
    return strbuf_append(b, s, strlen(s));
}

int strbuf_putc(strbuf *b, char c)
{
    return strbuf_append(b, &c, 1);
}

int strbuf_vprintf(strbuf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return -1;
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        b->failed = 1;
    } else if ((size_t)n < sizeof small) {
        strbuf_append(b, small, (size_t)n);
    } else if (strbuf_reserve(b, (size_t)n) == 0) {
        vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
    return b->failed ? -1 : 0;
}

int strbuf_printf(strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = strbuf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *strbuf_str(const strbuf *b)
{
    return b->s ? b->s : "";
}

void strbuf_reset(strbuf *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

void strbuf_free(strbuf *b)
{
    free(b->s);
    *b = (strbuf){0};
}

/* ---- UTF-8 --------------------------------------------------------------- */

size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        *cp = 0xFFFD;
        return 1;
    }
    if (len > n) {
        *cp = 0xFFFD;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *cp = 0xFFFD;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = v;
    return len;
}

size_t utf8_encode(uint32_t c, char *o)
{
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t utf8_cut_invalid(char *s)
{
    size_t i = 0;
    while (s[i]) {
        uint32_t cp;
        size_t k = utf8_decode((const unsigned char *)s + i, SIZE_MAX, &cp);
        if (k == 1 && cp == 0xFFFD && (unsigned char)s[i] >= 0x80)
            break;
        i += k;
    }
    s[i] = '\0';
    return i;
}

void join_json_strings(const json_t *arr, const char *sep, char *buf, size_t n)
{
    size_t i, k = 0;
    json_t *e;
    buf[0] = '\0';
    json_array_foreach(arr, i, e)
    {
        const char *v = json_string_value(e);
        int w = snprintf(buf + k, n - k, "%s%s", i ? sep : "", v ? v : "");
        if (w < 0 || (size_t)w >= n - k) {
            buf[k] = '\0'; /* the element that did not fit is left out */
            break;
        }
        k += (size_t)w;
    }
}

void json_add_counts(json_t *into, json_t *from)
{
    const char *k;
    json_t *v;
    json_object_foreach(from, k, v)
    {
        json_t *have = json_object_get(into, k);
        if (json_is_object(v)) {
            if (!have)
                json_object_set_new(into, k, have = json_object());
            json_add_counts(have, v);
        } else if (json_is_integer(v)) {
            json_int_t n = json_is_integer(have) ? json_integer_value(have) : 0;
            json_object_set_new(into, k,
                                json_integer(n + json_integer_value(v)));
        }
    }
}

/* ---- numbers as text ---------------------------------------------------- */

/* The decimal digits of u (< 10^20), most significant first; the count. */
static size_t put_digits(uint64_t u, char *out)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

size_t fmt_0f(double v, char *buf)
{
    /* rint rounds half to even in the default rounding mode, on the exact
     * binary value: what glibc's "%.0f" prints */
    if (!(fabs(v) < 1e18))
        return (size_t)snprintf(buf, FMT_NUM_BUF, "%.0f", v);
    double r = rint(v);
    size_t k = 0;
    if (signbit(r))
        buf[k++] = '-'; /* "%.0f" of -0.4 is "-0" */
    k += put_digits((uint64_t)fabs(r), buf + k);
    buf[k] = '\0';
    return k;
}

/* |v| * 10^p as a 17-digit integer rounded half to even, for v = m * 2^e
 * (m < 2^53, -80 < e < 0, 0 <= p <= 21: m * 10^p < 2^123 fits). */
static uint64_t scaled_round(uint64_t m, int e, int p)
{
    unsigned __int128 x = m;
    for (int i = 0; i < p; i++)
        x *= 10;
    int s = -e;
    unsigned __int128 q = x >> s, r = x - (q << s);
    unsigned __int128 half = (unsigned __int128)1 << (s - 1);
    if (r > half || (r == half && (q & 1)))
        q++;
    return (uint64_t)q;
}

size_t fmt_g17(double v, char *buf)
{
    double a = fabs(v);
    /* Fixed notation only (what %g uses for exponents -4..16), and values
     * whose binary exponent keeps the arithmetic in 128 bits; the rest (0,
     * tiny, huge, not finite) through snprintf. */
    if (!(a >= 1e-4 && a < 1e15))
        return (size_t)snprintf(buf, FMT_NUM_BUF, "%.17g", v);
    int E;
    double f = frexp(a, &E); /* a = f * 2^E, f in [0.5, 1) */
    uint64_t m = (uint64_t)ldexp(f, 53);
    int e = E - 53;
    int x10 = (int)floor(log10(a)); /* decimal exponent, maybe off by one */
    uint64_t d = 0;
    for (int tries = 0; tries < 3; tries++) {
        /* below 10^15 < 2^52, so e < 0; p <= 21 as x10 >= -5 */
        d = scaled_round(m, e, 16 - x10);
        if (d >= 100000000000000000ull) {
            if (d == 100000000000000000ull) { /* rounded up to 10^17 */
                d = 10000000000000000ull;
                x10++;
                break;
            }
            x10++;
        } else if (d < 10000000000000000ull) {
            x10--;
        } else {
            break;
        }
    }
    if (d < 10000000000000000ull || d >= 100000000000000000ull || x10 < -4)
        return (size_t)snprintf(buf, FMT_NUM_BUF, "%.17g", v);
    char dig[24];
    put_digits(d, dig); /* 17 digits */
    int nd = 17;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--; /* %g drops trailing zeros of the fraction */
    size_t k = 0;
    if (v < 0)
        buf[k++] = '-';
    if (x10 >= 0) {
        for (int i = 0; i <= x10; i++)
            buf[k++] = i < nd ? dig[i] : '0';
        if (nd > x10 + 1) {
            buf[k++] = '.';
            for (int i = x10 + 1; i < nd; i++)
                buf[k++] = dig[i];
        }
    } else {
        buf[k++] = '0';
        buf[k++] = '.';
        for (int i = 0; i < -x10 - 1; i++)
            buf[k++] = '0';
        for (int i = 0; i < nd; i++)
            buf[k++] = dig[i];
    }
    buf[k] = '\0';
    return k;
}

int parse_decimal(const char *s, double *out)
{
#if defined(__x86_64__) && LDBL_MANT_DIG == 64
    /* 10^k for k <= 27 is exact in x87's 64-bit significand (5^27 <
     * 2^63), as is any 19-digit integer: m / 10^k is then one correctly
     * rounded division. Rounding that to double gives strtod's double
     * unless the extended result lies exactly halfway between two doubles
     * (its 11 extra bits 0x400): only then could the true quotient round
     * the other way, and strtod decides. */
    static const long double p10[28] = {
        1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,  1e7L,  1e8L,  1e9L,
        1e10L, 1e11L, 1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L,
        1e20L, 1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};
    const char *p = s;
    int neg = *p == '-';
    p += neg;
    uint64_t m = 0;
    int nd = 0, frac = 0, dot = 0;
    for (;; p++) {
        if (*p >= '0' && *p <= '9') {
            if (++nd > 19)
                return 0;
            m = m * 10 + (uint64_t)(*p - '0');
            frac += dot;
        } else if (*p == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    if (*p != '\0' || nd == 0 || frac > 27)
        return 0;
    long double q = (long double)m / p10[frac];
    uint64_t mant;
    memcpy(&mant, &q, sizeof mant); /* the significand's low 64 bits */
    if ((mant & 0x7FF) == 0x400)
        return 0;
    double d = (double)q;
    *out = neg ? -d : d;
    return 1;
#else
    (void)s;
    (void)out;
    return 0;
#endif
}
