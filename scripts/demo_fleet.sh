#!/usr/bin/env bash
# The fleet demo (`scripts/demo.sh --fleet`, docs/fleet.md): two agents ("web-1" and
# "web-2", separate state and output directories, as on two hosts) share one
# PostgreSQL store and one certificate. A local Pebble CA (certificates valid 90 s, so a
# renewal comes within a minute) validates http-01 only against web-2's responder; web-1
# orders too, and web-2 answers its challenges from the database. Shows both hosts
# holding the same certificate and key, `acmectl list` with the FLEET table, a renewal
# done by one agent and installed by both, and the fleet metrics. PostgreSQL 15 runs as
# the postgres user in a temporary directory on a free loopback port; everything
# started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo=$(pwd)

# shellcheck source=scripts/deps.sh
source scripts/deps.sh

echo "== build (Release)" >&2
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${ACMECTL_JOBS:-2}" --target acmectl free_port >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acmectl-demo-fleet.XXXXXX")
pg=$(mktemp -d /tmp/acmectl-demo-pg.XXXXXX)
chown postgres: "$pg"
pg_bin=/usr/lib/postgresql/15/bin
fixture=$tmp/pebble
pids=()
cleanup() {
  local rc=$? p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg/data" -m fast -w stop >/dev/null 2>&1 || true
  "$repo/tests/support/pebble_fixture.sh" stop "$fixture" || true
  rm -rf "$pg"
  if [[ "${ACMECTL_DEMO_KEEP:-0}" == 1 ]]; then echo "== kept $tmp" >&2; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT

echo "== start Pebble (local ACME CA, 90-second certificates)" >&2
PEBBLE_CERTIFICATE_VALIDITY_PERIOD=90 FREE_PORT_BIN="$repo/build/bin/free_port" \
  tests/support/pebble_fixture.sh start "$fixture"
# shellcheck source=/dev/null
source "$fixture/env"

echo "== start PostgreSQL 15 (as user postgres, in $pg)" >&2
read -r pg_port http1 met1 met2 < <(build/bin/free_port 4 | paste -sd' ')
openssl rand -hex 16 >"$pg/pw"
chown postgres: "$pg/pw"
runuser -u postgres -- "$pg_bin/initdb" -D "$pg/data" -U acme --auth-local=trust \
  --auth-host=scram-sha-256 --pwfile="$pg/pw" >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w start \
  -o "-p $pg_port -k $pg -c listen_addresses=127.0.0.1" >/dev/null
runuser -u postgres -- "$pg_bin/createdb" -h "$pg" -p "$pg_port" -U acme acmectl
install -m 600 "$pg/pw" "$tmp/db.password"
umask 077
openssl rand -hex 32 >"$tmp/kek"
umask 022

# host NAME HTTP01_PORT METRICS_PORT: the config of one host.
host() {
  mkdir -p "$tmp/$1"
  cat >"$tmp/$1/acmectl.toml" <<EOF
state_dir = "$tmp/$1/state"
[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "demo@example.com"
agree_tos = true
[agent]
http01_listen = "127.0.0.1:$2"
metrics_listen = "127.0.0.1:$3"
[store]
url = "postgresql://acme@127.0.0.1:$pg_port/acmectl"
password_file = "$tmp/db.password"
kek_file = "$tmp/kek"
agent_id = "$1"
lease_seconds = 30
poll_seconds = 5
[defaults]
out = "$tmp/$1/live"
[[certificate]]
name = "shop"
domains = ["shop.acmectl.test", "www.shop.acmectl.test"]
EOF
}
host web-1 "$http1" "$met1"
host web-2 "$PEBBLE_HTTP_PORT" "$met2"

echo "== two agents, one certificate" >&2
for h in web-2 web-1; do
  build/bin/acmectl agent --config "$tmp/$h/acmectl.toml" --log-level warn &
  pids+=($!)
done
serial_of() { openssl x509 -in "$tmp/$1/live/shop/cert.pem" -noout -serial 2>/dev/null | cut -d= -f2; }
for _ in $(seq 1 150); do
  [[ -n "$(serial_of web-1)" && "$(serial_of web-1)" == "$(serial_of web-2)" ]] && break
  sleep 0.2
done
first=$(serial_of web-1)
for h in web-1 web-2; do
  echo "$h: serial $(serial_of "$h"), key $(openssl pkey -in "$tmp/$h/live/shop/privkey.pem" -pubout | sha256sum | cut -c1-16)"
done
[[ -n "$first" && "$first" == "$(serial_of web-2)" ]] || { echo "demo: FAILED: the hosts differ" >&2; exit 1; }

echo
echo "== acmectl list on web-1"
build/bin/acmectl --config "$tmp/web-1/acmectl.toml" list

echo
echo "== waiting for the renewal (the certificate lives 90 s; one agent renews, both install)"
for _ in $(seq 1 450); do
  s1=$(serial_of web-1)
  s2=$(serial_of web-2)
  [[ "$s1" != "$first" && "$s1" == "$s2" ]] && break
  sleep 0.2
done
for h in web-1 web-2; do echo "$h: serial $(serial_of "$h")"; done
[[ "$(serial_of web-1)" != "$first" && "$(serial_of web-1)" == "$(serial_of web-2)" ]] ||
  { echo "demo: FAILED: no shared renewal" >&2; exit 1; }
build/bin/acmectl --config "$tmp/web-2/acmectl.toml" list | sed -n '/^FLEET/,$p'

echo
echo "== fleet metrics of web-2"
curl -sSf "http://127.0.0.1:$met2/metrics" | grep -E '^acmectl_(fleet|certificate_installed)'
echo
echo "demo: OK: two agents share one certificate through PostgreSQL: one renews, both install"
