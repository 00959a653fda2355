/* demo_issues.c — injected issues: their specs (`vigil demo --issue`), a
 * seed-driven random set, their shape over time, and the vocabulary their
 * tickets are written in. Each issue of a run takes its own vocabulary slot
 * (an object, a symptom, a product name and an error code), so two issues
 * never share their distinctive words and none of them occurs in the
 * baseline phrasebook (tests/test_demo_issues.c checks both). */
#include "demo/demo_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/date.h"

#define NSLOT 12
/* Share of all customers active on a recent day (created, not yet gone),
 * measured on the default company; sizes are "about" this many tickets. */
#define ACTIVE_SHARE 0.72

/* What breaks, per slot and language. */
static const char *const objects[NSLOT][DEMO_NLANG] = {
    {"shift planner", "Schichtplaner", "planificateur d'équipes",
     "planificador de turnos"},
    {"barcode reader", "Barcodeleser", "lecteur de codes-barres",
     "lector de códigos de barras"},
    {"voice memo", "Sprachnotiz", "mémo vocal", "grabadora de voz"},
    {"geofence", "Geozaun", "géorepérage", "geocerca"},
    {"approval chain", "Freigabekette", "chaîne d'approbation",
     "cadena de aprobación"},
    {"expense receipts", "Spesenbelege", "notes de frais", "recibos de gastos"},
    {"mileage logbook", "Fahrtenbuch", "carnet kilométrique",
     "bitácora de kilometraje"},
    {"seating chart", "Sitzplan", "plan de salle", "plano de asientos"},
    {"loyalty stamps", "Treuestempel", "tampons de fidélité",
     "sellos de fidelidad"},
    {"stock forecast", "Bestandsprognose", "prévision des stocks",
     "previsión de inventario"},
    {"kiosk mode", "Kioskmodus", "mode kiosque", "modo quiosco"},
    {"route optimizer", "Tourenplaner", "optimiseur de tournées",
     "optimizador de rutas"},
};

/* How it breaks, per slot and language: a clause with a word of its own. */
static const char *const symptoms[NSLOT][DEMO_NLANG] = {
    {"the screen turns pink", "der Bildschirm färbt sich pink",
     "l'écran vire au fuchsia", "la pantalla se pone rosada"},
    {"pictures come out sideways", "Bilder erscheinen seitenverkehrt",
     "les photos sortent pivotées", "las fotos salen giradas"},
    {"first and last names get swapped", "Vor- und Nachnamen sind vertauscht",
     "prénoms et noms sont intervertis", "se intercambian nombres y apellidos"},
    {"an extra blank page gets printed",
     "eine zusätzliche Leerseite wird "
     "gedruckt",
     "une page blanche supplémentaire s'imprime",
     "se imprime una hoja en blanco sobrante"},
    {"the last digit is chopped", "die letzte Ziffer wird abgehackt",
     "le dernier chiffre est amputé", "se mutila el último dígito"},
    {"the hourglass never disappears", "die Sanduhr verschwindet nie",
     "le sablier ne disparaît jamais", "el reloj de arena nunca desaparece"},
    {"every entry gets cloned", "jeder Eintrag wird geklont",
     "chaque entrée est clonée", "cada entrada se clona"},
    {"the totals are off by one penny", "die Summen weichen um einen Cent ab",
     "les totaux ont un centime d'écart", "los totales difieren en un céntimo"},
    {"the map jumps into the ocean", "die Landkarte springt ins Meer",
     "la carte saute dans l'océan", "el mapa salta al océano"},
    {"the tablet beeps nonstop", "das Tablet piept ununterbrochen",
     "la tablette bipe sans arrêt", "la tableta pita sin parar"},
    {"the layout is mirrored", "das Layout ist gespiegelt",
     "la mise en page est inversée en miroir", "el diseño aparece en espejo"},
    {"the font shrinks to microscopic size", "die Schrift schrumpft winzig",
     "la police devient minuscule", "la letra se vuelve diminuta"},
};

