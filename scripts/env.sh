# Shared paths for scamwatch scripts. Source it: `. scripts/env.sh`.
# Built tools live in a cache outside the clone so repeated runs (and CI) reuse them.
export SCAMWATCH_CACHE="${SCAMWATCH_CACHE:-$HOME/.cache/scamwatch}"
export SCAMWATCH_RUN="${SCAMWATCH_RUN:-$SCAMWATCH_CACHE/run}"
export TANSU_VERSION="${TANSU_VERSION:-0.6.0}"
export TANSU_BIN="$SCAMWATCH_CACHE/tansu-$TANSU_VERSION/bin/tansu"
export SCAMWATCH_BROKER_PORT="${SCAMWATCH_BROKER_PORT:-19092}"
export SCAMWATCH_BROKERS="${SCAMWATCH_BROKERS:-127.0.0.1:$SCAMWATCH_BROKER_PORT}"
export ORT_VERSION="${ORT_VERSION:-1.31.1}"
export ORT_DIR="$SCAMWATCH_CACHE/onnxruntime-$ORT_VERSION"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$ORT_DIR/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION}"
mkdir -p "$SCAMWATCH_CACHE" "$SCAMWATCH_RUN"
