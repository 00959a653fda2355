/* tz.c — TZif (RFC 8536) reader, POSIX TZ footer rules and UTC<->local maths.
 * Everything a zone needs lives in its tz_zone, so zones coexist freely. */
#include "core/tz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/date.h"

#define TZ_NAME_MAX 256
#define TZ_FILE_MAX (1 << 20) /* real files are < 4 KiB */
#define TZ_MAX_TIMES 100000   /* real files have < 2000 transitions */
#define TZ_MAX_TYPES 256      /* RFC 8536 limit */
#define TZ_OFF_MIN (-89999)   /* RFC 8536: utoff in -25h+1s .. 26h-1s */
#define TZ_OFF_MAX 93599
/* Instants beyond this (~317,000 years) are clamped so that day numbers and
 * window arithmetic can never overflow. */
#define TZ_T_LIMIT 10000000000000LL

/* One date of a POSIX TZ rule: Jn (1..365, no Feb 29), n (0..365), Mm.w.d. */
typedef struct {
    enum { RULE_JULIAN1, RULE_JULIAN0, RULE_MWD } kind;
    int n, m, w, d;
    long time; /* seconds after local midnight, may be negative or > 24h */
} tz_rule_date;

typedef struct {
    int present; /* footer gave a usable rule */
    int has_dst;
    long std_off; /* seconds east of UTC */
    long dst_off;
    tz_rule_date start, end;
} tz_rule;

struct tz_zone {
    char name[TZ_NAME_MAX];
    size_t ntimes, ntypes;
    int64_t *times;     /* transition instants, strictly increasing */
    unsigned char *idx; /* type index per transition */
    long *offs;         /* utoff per type */
    unsigned char *dst; /* isdst per type */
    tz_rule rule;       /* after the last transition (or always, if none) */
};

static int64_t clamp_t(int64_t t)
{
    if (t > TZ_T_LIMIT)
        return TZ_T_LIMIT;
    if (t < -TZ_T_LIMIT)
        return -TZ_T_LIMIT;
    return t;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dm[m - 1];
}

/* ---- POSIX TZ strings ("CET-1CEST,M3.5.0,M10.5.0/3") ---------------- */

/* Zone abbreviation: 3+ letters, or <...> of letters, digits, + and -. */
static const char *parse_abbr(const char *p)
{
    if (*p == '<') {
        const char *q = p + 1;
        while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') ||
               (*q >= '0' && *q <= '9') || *q == '+' || *q == '-')
            q++;
        return (*q == '>' && q - p >= 4) ? q + 1 : NULL;
    }
    const char *q = p;
    while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z'))
        q++;
    return q - p >= 3 ? q : NULL;
}

static const char *parse_num(const char *p, int lo, int hi, int *v)
{
    int n = 0, digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        n = n * 10 + (*p - '0');
        p++;
        digits++;
    }
    if (digits == 0 || n < lo || n > hi || (*p >= '0' && *p <= '9'))
        return NULL;
    *v = n;
    return p;
}

/* [+-]hh[:mm[:ss]]; hours up to max_h (24 for offsets, 167 for rule times
 * per RFC 8536's version-3 extension). */
static const char *parse_hms(const char *p, int max_h, long *out)
{
    int sign = 1, h, m = 0, s = 0;
    if (*p == '+' || *p == '-') {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!(p = parse_num(p, 0, max_h, &h)))
        return NULL;
    if (*p == ':') {
        if (!(p = parse_num(p + 1, 0, 59, &m)))
            return NULL;
        if (*p == ':' && !(p = parse_num(p + 1, 0, 59, &s)))
            return NULL;
    }
    *out = sign * ((long)h * 3600 + m * 60 + s);
    return p;
}

static const char *parse_rule_date(const char *p, tz_rule_date *rd)
{
    if (*p == 'J') {
        rd->kind = RULE_JULIAN1;
        p = parse_num(p + 1, 1, 365, &rd->n);
    } else if (*p == 'M') {
        rd->kind = RULE_MWD;
        if (!(p = parse_num(p + 1, 1, 12, &rd->m)) || *p != '.')
            return NULL;
        if (!(p = parse_num(p + 1, 1, 5, &rd->w)) || *p != '.')
            return NULL;
        p = parse_num(p + 1, 0, 6, &rd->d);
    } else {
        rd->kind = RULE_JULIAN0;
        p = parse_num(p, 0, 365, &rd->n);
    }
    if (!p)
        return NULL;
    rd->time = 7200; /* POSIX default 02:00 */
    if (*p == '/')
        p = parse_hms(p + 1, 167, &rd->time);
    return p;
}

