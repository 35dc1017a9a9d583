#!/usr/bin/env bash
# Start (idempotently) a tansu Kafka-protocol broker on loopback and print its bootstrap address.
#   scripts/broker.sh start [memory|sqlite]   start if not already answering (default: memory)
#   scripts/broker.sh stop                    stop the broker this script started
#   scripts/broker.sh topic NAME PARTITIONS   create a topic (ignores "already exists")
# Env: SCAMWATCH_BROKER_PORT (default 19092). sqlite storage survives broker restarts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
PIDFILE="$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.pid"
LOGFILE="$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.log"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$SCAMWATCH_BROKER_PORT") 2>/dev/null; }

start() {
  local storage="${1:-memory}"
  [ -x "$TANSU_BIN" ] || scripts/setup.sh
  if port_open; then echo "$SCAMWATCH_BROKERS"; return 0; fi
  local engine="memory://tansu/"
  if [ "$storage" = sqlite ]; then engine="sqlite://$SCAMWATCH_RUN/tansu-$SCAMWATCH_BROKER_PORT.db"; fi
  setsid "$TANSU_BIN" broker \
    --listener-url "tcp://127.0.0.1:$SCAMWATCH_BROKER_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$SCAMWATCH_BROKER_PORT" \
    --storage-engine "$engine" >"$LOGFILE" 2>&1 < /dev/null &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do
    if port_open; then echo "$SCAMWATCH_BROKERS"; return 0; fi
    sleep 0.1
  done
  echo "tansu did not start; log: $LOGFILE" >&2; tail -20 "$LOGFILE" >&2; exit 1
}

stop() {
  if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null || true; rm -f "$PIDFILE"; fi
  for _ in $(seq 1 50); do port_open || return 0; sleep 0.1; done
}

topic() {
  local out
  if ! out=$("$TANSU_BIN" topic create --broker "tcp://$SCAMWATCH_BROKERS" --partitions "$2" "$1" 2>&1); then
    echo "$out" | grep -qi "exist" || { echo "$out" >&2; exit 1; }
  fi
}

case "${1:-start}" in
  start) start "${2:-memory}" ;;
  stop) stop ;;
  topic) topic "$2" "${3:-1}" ;;
  *) echo "usage: $0 start [memory|sqlite] | stop | topic NAME PARTITIONS" >&2; exit 2 ;;
esac
