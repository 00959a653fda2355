#!/usr/bin/env bash
# pair.sh — `score` against PostgreSQL alone on the same aggregation
# (`features --pg-only`), alternating, on an already loaded company with a
# champion model; optionally a second `score` binary (e.g. main's) in the
# same rounds. Records per run: wall time, the vigil process's CPU
# (user+sys), the server's CPU (every backend and worker of the cluster,
# from the postmaster's reaped children), peak RSS, load average and
# score's phase_seconds and phase_cpu_seconds.
#
#   bench/pair.sh PGDIR [RUNS] [AS_OF]     default 3 rounds, 2026-11-01
#
# VIGIL_BIN picks the binary (default: a Release build of this checkout),
# BASE_BIN a second binary to score with in each round, BENCH_NICE the
# niceness (default 5; timed figures for the docs use -10). When the server
# of PGDIR is not running, it is started at BENCH_NICE (its backends inherit
# it) and stopped at the end. `vigil.scores` is vacuumed before every run so
# that the previous run's autovacuum never lands inside the next one.
#
# BENCH_CASES says which `score` runs each round makes (default "rescore"):
#   rescore  the date already has scores: the run deletes them first (what
#            a benchmark repeating one date measures; a re-run of a day)
#   new      the date has none, as for the daily job on a new day: its rows
#            are deleted (and the table vacuumed) before the run, untimed
# "rescore new" makes both, labelled apart. Raw JSON lines go to
# build/bench/pair.jsonl; a Markdown table to stdout.
#
# The quiet re-measurement at a million customers, both cases, one command:
#   BENCH_NICE=-10 BENCH_CASES="rescore new" bench/pair.sh /tmp/w13/pg1m 5
set -euo pipefail
PGDIR=${1:?usage: bench/pair.sh PGDIR [RUNS] [AS_OF]}
RUNS=${2:-3}
AS_OF=${3:-2026-11-01}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
. bench/lib.sh
VIGIL_BIN=$(bench_vigil)
CASES=${BENCH_CASES:-rescore}
for c in $CASES; do
  case $c in rescore | new) ;; *) echo "pair.sh: BENCH_CASES: '$c' is neither rescore nor new" >&2; exit 2 ;; esac
done
tmp=$(mktemp -d)
started=""
cleanup() {
  rm -rf "$tmp"
  if [ -n "$started" ]; then scripts/pg.sh stop "$PGDIR" >/dev/null; fi
}
trap cleanup EXIT
if ! scripts/pg.sh status "$PGDIR" >/dev/null 2>&1; then
  nice -n "${BENCH_NICE:-5}" scripts/pg.sh start "$PGDIR" >/dev/null
  started=1
fi
VIGIL_DSN=$(scripts/pg.sh dsn "$PGDIR")
export VIGIL_DSN
mkdir -p build/bench
out=$root/build/bench/pair.jsonl
: >"$out"
pm=$(head -1 "$PGDIR/data/postmaster.pid")
tck=$(getconf CLK_TCK)
pgcpu() { awk -v t="$tck" '{print ($16 + $17) / t}' "/proc/$pm/stat"; }

run() { # label binary args...
  local label=$1 bin=$2 old
  shift 2
  case $label in
  *_new) psql "$VIGIL_DSN" -qc "DELETE FROM vigil.scores WHERE as_of = '$AS_OF'" >/dev/null ;;
  esac
  psql "$VIGIL_DSN" -qc "VACUUM vigil.scores" >/dev/null
  old=$(psql "$VIGIL_DSN" -Atc "SELECT count(*) FROM vigil.scores WHERE as_of = '$AS_OF'")
  local l0 c0 c1
  l0=$(cut -d' ' -f1 /proc/loadavg)
  c0=$(pgcpu)
  /usr/bin/time -f '%U %S' -o "$tmp/time" nice -n "${BENCH_NICE:-5}" \
    "$bin" --quiet "$@" --json >"$tmp/json"
  c1=$(pgcpu)
  read -r u s <"$tmp/time"
  /usr/bin/python3 - "$label" "$l0" "$(cut -d' ' -f1 /proc/loadavg)" \
    "$u" "$s" "$c0" "$c1" "$tmp/json" "$old" >>"$out" <<'PY'
