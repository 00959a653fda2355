#!/usr/bin/env bash
# fuzz.sh — coverage-guided fuzzing with clang's libFuzzer under
# AddressSanitizer + UBSan: the config loader, cron parser and time-zone
# reader, ticket text normaliser, HTTP query parsing and the playbook parser.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target SECONDS (default 60)
#   VIGIL_FUZZ_RUNS=10000000 scripts/fuzz.sh 7200 text
#                                   stop a target after that many executions
#
# SECONDS=5 is the CI smoke run (scripts/test.sh runs it when clang is
# installed); long runs: scripts/fuzz.sh 3600. Corpora live in
# build/fuzz/corpus/TARGET (kept between runs); a crash leaves its input in
# build/fuzz/ and fails the script. Prints one line per target: executions,
# coverage, and the outcome.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
secs=${1:-60}
shift || true
targets=${*:-"config cron tz text http playbook"}
out=${VIGIL_FUZZ_OUT:-$root/build/fuzz}
mkdir -p "$out"
command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install clang)" >&2; exit 1; }

core="core/cfg.c core/err.c core/log.c core/util.c core/date.c core/cron.c core/tz.c"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -I$root -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
jansson=$(pkg-config --cflags --libs jansson)
build() { # name sources... -- libs...
  local name=$1; shift
  local src=() libs=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do src+=("$1"); shift; done
  [ $# -gt 0 ] && shift
  libs=("$@")
  clang $flags -o "$out/fuzz_$name" "${src[@]}" "${libs[@]}"
}
for t in $targets; do
  case $t in
  config) build config tests/fuzz/fuzz_config.c $core -- $jansson -lm ;;
  cron) build cron -DVIGIL_LIBFUZZER tests/fuzz/fuzz_cron.c $core -- $jansson -lm ;;
  tz) build tz tests/fuzz/fuzz_tz.c $core -- $jansson -lm ;;
  text) build text tests/fuzz/fuzz_text.c topics/text.c $core -- $jansson -lstemmer -lm ;;
  http) build http tests/fuzz/fuzz_http.c service/httpd.c service/routes.c core/db.c $core -- \
          $jansson $(pkg-config --cflags --libs libmicrohttpd libpq) -lpthread -lm ;;
  playbook) # the parser checks tier names against score/, which brings the model along
    # (core/migrate.c needs the migrations CMake embeds; nothing here calls it)
    build playbook tests/fuzz/fuzz_playbook.c outreach/playbook.c score/*.c model/*.c \
      features/*.c $(ls core/*.c | grep -v core/migrate.c) -- $jansson \
      $(pkg-config --cflags --libs libpq xgboost gsl) -lpthread -lm ;;
  *) echo "fuzz.sh: unknown target $t" >&2; exit 2 ;;
  esac
done
fail=0
for t in $targets; do
  mkdir -p "$out/corpus/$t"
  cp -n "$root/tests/fuzz/seeds/$t"/* "$out/corpus/$t/" 2>/dev/null || true
  log=$out/fuzz_$t.log
  if (cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "./fuzz_$t" -max_total_time="$secs" ${VIGIL_FUZZ_RUNS:+-runs=$VIGIL_FUZZ_RUNS} \
      -rss_limit_mb=2048 -print_final_stats=1 \
      "corpus/$t" $( [ -f "$root/tests/fuzz/$t.dict" ] && echo "-dict=$root/tests/fuzz/$t.dict") >"$log" 2>&1); then res=clean; else res=FAILED; fail=1; fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  echo "fuzz $t: $execs executions at $rate/s, $cov, $res (log: $log)"
done
exit $fail
