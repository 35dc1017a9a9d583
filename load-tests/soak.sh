#!/usr/bin/env bash
# Soak: run scamwatch at a fixed rate for MINUTES (default 30), sample its resident memory every
# 10 s and the end-to-end latency per minute (from the load generator), then print the RSS growth
# and the first-vs-last-minute p50/p99 drift. Exits non-zero when RSS grew more than 10%
# (SOAK_MAX_RSS_GROWTH_PCT) or posts were lost.
#   load-tests/soak.sh [MINUTES] [RATE|auto] [extra scamwatch serve args, e.g. --model models/classifier]
# RATE auto (the default) first measures the drain throughput with the same serve args
# (load-tests/drain.sh) and soaks at half of it.
# Env: SCAMWATCH_BIN, SKIP_BUILD=1, SOAK_BUCKET_SECS (latency bucket, default 60), SOAK_SCENARIO (default steady = the mixed traffic at RATE),
# SOAK_WARMUP_SECS (RSS baseline = first sample after this, default 60), SOAK_OUT (directory for
# soak.json, soak.png, rss.tsv, the service log; default $SCAMWATCH_RUN/soak-<time>).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
minutes="${1:-30}"; rate="${2:-auto}"; shift 2 || shift $# || true
scenario="${SOAK_SCENARIO:-steady}"
warmup="${SOAK_WARMUP_SECS:-60}"
bucket="${SOAK_BUCKET_SECS:-60}"
max_growth="${SOAK_MAX_RSS_GROWTH_PCT:-10}"
bin="${SCAMWATCH_BIN:-./target/release/scamwatch}"
brokers=$(scripts/broker.sh start)
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p scamwatch -p scamwatch-load
tag="soak-$(date +%s%N)"
out_dir="${SOAK_OUT:-$SCAMWATCH_RUN/$tag}"; mkdir -p "$out_dir"

if [ "$rate" = auto ]; then
  probe=20000
  case " $* " in *" --model "*|*"--model="*) probe=1000 ;; esac
  for a in "$@"; do case "$a" in none|--model=none) probe=20000 ;; esac; done
  echo "soak: measuring max throughput (drain of $probe posts) ..." >&2
  max=$(SKIP_BUILD=1 SCAMWATCH_BIN="$bin" load-tests/drain.sh "$probe" clean "$@" | tail -1 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["posts_per_sec"])')
  rate=$((max / 2)); [ "$rate" -ge 1 ] || rate=1
  echo "soak: max $max posts/s, soaking at $rate posts/s" >&2
fi
count=$(awk -v r="$rate" -v m="$minutes" "BEGIN { print int(r * 60 * m) }")

in="posts-$tag"; vout="verdicts-$tag"; dlq="dlq-$tag"
for t in "$in" "$vout"; do scripts/broker.sh topic "$t" 4; done
scripts/broker.sh topic "$dlq" 1
port=$((20000 + RANDOM % 10000))
"$bin" serve --brokers "$brokers" --input-topic "$in" --verdict-topic "$vout" --dead-letter-topic "$dlq" \
  --group-id "g-$tag" --http-addr "127.0.0.1:$port" "$@" 2>"$out_dir/service.log" &
pid=$!
sampler=""
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 600); do
  curl -sf "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "scamwatch exited; see $out_dir/service.log" >&2; exit 1; }
  sleep 0.1
done

# RSS every 10 s: seconds since the load started, VmRSS kB, VmHWM kB.
start=$(date +%s)
( while kill -0 "$pid" 2>/dev/null; do
    printf '%s\t%s\t%s\n' "$(( $(date +%s) - start ))" \
      "$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" "$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")"
    sleep 10
  done ) >"$out_dir/rss.tsv" &
sampler=$!

echo "soak: $minutes min at $rate posts/s ($count posts, scenario $scenario), output in $out_dir" >&2
load_rc=0
./target/release/scamwatch-load --brokers "$brokers" run --scenario "$scenario" --rate "$rate" --count "$count" \
  --input-topic "$in" --verdict-topic "$vout" --dead-letter-topic "$dlq" --seed "$RANDOM" \
  --bucket-secs "$bucket" --idle-timeout-secs 120 --json-out "$out_dir/soak.json" --plot-out "$out_dir/soak.png" \
  >/dev/null || load_rc=$?
kill "$sampler" 2>/dev/null || true; sampler=""
kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true

python3 - "$out_dir" "$warmup" "$max_growth" "$load_rc" "$rate" "$minutes" "$bucket" <<'PY'
import json, sys
out_dir, warmup, max_growth, load_rc, rate, minutes = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
width = float(sys.argv[7])
rss = [tuple(int(x) for x in l.split("\t")) for l in open(f"{out_dir}/rss.tsv") if l.count("\t") == 2 and "" not in l.strip().split("\t")]
report = json.load(open(f"{out_dir}/soak.json"))
base = next((r for r in rss if r[0] >= warmup), rss[0])
last = rss[-1]
half = next((r for r in rss if r[0] >= last[0] / 2), base)
growth = 100.0 * (last[1] - base[1]) / base[1]
# Latency per full bucket (a minute by default) of production; the drain tail is left out.
full = [b for b in report["timeline"] if b["t_secs"] + width <= report["produce_seconds"] and b["outputs"]]
first, final = (full[0], full[-1]) if full else (None, None)
summary = {
    "minutes": minutes, "rate": rate, "produced": report["produced"], "lost": report["lost"],
    "verdict_duplicates": report["verdict_duplicates"], "dead_letters": report["dead_letters"],
    "latency_ms_overall": report["latency_ms"],
    "rss_mb": {"after_warmup": round(base[1] / 1024, 1), "at_half": round(half[1] / 1024, 1),
               "last": round(last[1] / 1024, 1), "peak": round(max(r[2] for r in rss) / 1024, 1),
               "samples": len(rss)},
    "rss_growth_pct": round(growth, 1),
    "rss_growth_second_half_pct": round(100.0 * (last[1] - half[1]) / half[1], 1),
}
if first:
    summary["bucket_secs"] = width
    summary["first_minute"] = {k: first[k] for k in ("p50_ms", "p99_ms", "per_sec")}
    summary["last_minute"] = {k: final[k] for k in ("p50_ms", "p99_ms", "per_sec")}
    summary["p50_drift_pct"] = round(100.0 * (final["p50_ms"] - first["p50_ms"]) / max(first["p50_ms"], 1e-9), 1)
    summary["p99_drift_pct"] = round(100.0 * (final["p99_ms"] - first["p99_ms"]) / max(first["p99_ms"], 1e-9), 1)
json.dump(summary, open(f"{out_dir}/summary.json", "w"), indent=2)
print(json.dumps(summary, indent=2))
fail = []
if growth > max_growth: fail.append(f"RSS grew {growth:.1f}% (> {max_growth}%)")
if load_rc: fail.append(f"the load generator failed (exit {load_rc}: lost posts or wrong outputs)")
if fail:
    print("SOAK FAILED: " + "; ".join(fail), file=sys.stderr); sys.exit(1)
print("SOAK PASSED", file=sys.stderr)
PY
