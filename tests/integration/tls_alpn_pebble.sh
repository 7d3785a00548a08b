#!/usr/bin/env bash
# tls-alpn-01 (RFC 8737) against the shared Pebble's validator on its tlsPort:
#  A. `issue --challenge tls-alpn-01 --tls-alpn-listen`: a DNS name (pebble-challtestsrv
#     answers its A query with 127.0.0.1), the IP 127.0.0.1, and ::1 when the machine
#     has IPv6; each with a fresh account, so no earlier authorization is reused. A
#     listener on another port fails validation (Pebble really connects to tlsPort).
#     A wildcard with tls-alpn-01 is refused (it needs dns-01).
#  B. `acmectl agent` with [agent] tls_alpn_listen (the shared listener): issues a
#     certificate; `openssl s_client` offering another ALPN or an unknown name is
#     refused; under 200 idle and 2 slow-drip connections (tests/support/
#     hostile_clients.py) SIGHUP adds a certificate that still validates; the drip
#     clients (not TLS at all) are cut within the 5 s handshake deadline; SIGTERM
#     stops it at once. Then `acmectl renew --force` without the agent answers on
#     [agent] tls_alpn_listen for its order only.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

now_ms() { date +%s%3N; }
listen="127.0.0.1:$PEBBLE_TLS_PORT"
n=0
# issue_fresh NAME ARGS...: issue with a new state dir (a new account) into $TMP/live.
issue_fresh() {
  n=$((n + 1))
  expect_rc "$1" issue "${@:2}" "${PEBBLE_ARGS[@]}" --state-dir "$TMP/state$n" --out "$TMP/live" \
    --challenge tls-alpn-01
}

# ---- A: acmectl issue ------------------------------------------------------------------
name=alpn.acmectl.test
issue_fresh 0 -d "$name" --tls-alpn-listen "$listen"
verify_chain "$TMP/live/$name"
assert_sans "$TMP/live/$name/cert.pem" "$name"
ok "tls-alpn-01 for $name on $listen: issued, SAN $name"

issue_fresh 0 -d 127.0.0.1 --name alpn-v4 --tls-alpn-listen "$listen"
verify_chain "$TMP/live/alpn-v4"
assert_sans "$TMP/live/alpn-v4/cert.pem" 127.0.0.1
ok "tls-alpn-01 for the IP 127.0.0.1 (SNI 1.0.0.127.in-addr.arpa): issued, SAN IP 127.0.0.1"

if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'; then
  issue_fresh 0 -d ::1 -d 127.0.0.1 --name alpn-v6 --tls-alpn-listen "[::]:$PEBBLE_TLS_PORT"
  verify_chain "$TMP/live/alpn-v6"
  sans=$(openssl x509 -in "$TMP/live/alpn-v6/cert.pem" -noout -ext subjectAltName | tail -n 1)
  [[ "$sans" == *"IP Address:127.0.0.1"* && "$sans" =~ IP\ Address:(0:0:0:0:0:0:0:1|::1) ]] ||
    fail "SANs of alpn-v6: $sans"
  ok "tls-alpn-01 for ::1 and 127.0.0.1 on one dual-stack listener [::]:$PEBBLE_TLS_PORT: issued"
else
  log "SKIP IPv6: this machine has no ::1 on lo"
fi

other=$(free_ports 1)
issue_fresh 1 -d wrong.acmectl.test --tls-alpn-listen "127.0.0.1:$other"
error_line
[[ "$ERR_LINE" == *tls-alpn-01* || "$ERR_LINE" == *"$PEBBLE_TLS_PORT"* ]] ||
  fail "the failure does not name the challenge or the port Pebble tried: $ERR_LINE"
assert_absent "$TMP/live/wrong.acmectl.test/cert.pem"
ok "listener on a port Pebble does not connect to: validation fails ($ERR_LINE)"

issue_fresh 1 -d '*.alpn.acmectl.test' --tls-alpn-listen "$listen"
error_line
[[ "$ERR_LINE" == *wildcard*dns-01* ]] || fail "wildcard refusal does not say why: $ERR_LINE"
assert_absent "$TMP/state$n"
ok "a wildcard with tls-alpn-01: refused before anything is written ($ERR_LINE)"

# ---- B: the agent's shared listener -----------------------------------------------------
state=$TMP/agent-state
out=$TMP/agent-live
cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$state"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "alpn@example.com"
agree_tos = true

[agent]
tls_alpn_listen = "$listen"
metrics_listen = "off"

[defaults]
out = "$out"
challenge = "tls-alpn-01"