import json, sys
label, l0, l1, u, s, c0, c1, path, old = sys.argv[1:]
d = json.load(open(path))
print(json.dumps({"run": label, "load": [float(l0), float(l1)],
                  "old_rows": int(old),
                  "wall": d["elapsed_seconds"],
                  "vigil_cpu": round(float(u) + float(s), 2),
                  "server_cpu": round(float(c1) - float(c0), 2),
                  "rss_mb": round(d.get("cli_peak_rss_mb", 0)),
                  "phases": d.get("phase_seconds"),
                  "phase_cpu": d.get("phase_cpu_seconds")}))
PY
}

# With BASE_BIN the two binaries take turns going first (odd rounds this
# one, even rounds the base): the first re-score after `--pg-only` finds
# vigil.scores' pages pushed out of the cache by the events, the second
# finds them warm.
# PostgreSQL alone on *the same* aggregation: `features` lays out the
# config's families, `score` the champion's, so --pg-only gets a config
# holding the champion's families (a model trained before a default changed
# keeps its own).
fams=$(psql "$VIGIL_DSN" -AtXc "SELECT coalesce(features->'families', '[]')
  FROM vigil.models WHERE is_champion ORDER BY model_id DESC LIMIT 1")
echo "{\"features\": {\"families\": ${fams:-[]}}}" >"$tmp/pg_only.json"
for i in $(seq "$RUNS"); do
  run pg_only "$VIGIL_BIN" --config "$tmp/pg_only.json" features \
    --as-of "$AS_OF" --pg-only
  for c in $CASES; do
    if [ -n "${BASE_BIN:-}" ] && [ $((i % 2)) -eq 0 ]; then
      run "score_base_$c" "$BASE_BIN" score --as-of "$AS_OF"
      run "score_$c" "$VIGIL_BIN" score --as-of "$AS_OF"
      continue
    fi
    run "score_$c" "$VIGIL_BIN" score --as-of "$AS_OF"
    if [ -n "${BASE_BIN:-}" ]; then
      run "score_base_$c" "$BASE_BIN" score --as-of "$AS_OF"
    fi
  done
done

/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
what = {"rescore": "re-scoring a date that has scores (its old rows deleted)",
        "new": "a date without scores (the daily case)"}
print("| round | run | date's rows before | load | wall (s) | vigil CPU (s) | server CPU (s) | peak RSS (MB) | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
ratios = {}
rnd, pg = 0, None
for r in rows:
    if r["run"] == "pg_only":
        rnd, pg = rnd + 1, r["wall"]
        ratio = ""
    else:
        ratio = f"{r['wall'] / pg:.2f}"
        ratios.setdefault(r["run"], []).append(r["wall"] / pg)
    old = r.get("old_rows", "")
    print(f"| {rnd} | {r['run']} | {old} | {r['load'][0]:.1f}–{r['load'][1]:.1f} | "
          f"{r['wall']:.1f} | {r['vigil_cpu']:.1f} | {r['server_cpu']:.1f} | "
          f"{r['rss_mb']} | {ratio} |")
print()
for k, v in ratios.items():
    case = k.rsplit("_", 1)[-1]
    print(f"{k} ({what.get(case, case)}) / PostgreSQL alone: "
          f"{[round(x, 2) for x in v]}, median "
          f"**{statistics.median(v):.2f}**")
    ph = [r["phases"] for r in rows if r["run"] == k and r["phases"]]
    if ph:
        print(f"  {k} phases (median s): " + ", ".join(
            f"{p} {statistics.median(x[p] for x in ph if p in x):.2f}"
            for p in ph[0]))
    pc = [r["phase_cpu"] for r in rows if r["run"] == k and r.get("phase_cpu")]
    if pc:
        print(f"  {k} phases' CPU (median s): " + ", ".join(
            f"{p} {statistics.median(x[p] for x in pc if p in x):.2f}"
            for p in pc[0]))
PY
