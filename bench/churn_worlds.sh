#!/usr/bin/env bash
# churn_worlds.sh — vigil's realised churn-model quality on every demo world,
# from `vigil backtest` (three monthly dates), next to a plain pandas +
# python-xgboost pipeline (bench/churn_reference.py) on the same dates.
#
#   bench/churn_worlds.sh [CUSTOMERS]      default 4000; WORLDS="saas price" to pick
#   SUMMARY_ONLY=1                         print the tables of finished runs only
#   SEED=S                                 demo seed (default: demo's own); files
#                                          then carry "-sS" so seeds do not collide
#
# Prints a Markdown table (means over the dates, then per date); raw JSON in
# build/bench/churn-*.json. Uses its own private PostgreSQL (BENCH_PG_DIR,
# default /tmp/vigil-churn-pg). Needs python3-xgboost,
# python3-pandas and python3-sklearn (Debian).
set -euo pipefail
N=${1:-4000}
WORLDS=${WORLDS:-"saas onboarding support price champion seasonal silent"}
END=2026-11-01
FROM=2026-08-02
TO=2026-10-01
H=30
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seedopt=()
tag=$N
if [ -n "${SEED:-}" ]; then
  seedopt=(--seed "$SEED")
  tag=$N-s$SEED
fi
summary() {
/usr/bin/python3 - "$tag" $WORLDS <<'PY'
import json, statistics, sys
n, worlds = sys.argv[1], sys.argv[2:]
print(f"| world ({n} customers) | vigil AUC (realised) | vigil estimate | reference AUC | vigil − reference | vigil Brier | reference Brier | baseline AUC | backtest s |")
print("|---|---|---|---|---|---|---|---|---|")
for w in worlds:
    v = json.load(open(f"build/bench/churn-{w}-{n}.json"))
    ref = [json.loads(l) for l in open(f"build/bench/churn-{w}-{n}-ref.json")]
    t = json.load(open(f"build/bench/churn-{w}-{n}-time.json"))["backtest_seconds"]
    m = lambda g, k: statistics.mean(d[g][k] for d in v["dates"])
    ra = statistics.mean(r["auc"] for r in ref)
    rb = statistics.mean(r["brier"] for r in ref)
    print(f"| {w} | {m('realised','auc'):.3f} | {m('estimated','auc'):.3f} | {ra:.3f} | "
          f"{m('realised','auc') - ra:+.3f} | {m('realised','brier'):.4f} | {rb:.4f} | "
          f"{m('baseline','auc'):.3f} | {t:.0f} |")
print()
print("| world | date | customers | churned | vigil AUC | estimate | reference AUC | vigil − reference | vigil Brier | reference Brier |")
print("|---|---|---|---|---|---|---|---|---|---|")
for w in worlds:
    v = json.load(open(f"build/bench/churn-{w}-{n}.json"))
    ref = {r["as_of"]: r for r in (json.loads(l) for l in open(f"build/bench/churn-{w}-{n}-ref.json"))}
    for d in v["dates"]:
        r = ref.get(d["as_of"][:10])
        ra = f"{r['auc']:.3f} | {d['realised']['auc'] - r['auc']:+.3f}" if r else "– | –"
        rb = f"{r['brier']:.4f}" if r else "–"
        print(f"| {w} | {d['as_of'][:10]} | {d['customers']} | {d['churned']} | {d['realised']['auc']:.3f} | "
              f"{d['estimated']['auc']:.3f} | {ra} | {d['realised']['brier']:.4f} | {rb} |")
PY
}
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  summary
  exit 0
fi
. bench/lib.sh
vigil=$(bench_vigil)
VIGIL_DSN=$(scripts/pg.sh start "${BENCH_PG_DIR:-/tmp/vigil-churn-pg}")
export VIGIL_DSN
mkdir -p build/bench
"$vigil" --quiet init >/dev/null
for w in $WORLDS; do
  "$vigil" --quiet demo --world "$w" --customers "$N" "${seedopt[@]}" --end "$END" >/dev/null
  psql "$VIGIL_DSN" -qc "TRUNCATE vigil.models, vigil.scores" >/dev/null 2>&1 || true
  # family lifetime's weekly summary is keyed by schema and week, not by
  # the data: the previous world's would be read as this one's
  psql "$VIGIL_DSN" -qc "TRUNCATE vigil.usage_history, vigil.usage_history_cuts"
  t0=$(date +%s.%N)
  "$vigil" --quiet backtest --from "$FROM" --to "$TO" --every 30 --horizon "$H" --json \
    >"build/bench/churn-$w-$tag.json"
  t1=$(date +%s.%N)
  /usr/bin/python3 bench/churn_reference.py "$VIGIL_DSN" "$H" 2026-08-02 2026-09-01 2026-10-01 \
    >"build/bench/churn-$w-$tag-ref.json"
  echo "{\"world\":\"$w\",\"backtest_seconds\":$(awk "BEGIN{print $t1 - $t0}")}" \
    >"build/bench/churn-$w-$tag-time.json"
done
summary
