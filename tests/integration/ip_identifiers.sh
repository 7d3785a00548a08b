#!/usr/bin/env bash
# IP address identifiers (RFC 8738) against the shared Pebble, over http-01:
#  - `issue -d 127.0.0.1`: an "ip" identifier, certificate name 127.0.0.1, the
#    issued certificate's only SAN is IP:127.0.0.1, the CSR had no CN to offer;
#  - `issue -d ::1` without --name: certificate name ip-__1, SAN IP ::1 (skipped
#    with a message when the machine has no IPv6 loopback);
#  - a config `domains = ["127.0.0.1"]` issued by `acmectl agent --once`;
#  - dns-01 for an IP: usage error (exit 2), one line, nothing written;
#    999.1.1.1 and 1.2.3.4.5 are refused (exit 1) before anything is written.
# shellcheck source-path=SCRIPTDIR source=../support/lib.sh
source "$(dirname "$0")/../support/lib.sh"
lib_init "$@"

state=$TMP/state
out=$TMP/live
common=("${PEBBLE_ARGS[@]}" --state-dir "$state" --out "$out")

# ---- IPv4 -------------------------------------------------------------------------------
expect_rc 0 issue -d 127.0.0.1 "${common[@]}" --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT" --json
assert_eq "$(jq -r .name "$OUT_FILE")" 127.0.0.1 "json .name"
assert_eq "$(jq -c .domains "$OUT_FILE")" '["127.0.0.1"]' "json .domains"
verify_chain "$out/127.0.0.1"
assert_sans "$out/127.0.0.1/cert.pem" 127.0.0.1
openssl x509 -in "$out/127.0.0.1/cert.pem" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' ||
  fail "the SAN of 127.0.0.1 is not an iPAddress"
grep -q '"type":"ip","value":"127.0.0.1"\|Identifier:acme.Identifier{Type:"ip", Value:"127.0.0.1"}' \
  "$PEBBLE_FIXTURE_DIR/pebble.log" || fail "Pebble never saw an ip identifier 127.0.0.1"
ok "-d 127.0.0.1: ip identifier, name 127.0.0.1, SAN IP Address:127.0.0.1, chain verifies"

# ---- IPv6 -------------------------------------------------------------------------------
if ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128'; then
  expect_rc 0 issue -d ::1 "${common[@]}" --http01-listen "[::1]:$PEBBLE_HTTP_PORT"
  grep -q 'certificate ip-__1 issued' "$OUT_FILE" || fail "expected the certificate name ip-__1"
  verify_chain "$out/ip-__1"
  openssl x509 -in "$out/ip-__1/cert.pem" -noout -ext subjectAltName | grep -Eq 'IP Address:(0:0:0:0:0:0:0:1|::1)$' ||
    fail "the SAN of ip-__1 is not IP ::1: $(openssl x509 -in "$out/ip-__1/cert.pem" -noout -ext subjectAltName)"
  assert_eq "$(sqlite3 "$state/acmectl.db" "select domains from certificates where name='ip-__1'")" '["::1"]' \
    "recorded domains of ip-__1"
  ok "-d ::1 without --name: certificate ip-__1, SAN IP ::1 (Pebble connected to [::1])"
else
  log "SKIP IPv6: this machine has no ::1 on lo"
fi

# ---- dns-01 for an IP: usage error, nothing written --------------------------------------
fresh=$TMP/fresh
expect_rc 2 issue -d 127.0.0.1 "${PEBBLE_ARGS[@]}" --state-dir "$fresh" --out "$fresh/live" \
  --challenge dns-01 --dns-provider exec --dns-exec /bin/true
(($(wc -l <"$ERR_FILE") == 1)) || fail "expected one line on stderr"
grep -q '^acmectl: usage error: .*127.0.0.1.*RFC 8738' "$ERR_FILE" || fail "unexpected message: $(cat "$ERR_FILE")"
assert_absent "$fresh"
ok "dns-01 with an IP: exit 2, '$(cat "$ERR_FILE")', nothing written"

