/* test_demo_issues.c — injected issues of `vigil demo` without a database:
 * every vocabulary slot has words of its own (in the baseline phrasebook of
 * no language, in no other slot), specs parse or fail naming the key, shapes
 * have their form, and derived rates put the expected size where it is. */
#include "check.h"

#include "demo/demo_internal.h"

#define END 20758 /* 2026-10-31 */

/* Lower-case tokens of s (bytes >= 0x80 are letters), appended to a
 * space-delimited list " a b c ". */
static void tokens(const char *s, char *out, size_t cap)
{
    char w[128];
    size_t n = 0;
    for (const char *p = s;; p++) {
        unsigned char ch = (unsigned char)*p;
        int letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || ch >= 0x80;
        if (letter && n + 1 < sizeof w) {
            w[n++] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
            continue;
        }
        if (n) {
            w[n] = '\0';
            size_t k = strlen(out);
            if (k + n + 3 < cap)
                snprintf(out + k, cap - k, "%s%s ", k ? "" : " ", w);
            n = 0;
        }
        if (!ch)
            break;
    }
}

static int has_token(const char *list, const char *w)
{
    char pat[140];
    snprintf(pat, sizeof pat, " %s ", w);
    return strstr(list, pat) != NULL;
}

static char baseline[1 << 18];

static void build_baseline(void)
{
    baseline[0] = '\0';
    for (int t = 0; t < DEMO_NTOPIC; t++)
        for (int L = 0; L < DEMO_NLANG; L++) {
            const demo_phrase *ph = &demo_phrasebook[t][L];
            for (int k = 0; k < 4 && ph->subject[k]; k++)
                tokens(ph->subject[k], baseline, sizeof baseline);
            for (int k = 0; k < 4 && ph->body[k]; k++)
                tokens(ph->body[k], baseline, sizeof baseline);
        }
}

/* Tokens of 5+ bytes of one slot's object, symptom, feature and code in
 * every language that are not baseline words. */
static void own_words(const demo_issue *is, char *out, size_t cap)
{
    char all[4096] = "";
    for (int L = 0; L < DEMO_NLANG; L++) {
        tokens(demo_issue_object(is, L), all, sizeof all);
        tokens(demo_issue_symptom(is, L), all, sizeof all);
    }
    tokens(is->feature, all, sizeof all);
    out[0] = '\0';
    for (char *save = NULL, *w = strtok_r(all, " ", &save); w;
         w = strtok_r(NULL, " ", &save))
        if (strlen(w) >= 5 && !has_token(baseline, w) && !has_token(out, w)) {
            size_t k = strlen(out);
            snprintf(out + k, cap - k, "%s%s ", k ? "" : " ", w);
        }
}

static void prepared(demo_issue *is, int n, unsigned long seed)
{
    const double share[DEMO_NLANG] = {0.55, 0.2, 0.13, 0.12};
    for (int i = 0; i < n; i++) {
        vg_error err = {0};
        char spec[64];
        snprintf(spec, sizeof spec, "name=i%d", i);
        CHECK_INT_EQ(demo_issue_parse(spec, END, 450, &is[i], &err), VG_OK);
    }
    demo_issues_prepare(is, n, seed, 20000, share);
}

static void vocabulary_is_own(void)
{
    build_baseline();
    demo_issue is[DEMO_MAX_ISSUES];
    CHECK_INT_EQ(demo_issue_slots(), DEMO_MAX_ISSUES);
    prepared(is, DEMO_MAX_ISSUES, 5);
    char own[DEMO_MAX_ISSUES][1024];
    for (int i = 0; i < DEMO_MAX_ISSUES; i++) {
        own_words(&is[i], own[i], sizeof own[i]);
        /* an object and a symptom word of its own in every language */
        for (int L = 0; L < DEMO_NLANG; L++) {
            char o[512] = "", s[512] = "";
            int no = 0, ns = 0;
            tokens(demo_issue_object(&is[i], L), o, sizeof o);
            tokens(demo_issue_symptom(&is[i], L), s, sizeof s);
            for (char *sv = NULL, *w = strtok_r(o, " ", &sv); w;
                 w = strtok_r(NULL, " ", &sv))
                no += has_token(own[i], w);
            for (char *sv = NULL, *w = strtok_r(s, " ", &sv); w;
                 w = strtok_r(NULL, " ", &sv))
                ns += has_token(own[i], w);
            if (no == 0 || ns == 0)
                fprintf(stderr, "slot %d lang %d: '%s' / '%s'\n", is[i].slot, L,
                        demo_issue_object(&is[i], L),
                        demo_issue_symptom(&is[i], L));
            CHECK(no > 0);
            CHECK(ns > 0);
        }
        CHECK(!has_token(baseline, is[i].code));
    }
    /* no two issues of a run share one of those words, nor a name or code */
    for (int i = 0; i < DEMO_MAX_ISSUES; i++)
        for (int j = 0; j < i; j++) {
            CHECK(is[i].slot != is[j].slot);
            CHECK(strcmp(is[i].feature, is[j].feature) != 0);
            CHECK(strcmp(is[i].code, is[j].code) != 0);
            char copy[1024];
            snprintf(copy, sizeof copy, "%s", own[i]);
            for (char *sv = NULL, *w = strtok_r(copy, " ", &sv); w;
                 w = strtok_r(NULL, " ", &sv)) {
                if (has_token(own[j], w))
                    fprintf(stderr, "slots %d and %d share '%s'\n", is[i].slot,
                            is[j].slot, w);
                CHECK(!has_token(own[j], w));
            }
        }
    /* another seed pairs the run's issues with other slots */
    demo_issue other[2];
    prepared(other, 2, 6);
    CHECK(other[0].slot != is[0].slot);
}

