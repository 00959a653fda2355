#!/usr/bin/env bash
# churn_ablation.sh — what each optional feature family (config key
# features.families) is worth: `vigil backtest` on several demo worlds with
# every family on, with none, and with each one left out.
#
#   bench/churn_ablation.sh [CUSTOMERS]    default 3000
#   WORLDS="saas price"                    worlds (default: all seven)
#   FAMILIES="long_windows users"          families measured (default: all)
#   JOBS=4                                 configurations run side by side
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
WORLDS=${WORLDS:-"saas onboarding support price champion seasonal silent"}
ALL="long_windows type_trends recency users ticket_trends tenure"
FAMILIES=${FAMILIES:-$ALL}
END=2026-11-01
FROM=2026-08-02
TO=2026-10-01
H=30
summary() {
  /usr/bin/python3 - "$N" "$WORLDS" "$configs" <<'PY'
import json, statistics, sys
n, worlds, configs = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
def auc(w, c):
    v = json.load(open(f"build/bench/ablation-{w}-{n}-{c}.json"))
    return statistics.mean(d["realised"]["auc"] for d in v["dates"])
a = {(w, c): auc(w, c) for w in worlds for c in configs}
print(f"| configuration ({n} customers) | " + " | ".join(worlds) + " | mean | worth of the family (all − this) |")
print("|---|" + "---|" * (len(worlds) + 2))
for c in configs:
    row = [a[(w, c)] for w in worlds]
    worth = ""
    if c != "all":
        d = [a[(w, "all")] - a[(w, c)] for w in worlds]
        helps = sum(x > 0 for x in d)
        worth = f"{statistics.mean(d):+.4f} (helps on {helps} of {len(d)})"
    print(f"| {c} | " + " | ".join(f"{x:.3f}" for x in row) +
          f" | {statistics.mean(row):.4f} | {worth} |")
PY
}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
configs="all none"
for f in $FAMILIES; do configs="$configs no-$f"; done
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  summary
  exit 0
fi
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j2 >/dev/null
vigil="$root/build/release/vigil"
pgdir=${BENCH_PG_DIR:-/tmp/vigil-ablation-pg}
VIGIL_DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN
trap 'scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true' EXIT
mkdir -p build/bench
cfgdir=$(mktemp -d /tmp/vigil-ablation-cfg.XXXX)

# config NAME FAMILY... : a config file switching on exactly these families
config() {
  local name=$1
  shift
  local list=""
  for f in "$@"; do list="$list${list:+, }\"$f\""; done
  echo "{\"features\": {\"families\": [$list]}}" >"$cfgdir/$name.json"
}
config all $ALL
config none
for f in $FAMILIES; do
  # shellcheck disable=SC2086
  config "no-$f" $(echo $ALL | tr ' ' '\n' | grep -vx "$f")
done

"$vigil" --quiet init >/dev/null
for w in $WORLDS; do
  "$vigil" --quiet demo --world "$w" --customers "$N" --end "$END" >/dev/null
  # backtest writes nothing, so configurations can run side by side
  for c in $configs; do echo "$c"; done |
    xargs -P "${JOBS:-1}" -I{} sh -c "\"$vigil\" --quiet --config \"$cfgdir/{}.json\" \
      backtest --from $FROM --to $TO --every 30 --horizon $H --json \
      >build/bench/ablation-$w-$N-{}.json"
done
rm -rf "$cfgdir"

summary