[[certificate]]
name = "one"
domains = ["one.alpn.acmectl.test"]
TOML
"$ACMECTL" agent --config "$TMP/acmectl.toml" </dev/null >"$TMP/agent.out" 2>"$TMP/agent.log" &
agent=$!
_LIB_PIDS+=("$agent")
wait_cert() { # NAME SECONDS
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -s "$out/$1/cert.pem" ]] && return 0
    kill -0 "$agent" 2>/dev/null || {
      tail -n 30 "$TMP/agent.log" >&2
      fail "the agent exited while waiting for certificate $1"
    }
    sleep 0.1
  done
  tail -n 30 "$TMP/agent.log" >&2
  fail "certificate $1 not issued within $2 s"
}
wait_cert one 30
verify_chain "$out/one"
assert_sans "$out/one/cert.pem" one.alpn.acmectl.test
grep -q "tls-alpn-01 listener on $listen" "$TMP/agent.log" || fail "the agent did not log its tls-alpn-01 listener"
ok "agent: shared tls-alpn-01 listener on $listen issued 'one'"

# The listener answers acme-tls/1 only, and only for names it is validating right now.
probe() { # SERVERNAME ALPN
  timeout 10 openssl s_client -connect "$listen" -servername "$1" -alpn "$2" </dev/null >"$TMP/probe.out" 2>&1
}
if probe one.alpn.acmectl.test h2; then fail "ALPN h2 was accepted: $(cat "$TMP/probe.out")"; fi
grep -qi 'no application protocol' "$TMP/probe.out" ||
  fail "ALPN h2: expected a no_application_protocol alert: $(cat "$TMP/probe.out")"
if probe one.alpn.acmectl.test acme-tls/1; then
  fail "a name not being validated got a certificate: $(cat "$TMP/probe.out")"
fi
grep -qi 'unrecognized name' "$TMP/probe.out" ||
  fail "unknown name: expected an unrecognized_name alert: $(cat "$TMP/probe.out")"
ok "s_client: ALPN h2 refused (no_application_protocol); a name not in validation refused (unrecognized_name)"

"$LIB_DIR/hostile_clients.py" --port "$PEBBLE_TLS_PORT" --idle 200 --drip 2 --wait-port 10 \
  --duration 40 --ready "$TMP/flood.ready" --stats "$TMP/flood.stats" 2>"$TMP/flood.err" &
hostile=$!
_LIB_PIDS+=("$hostile")
for ((i = 0; i < 100; i++)); do
  [[ -s "$TMP/flood.ready" ]] && break
  sleep 0.1
done
[[ -s "$TMP/flood.ready" ]] || fail "the hostile clients never connected: $(cat "$TMP/flood.err")"
read -r held _ <"$TMP/flood.ready"
assert_eq "$held" 202 "connections held open against the tls-alpn-01 listener"

printf '\n[[certificate]]\nname = "two"\ndomains = ["two.alpn.acmectl.test", "127.0.0.1"]\n' >>"$TMP/acmectl.toml"
t0=$(now_ms)
kill -HUP "$agent"
wait_cert two 30
took=$(($(now_ms) - t0))
verify_chain "$out/two"
assert_sans "$out/two/cert.pem" two.alpn.acmectl.test 127.0.0.1
ok "SIGHUP under 200 idle + 2 slow-drip connections: 'two' (a name and an IP) validated and issued in $took ms"

sleep 6 # past the 5 s handshake deadline of the slow-drip clients
kill -0 "$hostile" 2>/dev/null || fail "the hostile clients stopped early: $(cat "$TMP/flood.err")"
t0=$(now_ms)
kill -TERM "$agent"
rc=0
wait "$agent" || rc=$?
took=$(($(now_ms) - t0))
assert_eq "$rc" 0 "agent exit status after SIGTERM"
((took < 3000)) || fail "the agent took $took ms to stop with 200 connections open"
for ((i = 0; i < 150; i++)); do
  [[ -s "$TMP/flood.stats" ]] && break
  sleep 0.1
done
[[ -s "$TMP/flood.stats" ]] || fail "the hostile clients wrote no statistics: $(cat "$TMP/flood.err")"
drips=$(jq -r '.drip_lifetimes_s | length' "$TMP/flood.stats")
((drips >= 2)) || fail "the slow-drip clients were never cut (stats: $(cat "$TMP/flood.stats"))"
longest=$(jq -r '.drip_lifetimes_s | max' "$TMP/flood.stats")
awk -v l="$longest" 'BEGIN { exit !(l < 7) }' || fail "a slow-drip client lived ${longest}s; the deadline is 5 s"
ok "slow-drip clients cut after at most ${longest}s ($drips cuts); SIGTERM: exit 0 in $took ms"

# Without an agent, `acmectl renew` answers on [agent] tls_alpn_listen for the order only.
serial=$(cert_serial "$out/one/cert.pem")
expect_rc 0 renew one --force --config "$TMP/acmectl.toml"
[[ "$(cert_serial "$out/one/cert.pem")" != "$serial" ]] || fail "renew --force kept serial $serial"
verify_chain "$out/one"
(exec 3<>"/dev/tcp/127.0.0.1/$PEBBLE_TLS_PORT") 2>/dev/null && fail "the listener stayed open after renew exited"
ok "renew --force without an agent: validated on [agent] tls_alpn_listen, listener closed afterwards"
