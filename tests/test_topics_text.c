/* test_topics_text.c — topics/text cleaning and tokenisation on hand-made
 * tickets: masks, case, bad UTF-8, HTML, replies, signatures, 4 languages. */
#include "topics/text.h"

#include <time.h>

#include "check.h"

static text_pipe *P;
static text_toklist *T;

/* Tokens of the last text_tokens call joined with '|', for compact checks. */
static const char *joined(void)
{
    static char buf[4096];
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < text_toklist_size(T); i++) {
        const char *s = text_toklist_get(T, i);
        size_t k = strlen(s);
        if (w + k + 2 >= sizeof buf)
            break;
        if (w)
            buf[w++] = '|';
        memcpy(buf + w, s, k);
        w += k;
        buf[w] = '\0';
    }
    return buf;
}

static const char *toks(const char *subject, const char *body, const char *lang)
{
    vg_error err = {0};
    vg_code rc = text_tokens(P, subject, body, lang, T, &err);
    CHECK_INT_EQ(rc, VG_OK);
    return joined();
}

static int has_tok(const char *t)
{
    for (size_t i = 0; i < text_toklist_size(T); i++)
        if (strcmp(text_toklist_get(T, i), t) == 0)
            return 1;
    return 0;
}

static void test_masks(void)
{
    const char *n = text_normalize(
        P,
        "Mail me at John.Doe@Example.com or see https://x.io/a?b=1 and "
        "www.foo.org. Invoice INV-48213, ticket #4411, order 12345678, "
        "hash 3f2a9c1b, paid 49.99 for 3 seats; 2fa broken.",
        1);
    CHECK_STR_EQ(n, "mail me at <email> or see <url> and <url> invoice <id> "
                    "ticket <id> order <id> hash <id> paid <num> for <num> "
                    "seats 2fa broken");
}

static void test_case_folding(void)
{
    CHECK_STR_EQ(
        text_normalize(P, "ÄÖÜ Straße ÉCOLE Ñandú ÇA İSTANBUL ŁÓDŹ", 1),
        "äöü straße école ñandú ça istanbul łódź");
    CHECK_STR_EQ(text_normalize(P, "ΑΘΗΝΑ МОСКВА", 1), "αθηνα москва");
}

static void test_bad_utf8(void)
{
    /* 0xFF, a lone continuation byte, an overlong '/', a truncated é */
    CHECK_STR_EQ(text_normalize(P,
                                "ab\xff"
                                "cd \x80x y\xc0\xafz caf\xc3",
                                1),
                 "ab cd caf");
    /* Bad bytes separate words; they never glue or swallow them. */
    const char *n = text_normalize(P, "good\xffword caf\xc3\xa9", 1);
    CHECK_STR_EQ(n, "good word café");
}

static void test_html(void)
{
    CHECK_STR_EQ(
        text_normalize(P,
                       "<html><style>p{color:red}</style><p>Hello&nbsp;"
                       "<b>W&ouml;rld</b> &amp; caf&#233; &#x41;B</p>"
                       "<blockquote>old quoted stuff</blockquote>"
                       "<script>alert(1)</script><!-- hidden -->a < b ok",
                       1),
        "hello wörld café ab ok");
}

static void test_replies_signatures(void)
{
    CHECK_STR_EQ(text_normalize(P,
                                "The export fails daily.\n"
                                "> earlier quoted line\n"
                                "Still broken.\n\n"
                                "On Mon, 3 Jun 2024, Ann <ann@x.com> wrote:\n"
                                "> older text\n",
                                1),
                 "the export fails daily still broken");
    CHECK_STR_EQ(text_normalize(P,
                                "Export kaputt.\nAm 3. Juni 2024 schrieb Ann:\n"
                                "alter text",
                                1),
                 "export kaputt");
    CHECK_STR_EQ(text_normalize(P,
                                "Export cassé.\nLe 3 juin 2024, Ann a écrit :\n"
                                "ancien",
                                1),
                 "export cassé");
    CHECK_STR_EQ(text_normalize(P,
                                "Exportación rota.\nEl lun, 3 jun 2024, Ann "
                                "escribió:\nviejo",
                                1),
                 "exportación rota");
    /* Wrapped header: opener on one line, "wrote:" on the next */
    CHECK_STR_EQ(text_normalize(P,
                                "Login broken.\nOn Mon, 3 Jun 2024 at 10:00, "
                                "Ann Smith <ann@x.com>\nwrote:\nold",
                                1),
                 "login broken");
    CHECK_STR_EQ(
        text_normalize(P, "Login broken.\n-- \nJohn Smith\nACME Corp", 1),
        "login broken");
    CHECK_STR_EQ(text_normalize(P, "Login broken.\n\nBest regards,\nJohn", 1),
                 "login broken");
    CHECK_STR_EQ(
        text_normalize(P, "Login kaputt.\nMit freundlichen Grüßen\nHans", 1),
        "login kaputt");
    CHECK_STR_EQ(text_normalize(P, "Connexion.\nCordialement,\nJean", 1),
                 "connexion");
    CHECK_STR_EQ(text_normalize(P, "Conexión.\nSaludos\nJuan", 1), "conexión");
    /* A closing as the very first line does not wipe the message */
    CHECK_STR_EQ(text_normalize(P, "Thanks\nexport works now", 1),
                 "thanks export works now");
    /* Subjects lose Re:/Fwd: prefixes and keep their quotes */
    CHECK_STR_EQ(text_normalize(P, "Re: Fwd: AW: Billing > question", 0),
                 "billing question");
}