/* Parse a TZ string into rule; 0 on success. An empty string is not a rule. */
static int parse_posix_tz(const char *s, tz_rule *rule)
{
    tz_rule r;
    memset(&r, 0, sizeof r);
    const char *p = parse_abbr(s);
    long off;
    if (!p || !(p = parse_hms(p, 24, &off)))
        return -1;
    r.std_off = -off; /* POSIX counts west-positive */
    if (*p) {
        if (!(p = parse_abbr(p)))
            return -1;
        r.has_dst = 1;
        r.dst_off = r.std_off + 3600;
        if (*p && *p != ',') {
            if (!(p = parse_hms(p, 24, &off)))
                return -1;
            r.dst_off = -off;
        }
        if (*p == ',') {
            if (!(p = parse_rule_date(p + 1, &r.start)) || *p != ',')
                return -1;
            if (!(p = parse_rule_date(p + 1, &r.end)))
                return -1;
        } else {
            /* POSIX leaves this implementation-defined; glibc and tzcode use
             * the US rules, so do the same. */
            parse_rule_date("M3.2.0", &r.start);
            parse_rule_date("M11.1.0", &r.end);
        }
        if (*p)
            return -1;
    }
    r.present = 1;
    *rule = r;
    return 0;
}

/* Local day number (days since 1970-01-01) a rule date falls on in year y. */
static int rule_day(const tz_rule_date *rd, int y)
{
    int jan1 = date_from_ymd(y, 1, 1);
    switch (rd->kind) {
    case RULE_JULIAN1:
        return jan1 + rd->n - 1 + (is_leap(y) && rd->n >= 60);
    case RULE_JULIAN0:
        return jan1 + rd->n;
    case RULE_MWD:
        break;
    }
    int first = date_from_ymd(y, rd->m, 1);
    int wd = (int)(((int64_t)first + 4) % 7); /* 1970-01-01: Thursday */
    if (wd < 0)
        wd += 7;
    int day = first + (rd->d - wd + 7) % 7 + 7 * (rd->w - 1);
    while (day - first >= month_days(y, rd->m))
        day -= 7; /* "week 5" means the last one */
    return day;
}

/* UTC instants at which DST starts and ends in year y. The start time is
 * given in standard time, the end time in daylight time. */
static void rule_bounds(const tz_rule *r, int y, int64_t *start, int64_t *end)
{
    *start =
        (int64_t)rule_day(&r->start, y) * 86400 + r->start.time - r->std_off;
    *end = (int64_t)rule_day(&r->end, y) * 86400 + r->end.time - r->dst_off;
}

static int year_of(int64_t t)
{
    int y, m, d;
    date_to_ymd((int)floor_div(t, 86400), &y, &m, &d);
    return y;
}

static long rule_offset(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int64_t s, e;
    rule_bounds(r, year_of(t + r->std_off), &s, &e);
    int in_dst = s < e ? (t >= s && t < e) : !(t >= e && t < s);
    return in_dst ? r->dst_off : r->std_off;
}

static int64_t rule_next(const tz_rule *r, int64_t t)
{
    if (!r->has_dst)
        return INT64_MAX;
    int64_t best = INT64_MAX;
    int y = year_of(t);
    for (int yy = y - 1; yy <= y + 1; yy++) {
        int64_t b[2];
        rule_bounds(r, yy, &b[0], &b[1]);
        for (int i = 0; i < 2; i++)
            if (b[i] > t && b[i] < best)
                best = b[i];
    }
    return best;
}

/* ---- TZif ------------------------------------------------------------ */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

