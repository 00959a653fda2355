/* text.c — ticket text cleaning and tokenisation for topic clustering.
 * Every stage works in place on one capped scratch buffer, so cost is bounded.
 */
#include "topics/text.h"

#include <libstemmer.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

enum { LANG_EN, LANG_DE, LANG_FR, LANG_ES, NLANG };

static const char *const lang_code[NLANG] = {"en", "de", "fr", "es"};
static const char *const lang_algo[NLANG] = {"english", "german", "french",
                                             "spanish"};

/* Small built-in stop lists, already case-folded. Space-separated so each
 * fits on a few lines; split into hash sets when a pipe is made. */
static const char *const stop_src[NLANG] = {
    /* en */
    "a about above after again against all am an and any are aren as at be "
    "because been before being below between both but by can cannot could "
    "couldn did didn do does doesn doing don down during each few for from "
    "further had hadn has hasn have haven having he her here hers herself him "
    "himself his how i if in into is isn it its itself just ll me might more "
    "most must mustn my myself no nor not now of off on once only or other "
    "ought our ours ourselves out over own re same shan she should shouldn so "
    "some such than that the their theirs them themselves then there these "
    "they this those through to too under until up ve very was wasn we were "
    "weren what when where which while who whom why will with won would "
    "wouldn you your yours yourself yourselves also get got hi hello dear "
    "please thanks thank regards would could us let still yet since via",
    /* de */
    "aber alle allem allen aller alles als also am an ander andere anderem "
    "anderen anderer anderes auch auf aus bei bin bis bist da damit dann das "
    "dass dein deine dem den denn der des dich die dies diese diesem diesen "
    "dieser dieses dir doch dort du durch ein eine einem einen einer eines "
    "er es etwas euch euer für gegen gewesen hab habe haben hat hatte hatten "
    "hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer im in "
    "indem ins ist jede jedem jeden jeder jedes jetzt kann kein keine keinem "
    "keinen keiner können könnte machen man manche mein meine meinem meinen "
    "meiner mich mir mit muss musste nach nicht nichts noch nun nur ob oder "
    "ohne sehr sein seine seinem seinen seiner selbst sich sie sind so "
    "solche soll sollte sondern sonst über um und uns unser unsere unter "
    "vom von vor war waren warum was weil welche welchem welchen welcher "
    "wenn wer werde werden wie wieder will wir wird wo wollen wurde würde "
    "zu zum zur zwar zwischen bitte danke hallo gruß grüße schon mal",
    /* fr */
    "au aux avec ce ces cet cette dans de des du elle elles en et eux il ils "
    "je la le les leur leurs lui ma mais me même mes moi mon ne nos notre "
    "nous on ou où par pas pour qu que qui sa se ses son sur ta te tes toi "
    "ton tu un une vos votre vous été étée étées étés étant suis es est "
    "sommes êtes sont serai sera serons seront serais serait étais était "
    "étions étiez étaient fus fut ai as avons avez ont aurai aura aurons "
    "auront aurais aurait avais avait avions aviez avaient eu ceci cela ça "
    "celui celle ceux celles comme si tout tous toute toutes très plus moins "
    "aussi alors donc car ni ici là bien sans sous chez entre vers depuis "
    "encore déjà fait faire peut bonjour merci madame monsieur svp",
    /* es */
    "de la que el en y a los del se las por un para con no una su al lo como "
    "más pero sus le ya o este sí porque esta entre cuando muy sin sobre "
    "también me hasta hay donde quien desde todo nos durante todos uno les "
    "ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo "
    "otro otras otra él tanto esa estos mucho quienes nada muchos cual poco "
    "ella estar estas algunas algo nosotros mi mis tú te ti tu tus ellas "
    "nosotras vosotros os mío mía tuyo suyo nuestro vuestro esos esas estoy "
    "estás está estamos están he has ha hemos han era eres es son fue sea "
    "ser tengo tiene tenemos tienen hola gracias favor usted ustedes"};

/* More filler that tokenising keeps (clustering measured better with the
 * short lists above: NMI on the CFPB sample) but a label must not show. */
static const char *const label_stop_src[NLANG] = {
    /* en */
    "anyone anything everyone every one two many much several really "
    "already always never ever again lot lots etc nobody anybody somebody "
    "everybody nothing something anymore",
    /* de */
    "mehr seit immer wurden wäre gibt geht beim sowie bereits leider "
    "heute gestern morgen einige mehrere viele ganz gerade",
    /* fr */
    "quelques plusieurs toujours jamais après avant aujourd hui rien "
    "personne chaque lors cependant",
    /* es */
    "hace unas varios varias cada siempre nunca después hoy ayer ahora "
    "aún todavía"};

struct text_toklist {
    char *buf; /* NUL-terminated strings back to back */
    size_t len, cap;
    size_t *tok, *surf; /* offsets into buf; surf SIZE_MAX = none */
    unsigned char *bigram;
    size_t n, ncap;
    char lang[4];
};

/* A raw word found by the scanner, before stop words and stemming. */
typedef struct rawtok {
    size_t off, len;
    int mask; /* 1: text is a mask like "<num>" or a kept code, copied
                 literally (not stop-worded, not stemmed) */
    int brk;  /* 1: a sentence break precedes this token */
} rawtok;

