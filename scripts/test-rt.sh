#!/usr/bin/env bash
# test-rt.sh — the Request Tracker 5 connector against a real RT started by
# scripts/rt.sh (not a mock). Kept out of CTest: installing RT takes ~25 s to
# minutes and ~260 packages, and its server ~650 MB.
#
#   scripts/test-rt.sh            build (build/outreach-rel), RT, a private
#                                 PostgreSQL; every check; stops both
#
# Checks: one RT ticket per task with the task id in a custom field; a create
# whose answer was lost is retried without a second ticket; a ticket resolved
# in RT (outcome in a custom field) makes the task done in vigil; a task
# dismissed in vigil is rejected in RT; the password never reaches the logs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${VIGIL_TEST_BUILD:-$root/build/outreach-rel}
if [ ! -x "$build/vigil" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" -j2 --target vigil >/dev/null
fi
BIN=$build/vigil
port=${VIGIL_RT_PORT:-8480}
password=${VIGIL_RT_PASSWORD:-vigiltest}
t0=$(date +%s)
url=$(scripts/rt.sh start "$port")
t_rt=$(( $(date +%s) - t0 ))
pgdir=$(mktemp -d /tmp/vigil-rt-pg.XXXXXX)
chmod 755 "$pgdir"
cleanup() {
  scripts/pg.sh stop "$pgdir" >/dev/null 2>&1 || true
  rm -rf "$pgdir"
  [ -n "${KEEP_RT:-}" ] || scripts/rt.sh stop
}
trap cleanup EXIT
DSN=$(scripts/pg.sh start "$pgdir")
export VIGIL_DSN="$DSN"
cfg=$pgdir/vigil.json
cat >"$cfg" <<JSON
{"outreach": {"playbooks": [{"name": "risk_tier",
   "trigger": {"type": "tier_entered", "tiers": ["at_risk", "critical"]}}]},
 "rt": {"url": "$url", "user": "root", "password": "$password", "queue": "General"}}
JSON
fails=0
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected '$2', got '$3'"; fails=$((fails + 1)); fi
}
q() { psql "$DSN" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
rt() { curl -s -u "root:$password" -H 'Content-Type: application/json' "$@"; }
# jget PYTHON-EXPR: evaluate on the JSON document read from stdin (as d)
jget() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

"$BIN" --quiet init >/dev/null
q "CREATE TABLE public.customers (customer_id text PRIMARY KEY, name text, created_at timestamptz NOT NULL,
     canceled_at timestamptz, plan text, mrr numeric, seats int, language text);
   CREATE TABLE public.usage_events (customer_id text, occurred_at timestamptz, event_type text, user_id text, quantity float8);
   CREATE TABLE public.tickets (ticket_id text, customer_id text, created_at timestamptz, first_response_at timestamptz,
     resolved_at timestamptz, status text, priority text, channel text, subject text, body text, csat smallint,
     reopens int, escalated boolean);
   INSERT INTO public.customers VALUES ('A', 'Acme', '2024-01-01', NULL, 'pro', 1000, 1, 'en'),
     ('B', 'Bolt', '2024-01-01', NULL, 'pro', 500, 1, 'en'), ('C', 'Core', '2024-01-01', NULL, 'pro', 200, 1, 'en');
   INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, tier)
     SELECT '2025-03-10', id, 0.6, 23, 'critical' FROM unnest('{A,B,C}'::text[]) id;
   INSERT INTO vigil.specialists (specialist_id, languages) VALUES ('s1', '{en}')"
# RT keeps its tickets between runs of this script while vigil's task ids
# restart in every fresh database: start the ids where no earlier run was.
q "SELECT setval('vigil.outreach_tasks_task_id_seq', extract(epoch FROM now())::bigint * 10)" >/dev/null
"$BIN" --quiet --config "$cfg" outreach --as-of 2025-03-10 >/dev/null
check "three tasks queued for RT" 3 "$(q "SELECT count(*) FROM vigil.deliveries WHERE target = 'rt'")"

