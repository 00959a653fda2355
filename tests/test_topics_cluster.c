/* test_topics_cluster.c — topics/tfidf and topics/cluster on hand-checkable
 * and synthetic corpora: values, recovery, determinism, outliers, matching. */
#include "topics/cluster.h"

#include <stdint.h>
#include <stdio.h>

#include "check.h"

static text_pipe *P;

static uint64_t rng_state = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static topic_corpus *corpus_of(const char *const *texts, size_t n)
{
    vg_error err = {0};
    topic_corpus *c = NULL;
    text_toklist *t = text_toklist_new();
    CHECK_INT_EQ(topic_corpus_new(&c, &err), VG_OK);
    for (size_t i = 0; i < n; i++) {
        CHECK_INT_EQ(text_tokens(P, NULL, texts[i], "en", t, &err), VG_OK);
        CHECK_INT_EQ(topic_corpus_add(c, t, &err), VG_OK);
    }
    text_toklist_free(t);
    return c;
}

static double entry(const topic_csr *m, size_t r, long col)
{
    for (size_t e = m->rowptr[r]; e < m->rowptr[r + 1]; e++)
        if ((long)m->col[e] == col)
            return m->val[e];
    return 0;
}

static void test_tfidf_values(void)
{
    /* Unigrams only here (this pipe has bigrams off). N = 3;
     * df alpha 3, beta 2, gamma 1: idf = ln(4/4)+1 = 1, ln(4/3)+1, ln(2)+1.
     * d3 = alpha, beta x2: beta tf = 1 + ln 2. */
    const char *docs[] = {"alpha beta", "alpha gamma", "alpha beta beta"};
    topic_corpus *c = corpus_of(docs, 3);
    topic_vocab_opts vo = {1, 1.0, 0, 0};
    topic_vocab *v = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(topic_vocab_build(c, &vo, &v, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_size(v), 3);
    CHECK_STR_EQ(topic_vocab_term(v, 0), "alpha"); /* columns sorted by term */
    CHECK_STR_EQ(topic_vocab_term(v, 2), "gamma");
    long a = topic_vocab_find(v, "alpha"), b = topic_vocab_find(v, "beta"),
         g = topic_vocab_find(v, "gamma");
    CHECK_NEAR(topic_vocab_idf(v, (size_t)a), 1.0, 1e-12);
    CHECK_NEAR(topic_vocab_idf(v, (size_t)b), log(4.0 / 3.0) + 1, 1e-12);
    CHECK_NEAR(topic_vocab_idf(v, (size_t)g), log(2.0) + 1, 1e-12);
    topic_csr X = {0};
    CHECK_INT_EQ(topic_tfidf(c, v, &X, &err), VG_OK);
    CHECK_INT_EQ(X.nrows, 3);
    double ib = log(4.0 / 3.0) + 1, n0 = sqrt(1 + ib * ib);
    CHECK_NEAR(entry(&X, 0, a), 1 / n0, 1e-6);
    CHECK_NEAR(entry(&X, 0, b), ib / n0, 1e-6);
    CHECK_NEAR(entry(&X, 0, a), 0.613356, 1e-6);
    double wb = (1 + log(2.0)) * ib, n2 = sqrt(1 + wb * wb);
    CHECK_NEAR(entry(&X, 2, b), wb / n2, 1e-6);
    CHECK_NEAR(entry(&X, 2, a), 0.416905, 1e-6);
    CHECK_NEAR(entry(&X, 1, g), (log(2.0) + 1) / sqrt(1 + pow(log(2.0) + 1, 2)),
               1e-6);
    topic_csr C = {0};
    CHECK_INT_EQ(topic_counts(c, v, &C, &err), VG_OK);
    CHECK_NEAR(entry(&C, 2, b), 2.0, 0);
    /* Pruning: max_df 0.9 drops alpha (3/3), min_df 2 drops gamma. */
    topic_vocab *v2 = NULL;
    topic_vocab_opts vo2 = {2, 0.9, 0, 0};
    CHECK_INT_EQ(topic_vocab_build(c, &vo2, &v2, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_size(v2), 1);
    CHECK_STR_EQ(topic_vocab_term(v2, 0), "beta");
    /* Cap: keep the most frequent (alpha 3, beta 3 -> tie by string). */
    topic_vocab *v3 = NULL;
    topic_vocab_opts vo3 = {1, 1.0, 1, 0};
    CHECK_INT_EQ(topic_vocab_build(c, &vo3, &v3, &err), VG_OK);
    CHECK_STR_EQ(topic_vocab_term(v3, 0), "alpha");
    /* min_df_ratio: floor(0.7 * 3) = 2 documents, so gamma goes. */
    topic_vocab *v4 = NULL;
    topic_vocab_opts vo4 = {1, 1.0, 0, 0.7};
    CHECK_INT_EQ(topic_vocab_build(c, &vo4, &v4, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_size(v4), 2);
    CHECK(topic_vocab_find(v4, "gamma") < 0);
    topic_vocab_free(v4);
    topic_vocab_opts dflt;
    topic_vocab_opts_default(&dflt);
    CHECK_NEAR(dflt.min_df_ratio, 0.00005, 1e-12);
    topic_csr_free(&X);
    topic_csr_free(&C);
    topic_vocab_free(v);
    topic_vocab_free(v2);
    topic_vocab_free(v3);
    topic_corpus_free(c);
}

/* Three obvious topics plus shared filler words. */
static const char *const topic_words[3][8] = {
    {"invoice", "charged", "refund", "payment", "billing", "price", "credit",
     "receipt"},
    {"password", "login", "reset", "locked", "username", "authentication",
     "browser", "session"},
    {"export", "spreadsheet", "download", "report", "columns", "excel",
     "format", "attachment"}};
static const char *const filler[] = {"customer", "problem", "today",
                                     "urgent",   "team",    "system"};

#define NDOC 300

typedef struct synth {
    char *text[NDOC];
    char id[NDOC][16];
    int truth[NDOC];
} synth;

static void make_synth(synth *s)
{
    for (int i = 0; i < NDOC; i++) {
        int t = i % 3;
        char buf[512];
        size_t w = 0;
        for (int j = 0; j < 6; j++)
            w += (size_t)snprintf(buf + w, sizeof buf - w, "%s ",
                                  topic_words[t][rnd(8)]);
        w += (size_t)snprintf(buf + w, sizeof buf - w, "%s", filler[rnd(6)]);
        s->text[i] = strdup(buf);
        s->truth[i] = t;
        snprintf(s->id[i], sizeof s->id[i], "T%05d", i * 7 + 3);
    }
}

/* Clusters texts in the given row order; assign_by_id[i] = topic of doc i. */
static topic_model *cluster_docs(synth *s, const int *order, int k,
                                 double budget, int *assign_by_id,
                                 topic_terms **terms, topic_vocab **vout)
{
    vg_error err = {0};
    const char *texts[NDOC];
    const char *ids[NDOC];
    for (int r = 0; r < NDOC; r++) {
        texts[r] = s->text[order[r]];
        ids[r] = s->id[order[r]];
    }
    topic_corpus *c = corpus_of(texts, NDOC);
    topic_vocab *v = NULL;
    CHECK_INT_EQ(topic_vocab_build(c, NULL, &v, &err), VG_OK);
    topic_csr X = {0}, C = {0};
    CHECK_INT_EQ(topic_tfidf(c, v, &X, &err), VG_OK);
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    o.k = k;
    o.k_min = 2;
    o.k_max = 8;
    o.outlier_budget = budget;
    topic_model *m = NULL;
    int assign[NDOC];
    float sim[NDOC];
    CHECK_INT_EQ(topic_kmeans(&X, ids, &o, &m, assign, sim, &err), VG_OK);
    for (int r = 0; r < NDOC; r++)
        assign_by_id[order[r]] = assign[r];
    if (terms) {
        CHECK_INT_EQ(topic_counts(c, v, &C, &err), VG_OK);
        CHECK_INT_EQ(
            topic_ctfidf(&C, v, assign, topic_model_k(m), 5, terms, &err),
            VG_OK);
    }
    topic_csr_free(&X);
    topic_csr_free(&C);
    topic_corpus_free(c);
    if (vout)
        *vout = v;
    else
        topic_vocab_free(v);
    return m;
}

/* Share of documents whose topic agrees with the majority topic of their
 * true group (outliers count as disagreement). */
static double purity(const synth *s, const int *assign)
{
    int agree = 0;
    for (int t = 0; t < 3; t++) {
        int cnt[16] = {0};
        for (int i = 0; i < NDOC; i++)
            if (s->truth[i] == t && assign[i] >= 0 && assign[i] < 16)
                cnt[assign[i]]++;
        int best = 0;
        for (int c = 1; c < 16; c++)
            if (cnt[c] > cnt[best])
                best = c;
        agree += cnt[best];
    }
    return (double)agree / NDOC;
}

static void test_kmeans(void)
{
    synth s;
    make_synth(&s);
    int order[NDOC], shuffled[NDOC];
    for (int i = 0; i < NDOC; i++)
        order[i] = shuffled[i] = i;
    for (int i = NDOC - 1; i > 0; i--) {
        int j = (int)rnd((unsigned)i + 1), t = shuffled[i];
        shuffled[i] = shuffled[j];
        shuffled[j] = t;
    }
    int a1[NDOC], a2[NDOC], a3[NDOC];
    topic_terms *terms = NULL;
    topic_vocab *v = NULL;
    topic_model *m1 = cluster_docs(&s, order, 3, 0.0, a1, &terms, &v);
    CHECK_INT_EQ(topic_model_k(m1), 3);
    CHECK(purity(&s, a1) > 0.98);
    int unassigned = 0;
    for (int i = 0; i < NDOC; i++)
        unassigned += a1[i] < 0;
    CHECK_INT_EQ(unassigned, 0);
    /* Labels: each topic's top term is one of its own words */
    for (int c = 0; c < 3 && terms; c++) {
        CHECK(terms[c].n > 0);
        CHECK(terms[c].label && terms[c].label[0]);
        int t = -1;
        for (int i = 0; i < NDOC; i++)
            if (a1[i] == c)
                t = s.truth[i];
        const char *top = topic_vocab_surface(v, terms[c].col[0]);
        int own = 0;
        for (int j = 0; j < 8 && t >= 0; j++)
            own |= strstr(top, topic_words[t][j]) != NULL;
        CHECK(own);
        if (!own)
            fprintf(stderr, "topic %d label %s top %s\n", c, terms[c].label,
                    top);
    }
    topic_terms_free(terms, 3);
    topic_vocab_free(v);
    /* Incremental: a new billing ticket lands in the billing topic */
    topic_model *m2 = cluster_docs(&s, shuffled, 3, 0.0, a2, NULL, NULL);
    for (int i = 0; i < NDOC; i++)
        CHECK_INT_EQ(a1[i], a2[i]);
    /* Outlier budget respected */
    topic_model *m3 = cluster_docs(&s, shuffled, 3, 0.05, a3, NULL, NULL);
    unassigned = 0;
    for (int i = 0; i < NDOC; i++)
        unassigned += a3[i] < 0;
    CHECK(unassigned <= NDOC * 5 / 100);
    CHECK(topic_model_threshold(m3) <= 0.10 + 1e-12);
    topic_model_free(m1);
    topic_model_free(m2);
    topic_model_free(m3);
    /* Automatic k finds the three topics */
    topic_model *m4 = cluster_docs(&s, shuffled, 0, 0.1, a3, NULL, NULL);
    CHECK_INT_EQ(topic_model_k(m4), 3);
    CHECK(topic_model_silhouette(m4) > 0);
    topic_model_free(m4);
    for (int i = 0; i < NDOC; i++)
        free(s.text[i]);
}

static void test_outlier_budget_forced(void)
{
    /* Random documents: with min_similarity 0.99 nearly all would be outliers;
     * the budget caps them at 10 %. */
    topic_csr X = {0};
    size_t n = 200, dim = 50, nnz = 5;
    X.nrows = n;
    X.ncols = dim;
    X.rowptr = calloc(n + 1, sizeof *X.rowptr);
    X.col = calloc(n * nnz, sizeof *X.col);
    X.val = calloc(n * nnz, sizeof *X.val);
    for (size_t r = 0; r < n; r++) {
        for (size_t e = 0; e < nnz; e++) {
            X.col[r * nnz + e] = (uint32_t)(e * 10 + rnd(10));
            X.val[r * nnz + e] = (float)(1.0 / sqrt((double)nnz));
        }
        X.rowptr[r + 1] = (r + 1) * nnz;
    }
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    o.k = 4;
    o.min_similarity = 0.99;
    o.outlier_budget = 0.10;
    int assign[200];
    topic_model *m = NULL;
    vg_error err = {0};
    CHECK_INT_EQ(topic_kmeans(&X, NULL, &o, &m, assign, NULL, &err), VG_OK);
    int out = 0;
    for (size_t r = 0; r < n; r++)
        out += assign[r] < 0;
    CHECK(out <= 20);
    CHECK(out > 0);
    /* New rows get the same threshold */
    int again[200];
    CHECK_INT_EQ(topic_model_assign(m, &X, again, NULL, &err), VG_OK);
    int out2 = 0;
    for (size_t r = 0; r < n; r++)
        out2 += again[r] < 0;
    CHECK_INT_EQ(out2, out);
    topic_model_free(m);
    topic_csr_free(&X);
}

static void test_degenerate(void)
{
    vg_error err = {0};
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    /* Zero documents */
    topic_corpus *c = corpus_of(NULL, 0);
    topic_vocab *v = NULL;
    CHECK_INT_EQ(topic_vocab_build(c, NULL, &v, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_size(v), 0);
    topic_csr X = {0};
    CHECK_INT_EQ(topic_tfidf(c, v, &X, &err), VG_OK);
    topic_model *m = NULL;
    CHECK_INT_EQ(topic_kmeans(&X, NULL, &o, &m, NULL, NULL, &err), VG_OK);
    CHECK_INT_EQ(topic_model_k(m), 0);
    topic_terms *t = NULL;
    CHECK_INT_EQ(topic_ctfidf(&X, v, NULL, 0, 5, &t, &err), VG_OK);
    topic_terms_free(t, 0);
    topic_model_free(m);
    topic_csr_free(&X);
    topic_vocab_free(v);
    topic_corpus_free(c);
    /* One document, and one plus an empty one, auto and fixed k */
    const char *docs[] = {"invoice refund", ""};
    c = corpus_of(docs, 2);
    topic_vocab_opts vo = {1, 1.0, 0, 0};
    CHECK_INT_EQ(topic_vocab_build(c, &vo, &v, &err), VG_OK);
    CHECK_INT_EQ(topic_tfidf(c, v, &X, &err), VG_OK);
    int assign[2];
    float sim[2];
    for (int k = 0; k <= 3; k++) {
        o.k = k;
        CHECK_INT_EQ(topic_kmeans(&X, NULL, &o, &m, assign, sim, &err), VG_OK);
        CHECK_INT_EQ(topic_model_k(m), 1);
        CHECK_INT_EQ(assign[0], 0);
        CHECK_INT_EQ(assign[1], -1);
        CHECK_NEAR(sim[0], 1.0, 1e-5);
        topic_csr C = {0};
        CHECK_INT_EQ(topic_counts(c, v, &C, &err), VG_OK);
        CHECK_INT_EQ(topic_ctfidf(&C, v, assign, 1, 5, &t, &err), VG_OK);
        CHECK_INT_EQ(t[0].size, 1);
        CHECK_STR_EQ(t[0].label, "invoice refund");
        topic_terms_free(t, 1);
        topic_csr_free(&C);
        topic_model_free(m);
    }
    topic_csr_free(&X);
    topic_vocab_free(v);
    topic_corpus_free(c);
}

static void test_match(void)
{
    /* dim 6. old: A = e0, B = e2, C = e4 + e5 (to split), D = e3 (gone).
     * new: n0 = e0 (A), n1 = e4 (split of C), n2 = e5 (split of C),
     *      n3 = e1 (new), n4 = e2 + small e3 ... D merges into B's match? */
    float old_c[4][6] = {{1, 0, 0, 0, 0, 0},
                         {0, 0, 1, 0, 0, 0},
                         {0, 0, 0, 0, 1, 1},
                         {0, 0, 0.8f, 1, 0, 0}};
    float new_c[4][6] = {{1, 0, 0, 0, 0, 0},
                         {0, 0, 0, 0, 1, 0.2f},
                         {0, 0, 0, 0, 0.1f, 1},
                         {0, 1, 0, 0, 0, 0}};
    float new_merge[1][6] = {{0, 0, 1, 0.6f, 0, 0}};
    topic_link *L = NULL;
    size_t n = 0;
    vg_error err = {0};
    CHECK_INT_EQ(
        topic_match(&old_c[0][0], 4, &new_c[0][0], 4, 6, 0.5, &L, &n, &err),
        VG_OK);
    int seen_match_a = 0, seen_split = 0, seen_new = 0, gone = 0;
    for (size_t i = 0; i < n; i++) {
        if (L[i].kind == TOPIC_LINK_MATCH && L[i].old_topic == 0 &&
            L[i].new_topic == 0)
            seen_match_a = 1;
        if (L[i].kind == TOPIC_LINK_SPLIT && L[i].old_topic == 2)
            seen_split = 1;
        if (L[i].kind == TOPIC_LINK_NEW && L[i].new_topic == 3)
            seen_new = 1;
        if (L[i].kind == TOPIC_LINK_GONE)
            gone++;
    }
    CHECK(seen_match_a);
    CHECK(seen_split);
    CHECK(seen_new);
    CHECK_INT_EQ(gone, 2); /* B and D have no successor here */
    free(L);
    /* B and D -> one new topic: a match plus a merge */
    CHECK_INT_EQ(
        topic_match(&old_c[0][0], 4, &new_merge[0][0], 1, 6, 0.5, &L, &n, &err),
        VG_OK);
    int matched = -1, merged = -1;
    for (size_t i = 0; i < n; i++) {
        if (L[i].kind == TOPIC_LINK_MATCH)
            matched = L[i].old_topic;
        if (L[i].kind == TOPIC_LINK_MERGE)
            merged = L[i].old_topic;
    }
    CHECK(matched == 1 || matched == 3);
    CHECK(merged == 1 || merged == 3);
    CHECK(matched != merged);
    free(L);
    /* Nothing on either side */
    CHECK_INT_EQ(topic_match(NULL, 0, NULL, 0, 6, 0.5, &L, &n, &err), VG_OK);
    CHECK_INT_EQ(n, 0);
    free(L);
    /* Model round trip: assign via stored centroids */
    topic_model *m = NULL;
    CHECK_INT_EQ(topic_model_from_centroids(&new_c[0][0], 4, 6, 0.3, &m, &err),
                 VG_OK);
    float cbuf[6];
    topic_model_centroid(m, 3, cbuf);
    CHECK_NEAR(cbuf[1], 1.0, 1e-6);
    topic_model_free(m);
}

/* Batch tokenising on 1 or 2 threads, and k-means on 1 or 3 threads (with
 * sampled restarts and k-means++ seeds), give bit-identical results; the
 * size is above the point where threads kick in (4096 rows). */
#define NBIG 5000
static void test_threads_identical(void)
{
    vg_error err = {0};
    static char texts[NBIG][160];
    static char idbuf[NBIG][16];
    static const char *ids[NBIG];
    static topic_doc docs[NBIG];
    for (int i = 0; i < NBIG; i++) {
        int t = (int)rnd(3);
        size_t w = 0;
        for (int j = 0; j < 5; j++)
            w += (size_t)snprintf(texts[i] + w, sizeof texts[i] - w, "%s ",
                                  topic_words[t][rnd(8)]);
        snprintf(texts[i] + w, sizeof texts[i] - w, "%s %s", filler[rnd(6)],
                 topic_words[rnd(3)][rnd(8)]);
        snprintf(idbuf[i], sizeof idbuf[i], "B%06d", i);
        ids[i] = idbuf[i];
        docs[i] = (topic_doc){i % 7 ? "subject line" : NULL, texts[i],
                              i % 5 ? "en" : NULL};
    }
    text_pipe *p2 = NULL;
    CHECK_INT_EQ(text_pipe_new(NULL, &p2, &err), VG_OK);
    text_pipe *pipes[2] = {P, p2};
    topic_corpus *c1 = NULL, *c2 = NULL;
    CHECK_INT_EQ(topic_corpus_new(&c1, &err), VG_OK);
    CHECK_INT_EQ(topic_corpus_new(&c2, &err), VG_OK);
    CHECK_INT_EQ(topic_corpus_add_docs(c1, pipes, 1, docs, NBIG, &err), VG_OK);
    /* two batches on two threads equal one batch on one */
    CHECK_INT_EQ(topic_corpus_add_docs(c2, pipes, 2, docs, 1234, &err), VG_OK);
    CHECK_INT_EQ(
        topic_corpus_add_docs(c2, pipes, 2, docs + 1234, NBIG - 1234, &err),
        VG_OK);
    CHECK_INT_EQ(topic_corpus_size(c2), NBIG);
    topic_vocab *v1 = NULL, *v2 = NULL;
    CHECK_INT_EQ(topic_vocab_build(c1, NULL, &v1, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_build(c2, NULL, &v2, &err), VG_OK);
    CHECK_INT_EQ(topic_vocab_size(v1), topic_vocab_size(v2));
    topic_csr X1 = {0}, X2 = {0};
    CHECK_INT_EQ(topic_tfidf(c1, v1, &X1, &err), VG_OK);
    CHECK_INT_EQ(topic_tfidf(c2, v2, &X2, &err), VG_OK);
    int same = X1.rowptr[NBIG] == X2.rowptr[NBIG];
    for (size_t e = 0; same && e < X1.rowptr[NBIG]; e++)
        same = X1.col[e] == X2.col[e] && X1.val[e] == X2.val[e];
    CHECK(same);
    for (size_t i = 0; i < topic_vocab_size(v1); i++)
        CHECK_STR_EQ(topic_vocab_surface(v1, i), topic_vocab_surface(v2, i));

    static int a1[NBIG], a2[NBIG];
    static float s1[NBIG], s2[NBIG];
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    o.k = 0;
    o.k_max = 6;
    o.select_sample = 1500; /* restarts on a sample, then one full run */
    o.silhouette_sample = 300;
    o.threads = 1;
    topic_model *m1 = NULL, *m2 = NULL;
    CHECK_INT_EQ(topic_kmeans(&X1, ids, &o, &m1, a1, s1, &err), VG_OK);
    o.threads = 3;
    CHECK_INT_EQ(topic_kmeans(&X1, ids, &o, &m2, a2, s2, &err), VG_OK);
    CHECK_INT_EQ(topic_model_k(m1), 3);
    CHECK_INT_EQ(topic_model_k(m2), topic_model_k(m1));
    CHECK(topic_model_objective(m1) == topic_model_objective(m2));
    int diff = 0;
    for (int i = 0; i < NBIG; i++)
        diff += a1[i] != a2[i] || s1[i] != s2[i];
    CHECK_INT_EQ(diff, 0);
    /* The stored model scores rows as the fit did. */
    static int a3[NBIG];
    static float s3[NBIG];
    CHECK_INT_EQ(topic_model_assign(m1, &X1, a3, s3, &err), VG_OK);
    diff = 0;
    for (int i = 0; i < NBIG; i++)
        diff += a1[i] != a3[i] || s1[i] != s3[i];
    CHECK_INT_EQ(diff, 0);
    topic_model_free(m1);
    topic_model_free(m2);
    topic_csr_free(&X1);
    topic_csr_free(&X2);
    topic_vocab_free(v1);
    topic_vocab_free(v2);
    topic_corpus_free(c1);
    topic_corpus_free(c2);
    text_pipe_free(p2);
}

int main(void)
{
    vg_error err = {0};
    text_opts to;
    text_opts_default(&to);
    to.bigrams = 0;
    text_pipe *uni = NULL;
    CHECK_INT_EQ(text_pipe_new(&to, &uni, &err), VG_OK);
    CHECK_INT_EQ(text_pipe_new(NULL, &P, &err), VG_OK);
    if (!P || !uni)
        return check_done("topics_cluster");
    text_pipe *bi = P;
    P = uni;
    test_tfidf_values();
    P = bi;
    test_kmeans();
    test_outlier_budget_forced();
    test_degenerate();
    test_match();
    test_threads_identical();
    text_pipe_free(uni);
    text_pipe_free(bi);
    return check_done("topics_cluster");
}
