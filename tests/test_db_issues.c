/* test_db_issues.c — new issues found from their words, against a real
 * PostgreSQL: a brand-new issue in each of en/de/fr/es (9 tickets from 9
 * customers in 3 days, nothing before) is alerted as 'new' with its own
 * words in the label; one issue written in four languages (sharing an
 * error code) is ONE alert listing every language (the Spanish issue says
 * "fallo": a new word it shared with the English one would link them, a
 * known limit); steady background
 * raises nothing; the first run builds alert history; a replay of the same
 * day gives the same alerts; trend.max_p gates raising. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

static const char *FIXTURE_SQL =
    /* 240 customers, a quarter per language: c1 en, c2 de, c3 fr, c4 es. */
    "INSERT INTO customers SELECT 'c' || g, 'Customer ' || g, "
    " '2025-01-01 00:00+00', NULL, 'pro', 100 + g, 5, "
    " (ARRAY['en','de','fr','es'])[1 + (g - 1) % 4] "
    " FROM generate_series(1, 240) g;"
    "CREATE FUNCTION pick(w text[], s text) RETURNS text LANGUAGE sql "
    " IMMUTABLE AS $$ SELECT w[1 + abs(hashtext(s)) % array_length(w, 1)] $$;"
    /* Background: per language, per_day tickets a day made of its words. */
    "CREATE FUNCTION background(lang int, w text[], per_day int) RETURNS "
    " void LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    " SELECT 'bg' || lang || '-' || d::date || '-' || i, "
    "  'c' || (lang + 4 * (abs(hashtext(lang || d::text || i)) % 60)), "
    "  d + ((i * 97) % 1440) * interval '1 minute', "
    "  pick(w, d::text || i || 's') || ' ' || pick(w, d::text || i || 't'), "
    "  pick(w, d::text || i || 'a') || ' ' || pick(w, d::text || i || 'b') "
    "  || ' ' || pick(w, d::text || i || 'c') || ' ' || "
    "  pick(w, d::text || i || 'e') "
    " FROM generate_series('2026-04-01'::timestamptz, '2026-05-31', "
    "  interval '1 day') d CROSS JOIN generate_series(1, per_day) i $$;"
    "SELECT background(1, ARRAY['invoice', 'payment failed', 'login', "
    " 'password reset', 'slow dashboard', 'export report', 'invite user', "
    " 'billing address'], 6);"
    "SELECT background(2, ARRAY['Rechnung', 'Zahlung fehlgeschlagen', "
    " 'Anmeldung', 'Passwort zurücksetzen', 'langsames Dashboard', "
    " 'Bericht exportieren', 'Benutzer einladen', 'Rechnungsadresse'], 6);"
    "SELECT background(3, ARRAY['facture', 'paiement refusé', 'connexion', "
    " 'mot de passe', 'tableau lent', 'exporter rapport', "
    " 'inviter utilisateur', 'adresse facturation'], 6);"
    "SELECT background(4, ARRAY['factura', 'pago rechazado', 'acceso', "
    " 'contraseña olvidada', 'panel lento', 'exportar informe', "
    " 'invitar usuario', 'dirección facturación'], 6);"
    /* An issue: 3 tickets a day on May 29-31, each from another customer
     * of the language (lang 0: all four languages in turn). */
    "CREATE FUNCTION issue(name text, lang int, subj text[], body text[]) "
    " RETURNS void LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    " SELECT name || '-' || k, 'c' || (CASE WHEN lang = 0 THEN 1 + k % 4 "
    "  ELSE lang END + 4 * (100 + k)), "
    "  '2026-05-29 09:00+00'::timestamptz + (k / 3) * interval '1 day' "
    "  + k * interval '7 minutes', subj[1 + k % array_length(subj, 1)], "
    "  body[1 + k % array_length(body, 1)] "
    " FROM generate_series(0, CASE WHEN lang = 0 THEN 11 ELSE 8 END) k $$;"
    "SELECT issue('avatar', 1, ARRAY['Avatar upload fails with AVU-404', "
    " 'Cannot upload profile avatar'], ARRAY['Uploading a profile avatar "
    " fails with error AVU-404, the picture stays grey.', 'Every avatar "
    " upload ends in AVU-404 and the profile picture is empty.']);"
    "SELECT issue('druck', 2, ARRAY['Druckvorschau leer, Meldung DRV-12', "
    " 'Druckvorschau zeigt leere Seiten'], ARRAY['Die Druckvorschau der "
    " Angebote zeigt nur leere Seiten, Meldung DRV-12.', 'In der "
    " Druckvorschau erscheinen leere Seiten mit DRV-12.']);"
    "SELECT issue('scan', 3, ARRAY['Le scanner de reçus plante (SCN-58)', "
    " 'Scanner de reçus fermé'], ARRAY['Le scanner de reçus se ferme avec "
    " le code SCN-58 dès que la caméra s''ouvre.', 'Le scanner de reçus "
    " plante, code SCN-58, caméra noire.']);"
    "SELECT issue('mapa', 4, ARRAY['El mapa de rutas no carga: MPR-31', "
    " 'Mapa de rutas en blanco'], ARRAY['El mapa de rutas se queda en "
    " blanco con el fallo MPR-31 al abrir los repartos.', 'Mapa de rutas "
    " vacío, aparece MPR-31 en los repartos.']);"
    "SELECT issue('cal', 0, ARRAY['Calendar sync stopped: CAL-9001', "
    " 'Kalendersynchronisation gestoppt: CAL-9001', 'Synchronisation du "
    " calendrier arrêtée : CAL-9001', 'Sincronización del calendario "
    " detenida: CAL-9001'], ARRAY['Since this morning CAL-9001 appears and "
    " the calendar sync stopped.', 'Seit heute erscheint CAL-9001 und die "
    " Kalendersynchronisation steht.', 'Depuis ce matin CAL-9001 s''affiche "
    " et la synchronisation du calendrier est arrêtée.', 'Desde esta mañana "
    " aparece CAL-9001 y la sincronización del calendario se detuvo.']);";

/* The issue alert holding most of an issue's tickets: "kind|languages|
 * label" (empty when none holds a majority of its tickets). */
static const char *alert_of(const char *dsn, const char *issue, char *buf,
                            size_t n)
{
    char q[768];
    snprintf(q, sizeof q,
             "SELECT concat_ws('|', kind, array_to_string(languages, ','), "
             "label) FROM vigil.trend_alerts a WHERE source = 'terms' AND "
             "(SELECT count(*) FILTER (WHERE x LIKE '%s-%%') * 2 > count(*) "
             "FROM unnest(a.ticket_ids) x) ORDER BY alert_id LIMIT 1",
             issue);
    snprintf(buf, n, "%s", testdb_value(dsn, q));
    return buf;
}

static const char *DIGEST =
    "SELECT md5(coalesce(string_agg(concat_ws('|', source, kind, status, "
    " label, languages, ticket_ids, observed, round(expected::numeric, 6), "
    " window_start, window_end, detected_at), ';' ORDER BY detected_at, "
    " label), '')) FROM vigil.trend_alerts";

static const char *DAYS_DIGEST =
    "SELECT md5(coalesce(string_agg(concat_ws('|', d.as_of, a.label, "
    " d.kind, d.status, d.observed, round(d.expected::numeric, 6), "
    " d.ticket_ids, d.strong_terms), ';' ORDER BY d.as_of, a.label), '')) "
    "FROM vigil.trend_alert_days d JOIN vigil.trend_alerts a USING "
    "(alert_id)";

/* The cases run in order on one database: a day, its replay, the next. */
static const char *dsn;
static char cfg[64];

/* The first run builds four days of history first. */
static void first_run_backfills_history(void)
{
    char args[256];
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-01 --json",
             cfg);
    json_t *j = cli_json_ok(dsn, args);
    if (j) {
        json_t *bf = json_object_get(j, "backfill");
        CHECK_INT_EQ((long)json_integer_value(json_object_get(bf, "days")), 4);
        CHECK_STR_EQ(json_string_value(json_object_get(bf, "from")),
                     "2026-05-28");
        CHECK(json_integer_value(json_object_get(j, "issue_alerts")) >= 5);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(DISTINCT as_of) >= 2 FROM "
                                   "vigil.trend_alert_days"),
                 "t");
}

