#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (policy: deny.toml at the repository root).
#
#  - Installs cargo-deny $CARGO_DENY_VERSION once into $SCAMWATCH_CACHE/cargo-deny (outside the
#    clone; `cargo install --locked`, about 4 minutes on 2 cores, reused afterwards).
#  - licenses, bans, sources: must pass; any violation makes this script exit non-zero.
#  - advisories: needs the RustSec advisory database, which cargo-deny clones from GitHub. When
#    it cannot be fetched (no route to GitHub) and no earlier copy exists, the check is reported
#    as SKIPPED and does not fail the script. SCAMWATCH_DENY_ADVISORIES=require makes a missing
#    database an error (for networks that reach GitHub); =skip never tries.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh

CARGO_DENY_VERSION="${CARGO_DENY_VERSION:-0.20.2}"
DENY_ROOT="$SCAMWATCH_CACHE/cargo-deny"
DENY="$DENY_ROOT/bin/cargo-deny"
ADVISORIES="${SCAMWATCH_DENY_ADVISORIES:-auto}"
DB_DIR="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"

log() { printf '[deny] %s\n' "$*" >&2; }

case "$ADVISORIES" in auto|require|skip) ;; *) log "SCAMWATCH_DENY_ADVISORIES must be auto, require or skip"; exit 2 ;; esac

if ! "$DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  log "building cargo-deny $CARGO_DENY_VERSION into $DENY_ROOT (one time, about 4 minutes on 2 cores)"
  nice -n 10 cargo install --locked --force cargo-deny --version "$CARGO_DENY_VERSION" --root "$DENY_ROOT" >&2
fi

declare -A result
failed=0
run_check() { # name, extra args...
  local name="$1"; shift
  printf '\n== cargo deny check %s\n' "$name"
  if "$DENY" --locked check "$@" "$name"; then
    result[$name]="ok"
  else
    result[$name]="FAILED"
    failed=1
  fi
}

run_check licenses
run_check bans --hide-inclusion-graph
run_check sources

printf '\n== cargo deny check advisories\n'
have_db() { compgen -G "$DB_DIR/*/crates" >/dev/null; }
if [ "$ADVISORIES" = skip ]; then
  result[advisories]="SKIPPED (SCAMWATCH_DENY_ADVISORIES=skip)"
else
  if timeout 300 "$DENY" fetch db; then
    fresh=1
  else
    fresh=0
    log "could not fetch the RustSec advisory database (https://github.com/rustsec/advisory-db)"
  fi
  if [ "$fresh" = 1 ] || have_db; then
    [ "$fresh" = 1 ] || log "using the copy already in $DB_DIR (could not refresh it)"
    # --offline: the database was just fetched (or cannot be); crates are already present.
    if "$DENY" --locked --offline check advisories; then
      result[advisories]="ok$([ "$fresh" = 1 ] || echo " (stale local database)")"
    else
      result[advisories]="FAILED"
      failed=1
    fi
  elif [ "$ADVISORIES" = require ]; then
    result[advisories]="FAILED (advisory database unavailable and SCAMWATCH_DENY_ADVISORIES=require)"
    failed=1
  else
    result[advisories]="SKIPPED (advisory database not reachable from this network)"
  fi
fi

printf '\n== cargo-deny %s summary\n' "$CARGO_DENY_VERSION"
for name in licenses bans sources advisories; do
  printf '  %-11s %s\n' "$name" "${result[$name]}"
done
exit "$failed"
