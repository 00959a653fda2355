/* demo_text.c — the subject and body a customer would have sent: a filled
 * template in mail, chat or call-note form, with the noise real text carries.
 */
#include "demo/demo_internal.h"

#include <stdio.h>
#include <string.h>

enum { ST_TEXT = 7 };

static const char *const greetings[DEMO_NLANG][7] = {
    {"Hi,", "Hello,", "Hi team,", "Hello support,", "Dear support team,",
     "Good morning,", NULL},
    {"Hallo,", "Guten Tag,", "Hallo zusammen,",
     "Sehr geehrte Damen und Herren,", "Liebes Support-Team,", NULL, NULL},
    {"Bonjour,", "Bonjour à tous,", "Madame, Monsieur,", "Bonjour l'équipe,",
     NULL, NULL, NULL},
    {"Hola,", "Buenos días,", "Estimado equipo de soporte,", "Hola equipo,",
     NULL, NULL, NULL},
};
static const char *const closings[DEMO_NLANG][5] = {
    {"Thanks in advance.", "Thank you!", "Any help is appreciated.",
     "Please advise.", NULL},
    {"Vielen Dank im Voraus.", "Danke!",
     "Über eine schnelle Rückmeldung würde ich mich freuen.", NULL, NULL},
    {"Merci d'avance.", "Merci pour votre aide.",
     "Dans l'attente de votre retour.", NULL, NULL},
    {"Gracias de antemano.", "Muchas gracias.",
     "Quedo a la espera de su respuesta.", NULL, NULL},
};
static const char *const signoffs[DEMO_NLANG][5] = {
    {"Best regards,", "Kind regards,", "Cheers,", "Regards,", NULL},
    {"Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße", "LG", NULL},
    {"Cordialement,", "Bien cordialement,", "Bonne journée,", NULL, NULL},
    {"Saludos,", "Un saludo,", "Atentamente,", NULL, NULL},
};
static const char *const titles[DEMO_NLANG][5] = {
    {"Operations Manager", "Head of Sales Ops", "IT Administrator",
     "Finance Lead", NULL},
    {"Leiterin Vertriebsinnendienst", "IT-Administrator", "Buchhaltung",
     "Teamleiter Controlling", NULL},
    {"Responsable administratif", "Administrateur système",
     "Directrice commerciale", NULL, NULL},
    {"Responsable de operaciones", "Administrador de sistemas",
     "Jefa de ventas", NULL, NULL},
};
static const char *const mobile_footer[DEMO_NLANG] = {
    "Sent from my iPhone", "Von meinem iPhone gesendet", "Envoyé de mon iPhone",
    "Enviado desde mi iPhone"};
static const char *const disclaimer[DEMO_NLANG] = {
    "CONFIDENTIALITY NOTICE: This e-mail and any attachments are "
    "confidential and intended solely for the addressee. If you have received "
    "it in error, please notify the sender and delete it.",
    "Diese E-Mail enthält vertrauliche und/oder rechtlich geschützte "
    "Informationen. Wenn Sie nicht der richtige Adressat sind, informieren Sie "
    "bitte sofort den Absender und vernichten Sie diese E-Mail.",
    "Ce message et ses pièces jointes sont confidentiels et destinés "
    "exclusivement à leur destinataire. Si vous l'avez reçu par erreur, merci "
    "d'en informer l'expéditeur et de le supprimer.",
    "Este mensaje y sus anexos son confidenciales y están dirigidos "
    "exclusivamente a su destinatario. Si lo ha recibido por error, "
    "notifíquelo al remitente y elimínelo."};
static const char *const followup[DEMO_NLANG] = {
    "Any update on this? See below.",
    "Gibt es hierzu schon Neuigkeiten? Siehe unten.",
    "Avez-vous du nouveau à ce sujet ? Voir ci-dessous.",
    "¿Hay novedades sobre esto? Ver abajo."};
static const char *const quoted_text[DEMO_NLANG] = {
    "> Thank you for contacting Lumio Support. Could you send us a screenshot "
    "and the exact time the problem occurred?\n>\n> Best regards,\n> %s\n> "
    "Lumio Support",
    "> Vielen Dank für Ihre Nachricht. Könnten Sie uns einen Screenshot und "
    "den genauen Zeitpunkt des Problems schicken?\n>\n> Viele Grüße\n> %s\n> "
    "Lumio Support",
    "> Merci d'avoir contacté le support Lumio. Pourriez-vous nous envoyer une "
    "capture d'écran et l'heure exacte du problème ?\n>\n> Cordialement,\n> "
    "%s\n> Support Lumio",
    "> Gracias por contactar con el soporte de Lumio. ¿Podría enviarnos una "
    "captura de pantalla y la hora exacta del problema?\n>\n> Saludos,\n> "
    "%s\n> Soporte Lumio"};
