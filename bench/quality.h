/* quality.h — agreement between two labelings of the same documents (NMI,
 * ARI), to score topics against a known truth in tests and benchmarks. */
#ifndef VG_BENCH_QUALITY_H
#define VG_BENCH_QUALITY_H

#include <stddef.h>

/* a[i] in [0, ka), b[i] in [0, kb) label document i. Both return NAN when
 * memory runs out or n == 0. */

/* Normalised mutual information with the arithmetic-mean normaliser
 * (scikit-learn's default); 1 when both labelings are a single cluster. */
double topic_nmi(const int *a, const int *b, size_t n, int ka, int kb);
/* Adjusted Rand index; 1 when the labelings are identical partitions. */
double topic_ari(const int *a, const int *b, size_t n, int ka, int kb);

#endif
