#!/usr/bin/env bash
# The demo: installs what is missing, builds acmectl (Release, build/), starts
# a local Pebble ACME CA on free loopback ports, issues a certificate for
# demo.acmectl.test with `acmectl issue`, shows it, verifies its chain against
# Pebble's root, and stops what it started. Nothing outside a temporary
# directory is written (besides build/ and the packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)
# `scripts/demo.sh --fleet`: two agents sharing one certificate through PostgreSQL.
if [[ "${1:-}" == --fleet ]]; then exec scripts/demo_fleet.sh; fi

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
ls -l "$live/"
echo
echo "== the certificate"
openssl x509 -in "$live/cert.pem" -noout -subject -dates -ext subjectAltName
echo
echo "== chain check against Pebble's root ($PEBBLE_MGMT_URL/roots/0)"
curl -sSf --cacert "$PEBBLE_CA_BUNDLE" -o "$tmp/root.pem" "$PEBBLE_MGMT_URL/roots/0"
openssl verify -CAfile "$tmp/root.pem" -untrusted "$live/chain.pem" "$live/cert.pem"

echo
echo "== acmectl agent: keeps $name and a second certificate renewed, serves /metrics"
metrics_port=$(build/bin/free_port 1)
cat >"$tmp/acmectl.toml" <<EOF
state_dir = "$tmp/state"
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "demo@example.com"
agree_tos = true
[agent]
metrics_listen = "127.0.0.1:$metrics_port"
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
[defaults]
out = "$tmp/live"
[[certificate]]
domains = ["$name"]
[[certificate]]
name = "api"
domains = ["api.acmectl.test", "www.acmectl.test"]
EOF
build/bin/acmectl agent --config "$tmp/acmectl.toml" --log-level warn &
agent_pid=$!
for _ in $(seq 1 100); do
  if [[ -e "$tmp/live/api/cert.pem" ]]; then break; fi
  sleep 0.1
done
sleep 0.5
echo
echo "== acmectl list"
build/bin/acmectl list --state-dir "$tmp/state"
echo
echo "== curl http://127.0.0.1:$metrics_port/metrics (certificate metrics)"
curl -sSf "http://127.0.0.1:$metrics_port/metrics" | grep -E '^acmectl_(certificate_(expiration|ready)|renewals_total)'
kill -TERM "$agent_pid"
wait "$agent_pid"
echo
echo "demo: OK: $name has a certificate that chains to the local Pebble root; the agent keeps it renewed"