for bad in 999.1.1.1 1.2.3.4.5 ::1::2; do
  expect_one_line_error issue -d "$bad" "${PEBBLE_ARGS[@]}" --state-dir "$fresh" --out "$fresh/live" \
    --http01-listen "127.0.0.1:$PEBBLE_HTTP_PORT"
  [[ "$ERR_LINE" == *"$bad"* ]] || fail "error line does not name $bad: $ERR_LINE"
  assert_absent "$fresh"
done
ok "999.1.1.1, 1.2.3.4.5, ::1::2 refused before anything is written"

# ---- config: domains = ["127.0.0.1"] through the agent -----------------------------------
astate=$TMP/agent-state
cat >"$TMP/acmectl.toml" <<TOML
state_dir = "$astate"

[acme]
server = "$PEBBLE_DIR_URL"
ca_bundle = "$PEBBLE_CA_BUNDLE"
email = "ip@example.com"
agree_tos = true

[agent]
http01_listen = "127.0.0.1:$PEBBLE_HTTP_PORT"
metrics_listen = "off"

[defaults]
out = "$TMP/agent-live"

[[certificate]]
domains = ["127.0.0.1"]
TOML
expect_rc 0 agent --config "$TMP/acmectl.toml" --once
verify_chain "$TMP/agent-live/127.0.0.1"
assert_sans "$TMP/agent-live/127.0.0.1/cert.pem" 127.0.0.1
ok "config domains = [\"127.0.0.1\"]: agent --once issued certificate 127.0.0.1 with the IP SAN"

# dns-01 with an IP in the config: the agent refuses the config (exit 2), names the address.
cat >>"$TMP/acmectl.toml" <<TOML

[[certificate]]
name = "ipdns"
domains = ["192.0.2.7"]
challenge = "dns-01"
dns_provider = "exec"
dns_exec = "/bin/true"
TOML
expect_rc 2 agent --config "$TMP/acmectl.toml" --once
grep -q '192.0.2.7' "$ERR_FILE" || fail "the agent's error does not name 192.0.2.7: $(cat "$ERR_FILE")"
assert_absent "$TMP/agent-live/ipdns"
ok "config with dns-01 for an IP: agent exits 2 naming 192.0.2.7"

# ---- doctor: an address is fetched as the CA would, IPv6 bracketed in URL and Host -----
dport=$(free_ports 1)
dargs=(-d 127.0.0.1 --http01-listen "[::]:$dport" --http-port "$dport" "${PEBBLE_ARGS[@]}"
  --state-dir "$TMP/doctor-state")
has_v6=0
ip -6 addr show dev lo 2>/dev/null | grep -q 'inet6 ::1/128' && has_v6=1
((has_v6)) && dargs+=(-d ::1)
expect_rc 0 doctor "${dargs[@]}" --json
jq -e '[.checks[] | select(.check == "resolve" or .check == "caa")] | length == 0' "$OUT_FILE" >/dev/null ||
  fail "doctor asked DNS about an IP address: $(cat "$OUT_FILE")"
jq -e --arg p "$dport" '.checks[] | select(.check == "http-01" and .status == "ok" and
  (.subject | startswith("http://127.0.0.1:" + $p + "/.well-known/acme-challenge/")))' "$OUT_FILE" >/dev/null ||
  fail "no ok http-01 finding for 127.0.0.1: $(cat "$OUT_FILE")"
if ((has_v6)); then
  jq -e --arg p "$dport" '.checks[] | select(.check == "http-01" and .status == "ok" and
    (.subject | startswith("http://[::1]:" + $p + "/.well-known/acme-challenge/")))' "$OUT_FILE" >/dev/null ||
    fail "no ok http-01 finding with a bracketed [::1] URL: $(cat "$OUT_FILE")"
fi
ok "doctor -d 127.0.0.1$( ((has_v6)) && echo ' -d ::1'): token fetched from the address itself (http://[::1]:PORT/… for IPv6), no DNS or CAA asked"