static const char *const agents[] = {"Anna",  "Marco", "Julie", "Tom",
                                     "Sofia", "Ben",   NULL};
static const char *const months[DEMO_NLANG][12] = {
    {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
     "Nov", "Dec"},
    {"Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.",
     "Okt.", "Nov.", "Dez."},
    {"janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
     "oct.", "nov.", "déc."},
    {"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct",
     "nov", "dic"}};
static const char *const wday[DEMO_NLANG][7] = {
    {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"},
    {"Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"},
    {"lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."},
    {"lun", "mar", "mié", "jue", "vie", "sáb", "dom"}};

static const char *const integrations[] = {
    "Salesforce",      "HubSpot", "Slack",     "Jira",
    "Zendesk",         "Shopify", "SAP",       "Google Sheets",
    "Microsoft Teams", "Stripe",  "Pipedrive", NULL};
static const char *const idps[] = {
    "Okta", "Azure AD", "Google Workspace", "OneLogin", "Ping Identity", NULL};
static const char *const browsers[] = {"Chrome 124", "Firefox 126", "Safari 17",
                                       "Edge 125", NULL};
static const char *const devices[] = {"iPhone 14",  "iPhone 15 Pro", "Pixel 8",
                                      "Galaxy S23", "iPad Air",      NULL};
static const char *const reports[DEMO_NLANG][6] = {
    {"Monthly Revenue", "Pipeline Overview", "Weekly Active Users",
     "Sales by Region", "Churn Summary", NULL},
    {"Umsatz pro Monat", "Vertriebsübersicht", "Wöchentliche Nutzer",
     "Kostenstellen Q3", "Lagerbestand", NULL},
    {"Chiffre d'affaires mensuel", "Synthèse commerciale",
     "Utilisateurs actifs", "Ventes par région", NULL, NULL},
    {"Ventas por región", "Resumen mensual", "Usuarios activos",
     "Facturación trimestral", NULL, NULL}};
static const char *const features[DEMO_NLANG][6] = {
    {"a dark mode", "custom fields in reports", "PDF export of dashboards",
     "an audit log", "scheduled exports to S3", NULL},
    {"einen Dunkelmodus", "benutzerdefinierte Felder in Berichten",
     "PDF-Export von Dashboards", "ein Audit-Log", "geplante Exporte nach S3",
     NULL},
    {"un mode sombre", "des champs personnalisés dans les rapports",
     "l'export PDF des tableaux de bord", "un journal d'audit", NULL, NULL},
    {"un modo oscuro", "campos personalizados en los informes",
     "exportar paneles a PDF", "un registro de auditoría", NULL, NULL}};
static const char *const tz_names[4][4] = {
    {"America/New_York", "America/Chicago", "America/Los_Angeles", NULL},
    {"Europe/Berlin", "Europe/Paris", "Europe/London", "Europe/Madrid"},
    {"America/Mexico_City", "America/Sao_Paulo", "America/Bogota", NULL},
    {"Asia/Singapore", "Australia/Sydney", "Asia/Tokyo", NULL}};
/* Mojibake as UTF-8 text decoded as Latin-1: what the broken export shows. */
static const char *const umlaut_words[][2] = {{"Müller", "MÃ¼ller"},
                                              {"Straße", "StraÃŸe"},
                                              {"Köln", "KÃ¶ln"},
                                              {"Größe", "GrÃ¶ÃŸe"},
                                              {"Düsseldorf", "DÃ¼sseldorf"},
                                              {"Société", "SociÃ©tÃ©"},
                                              {"España", "EspaÃ±a"},
                                              {"Zürich", "ZÃ¼rich"}};

/* Entities a ticket names once and then sticks to, so the subject and the
 * body talk about the same report, device or integration. */
enum {
    PK_REPORT,
    PK_DEVICE,
    PK_INTEG,
    PK_IDP,
    PK_BROWSER,
    PK_FEATURE,
    PK_TZ,
    PK_N
};

/* Per-ticket facts the templates draw on. */
typedef struct fill_ctx {
    const demo_cust *c;
    const demo_ticket *t;
    const demo_issue *issue; /* an injected new issue's vocabulary, or NULL */
    int lang;
    char domain[64], email[160];
    const char *pick[PK_N];
} fill_ctx;

static const char *sticky(fill_ctx *f, demo_rng *r, int slot,
                          const char *const *list)
{
    if (!f->pick[slot])
        f->pick[slot] = demo_rng_word(r, list);
    return f->pick[slot];
}

/* Lower-case ASCII rendering of a name for e-mail addresses (ü -> ue). */
static void ascii_name(char *out, size_t cap, const char *s)
{
    static const struct {
        unsigned char b;
        const char *s;
    } map[] = {
        {0xA4, "ae"}, {0xB6, "oe"}, {0xBC, "ue"}, {0x9F, "ss"}, {0x84, "ae"},
        {0x96, "oe"}, {0x9C, "ue"}, {0xA9, "e"},  {0xA8, "e"},  {0xAA, "e"},
        {0xAB, "e"},  {0x89, "e"},  {0xA7, "c"},  {0xB1, "n"},  {0xA1, "a"},
        {0xA0, "a"},  {0xA2, "a"},  {0xAD, "i"},  {0xAF, "i"},  {0xAE, "i"},
        {0xB3, "o"},  {0xB4, "o"},  {0xBA, "u"},  {0xB9, "u"},  {0xBB, "u"}};
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 3 < cap;
         p++) {
        if (*p >= 'A' && *p <= 'Z')
            out[n++] = (char)(*p - 'A' + 'a');
        else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
            out[n++] = (char)*p;
        else if (*p == 0xC3 && p[1]) {
            for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                if (map[i].b == p[1]) {
                    for (const char *q = map[i].s; *q; q++)
                        out[n++] = *q;
                    break;
                }
            p++;
        }
    }
    out[n] = '\0';
}