/* Product names: a prefix per slot (distinct initials), a suffix. */
static const char *const feat_pre[NSLOT] = {"Quill", "Brisk", "Tally", "Nimbo",
                                            "Pylon", "Vexa",  "Orra",  "Zento",
                                            "Kiwa",  "Dabo",  "Ferro", "Gallo"};
static const char *const feat_suf[NSLOT] = {"sync", "desk", "flow", "mate",
                                            "grid", "loop", "dock", "kit",
                                            "hub",  "wave", "nest", "beam"};

static const char *const subjects[DEMO_NLANG][3] = {
    {"{feat}: {sym}", "Error {ecode} in the {obj}",
     "Problem with the {obj} in {feat}"},
    {"{feat}: {sym}", "Fehler {ecode} im Modul {obj}",
     "Problem mit {obj} in {feat}"},
    {"{feat} : {sym}", "Erreur {ecode} dans le module {obj}",
     "Problème avec {obj} dans {feat}"},
    {"{feat}: {sym}", "Error {ecode} en el módulo {obj}",
     "Problema con {obj} en {feat}"},
};
static const char *const bodies[DEMO_NLANG][3] = {
    {"Since {date} {sym} in the {obj} of {feat}. The message says "
     "\"{ecode}\". We did not change anything on our side.",
     "Our team relies on the {obj} every day. Today {sym} for {n} records and "
     "{feat} shows error {ecode}. Please check.",
     "When we open the {obj} in {feat}, {sym}. Tried {browser} as well, same "
     "result. Code: {ecode}"},
    {"Seit dem {date} gibt es ein Problem mit {obj} in {feat}: {sym}. Die "
     "Meldung lautet \"{ecode}\". Wir haben nichts geändert.",
     "Wir nutzen {obj} täglich. Heute bei {n} Datensätzen: {sym}, und {feat} "
     "zeigt Fehler {ecode}. Bitte prüfen.",
     "Wenn wir {obj} in {feat} öffnen: {sym}. Mit {browser} das gleiche. "
     "Code: {ecode}"},
    {"Depuis le {date}, problème avec {obj} dans {feat} : {sym}. Le message "
     "indique « {ecode} ». Nous n'avons rien changé.",
     "Nous utilisons {obj} tous les jours. Aujourd'hui, sur {n} fiches : "
     "{sym}, et {feat} affiche l'erreur {ecode}.",
     "Quand nous ouvrons {obj} dans {feat} : {sym}. Même chose avec "
     "{browser}. Code : {ecode}"},
    {"Desde el {date} hay un problema con {obj} en {feat}: {sym}. El mensaje "
     "dice \"{ecode}\". No hemos cambiado nada.",
     "Usamos {obj} todos los días. Hoy, con {n} registros: {sym}, y {feat} "
     "muestra el error {ecode}.",
     "Al abrir {obj} en {feat}: {sym}. Lo mismo con {browser}. Código: "
     "{ecode}"},
};

int demo_issue_slots(void)
{
    return NSLOT;
}

const char *demo_issue_subject(const demo_issue *is, int L, int k)
{
    (void)is;
    return subjects[L][k % 3];
}

const char *demo_issue_body(const demo_issue *is, int L, int k)
{
    (void)is;
    return bodies[L][k % 3];
}

const char *demo_issue_object(const demo_issue *is, int L)
{
    return objects[is->slot % NSLOT][L];
}

/* The symptom slot is a permutation of the object slot (5 is prime to 12),
 * so worlds pair objects and symptoms differently yet never repeat one. */
const char *demo_issue_symptom(const demo_issue *is, int L)
{
    return symptoms[(is->slot * 5 + 7) % NSLOT][L];
}

static const char *const shape_name[] = {"step", "ramp", "burst"};

double demo_issue_weight(const demo_issue *is, int d)
{
    if (d < 0 || d >= is->days)
        return 0;
    switch (is->shape) {
    case ISH_RAMP:
        return (d + 1.0) / is->days;
    case ISH_BURST: {
        double tau = is->days / 4.0 < 1 ? 1 : is->days / 4.0;
        return exp(-d / tau);
    }
    default:
        return 1;
    }
}

