#!/usr/bin/env bash
# A fallback CA (issue 14; docs/operations.md "A fallback CA") with TWO real
# Pebbles: the agent issues through the primary; the primary is stopped and a
# forced renewal goes to the [[acme.fallback]] CA (its own account, its own
# chain); the primary is started again and, once its rest is over, the next
# renewal goes back to it (return_to_primary). Each time `acmectl list`,
# `show --json` and /metrics (acmectl_certificate_issuer_info, acmectl_ca_*)
# name the CA that issued the installed certificate, and the certificate
# chains to that CA's root. Last, without an agent, a one-shot `renew --force`
# fails over the same way.
#
# Both Pebbles share the listener certificate, the validator's http-01 port
# (so the agent's one responder answers either) and pebble-challtestsrv's DNS.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

start_fixture "$TMP/pebble1"
P1_URL=$PEBBLE_DIR_URL
P1_ROOT=$PEBBLE_ROOT_PEM
P1_CONF=$TMP/pebble1/pebble-config.json
P1_PORT=${P1_URL#https://127.0.0.1:}
P1_PORT=${P1_PORT%%/*}

# The second Pebble: the first one's config on two other ports.
mapfile -t ports < <(free_ports 3)
P2_PORT=${ports[0]} P2_MGMT=${ports[1]} METRICS_PORT=${ports[2]}
P2_URL="https://127.0.0.1:$P2_PORT/dir"
P2_MGMT_URL="https://127.0.0.1:$P2_MGMT"
sed -e "s/\"listenAddress\": \"127.0.0.1:[0-9]*\"/\"listenAddress\": \"127.0.0.1:$P2_PORT\"/" \
  -e "s/\"managementListenAddress\": \"127.0.0.1:[0-9]*\"/\"managementListenAddress\": \"127.0.0.1:$P2_MGMT\"/" \
  "$P1_CONF" >"$TMP/pebble2.json"
grep -q "127.0.0.1:$P2_PORT" "$TMP/pebble2.json" || fail "could not write the second Pebble's config"

# start_pebble CONFIG LOG: a Pebble resolving through the first fixture's DNS; prints its PID.
start_pebble() {
  PEBBLE_VA_NOSLEEP=1 pebble -config "$1" -dnsserver "$CHALLTESTSRV_DNS" </dev/null >"$2" 2>&1 &
  echo $!
}
# wait_ca URL: until the directory answers.
wait_ca() {
  local i
  for ((i = 0; i < 100; i++)); do
    curl -sf --max-time 2 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$1" && return 0
    sleep 0.1
  done
  fail "no ACME directory at $1"
}
p2=$(start_pebble "$TMP/pebble2.json" "$TMP/pebble2.log")
_LIB_PIDS+=("$p2")
wait_ca "$P2_URL"
curl -sf --cacert "$PEBBLE_CA_BUNDLE" -o "$TMP/p2-root.pem" "$P2_MGMT_URL/roots/0" ||
  fail "cannot fetch the second Pebble's root"
log "primary $P1_URL, fallback $P2_URL"

state=$TMP/state
out=$TMP/live
cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"

[acme]
server = "$P1_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "primary@example.com"
agree_tos = true
fallback_retry_seconds = 3

[[acme.fallback]]
server = "$P2_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "fallback@example.com"

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "127.0.0.1:$METRICS_PORT"

[defaults]
out = "$out"

[[certificate]]
name = "fb"
domains = ["fb.fallback.test"]
TOML

"$ACMECTL" agent --config "$TMP/acmectl.toml" </dev/null >"$TMP/agent.out" 2>"$TMP/agent.log" &
agent=$!
_LIB_PIDS+=("$agent")

wait_for() { # SECONDS CONDITION...
  local secs=$1 i
  shift
  for ((i = 0; i < secs * 5; i++)); do
    "$@" && return 0
    kill -0 "$agent" 2>/dev/null || {
      tail -n 40 "$TMP/agent.log" >&2
      fail "the agent exited while waiting for: $*"
    }
    sleep 0.2
  done
  tail -n 40 "$TMP/agent.log" >&2
  fail "not within $secs s: $*"
}
issued() { [[ -f "$out/fb/cert.pem" ]]; }
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" >"$TMP/metrics"; }

# check_issuer URL ROOT: list, show --json, /metrics and the chain all name this CA.
check_issuer() {
  local url=$1 root=$2 host
  host=${url#https://}
  host=${host%%/*}
  expect_rc 0 --config "$TMP/acmectl.toml" list --json
  assert_eq "$(jq -r '.[] | select(.name == "fb") | .issued_by' "$OUT_FILE")" "$url" "list --json issued_by"
  expect_rc 0 --config "$TMP/acmectl.toml" list
  assert_match "$(grep '^fb ' "$OUT_FILE")" " $host " "the CA column of list"
  expect_rc 0 --config "$TMP/acmectl.toml" show fb --json
  assert_eq "$(jq -r .issued_by "$OUT_FILE")" "$url" "show --json issued_by"
  scrape || fail "cannot scrape /metrics"
  grep -qxF "acmectl_certificate_issuer_info{name=\"fb\",server=\"$url\"} 1" "$TMP/metrics" ||
    fail "/metrics does not say $url issued fb: $(grep issuer_info "$TMP/metrics")"
  assert_eq "$(grep -c '^acmectl_certificate_issuer_info{' "$TMP/metrics")" 1 "issuer_info samples"
  promtool check metrics <"$TMP/metrics" >/dev/null 2>&1 || fail "promtool check metrics failed"
  local v
  v=$(openssl verify -CAfile "$root" -untrusted "$out/fb/chain.pem" "$out/fb/cert.pem" 2>&1) ||
    fail "the certificate does not chain to the root of $url: $v"
}

wait_for 30 issued
check_issuer "$P1_URL" "$P1_ROOT"
serial1=$(cert_serial "$out/fb/cert.pem")
ok "issued through the primary; list, show, metrics and chain say $P1_URL"

# The primary goes away: the next renewal goes to the fallback, at once.
p1=$(<"$TMP/pebble1/pebble.pid")
stop_pid "$p1"
! curl -sf --max-time 2 --cacert "$PEBBLE_CA_BUNDLE" -o /dev/null "$P1_URL" || fail "the primary still answers"
expect_rc 0 --config "$TMP/acmectl.toml" renew --force fb
assert_match "$(cat "$OUT_FILE")" "fb: renewed: .*from fallback CA $P2_URL" "renew output"
serial2=$(cert_serial "$out/fb/cert.pem")
[[ "$serial2" != "$serial1" ]] || fail "serial unchanged after the renewal through the fallback"
check_issuer "$P2_URL" "$TMP/p2-root.pem"
grep -qxF "acmectl_ca_available{server=\"$P1_URL\"} 0" "$TMP/metrics" ||
  fail "the primary is not shown resting: $(grep '^acmectl_ca_' "$TMP/metrics")"
grep -qxF "acmectl_ca_available{server=\"$P2_URL\"} 1" "$TMP/metrics" || fail "the fallback is not shown available"
expect_rc 0 --config "$TMP/acmectl.toml" show fb --json
assert_eq "$(jq -r '[.events[] | select(.kind == "failed_over")][0].detail' "$OUT_FILE")" \
  "$P1_URL -> $P2_URL" "failed_over event"
assert_eq "$(jq -r .consecutive_failures "$OUT_FILE")" 0 "consecutive failures of fb"
# A fallback account of its own, with its own email.
n=$(find "$state/accounts" -name account.key | wc -l)
assert_eq "$n" 2 "account keys (one per CA)"
ok "primary stopped: renewed through the fallback (its own account); list, show, metrics say $P2_URL"

# The primary comes back (a new Pebble process on the same port: new root, and it
# forgot our account). After its rest (3 s), the next renewal goes back to it.
p1=$(start_pebble "$P1_CONF" "$TMP/pebble1-again.log")
_LIB_PIDS+=("$p1")
wait_ca "$P1_URL"
curl -sf --cacert "$PEBBLE_CA_BUNDLE" -o "$TMP/p1-root-again.pem" \
  "https://127.0.0.1:$(sed -n 's/.*"managementListenAddress": "127.0.0.1:\([0-9]*\)".*/\1/p' "$P1_CONF")/roots/0" ||
  fail "cannot fetch the restarted primary's root"
sleep 3
expect_rc 0 --config "$TMP/acmectl.toml" renew --force fb
assert_match "$(cat "$OUT_FILE")" "^fb: renewed: " "renew output"
if grep -q "fallback" "$OUT_FILE"; then fail "renewed through the fallback again: $(cat "$OUT_FILE")"; fi
check_issuer "$P1_URL" "$TMP/p1-root-again.pem"
grep -qxF "acmectl_ca_available{server=\"$P1_URL\"} 1" "$TMP/metrics" || fail "the primary is not available again"
grep -qxF "acmectl_ca_consecutive_failures{server=\"$P1_URL\"} 0" "$TMP/metrics" ||
  fail "the primary's failures were not reset"
ok "primary back: the next renewal went to it again (return_to_primary)"

# Without an agent: a one-shot renew fails over the same way.
stop_pid "$agent"
stop_pid "$p1"
expect_rc 0 --config "$TMP/acmectl.toml" renew --force fb
assert_match "$(cat "$OUT_FILE")" "fb: renewed: .*from fallback CA $P2_URL" "one-shot renew output"
n=$(grep -c "ca=$P1_URL failure=unreachable" "$ERR_FILE" || true)
((n >= 1)) || fail "the one-shot renew did not log the primary as unreachable"
expect_rc 0 --config "$TMP/acmectl.toml" list --json
assert_eq "$(jq -r '.[0].issued_by' "$OUT_FILE")" "$P2_URL" "issued_by after the one-shot renew"
ok "one-shot renew without an agent: fell over to the fallback too"
