#!/usr/bin/env bash
# churn_real.sh — vigil on two real, public churn data sets that nobody here
# generated, mapped onto the contract's source relations, next to the plain
# reference pipelines (bench/churn_real.py, bench/churn_reference.py).
#
#   bench/churn_real.sh DATA_DIR [bank|cdnow ...]
#   VIGIL_REAL_DATA=DATA_DIR bench/churn_real.sh
#
# DATA_DIR holds bank_churn/Churn_Modelling.csv and cdnow/CDNOW_master.txt
# (see docs/BENCHMARKS.md, "Real data", for where they come from). Raw
# figures in build/bench/real-*.json; a Markdown table at the end. Uses its
# own private PostgreSQL in /tmp/vigil-real-pg. Needs python3-xgboost,
# python3-pandas and python3-sklearn (Debian).
#
# FAMILIES='["lifetime"]' sets features.families (default: vigil's own);
# TRAIN='{"step_choice": "blend"}' sets train.* keys;
# REFERENCE=0 reuses the references of an earlier run (same data);
# OUT=DIR writes the figures there instead of build/bench (two runs side by
# side, each with its own BENCH_PG_DIR).
# STANDING=1 also keeps every customer's prediction (vigil's and the
# references') and runs bench/churn_standing.py compare on them: a paired
# bootstrap of vigil − reference (bank: the mean over the folds, customers
# resampled within each fold, against logistic regression and against plain
# xgboost, and the five folds pooled into one ranking; cdnow: `train` +
# `score` at the three backtest dates, the mean over the dates). Files
# $OUT/real-*-pred/, $OUT/real-*-standing*.json.
# FOLDS="0 1" limits the bank set to some of its five folds (each is one
# `train` with 5-fold CV inside: about two CPU-minutes; 22 minutes under a load of 45).
#
# bank (10,000 customers, attributes only, one snapshot, label Exited):
#   5 stratified folds. For fold f, the other four folds are customers since
#   2024-01-30 whose exits fall in [2024-01-31, 2024-03-01); fold f's
#   customers start on 2024-02-29 and exit in [2024-03-01, 2024-03-31). So
#   `train --as-of 2024-03-01 --horizon 30 --lookback 0` sees exactly one
#   observation date (2024-01-31) holding only the four training folds
#   (vigil cross-validates by customer), and `score --as-of 2024-03-01`
#   scores fold f, which is evaluated outside vigil against Exited. The
#   other folds' non-leavers are scored too and ignored.
# cdnow (23,570 buyers, 18 months of purchases, no churn in the data):
#   customers = buyers since their first purchase; each purchase is two
#   usage events, `cds` (quantity = CDs) and `dollars` (quantity = amount).
#   A buyer counts as lost 180 days after a purchase with no purchase in
#   those 180 days (canceled_at; the first such lapse; later purchases are
#   a win-back vigil does not model). The churn label with a 90-day horizon
#   is then "becomes lost within 90 days". Lapses that would end after the
#   data (1998-06-30) are unknown: canceled_at stays null. `vigil backtest`
#   at three dates 30 days apart; the reference is churn_reference.py on
#   the same source relations and dates.
set -euo pipefail
DATA=${1:-${VIGIL_REAL_DATA:-}}
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
  echo "usage: bench/churn_real.sh DATA_DIR [bank|cdnow ...] (or VIGIL_REAL_DATA=DATA_DIR)" >&2
  exit 2
fi
DATA=$(cd "$DATA" && pwd)
shift || true
SETS=${*:-"bank cdnow"}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
vigil=$(bench_vigil)
py=/usr/bin/python3
VIGIL_DSN=$(scripts/pg.sh start "${BENCH_PG_DIR:-/tmp/vigil-real-pg}")
export VIGIL_DSN
out=${OUT:-build/bench}
mkdir -p "$out"
"$vigil" --quiet init >/dev/null
sql() { psql "$VIGIL_DSN" -qX -v ON_ERROR_STOP=1 "$@"; }
# FAMILIES='["lifetime"]' (a JSON list) sets features.families; unset keeps
# vigil's default.
fams=""
[ -n "${FAMILIES:-}" ] && fams=", \"features\": {\"families\": $FAMILIES}"
# TRAIN='{"step_choice": "blend"}' (a JSON object) sets the train.* keys.
[ -n "${TRAIN:-}" ] && fams="$fams, \"train\": $TRAIN"

