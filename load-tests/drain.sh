#!/usr/bin/env bash
# Drain throughput and memory: produce a backlog of N posts, then start scamwatch and time how long
# it takes to answer all of them (verdict or dead letter), read from its own /metrics. While it
# drains, the service's resident memory (VmRSS) is sampled at the first output and at 25/50/75/100%
# of the backlog; peak (VmHWM) is read at the end.
#   load-tests/drain.sh [COUNT] [SCENARIO] [extra scamwatch serve args...]
# Env: SCAMWATCH_BIN (service binary), SKIP_BUILD=1 (use the binaries as built), PERF_OUT=file
# (record a perf profile), DRAIN_SEED (corpus seed; default random).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
count="${1:-50000}"; scenario="${2:-clean}"; shift 2 || true
brokers=$(scripts/broker.sh start)
tag="drain-$(date +%s%N)"
in="posts-$tag"; out="verdicts-$tag"; dlq="dlq-$tag"
for t in "$in" "$out"; do scripts/broker.sh topic "$t" 4; done
scripts/broker.sh topic "$dlq" 1
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p scamwatch -p scamwatch-load
./target/release/scamwatch-load --brokers "$brokers" run --produce-only --count "$count" --scenario "$scenario" \
  --input-topic "$in" --seed "${DRAIN_SEED:-$RANDOM}" >&2
port=$((20000 + RANDOM % 10000))
"${SCAMWATCH_BIN:-./target/release/scamwatch}" serve --brokers "$brokers" --input-topic "$in" --verdict-topic "$out" \
  --dead-letter-topic "$dlq" --group-id "g-$tag" --http-addr "127.0.0.1:$port" "$@" 2>"$SCAMWATCH_RUN/$tag.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
if [ -n "${PERF_OUT:-}" ]; then perf record -F 499 -g -o "$PERF_OUT" -p "$pid" >/dev/null 2>&1 & perf_pid=$!; fi
outputs() { { curl -s "127.0.0.1:$port/metrics" || true; } | awk '/^scamwatch_messages_out_total/ {s+=$2} END {print s+0}'; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
first=""; rss_marks=""; next_mark=1
while :; do
  kill -0 "$pid" 2>/dev/null || { echo "scamwatch exited; log: $SCAMWATCH_RUN/$tag.log" >&2; tail -5 "$SCAMWATCH_RUN/$tag.log" >&2; exit 1; }
  n=$(outputs)
  if [ -z "$first" ] && [ "$n" -gt 0 ]; then first=$(date +%s.%N); first_n=$n; rss_marks="$(rss)"; fi
  while [ "$next_mark" -le 4 ] && [ "$n" -ge $((count * next_mark / 4)) ]; do
    rss_marks="$rss_marks $(rss)"; next_mark=$((next_mark + 1))
  done
  [ "$n" -ge "$count" ] && break
  sleep 0.05
done
last=$(date +%s.%N)
[ -n "${PERF_OUT:-}" ] && kill -INT "$perf_pid" 2>/dev/null && wait "$perf_pid" 2>/dev/null || true
rss_kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
python3 - "$count" "$first" "$last" "$first_n" "$rss_kb" "$scenario" "$rss_marks" <<'PY'
import sys, json
count, first, last, first_n, rss, scenario = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
marks = [round(int(k) / 1024, 1) for k in sys.argv[7].split()]
secs = last - first
out = {"scenario": scenario, "posts": count, "seconds": round(secs, 2), "posts_per_sec": round((count - first_n) / secs),
       "peak_rss_mb": round(rss / 1024, 1),
       "rss_mb_at_first_25_50_75_100pct": marks}
if len(marks) == 5 and marks[1] > 0:
    out["rss_growth_25_to_100pct"] = f"{100 * (marks[4] - marks[1]) / marks[1]:+.1f}%"
print(json.dumps(out))
PY