/* Each language's new issue, with its own words in its label. */
static void each_language_new_issue_labelled(void)
{
    char buf[512];
    alert_of(dsn, "avatar", buf, sizeof buf);
    CHECK(strncmp(buf, "new|en|", 7) == 0 && strstr(buf, "avatar"));
    alert_of(dsn, "druck", buf, sizeof buf);
    CHECK(strncmp(buf, "new|de|", 7) == 0 && strstr(buf, "druckvorschau"));
    alert_of(dsn, "scan", buf, sizeof buf);
    CHECK(strncmp(buf, "new|fr|", 7) == 0 && strstr(buf, "scanner"));
    alert_of(dsn, "mapa", buf, sizeof buf);
    CHECK(strncmp(buf, "new|es|", 7) == 0 && strstr(buf, "mapa"));
}

/* The four-language issue is one alert listing every language. */
static void four_language_issue_is_one_alert(void)
{
    char buf[512];
    alert_of(dsn, "cal", buf, sizeof buf);
    CHECK(strncmp(buf, "new|de,en,es,fr|", 16) == 0 && strstr(buf, "cal-9001"));
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts "
                                   "a WHERE EXISTS (SELECT 1 FROM "
                                   "unnest(a.ticket_ids) x WHERE x LIKE "
                                   "'cal-%')"),
                 "1");
}

