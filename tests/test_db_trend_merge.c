/* test_db_trend_merge.c — one alert per issue, against a real PostgreSQL.
 * (1) A billing problem of the product "Ledgerly" shows up first in an
 * English topic about duplicate charges (refunds, x4 from May 29: its alert
 * is raised on May 30) and a day later in a German topic about wrong
 * invoices (x3 from May 29, significant on May 31). The two topics share no
 * support notion in their labels and are in different languages, so no
 * sibling rule links them; what links them is that they rise on the same
 * days and nearly all their tickets name Ledgerly, which no other ticket
 * does: the German topic joins the English alert (one alert, de and en).
 * A Spanish dashboard topic rising x4 on the same days shares nothing with
 * them and keeps its own alert: rising together is not enough.
 * (2) "Paybox" totals go wrong: a burst on May 16-17 (alert raised, then
 * resolved once the burst is over) while its German tickets keep rising
 * (x1.5, then x3 from May 22); after the weekly re-clustering a topic of
 * those tickets rises: it opens the resolved alert again rather than
 * raising a second one about the same problem. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "testdb.h"

/* After testdb_source_tables: the customers, and a ticket maker. */
static const char *SCHEMA_SQL =
    "INSERT INTO customers SELECT 'c' || g, 'Customer ' || g, '2025-01-01 "
    "00:00+00', NULL, 'pro', 100 + g, 5, (ARRAY['en','de','es'])[1 + (g - 1) % "
    "3] FROM generate_series(1, 600) g; "
    "CREATE FUNCTION pick(w text[], s text) RETURNS text LANGUAGE sql "
    "IMMUTABLE AS $$ SELECT w[1 + abs(hashtext(s)) % array_length(w, 1)] $$; "
    /* A problem of language lang (1 en, 2 de, 3 es): per_day tickets a
     * day, factor times as many (rounded) from May 29 on. */
    "CREATE FUNCTION problem(name text, lang int, subj text[], body text[], "
    "per_day int, factor numeric) RETURNS void LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    " SELECT name || '-' || d::date || '-' || i, 'c' || (lang + 3 * "
    "(abs(hashtext(name || d::text || i)) % 200)), "
    "  d + ((i * 97) % 1440) * interval '1 minute', pick(subj, name || d::text "
    "|| i || 's'), "
    "  pick(body, name || d::text || i || 'a') || ' ' || pick(body, name || "
    "d::text || i || 'b') "
    " FROM generate_series('2026-04-01'::timestamptz, '2026-05-31', interval "
    "'1 day') d "
    " CROSS JOIN generate_series(1, round(per_day * CASE WHEN d >= "
    "'2026-05-29' THEN factor ELSE 1 END)::int) i $$; "
    /* n more tickets a day of a problem from day a to day b. */
    "CREATE FUNCTION burst(name text, lang int, subj text[], body text[], "
    "n int, a date, b date) RETURNS void LANGUAGE sql AS $$ "
    " INSERT INTO tickets (ticket_id, customer_id, created_at, subject, body) "
    " SELECT name || '-' || d::date || '-x' || i, 'c' || (lang + 3 * "
    "(abs(hashtext(name || d::text || 'x' || i)) % 200)), "
    "  d + ((i * 89) % 1440) * interval '1 minute', pick(subj, name || "
    "d::text || 'x' || i || 's'), "
    "  pick(body, name || d::text || 'x' || i || 'a') || ' ' || pick(body, "
    "name || d::text || 'x' || i || 'b') "
    " FROM generate_series(a::timestamptz, b::timestamptz, interval '1 day') "
    "d CROSS JOIN generate_series(1, n) i $$; "
    "SELECT problem('pb-en', 1, ARRAY['Paybox shows wrong totals', 'Totals "
    "in Paybox do not add up'], ARRAY['The totals in Paybox are wrong since "
    "this morning.', 'Paybox adds up our numbers wrongly.', 'Which Paybox "
    "totals can we trust?'], 8, 1); "
    "SELECT burst('pb-en', 1, ARRAY['Paybox shows wrong totals', 'Totals in "
    "Paybox do not add up'], ARRAY['The totals in Paybox are wrong since this "
    "morning.', 'Paybox adds up our numbers wrongly.', 'Which Paybox totals "
    "can we trust?'], 32, '2026-05-16', '2026-05-17'); "
    "SELECT problem('pb-de', 2, ARRAY['Paybox Summen stimmen nicht', "
    "'Falsche Summen in Paybox'], ARRAY['Die Summen in Paybox sind seit heute "
    "falsch.', 'Paybox zählt unsere Zahlen falsch zusammen.', 'Welchen "
    "Paybox Summen können wir trauen?'], 8, 1); "
    "SELECT burst('pb-de', 2, ARRAY['Paybox Summen stimmen nicht', 'Falsche "
    "Summen in Paybox'], ARRAY['Die Summen in Paybox sind seit heute "
    "falsch.', 'Paybox zählt unsere Zahlen falsch zusammen.', 'Welchen Paybox "
    "Summen können wir trauen?'], 4, '2026-05-16', '2026-05-21'); "
    "SELECT burst('pb-de', 2, ARRAY['Paybox Summen stimmen nicht', 'Falsche "
    "Summen in Paybox'], ARRAY['Die Summen in Paybox sind seit heute "
    "falsch.', 'Paybox zählt unsere Zahlen falsch zusammen.', 'Welchen Paybox "
    "Summen können wir trauen?'], 16, '2026-05-22', '2026-05-31'); "
    "SELECT problem('rf-en', 1, ARRAY['Charged twice for Ledgerly', "
    "'Duplicate Ledgerly charge'], ARRAY['Ledgerly charged our card twice "
    "this month.', 'We were billed twice by Ledgerly, please refund the "
    "duplicate.', 'Please refund the duplicate Ledgerly payment.'], 8, 4); "
    "SELECT problem('rg-de', 2, ARRAY['Ledgerly Rechnung falsch', 'Falsche "
    "Rechnung von Ledgerly'], ARRAY['Die Ledgerly Rechnung zeigt zu viele "
    "Lizenzen.', 'Unsere Ledgerly Rechnung hat den falschen Betrag.', 'Bitte "
    "korrigieren Sie die Ledgerly Rechnung.'], 8, 3); "
    "SELECT problem('dash-es', 3, ARRAY['El panel tarda minutos', 'Los "
    "widgets no cargan'], ARRAY['Los widgets del panel tardan minutos en "
    "cargar.', 'El panel tarda muchísimo en cargar.', 'Los widgets giran sin "
    "parar.'], 8, 4); "
    "SELECT problem('pw-en', 1, ARRAY['Password reset link expired', 'Cannot "
    "reset my password'], ARRAY['The password reset link has expired.', 'I "
    "asked to reset my password but the link is expired.', 'Password reset "
    "email link says expired.'], 40, 1); "
    "SELECT problem('pw-de', 2, ARRAY['Passwort zurücksetzen geht nicht', "
    "'Link zum Passwort abgelaufen'], ARRAY['Der Link zum Passwort "
    "zurücksetzen ist abgelaufen.', 'Passwort zurücksetzen: Link abgelaufen.', "
    "'Ich kann mein Passwort nicht zurücksetzen.'], 40, 1); "
    "SELECT problem('dash-en', 1, ARRAY['Dashboard takes minutes to load', "
    "'Widgets load forever'], ARRAY['The dashboard widgets take minutes to "
    "load.', 'Loading the dashboard is extremely sluggish.', 'Widgets spin "
    "forever on the dashboard.'], 40, 1); "
    "SELECT problem('inv-es', 3, ARRAY['Importe incorrecto en la factura', "
    "'Factura con NIF incorrecto'], ARRAY['El importe de la factura es "
    "incorrecto.', 'Nuestra factura muestra el NIF incorrecto.', 'Corrijan la "
    "factura por favor.'], 40, 1); ";

static const char *dsn;

/* Three alerts: Ledgerly, Paybox and the Spanish dashboard. */
static void one_alert_per_issue(void)
{
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts"),
                 "3");
    /* The Ledgerly alert: raised on May 30 for the English topic, the
     * German topic taken in, both languages, both problems' tickets and
     * nothing else. */
    CHECK_STR_EQ(
        testdb_value(dsn,
                     "SELECT concat_ws('|', detected_at::date, status, "
                     "cardinality(topic_ids), array_to_string(languages, "
                     "','), (SELECT count(*) FROM unnest(ticket_ids) i "
                     "WHERE i LIKE 'rf-en%') > 0, (SELECT count(*) FROM "
                     "unnest(ticket_ids) i WHERE i LIKE 'rg-de%') > 0, "
                     "(SELECT count(*) FROM unnest(ticket_ids) i WHERE NOT "
                     "(i LIKE 'rf-en%' OR i LIKE 'rg-de%'))) FROM "
                     "vigil.trend_alerts WHERE 'rf-en-2026-05-30-1' = "
                     "ANY(ticket_ids)"),
        "2026-05-30|open|1|de,en|t|t|0");
}

