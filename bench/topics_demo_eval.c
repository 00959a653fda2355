/* topics_demo_eval.c — vigil's topic engine on the demo company's tickets,
 * scored against the recorded true topic (vigil_demo_truth.ticket_topics).
 * Input: the CSV bench/topics_demo.sh exports (ticket_id, customer language,
 * subject, body, true topic; no header). Not a test.
 */
// Build from the repository root:
//   gcc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread -I.
//     bench/topics_demo_eval.c topics/text.c topics/tfidf.c topics/cluster.c
//     topics/quality.c core/util.c core/err.c -lstemmer -lm -o
//     /tmp/topics_demo_eval
//   /tmp/topics_demo_eval tickets.csv [per-mille sample, 1000 = all]
//     [threads, default 2] [auto: 1 = also run automatic k (default)]
// The sample keeps tickets whose FNV-1a 64 hash of ticket_id mod 1000 is
// below per-mille (bench/topics_demo_sklearn.py draws the same one).
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "topics/cluster.h"
#include "bench/quality.h"
#include "bench/csv.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

static int threads = 2;

static void cluster(const topic_csr *X, const topic_corpus *c,
                    const topic_vocab *v, char **ids, const int *truth,
                    int ntruth, int k, double t_prep, int show_labels)
{
    vg_error err = {0};
    size_t n = X->nrows;
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    o.k = k;
    o.outlier_budget = 0; /* every document gets a topic, like KMeans */
    o.min_similarity = 0;
    o.threads = threads;
    if (getenv("RESTARTS")) /* knobs for experiments */
        o.restarts = atoi(getenv("RESTARTS"));
    if (getenv("SELECT_SAMPLE"))
        o.select_sample = (size_t)atol(getenv("SELECT_SAMPLE"));
    if (getenv("SEED"))
        o.seed = (uint64_t)atol(getenv("SEED"));
    if (getenv("MAX_ITER"))
        o.max_iter = atoi(getenv("MAX_ITER"));
    int *assign = malloc(n * sizeof *assign);
    topic_model *m = NULL;
    double t0 = now();
    if (topic_kmeans(X, (const char *const *)ids, &o, &m, assign, NULL, &err) !=
        VG_OK) {
        fprintf(stderr, "kmeans: %s\n", err.msg);
        exit(1);
    }
    double t1 = now();
    int km = topic_model_k(m);
    size_t empty = 0;
    for (size_t i = 0; i < n; i++)
        if (assign[i] < 0) {
            assign[i] = km; /* empty rows: one extra label */
            empty++;
        }
    printf("vigil    k=%-3d %-6s NMI=%.4f ARI=%.4f  (restarts=%d, %zu empty "
           "rows, objective %.4f)  kmeans %.2fs  "
           "total(tokenize+tfidf+kmeans) %.2fs\n",
           km, k ? "fixed" : "auto",
           topic_nmi(assign, truth, n, km + 1, ntruth),
           topic_ari(assign, truth, n, km + 1, ntruth), o.restarts, empty,
           topic_model_objective(m), t1 - t0, t_prep + t1 - t0);
    if (!k)
        printf("         silhouette of chosen k: %.4f\n",
               topic_model_silhouette(m));
    if (show_labels) {
        for (size_t i = 0; i < n; i++)
            if (assign[i] == km)
                assign[i] = -1;
        topic_csr C = {0};
        topic_terms *terms = NULL;
        if (topic_counts(c, v, &C, &err) == VG_OK &&
            topic_ctfidf(&C, v, assign, km, 8, &terms, &err) == VG_OK) {
            for (int j = 0; j < km; j++)
                printf("         topic %2d (%6zu docs): %s\n", j, terms[j].size,
                       terms[j].label);
            topic_terms_free(terms, km);
        }
        topic_csr_free(&C);
    }
    free(assign);
    topic_model_free(m);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s tickets.csv [per-mille] [threads] [auto]\n",
                argv[0]);
        return 2;
    }
    int permille = argc > 2 ? atoi(argv[2]) : 1000;
    threads = argc > 3 ? atoi(argv[3]) : 2;
    int do_auto = argc > 4 ? atoi(argv[4]) : 1;
    int show = getenv("LABELS") != NULL;
    if (threads < 1)
        threads = 1;
    double t0 = now();
    size_t sz = 0;
    char *buf = csv_read_file(argv[1], &sz);
    if (!buf)
        return 1;
    size_t cap = 1024, n = 0, pos = 0;
    topic_doc *docs = malloc(cap * sizeof *docs);
    char **ids = malloc(cap * sizeof *ids);
    int *truth = malloc(cap * sizeof *truth);
    strmap *tm = strmap_new(64);
    char *f[8];
    int nf;
    while ((nf = csv_record(buf, sz, &pos, f, 8)) > 0) {
        if (nf < 5 || fnv1a(f[0]) % 1000 >= (uint64_t)permille)
            continue;
        if (n == cap) {
            cap *= 2;
            docs = realloc(docs, cap * sizeof *docs);
            ids = realloc(ids, cap * sizeof *ids);
            truth = realloc(truth, cap * sizeof *truth);
        }
        ids[n] = f[0];
        docs[n] = (topic_doc){f[2], f[3], f[1]}; /* "" lang: detect */
        truth[n] = (int)strmap_put(tm, f[4], NULL);
        n++;
    }
    int ntruth = (int)strmap_size(tm);
    double t1 = now();
    printf("vigil    docs=%zu true topics=%d threads=%d  read %.2fs\n", n,
           ntruth, threads, t1 - t0);

    vg_error err = {0};
    text_pipe **pipes = calloc((size_t)threads, sizeof *pipes);
    for (int i = 0; i < threads; i++)
        if (text_pipe_new(NULL, &pipes[i], &err) != VG_OK) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
    topic_corpus *c = NULL;
    if (topic_corpus_new(&c, &err) != VG_OK ||
        topic_corpus_add_docs(c, pipes, threads, docs, n, &err) != VG_OK) {
        fprintf(stderr, "tokenize: %s\n", err.msg);
        return 1;
    }
    double t2 = now();
    topic_vocab *v = NULL;
    topic_csr X = {0};
    topic_vocab_opts vo;
    topic_vocab_opts_default(&vo);
    if (getenv("MIN_DF")) /* knobs for experiments */
        vo.min_df = (size_t)atol(getenv("MIN_DF"));
    if (getenv("MIN_DF_RATIO"))
        vo.min_df_ratio = atof(getenv("MIN_DF_RATIO"));
    if (getenv("MAX_TERMS"))
        vo.max_terms = (size_t)atol(getenv("MAX_TERMS"));
    if (topic_vocab_build(c, &vo, &v, &err) != VG_OK ||
        topic_tfidf(c, v, &X, &err) != VG_OK) {
        fprintf(stderr, "tfidf: %s\n", err.msg);
        return 1;
    }
    double t3 = now();
    printf("vigil    vocab=%zu nnz=%zu  tokenize %.2fs tfidf %.2fs\n",
           topic_vocab_size(v), X.rowptr[X.nrows], t2 - t1, t3 - t2);
    fflush(stdout);
    cluster(&X, c, v, ids, truth, ntruth, ntruth, t3 - t1, show);
    fflush(stdout);
    if (do_auto)
        cluster(&X, c, v, ids, truth, ntruth, 0, t3 - t1, show);
    topic_csr_free(&X);
    topic_vocab_free(v);
    topic_corpus_free(c);
    for (int i = 0; i < threads; i++)
        text_pipe_free(pipes[i]);
    free(pipes);
    strmap_free(tm);
    free(docs);
    free(ids);
    free(truth);
    free(buf);
    return 0;
}
