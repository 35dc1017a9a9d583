#!/usr/bin/env bash
# Install what scamwatch needs, idempotently: system packages (Kafka client build, Chromium for
# the review console's browser test), the tansu broker (built once into the cache), and the
# ONNX Runtime shared library (from the onnxruntime wheel, for the classifier). Safe to run again: it skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

log() { printf '[setup] %s\n' "$*" >&2; }

need_pkgs=()
# chromium + chromium-driver: the review console's browser test drives a real headless Chromium.
for pkg in libssl-dev zlib1g-dev pkg-config chromium chromium-driver; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_pkgs+=("$pkg")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_pkgs[@]}"
fi

if [ ! -x "$TANSU_BIN" ]; then
  log "building tansu $TANSU_VERSION into $SCAMWATCH_CACHE (one time, several minutes)"
  cargo install tansu --version "$TANSU_VERSION" --locked --features dynostore,libsql \
    --root "$SCAMWATCH_CACHE/tansu-$TANSU_VERSION" >&2
fi
log "tansu: $TANSU_BIN"

# ONNX Runtime: the shared library inside the pinned wheel (the ort crate loads it dynamically).
if [ ! -f "$ORT_DIR/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" ]; then
  log "installing onnxruntime==$ORT_VERSION (for libonnxruntime.so) into $ORT_DIR"
  python3 -m pip install -q --no-deps --target "$ORT_DIR" "onnxruntime==$ORT_VERSION" >&2
fi
export ORT_DYLIB_PATH="$ORT_DIR/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION"
log "onnxruntime: $ORT_DYLIB_PATH"