struct text_pipe {
    text_opts opts;
    struct sb_stemmer *stem[NLANG];
    strmap *stop[NLANG];
    strmap *filler; /* every word of every stop and label-stop list */
    char *scratch;  /* cleaned text: subject, '\n\n', body */
    size_t scap;
    rawtok *raw;
    size_t nraw, rawcap;
    char *norm; /* text_normalize() result */
    size_t normcap;
};

void text_opts_default(text_opts *o)
{
    o->max_body_bytes = 20000;
    o->max_subject_bytes = 1000;
    o->bigrams = 1;
    o->keep_codes = 0;
}

/* ---- token list -------------------------------------------------------- */

text_toklist *text_toklist_new(void)
{
    return calloc(1, sizeof(text_toklist));
}

void text_toklist_free(text_toklist *t)
{
    if (!t)
        return;
    free(t->buf);
    free(t->tok);
    free(t->surf);
    free(t->bigram);
    free(t);
}

size_t text_toklist_size(const text_toklist *t)
{
    return t ? t->n : 0;
}

const char *text_toklist_get(const text_toklist *t, size_t i)
{
    return t->buf + t->tok[i];
}

const char *text_toklist_surface(const text_toklist *t, size_t i)
{
    return t->surf[i] == SIZE_MAX ? NULL : t->buf + t->surf[i];
}

int text_toklist_is_bigram(const text_toklist *t, size_t i)
{
    return t->bigram[i];
}

const char *text_toklist_lang(const text_toklist *t)
{
    return t->lang;
}

static int tl_reserve(text_toklist *t, size_t bytes)
{
    if (t->len + bytes > t->cap) {
        size_t nc = t->cap ? t->cap : 1024;
        while (nc < t->len + bytes)
            nc *= 2;
        char *nb = realloc(t->buf, nc);
        if (!nb)
            return -1;
        t->buf = nb;
        t->cap = nc;
    }
    if (t->n == t->ncap) {
        size_t nc = t->ncap ? t->ncap * 2 : 64;
        size_t *a = realloc(t->tok, nc * sizeof *a);
        if (!a)
            return -1;
        t->tok = a;
        a = realloc(t->surf, nc * sizeof *a);
        if (!a)
            return -1;
        t->surf = a;
        unsigned char *b = realloc(t->bigram, nc);
        if (!b)
            return -1;
        t->bigram = b;
        t->ncap = nc;
    }
    return 0;
}

/* Appends a token made of a, optionally " " + b, optionally with a surface
 * form s. Returns -1 on OOM. */
static int tl_push(text_toklist *t, const char *a, size_t alen, const char *b,
                   size_t blen, const char *s, size_t slen)
{
    size_t need = alen + 1 + (b ? blen + 1 : 0) + (s ? slen + 1 : 0);
    if (tl_reserve(t, need) != 0)
        return -1;
    t->tok[t->n] = t->len;
    memcpy(t->buf + t->len, a, alen);
    t->len += alen;
    if (b) {
        t->buf[t->len++] = ' ';
        memcpy(t->buf + t->len, b, blen);
        t->len += blen;
    }
    t->buf[t->len++] = '\0';
    t->surf[t->n] = SIZE_MAX;
    if (s) {
        t->surf[t->n] = t->len;
        memcpy(t->buf + t->len, s, slen);
        t->len += slen;
        t->buf[t->len++] = '\0';
    }
    t->bigram[t->n] = b != NULL;
    t->n++;
    return 0;
}

/* ---- pipe -------------------------------------------------------------- */

void text_pipe_free(text_pipe *p)
{
    if (!p)
        return;
    for (int l = 0; l < NLANG; l++) {
        if (p->stem[l])
            sb_stemmer_delete(p->stem[l]);
        strmap_free(p->stop[l]);
    }
    strmap_free(p->filler);
    free(p->scratch);
    free(p->raw);
    free(p->norm);
    free(p);
}

/* Adds the space-separated words of list to m; -1 on OOM. */
static int add_words(strmap *m, const char *s)
{
    while (*s) {
        char w[64];
        size_t n = strcspn(s, " ");
        if (n > 0 && n < sizeof w) {
            memcpy(w, s, n);
            w[n] = '\0';
            if (strmap_put(m, w, NULL) < 0)
                return -1;
        }
        s += n;
        while (*s == ' ')
            s++;
    }
    return 0;
}

