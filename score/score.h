/* score.h — applying the champion model to every customer active at a date:
 * calibrated churn risk, health, tier and the drivers in plain words. */
#ifndef VG_SCORE_H
#define VG_SCORE_H

#include <jansson.h>

#include "core/cfg.h"
#include "core/db.h"
#include "core/freshness.h"
#include "core/log.h"

/* A check that must pass before anything is written (the date guard of
 * core/freshness.h): fn(arg, db, days, err) runs on db, the run's own
 * connection, inside its transaction once every feature has been read and
 * written, before the COMMIT; days is the source's activity per day as the
 * reading counted it (feat_stream_activity), so the date is judged without
 * a scan of its own. A failure rolls the run back. */
typedef struct score_guard {
    vg_code (*fn)(void *arg, db_conn *db, const fresh_days *days,
                  vg_error *err);
    void *arg;
} score_guard;

/* Score as of `as_of` with the champion (or model_id if > 0), replacing that
 * date's rows in vigil.scores in one transaction. guard (NULL: none) is
 * called before it commits: when it fails nothing is deleted or written.
 * *summary (caller owns) is the contract's score summary plus what was
 * skipped. */
vg_code score_run(db_conn *db, const vg_config *cfg, const vg_log *lg,
                  int as_of, long long model_id, int quiet,
                  const score_guard *guard, json_t **summary, vg_error *err);

/* The `n` riskiest customers scored for `as_of` (YYYY-MM-DD), riskiest
 * first: *rows (caller owns) is an array of {customer_id, churn_risk,
 * health, tier, reasons} where reasons joins the drivers' texts. */
vg_code score_riskiest(db_conn *db, const char *as_of, int n, json_t **rows,
                       vg_error *err);

/* One customer as of day as_of: *out (caller owns) is {"customer_id",
 * "as_of", "customer": the source row (name, plan, mrr, language,
 * created_at, canceled_at, active) or null, "scores": the `n` latest scores
 * on or before as_of, newest first, each {as_of, churn_risk, health, tier,
 * model_id, drivers, themes (drivers_by_theme), changes (drivers_changes
 * against the score before it, absent for the first)}}. VG_EUSAGE when the
 * id is neither in the source nor scored. Read-only. */
vg_code score_customer(db_conn *db, const vg_config *cfg,
                       const char *customer_id, int as_of, int n, json_t **out,
                       vg_error *err);

/* Health 0..100 from a calibrated risk: round(100 * (1 - sqrt(risk))).
 * The square root spreads the low risks most customers have. */
int score_health(double risk);
/* ---- the tier vocabulary --------------------------------------------------
 * Four tiers, healthiest first; a tier's rank is its position. Every stage
 * above score (outreach, report, service) takes the names from here, in C
 * and in SQL alike. SCORE_TIERS(X, sep) expands X("name") for each tier with
 * `sep` between them. */
#define SCORE_TIERS(X, sep)                                                    \
    X("healthy") sep X("watch") sep X("at_risk") sep X("critical")
#define SCORE_NTIERS 4
#define SCORE_TIER_SQL_ITEM_(name) "'" name "'"
/* ARRAY['healthy',...] for SQL: array_position(it, tier) - 1 is the rank. */
#define SCORE_TIERS_SQL "ARRAY[" SCORE_TIERS(SCORE_TIER_SQL_ITEM_, ",") "]"

/* The name of a rank 0..SCORE_NTIERS-1, or "?" outside that range. */
const char *score_tier_name(int rank);
/* The rank of a tier name, or -1 when it is not one. */
int score_tier_rank(const char *name);
/* A tier as a support lead reads it ("at_risk" → "at risk") into
 * buf[0..n); NULL, a customer not scored, reads "unscored". */
void score_tier_words(const char *tier, char *buf, size_t n);
/* The tier of a churn risk by the config's cut-offs. */
const char *score_tier(const vg_config *cfg, double risk);

#endif
