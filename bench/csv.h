/* csv.h — the RFC 4180 reader the topic benchmarks share (the CFPB sample
 * and the demo export have quoted, multi-line fields). Benchmarks only. */
#ifndef VG_BENCH_CSV_H
#define VG_BENCH_CSV_H

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file at `path` in memory, NUL-terminated (the caller frees), its
 * size in *len; NULL (with the reason on stderr) when it cannot be read. */
static inline char *csv_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        perror(path);
        return NULL;
    }
    long sz = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        sz = ftell(fp);
    char *buf =
        sz >= 0 && fseek(fp, 0, SEEK_SET) == 0 ? malloc((size_t)sz + 1) : NULL;
    if (!buf || fread(buf, 1, (size_t)sz, fp) != (size_t)sz) {
        fprintf(stderr, "%s: cannot read it whole\n", path);
        free(buf);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    buf[sz] = '\0';
    *len = (size_t)sz;
    return buf;
}

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
