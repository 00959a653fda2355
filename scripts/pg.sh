#!/usr/bin/env bash
# pg.sh — start, stop and describe vigil's private PostgreSQL (the embedded
# default): its own data dir and socket under the checkout, loopback only.
#
#   scripts/pg.sh start [DIR]   start (initialising on first use); prints the DSN
#   scripts/pg.sh stop  [DIR]   stop it
#   scripts/pg.sh dsn   [DIR]   print the DSN of a running instance
#   scripts/pg.sh status [DIR]
#
# DIR defaults to .vigil/pg under the checkout. As root, the server runs as the
# postgres user (initdb refuses root). The port is the first free one from 55432.
set -euo pipefail

cmd=${1:-}
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${2:-${VIGIL_PG_DIR:-$root/.vigil/pg}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# As root the server runs as postgres, which must reach the directory; a
# checkout under /root is out of its reach, so the default moves to /var/tmp.
if [ "$(id -u)" = 0 ] && [ -z "${2:-}" ] && [ -z "${VIGIL_PG_DIR:-}" ] &&
   ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
  dir=/var/tmp/vigil-pg-$(printf '%s' "$root" | md5sum | cut -c1-8)
  mkdir -p "$dir"
fi
data=$dir/data
sock=$dir/sock
log=$dir/postgres.log

pgbin=""
for v in 15 16 17 14; do
  if [ -x /usr/lib/postgresql/$v/bin/pg_ctl ]; then pgbin=/usr/lib/postgresql/$v/bin; break; fi
done
if [ -z "$pgbin" ]; then
  echo "pg.sh: PostgreSQL server binaries not found; run scripts/install-deps.sh first" >&2
  exit 1
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_in_use() {
  (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
  [ -e "/tmp/.s.PGSQL.$1" ] || [ -e "$sock/.s.PGSQL.$1" ]
}

dsn() {
  local port
  port=$(cat "$dir/port")
  echo "host=$sock port=$port dbname=vigil user=vigil_app"
}

running() {
  [ -f "$dir/port" ] && [ -f "$data/postmaster.pid" ] && as_owner "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

case "$cmd" in
start)
  if running; then dsn; exit 0; fi
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
  mkdir -p "$sock"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$sock"
  if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$pgbin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 -A trust >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
  fi
  port=55432
  while port_in_use $port; do port=$((port + 1)); done
  echo $port >"$dir/port"
  as_owner "$pgbin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
    -o "-p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=512MB -c work_mem=256MB -c maintenance_work_mem=512MB -c max_wal_size=4GB -c max_parallel_workers_per_gather=2" \
    start >/dev/null || { tail -20 "$log" >&2; exit 1; }
  as_owner "$pgbin/psql" -h "$sock" -p $port -U postgres -d postgres -qAt -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT 'CREATE ROLE vigil_app LOGIN CREATEDB' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='vigil_app') \gexec
ALTER ROLE vigil_app NOSUPERUSER CREATEDB;
SELECT 'CREATE DATABASE vigil OWNER vigil_app' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname='vigil') \gexec
SQL
  dsn
  ;;
stop)
  if running; then as_owner "$pgbin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; fi
  ;;
dsn)
  running || { echo "pg.sh: no private PostgreSQL running in $dir; run: scripts/pg.sh start" >&2; exit 1; }
  dsn
  ;;
status)
  if running; then echo "running: $(dsn)"; else echo "stopped"; exit 3; fi
  ;;
*)
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [ "$cmd" = "-h" ] || [ "$cmd" = "--help" ] || exit 2
  ;;
esac
