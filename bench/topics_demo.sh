#!/bin/sh
# topics_demo.sh — vigil's topic engine vs scikit-learn on the demo company's
# tickets, scored against the recorded true topic (vigil_demo_truth).
# Usage: bench/topics_demo.sh [pgdir] [sample-per-mille ...]
#   pgdir defaults to /tmp/pgbig; samples default to "100 1000"
#   (100 = 10% of tickets by hash of ticket_id, ~40k; 1000 = all, ~400k).
# Environment: OUT (export dir, default /tmp/topics_demo), THREADS (2),
#   SKLEARN=0 to skip the scikit-learn runs, NINIT (sklearn n_init, 1),
#   VIGIL_CFPB_CSV=path of the CFPB complaint sample (not in the repository;
#   bench/topics_eval.c and topics_sklearn.py read it); unset skips it.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGDIR=${1:-/tmp/pgbig}
[ $# -gt 0 ] && shift
SAMPLES=${*:-100 1000}
OUT=${OUT:-/tmp/topics_demo}
mkdir -p "$OUT"
CSV=$OUT/tickets.csv
if [ ! -s "$CSV" ]; then
    DSN=$("$ROOT/scripts/pg.sh" dsn "$PGDIR")
    echo "exporting tickets to $CSV"
    psql "$DSN" -v ON_ERROR_STOP=1 -qc "\copy (SELECT t.ticket_id, coalesce(c.language,''), coalesce(t.subject,''), coalesce(t.body,''), coalesce(g.topic,'') FROM tickets t LEFT JOIN customers c USING (customer_id) LEFT JOIN vigil_demo_truth.ticket_topics g USING (ticket_id) ORDER BY t.ticket_id) TO '$CSV' WITH (FORMAT csv)"
fi
BIN=$OUT/topics_demo_eval
cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread -I"$ROOT" \
    "$ROOT/bench/topics_demo_eval.c" "$ROOT/topics/text.c" \
    "$ROOT/topics/tfidf.c" "$ROOT/topics/cluster.c" "$ROOT/bench/quality.c" "$ROOT/core/util.c" \
    "$ROOT/core/err.c" -ljansson -lstemmer -lm -o "$BIN"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
if [ -n "${VIGIL_CFPB_CSV:-}" ]; then
    echo "== CFPB complaint sample =="
    cc -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -O2 -pthread \
        -I"$ROOT" "$ROOT/bench/topics_eval.c" "$ROOT/topics/text.c" \
        "$ROOT/topics/tfidf.c" "$ROOT/topics/cluster.c" "$ROOT/bench/quality.c" "$ROOT/core/util.c" \
        "$ROOT/core/err.c" -ljansson -lstemmer -lm -o "$OUT/topics_eval"
    "$OUT/topics_eval" | grep -v '^  *topic '
    if [ "${SKLEARN:-1}" != 0 ]; then
        /usr/bin/python3 "$ROOT/bench/topics_sklearn.py"
    fi
fi
for s in $SAMPLES; do
    echo "== sample $s/1000 =="
    "$BIN" "$CSV" "$s" ${THREADS:-2}
    if [ "${SKLEARN:-1}" != 0 ]; then
        /usr/bin/python3 "$ROOT/bench/topics_demo_sklearn.py" "$CSV" "$s" "${NINIT:-1}"
    fi
done