/* The German topic joined on May 31, the day it rose: recorded in that
 * day's view of the alert (what a replay restores). */
static void joined_on_the_day(void)
{
    CHECK_STR_EQ(
        testdb_value(dsn, "SELECT string_agg(d.as_of || ':' || "
                          "coalesce(cardinality(d.topic_ids), 0), ',' ORDER BY "
                          "d.as_of) FROM vigil.trend_alert_days d JOIN "
                          "vigil.trend_alerts a USING (alert_id) WHERE "
                          "'rf-en-2026-05-30-1' = ANY(a.ticket_ids)"),
        "2026-05-30:0,2026-05-31:1,2026-06-01:1");
}

/* Rising on the same days is not enough: the dashboard keeps its own. */
static void unrelated_rise_keeps_its_alert(void)
{
    CHECK_STR_EQ(
        testdb_value(dsn, "SELECT concat_ws('|', detected_at::date, "
                          "coalesce(cardinality(topic_ids), 0), "
                          "array_to_string(languages, ','), (SELECT count(*) "
                          "FROM unnest(ticket_ids) i WHERE NOT i LIKE "
                          "'dash-es%')) FROM vigil.trend_alerts WHERE "
                          "'dash-es-2026-05-30-1' = ANY(ticket_ids)"),
        "2026-05-30|0|es|0");
}

