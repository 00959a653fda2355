#!/usr/bin/env bash
# scale.sh — the scale targets of issue 13 on one loaded demo company:
# `score` against PostgreSQL alone on the same aggregation (alternating, the
# ratio taken within each pair), peak RSS, one `train`, and the day's
# `topics` and `outreach`, with the load average beside every step.
#
#   bench/scale.sh CUSTOMERS [RUNS]     default 3 runs
#
# Uses BENCH_PG_DIR (default /tmp/vigil-scale-pg-CUSTOMERS), loading the
# demo company there first unless it already holds CUSTOMERS customers.
# VIGIL_BIN picks the binary (default: a Release build of this checkout).
# Raw JSON lines go to build/bench/scale-CUSTOMERS.jsonl; a Markdown summary
# (medians) to stdout. SCALE_STEPS limits the steps (default "pair train
# topics outreach").
set -euo pipefail
N=${1:?usage: bench/scale.sh CUSTOMERS [RUNS]}
RUNS=${2:-3}
END=${BENCH_END:-2026-11-01}
STEPS=${SCALE_STEPS:-pair train topics outreach}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
VIGIL_BIN=$(bench_vigil)
pgdir=${BENCH_PG_DIR:-/tmp/vigil-scale-pg-$N}
VIGIL_DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN
out=$root/build/bench/scale-$N.jsonl
: >"$out"
v() { nice -n "${BENCH_NICE:-5}" "$VIGIL_BIN" --quiet "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }
record() { # step json
  echo "{\"step\":\"$1\",\"load\":$(load),\"summary\":$2}" >>"$out"
}

v init >/dev/null
have=$(psql "$VIGIL_DSN" -Atc "SELECT count(*) FROM public.customers" 2>/dev/null || echo 0)
if [ "$have" != "$N" ]; then
  t0=$(date +%s.%N)
  v demo --customers "$N" --end "$END" --json >"$root/build/bench/scale-demo-$N.json"
  t1=$(date +%s.%N)
  record demo "{\"elapsed_seconds\":$(echo "$t1 - $t0" | bc)}"
fi
psql "$VIGIL_DSN" -qc "VACUUM ANALYZE public.usage_events, public.tickets, public.customers" >/dev/null
# --pg-only makes the server COPY to its own /dev/null (see bench/bench.sh)
psql "$VIGIL_DSN user=postgres" -qc "GRANT pg_write_server_files TO vigil_app" >/dev/null 2>&1
if ! psql "$VIGIL_DSN" -Atc "SELECT 1 FROM vigil.models WHERE is_champion" | grep -q 1; then
  record train "$(v train --as-of "$END" --json)"
fi
for step in $STEPS; do
  case $step in
  pair)
    for i in $(seq "$RUNS"); do
      record pg_only "$(v features --as-of "$END" --pg-only --json)"
      record score "$(v score --as-of "$END" --json)"
    done ;;
  train) record train "$(v train --as-of "$END" --json)" ;;
  topics) record topics "$(v topics --as-of "$END" --json)" ;;
  outreach) record outreach "$(v outreach --as-of "$END" --json)" ;;
  esac
done

/usr/bin/python3 - "$out" "$N" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
def of(step): return [r for r in rows if r["step"] == step]
pg, sc = of("pg_only"), of("score")
print(f"### {n:,} customers\n")
print("| step | load | seconds | peak RSS (MB) | score / PostgreSQL alone |")
print("|---|---|---|---|---|")
for r in rows:
    s = r["summary"]
    rss = s.get("cli_peak_rss_mb")
    print(f"| {r['step']} | {r['load']} | {s.get('elapsed_seconds', float('nan')):.1f} | "
          f"{'' if rss is None else round(rss)} | |")
ratios = [s["summary"]["elapsed_seconds"] / p["summary"]["elapsed_seconds"] for p, s in zip(pg, sc)]
if ratios:
    print(f"\nscore / PostgreSQL alone per pair: {[round(x, 2) for x in ratios]}, "
          f"median **{statistics.median(ratios):.2f}**; score peak RSS median "
          f"{statistics.median(s['summary']['cli_peak_rss_mb'] for s in sc):.0f} MB")
    ph = {k: statistics.median(s["summary"]["phase_seconds"][k] for s in sc)
          for k in sc[0]["summary"].get("phase_seconds", {})}
    print("score phases (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in ph.items()))
PY