t1=$(date +%s%N)
"$BIN" --config "$cfg" deliver --json >"$pgdir/d1.json" 2>"$pgdir/d1.err"
t_deliver=$(( ($(date +%s%N) - t1) / 1000000 ))
check "three tickets created" 3 "$(q "SELECT count(*) FROM vigil.outreach_tasks WHERE rt_ticket_id IS NOT NULL")"
a_task=$(q "SELECT task_id FROM vigil.outreach_tasks WHERE customer_id = 'A'")
a_ticket=$(q "SELECT rt_ticket_id FROM vigil.outreach_tasks WHERE customer_id = 'A'")
cf=$(rt "$url/REST/2.0/ticket/$a_ticket" | jget "[c['values'][0] for c in d['CustomFields'] if c['name'] == 'VigilTaskId'][0]")
check "the RT ticket carries the task id" "$a_task" "$cf"
check "the RT ticket is in queue General" General \
  "$(rt "$url/REST/2.0/queue/$(rt "$url/REST/2.0/ticket/$a_ticket" | jget "d['Queue']['id']")" | jget "d['Name']")"

# a create whose answer was lost: vigil forgets the ticket id and retries
q "UPDATE vigil.deliveries SET delivered_at = NULL, external_id = NULL, next_attempt_at = now()
    WHERE idempotency_key = 'vigil-rt-task-$a_task';
   UPDATE vigil.outreach_tasks SET rt_ticket_id = NULL WHERE task_id = $a_task"
"$BIN" --quiet --config "$cfg" deliver --json >"$pgdir/d2.json"
check "retried create finds the same ticket" "$a_ticket" "$(q "SELECT rt_ticket_id FROM vigil.outreach_tasks WHERE task_id = $a_task")"
query=$(printf "CF.{VigilTaskId} = '%s'" "$a_task" | sed "s/ /%20/g; s/{/%7B/g; s/}/%7D/g; s/'/%27/g")
check "exactly one RT ticket for the task" 1 "$(rt "$url/REST/2.0/tickets?query=$query" | jget "d['count']")"

# resolved in RT, with an outcome: done in vigil
rt -X PUT -d '{"Status": "resolved", "CustomFields": {"VigilOutcome": "saved"}}' "$url/REST/2.0/ticket/$a_ticket" >/dev/null
"$BIN" --quiet --config "$cfg" deliver --json >"$pgdir/d3.json"
check "resolved in RT -> done in vigil" "done|saved" "$(q "SELECT status || '|' || outcome FROM vigil.outreach_tasks WHERE task_id = $a_task")"
check "sync counted it" 1 "$(grep -o '"rt_done":[0-9]*' "$pgdir/d3.json" | cut -d: -f2)"

# dismissed in vigil: rejected in RT
b_task=$(q "SELECT task_id FROM vigil.outreach_tasks WHERE customer_id = 'B'")
b_ticket=$(q "SELECT rt_ticket_id FROM vigil.outreach_tasks WHERE customer_id = 'B'")
"$BIN" --quiet tasks dismiss "$b_task" --outcome not_needed >/dev/null
"$BIN" --quiet --config "$cfg" deliver --json >"$pgdir/d4.json"
check "dismissed in vigil -> rejected in RT" "rejected" \
  "$(rt "$url/REST/2.0/ticket/$b_ticket" | jget "d['Status']")"
check "no delivery given up" 0 "$(q "SELECT count(*) FROM vigil.deliveries WHERE gave_up_at IS NOT NULL")"

# a wrong password: given up with the error, password not in any message
sed "s/\"password\": \"$password\"/\"password\": \"wrong-secret\"/" "$cfg" >"$pgdir/bad.json"
q "INSERT INTO public.customers VALUES ('D', 'Dune', '2024-01-01', NULL, 'pro', 10, 1, 'en');
   INSERT INTO vigil.scores (as_of, customer_id, churn_risk, health, tier) VALUES ('2025-03-11', 'D', 0.6, 23, 'critical'),
     ('2025-03-11', 'C', 0.6, 23, 'critical')"
"$BIN" --quiet --config "$pgdir/bad.json" outreach --as-of 2025-03-11 >/dev/null
"$BIN" --log-level debug --config "$pgdir/bad.json" deliver --json >"$pgdir/d5.json" 2>"$pgdir/d5.err" || true
check "bad credentials: given up (401)" 1 "$(q "SELECT count(*) FROM vigil.deliveries WHERE last_status = 401 AND gave_up_at IS NOT NULL")"
n1=$(cat "$pgdir"/*.err | grep -c -e wrong-secret -e "$password" || true)
n2=$(q "SELECT count(*) FROM vigil.deliveries WHERE last_error LIKE '%wrong-secret%' OR last_error LIKE '%$password%'")
check "password in no log or error" 0 "$((n1 + n2))"

echo "RT start: ${t_rt} s (installs on first use); first deliver (3 tickets): ${t_deliver} ms"
[ "$fails" = 0 ] && echo "test-rt: all checks passed" || { echo "test-rt: $fails failed"; exit 1; }