/* Paybox: one alert, resolved after the burst, open again (with the new
 * topic listed) when the problem's German tickets rose, both languages. */
static void resolved_alert_reopens(void)
{
    CHECK_STR_EQ(testdb_value(dsn, "SELECT count(*) FROM vigil.trend_alerts "
                                   "WHERE EXISTS (SELECT 1 FROM "
                                   "unnest(ticket_ids) i WHERE i LIKE 'pb-%')"),
                 "1");
    CHECK_STR_EQ(
        testdb_value(
            dsn, "SELECT concat_ws('|', min(d.as_of) FILTER (WHERE d.status = "
                 "'resolved') < max(d.as_of) FILTER (WHERE d.status = 'open' "
                 "AND cardinality(d.topic_ids) > 0), min(d.as_of) FILTER "
                 "(WHERE cardinality(d.topic_ids) > 0) > min(d.as_of) FILTER "
                 "(WHERE d.status = 'resolved'), max(array_to_string("
                 "d.languages, ','))) FROM vigil.trend_alert_days d JOIN "
                 "vigil.trend_alerts a USING (alert_id) WHERE EXISTS (SELECT 1 "
                 "FROM unnest(a.ticket_ids) i WHERE i LIKE 'pb-%')"),
        "t|t|de,en");
}

int main(void)
{
    dsn = testdb_fresh("vt_trend_merge");
    testdb_source_tables(dsn, "public", NULL);
    testdb_exec(dsn, SCHEMA_SQL);
    CHECK_INT_EQ(cli_run(dsn, "init")->status, 0);
    char cfg[64], args[256];
    cli_config(cfg, sizeof cfg, "merge_cfg",
               "{\"topics\": {\"k_min\": 4, \"k_max\": 12, "
               "\"window_days\": 40, \"backfill_days\": 16}}");
    snprintf(args, sizeof args, "--config %s topics --as-of 2026-06-01", cfg);
    CHECK_INT_EQ(cli_run(dsn, args)->status, 0);
    static const check_case cases[] = {
        CHECK_CASE(one_alert_per_issue),
        CHECK_CASE(joined_on_the_day),
        CHECK_CASE(unrelated_rise_keeps_its_alert),
        CHECK_CASE(resolved_alert_reopens),
    };
    int rc = check_run("db_trend_merge", cases, sizeof cases / sizeof cases[0]);
    remove(cfg);
    return rc;
}