vg_code text_pipe_new(const text_opts *opts, text_pipe **out, vg_error *err)
{
    vg_code rc = VG_OK;
    *out = NULL;
    text_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return vg_fail(err, VG_ENOMEM, "text: out of memory");
    if (opts)
        p->opts = *opts;
    else
        text_opts_default(&p->opts);
    for (int l = 0; l < NLANG; l++) {
        p->stem[l] = sb_stemmer_new(lang_algo[l], "UTF_8");
        if (!p->stem[l]) {
            rc = vg_fail(err, VG_EINTERNAL, "text: no %s Snowball stemmer",
                         lang_algo[l]);
            goto cleanup;
        }
        p->stop[l] = strmap_new(256);
        if (!p->stop[l] || add_words(p->stop[l], stop_src[l]) != 0) {
            rc = vg_fail(err, VG_ENOMEM, "text: out of memory");
            goto cleanup;
        }
    }
    p->filler = strmap_new(2048);
    for (int l = 0; p->filler && l < 2 * NLANG; l++)
        if (add_words(p->filler,
                      l < NLANG ? stop_src[l] : label_stop_src[l - NLANG])) {
            strmap_free(p->filler);
            p->filler = NULL;
        }
    if (!p->filler) {
        rc = vg_fail(err, VG_ENOMEM, "text: out of memory");
        goto cleanup;
    }
    *out = p;
    p = NULL;
cleanup:
    text_pipe_free(p);
    return rc;
}

/* Simple lower-casing for the scripts tickets arrive in. Never lengthens the
 * UTF-8 encoding, so folding can run in place. */
static uint32_t fold_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if (c == 0x130)
        return 'i';
    if (c >= 0x100 && c <= 0x137)
        return c | 1;
    if (c >= 0x139 && c <= 0x148)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x14A && c <= 0x177)
        return c | 1;
    if (c == 0x178)
        return 0xFF;
    if (c >= 0x179 && c <= 0x17E)
        return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
        return c + 32;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if (c == 0x1E9E)
        return 0xDF;
    if ((c >= 0x1E00 && c <= 0x1E95) || (c >= 0x1EA0 && c <= 0x1EFF))
        return c | 1;
    return c;
}

/* Letters and digits of any script count as word characters; punctuation,
 * symbols, emoji and the replacement character separate words. */
static int is_word_cp(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
    if (c < 0xC0)
        return c == 0xAA || c == 0xB5 || c == 0xBA;
    if (c == 0xD7 || c == 0xF7)
        return 0;
    if (c >= 0x2000 && c <= 0x2BFF)
        return 0;
    if (c >= 0x3000 && c <= 0x303F)
        return 0;
    if (c >= 0xFE00 && c <= 0xFE0F)
        return 0;
    if (c == 0xFEFF || c == 0xFFFD)
        return 0;
    if (c >= 0x1F000)
        return 0;
    return 1;
}

/* Copies at most cap bytes of src into dst, repairing UTF-8. dst must hold
 * 3 * cap + 1 bytes (each bad byte becomes a 3-byte U+FFFD). */
static size_t repair_copy(const char *src, size_t cap, char *dst)
{
    size_t n = src ? strnlen(src, cap) : 0, w = 0;
    const unsigned char *s = (const unsigned char *)src;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = utf8_decode(s + i, n - i, &c);
        /* A sequence cut by the cap is dropped rather than flagged. */
        if (c == 0xFFFD && k == 1 && i + 4 > n && s[i] >= 0xC2)
            break;
        w += utf8_encode(c, dst + w);
        i += k;
    }
    dst[w] = '\0';
    return w;
}

/* ---- HTML -------------------------------------------------------------- */

typedef struct entity {
    const char *name;
    uint32_t cp;
} entity;

