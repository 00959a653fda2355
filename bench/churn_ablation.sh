#!/usr/bin/env bash
# churn_ablation.sh — what each optional feature family (config key
# features.families) is worth: `vigil backtest` on several demo worlds with
# every family on, with none, and with each one left out.
#
#   bench/churn_ablation.sh [CUSTOMERS]    default 3000
#   WORLDS="saas price"                    worlds (default: all seven)
#   FAMILIES="long_windows users"          families measured (default: all)
#   JOBS=4                                 configurations run side by side
#   CONFIGS="none only-lifetime all"       the configurations instead (all,
#                                          none, no-FAMILY, only-FAMILY: the
#                                          families always kept; auto-FAMILY:
#                                          FAMILY with features.families_choice
#                                          "auto", train keeps it or not;
#                                          step-auto, step-monthly,
#                                          step-blend: the default families
#                                          with train.step_choice "auto",
#                                          "monthly" or "blend"; recency-90:
#                                          the default families with
#                                          train.recency_half_life_days 90;
#                                          bag-3, bag-5: the default families
#                                          with train.bag 3 or 5)
#   REFERENCE=1                            also bench/churn_reference.py on
#                                          each world (same data and dates)
#   SEED=7                                 train.seed for every configuration
#                                          (default vigil's); files and table
#                                          named N-seed7: a second draw of the
#                                          same pairs, to see the noise
#
# Prints a Markdown table of mean realised ROC AUC per configuration and
# world, and each family's worth: AUC(all) − AUC(all but that family),
# averaged over the worlds (positive: the family helps). Raw JSON in
# build/bench/ablation-*.json. Uses its own private PostgreSQL
# (BENCH_PG_DIR, default /tmp/vigil-ablation-pg); stops it at the end.
# Worlds can run as separate invocations side by side (each with its own
# BENCH_PG_DIR); SUMMARY_ONLY=1 then prints the table of all of them from
# the JSON files without running anything.
set -euo pipefail
N=${1:-3000}
# the files' tag: customers, and the seed when it is not vigil's default
TAG=$N${SEED:+-seed$SEED}
WORLDS=${WORLDS:-"saas onboarding support price champion seasonal silent"}
ALL="long_windows type_trends recency users ticket_trends tenure lifetime"
FAMILIES=${FAMILIES:-$ALL}
END=2026-11-01
FROM=2026-08-02
TO=2026-10-01
H=30
summary() {
  /usr/bin/python3 - "$TAG" "$WORLDS" "$configs" <<'PY'
import json, os, statistics, sys
n, worlds, configs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def dates(w, c):
    return json.load(open(f"build/bench/ablation-{w}-{n}-{c}.json"))["dates"]
def mean(w, c, g, k):
    return statistics.mean(d[g][k] for d in dates(w, c))
a = {(w, c): mean(w, c, "realised", "auc") for w in worlds for c in configs}
base = "all" if "all" in configs else configs[0]
print(f"| configuration ({n} customers) | " + " | ".join(worlds) + f" | mean | this − {base} (mean; better on) |")
print("|---|" + "---|" * (len(worlds) + 2))
for c in configs:
    row = [a[(w, c)] for w in worlds]
    worth = ""
    if c != base:
        d = [a[(w, c)] - a[(w, base)] for w in worlds]
        worth = f"{statistics.mean(d):+.4f} ({sum(x > 0 for x in d)} of {len(d)})"
    print(f"| {c} | " + " | ".join(f"{x:.3f}" for x in row) +
          f" | {statistics.mean(row):.4f} | {worth} |")
# Per world and date: AUC, estimate and Brier of each configuration, and
# the reference's when it ran.
print()
print("| world | configuration | AUC per date | mean AUC | estimate − realised | Brier | reference AUC | vigil − reference | reference Brier |")
print("|---|---|---|---|---|---|---|---|---|")
for w in worlds:
    rf = f"build/bench/ablation-{w}-{n}-ref.json"
    ref = [json.loads(l) for l in open(rf)] if os.path.exists(rf) else []
    ra = statistics.mean(r["auc"] for r in ref) if ref else None
    rb = statistics.mean(r["brier"] for r in ref) if ref else None
    for c in configs:
        per = ", ".join(f"{d['realised']['auc']:.3f}" for d in dates(w, c))
        ma = a[(w, c)]
        gap = mean(w, c, "estimated", "auc") - ma
        print(f"| {w} | {c} | {per} | {ma:.3f} | {gap:+.3f} | {mean(w, c, 'realised', 'brier'):.4f} | "
              + (f"{ra:.3f} | {ma - ra:+.3f} | {rb:.4f} |" if ref else "– | – | – |"))
# What the automatic choice (auto-FAMILY) decided on each date: the select
# stage's held-out log loss with and without the family.
auto = [c for c in configs if c.startswith("auto-")]
if auto:
    print()
    print("| world | configuration | date | kept | log loss with | without | paired difference (se) |")
    print("|---|---|---|---|---|---|---|")
for w in worlds:
    for c in auto:
        for d in dates(w, c):
            for t in (d["training"].get("families") or {}).get("tried", []):
                print(f"| {w} | {c} | {d['as_of']} | {'yes' if t['kept'] else 'no'} | "
                      f"{t['logloss_with']:.5f} | {t['logloss_without']:.5f} | "
                      f"{t['paired_difference']:+.5f} ({t['paired_se']:.5f}) |")
# What the automatic step choice (step-auto) decided on each date: the
# select stage's held-out log loss on every date and on about monthly ones.
step = [c for c in configs if c.startswith("step-")]
if step:
    print()
    print("| world | configuration | date | kept | dates (every / monthly) | log loss every | monthly | paired difference monthly − every (se) |")
    print("|---|---|---|---|---|---|---|---|")
for w in worlds:
    for c in step:
        for d in dates(w, c):
            s = d["training"].get("observation_step") or {}
            cs = s.get("candidates", [])
            if len(cs) != 2:
                print(f"| {w} | {c} | {d['as_of']} | every | – | – | – | {s.get('rule', '')} |")
                continue
            print(f"| {w} | {c} | {d['as_of']} | {'monthly' if s['every_nth'] > 1 else 'every'} | "
                  f"{cs[0]['observation_dates']} / {cs[1]['observation_dates']} | "
                  f"{cs[0]['holdout_logloss']:.5f} | {cs[1]['holdout_logloss']:.5f} | "
                  f"{s['paired_difference']:+.5f} ({s['paired_se']:.5f}) |")
PY
}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
configs="all none"
for f in $FAMILIES; do configs="$configs no-$f"; done
configs=${CONFIGS:-$configs}
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  summary
  exit 0
