/* tfidf.h — from token lists to a pruned vocabulary and sparse TF-IDF rows,
 * the vectors topic clustering and topic labels work on. */
#ifndef VG_TFIDF_H
#define VG_TFIDF_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "topics/text.h"

/* Compressed sparse rows. Row i's entries are col/val[rowptr[i] ..
 * rowptr[i+1]), columns ascending. Public because every consumer walks it;
 * the four arrays are owned by the struct (topic_csr_free). */
typedef struct topic_csr {
    size_t nrows, ncols;
    size_t *rowptr; /* nrows + 1 */
    uint32_t *col;
    float *val;
} topic_csr;

void topic_csr_free(topic_csr *m);

/* Opaque: raw term counts of every document added, in the order added (row i
 * = i-th add). Keeps every distinct term until a vocabulary prunes them, at
 * about 8 bytes per (document, distinct term). */
typedef struct topic_corpus topic_corpus;

vg_code topic_corpus_new(topic_corpus **out, vg_error *err);
void topic_corpus_free(topic_corpus *c);
/* Adds one document (an empty list is a valid, empty document). */
vg_code topic_corpus_add(topic_corpus *c, const text_toklist *toks,
                         vg_error *err);
size_t topic_corpus_size(const topic_corpus *c);

/* One ticket to tokenise: fields as for text_tokens() (any may be NULL). */
typedef struct topic_doc {
    const char *subject, *body, *lang;
} topic_doc;

/* Tokenises docs[0..n) and adds them in order, as n text_tokens() +
 * topic_corpus_add() calls would, with up to npipes threads (one pipe per
 * thread; npipes >= 1). Each thread takes a contiguous slice into a private
 * corpus; the slices are then appended in order, so the corpus (and every
 * vocabulary and row built from it) is the same for any npipes. */
vg_code topic_corpus_add_docs(topic_corpus *c, text_pipe *const *pipes,
                              int npipes, const topic_doc *docs, size_t n,
                              vg_error *err);

typedef struct topic_vocab_opts {
    size_t min_df;       /* keep terms in >= min_df documents (default 2) */
    double max_df_ratio; /* and in <= this share of documents (default 0.5) */
    size_t max_terms;    /* then the max_terms with the highest total count,
                            ties by term string (default 50000; 0 = no cap) */
    double min_df_ratio; /* terms also need >= floor(this * documents)
                            documents (default 0.00005: 1 in 20000, so 20
                            at 400k; rare names and typos are noise at
                            scale); 0 = off. Last, so older positional
                            initialisers leave it off */
} topic_vocab_opts;

void topic_vocab_opts_default(topic_vocab_opts *o);

/* Opaque: the kept terms, column = rank of the term string (byte order), so
 * the vocabulary does not depend on the order documents were added. */
typedef struct topic_vocab topic_vocab;

/* Builds the vocabulary of c; opts may be NULL. An empty vocabulary (no
 * document, or every term pruned) is not an error. */
vg_code topic_vocab_build(const topic_corpus *c, const topic_vocab_opts *opts,
                          topic_vocab **out, vg_error *err);
void topic_vocab_free(topic_vocab *v);
size_t topic_vocab_size(const topic_vocab *v);
/* Column of term, or -1. */
long topic_vocab_find(const topic_vocab *v, const char *term);
const char *topic_vocab_term(const topic_vocab *v, size_t col);
/* The readable form of a column: the most frequent case-folded word behind a
 * stem ("billing" for "bill"), per part for bigrams; the stem when unknown. */
const char *topic_vocab_surface(const topic_vocab *v, size_t col);
size_t topic_vocab_df(const topic_vocab *v, size_t col);
/* idf = ln((1 + N) / (1 + df)) + 1, N = documents in the corpus. */
double topic_vocab_idf(const topic_vocab *v, size_t col);
int topic_vocab_is_bigram(const topic_vocab *v, size_t col);

/* Row i = document i of c: tf = 1 + ln(count), times idf, L2-normalised;
 * documents with no kept term are empty rows. out is overwritten. v may come
 * from another corpus (terms are matched by string), e.g. a restored one. */
vg_code topic_tfidf(const topic_corpus *c, const topic_vocab *v, topic_csr *out,
                    vg_error *err);
/* Same rows with raw counts (for class-based TF-IDF labels). */
vg_code topic_counts(const topic_corpus *c, const topic_vocab *v,
                     topic_csr *out, vg_error *err);
/* Rebuilds a vocabulary saved earlier: terms (byte-ordered, as
 * topic_vocab_term() returns them), their readable forms (surface may be
 * NULL) and document frequencies out of ndocs documents. Gives the same
 * columns and idf as the vocabulary they came from. */
vg_code topic_vocab_restore(const char *const *terms,
                            const char *const *surface, const uint32_t *df,
                            size_t n, size_t ndocs, topic_vocab **out,
                            vg_error *err);

#endif
