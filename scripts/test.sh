#!/usr/bin/env bash
# Every test: formatting, lints, unit tests, and the black-box tests against a real broker.
# Installs and starts what it needs (scripts/setup.sh, scripts/broker.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/setup.sh
export SCAMWATCH_BROKERS="$(scripts/broker.sh start)"
# The review console's store tests run on SQLite always and on PostgreSQL when one can start.
if SCAMWATCH_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"; then
  export SCAMWATCH_TEST_POSTGRES_URL
else
  echo "PostgreSQL could not start: the review store tests run on SQLite only" >&2
  unset SCAMWATCH_TEST_POSTGRES_URL
fi

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
step "API fuzz: schemathesis from /openapi.json (scripts/fuzz-api.sh)"
SCAMWATCH_BIN=target/release/scamwatch scripts/fuzz-api.sh
step "all tests passed"