static int lang_index(const char *s, size_t n)
{
    for (int L = 0; L < DEMO_NLANG; L++)
        if (strlen(demo_lang_code[L]) == n && !strncmp(s, demo_lang_code[L], n))
            return L;
    return -1;
}

static int base_topic(const char *s)
{
    for (int i = 0; i < DEMO_NBASE_TOPIC; i++)
        if (!strcmp(s, demo_topic_key[i]))
            return i;
    return -1;
}

static vg_code parse_number(const char *key, const char *v, double lo,
                            double hi, double *out, vg_error *err)
{
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end || !(d >= lo && d <= hi))
        return vg_fail(err, VG_EUSAGE,
                       "--issue: %s must be a number from %g to %g (got '%s')",
                       key, lo, hi, v);
    *out = d;
    return VG_OK;
}

/* Counts (customers, days): a fraction would be cut silently, so it is
 * refused like any other bad value. */
static vg_code parse_whole(const char *key, const char *v, long lo, long hi,
                           long *out, vg_error *err)
{
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end || errno || n < lo || n > hi)
        return vg_fail(err, VG_EUSAGE,
                       "--issue: %s must be a whole number from %ld to %ld "
                       "(got '%s')",
                       key, lo, hi, v);
    *out = n;
    return VG_OK;
}

/* name=: the truth key of the issue's tickets, so it must not collide with
 * a topic the demo already writes (nor the two planted issues). */
static vg_code parse_name(const char *v, demo_issue *is, vg_error *err)
{
    size_t n = strlen(v);
    int ok = n > 0 && n < sizeof is->name;
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)v[i]) || isdigit((unsigned char)v[i]) ||
             v[i] == '_';
    if (!ok || base_topic(v) >= 0 || !strcmp(v, "csv_export_broken") ||
        !strcmp(v, "sso_outage"))
        return vg_fail(err, VG_EUSAGE,
                       "--issue: name '%s' must be 1-39 of a-z, 0-9 and _ "
                       "and not a topic of the demo",
                       v);
    snprintf(is->name, sizeof is->name, "%s", v);
    return VG_OK;
}

/* onset=: a date or -DAYS before --end, inside the generated history. */
static vg_code parse_onset(const char *v, int end_day, int history_days,
                           demo_issue *is, vg_error *err)
{
    int day;
    if (v[0] == '-') {
        long d = 0;
        vg_code rc = parse_whole("onset", v + 1, 1, history_days - 1, &d, err);
        if (rc != VG_OK)
            return rc;
        day = end_day - (int)d;
    } else if (date_parse(v, &day) != 0) {
        return vg_fail(err, VG_EUSAGE,
                       "--issue: onset '%s' is not a date (YYYY-MM-DD) "
                       "nor -DAYS before the end",
                       v);
    }
    if (day <= end_day - history_days || day >= end_day)
        return vg_fail(err, VG_EUSAGE,
                       "--issue: onset %s is outside the generated "
                       "history (the %d days before --end)",
                       v, history_days);
    is->onset = day;
    return VG_OK;
}

/* langs=: 'all' or language codes joined by ':'. */
static vg_code parse_langs(const char *v, demo_issue *is, vg_error *err)
{
    is->lang_mask = 0;
    if (!strcmp(v, "all")) {
        is->lang_mask = (1 << DEMO_NLANG) - 1;
        return VG_OK;
    }
    const char *p = v;
    do {
        size_t n = strcspn(p, ":");
        int L = lang_index(p, n);
        if (L < 0)
            return vg_fail(err, VG_EUSAGE,
                           "--issue: langs '%s' must be 'all' or codes "
                           "of en, de, fr, es joined by ':'",
                           v);
        is->lang_mask |= 1 << L;
        p += n;
    } while (*p++ == ':');
    return VG_OK;
}

/* feature= and code=: copied into is's fixed-size field of cap bytes. */
static vg_code parse_text(const char *key, const char *v, char *out, size_t cap,
                          vg_error *err)
{
    if (!*v || strlen(v) >= cap)
        return vg_fail(err, VG_EUSAGE, "--issue: %s must be 1-%zu bytes", key,
                       cap - 1);
    snprintf(out, cap, "%s", v);
    return VG_OK;
}

