#!/usr/bin/env bash
# Start (idempotently) a throwaway PostgreSQL on loopback for the review console's tests and
# print its URL; or explain on stderr why it cannot (then exit 1: callers skip the Postgres leg).
#   scripts/postgres.sh start | stop
# Env: SCAMWATCH_PG_PORT (default 19432). Uses Debian's postgresql package (installed if missing
# and apt works). The data directory is under /tmp: the server runs as the postgres user, which
# cannot enter root's home.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${SCAMWATCH_PG_PORT:-19432}"
DATA="/tmp/scamwatch-pg-$PORT"
URL="postgres://scamwatch@127.0.0.1:$PORT/scamwatch"
log() { printf '[postgres] %s\n' "$*" >&2; }

bin_dir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start() {
  local bin; bin="$(bin_dir)"
  if [ -z "$bin" ]; then
    log "installing Debian's postgresql package"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    { $SUDO apt-get install -y -qq postgresql >/dev/null 2>&1 || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null 2>&1; }; } \
      || { log "cannot install postgresql"; exit 1; }
    bin="$(bin_dir)"
  fi
  if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then echo "$URL"; return 0; fi
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"; mkdir -p "$DATA"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DATA"
    as_pg "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 >/dev/null || { log "initdb failed"; exit 1; }
  fi
  as_pg "$bin/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k /tmp -c fsync=off" start >/dev/null \
    || { log "server did not start; log: $DATA/server.log"; tail -5 "$DATA/server.log" >&2; exit 1; }
  as_pg "$bin/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE ROLE scamwatch LOGIN CREATEDB" 2>/dev/null || true
  as_pg "$bin/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c "CREATE DATABASE scamwatch OWNER scamwatch" 2>/dev/null || true
  echo "$URL"
}

stop() {
  local bin; bin="$(bin_dir)"
  [ -n "$bin" ] && [ -f "$DATA/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$DATA" -m fast stop >/dev/null || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start | stop" >&2; exit 2 ;;
esac
