#!/usr/bin/env bash
# churn_standing.sh — where vigil stands against the plain reference
# (bench/churn_reference.py) on each demo world, with a paired bootstrap
# confidence interval of the AUC difference.
#
#   bench/churn_standing.sh [CUSTOMERS]    default 10000; WORLDS="saas price"
#   SUMMARY_ONLY=1                         print the tables of finished worlds
#   OUT=DIR                                figures there (default build/bench/standing)
#   BOOT=2000 SEED=20261207                bootstrap replicates and seed
#   DEMO_SEED=S                            another draw of each world (`demo
#                                          --seed S`); its files W-N-sS
#   TRAIN_SEED=S                           vigil's train.seed S instead of its
#                                          default, on the database and the
#                                          reference predictions of a finished
#                                          run without it (reused: no demo, no
#                                          reference); files W-N[-sD]-tS
#   REF_SEED=S                             the reference's xgboost seed S instead
#                                          of 1, against vigil's predictions of
#                                          a finished run (reused, like
#                                          TRAIN_SEED); files W-N[-sD]-rS
#
# Per world, in its own database of one private PostgreSQL (BENCH_PG_DIR,
# default /tmp/vigil-standing-pg; worlds can run as separate invocations
# side by side, each with its own BENCH_PG_DIR): `demo --world W --customers
# N --end 2026-11-01`; then for 2026-08-02, 2026-09-01 and 2026-10-01
# `train --as-of D --horizon 30` and `score --as-of D --model <that model>`
# (default configuration), vigil's risks read from vigil.scores with
# tests/outside_eval.h's label (what `backtest` reports as realised); the
# reference with --predictions on the same database and dates. Then
# bench/churn_standing.py compare: per date each pipeline's AUC and Brier,
# the mean difference over the dates, and a paired bootstrap of it
# (customers resampled within each date, one draw for both pipelines).
# Raw figures: OUT/W-N/{train-D.json, vigil-D.csv, ref-D.csv, ref.json,
# standing.json}. Needs python3-xgboost, python3-pandas, python3-sklearn.
set -euo pipefail
N=${1:-10000}
seedopt=()
tag=$N
if [ -n "${DEMO_SEED:-}" ]; then
  seedopt=(--seed "$DEMO_SEED")
  tag=$N-s$DEMO_SEED
fi
WORLDS=${WORLDS:-"saas onboarding support price champion seasonal silent"}
DATES="2026-08-02 2026-09-01 2026-10-01"
H=30
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${OUT:-build/bench/standing}
py=/usr/bin/python3
summary() {
  # shellcheck disable=SC2086 # the worlds are words
  $py - "$out" "$tag" $WORLDS <<'PY'
import json, os, sys
out, n, worlds = sys.argv[1], sys.argv[2], sys.argv[3:]
s = {w: json.load(open(f"{out}/{w}-{n}/standing.json")) for w in worlds
     if os.path.exists(f"{out}/{w}-{n}/standing.json")}
print(f"| world ({n} customers) | vigil AUC | reference AUC | vigil − reference | 95 % interval | share ≥ +0.01 | share ≥ 0 | vigil Brier | reference Brier | Brier difference (95 % interval) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for w, x in s.items():
    a, b = x["auc_boot"], x["brier_boot"]
    print(f"| {w} | {x['vigil_auc']:.4f} | {x['ref_auc']:.4f} | {x['auc_diff']:+.4f} | "
          f"{a['lo95']:+.4f} … {a['hi95']:+.4f} | {a['share_ge_0.01']:.3f} | {a['share_ge_0']:.3f} | "
          f"{x['vigil_brier']:.4f} | {x['ref_brier']:.4f} | {x['brier_diff']:+.5f} ({b['lo95']:+.5f} … {b['hi95']:+.5f}) |")
print()
print("| world | date | customers (paired) | churned | vigil AUC | reference AUC | vigil − reference | vigil Brier | reference Brier | rows only one pipeline scored |")
print("|---|---|---|---|---|---|---|---|---|---|")
for w, x in s.items():
    for g in x["groups"]:
        p = g["paired"]
        print(f"| {w} | {g['group']} | {p['rows']} | {p['churned']} | {p['vigil']['auc']:.4f} | {p['ref']['auc']:.4f} | "
              f"{p['auc_diff']:+.4f} | {p['vigil']['brier']:.4f} | {p['ref']['brier']:.4f} | {p['vigil_only']} vigil, {p['ref_only']} reference |")
PY
}
base_tag=$tag
if [ -n "${TRAIN_SEED:-}" ]; then
  tag=$tag-t$TRAIN_SEED
elif [ -n "${REF_SEED:-}" ]; then
  tag=$tag-r$REF_SEED
fi
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  summary
  exit 0
fi
. bench/lib.sh
vigil=$(bench_vigil)
base=$(scripts/pg.sh start "${BENCH_PG_DIR:-/tmp/vigil-standing-pg}")
for w in $WORLDS; do
  dir=$out/$w-$tag
  mkdir -p "$dir"
  db=standing_${w}_${base_tag/-/_}
  VIGIL_DSN=${base/dbname=vigil/dbname=$db}
  export VIGIL_DSN
  cfg=()
  if [ -n "${REF_SEED:-}" ] && [ -z "${TRAIN_SEED:-}" ]; then
    cp "$out/$w-$base_tag"/vigil-*.csv "$dir/"
    # shellcheck disable=SC2086 # the dates are words
    $py bench/churn_reference.py --predictions "$dir" --seed "$REF_SEED" "$VIGIL_DSN" $H $DATES \
      >"$dir/ref.json"
    # shellcheck disable=SC2086
    $py bench/churn_standing.py compare "$w" "$dir" $DATES >"$dir/standing.json"
    continue
  fi
  if [ -n "${TRAIN_SEED:-}" ]; then
    echo "{\"train\": {\"seed\": $TRAIN_SEED}}" >"$dir/config.json"
    cfg=(--config "$dir/config.json")
  else
    psql "$base" -qX -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    "$vigil" --quiet init >/dev/null
    "$vigil" --quiet demo --world "$w" --customers "$N" "${seedopt[@]}" --end 2026-11-01 >/dev/null
  fi
  for d in $DATES; do
    "$vigil" --quiet "${cfg[@]}" train --as-of "$d" --horizon $H --json >"$dir/train-$d.json"
    id=$($py -c "import json,sys; print(json.load(sys.stdin)['model_id'])" <"$dir/train-$d.json")
    "$vigil" --quiet "${cfg[@]}" score --as-of "$d" --model "$id" >/dev/null
    $py bench/churn_standing.py vigil-dump "$VIGIL_DSN" $H "$d" "$dir/vigil-$d.csv"
  done
  if [ -n "${TRAIN_SEED:-}" ]; then
    cp "$out/$w-$base_tag"/ref-*.csv "$out/$w-$base_tag/ref.json" "$dir/"
  else
    # shellcheck disable=SC2086 # the dates are words
    $py bench/churn_reference.py --predictions "$dir" "$VIGIL_DSN" $H $DATES >"$dir/ref.json"
  fi
  # shellcheck disable=SC2086
  $py bench/churn_standing.py compare "$w" "$dir" $DATES >"$dir/standing.json"
done
summary