/* shape= and spike=: a name from a fixed list. */
static vg_code parse_choice(const char *key, const char *v, demo_issue *is,
                            vg_error *err)
{
    if (!strcmp(key, "spike")) {
        if ((is->spike_of = base_topic(v)) < 0)
            return vg_fail(err, VG_EUSAGE,
                           "--issue: spike '%s' is not a topic of the demo "
                           "(e.g. billing_invoice, password_reset, "
                           "webhook_failures)",
                           v);
        return VG_OK;
    }
    is->shape = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(v, shape_name[i]))
            is->shape = i;
    if (is->shape < 0)
        return vg_fail(err, VG_EUSAGE,
                       "--issue: shape '%s' must be step, ramp or burst", v);
    return VG_OK;
}

/* One key=value of a spec. */
static vg_code parse_pair(const char *key, const char *v, int end_day,
                          int history_days, demo_issue *is, vg_error *err)
{
    long n = 0;
    vg_code rc = VG_OK;
    if (!strcmp(key, "name"))
        rc = parse_name(v, is, err);
    else if (!strcmp(key, "onset"))
        rc = parse_onset(v, end_day, history_days, is, err);
    else if (!strcmp(key, "shape") || !strcmp(key, "spike"))
        rc = parse_choice(key, v, is, err);
    else if (!strcmp(key, "size"))
        rc = parse_number(key, v, 1, 100000, &is->size, err);
    else if (!strcmp(key, "customers")) {
        rc = parse_whole(key, v, 1, 1000000, &n, err);
        is->customers = n;
    } else if (!strcmp(key, "days")) {
        rc = parse_whole(key, v, 1, 365, &n, err);
        is->days = (int)n;
    } else if (!strcmp(key, "factor"))
        rc = parse_number(key, v, 1.1, 50, &is->factor, err);
    else if (!strcmp(key, "langs"))
        rc = parse_langs(v, is, err);
    else if (!strcmp(key, "feature"))
        rc = parse_text(key, v, is->feature, sizeof is->feature, err);
    else if (!strcmp(key, "code"))
        rc = parse_text(key, v, is->code, sizeof is->code, err);
    else
        return vg_fail(err, VG_EUSAGE,
                       "--issue: unknown key '%s' (name, onset, shape, size, "
                       "customers, days, langs, spike, factor, feature, code)",
                       key);
    return rc;
}

static void issue_defaults(demo_issue *is, int end_day)
{
    memset(is, 0, sizeof *is);
    is->onset = end_day - 20;
    is->days = 14;
    is->shape = ISH_STEP;
    is->lang_mask = (1 << DEMO_NLANG) - 1;
    is->spike_of = -1;
    is->size = 40;
    is->factor = 2;
}

vg_code demo_issue_parse(const char *spec, int end_day, int history_days,
                         demo_issue *is, vg_error *err)
{
    issue_defaults(is, end_day);
    char buf[512];
    if (strlen(spec) >= sizeof buf)
        return vg_fail(err, VG_EUSAGE, "--issue: spec longer than 511 bytes");
    snprintf(buf, sizeof buf, "%s", spec);
    vg_code rc = VG_OK;
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv && rc == VG_OK;
         kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return vg_fail(err, VG_EUSAGE,
                           "--issue: '%s' is not key=value (e.g. "
                           "name=webhooks,onset=-20,shape=ramp,size=40)",
                           kv);
        *eq = '\0';
        rc = parse_pair(kv, eq + 1, end_day, history_days, is, err);
    }
    if (rc == VG_OK && !is->name[0])
        return vg_fail(err, VG_EUSAGE, "--issue: name=... is required");
    if (rc == VG_OK && is->customers == 0)
        is->customers = (long)(2 * is->size + 0.5);
    return rc;
}

