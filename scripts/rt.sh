#!/usr/bin/env bash
# rt.sh — a real Request Tracker 5 (Debian's request-tracker5, SQLite) for
# vigil's connector tests: installs it once, adds the custom fields vigil
# uses, and runs RT's own web server on loopback.
#
#   scripts/rt.sh start [PORT]   install if needed, start; prints the base URL
#   scripts/rt.sh stop           stop the server this script started
#   scripts/rt.sh status
#
# The RT user is root with password $VIGIL_RT_PASSWORD (default "vigiltest",
# set only at installation). Needs root (apt-get). Never for production use.
set -euo pipefail

cmd=${1:-}
port=${2:-${VIGIL_RT_PORT:-8480}}
state=${VIGIL_RT_DIR:-/tmp/vigil-rt}
password=${VIGIL_RT_PASSWORD:-vigiltest}
mkdir -p "$state"

install_rt() {
  if dpkg-query -W -f='${Status}' request-tracker5 2>/dev/null | grep -q "install ok installed"; then
    return
  fi
  [ "$(id -u)" = 0 ] || { echo "rt.sh: installing RT needs root" >&2; exit 1; }
  debconf-set-selections <<SEL
request-tracker5 request-tracker5/initial-root-password password $password
request-tracker5 request-tracker5/webbaseurl string http://localhost:$port
request-tracker5 request-tracker5/install-cronjobs boolean false
request-tracker5 request-tracker5/handle-siteconfig-permissions boolean true
request-tracker5 request-tracker5/dbconfig-install boolean true
request-tracker5 request-tracker5/database-type select sqlite3
SEL
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends request-tracker5 rt5-db-sqlite >"$state/apt.log" 2>&1 ||
    { tail -20 "$state/apt.log" >&2; exit 1; }
}

site_config() {
  cat >/etc/request-tracker5/RT_SiteConfig.d/99-vigil-test.pm <<CONF
Set(\$WebDomain, 'localhost');
Set(\$WebPort, $port);
Set(\$WebPath, '');
Set(\$WebBaseURL, 'http://localhost:$port');
Set(\$LogToSyslog, undef);
Set(\$LogToSTDERR, 'warning');
Set(\$MailCommand, 'mbox');
1;
CONF
}

# The ticket custom fields vigil reads and writes, created once.
custom_fields() {
  [ -f "$state/cf-done" ] && return
  cat >"$state/cf.pl" <<'DATA'
@CustomFields = (
    { Name => 'VigilTaskId', Type => 'FreeformSingle',
      LookupType => 'RT::Queue-RT::Ticket', Queue => ['General'],
      Description => 'vigil outreach task id' },
    { Name => 'VigilOutcome', Type => 'FreeformSingle',
      LookupType => 'RT::Queue-RT::Ticket', Queue => ['General'],
      Description => 'outcome recorded back in vigil' },
);
1;
DATA
  rt-setup-database-5 --action insert --datafile "$state/cf.pl" --skip-create >"$state/cf.log" 2>&1 ||
    /usr/sbin/rt-setup-database-5 --action insert --datafile "$state/cf.pl" >"$state/cf.log" 2>&1 ||
    { cat "$state/cf.log" >&2; exit 1; }
  touch "$state/cf-done"
}

running() {
  [ -f "$state/pid" ] && kill -0 "$(cat "$state/pid")" 2>/dev/null
}

case "$cmd" in
start)
  if running; then echo "http://127.0.0.1:$(cat "$state/port")"; exit 0; fi
  if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
    echo "rt.sh: port $port is in use; pass another: scripts/rt.sh start PORT" >&2
    exit 1
  fi
  install_rt
  site_config
  custom_fields
  setsid /usr/share/request-tracker5/libexec/rt-server --host 127.0.0.1 --port "$port" \
    --max-workers 2 >"$state/server.log" 2>&1 &
  echo $! >"$state/pid"
  echo "$port" >"$state/port"
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -u "root:$password" "http://127.0.0.1:$port/REST/2.0/rt" || true)
    if [ "$code" = 200 ]; then echo "http://127.0.0.1:$port"; exit 0; fi
    sleep 0.5
  done
  echo "rt.sh: RT did not answer on port $port; log:" >&2
  tail -20 "$state/server.log" >&2
  exit 1
  ;;
stop)
  if running; then
    pid=$(cat "$state/pid")
    kill -- -"$pid" 2>/dev/null || kill "$pid"
    rm -f "$state/pid"
  fi
  ;;
status)
  if running; then echo "running: http://127.0.0.1:$(cat "$state/port")"; else echo stopped; exit 3; fi
  ;;
*)
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [ "$cmd" = "-h" ] || [ "$cmd" = "--help" ] || exit 2
  ;;
esac
