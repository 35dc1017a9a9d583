#!/usr/bin/env bash
# End to end on a fresh machine: install what is needed, start a Kafka-protocol broker (tansu),
# build and start scamwatch (rules + the shipped classifier; SCAMWATCH_MODEL=none for rules
# only), send the sample posts in examples/posts.jsonl (including malformed
# lines), print the verdicts and dead letters, show /readyz and a few metrics, queue the flagged
# posts in the review console (http://127.0.0.1:8090, reviewer "demo", password
# "demo-password"), then stop. SCAMWATCH_DEMO_KEEP=1 keeps both running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh
brokers=$(scripts/broker.sh start)
export SCAMWATCH_BROKERS="$brokers"

tag="demo-$(date +%s)"
export SCAMWATCH_INPUT_TOPIC="posts-$tag" SCAMWATCH_VERDICT_TOPIC="verdicts-$tag" \
       SCAMWATCH_DEAD_LETTER_TOPIC="dlq-$tag" SCAMWATCH_GROUP_ID="scamwatch-$tag" \
       SCAMWATCH_HTTP_ADDR="${SCAMWATCH_HTTP_ADDR:-127.0.0.1:8080}" SCAMWATCH_LOG_FORMAT=text \
       SCAMWATCH_MODEL="${SCAMWATCH_MODEL:-models/classifier}"
scripts/broker.sh topic "$SCAMWATCH_INPUT_TOPIC" 4
scripts/broker.sh topic "$SCAMWATCH_VERDICT_TOPIC" 4
scripts/broker.sh topic "$SCAMWATCH_DEAD_LETTER_TOPIC" 1

echo "== building (release)"
cargo build --release -q -p scamwatch -p scamwatch-load
./target/release/scamwatch serve >"$SCAMWATCH_RUN/$tag.log" 2>&1 &
service=$!
SCAMWATCH_REVIEW_LISTEN="${SCAMWATCH_REVIEW_LISTEN:-127.0.0.1:8090}" \
SCAMWATCH_REVIEW_GROUP_ID="review-$tag" SCAMWATCH_REVIEWERS="demo:demo-password" \
SCAMWATCH_REVIEW_DATABASE_URL="sqlite://$SCAMWATCH_RUN/$tag-review.db" \
  ./target/release/scamwatch review >"$SCAMWATCH_RUN/$tag-review.log" 2>&1 &
review=$!
trap 'kill $service $review 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -sf "http://$SCAMWATCH_HTTP_ADDR/readyz" >/dev/null && break
  sleep 0.2
done
echo "== /readyz"; curl -s "http://$SCAMWATCH_HTTP_ADDR/readyz"; echo

echo "== sending examples/posts.jsonl to $SCAMWATCH_INPUT_TOPIC"
./target/release/scamwatch-load send --topic "$SCAMWATCH_INPUT_TOPIC" examples/posts.jsonl
lines=$(grep -c . examples/posts.jsonl)
echo "== verdicts and dead letters"
./target/release/scamwatch-load tail --verdict-topic "$SCAMWATCH_VERDICT_TOPIC" \
  --dead-letter-topic "$SCAMWATCH_DEAD_LETTER_TOPIC" --count "$lines" --timeout-secs 30

echo "== one full verdict (POST /v1/score)"
head -1 examples/posts.jsonl | curl -s -X POST -H 'content-type: application/json' \
  --data-binary @- "http://$SCAMWATCH_HTTP_ADDR/v1/score" | python3 -m json.tool | sed -n '1,60p'
echo "== metrics"
curl -s "http://$SCAMWATCH_HTTP_ADDR/metrics" | grep -E '^scamwatch_(messages_out_total|dead_letters_total|verdicts_total)' | grep -v ' 0$'
echo "== review console (http://${SCAMWATCH_REVIEW_LISTEN:-127.0.0.1:8090}, demo / demo-password)"
sleep 2
curl -s "http://${SCAMWATCH_REVIEW_LISTEN:-127.0.0.1:8090}/metrics" | grep -E '^scamwatch_review_(pending|verdicts_total)'
if [ "${SCAMWATCH_DEMO_KEEP:-0}" = 1 ]; then
  echo "== running; Ctrl-C stops"; wait $service
fi
kill -TERM $service $review; wait $service $review || true
trap - EXIT
echo "== done (service stopped; broker still running: scripts/broker.sh stop)"