static void make_domain(const demo_cust *c, char *out, size_t cap)
{
    char a[48], b[48];
    const char *sp = strchr(c->name, ' ');
    size_t la = sp ? (size_t)(sp - c->name) : strlen(c->name);
    char first[48];
    snprintf(first, sizeof first, "%.*s", (int)la, c->name);
    ascii_name(a, sizeof a, first);
    b[0] = '\0';
    if (sp) {
        const char *sp2 = strchr(sp + 1, ' ');
        size_t lb = sp2 ? (size_t)(sp2 - sp - 1) : strlen(sp + 1);
        char second[48];
        snprintf(second, sizeof second, "%.*s", (int)lb, sp + 1);
        ascii_name(b, sizeof b, second);
    }
    static const char *const tld[DEMO_NLANG] = {".com", ".de", ".fr", ".es"};
    const char *t = tld[c->lang];
    if (c->lang == DEMO_EN && c->region == REG_EMEA)
        t = ".co.uk";
    else if (c->lang == DEMO_EN && c->region == REG_APAC)
        t = ".com.au";
    else if (c->lang == DEMO_ES && c->region == REG_LATAM)
        t = ".com.mx";
    else if (c->lang == DEMO_FR && c->region == REG_NA)
        t = ".ca";
    snprintf(out, cap, "%s%s%s", a, b, t);
}

static void person_email(demo_rng *r, const fill_ctx *f, const char *first,
                         const char *last, char *out, size_t cap)
{
    char a[40], b[40];
    ascii_name(a, sizeof a, first);
    ascii_name(b, sizeof b, last);
    switch (demo_rng_range(r, 0, 2)) {
    case 0:
        snprintf(out, cap, "%s.%s@%s", a, b, f->domain);
        break;
    case 1:
        snprintf(out, cap, "%c.%s@%s", a[0], b, f->domain);
        break;
    default:
        snprintf(out, cap, "%s%c@%s", a, b[0], f->domain);
        break;
    }
}

/* Thousands-separated money in the customer's locale. */
static void put_money(strbuf *b, long cents, int lang)
{
    long units = cents / 100, frac = cents % 100;
    char digits[32], grouped[48];
    snprintf(digits, sizeof digits, "%ld", units);
    char sep = lang == DEMO_EN ? ',' : lang == DEMO_FR ? ' ' : '.';
    size_t n = strlen(digits), k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            grouped[k++] = sep;
        grouped[k++] = digits[i];
    }
    grouped[k] = '\0';
    if (lang == DEMO_EN)
        strbuf_printf(b, "$%s.%02ld", grouped, frac);
    else
        strbuf_printf(b, "%s,%02ld €", grouped, frac);
}

