#!/usr/bin/env bash
# Every test: formatting, lints, unit tests, and the black-box tests against a real broker.
# Installs and starts what it needs (scripts/setup.sh, scripts/broker.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh
export SCAMWATCH_BROKERS="$(scripts/broker.sh start)"

step() { printf '\n== %s\n' "$*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "k8s manifests (scripts/validate-k8s.sh)"
scripts/validate-k8s.sh
step "cargo deny: licences, bans, sources (advisories when the RustSec DB is reachable)"
scripts/deny.sh
step "cargo clippy (deny warnings)"
cargo clippy --release --workspace --all-targets -- -D warnings
step "cargo test (unit, integration, black-box against tansu at $SCAMWATCH_BROKERS)"
cargo test --release --workspace -- --test-threads 2
step "all tests passed"
