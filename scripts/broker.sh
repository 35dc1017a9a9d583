#!/usr/bin/env bash
# Start (idempotently) a tansu Kafka-protocol broker on loopback and print its bootstrap address.
#   scripts/broker.sh start [memory|sqlite]   start if not already answering (default: memory)
#   scripts/broker.sh stop                    stop the broker this script started
#   scripts/broker.sh kill                    the same with SIGKILL (a crash)
#   scripts/broker.sh wipe                    delete this port's sqlite data and log (broker stopped)
#   scripts/broker.sh topic NAME PARTITIONS   create a topic (ignores "already exists")
# Env: SCAMWATCH_BROKER_PORT (default 19092). sqlite storage survives broker restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
PIDFILE="$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.pid"
LOGFILE="$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.log"
DBFILE="$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.db"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$SCAMWATCH_BROKER_PORT") 2>/dev/null; }

start() {
  local storage="${1:-memory}"
  [ -x "$TANSU_BIN" ] || scripts/setup.sh
  if port_open; then echo "$SCAMWATCH_BROKERS"; return 0; fi
  local engine="memory://tansu/"
  # tansu takes the path after "sqlite://" minus one leading slash: an absolute path needs "//".
  if [ "$storage" = sqlite ]; then engine="sqlite:///$DBFILE"; fi
  setsid "$TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$SCAMWATCH_BROKER_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$SCAMWATCH_BROKER_PORT" \
    --storage-engine "$engine" >>"$LOGFILE" 2>&1 < /dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if port_open; then echo "$SCAMWATCH_BROKERS"; return 0; fi
    sleep 0.1
  done
  echo "tansu did not start; log: $LOGFILE" >&2; tail -20 "$LOGFILE" >&2; exit 1
}

stop() {
  local signal="${1:-TERM}"
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    kill "-$signal" "$pid" 2>/dev/null || true
    # Wait for the process itself (not just the port), so its storage is closed before a restart.
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$PIDFILE"
  fi
  for _ in $(seq 1 50); do port_open || return 0; sleep 0.1; done
}

wipe() {
  if port_open; then echo "broker on port $SCAMWATCH_BROKER_PORT is running; stop it first" >&2; exit 1; fi
  rm -f "$DBFILE" "$DBFILE-wal" "$DBFILE-shm" "$DBFILE-journal" "$LOGFILE"
}

topic() {
  local out
  if ! out=$("$TANSU_BIN" topic create --broker "tcp://$SCAMWATCH_BROKERS" --partitions "$2" "$1" 2>&1); then
    echo "$out" | grep -qi "exist" || { echo "$out" >&2; exit 1; }
  fi
}

case "${1:-start}" in
  start) start "${2:-memory}" ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  wipe) wipe ;;
  topic) topic "$2" "${3:-1}" ;;
  *) echo "usage: $0 start [memory|sqlite] | stop | kill | wipe | topic NAME PARTITIONS" >&2; exit 2 ;;
esac
