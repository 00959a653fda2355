/* test_db_issues_alike.c — the "written alike" rule of topics/issues.c,
 * against a real PostgreSQL: an SSO outage (40 English tickets on May 20,
 * then 4 a day, all naming Okta and SAML) is one open alert; on May 31 the
 * same outage is written in Spanish (9 tickets, new phrases of their own —
 * "Okta devuelve un error", "nadie puede entrar" — yet naming Okta and SAML).
 * Those tickets share no ticket with the alert's and burst in their own
 * phrases, none of the alert's key terms, so only the rule (most of a new
 * group's tickets use two words most of the alert's tickets use and few others
 * do) makes them the same alert; without it they are a second alert. A Spanish
 * issue of the same day that names neither word keeps an alert of its own. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

static const char *FIXTURE_SQL =
    /* 800 customers, a quarter per language: c1 en, c2 de, c3 fr, c4 es. */
    "INSERT INTO customers SELECT 'c' || g, 'Customer ' || g, "
    " '2025-01-01 00:00+00', NULL, 'pro', 100 + g, 5, "
    " (ARRAY['en','de','fr','es'])[1 + (g - 1) % 4] "
    " FROM generate_series(1, 800) g;"
    "CREATE FUNCTION pick(w text[], s text) RETURNS text LANGUAGE sql "
    " IMMUTABLE AS $$ SELECT w[1 + abs(hashtext(s)) % array_length(w, 1)] $$;"
    /* Background: 15 tickets a day per language, made of its words; 60 a
     * day keep the outage's words under 5 % of all tickets. */
    "CREATE FUNCTION background(lang int, w text[]) RETURNS void "
    " LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    " SELECT 'bg' || lang || '-' || d::date || '-' || i, "
    "  'c' || (lang + 4 * (abs(hashtext(lang || d::text || i)) % 100)), "
    "  d + ((i * 97) % 1440) * interval '1 minute', "
    "  pick(w, d::text || i || 's') || ' ' || pick(w, d::text || i || 't'), "
    "  pick(w, d::text || i || 'a') || ' ' || pick(w, d::text || i || 'b') "
    "  || ' ' || pick(w, d::text || i || 'c') || ' ' || "
    "  pick(w, d::text || i || 'e') "
    " FROM generate_series('2026-04-01'::timestamptz, '2026-05-31', "
    "  interval '1 day') d CROSS JOIN generate_series(1, 15) i $$;"
    "SELECT background(1, ARRAY['invoice', 'payment failed', 'login', "
    " 'password reset', 'slow dashboard', 'export report', 'invite user', "
    " 'billing address']);"
    "SELECT background(2, ARRAY['Rechnung', 'Zahlung fehlgeschlagen', "
    " 'Anmeldung', 'Passwort zurücksetzen', 'langsames Dashboard', "
    " 'Bericht exportieren', 'Benutzer einladen', 'Rechnungsadresse']);"
    "SELECT background(3, ARRAY['facture', 'paiement refusé', 'connexion', "
    " 'mot de passe', 'tableau lent', 'exporter rapport', "
    " 'inviter utilisateur', 'adresse facturation']);"
    "SELECT background(4, ARRAY['factura', 'pago rechazado', 'acceso', "
    " 'contraseña olvidada', 'panel lento', 'exportar informe', "
    " 'invitar usuario', 'dirección facturación']);"
    /* The outage: 40 English tickets on May 20, then 4 a day. */
    "INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    "SELECT 'sso-' || k, 'c' || (1 + 4 * k), '2026-05-20 08:00+00'::"
    " timestamptz + k * interval '5 minutes', (ARRAY['SSO login broken for "
    " all users', 'Nobody can sign in with SSO'])[1 + k % 2], "
    " (ARRAY['Since this morning every SSO sign in through Okta ends in a "
    " SAML redirect loop.', 'Our users are stuck in a SAML redirect loop "
    " when they sign in with Okta SSO.'])[1 + k % 2] "
    "FROM generate_series(0, 39) k;"
    "INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    "SELECT 'sso-late-' || k, 'c' || (1 + 4 * (40 + k)), '2026-05-21 "
    " 10:00+00'::timestamptz + (k / 4) * interval '1 day' + k * interval "
    " '13 minutes', 'Still no SSO', 'The SAML redirect loop with Okta is "
    " back for some of our users.' FROM generate_series(0, 43) k;"
    /* The same outage written in Spanish, on May 31 only. */
    "INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    "SELECT 'es-sso-' || k, 'c' || (4 + 4 * (10 + k)), '2026-05-31 "
    " 08:00+00'::timestamptz + k * interval '17 minutes', (ARRAY['Okta "
    " devuelve un error', 'Nadie puede entrar'])[1 + k % 2], (ARRAY['Desde "
    " esta mañana Okta devuelve un error SAML y nadie de nuestra empresa "
    " puede entrar por SSO.', 'Nadie de nuestra empresa puede entrar: Okta "
    " devuelve un error SAML con el SSO.'])[1 + k % 2] "
    "FROM generate_series(0, 8) k;"
    /* Another Spanish issue the same day, naming neither Okta nor SAML. */
    "INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    "SELECT 'es-mapa-' || k, 'c' || (4 + 4 * (30 + k)), '2026-05-31 "
    " 09:00+00'::timestamptz + k * interval '19 minutes', 'El mapa de rutas "
    " no carga: MPR-31', 'El mapa de rutas se queda en blanco con el fallo "
    " MPR-31 al abrir los repartos.' FROM generate_series(0, 8) k;";

