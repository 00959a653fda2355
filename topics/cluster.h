/* cluster.h — topics from TF-IDF rows: spherical k-means with deterministic
 * seeding, automatic k, outliers, c-TF-IDF labels and topic identity matching.
 */
#ifndef VG_CLUSTER_H
#define VG_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "topics/tfidf.h"

typedef struct topic_kmeans_opts {
    int k;                    /* > 0 fixes k; 0 chooses it in [k_min, k_max] */
    int k_min, k_max;         /* default 2 and 30 */
    int restarts;             /* full runs at the final k, best objective
                                 kept (default 3) */
    int max_iter;             /* default 30 */
    uint64_t seed;            /* default 42 */
    double outlier_budget;    /* at most this share of non-empty documents
                                 is left unassigned (default 0.10) */
    double min_similarity;    /* documents below it are outliers, unless that
                                 would exceed the budget (default 0.10) */
    size_t select_sample;     /* documents used to choose k, to draw
                                 k-means++ seeds from and to compare
                                 restarts on (default 20000; 0 = all) */
    size_t silhouette_sample; /* documents scored per k (default 1000) */
    int threads;              /* worker threads (default 2; <= 1: none);
                                 the result does not depend on it */
} topic_kmeans_opts;

void topic_kmeans_opts_default(topic_kmeans_opts *o);

/* Opaque: k unit-length centroids over the vocabulary's columns and the
 * similarity threshold below which a document is an outlier. */
typedef struct topic_model topic_model;

/* Clusters the L2-normalised rows of X by cosine similarity.
 * ids (may be NULL: then row numbers stand in) names each row; the result
 * depends only on the set of (id, row) pairs and the seed, not on the row
 * order: rows are processed in the order of a hash of their id (ties by id),
 * seeds are drawn along that order, and every tie goes to the lower index.
 * Automatic k: for each candidate k (all of [k_min, k_max] when that is at
 * most 12 values, else 12 evenly spaced then the values between the best's
 * neighbours, at most 8 more) k-means runs once on the first select_sample
 * documents of that order, and the mean cosine silhouette of the first
 * silhouette_sample of them is scored; the best score wins (ties: smaller k).
 * The silhouette is chosen over the objective's elbow because it has a
 * maximum (the objective only ever improves with k) and needs no knee
 * heuristic. The chosen k is then fitted with `restarts` seeds, keeping the
 * best total similarity: on every document when there are at most
 * select_sample, else the restarts run on the first select_sample documents
 * and the best one's centroids start a single run on every document.
 * Seeds are greedy k-means++ (2 + ln k candidates per centre, keeping the
 * one that leaves the least total distance, as scikit-learn's) drawn from
 * the first select_sample documents. A run stops when at most 1 in 1000
 * documents changed topic (none, below 1000), or after max_iter iterations.
 * Assignment, centroid sums and seeding run on `threads` threads; sums are
 * kept in fixed point, so every thread count gives bit-identical results.
 * Topics are numbered by size, largest first (ties: the one whose first
 * document comes first in id-hash order).
 * assign (nrows) receives the topic of each row or -1 for outliers and empty
 * rows; sim (nrows, may be NULL) the similarity to the nearest centroid.
 * k is capped at the number of non-empty rows; with none, the model has
 * k = 0 and every row is -1. On failure *model is NULL. */
vg_code topic_kmeans(const topic_csr *X, const char *const *ids,
                     const topic_kmeans_opts *opts, topic_model **model,
                     int *assign, float *sim, vg_error *err);

/* A model from row-major centroids (k x dim, normalised here) and a
 * threshold, e.g. to assign new tickets to topics stored earlier. */
vg_code topic_model_from_centroids(const float *centroids, int k, size_t dim,
                                   double threshold, topic_model **out,
                                   vg_error *err);
void topic_model_free(topic_model *m);
int topic_model_k(const topic_model *m);
double topic_model_threshold(const topic_model *m);
/* Mean similarity of non-empty documents to their nearest centroid in the
 * fit; the silhouette of the chosen k when k was automatic, else NAN. */
double topic_model_objective(const topic_model *m);
double topic_model_silhouette(const topic_model *m);
/* Copies centroid c (dim floats) into out. */
void topic_model_centroid(const topic_model *m, int c, float *out);

/* Assigns new rows (same vocabulary) to the nearest centroid, -1 when below
 * the model's threshold or empty. */
vg_code topic_model_assign(const topic_model *m, const topic_csr *X,
                           int *assign, float *sim, vg_error *err);

/* Class-based TF-IDF of one topic: score(t, c) = tf(t, c) / words(c) *
 * ln(1 + A / f(t)), f(t) = count of t in all assigned documents, A = mean
 * words per topic (BERTopic's c-TF-IDF). */
typedef struct topic_terms {
    size_t n;      /* terms kept (<= top_n) */
    uint32_t *col; /* vocabulary columns, best first */
    double *score;
    size_t size; /* documents in the topic */
    char *label; /* 2-3 readable terms, a strong bigram first */
} topic_terms;

/* counts: raw count rows (topic_counts) aligned with assign. Returns k
 * entries in *out (free with topic_terms_free). */
vg_code topic_ctfidf(const topic_csr *counts, const topic_vocab *v,
                     const int *assign, int k, size_t top_n, topic_terms **out,
                     vg_error *err);
void topic_terms_free(topic_terms *t, int k);

typedef enum {
    TOPIC_LINK_MATCH, /* old topic continues as new topic */
    TOPIC_LINK_SPLIT, /* old topic also continues as this extra new topic */
    TOPIC_LINK_MERGE, /* old topic folded into a new topic matched to another */
    TOPIC_LINK_NEW,   /* new topic like no old one (old_topic -1) */
    TOPIC_LINK_GONE   /* old topic like no new one (new_topic -1) */
} topic_link_kind;

typedef struct topic_link {
    topic_link_kind kind;
    int old_topic, new_topic;
    double sim;
} topic_link;

/* Matches old and new centroids (row-major, k x dim, the same columns: align
 * vocabularies by term first). Pairs with cosine >= threshold are matched
 * greedily, most similar first (ties: lower old, then lower new index); an
 * unmatched new topic similar enough to an old one is a split of it, an
 * unmatched old topic similar enough to a new one merged into it. Every old
 * and every new topic appears in at least one link. *links is malloc'ed
 * (free()), in the order matches, splits, merges, new, gone. */
vg_code topic_match(const float *old_c, int k_old, const float *new_c,
                    int k_new, size_t dim, double threshold, topic_link **links,
                    size_t *nlinks, vg_error *err);

#endif
