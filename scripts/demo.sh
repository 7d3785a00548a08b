#!/usr/bin/env bash
# The demo: installs what is missing, builds acmectl (Release, build/), starts
# a local Pebble ACME CA on free loopback ports, issues a certificate for
# demo.acmectl.test with `acmectl issue`, shows it, verifies its chain against
# Pebble's root, and stops what it started. Nothing outside a temporary
# directory is written (besides build/ and the packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

# shellcheck source=scripts/deps.sh
source scripts/deps.sh

echo "== build (Release)" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"${ACMECTL_JOBS:-2}" --target acmectl free_port

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-demo.XXXXXX")
fixture=$tmp/pebble
cleanup() {
  local rc=$?
  "$repo/tests/support/pebble_fixture.sh" stop "$fixture" || true
  if [[ "${ACMECTL_DEMO_KEEP:-0}" == 1 ]]; then
    echo "== kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT

echo "== start Pebble (local ACME CA) and pebble-challtestsrv (its DNS)" >&2
FREE_PORT_BIN="$repo/build/bin/free_port" tests/support/pebble_fixture.sh start "$fixture"
# shellcheck source=/dev/null
source "$fixture/env"

name=demo.acmectl.test
echo "== acmectl issue -d $name" >&2
build/bin/acmectl issue -d "$name" \
  --server "$PEBBLE_DIR_URL" --ca-bundle "$PEBBLE_CA_BUNDLE" \
  --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" \
  --state-dir "$tmp/state" --out "$tmp/live" \
  --agree-tos --email demo@example.com

live=$tmp/live/$name
echo
echo "== files in $live"
ls -l "$live"
echo
echo "== the certificate"
openssl x509 -in "$live/cert.pem" -noout -subject -dates -ext subjectAltName
echo
echo "== chain check against Pebble's root ($PEBBLE_MGMT_URL/roots/0)"
curl -sSf --cacert "$PEBBLE_CA_BUNDLE" -o "$tmp/root.pem" "$PEBBLE_MGMT_URL/roots/0"
openssl verify -CAfile "$tmp/root.pem" -untrusted "$live/chain.pem" "$live/cert.pem"
echo
echo "demo: OK: $name has a certificate that chains to the local Pebble root"
