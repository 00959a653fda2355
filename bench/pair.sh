#!/usr/bin/env bash
# pair.sh — `score` against PostgreSQL alone on the same aggregation
# (`features --pg-only`), alternating, on an already loaded company with a
# champion model; optionally a second `score` binary (e.g. main's) in the
# same rounds. Records per run: wall time, the vigil process's CPU
# (user+sys), the server's CPU (every backend and worker of the cluster,
# from the postmaster's reaped children), peak RSS, load average and
# score's phase_seconds.
#
#   bench/pair.sh PGDIR [RUNS] [AS_OF]     default 3 rounds, 2026-11-01
#
# VIGIL_BIN picks the binary (default: a Release build of this checkout),
# BASE_BIN a second binary to score with in each round, BENCH_NICE the
# niceness (default 5; timed figures for the docs use -10, with the server
# started at -10 too). `vigil.scores` is vacuumed before every run so that
# the previous run's autovacuum never lands inside the next one. Raw JSON
# lines go to build/bench/pair.jsonl; a Markdown table to stdout.
set -euo pipefail
PGDIR=${1:?usage: bench/pair.sh PGDIR [RUNS] [AS_OF]}
RUNS=${2:-3}
AS_OF=${3:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${VIGIL_BIN:-}" ]; then
  cmake -S . -B build/bench -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build/bench -j2 --target vigil >/dev/null
  VIGIL_BIN=$root/build/bench/vigil
fi
VIGIL_DSN=$(scripts/pg.sh dsn "$PGDIR")
export VIGIL_DSN
mkdir -p build/bench
out=$root/build/bench/pair.jsonl
: >"$out"
pm=$(head -1 "$PGDIR/data/postmaster.pid")
tck=$(getconf CLK_TCK)
pgcpu() { awk -v t="$tck" '{print ($16 + $17) / t}' "/proc/$pm/stat"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # label binary args...
  local label=$1 bin=$2
  shift 2
  psql "$VIGIL_DSN" -qc "VACUUM vigil.scores" >/dev/null
  local l0 c0 c1
  l0=$(cut -d' ' -f1 /proc/loadavg)
  c0=$(pgcpu)
  /usr/bin/time -f '%U %S' -o "$tmp/time" nice -n "${BENCH_NICE:-5}" \
    "$bin" --quiet "$@" --json >"$tmp/json"
  c1=$(pgcpu)
  read -r u s <"$tmp/time"
  /usr/bin/python3 - "$label" "$l0" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$u" "$s" "$c0" "$c1" "$tmp/json" >>"$out" <<'PY'
import json, sys
label, l0, l1, u, s, c0, c1, path = sys.argv[1:]
d = json.load(open(path))
print(json.dumps({"run": label, "load": [float(l0), float(l1)],
                  "wall": d["elapsed_seconds"],
                  "vigil_cpu": round(float(u) + float(s), 2),
                  "server_cpu": round(float(c1) - float(c0), 2),
                  "rss_mb": round(d.get("cli_peak_rss_mb", 0)),
                  "phases": d.get("phase_seconds")}))
PY
}

for i in $(seq "$RUNS"); do
  run pg_only "$VIGIL_BIN" features --as-of "$AS_OF" --pg-only
  run score "$VIGIL_BIN" score --as-of "$AS_OF"
  if [ -n "${BASE_BIN:-}" ]; then
    run score_base "$BASE_BIN" score --as-of "$AS_OF"
  fi
done

/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print("| round | run | load | wall (s) | vigil CPU (s) | server CPU (s) | peak RSS (MB) | ratio |")
print("|---|---|---|---|---|---|---|---|")
ratios = {}
rnd, pg = 0, None
for r in rows:
    if r["run"] == "pg_only":
        rnd, pg = rnd + 1, r["wall"]
        ratio = ""
    else:
        ratio = f"{r['wall'] / pg:.2f}"
        ratios.setdefault(r["run"], []).append(r["wall"] / pg)
    print(f"| {rnd} | {r['run']} | {r['load'][0]:.1f}–{r['load'][1]:.1f} | "
          f"{r['wall']:.1f} | {r['vigil_cpu']:.1f} | {r['server_cpu']:.1f} | "
          f"{r['rss_mb']} | {ratio} |")
print()
for k, v in ratios.items():
    print(f"{k} / PostgreSQL alone: {[round(x, 2) for x in v]}, median "
          f"**{statistics.median(v):.2f}**")
    ph = [r["phases"] for r in rows if r["run"] == k and r["phases"]]
    if ph:
        print(f"  {k} phases (median s): " + ", ".join(
            f"{p} {statistics.median(x[p] for x in ph if p in x):.2f}"
            for p in ph[0]))
PY