void demo_issue_random(uint64_t seed, int i, int end_day, demo_issue *is)
{
    static const int spikes[] = {TP_BILLING,   TP_PASSWORD,     TP_CSV_EXPORT,
                                 TP_LOGIN_SSO, TP_REPORT_ERROR, TP_INTEGRATION};
    demo_rng r;
    demo_rng_seed(&r, seed, 0x15u, (uint64_t)i);
    issue_defaults(is, end_day);
    is->shape = (int)demo_rng_range(&r, 0, 2);
    is->days = (int)demo_rng_range(&r, 5, 21);
    is->onset = end_day - (int)demo_rng_range(&r, 12, 55);
    double u = demo_rng_unif(&r);
    if (u < 0.4) {
        is->lang_mask = 1 << demo_rng_range(&r, 0, DEMO_NLANG - 1);
    } else if (u < 0.7) {
        int a = (int)demo_rng_range(&r, 0, DEMO_NLANG - 1);
        int b = (a + (int)demo_rng_range(&r, 1, DEMO_NLANG - 1)) % DEMO_NLANG;
        is->lang_mask = (1 << a) | (1 << b);
    }
    if (demo_rng_chance(&r, 0.25)) {
        is->spike_of = spikes[demo_rng_range(&r, 0, 5)];
        is->factor = 1.8 + 1.2 * demo_rng_unif(&r);
        snprintf(is->name, sizeof is->name, "spike%d_%s", i + 1,
                 demo_topic_key[is->spike_of]);
    } else {
        is->size = floor(exp(log(15.0) + demo_rng_unif(&r) * log(4.0)));
        is->customers = (long)(2 * is->size);
        snprintf(is->name, sizeof is->name, "issue%d_%s", i + 1,
                 shape_name[is->shape]);
    }
}

void demo_issues_prepare(demo_issue *is, int n, uint64_t seed, long customers,
                         const double lang_share[DEMO_NLANG])
{
    for (int i = 0; i < n; i++) {
        demo_issue *s = &is[i];
        s->slot = (int)((i + seed) % NSLOT);
        if (!s->feature[0])
            snprintf(s->feature, sizeof s->feature, "%s%s", feat_pre[s->slot],
                     feat_suf[(s->slot * 7 + 3) % NSLOT]);
        if (!s->code[0]) {
            demo_rng r;
            demo_rng_seed(&r, seed, 0x16u, (uint64_t)s->slot);
            snprintf(
                s->code, sizeof s->code, "%c%c-%ld", feat_pre[s->slot][0],
                toupper((unsigned char)feat_suf[(s->slot * 7 + 3) % NSLOT][0]),
                demo_rng_range(&r, 1000, 9999));
        }
        double share = 0;
        for (int L = 0; L < DEMO_NLANG; L++)
            if (s->lang_mask & (1 << L))
                share += lang_share[L];
        double pool = customers * share;
        s->p_affected =
            pool > 0 && s->customers < pool ? (double)s->customers / pool : 1;
        double sum = 0;
        for (int d = 0; d < s->days; d++)
            sum += demo_issue_weight(s, d);
        double hit = pool * s->p_affected * ACTIVE_SHARE;
        s->per_day = hit > 0 && sum > 0 ? s->size / (hit * sum) : 0;
    }
}

void demo_issue_describe(const demo_issue *is, char *out, size_t cap)
{
    char langs[32] = "";
    for (int L = 0; L < DEMO_NLANG; L++)
        if (is->lang_mask & (1 << L)) {
            size_t k = strlen(langs);
            snprintf(langs + k, sizeof langs - k, "%s%s", k ? "," : "",
                     demo_lang_code[L]);
        }
    if (is->spike_of >= 0)
        snprintf(out, cap,
                 "injected spike: %s tickets x%.2g at the peak (%s over %d "
                 "days), written in %s",
                 demo_topic_key[is->spike_of], is->factor,
                 shape_name[is->shape], is->days, langs);
    else
        snprintf(out, cap,
                 "injected new issue: %s in %s (\"%s\", error %s), about "
                 "%.0f tickets from about %ld customers, %s over %d days, "
                 "written in %s",
                 objects[is->slot % NSLOT][DEMO_EN], is->feature,
                 symptoms[(is->slot * 5 + 7) % NSLOT][DEMO_EN], is->code,
                 is->size, is->customers, shape_name[is->shape], is->days,
                 langs);
}

const char *demo_issue_shape_name(int shape)
{
    return shape_name[shape];
}