static void test_languages(void)
{
    /* English: stop words gone, Snowball stems, bigrams of kept stems */
    CHECK_STR_EQ(
        toks("Billing issue", "I was charged twice for the invoices", "en"),
        "bill|issu|bill issu|charg|twice|charg twice|invoic|"
        "twice invoic");
    CHECK_STR_EQ(text_toklist_lang(T), "en");
    CHECK_STR_EQ(text_toklist_surface(T, 0), "billing");
    CHECK(text_toklist_surface(T, 2) == NULL);
    CHECK(text_toklist_is_bigram(T, 2));
    /* German */
    toks(NULL, "Die Rechnungen sind falsch und ich habe zweimal bezahlt", "de");
    CHECK(has_tok("rechnung"));
    CHECK(has_tok("falsch"));
    CHECK(has_tok("bezahlt"));
    CHECK(!has_tok("die") && !has_tok("und") && !has_tok("ich"));
    /* French */
    toks(NULL, "Les factures sont incorrectes et nous avons payé deux fois",
         "fr");
    CHECK(has_tok("factur"));
    CHECK(has_tok("incorrect"));
    CHECK(!has_tok("les") && !has_tok("nous") && !has_tok("et"));
    /* Spanish */
    toks(NULL, "Las facturas son incorrectas y hemos pagado dos veces", "es");
    CHECK(has_tok("factur"));
    CHECK(has_tok("incorrect"));
    CHECK(has_tok("pag"));
    CHECK(!has_tok("las") && !has_tok("hemos") && !has_tok("y"));
    /* Detection when the caller does not know */
    toks(NULL, "Die Rechnung ist falsch und ich habe das nicht bestellt", NULL);
    CHECK_STR_EQ(text_toklist_lang(T), "de");
    toks(NULL, "La facture est fausse et je ne l'ai pas commandée", "auto");
    CHECK_STR_EQ(text_toklist_lang(T), "fr");
    toks(NULL, "La factura es incorrecta y no la he pedido", "xx");
    CHECK_STR_EQ(text_toklist_lang(T), "es");
    toks(NULL, "The invoice is wrong and I did not order it", "");
    CHECK_STR_EQ(text_toklist_lang(T), "en");
    toks(NULL, "Das ist falsch", "de-AT");
    CHECK_STR_EQ(text_toklist_lang(T), "de");
    /* Sentence punctuation stops bigrams */
    CHECK_STR_EQ(toks(NULL, "Export failed. Login works", "en"),
                 "export|fail|export fail|login|work|login work");
    /* Redactions and one-letter words vanish */
    CHECK_STR_EQ(toks(NULL, "XXXX called me on XX/XX/2019 a b", "en"),
                 "call|<num>|call <num>");
}

static void test_empty(void)
{
    CHECK_STR_EQ(toks(NULL, NULL, NULL), "");
    CHECK_INT_EQ(text_toklist_size(T), 0);
    CHECK_STR_EQ(toks("", "", "en"), "");
    CHECK_STR_EQ(toks("   ", "\n\n<p></p>", "en"), "");
    CHECK_STR_EQ(text_normalize(P, NULL, 1), "");
}

static void test_huge_body(void)
{
    size_t n = 10u * 1024 * 1024;
    char *big = malloc(n + 1);
    CHECK(big != NULL);
    if (!big)
        return;
    for (size_t i = 0; i < n; i++)
        big[i] = "export failed again "[i % 20];
    big[n] = '\0';
    clock_t t0 = clock();
    for (int rep = 0; rep < 20; rep++)
        toks("subject", big, "en");
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* 20 kB read per call: 20 calls well under a second even under ASan */
    CHECK(secs < 1.0);
    CHECK(text_toklist_size(T) > 1000);
    CHECK(text_toklist_size(T) < 5000);
    free(big);
}

int main(void)
{
    vg_error err = {0};
    CHECK_INT_EQ(text_pipe_new(NULL, &P, &err), VG_OK);
    T = text_toklist_new();
    CHECK(P != NULL && T != NULL);
    if (!P || !T)
        return check_done("topics_text");
    test_masks();
    test_case_folding();
    test_bad_utf8();
    test_html();
    test_replies_signatures();
    test_languages();
    test_empty();
    test_huge_body();
    text_toklist_free(T);
    text_pipe_free(P);
    return check_done("topics_text");
}