static const entity entities[] = {
    {"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
    {"apos", '\''},    {"nbsp", ' '},      {"euro", 0x20AC},  {"copy", 0xA9},
    {"reg", 0xAE},     {"hellip", 0x2026}, {"ndash", 0x2013}, {"mdash", 0x2014},
    {"laquo", 0xAB},   {"raquo", 0xBB},    {"auml", 0xE4},    {"ouml", 0xF6},
    {"uuml", 0xFC},    {"Auml", 0xC4},     {"Ouml", 0xD6},    {"Uuml", 0xDC},
    {"szlig", 0xDF},   {"eacute", 0xE9},   {"Eacute", 0xC9},  {"egrave", 0xE8},
    {"Egrave", 0xC8},  {"ecirc", 0xEA},    {"agrave", 0xE0},  {"Agrave", 0xC0},
    {"acirc", 0xE2},   {"ccedil", 0xE7},   {"Ccedil", 0xC7},  {"icirc", 0xEE},
    {"iuml", 0xEF},    {"ocirc", 0xF4},    {"ucirc", 0xFB},   {"ugrave", 0xF9},
    {"ntilde", 0xF1},  {"Ntilde", 0xD1},   {"aacute", 0xE1},  {"iacute", 0xED},
    {"oacute", 0xF3},  {"uacute", 0xFA},   {"Aacute", 0xC1},  {"Iacute", 0xCD},
    {"Oacute", 0xD3},  {"Uacute", 0xDA},   {"iexcl", 0xA1},   {"iquest", 0xBF},
    {"rsquo", 0x2019}, {"lsquo", 0x2018},  {"rdquo", 0x201D}, {"ldquo", 0x201C},
};

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

static int prefix_ci(const char *s, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    if (k > n)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (ascii_lower((unsigned char)s[i]) != pre[i])
            return 0;
    return 1;
}

/* Finds needle (lower-case ASCII) in s[0..n) ignoring ASCII case. */
static size_t find_ci(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (prefix_ci(s + i, n - i, needle))
            return i;
    return SIZE_MAX;
}

/* Decodes the entity at s[0] == '&'; returns bytes consumed and writes the
 * code point, or 0 when it is not an entity we know. */
static size_t entity_dec(const char *s, size_t n, uint32_t *cp)
{
    size_t semi = 0;
    for (size_t i = 1; i < n && i < 12; i++)
        if (s[i] == ';') {
            semi = i;
            break;
        }
    if (semi < 2)
        return 0;
    if (s[1] == '#') {
        uint32_t v = 0;
        int hex = s[2] == 'x' || s[2] == 'X';
        size_t i = hex ? 3 : 2;
        if (i >= semi)
            return 0;
        for (; i < semi; i++) {
            int c = ascii_lower((unsigned char)s[i]), d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                return 0;
            v = v * (hex ? 16u : 10u) + (uint32_t)d;
            if (v > 0x10FFFF)
                v = 0x110000;
        }
        if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            v = 0xFFFD;
        if (v < 0x20)
            v = ' ';
        *cp = v;
        return semi + 1;
    }
    for (size_t e = 0; e < sizeof entities / sizeof entities[0]; e++) {
        size_t k = strlen(entities[e].name);
        if (k == semi - 1 && memcmp(s + 1, entities[e].name, k) == 0) {
            *cp = entities[e].cp;
            return semi + 1;
        }
    }
    return 0;
}

static int is_block_tag(const char *name)
{
    static const char *const blocks[] = {
        "br", "p",  "div", "li", "ul", "ol", "tr",  "table", "blockquote", "h1",
        "h2", "h3", "h4",  "h5", "h6", "hr", "pre", "body",  "html"};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        if (strcmp(name, blocks[i]) == 0)
            return 1;
    return 0;
}

/* A tag's name from s[i] up to `end`, lowercased, letters and digits only,
 * at most 15 characters (longer names match no tag html_strip knows). */
static void tag_name(const char *s, size_t i, size_t end, char name[16])
{
    size_t k = 0;
    while (i < end && k + 1 < 16 &&
           ((ascii_lower((unsigned char)s[i]) >= 'a' &&
             ascii_lower((unsigned char)s[i]) <= 'z') ||
            (s[i] >= '0' && s[i] <= '9')))
        name[k++] = (char)ascii_lower((unsigned char)s[i++]);
    name[k] = '\0';
}

/* Past a <script> or <style> element whose opening tag ends at r: their
 * content is code, not words, so all of it up to the closing tag goes (to the
 * end when it is not closed). Returns where reading goes on. */
static size_t skip_raw_text(const char *s, size_t r, size_t n, const char *name)
{
    const char *close = name[1] == 'c' ? "</script" : "</style";
    size_t e = find_ci(s + r, n - r, close);
    if (e == SIZE_MAX)
        return n;
    const char *g = memchr(s + r + e, '>', n - r - e);
    return g ? (size_t)(g - s) + 1 : n;
}

/* Strips tags and decodes entities in place; never lengthens the text.
 * A '<' only starts a tag when a letter, '/' or '!' follows and a '>' closes
 * it within 2 kB, so "a < b" in plain text survives. */
static size_t html_strip(char *s, size_t n)
{
    size_t r = 0, w = 0;
    int quote_depth = 0;
    while (r < n) {
        char c = s[r];
        if (c == '<' && r + 1 < n &&
            (s[r + 1] == '/' || s[r + 1] == '!' ||
             (ascii_lower((unsigned char)s[r + 1]) >= 'a' &&
              ascii_lower((unsigned char)s[r + 1]) <= 'z'))) {
            size_t lim = n - r < 2048 ? n - r : 2048;
            if (prefix_ci(s + r, n - r, "<!--")) {
                size_t e = find_ci(s + r + 4, n - r - 4, "-->");
                r = e == SIZE_MAX ? n : r + 4 + e + 3;
                continue;
            }
            const char *gt = memchr(s + r, '>', lim);
            if (!gt) {
                if (!quote_depth)
                    s[w++] = c;
                r++;
                continue;
            }
            size_t end = (size_t)(gt - s) + 1, i = r + 1;
            int closing = s[i] == '/';
            if (closing)
                i++;
            char name[16];
            tag_name(s, i, end, name);
            r = end;
            if (!closing &&
                (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
                r = skip_raw_text(s, r, n, name);
                continue;
            }
            if (strcmp(name, "blockquote") == 0)
                quote_depth += closing ? (quote_depth > 0 ? -1 : 0) : 1;
            if (!quote_depth)
                s[w++] = is_block_tag(name) ? '\n' : ' ';
            continue;
        }
        if (c == '&') {
            uint32_t cp;
            size_t k = entity_dec(s + r, n - r, &cp);
            if (k) {
                if (!quote_depth)
                    w += utf8_encode(cp, s + w);
                r += k;
                continue;
            }
        }
        if (!quote_depth)
            s[w++] = c;
        r++;
    }
    s[w] = '\0';
    return w;
}

/* Folds case and normalises white space in place: tabs, CR, NBSP and the
 * Unicode spaces become ' ', zero-width characters vanish, '\n' stays. */
static size_t fold_space(char *s, size_t n)
{
    size_t r = 0, w = 0;
    while (r < n) {
        uint32_t c;
        size_t k = utf8_decode((const unsigned char *)s + r, n - r, &c);
        r += k;
        if (c == '\r') {
            if (r < n && s[r] == '\n')
                continue;
            c = '\n';
        }
        if (c == 0x200B || c == 0x200C || c == 0x200D || c == 0xFEFF ||
            c == 0xAD)
            continue;
        if ((c < 0x20 && c != '\n') || c == 0x7F || (c >= 0x80 && c < 0xA0) ||
            c == 0xA0 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
            c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000)
            c = ' ';
        w += utf8_encode(fold_cp(c), s + w);
    }
    s[w] = '\0';
    return w;
}

/* ---- quoted replies and signatures ------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n >= k && memcmp(s + n - k, suf, k) == 0;
}

static int starts_with(const char *s, size_t n, const char *pre)
{
    size_t k = strlen(pre);
    return n >= k && memcmp(s, pre, k) == 0;
}

static int reply_opener(const char *s, size_t n)
{
    return starts_with(s, n, "on ") || starts_with(s, n, "am ") ||
           starts_with(s, n, "le ") || starts_with(s, n, "el ");
}

static int contains(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(s + i, needle, k) == 0)
            return 1;
    return 0;
}

static int reply_header(const char *s, size_t n)
{
    /* "Am 3. Juni 2024 schrieb Ann <a@b.c>:" puts the name after the verb */
    if (reply_opener(s, n) && n > 0 && s[n - 1] == ':' &&
        (contains(s, n, " wrote") || contains(s, n, " schrieb ") ||
         contains(s, n, " a écrit") || contains(s, n, " escribió")))
        return 1;
    return ends_with(s, n, "wrote:") || ends_with(s, n, "schrieb:") ||
           ends_with(s, n, "a écrit :") || ends_with(s, n, "a écrit:") ||
           ends_with(s, n, "escribió:") ||
           starts_with(s, n, "-----original message") ||
           starts_with(s, n, "-----ursprüngliche nachricht") ||
           starts_with(s, n, "-----message d'origine") ||
           starts_with(s, n, "-----mensaje original") ||
           starts_with(s, n, "__________");
}

/* Closings that end the useful part of a message, matched against a whole
 * line once trailing punctuation is gone. */
static const char *const closings[] = {"best regards",
                                       "kind regards",
                                       "regards",
                                       "best wishes",
                                       "cheers",
                                       "thanks",
                                       "thank you",
                                       "many thanks",
                                       "sincerely",
                                       "yours sincerely",
                                       "mit freundlichen grüßen",
                                       "mit freundlichen grüssen",
                                       "viele grüße",
                                       "beste grüße",
                                       "freundliche grüße",
                                       "liebe grüße",
                                       "mfg",
                                       "gruß",
                                       "cordialement",
                                       "bien cordialement",
                                       "bien à vous",
                                       "salutations",
                                       "meilleures salutations",
                                       "saludos",
                                       "un saludo",
                                       "saludos cordiales",
                                       "atentamente",
                                       "un cordial saludo"};

static int signature_line(const char *s, size_t n, int have_text)
{
    if (n == 2 && memcmp(s, "--", 2) == 0)
        return 1;
    if (starts_with(s, n, "sent from my "))
        return 1;
    if (!have_text)
        return 0;
    while (n > 0 && strchr(",.!:; ", s[n - 1]))
        n--;
    for (size_t i = 0; i < sizeof closings / sizeof closings[0]; i++)
        if (strlen(closings[i]) == n && memcmp(s, closings[i], n) == 0)
            return 1;
    return 0;
}

/* Drops quoted lines and cuts at the first reply header or signature, in
 * place on folded text. */
static size_t strip_replies(char *s, size_t n)
{
    size_t r = 0, w = 0, prev_start = SIZE_MAX, prev_w = 0;
    int have_text = 0, prev_opener = 0;
    while (r < n) {
        char *nl = memchr(s + r, '\n', n - r);
        size_t end = nl ? (size_t)(nl - s) : n, a = r, b = end;
        while (a < b && s[a] == ' ')
            a++;
        while (b > a && s[b - 1] == ' ')
            b--;
        /* "-- " is trimmed to "--", which signature_line knows. */
        if (a < b && s[a] == '>') {
            r = end + 1;
            continue;
        }
        if (reply_header(s + a, b - a)) {
            /* "On Mon, 3 Jun 2024, Ann <a@b.c>" + "wrote:" on the next line */
            if (!reply_opener(s + a, b - a) && prev_opener &&
                prev_start != SIZE_MAX)
                w = prev_w;
            break;
        }
        if (signature_line(s + a, b - a, have_text))
            break;
        prev_w = w;
        prev_start = a;
        prev_opener = reply_opener(s + a, b - a);
        if (b > a)
            have_text = 1;
        memmove(s + w, s + r, end - r);
        w += end - r;
        if (nl)
            s[w++] = '\n';
        r = end + 1;
    }
    s[w] = '\0';
    return w;
}

/* ---- scanning ---------------------------------------------------------- */

static int push_raw(text_pipe *p, size_t off, size_t len, int mask, int brk)
{
    if (p->nraw == p->rawcap) {
        size_t nc = p->rawcap ? p->rawcap * 2 : 256;
        rawtok *a = realloc(p->raw, nc * sizeof *a);
        if (!a)
            return -1;
        p->raw = a;
        p->rawcap = nc;
    }
    p->raw[p->nraw++] = (rawtok){off, len, mask, brk};
    return 0;
}

/* Masks live in a fixed string so raw tokens can point at them. */
static const char mask_text[] = "<email>\0<url>\0<id>\0<num>";
enum { M_EMAIL = 0, M_URL = 8, M_ID = 14, M_NUM = 19 };
#define MASK_OFF ((size_t)1 << 62)

static int is_redaction(const char *s, size_t n)
{
    if (n < 2)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] != 'x')
            return 0;
    return 1;
}