typedef struct {
    int version; /* 1, 2, 3, 4 */
    size_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

/* Parse a 44-byte header at p; returns the data block length for time size
 * tsz, or 0 when the header is unusable. */
static size_t tzif_header_parse(const unsigned char *p, size_t avail,
                                size_t tsz, tzif_header *h)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0)
        return 0;
    h->version = p[4] == 0 ? 1 : p[4] - '0';
    if (h->version < 1 || h->version > 9)
        return 0;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->timecnt > TZ_MAX_TIMES || h->typecnt == 0 ||
        h->typecnt > TZ_MAX_TYPES || h->charcnt > TZ_FILE_MAX ||
        h->leapcnt > TZ_MAX_TIMES || h->isutcnt > TZ_MAX_TYPES ||
        h->isstdcnt > TZ_MAX_TYPES)
        return 0;
    return h->timecnt * tsz + h->timecnt + h->typecnt * 6 + h->charcnt +
           h->leapcnt * (tsz + 4) + h->isstdcnt + h->isutcnt;
}

static void name_copy(char dst[TZ_NAME_MAX], const char *name)
{
    snprintf(dst, TZ_NAME_MAX, "%s", name ? name : "");
}

tz_zone *tz_fixed(const char *name, long utoff)
{
    tz_zone *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    name_copy(z->name, name);
    z->rule.present = 1;
    z->rule.std_off = utoff;
    return z;
}

/* The transition times (4 or 8 bytes each, strictly increasing) and the
 * local-time type each switches to; *p moves past both arrays. */
static vg_code read_transitions(tz_zone *z, const unsigned char **pp,
                                const tzif_header *h, size_t tsz,
                                const char *zname, vg_error *err)
{
    const unsigned char *p = *pp;
    for (size_t i = 0; i < h->timecnt; i++) {
        z->times[i] = tsz == 8 ? be64(p + 8 * i) : (int32_t)be32(p + 4 * i);
        if (i > 0 && z->times[i] <= z->times[i - 1])
            return vg_fail(err, VG_ECONFIG,
                           "time zone '%s': transitions are not in order",
                           zname);
    }
    p += h->timecnt * tsz;
    for (size_t i = 0; i < h->timecnt; i++) {
        z->idx[i] = p[i];
        if (p[i] >= h->typecnt)
            return vg_fail(err, VG_ECONFIG,
                           "time zone '%s': transition type out of range",
                           zname);
    }
    *pp = p + h->timecnt;
    return VG_OK;
}

/* The local-time types: UTC offset (bounded, so a hostile file cannot push
 * dates out of range) and whether it is daylight saving time. */
static vg_code read_types(tz_zone *z, const unsigned char **pp,
                          const tzif_header *h, const char *zname,
                          vg_error *err)
{
    const unsigned char *p = *pp;
    for (size_t i = 0; i < h->typecnt; i++) {
        int32_t off = (int32_t)be32(p + 6 * i);
        if (off < TZ_OFF_MIN || off > TZ_OFF_MAX)
            return vg_fail(err, VG_ECONFIG,
                           "time zone '%s': UTC offset %ld out of range", zname,
                           (long)off);
        z->offs[i] = off;
        z->dst[i] = p[6 * i + 4] != 0;
    }
    *pp = p + h->typecnt * 6;
    return VG_OK;
}

/* The header that describes the data to read, and where that data starts
 * (*p) with its time size (*tsz): a version-2+ file's 64-bit block, which
 * covers all of time, else the 32-bit one. Leap-second zones are refused. */
static vg_code tzif_locate(const unsigned char *data, size_t len,
                           const char *zname, tzif_header *h,
                           const unsigned char **p, size_t *tsz, vg_error *err)
{
    size_t body = tzif_header_parse(data, len, 4, h);
    if (!body || body > len - 44)
        return vg_fail(err, VG_ECONFIG,
                       "time zone '%s': not a TZif file or truncated", zname);
    const unsigned char *q = data + 44;
    const unsigned char *end = data + len;
    *tsz = 4;
    if (h->version >= 2) {
        /* Skip the 32-bit block; the 64-bit one covers all of time. */
        q += body;
        body = tzif_header_parse(q, (size_t)(end - q), 8, h);
        if (!body || body > (size_t)(end - q) - 44)
            return vg_fail(err, VG_ECONFIG,
                           "time zone '%s': truncated TZif version-2 data",
                           zname);
        q += 44;
        *tsz = 8;
    }
    if (h->leapcnt)
        return vg_fail(err, VG_ECONFIG,
                       "time zone '%s': leap-second zones are not supported",
                       zname);
    *p = q;
    return VG_OK;
}

/* Version 2+: "\n<POSIX TZ string>\n" for times after the last transition.
 * An empty or unparsable footer falls back to the last transition's type,
 * as tzcode does. */
