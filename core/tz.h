/* tz.h — IANA time zones read straight from TZif files, with no global state.
 * The scheduler needs several zones at once, so setenv("TZ")/localtime is out.
 */
#ifndef VG_TZ_H
#define VG_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Where tz_load() looks; the Debian package "tzdata" installs it. */
#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"

typedef struct tz_zone tz_zone;

/* Load zone `name` ("Europe/Berlin") from TZ_DEFAULT_DIR into a new zone that
 * the caller owns and releases with tz_free(). "UTC", "Etc/UTC", "GMT" and
 * their aliases are built in and work without any files. Names containing
 * "..", starting with '/', or holding characters outside [A-Za-z0-9/_+-] are
 * rejected. Failure: VG_ECONFIG naming the zone (unknown name, missing tzdata,
 * file that is not TZif, leap-second "right/" zones), VG_ENOMEM; *out is then
 * NULL. */
vg_code tz_load(const char *name, tz_zone **out, vg_error *err);

/* As tz_load() but from another zoneinfo directory (tests, containers). */
vg_code tz_load_dir(const char *dir, const char *name, tz_zone **out,
                    vg_error *err);

/* Build a zone from the bytes of a TZif file (v1, v2 or v3; the 64-bit data
 * and the POSIX TZ footer are used when present). `name` is only recorded.
 * Malformed data: VG_ECONFIG saying what is wrong. Never reads past len. */
vg_code tz_from_tzif(const char *name, const unsigned char *data, size_t len,
                     tz_zone **out, vg_error *err);

/* A zone with a fixed offset and no DST, e.g. tz_fixed("UTC", 0). Never fails
 * except for memory (NULL). */
tz_zone *tz_fixed(const char *name, long utoff);

void tz_free(tz_zone *zone);

/* The name it was loaded under ("Europe/Berlin"). */
const char *tz_name(const tz_zone *zone);

/* Offset of local time from UTC at the UTC instant, in seconds east
 * (Berlin in summer: 7200). Times after the last recorded transition follow
 * the file's POSIX TZ rule. */
long tz_offset_at(const tz_zone *zone, int64_t utc_seconds);

/* The first instant > utc_seconds at which the zone's rules change (offset or
 * DST flag), or INT64_MAX when none ever does. Lets a scheduler wake up at a
 * DST change and recompute. */
int64_t tz_next_transition(const tz_zone *zone, int64_t utc_seconds);

/* Map a local wall time (seconds since 1970-01-01 00:00 local) to UTC.
 * Returns how many UTC instants show that wall time: 1 normally, 2 in a
 * fall-back repeat (out[0] < out[1], the earlier first), 0 in a spring-forward
 * gap — then out[0] is the first instant after the gap (the transition
 * itself), which is when a job scheduled inside the gap should run. */
int tz_local_to_utc(const tz_zone *zone, int64_t local_seconds, int64_t out[2]);

#endif