# The relations vigil needs but these sets do not have: typed and empty.
empty_relations() {
  sql -c "
    CREATE VIEW $1.tickets AS SELECT NULL::text AS ticket_id,
      NULL::text AS customer_id, NULL::timestamptz AS created_at,
      NULL::timestamptz AS first_response_at, NULL::timestamptz AS resolved_at,
      NULL::text AS status, NULL::text AS priority, NULL::text AS channel,
      NULL::text AS subject, NULL::text AS body, NULL::smallint AS csat,
      NULL::integer AS reopens, NULL::boolean AS escalated WHERE false;"
}

bank() {
  local csv=$out/real-bank-folds.csv cfg=$out/real-bank-config.json
  local asof=2024-03-01
  $py bench/churn_real.py bank-prepare "$DATA/bank_churn/Churn_Modelling.csv" "$csv"
  sql -c "DROP SCHEMA IF EXISTS bank CASCADE" -c "CREATE SCHEMA bank" -c "
    CREATE TABLE bank.raw (customer_id text PRIMARY KEY, fold int, exited int,
      credit_score int, age int, tenure_years int, balance numeric,
      num_products int, has_cr_card int, is_active_member int,
      estimated_salary numeric, geography text, gender text)" \
    -c "CREATE TABLE bank.current (fold int)" -c "INSERT INTO bank.current VALUES (0)"
  sql -c "\\copy bank.raw FROM '$csv' WITH CSV HEADER"
  # Exits spread over the 30 days of their window by a hash of the id.
  sql -c "
    CREATE VIEW bank.customers AS
    SELECT r.customer_id, NULL::text AS name,
      CASE WHEN r.fold = c.fold THEN timestamptz '2024-02-29 00:00Z'
           ELSE timestamptz '2024-01-30 00:00Z' END AS created_at,
      CASE WHEN r.exited = 1 THEN
        CASE WHEN r.fold = c.fold THEN timestamptz '2024-03-01 00:00Z'
             ELSE timestamptz '2024-01-31 00:00Z' END
        + (abs(hashtext(r.customer_id)) % 30) * interval '1 day' END AS canceled_at,
      NULL::text AS plan, NULL::numeric AS mrr, NULL::integer AS seats,
      NULL::text AS language, r.credit_score, r.age, r.tenure_years, r.balance,
      r.num_products, r.has_cr_card, r.is_active_member, r.estimated_salary,
      r.geography, r.gender
    FROM bank.raw r CROSS JOIN bank.current c" -c "
    CREATE VIEW bank.usage_events AS SELECT NULL::text AS customer_id,
      NULL::timestamptz AS occurred_at, NULL::text AS event_type,
      NULL::text AS user_id, NULL::double precision AS quantity WHERE false"
  empty_relations bank
  echo "{\"source\": {\"schema\": \"bank\"}$fams}" >"$cfg"
  local pred=""
  if [ "${STANDING:-0}" = 1 ]; then
    pred=$out/real-bank-pred
    mkdir -p "$pred"
  fi
  if [ "${REFERENCE:-1}" != 0 ] || [ ! -s "$out/real-bank-ref.json" ] || [ -n "$pred" ]; then
    # shellcheck disable=SC2086 # no argument without STANDING
    $py bench/churn_real.py bank-reference "$csv" $pred >"$out/real-bank-ref.json"
  fi
  : >"$out/real-bank.json.lines"
  for f in ${FOLDS:-0 1 2 3 4}; do
    sql -c "UPDATE bank.current SET fold = $f" -c "TRUNCATE vigil.models, vigil.scores"
    "$vigil" --quiet --config "$cfg" train --as-of $asof --horizon 30 --lookback 0 \
      --json >"$out/real-bank-train-$f.json"
    "$vigil" --quiet --config "$cfg" score --as-of $asof --json >/dev/null
    # shellcheck disable=SC2086 # no argument without STANDING
    $py bench/churn_real.py bank-eval "$VIGIL_DSN" "$csv" $f $asof $pred |
      $py -c "
import json, sys
r = json.load(sys.stdin); t = json.load(open('$out/real-bank-train-$f.json'))
r['estimate_auc'] = t['metrics']['auc']; r['kind'] = t.get('model_kind')
# each kind's best candidate (by held-out log loss) on vigil's own CV holdout
c = t['validation_plan']['cv']['candidates']
for k in ('trees', 'linear'):
    b = min((x for x in c if x['kind'] == k), key=lambda x: x['holdout_logloss'])
    r[k + '_cv_auc'] = b['holdout_auc']; r[k + '_cv_logloss'] = b['holdout_logloss']
print(json.dumps(r))" \
      >>"$out/real-bank.json.lines"
  done
  [ -z "$pred" ] || bank_standing "$pred"
  $py - "$out" <<'PY'
import json, statistics as st, sys
o = sys.argv[1]
v = [json.loads(l) for l in open(f"{o}/real-bank.json.lines")]
folds = {x["fold"] for x in v}
r = [x for x in map(json.loads, open(f"{o}/real-bank-ref.json")) if x["fold"] in folds]
m = lambda xs: st.mean(xs)
print(f"| bank_churn, folds {sorted(folds)} of 5 (10,000 customers) | vigil AUC | vigil estimate | vigil Brier | logistic regression AUC | LR Brier | plain xgboost AUC | xgboost Brier | vigil − LR | vigil − xgboost | kinds chosen |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
va, la, xa = m([x["auc"] for x in v]), m([x["logreg"]["auc"] for x in r]), m([x["xgboost"]["auc"] for x in r])
print(f"| mean | {va:.4f} | {m([x['estimate_auc'] for x in v]):.4f} | {m([x['brier'] for x in v]):.4f} | "
      f"{la:.4f} | {m([x['logreg']['brier'] for x in r]):.4f} | {xa:.4f} | {m([x['xgboost']['brier'] for x in r]):.4f} | "
      f"{va - la:+.4f} | {va - xa:+.4f} | {', '.join(x['kind'] or '?' for x in v)} |")
print()
print("| fold | kind chosen | vigil AUC | vigil estimate | LR AUC | xgboost AUC | CV holdout inside vigil: trees AUC | line AUC | trees log loss | line log loss |")
print("|---|---|---|---|---|---|---|---|---|---|")
ref = {x["fold"]: x for x in r}
for x in sorted(v, key=lambda x: x["fold"]):
    y = ref[x["fold"]]
    print(f"| {x['fold']} | {x['kind']} | {x['auc']:.4f} | {x['estimate_auc']:.4f} | {y['logreg']['auc']:.4f} | {y['xgboost']['auc']:.4f} | "
          f"{x['trees_cv_auc']:.4f} | {x['linear_cv_auc']:.4f} | {x['trees_cv_logloss']:.4f} | {x['linear_cv_logloss']:.4f} |")
PY
}

# The paired bootstrap on bank's folds, against both references, by fold
# and pooled.
bank_standing() {
  local pred=$1 groups=() files f r
  for f in ${FOLDS:-0 1 2 3 4}; do groups+=("fold$f"); done
  for r in vigil lr xgb; do
    files=("${groups[@]/#/$pred/$r-}")
    awk 'FNR > 1 || NR == 1' "${files[@]/%/.csv}" >"$pred/$r-pooled.csv"
  done
  for r in lr xgb; do
    REF=$r $py bench/churn_standing.py compare "bank, vigil − $r, mean of folds" "$pred" "${groups[@]}" \
      >"$out/real-bank-standing-$r.json"
    REF=$r $py bench/churn_standing.py compare "bank, vigil − $r, folds pooled" "$pred" pooled \
      >"$out/real-bank-standing-$r-pooled.json"
  done
  $py bench/churn_standing.py table "$out"/real-bank-standing-{lr,lr-pooled,xgb,xgb-pooled}.json
}

# cdnow's paired bootstrap: train + score at the backtest's dates (what
# backtest does, kept), against the reference's predictions (written by
# cdnow's reference run) on the same customers.
cdnow_standing() {
  local cfg=$1 pred=$out/real-cdnow-pred d id
  for d in $CDNOW_DATES; do
    "$vigil" --quiet --config "$cfg" train --as-of "$d" --horizon 90 --json >"$pred/train-$d.json"
    id=$($py -c "import json,sys; print(json.load(sys.stdin)['model_id'])" <"$pred/train-$d.json")
    "$vigil" --quiet --config "$cfg" score --as-of "$d" --model "$id" >/dev/null
    PGOPTIONS="-c search_path=cdnow" $py bench/churn_standing.py vigil-dump "$VIGIL_DSN" 90 "$d" \
      "$pred/vigil-$d.csv"
  done
  # shellcheck disable=SC2086
  $py bench/churn_standing.py compare "cdnow, vigil − reference" "$pred" $CDNOW_DATES \
    >"$out/real-cdnow-standing.json"
  $py bench/churn_standing.py table "$out/real-cdnow-standing.json"
}
CDNOW_DATES="1998-01-31 1998-03-02 1998-04-01"

cdnow() {
  local csv=$out/real-cdnow.csv cfg=$out/real-cdnow-config.json
  $py bench/churn_real.py cdnow-prepare "$DATA/cdnow/CDNOW_master.txt" "$csv"
  sql -c "DROP SCHEMA IF EXISTS cdnow CASCADE" -c "CREATE SCHEMA cdnow" -c "
    CREATE TABLE cdnow.purchases (customer_id text, day date, cds int, dollars numeric)"
  sql -c "\\copy cdnow.purchases FROM '$csv' WITH CSV HEADER"
  # canceled_at: the first purchase followed by 180 days without one, plus
  # 180 days; only when those 180 days end within the data.
  sql -c "
    CREATE TABLE cdnow.customers AS
    WITH p AS (SELECT customer_id, day,
                 lead(day) OVER (PARTITION BY customer_id ORDER BY day) AS next
               FROM (SELECT DISTINCT customer_id, day FROM cdnow.purchases) d)
    SELECT customer_id, NULL::text AS name,
      (min(day)::timestamp AT TIME ZONE 'UTC') AS created_at,
      (min(day + 180) FILTER (WHERE coalesce(next, date '9999-01-01') > day + 180
                                AND day + 180 <= date '1998-06-30')::timestamp
        AT TIME ZONE 'UTC') AS canceled_at,
      NULL::text AS plan, NULL::numeric AS mrr, NULL::integer AS seats,
      NULL::text AS language
    FROM p GROUP BY customer_id" -c "ALTER TABLE cdnow.customers ADD PRIMARY KEY (customer_id)" -c "
    CREATE VIEW cdnow.usage_events AS
    SELECT customer_id, (day::timestamp + interval '12 hours') AT TIME ZONE 'UTC' AS occurred_at,
      t.event_type, NULL::text AS user_id,
      CASE t.event_type WHEN 'cds' THEN cds::double precision
        ELSE dollars::double precision END AS quantity
    FROM cdnow.purchases CROSS JOIN (VALUES ('cds'), ('dollars')) t(event_type)"
  empty_relations cdnow
  echo "{\"source\": {\"schema\": \"cdnow\"}$fams}" >"$cfg"
  "$vigil" --quiet --config "$cfg" backtest --from 1998-01-31 --to 1998-04-01 \
    --every 30 --horizon 90 --json >"$out/real-cdnow.json"
  # churn_reference.py reads public's relations: point a session at cdnow.
  # REFERENCE=0 keeps the reference figures of an earlier run (same data).
  # With STANDING=1 it also keeps its predictions (always run then).
  local refopt=()
  if [ "${STANDING:-0}" = 1 ]; then
    refopt=(--predictions "$out/real-cdnow-pred")
    mkdir -p "$out/real-cdnow-pred"
  fi
  if [ "${REFERENCE:-1}" != 0 ] || [ ! -s "$out/real-cdnow-ref.json" ] || [ -n "${refopt[*]}" ]; then
    PGOPTIONS="-c search_path=cdnow" $py bench/churn_reference.py "${refopt[@]}" "$VIGIL_DSN" 90 \
      1998-01-31 1998-03-02 1998-04-01 >"$out/real-cdnow-ref.json"
  fi
  [ "${STANDING:-0}" != 1 ] || cdnow_standing "$cfg"
  $py - "$out" <<'PY'
import json, statistics as st, sys
o = sys.argv[1]
v = json.load(open(f"{o}/real-cdnow.json"))
r = [json.loads(l) for l in open(f"{o}/real-cdnow-ref.json")]
print("| cdnow (90-day horizon) | customers | churned | vigil AUC | vigil estimate | reference AUC | vigil − reference | vigil Brier | reference Brier | baseline AUC | kind |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for d, x in zip(v["dates"], r):
    print(f"| {d['as_of']} | {d['customers']} | {d['churned']} | {d['realised']['auc']:.4f} | {d['estimated']['auc']:.4f} | "
          f"{x['auc']:.4f} | {d['realised']['auc'] - x['auc']:+.4f} | {d['realised']['brier']:.4f} | {x['brier']:.4f} | "
          f"{d['baseline']['auc']:.4f} | {d['training'].get('model_kind')} |")
m = lambda g, k: st.mean(d[g][k] for d in v["dates"])
ra = st.mean(x["auc"] for x in r)
print(f"| mean | | | {m('realised','auc'):.4f} | {m('estimated','auc'):.4f} | {ra:.4f} | {m('realised','auc') - ra:+.4f} | "
      f"{m('realised','brier'):.4f} | {st.mean(x['brier'] for x in r):.4f} | {m('baseline','auc'):.4f} | |")
PY
}

for s in $SETS; do
  case $s in
  bank) bank ;;
  cdnow) cdnow ;;
  *) echo "unknown set $s (bank, cdnow)" >&2; exit 2 ;;
  esac
done