static void read_footer(tz_zone *z, const unsigned char *p,
                        const unsigned char *end)
{
    if (p >= end || *p != '\n')
        return;
    const unsigned char *q = p + 1;
    while (q < end && *q != '\n')
        q++;
    size_t n = (size_t)(q - p - 1);
    if (q >= end || n == 0 || n >= 128)
        return;
    char tzs[128];
    tz_rule r;
    memcpy(tzs, p + 1, n);
    tzs[n] = '\0';
    if (parse_posix_tz(tzs, &r) == 0 && r.std_off >= TZ_OFF_MIN &&
        r.std_off <= TZ_OFF_MAX && r.dst_off >= TZ_OFF_MIN &&
        r.dst_off <= TZ_OFF_MAX)
        z->rule = r;
}

vg_code tz_from_tzif(const char *name, const unsigned char *data, size_t len,
                     tz_zone **out, vg_error *err)
{
    vg_code rc = VG_OK;
    tz_zone *z = NULL;
    const char *zname = name ? name : "";
    *out = NULL;

    tzif_header h;
    size_t tsz = 4;
    const unsigned char *p = NULL, *end = data + len;
    if ((rc = tzif_locate(data, len, zname, &h, &p, &tsz, err)) != VG_OK)
        goto cleanup;

    z = calloc(1, sizeof *z);
    if (!z) {
        rc = vg_fail(err, VG_ENOMEM, "time zone '%s': out of memory", zname);
        goto cleanup;
    }
    name_copy(z->name, zname);
    z->ntimes = h.timecnt;
    z->ntypes = h.typecnt;
    z->times = malloc((h.timecnt ? h.timecnt : 1) * sizeof *z->times);
    z->idx = malloc(h.timecnt ? h.timecnt : 1);
    z->offs = malloc(h.typecnt * sizeof *z->offs);
    z->dst = malloc(h.typecnt);
    if (!z->times || !z->idx || !z->offs || !z->dst) {
        rc = vg_fail(err, VG_ENOMEM, "time zone '%s': out of memory", zname);
        goto cleanup;
    }
    if ((rc = read_transitions(z, &p, &h, tsz, zname, err)) != VG_OK ||
        (rc = read_types(z, &p, &h, zname, err)) != VG_OK)
        goto cleanup;
    p += h.charcnt + h.leapcnt * (tsz + 4) + h.isstdcnt + h.isutcnt;
    if (h.version >= 2)
        read_footer(z, p, end);
    *out = z;
    z = NULL;

cleanup:
    tz_free(z);
    return rc;
}

/* ---- loading ------------------------------------------------------- */

static int is_utc_alias(const char *name)
{
    static const char *const aliases[] = {
        "UTC",           "Etc/UTC",   "UCT",           "Etc/UCT",  "GMT",
        "Etc/GMT",       "GMT0",      "Etc/GMT0",      "GMT+0",    "Etc/GMT+0",
        "GMT-0",         "Etc/GMT-0", "Zulu",          "Etc/Zulu", "Universal",
        "Etc/Universal", "Greenwich", "Etc/Greenwich", NULL};
    for (int i = 0; aliases[i]; i++)
        if (strcmp(name, aliases[i]) == 0)
            return 1;
    return 0;
}

static int name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= TZ_NAME_MAX || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
              (*c >= '0' && *c <= '9') || *c == '/' || *c == '_' || *c == '-' ||
              *c == '+'))
            return 0;
    return 1;
}

