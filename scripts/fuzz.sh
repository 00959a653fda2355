#!/usr/bin/env bash
# fuzz.sh — coverage-guided fuzzing with clang's libFuzzer under
# AddressSanitizer + UBSan: the config loader, cron parser and time-zone
# reader, ticket text normaliser, HTTP query parsing and the playbook parser.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   each target SECONDS (default 60)
#   VIGIL_FUZZ_RUNS=10000000 scripts/fuzz.sh 7200 text
#                                   stop a target after that many executions
#
# The test suite's CTest `fuzz_smoke` runs `scripts/fuzz.sh 4` (clang comes
# with scripts/install-deps.sh; without it the test fails, it never skips);
# long runs: VIGIL_FUZZ_RUNS=10000000 nice -n 10 scripts/fuzz.sh 3600 TARGET. Corpora live in
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
command -v clang >/dev/null || { echo "fuzz.sh: clang not found: run scripts/install-deps.sh (apt-get install clang libclang-rt-dev)" >&2; exit 1; }

core="core/cfg.c core/err.c core/log.c core/util.c core/date.c core/cron.c core/tz.c"
srcs() {
  case $1 in
  config) echo tests/fuzz/fuzz_config.c $core ;;
  cron) echo tests/fuzz/fuzz_cron.c $core ;;
  tz) echo tests/fuzz/fuzz_tz.c $core ;;
  text) echo tests/fuzz/fuzz_text.c topics/text.c $core ;;
  http) echo tests/fuzz/fuzz_http.c service/httpd.c service/routes.c core/db.c $core ;;
  playbook) # the parser checks tier names against score/, which brings the
    # model along (core/migrate.c needs the migrations CMake embeds; nothing
    # here calls it)
    echo tests/fuzz/fuzz_playbook.c outreach/playbook.c score/*.c model/*.c \
      features/*.c $(ls core/*.c | grep -v core/migrate.c) ;;
  *) echo "fuzz.sh: unknown target $1" >&2; return 2 ;;
  esac
}
libs() {
  case $1 in
  text) echo -lstemmer ;;
  http) pkg-config --libs libmicrohttpd libpq ;;
  playbook) pkg-config --libs libpq xgboost gsl ;;
  esac
}
for t in $targets; do srcs "$t" >/dev/null || exit 2; done

# Each source is compiled once per invocation (with coverage and sanitizers),
# two at a time, then every target links what it needs.
cflags="-g -O1 -std=c11 -D_GNU_SOURCE -DVIGIL_LIBFUZZER -I$root \
  $(pkg-config --cflags jansson libpq libmicrohttpd xgboost gsl) \
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
objdir=$out/obj.$$
mkdir -p "$objdir"
trap 'rm -rf "$objdir"' EXIT
all=$(for t in $targets; do srcs "$t"; done | tr ' ' '\n' | sort -u)
cc_fail=0
for s in $all; do
  while [ "$(jobs -rp | wc -l)" -ge "${VIGIL_FUZZ_JOBS:-2}" ]; do wait -n || cc_fail=1; done
  # shellcheck disable=SC2086
  clang $cflags -c "$s" -o "$objdir/${s//\//_}.o" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || cc_fail=1; done
[ $cc_fail = 0 ] || { echo "fuzz.sh: compiling the targets failed" >&2; exit 1; }
for t in $targets; do
  objs=()
  for s in $(srcs "$t"); do objs+=("$objdir/${s//\//_}.o"); done
  # shellcheck disable=SC2046
  clang -fsanitize=fuzzer,address,undefined -o "$out/fuzz_$t" "${objs[@]}" \
    $(pkg-config --libs jansson) $(libs "$t") -lpthread -lm
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
