/* topics_eval.c — offline check of the topic engine on the CFPB complaint
 * sample: NMI/ARI against Product and Issue labels, and timings. Not a test.
 */
// Build from the repository root:
//   gcc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread -I.
//     bench/topics_eval.c bench/quality.c topics/text.c topics/tfidf.c
//     topics/cluster.c core/util.c core/err.c -lstemmer -ljansson -lm
//     -o /tmp/topics_eval
//   VIGIL_CFPB_CSV=.../complaints_sample.csv /tmp/topics_eval [file.csv]
#include <math.h>
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

/* Label strings -> dense ints. */
static int label_id(strmap *m, const char *s)
{
    return (int)strmap_put(m, s, NULL);
}

typedef struct data {
    size_t n;
    char **text, **ids;
    int *product, *issue;
    int nproduct, nissue;
} data;

static void run(const data *d, text_pipe *pipe, int k, const char *name)
{
    vg_error err = {0};
    double t0 = now();
    topic_corpus *c = NULL;
    text_toklist *t = text_toklist_new();
    topic_corpus_new(&c, &err);
    for (size_t i = 0; i < d->n; i++) {
        text_tokens(pipe, NULL, d->text[i], "en", t, &err);
        topic_corpus_add(c, t, &err);
    }
    double t1 = now();
    topic_vocab *v = NULL;
    topic_vocab_opts vo;
    topic_vocab_opts_default(&vo);
    topic_vocab_build(c, &vo, &v, &err);
    topic_csr X = {0}, C = {0};
    topic_tfidf(c, v, &X, &err);
    double t2 = now();
    topic_kmeans_opts o;
    topic_kmeans_opts_default(&o);
    o.k = k;
    o.k_min = 2;
    o.k_max = 30;
    o.outlier_budget = 0; /* every document gets a topic, like KMeans */
    o.min_similarity = 0;
    o.restarts = 3;
    int *assign = malloc(d->n * sizeof *assign);
    topic_model *m = NULL;
    if (topic_kmeans(&X, (const char *const *)d->ids, &o, &m, assign, NULL,
                     &err) != VG_OK) {
        fprintf(stderr, "kmeans: %s\n", err.msg);
        exit(1);
    }
    double t3 = now();
    int km = topic_model_k(m);
    /* Empty rows are -1: give them their own label for the scores. */
    int *lab = malloc(d->n * sizeof *lab);
    for (size_t i = 0; i < d->n; i++)
        lab[i] = assign[i] < 0 ? km : assign[i];
    printf("%-8s k=%-3d vocab=%zu  NMI(product)=%.4f ARI(product)=%.4f  "
           "NMI(issue)=%.4f ARI(issue)=%.4f  tokenize %.2fs tfidf %.2fs "
           "cluster %.2fs%s\n",
           name, km, topic_vocab_size(v),
           topic_nmi(lab, d->product, d->n, km + 1, d->nproduct),
           topic_ari(lab, d->product, d->n, km + 1, d->nproduct),
           topic_nmi(lab, d->issue, d->n, km + 1, d->nissue),
           topic_ari(lab, d->issue, d->n, km + 1, d->nissue), t1 - t0, t2 - t1,
           t3 - t2, "");
    if (k == 0)
        printf("         silhouette of chosen k: %.4f\n",
               topic_model_silhouette(m));
    topic_counts(c, v, &C, &err);
    topic_terms *terms = NULL;
    topic_ctfidf(&C, v, assign, km, 8, &terms, &err);
    for (int j = 0; j < km && j < 13; j++)
        printf("         topic %2d (%4zu docs): %s\n", j, terms[j].size,
               terms[j].label);
    topic_terms_free(terms, km);
    free(lab);
    free(assign);
    topic_model_free(m);
    topic_csr_free(&X);
    topic_csr_free(&C);
    topic_vocab_free(v);
    topic_corpus_free(c);
    text_toklist_free(t);
}

int main(int argc, char **argv)
{
    /* The CFPB complaint sample is not part of the repository: give its
     * path, or set VIGIL_CFPB_CSV (bench/topics_demo.sh passes it on). */
    const char *path = argc > 1 ? argv[1] : getenv("VIGIL_CFPB_CSV");
    if (!path || !*path) {
        fprintf(stderr, "usage: topics_eval COMPLAINTS.csv (or set "
                        "VIGIL_CFPB_CSV): the CFPB complaint sample\n");
        return 2;
    }
    size_t sz = 0;
    char *buf = csv_read_file(path, &sz);
    if (!buf)
        return 1;
    size_t pos = 0;
    for (int skip = 0; skip < 2; skip++) {
        char *nl = memchr(buf + pos, '\n', sz - pos);
        pos = nl ? (size_t)(nl - buf) + 1 : sz;
    }
    char *f[32];
    csv_record(buf, sz, &pos, f, 32); /* header */
    data d = {0};
    size_t cap = 8192;
    d.text = malloc(cap * sizeof *d.text);
    d.ids = malloc(cap * sizeof *d.ids);
    d.product = malloc(cap * sizeof *d.product);
    d.issue = malloc(cap * sizeof *d.issue);
    strmap *pm = strmap_new(64), *im = strmap_new(256);
    int nf;
    while ((nf = csv_record(buf, sz, &pos, f, 32)) > 0) {
        if (nf < 18 || !f[5][0] || d.n == cap)
            continue;
        d.text[d.n] = f[5];
        d.ids[d.n] = f[17];
        d.product[d.n] = label_id(pm, f[1]);
        d.issue[d.n] = label_id(im, f[3]);
        d.n++;
    }
    d.nproduct = (int)strmap_size(pm);
    d.nissue = (int)strmap_size(im);
    printf("rows with narrative: %zu, products: %d, issues: %d\n", d.n,
           d.nproduct, d.nissue);
    text_pipe *pipe = NULL;
    vg_error err = {0};
    if (text_pipe_new(NULL, &pipe, &err) != VG_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    run(&d, pipe, d.nproduct, "fixed-k");
    run(&d, pipe, 0, "auto-k");
    text_pipe_free(pipe);
    strmap_free(pm);
    strmap_free(im);
    free(d.text);
    free(d.ids);
    free(d.product);
    free(d.issue);
    free(buf);
    return 0;
}