/* Classifies and records one piece of a chunk with no separators left in it
 * except '-', '_', '#', and '.'/',' between digits. */
static int scan_piece(text_pipe *p, const char *base, size_t a, size_t b,
                      int *brk)
{
    const char *s = base + a;
    size_t n = b - a, digits = 0, letters = 0;
    int joiner = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= '0' && c <= '9')
            digits++;
        else if (c == '-' || c == '_' || c == '#' || c == '.' || c == ',')
            joiner = 1;
        else
            letters++;
    }
    if (digits) {
        int id =
            letters ? (digits >= 3 || joiner) : (digits >= 6 || s[0] == '#');
        if (letters && !id) {
            /* "2fa", "mp3", "win10": short alphanumerics are words */
        } else if (p->opts.keep_codes && n <= 24 && digits <= 5 &&
                   (letters || memchr(s, '.', n))) {
            /* "e-4012", "v2.3.1", "3.2.1", "err_503": the code itself is
             * what a new issue's tickets share (dates, amounts, phone
             * numbers and order numbers stay masked). */
            if (push_raw(p, a, n, 1, *brk) != 0)
                return -1;
            *brk = 0;
            return 0;
        } else {
            if (push_raw(p, MASK_OFF + (id ? M_ID : M_NUM), 0, 1, *brk) != 0)
                return -1;
            *brk = 0;
            return 0;
        }
    }
    /* Split words at '-', '_', '#', '.', ',' (what is left of them here). */
    size_t i = 0;
    while (i < n) {
        while (i < n && strchr("-_#.,", s[i]))
            i++;
        size_t j = i;
        while (j < n && !strchr("-_#.,", s[j]))
            j++;
        if (j > i) {
            size_t cps = 0;
            for (size_t k = i; k < j; k++)
                cps += ((unsigned char)s[k] & 0xC0) != 0x80;
            if (cps >= 2 && j - i <= 40 && !is_redaction(s + i, j - i)) {
                if (push_raw(p, a + i, j - i, 0, *brk) != 0)
                    return -1;
                *brk = 0;
            }
        }
        i = j;
    }
    return 0;
}

