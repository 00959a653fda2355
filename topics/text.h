/* text.h — turns a ticket's subject and body into the terms topic clustering
 * counts: cleaned, case-folded, masked, stop-word-filtered, stemmed, + bigrams.
 */
#ifndef VG_TEXT_H
#define VG_TEXT_H

#include <stddef.h>

#include "core/err.h"

/* Opaque; owns one Snowball stemmer per language and scratch buffers that are
 * reused between calls, so it is NOT safe to share between threads: make one
 * per thread. */
typedef struct text_pipe text_pipe;

/* Opaque list of tokens (unigrams and bigrams) for one document. Reuse one
 * list for many documents: text_tokens() clears it first and keeps its
 * memory. */
typedef struct text_toklist text_toklist;

typedef struct text_opts {
    size_t max_body_bytes;    /* only this many leading body bytes are read;
                                 default 20000 (a 10 MB body costs 20 kB) */
    size_t max_subject_bytes; /* default 1000 */
    int bigrams;              /* 1 (default): also emit "stem1 stem2" */
    int keep_codes;           /* 1: error codes and versions ("e-4012",
                                 "v2.3.1") are kept as they are instead of
                                 "<id>"/"<num>" (default 0: clustering
                                 wants "order 4411" = "order 9823") */
} text_opts;

void text_opts_default(text_opts *o);

/* Creates a pipeline for en, de, fr and es. opts may be NULL (defaults).
 * On failure *out is NULL and err says why (VG_ENOMEM, VG_EINTERNAL when
 * libstemmer lacks a language). */
vg_code text_pipe_new(const text_opts *opts, text_pipe **out, vg_error *err);
void text_pipe_free(text_pipe *p);

/* Tokenises one ticket into out (cleared first). subject and body may be NULL
 * or empty; neither needs to be valid UTF-8 nor NUL-terminated beyond the
 * byte caps (only the first max_*_bytes are read, with strnlen).
 * lang is an ISO 639-1 code ("en", "de-AT" and "de_DE" also work); NULL, "",
 * "auto" or a code other than en/de/fr/es means "detect": the language with
 * the most stop-word hits wins (ties and no hits: en).
 * Steps, in order: UTF-8 repair (bad bytes -> U+FFFD, treated as a
 * separator); HTML tags dropped (<script>, <style> and <blockquote> with
 * their contents) and entities decoded; case folding (Latin, Greek,
 * Cyrillic; ß stays ß); in the body only, quoted lines ('>'), everything from
 * a reply header ("On ... wrote:", "Am ... schrieb:", "Le ... a écrit :",
 * "El ... escribió:", "-----Original Message-----") and everything from a
 * signature line ("-- ", "Best regards", "Mit freundlichen Grüßen",
 * "Cordialement", "Saludos", ...) on; masking: e-mail -> "<email>",
 * URL -> "<url>", ids (letters mixed with 3+ digits, '#'/'-' joined digits,
 * digit runs of 6+) -> "<id>", other numbers -> "<num>"; redaction
 * placeholders ("XXXX") dropped; words shorter than 2 characters dropped;
 * stop words dropped; Snowball stems. A bigram joins two stems that were
 * adjacent after stop-word removal and not separated by sentence punctuation
 * or a blank line. Returns VG_ENOMEM on allocation failure (out then holds
 * a prefix of the tokens). */
vg_code text_tokens(text_pipe *p, const char *subject, const char *body,
                    const char *lang, text_toklist *out, vg_error *err);

/* The cleaned, folded, masked text before stop words and stemming, as
 * space-separated words (for debugging and tests). Owned by the pipe, valid
 * until the next call on it; NULL only when out of memory. */
const char *text_normalize(text_pipe *p, const char *body, int is_body);

/* 1 when the case-folded word is a stop word of any of en/de/fr/es (a
 * German ticket quoting English filler must not put "the" in a label). */
int text_is_stopword(const char *word);
/* 1 when a label may show the phrase: no mask ("<num>") and no stop word
 * of any language among its space-separated words. */
int text_label_worthy(const char *phrase);
/* The same through the pipe's hash set of those words: for a check per
 * token rather than per label. */
int text_pipe_label_worthy(const text_pipe *p, const char *phrase);

/* NULL only when out of memory. */
text_toklist *text_toklist_new(void);
void text_toklist_free(text_toklist *t);
size_t text_toklist_size(const text_toklist *t);
/* Token i (a stem, a mask like "<num>", or "stem1 stem2"); owned by t. */
const char *text_toklist_get(const text_toklist *t, size_t i);
/* The case-folded word a unigram stem came from; NULL for masks and bigrams.
 * Lets labels show "billing" rather than the stem "bill". */
const char *text_toklist_surface(const text_toklist *t, size_t i);
/* 1 when token i is a bigram. */
int text_toklist_is_bigram(const text_toklist *t, size_t i);
/* The language used for the last text_tokens() call: "en", "de", "fr", "es". */
const char *text_toklist_lang(const text_toklist *t);

#endif