/* No other alert: the steady background raises nothing, and no label
 * shows a placeholder. */
static void background_raises_nothing(void)
{
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "5");
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts "
                                   "WHERE label LIKE '%<%' OR label = ''"),
                 "0");
}

/* A replay of the same day says exactly the same. */
static void replay_says_the_same(void)
{
    char digest[64];
    char args[256];
    snprintf(digest, sizeof digest, "%s", testdb_value(dsn, DIGEST));
    snprintf(args, sizeof args,
             "--config %s topics --as-of 2026-06-01 "
             "--replay --json",
             cfg);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    CHECK_STR_EQ(testdb_value(dsn, DIGEST), digest);
}

/* Replayed day by day, each run on its own (no words kept from the day
 * before, as the backfill keeps them), the history is the same, day for
 * day: the backfill is what the daily runs would have said (its last day
 * re-clusters, as --refit does). */
static void day_by_day_replay_says_the_same(void)
{
    char days[64], digest[64], args[256];
    snprintf(days, sizeof days, "%s", testdb_value(dsn, DAYS_DIGEST));
    snprintf(digest, sizeof digest, "%s", testdb_value(dsn, DIGEST));
    static const char *const replay[] = {
        "2026-05-28", "2026-05-29", "2026-05-30", "2026-05-31", "2026-06-01"};
    size_t n = sizeof replay / sizeof replay[0];
    for (size_t i = 0; i < n; i++) {
        snprintf(args, sizeof args, "--config %s topics --as-of %s --replay%s",
                 cfg, replay[i], i == n - 1 ? " --refit" : "");
        CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    }
    CHECK_STR_EQ(testdb_value(dsn, DAYS_DIGEST), days);
    CHECK_STR_EQ(testdb_value(dsn, DIGEST), digest);
}

/* The next day the same issues update their alerts, none is raised again. */
static void next_day_updates_raises_none(void)
{
    char args[256];
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-02 --json",
             cfg);
    json_t *j = cli_json_ok(dsn, args);
    if (j) {
        CHECK_INT_EQ(
            (long)json_integer_value(json_object_get(j, "alerts_raised")), 0);
        json_decref(j);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "5");
}

/* trend.max_p and trend.topic_max_p (topic alerts take the larger) below
 * every p-value of the fixtures: the same days replayed raise no alert at
 * all (the defaults raised all five). */
static void strict_max_p_raises_nothing(void)
{
    char strict[64], args[320];
    snprintf(strict, sizeof strict, "/tmp/vt_issues_strict.%d.json",
             (int)getpid());
    FILE *f = fopen(strict, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("{\"topics\": {\"k_min\": 2, \"k_max\": 8, \"window_days\": 40, "
          "\"backfill_days\": 4}, \"trend\": {\"max_p\": 1e-30, "
          "\"topic_max_p\": 1e-30}}",
          f);
    fclose(f);
    static const char *const replay[] = {"2026-05-28", "2026-05-29",
                                         "2026-05-30", "2026-05-31",
                                         "2026-06-01", "2026-06-02"};
    for (size_t i = 0; i < sizeof replay / sizeof replay[0]; i++) {
        snprintf(args, sizeof args, "--config %s topics --as-of %s --replay",
                 strict, replay[i]);
        CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    }
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "0");
    remove(strict);
}

int main(void)
{
    dsn = testdb_fresh("vt_issues");
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(dsn, FIXTURE_SQL);
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);
    cli_config(cfg, sizeof cfg, "issues_cfg", "%s",
               "{\"topics\": {\"k_min\": 2, \"k_max\": 8, \"window_days\": 40, "
               "\"backfill_days\": 4}}");

    static const check_case cases[] = {
        CHECK_CASE(first_run_backfills_history),
        CHECK_CASE(each_language_new_issue_labelled),
        CHECK_CASE(four_language_issue_is_one_alert),
        CHECK_CASE(background_raises_nothing),
        CHECK_CASE(replay_says_the_same),
        CHECK_CASE(day_by_day_replay_says_the_same),
        CHECK_CASE(next_day_updates_raises_none),
        CHECK_CASE(strict_max_p_raises_nothing),
    };
    int rc = check_run("db_issues", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
