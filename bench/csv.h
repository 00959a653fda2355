/* csv.h — the RFC 4180 reader the topic benchmarks share (the CFPB sample
 * and the demo export have quoted, multi-line fields). Benchmarks only. */
#ifndef VG_BENCH_CSV_H
#define VG_BENCH_CSV_H

#include <stddef.h>

/* Reads one CSV record (RFC 4180, quoted fields may span lines) starting at
 * *pos; fields are unescaped in place and NUL-terminated. Returns the field
 * count, 0 at the end. */
static inline int csv_record(char *buf, size_t len, size_t *pos, char **f,
                             int maxf)
{
    size_t p = *pos;
    if (p >= len)
        return 0;
    int nf = 0;
    for (;;) {
        char *w = buf + p, *start = w;
        if (p < len && buf[p] == '"') {
            p++;
            for (;;) {
                if (p >= len)
                    break;
                if (buf[p] == '"') {
                    if (p + 1 < len && buf[p + 1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *w++ = buf[p++];
            }
            while (p < len && buf[p] != ',' && buf[p] != '\n')
                p++;
        } else {
            while (p < len && buf[p] != ',' && buf[p] != '\n') {
                *w++ = buf[p++];
            }
            if (w > start && w[-1] == '\r')
                w--;
        }
        char sep = p < len ? buf[p] : '\n';
        *w = '\0';
        if (nf < maxf)
            f[nf++] = start;
        p++;
        if (sep == '\n')
            break;
    }
    *pos = p;
    return nf;
}

#endif