static void specs_parse(void)
{
    demo_issue is;
    vg_error err = {0};
    CHECK_INT_EQ(demo_issue_parse("name=kiosk,onset=2026-10-05,shape=ramp,"
                                  "size=40,langs=de:fr,days=10",
                                  END, 450, &is, &err),
                 VG_OK);
    CHECK_STR_EQ(is.name, "kiosk");
    CHECK_INT_EQ(is.shape, ISH_RAMP);
    CHECK_INT_EQ(is.days, 10);
    CHECK_INT_EQ(is.lang_mask, (1 << DEMO_DE) | (1 << DEMO_FR));
    CHECK_INT_EQ(is.customers, 80);
    CHECK_INT_EQ(is.spike_of, -1);
    CHECK_INT_EQ(demo_issue_parse("name=s,spike=billing_invoice,factor=2.5,"
                                  "onset=-10",
                                  END, 450, &is, &err),
                 VG_OK);
    CHECK_INT_EQ(is.spike_of, TP_BILLING);
    CHECK_INT_EQ(is.onset, END - 10);
    CHECK_NEAR(is.factor, 2.5, 1e-12);
    static const struct {
        const char *spec, *says;
    } bad[] = {
        {"onset=-3", "name=... is required"},
        {"name=Kiosk", "name 'Kiosk'"},
        {"name=billing_invoice", "not a topic of the demo"},
        {"name=a,shape=wave", "shape 'wave'"},
        {"name=a,langs=en:it", "langs 'en:it'"},
        {"name=a,onset=2020-01-01", "outside the generated history"},
        {"name=a,onset=-500", "onset must be a whole number"},
        {"name=a,onset=-3.5", "onset must be a whole number"},
        {"name=a,customers=2.5", "customers must be a whole number from 1"},
        {"name=a,days=1.5", "days must be a whole number from 1 to 365"},
        {"name=a,size=0", "size must be a number"},
        {"name=a,spike=nothing", "spike 'nothing'"},
        {"name=a,colour=red", "unknown key 'colour'"},
        {"name=a,days", "'days' is not key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        CHECK_INT_EQ(demo_issue_parse(bad[i].spec, END, 450, &is, &err),
                     VG_EUSAGE);
        if (!strstr(err.msg, bad[i].says))
            fprintf(stderr, "%s: %s\n", bad[i].spec, err.msg);
        CHECK(strstr(err.msg, bad[i].says) != NULL);
    }
}

static void shapes_and_rates(void)
{
    demo_issue is;
    vg_error err = {0};
    CHECK_INT_EQ(
        demo_issue_parse("name=a,shape=ramp,days=10", END, 450, &is, &err),
        VG_OK);
    CHECK_NEAR(demo_issue_weight(&is, 0), 0.1, 1e-12);
    CHECK_NEAR(demo_issue_weight(&is, 9), 1.0, 1e-12);
    CHECK_NEAR(demo_issue_weight(&is, 10), 0, 0);
    CHECK_NEAR(demo_issue_weight(&is, -1), 0, 0);
    CHECK_INT_EQ(
        demo_issue_parse("name=a,shape=burst,days=8", END, 450, &is, &err),
        VG_OK);
    CHECK_NEAR(demo_issue_weight(&is, 0), 1.0, 1e-12);
    CHECK(demo_issue_weight(&is, 2) < 0.4 && demo_issue_weight(&is, 2) > 0.3);
    /* size = per_day x weights x affected x active share, in one language */
    CHECK_INT_EQ(demo_issue_parse("name=a,shape=ramp,days=10,size=30,langs=fr",
                                  END, 450, &is, &err),
                 VG_OK);
    const double share[DEMO_NLANG] = {0.55, 0.2, 0.13, 0.12};
    demo_issues_prepare(&is, 1, 1, 20000, share);
    CHECK_NEAR(is.p_affected, 60.0 / (20000 * 0.13), 1e-12);
    double sum = 0;
    for (int d = 0; d < is.days; d++)
        sum += demo_issue_weight(&is, d);
    CHECK_NEAR(is.per_day * sum * 60 * 0.72, 30, 1e-9);
    /* random issues are reproducible from the seed and valid */
    demo_issue a, b;
    for (int i = 0; i < 8; i++) {
        demo_issue_random(9, i, END, &a);
        demo_issue_random(9, i, END, &b);
        CHECK(memcmp(&a, &b, sizeof a) == 0);
        CHECK(a.onset < END && a.onset > END - 60);
        CHECK(a.lang_mask > 0 && a.lang_mask < 16);
        CHECK(a.spike_of >= 0 ? a.factor > 1 : a.size >= 15);
    }
}

int main(void)
{
    static const check_case cases[] = {
        {"vocabulary_is_own", vocabulary_is_own},
        {"specs_parse", specs_parse},
        {"shapes_and_rates", shapes_and_rates},
    };
    return check_run("demo_issues", cases, sizeof cases / sizeof cases[0]);
}
