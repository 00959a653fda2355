/* util.h — small shared helpers: a string→index hash map, growable buffers,
 * deterministic hashing. Nothing here knows about vigil's data. */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <stddef.h>
#include <stdint.h>

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

#endif