static const char *dsn;
static char cfg[64];

/* The alerts holding tickets whose id starts with prefix. */
static const char *alerts_with(const char *prefix)
{
    char q[512];
    snprintf(q, sizeof q,
             "SELECT coalesce(string_agg(alert_id::text, ',' ORDER BY "
             "alert_id), '') FROM vigil.trend_alerts a WHERE EXISTS (SELECT "
             "1 FROM unnest(a.ticket_ids) x WHERE x LIKE '%s%%')",
             prefix);
    return testdb_value(dsn, q);
}

/* The outage's Spanish tickets update its open alert: one alert, raised
 * on May 21, listing English and Spanish, holding all nine. */
static void spanish_tickets_join_the_outage(void)
{
    char sso[64];
    snprintf(sso, sizeof sso, "%s", alerts_with("sso-"));
    CHECK(strlen(sso) > 0 && strchr(sso, ',') == NULL);
    CHECK_STR_EQ(alerts_with("es-sso-"), sso);
    char q[512];
    snprintf(q, sizeof q,
             "SELECT concat_ws('|', source, status, detected_at::date, "
             "array_to_string(languages, ','), (SELECT count(*) FROM "
             "unnest(ticket_ids) x WHERE x LIKE 'es-sso-%%')) FROM "
             "vigil.trend_alerts WHERE alert_id = %s",
             sso);
    CHECK_STR_EQ(testdb_value(dsn, q), "terms|open|2026-05-21|en,es|9");
}

/* The rule is narrow: a Spanish issue that names neither word is an
 * alert of its own, and no other alert is raised. */
static void other_spanish_issue_keeps_its_alert(void)
{
    char sso[64], mapa[64];
    snprintf(sso, sizeof sso, "%s", alerts_with("sso-"));
    snprintf(mapa, sizeof mapa, "%s", alerts_with("es-mapa-"));
    CHECK(strlen(mapa) > 0 && strchr(mapa, ',') == NULL);
    CHECK(strcmp(mapa, sso) != 0);
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "2");
}

int main(void)
{
    dsn = testdb_fresh("vt_issues_alike");
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(dsn, FIXTURE_SQL);
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);
    cli_config(cfg, sizeof cfg, "alike_cfg", "%s",
               "{\"topics\": {\"k_min\": 2, \"k_max\": 8, \"window_days\": 40, "
               "\"backfill_days\": 12}}");
    char args[256];
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-01", cfg);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);

    static const check_case cases[] = {
        CHECK_CASE(spanish_tickets_join_the_outage),
        CHECK_CASE(other_spanish_issue_keeps_its_alert),
    };
    int rc =
        check_run("db_issues_alike", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
