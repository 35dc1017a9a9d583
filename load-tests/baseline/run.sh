#!/usr/bin/env bash
# Python baseline vs scamwatch, same session, same model, same backlog:
#   load-tests/baseline/run.sh [COUNT]      (default 2000 posts, clean scenario)
# 1. installs the baseline's dependencies into $SCAMWATCH_CACHE/baseline-venv (once),
# 2. produces COUNT posts and lets load-tests/baseline/consumer.py drain them,
# 3. drains the same posts (same seed) with scamwatch --model models/classifier via
#    load-tests/drain.sh, once with model explanations off (the same work per post as the
#    baseline: one inference) and once with the shipped default (occlusion on flagged posts),
# 4. prints the three results and the Rust/Python ratio.
# Env: SCAMWATCH_BIN, SKIP_BUILD=1 as for drain.sh; BASELINE_RUST_FIRST=1 runs scamwatch first.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/env.sh
count="${1:-2000}"
venv="$SCAMWATCH_CACHE/baseline-venv"
if ! "$venv/bin/python" -c 'import confluent_kafka, onnxruntime, tokenizers, numpy' 2>/dev/null; then
  echo "baseline: installing confluent-kafka, onnxruntime==$ORT_VERSION, tokenizers, numpy into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q confluent-kafka "onnxruntime==$ORT_VERSION" tokenizers numpy >&2
fi
brokers=$(scripts/broker.sh start)
[ -n "${SKIP_BUILD:-}" ] || cargo build --release -q -p scamwatch -p scamwatch-load
seed=$((1000 + RANDOM))
tag="baseline-$(date +%s%N)"
in="posts-$tag"; out="verdicts-$tag"
for t in "$in" "$out"; do scripts/broker.sh topic "$t" 4; done
./target/release/scamwatch-load --brokers "$brokers" run --produce-only --count "$count" --scenario clean \
  --input-topic "$in" --seed "$seed" >&2

run_python() {
  echo "baseline: python consumer draining $count posts ..." >&2
  py=$("$venv/bin/python" load-tests/baseline/consumer.py --brokers "$brokers" --input-topic "$in" \
    --verdict-topic "$out" --group-id "g-$tag" --model models/classifier --count "$count" | tail -1)
  echo "$py"
}
run_rust() {
  echo "baseline: scamwatch (model, explanations off) draining the same $count posts ..." >&2
  rust=$(SKIP_BUILD=1 DRAIN_SEED=$seed load-tests/drain.sh "$count" clean --model models/classifier \
    --model-explain-spans 0 | tail -1)
  echo "$rust"
  echo "baseline: scamwatch (model, shipped defaults: explanations on flagged posts) ..." >&2
  rust_default=$(SKIP_BUILD=1 DRAIN_SEED=$seed load-tests/drain.sh "$count" clean --model models/classifier | tail -1)
  echo "$rust_default"
}
if [ -n "${BASELINE_RUST_FIRST:-}" ]; then run_rust; run_python; else run_python; run_rust; fi
python3 - "$py" "$rust" "$rust_default" <<'PY'
import json, sys
py, rust, rust_default = (json.loads(a) for a in sys.argv[1:4])
print(json.dumps({
    "python_posts_per_sec": py["posts_per_sec"],
    "rust_posts_per_sec_same_work": rust["posts_per_sec"],
    "rust_posts_per_sec_shipped_defaults": rust_default["posts_per_sec"],
    "ratio_rust_over_python_same_work": round(rust["posts_per_sec"] / py["posts_per_sec"], 2),
    "ratio_rust_over_python_shipped_defaults": round(rust_default["posts_per_sec"] / py["posts_per_sec"], 2),
    "peak_rss_mb": {"python": py["peak_rss_mb"], "rust": rust["peak_rss_mb"], "rust_shipped": rust_default["peak_rss_mb"]},
}))
PY