static void put_date(strbuf *b, int day, int lang)
{
    int y, m, d;
    demo_civil(day, &y, &m, &d);
    if (lang == DEMO_EN) {
        static const char *const mon[12] = {"January", "February", "March",
                                            "April",   "May",      "June",
                                            "July",    "August",   "September",
                                            "October", "November", "December"};
        strbuf_printf(b, "%s %d", mon[m - 1], d);
    } else if (lang == DEMO_DE) {
        strbuf_printf(b, "%02d.%02d.%04d", d, m, y);
    } else {
        strbuf_printf(b, "%02d/%02d/%04d", d, m, y);
    }
}

/* Placeholders that stand for a number, an id or a moment: fresh draws,
 * except {seats}, {amount} and {file}, which follow the customer and the
 * ticket. Returns 1 when key was one of them.
 * Here and below, two draws never share one expression: C leaves the order
 * of arguments (and of the operands of +) open, and gcc and clang choose
 * differently, so the same seed wrote different tickets. The draws are
 * sequenced in the order gcc used, which keeps every demo company as it
 * was. */
static int put_number(strbuf *out, const char *key, const fill_ctx *f,
                      demo_rng *r)
{
    const demo_cust *c = f->c;
    if (!strcmp(key, "n"))
        strbuf_printf(out, "%ld",
                      (long)exp(log(5.0) + demo_rng_unif(r) * log(500.0)));
    else if (!strcmp(key, "pct"))
        strbuf_printf(out, "%ld", demo_rng_range(r, 3, 97));
    else if (!strcmp(key, "secs"))
        strbuf_printf(out, "%ld", demo_rng_range(r, 8, 90));
    else if (!strcmp(key, "ms"))
        strbuf_printf(out, "%ld", demo_rng_range(r, 12, 95) * 100);
    else if (!strcmp(key, "seats"))
        strbuf_printf(out, "%d", c->seats);
    else if (!strcmp(key, "inv"))
        strbuf_printf(out, "INV-%ld", demo_rng_range(r, 10000, 99999));
    else if (!strcmp(key, "ord"))
        strbuf_printf(out, "%ld", demo_rng_range(r, 1000, 99999));
    else if (!strcmp(key, "version")) {
        long patch = demo_rng_range(r, 0, 9), minor = demo_rng_range(r, 0, 12);
        strbuf_printf(out, "%ld.%ld.%ld", demo_rng_range(r, 3, 5), minor,
                      patch);
    } else if (!strcmp(key, "date"))
        put_date(out, f->t->day - (int)demo_rng_range(r, 1, 12), f->lang);
    else if (!strcmp(key, "time")) {
        long minute = demo_rng_range(r, 0, 59);
        strbuf_printf(out, "%02ld:%02ld", demo_rng_range(r, 8, 18), minute);
    } else if (!strcmp(key, "amount")) {
        long whole = (long)(c->mrr_cents * (1 + demo_rng_unif(r))) / 100 * 100;
        put_money(out, whole + demo_rng_range(r, 0, 99), f->lang);
    } else if (!strcmp(key, "file")) {
        static const char *const base[] = {"export", "report", "customers",
                                           "data", NULL};
        int y, m, d;
        demo_civil(f->t->day, &y, &m, &d);
        strbuf_printf(out, "%s_%04d-%02d-%02d.csv", demo_rng_word(r, base), y,
                      m, d);
    } else
        return 0;
    return 1;
}

/* An error code in one of the three shapes support sees pasted. */
static void put_code(strbuf *out, demo_rng *r)
{
    switch (demo_rng_range(r, 0, 2)) {
    case 0:
        strbuf_printf(out, "ERR-%ld", demo_rng_range(r, 1000, 9999));
        break;
    case 1:
        strbuf_printf(out, "req_%08lx",
                      (unsigned long)(demo_rng_u64(r) & 0xffffffff));
        break;
    default:
        strbuf_printf(out, "E%ld", demo_rng_range(r, 100, 999));
    }
}

/* Placeholders for addresses, links and error codes. Returns 1 when key was
 * one of them. */