/* One token s[a, b) that is neither a URL nor an e-mail, in pieces: runs of
 * word characters and joiners; '.'/',' only join digits, other punctuation
 * splits. Each piece goes to scan_piece (offsets into p->scratch). */
static int scan_pieces(text_pipe *p, const char *s, size_t a, size_t b,
                       size_t base_off, int *brk)
{
    size_t i = a;
    while (i < b) {
        size_t j = i;
        while (j < b) {
            uint32_t c;
            size_t k = utf8_decode((const unsigned char *)s + j, b - j, &c);
            int keep =
                is_word_cp(c) || c == '-' || c == '_' || (c == '#' && j == i);
            if (!keep && (c == '.' || c == ',') && j > i && j + 1 < b &&
                s[j - 1] >= '0' && s[j - 1] <= '9' && s[j + 1] >= '0' &&
                s[j + 1] <= '9')
                keep = 1;
            if (!keep)
                break;
            j += k;
        }
        if (j > i) {
            if (scan_piece(p, p->scratch, base_off + i, base_off + j, brk) != 0)
                return -1;
            i = j;
        } else {
            uint32_t c;
            i += utf8_decode((const unsigned char *)s + i, b - i, &c);
        }
    }
    return 0;
}

/* Splits cleaned text into raw tokens (words and masks). */
static int scan(text_pipe *p, const char *s, size_t n, size_t base_off)
{
    size_t r = 0;
    int brk = 1, newlines = 0;
    while (r < n) {
        if (s[r] == ' ' || s[r] == '\n') {
            if (s[r] == '\n' && ++newlines >= 2)
                brk = 1;
            r++;
            continue;
        }
        newlines = 0;
        size_t a = r;
        while (r < n && s[r] != ' ' && s[r] != '\n')
            r++;
        size_t b = r;
        while (a < b && strchr("([{<\"'*", s[a]))
            a++;
        int end_brk = 0;
        while (b > a && strchr(".,;:!?)]}>\"'*", s[b - 1])) {
            if (strchr(".;:!?", s[b - 1]))
                end_brk = 1;
            b--;
        }
        if (a == b) {
            brk |= end_brk;
            continue;
        }
        const char *at = memchr(s + a, '@', b - a);
        size_t url = find_ci(s + a, b - a, "://");
        if (url != SIZE_MAX || starts_with(s + a, b - a, "www.")) {
            if (push_raw(p, MASK_OFF + M_URL, 0, 1, brk) != 0)
                return -1;
            brk = end_brk;
            continue;
        }
        if (at && at > s + a && memchr(at, '.', (size_t)(s + b - at)) &&
            s[b - 1] != '.') {
            if (push_raw(p, MASK_OFF + M_EMAIL, 0, 1, brk) != 0)
                return -1;
            brk = end_brk;
            continue;
        }
        if (scan_pieces(p, s, a, b, base_off, &brk) != 0)
            return -1;
        brk |= end_brk;
    }
    return 0;
}

