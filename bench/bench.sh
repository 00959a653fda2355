#!/usr/bin/env bash
# bench.sh — time and memory of features, train and score on the demo company,
# with PostgreSQL's own time for the same aggregation measured in the same run.
#
#   bench/bench.sh [CUSTOMERS] [RUNS]     defaults: 200000 customers, 3 runs
#
# Prints a Markdown report (medians of RUNS) and keeps raw JSON lines in
# build/bench/results-CUSTOMERS.jsonl. Uses its own private PostgreSQL in
# /tmp/vigil-bench-pg, reusing the loaded company when the size matches.
set -euo pipefail
N=${1:-200000}
RUNS=${2:-3}
END=${BENCH_END:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

scripts/install-deps.sh
. bench/lib.sh
vigil=$(bench_vigil)
pgdir=${BENCH_PG_DIR:-/tmp/vigil-bench-pg}
VIGIL_DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN
out="$root/build/bench/results-$N.jsonl"
: >"$out"

now() { date +%s.%N; }
"$vigil" --quiet init >/dev/null
loaded=$(psql "$VIGIL_DSN" -Atc "SELECT count(*) FROM public.customers" 2>/dev/null || echo 0)
if [ "$loaded" != "$N" ]; then
  t0=$(now)
  "$vigil" --quiet demo --customers "$N" --end "$END" --json >"$root/build/bench/demo-$N.json"
  t1=$(now)
  echo "{\"step\":\"demo\",\"seconds\":$(awk "BEGIN{print $t1 - $t0}"),\"summary\":$(cat "$root/build/bench/demo-$N.json")}" >>"$out"
fi
psql "$VIGIL_DSN" -qc "VACUUM ANALYZE public.usage_events, public.tickets, public.customers" >/dev/null

record() { # step json
  echo "{\"step\":\"$1\",\"summary\":$2}" >>"$out"
}
# warm the cache once so every measured run sees the same state
# --pg-only has the server COPY the aggregation to its own /dev/null, which
# needs pg_write_server_files; vigil_app is no superuser (least privilege),
# so the benchmark grants it that role on its private cluster (trust auth).
psql "$VIGIL_DSN user=postgres" -qc "GRANT pg_write_server_files TO vigil_app" >/dev/null
"$vigil" --quiet features --as-of "$END" --pg-only --json >/dev/null
"$vigil" --quiet train --as-of "$END" --json >/dev/null
for i in $(seq "$RUNS"); do
  record pg_only "$("$vigil" --quiet features --as-of "$END" --pg-only --json)"
  record features "$("$vigil" --quiet features --as-of "$END" --json)"
  record score "$("$vigil" --quiet score --as-of "$END" --json)"
  record train "$("$vigil" --quiet train --as-of "$END" --json)"
done

/usr/bin/python3 - "$out" "$N" "$RUNS" <<'PY'
import json, statistics, sys, subprocess, os
path, n, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = [json.loads(l) for l in open(path)]
def med(step, key):
    v = [r["summary"][key] for r in rows if r["step"] == step]
    return statistics.median(v) if v else float("nan")
def all_(step, key):
    return [round(r["summary"][key], 2) for r in rows if r["step"] == step]
pg = med("pg_only", "elapsed_seconds")
ratios_f = [f["summary"]["elapsed_seconds"] / p["summary"]["elapsed_seconds"]
            for f, p in zip([r for r in rows if r["step"] == "features"], [r for r in rows if r["step"] == "pg_only"])]
ratios_s = [f["summary"]["elapsed_seconds"] / p["summary"]["elapsed_seconds"]
            for f, p in zip([r for r in rows if r["step"] == "score"], [r for r in rows if r["step"] == "pg_only"])]
cpu = subprocess.run("lscpu | sed -n 's/^Model name: *//p'", shell=True, capture_output=True, text=True).stdout.strip()
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
demo = [r for r in rows if r["step"] == "demo"]
last_train = [r for r in rows if r["step"] == "train"][-1]["summary"]
print(f"### {n:,} customers, {runs} runs (medians)\n")
print(f"Machine: {cpu}, {os.cpu_count()} cores, {mem:.0f} GiB; PostgreSQL 15 private instance.")
if demo:
    d = demo[0]["summary"]
    print(f"Data: {d['customers']:,} customers, {d['events']:,} events, {d['tickets']:,} tickets; loaded in {demo[0]['seconds']:.0f} s.\n")
print("| step | median time (s) | runs (s) | peak RSS (MB) | ratio to PostgreSQL alone |")
print("|---|---|---|---|---|")
print(f"| PostgreSQL alone: the feature aggregation for one date, COPY TO '/dev/null' | {pg:.2f} | {all_('pg_only','elapsed_seconds')} | – | 1.00 |")
print(f"| `vigil features` (one date, into the matrix) | {med('features','elapsed_seconds'):.2f} | {all_('features','elapsed_seconds')} | {med('features','cli_peak_rss_mb'):.0f} | {statistics.median(ratios_f):.2f} |")
print(f"| `vigil score` (one date, drivers, written) | {med('score','elapsed_seconds'):.2f} | {all_('score','elapsed_seconds')} | {med('score','cli_peak_rss_mb'):.0f} | {statistics.median(ratios_s):.2f} |")
print(f"| `vigil train` (26 weekly dates, search, calibration, store) | {med('train','elapsed_seconds'):.2f} | {all_('train','elapsed_seconds')} | {med('train','cli_peak_rss_mb'):.0f} | – |")
print()
t = last_train
print(f"Training rows {t['rows']:,} ({t['positives']:,} churned), {t['features']} features, best rounds {t['best_rounds']}; "
      f"time split: features {t['seconds']['features']:.1f} s, fit {t['seconds']['fit']:.1f} s, store {t['seconds']['store']:.1f} s.\n")
m, b = t["metrics"], t["baseline"]
print("| validation (latest date t_0; sampled customers, weighted) | ROC AUC | PR AUC | Brier | log loss | lift top 10% |")
print("|---|---|---|---|---|---|")
for name, x in (("model", m), ("baseline: days since last activity", b)):
    print(f"| {name} | {x['auc']:.3f} | {x['pr_auc']:.3f} | {x['brier']:.4f} | {x['logloss']:.4f} | {x['lift_top_decile']:.2f} |")
print(f"\nBase rate {m['base_rate']:.4f}; the validation rows stand for {int(m['rows']):,} customer-dates. Calibration (weighted predicted vs observed churn rate per bin; rows are unweighted counts):\n")
print("| bin | rows | mean predicted | observed |")
print("|---|---|---|---|")
for c in m.get("calibration_table", []):
    print(f"| {c['lo']:.4f}–{c['hi']:.4f} | {c['rows']:,} | {c['mean_predicted']:.4f} | {c['observed']:.4f} |")
PY