static int put_address(strbuf *out, const char *key, const fill_ctx *f,
                       demo_rng *r)
{
    if (!strcmp(key, "email"))
        strbuf_puts(out, f->email);
    else if (!strcmp(key, "user")) {
        /* A colleague of the writer, at the same company domain. */
        static const char *const given[] = {"Max",  "Lea",  "Paul", "Nina",
                                            "Omar", "Eva",  "Luca", "Marta",
                                            "Jan",  "Ines", NULL};
        static const char *const family[] = {"Keller", "Roux", "Vega",  "Park",
                                             "Novak",  "Lund", "Costa", "Weber",
                                             "Ortiz",  NULL};
        char e[160];
        const char *last = demo_rng_word(r, family);
        person_email(r, f, demo_rng_word(r, given), last, e, sizeof e);
        strbuf_puts(out, e);
    } else if (!strcmp(key, "url")) {
        long id = demo_rng_range(r, 100, 99999);
        strbuf_printf(out, "https://app.lumio.example/%s/%ld",
                      demo_rng_chance(r, 0.5) ? "dashboards" : "reports", id);
    } else if (!strcmp(key, "hook"))
        strbuf_printf(out, "https://hooks.%s/lumio/events", f->domain);
    else if (!strcmp(key, "code"))
        put_code(out, r);
    else if (!strcmp(key, "http")) {
        static const char *const codes[] = {"500", "502", "503",
                                            "401", "404", NULL};
        strbuf_puts(out, demo_rng_word(r, codes));
    } else
        return 0;
    return 1;
}

/* Placeholders naming something of the customer's (sticky: see PK_*), the
 * plan above theirs, the umlaut word, or the injected issue's vocabulary.
 * Returns 1 when key was one of them. */
static int put_name(strbuf *out, const char *key, fill_ctx *f, demo_rng *r)
{
    const demo_cust *c = f->c;
    const int L = f->lang;
    if (!strcmp(key, "integ"))
        strbuf_puts(out, sticky(f, r, PK_INTEG, integrations));
    else if (!strcmp(key, "idp"))
        strbuf_puts(out, sticky(f, r, PK_IDP, idps));
    else if (!strcmp(key, "browser"))
        strbuf_puts(out, sticky(f, r, PK_BROWSER, browsers));
    else if (!strcmp(key, "device"))
        strbuf_puts(out, sticky(f, r, PK_DEVICE, devices));
    else if (!strcmp(key, "report"))
        strbuf_puts(out, sticky(f, r, PK_REPORT, reports[L]));
    else if (!strcmp(key, "feature"))
        strbuf_puts(out, sticky(f, r, PK_FEATURE, features[L]));
    else if (!strcmp(key, "tz"))
        strbuf_puts(out, sticky(f, r, PK_TZ, tz_names[c->region]));
    else if (!strcmp(key, "plan")) {
        int next =
            c->plan + 1 > PLAN_ENTERPRISE ? PLAN_ENTERPRISE : c->plan + 1;
        static const char *const cap[DEMO_NPLAN] = {"Starter", "Team",
                                                    "Business", "Enterprise"};
        strbuf_puts(out, cap[next]);
    } else if (!strcmp(key, "word") || !strcmp(key, "mojibake")) {
        /* Both placeholders of one template must name the same word, so
         * the choice is a function of the ticket, not a fresh draw. */
        int k = (int)((f->t->seq + c->idx) % 8);
        if (L == DEMO_DE)
            k = k % 5;
        strbuf_puts(out, umlaut_words[k][key[0] == 'm']);
    } else if (f->issue && !strcmp(key, "feat"))
        strbuf_puts(out, f->issue->feature);
    else if (f->issue && !strcmp(key, "ecode"))
        strbuf_puts(out, f->issue->code);
    else if (f->issue && !strcmp(key, "obj"))
        strbuf_puts(out, demo_issue_object(f->issue, L));
    else if (f->issue && !strcmp(key, "sym"))
        strbuf_puts(out, demo_issue_symptom(f->issue, L));
    else
        return 0;
    return 1;
}

/* Copies tpl to out with each {key} replaced; an unknown key (or an issue
 * key when the ticket has no injected issue) stays as written. */