/* Cleans subject or body into p->scratch at offset off; returns new length
 * of the scratch content. */
static size_t clean_into(text_pipe *p, size_t off, const char *src, size_t cap,
                         int is_body)
{
    char *s = p->scratch + off;
    size_t n = repair_copy(src, cap, s);
    n = html_strip(s, n);
    n = fold_space(s, n);
    if (is_body) {
        n = strip_replies(s, n);
    } else {
        /* "Re: Fwd: AW:" prefixes say nothing about the topic */
        for (;;) {
            size_t a = 0;
            while (a < n && s[a] == ' ')
                a++;
            static const char *const pre[] = {
                "re:", "fw:", "fwd:", "aw:", "wg:", "tr:", "rv:"};
            size_t k = 0;
            for (size_t i = 0; i < sizeof pre / sizeof pre[0]; i++)
                if (starts_with(s + a, n - a, pre[i]))
                    k = strlen(pre[i]);
            if (!k)
                break;
            memmove(s, s + a + k, n - a - k + 1);
            n -= a + k;
        }
    }
    return off + n;
}

static int ensure_scratch(text_pipe *p, size_t need)
{
    if (need <= p->scap)
        return 0;
    char *s = realloc(p->scratch, need);
    if (!s)
        return -1;
    p->scratch = s;
    p->scap = need;
    return 0;
}

static int parse_lang(const char *lang)
{
    if (!lang || strlen(lang) < 2)
        return -1;
    char c[3] = {(char)ascii_lower((unsigned char)lang[0]),
                 (char)ascii_lower((unsigned char)lang[1]), 0};
    if (lang[2] && lang[2] != '-' && lang[2] != '_')
        return -1;
    for (int l = 0; l < NLANG; l++)
        if (strcmp(c, lang_code[l]) == 0)
            return l;
    return -1;
}

static const char *raw_text(const text_pipe *p, const rawtok *t)
{
    return t->off >= MASK_OFF ? mask_text + (t->off - MASK_OFF)
                              : p->scratch + t->off;
}

/* Runs the cleaning and scanning shared by text_tokens and text_normalize.
 * Returns -1 on OOM. */
static int prepare(text_pipe *p, const char *subject, const char *body)
{
    size_t sc = p->opts.max_subject_bytes, bc = p->opts.max_body_bytes;
    if (ensure_scratch(p, 3 * sc + 3 * bc + 4) != 0)
        return -1;
    p->nraw = 0;
    size_t end = clean_into(p, 0, subject, sc, 0);
    p->scratch[end] = '\0';
    if (scan(p, p->scratch, end, 0) != 0)
        return -1;
    size_t body_off = end + 1;
    size_t body_end = clean_into(p, body_off, body, bc, 1);
    size_t first_body = p->nraw;
    if (scan(p, p->scratch + body_off, body_end - body_off, body_off) != 0)
        return -1;
    if (first_body < p->nraw)
        p->raw[first_body].brk = 1;
    return 0;
}

/* The language of a ticket that names none: the one whose stopwords its
 * words hit most, English unless another has strictly more. */
static int guess_lang(const text_pipe *p)
{
    size_t hits[NLANG] = {0};
    char w[48];
    for (size_t i = 0; i < p->nraw; i++) {
        const rawtok *t = &p->raw[i];
        if (t->mask || t->len >= sizeof w)
            continue;
        memcpy(w, raw_text(p, t), t->len);
        w[t->len] = '\0';
        for (int k = 0; k < NLANG; k++)
            hits[k] += strmap_get(p->stop[k], w) >= 0;
    }
    int l = LANG_EN;
    for (int k = 1; k < NLANG; k++)
        if (hits[k] > hits[l])
            l = k;
    return l;
}

/* A unigram about to be pushed: its term and the surface it was read as
 * (NULL for a mask). stem may be the stemmer's buffer, valid until its next
 * call. */
typedef struct unigram {
    const char *stem, *surf;
    size_t slen, surflen;
} unigram;

/* The unigram of raw token t in language l: a mask or kept code as it is, a
 * word stemmed (w, of 48 bytes, then holds its surface). Returns 1 for a
 * term, 0 for a stopword or a word that stems to nothing, -1 when the
 * stemmer is out of memory. */