fi
. bench/lib.sh
vigil=$(bench_vigil)
pgdir=${BENCH_PG_DIR:-/tmp/vigil-ablation-pg}
VIGIL_DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN
trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true' EXIT
mkdir -p build/bench
cfgdir=$(mktemp -d /tmp/vigil-ablation-cfg.XXXX)

# config NAME FAMILY... : a config file switching on exactly these families
# (always kept; CHOICE=auto lets train choose)
config() {
  local name=$1
  shift
  local list=""
  for f in "$@"; do list="$list${list:+, }\"$f\""; done
  # train.* only when set: a binary from before step_choice still runs
  local train=""
  [ -n "${STEP:-}" ] && train="\"step_choice\": \"$STEP\""
  [ -n "${RECENCY:-}" ] && train="$train${train:+, }\"recency_half_life_days\": $RECENCY"
  [ -n "${BAG:-}" ] && train="$train${train:+, }\"bag\": $BAG"
  [ -n "${SEED:-}" ] && train="$train${train:+, }\"seed\": $SEED"
  [ -n "$train" ] && train=", \"train\": {$train}"
  echo "{\"features\": {\"families\": [$list], \"families_choice\": \"${CHOICE:-always}\"}$train}" \
    >"$cfgdir/$name.json"
}
config all $ALL
config none
STEP=auto config step-auto lifetime
STEP=monthly config step-monthly lifetime
STEP=blend config step-blend lifetime
RECENCY=90 config recency-90 lifetime
BAG=3 config bag-3 lifetime
BAG=5 config bag-5 lifetime
for f in $ALL; do
  # shellcheck disable=SC2086
  config "no-$f" $(echo $ALL | tr ' ' '\n' | grep -vx "$f")
  config "only-$f" "$f"
  CHOICE=auto config "auto-$f" "$f"
done

"$vigil" --quiet init >/dev/null
for w in $WORLDS; do
  "$vigil" --quiet demo --world "$w" --customers "$N" --end "$END" >/dev/null
  # family lifetime's weekly summary is keyed by schema and week, not by
  # the data: the previous world's would be read as this one's
  psql -q "$VIGIL_DSN" -c "TRUNCATE vigil.usage_history, vigil.usage_history_cuts"
  # backtest writes nothing, so configurations can run side by side
  for c in $configs; do echo "$c"; done |
    xargs -P "${JOBS:-1}" -I{} sh -c "\"$vigil\" --quiet --config \"$cfgdir/{}.json\" \
      backtest --from $FROM --to $TO --every 30 --horizon $H --json \
      >build/bench/ablation-$w-$TAG-{}.json"
  if [ "${REFERENCE:-0}" = 1 ]; then
    /usr/bin/python3 bench/churn_reference.py "$VIGIL_DSN" "$H" $FROM 2026-09-01 $TO \
      >"build/bench/ablation-$w-$TAG-ref.json"
  fi
done
rm -rf "$cfgdir"

summary