static void fill(strbuf *out, const char *tpl, fill_ctx *f, demo_rng *r)
{
    const char *p = tpl;
    while (*p) {
        const char *open = strchr(p, '{');
        if (!open) {
            strbuf_puts(out, p);
            return;
        }
        strbuf_append(out, p, (size_t)(open - p));
        const char *close = strchr(open, '}');
        if (!close) {
            strbuf_puts(out, open);
            return;
        }
        char key[16];
        snprintf(key, sizeof key, "%.*s", (int)(close - open - 1), open + 1);
        p = close + 1;
        if (!put_number(out, key, f, r) && !put_address(out, key, f, r) &&
            !put_name(out, key, f, r))
            strbuf_append(out, open, (size_t)(close - open + 1));
    }
}

/* Swap a few adjacent ASCII letters, the commonest typing slip. */
static void add_typos(strbuf *b, demo_rng *r, size_t from)
{
    int n = (int)demo_rng_range(r, 1, 3);
    for (int i = 0; i < n && b->len > from + 2; i++) {
        size_t at =
            from + (size_t)demo_rng_range(r, 0, (long)(b->len - from - 2));
        char x = b->s[at], y = b->s[at + 1];
        int ax = (x >= 'a' && x <= 'z'), ay = (y >= 'a' && y <= 'z');
        if (ax && ay && x != y) {
            b->s[at] = y;
            b->s[at + 1] = x;
        }
    }
}

static void put_html(strbuf *out, const char *text)
{
    strbuf_puts(out, "<html><head><style>p{margin:0}</style></head><body>"
                     "<div dir=\"ltr\"><p>");
    for (const char *p = text; *p; p++) {
        switch (*p) {
        case '\n':
            strbuf_puts(out, p[1] == '\n' ? "</p><p>" : "<br>");
            if (p[1] == '\n')
                p++;
            break;
        case '<':
            strbuf_puts(out, "&lt;");
            break;
        case '>':
            strbuf_puts(out, "&gt;");
            break;
        case '&':
            strbuf_puts(out, "&amp;");
            break;
        case '"':
            strbuf_puts(out, "&quot;");
            break;
        default:
            strbuf_append(out, p, 1);
        }
    }
    strbuf_puts(out, "</p></div></body></html>");
}

static void put_quote_header(strbuf *b, const demo_ticket *t, int L,
                             demo_rng *r)
{
    int day = t->day - (int)demo_rng_range(r, 1, 4);
    int y, m, d;
    demo_civil(day, &y, &m, &d);
    const char *mon = months[L][m - 1];
    const char *wd = wday[L][demo_weekday(day)];
    int hh = (int)demo_rng_range(r, 8, 18), mm = (int)demo_rng_range(r, 0, 59);
    static const char *const from = "Lumio Support <support@lumio.example>";
    switch (L) {
    case DEMO_DE:
        strbuf_printf(b, "Am %s., %d. %s %d um %02d:%02d schrieb %s:\n", wd, d,
                      mon, y, hh, mm, from);
        break;
    case DEMO_FR:
        strbuf_printf(b, "Le %s %d %s %d à %02d:%02d, %s a écrit :\n", wd, d,
                      mon, y, hh, mm, from);
        break;
    case DEMO_ES:
        strbuf_printf(b, "El %s, %d %s %d a las %02d:%02d, %s escribió:\n", wd,
                      d, mon, y, hh, mm, from);
        break;
    default:
        strbuf_printf(b, "On %s, %d %s %d at %02d:%02d, %s wrote:\n", wd, d,
                      mon, y, hh, mm, from);
    }
}

/* The pasted import log that makes a body several megabytes long. */
static void put_huge_log(strbuf *b, demo_rng *r, const demo_ticket *t)
{
    size_t target = b->len + (size_t)demo_rng_range(r, 2, 4) * 1000000;
    target += (size_t)demo_rng_range(r, 0, 999999);
    int y, m, d;
    demo_civil(t->day, &y, &m, &d);
    strbuf_puts(b, "\n\n--- import log (full) ---\n");
    for (long row = 2; b->len < target && !b->failed; row++) {
        long year = demo_rng_range(r, 1990, 2024);
        long month = demo_rng_range(r, 1, 12), day = demo_rng_range(r, 1, 31);
        long worker = demo_rng_range(r, 1, 8);
        strbuf_printf(b,
                      "%04d-%02d-%02d 09:%02ld:%02ld.%03ld ERROR "
                      "[import-worker-%ld] row %ld: value \"%ld/%ld/%ld\" "
                      "could not be parsed as date (column 'signup_date'), "
                      "row skipped\n",
                      y, m, d, row / 3600 % 60, row / 60 % 60, row % 1000,
                      worker, row, day, month, year);
    }
}