static int unigram_of(text_pipe *p, const rawtok *t, int l, char *w, unigram *u)
{
    if (t->mask) {
        u->stem = raw_text(p, t);
        u->slen = t->off >= MASK_OFF ? strlen(u->stem) : t->len;
        u->surf = t->off < MASK_OFF ? u->stem : NULL;
        u->surflen = t->off < MASK_OFF ? u->slen : 0;
        return 1;
    }
    memcpy(w, raw_text(p, t), t->len);
    w[t->len] = '\0';
    if (strmap_get(p->stop[l], w) >= 0)
        return 0;
    const sb_symbol *st =
        sb_stemmer_stem(p->stem[l], (const sb_symbol *)w, (int)t->len);
    if (!st)
        return -1;
    u->stem = (const char *)st;
    u->slen = (size_t)sb_stemmer_length(p->stem[l]);
    u->surf = w;
    u->surflen = t->len;
    return u->slen > 0;
}

/* The bigram of the unigrams at out->tok[prev] and out->tok[cur], unless
 * either is 64 bytes or longer. Returns -1 when out of memory. */
static int push_bigram(text_toklist *out, size_t prev, size_t cur)
{
    /* Copy both parts first: tl_push may move out->buf. */
    char pair[2 * 64 + 2];
    size_t la = strlen(out->buf + out->tok[prev]);
    size_t lb = strlen(out->buf + out->tok[cur]);
    if (la >= 64 || lb >= 64)
        return 0;
    memcpy(pair, out->buf + out->tok[prev], la);
    memcpy(pair + la + 1, out->buf + out->tok[cur], lb);
    return tl_push(out, pair, la, pair + la + 1, lb, NULL, 0);
}

vg_code text_tokens(text_pipe *p, const char *subject, const char *body,
                    const char *lang, text_toklist *out, vg_error *err)
{
    out->n = 0;
    out->len = 0;
    if (prepare(p, subject, body) != 0)
        return vg_fail(err, VG_ENOMEM, "text: out of memory");
    int l = parse_lang(lang);
    if (l < 0)
        l = guess_lang(p);
    memcpy(out->lang, lang_code[l], 3);
    size_t prev = SIZE_MAX; /* index in out of the previous kept unigram */
    int brk = 1;
    char w[48];
    for (size_t i = 0; i < p->nraw; i++) {
        const rawtok *t = &p->raw[i];
        brk |= t->brk;
        unigram u;
        int kept = unigram_of(p, t, l, w, &u);
        if (kept < 0)
            return vg_fail(err, VG_ENOMEM, "text: out of memory (stemmer)");
        if (!kept)
            continue;
        /* The stem buffer belongs to the stemmer; copy before the next call. */
        if (tl_push(out, u.stem, u.slen, NULL, 0, u.surf, u.surflen) != 0)
            return vg_fail(err, VG_ENOMEM, "text: out of memory");
        size_t cur = out->n - 1;
        if (p->opts.bigrams && !brk && prev != SIZE_MAX &&
            push_bigram(out, prev, cur) != 0)
            return vg_fail(err, VG_ENOMEM, "text: out of memory");
        prev = cur;
        brk = 0;
    }
    return VG_OK;
}

int text_is_stopword(const char *word)
{
    /* Labels ask a few dozen times per run: a scan of the lists will do. */
    size_t n = strlen(word);
    if (n == 0)
        return 0;
    for (int l = 0; l < 2 * NLANG; l++) {
        const char *list = l < NLANG ? stop_src[l] : label_stop_src[l - NLANG];
        for (const char *s = list; (s = strstr(s, word)) != NULL; s++)
            if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
                return 1;
    }
    return 0;
}

/* One rule for both: p NULL scans the lists, else the pipe's hash set. */
static int label_worthy(const text_pipe *p, const char *phrase)
{
    char w[64];
    const char *s = phrase;
    while (*s) {
        size_t n = strcspn(s, " ");
        if (n == 0 || n >= sizeof w || s[0] == '<')
            return 0;
        memcpy(w, s, n);
        w[n] = '\0';
        if (p ? strmap_get(p->filler, w) >= 0 : text_is_stopword(w))
            return 0;
        s += n;
        s += *s == ' ';
    }
    return phrase[0] != '\0';
}

int text_label_worthy(const char *phrase)
{
    return label_worthy(NULL, phrase);
}

int text_pipe_label_worthy(const text_pipe *p, const char *phrase)
{
    return label_worthy(p, phrase);
}

const char *text_normalize(text_pipe *p, const char *body, int is_body)
{
    if (prepare(p, is_body ? NULL : body, is_body ? body : NULL) != 0)
        return NULL;
    size_t need = 1;
    for (size_t i = 0; i < p->nraw; i++)
        need += (p->raw[i].off >= MASK_OFF ? strlen(raw_text(p, &p->raw[i]))
                                           : p->raw[i].len) +
                1;
    if (need > p->normcap) {
        char *s = realloc(p->norm, need);
        if (!s)
            return NULL;
        p->norm = s;
        p->normcap = need;
    }
    size_t w = 0;
    for (size_t i = 0; i < p->nraw; i++) {
        const rawtok *t = &p->raw[i];
        const char *s = raw_text(p, t);
        size_t k = t->off >= MASK_OFF ? strlen(s) : t->len;
        if (w)
            p->norm[w++] = ' ';
        memcpy(p->norm + w, s, k);
        w += k;
    }
    p->norm[w] = '\0';
    return p->norm;
}