vg_code tz_load_dir(const char *dir, const char *name, tz_zone **out,
                    vg_error *err)
{
    vg_code rc = VG_OK;
    FILE *f = NULL;
    unsigned char *buf = NULL;
    *out = NULL;

    if (!name || !name_ok(name)) {
        rc = vg_fail(err, VG_ECONFIG, "time zone '%.200s': not a valid name",
                     name ? name : "(null)");
        goto cleanup;
    }
    if (is_utc_alias(name)) {
        if (!(*out = tz_fixed(name, 0)))
            rc = vg_fail(err, VG_ENOMEM, "time zone '%s': out of memory", name);
        goto cleanup;
    }
    char path[4096];
    int pn =
        snprintf(path, sizeof path, "%s/%s", dir ? dir : TZ_DEFAULT_DIR, name);
    if (pn < 0 || (size_t)pn >= sizeof path) {
        rc = vg_fail(err, VG_ECONFIG, "time zone '%s': path too long", name);
        goto cleanup;
    }
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        struct stat st;
        if (stat(dir ? dir : TZ_DEFAULT_DIR, &st) != 0)
            rc = vg_fail(err, VG_ECONFIG,
                         "time zone '%s': no time zone data in %s (install "
                         "the tzdata package); only UTC is available",
                         name, dir ? dir : TZ_DEFAULT_DIR);
        else
            rc = vg_fail(err, VG_ECONFIG, "unknown time zone '%s' (%s: %s)",
                         name, path, strerror(e));
        goto cleanup;
    }
    buf = malloc(TZ_FILE_MAX);
    if (!buf) {
        rc = vg_fail(err, VG_ENOMEM, "time zone '%s': out of memory", name);
        goto cleanup;
    }
    size_t n = fread(buf, 1, TZ_FILE_MAX, f);
    if (ferror(f) || n == 0) {
        rc = vg_fail(err, VG_ECONFIG,
                     "unknown time zone '%s' (%s is not a readable file)", name,
                     path);
        goto cleanup;
    }
    rc = tz_from_tzif(name, buf, n, out, err);

cleanup:
    if (f)
        fclose(f);
    free(buf);
    return rc;
}

vg_code tz_load(const char *name, tz_zone **out, vg_error *err)
{
    return tz_load_dir(TZ_DEFAULT_DIR, name, out, err);
}

void tz_free(tz_zone *zone)
{
    if (!zone)
        return;
    free(zone->times);
    free(zone->idx);
    free(zone->offs);
    free(zone->dst);
    free(zone);
}

const char *tz_name(const tz_zone *zone)
{
    return zone ? zone->name : "UTC";
}

/* ---- queries ------------------------------------------------------- */

/* Index of the last transition <= t, or -1 when t precedes them all. */
static long last_at_or_before(const tz_zone *z, int64_t t)
{
    size_t lo = 0, hi = z->ntimes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->times[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

long tz_offset_at(const tz_zone *zone, int64_t utc_seconds)
{
    if (!zone)
        return 0;
    int64_t t = clamp_t(utc_seconds);
    if (zone->ntimes == 0)
        return zone->rule.present ? rule_offset(&zone->rule, t) : zone->offs[0];
    long i = last_at_or_before(zone, t);
    if (i < 0)
        return zone->offs[0];
    if ((size_t)i == zone->ntimes - 1 && zone->rule.present)
        return rule_offset(&zone->rule, t);
    return zone->offs[zone->idx[i]];
}

int64_t tz_next_transition(const tz_zone *zone, int64_t utc_seconds)
{
    if (!zone)
        return INT64_MAX;
    int64_t t = clamp_t(utc_seconds);
    if (t >= TZ_T_LIMIT)
        return INT64_MAX;
    long i = last_at_or_before(zone, t);
    if ((size_t)(i + 1) < zone->ntimes)
        return zone->times[i + 1];
    if (!zone->rule.present)
        return INT64_MAX;
    int64_t next = rule_next(&zone->rule, t);
    return next > TZ_T_LIMIT ? INT64_MAX : next;
}

int tz_local_to_utc(const tz_zone *zone, int64_t local_seconds, int64_t out[2])
{
    int64_t local = clamp_t(local_seconds);
    int n = 0;
    int64_t gap_end = 0;
    int have_gap = 0;
    /* Walk the constant-offset segments that can contain local - offset for
     * any legal offset; each segment yields at most one solution. */
    int64_t u = local - TZ_OFF_MAX - 1;
    const int64_t stop = local - TZ_OFF_MIN + 1;
    long off = tz_offset_at(zone, u);
    while (u <= stop) {
        int64_t next = tz_next_transition(zone, u);
        int64_t c = local - off;
        if (c >= u && c < next) {
            if (n < 2)
                out[n] = c;
            n++;
        }
        if (next == INT64_MAX || next > stop)
            break;
        long noff = tz_offset_at(zone, next);
        /* The wall clock jumped over `local` at this transition. */
        if (!have_gap && c >= next && local - noff < next) {
            have_gap = 1;
            gap_end = next;
        }
        u = next;
        off = noff;
    }
    if (n == 0)
        out[0] = have_gap ? gap_end : local - tz_offset_at(zone, local);
    return n > 2 ? 2 : n;
}