/* The phrases ticket t is written from: an injected new issue speaks its
 * own words (demo_issues.c), three subjects and three bodies in matching
 * order like the phrasebook, filled into *own; every other topic uses the
 * phrasebook. */
static const demo_phrase *ticket_phrases(const demo_ctx *x,
                                         const demo_ticket *t, fill_ctx *f,
                                         demo_phrase *own)
{
    const int L = t->lang;
    if (t->topic != TP_INJECTED)
        return &demo_phrasebook[t->topic][L];
    f->issue = &x->issues[(int)t->issue];
    for (int k = 0; k < 3; k++) {
        own->subject[k] = demo_issue_subject(f->issue, L, k);
        own->body[k] = demo_issue_body(f->issue, L, k);
    }
    return own;
}

/* The subject: a reply ("Re: ") or an urgent prefix now and then, one of
 * the topic's subjects, and rarely a typo. Sets *quoted (the ticket
 * answers a mail of ours) and returns the subject's index. */
static int put_subject(strbuf *subject, const demo_phrase *ph, fill_ctx *f,
                       demo_rng *r, int *quoted)
{
    const demo_ticket *t = f->t;
    const int L = t->lang;
    *quoted = t->channel == 0 && demo_rng_chance(r, 0.15);
    if (*quoted) {
        static const char *const re[DEMO_NLANG] = {
            "Re: ", "AW: ", "RE : ", "RE: "};
        strbuf_puts(subject, re[L]);
    } else if (t->priority == PRIO_URGENT && t->topic != TP_SSO_OUTAGE &&
               demo_rng_chance(r, 0.3)) {
        static const char *const urgent[DEMO_NLANG] = {
            "URGENT: ", "DRINGEND: ", "URGENT : ", "URGENTE: "};
        strbuf_puts(subject, urgent[L]);
    }
    int nsub = 0;
    while (ph->subject[nsub])
        nsub++;
    int si = (int)demo_rng_range(r, 0, nsub - 1);
    fill(subject, ph->subject[si], f, r);
    if (demo_rng_chance(r, 0.03))
        add_typos(subject, r, 0);
    return si;
}

/* A chat transcript: the customer's message and the agent's first reply. */
static void put_chat(strbuf *out, const char *tpl, fill_ctx *f, demo_rng *r)
{
    const demo_cust *c = f->c;
    const int L = f->t->lang;
    int sod = (int)(f->t->created % 86400);
    int reply = sod + (int)demo_rng_range(r, 40, 300);
    strbuf_printf(out, "Chat transcript\n[%02d:%02d] %s: ", sod / 3600,
                  sod / 60 % 60, c->contact_first);
    fill(out, tpl, f, r);
    strbuf_printf(out, "\n[%02d:%02d] %s (Lumio): ", reply / 3600 % 24,
                  reply / 60 % 60, demo_rng_word(r, agents));
    strbuf_puts(out, L == DEMO_DE   ? "Danke, ich schaue mir das an."
                     : L == DEMO_FR ? "Merci, je regarde cela."
                     : L == DEMO_ES ? "Gracias, lo reviso ahora."
                                    : "Thanks, let me look into that.");
}

/* An email's signature block: sign-off and name, maybe a title, the
 * company, a phone number, a mobile footer or a legal disclaimer. */
static void put_signature(strbuf *out, const demo_cust *c, int L, demo_rng *r)
{
    strbuf_printf(out, "\n\n%s\n%s %s", demo_rng_word(r, signoffs[L]),
                  c->contact_first, c->contact_last);
    if (demo_rng_chance(r, 0.4))
        strbuf_printf(out, "\n%s", demo_rng_word(r, titles[L]));
    if (demo_rng_chance(r, 0.5))
        strbuf_printf(out, "\n%s", c->name);
    if (demo_rng_chance(r, 0.2)) {
        long line = demo_rng_range(r, 100000, 9999999);
        long area = demo_rng_range(r, 10, 999);
        strbuf_printf(out, "\n+%ld %ld %ld", demo_rng_range(r, 1, 99), area,
                      line);
    }
    if (demo_rng_chance(r, 0.08))
        strbuf_printf(out, "\n\n%s", mobile_footer[L]);
    if (demo_rng_chance(r, 0.05))
        strbuf_printf(out, "\n\n%s", disclaimer[L]);
}

/* An email or web form: the message wrapped in what people write around
 * it (a follow-up line, greeting, closing, signature, the quoted mail it
 * answers), each only sometimes. */
static void put_email(strbuf *out, const char *tpl, int quoted, fill_ctx *f,
                      demo_rng *r)
{
    const demo_cust *c = f->c;
    const demo_ticket *t = f->t;
    const int L = t->lang;
    if (quoted && demo_rng_chance(r, 0.6)) {
        strbuf_puts(out, followup[L]);
        strbuf_puts(out, "\n\n");
    }
    if (demo_rng_chance(r, 0.7)) {
        strbuf_puts(out, demo_rng_word(r, greetings[L]));
        strbuf_puts(out, "\n\n");
    }
    fill(out, tpl, f, r);
    if (demo_rng_chance(r, 0.2))
        strbuf_printf(out, "\n\nCustomer ID: %s", c->id);
    if (demo_rng_chance(r, 0.6)) {
        strbuf_puts(out, "\n\n");
        strbuf_puts(out, demo_rng_word(r, closings[L]));
    }
    if (t->channel == 0 && demo_rng_chance(r, 0.8))
        put_signature(out, c, L, r);
    if (quoted) {
        strbuf_puts(out, "\n\n");
        put_quote_header(out, t, L, r);
        strbuf_printf(out, quoted_text[L], demo_rng_word(r, agents));
    }
}

/* The body as plain text in the ticket's channel's form. */
static void put_body_text(strbuf *out, const char *tpl, int quoted, fill_ctx *f,
                          demo_rng *r)
{
    const demo_cust *c = f->c;
    switch (f->t->channel) {
    case 1: /* chat */
        put_chat(out, tpl, f, r);
        break;
    case 2: { /* phone: the agent's call notes */
        static const char *const notes[DEMO_NLANG] = {
            "Call notes: ", "Telefonnotiz: ", "Note d'appel : ",
            "Nota de llamada: "};
        strbuf_printf(out, "%s%s %s - ", notes[f->t->lang], c->contact_first,
                      c->contact_last);
        fill(out, tpl, f, r);
        break;
    }
    case 3: /* social: a public post */
        strbuf_puts(out, "@lumio_app ");
        fill(out, tpl, f, r);
        break;
    default: /* email and web form */
        put_email(out, tpl, quoted, f, r);
    }
}

void demo_ticket_text(const demo_ctx *x, const demo_cust *c,
                      const demo_ticket *t, strbuf *subject, strbuf *body)
{
    demo_rng r;
    demo_rng_seed(&r, x->seed, ((uint64_t)c->idx << 8) | (uint64_t)t->seq,
                  ST_TEXT);
    fill_ctx f = {.c = c, .t = t, .lang = t->lang};
    make_domain(c, f.domain, sizeof f.domain);
    person_email(&r, &f, c->contact_first, c->contact_last, f.email,
                 sizeof f.email);
    demo_phrase own = {{NULL}, {NULL}};
    const demo_phrase *ph = ticket_phrases(x, t, &f, &own);

    strbuf_reset(subject);
    strbuf_reset(body);
    int quoted;
    int si = put_subject(subject, ph, &f, &r, &quoted);
    if (t->dirty == DT_EMPTY_BODY)
        return;

    /* Compose the plain text first; HTML is a rendering of it. */
    strbuf text = {0};
    strbuf *out = body;
    int html = t->channel == 0 && demo_rng_chance(&r, 0.1);
    if (html)
        out = &text;
    /* Subjects and bodies are listed in matching order; most writers keep
     * to one story, some do not. */
    int nbody = 0;
    while (ph->body[nbody])
        nbody++;
    int bi = si < nbody && demo_rng_chance(&r, 0.7)
                 ? si
                 : (int)demo_rng_range(&r, 0, nbody - 1);
    put_body_text(out, ph->body[bi], quoted, &f, &r);
    if (demo_rng_chance(&r, 0.12))
        add_typos(out, &r, 0);
    if (html) {
        put_html(body, text.s ? text.s : "");
        if (text.failed)
            body->failed = 1;
        strbuf_free(&text);
    }
    if (t->dirty == DT_HUGE_BODY)
        put_huge_log(body, &r, t);
}
